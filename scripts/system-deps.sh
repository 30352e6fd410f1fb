#!/usr/bin/env bash
# Debian packages the test suite needs (browser tests, the independent GDAL reader, real servers).
# Installs only what is missing; apt-get update runs at most once per call.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi dejavu || need+=(fonts-dejavu-core)
command -v gdallocationinfo >/dev/null 2>&1 || need+=(gdal-bin)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)  # the distributed search executor's tests
if ! command -v postgres >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then need+=(postgresql); fi

if [ "${#need[@]}" -eq 0 ]; then
  say "system packages are present"
  exit 0
fi
say "installing Debian packages: ${need[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
