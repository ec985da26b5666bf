#!/usr/bin/env bash
# System packages the test suite needs, installed from Debian's archive when missing.
# One package a line in PACKAGES; `make test` runs this first. Needs root (CI is root on Debian);
# as another user it only reports what is missing, and the tests that need it fail saying so.
set -euo pipefail

PACKAGES=(
    postgresql          # the real server for the PostgreSQL tests (initdb, pg_ctl) and its clients
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "ensure-system-deps: missing ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
    exit 0
fi
echo "ensure-system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
