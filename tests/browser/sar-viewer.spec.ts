import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { LARGE_COG_LAYOUT, LARGE_COG_OPTIONS } from '../../kernel-services/dist/bench/tiles';
import { labServer, repoRoot, screenshotPath, type LabServer } from './lab';

/**
 * The SAR Viewer on real Sentinel-1 files (../shared/data, reached through symlinks in a git-ignored
 * folder under the server's root) and on generated fixtures (a 10,240 × 10,240 COG, a complex SLC-like
 * file, a file deleted while open). Pixel values in the readout are checked against GDAL's
 * gdallocationinfo, an independent reader.
 */

const lab = labServer();
const realData = process.env.FLOE_REAL_DATA ?? path.resolve(repoRoot, '..', 'shared', 'data');
const hasRealData = fs.existsSync(realData);
/** Under the server's root (the repository) and git-ignored. */
const fixtures = path.join(repoRoot, 'test-results', 'sar-fixtures');
const rel = (name: string): string => path.relative(repoRoot, path.join(fixtures, name));

const GRD = 's1-grd-rio-tiler/S1A_IW_GRDH_1SDV_20180716T004042_20180716T004107_022812_02792A_FD5B/measurement';

function gdal(tool: string, args: string[]): string {
  return execFileSync(tool, args, { encoding: 'utf8' });
}

/** Band values at (col, row) as GDAL reads them. */
function gdalValues(file: string, col: number, row: number): number[] {
  return gdal('gdallocationinfo', ['-valonly', file, String(col), String(row)])
    .trim()
    .split('\n')
    .map((v) => (v.trim() === '' ? NaN : Number(v)));
}

test.beforeAll(() => {
  fs.mkdirSync(fixtures, { recursive: true });
  if (hasRealData) {
    const links: [string, string][] = [
      ['grd', path.join(realData, GRD)],
      ['pyrosar', path.join(realData, 's1-geocoded-db-pyrosar')],
      ['sen1floods11', path.join(realData, 's1-chips-sen1floods11')],
      ['edge-cases', path.join(realData, 'edge-cases')],
    ];
    // Jupyter's /files/ (tornado ≥ 6.5.9) refuses files whose real path leaves the server root, so the
    // files are hard-linked (same bytes, no copy) where the filesystem allows, else symlinked.
    for (const [name, target] of links) {
      const dir = path.join(fixtures, name);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir);
      for (const file of fs.readdirSync(target).filter((f) => /\.tiff?$/.test(f))) {
        try {
          fs.linkSync(path.join(target, file), path.join(dir, file));
        } catch {
          fs.symlinkSync(path.join(target, file), path.join(dir, file));
        }
      }
    }
  }
  // A large tiled COG with overviews: the GRD scene resampled to 10,240 × 10,240 (about 10 s with GDAL).
  const big = path.join(fixtures, 'large-cog.tif');
  if (!fs.existsSync(big)) {
    const source = hasRealData ? path.join(realData, GRD, 'iw-vv.tiff') : null;
    if (source) {
      gdal('gdal_translate', ['-q', ...LARGE_COG_OPTIONS, source, `${big}.part`]);
    } else {
      // Without the real scene: a constant UInt16 raster of the same size and layout.
      gdal('gdal_create', [
        '-q',
        '-of',
        'GTiff',
        '-outsize',
        '10240',
        '10240',
        '-ot',
        'UInt16',
        '-burn',
        '150',
        '-co',
        'TILED=YES',
        `${big}.flat`,
      ]);
      gdal('gdal_translate', ['-q', ...LARGE_COG_LAYOUT, `${big}.flat`, `${big}.part`]);
      fs.rmSync(`${big}.flat`);
    }
    fs.renameSync(`${big}.part`, big);
  }
});

