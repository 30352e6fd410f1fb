import {
  RuleSetJson,
  type Feature,
  type FeatureRow,
  type FeatureSchema,
  type FeatureValue,
  type RuleJson,
  type RuleLevel,
  type ValidationPolicy,
} from '@floe/schema';

/** What a row rule sees besides the row. */
export interface RowContext {
  schema: FeatureSchema;
  index: number;
}

/** A check of one row: returns a failure message, or null when the row passes. */
export interface RowRule {
  readonly level: 'row';
  readonly name: string;
  readonly type: string;
  /** Called once per validation run before the rows (e.g. to reset a seen-set). */
  begin?(schema: FeatureSchema): void;
  check(row: FeatureRow, ctx: RowContext): string | null;
  toJSON(): RuleJson;
}

export interface DatasetCheck {
  passed: boolean;
  /** What was measured, e.g. `missing 8.3% <= 15%`. */
  message: string;
  /** Rows that illustrate the failure (shown as examples; dataset rules never reject rows). */
  exampleRows?: { row: number; message: string }[];
}

/** A check of the whole batch (missing rates, class balance). */
export interface DatasetRule {
  readonly level: 'dataset';
  readonly name: string;
  readonly type: string;
  check(rows: readonly FeatureRow[], schema: FeatureSchema): DatasetCheck;
  toJSON(): RuleJson;
}

export type Rule = RowRule | DatasetRule;

export class RuleDefinitionError extends Error {
  override readonly name = 'RuleDefinitionError';
}

function featureOf(schema: FeatureSchema, name: string, rule: string): Feature {
  const f = schema.find((s) => s.name === name);
  if (!f)
    throw new RuleDefinitionError(
      `rule ${rule}: feature '${name}' is not in the schema (${schema.map((s) => s.name).join(', ')})`,
    );
  return f;
}

function selected(schema: FeatureSchema, names: string[] | undefined, rule: string): Feature[] {
  return names ? names.map((n) => featureOf(schema, n, rule)) : [...schema];
}

function describe(v: FeatureValue | undefined): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (v instanceof Float32Array) return `Float32Array(${v.length})`;
  if (v instanceof Date) return `Date(${v.toISOString()})`;
  if (typeof v === 'string') return JSON.stringify(v.length > 30 ? `${v.slice(0, 30)}…` : v);
  if (Array.isArray(v)) return `array(${(v as unknown[]).length})`;
  return `${typeof v} ${String(v)}`;
}

/** `null` when the value fits the feature's dtype and shape, else why not. */
export function conformanceError(f: Feature, v: FeatureValue | undefined): string | null {
  if (v === undefined) return `${f.name} is missing`;
  if (v === null) return f.nullable ? null : `${f.name} is null but the feature is not nullable`;
  if (f.kind === 'tensor') {
    const size = f.shape.reduce((a, b) => a * b, 1);
    const len = v instanceof Float32Array ? v.length : Array.isArray(v) ? (v as unknown[]).length : -1;
    if (len < 0) return `${f.name} must be a float32 tensor [${f.shape.join(', ')}], found ${describe(v)}`;
    if (len !== size) return `${f.name} has ${len} values, expected ${size} (shape [${f.shape.join(', ')}])`;
    return null;
  }
  switch (f.dtype) {
    case 'float32':
    case 'float64':
      return typeof v === 'number' ? null : `${f.name} must be a number (${f.dtype}), found ${describe(v)}`;
    case 'int32':
      return typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647
        ? null
        : `${f.name} must be an int32, found ${describe(v)}`;
    case 'int64':
      return typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v))
        ? null
        : `${f.name} must be an int64, found ${describe(v)}`;
    case 'bool':
      return typeof v === 'boolean' ? null : `${f.name} must be a boolean, found ${describe(v)}`;
    case 'string':
      return typeof v === 'string' ? null : `${f.name} must be a string, found ${describe(v)}`;
    case 'timestamp':
      return v instanceof Date && !Number.isNaN(v.getTime())
        ? null
        : `${f.name} must be a valid Date, found ${describe(v)}`;
  }
}

class ShapeRule implements RowRule {
  readonly level = 'row';
  readonly type = 'shape';
  constructor(
    readonly name: string,
    private readonly features?: string[],
  ) {}
  private checked: Feature[] = [];
  begin(schema: FeatureSchema): void {
    this.checked = selected(schema, this.features, this.name);
  }
  check(row: FeatureRow): string | null {
    for (const f of this.checked) {
      const err = conformanceError(f, row[f.name]);
      if (err) return err;
    }
    return null;
  }
  toJSON(): RuleJson {
    return { type: 'shape', name: this.name, ...(this.features ? { features: this.features } : {}) };
  }
}

