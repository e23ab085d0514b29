# retainkit: `make help` lists every target.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.installed-spark
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,docs]'
	@touch $(STAMP)

$(SPARK_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,spark]'
	@touch $(SPARK_STAMP)

install: $(STAMP) ## create .venv and install retainkit with its dev and docs tools
	@echo "retainkit installed in $(VENV)"

browser: ## install Debian's chromium for the browser tests (needs root / apt-get)
	bash scripts/install-chromium.sh

report: $(STAMP) ## run the retention report on the bundled sample data -> reports/
	$(VENV)/bin/retainkit report --data sample --order-id order_id --segment channel --out reports

lint: $(STAMP) ## ruff (lint and format check) and mypy, as pre-commit runs them
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP) ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: $(SPARK_STAMP) browser ## run the whole test suite (unit, notebooks, report, browser, then Spark)
	$(PY) -m pytest -n 2 -m "not spark" $(PYTEST_ARGS)
	$(PY) -m pytest -m spark $(PYTEST_ARGS)

test-spark: $(SPARK_STAMP) ## the PySpark suite alone (installs the spark extra; needs Java 17)
	$(PY) -m pytest -m spark $(PYTEST_ARGS)

test-fast: $(STAMP) ## unit tests only (no notebook runs, no browser)
	$(PY) -m pytest -n 2 -m "not slow and not browser and not spark" $(PYTEST_ARGS)

docs: $(STAMP) ## build the documentation site into site/ (strict: any warning fails; works offline)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

docs-serve: $(STAMP) ## serve the documentation site on http://127.0.0.1:8000 (rebuilds on change)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve -a 127.0.0.1:8000

explore: $(STAMP) ## serve the cohort explorer with Voila on http://127.0.0.1:8866
	$(VENV)/bin/voila notebooks/explore_cohorts.ipynb --no-browser --Voila.ip=127.0.0.1 --port=8866

lab: $(STAMP) ## open JupyterLab on the notebooks
	$(VENV)/bin/jupyter lab notebooks/

bench: $(STAMP) ## run the benchmarks (writes benchmarks/results.md and results_widgets.md; ~15 min)
	$(PY) benchmarks/run.py
	$(PY) benchmarks/bench_widgets.py

sample: $(STAMP) ## regenerate the bundled sample data (deterministic)
	$(PY) -m retainkit.datasets

clean: ## remove the venv, caches and generated reports
	rm -rf $(VENV) .pytest_cache .hypothesis build dist *.egg-info site
	find reports -mindepth 1 ! -name README.md -exec rm -rf {} +


.PHONY: lint format
.PHONY: help install browser report test test-spark test-fast docs docs-serve explore lab bench sample clean
