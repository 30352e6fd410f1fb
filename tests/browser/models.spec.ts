import * as fs from 'node:fs';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { seedServingProject, type ServingSeed } from '../../kernel-services/dist/hub/seed-serving';
import { openProjectStore } from '../../kernel-services/dist/store';
import type { ProjectStore } from '../../kernel-services/dist/store';
import { hubSocketOf, labServer, openLab, putSettings, runPaletteCommand, screenshotPath } from './lab';

const lab = labServer();
const HOSTILE = '<img src=x onerror=alert(1)>';

/** A name of this test's own, so tests sharing the server's store never see each other's data. */
function own(name: string): string {
  // A test id is `<file hash>-<test hash>`: the test's own part tells this file's tests apart.
  return `${name}-${test.info().testId.split('-').pop()!.slice(0, 10)}`;
}

/**
 * Seeds this test's model through the real paths (feature group commit, training dataset, two trained
 * and registered versions, a running model server recorded as a deployment, logged requests and a
 * monitoring pass over a shifted stream), in the store the hub serves. The server stays up until `stop`.
 */
async function seed(
  runNames?: [string, string],
  description?: string,
): Promise<ServingSeed & { stop(): Promise<void> }> {
  const store: ProjectStore = await openProjectStore({ home: lab.floeHome });
  try {
    const seeded = await seedServingProject(store, {
      model: own('iceberg'),
      deployment: own('iceberg-prod'),
      featureGroup: own('patches').replace(/-/g, '_'),
      experiment: own('models-panel'),
      ...(runNames ? { runNames } : {}),
      ...(description !== undefined ? { description } : {}),
      requests: 40,
      heartbeatMs: 1000,
    });
    return {
      ...seeded,
      async stop() {
        await seeded.server.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

async function openModels(page: Page): Promise<Locator> {
  await page.locator('.jp-LauncherCard[data-category="Floe"]', { hasText: 'Models' }).click();
  const panel = page.locator('#floe-models');
  await expect(panel).toBeVisible();
  return panel;
}

test('the models panel shows versions, aliases, metrics, lineage back to the commit, and a live deployment with drift alerts', async ({
  page,
}) => {
  const s = await seed([HOSTILE, 'second training'], `${HOSTILE} <b>bold</b> ${'ü'.repeat(200)}`);
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  try {
    await openLab(page, lab);
    const panel = await openModels(page);
    await panel.locator(`.floe-Models-item[data-floe-model="${s.model}"]`).click();
    const detail = panel.locator('.floe-Models-detail');
    await expect(detail.locator('.floe-Models-title')).toHaveText(s.model);

    // Two versions, newest first, with their aliases and metrics.
    const rows = detail.locator('.floe-Models-versions tbody tr');
    await expect(rows).toHaveCount(2);
    await expect(rows.nth(0).locator('.floe-Models-version')).toHaveText('v2');
    await expect(rows.nth(0).locator('.floe-Models-alias')).toHaveText(['@candidate', '@staging']);
    await expect(rows.nth(1).locator('.floe-Models-alias')).toHaveText(['@production']);
    await expect(detail.locator('.floe-Models-versions thead')).toContainText('val_accuracy');
    await expect(rows.nth(0)).toHaveAttribute('aria-selected', 'true');

    // Lineage of v2: commit → dataset → run → model version → the deployment serving it.
    const graph = detail.locator('.floe-Lineage-svg');
    await expect(graph.locator('[data-floe-node]')).toHaveCount(5);
    await expect(graph.locator('[data-floe-edge]')).toHaveCount(4);
    await expect(graph.locator('[data-floe-node="commit"]')).toHaveAttribute(
      'aria-label',
      new RegExp(`feature group commit: ${s.featureGroup} v1 #1`),
    );
    await expect(graph.locator(`[data-floe-node="deployment:${s.deployment}"]`)).toBeVisible();
    // The hostile description is text (in the version details).
    await expect(detail.locator('.floe-Models-description')).toContainText(HOSTILE);
    await page.screenshot({ path: screenshotPath('models-versions-lineage.png') });

    // Clicking the commit shows its facts inline.
    await graph.locator('[data-floe-node="commit"]').click();
    await expect(detail.locator('.floe-Models-nodeTitle')).toHaveText(`feature group commit: ${s.featureGroup} v1 #1`);
    await expect(detail.locator('.floe-Models-nodeDetail .floe-KeyValue')).toContainText('64');

    // Keyboard: the v1 row by arrow keys and Enter; then along the lineage from the model to its run.
    await rows.nth(0).focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await expect(detail.locator('[data-floe-version="1"]')).toHaveAttribute('aria-selected', 'true');
    await expect(detail.locator('.floe-Models-sectionTitle').nth(1)).toHaveText(`Lineage of ${s.model} v1`);
    await detail.locator('[data-floe-node="model"]').focus();
    await page.keyboard.press('ArrowLeft');
    await expect(detail.locator('[data-floe-node="run"]')).toBeFocused();
    await page.keyboard.press('Enter');
    // The run (named with markup) opens in the Experiments panel, on that run, and shows inline too.
    const experiments = page.locator('#floe-experiments');
    await expect(experiments.locator('.floe-Detail-title')).toHaveText(HOSTILE);
    await page.locator('.lm-TabBar-tab', { hasText: 'Floe Models' }).click();
    await expect(detail.locator('.floe-Models-nodeTitle')).toHaveText(`run ${s.runIds[0]}: ${HOSTILE}`);
    await expect(page.locator('#floe-models img, #floe-models b, #floe-experiments img')).toHaveCount(0);
    // With the Experiments panel already open, v2's run opens there too (its command honours runId).
    await detail.locator('[data-floe-version="2"]').click();
    await expect(detail.locator('[data-floe-version="2"]')).toHaveAttribute('aria-selected', 'true');
    await detail.locator('[data-floe-node="run"]').click();
    await expect(experiments.locator('.floe-Detail-title')).toHaveText('second training');
    await expect(experiments.locator('.floe-RunsTable-row.floe-mod-active')).toHaveAttribute(
      'data-floe-run-id',
      String(s.runIds[1]),
    );
    await page.locator('.lm-TabBar-tab', { hasText: 'Floe Models' }).click();

    // The deployment: latency percentiles and throughput from the request log, drift alerts.
    await detail.locator(`[data-floe-node="deployment:${s.deployment}"]`).click();
    await expect(detail.locator('.floe-Models-title')).toHaveText(s.deployment);
    await expect(detail.locator('[data-floe-status]').first()).toHaveText('running');
    const fifteen = detail.locator('[data-floe-window="900"]');
    await expect(fifteen.locator('.floe-Models-requests')).toHaveText('80');
    await expect(fifteen.locator('.floe-Models-p95')).toHaveText(/^\d/);
    await expect(detail.locator(`[data-floe-served="${s.model}:1"] [data-floe-status]`)).toHaveText('drift');
    const alerts = detail.locator('.floe-Models-alerts tbody tr');
    expect(await alerts.count()).toBeGreaterThan(0);
    await expect(detail.locator('.floe-Models-alerts')).toContainText('band_1');
    await expect(detail.locator('[data-floe-chart^="requests/s"] path')).toHaveCount(1);
    await expect(
      panel.locator(`.floe-Models-item[data-floe-deployment="${s.deployment}"] .floe-Models-alertCount`),
    ).toBeVisible();
    await page.screenshot({ path: screenshotPath('models-deployment.png') });
    // The view is redrawn on every heartbeat: scroll its container (which keeps its offset) to the alerts.
    await detail.evaluate((node) => (node.scrollTop = node.scrollHeight));
    await page.screenshot({ path: screenshotPath('models-drift-alerts.png') });
    // How the server ran its models (served in process here: TensorFlow as the test process loaded it).
    await expect(detail.locator('tr', { hasText: 'execution' })).toContainText(
      'on the event loop, default intra-op threads, oneDNN default',
    );

    // Live: requests served now reach the panel through the event stream.
    await s.send(5);
    await expect(fifteen.locator('.floe-Models-requests')).toHaveText('85', { timeout: 20_000 });
    // Stopping the server marks the deployment stopped.
    await s.server.close();
    await expect(detail.locator('[data-floe-status]').first()).toHaveText('stopped', { timeout: 20_000 });
    await page.screenshot({ path: screenshotPath('models-deployment-stopped.png') });
    expect(errors).toEqual([]);
    expect(dialogs).toEqual([]);
  } finally {
    await s.stop();
  }
});

test('the models panel says when the hub is down, recovers, and comes back after a reload', async ({
  page,
  request,
}) => {
  const s = await seed();
  await putSettings(request, lab, 'floe-jupyterlab:hub', { refreshInterval: 2 });
  let socket = '';
  let moved = '';
  try {
    await openLab(page, lab);
    const panel = await openModels(page);
    await panel.locator(`.floe-Models-item[data-floe-deployment="${s.deployment}"]`).click();
    const detail = panel.locator('.floe-Models-detail');
    await expect(detail.locator('.floe-Models-title')).toHaveText(s.deployment);

    socket = hubSocketOf(lab.pid);
    moved = `${socket}.moved-by-test`;
    fs.renameSync(socket, moved);
    await panel.locator(`.floe-Models-item[data-floe-model="${s.model}"]`).click();
    const banner = panel.locator('.floe-Models-banner');
    await expect(banner).toContainText(/The Floe hub (did not answer|is not reachable)/);
    await page.screenshot({ path: screenshotPath('models-hub-down.png') });
    fs.renameSync(moved, socket);
    await expect(banner).toBeEmpty({ timeout: 60_000 });
    await expect(detail.locator('.floe-Models-title')).toHaveText(s.model);
    await expect(detail.locator('.floe-Models-versions tbody tr')).toHaveCount(2);

    // Choose v1, wait until the workspace holds it, and reload: the restorer reopens the panel there.
    await detail.locator('[data-floe-version="1"]').click();
    await expect(detail.locator('[data-floe-version="1"]')).toHaveAttribute('aria-selected', 'true');
    const workspace = `floe-test-${test.info().testId}`;
    await expect
      .poll(async () => {
        const r = await request.get(`${lab.url}lab/api/workspaces/${workspace}`, {
          headers: { Authorization: `token ${lab.token}` },
        });
        return r.ok() ? JSON.stringify(await r.json()) : '';
      })
      .toMatch(/floe-models[^}]*"version":1/);
    await page.goto(`${lab.url}lab/workspaces/${workspace}?token=${lab.token}`, { waitUntil: 'domcontentloaded' });
    const restored = page.locator('#floe-models');
    await expect(restored.locator('.floe-Models-title')).toHaveText(s.model, { timeout: 60_000 });
    await expect(restored.locator('[data-floe-version="1"]')).toHaveAttribute('aria-selected', 'true');
  } finally {
    if (moved && fs.existsSync(moved)) fs.renameSync(moved, socket);
    await putSettings(request, lab, 'floe-jupyterlab:hub', {});
    await s.stop();
  }
});

test('the models panel in the dark theme, opened from the command palette', async ({ page, request }) => {
  const s = await seed();
  await putSettings(request, lab, '@jupyterlab/apputils-extension:themes', { theme: 'JupyterLab Dark' });
  try {
    await openLab(page, lab);
    await runPaletteCommand(page, 'Floe: Open Models');
    const panel = page.locator('#floe-models');
    await expect(panel).toBeVisible();
    await panel.locator(`.floe-Models-item[data-floe-model="${s.model}"]`).click();
    await expect(panel.locator('.floe-Lineage-svg [data-floe-node]')).toHaveCount(5);
    await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', 'false');
    await page.screenshot({ path: screenshotPath('models-dark.png') });
    await panel.locator(`.floe-Models-item[data-floe-deployment="${s.deployment}"]`).click();
    await expect(panel.locator('[data-floe-window="900"] .floe-Models-requests')).toHaveText('80');
    await page.screenshot({ path: screenshotPath('models-deployment-dark.png') });
  } finally {
    await putSettings(request, lab, '@jupyterlab/apputils-extension:themes', {});
    await s.stop();
  }
});
