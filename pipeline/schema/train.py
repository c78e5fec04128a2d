"""Schema of the `train`, `model` and `evaluate` sections (owned by train/)."""

from __future__ import annotations

from .common import Strict


class TrainConfig(Strict):
    pass


class ModelConfig(Strict):
    pass


class EvaluateConfig(Strict):
    pass
