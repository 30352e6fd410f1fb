/**
 * The feature store's view of validation (kernel-services/src/validation): per insert it needs the
 * report to store with the commit, which rows failed and why, and whether policy `strict` rejects the
 * commit. The rule set is stored with the feature group as JSON and rebuilt on each insert.
 *
 * An insert may arrive as a stream of chunks. Rules apply to the whole insert, not to each chunk:
 * - row-level rules run chunk by chunk, with their state carried across chunks (a `unique` rule sees
 *   a repeat in a later chunk) and row numbers counted from the start of the insert;
 * - dataset-level rules (missing rate, class balance, row counts, custom) run once, at the end, on
 *   every row of the insert, before the commit is recorded — a failure under `strict` rejects the
 *   whole insert and nothing becomes visible.
 * To keep a streamed insert's memory bounded, the rows kept for the dataset-level rules hold the
 * scalar features only; each non-null tensor is a stand-in that says it is present (so a missing-rate
 * rule on a tensor works) and throws, naming the rule's problem, if its values are read. An insert
 * given as one array keeps its rows whole.
 */
import type { FeatureRow, FeatureSchema, RejectedRow, RuleResult, ValidationReport } from '@floe/schema';
import {
  RuleSet,
  summarizeReport,
  validate,
  validateForCommit,
  type CommitValidation,
  type Rule,
  type RowContext,
  type RowRule,
} from '../validation';
import { FeatureStoreError } from './errors';

/** A rule set in its stored (JSON) form (RuleSet.toJSON). */
export type StoredRuleSet = { policy?: 'always' | 'strict'; name?: string; [k: string]: unknown };

export type ValidationOutcome = CommitValidation;

export function validateRows(rows: FeatureRow[], schema: FeatureSchema, ruleSet: StoredRuleSet): ValidationOutcome {
  return validateForCommit(rows, schema, ruleSet);
}

/** The rule set as stored with a feature group; refuses one that would not load back. */
export function storableRuleSet(ruleSet: unknown, group: string): StoredRuleSet {
  const json = JSON.parse(JSON.stringify(ruleSet)) as StoredRuleSet;
  try {
    RuleSet.fromJSON(json);
  } catch (err) {
    throw new FeatureStoreError(`feature group '${group}': rule set cannot be stored: ${(err as Error).message}`);
  }
  return json;
}

/** Examples kept per rule in a merged report (as validate() keeps per run). */
const EXAMPLES_PER_RULE = 5;

/**
 * A row rule whose state spans the whole insert: `begin` reaches the rule once per insert (not once
 * per chunk), and the row index it sees counts from the start of the insert.
 */
class InsertWideRowRule implements RowRule {
  readonly level = 'row';
  offset = 0;
  private begun = false;
  constructor(private readonly inner: RowRule) {}
  get name(): string {
    return this.inner.name;
  }
  get type(): string {
    return this.inner.type;
  }
  begin(schema: FeatureSchema): void {
    if (this.begun) return;
    this.begun = true;
    this.inner.begin?.(schema);
  }
  check(row: FeatureRow, ctx: RowContext): string | null {
    return this.inner.check(row, { ...ctx, index: ctx.index + this.offset });
  }
  toJSON(): ReturnType<RowRule['toJSON']> {
    return this.inner.toJSON();
  }
}

/** A tensor whose values were not kept: present for missing-rate checks, an error when read. */
function tensorStandIn(feature: string): Float32Array {
  return new Proxy(new Float32Array(0), {
    get(): never {
      throw new FeatureStoreError(
        `the values of tensor feature '${feature}' are not kept for dataset-level rules of a streamed insert ` +
          `(they see every row's scalar features and whether each tensor is present); check tensor values ` +
          `with a row-level rule, or insert the rows as one array`,
      );
    },
  });
}

/** One insert's validation, fed chunk by chunk, decided at the end. */
export class InsertValidation {
  private readonly ruleSet: RuleSet;
  private readonly rowRules: InsertWideRowRule[];
  private readonly rowRuleSet: RuleSet;
  private readonly datasetRuleSet: RuleSet;
  private readonly rowResults = new Map<string, RuleResult>();
  private readonly rejected: RejectedRow[] = [];
  /** Rows for the dataset-level rules, in insert order. */
  private readonly kept: FeatureRow[] = [];
  private readonly standIns: Map<string, Float32Array>;
  private rows = 0;
  private durationMs = 0;

