# harvester: the README's commands. Every target sets up what it needs (the venv) first.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= config/harvester.toml
STAMP  := $(VENV)/.installed

.PHONY: venv deps run demo test test-fast test-faults check lint typecheck dockerlint bench clean

venv: $(STAMP)

# Re-install when the project metadata changes.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found (need Python >= 3.11; set PYTHON=...)" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

## run: the daemon on the default config (real outlets; Ctrl-C stops it cleanly)
run: venv
	$(BIN)/harvester run --config $(CONFIG)

## demo: harvest a bundled local newsroom (offline) and print its stories, originals, copies
demo: venv
	$(BIN)/harvester demo

## test: the whole test suite incl. the slow tier (local servers only, never the internet)
test: venv deps
	$(BIN)/python -m pytest

## test-faults: the fault-injection tier alone (hostile input, SSRF, disk full, slow hosts)
test-faults: venv deps
	$(BIN)/python -m pytest -m faults

## test-fast: the suite without the slow tier (kill trials)
test-fast: venv deps
	$(BIN)/python -m pytest -m "not slow"

## deps: the PostgreSQL server the tests start privately and Chromium for the browser tests (apt-get, as root, only when missing)
deps:
	@if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1; then \
	  echo "make deps: PostgreSQL server present"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "make deps: PostgreSQL server missing; installing it (apt-get install postgresql)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends postgresql; \
	else \
	  echo "make deps: PostgreSQL server missing and not root, so not installing it:" \
	    "the PostgreSQL tests will be skipped (install it: sudo apt-get install -y postgresql)"; \
	fi
	@if [ -x /usr/bin/chromium ]; then \
	  echo "make deps: Chromium present"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "make deps: Chromium missing; installing it (apt-get install chromium chromium-driver)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends chromium chromium-driver; \
	else \
	  echo "make deps: Chromium missing and not root, so not installing it:" \
	    "the browser tests will fail (install it: sudo apt-get install -y chromium chromium-driver)"; \
	fi

## check: ruff (lint + format), mypy strict on harvester/, hadolint on the Dockerfile
check: lint typecheck dockerlint

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

dockerlint: venv
	$(BIN)/hadolint Dockerfile

## bench: benchmarks over ../shared/data (skipped with a message where it is absent)
bench: venv
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/extract_quality.py
	$(BIN)/python bench/metadata_quality.py
	$(BIN)/python bench/seed_report.py
	$(BIN)/python bench/syndication_quality.py
	$(BIN)/python bench/dedup_index.py --n 100000
	$(BIN)/python bench/crawl_throughput.py
	$(BIN)/python bench/export_archive.py
	$(BIN)/python bench/import_warc.py
	$(BIN)/python bench/wacz_export.py --articles 10000
	$(BIN)/python bench/kill_trials.py --trials 100
	$(BIN)/python bench/template_book.py
	$(BIN)/python bench/soak.py
	$(BIN)/python bench/placement.py
	$(BIN)/python bench/fleet.py
	$(BIN)/python bench/web.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build *.egg-info
