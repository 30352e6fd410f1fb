import * as fs from 'node:fs';
import { expect, test, type Locator, type Page } from '@playwright/test';
import {
  seededAccuracy,
  seedPanelProject,
  type PanelSeed,
  type PanelSeedOptions,
} from '../../kernel-services/dist/hub/seed';
import { openProjectStore } from '../../kernel-services/dist/store';
import { hubSocketOf, labServer, openLab, putSettings, runPaletteCommand, screenshotPath } from './lab';

const lab = labServer();
const HOSTILE = '<img src=x onerror=alert(1)>';
const LONG = `long-${'ü'.repeat(295)}`;

/** Seeds this test's own experiment into the project store the hub serves (FLOE_HOME of the run). */
async function seed(opts: PanelSeedOptions): Promise<PanelSeed> {
  const store = await openProjectStore({ home: lab.floeHome });
  try {
    return await seedPanelProject(store, opts);
  } finally {
    await store.close();
  }
}

/** A name of this test's own, so tests sharing the server's store never see each other's data. */
function own(name: string): string {
  return `${name}-${test.info().testId.slice(0, 8)}`;
}

/** Opens the experiments panel from its launcher card and selects `experiment`. */
async function openExperiments(page: Page, experiment: string): Promise<Locator> {
  await page.locator('.jp-LauncherCard[data-category="Floe"]', { hasText: 'Experiments' }).click();
  const panel = page.locator('#floe-experiments');
  await expect(panel).toBeVisible();
  await expect(panel.locator('[data-floe-experiment]').first()).toBeVisible();
  await panel.locator(`.floe-Experiments-item[data-floe-experiment="${cssEscape(experiment)}"]`).click();
  await expect(panel.locator('.floe-Experiments-heading')).toHaveText(experiment);
  return panel;
}

