#!/usr/bin/env bash
# The main job: set up whatever is missing, then start JupyterLab with Floe on 127.0.0.1, opened on the
# tutorial notebooks. The project store defaults to ./floe-project (override with FLOE_HOME).
# Extra arguments go to `jupyter lab` (e.g. --port 8890, --no-browser).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$FLOE_ROOT"

bash scripts/setup.sh

export FLOE_HOME="${FLOE_HOME:-$FLOE_ROOT/floe-project}"
mkdir -p "$FLOE_HOME"
say "project store: $FLOE_HOME"
# Jupyter refuses to start as root unless told; containers and CI machines often run as root.
root_args=()
[ "$(id -u)" -eq 0 ] && root_args=(--allow-root)
say "starting JupyterLab on 127.0.0.1 (the URL with its token is printed below)"
exec "$VENV/bin/jupyter" lab "${root_args[@]}" \
  --ServerApp.ip=127.0.0.1 \
  --ServerApp.root_dir="$FLOE_ROOT" \
  --LabApp.default_url=/lab/tree/notebooks \
  "$@"
