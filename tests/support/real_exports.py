"""Real-export fixtures: an augment-stage output and a real COCO export with every tool's quirks."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from pipeline.mixing import mix
from tests.support.coco_data import category, write_dataset

# export keypoint order differs from the rig's (left_a, right_a, mid) and so do the names
EXPORT_KPS = ["tip", "l", "r"]
TO_RIG = {"tip": "mid", "l": "left_a", "r": "right_a"}


def synthetic(folder: Path, n: int = 6, copies: int = 2) -> dict:
    """An augment-stage output: `copies` + 1 images per render, linked by `augment.image_id`."""
    data = write_dataset(folder, n_images=n * (copies + 1))
    for img in data["images"]:
        img["augment"] = {"image_id": (img["id"] - 1) // (copies + 1) + 1, "copy": (img["id"] - 1) % (copies + 1)}
    (folder / "annotations.json").write_text(json.dumps(data))
    return data


def quirky_export(folder: Path, n: int = 10) -> dict:
    """A real export with the quirks of CVAT / Roboflow / COCO Annotator files; returns the truth.

    Ids start at 0, a placeholder category 0 (Roboflow), keypoints named and ordered differently,
    integer pixel indices, file names in sub-folders, JPEG photos, one image without annotations,
    one iscrowd annotation with an uncompressed RLE, one without keypoints, one with polygons,
    annotations without area / num_keypoints.
    """
    truth = write_dataset(folder / "src", n_images=n, suffix=".jpg", source="real")
    images, anns = [], []
    for img in truth["images"]:
        old = folder / "src" / img["file_name"]
        name = f"batch{img['id'] % 2}/photo_{img['id']:03d}.jpg"
        (folder / "images" / name).parent.mkdir(parents=True, exist_ok=True)
        old.rename(folder / "images" / name)
        images.append(
            {
                "id": img["id"] - 1,
                "file_name": name,
                "width": img["width"],
                "height": img["height"],
                "license": 0,
                "date_captured": "",
            }
        )
    for a in truth["annotations"]:
        if a["image_id"] == 3:
            continue  # image id 2 of the export: a negative
        kp = np.array(a["keypoints"]).reshape(3, 3)
        order = [KEYPOINTS_RIG.index(TO_RIG[n]) for n in EXPORT_KPS]
        flat = []
        for x, y, v in kp[order]:
            flat += [int(math.floor(x)), int(math.floor(y)), int(v)]  # pixel index, clicked
        e = {
            "id": a["id"] - 1000,
            "image_id": a["image_id"] - 1,
            "category_id": 1,
            "keypoints": flat,
            "num_keypoints": 3,
            "bbox": a["bbox"],
            "area": a["area"],
            "iscrowd": 0,
            "segmentation": [],
            "attributes": {"occluded": False},
        }
        anns.append(e)
    anns[0].pop("area")
    anns[0].pop("num_keypoints")
    anns[1]["keypoints"] = []
    anns[1]["num_keypoints"] = 0
    seg = truth["annotations"][2]["segmentation"]
    mask = mask_utils.decode({"size": seg["size"], "counts": seg["counts"].encode()})
    runs, cur, n_run = [], 0, 0
    for v in mask.flatten(order="F"):
        if v != cur:
            runs.append(n_run)
            cur, n_run = v, 0
        n_run += 1
    runs.append(n_run)
    anns[2]["segmentation"] = {"size": [90, 120], "counts": [int(r) for r in runs]}  # uncompressed RLE
    anns[2]["iscrowd"] = 1
    x, y, w, h = anns[3]["bbox"]
    anns[3]["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    anns[3].pop("area")
    cats = [
        {"id": 0, "name": "gadgets", "supercategory": "none"},
        {"id": 1, "name": "gadget", "supercategory": "gadgets", "keypoints": EXPORT_KPS, "skeleton": [[1, 2]]},
    ]
    data = {"info": {"description": "quirky"}, "images": images, "annotations": anns, "categories": cats}
    (folder / "export.json").write_text(json.dumps(data))
    return truth


KEYPOINTS_RIG = category()["keypoints"]


def source(folder: Path, **kw) -> dict:
    return {
        "path": str(folder),
        "annotations": "export.json",
        "images": "images",
        "categories": {"gadget": "thing"},
        "keypoints": {"thing": TO_RIG},
        **kw,
    }


def load(out: Path) -> dict[str, dict]:
    return {name: json.loads((out / f).read_text()) for name, f in mix.SPLIT_FILES.items()}
