#!/usr/bin/env bash
# Floe's own native addon (kernel-services/native): the request decoder of the model server
# (json_tensor.cc). Built with node-gyp (node_gyp_rebuild, common.sh); idempotent (stamped by the
# sources and the Node version). Without it the server decodes in JavaScript, with the same results.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$FLOE_ROOT"

dir="$FLOE_ROOT/kernel-services/native"
addon="$dir/build/Release/floe_native.node"
key="$(hash_files "$dir/binding.gyp" "$dir/json_tensor.cc") node=$(node -p process.versions.node)"
if stamp_ok floe-native "$key" && [ -f "$addon" ]; then
  say "Floe's native request decoder is up to date"
  exit 0
fi

say "building Floe's native request decoder (node-gyp, kernel-services/native)"
node_gyp_rebuild "$dir" floe-native-build.log "native decoder"
node -e "
const d = require('$addon');
const out = new Float32Array(2);
if (d.decodeNumberTensor(Buffer.from('[0.1, -2e3]'), 0, [2], out, 0) !== 11 || out[1] !== -2000) process.exit(1);
" || { echo "floe: the native decoder was built but does not decode" >&2; exit 1; }
stamp_set floe-native "$key"
