# kvsim: `make run` starts a server on 127.0.0.1:6379; `make test` sets up and runs everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench redis-server lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kvserver --port 6379 --bind 127.0.0.1

# redis-server 7.x is the reference the differential tests compare against.
redis-server:
	@if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-benchmark >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null; \
			(service redis-server stop || pkill -x redis-server || true) >/dev/null 2>&1; \
		else \
			echo "redis-server not found: install redis-server and redis-tools (7.x) to run the differential tests"; \
		fi; \
	fi

test: $(STAMP) redis-server
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/python -m ruff check kvcore net sim jepsen_like tests bench

bench: $(STAMP) redis-server
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
