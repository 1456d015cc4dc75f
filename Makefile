# rmmbridge — the two commands: `make run` (set up and start on SQLite) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint demo bench clean system-deps services

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	@echo "the CLI: . $(VENV)/bin/activate, then rmmbridge --help (or $(BIN)/rmmbridge …)"
	$(BIN)/rmmbridge serve

demo: $(STAMP)
	$(BIN)/rmmbridge demo

# Debian packages the tests need (Chromium for the browser tests), installed when root.
system-deps:
	@bash scripts/system-deps.sh

# PostgreSQL for the PostgreSQL half of the suite: started if installed but stopped.
services:
	@bash scripts/ensure-services.sh

# Browser tests run in their own pytest process: Playwright's sync API keeps an event loop running
# in the main thread, which the async tests of the same session cannot share.
test: $(STAMP) system-deps services
	$(BIN)/python -m pytest -m "not e2e" --durations=30
	$(BIN)/python -m pytest -m e2e

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src/rmmbridge

bench: $(STAMP)
	$(BIN)/python -m bench.ingest --devices 20000 --db sqlite --json

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache
