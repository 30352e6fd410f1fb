#!/usr/bin/env node
'use strict';
// The `playwright` command inside JupyterLab's browser-check folder. The check runs
// `npx playwright install chromium` before every run; Floe uses Debian's Chromium, so "install"
// only verifies that it is there instead of downloading a browser.
const fs = require('fs');
const path = require('path');

const { executablePath } = require(path.join(__dirname, '..', 'chromium.cjs'));
const [command] = process.argv.slice(2);
if (command !== 'install') {
  console.error(`floe: only 'playwright install' is provided here (got '${process.argv.slice(2).join(' ')}')`);
  process.exit(2);
}
try {
  fs.accessSync(executablePath, fs.constants.X_OK);
} catch {
  console.error(
    `floe: Chromium not found at ${executablePath}; install Debian's chromium (bash scripts/system-deps.sh)`,
  );
  process.exit(1);
}
console.log(`floe: the browser check uses ${executablePath}; nothing to download`);
