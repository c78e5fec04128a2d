"""Evaluate a trained model on the dataset's splits (DVC stage `evaluate`).

    python -m train.evaluate --params params.yaml --input data/mixed \
        --model models/best.pt --out metrics

Writes, under --out:
  sim.json, real.json  the headline (train/reporting/headline.py): the only files `dvc metrics show` lists,
                       held-out renders and real photos, one row each, with the verdict
  summary.json         where the headline rows come from, the model, and the verdict with its
                       reasons and what to change (train/reporting/verdict.py)
  eval.json            keypoint and box COCO AP/AR per split and per source (all / synthetic /
                       real), keypoint AP at both OKS scales (`keypoints` at evaluate.oks_scale,
                       `keypoints_mask_area` or `keypoints_box_area` at the other), pooled pixel
                       error and PCK (`keypoint_error`), and `sim_to_real_gap` = synthetic minus
                       real keypoint AP; `error_breakdown`: visible against hidden keypoints'
                       error and left/right swaps (train/error_breakdown.py); with a symmetric
                       rig also `keypoints_symmetric`
  per_keypoint.json    per split, category and keypoint: pixel error, PCK, AP (and the
                       symmetry-aware pixel error and PCK, `..._symmetric`, for symmetric rigs)
  plots/*.json         precision-recall curves (recall, precision) for `dvc plots`
  predictions/*.json   COCO results of every split, and `<split>_gt_box_area.json`: the split's
                       ground truth with `area` = box area, on which a plain COCOeval with the
                       rig's sigmas gives the box-scaled AP (docs/guide/evaluate.md)
  contact_sheets/*.jpg ground truth (left, green) beside predictions (right, red)
  report/index.md      the run's page: all of the above with PR-curve PNGs (train/reporting/report_page.py)
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from common.atomic import write_bytes, write_json
from pipeline.drawing.contact_sheet import contact_sheet, side_by_side
from pipeline.drawing.draw import draw_annotations
from pipeline.drawing.draw_style import GT_COLOR, PRED_COLOR
from pipeline.errors import run_command
from pipeline.outputs import Owner, refuse_overlap, take_output
from pipeline.schema import Params
from pipeline.stage_args import add_input, add_out, add_params_args, params_from_args, stage_parser
from train import coco_eval
from train.checkpoint import load, model_from_checkpoint
from train.dataset import (
    CocoSplit,
    DatasetError,
    KeypointDataset,
    LabelMap,
    check_same_categories,
    load_split,
    read_rgb,
)
from train.ddp import World
from train.devices import place_model, setup_device
from train.engine import predict
from train.error_breakdown import describe as describe_errors
from train.error_breakdown import error_breakdown
from train.loaders import eval_loader
from train.reporting.headline import PCK_AT, Row, describe, format_table, headline_rows, other_key, other_scale
from train.reporting.object_scale import capped_share, scale_note
from train.reporting.report_page import write_report
from train.reporting.verdict import Training, Verdict, judge, object_size_px

TILE = 320  # px, the longer side of each image in a contact sheet


def split_metrics(split: CocoSplit, results: list[dict], labels: LabelMap, params: Params) -> tuple[dict, dict, dict]:
    """(metrics by source, per-keypoint metrics, PR curves) of one split's results."""
    cfg = params.evaluate
    gt = coco_eval.coco_from_dict(split.data)
    res = coco_eval.load_results(gt, results)
    # a symmetry belongs to the objects in the data: a model trained without it is scored with it too
    cats = [
        replace(c, symmetry=split.categories[c.id].symmetry) if c.id in split.categories else c
        for c in labels.categories
    ]
    cat_ids = [c.id for c in cats]
    sources = {"all": None}
    for source in ("synthetic", "real"):
        ids = [im["id"] for im in split.images if im.get("source") == source]
        if ids:
            sources[source] = ids
    metrics, curves = {}, {}
    box_all = None
    symmetric = any(c.symmetry for c in cats)
    thresholds = sorted({*cfg.pck_thresholds, PCK_AT})
    for source, ids in sources.items():
        kp = coco_eval.evaluate_keypoints(gt, res, cats, ids, cfg.oks_scale)
        other = coco_eval.evaluate_keypoints(gt, res, cats, ids, other_scale(cfg.oks_scale))
        box = coco_eval.evaluate_bbox(gt, res, ids, cat_ids)
        n = len(ids) if ids is not None else len(split.images)
        metrics[source] = {
            "images": n,
            "keypoints": kp.stats,
            other_key(cfg.oks_scale): other.stats,
            "bbox": box.stats,
            "keypoint_error": coco_eval.pooled_keypoint_errors(gt, res, box, cats, thresholds),
            "error_breakdown": error_breakdown(gt, res, box, cats),
        }
        if symmetric:
            metrics[source]["keypoints_symmetric"] = coco_eval.evaluate_keypoints(
                gt, res, cats, ids, cfg.oks_scale, symmetric=True
            ).stats
        if source == "all":
            box_all = box
            curves["keypoints_oks50"] = kp.pr_curve(0.5)
            curves["keypoints_oks75"] = kp.pr_curve(0.75)
            curves["bbox_iou50"] = box.pr_curve(0.5)
    if "synthetic" in metrics and "real" in metrics:
        syn, real = metrics["synthetic"]["keypoints"]["AP"], metrics["real"]["keypoints"]["AP"]
        if syn is not None and real is not None:
            metrics["sim_to_real_gap"] = syn - real
    per_kp = coco_eval.keypoint_errors(gt, res, box_all, cats, cfg.pck_thresholds)
    if symmetric:
        aware = coco_eval.keypoint_errors(gt, res, box_all, cats, cfg.pck_thresholds, symmetric=True)
        for cat in (c for c in cats if c.symmetry):
            for name, entry in per_kp[cat.name].items():
                entry.update({f"{k}_symmetric": v for k, v in aware[cat.name][name].items() if k != "matched"})
    if cfg.per_keypoint_ap:
        for cat in cats:
            for name, ap in coco_eval.per_keypoint_ap(split.data, results, cat, oks_scale=cfg.oks_scale).items():
                per_kp[cat.name][name]["AP"] = ap
    return metrics, per_kp, curves