function cssEscape(value: string): string {
  return value.replace(/["\\]/g, '\\$&');
}

/** The texts of the elements whose content is cut (wider than their box: ellipsis or clipped). */
function clipped(locator: Locator): Promise<string[]> {
  return locator.evaluateAll((nodes) =>
    nodes.filter((n) => n.scrollWidth > n.clientWidth + 1).map((n) => n.textContent ?? ''),
  );
}

/** What sticks out of the experiments nav sideways (px): badges cut at its edge made it scroll. */
function navOverflow(panel: Locator): Promise<number> {
  return panel.locator('.floe-Experiments-nav').evaluate((nav) => nav.scrollWidth - nav.clientWidth);
}

test('the experiments panel shows a virtualized, sortable, filterable runs table, run details, comparison and a search', async ({
  page,
}) => {
  const experiment = own('iceberg-cnn');
  const search = own('lr-search');
  const seeded = await seed({ experiment, runs: 300, stepPoints: 2000, search });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));

  await openLab(page, lab);
  const panel = await openExperiments(page, experiment);
  const rows = panel.locator('.floe-RunsTable-row[data-floe-run-id]');
  await expect(panel.locator('.floe-Experiments-count')).toHaveText('300 runs');
  // Virtualized: only the rows in view (and a few more) are in the DOM.
  const rendered = await rows.count();
  expect(rendered).toBeGreaterThan(5);
  expect(rendered).toBeLessThan(60);
  await expect(rows.first()).toHaveAttribute('data-floe-run-id', String(seeded.runIds.at(-1)));
  // Nothing cut: the column names, the heading, the nav's badges.
  expect(await clipped(panel.locator('.floe-RunsTable-sort'))).toEqual([]);
  expect(await clipped(panel.locator('.floe-Experiments-heading'))).toEqual([]);
  expect(await navOverflow(panel)).toBeLessThanOrEqual(0);
  await page.screenshot({ path: screenshotPath('experiments-runs.png') });

  // Scrolling to the end fetches and draws the last rows, in the same row nodes (a pool refilled in place).
  const viewport = panel.locator('.floe-RunsTable-viewport');
  const pooled = await viewport.evaluate((node) => {
    const all = node.querySelectorAll('.floe-RunsTable-row');
    all.forEach((row, i) => row.setAttribute('data-test-pooled', String(i)));
    return all.length;
  });
  await viewport.evaluate((node) => (node.scrollTop = node.scrollHeight));
  await expect(panel.locator(`.floe-RunsTable-row[data-floe-run-id="${seeded.runIds[0]}"]`)).toBeVisible();
  expect(
    await viewport.evaluate((node) => [
      node.querySelectorAll('.floe-RunsTable-row').length,
      node.querySelectorAll('.floe-RunsTable-row:not([data-test-pooled])').length,
    ]),
  ).toEqual([pooled, 0]);

  // Sort by the best validation accuracy (the hub sorts in SQL).
  await panel.locator('[data-floe-sort="metric:val_accuracy"]').click();
  const best = Math.max(...seeded.runIds.map((_, i) => seededAccuracy(i, 3)));
  await expect(rows.first().locator('.floe-RunsTable-metric').first()).toHaveText(best.toPrecision(4));
  await expect(panel.locator('[aria-sort="descending"]')).toHaveCount(1);

  // Filter on a run name; then on a param value.
  await panel.locator('.floe-Experiments-filter').fill('run-29');
  // run-29 and run-290..run-299
  await expect(panel.locator('.floe-Experiments-count')).toHaveText('11 runs');
  await panel.locator('.floe-Experiments-filter').fill('');
  await expect(panel.locator('.floe-Experiments-count')).toHaveText('300 runs');
  await panel.locator('.floe-Experiments-status').selectOption('failed');
  await expect(panel.locator('.floe-Experiments-count')).toHaveText('30 runs');
  await expect(rows.first().locator('[data-floe-status]')).toHaveText('failed');
  await panel.locator('.floe-Experiments-status').selectOption('');

  // Open the run with the long step series: curves downsampled by the hub, params and run facts.
  await panel.locator('.floe-Experiments-filter').fill('run-0');
  await expect(panel.locator('.floe-Experiments-count')).toHaveText('1 run');
  await rows.first().click();
  const detail = panel.locator('.floe-Experiments-detail');
  await expect(detail.locator('.floe-Detail-title')).toHaveText('run-0');
  await expect(detail.locator('[data-floe-chart^="loss (step, "]')).toContainText('of 2000 points');
  await expect(detail.locator('[data-floe-chart="val_accuracy (epoch)"] path')).toHaveCount(1);
  await expect(detail.locator('.floe-KeyValue').first()).toBeVisible();
  await page.screenshot({ path: screenshotPath('experiments-run-detail.png') });

  // Compare two runs: overlaid curves and the params that differ.
  await panel.locator('.floe-Experiments-filter').fill('');
  await expect(panel.locator('.floe-Experiments-count')).toHaveText('300 runs');
  await rows.nth(0).locator('input.floe-RunsTable-compareBox').check();
  await rows.nth(1).locator('input.floe-RunsTable-compareBox').check();
  await panel.locator('.floe-Experiments-compare').click();
  await expect(detail.locator('.floe-Detail-title')).toHaveText('Comparing 2 runs');
  await expect(detail.locator('[data-floe-chart="val_accuracy"] path')).toHaveCount(2);
  await expect(detail.locator('.floe-Compare-params tbody tr').first()).toBeVisible();
  await page.screenshot({ path: screenshotPath('experiments-compare.png') });

  // The search: trials with their stop reasons, the early-stopped one drawn dashed; the table lists the
  // search's trial runs (not the experiment's) under the search's whole name.
  await panel.locator(`.floe-Experiments-item[data-floe-search="${seeded.searchId}"]`).click();
  await expect(detail.locator('.floe-Search-trials tbody tr')).toHaveCount(3);
  await expect(panel.locator('.floe-Experiments-heading')).toHaveText(`search: ${search}`);
  await expect(panel.locator('.floe-Experiments-count')).toHaveText('3 runs');
  await expect(rows).toHaveCount(3);
  await expect(panel.locator('.floe-RunsTable-runName[data-floe-parent]')).toHaveCount(3);
  expect(await clipped(panel.locator('.floe-Experiments-heading, .floe-RunsTable-sort'))).toEqual([]);
  // Only the search is marked in the nav now, not the experiment listed before.
  await expect(panel.locator('.floe-Experiments-item.floe-mod-selected')).toHaveAttribute(
    'data-floe-search',
    String(seeded.searchId),
  );
  await expect(detail.locator('[data-floe-trial="2"] .floe-Search-stopReason')).toHaveText(/^median rule/);
  await expect(detail.locator('path[stroke-dasharray]')).toHaveCount(1);
  await expect(detail.locator('.floe-Search-best')).toContainText('Best trial #1');
  await page.screenshot({ path: screenshotPath('experiments-search.png') });
  expect(errors).toEqual([]);
});

