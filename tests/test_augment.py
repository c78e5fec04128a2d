"""Augment stage: annotations checked against the dots painted at the keypoints (tests/support/coco_data.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from common.rig_model import RigModel
from pipeline.augmenting import augment, augment_ops
from pipeline.coco_files.coco import DatasetError
from pipeline.inspection.validate import validate_path
from pipeline.outputs import ForeignOutputError
from pipeline.schema import AugmentConfig, ParamsError, load_params
from tests.support import ROOT
from tests.support.coco_data import KEYPOINTS, find_dots, write_dataset
from tests.support.params import THING

SWAP = {0: 1, 1: 0, 2: 2}  # left_a <-> right_a
# The issue asks for 1.5 px; measured errors are below 0.06 px, so 0.25 px also catches a slip
# between pixel-index and continuous conventions (0.5 px on flips, 0.5 (s - 1) px on resizes).
TOL = 0.25


def as_rigs(cats: dict[int, dict]) -> dict[int, RigModel]:
    return {cid: RigModel.from_category(c) for cid, c in cats.items()}


def run(tmp_path: Path, transforms: list[dict], copies: int = 2, n_images: int = 3, **kw) -> tuple:
    src, dst = tmp_path / "src", tmp_path / "out"
    if not src.exists():
        write_dataset(src, n_images=n_images, **kw)
    cfg = AugmentConfig(copies=copies, transforms=transforms)
    out = augment.augment_dataset(cfg, 7, src, dst, workers=1, progress=False)
    return src, dst, out


def read_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def check_geometry(dst: Path, out: dict, mirrored: bool) -> dict:
    """Every annotated keypoint sits on its dot (1.5 px), boxes fit the grey shapes; counts."""
    n = {"keypoints": 0, "v0": 0, "boxes": 0}
    for img in out["images"]:
        if img["augment"]["copy"] == 0:
            continue
        rgb = read_rgb(dst / img["file_name"])
        h, w = rgb.shape[:2]
        assert (img["width"], img["height"]) == (w, h)
        dots = find_dots(rgb)
        anns = [a for a in out["annotations"] if a["image_id"] == img["id"]]
        for a in anns:
            t = a["tag"]
            for k in range(len(KEYPOINTS)):
                hue = 3 * t + (SWAP[k] if mirrored else k)
                x, y, v = a["keypoints"][3 * k : 3 * k + 3]
                if v == 0:
                    assert x == y == 0
                    n["v0"] += 1
                    if hue in dots:  # what is left of a dot that left the image hugs the border
                        dx, dy, _ = dots[hue]
                        assert min(dx, dy, w - dx, h - dy) < 3, (img["file_name"], k, dots[hue])
                    continue
                assert 0 <= x < w and 0 <= y < h and v == (1 if (t, k) == (1, 2) else 2)
                if min(x, y, w - x, h - y) >= 3:
                    dx, dy, _ = dots[hue]
                    assert abs(dx - x) <= TOL and abs(dy - y) <= TOL, (
                        img["file_name"],
                        k,
                        (x, y),
                        (dx, dy),
                    )
                    n["keypoints"] += 1
            assert a["num_keypoints"] == sum(1 for v in a["keypoints"][2::3] if v > 0)
            n["boxes"] += check_box(rgb, a)
        for t in {0, 1} - {a["tag"] for a in anns}:  # dropped instances: no dot left inside
            for hue in range(3 * t, 3 * t + 3):
                if hue in dots:
                    dx, dy, _ = dots[hue]
                    assert min(dx, dy, w - dx, h - dy) < 3
    return n


def check_box(rgb: np.ndarray, a: dict) -> int:
    """The annotation's mask, box and area against the grey shape found in the pixels."""
    rle = {"size": a["segmentation"]["size"], "counts": a["segmentation"]["counts"].encode()}
    mask = mask_utils.decode(rle).astype(bool)
    shape = rgb.max(axis=2) > 55
    count, labels = cv2.connectedComponents(shape.astype(np.uint8))
    overlaps = [(np.sum(mask & (labels == c)), c) for c in range(1, count)]
    best = labels == max(overlaps)[1]
    iou = np.sum(mask & best) / np.sum(mask | best)
    if mask.sum() < 30:  # a sliver at the border: nothing more to compare
        return 0
    assert iou > 0.75, iou
    ys, xs = np.nonzero(best)
    found = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    x, y, bw, bh = a["bbox"]
    assert np.allclose([x, y, x + bw, y + bh], found, atol=1.5), ([x, y, x + bw, y + bh], found)
    assert a["area"] == mask.sum()
    return 1


