import type { FeatureRow, FeatureSchema, RejectedRow, RuleResult, ValidationReport } from '@floe/schema';
import { RuleSet, type Rule } from './rules';

/** Examples kept per rule in a report (all rejected rows are listed separately). */
const EXAMPLES_PER_RULE = 5;

function idFeatureOf(schema: FeatureSchema, ruleSet: RuleSet): string | undefined {
  if (ruleSet.idFeature) return ruleSet.idFeature;
  if (schema.some((f) => f.name === 'id')) return 'id';
  return schema.find((f) => f.kind === 'scalar' && f.dtype === 'string')?.name;
}

function idOf(row: FeatureRow, idFeature: string | undefined): string | null {
  if (!idFeature) return null;
  const v = row[idFeature];
  if (v === null || v === undefined) return null;
  if (v instanceof Float32Array) return null;
  return v instanceof Date ? v.toISOString() : String(v);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Runs a rule set over a batch of rows. Row-level failures reject their rows (listed with every
 * reason in `rejected`); dataset-level failures are reported. Policy `strict` turns any failure into
 * outcome `rejected` (nothing committed); `always` commits the rows that passed the row rules.
 */
export function validate(rows: readonly FeatureRow[], schema: FeatureSchema, ruleSet: RuleSet): ValidationReport {
  const t0 = performance.now();
  const idFeature = idFeatureOf(schema, ruleSet);
  const rowRules = ruleSet.rules.filter((r): r is Extract<Rule, { level: 'row' }> => r.level === 'row');
  const datasetRules = ruleSet.rules.filter((r): r is Extract<Rule, { level: 'dataset' }> => r.level === 'dataset');
  for (const r of rowRules) r.begin?.(schema);

  const results = new Map<string, RuleResult>();
  for (const r of ruleSet.rules) {
    results.set(r.name, {
      rule: r.name,
      type: r.type,
      level: r.level,
      passed: true,
      checked: 0,
      failing: 0,
      message: '',
      examples: [],
    });
  }
  const rejected: RejectedRow[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    let reasons: string[] | undefined;
    for (const rule of rowRules) {
      let failure: string | null;
      try {
        failure = rule.check(row, { schema, index: i });
      } catch (err) {
        // A rule that cannot judge the row fails it: better kept aside than committed unchecked.
        failure = `${rule.name} threw: ${messageOf(err)}`;
      }
      const res = results.get(rule.name)!;
      res.checked++;
      if (failure !== null) {
        res.failing++;
        if (res.examples.length < EXAMPLES_PER_RULE)
          res.examples.push({ row: i, id: idOf(row, idFeature), message: failure });
        (reasons ??= []).push(`${rule.name}: ${failure}`);
      }
    }
    if (reasons) rejected.push({ row: i, id: idOf(row, idFeature), reasons });
  }
  for (const rule of rowRules) {
    const res = results.get(rule.name)!;
    res.passed = res.failing === 0;
    res.message = res.passed ? `all ${res.checked} rows pass` : `${res.failing} of ${res.checked} rows fail`;
  }
  for (const rule of datasetRules) {
    const res = results.get(rule.name)!;
    res.checked = rows.length;
    try {
      const c = rule.check(rows, schema);
      res.passed = c.passed;
      res.message = c.message;
      res.examples = (c.exampleRows ?? [])
        .slice(0, EXAMPLES_PER_RULE)
        .map((e) => ({ row: e.row, id: idOf(rows[e.row] ?? {}, idFeature), message: e.message }));
    } catch (err) {
      res.passed = false;
      res.message = `${rule.name} threw: ${messageOf(err)}`;
    }
    res.failing = res.passed ? 0 : 1;
  }
  const anyFailed = [...results.values()].some((r) => !r.passed);
  const outcome = !anyFailed ? 'passed' : ruleSet.policy === 'strict' ? 'rejected' : 'accepted_with_failures';
  return {
    version_major: 1,
    ruleSet: ruleSet.name,
    policy: ruleSet.policy,
    outcome,
    rows: rows.length,
    accepted: outcome === 'rejected' ? 0 : rows.length - rejected.length,
    rules: ruleSet.rules.map((r) => results.get(r.name)!),
    rejected,
    validatedAt: new Date().toISOString(),
    durationMs: performance.now() - t0,
  };
}

/** A one-line summary for logs and error messages. */
export function summarizeReport(report: ValidationReport): string {
  const failed = report.rules.filter((r) => !r.passed);
  const head = `${report.ruleSet} (${report.policy}): ${report.outcome}, ${report.accepted} of ${report.rows} rows accepted`;
  if (failed.length === 0) return head;
  return `${head}; failed: ${failed.map((r) => `${r.rule} (${r.message})`).join('; ')}`;
}

/** The feature store's entry point (see feature-store/validation-adapter.ts). */
export interface CommitValidation {
  report: ValidationReport;
  /** Row index → reasons, for rows rejected by row-level rules. */
  rejected: Map<number, string[]>;
  /** Policy strict and some rule failed. */
  rejectCommit: boolean;
  summary: string;
}

export function validateForCommit(
  rows: readonly FeatureRow[],
  schema: FeatureSchema,
  ruleSet: RuleSet | unknown,
): CommitValidation {
  const rs = ruleSet instanceof RuleSet ? ruleSet : RuleSet.fromJSON(ruleSet);
  const report = validate(rows, schema, rs);
  return {
    report,
    rejected: new Map(report.rejected.map((r) => [r.row, r.reasons])),
    rejectCommit: report.outcome === 'rejected',
    summary: summarizeReport(report),
  };
}
