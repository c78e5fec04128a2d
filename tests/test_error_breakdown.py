"""Visible-against-hidden keypoint errors and left/right swaps (train/error_breakdown.py), checked
on a scene small enough to work out by hand and on the toy set against sums over its annotations."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.support.training import toy_data
from train.coco_eval import coco_from_dict, evaluate_bbox, load_results
from train.dataset import Category, load_split
from train.error_breakdown import describe, error_breakdown
from train.reporting.error_report import breakdown_of_files
from train.reporting.error_report import main as errors_main

PAIR_CATEGORY = {
    "id": 1,
    "name": "pliers",
    "keypoints": ["left_tip", "right_tip", "pivot"],
    "skeleton": [],
    "rig": {"sigmas": [0.05, 0.05, 0.05], "flip_pairs": [["left_tip", "right_tip"]]},
}


def _scene(predicted: list[list[float]]) -> tuple[dict, list[dict]]:
    """One 30 x 40 px box (diagonal 50 px): left_tip seen at (10, 10), right_tip hidden at (30, 10),
    pivot seen at (20, 40); `predicted` the detection's three (x, y)."""
    gt = {
        "images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 64}],
        "categories": [PAIR_CATEGORY],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [5, 5, 30, 40],
                "area": 1200,
                "iscrowd": 0,
                "num_keypoints": 3,
                "keypoints": [10, 10, 2, 30, 10, 1, 20, 40, 2],
            }
        ],
    }
    kp = [c for x, y in predicted for c in (x, y, 1)]
    return gt, [{"image_id": 1, "category_id": 1, "bbox": [5, 5, 30, 40], "score": 0.9, "keypoints": kp}]


def _breakdown(gt: dict, results: list[dict]) -> dict:
    coco = coco_from_dict(gt)
    res = load_results(coco, results)
    return error_breakdown(coco, res, evaluate_bbox(coco, res), [Category.from_json(c) for c in gt["categories"]])


def test_a_scene_worked_out_by_hand():
    # left_tip 5 px off (3-4-5): 10 % of the 50 px diagonal; pivot exact; right_tip (hidden) 20 px off
    e = _breakdown(*_scene([[13, 14], [30, 30], [20, 40]]))["pliers"]
    assert (e["instances"], e["matched"]) == (1, 1)
    assert e["visible"] == {"keypoints": 2, "median_px": 2.5, "median_of_diagonal": 0.05, "pck@0.1": 1.0}
    assert e["hidden"] == {"keypoints": 1, "median_px": 20.0, "median_of_diagonal": 0.4, "pck@0.1": 0.0}
    # own labels: 5 + 20 = 25 px; crossed: |(30,30)-(10,10)| + |(13,14)-(30,10)| = 28.3 + 17.5 > 25
    assert e["left_right"] == {
        "pairs": 1,
        "swapped": 0.0,
        "by_pair": {"left_tip/right_tip": {"pairs": 1, "swapped": 0.0}},
    }


def test_tips_predicted_the_wrong_way_round_count_as_swapped():
    e = _breakdown(*_scene([[31, 11], [9, 10], [20, 40]]))["pliers"]
    assert e["left_right"]["swapped"] == 1.0 and e["left_right"]["pairs"] == 1
    assert e["visible"]["median_of_diagonal"] > 0.2  # the swap shows as error too


def test_an_unlabelled_keypoint_or_an_unmatched_detection_counts_nowhere():
    gt, results = _scene([[10, 10], [30, 10], [20, 40]])
    gt["annotations"][0]["keypoints"][5] = 0  # right_tip not labelled: no pair, no hidden keypoint
    e = _breakdown(gt, results)["pliers"]
    assert e["hidden"]["keypoints"] == 0 and e["hidden"]["median_px"] is None
    assert e["left_right"]["pairs"] == 0 and e["left_right"]["swapped"] is None
    results[0]["bbox"] = [40, 40, 10, 10]  # box IoU 0: matched to nothing
    e = _breakdown(gt, results)["pliers"]
    assert (e["instances"], e["matched"]) == (1, 0)
    assert e["visible"]["keypoints"] == 0 and e["left_right"]["pairs"] == 0
    assert describe({"pliers": e}) == [
        "pliers: 0 of 1 matched; no visible keypoints; no hidden keypoints; no left/right pair labelled"
    ]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = toy_data(tmp_path_factory.mktemp("toy"), train=2, val=24, test=2)
    return root, load_split(root / "val.json")