def object_scale_notes(name: str, split: CocoSplit, metrics: dict, model_cfg, train_px: float | None) -> list[str]:
    """Each source's median object size at the model's input into `metrics` (`object_px`), and a
    note where it is far from the train images' (train/reporting/object_scale.py)."""
    lines = []
    for source in (s for s in ("synthetic", "real") if s in metrics):
        images = [im for im in split.images if im.get("source") == source]
        px = object_size_px(split, {im["id"] for im in images}, model_cfg.min_size, model_cfg.max_size)
        metrics[source]["object_px"] = px
        capped = capped_share(images, model_cfg.min_size, model_cfg.max_size)
        if note := scale_note(f"{name} ({source})", px, train_px, capped, model_cfg.min_size, model_cfg.max_size):
            lines.append(note)
    return lines


def overall_gap(report: dict) -> float | None:
    """Synthetic minus real keypoint AP across splits: the mix stage puts real images alone in
    val / test and held-out renders in val_synthetic, so the two sides come from different
    splits (val_synthetic, else val, for synthetic; val, else test, for real)."""

    def ap(splits: tuple[str, ...], source: str) -> float | None:
        for name in splits:
            value = report.get(name, {}).get(source, {}).get("keypoints", {}).get("AP")
            if value is not None:
                return value
        return None

    syn, real = ap(("val_synthetic", "val"), "synthetic"), ap(("val", "test"), "real")
    return None if syn is None or real is None else syn - real


