"""Dataset stages (render driver, preview, augment, mix, validate, inspect, export-dataset, mesh-info,
dvc-deps) and the libraries they share; docs/ARCHITECTURE.md has a line for every module."""

from pipeline.environment import require as _require

_require()
