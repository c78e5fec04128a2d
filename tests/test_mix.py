"""Mix stage: real exports with every quirk named in the issue, mapped onto the rigs by name."""

from __future__ import annotations

import json
import logging
import os
from collections import Counter

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from common.rig_model import RigModel
from pipeline.augmenting import augment
from pipeline.inspection.validate import validate_path
from pipeline.mixing import mix, real_annotations, real_exports, splits
from pipeline.rendering.render_dataset import main as render_main
from pipeline.schema import MixConfig, load_params
from tests.support import REAL_GLUE_TUBES as REAL_GLUE
from tests.support import needs_bpy, needs_real_photos
from tests.support.coco_data import category
from tests.support.params import THING, tiny_params, write_params
from tests.support.real_exports import EXPORT_KPS, load, quirky_export, source, synthetic


def test_quirky_export_is_mapped_repaired_and_split(tmp_path, caplog):
    syn = synthetic(tmp_path / "syn")
    truth = quirky_export(tmp_path / "real")
    cfg = MixConfig(real=[source(tmp_path / "real", name="phone")], val=0.2, test=0.2)
    with caplog.at_level(logging.WARNING):
        mix.mix_dataset(cfg, 0, tmp_path / "syn", tmp_path / "out", progress=False)
    out = load(tmp_path / "out")
    log = caplog.text
    assert "added 0.5 px" in log and "computed as bbox width x height" in log
    assert "computed as the segmentation mask's pixel count" in log and "no num_keypoints" in log
    assert "1 image(s) have no annotations" in log and "iscrowd=1" in log and "no labelled keypoints" in log

    # val and test: real only, 2 of 10 photos each; val_synthetic: 10% of the 6 renders' groups
    for split in ("val", "test"):
        assert {i["source"] for i in out[split]["images"]} == {"real"} and len(out[split]["images"]) == 2
    assert {i["source"] for i in out["val_synthetic"]["images"]} == {"synthetic"}
    assert len(out["val_synthetic"]["images"]) == 3  # one render group (original + 2 copies)
    train_sources = [i["source"] for i in out["train"]["images"]]
    assert train_sources.count("real") == 6 and train_sources.count("synthetic") == 15
    # every real photo exactly once, every synthetic image once; ids unique across the files
    real_names = sorted(i["origin"]["file_name"] for f in out.values() for i in f["images"] if i["source"] == "real")
    assert real_names == sorted(f"batch{k % 2}/photo_{k:03d}.jpg" for k in range(1, 11))
    ids = [i["id"] for k in ("train", "val", "test", "val_synthetic") for i in out[k]["images"]]
    assert len(ids) == len(set(ids)) == 10 + len(syn["images"])
    ann_ids = [a["id"] for k in ("train", "val", "test", "val_synthetic") for a in out[k]["annotations"]]
    assert len(ann_ids) == len(set(ann_ids))
    # augmented copies of one render stay together
    for split in out.values():
        groups = {i["augment"]["image_id"] for i in split["images"] if i["source"] == "synthetic"}
        assert sum(1 for i in split["images"] if i["source"] == "synthetic") == 3 * len(groups)

    # keypoints: rig order, pixel index + 0.5, compared with the continuous truth
    truth_by = {(a["image_id"] - 1, a["tag"]): a for a in truth["annotations"]}
    real_anns = {}
    for f in out.values():
        for img in f["images"]:
            if img["source"] == "real":
                anns = [a for a in f["annotations"] if a["image_id"] == img["id"]]
                real_anns[img["origin"]["image_id"]] = anns
    assert real_anns[2] == []  # the negative
    checked = 0
    for (export_id, _), t in truth_by.items():
        for a in real_anns[export_id]:
            if abs(a["bbox"][0] - t["bbox"][0]) < 1e-6 and a["num_keypoints"] == 3:
                got = np.array(a["keypoints"]).reshape(3, 3)
                want = np.array(t["keypoints"]).reshape(3, 3)
                assert np.allclose(got[:, :2], np.floor(want[:, :2]) + 0.5)
                assert np.all(np.abs(got[:, :2] - want[:, :2]) <= 0.5)
                assert list(got[:, 2]) == list(want[:, 2])
                checked += 1
    assert checked >= 15
    crowd = [a for f in out.values() for a in f["annotations"] if a["iscrowd"] == 1]
    assert len(crowd) == 1 and crowd[0]["segmentation"]["counts"] == truth["annotations"][2]["segmentation"]["counts"]
    assert crowd[0]["area"] == truth["annotations"][2]["area"]
    empty = [a for f in out.values() for a in f["annotations"] if a["num_keypoints"] == 0]
    assert len(empty) == 1 and empty[0]["keypoints"] == [0.0, 0.0, 0] * 3
    polygon = [
        a for f in out.values() for a in f["annotations"] if a["id"] == real_exports.REAL_BASE + 4
    ]  # the 4th annotation in id order
    assert (
        polygon and abs(polygon[0]["area"] - polygon[0]["bbox"][2] * polygon[0]["bbox"][3]) < 0.1 * polygon[0]["area"]
    )

    # the output is a valid dataset whose links resolve; categories are the rig's
    assert all(f["categories"] == syn["categories"] for f in out.values())
    problems = validate_path(tmp_path / "out")
    assert [p for p in problems if p.level == "error"] == []
    for f in out.values():
        for img in f["images"]:
            p = tmp_path / "out" / img["file_name"]
            assert p.is_symlink() and p.resolve().is_file()
    assert "images/real/phone/batch1/photo_001.jpg" in {i["file_name"] for f in out.values() for i in f["images"]}
    stats = json.loads((tmp_path / "out/stats.json").read_text())
    assert stats["val"]["sources"] == {
        "real": {"images": 2, "instances": stats["val"]["instances"], "negatives": stats["val"]["negatives"]}
    }


