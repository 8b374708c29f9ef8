# The README's two commands: `make demo` and `make test`. CI runs `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lab lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check src tests bench templates notebooks
	$(BIN)/ruff format --check src tests bench templates notebooks
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench templates notebooks
	$(BIN)/ruff format --check src tests bench templates notebooks
	$(BIN)/mypy

typecheck: $(STAMP)
	$(BIN)/mypy

demo: $(STAMP)
	$(BIN)/selfdata demo

lab: $(STAMP)
	$(BIN)/selfdata lab

bench: $(STAMP)
	$(BIN)/python bench/ingest_throughput.py
	$(BIN)/python bench/apple_health_throughput.py
	$(BIN)/python bench/mobility_derive.py
	$(BIN)/python bench/google_records_throughput.py
	$(BIN)/python bench/report_render.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
