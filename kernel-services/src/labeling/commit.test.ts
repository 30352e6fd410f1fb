import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeatureStore } from '../feature-store/feature-store';
import { amplitudeToDb, RasterFile } from '../ingest/geotiff';
import { commitLabels, crossPolPartner, LABEL_CHIP_SCHEMA, LabelCommitError, resolveRasterPath } from './commit';

const repoRoot = path.resolve(__dirname, '../../..');
const dataDir = process.env.FLOE_REAL_DATA ?? path.resolve(repoRoot, '../shared/data');
const GRD_DIR = 's1-grd-rio-tiler/S1A_IW_GRDH_1SDV_20180716T004042_20180716T004107_022812_02792A_FD5B/measurement';
const haveData = fs.existsSync(path.join(dataDir, GRD_DIR, 'iw-vv.tiff'));

describe('raster paths for label commits', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-label-roots-'));
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-label-outside-'));
  beforeAll(() => {
    fs.mkdirSync(path.join(root, 'scenes'));
    fs.writeFileSync(path.join(root, 'scenes', 'a-vv.tif'), 'x');
    fs.writeFileSync(path.join(outside, 'secret.tif'), 'x');
    fs.symlinkSync(path.join(outside, 'secret.tif'), path.join(root, 'scenes', 'leak.tif'));
  });
  afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  it('resolves a relative path inside the root', () => {
    expect(resolveRasterPath('scenes/a-vv.tif', [root])).toBe(fs.realpathSync(path.join(root, 'scenes', 'a-vv.tif')));
  });

  it('refuses .. traversal, absolute paths elsewhere and symlinks leading out', () => {
    const forbidden = (p: string): void => {
      let err: unknown;
      try {
        resolveRasterPath(p, [root]);
      } catch (e) {
        err = e;
      }
      expect(err, p).toBeInstanceOf(LabelCommitError);
      expect((err as LabelCommitError).reason, p).toBe('forbidden');
    };
    forbidden('../' + path.basename(outside) + '/secret.tif');
    forbidden('scenes/../../etc/passwd');
    forbidden('/etc/passwd');
    forbidden(path.join(outside, 'secret.tif'));
    forbidden('scenes/leak.tif');
  });

  it('says when the file is missing, and accepts a second root', () => {
    expect(() => resolveRasterPath('scenes/nope.tif', [root])).toThrow(/does not exist/);
    expect(resolveRasterPath(path.join(outside, 'secret.tif'), [root, outside])).toBe(
      fs.realpathSync(path.join(outside, 'secret.tif')),
    );
  });

  it('pairs co- and cross-polarised file names', () => {
    expect(crossPolPartner('a/b/iw-vv.tiff')).toBe('a/b/iw-vh.tiff');
    expect(crossPolPartner('S1_HH_x.tif')).toBe('S1_HV_x.tif');
    expect(crossPolPartner('iw-vh.tiff')).toBeNull();
  });
});