def write_contact_sheet(
    path: Path, split: CocoSplit, results: list[dict], labels: LabelMap, n: int, thresh: float
) -> None:
    """Up to n images spread evenly over the split (by id), ground truth of the model's
    categories beside predictions, each drawn with its longer side at TILE px."""
    images = sorted(split.images, key=lambda im: im["id"])
    picks = [images[i] for i in sorted({int(i) for i in np.linspace(0, len(images) - 1, n)})]
    cats = labels.to_json()
    by_image: dict[int, list[dict]] = {}
    for r in results:
        if r["score"] >= thresh:
            by_image.setdefault(r["image_id"], []).append(r)
    tiles, captions = [], []
    plain = {"labels": False, "masks": False, "side": TILE}
    for im in picks:
        rgb = read_rgb(split.root / im["file_name"])
        known = [a for a in split.anns_by_image.get(im["id"], []) if labels.label_of(a["category_id"])]
        gt = draw_annotations(rgb, known, cats, color=GT_COLOR, captions=True, **plain)
        pred = draw_annotations(rgb, by_image.get(im["id"], []), cats, color=PRED_COLOR, results=True, **plain)
        tiles.append(side_by_side(gt, pred))
        captions.append(f"#{im['id']} {Path(im['file_name']).name}: ground truth | predictions")
    sheet = contact_sheet(tiles, columns=2, captions=captions, thumb=2 * TILE + 4)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(np.asarray(sheet), cv2.COLOR_RGB2BGR))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, jpeg.tobytes())


# evaluate writes its files by name and deletes nothing; a folder holding only these names (an earlier
# evaluate, whole or cut short; render.json, which dvc.yaml's render stage writes beside them in
# metrics/; the .gitignore DVC keeps there) is its own, as is one whose summary.json it wrote;
# anything else is refused
OWNER = Owner(
    "evaluate",
    "summary.json",
    {"written_by": "rig2kp evaluate"},
    ignore=(
        *("eval.json", "per_keypoint.json", "summary.json", "sim.json", "real.json"),
        *("predictions", "plots", "contact_sheets", "report", "render.json", ".gitignore", ".*.tmp"),
    ),
)