class FiniteRule implements RowRule {
  readonly level = 'row';
  readonly type = 'finite';
  private checked: Feature[] = [];
  constructor(
    readonly name: string,
    private readonly features?: string[],
  ) {}
  begin(schema: FeatureSchema): void {
    this.checked = selected(schema, this.features, this.name).filter(
      (f) => f.kind === 'tensor' || f.dtype === 'float32' || f.dtype === 'float64',
    );
  }
  check(row: FeatureRow): string | null {
    for (const f of this.checked) {
      const v = row[f.name];
      if (typeof v === 'number') {
        if (!Number.isFinite(v)) return `${f.name} is ${v}`;
      } else if (v instanceof Float32Array || Array.isArray(v)) {
        const a = v as ArrayLike<number>;
        for (let i = 0; i < a.length; i++) {
          // `x - x` is NaN exactly for NaN and ±Infinity: one test per element.
          const x = a[i]!;
          if (x - x !== 0) return `${f.name}[${i}] is ${x}`;
        }
      }
    }
    return null;
  }
  toJSON(): RuleJson {
    return { type: 'finite', name: this.name, ...(this.features ? { features: this.features } : {}) };
  }
}

class RangeRule implements RowRule {
  readonly level = 'row';
  readonly type = 'range';
  constructor(
    readonly name: string,
    private readonly feature: string,
    private readonly min: number | undefined,
    private readonly max: number | undefined,
  ) {
    if (min === undefined && max === undefined) throw new RuleDefinitionError(`rule ${name}: give min, max or both`);
    if (min !== undefined && max !== undefined && !(min <= max))
      throw new RuleDefinitionError(`rule ${name}: min ${min} > max ${max}`);
  }
  begin(schema: FeatureSchema): void {
    featureOf(schema, this.feature, this.name);
  }
  check(row: FeatureRow): string | null {
    const v = row[this.feature];
    const lo = this.min ?? -Infinity;
    const hi = this.max ?? Infinity;
    const bounds = `[${this.min ?? '-∞'}, ${this.max ?? '∞'}]`;
    if (typeof v === 'number') return v >= lo && v <= hi ? null : `${this.feature} = ${v} outside ${bounds}`;
    if (v instanceof Float32Array || Array.isArray(v)) {
      const a = v as ArrayLike<number>;
      let bad = 0;
      let first = -1;
      for (let i = 0; i < a.length; i++) {
        const x = a[i]!;
        if (!(x >= lo && x <= hi)) {
          if (first < 0) first = i;
          bad++;
        }
      }
      return bad === 0
        ? null
        : `${this.feature}: ${bad} of ${a.length} values outside ${bounds}, first ${this.feature}[${first}] = ${a[first]}`;
    }
    return null; // nulls and other types are the shape rule's business
  }
  toJSON(): RuleJson {
    return {
      type: 'range',
      name: this.name,
      feature: this.feature,
      ...(this.min !== undefined ? { min: this.min } : {}),
      ...(this.max !== undefined ? { max: this.max } : {}),
    };
  }
}

class UniqueRule implements RowRule {
  readonly level = 'row';
  readonly type = 'unique';
  private seen = new Map<string, number>();
  constructor(
    readonly name: string,
    private readonly feature: string,
  ) {}
  begin(schema: FeatureSchema): void {
    featureOf(schema, this.feature, this.name);
    this.seen = new Map();
  }
  check(row: FeatureRow, ctx: RowContext): string | null {
    const v = row[this.feature];
    if (v === null || v === undefined) return null;
    const key = v instanceof Date ? `d:${v.getTime()}` : `${typeof v}:${String(v)}`;
    const first = this.seen.get(key);
    if (first !== undefined) return `${this.feature} ${describe(v)} repeats row ${first}`;
    this.seen.set(key, ctx.index);
    return null;
  }
  toJSON(): RuleJson {
    return { type: 'unique', name: this.name, feature: this.feature };
  }
}