/** Opens a file in JupyterLab's file URL route; .tif/.tiff open in the SAR Viewer by default. */
async function openInViewer(page: Page, file: string): Promise<Locator> {
  const workspace = `floe-test-${test.info().testId}`;
  const url = `${lab.url}lab/workspaces/${workspace}/tree/${file.split('/').map(encodeURIComponent).join('/')}?reset&token=${lab.token}`;
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await expect(page.locator('#jupyterlab-splash')).toHaveCount(0, { timeout: 90_000 });
  const viewer = page.locator('.floe-SarViewer').last();
  await expect(viewer).toBeVisible();
  await expect(viewer).not.toHaveAttribute('data-state', 'loading', { timeout: 60_000 });
  return viewer;
}

async function tilesPainted(viewer: Locator): Promise<void> {
  await expect
    .poll(async () => Number((await viewer.getAttribute('data-tiles-painted')) ?? 0), { timeout: 30_000 })
    .toBeGreaterThan(0);
}

interface Readout {
  row: number;
  col: number;
  values: number[];
  text: string;
}

/** Moves the pointer to a fraction of the map and waits for the readout of that pixel. */
async function readAt(page: Page, viewer: Locator, fx: number, fy: number): Promise<Readout> {
  const box = (await viewer.locator('.floe-SarViewer-map').boundingBox())!;
  const readout = viewer.locator('.floe-SarViewer-readout');
  const before = await readout.getAttribute('data-col');
  await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
  await expect.poll(async () => (await readout.getAttribute('data-col')) !== before || before === null).toBe(true);
  await expect(readout).toHaveAttribute('data-values', /.+/);
  // Let the newest answer land (older ones are cancelled as the pointer moves).
  await page.waitForTimeout(300);
  const values = JSON.parse((await readout.getAttribute('data-values'))!) as (number | 'NaN')[];
  return {
    row: Number(await readout.getAttribute('data-row')),
    col: Number(await readout.getAttribute('data-col')),
    values: values.map((v) => (v === 'NaN' ? NaN : v)),
    text: (await readout.textContent()) ?? '',
  };
}

function expectSameValues(actual: number[], expected: number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  actual.forEach((v, i) => {
    if (Number.isNaN(expected[i]!)) expect(v, `${what} band ${i + 1}`).toBeNaN();
    else expect(v, `${what} band ${i + 1}`).toBeCloseTo(expected[i]!, 4);
  });
}

