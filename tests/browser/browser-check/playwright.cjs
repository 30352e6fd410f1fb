'use strict';
// Stands in for the `playwright` package inside JupyterLab's browser-check folder
// (<app dir>/browser_test/node_modules/playwright, put there by scripts/browser-tests.sh).
// `python -m jupyterlab.browser_check` runs `require('playwright').chromium.launch()`, which would
// want Playwright's own downloaded Chromium; this launches Debian's Chromium through the
// repository's Playwright instead, so the check runs offline on the browser the other tests use.
const path = require('path');

const root = process.env.FLOE_ROOT;
if (!root) throw new Error('floe: FLOE_ROOT is not set (run the browser check through scripts/browser-tests.sh)');
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