class MissingRateRule implements DatasetRule {
  readonly level = 'dataset';
  readonly type = 'missingRate';
  constructor(
    readonly name: string,
    private readonly feature: string,
    private readonly max: number,
  ) {
    if (!(max >= 0 && max <= 1))
      throw new RuleDefinitionError(`rule ${name}: max must be a fraction in [0, 1], got ${max}`);
  }
  check(rows: readonly FeatureRow[], schema: FeatureSchema): DatasetCheck {
    featureOf(schema, this.feature, this.name);
    const examples: { row: number; message: string }[] = [];
    let missing = 0;
    rows.forEach((r, i) => {
      const v = r[this.feature];
      if (v === null || v === undefined) {
        missing++;
        if (examples.length < 3) examples.push({ row: i, message: `${this.feature} is missing` });
      }
    });
    const rate = rows.length === 0 ? 0 : missing / rows.length;
    const passed = rate <= this.max;
    return {
      passed,
      message: `${this.feature} missing in ${missing} of ${rows.length} rows (${pct(rate)}) ${passed ? '<=' : '>'} allowed ${pct(this.max)}`,
      exampleRows: passed ? [] : examples,
    };
  }
  toJSON(): RuleJson {
    return { type: 'missingRate', name: this.name, feature: this.feature, max: this.max };
  }
}

class ClassBalanceRule implements DatasetRule {
  readonly level = 'dataset';
  readonly type = 'classBalance';
  constructor(
    readonly name: string,
    private readonly feature: string,
    private readonly minFraction: number | undefined,
    private readonly maxFraction: number | undefined,
    private readonly classes: (number | string | boolean)[] | undefined,
  ) {}
  check(rows: readonly FeatureRow[], schema: FeatureSchema): DatasetCheck {
    featureOf(schema, this.feature, this.name);
    const counts = new Map<string, number>();
    let labelled = 0;
    for (const r of rows) {
      const v = r[this.feature];
      if (v === null || v === undefined) continue;
      labelled++;
      const k = String(v);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    if (labelled === 0) {
      // Unlabelled data (e.g. a test set): nothing to balance.
      return { passed: true, message: `${this.feature}: no labelled rows` };
    }
    const problems: string[] = [];
    for (const c of this.classes ?? []) if (!counts.has(String(c))) problems.push(`class ${String(c)} absent`);
    const shares = [...counts.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, n]) => ({ k, f: n / labelled, n }));
    for (const { k, f } of shares) {
      if (this.minFraction !== undefined && f < this.minFraction)
        problems.push(`class ${k} is ${pct(f)} < ${pct(this.minFraction)}`);
      if (this.maxFraction !== undefined && f > this.maxFraction)
        problems.push(`class ${k} is ${pct(f)} > ${pct(this.maxFraction)}`);
    }
    const dist = shares.map(({ k, f, n }) => `${k}: ${n} (${pct(f)})`).join(', ');
    return {
      passed: problems.length === 0,
      message: `${this.feature} ${dist}${problems.length ? ` — ${problems.join('; ')}` : ''}`,
    };
  }
  toJSON(): RuleJson {
    return {
      type: 'classBalance',
      name: this.name,
      feature: this.feature,
      ...(this.minFraction !== undefined ? { minFraction: this.minFraction } : {}),
      ...(this.maxFraction !== undefined ? { maxFraction: this.maxFraction } : {}),
      ...(this.classes !== undefined ? { classes: this.classes } : {}),
    };
  }
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

export type CustomRowCheck = (row: FeatureRow, ctx: RowContext) => string | null | boolean;
export type CustomDatasetCheck = (rows: readonly FeatureRow[], schema: FeatureSchema) => DatasetCheck | boolean;

class CustomRowRule implements RowRule {
  readonly level = 'row';
  readonly type = 'custom';
  constructor(
    readonly name: string,
    private readonly fn: CustomRowCheck,
    private readonly description?: string,
  ) {}
  check(row: FeatureRow, ctx: RowContext): string | null {
    const r = this.fn(row, ctx);
    if (r === true || r === null) return null;
    if (r === false) return `failed ${this.name}`;
    return r;
  }
  toJSON(): RuleJson {
    return {
      type: 'custom',
      name: this.name,
      level: 'row',
      ...(this.description ? { description: this.description } : {}),
    };
  }
}

class CustomDatasetRule implements DatasetRule {
  readonly level = 'dataset';
  readonly type = 'custom';
  constructor(
    readonly name: string,
    private readonly fn: CustomDatasetCheck,
    private readonly description?: string,
  ) {}
  check(rows: readonly FeatureRow[], schema: FeatureSchema): DatasetCheck {
    const r = this.fn(rows, schema);
    if (typeof r === 'boolean') return { passed: r, message: r ? 'passed' : `failed ${this.name}` };
    return r;
  }
  toJSON(): RuleJson {
    return {
      type: 'custom',
      name: this.name,
      level: 'dataset',
      ...(this.description ? { description: this.description } : {}),
    };
  }
}

