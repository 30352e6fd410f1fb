import * as fs from 'node:fs';
import * as path from 'node:path';
import { FeatureGroupDetailResponse } from '@floe/schema';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { labServer, repoRoot, screenshotPath } from './lab';

/**
 * SAR Viewer overlays and labeling on the real Sentinel-1 GRD (GCP-only): a predictions GeoJSON in
 * lon/lat beside the raster is drawn through the GCP fit and toggled; two labels are placed, survive a
 * reload, are committed through the hub, and the feature group then has that commit.
 */

const lab = labServer();
const realData = process.env.FLOE_REAL_DATA ?? path.resolve(repoRoot, '..', 'shared', 'data');
const GRD = 's1-grd-rio-tiler/S1A_IW_GRDH_1SDV_20180716T004042_20180716T004107_022812_02792A_FD5B/measurement';
const hasRealData = fs.existsSync(path.join(realData, GRD, 'iw-vv.tiff'));
/** Under the server's root, git-ignored; a folder of this spec's own. */
const dir = path.join(repoRoot, 'test-results', 'sar-fixtures', 'labels');
const raster = path.relative(repoRoot, path.join(dir, 'iw-vv.tiff'));

test.skip(!hasRealData, `real data not found at ${realData} (set FLOE_REAL_DATA)`);

test.beforeAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const file of ['iw-vv.tiff', 'iw-vh.tiff']) {
    // Jupyter's /files/ refuses real paths outside its root: hard links (same bytes), else symlinks.
    try {
      fs.linkSync(path.join(realData, GRD, file), path.join(dir, file));
    } catch {
      fs.symlinkSync(path.join(realData, GRD, file), path.join(dir, file));
    }
  }
  // Model predictions with scores in lon/lat (the scene spans 75.6–78.2 E, 9.2–11.2 N), and one
  // pixel-space box, as a plain GeoJSON FeatureCollection with Floe's two optional members.
  const point = (lon: number, lat: number, cls: string, score: number): unknown => ({
    type: 'Feature',
    geometry: { type: 'Point', coordinates: [lon, lat] },
    properties: { class: cls, score },
  });
  fs.writeFileSync(
    path.join(dir, 'predictions.geojson'),
    JSON.stringify({
      type: 'FeatureCollection',
      'floe:kind': 'predictions',
      features: [point(76.6, 10.2, 'ship', 0.91), point(76.9, 10.0, 'iceberg', 0.62), point(77.1, 10.4, 'ship', 0.35)],
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'footprints.geojson'),
    JSON.stringify({
      type: 'FeatureCollection',
      'floe:kind': 'footprints',
      'floe:crs': 'pixel',
      features: [
        {
          type: 'Feature',
          geometry: {
            type: 'Polygon',
            coordinates: [
              [
                [300, 200],
                [375, 200],
                [375, 275],
                [300, 275],
                [300, 200],
              ],
            ],
          },
          properties: { class: 'patch' },
        },
      ],
    }),
  );
});

async function openViewer(page: Page): Promise<Locator> {
  const workspace = `floe-test-${test.info().testId}`;
  const url = `${lab.url}lab/workspaces/${workspace}/tree/${raster.split('/').map(encodeURIComponent).join('/')}?reset&token=${lab.token}`;
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await expect(page.locator('#jupyterlab-splash')).toHaveCount(0, { timeout: 90_000 });
  const viewer = page.locator('.floe-SarViewer').last();
  await expect(viewer).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await expect.poll(async () => Number((await viewer.getAttribute('data-tiles-painted')) ?? 0)).toBeGreaterThan(0);
  return viewer;
}