GEOMETRIC = {
    "hflip": ([{"name": "HorizontalFlip", "p": 1}], True),
    "vflip": ([{"name": "VerticalFlip", "p": 1}], True),
    "hvflip": ([{"name": "HorizontalFlip", "p": 1}, {"name": "VerticalFlip", "p": 1}], False),
    "transpose": ([{"name": "Transpose", "p": 1}], True),
    "rot90": ([{"name": "RandomRotate90", "p": 1}], False),
    "affine": (
        [
            {
                "name": "Affine",
                "rotate": [-40, 40],
                "scale": [0.7, 1.3],
                "translate_percent": [-0.15, 0.15],
                "shear": [-10, 10],
                "p": 1,
            }
        ],
        False,
    ),
    "perspective": ([{"name": "Perspective", "scale": [0.05, 0.12], "p": 1}], False),
    "crop": ([{"name": "RandomCrop", "height": 60, "width": 70, "p": 1}], False),
    "resize_up": ([{"name": "Resize", "height": 160, "width": 210}], False),
    "resize_down": ([{"name": "Resize", "height": 60, "width": 80}], False),
    "resized_crop": (
        [{"name": "RandomResizedCrop", "size": [80, 100], "scale": [0.4, 1.0], "p": 1}],
        False,
    ),
    "oneof_scale": (
        [
            {"name": "OneOf", "p": 1, "transforms": [{"name": "LongestMaxSize", "max_size": 200}]},
            {"name": "HorizontalFlip", "p": 1},
        ],
        True,
    ),
}


@pytest.mark.parametrize("case", list(GEOMETRIC))
def test_annotations_follow_the_pixels(tmp_path, case):
    transforms, mirrored = GEOMETRIC[case]
    _, dst, out = run(tmp_path, transforms)
    n = check_geometry(dst, out, mirrored)
    assert n["keypoints"] >= 10 and n["boxes"] >= 3, n
    assert len(out["images"]) == 3 * 3


def test_leaving_the_image_sets_v0_and_drops_instances(tmp_path):
    # shift left by 45 px: the left shape (centre ~32 px) goes partly out, some of its dots leave
    _, dst, out = run(tmp_path, [{"name": "Affine", "translate_px": {"x": [-45, -45], "y": [0, 0]}, "p": 1}])
    n = check_geometry(dst, out, False)
    assert n["v0"] > 0
    _, dst, out = run(tmp_path / "b", [{"name": "Crop", "x_min": 0, "y_min": 0, "x_max": 55, "y_max": 90}])
    check_geometry(dst, out, False)
    copies = [i["id"] for i in out["images"] if i["augment"]["copy"] > 0]
    tags = [a["tag"] for a in out["annotations"] if a["image_id"] in copies]
    assert tags == [0] * 6  # the right shape (x > 60 px) is gone from every copy
    stats = json.loads((dst / "stats.json").read_text())
    assert stats["instances_dropped"] == 6 and stats["instances"] == 6 + 6


