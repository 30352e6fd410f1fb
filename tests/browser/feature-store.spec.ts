import * as fs from 'node:fs';
import { expect, test, type Locator, type Page } from '@playwright/test';
import {
  HOSTILE_TEXT,
  seedFeatureStore,
  type FeatureStoreSeed,
  type FeatureStoreSeedOptions,
} from '../../kernel-services/dist/hub/seed-feature-store';
import { openProjectStore } from '../../kernel-services/dist/store';
import { hubSocketOf, labServer, openLab, putSettings, runPaletteCommand, screenshotPath } from './lab';

const lab = labServer();

/** Seeds this test's own feature groups into the project store the hub serves (FLOE_HOME of the run). */
async function seed(opts: FeatureStoreSeedOptions): Promise<FeatureStoreSeed> {
  const store = await openProjectStore({ home: lab.floeHome });
  try {
    return await seedFeatureStore(store, opts);
  } finally {
    await store.close();
  }
}

/** A feature group name of this test's own (letters, digits, - only), so tests never see each other's data. */
function own(name: string): string {
  return `${name}-${test
    .info()
    .testId.slice(0, 8)
    .replace(/[^A-Za-z0-9]/g, 'x')}`;
}

/** Opens the feature store browser through its palette command and waits for the lists. */
async function openFeatureStore(page: Page): Promise<Locator> {
  await runPaletteCommand(page, 'Open Feature Store');
  const panel = page.locator('#floe-feature-store');
  await expect(panel).toBeVisible();
  await expect(panel.locator('.floe-FeatureStore-body[data-floe-showing="home"]')).toBeVisible();
  return panel;
}

/** Widens the left sidebar so the gallery shows a few patches a row (users drag it too). */
async function widenSidebar(page: Page): Promise<void> {
  const handle = page.locator('#jp-main-split-panel > .lm-SplitPanel-handle').first();
  const box = await handle.boundingBox();
  if (!box) return;
  await page.mouse.move(box.x + box.width / 2, box.y + 200);
  await page.mouse.down();
  await page.mouse.move(box.x + 200, box.y + 200, { steps: 5 });
  await page.mouse.up();
}

