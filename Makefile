# The two commands of the README:
#   make all    set up a virtual environment and run the whole pipeline (dvc repro) on the default rigs
#   make test   set up the same environment and run the tests
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: all setup test test-fast lint preview clean

all: setup
	$(BIN)/dvc repro
	@echo
	@echo "Renders:      data/synthetic/ (images/, annotations.json, meta/, stats.json)"
	@echo "Look at them: $(BIN)/rig2kp inspect data/synthetic  ->  data/synthetic/inspect/"

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

test: setup
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check blender pipeline train tests benchmarks

preview: setup
	$(BIN)/rig2kp preview --out preview

clean:
	rm -rf $(VENV)