def test_without_real_data_val_and_test_are_synthetic(tmp_path):
    synthetic(tmp_path / "syn", n=10)
    mix.mix_dataset(MixConfig(), 3, tmp_path / "syn", tmp_path / "out", progress=False)
    out = load(tmp_path / "out")
    assert out["val_synthetic"]["images"] == out["val"]["images"]
    sizes = {k: len(v["images"]) for k, v in out.items()}
    assert sizes == {"train": 3 * 6, "val": 3 * 2, "test": 3 * 2, "val_synthetic": 3 * 2}  # 15% of 10 -> 2
    again = tmp_path / "again"
    mix.mix_dataset(MixConfig(), 3, tmp_path / "syn", again, progress=False)
    assert load(again) == out
    mix.mix_dataset(MixConfig(), 4, tmp_path / "syn", tmp_path / "seed4", progress=False)
    assert load(tmp_path / "seed4")["test"] != out["test"]


def test_ratio_oversampling_fixed_splits_and_copies(tmp_path):
    synthetic(tmp_path / "syn", n=10)
    quirky_export(tmp_path / "real", n=6)
    real = [source(tmp_path / "real", oversample=3, split="train")]
    cfg = MixConfig(real=real, synthetic_per_real=1.5, copy_images=True)
    mix.mix_dataset(cfg, 0, tmp_path / "syn", tmp_path / "out", progress=False)
    out = load(tmp_path / "out")
    train = out["train"]["images"]
    real_train = [i for i in train if i["source"] == "real"]
    assert len(real_train) == 18 and len({i["file_name"] for i in real_train}) == 6
    assert len({i["id"] for i in real_train}) == 18
    assert sorted({i["origin"].get("repeat", 0) for i in real_train}) == [0, 1, 2]
    assert 27 <= sum(i["source"] == "synthetic" for i in train) <= 27 + 2  # whole groups of 3
    assert out["val"]["images"] == out["test"]["images"] == []  # the only real source is train
    f = tmp_path / "out" / real_train[0]["file_name"]
    assert f.is_file() and not f.is_symlink()
    assert [p for p in validate_path(tmp_path / "out") if p.level == "error"] == []


