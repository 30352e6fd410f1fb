import { FeatureSchema, ValidationReport, type FeatureRow } from '@floe/schema';
import { describe, expect, it } from 'vitest';
import { ICEBERG_SCHEMA, recordToRow } from '../ingest/iceberg-schema';
import { generateSynthetic } from '../ingest/synthetic';
import {
  icebergRules,
  registerCustomRule,
  renderReportHtml,
  renderReportText,
  RuleDefinitionError,
  rules,
  RuleSet,
  validate,
  validateForCommit,
  validationReportBundle,
  VALIDATION_REPORT_MIME,
} from './index';

/** A small schema with 2x2 tensors keeps the rows readable. */
const schema: FeatureSchema = FeatureSchema.parse([
  { name: 'id', kind: 'scalar', dtype: 'string' },
  { name: 'band_1', kind: 'tensor', dtype: 'float32', shape: [2, 2], unit: 'dB' },
  { name: 'inc_angle', kind: 'scalar', dtype: 'float32', nullable: true },
  { name: 'is_iceberg', kind: 'scalar', dtype: 'int32', nullable: true },
]);

function row(id: string, over: Partial<FeatureRow> = {}): FeatureRow {
  return { id, band_1: Float32Array.of(-20, -21, -19.5, 3), inc_angle: 38.5, is_iceberg: 1, ...over };
}

const good = (): FeatureRow[] => [
  row('a'),
  row('b', { is_iceberg: 0 }),
  row('c', { inc_angle: null }),
  row('d', { is_iceberg: 0 }),
];

function ruleResult(report: ValidationReport, name: string) {
  const r = report.rules.find((x) => x.rule === name);
  if (!r) throw new Error(`no result for ${name}`);
  return r;
}

