import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fitGcpTransform } from './gcp';
import { amplitudeToDb, intensityToDb, RasterError, RasterFile } from './geotiff';
import { projectionFor } from './projection';

const repoRoot = path.resolve(__dirname, '../../..');
const dataDir = process.env.FLOE_REAL_DATA ?? path.resolve(repoRoot, '../shared/data');
const haveData = fs.existsSync(path.join(dataDir, 's1-grd-rio-tiler'));
const real = (p: string): string => path.join(dataDir, p);

const GRD_VV = real(
  's1-grd-rio-tiler/S1A_IW_GRDH_1SDV_20180716T004042_20180716T004107_022812_02792A_FD5B/measurement/iw-vv.tiff',
);
const SM_VH = real(
  's1-grd-rio-tiler/S1A_S1_GRDH_1SDV_20230809T020729_20230809T020754_049792_05FCE6_1175/measurement/s1-vh.tiff',
);
const PYROSAR_DB = real('s1-geocoded-db-pyrosar/S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif');
const FLOODS_CHIP = real('s1-chips-sen1floods11/Spain_7370579_S1Hand.tif');
const CORRUPT = real('edge-cases/corrupt.tif');
const ALL_NODATA = real('edge-cases/all-nodata.tif');
const ALL_NAN = real('edge-cases/Paraguay_34417_S1Hand.tif');

const opened: RasterFile[] = [];
async function open(file: string): Promise<RasterFile> {
  const r = await RasterFile.open(file);
  opened.push(r);
  return r;
}
afterAll(async () => {
  for (const r of opened) await r.close();
});

