#!/bin/sh
# The command line's fuzz test (tests/test_cli_fuzz.py) with many more hypothesis examples
# than the default suite runs (120): e.g. `scripts/fuzz-cli.sh 5000`. Takes about a minute
# per 1,000 examples on the shared 2-core machine.
set -eu
cd "$(dirname "$0")/.."
STUDY_FUZZ_EXAMPLES="${1:-2000}" exec .venv/bin/python -m pytest tests/test_cli_fuzz.py \
    -q -k arbitrary_text -p no:randomly
