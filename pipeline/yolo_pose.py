"""The Ultralytics YOLO-pose dataset format: one label line per instance, and `data.yaml`.

A label file `labels/<split>/<stem>.txt` holds one line per instance:
`class cx cy w h x1 y1 v1 ... xK yK vK`, every coordinate divided by the image's width or height
(the box by its centre and size, clipped to the image; pixel coordinates are continuous, so a
keypoint at x = 0.5 px on a 4 px wide image is 0.125). `v` keeps our 0/1/2: Ultralytics counts
any v > 0 as a labelled keypoint (its loss masks `v != 0`), so a hidden keypoint (v = 1) is
trained like a seen one, as in COCO; v = 0 is written `0 0 0`. Crowd annotations (`iscrowd` 1)
are left out: YOLO has no ignore regions (Ultralytics' own COCO converter drops them too).

One model has one `kpt_shape` [K, 3]. With several rigs of different K, each class's keypoints
fill the first slots and the rest are padded with `0 0 0` (never labelled); `flip_idx` and
`kpt_oks_sigmas` are written when every class agrees slot by slot, else left out with a note
(Ultralytics then turns off left-right flips, or weighs every keypoint 1/K).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pipeline import coco
from pipeline.handoff import HandoffError

SPLITS = ("train", "val", "test")  # the split keys Ultralytics resolves against the data.yaml's folder
PAD = "pad_{}"  # kpt_names entry of a padded slot


@dataclass(frozen=True)
class PoseLayout:
    """Class indices and keypoint slots of a YOLO-pose dataset for a list of COCO categories."""

    names: dict[int, str]  # class index -> category name (class 0 is the lowest category id)
    class_of: dict[int, int]  # category id -> class index
    kpt_names: dict[int, list[str]]  # class index -> its K slot names (padded slots `pad_J`)
    k: int  # keypoints per instance, the largest of the categories'
    flip_idx: list[int] | None  # slot -> slot it becomes on a mirror image
    sigmas: list[float] | None  # OKS sigma per slot
    notes: list[str] = field(default_factory=list)  # what could not be carried over, and why


def _flip_permutation(cat: dict, k: int) -> list[int]:
    """Slot -> slot on a mirror image for one category (`rig.flip_pairs`, else `left_X`/`right_X`)."""
    perm = list(range(k))
    for i, j in coco.flip_index_pairs(cat):
        perm[i], perm[j] = j, i
    if any(perm[perm[i]] != i for i in range(k)):
        raise HandoffError(
            f"categories[id={cat['id']}].rig.flip_pairs: a keypoint is in two pairs "
            f"({(cat.get('rig') or {}).get('flip_pairs')}); expected disjoint left/right pairs"
        )
    return perm


def pose_layout(categories: list[dict]) -> PoseLayout:
    """The YOLO-pose layout of the categories (checked by pipeline/coco_checks.py already)."""
    cats = sorted(categories, key=lambda c: c["id"])
    k = max(len(c["keypoints"]) for c in cats)
    notes = []
    if any(len(c["keypoints"]) != k for c in cats):
        counts = ", ".join(f"{c['name']} {len(c['keypoints'])}" for c in cats)
        notes.append(
            f"rigs with different keypoint counts ({counts}): every class has kpt_shape [{k}, 3], "
            f"its missing slots padded with v=0 (named pad_J in kpt_names)"
        )
    perms = [_flip_permutation(c, k) for c in cats]
    flip_idx = perms[0] if all(p == perms[0] for p in perms) else None
    if flip_idx is None:
        notes.append(
            "the rigs' flip pairs swap different slots: no flip_idx is written, so Ultralytics turns off "
            "left-right flips (fliplr); export one rig per dataset to keep them"
        )
    slots: list[set[float]] = [set() for _ in range(k)]
    lacking = [c["name"] for c in cats if not (c.get("rig") or {}).get("sigmas")]
    for c in cats:
        for j, s in enumerate((c.get("rig") or {}).get("sigmas") or []):
            slots[j].add(float(s))
    sigmas = None
    if lacking:
        notes.append(f"no rig.sigmas for {', '.join(lacking)}: no kpt_oks_sigmas (Ultralytics then uses 1/K)")
    elif any(len(s) > 1 for s in slots):
        notes.append(
            "the rigs' OKS sigmas differ slot by slot: no kpt_oks_sigmas is written (Ultralytics then uses "
            "1/K); each rig's sigmas are in manifest.json"
        )
    else:
        sigmas = [s.pop() for s in slots]
    return PoseLayout(
        names={i: c["name"] for i, c in enumerate(cats)},
        class_of={c["id"]: i for i, c in enumerate(cats)},
        kpt_names={
            i: list(c["keypoints"]) + [PAD.format(j) for j in range(len(c["keypoints"]), k)] for i, c in enumerate(cats)
        },
        k=k,
        flip_idx=flip_idx,
        sigmas=sigmas,
        notes=notes,
    )


def _num(v: float) -> str:
    """Fixed notation, 8 decimals, trailing zeros dropped: within 5e-9 of the value (normalised)."""
    text = f"{v:.8f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def label_line(ann: dict, cls: int, k: int, width: int, height: int) -> str:
    """`cls cx cy w h` and K `x y v` of one annotation, normalised to the image's size."""
    x, y, w, h = ann["bbox"]
    x0, y0 = min(max(x, 0.0), width), min(max(y, 0.0), height)
    x1, y1 = min(max(x + w, 0.0), width), min(max(y + h, 0.0), height)
    values = [str(cls), _num((x0 + x1) / 2 / width), _num((y0 + y1) / 2 / height)]
    values += [_num((x1 - x0) / width), _num((y1 - y0) / height)]
    kps = ann["keypoints"]
    for j in range(k):
        if 3 * j < len(kps) and kps[3 * j + 2] > 0:
            values += [_num(kps[3 * j] / width), _num(kps[3 * j + 1] / height), str(int(kps[3 * j + 2]))]
        else:
            values += ["0", "0", "0"]
    return " ".join(values)


