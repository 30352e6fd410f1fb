import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, test } from '@playwright/test';
import { sarSceneBundle } from '../../kernel-services/dist/show/sar-scene';
import { labServer, openNotebook, repoRoot, screenshotPath } from './lab';

/**
 * `application/vnd.floe.sar-scene+json` (what `floe.show.sar(path, { overlays })` displays) in a
 * notebook opened with no kernel: the live SAR Viewer with the overlays for a raster inside the Jupyter
 * root, the bundle's PNG for one outside it (the renderer never reads it), and the fallback for an
 * unknown major or a damaged payload. The bundles are made by the library itself from the real GRD.
 */

const lab = labServer();
const SCENE_MIME = 'application/vnd.floe.sar-scene+json';
const realData = process.env.FLOE_REAL_DATA ?? path.resolve(repoRoot, '..', 'shared', 'data');
const GRD = 's1-grd-rio-tiler/S1A_IW_GRDH_1SDV_20180716T004042_20180716T004107_022812_02792A_FD5B/measurement';
const hasRealData = fs.existsSync(path.join(realData, GRD, 'iw-vv.tiff'));
/** Under the server's root (the repository) and git-ignored; hard links to the real files (no copy). */
const sceneDir = path.join(repoRoot, 'test-results', 'sar-fixtures', 'scene');

type Bundle = Record<string, unknown>;

test.skip(!hasRealData, `real data not found at ${realData} (set FLOE_REAL_DATA)`);

test.beforeAll(() => {
  fs.mkdirSync(sceneDir, { recursive: true });
  for (const name of ['iw-vv.tiff', 'iw-vh.tiff']) {
    const target = path.join(sceneDir, name);
    if (fs.existsSync(target)) continue;
    try {
      fs.linkSync(path.join(realData, GRD, name), target);
    } catch {
      fs.copyFileSync(path.join(realData, GRD, name), target);
    }
  }
});

const overlays = [
  {
    name: 'candidate ships',
    kind: 'predictions' as const,
    crs: 'pixel' as const,
    features: [
      {
        type: 'Feature' as const,
        geometry: { type: 'Point' as const, coordinates: [400, 300] as [number, number] },
        properties: { class: 'ship', score: 0.9 },
      },
      {
        type: 'Feature' as const,
        geometry: { type: 'Point' as const, coordinates: [900, 520] as [number, number] },
        properties: { class: 'iceberg', score: 0.6 },
      },
    ],
  },
  {
    name: 'study area',
    kind: 'footprints' as const,
    crs: 'pixel' as const,
    features: [
      {
        type: 'Feature' as const,
        geometry: {
          type: 'Polygon' as const,
          coordinates: [
            [
              [200, 150],
              [700, 150],
              [700, 450],
              [200, 450],
              [200, 150],
            ] as [number, number][],
          ],
        },
        properties: { class: 'other' },
      },
    ],
  },
];

