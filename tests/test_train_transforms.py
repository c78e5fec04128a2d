"""train/transforms.py: keypoints and boxes move exactly with the pixels (continuous coordinates)."""

from __future__ import annotations

import numpy as np

from pipeline.schema.train_params import Augmentation
from train.dataset import LabelMap
from train.toyset import CATEGORIES
from train.transforms import TrainAugment

LABELS = LabelMap.from_json(CATEGORIES)  # triangle (K=3), quad (K=4): model K = 4


def _inst(points, label=2, box=(2.0, 3.0, 40.0, 30.0)):
    kps = np.zeros((1, 4, 3), np.float32)
    for j, (x, y, v) in enumerate(points):
        kps[0, j] = (x, y, v)
    return {
        "boxes": np.asarray([box], np.float32),
        "labels": np.asarray([label]),
        "keypoints": kps,
    }


def _centroid(img):
    """Intensity-weighted centre of the bright pixels, in continuous coordinates."""
    w = img[..., 0].astype(np.float64)
    ys, xs = np.mgrid[: img.shape[0], : img.shape[1]]
    return np.array([(w * (xs + 0.5)).sum() / w.sum(), (w * (ys + 0.5)).sum() / w.sum()])


def test_flip_is_exact_and_swaps_pairs():
    aug = TrainAugment(Augmentation(hflip=1, affine=0, color=0), LABELS)
    img = np.zeros((40, 60, 3), np.uint8)
    img[11, 7] = 255  # the pixel whose centre is (7.5, 11.5)
    inst = _inst([(7.5, 11.5, 2), (30.0, 5.0, 2), (30.0, 25.0, 1), (0, 0, 0)])
    out_img, out = aug(img, inst, np.random.default_rng(0))
    # the bright pixel moved to column 60 - 1 - 7 = 52; the continuous flip is x -> 60 - x
    assert tuple(np.argwhere(out_img[..., 0] == 255)[0]) == (11, 52)
    kp = out["keypoints"][0]
    # slot 0 (left_top) now holds the flipped right_top (30 -> 30) and slot 1 the flipped left_top
    np.testing.assert_allclose(kp[0], [30.0, 5.0, 2], atol=1e-4)
    np.testing.assert_allclose(kp[1], [52.5, 11.5, 2], atol=1e-4)
    # left_bottom <-> right_bottom: the unlabelled keypoint stays unlabelled with x = y = 0
    np.testing.assert_allclose(kp[2], [0, 0, 0])
    np.testing.assert_allclose(kp[3], [30.0, 25.0, 1], atol=1e-4)
    np.testing.assert_allclose(out["boxes"][0], [60 - 40, 3, 60 - 2, 30], atol=1e-4)


def test_zoom_and_shift_move_keypoints_with_the_pixels():
    cfg = Augmentation(hflip=0, affine=1, color=0, scale=(0.7, 1.4), translate=0.15)
    aug = TrainAugment(cfg, LABELS)
    for seed in range(5):
        img = np.zeros((64, 80, 3), np.uint8)
        img[30:33, 40:43] = 255  # a 3x3 block centred on (41.5, 31.5)
        inst = _inst([(41.5, 31.5, 2)], box=(40.0, 30.0, 43.0, 33.0))
        out_img, out = aug(img, inst, np.random.default_rng(seed))
        kp = out["keypoints"][0, 0]
        assert kp[2] == 2
        np.testing.assert_allclose(kp[:2], _centroid(out_img), atol=0.25)
        # the box's centre moves with the block too
        box = out["boxes"][0]
        np.testing.assert_allclose([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], kp[:2], atol=0.25)


def test_keypoints_pushed_out_of_the_image_become_unlabelled():
    cfg = Augmentation(hflip=0, affine=1, color=0, scale=(2.0, 2.0), translate=0.0)
    aug = TrainAugment(cfg, LABELS)
    img = np.zeros((40, 40, 3), np.uint8)
    inst = _inst([(20.0, 20.0, 2), (2.0, 2.0, 2), (38.0, 21.0, 1)], box=(1.0, 1.0, 39.0, 39.0))
    _, out = aug(img, inst, np.random.default_rng(0))
    kp = out["keypoints"][0]
    # zoom 2 about the centre (20, 20): (20, 20) stays, the others leave the 40 x 40 canvas
    np.testing.assert_allclose(kp[0], [20.0, 20.0, 2], atol=1e-3)
    np.testing.assert_allclose(kp[1:], 0)
    np.testing.assert_allclose(out["boxes"][0], [0, 0, 40, 40])  # clipped to the image


