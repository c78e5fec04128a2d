"""The inspect command on a tiny dataset and on real photos; its stats are tested in test_stats.py."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from PIL import Image

from pipeline.coco_files.coco import DatasetError, resolve_json
from pipeline.coco_files.stats import dataset_stats
from pipeline.drawing.draw_style import keypoint_color
from pipeline.inspection.inspect_dataset import load_dataset, main, select_images
from tests.support import REAL_GLUE_TUBES
from tests.support.coco_data import TINY_H, TINY_W, tiny_coco, write_tiny

REAL = REAL_GLUE_TUBES


def test_bad_data_is_reported_with_file_and_key(tmp_path):
    coco = tiny_coco()
    coco["annotations"][1]["keypoints"] = [1, 2, 2]
    coco["annotations"][2]["image_id"] = 99
    coco["categories"][0]["skeleton"] = [[1, 4]]
    path = write_tiny(tmp_path, coco)
    with pytest.raises(DatasetError) as err:
        load_dataset(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: 3 problem(s)")
    assert "annotations[id=2].keypoints: 3 values, expected 3 x 3 = 9 numbers [x, y, v]" in msg
    assert "annotations[id=3].image_id: 99 is not an image id" in msg
    assert "categories[id=1].skeleton[0]: expected a pair of 1-based keypoint indices in 1..3" in msg
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(DatasetError, match="broken.json: not a readable JSON file"):
        load_dataset(tmp_path / "broken.json")


def test_path_resolution(tmp_path):
    write_tiny(tmp_path, name="train.json")
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
    path = write_tiny(tmp_path / "ds")
    monkeypatch.chdir(tmp_path / "ds")  # the default --out is relative to the working directory
    assert main([str(tmp_path / "ds")]) == 0  # default --out: inspect/<folder name>, never inside the folder's stage
    out = tmp_path / "ds" / "inspect" / "ds"
    assert sorted(p.name for p in (out / "overlays").iterdir()) == [
        "000001.png",
        "000002.png",
        "000003.png",
    ]
    assert json.loads((out / "stats.json").read_text()) == json.loads(json.dumps(dataset_stats(tiny_coco())))
    for name in ("overlays.png", "stats.png"):
        with Image.open(out / name) as im:
            assert im.width > 100 and im.height > 100
    # image 1, annotation 1: keypoint a (v=2) at pixel (10, 20) has keypoint 0's colour
    with Image.open(out / "overlays" / "000001.png") as im:
        assert im.size == (TINY_W, TINY_H) and im.getpixel((10, 20)) == keypoint_color(0)
    assert "3 images, 4 instances" in capsys.readouterr().out
    # --ids rewrites the overlays folder completely
    assert main(["--input", str(path), "--out", str(out), "--ids", "2", "--no-labels"]) == 0
    assert [p.name for p in (out / "overlays").iterdir()] == ["000002.png"]
    with pytest.raises(SystemExit):
        main([str(path), "--input", str(tmp_path / "other")])  # two datasets named


def test_cli_stops_before_work_on_missing_image(tmp_path, capsys):
    path = write_tiny(tmp_path)
    (tmp_path / "imgs" / "b.png").unlink()
    assert main([str(path), "--out", str(tmp_path / "o")]) == 2
    assert "images[id=2].file_name: " + str(tmp_path / "imgs" / "b.png") + " not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_cli_reads_the_images_of_a_cvat_export_with_images(tmp_path, capsys):
    """CVAT's layout: annotations/person_keypoints_default.json, the photos in images/default/."""
    export = tmp_path / "export"
    write_tiny(export / "images" / "default")
    json_path = export / "annotations" / "person_keypoints_default.json"
    json_path.parent.mkdir()
    (export / "images" / "default" / "annotations.json").rename(json_path)
    assert main([str(json_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    folder = (export / "images" / "default").resolve()
    assert f"the images are in {folder}: add --images {folder}" in err, err
    assert not (tmp_path / "o").exists()
    assert main([str(json_path), "--images", str(export / "images" / "default"), "--out", str(tmp_path / "o")]) == 0
    assert len(list((tmp_path / "o" / "overlays").iterdir())) == 3


@pytest.mark.skipif(not (REAL / "annotations.json").is_file(), reason="shared/data/glue_tubes_real absent")
def test_cli_on_real_glue_tubes(tmp_path):
    assert main([str(REAL), "--out", str(tmp_path), "--num", "3", "--seed", "1"]) == 0
    stats = json.loads((tmp_path / "stats.json").read_text())
    raw = json.loads((REAL / "annotations.json").read_text())
    per_image = Counter(a["image_id"] for a in raw["annotations"])
    assert (stats["images"], stats["instances"]) == (111, 185)  # SOURCE.md
    assert stats["instances_per_image"]["max"] == max(per_image.values())
    assert stats["categories"]["glue_tube"]["visibility"]["head"]["v2"] == 1.0  # all labelled v=2
    assert stats["box_size"]["large"] == sum(a["area"] >= 96**2 for a in raw["annotations"])
    overlays = sorted((tmp_path / "overlays").iterdir())
    assert len(overlays) == 3
    assert all(p.suffix == ".jpg" for p in overlays)  # JPEG photos give JPEG overlays
    with Image.open(overlays[0]) as im:
        assert max(im.size) == 1920
