"""Training and measuring: datasets, model, train, evaluate, predict, export (docs/ARCHITECTURE.md)."""

from pipeline.environment import require as _require

_require()  # before torch: a Python without the project's packages runs .venv's, or says what to do
