# IntelliShop Analytics. `make demo` and `make test` need only Python 3.11, git and make:
# uv is bootstrapped into .tools/ when it is not on the PATH, and installs the locked environment.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
DBT_FILES := $(shell find dbt_project -path dbt_project/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' \) -print 2>/dev/null)

export UV_PYTHON_DOWNLOADS := never
# Installed packages are byte-compiled once, when uv installs them (by `make install`, or by `uv
# run` rebuilding .venv for another interpreter). Every dbt run, service and test process
# imports thousands of modules, and where Python may not write its cache
# (PYTHONDONTWRITEBYTECODE, a read-only venv) it compiled them at each start: 1.1 s of every
# `dbt build` (docs/benchmarks.md).
export UV_COMPILE_BYTECODE := 1
# The distribution's Python 3.11 when there is one (Debian's and Ubuntu's are built with PGO and
# LTO: the collector takes about 8 % more events per core than on a plain source build, README
# "Which Python"), unless UV_PYTHON names another; else the first Python 3.11 on the PATH.
ifeq ($(origin UV_PYTHON),undefined)
ifneq ($(wildcard /usr/bin/python3.11),)
export UV_PYTHON := /usr/bin/python3.11
endif
endif
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DAGSTER_DISABLE_TELEMETRY := 1
export OPENBLAS_NUM_THREADS := 1

.PHONY: install browser demo test lint format bench clean

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

.venv/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	touch $@

# @dbt_assets reads dbt's manifest when the Dagster code loads: parse whenever a model changes.
dbt_project/target/manifest.json: .venv/.installed $(DBT_FILES)
	cd dbt_project && $(UV) run dbt parse --quiet --profiles-dir . --target local
	touch $@

install: .venv/.installed dbt_project/target/manifest.json

demo: install
	$(UV) run intellishop demo

# The dashboard tests drive Debian's Chromium (a browser download does not work offline).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is not installed: the browser tests will be skipped"; fi; }

# Two workers: half the suite waits on services, browsers and subprocesses rather than the CPU
# (docs/benchmarks.md, "Test suite"); `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= 2

test: install browser
	$(UV) run pytest -n $(TEST_WORKERS)

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy

format: install
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

bench: install
	$(UV) run python benchmarks/ingest.py

clean:
	rm -rf .intellishop dbt_project/target dbt_project/logs