def run(args: argparse.Namespace) -> int:
    params = params_from_args(args)
    cfg = params.evaluate
    data, out = Path(args.input), Path(args.out)
    refuse_overlap(out, {"--input folder": data, "--model": args.model})
    take_output(out, OWNER)
    splits = {}
    for name in cfg.splits:
        path = data / f"{name}.json"
        if path.is_file():
            splits[name] = load_split(path)
        else:
            print(f"note: {path} not found; split {name!r} skipped")
    if not splits:
        raise DatasetError(f"{data}: none of the splits {cfg.splits} found (evaluate.splits)")
    ckpt = load(args.model)
    model, labels, model_cfg = model_from_checkpoint(ckpt)
    fit = (model_cfg.min_size, model_cfg.max_size)  # loaded as in training: area-downscaled
    for split in splits.values():
        check_same_categories(split, labels, str(args.model))
    setup = setup_device(params.runtime)
    place_model(model, setup)
    print(f"device: {setup.describe()}; model {args.model} (epoch {ckpt['state']['epoch']})")

    report, per_keypoint = {}, {}
    for name, split in splits.items():
        ds = KeypointDataset(split, labels, fit=fit)
        loader = eval_loader(ds, params.runtime.predict_batch_size, params.runtime.workers, setup, world=World())
        results = predict(model, loader, setup, labels, desc=name)
        _write_json(out / "predictions" / f"{name}.json", results)
        metrics, per_kp, curves = split_metrics(split, results, labels, params)
        report[name], per_keypoint[name] = metrics, per_kp
        for curve, rows in curves.items():
            _write_json(out / "plots" / f"{name}_{curve}.json", rows)
        if cfg.contact_sheet:
            sheet = out / "contact_sheets" / f"{name}.jpg"
            write_contact_sheet(sheet, split, results, labels, cfg.contact_sheet, cfg.draw_score_thresh)
        kp = metrics["all"]["keypoints"]
        gap = metrics.get("sim_to_real_gap")
        sym = metrics["all"].get("keypoints_symmetric")
        print(
            f"{name}: keypoint AP {_fmt(kp['AP'])}  AP50 {_fmt(kp['AP50'])}  box AP "
            f"{_fmt(metrics['all']['bbox']['AP'])}"
            + (f"  symmetry-aware AP {_fmt(sym['AP'])}" if sym else "")
            + (f"  gap within {name} (its renders minus its photos) {gap:+.4f}" if gap is not None else "")
        )
        print("\n".join(f"  {line}" for line in describe_errors(metrics["all"]["error_breakdown"])))
        for line in object_scale_notes(name, split, metrics, model_cfg, ckpt.get("train_object_px")):
            print(f"  {line}")
        _write_json(out / "predictions" / f"{name}_gt_box_area.json", coco_eval.box_area_ground_truth(split.data))
    gap = overall_gap(report)
    if gap is not None:
        report["sim_to_real_gap"] = gap
        print(f"sim-to-real gap across splits (held-out renders minus real photos, keypoint AP): {gap:+.4f}")
    _write_json(out / "eval.json", report)
    _write_json(out / "per_keypoint.json", per_keypoint)

    rows = headline_rows(report, cfg.oks_scale)
    symmetric = any(c.symmetry for s in splits.values() for c in s.categories.values())
    training = Training.from_checkpoint(ckpt, symmetric)
    verdict = judge_run(rows, splits, training, model_cfg, on_cpu=setup.device.type == "cpu")
    summary = {
        **OWNER.keys,
        "oks_scale": cfg.oks_scale,
        "model": {
            "path": str(args.model),
            "backbone": model_cfg.backbone,
            "pretrained": training.pretrained,
            "weights": training.weights,
            "keypoints": training.keypoints,
            "epoch": training.epoch,
            "epochs": training.epochs,
            "steps": training.steps,
            "batch_size": training.batch_size,
        },
        "headline": describe(rows),
        "verdict": verdict.to_json(),
    }
    for name, row in rows.items():
        _write_json(out / f"{name}.json", row.values)
    _write_json(out / "summary.json", summary)
    page = write_report(out)
    print(format_table(rows))
    print("\n".join(verdict.lines()))
    print(f"wrote {out / 'sim.json'}, {out / 'real.json'} (dvc metrics show), eval.json, per_keypoint.json, {page}")
    return 0


def judge_run(
    rows: dict[str, Row], splits: dict[str, CocoSplit], training: Training, model_cfg, on_cpu: bool
) -> Verdict:
    """The verdict on the held-out renders' row, else the real photos' (the row gets the word)."""
    row = rows["sim"] if rows["sim"].split else rows["real"]
    if row.split is None:
        return Verdict("unknown", "no evaluated split", ["no images to judge"])
    split = splits[row.split]
    ids = {im["id"] for im in split.images if im.get("source") == row.source}
    size = object_size_px(split, ids, model_cfg.min_size, model_cfg.max_size)
    verdict = judge(row.values, row.title, training, size, on_cpu)
    row.values["verdict"] = verdict.level
    return verdict


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.4f}"


def _write_json(path: Path, obj) -> None:
    write_json(path, obj, indent=1)


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("rig2kp evaluate", __doc__)
    add_params_args(parser)
    add_input(parser, "data/mixed", "dataset folder with <split>.json", old="--data")
    parser.add_argument("--model", default="models/best.pt", help="checkpoint to evaluate")
    add_out(parser, "metrics", "folder for metrics, plots, predictions and contact sheets")
    args = parser.parse_args(argv)
    return run_command(lambda: run(args))


if __name__ == "__main__":
    raise SystemExit(main())