def label_text(anns: list[dict], layout: PoseLayout, width: int, height: int) -> tuple[str, int]:
    """(a label file's text, crowd annotations left out) for the annotations of one image."""
    lines, crowd = [], 0
    for a in anns:
        if a.get("iscrowd", 0):
            crowd += 1
            continue
        lines.append(label_line(a, layout.class_of[a["category_id"]], layout.k, width, height))
    return "".join(line + "\n" for line in lines), crowd


def data_yaml(layout: PoseLayout, splits: list[str], source: str) -> str:
    """The dataset YAML Ultralytics reads (`yolo pose train data=.../data.yaml`).

    `path` is left out: Ultralytics then resolves train/val/test against the YAML's own folder, so
    the folder can be moved whole. A split that was not exported names the first one that was
    (Ultralytics requires `train` and `val`), with a comment saying so."""
    q = json.dumps  # a JSON string or list is a YAML flow scalar or sequence
    lines = [
        f"# Ultralytics YOLO-pose dataset written by `rig2kp export-dataset` from {source}.",
        "# manifest.json maps every image back to its COCO file, image id and file_name, and keeps each",
        "# rig's keypoint names, skeleton, flip pairs and OKS sigmas (categories[].rig).",
        "# No `path:`: Ultralytics reads train/val/test relative to this file's folder.",
    ]
    for note in layout.notes:
        lines.append(f"# Note: {note}.")
    for key in SPLITS:
        if key in splits:
            lines.append(f"{key}: images/{key}")
        elif key in ("train", "val"):
            lines.append(f"{key}: images/{splits[0]}  # no {key} split was exported; Ultralytics requires the key")
    lines.append("names:")
    lines += [f"  {i}: {q(n)}" for i, n in layout.names.items()]
    lines.append(f"kpt_shape: [{layout.k}, 3]")
    if layout.flip_idx is not None:
        lines.append(f"flip_idx: {q(layout.flip_idx)}")
    lines.append("kpt_names:")
    lines += [f"  {i}: {q(n)}" for i, n in layout.kpt_names.items()]
    if layout.sigmas is not None:
        lines.append(f"kpt_oks_sigmas: {q(layout.sigmas)}")
    return "\n".join(lines) + "\n"