test('hostile experiment and run names render as text', async ({ page }) => {
  const experiment = `${HOSTILE} ${own('x')}`;
  const names = [HOSTILE, LONG, '冰山 🧊 "quoted" & <b>bold</b>'];
  await seed({ experiment, runs: 3, runName: (i) => names[i]! });
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });

  await openLab(page, lab);
  const panel = await openExperiments(page, experiment);
  await expect(panel.locator('.floe-Experiments-count')).toHaveText('3 runs');
  const nameCells = panel.locator('.floe-RunsTable-row[data-floe-run-id] .floe-RunsTable-name');
  await expect(nameCells).toHaveText([...names].reverse());
  await nameCells.nth(2).click();
  await expect(panel.locator('.floe-Detail-title')).toHaveText(HOSTILE);
  // Nothing from the data became markup.
  await expect(panel.locator('img, b')).toHaveCount(0);
  await page.screenshot({ path: screenshotPath('experiments-hostile-names.png') });
  expect(dialogs).toEqual([]);
});

test('the experiments panel says when the hub is down and recovers when it returns', async ({ page, request }) => {
  const experiment = own('recovery');
  await seed({ experiment, runs: 12 });
  await putSettings(request, lab, 'floe-jupyterlab:hub', { refreshInterval: 2 });
  let socket = '';
  let moved = '';
  try {
    await openLab(page, lab);
    const panel = await openExperiments(page, experiment);
    await expect(panel.locator('.floe-Experiments-count')).toHaveText('12 runs');
    socket = hubSocketOf(lab.pid);
    moved = `${socket}.moved-by-test`;
    fs.renameSync(socket, moved);
    await panel.locator('[data-floe-sort="name"]').click();
    const banner = panel.locator('.floe-Experiments-banner');
    await expect(banner).toContainText(/The Floe hub (did not answer|is not reachable)/);
    await page.screenshot({ path: screenshotPath('experiments-hub-down.png') });

    fs.renameSync(moved, socket);
    await expect(banner).toBeEmpty({ timeout: 60_000 });
    await expect(panel.locator('.floe-Experiments-count')).toHaveText('12 runs');
  } finally {
    if (moved && fs.existsSync(moved)) fs.renameSync(moved, socket);
    await putSettings(request, lab, 'floe-jupyterlab:hub', {});
  }
});

