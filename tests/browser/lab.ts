import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, test, type APIRequestContext, type Locator, type Page } from '@playwright/test';

/** The JupyterLab that scripts/browser-tests.sh started for this run. */
export interface LabServer {
  url: string;
  token: string;
  /** Process id of the Jupyter server (the hub is its child, started by jupyter-server-proxy). */
  pid: number;
  /** FLOE_HOME given to the server: the hub reports it as the store path. */
  floeHome: string;
}

export const repoRoot = path.resolve(__dirname, '..', '..');

export function labServer(): LabServer {
  const { FLOE_LAB_URL: url, FLOE_LAB_TOKEN: token, FLOE_LAB_PID: pid, FLOE_HOME: floeHome } = process.env;
  if (!url || !token || !pid || !floeHome) {
    throw new Error(
      'FLOE_LAB_URL, FLOE_LAB_TOKEN, FLOE_LAB_PID and FLOE_HOME must be set: run the browser tests with `bash scripts/browser-tests.sh`',
    );
  }
  return { url: url.endsWith('/') ? url : `${url}/`, token, pid: Number(pid), floeHome };
}

/**
 * Opens JupyterLab with the token in a fresh workspace of this test's own (so no test sees the layout
 * another left behind) and waits until the shell is up and the splash screen gone.
 */
export async function openLab(page: Page, lab: LabServer): Promise<void> {
  const workspace = `floe-test-${test.info().testId}`;
  await page.goto(`${lab.url}lab/workspaces/${workspace}?reset&token=${lab.token}`, { waitUntil: 'domcontentloaded' });
  await expect(page.locator('#jupyterlab-splash')).toHaveCount(0, { timeout: 90_000 });
  await expect(page.locator('.jp-LabShell')).toBeVisible();
}

/** Opens a notebook in this test's own workspace; without a kernelspec, answers the kernel dialog with "no kernel". */
export async function openNotebook(
  page: Page,
  lab: LabServer,
  relativePath: string,
  withKernel: boolean,
): Promise<Locator> {
  await openLab(page, lab);
  await page.goto(`${lab.url}lab/workspaces/floe-test-${test.info().testId}/tree/${relativePath}?token=${lab.token}`, {
    waitUntil: 'domcontentloaded',
  });
  await expect(page.locator('#jupyterlab-splash')).toHaveCount(0, { timeout: 90_000 });
  const notebook = page.locator('.jp-NotebookPanel:visible');
  await expect(notebook).toBeVisible({ timeout: 60_000 });
  if (!withKernel) {
    // No kernelspec: JupyterLab asks which kernel to start; the reviewer's path starts none.
    const dialog = page.locator('.jp-Dialog');
    await dialog.waitFor({ state: 'visible', timeout: 30_000 });
    await dialog.locator('.jp-Dialog-button', { hasText: 'No Kernel' }).click();
    await expect(dialog).toHaveCount(0);
    await expect(page.locator('.jp-Toolbar-kernelName:visible')).toHaveText('No Kernel');
  }
  return notebook;
}

/**
 * Runs a command from the command palette, opened through View › Activate Command Palette.
 *
 * Right after start JupyterLab may still restore its layout, and the modal palette closes when that takes
 * the focus away: open it only when it is not open, and try the whole open-fill-pick again until the pick
 * lands (a retry never toggles an open palette shut).
 */
export async function runPaletteCommand(page: Page, label: string): Promise<void> {
  const palette = page.locator('#command-palette');
  const input = palette.locator('input');
  await expect(async () => {
    if (!(await input.isVisible())) {
      await page.locator('.lm-MenuBar-itemLabel', { hasText: /^View$/ }).click({ timeout: 5000 });
      await page.locator('.lm-Menu-itemLabel', { hasText: /^Activate Command Palette$/ }).click({ timeout: 5000 });
    }
    await input.fill(label, { timeout: 5000 });
    await palette.locator('.lm-CommandPalette-item', { hasText: label }).first().click({ timeout: 5000 });
  }).toPass({ timeout: 90_000 });
}

/** Opens the Floe panel from its tab in the left sidebar and returns it. */
export async function openFloeSidebar(page: Page): Promise<Locator> {
  const tab = page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="floe-sidebar"]');
  await expect(tab).toBeVisible();
  // Clicking the current tab would collapse the panel.
  if (!(await tab.evaluate((node) => node.classList.contains('lm-mod-current')))) await tab.click();
  const sidebar = page.locator('#floe-sidebar');
  await expect(sidebar).toBeVisible();
  return sidebar;
}

/** Sets a plugin's user settings through Jupyter's settings API (the run uses a temporary settings folder). */
export async function putSettings(
  request: APIRequestContext,
  lab: LabServer,
  pluginId: string,
  settings: Record<string, unknown>,
): Promise<void> {
  const response = await request.put(`${lab.url}lab/api/settings/${pluginId}`, {
    headers: { Authorization: `token ${lab.token}` },
    data: { raw: JSON.stringify(settings) },
  });
  expect(response.status(), `PUT settings of ${pluginId}: ${await response.text()}`).toBe(204);
}

/** The TensorFlow version of the wheel in .venv, read from its metadata (independently of the hub). */
export function installedTensorflowVersion(): string {
  const lib = path.join(repoRoot, '.venv', 'lib');
  for (const python of fs.readdirSync(lib)) {
    const sitePackages = path.join(lib, python, 'site-packages');
    if (!fs.existsSync(sitePackages)) continue;
    const dist = fs.readdirSync(sitePackages).find((d) => /^tensorflow(_cpu)?-[\d.]+\.dist-info$/.test(d));
    if (dist) return /-([\d.]+)\.dist-info$/.exec(dist)![1]!;
  }
  throw new Error(`no tensorflow wheel found under ${lib}`);
}

/** The unix socket of the hub that jupyter-server-proxy started as a child of the Jupyter server. */
export function hubSocketOf(serverPid: number): string {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    let argv: string[];
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // the process ended while we looked
    }
    // Field 4 of /proc/PID/stat is the parent pid; the command name (field 2) may contain spaces.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const socketFlag = argv.indexOf('--socket');
    if (ppid === serverPid && argv.includes('hub') && socketFlag >= 0) return argv[socketFlag + 1]!;
  }
  throw new Error(`no floe hub process is a child of the Jupyter server (pid ${serverPid})`);
}

export function screenshotPath(name: string): string {
  return path.join(repoRoot, 'test-results', 'screenshots', name);
}