def test_label_studio_boxes_and_keypoints_are_paired(tmp_path):
    synthetic(tmp_path / "syn", n=2)
    quirky_export(tmp_path / "real", n=4)
    data = json.loads((tmp_path / "real/export.json").read_text())
    split = []
    for a in data["annotations"]:
        if not a["keypoints"]:
            continue
        pts = np.array(a["keypoints"]).reshape(-1, 3)[:, :2]
        box = {k: v for k, v in a.items() if k not in ("keypoints", "num_keypoints")}
        kp = {
            "id": 1000 + a["id"],
            "image_id": a["image_id"],
            "category_id": 0,
            "keypoints": a["keypoints"],
            "num_keypoints": 3,
            "bbox": [*pts.min(0).tolist(), *np.ptp(pts, 0).tolist()],
            "iscrowd": 0,
        }
        split += [box, kp]
    data["annotations"] = split
    data["categories"][0]["keypoints"] = EXPORT_KPS  # Label Studio gives every category the keypoints
    (tmp_path / "real/export.json").write_text(json.dumps(data))
    cfg = MixConfig(
        real=[source(tmp_path / "real", pair_boxes=True, split="val", categories={"gadget": "thing", "gadgets": None})]
    )
    mix.mix_dataset(cfg, 0, tmp_path / "syn", tmp_path / "out", progress=False)
    anns = load(tmp_path / "out")["val"]["annotations"]
    assert len(anns) == len(split) // 2
    for a in anns:
        pts = np.array(a["keypoints"]).reshape(-1, 3)
        x, y, w, h = a["bbox"]
        assert a["num_keypoints"] == 3 and w * h > 200
        assert np.all((pts[:, 0] >= x) & (pts[:, 0] <= x + w) & (pts[:, 1] >= y) & (pts[:, 1] <= y + h))


