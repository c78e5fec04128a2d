"""A small real render through the driver: COCO contract, COCOeval self-AP, shard invariance, resume."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from pipeline.rendering.render_dataset import main as render_main
from pipeline.rendering.render_dataset import render_dataset
from pipeline.schema import load_params
from tests.support import needs_bpy
from tests.support.params import tiny_params, write_params

pytestmark = [pytest.mark.slow, needs_bpy]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Four images rendered as two shards of two: (params file, out folder)."""
    tmp = tmp_path_factory.mktemp("render")
    pfile = write_params(tmp / "params.yaml", tiny_params(num_images=4, shard_size=2, workers=2))
    out = tmp / "synthetic"
    assert render_main(["--params", str(pfile), "--out", str(out)]) == 0
    return pfile, out


def test_folder_follows_the_coco_contract(rendered):
    _, out = rendered
    data = json.loads((out / "annotations.json").read_text())
    assert [i["id"] for i in data["images"]] == [1, 2, 3, 4]
    ids = [a["id"] for a in data["annotations"]]
    assert len(ids) == len(set(ids)) and len(ids) > 0
    cats = {c["id"]: c for c in data["categories"]}
    assert [c["name"] for c in data["categories"]] == ["glue_tube", "box"]
    assert cats[2]["skeleton"][0] == [1, 2] and len(cats[2]["rig"]["flip_pairs"]) == 4
    for image in data["images"]:
        with Image.open(out / image["file_name"]) as im:
            assert im.size == (image["width"], image["height"]) and im.mode == "RGB"
        meta = json.loads((out / image["meta_file"]).read_text())
        assert np.array(meta["camera"]["K"]).shape == (3, 3)
    for a in data["annotations"]:
        image = data["images"][a["image_id"] - 1]
        kp = np.array(a["keypoints"]).reshape(-1, 3)
        assert len(kp) == len(cats[a["category_id"]]["keypoints"])
        assert a["num_keypoints"] == int((kp[:, 2] > 0).sum())
        assert (kp[kp[:, 2] == 0, :2] == 0).all()
        seen = kp[kp[:, 2] > 0]
        assert (seen[:, 0] >= 0).all() and (seen[:, 0] < image["width"]).all()
        assert (seen[:, 1] >= 0).all() and (seen[:, 1] < image["height"]).all()
        rle = a["segmentation"]
        assert rle["size"] == [image["height"], image["width"]]
        assert float(mask_utils.area(rle)) == a["area"] >= 10
        assert np.allclose(mask_utils.toBbox(rle), a["bbox"])


def test_cocoeval_of_ground_truth_against_itself_is_perfect(rendered):
    _, out = rendered
    gt = COCO(str(out / "annotations.json"))
    results = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "keypoints": a["keypoints"],
            "bbox": a["bbox"],
            "score": 1.0,
        }
        for a in gt.dataset["annotations"]
    ]
    dt = gt.loadRes(results)
    for cat in gt.dataset["categories"]:
        if not gt.getAnnIds(catIds=[cat["id"]]):
            continue
        for iou_type in ("bbox", "keypoints"):
            ev = COCOeval(gt, dt, iou_type)
            ev.params.catIds = [cat["id"]]
            if iou_type == "keypoints":
                ev.params.kpt_oks_sigmas = np.array(cat["rig"]["sigmas"])
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            assert ev.stats[0] == pytest.approx(1.0), (cat["name"], iou_type)


def test_symmetric_box_labels_follow_the_canonical_rule_of_their_category(rendered):
    """examples/box declares its symmetry: the category carries the group, and every box written
    satisfies the rule of docs/guide/symmetry.md, written out here on the file's own numbers."""
    _, out = rendered
    data = json.loads((out / "annotations.json").read_text())
    box = next(c for c in data["categories"] if c["name"] == "box")
    group = box["rig"]["symmetry_permutations"]
    assert len(group) == 4 and sorted(map(sorted, group)) == [list(range(8))] * 4
    assert "symmetry_permutations" not in next(c for c in data["categories"] if c["name"] == "glue_tube")["rig"]
    boxes = [a for a in data["annotations"] if a["category_id"] == box["id"]]
    assert boxes

    def key(kp, p):
        return [(0, y, x) if v > 0 else (1, 0, 0) for x, y, v in kp[p]]

    for a in boxes:
        kp = np.array(a["keypoints"]).reshape(-1, 3)
        assert all(key(kp, list(range(8))) <= key(kp, p) for p in group), a["keypoints"]


def test_one_shard_or_four_give_the_same_bytes_and_resume_redoes_only_the_missing(rendered, tmp_path):
    pfile, out = rendered
    params = load_params(pfile, {"render.shard_size": 1, "render.workers": 2})
    other = tmp_path / "four_shards"
    render_dataset(params, pfile, other, progress=False)
    assert (other / "annotations.json").read_bytes() == (out / "annotations.json").read_bytes()

    # Lose one finished image as a crash would; the re-run renders only that one.
    (other / "meta" / "000002.json").unlink()
    (other / "annotations.json").unlink()
    before = {p.name: p.stat().st_mtime_ns for p in (other / "meta").glob("*.json")}
    render_dataset(params, pfile, other, progress=False)
    after = {p.name: p.stat().st_mtime_ns for p in (other / "meta").glob("*.json")}
    assert set(after) == set(before) | {"000002.json"}
    assert all(after[n] == t for n, t in before.items())
    assert (other / "annotations.json").read_bytes() == (out / "annotations.json").read_bytes()


def test_more_workers_threads_or_other_shards_keep_finished_images(rendered, tmp_path):
    """Execution settings change no byte: a re-run with them changed renders nothing and merges."""
    pfile, out = rendered
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "annotations.json").unlink()
    before = {p.name: p.stat().st_mtime_ns for p in (copy / "meta").glob("*.json")}
    params = load_params(pfile, {"render.workers": 1, "render.threads": 2, "render.shard_size": 4})
    render_dataset(params, pfile, copy, progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in (copy / "meta").glob("*.json")} == before
    assert (copy / "annotations.json").read_bytes() == (out / "annotations.json").read_bytes()


def test_changed_params_start_clean(rendered, tmp_path):
    pfile, out = rendered
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    params = load_params(pfile, {"seed": 8, "render.num_images": 1})
    render_dataset(params, pfile, copy, progress=False)
    assert sorted(p.name for p in (copy / "meta").iterdir()) == ["000000.json"]


def test_scheduler_shards_then_merge(rendered, tmp_path, monkeypatch):
    """SLURM/Kubernetes style: each task renders its shard from its index; a last step merges."""
    pfile, out = rendered
    farm = tmp_path / "farm"
    assert render_main(["--params", str(pfile), "--out", str(farm), "--merge-only"]) == 2  # nothing yet
    for task in ("1", "0"):
        monkeypatch.setenv("SLURM_ARRAY_TASK_ID", task)
        assert render_main(["--params", str(pfile), "--out", str(farm), "--shard", "env"]) == 0
        assert not (farm / "annotations.json").exists()
    monkeypatch.delenv("SLURM_ARRAY_TASK_ID")
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "2")  # only shards 0 and 1 exist (4 images, 2 a shard)
    assert render_main(["--params", str(pfile), "--out", str(farm), "--shard", "env"]) == 2
    assert render_main(["--params", str(pfile), "--out", str(farm), "--merge-only"]) == 0
    assert (farm / "annotations.json").read_bytes() == (out / "annotations.json").read_bytes()