test('the experiments panel follows a run live and comes back after a reload', async ({ page, request }) => {
  const experiment = own('live');
  await seed({ experiment, runs: 2 });
  await openLab(page, lab);
  const panel = await openExperiments(page, experiment);
  await expect(panel.locator('.floe-Experiments-count')).toHaveText('2 runs');

  // A notebook (here: the library, from this process) logs a new run; the event stream brings it in.
  await seed({ experiment, runs: 1, runName: () => 'arrived-live' });
  await expect(panel.locator('.floe-Experiments-count')).toHaveText('3 runs', { timeout: 20_000 });
  await expect(panel.locator('.floe-RunsTable-name').first()).toHaveText('arrived-live');

  await panel.locator('.floe-RunsTable-name').first().click();
  await expect(panel.locator('.floe-Detail-title')).toHaveText('arrived-live');
  // JupyterLab saves the workspace (the restorer's state) asynchronously: wait until the open run is in it.
  const workspace = `floe-test-${test.info().testId}`;
  await expect
    .poll(async () => {
      const r = await request.get(`${lab.url}lab/api/workspaces/${workspace}`, {
        headers: { Authorization: `token ${lab.token}` },
      });
      return r.ok() ? JSON.stringify(await r.json()) : '';
    })
    .toContain('runId');
  // The same workspace again, without `?reset`: the layout restorer reopens the panel where it was.
  await page.goto(`${lab.url}lab/workspaces/floe-test-${test.info().testId}?token=${lab.token}`, {
    waitUntil: 'domcontentloaded',
  });
  const restored = page.locator('#floe-experiments');
  await expect(restored.locator('.floe-Experiments-heading')).toHaveText(experiment, { timeout: 60_000 });
  await expect(restored.locator('.floe-Detail-title')).toHaveText('arrived-live');
});

test('the search view draws parallel coordinates and nests the trials as runs under the search', async ({ page }) => {
  const experiment = own('pc');
  const search = own('pc-search');
  const seeded = await seed({ experiment, runs: 3, search });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await openLab(page, lab);
  const panel = await openExperiments(page, experiment);

  // The status filter keeps to its options' width (it stretched across the toolbar before).
  const select = await panel.locator('.floe-Experiments-status').boundingBox();
  expect(select!.width).toBeLessThan(180);

  await panel.locator(`.floe-Experiments-item[data-floe-search="${seeded.searchId}"]`).click();
  const detail = panel.locator('.floe-Experiments-detail');
  const parallel = detail.locator('.floe-Parallel');
  await expect(parallel.locator('[data-floe-axis]')).toHaveCount(4);
  await expect(parallel.locator('[data-floe-axis] .floe-Parallel-name')).toHaveText([
    'learningRate',
    'filters',
    'optimizer',
    'val_accuracy',
  ]);
  const lines = parallel.locator('.floe-Parallel-line');
  await expect(lines).toHaveCount(3);
  await expect(parallel.locator('.floe-Parallel-line[stroke-dasharray]')).toHaveCount(1);
  await expect(parallel.locator('.floe-Parallel-line.floe-mod-stopped')).toHaveAttribute('data-floe-trial', '2');
  await expect(parallel.locator('.floe-Parallel-line.floe-mod-best')).toHaveAttribute('data-floe-trial', '1');
  await expect(detail.locator('.floe-Search-best')).toContainText('Best trial #1: val_accuracy 0.8600');
  // The optimizer axis is categorical: adam at the bottom, sgd at the top; trial 2 (sgd) ends there.
  const points = (await parallel.locator('[data-floe-trial="2"]').getAttribute('points'))!.split(' ');
  const adamY = Number(
    (await parallel.locator('[data-floe-trial="1"]').getAttribute('points'))!.split(' ')[2]!.split(',')[1],
  );
  expect(Number(points[2]!.split(',')[1])).toBeLessThan(adamY);

  // Hover a line: it is highlighted, the others dimmed, its values read out, its table row marked.
  await parallel.locator('.floe-Parallel-line[data-floe-trial="3"]').hover();
  await expect(parallel.locator('.floe-Parallel-readout')).toHaveText(
    'trial 3: learningRate 0.003000, filters 32, optimizer adam, val_accuracy 0.8300',
  );
  await expect(parallel.locator('svg')).toHaveClass(/floe-mod-focusing/);
  await expect(detail.locator('.floe-Search-trials tr.floe-mod-highlight')).toHaveAttribute('data-floe-trial', '3');
  await page.screenshot({ path: screenshotPath('experiments-parallel-coordinates.png') });
  // Keyboard: Tab reaches the lines too.
  await parallel.locator('.floe-Parallel-line[data-floe-trial="2"]').focus();
  await expect(parallel.locator('.floe-Parallel-readout')).toContainText('trial 2 (stopped early)');

  // Nested runs: the search's trials under it in the nav, each opening its run.
  await panel.locator(`[data-floe-toggle-search="${seeded.searchId}"]`).click();
  const trials = panel.locator('.floe-Experiments-trial');
  await expect(trials).toHaveCount(3);
  await trials.nth(1).click();
  await expect(detail.locator('.floe-Detail-title')).toHaveText(`search-${seeded.searchId}-trial-2`);
  await expect(detail.locator('.floe-Detail-parent')).toContainText('Trial 2 of run');
  await detail.locator(`[data-floe-parent-run="${seeded.searchRunId}"]`).click();
  await expect(detail.locator('.floe-Detail-title')).toHaveText(`search-${seeded.searchId}`);
  await expect(detail.locator('.floe-Detail-children li')).toHaveCount(3);
  await page.screenshot({ path: screenshotPath('experiments-nested-runs.png') });

  // In the search's experiment the table shows the parent with its trial count and the trials indented;
  // "Top-level only" leaves the parent.
  await panel.locator(`.floe-Experiments-item[data-floe-experiment="${cssEscape(search)}"]`).click();
  await expect(panel.locator('.floe-Experiments-count')).toHaveText('4 runs');
  await expect(panel.locator('.floe-RunsTable-runName[data-floe-children="3 trials"]')).toHaveCount(1);
  await expect(panel.locator('.floe-RunsTable-runName[data-floe-parent]')).toHaveCount(3);
  await panel.locator('.floe-Experiments-topLevelBox').check();
  await expect(panel.locator('.floe-Experiments-count')).toHaveText('1 run');
  expect(errors).toEqual([]);
});

