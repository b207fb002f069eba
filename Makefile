# Backbeat: `make demo` and `make test` work on a fresh machine with python3, make and git.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export DAGSTER_HOME
export PATH := $(BIN):$(PATH)
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: help setup demo ui docs notebook test test-fast lint clean

help:
	@echo "make demo   set up, generate demo data, materialize the whole graph, print a summary"
	@echo "make ui     Dagster UI on http://127.0.0.1:3000"
	@echo "make docs   dbt docs on http://127.0.0.1:8080"
	@echo "make notebook  JupyterLab on http://127.0.0.1:8888 with notebooks/finance_export.ipynb (after make demo)"
	@echo "make test   set up and run the test suite"
	@echo "make test-fast  the suite without the tests marked slow (about 2 minutes; CI runs everything)"
	@echo "make lint   ruff, the type checker (mypy on the core) and the SQL linter"

# A venv made from an older lock may hold soundfile's pure wheel, which needs a system libsndfile: the
# wheel that bundles it replaces it.
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -c "import _soundfile_data" 2>/dev/null || $(BIN)/pip install --quiet --disable-pip-version-check \
	    --force-reinstall --no-deps --only-binary :all: "$$(grep -m1 '^soundfile==' requirements.lock | cut -d' ' -f1)"
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# Created once and never overwritten (order-only prerequisite, and a guard for a file made meanwhile): an
# existing instance config, such as a production one from deploy/dagster.postgres.yaml, stays as it is.
$(DAGSTER_HOME)/dagster.yaml: | deploy/dagster.local.yaml
	mkdir -p $(DAGSTER_HOME)
	test -e $@ || cp deploy/dagster.local.yaml $@

setup: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/backbeat dbt parse

demo: setup
	$(BIN)/backbeat demo generate
	$(BIN)/backbeat demo run
	$(BIN)/backbeat dbt docs-generate

ui: setup
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

docs: setup
	$(BIN)/backbeat dbt docs-generate
	$(BIN)/backbeat dbt docs-serve --port 8080

# The notebook reads the published finance export of BACKBEAT_DATA_DIR (default data/): Parquet, no DuckDB lock.
notebook: setup
	BACKBEAT_DATA_DIR=$(or $(BACKBEAT_DATA_DIR),$(CURDIR)/data) $(BIN)/jupyter lab --ip=127.0.0.1 --port=8888 \
		--no-browser notebooks/finance_export.ipynb

# Two pytest-xdist workers by default (what CI runs), each test module on one worker (its fixtures run once), the
# longest modules first: the whole suite in 20 min on 2 cores, against 28-37 in one process (TEST_WORKERS=0).
TEST_WORKERS ?= 2
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test: setup
	$(BIN)/pytest -q $(PYTEST_PARALLEL)

# For development: skips the tests marked slow (SLOW_PATHS in tests/conftest.py); CI runs `make test`.
test-fast: setup
	$(BIN)/pytest -q $(PYTEST_PARALLEL) -m "not slow"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd dbt_project && BACKBEAT_DUCKDB_PATH=:memory: $(BIN)/sqlfluff lint models
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .dagster_home data dbt_project/target dbt_project/logs .pytest_cache
