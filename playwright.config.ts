import { defineConfig } from '@playwright/test';
import chromium from './tests/browser/chromium.cjs';

/**
 * Browser tests against a JupyterLab that scripts/browser-tests.sh starts (FLOE_LAB_URL, FLOE_LAB_TOKEN).
 * One worker: the tests share that server, and the machine has two cores.
 */
export default defineConfig({
  testDir: 'tests/browser',
  testMatch: '**/*.spec.ts',
  outputDir: 'test-results/playwright-artifacts',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: true,
  // JupyterLab's first load on a cold server takes a few seconds; the hub tests wait on polls.
  timeout: 120_000,
  expect: { timeout: 30_000 },
  reporter: [['list'], ['json', { outputFile: 'test-results/playwright.json' }]],
  use: {
    browserName: 'chromium',
    launchOptions: { executablePath: chromium.executablePath, args: chromium.args },
    viewport: { width: 1280, height: 800 },
    actionTimeout: 15_000,
    navigationTimeout: 60_000,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
});
