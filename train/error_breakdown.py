"""Where a detector's keypoints go wrong: the error of visible against hidden keypoints, and how
often a left/right pair comes out swapped.

AP says how much is wrong, not what. Two failures dominate on rigs seen from every side (the
scanned toy of docs/results/2026-12-05-pretrained-start.md): keypoints labelled behind the object
(COCO `v = 1`) that the detector has to guess, and mirror-image pairs (left_eye / right_eye) that
it labels the wrong way round. Both are measured on the detections that evaluate already matches
to a ground truth (box IoU 0.5, COCOeval's greedy matching), with errors as a share of the
ground-truth box diagonal, the scale of PCK.

evaluate writes these figures into eval.json (`error_breakdown`) and the run's page; `rig2kp
errors` (train/reporting/error_report.py) computes them for any COCO keypoint results file.
"""

from __future__ import annotations

import numpy as np
from pycocotools.coco import COCO

from train import coco_eval
from train.dataset import Category
from train.reporting.headline import PCK_AT  # a keypoint within 10 % of the box diagonal counts as placed

VISIBILITY = {2: "visible", 1: "hidden"}  # COCO v: 2 seen, 1 labelled but not seen


def _summary(shares: list[float], pixels: list[float]) -> dict:
    """keypoints, median pixel error, median share of the box diagonal, PCK@PCK_AT (None: no keypoint)."""
    if not shares:
        return {"keypoints": 0, "median_px": None, "median_of_diagonal": None, f"pck@{PCK_AT:g}": None}
    s = np.asarray(shares)
    return {
        "keypoints": len(shares),
        "median_px": float(np.median(pixels)),
        "median_of_diagonal": float(np.median(s)),
        f"pck@{PCK_AT:g}": float((s <= PCK_AT).mean()),
    }


def error_breakdown(gt: COCO, res: COCO, box_eval: coco_eval.Evaluation, categories: list[Category]) -> dict[str, dict]:
    """Per category: its ground-truth `instances` and how many a detection `matched`, `visible` /
    `hidden` keypoint errors, and `left_right` swaps per flip pair.

    A pair counts when both of its keypoints are labelled in a matched ground truth; it is swapped
    when the two predictions lie nearer the other's label than their own (summed distance).
    Labels are taken as written (a symmetric rig is not relabelled first).
    """
    by_id = {c.id: c for c in categories}
    errors = {c.id: {v: ([], []) for v in VISIBILITY} for c in categories}
    swaps = {c.id: {pair: [] for pair in c.flip_index_pairs()} for c in categories}
    matched = dict.fromkeys(by_id, 0)
    for ann, gk, dk in coco_eval.matched_keypoints(gt, res, box_eval, set(by_id)):
        cat = by_id[ann["category_id"]]
        matched[cat.id] += 1
        pk = dk[:, :2]
        diag = float(np.hypot(ann["bbox"][2], ann["bbox"][3]))
        dist = np.hypot(*(pk - gk[:, :2]).T)
        for j in range(len(gk)):
            v = int(gk[j, 2])
            if v in VISIBILITY:
                errors[cat.id][v][0].append(dist[j] / diag)
                errors[cat.id][v][1].append(dist[j])
        for i, j in swaps[cat.id]:
            if gk[i, 2] > 0 and gk[j, 2] > 0:
                crossed = np.hypot(*(pk[j] - gk[i, :2])) + np.hypot(*(pk[i] - gk[j, :2]))
                swaps[cat.id][(i, j)].append(bool(crossed < dist[i] + dist[j]))
    img_ids = set(box_eval.coco_eval.params.imgIds)
    instances = dict.fromkeys(by_id, 0)
    for a in gt.dataset["annotations"]:
        if a["category_id"] in instances and a["image_id"] in img_ids and not a.get("iscrowd"):
            instances[a["category_id"]] += 1
    out = {}
    for cat in categories:
        entry = {"instances": instances[cat.id], "matched": matched[cat.id]}
        entry |= {name: _summary(*errors[cat.id][v]) for v, name in VISIBILITY.items()}
        pairs = {
            f"{cat.keypoints[i]}/{cat.keypoints[j]}": {"pairs": len(s), "swapped": float(np.mean(s)) if s else None}
            for (i, j), s in swaps[cat.id].items()
        }
        every = [x for s in swaps[cat.id].values() for x in s]
        entry["left_right"] = {
            "pairs": len(every),
            "swapped": float(np.mean(every)) if every else None,
            "by_pair": pairs,
        }
        out[cat.name] = entry
    return out


def describe(breakdown: dict[str, dict]) -> list[str]:
    """One line per category, the figures a reader needs to see which failure holds AP down."""

    def part(e: dict, name: str) -> str:
        if not e["keypoints"]:
            return f"no {name} keypoints"
        return (
            f"{e['keypoints']} {name}: median {100 * e['median_of_diagonal']:.1f} % of the box diagonal "
            f"({e['median_px']:.1f} px), PCK@{PCK_AT:g} {e[f'pck@{PCK_AT:g}']:.2f}"
        )

    lines = []
    for cat, e in breakdown.items():
        lr = e["left_right"]
        swapped = (
            f"left/right swapped in {100 * lr['swapped']:.1f} % of {lr['pairs']} pairs"
            if lr["pairs"]
            else "no left/right pair labelled"
        )
        lines.append(
            f"{cat}: {e['matched']} of {e['instances']} matched; {part(e['visible'], 'visible')}; "
            f"{part(e['hidden'], 'hidden')}; {swapped}"
        )
    return lines
