"""COCO metrics with pycocotools: keypoint AP with each rig's OKS sigmas, box AP, per-keypoint
pixel error / PCK / AP, and precision-recall curves.

pycocotools takes one sigma list for a whole evaluation, and rigs differ in K, so keypoints are
evaluated one category at a time and the per-category precision tables are joined before
COCOeval's own `summarize` (exactly what one COCOeval over all categories would do when the
categories share K).

A symmetric rig (its category's `rig.symmetry_permutations`, see common/symmetry.py) is also
scored symmetry-aware: a detection's OKS against a ground truth is the best over the rig's
relabellings of the detection, and its PCK takes, per matched pair, the relabelling closest to
the ground truth. The plain figures score the labels as written.
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from train.dataset import Category

STAT_NAMES = {
    "keypoints": ["AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"],
    "bbox": [
        "AP",
        "AP50",
        "AP75",
        "APs",
        "APm",
        "APl",
        "AR1",
        "AR10",
        "AR100",
        "ARs",
        "ARm",
        "ARl",
    ],
}


def quiet(fn, *args, **kwargs):
    """Call a pycocotools function without its prints."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def coco_from_dict(data: dict) -> COCO:
    coco = COCO()
    coco.dataset = data
    quiet(coco.createIndex)
    return coco


def load_results(gt: COCO, results: list[dict]) -> COCO:
    """COCO results (copied: loadRes edits them); an empty list gives an empty result set."""
    if results:
        return quiet(gt.loadRes, copy.deepcopy(results))
    return coco_from_dict({"images": gt.dataset["images"], "categories": gt.dataset["categories"], "annotations": []})


def _stats(e: COCOeval, iou_type: str) -> dict[str, float | None]:
    """COCOeval's summary numbers by name; -1 (nothing to measure) becomes None."""
    quiet(e.summarize)
    return {n: (float(v) if v > -1 else None) for n, v in zip(STAT_NAMES[iou_type], e.stats, strict=True)}


@dataclass
class Evaluation:
    stats: dict[str, float | None]
    precision: np.ndarray  # [T, R, categories, areas, maxDets], -1 where nothing to measure
    iou_thrs: np.ndarray
    rec_thrs: np.ndarray
    coco_eval: COCOeval

    def pr_curve(self, iou: float) -> list[dict]:
        """Precision at each recall threshold (area all, most detections), mean over categories."""
        t = int(np.argmin(np.abs(self.iou_thrs - iou)))
        p = self.precision[t, :, :, 0, -1]
        rows = []
        for r, row in zip(self.rec_thrs, p, strict=True):
            valid = row[row > -1]
            if valid.size:
                rows.append({"recall": round(float(r), 4), "precision": round(float(valid.mean()), 6)})
        return rows


def evaluate_bbox(
    gt: COCO, res: COCO, img_ids: list[int] | None = None, cat_ids: list[int] | None = None
) -> Evaluation:
    e = COCOeval(gt, res, "bbox")
    if cat_ids is not None:
        e.params.catIds = list(cat_ids)
    if img_ids is not None:
        e.params.imgIds = sorted(img_ids)
    quiet(e.evaluate)
    quiet(e.accumulate)
    return Evaluation(_stats(e, "bbox"), e.eval["precision"], e.params.iouThrs, e.params.recThrs, e)


def box_area_ground_truth(data: dict) -> dict:
    """A COCO dict whose `area` is each annotation's box width * height: the OKS scale of
    `oks_scale: box`, as a file a plain COCOeval reads (docs/guide/evaluate.md).

    COCO scales OKS by the segment area, which suits people; for a thin object (a tube, a pen)
    the mask is a sliver and a 3-pixel error already fails, while real exports often carry only
    the box area. The box area judges renders and real photos on one scale.
    """
    anns = [{**a, "area": float(a["bbox"][2] * a["bbox"][3])} for a in data["annotations"]]
    return {**data, "annotations": anns}


def with_box_areas(gt: COCO) -> COCO:
    """The ground truth with `area` = box width * height (see box_area_ground_truth)."""
    return coco_from_dict(box_area_ground_truth(gt.dataset))


