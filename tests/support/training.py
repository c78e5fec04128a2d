"""Toy dataset folders for the train/ tests (drawn, with exact keypoints: train/toyset.py)."""

from __future__ import annotations

from pathlib import Path

from train.toyset import make_toyset


def toy_data(root: Path, train: int = 12, val: int = 4, test: int = 4) -> Path:
    return make_toyset(root, train=train, val=val, test=test, sizes=((96, 96), (96, 72)))
