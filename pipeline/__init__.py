"""Dataset stages: render driver, augment, mix, validate, inspect (docs/ARCHITECTURE.md)."""

from pipeline.environment import require as _require

_require()