test('the feature store browser shows groups, commits, statistics with Plotly histograms, validation, patches and a dataset', async ({
  page,
}) => {
  const group = own('sar-patches');
  const seeded = await seed({ group, patches: 30 });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  // Plotly's chunk is the only one of the labextension over 3 MB (webpack names chunks by id here).
  const plotlyRequests: string[] = [];
  page.on('response', (r) => {
    const size = Number(r.headers()['content-length'] ?? 0);
    if (r.url().includes('/floe-jupyterlab/static/') && size > 3e6) plotlyRequests.push(r.url());
  });

  await openLab(page, lab);
  const panel = await openFeatureStore(page);
  await widenSidebar(page);
  // Plotly is not part of JupyterLab's start: it is fetched only when a histogram is drawn.
  expect(plotlyRequests).toEqual([]);
  const item = panel.locator(`.floe-FeatureStore-item[data-floe-group="${group}"]`);
  await expect(item).toContainText('2 commits · 43 rows');
  await page.screenshot({ path: screenshotPath('feature-store-home.png') });

  // Keyboard: the group is a focusable button.
  await item.focus();
  await page.keyboard.press('Enter');
  await expect(panel.locator('.floe-FeatureStore-groupTitle')).toHaveText(group);
  const commits = panel.locator('.floe-FeatureStore-commit');
  await expect(commits).toHaveCount(2);
  await expect(commits.first()).toHaveAttribute('aria-pressed', 'true');
  await expect(commits.first()).toContainText('2 rejected');

  // Statistics of the latest commit: per band, each with a Plotly histogram.
  const hh = panel.locator('[data-floe-histogram="band_1"] .js-plotly-plot');
  await expect(hh).toBeVisible();
  await expect(hh.locator('.bars path')).toHaveCount(20);
  await expect(panel.locator('[data-floe-feature="band_1"] .floe-KeyValue')).toContainText('43');
  expect(plotlyRequests).toHaveLength(1);
  await page.screenshot({ path: screenshotPath('feature-store-statistics.png') });

  // Time travel: commit 1 has 30 rows.
  await panel.locator('.floe-FeatureStore-commit[data-floe-commit="1"]').click();
  await expect(panel.locator('.floe-FeatureStore-commit[data-floe-commit="1"]')).toHaveAttribute(
    'aria-pressed',
    'true',
  );
  await expect(panel.locator('.floe-FeatureStore-summary')).toHaveText('30 rows');
  await panel.locator('.floe-FeatureStore-commit[data-floe-commit="2"]').click();

  // Validation of commit 2: two rules failed, two rows kept aside with their reasons.
  await panel.locator('[data-floe-tab="validation"]').click();
  await expect(panel.locator('[data-floe-outcome="accepted_with_failures"]')).toBeVisible();
  await expect(panel.locator('.floe-FeatureStore-rules tr.floe-mod-failed')).toHaveCount(2);
  await expect(panel.locator('.floe-FeatureStore-rejectedRows li')).toHaveCount(2);
  await page.screenshot({ path: screenshotPath('feature-store-validation.png') });

  // Arrow keys move between the tabs.
  await panel.locator('[data-floe-tab="validation"]').focus();
  await page.keyboard.press('ArrowLeft');
  await expect(panel.locator('[data-floe-tab="schema"]')).toHaveAttribute('aria-selected', 'true');
  await expect(panel.locator('tr[data-floe-feature="prediction"]')).toContainText('float32');

  // The patch gallery: a page of 24 of 43 patches with labels and predictions; HH, then the composite.
  await panel.locator('[data-floe-tab="patches"]').click();
  const tiles = panel.locator('.floe-Gallery-tile');
  await expect(tiles).toHaveCount(24);
  await expect(panel.locator('.floe-Gallery-range')).toHaveText('1–24 of 43');
  await expect(tiles.first().locator('.floe-Gallery-label')).toHaveText(/^(ship|iceberg)$/);
  await expect(panel.locator('.floe-Gallery-prediction').first()).toHaveText(/^p=0\.\d\d$/);
  await expect(panel.locator('.floe-Gallery-prediction.floe-mod-wrong').first()).toBeVisible();
  const hhPixels = await tiles.first().locator('canvas').evaluate(pixelStats);
  expect(hhPixels.grey).toBe(true);
  expect(hhPixels.distinct).toBeGreaterThan(20);
  await page.screenshot({ path: screenshotPath('feature-store-gallery-hh.png') });

  await panel.locator('.floe-Gallery-mode[data-floe-mode="composite"]').click();
  await expect(panel.locator('.floe-Gallery-mode[data-floe-mode="composite"]')).toHaveAttribute('aria-pressed', 'true');
  const composite = await tiles.first().locator('canvas').evaluate(pixelStats);
  expect(composite.grey).toBe(false);
  await page.screenshot({ path: screenshotPath('feature-store-gallery-composite.png') });

  await panel.locator('.floe-Gallery-next').click();
  await expect(panel.locator('.floe-Gallery-range')).toHaveText('25–43 of 43');
  await expect(tiles).toHaveCount(19);

  // A training dataset with its lineage and split sizes; its lineage opens the commit it is frozen to.
  await panel.locator('.floe-FeatureStore-back').click();
  await panel.locator(`.floe-FeatureStore-item[data-floe-dataset="${seeded.trainingDataset}"]`).click();
  const lineage = panel.locator('.floe-FeatureStore-lineageLink');
  await expect(lineage).toHaveText(`${group} v1 · commit 1`);
  for (const [split, rows] of Object.entries(seeded.splitCounts))
    await expect(panel.locator(`tr[data-floe-split="${split}"]`)).toContainText(String(rows));
  await page.screenshot({ path: screenshotPath('feature-store-dataset.png') });
  await lineage.click();
  await expect(panel.locator('.floe-FeatureStore-commit[data-floe-commit="1"]')).toHaveAttribute(
    'aria-pressed',
    'true',
  );

  // The dark theme: --jp-* colours throughout, and the histograms redrawn in the theme's colours.
  await panel.locator('[data-floe-tab="statistics"]').click();
  // The fill of the tallest bar (empty bins draw no visible path).
  const firstBar = (): Promise<string> =>
    panel.locator('[data-floe-histogram="band_1"] .js-plotly-plot').evaluate((plot) => {
      const bars = Array.from(plot.querySelectorAll<SVGPathElement>('.bars path'));
      const tallest = bars.sort((a, b) => b.getBBox().height - a.getBBox().height)[0];
      return tallest ? getComputedStyle(tallest).fill : '';
    });
  await expect.poll(firstBar).not.toBe('');
  const lightFill = await firstBar();
  await chooseTheme(page, 'JupyterLab Dark');
  try {
    await expect(page.locator('body[data-jp-theme-light="false"]')).toHaveCount(1);
    await expect.poll(firstBar).not.toBe(lightFill);
    await page.screenshot({ path: screenshotPath('feature-store-dark.png') });
  } finally {
    await chooseTheme(page, 'JupyterLab Light');
  }
  expect(errors).toEqual([]);
});