/** GDAL's own reading of a pixel (`gdallocationinfo -valonly`), when GDAL is installed. */
function gdalPixel(file: string, col: number, row: number): number[] | undefined {
  try {
    const out = execFileSync('gdallocationinfo', ['-valonly', file, String(col), String(row)], { encoding: 'utf8' });
    return out.trim().split('\n').map(Number);
  } catch {
    return undefined;
  }
}
const haveGdal = ((): boolean => {
  try {
    execFileSync('gdallocationinfo', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('projections', () => {
  // Reference values from GDAL/PROJ (gdaltransform), 2026-11.
  it('UTM 31N inverse and forward agree with PROJ to a millimetre', () => {
    const utm = projectionFor(32631)!;
    const [lon, lat] = utm.inverse(620048.241204, 4830114.70107);
    expect(lon).toBeCloseTo(4.48773289453118, 9);
    expect(lat).toBeCloseTo(43.6143362551479, 9);
    const [x, y] = utm.forward(4.52, 43.59);
    expect(x).toBeCloseTo(622701.432584135, 3);
    expect(y).toBeCloseTo(4827459.02041574, 3);
  });

  it('UTM 19S forward agrees with PROJ', () => {
    const [x, y] = projectionFor(32719)!.forward(-70, -33);
    expect(x).toBeCloseTo(406582.221792239, 3);
    expect(y).toBeCloseTo(6348269.02588762, 3);
  });

  it('round-trips Web Mercator and knows what it does not implement', () => {
    const wm = projectionFor(3857)!;
    const [lon, lat] = wm.inverse(...wm.forward(12.5, -41.25));
    expect(lon).toBeCloseTo(12.5, 10);
    expect(lat).toBeCloseTo(-41.25, 10);
    expect(projectionFor(2154)).toBeUndefined();
  });
});

describe('GCP polynomial fit', () => {
  it('recovers an exact quadratic mapping and its inverse', () => {
    const gcps = [];
    for (let p = 0; p <= 1000; p += 250)
      for (let l = 0; l <= 800; l += 200)
        gcps.push({ pixel: p, line: l, x: 10 + 0.001 * p + 2e-7 * p * l, y: 50 - 0.0008 * l + 1e-7 * p * p });
    const t = fitGcpTransform(gcps);
    expect(t.order).toBe(2);
    expect(t.rmsMap).toBeLessThan(1e-9);
    const [x, y] = t.pixelToMap(333, 444);
    expect(x).toBeCloseTo(10 + 0.333 + 2e-7 * 333 * 444, 9);
    expect(y).toBeCloseTo(50 - 0.0008 * 444 + 1e-7 * 333 * 333, 9);
  });

  it('refuses degenerate (collinear) GCPs with a clear error', () => {
    const gcps = Array.from({ length: 12 }, (_, i) => ({ pixel: i, line: i, x: i, y: i }));
    expect(() => fitGcpTransform(gcps)).toThrow(/degenerate/);
  });
});

describe('dB helpers', () => {
  it('amplitude DN → dB is 10·log10(DN²); zero and nodata become NaN', () => {
    const db = amplitudeToDb(Uint16Array.of(0, 1, 10, 237, 65535), { nodata: 65535 });
    expect(Number.isNaN(db[0])).toBe(true);
    expect(db[1]).toBe(0);
    expect(db[2]).toBeCloseTo(20, 5);
    expect(db[3]).toBeCloseTo(10 * Math.log10(237 * 237), 4);
    expect(Number.isNaN(db[4])).toBe(true);
    expect(amplitudeToDb([100], { calibration: 10 })[0]).toBeCloseTo(20, 5);
  });

  it('intensity → dB is 10·log10(I)', () => {
    const db = intensityToDb([0.01, 1, -1]);
    expect(db[0]).toBeCloseTo(-20, 5);
    expect(db[1]).toBe(0);
    expect(Number.isNaN(db[2])).toBe(true);
  });
});

describe.skipIf(!haveData)('GeoTIFF chips from real Sentinel-1 files', () => {
  it('describes a GCP-only GRD: size, band named from the file, no nodata, overviews, GCP georeferencing', async () => {
    const r = await open(GRD_VV);
    const i = r.info;
    expect([i.width, i.height]).toEqual([1280, 837]);
    expect(i.bands).toEqual([{ index: 0, name: 'VV', nameSource: 'filename', dataType: 'uint16' }]);
    expect(i.nodata).toBeNull();
    expect(i.description).toBe('Sentinel-1A IW GRD HR L1');
    expect(i.overviews.map((o) => [o.width, o.height])).toEqual([
      [1280, 837],
      [640, 419],
      [320, 210],
      [160, 105],
    ]);
    const g = i.georeferencing;
    expect(g.kind).toBe('gcps');
    if (g.kind !== 'gcps') return;
    expect(g.gcps).toHaveLength(210);
    expect(g.epsg).toBe(4326);
    expect(g.order).toBe(2);
    expect(g.rmsPixels).toBeLessThan(1);
  });

  it("geolocates GCP-only pixels like GDAL's GCP transformer (order 2)", async () => {
    const r = await open(GRD_VV);
    // gdaltransform -t_srs EPSG:4326 iw-vv.tiff
    const cases: [number, number, number, number][] = [
      [640, 400, 76.9045809307154, 10.2453996043261],
      [132.5, 132.5, 77.9149765279352, 10.546409892196],
      [1000.25, 700.75, 76.1521819169439, 9.83014299684727],
    ];
    for (const [col, row, lon, lat] of cases) {
      const p = r.pixelToLonLat(col, row);
      expect(Math.abs(p.lon - lon)).toBeLessThan(1e-6);
      expect(Math.abs(p.lat - lat)).toBeLessThan(1e-6);
    }
    const back = r.lonLatToPixel(76.9045809307154, 10.2453996043261);
    expect(Math.abs(back.col - 640)).toBeLessThan(0.05);
    expect(Math.abs(back.row - 400)).toBeLessThan(0.05);
  });

  it('cuts a chip around a lon/lat point on the GCP-only stripmap COG, with nodata 0 as NaN', async () => {
    const r = await open(SM_VH);
    expect(r.info.nodata).toBe(0);
    expect(r.info.bands[0]!.name).toBe('VH');
    // gdaltransform -i s1-vh.tiff: (55.3, -4.6) → pixel 240.38, line 372.14
    const px = r.lonLatToPixel(55.3, -4.6);
    expect(px.col).toBeCloseTo(240.380069942436, 1);
    expect(px.row).toBeCloseTo(372.13841926404, 1);
    const chip = await r.chipAround({ lon: 55.3, lat: -4.6 }, 32);
    expect([chip.col0, chip.row0]).toEqual([240 - 16, 372 - 16]);
    expect(chip.bands[0]).toHaveLength(32 * 32);
    expect(chip.center!.lon).toBeCloseTo(55.3, 2);
    expect(chip.validFraction).toBeGreaterThan(0);
    for (const v of chip.bands[0]!) if (!Number.isNaN(v)) expect(v).toBeGreaterThan(0);
  });

  it('reads the same pixel values as GDAL (GRD DN, dB float, 2-band chip)', async () => {
    const expectations: [string, number, number, number[]][] = [
      // gdallocationinfo -valonly FILE col row
      [GRD_VV, 0, 0, [138]],
      [GRD_VV, 640, 400, [237]],
      [GRD_VV, 1279, 836, [0]],
      [SM_VH, 200, 400, [21]],
      [PYROSAR_DB, 10, 20, [-4.69801616668701]],
      [PYROSAR_DB, 200, 150, [-13.509162902832]],
      [FLOODS_CHIP, 100, 200, [-8.41309833526611, -13.7063302993774]],
      [FLOODS_CHIP, 511, 0, [-21.4535121917725, -41.1106224060059]],
    ];
    for (const [file, col, row, values] of expectations) {
      const r = await open(file);
      const chip = await r.readChip(col, row, 1);
      const got = chip.bands.map((b) => b[0]!);
      const reference = haveGdal ? gdalPixel(file, col, row)! : values;
      expect(reference.map((v) => Math.fround(v))).toEqual(values.map((v) => Math.fround(v)));
      // GRD has no nodata tag, so DN 0 is a value there; with nodata 0 it would be NaN.
      expect(got).toEqual(values.map((v) => Math.fround(v)));
    }
  });

  it('GDAL is available in the test set-up for cross-checks', () => {
    // scripts/setup.sh installs gdal-bin; without it the comparisons above use recorded GDAL values.
    if (!haveGdal) console.warn('gdallocationinfo not found: pixel values compared against recorded GDAL output');
    expect(typeof haveGdal).toBe('boolean');
  });

  it('describes the geocoded dB file: affine UTM transform, nodata -99, float32', async () => {
    const r = await open(PYROSAR_DB);
    const g = r.info.georeferencing;
    expect(g).toMatchObject({
      kind: 'affine',
      epsg: 32631,
      lonLat: true,
      geoTransform: [620048.241204, 20, 0, 4830114.70107, 0, -20],
    });
    expect(r.info.nodata).toBe(-99);
    expect(r.info.bands[0]).toMatchObject({ name: 'VV', dataType: 'float32' });
    // gdaltransform: pixel (100.5, 50.5) → 4.51240606403897, 43.6049184231797
    const p = r.pixelToLonLat(100.5, 50.5);
    expect(p.lon).toBeCloseTo(4.51240606403897, 8);
    expect(p.lat).toBeCloseTo(43.6049184231797, 8);
    // gdallocationinfo -wgs84 FILE 4.52 43.59 → (132P,132L), -11.6425046920776
    const chip = await r.chipAround({ lon: 4.52, lat: 43.59 }, 1);
    expect([chip.col0, chip.row0]).toEqual([132, 132]);
    expect(chip.bands[0]![0]).toBe(Math.fround(-11.6425046920776));
  });

  it('names bands from GDAL descriptions and finds a lon/lat pixel on an EPSG:4326 chip', async () => {
    const r = await open(FLOODS_CHIP);
    expect(r.info.bands.map((b) => [b.name, b.nameSource])).toEqual([
      ['VV', 'gdal-description'],
      ['VH', 'gdal-description'],
    ]);
    expect(Number.isNaN(r.info.nodata)).toBe(true);
    // gdallocationinfo -wgs84 FILE -0.76 38.1 → (243P,320L), VV 2.19546604156494
    const chip = await r.chipAround({ lon: -0.76, lat: 38.1 }, 5, { bands: ['vh', 'VV'] });
    expect(chip.bandNames).toEqual(['VH', 'VV']);
    expect([chip.col0 + 2, chip.row0 + 2]).toEqual([243, 320]);
    expect(chip.bands[1]![2 * 5 + 2]).toBe(Math.fround(2.19546604156494));
  });

  it('pads a chip that leaves the image with NaN and reports the valid fraction', async () => {
    const r = await open(PYROSAR_DB);
    const chip = await r.chipAround({ col: 0, row: 0 }, 10);
    expect([chip.col0, chip.row0]).toEqual([-5, -5]);
    const b = chip.bands[0]!;
    expect(Number.isNaN(b[0])).toBe(true);
    expect(b[5 * 10 + 5]).toBe((await r.readChip(0, 0, 1)).bands[0]![0]);
    expect(chip.validFraction).toBeLessThanOrEqual(0.25);
    expect(chip.validFraction).toBeGreaterThan(0);
  });

  it('cuts chips on a grid with a stride, skipping mostly-nodata chips', async () => {
    const r = await open(PYROSAR_DB);
    const skipped: number[] = [];
    const chips = [];
    for await (const c of r.chipGrid(64, { stride: 48, minValidFraction: 0.9, onSkip: (_c, _r, f) => skipped.push(f) }))
      chips.push(c);
    // 268x217: columns 0,48,96,144,192 (5), rows 0,48,96,144 (4) → 20 windows.
    expect(chips.length + skipped.length).toBe(20);
    for (const c of chips) {
      expect(c.col0 % 48).toBe(0);
      expect(c.validFraction).toBeGreaterThanOrEqual(0.9);
      expect(c.bands[0]).toHaveLength(64 * 64);
    }
    for (const f of skipped) expect(f).toBeLessThan(0.9);
  });

  it('reads from an overview, with geolocation scaled to it', async () => {
    const r = await open(GRD_VV);
    // Full-resolution pixel centre (641.5, 401.5) lies in overview pixel (320, 200) (factor 2).
    const at = r.pixelToLonLat(641.5, 401.5);
    const chip = await r.chipAround(at, 8, { overview: 1 });
    expect([chip.col0 + 4, chip.row0 + 4]).toEqual([320, 200]);
    expect(chip.center!.lon).toBeCloseTo(at.lon, 2);
    const full = await r.readChip(640, 400, 2);
    expect(chip.bands[0]![4 * 8 + 4]).toBeGreaterThan(0);
    expect(full.bands[0]).toHaveLength(4);
  });

  it('rejects an unknown band, overview or a bad chip size, naming the file', async () => {
    const r = await open(FLOODS_CHIP);
    await expect(r.chipAround({ col: 5, row: 5 }, 4, { bands: ['HH'] })).rejects.toThrow(
      /Spain_7370579_S1Hand\.tif: no band "HH" \(bands: 0=VV, 1=VH\)/,
    );
    await expect(r.chipAround({ col: 5, row: 5 }, 4, { overview: 3 })).rejects.toThrow(/no overview 3/);
    await expect(r.chipAround({ col: 5, row: 5 }, 0)).rejects.toThrow(/chip size must be an integer/);
  });
});

describe.skipIf(!haveData)('GeoTIFF edge cases', () => {
  it('corrupt.tif: opens, then a read of the broken tile fails with a clear error naming the file', async () => {
    const r = await open(CORRUPT);
    expect(r.info.overviews.length).toBeGreaterThan(1);
    // Tiles 0-2 are intact.
    const ok = await r.readChip(0, 0, 16);
    expect(ok.validFraction).toBe(1);
    const err = await r.readChip(600, 600, 16).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RasterError);
    expect((err as RasterError).file).toBe(CORRUPT);
    expect((err as Error).message).toMatch(
      /corrupt\.tif: tile 3 of image 0 \(bytes 260000–307086\) runs past the end of the file \(298232 bytes\)/,
    );
  });

  it('a file that is not a TIFF is a clear open error', async () => {
    const err = await RasterFile.open(Buffer.from('definitely not a tiff').buffer, { name: 'notes.tif' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RasterError);
    expect((err as Error).message).toMatch(/^notes\.tif: cannot open as GeoTIFF/);
  });

  it('a missing file is a clear open error', async () => {
    await expect(RasterFile.open(real('edge-cases/nope.tif'))).rejects.toThrow(/nope\.tif: cannot open as GeoTIFF/);
  });

  it('all-nodata.tif: every chip is explicitly empty, and the grid yields nothing', async () => {
    const r = await open(ALL_NODATA);
    expect(r.info.nodata).toBe(0);
    expect(r.info.bands.map((b) => b.name)).toEqual(['blue', 'green', 'red', 'nir'].slice(0, r.info.bands.length));
    const chip = await r.chipAround({ col: 35, row: 1200 }, 32);
    expect(chip.empty).toBe(true);
    expect(chip.validFraction).toBe(0);
    for (const b of chip.bands) expect(b.every((v) => Number.isNaN(v))).toBe(true);
    let skipped = 0;
    const chips = [];
    for await (const c of r.chipGrid(64, { onSkip: () => skipped++ })) chips.push(c);
    expect(chips).toEqual([]);
    expect(skipped).toBe(Math.floor(2475 / 64));
  });

  it('an all-NaN Sen1Floods11 chip is empty, not zeros', async () => {
    const r = await open(ALL_NAN);
    const chip = await r.chipAround({ col: 256, row: 256 }, 64);
    expect(chip.empty).toBe(true);
    expect(chip.bands[0]!.every((v) => Number.isNaN(v))).toBe(true);
    const grid = [];
    for await (const c of r.chipGrid(128, { minValidFraction: 0 })) grid.push(c);
    expect(grid).toEqual([]);
  });
});
