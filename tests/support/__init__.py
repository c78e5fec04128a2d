"""What the tests share: params, typed render specs, drawn COCO datasets, real-export fixtures, renders, training.

Fixtures live in tests/conftest.py; helpers here are plain functions and constants. No test
module imports another.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REAL_GLUE_TUBES = ROOT.parent / "shared" / "data" / "glue_tubes_real"
HAS_BPY = importlib.util.find_spec("bpy") is not None

needs_bpy = pytest.mark.skipif(not HAS_BPY, reason="needs the bpy package (pip install bpy==5.0.*)")
needs_real_photos = pytest.mark.skipif(
    not REAL_GLUE_TUBES.is_dir(), reason="real glue tube photos not present (../shared/data)"
)
