"""A stock Blender binary (the oldest we support is Debian's 3.4) gives the same annotation bytes."""

from __future__ import annotations

import shutil

import pytest

from pipeline.render_dataset import render_dataset
from pipeline.schema import load_params
from tests.support import needs_bpy
from tests.support.params import tiny_params, write_params

BLENDER = shutil.which("blender")

pytestmark = [
    pytest.mark.slow, pytest.mark.blender_binary, needs_bpy,
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