test('hostile feature group texts render as text', async ({ page }) => {
  const hostileGroup = `h${own('x').replace(/-/g, '')}${'y'.repeat(40)}`.slice(0, 63);
  await seed({ group: own('plain'), patches: 4, hostileGroup });
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });

  await openLab(page, lab);
  const panel = await openFeatureStore(page);
  await panel.locator(`.floe-FeatureStore-item[data-floe-group="${hostileGroup}"]`).click();
  await expect(panel.locator('.floe-FeatureStore-description')).toContainText(`${HOSTILE_TEXT} <b>bold</b>`);
  // At the default sidebar width every tab shows its whole name, inside the sidebar.
  const tabs = panel.locator('.floe-FeatureStore-tab');
  await expect(tabs).toHaveText(['Statistics', 'Schema', 'Validation', 'Patches']);
  expect(
    await tabs.evaluateAll((nodes) =>
      nodes
        .filter((n) => {
          const box = n.getBoundingClientRect();
          const list = n.parentElement!.getBoundingClientRect();
          return n.scrollWidth > n.clientWidth + 1 || box.right > list.right + 1;
        })
        .map((n) => n.textContent),
    ),
  ).toEqual([]);
  await page.screenshot({ path: screenshotPath('feature-store-default-width.png') });
  await panel.locator('[data-floe-tab="schema"]').click();
  await expect(panel.locator('tr[data-floe-feature="band_1"]')).toContainText('(<i>dB</i>)');
  await panel.locator('[data-floe-tab="validation"]').click();
  await expect(panel.locator('.floe-FeatureStore-report .floe-FeatureStore-meta')).toContainText(
    `${HOSTILE_TEXT} rules`,
  );
  await expect(panel.locator('.floe-FeatureStore-rejectedId')).toHaveText('<b>ok</b>');
  await panel.locator('[data-floe-tab="patches"]').click();
  await expect(panel.locator('.floe-Gallery-id')).toHaveText([
    HOSTILE_TEXT,
    '冰山 🧊 "quoted" 50%_off',
    `long-${'ü'.repeat(200)}`,
  ]);
  // Nothing from the data became markup.
  await expect(panel.locator('img, b, i, script')).toHaveCount(0);
  await page.screenshot({ path: screenshotPath('feature-store-hostile.png') });
  expect(dialogs).toEqual([]);
});

test('the feature store browser says when the hub is down, recovers, and comes back after a reload', async ({
  page,
  request,
}) => {
  const group = own('recovery');
  await seed({ group, patches: 6 });
  await putSettings(request, lab, 'floe-jupyterlab:hub', { refreshInterval: 2 });
  let socket = '';
  let moved = '';
  try {
    await openLab(page, lab);
    const panel = await openFeatureStore(page);
    await panel.locator(`.floe-FeatureStore-item[data-floe-group="${group}"]`).click();
    await panel.locator('[data-floe-tab="patches"]').click();
    // Commit 2 of 6 patches added 3, of which validation kept 2 aside.
    await expect(panel.locator('.floe-Gallery-tile')).toHaveCount(7);
    socket = hubSocketOf(lab.pid);
    moved = `${socket}.moved-by-test`;
    fs.renameSync(socket, moved);
    await panel.locator('.floe-FeatureStore-commit[data-floe-commit="1"]').click();
    const banner = panel.locator('.floe-FeatureStore-banner');
    await expect(banner).toContainText(/The Floe hub (did not answer|is not reachable)/);
    await page.screenshot({ path: screenshotPath('feature-store-hub-down.png') });
    fs.renameSync(moved, socket);
    await expect(banner).toBeEmpty({ timeout: 60_000 });
    await expect(panel.locator('.floe-Gallery-range')).toHaveText('1–6 of 6');
  } finally {
    if (moved && fs.existsSync(moved)) fs.renameSync(moved, socket);
    await putSettings(request, lab, 'floe-jupyterlab:hub', {});
  }

  // The state database keeps the view: the same workspace again reopens the group's gallery at commit 1.
  await page.waitForTimeout(1500);
  await page.goto(`${lab.url}lab/workspaces/floe-test-${test.info().testId}?token=${lab.token}`, {
    waitUntil: 'domcontentloaded',
  });
  const restored = page.locator('#floe-feature-store');
  await expect(restored.locator('.floe-FeatureStore-groupTitle')).toHaveText(group, { timeout: 60_000 });
  await expect(restored.locator('.floe-FeatureStore-commit[data-floe-commit="1"]')).toHaveAttribute(
    'aria-pressed',
    'true',
  );
  await expect(restored.locator('.floe-Gallery-tile')).toHaveCount(6);
});

/** Picks a theme from the Settings menu (the choice is saved in the run's own settings folder). */
async function chooseTheme(page: Page, theme: string): Promise<void> {
  await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Settings$/ }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Theme$/ }).hover();
  await page.locator('.lm-Menu-itemLabel', { hasText: new RegExp(`^${theme}$`) }).click();
}

/** Whether a canvas is grey (R = G = B everywhere) and how many distinct values its red channel has. */
function pixelStats(canvas: HTMLCanvasElement): { grey: boolean; distinct: number } {
  const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
  let grey = true;
  const values = new Set<number>();
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) grey = false;
    values.add(data[i]!);
  }
  return { grey, distinct: values.size };
}
