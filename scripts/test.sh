#!/usr/bin/env bash
# The test command: sets up whatever is missing, then runs every test — unit and integration (vitest),
# the notebooks (nbconvert with the Floe TypeScript kernel), and the browser tests (Playwright on Chromium).
# Ends with one line "tests: N passed, N failed" and exits non-zero if anything failed.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$FLOE_ROOT"

bash scripts/setup.sh
bash scripts/system-deps.sh

# Real Sentinel-1 fixtures live beside the project (never copied into it).
if [ -z "${FLOE_REAL_DATA:-}" ] && [ -d "$FLOE_ROOT/../shared/data" ]; then
  FLOE_REAL_DATA="$(cd "$FLOE_ROOT/../shared/data" && pwd)"
fi
export FLOE_REAL_DATA="${FLOE_REAL_DATA:-}"

rm -rf test-results
mkdir -p test-results
status=0
suite_start=$(date +%s)

say "static checks: types and lint"
lint_ok=1
npx tsc -b tsconfig.json || lint_ok=0
npx eslint --max-warnings=0 . || lint_ok=0
[ "$lint_ok" = 1 ] || status=1

say "unit and integration tests (vitest)"
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json || status=1

say "notebooks (nbconvert, Floe TypeScript kernel)"
# The notebooks build one tutorial project; the browser tests then open JupyterLab on it, so the
# reviewer's path (tests/browser/reviewer.spec.ts) inspects what the tutorial really produced.
tutorial_home="$(mktemp -d "${TMPDIR:-/tmp}/floe-tutorial.XXXXXX")"
FLOE_HOME="$tutorial_home" bash scripts/run-notebooks.sh || status=1

say "browser tests (Playwright, Chromium)"
FLOE_TUTORIAL_HOME="$tutorial_home" bash scripts/browser-tests.sh || status=1
rm -rf "$tutorial_home"

node scripts/test-summary.mjs "$lint_ok" "$(( $(date +%s) - suite_start ))" || status=1
exit "$status"
