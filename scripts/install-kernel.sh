#!/usr/bin/env bash
# Registers the Floe TypeScript kernel (tslab) in .venv, so JupyterLab and nbconvert find it.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$FLOE_ROOT"

spec="$VENV/share/jupyter/kernels/floe-typescript"
tslab="$FLOE_ROOT/node_modules/.bin/tslab"
[ -x "$tslab" ] || { echo "floe: tslab is not installed (node_modules/.bin/tslab); run npm install" >&2; exit 1; }
want="$(node -e '
const [tslab, root, variant] = process.argv.slice(1);
process.stdout.write(JSON.stringify({
  argv: [tslab, "kernel", "--config-path", "{connection_file}"],
  display_name: "Floe TypeScript",
  language: "typescript",
  env: { FLOE_ROOT: root, FLOE_TF_VARIANT: variant, TF_CPP_MIN_LOG_LEVEL: "2" },
  metadata: { floe: { kernel: "tslab" } },
}, null, 2) + "\n");
' "$tslab" "$FLOE_ROOT" "$FLOE_TF_VARIANT")"
if [ -f "$spec/kernel.json" ] && [ "$(cat "$spec/kernel.json")" = "$want" ]; then
  say "Floe TypeScript kernel is registered"
  exit 0
fi
say "registering the Floe TypeScript kernel (tslab) in .venv"
mkdir -p "$spec"
printf '%s\n' "$want" > "$spec/kernel.json"
cp style/floe-logo.svg "$spec/logo-svg.svg"
