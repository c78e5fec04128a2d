"""Objects at the model's input (train/reporting/object_scale.py): the sizes by hand, the capped
frames against torchvision's own resize, and the note evaluate prints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.models.detection.transform import GeneralizedRCNNTransform

from train.reporting.object_scale import capped_share, median_object_px, scale_note


def test_median_object_size_by_hand():
    # sqrt(w x h): 6, 4 and 10 px
    assert median_object_px(np.array([[4, 9], [16, 1], [10, 10]])) == pytest.approx(6.0)
    assert median_object_px(np.zeros((0, 2))) is None


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1080, 1920), (256, 256), (256, 192), (400, 224)])
@pytest.mark.parametrize(("min_size", "max_size"), [(192, 256), (192, 342), (224, 400)])
def test_a_frame_is_capped_exactly_where_torchvision_leaves_its_short_side_below_min_size(
    width, height, min_size, max_size
):
    resize = GeneralizedRCNNTransform(min_size, max_size, [0.0] * 3, [1.0] * 3)
    out = resize.resize(torch.zeros(3, height, width), None)[0]
    short = min(out.shape[-2:])
    assert capped_share([{"width": width, "height": height}], min_size, max_size) == float(short < min_size - 1)


def test_the_shipped_sizes_cap_a_16_9_frame_and_342_does_not():
    frames = [{"width": 1920, "height": 1080}, {"width": 1080, "height": 1920}, {"width": 256, "height": 256}]
    assert capped_share(frames, 192, 256) == pytest.approx(2 / 3)
    assert capped_share(frames, 192, 342) == 0.0


def test_the_note_names_the_cause_and_the_key_to_change():
    assert scale_note("real", 50, 62, 1.0, 192, 256) is None  # 0.81x: within the augment's range
    assert scale_note("real", 37, None, 1.0, 192, 256) is None  # an older checkpoint: nothing to compare
    capped = scale_note("test (real)", 37.2, 62.3, 1.0, 192, 256)
    assert "0.60x the train images' 62 px" in capped and "model.max_size 256 caps 100%" in capped
    assert "min_size x 16/9 = 342" in capped
    small = scale_note("test (real)", 37.2, 62.3, 0.0, 192, 342)
    assert "raise model.min_size" in small and "max_size" not in small
    large = scale_note("test (real)", 100, 62, 0.0, 192, 342)
    assert "1.61x" in large and "lower model.min_size" in large
