"""export-dataset: YOLO-pose, FiftyOne and COCO-layout hand-offs, read back by parsers written here.

The YOLO label files are parsed by hand from the format's definition (class, box centre and size,
then x y v per keypoint, all divided by the image size) and compared with the input COCO file;
the tools' own readers are run where they are installed (Ultralytics, FiftyOne, datumaro).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from PIL import Image

from pipeline.dataset_export.export_dataset import export_dataset, main, summary
from pipeline.errors import Rig2kpError
from pipeline.mixing import mix
from pipeline.schema import MixConfig
from tests.support.coco_data import category, write_dataset
from tests.support.real_exports import load, quirky_export, source, synthetic

TOL = 1e-6  # of the image size


# ---------------------------------------------------------------- inputs


def render_like(folder: Path) -> dict:
    """A render-like folder (annotations.json) with every case the export must handle: v=1 and
    v=2, a v=0 keypoint, a crowd annotation, a box reaching half a pixel outside the image, an
    image without instances, and coordinates with many decimals."""
    data = write_dataset(folder, n_images=3)
    for a in data["annotations"]:
        kps = a["keypoints"]
        for j in range(0, len(kps), 3):
            if kps[j + 2] > 0:
                kps[j] += 1 / 7  # many decimals: 1e-6 of the image size is a real test
                kps[j + 1] -= 1 / 9
    hidden = data["annotations"][3]
    hidden["keypoints"][0:3] = [0, 0, 0]
    hidden["num_keypoints"] = 2
    edge = data["annotations"][0]
    edge["bbox"] = [-0.5, edge["bbox"][1], edge["bbox"][0] + edge["bbox"][2] + 0.5, edge["bbox"][3]]
    crowd = dict(data["annotations"][1], id=9999, iscrowd=1, keypoints=[0] * 9, num_keypoints=0)
    data["annotations"].append(crowd)
    shutil.copy(folder / data["images"][0]["file_name"], folder / "images" / "empty.png")
    data["images"].append(dict(data["images"][0], id=4, file_name="images/empty.png"))
    (folder / "annotations.json").write_text(json.dumps(data))
    return data


def mix_like(folder: Path) -> dict[str, dict]:
    """A mix-stage-like folder: train/val/test/val_synthetic.json over images/synthetic/... and
    images/real/NAME/..., with an oversampling repeat (same file, new ids) and two files of one
    split whose flat names share a stem (a .png and a .jpg)."""
    src = folder.parent / f"{folder.name}-src"
    data = write_dataset(src, n_images=4)
    imgs = {img["id"]: img for img in data["images"]}
    anns = {i: [a for a in data["annotations"] if a["image_id"] == i] for i in imgs}

    def item(i: int, file_name: str, new_id: int, jpeg: bool = False) -> tuple[dict, list[dict]]:
        dst = folder / file_name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if jpeg:
            Image.open(src / imgs[i]["file_name"]).save(dst, quality=95)
        elif not dst.exists():
            os.symlink(os.path.relpath(src / imgs[i]["file_name"], dst.parent), dst)
        img = dict(imgs[i], id=new_id, file_name=file_name, source="real" if "/real/" in file_name else "synthetic")
        return img, [dict(a, id=new_id * 10 + k, image_id=new_id) for k, a in enumerate(anns[i])]

    splits = {
        "train": [
            item(1, "images/synthetic/images/sub/000000.png", 1),
            item(2, "images/real/desk/IMG_1.png", 10**12 + 1),
            item(2, "images/real/desk/IMG_1.png", 10**12 + 1 + 10**10),  # a repeat: same file, new ids
            item(3, "images/real/desk/IMG_1.jpg", 10**12 + 2, jpeg=True),  # same stem as IMG_1.png
        ],
        "val": [item(4, "images/real/shelf/images/IMG_9.png", 2 * 10**12 + 1)],
        "test": [item(3, "images/real/cupboard/IMG_5.png", 3 * 10**12 + 1)],
        "val_synthetic": [item(2, "images/synthetic/images/sub/000001.png", 2)],
    }
    out = {}
    for name, items in splits.items():
        out[name] = {
            "info": {"split": name},
            "licenses": [],
            "images": [img for img, _ in items],
            "annotations": [a for _, anns_ in items for a in anns_],
            "categories": data["categories"],
        }
        (folder / f"{name}.json").write_text(json.dumps(out[name]))
    return out


# ---------------------------------------------------------------- an independent YOLO reader


def read_labels(path: Path) -> list[list[float]]:
    return [[float(v) for v in line.split()] for line in path.read_text().splitlines() if line.strip()]


def expected_row(ann: dict, cls: int, first: int, k: int, w: int, h: int) -> list[float]:
    """The YOLO-pose row of one COCO annotation whose keypoints fill slots `first`.., from the
    format's definition."""
    x, y, bw, bh = ann["bbox"]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + bw, w), min(y + bh, h)
    row = [cls, (x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h]
    kps = ann["keypoints"]
    triplets = [kps[i : i + 3] if kps[i + 2] > 0 else [0, 0, 0] for i in range(0, len(kps), 3)]
    slots = [[0, 0, 0]] * first + triplets + [[0, 0, 0]] * (k - first - len(triplets))
    for x, y, v in slots:
        row += [x / w, y / h, v]
    return row


def check_split(
    out: Path, split: str, coco: dict, src_root: Path, k: int, classes: dict[int, int | tuple[int, int]]
) -> None:
    """Every image of the COCO split is written once, its file the input's bytes, its labels the
    input's boxes and keypoints (crowd left out) to TOL of the image size, v kept. `classes`:
    category id -> class index, or (class index, first slot)."""
    manifest = json.loads((out / "manifest.json").read_text())
    rows = {r["image_id"]: r for r in manifest["splits"][split]["files"]}
    assert sorted(rows) == sorted(img["id"] for img in coco["images"])
    stems = [Path(r["file"]).stem.lower() for r in rows.values()]
    assert len(set(stems)) == len(stems)
    for img in coco["images"]:
        written = out / rows[img["id"]]["file"]
        assert written.parent == out / "images" / split
        assert written.read_bytes() == (src_root / img["file_name"]).read_bytes()
        assert rows[img["id"]]["file_name"] == img["file_name"]
        labels = read_labels(out / "labels" / split / f"{written.stem}.txt")
        anns = [a for a in coco["annotations"] if a["image_id"] == img["id"] and not a.get("iscrowd")]
        assert len(labels) == len(anns)
        w, h = img["width"], img["height"]
        for got, ann in zip(labels, anns):
            entry = classes[ann["category_id"]]
            cls, first = (entry, 0) if isinstance(entry, int) else entry
            want = expected_row(ann, cls, first, k, w, h)
            assert len(got) == 5 + 3 * k and got[0] == want[0]
            scale = [1, w, h, w, h] + [w, h, 1] * k
            for g, e, s in zip(got[1:], want[1:], scale[1:]):
                assert abs(g - e) * s <= TOL * max(w, h) if s != 1 else g == e


# ---------------------------------------------------------------- YOLO-pose


def test_yolo_round_trip_of_a_render_folder(tmp_path):
    data = render_like(tmp_path / "ds")
    manifest = export_dataset(tmp_path / "ds", tmp_path / "yolo", "yolo-pose")
    out = tmp_path / "yolo"
    cfg = yaml.safe_load((out / "data.yaml").read_text())
    names = data["categories"][0]["keypoints"]
    assert cfg["train"] == "images/train" and cfg["val"] == "images/train" and "test" not in cfg
    assert "path" not in cfg  # resolved against the YAML's folder
    assert cfg["names"] == {0: "thing"} and cfg["kpt_shape"] == [3, 3]
    assert cfg["kpt_names"] == {0: names}
    assert cfg["kpt_oks_sigmas"] == data["categories"][0]["rig"]["sigmas"]
    ((a, b),) = data["categories"][0]["rig"]["flip_pairs"]
    flip = cfg["flip_idx"]
    assert flip[names.index(a)] == names.index(b) and flip[names.index(b)] == names.index(a)
    assert [flip[j] for j in range(3) if names[j] not in (a, b)] == [j for j in range(3) if names[j] not in (a, b)]
    check_split(out, "train", data, tmp_path / "ds", 3, {1: 0})
    rows = [r for f in (out / "labels" / "train").glob("*.txt") for r in read_labels(f)]
    vs = sorted({int(v) for r in rows for v in r[7::3]})
    assert vs == [0, 1, 2]  # v=0, v=1 and v=2 all kept
    assert (out / "labels" / "train" / "empty.txt").read_text() == ""  # a background image
    assert manifest["splits"]["train"]["crowd_left_out"] == 1
    assert manifest["categories"] == data["categories"]
    assert all((out / r["file"]).is_symlink() for r in manifest["splits"]["train"]["files"])


def test_yolo_splits_of_a_mix_folder(tmp_path):
    splits = mix_like(tmp_path / "mixed")
    out = tmp_path / "yolo"
    export_dataset(tmp_path / "mixed", out, "yolo-pose")
    cfg = yaml.safe_load((out / "data.yaml").read_text())
    assert (cfg["train"], cfg["val"], cfg["test"]) == ("images/train", "images/val", "images/test")
    for name in ("train", "val", "test"):
        check_split(out, name, splits[name], tmp_path / "mixed", 3, {1: 0})
    files = sorted(p.name for p in (out / "images" / "train").iterdir())
    assert files == sorted(
        [
            "synthetic__sub__000000.png",
            "real__desk__IMG_1.png",
            f"real__desk__IMG_1__id{10**12 + 1 + 10**10}.png",  # the repeat: its own file, so it still counts twice
            f"real__desk__IMG_1__id{10**12 + 2}.jpg",  # same stem as the .png: labels would collide
        ]
    )
    assert sorted(p.name for p in (out / "images" / "val").iterdir()) == ["real__shelf__IMG_9.png"]
    export_dataset(tmp_path / "mixed", out, "yolo-pose", splits="train,val=val_synthetic", copy=True)
    assert not (out / "images" / "test").exists() and "test" not in yaml.safe_load((out / "data.yaml").read_text())
    check_split(out, "val", splits["val_synthetic"], tmp_path / "mixed", 3, {1: 0})
    assert not any(p.is_symlink() for p in (out / "images").rglob("*"))
    with pytest.raises(Rig2kpError, match=r"Ultralytics reads the splits train, val, test only.*--splits train,val="):
        export_dataset(tmp_path / "mixed", out, "yolo-pose", splits="train,val_synthetic")
    with pytest.raises(Rig2kpError, match=r"--splits train,nope: no nope.json in .* \(it holds train.json"):
        export_dataset(tmp_path / "mixed", out, "yolo-pose", splits="train,nope")


def test_yolo_export_of_a_real_mix_stage_output(tmp_path):
    """The mix stage's own output (renders + a quirky real export: JPEGs in sub-folders, a crowd
    annotation, a negative photo, photos repeated by real_share) round-trips split by split."""
    synthetic(tmp_path / "syn")
    quirky_export(tmp_path / "real")
    cfg = MixConfig(real=[source(tmp_path / "real", name="phone")], val=0.2, test=0.2, real_share=0.5)
    mix.mix_dataset(cfg, 0, tmp_path / "syn", tmp_path / "mixed", progress=False)
    splits = load(tmp_path / "mixed")
    assert len({i["file_name"] for i in splits["train"]["images"]}) < len(splits["train"]["images"])  # repeats
    manifest = export_dataset(tmp_path / "mixed", tmp_path / "yolo", "yolo-pose")
    for name in ("train", "val", "test"):
        check_split(tmp_path / "yolo", name, splits[name], tmp_path / "mixed", 3, {1: 0})
    crowd = sum(a["iscrowd"] for s in ("train", "val", "test") for a in splits[s]["annotations"])
    assert crowd and sum(s["crowd_left_out"] for s in manifest["splits"].values()) == crowd


def test_yolo_several_rigs_pad_to_the_largest_k(tmp_path):
    data = write_dataset(tmp_path / "ds", n_images=2)
    small = category(2, "pair", ["left_a", "right_a"])
    data["categories"].append(small)
    a = data["annotations"][1]
    a.update(category_id=2, keypoints=a["keypoints"][:6], num_keypoints=2)
    (tmp_path / "ds" / "annotations.json").write_text(json.dumps(data))
    export_dataset(tmp_path / "ds", tmp_path / "yolo", "yolo-pose")
    text = (tmp_path / "yolo" / "data.yaml").read_text()
    cfg = yaml.safe_load(text)
    assert cfg["names"] == {0: "thing", 1: "pair"} and cfg["kpt_shape"] == [3, 3]
    assert cfg["kpt_names"][1] == ["left_a", "right_a", "pad_2"]
    assert cfg["flip_idx"] == [1, 0, 2] and cfg["kpt_oks_sigmas"] == [0.05] * 3  # the rigs agree slot by slot
    assert "padded with v=0" in text
    check_split(tmp_path / "yolo", "train", data, tmp_path / "ds", 3, {1: 0, 2: 1})

    small["rig"]["flip_pairs"], small["rig"]["sigmas"] = [], [0.05, 0.08]  # now they disagree
    (tmp_path / "ds" / "annotations.json").write_text(json.dumps(data))
    manifest = export_dataset(tmp_path / "ds", tmp_path / "yolo", "yolo-pose")
    cfg = yaml.safe_load((tmp_path / "yolo" / "data.yaml").read_text())
    assert "flip_idx" not in cfg and "kpt_oks_sigmas" not in cfg  # Ultralytics then does not flip
    assert any("flip pairs swap different slots" in n for n in manifest["notes"])
    assert any("sigmas differ" in n for n in manifest["notes"])

    # separate slots: thing 0-2, pair 3-4; each rig's flips and sigmas in its own slots
    export_dataset(tmp_path / "ds", tmp_path / "yolo", "yolo-pose", slots="separate")
    cfg = yaml.safe_load((tmp_path / "yolo" / "data.yaml").read_text())
    assert cfg["kpt_shape"] == [5, 3] and cfg["flip_idx"] == [1, 0, 2, 3, 4]
    assert cfg["kpt_oks_sigmas"] == [0.05, 0.05, 0.05, 0.05, 0.08]
    assert cfg["kpt_names"] == {
        0: ["left_a", "right_a", "mid", "pad_3", "pad_4"],
        1: ["pad_0", "pad_1", "pad_2", "left_a", "right_a"],
    }
    check_split(tmp_path / "yolo", "train", data, tmp_path / "ds", 5, {1: (0, 0), 2: (1, 3)})


@pytest.mark.parametrize("fmt", ["yolo-pose", "fiftyone", "coco"])
def test_outputs_never_destroy_inputs_or_foreign_folders(tmp_path, fmt):
    render_like(tmp_path / "ds")
    with pytest.raises(Rig2kpError, match="--out .*: (is|holds) the train split's folder"):
        export_dataset(tmp_path / "ds", tmp_path, fmt)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(Rig2kpError, match="holds notes.txt but no manifest.json that `rig2kp export-dataset` wrote"):
        export_dataset(tmp_path / "ds", tmp_path / "mine", fmt)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
    export_dataset(tmp_path / "ds", tmp_path / "out", fmt)
    (tmp_path / "out" / "stale.txt").write_text("from an earlier run")
    export_dataset(tmp_path / "ds", tmp_path / "out", fmt)
    assert not (tmp_path / "out" / "stale.txt").exists()  # replaced whole
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no scratch folder left


def test_bad_inputs_are_one_line_errors(tmp_path, capsys):
    data = render_like(tmp_path / "ds")
    data["annotations"][2]["keypoints"][2] = 3
    data["categories"][0]["rig"]["flip_pairs"] = [["left_a", "right_a"], ["right_a", "mid"]]
    (tmp_path / "ds" / "annotations.json").write_text(json.dumps(data))
    code = main(["--input", str(tmp_path / "ds"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"error: {tmp_path / 'ds' / 'annotations.json'}: 2 problem(s)")
    assert "annotations[id=2001].keypoints[left_a]: v=3, expected 0, 1 or 2" in err
    assert "categories[id=1].rig.flip_pairs: a keypoint is in two pairs" in err  # found by the checks, at once
    data["annotations"][2]["keypoints"][2] = 2
    (tmp_path / "ds" / "annotations.json").write_text(json.dumps(data))
    assert main(["--input", str(tmp_path / "ds"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'ds' / 'annotations.json'}: 1 problem(s)")
    assert "categories[id=1].rig.flip_pairs: a keypoint is in two pairs" in err
    assert main(["--input", str(tmp_path / "ds"), "--out", str(tmp_path / "o"), "--splits", "train,val"]) == 2
    assert "is one COCO file; name the one split it becomes" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (tmp_path / "o").exists()


# ---------------------------------------------------------------- FiftyOne and COCO's layout


def test_fiftyone_labels_carry_names_and_skeleton(tmp_path):
    splits = mix_like(tmp_path / "mixed")
    out = tmp_path / "fo"
    export_dataset(tmp_path / "mixed", out, "fiftyone", splits="train,val,test,val_synthetic")
    for name, coco in splits.items():
        labels = json.loads((out / name / "labels.json").read_text())
        cat = coco["categories"][0]
        skeleton = labels["info"]["default_skeleton"]  # what FiftyOne's importer sets on the dataset
        assert skeleton["labels"] == cat["keypoints"]
        assert [[cat["keypoints"][i] for i in e] for e in skeleton["edges"]] == [
            [cat["keypoints"][a - 1], cat["keypoints"][b - 1]] for a, b in cat["skeleton"]
        ]
        assert labels["categories"] == coco["categories"] and labels["annotations"] == coco["annotations"]
        assert len({img["file_name"] for img in labels["images"]}) == len(labels["images"])
        for img, orig in zip(labels["images"], coco["images"]):
            assert img["id"] == orig["id"] and img["original_file_name"] == orig["file_name"]
            assert "/" not in img["file_name"]
            data_file = out / name / "data" / img["file_name"]
            assert data_file.read_bytes() == (tmp_path / "mixed" / orig["file_name"]).read_bytes()


def test_fiftyone_no_skeleton_for_rigs_with_different_keypoints(tmp_path):
    data = write_dataset(tmp_path / "ds", n_images=1)
    data["categories"].append(category(2, "pair", ["left_a", "right_a"]))
    (tmp_path / "ds" / "annotations.json").write_text(json.dumps(data))
    manifest = export_dataset(tmp_path / "ds", tmp_path / "fo", "fiftyone")
    assert "default_skeleton" not in json.loads((tmp_path / "fo" / "train" / "labels.json").read_text())["info"]
    assert any("one skeleton per label field" in n for n in manifest["notes"])


def test_coco_layout_is_what_datumaro_and_mmpose_read(tmp_path):
    splits = mix_like(tmp_path / "mixed")
    out = tmp_path / "coco"
    export_dataset(tmp_path / "mixed", out, "coco", splits="train,val,val_synthetic")
    assert sorted(p.name for p in (out / "annotations").iterdir()) == [
        "person_keypoints_train.json",
        "person_keypoints_val.json",
        "person_keypoints_val_synthetic.json",
    ]
    for name in ("train", "val", "val_synthetic"):
        labels = json.loads((out / "annotations" / f"person_keypoints_{name}.json").read_text())
        assert labels["annotations"] == splits[name]["annotations"]
        assert labels["categories"] == splits[name]["categories"]
        for img, orig in zip(labels["images"], splits[name]["images"]):
            # datumaro: images/<subset>/<file_name> beside annotations/; MMPose: data_prefix images/<split>/
            written = out / "images" / name / img["file_name"]
            assert not written.is_symlink()  # datumaro refuses links that lead out of its folder
            assert os.path.samefile(written, tmp_path / "mixed" / orig["file_name"])  # a hard link
    # MMPose's dataset info: what its parse_pose_metainfo reads (names, swap -> flip indices, links, sigmas)
    cat = splits["train"]["categories"][0]
    source = (out / "mmpose" / "thing.py").read_text()
    info = ast.literal_eval(source.split("dataset_info = ", 1)[1])
    kpts = [info["keypoint_info"][i] for i in range(len(info["keypoint_info"]))]
    assert [k["name"] for k in kpts] == cat["keypoints"] and [k["id"] for k in kpts] == [0, 1, 2]
    name2id = {k["name"]: k["id"] for k in kpts}
    flip = [name2id[k["swap"]] if k["swap"] else k["id"] for k in kpts]
    (a, b), names = cat["rig"]["flip_pairs"][0], cat["keypoints"]
    assert flip[names.index(a)] == names.index(b) and flip[names.index(b)] == names.index(a)
    assert sorted(flip) == [0, 1, 2] and sum(f != i for i, f in enumerate(flip)) == 2
    links = [info["skeleton_info"][i]["link"] for i in range(len(info["skeleton_info"]))]
    assert links == [(names[i - 1], names[j - 1]) for i, j in cat["skeleton"]]
    assert info["sigmas"] == cat["rig"]["sigmas"] and info["joint_weights"] == [1.0] * 3
    assert info["dataset_name"] == "thing"


# ---------------------------------------------------------------- the tools' own readers, where installed


def test_ultralytics_reads_the_yolo_export(tmp_path, monkeypatch):
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "ultralytics-config"))
    pytest.importorskip("ultralytics")
    from ultralytics.cfg import get_cfg
    from ultralytics.data import YOLODataset
    from ultralytics.data.utils import check_det_dataset

    splits = mix_like(tmp_path / "mixed")
    export_dataset(tmp_path / "mixed", tmp_path / "yolo", "yolo-pose")
    data = check_det_dataset(str(tmp_path / "yolo" / "data.yaml"), autodownload=False)
    assert data["kpt_shape"] == [3, 3] and data["flip_idx"] == [1, 0, 2] and data["names"] == {0: "thing"}
    hyp = get_cfg(overrides={"task": "pose"})
    ds = YOLODataset(img_path=data["train"], imgsz=128, augment=False, data=data, task="pose", hyp=hyp)
    assert len(ds.labels) == len(splits["train"]["images"])
    by_file = {Path(lab["im_file"]).name: lab for lab in ds.labels}
    manifest = json.loads((tmp_path / "yolo" / "manifest.json").read_text())
    for row in manifest["splits"]["train"]["files"]:
        img = next(i for i in splits["train"]["images"] if i["id"] == row["image_id"])
        lab = by_file[Path(row["file"]).name]
        assert lab["shape"] == (img["height"], img["width"])
        anns = [a for a in splits["train"]["annotations"] if a["image_id"] == img["id"]]
        kps = lab["keypoints"]
        for n, ann in enumerate(anns):
            for j in range(3):
                x, y, v = ann["keypoints"][3 * j : 3 * j + 3]
                assert kps[n, j, 2] == v
                if v:  # float32 in Ultralytics
                    assert abs(kps[n, j, 0] * img["width"] - x) <= 1e-4
                    assert abs(kps[n, j, 1] * img["height"] - y) <= 1e-4


@pytest.mark.slow
def test_ultralytics_trains_one_epoch_on_the_yolo_export(tmp_path, monkeypatch):
    """`yolo pose train` as the docs give it, from a yaml (no weights to download), one tiny epoch:
    the sigmas and keypoint names reach the model, and validation runs with them."""
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "ultralytics-config"))
    pytest.importorskip("ultralytics")
    pytest.importorskip("polars")  # Ultralytics reads its results.csv with it
    from ultralytics import YOLO

    data = write_dataset(tmp_path / "ds", n_images=4)
    manifest = export_dataset(tmp_path / "ds", tmp_path / "yolo", "yolo-pose", copy=True)
    hint = next(ln for ln in summary(tmp_path / "yolo", manifest).splitlines() if ln.startswith("train with: "))
    monkeypatch.chdir(tmp_path)  # Ultralytics writes runs/ under the working directory
    model = YOLO(hint.split("model=")[1].split()[0])  # the model the printed hint names, offline
    model.train(
        data=str(tmp_path / "yolo" / "data.yaml"),
        epochs=1,
        imgsz=64,
        batch=2,
        device="cpu",
        workers=0,
        plots=False,
        amp=False,
        project=str(tmp_path / "runs"),
        name="t",
        verbose=False,
    )
    cat = data["categories"][0]
    assert list(model.model.kpt_oks_sigmas) == cat["rig"]["sigmas"]
    assert model.model.kpt_names == {0: cat["keypoints"]}
    assert (tmp_path / "runs" / "t" / "weights" / "best.pt").is_file()


def test_fiftyone_importer_reads_names_and_skeleton(tmp_path):
    pytest.importorskip("fiftyone")
    from fiftyone.core.odm.dataset import KeypointSkeleton
    from fiftyone.utils.coco import COCODetectionDatasetImporter

    splits = mix_like(tmp_path / "mixed")
    export_dataset(tmp_path / "mixed", tmp_path / "fo", "fiftyone")
    importer = COCODetectionDatasetImporter(dataset_dir=str(tmp_path / "fo" / "train"), label_types=["keypoints"])
    importer.setup()
    samples = list(importer)
    assert len(samples) == len(splits["train"]["images"])
    cat = splits["train"]["categories"][0]
    info = importer.get_dataset_info()
    skeleton = KeypointSkeleton.from_dict(info["default_skeleton"])
    assert skeleton.labels == cat["keypoints"] and len(skeleton.edges) == len(cat["skeleton"])
    for path, meta, label in samples:
        assert Path(path).is_file() and meta.width > 0
        assert all(kp.label == "thing" and len(kp.points) == 3 for kp in label.keypoints)


def test_datumaro_imports_the_coco_layout(tmp_path):
    dm = pytest.importorskip("datumaro")
    splits = mix_like(tmp_path / "mixed")
    export_dataset(tmp_path / "mixed", tmp_path / "coco", "coco")
    dataset = dm.Dataset.import_from(str(tmp_path / "coco"), "coco_person_keypoints")
    assert sorted(dataset.subsets()) == ["test", "train", "val"]
    cat = splits["train"]["categories"][0]
    (rig,) = dataset.categories()[dm.AnnotationType.points].items.values()
    assert rig.labels == cat["keypoints"] and rig.joints == {tuple(p) for p in cat["skeleton"]}
    for name in ("train", "val", "test"):
        items = list(dataset.get_subset(name))
        assert len(items) == len(splits[name]["images"]) and all(it.media.has_data for it in items)
        points = [a for it in items for a in it.annotations if a.type == dm.AnnotationType.points]
        anns = splits[name]["annotations"]
        assert sorted(tuple(int(v) for v in p.visibility) for p in points) == sorted(
            tuple(a["keypoints"][2::3]) for a in anns
        )
