"""Schema of the `mix` section (owned by pipeline/mix.py)."""

from __future__ import annotations

from .common import Strict


class MixConfig(Strict):
    pass
