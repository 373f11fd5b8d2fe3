# The two commands a fresh machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test test-sqlite test-postgres lint migrate check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	ACTIONS_CONFIG=$${ACTIONS_CONFIG:-examples/actions.yml} $(BIN)/python -m bot

migrate: $(STAMP)
	$(BIN)/python -m bot migrate

check: $(STAMP)
	ACTIONS_CONFIG=$${ACTIONS_CONFIG:-examples/actions.yml} $(BIN)/python -m bot check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Whole suite on SQLite, then again on PostgreSQL.
test: $(STAMP) lint test-sqlite test-postgres

test-sqlite: $(STAMP)
	$(BIN)/pytest

test-postgres: $(STAMP)
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-$(PG_URL)} $(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info

# Benchmarks (not part of `make test`): tables on stdout, JSON in bench/results/.
# BENCH_QUICK=1 for a shorter run; BENCH_BOT_REF=HEAD measures a snapshot of a commit.
bench: $(STAMP)
	BENCH_PG_URL=$${BENCH_PG_URL:-$(PG_URL)} $(BIN)/python -m bench

# Fault suite: bounded failures around a real bot process; fails if a run is lost.
faults: $(STAMP)
	BENCH_PG_URL=$${BENCH_PG_URL:-$(PG_URL)} $(BIN)/python -m bench.faults

.PHONY: bench faults