class SymmetricCOCOeval(COCOeval):
    """COCOeval whose OKS of a detection and a ground truth is the best over the rig's relabellings."""

    def __init__(self, gt: COCO, res: COCO, permutations) -> None:
        super().__init__(gt, res, "keypoints")
        self.slots = [np.ravel([[3 * j, 3 * j + 1, 3 * j + 2] for j in p]) for p in permutations]

    def computeOks(self, imgId, catId):  # noqa: N802, N803 (pycocotools' names)
        dts = self._dts[imgId, catId]
        best = []
        try:
            for slots in self.slots:  # detection relabelled: slot i takes keypoint p[i]
                self._dts[imgId, catId] = [{**d, "keypoints": np.asarray(d["keypoints"])[slots]} for d in dts]
                ious = super().computeOks(imgId, catId)
                best = ious if len(best) == 0 else np.maximum(best, ious)
        finally:
            self._dts[imgId, catId] = dts
        return best


def _keypoint_eval(gt: COCO, res: COCO, cat: Category, img_ids: list[int] | None, symmetric: bool = False) -> COCOeval:
    if len(cat.sigmas) != cat.num_keypoints:
        raise ValueError(
            f"category {cat.name!r}: rig.sigmas has {len(cat.sigmas)} values, "
            f"expected one per keypoint ({cat.num_keypoints})"
        )
    e = SymmetricCOCOeval(gt, res, cat.symmetry) if symmetric and cat.symmetry else COCOeval(gt, res, "keypoints")
    e.params.catIds = [cat.id]
    e.params.kpt_oks_sigmas = np.asarray(cat.sigmas, dtype=np.float64)
    if img_ids is not None:
        e.params.imgIds = sorted(img_ids)
    quiet(e.evaluate)
    quiet(e.accumulate)
    return e


def evaluate_keypoints(
    gt: COCO,
    res: COCO,
    categories: list[Category],
    img_ids: list[int] | None = None,
    oks_scale: str = "box",
    symmetric: bool = False,
) -> Evaluation:
    """Keypoint AP/AR over `categories`, each with its own OKS sigmas; `oks_scale` box or mask
    (the annotations' own `area`, COCO's rule); `symmetric`: symmetric rigs scored symmetry-aware."""
    if oks_scale == "box":
        gt = with_box_areas(gt)
    evals = [_keypoint_eval(gt, res, c, img_ids, symmetric) for c in categories]
    joined = evals[0]
    if len(evals) > 1:
        joined = copy.copy(evals[0])
        joined.params = copy.deepcopy(evals[0].params)
        joined.params.catIds = [c.id for c in categories]
        joined.eval = dict(evals[0].eval)
        joined.eval["precision"] = np.concatenate([e.eval["precision"] for e in evals], axis=2)
        joined.eval["recall"] = np.concatenate([e.eval["recall"] for e in evals], axis=1)
        joined.eval["scores"] = np.concatenate([e.eval["scores"] for e in evals], axis=2)
    p = joined.eval["precision"]
    return Evaluation(_stats(joined, "keypoints"), p, joined.params.iouThrs, joined.params.recThrs, joined)


def per_keypoint_ap(
    gt_data: dict, results: list[dict], cat: Category, img_ids: list[int] | None = None, oks_scale: str = "box"
) -> dict[str, float | None]:
    """OKS AP of each keypoint alone: the ground truth keeps only that keypoint labelled.

    OKS averages over labelled ground-truth keypoints, so with one left it is that keypoint's
    similarity; instances where it is unlabelled are ignored (num_keypoints = 0).
    """
    out = {}
    for j, name in enumerate(cat.keypoints):
        anns = []
        for a in gt_data["annotations"]:
            if a["category_id"] != cat.id:
                continue
            kp = np.zeros(3 * cat.num_keypoints)
            kp[3 * j : 3 * j + 3] = a["keypoints"][3 * j : 3 * j + 3]
            anns.append({**a, "keypoints": kp.tolist(), "num_keypoints": int(kp[3 * j + 2] > 0)})
        gt = coco_from_dict({**gt_data, "annotations": anns})
        if oks_scale == "box":
            gt = with_box_areas(gt)
        own = [r for r in results if r["category_id"] == cat.id]
        e = _keypoint_eval(gt, load_results(gt, own), cat, img_ids)
        out[name] = _stats(e, "keypoints")["AP"]
    return out


def matched_pairs(box_eval: Evaluation) -> list[tuple[int, int]]:
    """(detection id, ground-truth id) of every detection matched at box IoU 0.5 (area range all)."""
    e = box_eval.coco_eval
    pairs = []
    all_area = e.params.areaRng[0]
    for ev in e.evalImgs:
        if ev is None or ev["aRng"] != all_area:
            continue
        for d, g, ign in zip(ev["dtIds"], ev["dtMatches"][0], ev["dtIgnore"][0], strict=True):
            if g > 0 and not ign:
                pairs.append((d, int(g)))
    return pairs


