#!/usr/bin/env bash
# `study report --every month` over the demo study's whole span, in German and English: a PDF
# for every month (issue 15). The default suite makes the first and the last month
# (tests/test_report_every_month.py); this makes all of them, about 50 PDFs: some 30 minutes on
# the shared 2-core machine. Usage: scripts/report-every-month.sh [FOLDER] (default: a
# temporary folder, removed at the end unless given).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
db="$out/demo.db"
[ -e "$db" ] || .venv/bin/study demo --db "$db" >/dev/null
first="$(.venv/bin/python -c "import study.simulate as s, sys; print(s.truth(sys.argv[1])['start'][:7])" "$db")"
months="$(.venv/bin/python -c "
import datetime as dt, sys
from study.periods import iter_periods, last_complete_month
print(len(iter_periods('month', sys.argv[1], last_complete_month(dt.date.today()).end)))" "$first")"
status=0
for lang in de en; do
    .venv/bin/study report --db "$db" --out "$out/reports" --lang "$lang" --quiet \
        --every month --since "$first" >/dev/null || status=1
    pdfs="$(find "$out/reports" -name "study-report-me-*-$lang.pdf" | wc -l)"
    echo "$lang: $pdfs PDFs for $months months since $first"
    [ "$pdfs" -eq "$months" ] || status=1
done
[ -n "${1:-}" ] || rm -rf "$out"
exit $status