def test_instances_zoomed_out_of_view_are_dropped():
    cfg = Augmentation(hflip=0, affine=1, color=0, scale=(3.0, 3.0), translate=0.0)
    aug = TrainAugment(cfg, LABELS)
    inst = _inst([(1.0, 1.0, 2)], box=(0.0, 0.0, 4.0, 4.0))
    _, out = aug(np.zeros((60, 60, 3), np.uint8), inst, np.random.default_rng(0))
    assert out["boxes"].shape == (0, 4) and out["keypoints"].shape == (0, 4, 3)


def test_same_seed_same_result_and_decisions_are_independent():
    aug = TrainAugment(Augmentation(), LABELS)
    rng_img = np.random.default_rng(1).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    inst = _inst([(10.0, 10.0, 2)], box=(5.0, 5.0, 20.0, 20.0))
    a = aug(rng_img, inst, np.random.default_rng([0, 3, 7]))
    b = aug(rng_img, inst, np.random.default_rng([0, 3, 7]))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1]["keypoints"], b[1]["keypoints"])
    # flip and zoom are drawn independently (albumentations 2.0.8 alone would tie them):
    # all four combinations occur; x > 16 means flipped, x off 4.5 / 27.5 means zoomed
    inst = _inst([(4.5, 16.5, 2)], label=1, box=(2.0, 14.0, 7.0, 19.0))  # apex: no pair
    combos = set()
    for s in range(60):
        x = aug(rng_img, inst, np.random.default_rng(s))[1]["keypoints"][0, 0, 0]
        combos.add((bool(x > 16), bool(min(abs(x - 4.5), abs(x - 27.5)) > 1e-3)))
    assert combos == {(False, False), (False, True), (True, False), (True, True)}


def _rule_holds(kp: np.ndarray, group) -> bool:
    """The canonical order of docs/guide/symmetry.md, written out: no relabelling is smaller slot by slot."""

    def key(labelling):
        return [(0, y, x) if v > 0 else (1, 0.0, 0.0) for x, y, v in np.round(labelling, 3)]

    return all(key(kp) <= key(kp[list(p)]) for p in group)


def test_a_flip_puts_a_symmetric_rig_back_into_its_canonical_order():
    """The quad declared symmetric under a half turn (corners 0 <-> 2, 1 <-> 3). Its flip pairs swap
    0 <-> 1 and 2 <-> 3, which alone would leave a labelling that breaks the rule; after the flip
    the labels are chosen again by the rule, as the renderer would write them for this view."""
    half_turn = [[0, 1, 2, 3], [2, 3, 0, 1]]
    cats = [
        dict(c, rig={**c["rig"], "symmetry_permutations": half_turn}) if c["name"] == "quad" else c for c in CATEGORIES
    ]
    labels = LabelMap.from_json(cats)
    aug = TrainAugment(Augmentation(hflip=1, affine=0, color=0), labels)
    img = np.zeros((40, 60, 3), np.uint8)
    points = [(10.0, 5.0, 2), (40.0, 28.0, 2), (45.0, 30.0, 2), (12.0, 12.0, 1)]  # canonical: slot 0 above slot 2
    assert _rule_holds(np.array(points), half_turn)
    _, out = aug(img, _inst(points), np.random.default_rng(0))
    kp = out["keypoints"][0].astype(np.float64)
    flipped = np.array([(60 - x, y, v) for x, y, v in points])[[1, 0, 3, 2]]  # mirrored, flip pairs swapped
    assert not _rule_holds(flipped, half_turn)  # so the flip alone is not enough
    assert _rule_holds(kp, half_turn)
    np.testing.assert_allclose(kp, flipped[[2, 3, 0, 1]], atol=1e-4)  # the same points, relabelled in the group
    _, back = aug(img, {**_inst(points), "keypoints": out["keypoints"]}, np.random.default_rng(0))
    np.testing.assert_allclose(back["keypoints"][0], np.array(points), atol=1e-4)  # two flips: the original


def test_symmetric_keypoints_leaving_the_image_are_relabelled_too():
    half_turn = [[0, 1, 2, 3], [2, 3, 0, 1]]
    cats = [
        dict(c, rig={**c["rig"], "symmetry_permutations": half_turn}) if c["name"] == "quad" else c for c in CATEGORIES
    ]
    aug = TrainAugment(
        Augmentation(hflip=0, affine=1, color=0, scale=(1.0, 1.0), translate=0.3), LabelMap.from_json(cats)
    )
    img = np.zeros((40, 60, 3), np.uint8)
    seen_dropped = 0
    for seed in range(30):
        points = [(3.0, 2.0, 2), (40.0, 12.0, 2), (57.0, 38.0, 2), (12.0, 25.0, 2)]
        _, out = aug(img, _inst(points, box=(1.0, 1.0, 59.0, 39.0)), np.random.default_rng(seed))
        if len(out["keypoints"]):
            kp = out["keypoints"][0].astype(np.float64)
            seen_dropped += (kp[:, 2] == 0).any()
            assert _rule_holds(kp, half_turn)
    assert seen_dropped > 3
