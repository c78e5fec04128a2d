"""Online training augmentation: horizontal flip (swapping flip pairs), zoom + shift, colour.

A symmetric rig's keypoints are put back into the canonical order of its symmetry after every
geometric change (common/symmetry.py), as the renderer wrote them: a flipped image is a view of
the object like any other, so its labels follow the same image-space rule.

Coordinates are continuous pixels (pixel (i, j) covers [i, i+1) x [j, j+1)). albumentations
(and cv2.warpAffine under it) map pixel *centres*: its keypoint frame is ours minus 0.5, which
also makes its flip x -> (W - 1) - x the exact continuous flip x -> W - x. Boxes travel as their
corner points through the same maps, so boxes and keypoints can never disagree.

albumentations 2.0.8 seeds every child of a Compose with the same seed, so the children's
"apply or not" draws are identical; each decision here is drawn from our own per-item generator
and each transform gets its own seed.
"""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np

from common import symmetry
from pipeline.schema.train_params import Augmentation
from train.dataset import LabelMap

MIN_BOX_PX = 2.0  # a box clipped to a thinner sliver than this is dropped with its keypoints


def _compose(*transforms) -> A.Compose:
    kp = A.KeypointParams(format="xy", remove_invisible=False)
    return A.Compose(list(transforms), keypoint_params=kp)


class TrainAugment:
    """(image HxWx3 uint8, instances, rng) -> (image, instances); see `dataset.instances`."""

    def __init__(self, cfg: Augmentation, labels: LabelMap):
        self.cfg = cfg
        k = labels.num_keypoints
        # label -> permutation of the K keypoint slots after a flip (index 0 unused: background)
        self.flip_index = [np.arange(k)] + [c.flip_index(k) for c in labels.categories]
        # label -> (the category's K, its symmetry group) for symmetric rigs
        self.groups = {lab: (c.num_keypoints, c.symmetry) for lab, c in enumerate(labels.categories, 1) if c.symmetry}
        affine = A.Affine(
            scale=(cfg.scale.min, cfg.scale.max),
            translate_percent=(-cfg.translate, cfg.translate),
            keep_ratio=True,
            border_mode=cv2.BORDER_CONSTANT,
            fill=0,
            p=1.0,
        )
        flip = A.HorizontalFlip(p=1.0)
        self.geometric = {
            (False, True): _compose(affine),
            (True, False): _compose(flip),
            (True, True): _compose(flip, affine),
        }
        self.color = A.Compose([A.ColorJitter(cfg.brightness, cfg.contrast, cfg.saturation, cfg.hue, p=1.0)])

    def __call__(self, image: np.ndarray, inst: dict, rng: np.random.Generator):
        flip = bool(rng.random() < self.cfg.hflip)
        affine = bool(rng.random() < self.cfg.affine)
        color = bool(rng.random() < self.cfg.color)
        geo_seed, color_seed = (int(s) for s in rng.integers(0, 2**31 - 1, size=2))
        if flip or affine:
            image, inst = self._geometric(image, inst, flip, affine, geo_seed)
        if color:
            self.color.set_random_seed(color_seed)
            image = self.color(image=image)["image"]
        return image, inst

    def _geometric(self, image, inst, flip, affine, seed):
        boxes, kps = inst["boxes"], inst["keypoints"]
        n, k = kps.shape[:2]
        x1, y1, x2, y2 = boxes.T
        corners = np.stack([x1, y1, x2, y1, x1, y2, x2, y2], axis=1).reshape(-1, 2)
        points = np.concatenate([kps[..., :2].reshape(-1, 2), corners]).astype(np.float64)
        t = self.geometric[(flip, affine)]
        t.set_random_seed(seed)
        out = t(image=image, keypoints=points - 0.5)
        image = out["image"]
        moved = np.asarray(out["keypoints"], np.float64)[:, :2] + 0.5
        h, w = image.shape[:2]

        new_kps = kps.copy()
        new_kps[..., :2] = moved[: n * k].reshape(n, k, 2)
        inside = (new_kps[..., 0] >= 0) & (new_kps[..., 0] < w) & (new_kps[..., 1] >= 0) & (new_kps[..., 1] < h)
        lost = (kps[..., 2] == 0) | ~inside
        new_kps[lost] = 0.0  # DATA_FORMAT: v = 0 means x = y = 0
        if flip:
            for i, lab in enumerate(inst["labels"]):
                new_kps[i] = new_kps[i][self.flip_index[lab]]
        for i, lab in enumerate(inst["labels"]):  # a flip, or keypoints leaving the image, can break the
            if int(lab) in self.groups:  # canonical order of a symmetric rig: choose it again
                kc, group = self.groups[int(lab)]
                new_kps[i, :kc] = symmetry.canonical(new_kps[i, :kc], group)[0]

        c = moved[n * k :].reshape(n, 4, 2)
        new_boxes = np.concatenate([c.min(axis=1), c.max(axis=1)], axis=1)
        new_boxes[:, [0, 2]] = new_boxes[:, [0, 2]].clip(0, w)
        new_boxes[:, [1, 3]] = new_boxes[:, [1, 3]].clip(0, h)
        keep = (new_boxes[:, 2] - new_boxes[:, 0] >= MIN_BOX_PX) & (new_boxes[:, 3] - new_boxes[:, 1] >= MIN_BOX_PX)
        return image, {
            "boxes": new_boxes[keep].astype(np.float32),
            "labels": inst["labels"][keep],
            "keypoints": new_kps[keep].astype(np.float32),
        }