test.describe('SAR Viewer on real Sentinel-1 files', () => {
  test.skip(!hasRealData, `real data not found at ${realData} (set FLOE_REAL_DATA)`);

  test('GCP-only GRD: dual-pol composite in dB, placed from its GCPs, values as GDAL reads them', async ({ page }) => {
    const viewer = await openInViewer(page, rel('grd/iw-vv.tiff'));
    await expect(viewer).toHaveAttribute('data-state', 'ready');
    await expect(viewer.locator('.floe-SarViewer-notes')).toContainText(
      /Approximate placement from 210 GCPs \(affine fit, RMS error [\d.]+ px\)/,
    );
    await expect(viewer.locator('.floe-SarViewer-notes')).toContainText('amplitude DN → dB');
    await expect(viewer.locator('select[name="view"]')).toHaveValue('composite');
    await expect(viewer.locator('select[name="view"] option')).toHaveText([
      /Composite R VV, G VH, B VV\/VH/,
      /VV \(UInt16\)/,
      /VH \(UInt16\)/,
    ]);
    await tilesPainted(viewer);
    await expect(viewer.locator('.floe-SarViewer-scalebar')).toHaveText(/\d+ k?m/);
    const vv = path.join(fixtures, 'grd', 'iw-vv.tiff');
    const vh = path.join(fixtures, 'grd', 'iw-vh.tiff');
    for (const [fx, fy] of [
      [0.5, 0.5],
      [0.3, 0.4],
      [0.65, 0.7],
    ] as const) {
      const r = await readAt(page, viewer, fx, fy);
      const expected = [gdalValues(vv, r.col, r.row)[0]!, gdalValues(vh, r.col, r.row)[0]!];
      expectSameValues(r.values, expected, `GRD pixel (${r.col}, ${r.row})`);
      // 75.6–78.2 E, 9.2–11.2 N (SOURCE.md)
      expect(r.text).toMatch(/lon 7[5-8]\.\d+, lat (9|10|11)\.\d+ \(approx\.\)/);
      expect(r.text).toContain(`VV ${expected[0]} (${(20 * Math.log10(expected[0]!)).toFixed(2)} dB)`);
    }
    await page.screenshot({ path: screenshotPath('sar-viewer-grd-composite.png') });
    await viewer.locator('select[name="view"]').selectOption('1');
    await viewer.locator('select[name="colormap"]').selectOption('viridis');
    await expect.poll(async () => Number(await viewer.getAttribute('data-tiles-painted'))).toBeGreaterThan(4);
    await page.waitForTimeout(500);
    await page.screenshot({ path: screenshotPath('sar-viewer-grd-vh-viridis.png') });
  });

  test('geocoded dB file: values already in dB, UTM lon/lat readout, nodata -99', async ({ page }) => {
    const viewer = await openInViewer(page, rel('pyrosar/S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif'));
    await expect(viewer).toHaveAttribute('data-state', 'ready');
    await expect(viewer.locator('.floe-SarViewer-notes')).toContainText('values: already dB');
    await expect(viewer.locator('.floe-SarViewer-notes')).toContainText('Georeferenced (affine, EPSG:32631)');
    await tilesPainted(viewer);
    const file = path.join(fixtures, 'pyrosar', 'S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif');
    for (const [fx, fy] of [
      [0.5, 0.5],
      [0.4, 0.35],
    ] as const) {
      const r = await readAt(page, viewer, fx, fy);
      expectSameValues(r.values, gdalValues(file, r.col, r.row), `pyroSAR pixel (${r.col}, ${r.row})`);
      // 4.49–4.55 E, 43.57–43.61 N (SOURCE.md)
      const m = /lon ([\d.]+), lat ([\d.]+)/.exec(r.text)!;
      expect(Number(m[1])).toBeGreaterThan(4.48);
      expect(Number(m[1])).toBeLessThan(4.56);
      expect(Number(m[2])).toBeGreaterThan(43.56);
      expect(Number(m[2])).toBeLessThan(43.62);
    }
    await page.screenshot({ path: screenshotPath('sar-viewer-pyrosar-db.png') });
  });

  test('Sen1Floods11 chip: two dB bands (VV, VH) with NaN nodata', async ({ page }) => {
    const viewer = await openInViewer(page, rel('sen1floods11/Spain_7370579_S1Hand.tif'));
    await expect(viewer).toHaveAttribute('data-state', 'ready');
    await expect(viewer.locator('.floe-SarViewer-notes')).toContainText('values: already dB');
    await expect(viewer.locator('.floe-SarViewer-notes')).toContainText('EPSG:4326');
    await expect(viewer.locator('select[name="view"]')).toHaveValue('composite');
    await tilesPainted(viewer);
    const file = path.join(fixtures, 'sen1floods11', 'Spain_7370579_S1Hand.tif');
    const r = await readAt(page, viewer, 0.45, 0.55);
    expectSameValues(r.values, gdalValues(file, r.col, r.row), `Spain chip pixel (${r.col}, ${r.row})`);
    expect(r.text).toMatch(/lon -0\.7\d+, lat 38\.\d+/);
    await page.screenshot({ path: screenshotPath('sar-viewer-sen1floods11-composite.png') });
  });

  test('all-NaN and all-nodata files say there are no valid pixels', async ({ page }) => {
    for (const file of ['edge-cases/Paraguay_34417_S1Hand.tif', 'edge-cases/all-nodata.tif']) {
      const viewer = await openInViewer(page, rel(file));
      await expect(viewer).toHaveAttribute('data-state', 'error');
      await expect(viewer.locator('.floe-SarViewer-error')).toContainText('no valid pixels');
    }
    await page.screenshot({ path: screenshotPath('sar-viewer-all-nodata.png') });
  });

  test('corrupt TIFF: a clear error in the viewer, JupyterLab keeps working', async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    const viewer = await openInViewer(page, rel('edge-cases/corrupt.tif'));
    // The header opens; the damaged tile fails when it is read (at the first zooms or on zooming in).
    for (let i = 0; i < 4 && (await viewer.getAttribute('data-state')) !== 'error'; i++) {
      await viewer.locator('.leaflet-control-zoom-in').click();
      await page.waitForTimeout(1000);
    }
    await expect(viewer).toHaveAttribute('data-state', 'error');
    await expect(viewer.locator('.floe-SarViewer-error')).toContainText('corrupt.tif');
    await expect(viewer.locator('.floe-SarViewer-error')).toContainText("the file's tile data looks damaged");
    await page.screenshot({ path: screenshotPath('sar-viewer-corrupt.png') });
    expect(errors).toEqual([]);
    await expect(page.locator('.jp-LabShell')).toBeVisible();
  });
});

