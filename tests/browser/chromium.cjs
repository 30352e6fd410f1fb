'use strict';
// How every browser test here launches Chromium: Debian's build (never a downloaded one), headless,
// with nothing that reaches the network on its own. Shared by playwright.config.ts and the
// JupyterLab browser-check adapter (browser-check/playwright.cjs).
module.exports = {
  executablePath: process.env.FLOE_CHROMIUM || '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};
