import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { icebergRules, RuleSet, rules } from '../validation';
import { ValidationRejectedError } from './errors';
import type { FeatureStore } from './feature-store';
import { PATCH_SCHEMA, patches, tempFeatureStore } from './fixtures.test-support';

describe('validation on insert (rule set stored with the group)', () => {
  let fs: FeatureStore;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ fs, cleanup } = await tempFeatureStore());
  });
  afterAll(async () => cleanup?.());

  function badRows() {
    const rows = patches(9, 21, 'v');
    (rows[2]!.band_1 as Float32Array)[5] = NaN; // fails finite
    (rows[4]!.band_2 as Float32Array)[0] = 900; // fails range(band_2)
    return rows;
  }

  it('policy strict rejects the whole commit and leaves the store unchanged', async () => {
    const g = await fs.createFeatureGroup({
      name: 'strict',
      schema: PATCH_SCHEMA,
      primaryKey: 'id',
      ruleSet: icebergRules('strict'),
    });
    expect(g.info.ruleSet).toMatchObject({ name: 'iceberg-default', policy: 'strict' });
    await g.insert(patches(8, 20, 'ok'));
    const before = await g.commits();
    const err = await g.insert(badRows()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationRejectedError);
    expect((err as Error).message).toMatch(/validation \(policy strict\) rejected the commit: .*finite/);
    expect((err as ValidationRejectedError).report).toMatchObject({ outcome: 'rejected' });
    expect(await g.commits()).toEqual(before);
    expect((await g.read()).length).toBe(8);
    expect(before[0]!.validation).toMatchObject({ outcome: expect.any(String), policy: 'strict' });
    // And the next good insert commits as number 2.
    expect((await g.insert(patches(3, 22, 'ok2'))).number).toBe(2);
  });

  it('policy always inserts valid rows and keeps rejected rows aside with reasons', async () => {
    const g = await fs.createFeatureGroup({
      name: 'always',
      schema: PATCH_SCHEMA,
      primaryKey: 'id',
      ruleSet: icebergRules('always'),
    });
    const rows = badRows();
    const c = await g.insert(rows);
    expect(c.rowsInserted).toBe(7);
    expect(c.rowsRejected).toBe(2);
    expect((await g.read()).map((r) => r.id).sort()).toEqual(
      rows
        .filter((_, i) => i !== 2 && i !== 4)
        .map((r) => r.id)
        .sort(),
    );
    const aside = await g.rejectedRows(c.number);
    expect(aside.map((r) => [r.record, r.row.id])).toEqual([
      [2, 'v00002'],
      [4, 'v00004'],
    ]);
    expect(aside[0]!.reasons.join(' ')).toMatch(/finite/);
    expect(aside[1]!.reasons.join(' ')).toMatch(/range\(band_2\)/);
    // Rejected rows come back exactly, NaN included.
    expect(Number.isNaN((aside[0]!.row.band_1 as Float32Array)[5])).toBe(true);
    expect((aside[1]!.row.band_2 as Float32Array)[0]).toBe(900);
    expect(c.validation).toMatchObject({ ruleSet: 'iceberg-default', rows: 9, accepted: 7 });
    // Statistics cover the inserted rows only.
    expect(c.statistics.commit.rows).toBe(7);
  });

  it('rebuilds custom rules by name and refuses a rule set that cannot be stored', async () => {
    await expect(
      fs.createFeatureGroup({
        name: 'bad_rules',
        schema: PATCH_SCHEMA,
        primaryKey: 'id',
        ruleSet: { not: 'a rule set' },
      }),
    ).rejects.toThrow(/feature group 'bad_rules': rule set cannot be stored/);
    const g = await fs.createFeatureGroup({
      name: 'labels',
      schema: PATCH_SCHEMA,
      primaryKey: 'id',
      ruleSet: new RuleSet('labels-only', [rules.range('inc_angle', { min: 30, max: 40 })], 'always'),
    });
    const rows = patches(6, 23, 'r').map((r) => ({ ...r, inc_angle: 35 }));
    rows[1]!.inc_angle = 44;
    const c = await g.insert(rows);
    expect(c.rowsRejected).toBe(1);
    expect((await g.rejectedRows(1))[0]!.row.id).toBe('r00001');
  });
});