test('the ablation view shows the metric change per removed component against the base', async ({ page }) => {
  const experiment = own('abl');
  const seeded = await seed({ experiment, runs: 2, ablation: own('bands-and-layers') });
  await openLab(page, lab);
  const panel = await openExperiments(page, experiment);
  await panel.locator(`.floe-Experiments-item[data-floe-search="${seeded.ablationId}"]`).click();
  const view = panel.locator('.floe-Ablation');
  await expect(view.locator('.floe-Ablation-base')).toContainText('Base val_accuracy: 0.8400');
  const bars = view.locator('.floe-Ablation-bar');
  // Sorted by delta, most harmful removal first.
  await expect(bars).toHaveCount(4);
  expect(await bars.evaluateAll((nodes) => nodes.map((n) => (n as HTMLElement).dataset.floeComponent))).toEqual([
    'HH',
    'conv2',
    'HV',
    'angle',
  ]);
  await expect(view.locator('.floe-Ablation-bar.floe-mod-hurt')).toHaveCount(3);
  await expect(view.locator('.floe-Ablation-bar[data-floe-component="angle"]')).toHaveClass(/floe-mod-helped/);
  await expect(view.locator('.floe-Ablation-bar[data-floe-component="HH"] .floe-Ablation-value')).toHaveText('−0.130');
  // Bars to the left of the zero line for losses, to the right for gains.
  const hh = await view.locator('[data-floe-component="HH"] rect').boundingBox();
  const angle = await view.locator('[data-floe-component="angle"] rect').boundingBox();
  expect(hh!.x + hh!.width).toBeLessThanOrEqual(angle!.x + 1);
  expect(hh!.width).toBeGreaterThan(angle!.width * 5);
  await expect(view.locator('.floe-Ablation-table tbody tr')).toHaveCount(5);
  await page.screenshot({ path: screenshotPath('experiments-ablation.png') });
});