function writeNotebook(name: string, outputs: Bundle[]): string {
  const dir = path.join(repoRoot, 'test-results', 'notebooks', `sar-scene-${test.info().testId.slice(0, 10)}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: outputs.map((data, i) => ({
      id: `cell-${i}`,
      cell_type: 'code',
      execution_count: i + 1,
      metadata: {},
      source: `await floe.show.sar(scene${i}, { overlays })`,
      outputs: [{ output_type: 'display_data', data, metadata: {} }],
    })),
  };
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(notebook, null, 1));
  return path.relative(repoRoot, file).split(path.sep).join('/');
}

test('a SAR scene inside the Jupyter root opens the live viewer with its overlays', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  const bundle = (await sarSceneBundle(path.join(sceneDir, 'iw-vv.tiff'), {
    overlays,
    title: 'VV/VH with candidate ships',
    display: false,
  })) as Bundle;
  const notebook = await openNotebook(page, lab, writeNotebook('scene.ipynb', [bundle]), false);
  const output = notebook.locator(`.floe-SarScene[data-floe-mime="${SCENE_MIME}"]`);
  await expect(output.locator('.floe-SarScene-caption')).toContainText('VV/VH with candidate ships');
  const viewer = output.locator('.floe-SarViewer');
  await expect(viewer).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  // The partner polarisation beside it makes the composite, as in the file viewer.
  await expect(viewer.locator('select[name="view"]')).toHaveValue('composite');
  await expect
    .poll(async () => Number((await viewer.getAttribute('data-tiles-painted')) ?? 0), { timeout: 30_000 })
    .toBeGreaterThan(0);
  await expect(viewer.locator('.floe-SarViewer-notes')).toContainText('Approximate placement from 210 GCPs');
  // Three features drawn as SVG paths, both overlays listed in the side panel.
  await expect(viewer.locator('.leaflet-overlay-pane path')).toHaveCount(3);
  await expect(viewer.locator('.floe-SarViewer-overlayList')).toContainText('candidate ships');
  await expect(viewer.locator('.floe-SarViewer-overlayList')).toContainText('study area');
  // The PNG fallback is not shown when the live viewer is.
  await expect(output.locator('.floe-Output-fallback')).toHaveCount(0);
  await page.waitForTimeout(500);
  await output.screenshot({ path: screenshotPath('sar-scene-live.png') });
  expect(errors).toEqual([]);
});

test('outside the root, an unknown major or a damaged payload: the PNG fallback, nothing read', async ({ page }) => {
  const requested: string[] = [];
  page.on('request', (r) => requested.push(r.url()));
  const outside = (await sarSceneBundle(path.join(realData, GRD, 'iw-vh.tiff'), {
    overlays,
    title: 'outside the root',
    display: false,
  })) as Bundle;
  const scene = outside[SCENE_MIME] as Record<string, unknown>;
  const inside = path.join(sceneDir, 'iw-vv.tiff');
  const bundles: Bundle[] = [
    outside,
    // A path that climbs out of the root through `..` is refused as written, not resolved.
    { ...outside, [SCENE_MIME]: { ...scene, path: `${repoRoot}/test-results/../../etc/passwd.tif` } },
    { ...outside, [SCENE_MIME]: { ...scene, path: inside, version_major: 2 } },
    { ...outside, [SCENE_MIME]: { ...scene, path: inside, width: -3, overlays: 'none' } },
  ];
  const notebook = await openNotebook(page, lab, writeNotebook('fallbacks.ipynb', bundles), false);
  const outputs = notebook.locator(`.floe-SarScene[data-floe-mime="${SCENE_MIME}"]`);
  await expect(outputs).toHaveCount(4);
  await expect(outputs.nth(0)).toContainText('outside the Jupyter root');
  await expect(outputs.nth(1)).toContainText('has . or .. segments');
  await expect(outputs.nth(2)).toContainText('SAR scene format version 2 is not one this Floe extension draws');
  await expect(outputs.nth(3).locator('.floe-Output-invalid')).toContainText('width');
  await expect(outputs.nth(3).locator('.floe-Output-invalid')).toContainText('overlays');
  for (let i = 0; i < 4; i++) {
    await expect(outputs.nth(i).locator('.floe-Output-fallback img')).toHaveJSProperty('complete', true);
    expect(
      await outputs
        .nth(i)
        .locator('.floe-Output-fallback img')
        .evaluate((img: HTMLImageElement) => img.naturalWidth),
    ).toBeGreaterThan(100);
  }
  await expect(notebook.locator('.floe-SarViewer')).toHaveCount(0);
  await page.waitForTimeout(500);
  expect(requested.filter((u) => /\/files\//.test(u) && /iw-v[vh]\.tiff|passwd/.test(u))).toEqual([]);
  await outputs.nth(0).screenshot({ path: screenshotPath('sar-scene-outside-root.png') });
});
