# retainkit: `make help` lists every target.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.installed-spark
POSTGRES_STAMP := $(VENV)/.installed-postgres
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(SPARK_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,spark]'
	@touch $(SPARK_STAMP)

$(POSTGRES_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,postgres]'
	@touch $(POSTGRES_STAMP)

install: $(STAMP) ## create .venv and install retainkit with its dev tools
	@echo "retainkit installed in $(VENV)"

browser: ## install Debian's chromium for the browser tests (needs root / apt-get)
	bash scripts/install-chromium.sh

report: $(STAMP) ## run the retention report on the bundled sample data -> reports/
	$(VENV)/bin/retainkit report --data sample --order-id order_id --segment channel --out reports

test: $(SPARK_STAMP) $(POSTGRES_STAMP) browser postgres ## run the whole test suite (unit, notebooks, report, browser, then Spark and PostgreSQL)
	$(PY) -m pytest -n 2 -m "not spark and not postgres" $(PYTEST_ARGS)
	$(PY) -m pytest -m spark $(PYTEST_ARGS)
	$(PY) -m pytest -m postgres $(PYTEST_ARGS)

test-postgres: $(POSTGRES_STAMP) postgres ## the PostgreSQL suite alone (installs the postgres extra; starts a throwaway server)
	$(PY) -m pytest -m postgres $(PYTEST_ARGS)

postgres: ## install Debian's PostgreSQL server for the postgres tests when missing (needs root / apt-get)
	bash scripts/pg-test-cluster.sh install || [ "$${CI:-}" != "true" ]

test-spark: $(SPARK_STAMP) ## the PySpark suite alone (installs the spark extra; needs Java 17)
	$(PY) -m pytest -m spark $(PYTEST_ARGS)

test-fast: $(STAMP) ## unit tests only (no notebook runs, no browser)
	$(PY) -m pytest -n 2 -m "not slow and not browser and not spark and not postgres" $(PYTEST_ARGS)

explore: $(STAMP) ## serve the cohort explorer with Voila on http://127.0.0.1:8866
	$(VENV)/bin/voila notebooks/explore_cohorts.ipynb --no-browser --Voila.ip=127.0.0.1 --port=8866

lab: $(STAMP) ## open JupyterLab on the notebooks
	$(VENV)/bin/jupyter lab notebooks/

bench: $(STAMP) ## run the benchmarks (writes benchmarks/results.md and results_widgets.md; ~15 min)
	$(PY) benchmarks/run.py
	$(PY) benchmarks/bench_widgets.py

bench-postgres: $(POSTGRES_STAMP) postgres ## PostgreSQL: pushed-down aggregation vs pulled rows at 1M and 10M rows (writes its section of benchmarks/results.md)
	$(PY) benchmarks/bench_postgres.py

sample: $(STAMP) ## regenerate the bundled sample data (deterministic)
	$(PY) -m retainkit.datasets

clean: ## remove the venv, caches and generated reports
	rm -rf $(VENV) .pytest_cache .hypothesis build dist *.egg-info
	find reports -mindepth 1 ! -name README.md -exec rm -rf {} +

.PHONY: help install browser postgres report test test-spark test-postgres test-fast explore lab bench bench-postgres sample clean
