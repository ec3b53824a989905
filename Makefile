# The two set-up commands of the README: `make run` and `make test`; and `make bench`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HAUL_HOME ?= $(CURDIR)/.haul
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test bench install install-test lint lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	HAUL_HOME=$(HAUL_HOME) $(BIN)/haul run --host $(HOST) --port $(PORT)

test: install
	./scripts/install-test-deps.sh
	@if [ -z "$$HAUL_TEST_POSTGRES_URL" ] && pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
		export HAUL_TEST_POSTGRES_URL=$(PG_URL); fi; \
	$(BIN)/ruff check src tests bench && $(BIN)/lint-imports && $(BIN)/python -m pytest -q -p no:cacheprovider --durations=15 -n 3 --dist loadfile

# Transfer benchmark (bench/RESULTS.md): installs the servers and peer tools
# (scripts/bench-apt-packages.txt; needs root), then runs the benchmarks
# (bench/many_jobs.py without its PgQueuer peer, which needs PostgreSQL).
# BENCH_ARGS is passed to bench/transfers.py, e.g. BENCH_ARGS="--cases sftp-small --runs 1".
BENCH_ARGS ?= --json bench-transfers.json
bench: install
	./scripts/install-bench-deps.sh $(BIN)
	$(BIN)/python bench/transfers.py $(BENCH_ARGS)
	$(BIN)/python bench/queue_throughput.py --elements 20000 --workers 2
	$(BIN)/python bench/many_jobs.py --jobs 2000 --files 10000

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

# Resolve in a clean throw-away venv, so tools installed by hand don't leak in.
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install -q --upgrade pip && .lockvenv/bin/pip install -q -e '.[test]'
	.lockvenv/bin/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt
	rm -rf .lockvenv

clean:
	rm -rf $(VENV) .haul
