# Two commands on a fresh machine: `make run` serves Charter, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= .charter
HOST ?= 127.0.0.1
PORT ?= 8080
PIP := $(BIN)/python -m pip install --quiet --constraint constraints.txt

.PHONY: run test lint typecheck pytest bench bench-http bench-secrets clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) --editable .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) --editable ".[dev]"
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed-dev
	$(PIP) --editable ".[dev,bench]"
	touch $@

## run: initialise ./.charter (first time: prints the admin token) and serve on :8080
run: $(VENV)/.installed
	$(BIN)/charter init --data-dir $(DATA_DIR) --demo --policy examples/policies --if-missing \
		--admin-token-file $(DATA_DIR)/admin.token
	$(BIN)/charter serve --data-dir $(DATA_DIR) --host $(HOST) --port $(PORT)

## test: lint, type-check and run the whole test suite
test: lint typecheck pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

pytest: $(VENV)/.installed-dev
	$(BIN)/pytest

## bench: measure embedded decisions and the peer engines; writes docs/benchmarks.md
bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench.policy

## bench-http: decisions over HTTP (real server, SQLite and PostgreSQL); writes its section of docs/benchmarks.md
bench-http: $(VENV)/.installed-bench
	$(BIN)/python -m bench.http

## bench-secrets: charter.secrets against detect-secrets on both secrets corpora and on harmless real text; writes its section of docs/benchmarks.md
bench-secrets: $(VENV)/.installed-bench
	$(BIN)/python -m bench.secrets_corpus --check
	$(BIN)/python -m bench.secrets_wild --check
	$(BIN)/python -m bench.secrets

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
