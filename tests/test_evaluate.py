"""train/coco_eval.py and train/evaluate.py: metrics checked against hand computations and
against pycocotools' COCOeval run directly on the same files."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math

import cv2
import numpy as np
import pytest
import torch
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from pipeline.schema import load_params
from tests.support.params import write_train_params as write_params
from tests.support.training import toy_data
from train import evaluate as evaluate_cli
from train import train as train_cli
from train.coco_eval import (
    box_area_ground_truth,
    coco_from_dict,
    evaluate_bbox,
    evaluate_keypoints,
    keypoint_errors,
    load_results,
    per_keypoint_ap,
    pooled_keypoint_errors,
)
from train.dataset import Category, DatasetError, load_split
from train.reporting import report as report_cli
from train.reporting.error_report import breakdown_of_files
from train.toyset import make_toyset


@pytest.fixture(scope="module")
def val(tmp_path_factory):
    root = toy_data(tmp_path_factory.mktemp("toy"), train=2, val=24, test=2)
    return load_split(root / "val.json")


def _perfect(data: dict, shift=(0.0, 0.0), score=1.0) -> list[dict]:
    out = []
    for a in data["annotations"]:
        kp = np.asarray(a["keypoints"], np.float64).reshape(-1, 3)
        kp[:, :2] += shift
        kp[:, 2] = 1
        out.append(
            {
                "image_id": a["image_id"],
                "category_id": a["category_id"],
                "bbox": list(a["bbox"]),
                "score": score,
                "keypoints": kp.ravel().tolist(),
            }
        )
    return out


def _direct(gt_file, res_file, iou_type, sigmas=None, cat_ids=None) -> list[float]:
    """COCOeval exactly as its documentation runs it."""
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_file))
        res = gt.loadRes(str(res_file))
        e = COCOeval(gt, res, iou_type)
        if sigmas is not None:
            e.params.kpt_oks_sigmas = np.asarray(sigmas)
        if cat_ids is not None:
            e.params.catIds = cat_ids
        e.evaluate()
        e.accumulate()
        e.summarize()
    return [float(v) for v in e.stats]


def _ours(stats: dict) -> list[float]:
    return [-1.0 if v is None else v for v in stats.values()]


def test_ground_truth_as_predictions_gives_ap_1(val):
    gt = coco_from_dict(val.data)
    res = load_results(gt, _perfect(val.data))
    cats = list(val.label_map().categories)
    assert {c.num_keypoints for c in cats} == {3, 4}  # two rigs with different K
    kp = evaluate_keypoints(gt, res, cats)
    box = evaluate_bbox(gt, res)
    assert kp.stats["AP"] == pytest.approx(1.0) and kp.stats["AP50"] == pytest.approx(1.0)
    assert box.stats["AP"] == pytest.approx(1.0)
    assert all(row["precision"] == pytest.approx(1.0) for row in kp.pr_curve(0.5))


def test_shifted_keypoints_pixel_error_and_pck_by_hand(val):
    gt = coco_from_dict(val.data)
    res = load_results(gt, _perfect(val.data, shift=(3.0, 4.0)))
    cats = list(val.label_map().categories)
    errors = keypoint_errors(gt, res, evaluate_bbox(gt, res), cats, [0.05, 0.1])
    for cat in cats:
        for j, name in enumerate(cat.keypoints):
            # by hand: every labelled keypoint is 5 px off; correct when 5 <= a * box diagonal
            diags = [
                np.hypot(a["bbox"][2], a["bbox"][3])
                for a in val.data["annotations"]
                if a["category_id"] == cat.id and a["keypoints"][3 * j + 2] > 0
            ]
            got = errors[cat.name][name]
            assert got["matched"] == len(diags) > 0
            assert got["pixel_error"] == pytest.approx(5.0, abs=1e-3)
            for a in (0.05, 0.1):
                assert got[f"pck@{a:g}"] == pytest.approx(np.mean([5.0 <= a * d for d in diags]))
    # the two thresholds must actually differ on this data, or the check above proves little
    pck = [errors["quad"]["left_top"][f"pck@{a:g}"] for a in (0.05, 0.1)]
    assert pck[0] < pck[1]


def test_pooled_pixel_error_and_pck_by_hand(val):
    """Every keypoint (x, y) moved by (x mod 7, 0) px: the median and PCK over all labelled keypoints
    of all categories, computed here from the annotations."""
    gt = coco_from_dict(val.data)
    results = _perfect(val.data)
    for r in results:
        kp = np.asarray(r["keypoints"]).reshape(-1, 3)
        kp[:, 0] += np.floor(kp[:, 0]) % 7
        r["keypoints"] = kp.ravel().tolist()
    res = load_results(gt, results)
    cats = list(val.label_map().categories)
    got = pooled_keypoint_errors(gt, res, evaluate_bbox(gt, res), cats, [0.05, 0.1])
    d, ok05, ok10 = [], [], []
    for a in val.data["annotations"]:
        kp, diag = np.asarray(a["keypoints"]).reshape(-1, 3), np.hypot(a["bbox"][2], a["bbox"][3])
        for x, _, v in kp:
            if v > 0:
                d.append(np.floor(x) % 7)
                ok05.append(d[-1] <= 0.05 * diag)
                ok10.append(d[-1] <= 0.1 * diag)
    assert got["matched"] == len(d) > 20
    assert got["median_px"] == pytest.approx(np.median(d)) and got["mean_px"] == pytest.approx(np.mean(d))
    assert got["pck@0.05"] == pytest.approx(np.mean(ok05)) and got["pck@0.1"] == pytest.approx(np.mean(ok10))
    assert 0 < got["pck@0.05"] < 1  # the thresholds cut this data
    nothing = pooled_keypoint_errors(gt, load_results(gt, []), evaluate_bbox(gt, load_results(gt, [])), cats, [0.1])
    assert nothing == {"matched": 0, "median_px": None, "mean_px": None, "pck@0.1": None}


def _noisy(data: dict, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for r in _perfect(data):
        kp = np.asarray(r["keypoints"]).reshape(-1, 3)
        kp[:, :2] += rng.normal(0, 1.5, size=(len(kp), 2))
        box = np.asarray(r["bbox"]) + rng.normal(0, 3, size=4)
        out.append(
            {
                **r,
                "keypoints": kp.ravel().round(3).tolist(),
                "bbox": box.round(3).tolist(),
                "score": round(float(rng.uniform(0.05, 1)), 4),
            }
        )
        if rng.random() < 0.3:  # a false positive somewhere else in the image
            fp = copy.deepcopy(out[-1])
            fp["bbox"][0] += 30
            fp["keypoints"][0::3] = [x + 30 for x in fp["keypoints"][0::3]]
            fp["score"] = round(float(rng.uniform(0.05, 1)), 4)
            out.append(fp)
    return out


def test_our_ap_equals_cocoeval_on_the_same_files(val, tmp_path):
    """One category, then two categories sharing K: a single COCOeval can run on both."""
    quad = next(c for c in val.categories.values() if c.name == "quad")
    data = copy.deepcopy(val.data)
    twin = {**copy.deepcopy(next(c for c in data["categories"] if c["id"] == quad.id)), "id": 3, "name": "quad2"}
    data["categories"] = [c for c in data["categories"] if c["id"] == quad.id] + [twin]
    anns = [a for a in data["annotations"] if a["category_id"] == quad.id]
    for i, a in enumerate(anns):
        a["category_id"] = 3 if i % 2 else quad.id
    data["annotations"] = anns
    results = _noisy(data, seed=5)
    gt_file, res_file = tmp_path / "gt.json", tmp_path / "res.json"
    gt_file.write_text(json.dumps(data))
    res_file.write_text(json.dumps(results))

    gt = coco_from_dict(json.loads(gt_file.read_text()))
    res = load_results(gt, json.loads(res_file.read_text()))
    cats = [Category.from_json(c) for c in data["categories"]]
    for chosen in ([cats[0]], cats):
        ids = [c.id for c in chosen]
        ours = evaluate_keypoints(gt, res, chosen, oks_scale="mask")
        direct = _direct(gt_file, res_file, "keypoints", quad.sigmas, ids)
        assert _ours(ours.stats) == pytest.approx(direct, abs=1e-12)
        assert 0.1 < ours.stats["AP"] < 0.99  # a non-trivial value
    # oks_scale box: COCOeval on the same file with area = box width * height
    boxed = {**data, "annotations": [{**a, "area": a["bbox"][2] * a["bbox"][3]} for a in data["annotations"]]}
    (tmp_path / "gt_box.json").write_text(json.dumps(boxed))
    direct = _direct(tmp_path / "gt_box.json", res_file, "keypoints", quad.sigmas, [c.id for c in cats])
    assert _ours(evaluate_keypoints(gt, res, cats).stats) == pytest.approx(direct, abs=1e-12)
    ours_box = evaluate_bbox(gt, res)
    assert _ours(ours_box.stats) == pytest.approx(_direct(gt_file, res_file, "bbox"), abs=1e-12)


def test_several_rigs_ap_is_the_mean_of_plain_per_category_runs(val, tmp_path):
    """The documented recipe for rigs with different K: one plain COCOeval per category with its own
    sigmas; the mean of their APs is ours, on the box-area file evaluate writes and on the split file."""
    cats = list(val.label_map().categories)
    assert len({c.num_keypoints for c in cats}) == 2
    results = _noisy(val.data, seed=3)
    res_file, mask_file, box_file = tmp_path / "res.json", tmp_path / "gt.json", tmp_path / "gt_box_area.json"
    res_file.write_text(json.dumps(results))
    mask_file.write_text(json.dumps(val.data))
    box_file.write_text(json.dumps(box_area_ground_truth(val.data)))
    gt = coco_from_dict(val.data)
    res = load_results(gt, results)
    for scale, gt_file in (("box", box_file), ("mask", mask_file)):
        per_cat = [_direct(gt_file, res_file, "keypoints", c.sigmas, [c.id])[0] for c in cats]
        ours = evaluate_keypoints(gt, res, cats, oks_scale=scale).stats["AP"]
        assert ours == pytest.approx(np.mean(per_cat), abs=1e-12)
        assert 0.05 < ours < 0.95 and per_cat[0] != per_cat[1]


def test_per_keypoint_ap_isolates_each_keypoint(val):
    quad = next(c for c in val.categories.values() if c.name == "quad")
    results = [r for r in _perfect(val.data) if r["category_id"] == quad.id]
    for r in results:  # keypoint 0 exact, the others 0.6 box widths off
        kp = np.asarray(r["keypoints"]).reshape(-1, 3)
        x, y, w, h = r["bbox"]
        unlabelled = (kp[:, 0] == 0) & (kp[:, 1] == 0)
        kp[unlabelled, :2] = (x + w / 2, y + h / 2)  # where a model would put them: on the object
        kp[1:, 0] += 0.6 * w
        r["keypoints"] = kp.ravel().tolist()
    aps = per_keypoint_ap(val.data, results, quad)
    assert aps["left_top"] == pytest.approx(1.0)
    assert all(aps[n] < 0.2 for n in quad.keypoints[1:])


def test_sigma_count_mismatch_is_an_error(val):
    gt = coco_from_dict(val.data)
    bad = Category(2, "quad", ("a", "b", "c", "d"), (), (0.05, 0.05), ())
    with pytest.raises(ValueError, match="rig.sigmas has 2 values, expected one per keypoint"):
        evaluate_keypoints(gt, load_results(gt, []), [bad])


def test_no_detections_gives_zero_not_a_crash(val):
    gt = coco_from_dict(val.data)
    kp = evaluate_keypoints(gt, load_results(gt, []), list(val.label_map().categories))
    assert kp.stats["AP"] == 0.0


@pytest.mark.slow
def test_evaluate_cli_writes_metrics_plots_and_sheets(tmp_path, capsys):
    data = toy_data(tmp_path / "data", train=8, val=6, test=4)
    params = write_params(
        tmp_path / "params.yaml",
        train={"epochs": 1, "categories": ["quad"]},
        model={"box_score_thresh": 0.0},
        evaluate={"contact_sheet": 3, "splits": ["val", "test", "val_synthetic", "missing"]},
    )
    args = ["--params", str(params), "--data", str(data)]
    assert train_cli.main([*args, "--out", str(tmp_path / "m"), "--live-dir", str(tmp_path / "live")]) == 0
    out = tmp_path / "metrics"
    capsys.readouterr()
    assert evaluate_cli.main([*args, "--model", str(tmp_path / "m" / "best.pt"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    gaps = [ln for ln in printed.splitlines() if "gap within" in ln or "gap across" in ln]  # two, each named
    assert len(gaps) == 2 and "gap within val (its renders minus its photos)" in gaps[0], printed
    assert gaps[1].startswith("sim-to-real gap across splits (held-out renders minus real photos"), printed
    assert "gap +" not in printed and "gap -" not in printed, printed  # no gap without its name

    report = json.loads((out / "eval.json").read_text())
    assert set(report) == {"val", "test", "val_synthetic", "sim_to_real_gap"}
    assert set(report["val"]) == {"all", "synthetic", "real", "sim_to_real_gap"}
    assert set(report["val_synthetic"]) == {"all", "synthetic"}  # no real images there
    v = report["val"]
    gap = v["synthetic"]["keypoints"]["AP"] - v["real"]["keypoints"]["AP"]
    assert v["sim_to_real_gap"] == pytest.approx(gap)
    # across splits: held-out renders (val_synthetic) against the real images of val
    across = report["val_synthetic"]["synthetic"]["keypoints"]["AP"] - v["real"]["keypoints"]["AP"]
    assert report["sim_to_real_gap"] == pytest.approx(across)
    # the numbers are COCOeval's on the written files (the model only knows quads): the box-area AP on
    # the ground truth evaluate writes with area = box area, the mask-area AP on the split file itself
    quad_sigmas = json.loads((data / "val.json").read_text())["categories"][1]["rig"]["sigmas"]
    pred = out / "predictions" / "val.json"
    assert json.loads(pred.read_text()), "the untrained model should still output boxes at thresh 0"
    boxed = out / "predictions" / "val_gt_box_area.json"
    direct = _direct(boxed, pred, "keypoints", quad_sigmas, [2])
    assert _ours(v["all"]["keypoints"]) == pytest.approx(direct, abs=1e-12)
    direct = _direct(data / "val.json", pred, "keypoints", quad_sigmas, [2])
    assert _ours(v["all"]["keypoints_mask_area"]) == pytest.approx(direct, abs=1e-12)
    assert _ours(v["all"]["bbox"]) == pytest.approx(_direct(data / "val.json", pred, "bbox", cat_ids=[2]))
    assert set(v["all"]["keypoint_error"]) == {"matched", "median_px", "mean_px", "pck@0.05", "pck@0.1"}
    # where the keypoints go wrong: the same figures `rig2kp errors` gives from the written files
    assert v["all"]["error_breakdown"]["quad"] == breakdown_of_files(data / "val.json", pred)["quad"]
    assert set(v["all"]["error_breakdown"]["quad"]) == {"instances", "matched", "visible", "hidden", "left_right"}
    assert "quad: " in printed and "left/right" in printed, printed

    per_kp = json.loads((out / "per_keypoint.json").read_text())
    assert set(per_kp["val"]["quad"]) == {"left_top", "right_top", "right_bottom", "left_bottom"}
    assert {"pixel_error", "pck@0.05", "pck@0.1", "AP", "matched"} <= set(per_kp["val"]["quad"]["left_top"])
    rows = json.loads((out / "plots" / "val_keypoints_oks50.json").read_text())
    assert rows and set(rows[0]) == {"recall", "precision"}
    sheet = cv2.imread(str(out / "contact_sheets" / "val.jpg"))
    # 3 images, 2 per row: ground truth | predictions, each drawn 320 px on its longer side (the
    # toy images are 96 x 96 or 96 x 72), 4 px gaps, a caption line under each row
    assert sheet is not None and sheet.shape[1] == 4 + 2 * (320 + 4 + 320 + 4)
    assert 2 * 240 < sheet.shape[0] < 2 * (320 + 40)

    # the headline: val_synthetic's renders (test holds real photos too) and test's real photos
    sim, real = (json.loads((out / f"{n}.json").read_text()) for n in ("sim", "real"))
    assert sim["images"] == report["val_synthetic"]["synthetic"]["images"]
    assert sim["AP"] == pytest.approx(report["val_synthetic"]["synthetic"]["keypoints"]["AP"], abs=5e-5)
    assert real["AP_mask"] == pytest.approx(report["test"]["real"]["keypoints_mask_area"]["AP"], abs=5e-5)
    assert sim["verdict"] == "not learned" and real["verdict"] is None  # one epoch of 2 batches
    summary = json.loads((out / "summary.json").read_text())
    assert summary["verdict"]["level"] == "not learned" and summary["verdict"]["advice"]
    assert summary["headline"]["sim"]["split"] == "val_synthetic" and summary["model"]["epochs"] == 1
    # the run's page says which weights the model started from, in the train log's words
    page = (out / "report" / "index.md").read_text()
    assert summary["model"]["weights"] and summary["model"]["weights"] in page
    assert "One run is one training seed" in page
    assert "## Where keypoints go wrong" in page and "| val | all | quad |" in page  # and how far seeds alone move AP

    # objects at the model's input: the train boxes' median kept in the checkpoint, each source's beside it,
    # both as a hand-made resize (scale = min(min_size / short side, max_size / long side)) gives them
    ckpt = torch.load(tmp_path / "m" / "best.pt", map_location="cpu", weights_only=False)
    size = ckpt["model_config"]["min_size"], ckpt["model_config"]["max_size"]

    def median_px(split: str, source: str | None) -> float:
        d = json.loads((data / f"{split}.json").read_text())
        ims = {i["id"]: i for i in d["images"] if source is None or i.get("source") == source}
        quads = {c["id"] for c in d["categories"] if c["name"] == "quad"}
        px = [
            math.sqrt(a["bbox"][2] * a["bbox"][3])
            * min(size[0] / min(ims[a["image_id"]]["width"], ims[a["image_id"]]["height"]),
                  size[1] / max(ims[a["image_id"]]["width"], ims[a["image_id"]]["height"]))
            for a in d["annotations"] if a["image_id"] in ims and a["category_id"] in quads
        ]  # fmt: skip
        return float(np.median(px))

    assert ckpt["train_object_px"] == pytest.approx(median_px("train", None), rel=0.02)
    assert v["real"]["object_px"] == pytest.approx(median_px("val", "real"), rel=0.02)
    assert "note: val (real): the objects are" not in printed  # toy photos and renders alike
    ckpt["train_object_px"] = 3 * v["real"]["object_px"]  # as if trained on objects 3x as large
    torch.save(ckpt, tmp_path / "big.pt")
    assert evaluate_cli.main([*args, "--model", str(tmp_path / "big.pt"), "--out", str(tmp_path / "m2")]) == 0
    printed = capsys.readouterr().out
    assert "note: val (real): the objects are a median" in printed and "0.33x the train images'" in printed, printed


@pytest.mark.parametrize("scale", ["box", "mask"])
def test_oks_scale_by_hand_for_a_thin_object(scale):
    """A tube-like object: 100 x 20 px box, 600 px mask. Both keypoints 2 px off, sigma 0.05:
    OKS = exp(-d^2 / (2 s (2 sigma)^2)) with s the box area (2000) or the mask area (600);
    with one ground truth and one detection AP is the share of the ten OKS thresholds met."""
    gt_data = {
        "images": [{"id": 1, "width": 200, "height": 100, "file_name": "a.png"}],
        "categories": [{"id": 1, "name": "tube", "keypoints": ["head", "tail"], "skeleton": []}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [50, 40, 100, 20],
                "area": 600,
                "iscrowd": 0,
                "keypoints": [55, 50, 2, 145, 50, 2],
                "num_keypoints": 2,
            }
        ],
    }
    det = [
        {"image_id": 1, "category_id": 1, "bbox": [50, 40, 100, 20], "score": 0.9, "keypoints": [55, 52, 1, 145, 48, 1]}
    ]
    area = {"box": 2000.0, "mask": 600.0}[scale]
    oks = np.exp(-(2.0**2) / (2 * area * (2 * 0.05) ** 2))
    expected = float(np.mean(np.linspace(0.5, 0.95, 10) <= oks + 1e-12))
    assert expected == {"box": 0.9, "mask": 0.5}[scale]  # thresholds met: 9 of 10, 5 of 10
    gt = coco_from_dict(gt_data)
    cat = Category(1, "tube", ("head", "tail"), (), (0.05, 0.05), ())
    got = evaluate_keypoints(gt, load_results(gt, det), [cat], oks_scale=scale).stats["AP"]
    assert got == pytest.approx(expected)
    assert per_keypoint_ap(gt_data, det, cat, oks_scale=scale)["head"] == pytest.approx(expected)


# ---------------------------------------------------------------- symmetric rigs

QUARTER_TURNS = [[0, 1, 2, 3], [1, 2, 3, 0], [2, 3, 0, 1], [3, 0, 1, 2]]  # the quad's corners, cycled


def _symmetric_quad(split):
    """The toy split with its quad declared symmetric under quarter turns (rig.symmetry_permutations)."""
    data = copy.deepcopy(split.data)
    for c in data["categories"]:
        if c["name"] == "quad":
            c["rig"]["symmetry_permutations"] = QUARTER_TURNS
    (split.path.parent / "val_symmetric.json").write_text(json.dumps(data))
    return load_split(split.path.parent / "val_symmetric.json")


def _relabelled(results: list[dict], quad_id: int, seed: int) -> list[dict]:
    """Each quad prediction relabelled by a quarter turn drawn at random (the identity a quarter of the time)."""
    rng = np.random.default_rng(seed)
    out = []
    for r in results:
        if r["category_id"] == quad_id:
            p = QUARTER_TURNS[rng.integers(4)]
            r = {**r, "keypoints": np.asarray(r["keypoints"]).reshape(-1, 3)[p].ravel().tolist()}
        out.append(r)
    return out


def test_symmetry_aware_ap_and_pck_of_permuted_ground_truth_are_perfect_while_plain_ones_drop(val):
    split = _symmetric_quad(val)
    quad = next(c for c in split.categories.values() if c.name == "quad")
    assert quad.symmetry == tuple(tuple(p) for p in QUARTER_TURNS)
    gt = coco_from_dict(split.data)
    res = load_results(gt, _relabelled(_perfect(split.data), quad.id, seed=0))
    plain = evaluate_keypoints(gt, res, [quad]).stats
    aware = evaluate_keypoints(gt, res, [quad], symmetric=True).stats
    assert aware["AP"] == pytest.approx(1.0) and aware["AR"] == pytest.approx(1.0)
    assert plain["AP"] < 0.5
    box = evaluate_bbox(gt, res)
    errors = keypoint_errors(gt, res, box, [quad], [0.1])["quad"]
    aware_errors = keypoint_errors(gt, res, box, [quad], [0.1], symmetric=True)["quad"]
    assert all(e["pck@0.1"] < 0.6 for e in errors.values())
    assert all(e["pck@0.1"] == 1.0 and e["pixel_error"] == pytest.approx(0, abs=1e-9) for e in aware_errors.values())
    triangle = next(c for c in split.categories.values() if c.name == "triangle")  # no symmetry: as before
    assert (
        evaluate_keypoints(gt, res, [triangle], symmetric=True).stats == evaluate_keypoints(gt, res, [triangle]).stats
    )


def test_evaluate_reports_symmetric_figures_beside_the_plain_ones(val):
    split = _symmetric_quad(val)
    labels = split.label_map()
    quad = next(c for c in labels.categories if c.name == "quad")
    params = load_params(write_params(val.path.parent / "p.yaml"))
    metrics, per_kp, _ = evaluate_cli.split_metrics(
        split, _relabelled(_perfect(split.data), quad.id, 1), labels, params
    )
    assert metrics["all"]["keypoints_symmetric"]["AP"] == pytest.approx(1.0)
    assert metrics["all"]["keypoints"]["AP"] < 0.8  # the mean of the perfect triangle and the relabelled quad
    assert per_kp["quad"]["left_top"]["pck@0.1_symmetric"] == 1.0 and per_kp["quad"]["left_top"]["pck@0.1"] < 0.6
    assert "pck@0.1_symmetric" not in per_kp["triangle"]["apex"]
    plain_metrics, plain_kp, _ = evaluate_cli.split_metrics(val, _perfect(val.data), val.label_map(), params)
    assert "keypoints_symmetric" not in plain_metrics["all"]  # no symmetric rig: the report is as before


def test_symmetry_permutations_must_be_a_group_of_the_keypoints(val):
    data = copy.deepcopy(val.data)
    quad = next(c for c in data["categories"] if c["name"] == "quad")
    quad["rig"]["symmetry_permutations"] = [[1, 2, 3, 0], [0, 1, 2, 2]]
    (val.path.parent / "bad_sym.json").write_text(json.dumps(data))
    with pytest.raises(DatasetError, match=r"rig\.symmetry_permutations: \[0, 1, 2, 2\] is not a permutation"):
        load_split(val.path.parent / "bad_sym.json")
    with pytest.raises(DatasetError, match="the identity is missing"):
        load_split(val.path.parent / "bad_sym.json")


def test_a_model_trained_without_the_symmetry_is_scored_with_the_data_s(val):
    """The group comes from the data's categories, not the checkpoint's: the variant trained
    without a declared symmetry still gets symmetry-aware figures on data that carry it."""
    split = _symmetric_quad(val)
    labels = val.label_map()  # the model's categories: no symmetry
    assert not any(c.symmetry for c in labels.categories)
    quad = next(c for c in labels.categories if c.name == "quad")
    params = load_params(write_params(val.path.parent / "p2.yaml"))
    metrics, _, _ = evaluate_cli.split_metrics(split, _relabelled(_perfect(split.data), quad.id, 2), labels, params)
    assert metrics["all"]["keypoints_symmetric"]["AP"] == pytest.approx(1.0)


@pytest.mark.slow
def test_plain_cocoeval_on_the_written_files_reproduces_both_reported_aps_and_the_page_shows_them(tmp_path, capsys):
    """A model that learned a little (160 steps on toy triangles), evaluated by the stage; then
    the documented recipe, written out here with pycocotools alone: load the ground truth, set
    kpt_oks_sigmas from categories[].rig.sigmas, evaluate. On `<split>_gt_box_area.json` it gives
    the box-area AP we report, on the split file itself the mask-area AP."""
    data = make_toyset(tmp_path / "data", train=64, val=16, test=2, sizes=((96, 96),), categories=("triangle",),
                       shapes=(1, 2))  # fmt: skip
    params = write_params(
        tmp_path / "p.yaml",
        train={"epochs": 10, "optimizer": "adamw", "lr": 0.003, "warmup_iters": 20, "eval_every": 10,
               "augment": {"affine": 0.0}},
        evaluate={"contact_sheet": 2},
    )  # fmt: skip
    args = ["--params", str(params), "--input", str(data)]
    assert train_cli.main([*args, "--out", str(tmp_path / "m"), "--live-dir", str(tmp_path / "live")]) == 0
    out = tmp_path / "metrics"
    assert evaluate_cli.main([*args, "--model", str(tmp_path / "m" / "best.pt"), "--out", str(out)]) == 0
    report = json.loads((out / "eval.json").read_text())

    def recipe(gt_file, res_file, iou_type="keypoints") -> list[float]:
        with contextlib.redirect_stdout(io.StringIO()):
            gt = COCO(str(gt_file))
            e = COCOeval(gt, gt.loadRes(str(res_file)), iou_type)
            if iou_type == "keypoints":
                e.params.kpt_oks_sigmas = np.array(gt.loadCats(gt.getCatIds())[0]["rig"]["sigmas"])
            e.evaluate()
            e.accumulate()
            e.summarize()
        return list(e.stats)

    checked = 0
    for split in ("val", "val_synthetic"):
        reported = report[split]["all"]
        res = out / "predictions" / f"{split}.json"
        box_area = recipe(out / "predictions" / f"{split}_gt_box_area.json", res)
        mask_area = recipe(data / f"{split}.json", res)
        assert box_area == pytest.approx(_ours(reported["keypoints"]), abs=1e-12)
        assert mask_area == pytest.approx(_ours(reported["keypoints_mask_area"]), abs=1e-12)
        assert recipe(data / f"{split}.json", res, "bbox") == pytest.approx(_ours(reported["bbox"]), abs=1e-12)
        checked += box_area[0] > 0.005 and box_area[0] != mask_area[0]  # non-trivial and the scales differ
    assert checked, "the model should have learned enough for the two scales to differ"

    # the run's page: the headline, the verdict, every split, the curves, the per-keypoint tables, the sheets
    page = (out / "report" / "index.md").read_text()
    summary = json.loads((out / "summary.json").read_text())
    assert f"**{summary['verdict']['level']}** on held-out renders (val_synthetic, synthetic images)" in page
    assert f"| {report['val']['all']['keypoints']['AP']:.3f} |" in page
    per_kp = json.loads((out / "per_keypoint.json").read_text())
    apex = per_kp["val"]["triangle"]["apex"]
    assert f"| apex | {apex['matched']} | {apex['pixel_error']:.3f} |" in page
    for split in ("val", "test", "val_synthetic"):
        png = cv2.imread(str(out / "report" / f"pr_{split}.png"))
        assert png is not None and png.shape[1] > 300, split
        assert f"![{split}](pr_{split}.png)" in page
        assert f"![{split}](../contact_sheets/{split}.jpg)" in page
    # `rig2kp report` prints the same headline and verdict from the files
    capsys.readouterr()
    assert report_cli.main(["--input", str(out), "--no-page"]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split() == ["images", "AP", "AP50", "AP_mask", "box_AP", "px", "pck", "gap"]
    assert f"verdict: {summary['verdict']['level'].upper()}" in printed
