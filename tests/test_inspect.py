"""Stats against hand-counted numbers on a tiny dataset; the CLI on it and on real photos."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from pipeline.draw import keypoint_color
from pipeline.inspect import (
    DatasetError,
    compute_stats,
    load_coco,
    main,
    resolve_json,
    select_images,
)
from tests.support import REAL_GLUE_TUBES

REAL = REAL_GLUE_TUBES
W, H = 64, 48


def rle_rect(rows: slice, cols: slice) -> dict:
    m = np.zeros((H, W), np.uint8)
    m[rows, cols] = 1
    rle = mask_utils.encode(np.asfortranarray(m))
    return {"size": rle["size"], "counts": rle["counts"].decode()}


def tiny_coco() -> dict:
    """3 images (one empty), 2 categories, 4 instances; test numbers are counted by hand."""
    return {
        "images": [
            {
                "id": 1,
                "file_name": "imgs/sub/a.png",
                "width": W,
                "height": H,
                "source": "synthetic",
            },
            {"id": 2, "file_name": "imgs/b.png", "width": W, "height": H, "source": "synthetic"},
            {"id": 3, "file_name": "c.png", "width": W, "height": H, "source": "real"},
        ],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "keypoints": [10.5, 20.5, 2, 40.5, 20.5, 1, 0, 0, 0],
                "num_keypoints": 2,
                "bbox": [5, 15, 40, 10],
                "area": 400.0,
                "segmentation": rle_rect(slice(15, 25), slice(5, 45)),
                "iscrowd": 0,
            },
            {
                "id": 2,
                "image_id": 1,
                "category_id": 1,
                "keypoints": [30.5, 30.5, 2, 35.5, 35.5, 2, 50.5, 40.5, 2],
                "num_keypoints": 3,
                "bbox": [28, 28, 25, 15],
                "area": 1600.0,
                "segmentation": [[28, 28, 53, 28, 53, 43, 28, 43]],
                "iscrowd": 0,
            },
            {
                "id": 3,
                "image_id": 2,
                "category_id": 1,
                "keypoints": [0, 0, 0, 12.0, 7.0, 0, 20.5, 10.5, 1],
                "num_keypoints": 1,
                "bbox": [0, 0, 64, 48],
                "area": 10000.0,
                "iscrowd": 0,
            },
            {
                "id": 4,
                "image_id": 2,
                "category_id": 2,
                "keypoints": [70.0, 5.0, 2],
                "num_keypoints": 0,
                "bbox": [60, 0, 10, 10],
                "iscrowd": 0,
            },
        ],
        "categories": [
            {
                "id": 1,
                "name": "tri",
                "supercategory": "x",
                "keypoints": ["a", "b", "c"],
                "skeleton": [[1, 2], [2, 3]],
            },
            {"id": 2, "name": "dot", "supercategory": "x", "keypoints": ["p"], "skeleton": []},
        ],
    }


def write_dataset(folder: Path, coco: dict | None = None, name: str = "annotations.json") -> Path:
    coco = coco or tiny_coco()
    rng = np.random.default_rng(0)
    for img in coco["images"]:
        path = folder / img["file_name"]
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 60, (H, W, 3), dtype=np.uint8)).save(path)
    (folder / name).write_text(json.dumps(coco))
    return folder / name


def test_stats_match_hand_counts():
    s = compute_stats(tiny_coco())
    assert (s["num_images"], s["num_annotations"], s["num_crowd"]) == (3, 4, 0)
    assert s["sources"] == {"real": 1, "synthetic": 2}
    assert s["instances_per_image"]["counts"] == {"0": 1, "1": 0, "2": 2}
    assert s["instances_per_image"]["mean"] == pytest.approx(4 / 3)
    tri = s["categories"]["tri"]
    assert tri["num_instances"] == 3
    # a: seen in 1 and 2, not labelled in 3; b: hidden, seen, v=0; c: v=0, seen, hidden
    assert {k: tri["keypoints"]["a"][k] for k in ("v0", "v1", "v2")} == {"v0": 1, "v1": 0, "v2": 2}
    assert {k: tri["keypoints"]["b"][k] for k in ("v0", "v1", "v2")} == {"v0": 1, "v1": 1, "v2": 1}
    assert tri["keypoints"]["c"]["rate_v1"] == pytest.approx(1 / 3)
    assert tri["keypoints"]["a"]["rate_v2"] == pytest.approx(2 / 3)
    assert tri["keypoints"]["a"]["rate_v1"] == 0
    assert tri["keypoints_per_instance"] == {"0": 0, "1": 1, "2": 1, "3": 1}
    dot = s["categories"]["dot"]
    assert dot["num_instances"] == 1 and dot["keypoints"]["p"]["rate_v2"] == 1
    assert dot["keypoints_per_instance"] == {"0": 0, "1": 1}
    # sqrt(area): 20, 40, 100, and 10 from bbox 10x10 (no area field)
    box = s["box_size"]
    assert (box["small"], box["medium"], box["large"]) == (2, 1, 1)
    assert (box["min"], box["median"], box["mean"], box["max"]) == pytest.approx(
        (10, 30, 42.5, 100)
    )
    assert sum(box["histogram"]["counts"]) == 4
    assert s["checks"] == {
        "num_keypoints_mismatch": 1,
        "keypoints_outside_image": 1,
        "v0_with_xy": 1,
        "boxes_outside_image": 1,
    }


def test_stats_of_empty_category_have_no_rates():
    coco = tiny_coco()
    coco["categories"].append({"id": 3, "name": "none", "keypoints": ["q"]})
    entry = compute_stats(coco)["categories"]["none"]
    assert entry["num_instances"] == 0 and entry["keypoints"]["q"]["rate_v2"] is None


def test_bad_data_is_reported_with_file_and_key(tmp_path):
    coco = tiny_coco()
    coco["annotations"][1]["keypoints"] = [1, 2, 2]
    coco["annotations"][2]["image_id"] = 99
    coco["categories"][0]["skeleton"] = [[1, 4]]
    path = write_dataset(tmp_path, coco)
    with pytest.raises(DatasetError) as err:
        load_coco(path)
    msg = str(err.value)
    assert str(path) in msg and "3 problem(s)" in msg
    assert "annotations[1] (id 2).keypoints: expected 3 x 3 numbers [x, y, v], got 3 values" in msg
    assert "annotations[2] (id 3).image_id: 99 is not an images[].id" in msg
    assert "categories[0].skeleton[0]: expected a pair of 1-based keypoint indices in 1..3" in msg
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(DatasetError, match="broken.json: not a readable JSON file"):
        load_coco(tmp_path / "broken.json")


def test_path_resolution(tmp_path):
    write_dataset(tmp_path, name="train.json")
    with pytest.raises(DatasetError, match=r"expected a COCO file annotations.json .* train.json"):
        resolve_json(tmp_path)
    assert resolve_json(tmp_path / "train.json") == tmp_path / "train.json"
    with pytest.raises(DatasetError, match="no such file or folder"):
        resolve_json(tmp_path / "nope")


def test_image_selection_is_seeded_and_ids_are_checked():
    coco = tiny_coco()
    assert [i["id"] for i in select_images(coco, 16, 0, None)] == [1, 2, 3]
    two = [i["id"] for i in select_images(coco, 2, 5, None)]
    assert two == [i["id"] for i in select_images(coco, 2, 5, None)] and len(set(two)) == 2
    assert [i["id"] for i in select_images(coco, 2, 0, [3, 1])] == [3, 1]
    with pytest.raises(DatasetError, match=r"--ids: image id\(s\) \[7\]"):
        select_images(coco, 2, 0, [7])


def test_cli_writes_overlays_sheet_and_stats(tmp_path, capsys, monkeypatch):
    path = write_dataset(tmp_path / "ds")
    monkeypatch.chdir(tmp_path / "ds")  # the default --out is relative to the working directory
    assert main([str(tmp_path / "ds")]) == 0  # default --out: inspect/<folder name>, never inside the folder's stage
    out = tmp_path / "ds" / "inspect" / "ds"
    assert sorted(p.name for p in (out / "overlays").iterdir()) == [
        "000001.png",
        "000002.png",
        "000003.png",
    ]
    assert json.loads((out / "stats.json").read_text()) == json.loads(
        json.dumps(compute_stats(load_coco(path)))
    )
    for name in ("overlays.png", "stats.png"):
        with Image.open(out / name) as im:
            assert im.width > 100 and im.height > 100
    # image 1, annotation 1: keypoint a (v=2) at pixel (10, 20) has keypoint 0's colour
    with Image.open(out / "overlays" / "000001.png") as im:
        assert im.size == (W, H) and im.getpixel((10, 20)) == keypoint_color(0)
    assert "3 images, 4 instances" in capsys.readouterr().out
    # --ids rewrites the overlays folder completely
    assert main([str(path), "--out", str(out), "--ids", "2", "--no-labels"]) == 0
    assert [p.name for p in (out / "overlays").iterdir()] == ["000002.png"]


def test_cli_stops_before_work_on_missing_image(tmp_path, capsys):
    path = write_dataset(tmp_path)
    (tmp_path / "imgs" / "b.png").unlink()
    assert main([str(path), "--out", str(tmp_path / "o")]) == 2
    assert "imgs/b.png" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(
    not (REAL / "annotations.json").is_file(), reason="shared/data/glue_tubes_real absent"
)
def test_cli_on_real_glue_tubes(tmp_path):
    assert main([str(REAL), "--out", str(tmp_path), "--num", "3", "--seed", "1"]) == 0
    stats = json.loads((tmp_path / "stats.json").read_text())
    raw = json.loads((REAL / "annotations.json").read_text())
    per_image = Counter(a["image_id"] for a in raw["annotations"])
    assert (stats["num_images"], stats["num_annotations"]) == (111, 185)  # SOURCE.md
    assert stats["instances_per_image"]["max"] == max(per_image.values())
    assert (
        stats["categories"]["glue_tube"]["keypoints"]["head"]["rate_v2"] == 1.0
    )  # all labelled v=2
    assert stats["box_size"]["large"] == sum(a["area"] >= 96**2 for a in raw["annotations"])
    overlays = sorted((tmp_path / "overlays").iterdir())
    assert len(overlays) == 3
    assert all(p.suffix == ".jpg" for p in overlays)  # JPEG photos give JPEG overlays
    with Image.open(overlays[0]) as im:
        assert max(im.size) == 1920
