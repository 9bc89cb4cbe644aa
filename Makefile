# Two commands on a fresh machine: `make run` serves Charter, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= .charter
HOST ?= 127.0.0.1
PORT ?= 8080
PIP := $(BIN)/python -m pip install --quiet --constraint constraints.txt

.PHONY: run test lint typecheck pytest test-fast browser screenshots bench bench-http bench-scaling bench-secrets bench-gateway bench-approvals migration clean

# The console's tests drive a real Chromium: Debian's package, installed here if missing
# (as root, or through sudo). CHARTER_CHROMIUM names another binary instead.
CHROMIUM ?= $(or $(CHARTER_CHROMIUM),$(shell command -v chromium || command -v chromium-browser))

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The compiled core (setup.py) is built from the policy modules' sources: installing again
# when they change keeps the extensions Python imports in step with the .py files.
CORE_SOURCES := setup.py $(wildcard src/charter/policy/*.py src/charter/policy/*.pxd)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt $(CORE_SOURCES)
	$(PIP) --editable ".[server,gateway]"
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) --editable ".[server,dev]"
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed-dev
	$(PIP) --editable ".[server,dev,bench]"
	touch $@

## run: initialise ./.charter (first time: prints the admin token) and serve on :8080 (with the MCP gateway installed)
run: $(VENV)/.installed
	$(BIN)/charter init --data-dir $(DATA_DIR) --demo --policy examples/policies --if-missing \
		--admin-token-file $(DATA_DIR)/admin.token
	$(BIN)/charter serve --data-dir $(DATA_DIR) --host $(HOST) --port $(PORT)

## test: lint, type-check and run the whole test suite
test: lint typecheck pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

pytest: $(VENV)/.installed-dev browser
	$(BIN)/pytest

## browser: install Debian's chromium for the console's browser tests, if it is missing
browser:
	@if [ -n "$(CHROMIUM)" ]; then exit 0; fi; \
	echo "installing Debian's chromium for the console's browser tests"; \
	SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
		|| { echo "could not install chromium: install it (apt-get install chromium) or set CHARTER_CHROMIUM" >&2; exit 1; }

## screenshots: run the browser tests and keep their screenshots in docs/img/console
screenshots: $(VENV)/.installed-dev browser
	CHARTER_SCREENSHOTS=1 $(BIN)/pytest -q tests/browser

## test-fast: the inner loop: lint, types and the tests that need no PostgreSQL and start no server
test-fast: lint typecheck
	env -u CHARTER_TEST_POSTGRES_URL $(BIN)/pytest -q -m "not live and not postgres"

## bench: measure embedded decisions and the peer engines; writes docs/benchmarks.md
bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench.policy

## bench-http: decisions over HTTP (real server, SQLite and PostgreSQL); writes its section of docs/benchmarks.md
bench-http: $(VENV)/.installed-bench
	$(BIN)/python -m bench.http

## bench-scaling: decisions with 1 and 3 replicas on one PostgreSQL, one audit log against one shard per replica; writes its section of docs/benchmarks.md
bench-scaling: $(VENV)/.installed-bench
	$(BIN)/python -m bench.scaling

## bench-gateway: what the MCP gateway adds to a tool call, next to a direct call; writes its section of docs/benchmarks.md
bench-gateway: $(VENV)/.installed-bench
	$(BIN)/python -m bench.gateway

## bench-approvals: what the server adds to one approval round trip (open, vote, allowed request); writes its section of docs/benchmarks.md
bench-approvals: $(VENV)/.installed-bench
	$(BIN)/python -m bench.approvals

## bench-secrets: charter.secrets against detect-secrets on both secrets corpora and on harmless real text; writes its section of docs/benchmarks.md
bench-secrets: $(VENV)/.installed-bench
	$(BIN)/python -m bench.secrets_corpus --check
	$(BIN)/python -m bench.secrets_wild --check
	$(BIN)/python -m bench.secrets

## migration: write the next migration from what schema.py has and the migrations lack (MESSAGE="...")
migration: $(VENV)/.installed-dev
	@test -n "$(MESSAGE)" || { echo 'usage: make migration MESSAGE="what it changes"'; exit 2; }
	$(BIN)/python -c 'import sys, tempfile, pathlib; from charter.storage.sql.migrate import new_revision; \
		written = new_revision(sys.argv[1], pathlib.Path(tempfile.mkdtemp())); \
		print(written or "schema.py and the migrations agree: nothing to write")' "$(MESSAGE)"
	$(BIN)/ruff format --quiet src/charter/storage/migrations/versions

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