test('run details show saliency images across epochs, and a comparison shows them across runs', async ({ page }) => {
  const experiment = own('saliency');
  const seeded = await seed({ experiment, runs: 3, saliencyRuns: 2 });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await openLab(page, lab);
  const panel = await openExperiments(page, experiment);
  const rows = panel.locator('.floe-RunsTable-row[data-floe-run-id]');
  await panel.locator(`.floe-RunsTable-row[data-floe-run-id="${seeded.runIds[0]}"] .floe-RunsTable-name`).click();
  const detail = panel.locator('.floe-Experiments-detail');
  const grid = detail.locator('.floe-Saliency-grid');
  await expect(grid.locator('thead th')).toHaveText(['patch', 'epoch 1', 'epoch 2', 'epoch 3']);
  await expect(grid.locator('tbody tr')).toHaveCount(3);
  const images = grid.locator('img.floe-Saliency-image');
  await expect(images).toHaveCount(9);
  // Every image arrived through the hub and decoded (object URLs of PNG bytes).
  await expect
    .poll(() => images.evaluateAll((nodes) => nodes.filter((n) => (n as HTMLImageElement).naturalWidth > 0).length))
    .toBe(9);
  await expect(grid.locator('tbody tr[data-floe-patch="p1"] .floe-Saliency-probability').last()).toHaveText(
    'p(iceberg) 0.7400',
  );
  await grid.scrollIntoViewIfNeeded();
  await page.screenshot({ path: screenshotPath('experiments-saliency-epochs.png') });

  // Compare the two runs with images (and one without): side by side at the last common epoch.
  for (const id of seeded.runIds) await rows.locator(`input[data-floe-run-id="${id}"]`).check();
  await panel.locator('.floe-Experiments-compare').click();
  await expect(detail.locator('.floe-Detail-title')).toHaveText('Comparing 3 runs');
  const across = detail.locator('.floe-Saliency-grid');
  await expect(across.locator('caption')).toHaveText('All runs at epoch 3 (1 run without saliency images)');
  await expect(across.locator('thead th')).toHaveText([
    'patch',
    `#${seeded.runIds[0]} run-0`,
    `#${seeded.runIds[1]} run-1`,
  ]);
  await expect
    .poll(() =>
      across
        .locator('img')
        .evaluateAll((nodes) => nodes.filter((n) => (n as HTMLImageElement).naturalWidth > 0).length),
    )
    .toBe(6);
  await page.screenshot({ path: screenshotPath('experiments-saliency-runs.png') });
  expect(errors).toEqual([]);
});

test('the experiments panel in the dark theme, opened from the command palette: nothing cut, search runs listed', async ({
  page,
  request,
}) => {
  const experiment = own('dark');
  const search = own('dark-search');
  await seed({ experiment, runs: 12, search });
  await putSettings(request, lab, '@jupyterlab/apputils-extension:themes', { theme: 'JupyterLab Dark' });
  try {
    await openLab(page, lab);
    await runPaletteCommand(page, 'Open Floe Experiments');
    const panel = page.locator('#floe-experiments');
    await expect(panel.locator('[data-floe-experiment]').first()).toBeVisible();
    await panel.locator(`.floe-Experiments-item[data-floe-experiment="${cssEscape(experiment)}"]`).click();
    await expect(panel.locator('.floe-Experiments-count')).toHaveText('12 runs');
    await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', 'false');
    expect(await clipped(panel.locator('.floe-RunsTable-sort'))).toEqual([]);
    expect(await navOverflow(panel)).toBeLessThanOrEqual(0);
    await page.screenshot({ path: screenshotPath('experiments-dark.png') });

    await panel.locator('.floe-Experiments-item[data-floe-search]', { hasText: search }).click();
    await expect(panel.locator('.floe-Experiments-heading')).toHaveText(`search: ${search}`);
    await expect(panel.locator('.floe-Experiments-count')).toHaveText('3 runs');
    await expect(panel.locator('.floe-Parallel-line')).toHaveCount(3);
    await page.screenshot({ path: screenshotPath('experiments-search-dark.png') });
  } finally {
    await putSettings(request, lab, '@jupyterlab/apputils-extension:themes', {});
  }
});
