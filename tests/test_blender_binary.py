"""A stock Blender binary (the oldest we support is Debian's 3.4) gives the same annotation bytes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from pipeline.rendering.render_dataset import render_dataset
from pipeline.schema import load_params
from tests.support import ROOT, needs_bpy
from tests.support.params import tiny_params, write_params

BLENDER = shutil.which("blender")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.blender_binary,
    needs_bpy,
    pytest.mark.skipif(BLENDER is None, reason="no `blender` binary on PATH (e.g. apt-get install blender)"),
]


def test_stock_blender_and_bpy_package_write_identical_annotations(tmp_path):
    pfile = write_params(tmp_path / "params.yaml", tiny_params(num_images=3, shard_size=3))
    params = load_params(pfile)
    render_dataset(params, pfile, tmp_path / "binary", workers=1, blender=BLENDER, progress=False)
    render_dataset(params, pfile, tmp_path / "package", workers=1, progress=False)
    a = (tmp_path / "binary" / "annotations.json").read_bytes()
    assert a == (tmp_path / "package" / "annotations.json").read_bytes()
    assert b'"keypoints"' in a


def test_stock_blender_without_numpy_says_what_to_install(tmp_path):
    """Debian's Blender uses the system's Python; without python3-numpy it stops with one line."""
    import subprocess

    from pipeline.rendering.blender_runner import BLENDER_SCRIPT

    expr = (
        "import runpy, sys; sys.modules['numpy'] = None; "  # as if python3-numpy were not installed
        f"sys.argv = ['render.py', '--spec', 'x.json', '--out', 'y']; runpy.run_path({str(BLENDER_SCRIPT)!r})"
    )
    done = subprocess.run(
        [BLENDER, "--background", "--factory-startup", "--python-expr", expr],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
    assert errors == [
        "error: this Blender's Python has no numpy; install it for that Python (Debian/Ubuntu: "
        "`apt install python3-numpy`), or use the bpy package (pip install bpy)"
    ], done.stderr[-2000:]
    assert not list(tmp_path.iterdir())  # nothing written


def test_mesh_info_reads_the_same_vertices_through_a_stock_blender(tmp_path):
    """`rig2kp mesh-info --blender BIN` gives the package's facts, and its errors as one line."""

    def mesh_info(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "pipeline.authoring.mesh_info", "examples/pen/pen.obj", "--json", *args]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)

    package, binary = (json.loads(mesh_info(*extra).stdout) for extra in ([], ["--blender", BLENDER]))
    package.pop("blender"), binary.pop("blender")  # the versions may differ; nothing else may
    assert binary == package
    proc = mesh_info("--blender", BLENDER, "--object", "cap")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no mesh object 'cap'" in proc.stderr
