"""The Ultralytics YOLO-pose dataset format: one label line per instance, and `data.yaml`.

A label file `labels/<split>/<stem>.txt` holds one line per instance:
`class cx cy w h x1 y1 v1 ... xK yK vK`, every coordinate divided by the image's width or height
(the box by its centre and size, clipped to the image; pixel coordinates are continuous, so a
keypoint at x = 0.5 px on a 4 px wide image is 0.125). `v` keeps our 0/1/2: Ultralytics counts
any v > 0 as a labelled keypoint (its loss masks `v != 0`), so a hidden keypoint (v = 1) is
trained like a seen one, as in COCO; v = 0 is written `0 0 0`. Crowd annotations (`iscrowd` 1)
are left out: YOLO has no ignore regions (Ultralytics' own COCO converter drops them too).

One model has one `kpt_shape` [K, 3]. With several rigs, each class's keypoints fill the first
slots and the rest are padded with `0 0 0` (never labelled; `shared` slots, K the largest count),
or each class has slots of its own (`separate`, K the sum). `flip_idx` and `kpt_oks_sigmas` are
written when the classes agree on every slot they use (always, with `separate`), else left out
with a note (Ultralytics then turns off left-right flips, or weighs every keypoint 1/K).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from common.rig_model import RigError, RigModel
from pipeline.dataset_export.handoff import HandoffError

SPLITS = ("train", "val", "test")  # the split keys Ultralytics resolves against the data.yaml's folder
PAD = "pad_{}"  # kpt_names entry of a padded slot


SLOTS = ("shared", "separate")  # how several rigs share the keypoint slots of one model


@dataclass(frozen=True)
class PoseLayout:
    """Class indices and keypoint slots of a YOLO-pose dataset for a list of COCO categories."""

    names: dict[int, str]  # class index -> category name (class 0 is the lowest category id)
    class_of: dict[int, int]  # category id -> class index
    offset: dict[int, int]  # class index -> the slot of its first keypoint
    kpt_names: dict[int, list[str]]  # class index -> its K slot names (slots it does not use: `pad_J`)
    k: int  # keypoint slots per instance
    flip_idx: list[int] | None  # slot -> slot it becomes on a mirror image
    sigmas: list[float] | None  # OKS sigma per slot
    notes: list[str] = field(default_factory=list)  # what could not be carried over, and why


def _flips(cat: dict) -> dict[int, int]:
    """Keypoint -> keypoint on a mirror image for one category (common/rig_model.py), every keypoint listed."""
    try:
        return dict(enumerate(RigModel.from_category(cat).flip_index().tolist()))
    except RigError as e:
        raise HandoffError(str(e)) from None


def pose_layout(categories: list[dict], slots: str = "shared") -> PoseLayout:
    """The YOLO-pose layout of the categories (checked by pipeline/coco_files/coco_checks.py already).

    `shared`: every class's keypoints start at slot 0 and K is the largest count; `separate`:
    each class has its own slots, one after the other (K is the sum), so flip pairs and sigmas
    never collide. A slot a class does not use is always v=0 for it and constrains nothing."""
    cats = sorted(categories, key=lambda c: c["id"])
    offset, start = {}, 0
    for i, c in enumerate(cats):
        offset[i] = start if slots == "separate" else 0
        start += len(c["keypoints"])
    k = max(offset[i] + len(c["keypoints"]) for i, c in enumerate(cats))
    notes = []
    if len(cats) > 1 and slots == "separate":
        ranges = ", ".join(f"{c['name']} {offset[i]}-{offset[i] + len(c['keypoints']) - 1}" for i, c in enumerate(cats))
        notes.append(f"separate keypoint slots per rig ({ranges} of kpt_shape [{k}, 3]); other slots are v=0")
    elif any(len(c["keypoints"]) != k for c in cats):
        counts = ", ".join(f"{c['name']} {len(c['keypoints'])}" for c in cats)
        notes.append(
            f"rigs with different keypoint counts ({counts}): every class has kpt_shape [{k}, 3], "
            f"its missing slots padded with v=0 (named pad_J in kpt_names)"
        )
    wanted: list[set[int]] = [set() for _ in range(k)]  # where each slot goes, by the classes that use it
    sigma_of: list[set[float]] = [set() for _ in range(k)]
    for i, c in enumerate(cats):
        for j, to in _flips(c).items():
            wanted[offset[i] + j].add(offset[i] + to)
        for j, s in enumerate((c.get("rig") or {}).get("sigmas") or []):
            sigma_of[offset[i] + j].add(float(s))
    flip_idx = None if any(len(w) > 1 for w in wanted) else [w.pop() if w else s for s, w in enumerate(wanted)]
    if flip_idx is None:
        notes.append(
            "the rigs' flip pairs swap different slots: no flip_idx is written, so Ultralytics turns off "
            "left-right flips (fliplr); --keypoint-slots separate keeps them"
        )
    lacking = [c["name"] for c in cats if not (c.get("rig") or {}).get("sigmas")]
    sigmas = None
    if lacking:
        notes.append(f"no rig.sigmas for {', '.join(lacking)}: no kpt_oks_sigmas (Ultralytics then uses 1/K)")
    elif any(len(s) > 1 for s in sigma_of):
        notes.append(
            "the rigs' OKS sigmas differ slot by slot: no kpt_oks_sigmas is written (Ultralytics then uses "
            "1/K); --keypoint-slots separate keeps them"
        )
    else:  # every slot is used by some class, in either layout
        sigmas = [s.pop() for s in sigma_of]
    kpt_names = {}
    for i, c in enumerate(cats):
        names = [PAD.format(j) for j in range(k)]
        names[offset[i] : offset[i] + len(c["keypoints"])] = c["keypoints"]
        kpt_names[i] = names
    return PoseLayout(
        names={i: c["name"] for i, c in enumerate(cats)},
        class_of={c["id"]: i for i, c in enumerate(cats)},
        offset=offset,
        kpt_names=kpt_names,
        k=k,
        flip_idx=flip_idx,
        sigmas=sigmas,
        notes=notes,
    )


def _num(v: float) -> str:
    """Fixed notation, 8 decimals, trailing zeros dropped: within 5e-9 of the value (normalised)."""
    text = f"{v:.8f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def label_line(ann: dict, cls: int, offset: int, k: int, width: int, height: int) -> str:
    """`cls cx cy w h` and K `x y v` of one annotation, normalised to the image's size; its
    keypoints fill slots `offset`.. and the other slots are `0 0 0`."""
    x, y, w, h = ann["bbox"]
    x0, y0 = min(max(x, 0.0), width), min(max(y, 0.0), height)
    x1, y1 = min(max(x + w, 0.0), width), min(max(y + h, 0.0), height)
    values = [str(cls), _num((x0 + x1) / 2 / width), _num((y0 + y1) / 2 / height)]
    values += [_num((x1 - x0) / width), _num((y1 - y0) / height)]
    kps = ann["keypoints"]
    for slot in range(k):
        j = slot - offset
        if 0 <= j < len(kps) // 3 and kps[3 * j + 2] > 0:
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
        cls = layout.class_of[a["category_id"]]
        lines.append(label_line(a, cls, layout.offset[cls], layout.k, width, height))
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