describe('validate: built-in rules', () => {
  it('passes clean rows; the report matches the zod contract', () => {
    const report = validate(good(), schema, icebergLike());
    expect(report.outcome).toBe('passed');
    expect(report.accepted).toBe(4);
    expect(report.rejected).toEqual([]);
    expect(report.rules.every((r) => r.passed)).toBe(true);
    expect(ValidationReport.parse(JSON.parse(JSON.stringify(report)))).toEqual(report);
  });

  it('shape: a tensor of the wrong length rejects the row, naming feature and sizes', () => {
    const rows = [...good(), row('short', { band_1: Float32Array.of(1, 2, 3) })];
    const report = validate(rows, schema, new RuleSet('s', [rules.shape()]));
    expect(report.outcome).toBe('accepted_with_failures');
    expect(report.rejected).toEqual([
      { row: 4, id: 'short', reasons: ['shape: band_1 has 3 values, expected 4 (shape [2, 2])'] },
    ]);
    expect(report.accepted).toBe(4);
  });

  it('shape: null in a non-nullable feature, a missing feature and a wrong dtype each fail', () => {
    const rows: FeatureRow[] = [
      row('n', { band_1: null }),
      { id: 'm', band_1: Float32Array.of(1, 2, 3, 4), inc_angle: 1 },
      row('t', { is_iceberg: 0.5 }),
      row('s', { id: 7 }),
    ];
    const report = validate(rows, schema, new RuleSet('s', [rules.shape()]));
    expect(report.rejected.map((r) => r.reasons[0])).toEqual([
      'shape: band_1 is null but the feature is not nullable',
      'shape: is_iceberg is missing',
      'shape: is_iceberg must be an int32, found number 0.5',
      'shape: id must be a string, found number 7',
    ]);
  });

  it('finite: NaN and Infinity in tensors and scalars reject their rows', () => {
    const rows = [
      row('ok'),
      row('nan', { band_1: Float32Array.of(1, NaN, 3, 4) }),
      row('inf', { inc_angle: Infinity }),
    ];
    const report = validate(rows, schema, new RuleSet('f', [rules.finite()]));
    expect(report.rejected).toEqual([
      { row: 1, id: 'nan', reasons: ['finite: band_1[1] is NaN'] },
      { row: 2, id: 'inf', reasons: ['finite: inc_angle is Infinity'] },
    ]);
    expect(ruleResult(report, 'finite')).toMatchObject({ passed: false, failing: 2, checked: 3 });
  });

  it('range: dB values outside the band range reject the row with a count and the first offender', () => {
    const rows = [row('ok'), row('linear', { band_1: Float32Array.of(0.01, 120, 500, 3) })];
    const report = validate(rows, schema, new RuleSet('r', [rules.range('band_1', { min: -60, max: 45 })]));
    expect(report.rejected[0]!.reasons).toEqual([
      'range(band_1): band_1: 2 of 4 values outside [-60, 45], first band_1[1] = 120',
    ]);
  });

  it('range: scalar bounds ignore nulls', () => {
    const rows = [row('null', { inc_angle: null }), row('low', { inc_angle: 10 })];
    const report = validate(rows, schema, new RuleSet('r', [rules.range('inc_angle', { min: 20, max: 50 })]));
    expect(report.rejected).toEqual([
      { row: 1, id: 'low', reasons: ['range(inc_angle): inc_angle = 10 outside [20, 50]'] },
    ]);
  });

  it('unique: a repeated id rejects the later row and says which row had it first', () => {
    const rows = [row('a'), row('b'), row('a')];
    const report = validate(rows, schema, new RuleSet('u', [rules.unique('id')]));
    expect(report.rejected).toEqual([{ row: 2, id: 'a', reasons: ['unique(id): id "a" repeats row 0'] }]);
  });

  it('unique: state does not leak between validation runs', () => {
    const rs = new RuleSet('u', [rules.unique('id')]);
    expect(validate([row('a')], schema, rs).outcome).toBe('passed');
    expect(validate([row('a')], schema, rs).outcome).toBe('passed');
  });

  it('missingRate: too many missing angles fails the dataset, not rows', () => {
    const rows = [row('a', { inc_angle: null }), row('b', { inc_angle: null }), row('c'), row('d')];
    const report = validate(rows, schema, new RuleSet('m', [rules.missingRate('inc_angle', 0.25)]));
    const r = ruleResult(report, 'missingRate(inc_angle)');
    expect(r).toMatchObject({ passed: false, level: 'dataset', failing: 1 });
    expect(r.message).toBe('inc_angle missing in 2 of 4 rows (50.0%) > allowed 25.0%');
    expect(r.examples.map((e) => e.id)).toEqual(['a', 'b']);
    expect(report.rejected).toEqual([]);
    expect(report.accepted).toBe(4);
    expect(report.outcome).toBe('accepted_with_failures');
  });

  it('classBalance: a skewed batch fails; a missing class fails; unlabelled data passes', () => {
    const skewed = [row('a'), row('b'), row('c'), row('d'), row('e', { is_iceberg: 0 })];
    const rs = new RuleSet('c', [rules.classBalance('is_iceberg', { minFraction: 0.3, classes: [0, 1] })]);
    expect(ruleResult(validate(skewed, schema, rs), 'classBalance(is_iceberg)').message).toBe(
      'is_iceberg 0: 1 (20.0%), 1: 4 (80.0%) — class 0 is 20.0% < 30.0%',
    );
    const oneClass = [row('a'), row('b')];
    expect(ruleResult(validate(oneClass, schema, rs), 'classBalance(is_iceberg)').message).toMatch(/class 0 absent/);
    const unlabelled = [row('a', { is_iceberg: null })];
    expect(validate(unlabelled, schema, rs).outcome).toBe('passed');
  });

  it('custom row and dataset rules: functions returning messages or booleans', () => {
    const rs = new RuleSet('c', [
      rules.customRow('bright-target', (r) => ((r.band_1 as Float32Array)[3]! > 0 ? null : 'no bright pixel')),
      rules.customDataset('at-least-3', (rows) => rows.length >= 3),
    ]);
    const report = validate([row('a'), row('dark', { band_1: Float32Array.of(-1, -1, -1, -1) })], schema, rs);
    expect(report.rejected).toEqual([{ row: 1, id: 'dark', reasons: ['bright-target: no bright pixel'] }]);
    expect(ruleResult(report, 'at-least-3')).toMatchObject({ passed: false, message: 'failed at-least-3' });
  });

  it('a custom rule that throws fails the row instead of crashing the validation', () => {
    const rs = new RuleSet('c', [
      rules.customRow('explodes', () => {
        throw new Error('boom');
      }),
    ]);
    const report = validate([row('a')], schema, rs);
    expect(report.rejected[0]!.reasons).toEqual(['explodes: explodes threw: boom']);
  });

  it('a row failing several rules lists every reason', () => {
    const rs = new RuleSet('all', [rules.finite(), rules.range('band_1', { max: 10 })]);
    const report = validate([row('x', { band_1: Float32Array.of(NaN, 50, 1, 1) })], schema, rs);
    expect(report.rejected[0]!.reasons).toEqual([
      'finite: band_1[0] is NaN',
      'range(band_1): band_1: 2 of 4 values outside [-∞, 10], first band_1[0] = NaN',
    ]);
  });

  it('keeps at most 5 examples per rule but lists every rejected row', () => {
    const rows = Array.from({ length: 12 }, (_, i) => row(`r${i}`, { inc_angle: -1 }));
    const report = validate(rows, schema, new RuleSet('r', [rules.range('inc_angle', { min: 0 })]));
    expect(report.rules[0]!.examples).toHaveLength(5);
    expect(report.rejected).toHaveLength(12);
    expect(report.accepted).toBe(0);
  });

  it('a rule naming a feature that is not in the schema is a definition error', () => {
    expect(() => validate(good(), schema, new RuleSet('x', [rules.range('band_9', { min: 0 })]))).toThrow(
      RuleDefinitionError,
    );
    expect(() => validate(good(), schema, new RuleSet('x', [rules.range('band_9', { min: 0 })]))).toThrow(
      /feature 'band_9' is not in the schema/,
    );
  });

  it('rejects bad rule definitions', () => {
    expect(() => rules.range('band_1', {})).toThrow(/give min, max or both/);
    expect(() => rules.range('band_1', { min: 5, max: 1 })).toThrow(/min 5 > max 1/);
    expect(() => rules.missingRate('inc_angle', 2)).toThrow(/fraction/);
    expect(() => new RuleSet('dup', [rules.finite(), rules.finite()])).toThrow(/two rules named 'finite'/);
  });
});

