"""pipeline.coco_files.coco helpers, and the drawn datasets of tests/support/coco_data.py."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from common.atomic import write_json
from pipeline.coco_files import coco
from tests.support.coco_data import find_dots, write_dataset


def test_fixture_dots_are_found_where_annotated(tmp_path):
    data = write_dataset(tmp_path, n_images=2)
    for img in data["images"]:
        rgb = cv2.cvtColor(cv2.imread(str(tmp_path / img["file_name"])), cv2.COLOR_BGR2RGB)
        dots = find_dots(rgb)
        for a in (a for a in data["annotations"] if a["image_id"] == img["id"]):
            for k in range(3):
                x, y, _ = dots[3 * a["tag"] + k]
                assert abs(x - a["keypoints"][3 * k]) < 0.05 and abs(y - a["keypoints"][3 * k + 1]) < 0.05


def test_mask_rle_roundtrip_and_box_match_numpy():
    rng = np.random.default_rng(1)
    mask = (rng.random((37, 53)) > 0.7).astype(np.uint8)
    mask[:, :3] = 0
    mask[30:, :] = 0
    rle = coco.encode_mask(mask)
    assert isinstance(rle["counts"], str) and rle["size"] == [37, 53]
    assert np.array_equal(coco.decode_mask(rle, 37, 53), mask)
    ys, xs = np.nonzero(mask)
    bbox, area = coco.rle_bbox_area(rle)
    assert bbox == [xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()]
    assert area == mask.sum()


def test_to_rle_accepts_polygons_and_uncompressed_rle():
    poly = [[10, 5, 30, 5, 30, 25, 10, 25]]  # a 20 x 20 square, corners on pixel edges
    m = coco.decode_mask(poly, 40, 50)
    assert abs(int(m.sum()) - 400) <= 40 and m[15, 20] == 1 and m[0, 0] == 0
    mask = np.zeros((6, 4), np.uint8)
    mask[1:3, 1] = 1  # column-major runs: 7 zeros, 2 ones, 15 zeros
    uncompressed = {"size": [6, 4], "counts": [7, 2, 15]}
    assert np.array_equal(coco.decode_mask(uncompressed, 6, 4), mask)
    assert coco.to_rle(uncompressed, 6, 4) == coco.encode_mask(mask)
    with pytest.raises(ValueError, match="polygons or an RLE"):
        coco.to_rle("nope", 6, 4)


def test_num_visible_counts_labelled_keypoints():
    assert coco.num_visible([1, 2, 2, 0, 0, 0, 5, 5, 1]) == 2


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(coco.DatasetError, match="no such file"):
        coco.load_dataset(tmp_path / "missing")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(coco.DatasetError, match="expected a COCO file annotations.json.*x.json"):
        coco.resolve_json(tmp_path)
    with pytest.raises(coco.DatasetError, match="x.json: expected a list under 'images'"):
        coco.load_json(tmp_path / "x.json")
    write_dataset(tmp_path, n_images=1)
    data, root = coco.load_dataset(tmp_path)
    assert root == tmp_path and len(data["images"]) == 1
    write_json(tmp_path / "out" / "a.json", data)
    assert json.loads((tmp_path / "out" / "a.json").read_text()) == data
