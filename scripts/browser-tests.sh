#!/usr/bin/env bash
# Browser tests, on Debian's Chromium (never a downloaded browser):
#   1. JupyterLab's own check, `python -m jupyterlab.browser_check`: the app loads with every extension
#      (Floe's included) and logs no errors;
#   2. the Playwright tests in tests/browser (config: playwright.config.ts), against a JupyterLab started
#      here on 127.0.0.1 with a free port and a random token, and always stopped. Its FLOE_HOME is a
#      tutorial project, for the reviewer's path (tests/browser/reviewer.spec.ts): FLOE_TUTORIAL_HOME, the
#      one the notebooks built (scripts/test.sh passes it), else one `floe pipeline --size quick` builds
#      here in a temporary folder (about a minute). The other specs seed data of their own names into it.
# Arguments go to `playwright test` (e.g. one spec file: bash scripts/browser-tests.sh tests/browser/reviewer.spec.ts).
# Results: test-results/playwright.json (counted by scripts/test-summary.mjs), screenshots in
# test-results/screenshots, server logs in test-results/jupyter-*.log.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$FLOE_ROOT"

FLOE_CHROMIUM="${FLOE_CHROMIUM:-/usr/bin/chromium}"
export FLOE_CHROMIUM
[ -x "$FLOE_CHROMIUM" ] || { echo "floe: no Chromium at $FLOE_CHROMIUM (bash scripts/system-deps.sh installs Debian's chromium)" >&2; exit 1; }
[ -x "$VENV/bin/jupyter" ] && [ -f "$VENV/share/jupyter/labextensions/floe-jupyterlab/package.json" ] \
  || { echo "floe: JupyterLab with the Floe extension is not installed in .venv; run: bash scripts/setup.sh" >&2; exit 1; }

mkdir -p test-results/screenshots
work="$(mktemp -d "${TMPDIR:-/tmp}/floe-browser.XXXXXX")"
server_pid=""
stop_server() {
  [ -n "$server_pid" ] || return 0
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
cleanup() {
  stop_server
  [ -f "$work/jupyter.log" ] && cp "$work/jupyter.log" test-results/jupyter-playwright.log
  rm -rf "$work"
}
trap cleanup EXIT

# Jupyter's user-level state goes to the temporary folder: the tests neither see nor change the
# user's settings, workspaces or config (the environment's own config in .venv/etc still applies).
export JUPYTER_CONFIG_DIR="$work/config" JUPYTER_RUNTIME_DIR="$work/runtime"
export JUPYTERLAB_SETTINGS_DIR="$work/lab-settings" JUPYTERLAB_WORKSPACES_DIR="$work/lab-workspaces"
if [ -n "${FLOE_TUTORIAL_HOME:-}" ]; then
  FLOE_HOME="$(cd "$FLOE_TUTORIAL_HOME" && pwd)" || exit 1
else
  FLOE_HOME="$work/floe-home"
fi
export FLOE_HOME
# No news prompt or "newer JupyterLab available" notice: both would reach the internet and cover the page.
mkdir -p "$JUPYTERLAB_SETTINGS_DIR/@jupyterlab/apputils-extension"
printf '{"fetchNews": "false", "checkForUpdates": false}\n' >"$JUPYTERLAB_SETTINGS_DIR/@jupyterlab/apputils-extension/notification.jupyterlab-settings"
allow_root=()
[ "$(id -u)" -eq 0 ] && allow_root=(--allow-root)

# 1. JupyterLab's browser check. It drives `require('playwright')` and `npx playwright install chromium`
#    in <app dir>/browser_test; an adapter there points both at Debian's Chromium (tests/browser/browser-check).
bash tests/browser/browser-check/install.sh

say "JupyterLab browser check (python -m jupyterlab.browser_check)"
check_ok=1
if ! "$VENV/bin/python" -m jupyterlab.browser_check "${allow_root[@]}" >test-results/jupyter-browser-check.log 2>&1; then
  check_ok=0
  tail -40 test-results/jupyter-browser-check.log >&2
  echo "floe: the JupyterLab browser check failed (log: test-results/jupyter-browser-check.log)" >&2
fi
printf '{"check": "jupyterlab.browser_check", "passed": %s}\n' "$([ "$check_ok" = 1 ] && echo true || echo false)" \
  >test-results/browser-check.json

# 2. Playwright against a JupyterLab of our own, on the tutorial project.
if [ -z "${FLOE_TUTORIAL_HOME:-}" ]; then
  say "tutorial project for the reviewer's path: floe pipeline --size quick in $FLOE_HOME"
  if ! npx floe pipeline --size quick >test-results/tutorial-pipeline.log 2>&1; then
    tail -40 test-results/tutorial-pipeline.log >&2
    echo "floe: floe pipeline --size quick failed (log: test-results/tutorial-pipeline.log)" >&2
    exit 1
  fi
fi
# The reviewer's spec expects what the tutorial left in the store before any spec added to it.
FLOE_TUTORIAL_HOME="$FLOE_HOME" FLOE_TUTORIAL_AT="$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)"
export FLOE_TUTORIAL_HOME FLOE_TUTORIAL_AT
port="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
token="$("$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(24))')"
say "starting JupyterLab on 127.0.0.1:$port"
"$VENV/bin/jupyter" lab --no-browser --ip=127.0.0.1 --port="$port" --ServerApp.port_retries=0 \
  --IdentityProvider.token="$token" --ServerApp.root_dir="$FLOE_ROOT" "${allow_root[@]}" \
  >"$work/jupyter.log" 2>&1 &
server_pid=$!
ready=0
for _ in $(seq 240); do
  kill -0 "$server_pid" 2>/dev/null || break
  if curl -fsS -o /dev/null -H "Authorization: token $token" "http://127.0.0.1:$port/api/status" 2>/dev/null; then ready=1; break; fi
  sleep 0.25
done
if [ "$ready" != 1 ]; then
  tail -40 "$work/jupyter.log" >&2
  echo "floe: JupyterLab did not start on 127.0.0.1:$port within 60 s" >&2
  exit 1
fi

say "browser tests (Playwright, $FLOE_CHROMIUM)"
playwright_ok=1
# Playwright runs the tests without type-checking them; tsc does (tests/browser/tsconfig.json).
npx tsc -p tests/browser/tsconfig.json || playwright_ok=0
FLOE_LAB_URL="http://127.0.0.1:$port/" FLOE_LAB_TOKEN="$token" FLOE_LAB_PID="$server_pid" \
  npx playwright test --config playwright.config.ts "$@" || playwright_ok=0

[ "$check_ok" = 1 ] && [ "$playwright_ok" = 1 ]