def test_output_is_coco_and_evaluates_to_ap_one_against_itself(tmp_path):
    _, dst, out = run(tmp_path, AugmentConfig().model_dump()["transforms"], copies=3)
    gt = COCO(str(dst / "annotations.json"))
    for iou_type in ("keypoints", "bbox"):
        dets = [
            {
                "image_id": a["image_id"],
                "category_id": a["category_id"],
                "keypoints": a["keypoints"],
                "bbox": a["bbox"],
                "score": 1.0,
            }
            for a in out["annotations"]
            if a["num_keypoints"] > 0
        ]
        ev = COCOeval(gt, gt.loadRes(dets), iou_type)
        ev.params.kpt_oks_sigmas = np.array(out["categories"][0]["rig"]["sigmas"])
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        assert ev.stats[0] == pytest.approx(1.0)
    assert validate_path(dst) == []  # no error and no warning
    ids = [a["id"] for a in out["annotations"]]
    assert len(set(ids)) == len(ids) and len({i["id"] for i in out["images"]}) == 3 * 4
    assert all(i["source"] == "synthetic" for i in out["images"])
    assert out["categories"][0]["rig"]["flip_pairs"] == [["left_a", "right_a"]]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_bytes_whatever_the_workers_and_resumes(tmp_path):
    src = tmp_path / "src"
    write_dataset(src, n_images=16)  # 16+ images: the stage starts worker processes
    cfg = AugmentConfig(copies=2)
    augment.augment_dataset(cfg, 3, src, tmp_path / "one", workers=1, progress=False)
    augment.augment_dataset(cfg, 3, src, tmp_path / "two", workers=2, progress=False)
    assert snapshot(tmp_path / "one") == snapshot(tmp_path / "two")
    other = augment.augment_dataset(cfg, 4, src, tmp_path / "seed4", workers=1, progress=False)
    assert other != json.loads((tmp_path / "one" / "annotations.json").read_text())

    # a crash on the third image (its header reads, its pixels do not): the first two are kept, not redone
    good = (src / "images/sub/000002.png").read_bytes()
    (src / "images/sub/000002.png").write_bytes(good[:100])
    with pytest.raises(augment.AugmentError, match="000002.png: cannot read image"):
        augment.augment_dataset(cfg, 3, src, tmp_path / "crash", workers=1, progress=False)
    first = tmp_path / "crash/images/sub/000000_aug1.png"
    stamp = first.stat().st_mtime_ns
    assert sorted(augment.finished_parts(tmp_path / "crash")) == [0, 1]
    (src / "images/sub/000002.png").write_bytes(good)
    augment.augment_dataset(cfg, 3, src, tmp_path / "crash", workers=1, progress=False)
    assert first.stat().st_mtime_ns == stamp
    assert snapshot(tmp_path / "crash") == snapshot(tmp_path / "one")
    # params changed: the old output is cleared, not mixed in
    augment.augment_dataset(AugmentConfig(copies=1), 3, src, tmp_path / "crash", workers=1, progress=False)
    assert not (tmp_path / "crash/images/sub/000000_aug2.png").exists()


