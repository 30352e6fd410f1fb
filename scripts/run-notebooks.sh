#!/usr/bin/env bash
# Executes notebooks headless with the Floe TypeScript kernel; fails if any cell errors.
# Usage: bash scripts/run-notebooks.sh [notebook.ipynb ...]   (default: every notebook in notebooks/)
# Writes executed copies to test-results/notebooks/ and a line per notebook to test-results/notebooks.tsv.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$FLOE_ROOT"

out="$FLOE_ROOT/test-results/notebooks"
mkdir -p "$out"
: > "$FLOE_ROOT/test-results/notebooks.tsv"
# Notebooks share one project store, as a user running them in order would: FLOE_HOME when the caller
# gives one (scripts/test.sh does, and opens the browser tests on it), else a throwaway one.
export FLOE_HOME="${FLOE_HOME:-$(mktemp -d /tmp/floe-nb-XXXXXX)}"
export FLOE_SIZE="${FLOE_SIZE:-quick}"

if [ "$#" -gt 0 ]; then notebooks=("$@"); else notebooks=(notebooks/*.ipynb); fi
failed=0
for nb in "${notebooks[@]}"; do
  name="$(basename "$nb" .ipynb)"
  start=$(date +%s)
  if "$VENV/bin/jupyter" nbconvert --to notebook --execute "$nb" \
      --ExecutePreprocessor.kernel_name=floe-typescript --ExecutePreprocessor.timeout=900 \
      --output-dir "$out" --output "$name" >"$out/$name.log" 2>&1; then
    say "notebook $name: passed ($(( $(date +%s) - start )) s)"
    printf '%s\tpassed\n' "$name" >> "$FLOE_ROOT/test-results/notebooks.tsv"
  else
    failed=1
    say "notebook $name: FAILED ($(( $(date +%s) - start )) s)"
    tail -30 "$out/$name.log" >&2
    printf '%s\tfailed\n' "$name" >> "$FLOE_ROOT/test-results/notebooks.tsv"
  fi
done
exit "$failed"
