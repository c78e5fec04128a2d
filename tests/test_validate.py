"""validate: every problem is reported with the id it concerns; exit status follows errors."""

from __future__ import annotations

import json
import shutil

from PIL import Image

from pipeline.inspection import validate
from tests.support.coco_data import write_dataset


def test_clean_dataset_has_no_problems(tmp_path, capsys):
    write_dataset(tmp_path, n_images=2)
    assert validate.validate_path(tmp_path) == []
    assert validate.main([str(tmp_path / "annotations.json")]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out


def test_every_problem_is_named(tmp_path, capsys):
    data = write_dataset(tmp_path, n_images=3)
    a = data["annotations"]
    a[0]["num_keypoints"] = 2  # 1001
    a[1]["keypoints"][2] = 3  # 1002: v=3
    a[2]["keypoints"][:3] = [500.0, 10.0, 2]  # 2001: outside a 120x90 image
    a[2]["num_keypoints"] = 3
    a[3]["keypoints"][5] = 0  # 2002: v=0 with x, y kept
    a[3]["num_keypoints"] = 2
    a[4]["bbox"][0] += 5  # 3001: box off its mask
    a[5]["id"] = a[4]["id"]  # duplicate id 3001
    a[5]["area"] = 0
    a.append({**a[0], "id": 9, "image_id": 77})
    a.append({**a[0], "id": 10, "num_keypoints": 3, "segmentation": {"size": [10, 10], "counts": "PPYo1"}})
    a.append({**a[0], "id": 11, "keypoints": [1, 2, 2]})
    data["categories"][0]["skeleton"].append([1, 4])
    data["categories"][0]["rig"]["flip_pairs"].append(["left_a", "tail"])
    data["images"][1]["file_name"] = "images/missing.png"
    Image.new("RGB", (10, 10)).save(tmp_path / data["images"][2]["file_name"])
    (tmp_path / "annotations.json").write_text(json.dumps(data))
    problems = [p.line() for p in validate.validate_path(tmp_path)]
    expected = [
        "error: annotations.json: annotations[id=1001].num_keypoints: 2, but 3 keypoints have v > 0",
        "error: annotations.json: annotations[id=1002].keypoints[left_a]: v=3, expected 0, 1 or 2",
        "error: annotations.json: annotations[id=2001].keypoints[left_a]: v=2 but (500.0, 10.0) is outside",
        "warning: annotations.json: annotations[id=2002].keypoints[right_a]: v=0 but (x, y) = (",
        "warning: annotations.json: annotations[id=3001].bbox: [",
        "error: annotations.json: annotations[id=3001].id: 3001: expected an integer >= 0 that no other",
        "error: annotations.json: annotations[id=3001].area: 0: expected a positive number",
        "error: annotations.json: annotations[id=9].image_id: 77 is not an image id",
        "error: annotations.json: annotations[id=10].segmentation: size [10, 10], expected the image's [90, 120]",
        "error: annotations.json: annotations[id=11].keypoints: 3 values, expected 3 x 3 = 9 numbers",
        "error: annotations.json: categories[id=1].skeleton[2]: expected a pair of 1-based keypoint indices",
        "error: annotations.json: categories[id=1].rig.flip_pairs: ['left_a', 'tail']",
        "error: annotations.json: images[id=2].file_name: " + str(tmp_path / "images/missing.png") + " not found",
        "error: annotations.json: images[id=3].file_name: " + str(tmp_path / "images/sub/000002.png") + " is 10x10,"
        " the annotations say 120x90",
    ]
    for e in expected:
        assert any(p.startswith(e) for p in problems), (e, problems)
    assert len(problems) == len(expected)
    assert validate.main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "12 error(s), 2 warning(s)" in out
    no_images = validate.validate_path(tmp_path, check_images=False)
    assert len(no_images) == len(expected) - 2


def test_split_files_share_ids_consistently(tmp_path):
    data = write_dataset(tmp_path, n_images=2)
    (tmp_path / "train.json").write_text(json.dumps(data))
    (tmp_path / "val.json").write_text(
        json.dumps({**data, "images": [{**data["images"][0], "file_name": data["images"][1]["file_name"]}]})
    )
    (tmp_path / "annotations.json").unlink()
    problems = [p.line() for p in validate.validate_path(tmp_path)]
    assert any("val.json: images[id=1]: id also used in train.json" in p for p in problems)
    shutil.rmtree(tmp_path / "images")
    assert validate.main([str(tmp_path / "nothing")]) == 2


def test_flip_pairs_that_augment_would_refuse_are_errors_here(tmp_path):
    """A keypoint in two pairs is well formed but no mirror image can mean it: the validator says so
    with the rig model's own words, before augment or an export stops on it mid-run."""
    data = write_dataset(tmp_path, n_images=1)
    cat = data["categories"][0]
    cat["rig"]["flip_pairs"] = [["left_a", "right_a"], ["right_a", "mid"]]
    (tmp_path / "annotations.json").write_text(json.dumps(data))
    problems = [p.line() for p in validate.validate_path(tmp_path)]
    key = "error: annotations.json: categories[id=1].rig.flip_pairs: "
    assert problems == [
        key + "a keypoint is in two pairs ('right_a' in [['left_a', 'right_a'], ['right_a', 'mid']]); "
        f"expected disjoint left/right pairs of rig {cat['name']!r}"
    ]
