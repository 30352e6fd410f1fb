# Shared helpers for Floe's set-up, launch and test scripts. Sourced, not run.
set -euo pipefail

FLOE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export FLOE_ROOT
VENV="$FLOE_ROOT/.venv"
STAMPS="$FLOE_ROOT/.floe-setup"
mkdir -p "$STAMPS"

# Debian ships Node's headers: native addons (better-sqlite3, the tfjs binding) build without a header download.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ]; then export npm_config_nodedir=/usr; fi

# The TensorFlow build tfjs uses: cpu (default) or gpu. Chosen by FLOE_TF_VARIANT at set-up;
# the choice is remembered in .floe-setup/tf-variant so later commands use the same build.
if [ -z "${FLOE_TF_VARIANT:-}" ] && [ -f "$STAMPS/tf-variant" ]; then
  FLOE_TF_VARIANT="$(cat "$STAMPS/tf-variant")"
fi
FLOE_TF_VARIANT="${FLOE_TF_VARIANT:-cpu}"
case "$FLOE_TF_VARIANT" in
  cpu | gpu) ;;
  *) echo "floe: FLOE_TF_VARIANT must be 'cpu' or 'gpu', not '$FLOE_TF_VARIANT'" >&2; exit 2 ;;
esac
export FLOE_TF_VARIANT

say() { printf '\033[1mfloe:\033[0m %s\n' "$*"; }

# node_gyp_rebuild DIR LOG WHAT [ARG...]: `node-gyp rebuild` in DIR against Debian's Node headers
# when present (no header download), its output in .floe-setup/LOG; on failure, shows the log's
# tail, says WHAT failed and exits. Environment such as LDFLAGS passes through to the build.
node_gyp_rebuild() {
  local dir=$1 log=$2 what=$3
  shift 3
  local nodedir_args=()
  [ -f /usr/include/node/node_api.h ] && nodedir_args=(--nodedir=/usr)
  (cd "$dir" && "$FLOE_ROOT/node_modules/.bin/node-gyp" rebuild --jobs=2 "${nodedir_args[@]}" "$@" >"$STAMPS/$log" 2>&1) \
    || { tail -30 "$STAMPS/$log" >&2; echo "floe: $what build failed (log: .floe-setup/$log)" >&2; exit 1; }
}

# stamp_ok NAME KEY: true when step NAME last completed with the same KEY.
stamp_ok() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp_set() { printf '%s' "$2" > "$STAMPS/$1"; }

# hash_files FILE...: one digest over the contents of the given files (missing files count as empty).
hash_files() { for f in "$@"; do [ -f "$f" ] && cat "$f"; echo "--$f"; done | sha256sum | cut -c1-16; }

# hash_tree DIR...: one digest over every source file under the given folders.
hash_tree() {
  find "$@" -type f \( -name '*.ts' -o -name '*.tsx' -o -name '*.json' -o -name '*.css' -o -name '*.js' -o -name '*.py' -o -name '*.toml' \) \
    -not -path '*/node_modules/*' -not -path '*/dist/*' -not -path '*/lib/*' -not -path '*/labextension/*' -not -name '*.tsbuildinfo' \
    -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-16
}
