#!/usr/bin/env bash
# Installs everything Floe needs, idempotently: each step is skipped when its inputs have not changed.
# Reaches only the npm registry and PyPI. Usage: bash scripts/setup.sh   (FLOE_TF_VARIANT=gpu for GPUs)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$FLOE_ROOT"

node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || { echo "floe: Node 20 or newer is needed (found $(node --version))" >&2; exit 1; }
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || { echo "floe: Python 3.10 or newer is needed (found $("$PYTHON" --version))" >&2; exit 1; }

# 1. Python environment: JupyterLab, jupyter-server-proxy, nbconvert, and the TensorFlow wheel.
req="requirements.txt"
[ "$FLOE_TF_VARIANT" = gpu ] && req="requirements-gpu.txt"
key="$(hash_files "$req" requirements.txt)"
if ! stamp_ok python "$key" || [ ! -x "$VENV/bin/python" ]; then
  say "creating the Python environment in .venv ($req; TensorFlow wheel is ~250 MB, first time only)"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  stamp_set python "$key"
else
  say "Python environment is up to date"
fi

# 2. Node dependencies. Install scripts run only for the packages listed in package.json's allowScripts.
key="$(hash_files package-lock.json package.json schema/package.json kernel-services/package.json extension/package.json)"
if ! stamp_ok npm "$key" || [ ! -d node_modules ]; then
  if [ -d node_modules ]; then
    say "updating Node dependencies (npm install)"
    npm install --no-audit --no-fund --loglevel=error
  else
    say "installing Node dependencies (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
  rm -f "$STAMPS/tfjs-binding"  # a fresh node_modules has no native binding
  stamp_set npm "$(hash_files package-lock.json package.json schema/package.json kernel-services/package.json extension/package.json)"
else
  say "Node dependencies are up to date"
fi

# 3. The native TensorFlow binding for tfjs, built against the TensorFlow library in the Python wheel.
bash scripts/build-tfjs-binding.sh
# Floe's own native addon: the model server's request decoder.
bash scripts/build-native.sh

# 4. TypeScript: schema, the floe library, the extension sources.
key="$(hash_tree schema/src kernel-services/src kernel-services/bin extension/src extension/schema style) $(hash_files tsconfig.base.json */tsconfig.json)"
if ! stamp_ok typescript "$key" || [ ! -f kernel-services/dist/index.js ]; then
  say "compiling TypeScript (tsc -b)"
  npx tsc -b tsconfig.json
  stamp_set typescript "$key"
else
  say "TypeScript build is up to date"
fi

# 5. The JupyterLab extension (prebuilt labextension) and its Python package, installed into .venv.
# (schema/src too: the contract package is bundled into the labextension.)
key="$(hash_tree extension/src extension/schema schema/src style jupyter-config floe_jupyter) $(hash_files extension/package.json extension/install.json pyproject.toml package-lock.json)"
if ! stamp_ok labextension "$key" || [ ! -f floe_jupyter/labextension/package.json ]; then
  say "building the Floe labextension (jupyter labextension build)"
  # npm hoists the extension's dependencies to the root node_modules; without a node_modules folder of
  # its own, `jupyter labextension build` would run jlpm (yarn) to re-resolve the whole workspace.
  mkdir -p extension/node_modules
  (cd extension && PATH="$VENV/bin:$PATH" jupyter labextension build . >"$STAMPS/labextension-build.log" 2>&1) \
    || { tail -40 "$STAMPS/labextension-build.log" >&2; echo "floe: labextension build failed (log: .floe-setup/labextension-build.log)" >&2; exit 1; }
  say "installing the floe-jupyter package (labextension, hub launcher, server config) into .venv"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --no-build-isolation --force-reinstall .
  stamp_set labextension "$key"
else
  say "labextension is up to date"
fi
# JupyterLab's browser check (python -m jupyterlab.browser_check) runs on Debian's Chromium, offline.
bash tests/browser/browser-check/install.sh

# 6. The Floe TypeScript kernel (tslab), registered in .venv.
bash scripts/install-kernel.sh

# 7. `npx floe` from the repository root.
[ -x node_modules/.bin/floe ] || { say "linking the floe command"; npm install --no-audit --no-fund --loglevel=error >/dev/null; }

stamp_set tf-variant "$FLOE_TF_VARIANT"
say "set-up complete (TensorFlow variant: $FLOE_TF_VARIANT)"
