"""Fixtures shared by the test modules (helpers are in tests/support/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.exr_renders import blender_render_dir, bpy_render_dir


@pytest.fixture(scope="session")
def bpy_render(tmp_path_factory) -> Path:
    """A known scene rendered once per session by the `bpy` package (PNG and EXRs)."""
    return bpy_render_dir(tmp_path_factory)


@pytest.fixture(scope="session")
def blender_render(tmp_path_factory) -> Path:
    """The same scene rendered once per session by a stock `blender` (skips without one)."""
    return blender_render_dir(tmp_path_factory)
