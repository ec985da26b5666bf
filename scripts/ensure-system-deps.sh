#!/usr/bin/env bash
# System packages the tests need beyond PyPI, installed from Debian's archive when missing.
# One line per package in PACKAGES: "debian-package  how-to-tell-it-is-there". `make test` runs
# this first; it needs root to install (CI is root on Debian), otherwise it says what to install.
# Idempotent and quiet when everything is there.
set -euo pipefail

have_pg_server() { command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; }
have() { command -v "$1" >/dev/null 2>&1; }

PACKAGES=(
    "postgresql     have_pg_server"   # the real server for the PostgreSQL tests (initdb, pg_ctl)
    "poppler-utils  have pdftotext"   # pdftotext, pdftoppm: the report tests read the PDFs
)

missing=()
for line in "${PACKAGES[@]}"; do
    read -r pkg check <<<"$line"
    $check || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} (for the tests)" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "please install: ${missing[*]} (e.g. sudo apt-get install ${missing[*]})" >&2
    exit 1
fi
