# Two commands do all set-up: `make report` (the main job) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
#: every package, pinned and hashed, for Linux and Python 3.11-3.13 (`make lock` writes it)
LOCK   := requirements/lock.txt

.PHONY: report test test-latest lock versions lint format bench clean venv

venv: $(STAMP)

## The environment is installed from the lock: what CI tested is what the next machine gets.
$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit("study needs Python 3.11 or newer" if sys.version_info < (3, 11) else 0)'
	@echo "==> first run: creating $(VENV) and installing the locked packages from $(LOCK) (about 2 minutes; later runs skip this)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "==> installing $$(grep -c '^[a-z]' $(LOCK)) pinned packages (hashes checked)"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK)
	@echo "==> installing study itself (editable) and its Jupyter kernel"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@$(BIN)/python -m ipykernel install --sys-prefix --name study --display-name "study (.venv)" >/dev/null
	@touch $(STAMP)
	@echo "==> $(VENV) is ready"

## Re-resolve the lock from pyproject's ranges (newest versions they allow), with hashes.
lock: $(STAMP)
	@$(BIN)/python -m uv --version >/dev/null 2>&1 || $(BIN)/python -m pip install --quiet 'uv>=0.9,<1'
	$(BIN)/python -m uv pip compile pyproject.toml requirements/build.in --extra test \
		--universal --python-version 3.11 --generate-hashes --quiet -o $(LOCK)

## Which versions this environment runs (CI prints it before the tests).
versions: $(STAMP)
	@$(BIN)/python scripts/versions.py

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
	@$(BIN)/python scripts/versions.py
	@$(BIN)/python -m compileall -q src >/dev/null
	$(BIN)/ruff format --check src tests bench bench/run scripts
	$(BIN)/ruff check src tests bench bench/run scripts
	$(BIN)/python -m pytest

## The tests that depend most on the numerical libraries, on the newest versions pyproject's
## ranges allow (not the lock): a separate environment, .venv-latest.
test-latest:
	@test -x .venv-latest/bin/python || $(PYTHON) -m venv .venv-latest
	@echo "==> installing the newest versions pyproject allows into .venv-latest"
	@.venv-latest/bin/python -m pip install --quiet --disable-pip-version-check --upgrade --upgrade-strategy eager -e '.[test]'
	@.venv-latest/bin/python scripts/versions.py
	.venv-latest/bin/python -m pytest -q tests/test_analysis_counts.py tests/test_refdata_its.py \
		tests/test_refdata_survival.py tests/test_phreg.py tests/test_analysis_reputation.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench bench/run scripts

format: $(STAMP)
	$(BIN)/ruff format src tests bench scripts
	$(BIN)/ruff check --fix src tests bench scripts

bench: $(STAMP)
	$(BIN)/python -c 'import duckdb, adbc_driver_sqlite' 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run

clean:
	rm -rf $(VENV) .venv-latest .pytest_cache .ruff_cache