def matched_keypoints(
    gt: COCO, res: COCO, box_eval: Evaluation, category_ids: set[int]
) -> Iterator[tuple[dict, np.ndarray, np.ndarray]]:
    """(ground-truth annotation, its keypoints as (K, 3), the matched detection's first K as (K, 3))
    of every pair matched at box IoU 0.5 whose category is one of `category_ids`."""
    for d, g in matched_pairs(box_eval):
        ann = gt.anns[g]
        if ann["category_id"] not in category_ids:
            continue
        k = len(ann["keypoints"]) // 3
        gk = np.asarray(ann["keypoints"], np.float64).reshape(k, 3)
        yield ann, gk, np.asarray(res.anns[d]["keypoints"], np.float64).reshape(-1, 3)[:k]


def _distances(
    gt: COCO, res: COCO, box_eval: Evaluation, categories: list[Category], symmetric: bool
) -> dict[tuple[int, int], list[tuple[float, float]]]:
    """(category id, keypoint index) -> [(pixel distance, ground-truth box diagonal)] over the
    labelled keypoints of matched pairs (pixels, continuous coordinates)."""
    groups = {c.id: np.asarray(c.symmetry, int) for c in categories if symmetric and c.symmetry}
    dist = defaultdict(list)
    for gt_ann, gk, dk in matched_keypoints(gt, res, box_eval, {c.id for c in categories}):
        if gt_ann["category_id"] in groups:
            seen = gk[:, 2] > 0
            cost = (((dk[groups[gt_ann["category_id"]]][:, :, :2] - gk[:, :2]) ** 2).sum(axis=2) * seen).sum(axis=1)
            dk = dk[groups[gt_ann["category_id"]][int(np.argmin(cost))]]
        diag = float(np.hypot(gt_ann["bbox"][2], gt_ann["bbox"][3]))
        for j in np.flatnonzero(gk[:, 2] > 0):
            dist[(gt_ann["category_id"], int(j))].append((float(np.hypot(*(dk[j, :2] - gk[j, :2]))), diag))
    return dist


def keypoint_errors(
    gt: COCO,
    res: COCO,
    box_eval: Evaluation,
    categories: list[Category],
    thresholds: list[float],
    symmetric: bool = False,
) -> dict[str, dict]:
    """Pixel error and PCK per keypoint over detections matched to a ground truth at box IoU 0.5.

    A labelled (v > 0) ground-truth keypoint counts as correct at threshold a when the predicted
    one lies within a * the ground-truth box diagonal (pixels, continuous coordinates).
    Unmatched ground truths do not count here (box recall is in the box metrics). `symmetric`:
    a symmetric rig's prediction is first relabelled by the permutation of its group with the
    least sum of squared distances over the labelled keypoints.
    """
    dist = _distances(gt, res, box_eval, categories, symmetric)
    out = {}
    for cat in categories:
        per_kp = {}
        for j, name in enumerate(cat.keypoints):
            rows = np.asarray(dist.get((cat.id, j), []), np.float64).reshape(-1, 2)
            entry = {"matched": int(len(rows))}
            entry["pixel_error"] = float(rows[:, 0].mean()) if len(rows) else None
            for a in thresholds:
                entry[f"pck@{a:g}"] = float((rows[:, 0] <= a * rows[:, 1]).mean()) if len(rows) else None
            per_kp[name] = entry
        out[cat.name] = per_kp
    return out


def pooled_keypoint_errors(
    gt: COCO, res: COCO, box_eval: Evaluation, categories: list[Category], thresholds: list[float]
) -> dict[str, float | int | None]:
    """keypoint_errors pooled over every labelled keypoint of every matched pair (all keypoints
    and categories together): `matched` (keypoints), `median_px`, `mean_px`, `pck@a` (None
    when nothing matched). The headline's pixel error and PCK (train/reporting/headline.py)."""
    rows = [r for rs in _distances(gt, res, box_eval, categories, False).values() for r in rs]
    arr = np.asarray(rows, np.float64).reshape(-1, 2)
    out: dict[str, float | int | None] = {"matched": int(len(arr))}
    out["median_px"] = float(np.median(arr[:, 0])) if len(arr) else None
    out["mean_px"] = float(arr[:, 0].mean()) if len(arr) else None
    for a in thresholds:
        out[f"pck@{a:g}"] = float((arr[:, 0] <= a * arr[:, 1]).mean()) if len(arr) else None
    return out
