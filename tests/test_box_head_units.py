"""examples/pretrained/box_head_units.py: the dead-unit count that diagnoses a collapsed box branch."""

from __future__ import annotations

import importlib.util

import torch

from pipeline.schema.train_params import ModelConfig
from tests.support import ROOT
from tests.support.params import TINY_MODEL
from train.network.model import build_model

spec = importlib.util.spec_from_file_location("box_head_units", ROOT / "examples" / "pretrained" / "box_head_units.py")
box_head_units = importlib.util.module_from_spec(spec)
spec.loader.exec_module(box_head_units)


def test_units_that_no_roi_can_switch_on_count_as_dead_and_the_others_fire():
    torch.manual_seed(0)
    model, _, _ = build_model(ModelConfig.model_validate(TINY_MODEL), num_classes=2, num_keypoints=2)
    model.eval()
    fc6 = model.roi_heads.box_head.fc6
    with torch.no_grad():  # units 0-9 can never be positive: zero weights, a negative bias
        fc6.weight[:10] = 0
        fc6.bias[:10] = -1.0
    images = [torch.rand(3, 96, 96, generator=torch.Generator().manual_seed(i)) for i in range(2)]
    act = box_head_units.unit_activity(model, images)
    assert act["fc6"].shape == (TINY_MODEL["box_head_dim"],)
    assert (act["fc6"][:10] == 0).all()
    assert (act["fc6"][10:] > 0).sum() > 50  # a freshly built head fires on about half its units
    assert ((act["fc6"] >= 0) & (act["fc6"] <= 1)).all()
    # the hooks are removed: a later forward pass records nothing more
    assert not model.roi_heads.box_head.fc6._forward_hooks
