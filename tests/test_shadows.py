"""background.shadows: a shadow-catching floor puts the objects' shadows on the composited
background, and changes no label."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import binary_dilation

from pipeline.rendering.render_dataset import main as render_main
from pipeline.schema import ParamsError, load_params
from tests.support import needs_bpy
from tests.support.params import tiny_params, write_params
from tests.support.renders import objects_mask


def _render(tmp_path, name: str, shadows: bool) -> tuple[dict, list[np.ndarray], list[np.ndarray]]:
    params = tiny_params(num_images=4, shard_size=4, resolutions=[[128, 96]], samples=8)
    params["render"].update(
        background={
            "hdri": 0,
            "procedural": 1,
            "patterns": ["gradient"],
            "saturation": [0, 0],
            "brightness": [0.8, 0.8],
            "shadows": shadows,
        },
        lights={"count": [1, 1], "types": ["SUN"], "sun_strength": [4, 4], "world_strength": [0.2, 0.2]},
        camera={"elevation_deg": [55, 75], "distance": [0.35, 0.5]},
        distractors={"count": [0, 0]},
    )
    pfile = write_params(tmp_path / f"{name}.yaml", params)
    out = tmp_path / name
    assert render_main(["--params", str(pfile), "--out", str(out)]) == 0
    data = json.loads((out / "annotations.json").read_text())
    images, free = [], []
    for image in data["images"]:
        images.append(np.asarray(Image.open(out / image["file_name"])).astype(float))
        free.append(~binary_dilation(objects_mask(data, image), iterations=2))
    return data, images, free


@needs_bpy
@pytest.mark.slow
def test_shadows_darken_the_background_and_change_no_label(tmp_path):
    plain, plain_px, free = _render(tmp_path, "plain", False)
    shaded, shaded_px, _ = _render(tmp_path, "shaded", True)
    assert shaded["annotations"] == plain["annotations"]  # keypoints, visibility, masks, boxes
    darker, total = 0, 0
    for a, b, f in zip(plain_px, shaded_px, free, strict=True):
        # a shadow only takes light away from the background (sampling noise aside) ...
        assert (b[f] - a[f]).max() <= 3
        darker += int(((a[f] - b[f]).mean(axis=-1) > 0.15 * a[f].mean(axis=-1)).sum())
        total += int(f.sum())
    # ... and there is a shadow: part of the free background is at least 15 % darker
    assert darker > 0.01 * total, (darker, total)


def test_shadows_need_cycles(tmp_path):
    params = tiny_params(engine="BLENDER_EEVEE", background={"shadows": True})
    with pytest.raises(ParamsError, match="background.shadows: expected engine CYCLES"):
        load_params(write_params(tmp_path / "p.yaml", params))
