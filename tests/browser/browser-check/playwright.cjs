'use strict';
// Stands in for the `playwright` package inside JupyterLab's browser-check folder
// (<app dir>/browser_test/node_modules/playwright, put there by install.sh beside this file).
// `python -m jupyterlab.browser_check` runs `require('playwright').chromium.launch()`, which would
// want Playwright's own downloaded Chromium; this launches Debian's Chromium through the
// repository's Playwright instead, so the check runs offline on the browser the other tests use.
const path = require('path');

// This file is reached through a symlink; Node resolves it, so __dirname is tests/browser/browser-check.
const root = path.resolve(__dirname, '..', '..', '..');
const playwright = require(require.resolve('playwright', { paths: [root] }));
const chromiumLaunch = require(path.join(root, 'tests', 'browser', 'chromium.cjs'));

const chromium = Object.create(playwright.chromium);
chromium.launch = (options = {}) =>
  playwright.chromium.launch({
    ...options,
    executablePath: chromiumLaunch.executablePath,
    args: [...chromiumLaunch.args, ...(options.args || [])],
  });

module.exports = { ...playwright, chromium };
