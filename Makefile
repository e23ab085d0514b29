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
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,docs]'
	@touch $(STAMP)

$(SPARK_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,spark]'
	@touch $(SPARK_STAMP)

$(POSTGRES_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,postgres]'
	@touch $(POSTGRES_STAMP)

install: $(STAMP) ## create .venv and install retainkit with its dev and docs tools
	@echo "retainkit installed in $(VENV)"

browser: ## install Debian's chromium and fonts-noto-core for the browser tests (needs root / apt-get)
	bash scripts/install-chromium.sh

cron: ## install Debian's cron, whose crontab checks the documented crontab lines (needs root / apt-get)
	sh scripts/install-cron.sh

report: $(STAMP) ## run the retention report on the bundled sample data -> reports/
	$(VENV)/bin/retainkit report --data sample --order-id order_id --segment channel --out reports

lint: $(STAMP) ## ruff (lint and format check) and mypy, as pre-commit runs them
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP) ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: $(SPARK_STAMP) $(POSTGRES_STAMP) browser postgres cron lint ## run the whole test suite (lint, unit, notebooks, report, browser, docs, then Spark and PostgreSQL)
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

docs: $(STAMP) ## build the documentation site into site/ (strict: any warning fails; works offline)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

docs-serve: $(STAMP) ## serve the documentation site on http://127.0.0.1:8000 (rebuilds on change)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve -a 127.0.0.1:8000

explore: $(STAMP) ## serve the cohort explorer with Voila on http://127.0.0.1:8866 (offline template)
	JUPYTER_PATH=$(CURDIR)/share/jupyter $(VENV)/bin/voila notebooks/explore_cohorts.ipynb --template=retainkit \
		--no-browser --Voila.ip=127.0.0.1 --port=8866

lab: $(STAMP) ## open JupyterLab on the notebooks
	$(VENV)/bin/jupyter lab notebooks/

handouts: $(STAMP) ## render the workshop notebooks and slides as offline HTML -> build/handouts/ (~2 min)
	$(PY) -m retainkit.workshop.handouts --notebooks notebooks/workshop --out build/handouts
	$(PY) -m retainkit.workshop.handouts --notebooks notebooks/workshop --out build/handouts --solutions

bench: $(STAMP) ## run the benchmarks (writes benchmarks/results.md and results_widgets.md; ~15 min)
	$(PY) benchmarks/run.py
	$(PY) benchmarks/bench_widgets.py

bench-postgres: $(POSTGRES_STAMP) postgres ## PostgreSQL: pushed-down aggregation vs pulled rows at 1M and 10M rows (writes its section of benchmarks/results.md)
	$(PY) benchmarks/bench_postgres.py
LOCALES := el hy
POT := retainkit/locale/retainkit.pot
i18n: $(STAMP) ## extract marked strings to retainkit.pot, update the el/hy catalogues, compile-check them
	$(VENV)/bin/pybabel extract -F babel.cfg -o $(POT) --project retainkit --version 0.1.0 \
	    --copyright-holder "retainkit developers" --msgid-bugs-address "" --no-location --sort-output \
	    --add-comments TRANSLATORS: -k N_ --no-wrap .
	@for l in $(LOCALES); do $(VENV)/bin/pybabel update -i $(POT) -d retainkit/locale -D retainkit -l $$l \
	    --ignore-obsolete --init-missing --no-wrap --ignore-pot-creation-date || exit 1; done
	@for l in $(LOCALES); do mkdir -p build/locale/$$l/LC_MESSAGES; \
	    $(VENV)/bin/pybabel compile --statistics -D retainkit -l $$l -i retainkit/locale/$$l/LC_MESSAGES/retainkit.po \
	        -o build/locale/$$l/LC_MESSAGES/retainkit.mo || exit 1; done
	@echo "catalogues in retainkit/locale/ (read as .po at run time); translate every empty or fuzzy entry"

sample: $(STAMP) ## regenerate the bundled sample data (deterministic)
	$(PY) -m retainkit.datasets

clean: ## remove the venv, caches and generated reports
	rm -rf $(VENV) .pytest_cache .hypothesis build dist *.egg-info site
	find reports -mindepth 1 ! -name README.md -exec rm -rf {} +

.PHONY: help install browser postgres cron lint format report test test-spark test-postgres test-fast docs docs-serve explore lab handouts bench bench-postgres i18n sample clean
