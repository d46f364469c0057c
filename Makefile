# Two commands on a fresh machine: `make demo` and `make test`. Each bootstraps .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pipe demo --fresh

test: $(STAMP)
	$(BIN)/python -m ruff check engine tests benchmarks
	$(BIN)/python -m mypy
	HYPOTHESIS_PROFILE=ci $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/python -m ruff check engine tests benchmarks
	$(BIN)/python -m ruff format --check engine tests benchmarks

typecheck: $(STAMP)
	$(BIN)/python -m mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/store.py
	$(BIN)/python benchmarks/dtl.py

clean:
	rm -rf $(VENV) datasets/*.duckdb datasets/*.duckdb.wal datasets/sandbox
