"""Shared fixtures: small params files for fast renders, and the real-photo folder when present."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
REAL_GLUE_TUBES = ROOT.parent / "shared" / "data" / "glue_tubes_real"
HAS_BPY = importlib.util.find_spec("bpy") is not None

needs_bpy = pytest.mark.skipif(not HAS_BPY, reason="needs the bpy package (pip install bpy==5.0.*)")


def write_params(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def shipped_box() -> dict:
    """The box rig of examples/box (8 corners, flip pairs): the tests render it beside the tube."""
    return yaml.safe_load((ROOT / "examples" / "box" / "params.yaml").read_text())["rigs"]


def tiny_params(num_images: int = 4, **render_overrides) -> dict:
    """The shipped rigs (params.yaml's glue tube + examples/box) at thumbnail size and few samples:
    a real render in about a second an image."""
    data = yaml.safe_load((ROOT / "params.yaml").read_text())
    data = {"seed": 7, "rigs": {**data["rigs"], **shipped_box()}}
    data["render"] = {"num_images": num_images, "resolutions": [[96, 72], [64, 80]], "samples": 4,
                      "denoise": False, "shard_size": 2, "workers": 1, "min_visible_px": 10,
                      **render_overrides}
    return data


def built_example(params: Path, tmp_path: Path) -> Path:
    """An example's params in a copy of its folder, with the files its `make_*.py` scripts build
    (e.g. examples/pliers/build/pliers.blend, which Git ignores) made there first."""
    folder = tmp_path / params.parent.name
    shutil.copytree(params.parent, folder, ignore=shutil.ignore_patterns("build"))
    for script in sorted(folder.glob("make_*.py")):
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return folder / params.name
