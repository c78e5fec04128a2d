"""train/dataset.py: bad data is refused before training, with the file and key named."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from tests.support.training import toy_data
from train import dataset
from train.dataset import DatasetError, KeypointDataset, check_same_categories, instances, load_split
from train.toyset import CATEGORIES


def _write(tmp_path, anns, cats=None, images=None):
    (tmp_path / "a.png").write_bytes(b"")  # existence is all load_split checks
    data = {
        "images": images or [{"id": 1, "file_name": "a.png", "width": 50, "height": 40}],
        "annotations": anns,
        "categories": cats or CATEGORIES,
    }
    path = tmp_path / "train.json"
    path.write_text(json.dumps(data))
    return path


def _ann(**kw):
    a = {
        "id": 7,
        "image_id": 1,
        "category_id": 1,
        "keypoints": [10, 10, 2, 20, 20, 2, 30, 10, 1],
        "num_keypoints": 3,
        "bbox": [5, 5, 30, 20],
        "area": 300,
        "iscrowd": 0,
    }
    return {**a, **kw}


def test_valid_split_loads_and_pads_keypoints(tmp_path):
    path = _write(tmp_path, [_ann(), _ann(id=8, category_id=2, keypoints=[1, 2, 2] * 4)])
    split = load_split(path)
    labels = split.label_map()
    assert labels.num_keypoints == 4 and labels.num_classes == 3
    inst = instances(split, 1, labels)
    assert inst["keypoints"].shape == (2, 4, 3)
    # the triangle (K = 3) is padded with an unlabelled 4th keypoint
    np.testing.assert_array_equal(inst["keypoints"][0, 3], [0, 0, 0])
    np.testing.assert_array_equal(inst["boxes"][0], [5, 5, 35, 25])  # xywh -> xyxy
    np.testing.assert_array_equal(inst["labels"], [1, 2])


@pytest.mark.parametrize(
    ("ann", "expected"),
    [
        (_ann(category_id=0), "annotations[id=7].category_id: 0 is the background label"),
        (
            _ann(keypoints=[1, 1, 2] * 2),
            "keypoints: 6 values, expected 3 x 3 = 9 numbers [x, y, v] for category 'triangle'",
        ),
        (_ann(bbox=[5, 5, 0, 20]), "bbox: degenerate box [5, 5, 0, 20]"),
        (_ann(bbox=[5, 5, float("nan"), 20]), "bbox: degenerate box"),
        (_ann(image_id=99), "annotations[id=7].image_id: 99 is not an image id"),
        (_ann(keypoints=[1, 1, 3] * 3), "annotations[id=7].keypoints[apex]: v=3, expected 0, 1 or 2"),
    ],
)
def test_bad_annotations_are_named(tmp_path, ann, expected):
    path = _write(tmp_path, [ann])
    with pytest.raises(DatasetError) as err:
        load_split(path)
    assert str(path) in str(err.value) and expected in str(err.value)


def test_sigma_count_must_match_keypoints(tmp_path):
    cats = json.loads(json.dumps(CATEGORIES))
    cats[1]["rig"]["sigmas"] = [0.05, 0.05]
    with pytest.raises(DatasetError, match=r"categories\[id=2\].rig.sigmas: 2 values, expected one per"):
        load_split(_write(tmp_path, [_ann()], cats=cats))


def test_missing_image_file_is_named(tmp_path):
    images = [{"id": 1, "file_name": "nope/b.png", "width": 50, "height": 40}]
    with pytest.raises(DatasetError, match=r"images\[id=1\].file_name: .*nope/b.png not found"):
        load_split(_write(tmp_path, [_ann()], images=images))


def test_every_problem_is_listed_at_once(tmp_path):
    path = _write(tmp_path, [_ann(category_id=0), _ann(id=9, bbox=[0, 0, -1, 2])])
    with pytest.raises(DatasetError, match="2 problem"):
        load_split(path)


def test_model_keypoints_must_match_data(tmp_path):
    split = load_split(_write(tmp_path, [_ann()]))
    cats = json.loads(json.dumps(CATEGORIES))
    cats[0]["keypoints"] = ["a", "b"]
    cats[0]["rig"]["sigmas"] = [0.05, 0.05]
    from train.dataset import LabelMap

    with pytest.raises(DatasetError, match="has 2 keypoints"):
        check_same_categories(split, LabelMap.from_json(cats), "model.pt")


def test_unknown_train_category_is_named(tmp_path):
    split = load_split(_write(tmp_path, [_ann()]))
    with pytest.raises(DatasetError, match=r"train.categories names \['cube'\]"):
        split.label_map(["cube"])
    assert [c.name for c in split.label_map(["quad"]).categories] == ["quad"]


def test_flip_index_swaps_named_pairs():
    from train.dataset import Category

    quad = Category.from_json(CATEGORIES[1])
    # left_top <-> right_top, left_bottom <-> right_bottom; slot 4 is padding
    np.testing.assert_array_equal(quad.flip_index(5), [1, 0, 3, 2, 4])


def test_items_are_uint8_images_with_targets(tmp_path):
    root = toy_data(tmp_path, train=2, val=1, test=1)
    split = load_split(root / "train.json")
    ds = KeypointDataset(split, split.label_map())
    image, target = ds[0]
    im = split.images[0]
    assert image.dtype.is_floating_point is False and image.shape == (3, im["height"], im["width"])
    n = len(split.anns_by_image.get(im["id"], []))
    assert target["boxes"].shape == (n, 4) and target["keypoints"].shape == (n, 4, 3)
    assert int(target["image_id"]) == im["id"]


@pytest.mark.parametrize(
    ("suffix", "size"), [(".jpg", (801, 600)), (".jpg", (800, 600)), (".png", (640, 480)), (".jpg", (600, 801))]
)
def test_fit_loads_at_model_size_with_labels_scaled(tmp_path, suffix, size):
    """Training loads each image at the size the model would resize it to (JPEGs decoded at a
    reduced scale first); a bright dot drawn at the keypoint stays under the scaled keypoint."""
    import cv2

    w, h = size
    cx, cy = round(0.61 * w), round(0.37 * h)  # the dot's centre pixel
    kx, ky = cx + 0.5, cy + 0.5  # ... in continuous coordinates (pixel centres at + 0.5)
    img = np.full((h, w, 3), 40, np.uint8)
    cv2.circle(img, (cx, cy), 9, (255, 255, 255), -1)
    box = [kx - 30, ky - 20, 60, 40]
    ann = _ann(bbox=box, keypoints=[kx, ky, 2, 0, 0, 0, 0, 0, 0], num_keypoints=1)
    path = _write(tmp_path, [ann], images=[{"id": 1, "file_name": f"a{suffix}", "width": w, "height": h}])
    cv2.imwrite(str(tmp_path / f"a{suffix}"), img)
    split = load_split(path)
    full = KeypointDataset(split, split.label_map())[0]
    image, target = KeypointDataset(split, split.label_map(), fit=(150, 200))[0]
    # the size torchvision's own transform would resize to, so the model's resize is the identity
    from torchvision.models.detection.transform import GeneralizedRCNNTransform

    ref = GeneralizedRCNNTransform(150, 200, [0.0] * 3, [1.0] * 3).eval()
    assert image.shape[1:] == ref([torch.zeros(3, h, w)])[0].image_sizes[0]
    assert float(target["scale"][0]) == pytest.approx(image.shape[2] / w)
    sx, sy = image.shape[2] / w, image.shape[1] / h
    np.testing.assert_allclose(target["boxes"][0], full[1]["boxes"][0] * np.float32([sx, sy, sx, sy]), rtol=1e-6)
    kp = target["keypoints"][0]
    np.testing.assert_allclose(kp[0, :2], [kx * sx, ky * sy], rtol=1e-6)
    assert kp[1:].sum() == 0  # unlabelled keypoints stay at 0, 0
    # independent check: the dot's centroid in the loaded pixels is where the keypoint says
    gray = image.numpy().mean(axis=0)
    ys, xs = np.nonzero(gray > 150)
    assert abs(xs.mean() + 0.5 - kp[0, 0]) < 0.3 and abs(ys.mean() + 0.5 - kp[0, 1]) < 0.3


def test_a_failed_read_is_tried_again(tmp_path, monkeypatch):
    """One failed decode of an existing file (seen under full load) does not stop training;
    a file that never decodes still gives a clear error."""
    good = tmp_path / "a.png"
    cv2.imwrite(str(good), np.full((8, 12, 3), 200, np.uint8))
    real, calls = cv2.imread, []

    def flaky(path, flag=cv2.IMREAD_COLOR):
        calls.append(path)
        return None if len(calls) == 1 else real(path, flag)

    monkeypatch.setattr(dataset.cv2, "imread", flaky)
    monkeypatch.setattr(dataset.time, "sleep", lambda s: None)
    assert dataset.read_rgb(good).shape == (8, 12, 3) and len(calls) == 2
    bad = tmp_path / "b.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(DatasetError, match="b.png: cannot be read as an image"):
        dataset.read_rgb(bad)
