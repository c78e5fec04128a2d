# The two commands of the README:
#   make all    set up a virtual environment and run the whole pipeline (dvc repro) on the default rigs
#   make test   set up the same environment and run the tests
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: all setup test test-fast lint params-doc preview clean

all: setup
	$(BIN)/dvc repro
	@echo
	@echo "Renders:          data/synthetic/ (images/, annotations.json, meta/), mixed splits: data/mixed/"
	@echo "Model:            models/best.pt, models/last.pt"
	@echo "Metrics:          metrics/sim.json, metrics/real.json  ($(BIN)/dvc metrics show)"
	@echo "                  every split: metrics/eval.json, metrics/per_keypoint.json"
	@echo "The run's page:   metrics/report/index.md (headline, verdict, curves, per-keypoint tables, contact sheets)"
	@echo "Training curves:  dvclive/plots/  ($(BIN)/dvc plots show)"
	@echo "Predictions:      metrics/contact_sheets/ (predictions beside ground truth)"
	@echo "Exported model:   exports/model.onnx (checked with onnxruntime), exports/export.json"
	@echo "Look at renders:  $(BIN)/rig2kp inspect data/synthetic  ->  inspect/synthetic/"
	@echo
	@$(BIN)/python -m pipeline.cli report --input metrics --no-page

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

test: setup lint
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

PY_DIRS := blender common pipeline train tests benchmarks examples docs

lint: setup
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)

params-doc: setup
	$(BIN)/python -m pipeline.project.params_reference --out docs/reference/PARAMS.md

preview: setup
	$(BIN)/rig2kp preview --out preview

clean:
	rm -rf $(VENV)