def _predictions(data: dict) -> list[dict]:
    """Each annotation's own keypoints, its hidden ones moved 10 px (6, 8) and the top pair of every
    other quad exchanged."""
    out = []
    for n, a in enumerate(data["annotations"]):
        kp = np.asarray(a["keypoints"], np.float64).reshape(-1, 3)
        kp[kp[:, 2] == 1, :2] += (6, 8)
        if a["category_id"] == 2 and n % 2:
            kp[[0, 1]] = kp[[1, 0]]
        kp[:, 2] = 1
        out.append({"image_id": a["image_id"], "category_id": a["category_id"], "bbox": list(a["bbox"]),
                    "score": 1.0, "keypoints": kp.ravel().tolist()})  # fmt: skip
    return out


def test_toy_set_against_sums_over_its_annotations(toy, tmp_path):
    root, val = toy
    results = _predictions(val.data)
    got = _breakdown(val.data, results)
    for cat in val.label_map().categories:
        anns = [(n, a) for n, a in enumerate(val.data["annotations"]) if a["category_id"] == cat.id]
        v = np.concatenate([np.asarray(a["keypoints"]).reshape(-1, 3)[:, 2] for _, a in anns])
        e = got[cat.name]
        assert e["instances"] == e["matched"] == len(anns)
        assert e["hidden"]["keypoints"] == int((v == 1).sum()) > 0, "the toy set has hidden corners"
        if cat.id != 2:  # nothing exchanged: the visible keypoints are exact, the hidden 10 px off
            assert e["visible"] == {"keypoints": int((v == 2).sum()), "median_px": 0.0,
                                    "median_of_diagonal": 0.0, "pck@0.1": 1.0}  # fmt: skip
            assert e["hidden"]["median_px"] == pytest.approx(10.0)
            continue
        # the quad's top pair: swapped exactly where this test exchanged it, both corners labelled
        kp = {n: np.asarray(a["keypoints"]).reshape(-1, 3) for n, a in anns}
        both = [n for n in kp if kp[n][0, 2] > 0 and kp[n][1, 2] > 0]
        top = e["left_right"]["by_pair"]["left_top/right_top"]
        assert top["pairs"] == len(both) and top["swapped"] == pytest.approx(np.mean([n % 2 for n in both]))
        assert 0 < top["swapped"] < 1
        assert e["left_right"]["by_pair"]["left_bottom/right_bottom"]["swapped"] in (0.0, None)

    # the command reads the same from files, and refuses results that name another rig
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps(results))
    assert breakdown_of_files(root / "val.json", pred) == got
    assert (
        errors_main(["--gt", str(root / "val.json"), "--predictions", str(pred), "--json", str(tmp_path / "b.json")])
        == 0
    )
    written = json.loads((tmp_path / "b.json").read_text())
    assert written["rigs"] == got and written["written_by"] == "rig2kp errors"
    assert written["predictions"] == str(pred)
    # its own file again is replaced; a file it did not write, or a folder, is refused untouched
    assert (
        errors_main(["--gt", str(root / "val.json"), "--predictions", str(pred), "--json", str(tmp_path / "b.json")])
        == 0
    )
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": 1}')
    for target in (notes, tmp_path):
        assert errors_main(["--gt", str(root / "val.json"), "--predictions", str(pred), "--json", str(target)]) == 2
    assert notes.read_text() == '{"mine": 1}'
    pred.write_text(json.dumps([{**results[0], "category_id": 99}]))
    with pytest.raises(Exception, match=r"pred.json: category_id \[99\] not among"):
        breakdown_of_files(root / "val.json", pred)
    pred.write_text(json.dumps([{k: v for k, v in results[0].items() if k != "keypoints"}]))
    with pytest.raises(Exception, match=r"pred.json: result 0 has no keypoints or bbox"):
        breakdown_of_files(root / "val.json", pred)
    assert errors_main(["--gt", str(tmp_path / "none.json"), "--predictions", str(pred)]) != 0
    # --json over an input would destroy it: refused, the file left as it was
    pred.write_text(json.dumps(results))
    before = (root / "val.json").read_bytes()
    assert errors_main(["--gt", str(root / "val.json"), "--predictions", str(pred),
                        "--json", str(root / "val.json")]) != 0  # fmt: skip
    assert (root / "val.json").read_bytes() == before