def test_the_command_with_workers_prints_no_runpy_warning(tmp_path):
    """`python -m pipeline.augmenting.augment`, dvc.yaml's command, with worker processes: no RuntimeWarning
    that the module was imported before runpy ran it (the forkserver preloaded it)."""
    write_dataset(tmp_path / "src", n_images=16, size=(48, 40))  # 16+ images: worker processes
    data = yaml.safe_load((ROOT / "params.yaml").read_text())
    data["augment"].update(copies=1, workers=2)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(data))
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.augmenting.augment", "--params", str(tmp_path / "params.yaml")]
        + ["--input", str(tmp_path / "src"), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "TQDM_DISABLE": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Warning" not in proc.stderr, proc.stderr


def test_bad_input_is_reported_before_any_work(tmp_path):
    src = tmp_path / "src"
    data = write_dataset(src, n_images=2)
    del data["annotations"][1]["segmentation"]
    data["annotations"][2]["keypoints"] = [1, 2, 2]
    (src / "annotations.json").write_text(json.dumps(data))
    os.remove(src / "images/sub/000001.png")
    with pytest.raises(DatasetError) as err:
        augment.augment_dataset(AugmentConfig(), 0, src, tmp_path / "out", workers=1, progress=False)
    msg = str(err.value)
    assert msg.startswith(f"{src / 'annotations.json'}: 3 problem(s)") and "000001.png not found" in msg
    assert "annotations[id=1002].segmentation: missing" in msg
    assert "annotations[id=2001].keypoints: 3 values, expected 3 x 3 = 9" in msg
    assert not (tmp_path / "out").exists()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    data = write_dataset(tmp_path / "ok", n_images=1)
    with pytest.raises(ForeignOutputError, match="holds keep.txt but no spec.json that `rig2kp augment` wrote"):
        augment.augment_dataset(AugmentConfig(), 0, tmp_path / "ok", tmp_path / "busy", workers=1, progress=False)


def test_jpeg_input_stays_jpeg(tmp_path):
    _, dst, out = run(tmp_path, [{"name": "HorizontalFlip", "p": 1}], suffix=".jpg")
    assert all(i["file_name"].endswith(".jpg") for i in out["images"])
    assert (dst / "images/sub/000000_aug1.jpg").is_file()
    assert (dst / "images/sub/000000.jpg").read_bytes() == (tmp_path / "src/images/sub/000000.jpg").read_bytes()


PARAMS = yaml.safe_dump({"seed": 5, "rigs": THING}, sort_keys=False)


def test_cli_and_params_errors(tmp_path, capsys):
    write_dataset(tmp_path / "src", n_images=1)
    params = tmp_path / "params.yaml"
    params.write_text(
        PARAMS
        + textwrap.dedent("""
        augment:
          copies: 1
          workers: 1
          transforms:
            - {name: HorizontalFlip, p: 1.0}
            - {name: MotionBlur, blur_limit: [3, 5], p: 0.5}
        """)
    )
    argv = [
        "--params",
        str(params),
        "--input",
        str(tmp_path / "src"),
        "--output",
        str(tmp_path / "out"),
    ]
    assert augment.main(argv) == 0
    assert "2 images, 4 instances" in capsys.readouterr().out
    params.write_text(PARAMS + "augment:\n  transforms:\n    - {name: MotionBlurr}\n    - {name: Affine, rotat: 3}\n")
    assert augment.main(argv) == 2
    err = capsys.readouterr().err
    assert "augment: transforms[0] (MotionBlurr): not an albumentations transform" in err
    assert "transforms[1] (Affine): unknown argument(s) ['rotat']" in err


@pytest.mark.parametrize(
    ("transforms", "message"),
    [
        ([{"name": "Affine", "rotate": "x"}], r"transforms\[0\] \(Affine\): bad arguments: rotate"),
        (
            [{"name": "OneOf", "transforms": [{"name": "Blurr"}]}],
            r"transforms\[0\].transforms\[0\] \(Blurr\)",
        ),
        ([{"name": "OneOf"}], "non-empty `transforms`"),
        ([{"name": "Normalize"}], "belongs to training"),
        ([{"name": "HorizontalFlip", "transforms": []}], "only composes"),
    ],
)
def test_schema_rejects_bad_transforms(tmp_path, transforms, message):
    params = tmp_path / "params.yaml"
    params.write_text(PARAMS + "augment:\n  transforms: " + json.dumps(transforms) + "\n")
    with pytest.raises(ParamsError, match=message):
        load_params(params)


def test_default_transforms_pass_the_check():
    from pipeline.schema.augment_params import DEFAULT_TRANSFORMS

    cfg = AugmentConfig(transforms=DEFAULT_TRANSFORMS)  # set explicitly: checked against albumentations
    assert [t.name for t in cfg.transforms] == [t.name for t in AugmentConfig().transforms]
    augment_ops.build_pipeline(cfg)


def test_default_params_are_valid():
    root = Path(__file__).resolve().parents[1]
    cfg = load_params(root / "params.yaml").augment
    assert cfg.copies >= 1 and cfg.transforms


def test_more_than_eight_instances_keep_their_own_masks():
    """Masks travel packed as bits (8 per channel); compare with moving each mask on its own."""
    import albumentations as A  # noqa: N812

    rng = np.random.default_rng(0)
    masks = []
    for i in range(11):
        m = np.zeros((64, 80), np.uint8)
        x, y = 4 + (i % 6) * 12, 6 + (i // 6) * 26
        m[y : y + 10 + i % 3, x : x + 8] = 1
        m[rng.integers(0, 64, 30), rng.integers(0, 80, 30)] = 1  # and scattered pixels
        masks.append(m)
    packed = augment_ops.pack_masks(masks)
    assert packed.shape == (64, 80, 2)
    cfg = AugmentConfig(
        transforms=[
            {"name": "Affine", "rotate": [-30, 30], "scale": [0.8, 1.2], "p": 1},
            {"name": "Perspective", "p": 1},
        ]
    )
    pipe = augment_ops.build_pipeline(cfg)
    image = rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)
    pipe.set_random_seed(5)
    moved = augment_ops.unpack_masks(pipe(image=image, mask=packed, keypoints=np.zeros((0, 2)))["mask"], 11)
    for m, got in zip(masks, moved, strict=True):
        alone = A.Compose([A.Affine(rotate=(-30, 30), scale=(0.8, 1.2), p=1), A.Perspective(p=1)])
        alone.set_random_seed(5)
        assert np.array_equal(alone(image=image, mask=m)["mask"], got)
    assert sum(int(g.sum()) for g in moved) > 0.7 * sum(int(m.sum()) for m in masks)


def test_a_symmetric_rig_leaves_every_copy_in_its_canonical_order():
    """A square declared symmetric under quarter turns: after flips and rotations each copy's labels
    are the moved points relabelled within the group so that the rule of docs/guide/symmetry.md holds."""
    turns = [[0, 1, 2, 3], [1, 2, 3, 0], [2, 3, 0, 1], [3, 0, 1, 2]]
    corners = [(30.5, 20.5), (50.5, 20.5), (50.5, 40.5), (30.5, 40.5)]
    mask = np.zeros((60, 80), np.uint8)
    mask[20:41, 30:51] = 1
    rle = mask_utils.encode(np.asfortranarray(mask))
    ann = {
        "category_id": 1,
        "keypoints": [v for x, y in corners for v in (x, y, 2)],
        "num_keypoints": 4,
        "bbox": [30.0, 20.0, 21.0, 21.0],
        "area": float(mask.sum()),
        "segmentation": {"size": [60, 80], "counts": rle["counts"].decode()},
        "iscrowd": 0,
    }
    plain = {
        1: {"id": 1, "name": "quad", "keypoints": ["a", "b", "c", "d"], "rig": {"flip_pairs": [["a", "b"], ["c", "d"]]}}
    }
    symmetric = {1: {**plain[1], "rig": {**plain[1]["rig"], "symmetry_permutations": turns}}}
    cfg = AugmentConfig(
        transforms=[{"name": "HorizontalFlip", "p": 0.5}, {"name": "Affine", "rotate": [-180, 180], "p": 1}]
    )
    pipe = augment_ops.build_pipeline(cfg)
    image = np.zeros((60, 80, 3), np.uint8)
    relabelled = 0
    for seed in range(12):
        _, (free,), _ = augment_ops.augment_image(pipe, image, [ann], as_rigs(plain), seed, 1)
        _, (canon,), _ = augment_ops.augment_image(pipe, image, [ann], as_rigs(symmetric), seed, 1)
        a, b = np.array(free["keypoints"]).reshape(-1, 3), np.array(canon["keypoints"]).reshape(-1, 3)
        assert any(np.array_equal(a[p], b) for p in turns)  # the same points, relabelled within the group
        key = [[(0, y, x) if v > 0 else (1, 0, 0) for x, y, v in b[p]] for p in turns]
        assert key[0] == min(key)  # the rule, written out
        relabelled += not np.array_equal(a, b)
    assert relabelled >= 6


def test_flip_pairs_no_mirror_can_mean_stop_before_the_first_image(tmp_path):
    src = tmp_path / "src"
    data = write_dataset(src, n_images=2)
    data["categories"][0]["rig"]["flip_pairs"] = [["left_a", "right_a"], ["right_a", "mid"]]
    (src / "annotations.json").write_text(json.dumps(data))
    with pytest.raises(DatasetError, match=r"categories\[id=1\]\.rig\.flip_pairs: a keypoint is in two pairs"):
        augment.augment_dataset(AugmentConfig(copies=1), 3, src, tmp_path / "out", workers=1, progress=False)
    assert not list((tmp_path / "out").rglob("*.png"))
