import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, test } from '@playwright/test';
import {
  hubSocketOf,
  installedTensorflowVersion,
  labServer,
  openFloeSidebar,
  openLab,
  putSettings,
  repoRoot,
  screenshotPath,
} from './lab';

const lab = labServer();
const floeVersion = (
  JSON.parse(fs.readFileSync(path.join(repoRoot, 'kernel-services', 'package.json'), 'utf8')) as { version: string }
).version;

test('the Floe sidebar shows the hub info and the launcher offers the Floe TypeScript kernel', async ({ page }) => {
  const floeErrors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /floe/i.test(msg.text())) floeErrors.push(msg.text());
  });
  page.on('pageerror', (err) => floeErrors.push(err.message));

  await openLab(page, lab);
  // A fresh workspace opens the launcher; the tslab kernel spec shows up as a notebook card.
  const kernelCard = page.locator('.jp-LauncherCard[data-category="Notebook"]', { hasText: 'Floe TypeScript' });
  await expect(kernelCard).toBeVisible();

  const sidebar = await openFloeSidebar(page);
  await expect(sidebar.locator('.floe-Sidebar-badge')).toHaveText('connected');
  const field = (name: string) => sidebar.locator(`[data-floe-field="${name}"] .floe-HubInfo-text`);
  await expect(field('tensorflow-version')).toHaveText(installedTensorflowVersion());
  await expect(field('backend')).toHaveText('tensorflow');
  await expect(sidebar.locator('[data-floe-field="backend"] .floe-HubInfo-note')).toHaveText('native');
  await expect(field('floe-version')).toHaveText(floeVersion);
  await expect(field('device')).toHaveText(/^(CPU|GPU)/);
  await expect(field('variant')).toHaveText(/^(cpu|gpu)$/);
  await expect(field('store-path')).toHaveText(lab.floeHome);
  await expect(field('node')).toHaveText(/^v\d+\.\d+\.\d+$/);
  await expect(sidebar.locator('.floe-mod-warn')).toHaveCount(0);

  await page.screenshot({ path: screenshotPath('floe-sidebar.png') });
  expect(floeErrors, 'console errors mentioning Floe').toEqual([]);
});

test('the Floe sidebar follows the dark theme', async ({ page, request }) => {
  const themePlugin = '@jupyterlab/apputils-extension:themes';
  await putSettings(request, lab, themePlugin, { theme: 'JupyterLab Dark' });
  try {
    await openLab(page, lab);
    const sidebar = await openFloeSidebar(page);
    await expect(sidebar.locator('.floe-Sidebar-badge')).toHaveText('connected');
    await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', 'false');
    // The panel's colours come from the theme's variables, so its background is the dark layout colour.
    const [panelBackground, themeBackground] = await sidebar.evaluate((node) => {
      const probe = document.createElement('div');
      probe.style.background = 'var(--jp-layout-color1)';
      document.body.append(probe);
      const expected = getComputedStyle(probe).backgroundColor;
      probe.remove();
      return [getComputedStyle(node).backgroundColor, expected];
    });
    expect(panelBackground).toBe(themeBackground);
    const [r, g, b] = panelBackground.match(/\d+/g)!.map(Number);
    expect(r! + g! + b!, `dark background, got ${panelBackground}`).toBeLessThan(3 * 100);
    await page.screenshot({ path: screenshotPath('floe-sidebar-dark.png') });
  } finally {
    await putSettings(request, lab, themePlugin, {});
  }
});

test('the Floe sidebar says when the hub is not reachable and recovers by itself', async ({ page, request }) => {
  // Check the hub every 2 s so that the test sees both changes quickly.
  await putSettings(request, lab, 'floe-jupyterlab:hub', { refreshInterval: 2 });
  const socket = hubSocketOf(lab.pid);
  const movedSocket = `${socket}.moved-by-test`;
  try {
    await openLab(page, lab);
    const sidebar = await openFloeSidebar(page);
    const badge = sidebar.locator('.floe-Sidebar-badge');
    await expect(badge).toHaveText('connected');

    // Take the hub's socket away: the proxy can no longer connect, exactly as if the hub were gone.
    fs.renameSync(socket, movedSocket);
    await expect(badge).toHaveText('unreachable');
    const problem = sidebar.locator('[role="alert"]');
    await expect(problem.locator('.floe-HubProblem-headline')).toHaveText(
      /^Floe hub is not reachable: HTTP 5\d\d from floe-hub\/v1\/info: .+/,
    );
    await expect(problem.locator('.floe-HubProblem-hint')).toContainText('What to do:');
    await expect(problem.locator('.floe-HubProblem-hint')).toContainText('recovers by itself');
    await expect(sidebar.locator('.floe-HubInfo')).toHaveCount(0);
    await page.screenshot({ path: screenshotPath('floe-hub-unreachable.png') });

    // Give it back: the panel's own polling (with backoff) must find the hub again, no click needed.
    fs.renameSync(movedSocket, socket);
    await expect(badge).toHaveText('connected', { timeout: 60_000 });
    await expect(sidebar.locator('[data-floe-field="backend"] .floe-HubInfo-text')).toHaveText('tensorflow');
    await expect(sidebar.locator('[role="alert"]')).toHaveCount(0);
  } finally {
    if (fs.existsSync(movedSocket)) fs.renameSync(movedSocket, socket);
    await putSettings(request, lab, 'floe-jupyterlab:hub', {});
  }
});
