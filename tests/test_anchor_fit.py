"""The anchors' fit to the train boxes, checked against torchvision's own anchors and IoU."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.ops import box_iou

from train.network.anchor_fit import (
    GOOD_FIT,
    anchor_fit,
    anchor_fit_line,
    anchor_shapes,
    best_shape_iou,
    model_boxes,
    suggest_anchors,
)

SHIPPED = ([[16], [32], [64], [128]], [0.5, 1.0, 2.0])
FITTED = ([[16, 23], [32, 45], [64, 91], [128, 181]], [0.25, 0.5, 1.0, 2.0, 4.0])


def torchvision_anchors(sizes, ratios, image=192, strides=(8, 16, 32, 64)) -> torch.Tensor:
    """Every anchor torchvision lays over an image of `image` pixels, one level per stride."""
    gen = AnchorGenerator(tuple(tuple(s) for s in sizes), (tuple(ratios),) * len(sizes))
    feats = [torch.zeros(1, 1, image // s, image // s) for s in strides]
    images = ImageList(torch.zeros(1, 3, image, image), [(image, image)])
    return gen(images, feats)[0]


@pytest.mark.parametrize("sizes, ratios", [SHIPPED, FITTED])
def test_shapes_are_torchvisions(sizes, ratios):
    ours = anchor_shapes(sizes, ratios)
    a = torchvision_anchors(sizes, ratios)
    theirs = torch.unique(torch.stack([a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]], 1), dim=0).numpy()
    assert len(ours) == len(theirs) == sum(len(s) for s in sizes) * len(ratios)
    # torchvision rounds its anchors' corners to whole pixels
    for w, h in ours:
        assert np.abs(theirs - (w, h)).max(axis=1).min() <= 1.0


def test_best_shape_iou_by_hand():
    shapes = anchor_shapes([[32]], [0.25, 1.0])  # 64 x 16 and 32 x 32
    got = best_shape_iou(np.array([[64, 16], [64, 64], [40, 20]]), shapes)
    # a 4:1 box on the 4:1 anchor; 64 x 64 holds the 32 x 32 anchor (1024 / 4096); 40 x 20 against
    # 32 x 32 (inter 640, union 800 + 1024 - 640) beats 64 x 16 (inter 640, union 800 + 1024 - 640)
    assert got == pytest.approx([1.0, 0.25, 640 / 1184])


@pytest.mark.parametrize("sizes, ratios", [SHIPPED, FITTED])
def test_centred_boxes_match_torchvisions_best_anchor(sizes, ratios):
    """A box centred on a grid point of every level: its best IoU over all of torchvision's
    anchors is the best shape IoU."""
    anchors = torchvision_anchors(sizes, ratios)
    rng = np.random.default_rng(0)
    wh = np.stack([rng.uniform(8, 180, 40), rng.uniform(8, 180, 40)], 1)
    boxes = torch.tensor(np.concatenate([128 - wh / 2, 128 + wh / 2], 1), dtype=torch.float32)
    theirs = box_iou(boxes, anchors).max(dim=1).values.numpy()
    ours = best_shape_iou(wh, anchor_shapes(sizes, ratios))
    assert ours == pytest.approx(theirs, abs=0.03)  # torchvision rounds its corners: +-0.5 px on 11 px


def test_model_boxes_scale_and_skip_empty():
    """At min_size 192 / max_size 256: a 256 px square image shrinks to 192 (x 0.75), a 512 x 256
    one to 256 x 128 (x 0.5, capped by its longer side)."""
    images = [{"id": 1, "width": 256, "height": 256}, {"id": 2, "width": 512, "height": 256}]
    anns = {1: [{"bbox": [0, 0, 100, 40]}, {"bbox": [5, 5, 0, 0]}], 2: [{"bbox": [0, 0, 64, 64]}]}
    got = model_boxes(images, anns, 192, 256)
    assert got == pytest.approx(np.array([[75, 30], [32, 32]]))


def test_fit_line_warns_only_when_few_boxes_fit():
    tubes = np.array([[80, 20], [20, 80], [60, 15], [90, 30]] * 5, dtype=float)  # long and thin, 3:1 to 4:1
    poor = anchor_fit_line(anchor_fit(tubes, *SHIPPED))
    good = anchor_fit_line(anchor_fit(tubes, *FITTED))
    assert poor.startswith("anchors: 0% of 20 train boxes") and "warning: few boxes fit" in poor
    assert "model.aspect_ratios: [0.25, 0.5, 1, 2, 4] fit 100%" in poor
    assert good.startswith("anchors: 100% of 20 train boxes") and "warning" not in good
    assert anchor_fit_line(anchor_fit(np.zeros((0, 2)), *SHIPPED)) == "anchors: no boxes in train.json to fit"


def centred_iou_share(wh: np.ndarray, sizes, ratios) -> float:
    """The share of boxes, centred on a grid point, that torchvision's own anchors meet at IoU >= 0.7."""
    boxes = torch.tensor(np.concatenate([128 - wh / 2, 128 + wh / 2], 1), dtype=torch.float32)
    best = box_iou(boxes, torchvision_anchors(sizes, ratios)).max(dim=1).values.numpy()
    return float((best >= 0.7).mean())


@pytest.mark.parametrize("shape", ["tubes", "squares"])
def test_suggestion_fits_torchvisions_anchors(shape):
    """Long tubes in both orientations want 4:1 shapes; near-squares of every size want more sizes
    per level and need no other shape. Either way torchvision's own anchors from the suggestion
    meet nine boxes in ten, where the shipped ones meet fewer than half."""
    rng = np.random.default_rng(1)
    side = rng.uniform(14, 120, 200)
    if shape == "tubes":
        long = rng.uniform(3, 4.5, 200)
        wh = np.stack([side, side / long], 1)
        wh[::2] = wh[::2, ::-1]  # half of them upright
    else:
        wh = np.stack([side, side * rng.uniform(0.85, 1.15, 200)], 1)
    sizes, ratios, share = suggest_anchors(wh, SHIPPED[0])
    assert centred_iou_share(wh, *SHIPPED) < 0.5
    assert share >= GOOD_FIT
    assert centred_iou_share(wh, sizes, ratios) == pytest.approx(share, abs=0.03)
    assert len({len(level) for level in sizes}) == 1  # torchvision's RPN head: as many anchors per level
    assert [level[0] for level in sizes] == [16, 32, 64, 128]
    if shape == "tubes":
        assert min(ratios) <= 0.25 and max(ratios) >= 4
    else:
        assert ratios == [1.0]
