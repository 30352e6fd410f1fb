#!/usr/bin/env bash
# Points JupyterLab's browser check (`python -m jupyterlab.browser_check`) at Debian's Chromium.
# The check runs `npx playwright install chromium` and `require('playwright')` in <app dir>/browser_test,
# and would otherwise npm-install Playwright there and download a browser. This puts a `playwright`
# package of our own there (playwright.cjs, playwright-cli.cjs beside this script). Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/common.sh"

here="$FLOE_ROOT/tests/browser/browser-check"
app_dir="$("$VENV/bin/python" -c 'from jupyterlab.commands import get_app_dir; print(get_app_dir())')"
check_dir="$app_dir/browser_test"
mkdir -p "$check_dir/node_modules/playwright" "$check_dir/node_modules/.bin"
printf '{"name": "floe-browser-check", "private": true}\n' >"$check_dir/package.json"
printf '{"name": "playwright", "version": "0.0.0-floe", "main": "index.js", "bin": {"playwright": "cli.js"}}\n' \
  >"$check_dir/node_modules/playwright/package.json"
ln -sfn "$here/playwright.cjs" "$check_dir/node_modules/playwright/index.js"
ln -sfn "$here/playwright-cli.cjs" "$check_dir/node_modules/playwright/cli.js"
ln -sfn ../playwright/cli.js "$check_dir/node_modules/.bin/playwright"
