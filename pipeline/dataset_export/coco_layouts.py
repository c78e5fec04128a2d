"""Our COCO files under the names and folders that FiftyOne and datumaro (and MMPose) look for.

The COCO dict is kept (ids, boxes, masks, `iscrowd`, the `rig` extras); only `file_name` changes,
to the flat name the image is written under (pipeline/dataset_export/handoff.py), with the input's name kept as
`original_file_name` (and `meta_file`, relative to the input folder, dropped).

- FiftyOne (`fo.types.COCODetectionDataset`): `<split>/labels.json` beside `<split>/data/`. Its
  importer copies the file's `info` into the dataset and sets `default_skeleton` (keypoint names
  and edges, 0-based) from `info.default_skeleton`: written when every category has the same
  keypoint names and skeleton (FiftyOne has one skeleton per label field, not per class).
- COCO's own layout, which datumaro's `coco_person_keypoints` importer and MMPose's `CocoDataset`
  read: `annotations/person_keypoints_<split>.json` beside `images/<split>/`, plus one MMPose
  dataset-info file per rig (`mmpose/<rig>.py`: keypoint names, `swap` from the flip pairs, the
  skeleton, OKS sigmas), which MMPose reads as `metainfo=dict(from_file=...)`.
"""

from __future__ import annotations

import copy
import re

from common.rig_model import RigError, RigModel
from pipeline.dataset_export.handoff import HandoffError

FIFTYONE_LABELS = "labels.json"
FIFTYONE_DATA = "data"
DEFAULT_SIGMA = 0.05  # OKS sigma where a category carries none (the schema's default)


def renamed(data: dict, names: dict[int, str]) -> dict:
    """A copy of a COCO dict whose images are named `names[id]` (the input's name kept aside)."""
    out = {k: copy.deepcopy(v) for k, v in data.items() if k != "images"}
    out["images"] = []
    for img in data["images"]:
        img = {k: v for k, v in img.items() if k != "meta_file"}
        img["original_file_name"], img["file_name"] = img["file_name"], names[img["id"]]
        out["images"].append(img)
    return out


def skeleton(categories: list[dict]) -> dict | None:
    """FiftyOne's KeypointSkeleton as a dict (`labels`, 0-based `edges`), or None when the categories
    do not share one keypoint list and skeleton."""
    first = categories[0]
    if any(c["keypoints"] != first["keypoints"] or c.get("skeleton") != first.get("skeleton") for c in categories):
        return None
    return {"labels": list(first["keypoints"]), "edges": [[a - 1, b - 1] for a, b in first.get("skeleton") or []]}


def fiftyone_labels(data: dict, names: dict[int, str]) -> dict:
    """`labels.json` of one split for FiftyOne: renamed, with the skeleton in `info` when there is one."""
    out = renamed(data, names)
    info = dict(out.get("info") or {})
    found = skeleton(out["categories"])
    if found is not None:
        info["default_skeleton"] = found
    out["info"] = info
    return out


def coco_annotation_file(split: str) -> str:
    """Where COCO's layout keeps a split's annotations (datumaro takes the split name from it)."""
    return f"annotations/person_keypoints_{split}.json"


def mmpose_file(category: dict) -> str:
    """Where the COCO layout keeps a rig's MMPose dataset info."""
    return f"mmpose/{re.sub(r'[^A-Za-z0-9_-]+', '_', category['name'])}.py"


def mmpose_metainfo(category: dict) -> str:
    """MMPose's dataset info of one rig as Python source (`dataset_info = dict(...)`): keypoint_info
    with `swap` from the flip pairs (`rig.flip_pairs`, else `left_X`/`right_X`), skeleton_info from
    the skeleton, joint_weights 1 and the rig's OKS sigmas (0.05 each where it has none)."""
    names = list(category["keypoints"])
    try:
        pairs = RigModel.from_category(category).flip_index_pairs()
    except RigError as e:
        raise HandoffError(str(e)) from None
    swap = {names[i]: names[j] for i, j in pairs}
    swap.update({b: a for a, b in swap.items()})
    sigmas = (category.get("rig") or {}).get("sigmas") or [DEFAULT_SIGMA] * len(names)
    keypoints = {
        i: {"name": n, "id": i, "color": [255, 128, 0], "type": "", "swap": swap.get(n, "")}
        for i, n in enumerate(names)
    }
    links = {
        i: {"link": (names[a - 1], names[b - 1]), "id": i, "color": [0, 255, 0]}
        for i, (a, b) in enumerate(category.get("skeleton") or [])
    }
    info = {
        "dataset_name": category["name"],
        "paper_info": {},
        "keypoint_info": keypoints,
        "skeleton_info": links,
        "joint_weights": [1.0] * len(names),
        "sigmas": [float(s) for s in sigmas],
    }
    return (
        f"# MMPose dataset info of the rig {category['name']!r}, written by `rig2kp export-dataset`:\n"
        "# metainfo=dict(from_file='<this file>') in the dataset config.\n"
        f"dataset_info = {info!r}\n"
    )
