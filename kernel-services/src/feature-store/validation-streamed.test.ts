/**
 * Validation of streamed inserts applies to the whole insert, not to each chunk: dataset-level rules
 * are decided once over every row before the commit is recorded, row rules carry their state across
 * chunks, and a rejection leaves nothing visible.
 */
import type { FeatureRow } from '@floe/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCustomRule, RuleSet, rules } from '../validation';
import { ValidationRejectedError } from './errors';
import type { FeatureGroup } from './feature-group';
import type { FeatureStore } from './feature-store';
import { PATCH_SCHEMA, patches, tempFeatureStore } from './fixtures.test-support';

/** The rows as a stream of chunks of `size`. */
async function* inChunks(rows: FeatureRow[], size: number): AsyncIterable<FeatureRow[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

function labelled(rows: FeatureRow[], label: (i: number) => number): FeatureRow[] {
  return rows.map((r, i) => ({ ...r, is_iceberg: label(i) }));
}

type Report = {
  outcome: string;
  rows: number;
  accepted: number;
  rules: { rule: string; passed: boolean; checked: number; failing: number; message: string }[];
  rejected: { row: number; reasons: string[] }[];
};

describe('dataset-level rules on streamed inserts', () => {
  let fs: FeatureStore;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ fs, cleanup } = await tempFeatureStore());
  });
  afterAll(async () => cleanup?.());

  async function group(name: string, ruleSet: RuleSet): Promise<FeatureGroup> {
    return fs.createFeatureGroup({ name, schema: PATCH_SCHEMA, primaryKey: 'id', ruleSet });
  }

  it('judges class balance over the whole insert, not per chunk', async () => {
    const g = await group(
      'balance',
      new RuleSet('balance', [rules.classBalance('is_iceberg', { minFraction: 0.3, classes: [0, 1] })], 'strict'),
    );
    // Each chunk of 6 holds one class only (every chunk alone fails); the insert is half and half.
    const rows = labelled(patches(12, 31, 'b'), (i) => (i < 6 ? 0 : 1));
    const c = await g.insert(inChunks(rows, 6), { chunkRows: 4 });
    expect(c.rowsInserted).toBe(12);
    const report = c.validation as Report;
    expect(report).toMatchObject({ outcome: 'passed', rows: 12, accepted: 12 });
    expect(report.rules[0]).toMatchObject({ rule: 'classBalance(is_iceberg)', passed: true, checked: 12 });
    expect(report.rules[0]!.message).toMatch(/0: 6 \(50\.0%\), 1: 6 \(50\.0%\)/);

    // And the converse: every chunk is balanced on its own, the whole insert is not.
    const skewed = labelled(patches(12, 32, 'c'), (i) => (i === 0 || i === 6 ? 1 : 0));
    const before = await g.commits();
    const err = await g.insert(inChunks(skewed, 2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationRejectedError);
    expect((err as Error).message).toMatch(/class 1 is 16\.7% < 30\.0%/);
    expect((err as ValidationRejectedError).report).toMatchObject({ outcome: 'rejected', rows: 12, accepted: 0 });
    expect(await g.commits()).toEqual(before);
    expect((await g.read({ columns: ['id'] })).map((r) => r.id)).toEqual(rows.map((r) => r.id));
  });

  it('rejects on a row-count bound decided after the last chunk, leaving nothing half-written', async () => {
    const atMost10 = rules.customDataset('at most 10 rows', (rows) => ({
      passed: rows.length <= 10,
      message: `${rows.length} rows (at most 10)`,
    }));
    registerCustomRule(atMost10); // custom rules are stored by name and found again on insert
    const g = await group('row_count', new RuleSet('counts', [atMost10], 'strict'));
    await g.insert(patches(4, 33, 'first'));
    const before = await g.commits();
    const stats = await g.statistics();
    // Three chunks of 5: each alone passes; the whole insert of 15 does not. All three chunks have
    // been appended to Lance by the time the rule is decided.
    const err = await g.insert(inChunks(patches(15, 34, 'big'), 5), { chunkRows: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationRejectedError);
    expect((err as Error).message).toMatch(/at most 10 rows \(15 rows \(at most 10\)\)/);
    expect(await g.commits()).toEqual(before);
    expect(await g.statistics()).toEqual(stats);
    const visible = await g.read({ columns: ['id'] });
    expect(visible.map((r) => r.id)).toEqual(['first00000', 'first00001', 'first00002', 'first00003']);
    // The same data in a smaller insert commits next, as commit 2, with exactly its rows.
    const c = await g.insert(inChunks(patches(10, 34, 'big'), 5), { chunkRows: 5 });
    expect(c.number).toBe(2);
    expect(c.totalRows).toBe(14);
    expect((await g.read({ columns: ['id'] })).length).toBe(14);
  });

  it('carries row rules across chunks: a repeat in a later chunk is kept aside, numbered insert-wide', async () => {
    const g = await group(
      'unique_angle',
      new RuleSet(
        'angles',
        [rules.unique('inc_angle'), rules.missingRate('inc_angle', 0.5), rules.missingRate('band_1', 0)],
        'always',
      ),
    );
    const rows = patches(9, 35, 'u').map((r) => ({
      ...r,
      inc_angle: 30 + (r.id === 'u00008' ? 1 : Number(String(r.id).slice(1))),
    }));
    // Row 8 repeats row 1's angle (31), three chunks later.
    const c = await g.insert(inChunks(rows, 3));
    expect(c.rowsInserted).toBe(8);
    expect(c.rowsRejected).toBe(1);
    const aside = await g.rejectedRows(c.number);
    expect(aside.map((r) => [r.record, r.row.id])).toEqual([[8, 'u00008']]);
    expect(aside[0]!.reasons[0]).toMatch(/unique\(inc_angle\): inc_angle number 31 repeats row 1/);
    const report = c.validation as Report;
    expect(report).toMatchObject({ outcome: 'accepted_with_failures', rows: 9, accepted: 8 });
    expect(report.rejected).toEqual([{ row: 8, id: 'u00008', reasons: aside[0]!.reasons }]);
    expect(report.rules.map((r) => [r.rule, r.passed, r.checked, r.failing])).toEqual([
      ['unique(inc_angle)', false, 9, 1],
      ['missingRate(inc_angle)', true, 9, 0],
      // A tensor's presence is known for dataset rules even though its values are not kept.
      ['missingRate(band_1)', true, 9, 0],
    ]);
  });

  it('says so when a dataset rule reads tensor values of a streamed insert (and sees them in an array insert)', async () => {
    const meanBand = rules.customDataset('mean HH below -10 dB', (rows) => {
      let sum = 0;
      let n = 0;
      for (const r of rows) {
        const b = r.band_1 as Float32Array;
        for (let i = 0; i < b.length; i++) sum += b[i]!;
        n += b.length;
      }
      return { passed: sum / n < -10, message: `mean ${(sum / n).toFixed(2)} dB` };
    });
    registerCustomRule(meanBand);
    const g = await group('tensor_rule', new RuleSet('tensors', [meanBand], 'strict'));
    const err = await g.insert(inChunks(patches(4, 36, 't'), 2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationRejectedError);
    expect((err as Error).message).toMatch(
      /mean HH below -10 dB threw: the values of tensor feature 'band_1' are not kept for dataset-level rules of a streamed insert/,
    );
    expect(await g.commits()).toEqual([]);
    const c = await g.insert(patches(4, 36, 't'));
    expect((c.validation as Report).rules[0]).toMatchObject({ passed: true, checked: 4 });
    expect((c.validation as Report).rules[0]!.message).toMatch(/mean -20\.\d\d dB/);
  });
});
