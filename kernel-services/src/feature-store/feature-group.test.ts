import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureStore } from './feature-store';
import { PATCH_SCHEMA, patches, tempFeatureStore } from './fixtures.test-support';

describe('feature groups and commits (sqlite + local)', () => {
  let fs: FeatureStore;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ fs, cleanup } = await tempFeatureStore());
  });
  afterAll(async () => cleanup?.());

  it('creates, lists and gets feature groups with versions', async () => {
    const g1 = await fs.createFeatureGroup({
      name: 'patches',
      schema: PATCH_SCHEMA,
      primaryKey: 'id',
      description: 'iceberg patches',
    });
    const g2 = await fs.createFeatureGroup({ name: 'patches', schema: PATCH_SCHEMA, primaryKey: ['id'] });
    expect([g1.version, g2.version]).toEqual([1, 2]);
    expect((await fs.getFeatureGroup('patches')).version).toBe(2);
    expect((await fs.getFeatureGroup('patches', 1)).info.description).toBe('iceberg patches');
    const list = await fs.listFeatureGroups();
    expect(list.map((g) => `${g.name}/${g.version}/${g.commits}`)).toEqual(['patches/1/0', 'patches/2/0']);
    await expect(
      fs.createFeatureGroup({ name: 'patches', version: 1, schema: PATCH_SCHEMA, primaryKey: 'id' }),
    ).rejects.toThrow(/already exists/);
    await expect(fs.getFeatureGroup('nope')).rejects.toThrow(/no feature group 'nope'/);
    await expect(fs.createFeatureGroup({ name: 'bad', schema: PATCH_SCHEMA, primaryKey: 'band_1' })).rejects.toThrow(
      /primary key feature 'band_1' must be a non-nullable scalar/,
    );
    await expect(
      fs.createFeatureGroup({
        name: 'bad',
        schema: [{ name: '1x', kind: 'scalar', dtype: 'string' }],
        primaryKey: '1x',
      }),
    ).rejects.toThrow(/schema is not valid at 0.name/);
  });

  it('inserts numbered commits and travels back in time by commit and by date', async () => {
    const g = await fs.createFeatureGroup({ name: 'travel', schema: PATCH_SCHEMA, primaryKey: 'id' });
    expect(await g.read()).toEqual([]);
    const first = patches(6, 1, 'a');
    const c1 = await g.insert(first);
    const between = new Date();
    await new Promise((r) => setTimeout(r, 5));
    const c2 = await g.insert(patches(4, 2, 'b'));
    expect([c1.number, c2.number]).toEqual([1, 2]);
    expect([c1.totalRows, c2.totalRows]).toEqual([6, 10]);
    expect((await g.read()).length).toBe(10);
    const at1 = await g.read({ asOf: 1 });
    expect(at1.map((r) => r.id).sort()).toEqual(first.map((r) => r.id).sort());
    const row = at1.find((r) => r.id === 'a00002')!;
    expect(row.band_1).toBeInstanceOf(Float32Array);
    expect(Array.from(row.band_1 as Float32Array)).toEqual(Array.from(first[2]!.band_1 as Float32Array));
    expect(row.inc_angle).toBe(first[2]!.inc_angle);
    expect((await g.read({ asOf: between })).length).toBe(6);
    await expect(g.read({ asOf: new Date(0) })).rejects.toThrow(/no commit at or before/);
    await expect(g.read({ asOf: 9 })).rejects.toThrow(/has no commit 9/);
    const some = await g.read({ columns: ['id', 'is_iceberg'], filter: 'is_iceberg = 1' });
    expect(Object.keys(some[0]!).sort()).toEqual(['id', 'is_iceberg']);
    expect(some.every((r) => r.is_iceberg === 1)).toBe(true);
    await expect(g.read({ columns: ['nope'] })).rejects.toThrow(/has no feature 'nope'/);
  });

  it('stores statistics per commit, per band, mergeable across commits', async () => {
    const g = await fs.getFeatureGroup('travel');
    const [c1, c2] = await g.commits();
    const s1 = c1!.statistics;
    expect(s1.commit.rows).toBe(6);
    const b1 = s1.commit.features.band_1!.bands![0]!;
    expect(b1.count).toBe(6 * 5625);
    const all = patches(6, 1, 'a').flatMap((r) => Array.from(r.band_1 as Float32Array));
    const mean = all.reduce((a, b) => a + b, 0) / all.length;
    expect(b1.mean).toBeCloseTo(mean, 6);
    expect(b1.min).toBe(Math.min(...all));
    expect(b1.histogram!.counts.reduce((a, b) => a + b, 0) + b1.histogram!.below + b1.histogram!.above).toBe(
      all.length,
    );
    expect(s1.commit.features.inc_angle!.missing).toBe(1);
    // Group statistics at commit 2 = commit 1 + commit 2, with the same histogram edges.
    const g2 = c2!.statistics.group.features.band_2!.bands![0]!;
    expect(g2.count).toBe(10 * 5625);
    expect(g2.histogram!.lo).toBe(s1.group.features.band_2!.bands![0]!.histogram!.lo);
    const both = [...patches(6, 1, 'a'), ...patches(4, 2, 'b')].flatMap((r) => Array.from(r.band_2 as Float32Array));
    const m = both.reduce((a, b) => a + b, 0) / both.length;
    const sd = Math.sqrt(both.reduce((a, b) => a + (b - m) ** 2, 0) / both.length);
    expect(g2.mean).toBeCloseTo(m, 6);
    expect(g2.std).toBeCloseTo(sd, 6);
    expect(c2!.statistics.group.features.is_iceberg!.numeric!.count).toBe(10);
  });

  it('rejects bad rows with an error naming record and field, and writes nothing', async () => {
    const g = await fs.createFeatureGroup({ name: 'strict_schema', schema: PATCH_SCHEMA, primaryKey: 'id' });
    await g.insert(patches(3, 3, 'k'));
    const before = await g.commits();
    const wrongLength = patches(3, 4, 'n');
    wrongLength[1]!.band_2 = new Float32Array(5624);
    await expect(g.insert(wrongLength)).rejects.toThrow(
      /record 1 \(id="n00001"\), field 'band_2': tensor has 5624 values; shape \[75, 75\] needs 5625/,
    );
    const unknown = patches(2, 4, 'u') as Record<string, unknown>[];
    unknown[1]!.colour = 'red';
    await expect(g.insert(unknown)).rejects.toThrow(/record 1 \(id="u00001"\): unknown field 'colour'/);
    const mismatch = patches(2, 4, 'm') as Record<string, unknown>[];
    mismatch[0]!.is_iceberg = 'yes';
    await expect(g.insert(mismatch)).rejects.toThrow(
      /record 0 \(id="m00000"\), field 'is_iceberg': expected an int32, got string/,
    );
    const missing = patches(2, 4, 'q') as Record<string, unknown>[];
    delete missing[1]!.band_1;
    await expect(g.insert(missing)).rejects.toThrow(/field 'band_1': missing/);
    const dupInBatch = patches(3, 5, 'd');
    dupInBatch[2]!.id = 'd00000';
    await expect(g.insert(dupInBatch)).rejects.toThrow(
      /record 2 \(id="d00000"\): duplicate primary key id="d00000": record 0 of this insert has it too/,
    );
    await expect(g.insert(patches(1, 6, 'k'))).rejects.toThrow(
      /duplicate primary key id="k00000": it already exists in feature group 'strict_schema' v1 \(as of commit 1\)/,
    );
    expect(await g.commits()).toEqual(before);
    expect((await g.read()).length).toBe(3);
    // Streamed inserts fail the same way and leave nothing behind either.
    async function* stream() {
      yield patches(2, 7, 's');
      yield wrongLength;
    }
    await expect(g.insert(stream())).rejects.toThrow(/record 3 \(id="n00001"\), field 'band_2'/);
    expect((await g.read()).length).toBe(3);
    const c = await g.insert(patches(2, 8, 'ok'));
    expect(c.number).toBe(2);
    expect((await g.read()).length).toBe(5);
  });

  it('without a rule set: NaN pixels are a clear error, Infinity and NaN scalars are values', async () => {
    const g = await fs.createFeatureGroup({ name: 'nan_values', schema: PATCH_SCHEMA, primaryKey: 'id' });
    const bad = patches(2, 9, 'x');
    (bad[1]!.band_1 as Float32Array)[10] = NaN;
    await expect(g.insert(bad)).rejects.toThrow(/record 1 \(id="x00001"\), field 'band_1': element 10 is NaN/);
    expect(await g.commits()).toEqual([]);
    const rows = patches(2, 9, 'x');
    (rows[0]!.band_1 as Float32Array)[11] = Infinity;
    rows[1]!.inc_angle = NaN;
    const c = await g.insert(rows);
    const band = c.statistics.commit.features.band_1!.bands![0]!;
    expect(band.nonFinite).toBe(1);
    expect(band.count).toBe(2 * 5625 - 1);
    expect(Number.isFinite(band.mean!)).toBe(true);
    expect(c.statistics.commit.features.inc_angle!.numeric!.nonFinite).toBe(1);
    const back = await g.read({ filter: "id = 'x00000'" });
    expect((back[0]!.band_1 as Float32Array)[11]).toBe(Infinity);
  });
});