  /** `keepTensors`: the rows are in memory anyway (an array insert), so dataset rules see them whole. */
  constructor(
    private readonly schema: FeatureSchema,
    stored: StoredRuleSet,
    private readonly keepTensors: boolean,
  ) {
    this.ruleSet = RuleSet.fromJSON(stored);
    const { name, policy, idFeature } = this.ruleSet;
    this.rowRules = this.ruleSet.rules
      .filter((r): r is RowRule => r.level === 'row')
      .map((r) => new InsertWideRowRule(r));
    this.rowRuleSet = new RuleSet(name, this.rowRules, policy, idFeature);
    this.datasetRuleSet = new RuleSet(
      name,
      this.ruleSet.rules.filter((r: Rule) => r.level === 'dataset'),
      policy,
      idFeature,
    );
    for (const r of this.rowRules) {
      this.rowResults.set(r.name, {
        rule: r.name,
        type: r.type,
        level: 'row',
        passed: true,
        checked: 0,
        failing: 0,
        message: '',
        examples: [],
      });
    }
    this.standIns = new Map(schema.filter((f) => f.kind === 'tensor').map((f) => [f.name, tensorStandIn(f.name)]));
  }

  get policy(): 'always' | 'strict' {
    return this.ruleSet.policy;
  }

  /**
   * Runs the row-level rules on the next chunk (rows `offset` .. of the insert). Returns the chunk's
   * rejected rows (chunk index → reasons) and, under `strict`, whether a row rule already failed
   * (the insert is then rejected without reading further).
   */
  addChunk(rows: readonly FeatureRow[]): { rejected: Map<number, string[]>; rejectNow: boolean } {
    const offset = this.rows;
    for (const r of this.rowRules) r.offset = offset;
    const report = validate(rows, this.schema, this.rowRuleSet);
    this.durationMs += report.durationMs;
    for (const res of report.rules) {
      const total = this.rowResults.get(res.rule)!;
      total.checked += res.checked;
      total.failing += res.failing;
      for (const e of res.examples) {
        if (total.examples.length < EXAMPLES_PER_RULE) total.examples.push({ ...e, row: e.row + offset });
      }
    }
    const rejected = new Map<number, string[]>();
    for (const r of report.rejected) {
      this.rejected.push({ ...r, row: r.row + offset });
      rejected.set(r.row, r.reasons);
    }
    for (const row of rows) this.kept.push(this.keepTensors ? row : this.withoutTensorValues(row));
    this.rows += rows.length;
    return { rejected, rejectNow: this.policy === 'strict' && report.rejected.length > 0 };
  }

  private withoutTensorValues(row: FeatureRow): FeatureRow {
    const out: FeatureRow = { ...row };
    for (const [name, standIn] of this.standIns) if (out[name] !== null && out[name] !== undefined) out[name] = standIn;
    return out;
  }

  /**
   * The report for the whole insert: row rules summed over the chunks, dataset rules run now on all
   * rows (unless `stoppedEarly`: a strict insert already rejected by a row rule, whose dataset rules
   * are then reported as not run).
   */
  finish(stoppedEarly = false): { report: ValidationReport; rejectCommit: boolean; summary: string } {
    const results = new Map<string, RuleResult>();
    for (const res of this.rowResults.values()) {
      res.passed = res.failing === 0;
      res.message = res.passed ? `all ${res.checked} rows pass` : `${res.failing} of ${res.checked} rows fail`;
      results.set(res.rule, res);
    }
    if (stoppedEarly) {
      for (const r of this.datasetRuleSet.rules) {
        results.set(r.name, {
          rule: r.name,
          type: r.type,
          level: 'dataset',
          passed: true,
          checked: 0,
          failing: 0,
          message: `not run: the insert was rejected by a row rule at or before record ${this.rows - 1}`,
          examples: [],
        });
      }
    } else if (this.datasetRuleSet.rules.length > 0) {
      const datasetReport = validate(this.kept, this.schema, this.datasetRuleSet);
      this.durationMs += datasetReport.durationMs;
      for (const res of datasetReport.rules) results.set(res.rule, res);
    }
    const anyFailed = [...results.values()].some((r) => !r.passed);
    const outcome = !anyFailed ? 'passed' : this.policy === 'strict' ? 'rejected' : 'accepted_with_failures';
    const report: ValidationReport = {
      version_major: 1,
      ruleSet: this.ruleSet.name,
      policy: this.policy,
      outcome,
      rows: this.rows,
      accepted: outcome === 'rejected' ? 0 : this.rows - this.rejected.length,
      rules: this.ruleSet.rules.map((r) => results.get(r.name)!),
      rejected: this.rejected,
      validatedAt: new Date().toISOString(),
      durationMs: this.durationMs,
    };
    return { report, rejectCommit: outcome === 'rejected', summary: summarizeReport(report) };
  }
}