describe('policies', () => {
  const bad = (): FeatureRow[] => [...good(), row('nan', { band_1: Float32Array.of(NaN, 1, 1, 1) })];

  it('always: rows failing row rules are rejected, the rest accepted', () => {
    const out = validateForCommit(bad(), schema, new RuleSet('p', [rules.finite()], 'always'));
    expect(out.rejectCommit).toBe(false);
    expect(out.report.outcome).toBe('accepted_with_failures');
    expect(out.report.accepted).toBe(4);
    expect([...out.rejected.entries()]).toEqual([[4, ['finite: band_1[0] is NaN']]]);
    expect(out.summary).toMatch(/^p \(always\): accepted_with_failures, 4 of 5 rows accepted; failed: finite/);
  });

  it('strict: any failure rejects the whole commit', () => {
    const out = validateForCommit(bad(), schema, new RuleSet('p', [rules.finite()], 'strict'));
    expect(out.rejectCommit).toBe(true);
    expect(out.report.outcome).toBe('rejected');
    expect(out.report.accepted).toBe(0);
    expect(out.report.rejected).toHaveLength(1);
  });

  it('strict: a dataset-level failure alone rejects the commit', () => {
    const rows = good().map((r) => ({ ...r, inc_angle: null }));
    const out = validateForCommit(rows, schema, new RuleSet('p', [rules.missingRate('inc_angle', 0.1)], 'strict'));
    expect(out.rejectCommit).toBe(true);
  });
});

describe('serialisation', () => {
  it('round-trips built-in rules through JSON and behaves the same', () => {
    const rs = icebergLike('strict');
    const json = JSON.parse(JSON.stringify(rs));
    expect(json).toMatchObject({ version: 1, name: 'iceberg-like', policy: 'strict' });
    const back = RuleSet.fromJSON(json);
    expect(back.toJSON()).toEqual(rs.toJSON());
    const rows = [...good(), row('a'), row('x', { band_1: Float32Array.of(1, 2, 3, 99) })];
    const { validatedAt: _a, durationMs: _b, ...r1 } = validate(rows, schema, rs);
    const { validatedAt: _c, durationMs: _d, ...r2 } = validate(rows, schema, back);
    expect(r2).toEqual(r1);
  });

  it('stores custom rules by name and resolves them from the registry or an explicit map', () => {
    const check = rules.customRow('id-is-hex', (r) => /^[0-9a-f]+$/.test(String(r.id)), 'ids are hex');
    const rs = new RuleSet('c', [check]);
    const json = rs.toJSON();
    expect(json.rules).toEqual([{ type: 'custom', name: 'id-is-hex', level: 'row', description: 'ids are hex' }]);
    expect(() => RuleSet.fromJSON(json)).toThrow(/custom rule 'id-is-hex' is not registered/);
    expect(RuleSet.fromJSON(json, { 'id-is-hex': check }).rules[0]).toBe(check);
    registerCustomRule(check);
    const loaded = RuleSet.fromJSON(json);
    expect(validate([row('abc'), row('xyz')], schema, loaded).rejected.map((r) => r.id)).toEqual(['xyz']);
  });

  it('refuses a custom rule registered at a different level', () => {
    const json = { name: 'c', rules: [{ type: 'custom', name: 'lvl', level: 'dataset' }] };
    expect(() => RuleSet.fromJSON(json, { lvl: rules.customRow('lvl', () => null) })).toThrow(
      /stored as dataset-level but registered as row-level/,
    );
  });

  it('refuses malformed stored rule sets with the offending path', () => {
    expect(() => RuleSet.fromJSON({ name: 'x', rules: [{ type: 'range' }] })).toThrow(
      /not a rule set: rules\.0\.feature/,
    );
    expect(() => RuleSet.fromJSON({ name: 'x', rules: [{ type: 'nope' }] })).toThrow(/not a rule set: rules\.0/);
    expect(() => RuleSet.fromJSON({ name: 'x', policy: 'sometimes', rules: [] })).toThrow(/policy/);
  });

  it('validateForCommit accepts the stored JSON form (as the feature store keeps it)', () => {
    const out = validateForCommit(good(), schema, JSON.parse(JSON.stringify(icebergLike())));
    expect(out.report.outcome).toBe('passed');
  });
});

