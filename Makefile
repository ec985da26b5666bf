# Two commands do all set-up: `make report` (the main job) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: report test lint format bench clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("study needs Python 3.11 or newer" if sys.version_info < (3, 11) else 0)'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name study --display-name "study (.venv)" >/dev/null
	@touch $(STAMP)

## The main job: the study's report on the embedded default database.
## `--demo-if-empty` runs `study demo` first when the log has no events; prints the PDF's path.
## (compileall: an editable install leaves study's modules uncompiled, and under
## PYTHONDONTWRITEBYTECODE every process, report kernels included, would compile them again)
report: $(STAMP)
	@$(BIN)/python -m compileall -q src >/dev/null
	$(BIN)/study report --demo-if-empty

## Lint and run the whole test suite.
test: $(STAMP)
	bash scripts/ensure-system-deps.sh
	@$(BIN)/python -m compileall -q src >/dev/null
	$(BIN)/ruff format --check src tests bench bench/run
	$(BIN)/ruff check src tests bench bench/run
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench bench/run

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(STAMP)
	$(BIN)/python -c 'import duckdb, adbc_driver_sqlite' 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
