#!/usr/bin/env bash
# System packages the tests need beyond PyPI: poppler-utils (pdftotext, pdftoppm) to read the
# rendered reports. Installs them with apt-get when missing and running as root; otherwise says
# what to install. Idempotent and quiet when everything is there.
set -euo pipefail
missing=()
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} (for the report tests)" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "please install: ${missing[*]} (e.g. sudo apt-get install ${missing[*]})" >&2
    exit 1
fi
