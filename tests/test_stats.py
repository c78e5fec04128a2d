"""pipeline/coco_files/stats.py: the one stats vocabulary, against numbers counted by hand."""

from __future__ import annotations

import json

import pytest

from pipeline.coco_files.stats import box_sizes, dataset_stats
from tests.support.coco_data import tiny_coco, write_dataset


def test_stats_match_hand_counts():
    s = dataset_stats(tiny_coco())
    assert (s["images"], s["instances"], s["negatives"], s["crowd"]) == (3, 4, 1, 0)
    # image 3 (real) holds nothing; images 1 and 2 (synthetic) two instances each
    assert s["sources"] == {
        "real": {"images": 1, "instances": 0, "negatives": 1},
        "synthetic": {"images": 2, "instances": 4, "negatives": 0},
    }
    assert s["instances_per_image"]["counts"] == {"0": 1, "1": 0, "2": 2}
    assert s["instances_per_image"]["mean"] == pytest.approx(4 / 3)
    assert s["instances_per_image"]["max"] == 2
    tri = s["categories"]["tri"]
    assert (tri["id"], tri["instances"]) == (1, 3)
    # a: seen in 1 and 2, not labelled in 3; b: hidden, seen, v=0; c: v=0, seen, hidden
    vis = tri["visibility"]
    assert vis["a"] == pytest.approx({"v0": 1 / 3, "v1": 0, "v2": 2 / 3})
    assert vis["b"] == pytest.approx({"v0": 1 / 3, "v1": 1 / 3, "v2": 1 / 3})
    assert vis["c"] == pytest.approx({"v0": 1 / 3, "v1": 1 / 3, "v2": 1 / 3})
    assert tri["keypoints_per_instance"] == {"0": 0, "1": 1, "2": 1, "3": 1}
    dot = s["categories"]["dot"]
    assert dot["instances"] == 1 and dot["visibility"]["p"] == {"v0": 0, "v1": 0, "v2": 1}
    assert dot["keypoints_per_instance"] == {"0": 0, "1": 1}
    # sqrt(area): 20, 40, 100, and 10 from bbox 10x10 (no area field)
    assert sorted(box_sizes(tiny_coco())) == pytest.approx([10, 20, 40, 100])
    box = s["box_size"]
    assert (box["small"], box["medium"], box["large"]) == (2, 1, 1)
    assert (box["min"], box["median"], box["mean"], box["max"]) == pytest.approx((10, 30, 42.5, 100))
    # annotation 4 says 0 keypoints with v > 0 but has one, at x = 70 in a 64 px wide image, and
    # its box [60, 0, 10, 10] reaches x = 70; annotation 3 keeps (12, 7) for a v = 0 keypoint
    assert s["checks"] == {
        "num_keypoints_mismatch": 1,
        "keypoints_outside_image": 1,
        "v0_with_xy": 1,
        "boxes_outside_image": 1,
    }


def test_an_empty_category_has_no_rates_and_names_that_repeat_get_their_id():
    coco = tiny_coco()
    coco["categories"].append({"id": 3, "name": "none", "keypoints": ["q"]})
    coco["categories"].append({"id": 4, "name": "dot", "keypoints": ["p"]})
    cats = dataset_stats(coco)["categories"]
    assert cats["none"]["instances"] == 0 and cats["none"]["visibility"]["q"] == {"v0": None, "v1": None, "v2": None}
    assert sorted(cats) == ["dot#2", "dot#4", "none", "tri"]


def test_a_clean_dataset_departs_from_nothing_and_its_stats_are_plain_json_numbers(tmp_path):
    data = write_dataset(tmp_path, n_images=3)
    s = dataset_stats(data)
    assert s["checks"] == dict.fromkeys(s["checks"], 0) and len(s["checks"]) == 4
    assert s["instances"] == 6 and s["categories"]["thing"]["keypoints_per_instance"]["3"] == 6

    def leaves(x):
        if isinstance(x, dict):
            for v in x.values():
                yield from leaves(v)
        else:
            yield x

    # dvc metrics show lists numbers of nested dicts: no lists, no strings
    assert all(v is None or isinstance(v, int | float) for v in leaves(json.loads(json.dumps(s))))