describe('rendering', () => {
  const report = validate(
    [row('<b>evil</b>', { band_1: Float32Array.of(NaN, 0, 0, 0) }), row('ok'), row('ok')],
    schema,
    new RuleSet('render & co', [rules.finite(), rules.unique('id'), rules.missingRate('inc_angle', 0.5)]),
  );

  it('renders a text table with every rule and the rejected rows', () => {
    const text = renderReportText(report);
    expect(text).toMatch(
      /^validation render & co \(policy always\): accepted with failures\n3 rows, 1 accepted, 2 rejected/,
    );
    expect(text).toMatch(/FAIL\s+finite\s+row\s+1\s+1 of 3 rows fail/);
    expect(text).toMatch(/ok\s+missingRate\(inc_angle\)\s+dataset\s+0/);
    expect(text).toContain('#2 ok: unique(id): id "ok" repeats row 1');
  });

  it('renders escaped HTML', () => {
    const html = renderReportHtml(report);
    expect(html).toContain('&lt;b&gt;evil&lt;/b&gt;');
    expect(html).not.toContain('<b>evil</b>');
    expect(html).toContain('render &amp; co');
    expect(html.match(/<tr>/g)!.length).toBe(1 + 3 + 1 + 2);
  });

  it('builds a display bundle with the JSON report, HTML and text', () => {
    const b = validationReportBundle(report);
    expect(Object.keys(b).sort()).toEqual([VALIDATION_REPORT_MIME, 'text/html', 'text/plain'].sort());
    expect(VALIDATION_REPORT_MIME).toBe('application/vnd.floe.validation+json');
  });
});

describe('icebergRules on iceberg data', () => {
  it('passes generated patches and is JSON-storable', () => {
    const rows = generateSynthetic({ seed: 3, count: 40 }).map(recordToRow);
    const report = validate(rows, ICEBERG_SCHEMA, icebergRules());
    expect(report.rules.filter((r) => !r.passed)).toEqual([]);
    expect(RuleSet.fromJSON(JSON.parse(JSON.stringify(icebergRules('strict')))).policy).toBe('strict');
  });

  it('rejects a patch in linear units and a duplicated id, keeping both aside', () => {
    const rows = generateSynthetic({ seed: 4, count: 20 }).map(recordToRow);
    const linear = Float32Array.from(rows[3]!.band_1 as Float32Array, (db) => 10 ** (db / 10) * 1e5);
    rows[3] = { ...rows[3]!, band_1: linear };
    rows.push({ ...rows[0]! });
    const report = validate(rows, ICEBERG_SCHEMA, icebergRules());
    expect(report.rejected.map((r) => [r.row, r.reasons[0]!.split(':')[0]])).toEqual([
      [3, 'range(band_1)'],
      [20, 'unique(id)'],
    ]);
  });
});

function icebergLike(policy: 'always' | 'strict' = 'always'): RuleSet {
  return new RuleSet(
    'iceberg-like',
    [
      rules.shape(),
      rules.finite(),
      rules.range('band_1', { min: -60, max: 45 }),
      rules.unique('id'),
      rules.missingRate('inc_angle', 0.3),
      rules.classBalance('is_iceberg', { minFraction: 0.2 }),
    ],
    policy,
  );
}