test('large COG (10,240 × 10,240, overviews): first tile from an overview, values as GDAL reads them', async ({
  page,
}) => {
  const viewer = await openInViewer(page, rel('large-cog.tif'));
  await expect(viewer).toHaveAttribute('data-state', 'ready');
  await expect(viewer.locator('.floe-SarViewer-notes')).toContainText('10,240 × 10,240 px, 1 band(s), 3 overview(s)');
  await tilesPainted(viewer);
  const firstTileMs = Number(await viewer.getAttribute('data-first-tile-ms'));
  test.info().annotations.push({ type: 'first tile (ms, open → painted)', description: String(firstTileMs) });
  const file = path.join(fixtures, 'large-cog.tif');
  for (const [fx, fy] of [
    [0.5, 0.5],
    [0.35, 0.6],
  ] as const) {
    const r = await readAt(page, viewer, fx, fy);
    expectSameValues(r.values, gdalValues(file, r.col, r.row), `large COG pixel (${r.col}, ${r.row})`);
  }
  await page.screenshot({ path: screenshotPath('sar-viewer-large-cog.png') });
});

test('complex SLC samples are refused with a clear message', async ({ page }) => {
  const slc = path.join(fixtures, 'complex-slc.tif');
  if (!fs.existsSync(slc)) {
    gdal('gdal_translate', ['-q', '-ot', 'CInt16', '-outsize', '64', '64', path.join(fixtures, 'large-cog.tif'), slc]);
  }
  const viewer = await openInViewer(page, rel('complex-slc.tif'));
  await expect(viewer).toHaveAttribute('data-state', 'error');
  await expect(viewer.locator('.floe-SarViewer-error')).toContainText('complex SAR samples (CInt16) are not supported');
});

test('a file deleted while open gives a clear message on the next read', async ({ page }) => {
  const doomed = path.join(fixtures, 'deleted-while-open.tif');
  // A second name for the large COG (hard link): zoomed-in tiles need bytes not read yet when it goes.
  fs.rmSync(doomed, { force: true });
  fs.linkSync(path.join(fixtures, 'large-cog.tif'), doomed);
  const viewer = await openInViewer(page, rel('deleted-while-open.tif'));
  await expect(viewer).toHaveAttribute('data-state', 'ready');
  await tilesPainted(viewer);
  fs.rmSync(doomed);
  for (let i = 0; i < 8 && (await viewer.getAttribute('data-state')) !== 'error'; i++) {
    await viewer.locator('.leaflet-control-zoom-in').click();
    await page.waitForTimeout(800);
  }
  await expect(viewer.locator('.floe-SarViewer-error')).toContainText('it was deleted or moved while open');
  await page.screenshot({ path: screenshotPath('sar-viewer-deleted.png') });
});

export type { LabServer };