describe.skipIf(!haveData)('commitLabels on the real Sentinel-1 GRD', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-labels-'));
  let store: FeatureStore;
  const roots = [dataDir];
  const vv = `${GRD_DIR}/iw-vv.tiff`;
  beforeAll(async () => {
    store = await FeatureStore.open({ home });
  });
  afterAll(async () => {
    await store.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('cuts 75×75 VV/VH chips in dB around the points and commits them as one numbered commit', async () => {
    const result = await commitLabels(
      store,
      {
        featureGroup: 'viewer_labels',
        raster: vv,
        labels: [
          { col: 400, row: 300, class: 'ship' },
          { id: 'berg-1', col: 900.5, row: 500.25, class: 'iceberg' },
        ],
        labelledBy: 'tester',
      },
      { roots, now: new Date('2026-11-22T08:00:00Z') },
    );
    expect(result.featureGroup).toEqual({ name: 'viewer_labels', version: 1 });
    expect(result.commit).toMatchObject({ number: 1, rowsInserted: 2, totalRows: 2, rowsRejected: 0 });
    expect(result.rasters[1]).toMatch(/iw-vh\.tiff$/);
    expect(result.chips.map((c) => [c.id, c.col0, c.row0])).toEqual([
      ['iw-vv.tiff:r300:c400', 400 - 37, 300 - 37],
      ['berg-1', 900 - 37, 500 - 37],
    ]);
    // GCP placement gives lon/lat somewhere on Earth for the scene.
    expect(Math.abs(result.chips[0]!.lon!)).toBeLessThanOrEqual(180);

    const group = await store.getFeatureGroup('viewer_labels');
    expect(group.schema.map((f) => f.name)).toEqual(LABEL_CHIP_SCHEMA.map((f) => f.name));
    const rows = await group.read();
    const ship = rows.find((r) => r.id === 'iw-vv.tiff:r300:c400')!;
    expect(ship.is_iceberg).toBe(0);
    expect(ship.labelled_by).toBe('tester');
    expect((ship.labelled_at as Date).toISOString()).toBe('2026-11-22T08:00:00.000Z');
    // Independent check of the chip values: the same window read directly and turned into dB.
    for (const [file, band] of [
      ['iw-vv.tiff', 'band_1'],
      ['iw-vh.tiff', 'band_2'],
    ] as const) {
      const raster = await RasterFile.open(path.join(dataDir, GRD_DIR, file));
      const chip = await raster.readChip(363, 263, 75);
      await raster.close();
      const expected = amplitudeToDb(chip.bands[0]!, { nodata: raster.info.nodata });
      const got = ship[band] as Float32Array;
      expect(got.length).toBe(75 * 75);
      for (const k of [0, 37 * 75 + 37, 5624]) expect(got[k]).toBeCloseTo(expected[k]!, 5);
    }
    // Tensors are stored without NaN (nodata pixels are filled), whatever the chip covered.
    for (const r of rows)
      for (const band of ['band_1', 'band_2']) expect((r[band] as Float32Array).every(Number.isFinite)).toBe(true);
    const stats = await group.statistics();
    expect(stats).toBeDefined();

    // The same point again is a duplicate: the whole second commit is refused and nothing is written.
    await expect(
      commitLabels(
        store,
        { featureGroup: 'viewer_labels', raster: vv, labels: [{ col: 400, row: 300, class: 'ship' }] },
        { roots },
      ),
    ).rejects.toThrow(/duplicate primary key/);
    const next = await commitLabels(
      store,
      { featureGroup: 'viewer_labels', raster: vv, labels: [{ col: 640, row: 420, class: 'iceberg' }] },
      { roots },
    );
    expect(next.commit).toMatchObject({ number: 2, rowsInserted: 1, totalRows: 3 });
    expect((await group.commits()).map((c) => c.number)).toEqual([1, 2]);
  });

  it('refuses points off the image or over too little data, bad bodies and paths out of the roots', async () => {
    const commit = (body: unknown): Promise<unknown> => commitLabels(store, body, { roots });
    await expect(
      commit({ featureGroup: 'edge', raster: vv, labels: [{ col: 5000, row: 10, class: 'ship' }] }),
    ).rejects.toThrow(/label 0 at col 5000, row 10 is outside .*1280×837/);
    await expect(
      commit({ featureGroup: 'edge', raster: vv, labels: [{ col: 0, row: 0, class: 'ship' }] }),
    ).rejects.toThrow(/only \d+ % of its 75×75 chip holds data/);
    await expect(
      commit({ featureGroup: 'edge', raster: vv, labels: [{ col: 1, row: 1, class: 'whale' }] }),
    ).rejects.toThrow(/labels\.0\.class/);
    await expect(commit({ featureGroup: 'edge', raster: vv, labels: [] })).rejects.toThrow(/labels/);
    await expect(
      commit({ featureGroup: 'edge', raster: '../../../etc/passwd', labels: [{ col: 1, row: 1, class: 'ship' }] }),
    ).rejects.toThrow(/outside the allowed folders/);
    await expect(store.getFeatureGroup('edge')).rejects.toThrow(/no feature group 'edge'/);
  });
});
