"""The preview contact sheet and the one-command CLI."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pipeline.cli import COMMANDS
from pipeline.cli import main as cli_main
from pipeline.drawing.draw_style import keypoint_color
from tests.support import ROOT, needs_bpy


@needs_bpy
@pytest.mark.slow
def test_preview_draws_each_keypoint_on_real_renders(tmp_path, capsys):
    assert (
        cli_main(
            [
                "preview",
                "--params",
                str(ROOT / "params.yaml"),
                "--rig",
                "glue_tube",
                "--views",
                "2",
                "--size",
                "96",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    # the slots Blender built, in the glue tube's own order (blender/rigging/shapes.py), named for materials:
    assert "glue_tube: material slots body, label, cap (keys of rigs.glue_tube.materials" in capsys.readouterr().out
    sheet = np.asarray(Image.open(tmp_path / "glue_tube.png").convert("RGB"))
    assert sheet.shape[0] >= 96 and sheet.shape[1] >= 2 * 96
    for k in range(2):  # head and tail markers are drawn in their keypoint colours
        assert (np.abs(sheet.astype(int) - keypoint_color(k)).max(axis=2) == 0).any()


def test_preview_rejects_an_unknown_rig(capsys):
    assert cli_main(["preview", "--params", str(ROOT / "params.yaml"), "--rig", "nope"]) == 2
    assert "'nope'" in capsys.readouterr().err


def test_cli_lists_and_dispatches(capsys):
    assert cli_main([]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out
    assert cli_main(["frobnicate"]) == 2
