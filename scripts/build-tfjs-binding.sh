#!/usr/bin/env bash
# Builds @tensorflow/tfjs-node's native binding against the TensorFlow shared library shipped in
# TensorFlow's Python wheel (installed in .venv), instead of the libtensorflow download that the
# package's own install script attempts (unreachable offline). See docs/native-tensorflow.md.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$FLOE_ROOT"

if [ "$FLOE_TF_VARIANT" = gpu ]; then pkg="@tensorflow/tfjs-node-gpu"; else pkg="@tensorflow/tfjs-node"; fi
pkgdir="$FLOE_ROOT/node_modules/$pkg"
[ -d "$pkgdir" ] || { echo "floe: $pkg is not installed; run npm install first" >&2; exit 1; }

tfdir="$("$VENV/bin/python" - <<'PY'
import importlib.util, os
spec = importlib.util.find_spec("tensorflow")
print(os.path.dirname(spec.origin) if spec and spec.origin else "")
PY
)"
[ -n "$tfdir" ] && [ -f "$tfdir/libtensorflow_cc.so.2" ] \
  || { echo "floe: no TensorFlow wheel with libtensorflow_cc.so.2 in .venv (run scripts/setup.sh)" >&2; exit 1; }
tfver="$("$VENV/bin/python" -c 'import importlib.metadata as m
for d in ("tensorflow", "tensorflow-cpu"):
    try: print(m.version(d)); break
    except m.PackageNotFoundError: pass')"
tfjsver="$(node -p "require('$pkgdir/package.json').version")"
napi="$(node -p 'Math.max(...require(process.argv[1]).binary.napi_versions.filter(v => v <= Number(process.versions.napi)))' "$pkgdir/package.json")"
binding="$pkgdir/lib/napi-v$napi/tfjs_binding.node"

key="$pkg@$tfjsver tf=$tfver napi=$napi dir=$tfdir"
if stamp_ok tfjs-binding "$key" && [ -f "$binding" ]; then
  say "native TensorFlow binding is up to date ($pkg $tfjsver on TensorFlow $tfver)"
  exit 0
fi

say "building the native TensorFlow binding: $pkg $tfjsver against TensorFlow $tfver from the Python wheel"
# deps/ is where binding.gyp looks for headers and libraries; the wheel's libtensorflow_cc carries the
# C and eager C APIs the binding calls, libtensorflow_framework the kernels' runtime.
rm -rf "$pkgdir/deps"
mkdir -p "$pkgdir/deps/lib"
ln -s "$tfdir/include" "$pkgdir/deps/include"
ln -s "$tfdir/libtensorflow_cc.so.2" "$pkgdir/deps/lib/libtensorflow_cc.so.2"
ln -s "$tfdir/libtensorflow_framework.so.2" "$pkgdir/deps/lib/libtensorflow_framework.so.2"
ln -s libtensorflow_cc.so.2 "$pkgdir/deps/lib/libtensorflow.so"
ln -s libtensorflow_framework.so.2 "$pkgdir/deps/lib/libtensorflow_framework.so"

ldflags="-Wl,-rpath,$tfdir"
if [ "$FLOE_TF_VARIANT" = gpu ]; then
  # CUDA, cuDNN and friends come as nvidia-* wheels beside tensorflow; TensorFlow dlopens them.
  for d in "$tfdir"/../nvidia/*/lib; do [ -d "$d" ] && ldflags="$ldflags -Wl,-rpath,$(cd "$d" && pwd)"; done
fi

rm -rf "$pkgdir/build" "$pkgdir/lib"
# node-gyp directly (not node-pre-gyp, which would build every N-API version): the variables are the
# ones node-pre-gyp would pass for this Node's N-API version.
LDFLAGS="$ldflags" node_gyp_rebuild "$pkgdir" tfjs-binding-build.log binding \
  --module_name=tfjs_binding --module_path="$pkgdir/lib/napi-v$napi" --napi_build_version="$napi"
[ -f "$binding" ] || { echo "floe: the build finished but $binding is missing" >&2; exit 1; }

# Prove it loads and runs on the native backend before declaring success.
TF_CPP_MIN_LOG_LEVEL=2 node -e "
const tf = require('$pkg');
if (tf.getBackend() !== 'tensorflow') { console.error('backend is ' + tf.getBackend()); process.exit(1); }
const y = tf.conv2d(tf.ones([1, 8, 8, 2]), tf.ones([3, 3, 2, 4]), 1, 'same').sum().dataSync()[0];
if (!(y > 0)) process.exit(1);
console.log('floe: native backend ok: TensorFlow ' + tf.backend().binding.TF_Version);
"
stamp_set tfjs-binding "$key"