def test_mismatches_and_bad_images_are_listed_before_writing(tmp_path):
    synthetic(tmp_path / "syn", n=2)
    quirky_export(tmp_path / "real", n=4)
    bad_names = MixConfig(
        real=[
            {
                "path": str(tmp_path / "real"),
                "annotations": "export.json",
                "images": "images",
                "keypoints": {"thing": {"tip": "mid"}},
                "categories": {"gadget": "thing"},
            }
        ]
    )
    with pytest.raises(mix.MixError) as err:
        mix.mix_dataset(bad_names, 0, tmp_path / "syn", tmp_path / "out", progress=False)
    msg = str(err.value)
    assert "keypoint 'l' of category 'gadget' is not a keypoint of rig 'thing'" in msg
    assert "lacks rig 'thing' keypoints ['left_a', 'right_a']" in msg
    not_rig = MixConfig(real=[{"path": str(tmp_path / "real"), "annotations": "export.json", "images": "images"}])
    with pytest.raises(mix.MixError, match=r"category 'gadget' \(\d+ annotations\) is not a rig"):
        mix.mix_dataset(not_rig, 0, tmp_path / "syn", tmp_path / "out", progress=False)

    os.remove(tmp_path / "real/images/batch1/photo_001.jpg")
    broken = tmp_path / "real/images/batch0/photo_002.jpg"
    broken.write_bytes(broken.read_bytes()[: len(broken.read_bytes()) * 2 // 3])  # header intact
    with pytest.raises(mix.MixError) as err:
        mix.mix_dataset(
            MixConfig(real=[source(tmp_path / "real")]), 0, tmp_path / "syn", tmp_path / "out", progress=False
        )
    msg = str(err.value)
    assert "photo_001.jpg not found" in msg and "photo_002.jpg: not a readable image" in msg
    assert "nothing was written" in msg and not (tmp_path / "out").exists()


def test_cli_resolves_real_paths_against_params(tmp_path, capsys):
    synthetic(tmp_path / "syn", n=3)
    quirky_export(tmp_path / "proj/real", n=4)
    real = {
        "path": "real",
        "annotations": "export.json",
        "images": "images",
        "categories": {"gadget": "thing"},
        "keypoints": {"thing": {"tip": "mid", "l": "left_a", "r": "right_a"}},
    }
    params = write_params(tmp_path / "proj/params.yaml", {"rigs": THING, "mix": {"real": [real]}})
    argv = ["--params", str(params), "--input", str(tmp_path / "syn"), "--output", str(tmp_path / "out")]
    assert mix.main(argv) == 0
    assert len(load(tmp_path / "out")["test"]["images"]) == 1


@needs_real_photos
def test_real_glue_tube_photos(tmp_path):
    syn = tmp_path / "syn"
    (syn / "images").mkdir(parents=True)
    from PIL import Image

    cat = {**category(1, "glue_tube", ["head", "tail"]), "skeleton": [[1, 2]]}
    images, anns = [], []
    for i in range(4):
        Image.new("RGB", (64, 48)).save(syn / f"images/{i:06d}.png")
        images.append(
            {"id": i + 1, "file_name": f"images/{i:06d}.png", "width": 64, "height": 48, "source": "synthetic"}
        )
        mask = np.zeros((48, 64), np.uint8)
        mask[10:30, 10:50] = 1
        rle = mask_utils.encode(np.asfortranarray(mask))
        anns.append(
            {
                "id": (i + 1) * 1000 + 1,
                "image_id": i + 1,
                "category_id": 1,
                "keypoints": [12.5, 20.5, 2, 47.5, 20.5, 2],
                "num_keypoints": 2,
                "bbox": [10, 10, 40, 20],
                "area": 800.0,
                "segmentation": {"size": [48, 64], "counts": rle["counts"].decode()},
                "iscrowd": 0,
            }
        )
    (syn / "annotations.json").write_text(json.dumps({"images": images, "annotations": anns, "categories": [cat]}))
    cfg = MixConfig(real=[{"path": str(REAL_GLUE)}])  # same category and keypoint names: no mapping
    mix.mix_dataset(cfg, 0, syn, tmp_path / "out", progress=False)
    out = load(tmp_path / "out")
    truth = json.loads((REAL_GLUE / "annotations.json").read_text())
    assert [len(out[k]["images"]) for k in ("val", "test")] == [17, 17]
    real = [i for k in ("train", "val", "test") for i in out[k]["images"] if i["source"] == "real"]
    assert len(real) == len(truth["images"]) == 111
    by_origin = {a["id"]: a for a in truth["annotations"]}
    n = 0
    for k in ("train", "val", "test"):
        for a in out[k]["annotations"]:
            if a["id"] >= real_exports.REAL_BASE:
                orig = by_origin[sorted(by_origin)[a["id"] - real_exports.REAL_BASE - 1]]
                want = np.array(orig["keypoints"], float).reshape(-1, 3)
                want[:, :2] += 0.5
                assert np.allclose(np.array(a["keypoints"]).reshape(-1, 3), want)
                n += 1
    assert n == len(truth["annotations"]) == 185
    assert [p for p in validate_path(tmp_path / "out") if p.level == "error"] == []
    # shared/ may be a link
    assert (tmp_path / "out" / real[0]["file_name"]).resolve().is_relative_to(REAL_GLUE.resolve())
    # the README's held-out desk: photos IMG_4884..IMG_4912 (a white desk), and nothing else
    desk = ["IMG_488[4-9]_*", "IMG_489*", "IMG_49*"]
    cfg = MixConfig(real=[{"path": str(REAL_GLUE), "test_files": desk}])
    mix.mix_dataset(cfg, 0, syn, tmp_path / "desk", progress=False)
    out = load(tmp_path / "desk")
    real = {k: [i for i in out[k]["images"] if i["source"] == "real"] for k in ("train", "val", "test")}
    number = {k: sorted(int(i["origin"]["file_name"][11:15]) for i in images) for k, images in real.items()}
    assert number["test"] == list(range(4884, 4913))
    assert max(number["train"] + number["val"]) == 4883 and len(number["train"] + number["val"]) == 82


@pytest.mark.slow
@needs_bpy
@needs_real_photos
def test_real_render_through_augment_and_mix(tmp_path):
    """The whole data path on a real (tiny) render: render -> augment -> mix -> validate."""
    data = tiny_params(num_images=3, shard_size=3, workers=1)
    data["augment"] = {"copies": 1, "workers": 1}
    data["mix"] = {"real": [{"path": str(REAL_GLUE)}], "val": 0.1, "test": 0.1}
    pfile = write_params(tmp_path / "params.yaml", data)
    assert render_main(["--params", str(pfile), "--out", str(tmp_path / "synthetic")]) == 0
    argv = ["--params", str(pfile), "--input", str(tmp_path / "synthetic"), "--output", str(tmp_path / "augmented")]
    assert augment.main(argv) == 0
    params = load_params(pfile)
    mix.mix_dataset(params.mix, params.seed, tmp_path / "augmented", tmp_path / "mixed", progress=False)
    assert [p for p in validate_path(tmp_path / "augmented") if p.level == "error"] == []
    assert [p for p in validate_path(tmp_path / "mixed") if p.level == "error"] == []
    out = load(tmp_path / "mixed")
    synthetic = json.loads((tmp_path / "synthetic/annotations.json").read_text())
    assert all(f["categories"] == synthetic["categories"] for f in out.values())
    assert {i["source"] for i in out["test"]["images"]} == {"real"}
    assert sum(i["source"] == "synthetic" for k in ("train", "val_synthetic") for i in out[k]["images"]) == 6


@pytest.mark.parametrize("sources", ["all", "synthetic", "real"])
def test_train_sources_change_train_only(tmp_path, sources):
    """The sim-to-real experiments: same val/test, train from renders, real photos or both."""
    synthetic(tmp_path / "syn", n=10)
    quirky_export(tmp_path / "real", n=10)
    real = [source(tmp_path / "real")]
    mix.mix_dataset(MixConfig(real=real), 0, tmp_path / "syn", tmp_path / "all", progress=False)
    cfg = MixConfig(real=real, train_sources=sources)
    mix.mix_dataset(cfg, 0, tmp_path / "syn", tmp_path / "out", progress=False)
    ref, out = load(tmp_path / "all"), load(tmp_path / "out")
    for name in ("val", "test", "val_synthetic"):
        assert out[name] == ref[name]
    kinds = {i["source"] for i in out["train"]["images"]}
    assert kinds == {"all": {"synthetic", "real"}, "synthetic": {"synthetic"}, "real": {"real"}}[sources]
    expected = [i for i in ref["train"]["images"] if sources == "all" or i["source"] == sources]
    assert out["train"]["images"] == expected


def test_train_sources_real_needs_real_data(tmp_path):
    synthetic(tmp_path / "syn", n=4)
    with pytest.raises(mix.MixError, match="train_sources"):
        mix.mix_dataset(MixConfig(train_sources="real"), 0, tmp_path / "syn", tmp_path / "out", progress=False)


def test_real_train_images_keeps_nested_subsets_and_the_same_val_test(tmp_path):
    """A learning curve over photos: 3 photos are a subset of 5; val and test never move."""
    synthetic(tmp_path / "syn", n=10)
    quirky_export(tmp_path / "real", n=20)
    real = [source(tmp_path / "real")]
    mix.mix_dataset(MixConfig(real=real), 0, tmp_path / "syn", tmp_path / "all", progress=False)
    ref = load(tmp_path / "all")
    ref_real = {i["file_name"] for i in ref["train"]["images"] if i["source"] == "real"}
    kept = {}
    for n in (3, 5):
        cfg = MixConfig(real=real, real_train_images=n)
        mix.mix_dataset(cfg, 0, tmp_path / "syn", tmp_path / f"n{n}", progress=False)
        out = load(tmp_path / f"n{n}")
        for name in ("val", "test", "val_synthetic"):
            assert out[name] == ref[name]
        kept[n] = {i["file_name"] for i in out["train"]["images"] if i["source"] == "real"}
        assert len(kept[n]) == n and kept[n] <= ref_real
        syn = [i for i in out["train"]["images"] if i["source"] == "synthetic"]
        assert syn == [i for i in ref["train"]["images"] if i["source"] == "synthetic"]
    assert kept[3] < kept[5]


def test_real_share_repeats_real_images_to_the_asked_share(tmp_path, caplog):
    synthetic(tmp_path / "syn", n=10)  # 30 images, 27 in train
    quirky_export(tmp_path / "real", n=6)
    real = [source(tmp_path / "real", split="train")]
    mix.mix_dataset(MixConfig(real=real, real_share=0.5), 0, tmp_path / "syn", tmp_path / "out", progress=False)
    train = load(tmp_path / "out")["train"]["images"]
    n_real = sum(i["source"] == "real" for i in train)
    n_syn = sum(i["source"] == "synthetic" for i in train)
    assert n_syn == 27 and n_real == 6 * round(27 / 6)  # each photo 4 or 5 times: as many as renders
    assert len({i["id"] for i in train}) == len(train)
    assert splits.real_share_repeats(0.2, 10, 100) == 2 and splits.real_share_repeats(0.01, 10, 100) == 1
    # only when both kinds train: real-only training is not inflated
    cfg = MixConfig(real=real, real_share=0.5, train_sources="real")
    mix.mix_dataset(cfg, 0, tmp_path / "syn", tmp_path / "real_only", progress=False)
    assert len(load(tmp_path / "real_only")["train"]["images"]) == 6
    # a share that needs more repeats than image ids can hold is capped, with a warning
    with caplog.at_level(logging.WARNING, logger="rig2kp.mix"):
        mix.mix_dataset(MixConfig(real=real, real_share=0.99), 0, tmp_path / "syn", tmp_path / "capped", progress=False)
    train = load(tmp_path / "capped")["train"]["images"]
    assert sum(i["source"] == "real" for i in train) == 6 * 99 and len({i["id"] for i in train}) == len(train)
    assert "capped at 99" in caplog.text


def test_named_files_are_held_out_and_the_rest_split_by_fraction(tmp_path):
    """A held-out desk or session: val_files / test_files send exactly those photos, the rest is split."""
    synthetic(tmp_path / "syn", n=10)
    quirky_export(tmp_path / "real", n=20)  # batch{id % 2}/photo_{id:03d}.jpg, id 1..20
    real = [source(tmp_path / "real", test_files=["photo_00[1-4].jpg"])]
    mix.mix_dataset(MixConfig(real=real, val=0.25, test=0.5), 0, tmp_path / "syn", tmp_path / "out", progress=False)
    out = load(tmp_path / "out")
    names = {s: sorted(i["origin"]["file_name"] for i in out[s]["images"] if i["source"] == "real") for s in out}
    assert names["test"] == [
        "batch0/photo_002.jpg",
        "batch0/photo_004.jpg",
        "batch1/photo_001.jpg",
        "batch1/photo_003.jpg",
    ]
    assert len(names["val"]) == 4  # 0.25 of the other 16; mix.test takes no share of them
    assert len(names["train"]) == 12
    assert not set(names["val"]) & set(names["train"]) and not set(names["test"]) & set(names["train"] + names["val"])
    # a pattern with '/' matches the whole file_name
    real = [source(tmp_path / "real", val_files=["batch1/*"], test_files=["photo_002.jpg"])]
    mix.mix_dataset(MixConfig(real=real), 0, tmp_path / "syn", tmp_path / "out2", progress=False)
    out = load(tmp_path / "out2")
    val = sorted(i["origin"]["file_name"] for i in out["val"]["images"])
    assert val == [f"batch1/photo_{i:03d}.jpg" for i in range(1, 21, 2)]
    assert [i["origin"]["file_name"] for i in out["test"]["images"]] == ["batch0/photo_002.jpg"]
    assert len([i for i in out["train"]["images"] if i["source"] == "real"]) == 9


def test_group_by_keeps_each_group_in_one_split(tmp_path):
    """Frames of one video (here: photos sharing a tens digit) never straddle train and test."""
    synthetic(tmp_path / "syn", n=10)
    quirky_export(tmp_path / "real", n=40)
    real = [source(tmp_path / "real", group_by=r"photo_0(\d)")]  # groups 0..4
    mix.mix_dataset(MixConfig(real=real, val=0.2, test=0.2), 0, tmp_path / "syn", tmp_path / "out", progress=False)
    out = load(tmp_path / "out")
    where = {}
    for split in ("train", "val", "test"):
        for i in out[split]["images"]:
            if i["source"] == "real":
                where.setdefault(i["origin"]["file_name"][-6], set()).add(split)
    assert sorted(where) == list("01234")
    assert all(len(s) == 1 for s in where.values()), where
    assert sorted(next(iter(s)) for s in where.values()).count("train") == 3


def test_holdout_and_group_mistakes_are_listed_before_writing(tmp_path):
    synthetic(tmp_path / "syn")
    quirky_export(tmp_path / "real", n=10)
    bad = source(
        tmp_path / "real",
        val_files=["photo_001.jpg", "nope_*"],
        test_files=["photo_00[12].jpg"],
    )
    with pytest.raises(mix.MixError) as err:
        mix.mix_dataset(MixConfig(real=[bad]), 0, tmp_path / "syn", tmp_path / "out", progress=False)
    text = str(err.value)
    assert "mix.real[0].val_files: pattern 'nope_*' matches no file_name in" in text and "export.json" in text
    assert "'batch1/photo_001.jpg' matches both mix.real[0].val_files and .test_files" in text
    assert not (tmp_path / "out").exists()
    # a group cut in two by the patterns would leak between splits
    split_group = source(tmp_path / "real", group_by=r"^batch\d", test_files=["photo_001.jpg"])
    with pytest.raises(mix.MixError, match=r"group 'batch1' go to different splits \(auto, test\)"):
        mix.mix_dataset(MixConfig(real=[split_group]), 0, tmp_path / "syn", tmp_path / "out", progress=False)
    unmatched = source(tmp_path / "real", group_by=r"batch0")
    with pytest.raises(mix.MixError, match=r"file_name 'batch1/photo_001.jpg' does not match mix.real\[0\].group_by"):
        mix.mix_dataset(MixConfig(real=[unmatched]), 0, tmp_path / "syn", tmp_path / "out", progress=False)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"split": "train", "test_files": ["a*"]}, "only with split 'auto'"),
        ({"val_files": [" "]}, r"val_files\[0\]: expected a glob pattern"),
        ({"group_by": "(a"}, "not a regular expression"),
        ({"group_by": "(a)(b)"}, "at most one group"),
    ],
)
def test_holdout_params_are_checked_at_load(extra, message):
    with pytest.raises(ValueError, match=message):
        MixConfig(real=[{"path": "x", **extra}])


def test_real_labels_of_a_symmetric_rig_are_written_in_its_canonical_order():
    """Annotators name the two ends of a symmetric part arbitrarily; mix relabels them as renders are."""
    rig = RigModel.from_category(
        {
            "id": 1,
            "name": "stick",
            "keypoints": ["end_1", "end_2", "middle"],
            "rig": {"symmetry_permutations": [[0, 1, 2], [1, 0, 2]]},
        }
    )
    notes = Counter()
    clicked = {"keypoints": [10.0, 40.0, 2, 20.0, 5.0, 2, 15.0, 22.0, 2], "bbox": [5.0, 0.0, 30.0, 50.0], "area": 900.0}
    out, problem = real_annotations.normalize_annotation(clicked, 100, 100, rig, [0, 1, 2], 0.0, notes)
    assert problem is None and out["keypoints"] == [20.0, 5.0, 2, 10.0, 40.0, 2, 15.0, 22.0, 2]  # top-most first
    assert notes["symmetry_relabelled"] == 1
    again = {**clicked, "keypoints": out["keypoints"]}
    out, _ = real_annotations.normalize_annotation(again, 100, 100, rig, [0, 1, 2], 0.0, notes)
    assert notes["symmetry_relabelled"] == 1  # already canonical: kept