test('overlays drawn from lon/lat through the GCP fit and from pixels, toggled', async ({ page }) => {
  const viewer = await openViewer(page);
  const predictions = viewer.locator('.floe-SarOverlay-predictions');
  await expect(predictions).toHaveCount(3);
  await expect(viewer.locator('.floe-SarOverlay-predictions.floe-SarOverlay-class-ship')).toHaveCount(2);
  await expect(viewer.locator('.floe-SarOverlay-footprints')).toHaveCount(1);
  // Placed on the image: every prediction lies inside the map's drawn raster outline.
  const mapBox = (await viewer.locator('.floe-SarViewer-map').boundingBox())!;
  for (const box of await Promise.all((await predictions.all()).map((p) => p.boundingBox()))) {
    expect(box!.x).toBeGreaterThan(mapBox.x);
    expect(box!.x + box!.width).toBeLessThan(mapBox.x + mapBox.width);
  }
  await page.screenshot({ path: screenshotPath('sar-viewer-overlays.png') });
  const toggle = viewer.locator('.floe-SarViewer-overlay[data-overlay="predictions.geojson"] input[type="checkbox"]');
  await toggle.uncheck();
  await expect(predictions).toHaveCount(0);
  await toggle.check();
  await expect(predictions).toHaveCount(3);
});

test('place two labels, keep them over a reload, commit them into a feature group', async ({ page, request }) => {
  const group = `viewer_labels_${Date.now().toString(36)}`;
  let viewer = await openViewer(page);
  const side = viewer.locator('.floe-SarViewer-side');
  await side.locator('.floe-SarViewer-labelMode').click();
  const map = viewer.locator('.floe-SarViewer-map');
  const box = (await map.boundingBox())!;
  await side.locator('select[name="label-class"]').selectOption('ship');
  await page.mouse.click(box.x + box.width * 0.42, box.y + box.height * 0.5);
  await side.locator('select[name="label-class"]').selectOption('iceberg');
  await page.mouse.click(box.x + box.width * 0.58, box.y + box.height * 0.45);
  // A third, deleted again from the list.
  await page.mouse.click(box.x + box.width * 0.5, box.y + box.height * 0.6);
  await expect(side).toHaveAttribute('data-pending-labels', '3');
  await side.locator('button[aria-label="delete label 3"]').click();
  await expect(side).toHaveAttribute('data-pending-labels', '2');
  await expect(viewer.locator('.floe-SarViewer-pending')).toHaveCount(2);

  // Unsaved labels survive a reload of the page.
  await page.reload({ waitUntil: 'domcontentloaded' });
  viewer = await openViewer(page);
  const sideAgain = viewer.locator('.floe-SarViewer-side');
  await expect(sideAgain).toHaveAttribute('data-pending-labels', '2');
  await expect(sideAgain.locator('.floe-SarViewer-label select').first()).toHaveValue('ship');
  await expect(sideAgain.locator('.floe-SarViewer-label select').nth(1)).toHaveValue('iceberg');
  await page.screenshot({ path: screenshotPath('sar-viewer-labels-pending.png') });

  await sideAgain.locator('input[name="feature-group"]').fill(group);
  await sideAgain.locator('.floe-SarViewer-commit').click();
  const status = sideAgain.locator('.floe-SarViewer-labelStatus');
  await expect(status).toHaveAttribute('data-state', 'committed');
  await expect(status).toContainText(`Committed 2 label chip(s) to ${group} v1 as commit 1`);
  await expect(sideAgain).toHaveAttribute('data-pending-labels', '0');
  // The committed labels come back from the hub as overlays (points and chip footprints).
  await expect(viewer.locator('.floe-SarOverlay-labels')).toHaveCount(2);
  await expect(viewer.locator('.floe-SarOverlay-labels.floe-SarOverlay-class-iceberg')).toHaveCount(1);
  await page.screenshot({ path: screenshotPath('sar-viewer-labels-committed.png') });

  // The feature store has the commit (read through the hub, as the Feature Store panel does).
  const res = await request.get(`${lab.url}floe-hub/v1/feature-groups/${group}`, {
    headers: { Authorization: `token ${lab.token}` },
  });
  expect(res.status()).toBe(200);
  const detail = FeatureGroupDetailResponse.parse(await res.json());
  expect(detail.commits.map((c) => [c.number, c.rowsInserted, c.totalRows])).toEqual([[1, 2, 2]]);
});