/** Builders for the built-in rules (names default to something readable and unique enough). */
export const rules = {
  shape: (opts: { features?: string[]; name?: string } = {}): Rule =>
    new ShapeRule(opts.name ?? (opts.features ? `shape(${opts.features.join(',')})` : 'shape'), opts.features),
  finite: (opts: { features?: string[]; name?: string } = {}): Rule =>
    new FiniteRule(opts.name ?? (opts.features ? `finite(${opts.features.join(',')})` : 'finite'), opts.features),
  range: (feature: string, bounds: { min?: number; max?: number }, name?: string): Rule =>
    new RangeRule(name ?? `range(${feature})`, feature, bounds.min, bounds.max),
  missingRate: (feature: string, max: number, name?: string): Rule =>
    new MissingRateRule(name ?? `missingRate(${feature})`, feature, max),
  unique: (feature: string, name?: string): Rule => new UniqueRule(name ?? `unique(${feature})`, feature),
  classBalance: (
    feature: string,
    opts: { minFraction?: number; maxFraction?: number; classes?: (number | string | boolean)[] },
    name?: string,
  ): Rule =>
    new ClassBalanceRule(name ?? `classBalance(${feature})`, feature, opts.minFraction, opts.maxFraction, opts.classes),
  /** A row rule in code: return null/true to pass, a message/false to fail. Register it to store it. */
  customRow: (name: string, fn: CustomRowCheck, description?: string): Rule => new CustomRowRule(name, fn, description),
  customDataset: (name: string, fn: CustomDatasetCheck, description?: string): Rule =>
    new CustomDatasetRule(name, fn, description),
};

/**
 * Custom rules resolved by name when a stored rule set is loaded (the feature store keeps only the
 * name: code cannot be stored as JSON). Register before inserting into a group that uses them.
 */
const customRegistry = new Map<string, Rule>();

export function registerCustomRule(rule: Rule): void {
  if (rule.type !== 'custom')
    throw new RuleDefinitionError(`only custom rules are registered, ${rule.name} is ${rule.type}`);
  customRegistry.set(rule.name, rule);
}

export function customRule(name: string): Rule | undefined {
  return customRegistry.get(name);
}

export class RuleSet {
  readonly rules: readonly Rule[];
  constructor(
    readonly name: string,
    rules: Rule[],
    readonly policy: ValidationPolicy = 'always',
    readonly idFeature?: string,
  ) {
    if (!name) throw new RuleDefinitionError('a rule set needs a name');
    const seen = new Set<string>();
    for (const r of rules) {
      if (seen.has(r.name))
        throw new RuleDefinitionError(`rule set ${name}: two rules named '${r.name}' (give one a name)`);
      seen.add(r.name);
    }
    this.rules = rules;
  }

  withPolicy(policy: ValidationPolicy): RuleSet {
    return new RuleSet(this.name, [...this.rules], policy, this.idFeature);
  }

  toJSON(): RuleSetJson {
    return {
      version: 1,
      name: this.name,
      policy: this.policy,
      ...(this.idFeature ? { idFeature: this.idFeature } : {}),
      rules: this.rules.map((r) => r.toJSON()),
    };
  }

  /**
   * Rebuilds a stored rule set. Custom rules come from `custom` (by name), else from the registry;
   * an unknown custom rule is an error rather than a rule silently skipped.
   */
  static fromJSON(json: unknown, custom: Record<string, Rule> = {}): RuleSet {
    const parsed = RuleSetJson.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new RuleDefinitionError(`not a rule set: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    const j = parsed.data;
    const built = j.rules.map((r): Rule => {
      switch (r.type) {
        case 'shape':
          return rules.shape({ features: r.features, name: r.name });
        case 'finite':
          return rules.finite({ features: r.features, name: r.name });
        case 'range':
          return rules.range(r.feature, { min: r.min, max: r.max }, r.name);
        case 'missingRate':
          return rules.missingRate(r.feature, r.max, r.name);
        case 'unique':
          return rules.unique(r.feature, r.name);
        case 'classBalance':
          return rules.classBalance(
            r.feature,
            { minFraction: r.minFraction, maxFraction: r.maxFraction, classes: r.classes },
            r.name,
          );
        case 'custom': {
          const impl = custom[r.name] ?? customRegistry.get(r.name);
          if (!impl) {
            throw new RuleDefinitionError(
              `rule set ${j.name}: custom rule '${r.name}' is not registered (registerCustomRule(rules.custom${r.level === 'row' ? 'Row' : 'Dataset'}('${r.name}', fn)) before loading it)`,
            );
          }
          if (impl.level !== r.level)
            throw new RuleDefinitionError(
              `rule set ${j.name}: custom rule '${r.name}' is stored as ${r.level}-level but registered as ${impl.level}-level`,
            );
          return impl;
        }
      }
    });
    return new RuleSet(j.name, built, j.policy, j.idFeature);
  }
}

export type { RuleLevel };
