"""Schema of the `augment` section (owned by pipeline/augment.py)."""

from __future__ import annotations

from .common import Strict


class AugmentConfig(Strict):
    pass
