"""Small COCO keypoint datasets drawn for the tests, and how to find their keypoints in pixels.

`write_dataset` draws each instance as a grey polygon (its mask) with a coloured Gaussian dot at
every keypoint, one hue per (instance, keypoint), so a test can find the keypoints in the pixels
and compare them with the annotations without trusting the code under test. `tiny_coco` is a
small dataset with known departures from the format, whose stats are counted by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

GREY = 110
# Six hues 60 degrees apart (RGB); instance t uses HUES[3 t : 3 t + 3] for its keypoints.
HUES = [(255, 0, 0), (255, 255, 0), (0, 255, 0), (0, 255, 255), (0, 0, 255), (255, 0, 255)]
KEYPOINTS = ["left_a", "right_a", "mid"]


def category(cid: int = 1, name: str = "thing", keypoints: list[str] = KEYPOINTS) -> dict:
    flips = [["left_a", "right_a"]] if "left_a" in keypoints else []
    return {
        "id": cid,
        "name": name,
        "supercategory": "object",
        "keypoints": list(keypoints),
        "skeleton": [[1, 2], [1, 3]][: max(0, len(keypoints) - 1)],
        "rig": {
            "sigmas": [0.05] * len(keypoints),
            "tolerances": [0.004] * len(keypoints),
            "flip_pairs": flips,
        },
    }


def paint_dot(img: np.ndarray, x: float, y: float, rgb: tuple, sigma: float = 1.0) -> None:
    """Blend a Gaussian dot centred at continuous (x, y): pixel (i, j) has its centre at +0.5."""
    h, w = img.shape[:2]
    jj, ii = np.mgrid[0:h, 0:w]
    wgt = np.exp(-((ii + 0.5 - x) ** 2 + (jj + 0.5 - y) ** 2) / (2 * sigma**2))
    wgt[wgt < 0.01] = 0
    img[:] = (img * (1 - wgt[..., None]) + np.array(rgb) * wgt[..., None]).round().astype(np.uint8)


def polygon_mask(h: int, w: int, corners: list[tuple[float, float]]) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(np.array(corners) * 16).astype(np.int32)], 1, shift=4)
    return mask


def instance_shapes(w: int, h: int, rng: np.random.Generator) -> list[dict]:
    """Two separated rotated rectangles (left and right half), three keypoints inside each."""
    shapes = []
    for t in range(2):
        cx = w * (0.27 + 0.46 * t) + rng.uniform(-3, 3)
        cy = h * 0.5 + rng.uniform(-5, 5)
        ang = rng.uniform(0, np.pi)
        u, v = np.array([np.cos(ang), np.sin(ang)]), np.array([-np.sin(ang), np.cos(ang)])
        a, b = 0.17 * w, 0.11 * w
        corners = [
            tuple(np.array([cx, cy]) + su * a * u + sv * b * v) for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))
        ]
        kps = [np.array([cx, cy]) + f * a * u + g * b * v for f, g in ((-0.6, -0.3), (0.6, -0.3), (0, 0.45))]
        shapes.append({"corners": corners, "keypoints": [(float(x), float(y)) for x, y in kps]})
    return shapes


def write_dataset(
    folder: Path,
    n_images: int = 3,
    size: tuple[int, int] = (120, 90),
    seed: int = 0,
    suffix: str = ".png",
    source: str = "synthetic",
) -> dict:
    """A dataset folder with dotted instances; annotations computed with pycocotools directly."""
    rng = np.random.default_rng(seed)
    w, h = size
    images, anns = [], []
    for i in range(n_images):
        img = np.zeros((h, w, 3), np.uint8)
        file_name = f"images/sub/{i:06d}{suffix}"
        images.append({"id": i + 1, "file_name": file_name, "width": w, "height": h, "source": source})
        for t, shape in enumerate(instance_shapes(w, h, rng)):
            mask = polygon_mask(h, w, shape["corners"])
            img[mask > 0] = GREY
            flat = []
            for k, (x, y) in enumerate(shape["keypoints"]):
                paint_dot(img, x, y, HUES[3 * t + k])
                flat += [round(x, 3), round(y, 3), 1 if (t, k) == (1, 2) else 2]  # one hidden
            rle = mask_utils.encode(np.asfortranarray(mask))
            anns.append(
                {
                    "id": (i + 1) * 1000 + t + 1,
                    "image_id": i + 1,
                    "category_id": 1,
                    "keypoints": flat,
                    "num_keypoints": 3,
                    "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                    "area": float(mask_utils.area(rle)),
                    "segmentation": {"size": [h, w], "counts": rle["counts"].decode()},
                    "iscrowd": 0,
                    "tag": t,
                }
            )
        (folder / file_name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(
            str(folder / file_name),
            cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
            [cv2.IMWRITE_JPEG_QUALITY, 100] if suffix == ".jpg" else [],
        )
    data = {
        "info": {},
        "licenses": [],
        "images": images,
        "annotations": anns,
        "categories": [category()],
    }
    (folder / "annotations.json").write_text(json.dumps(data))
    return data


def find_dots(rgb: np.ndarray, min_chroma: int = 6) -> dict[int, tuple[float, float, float]]:
    """Hue index -> (x, y, weight): chroma-weighted centroid of each hue's pixels, continuous px."""
    img = rgb.astype(np.float64)
    chroma = img.max(axis=2) - img.min(axis=2)
    ys, xs = np.nonzero(chroma >= min_chroma)
    out = {}
    if len(xs) == 0:
        return out
    pix = img[ys, xs] / chroma[ys, xs, None]
    pix = pix - pix.min(axis=1, keepdims=True)  # the colour without its grey part, max 1
    dist = np.stack([np.abs(pix - np.array(c) / 255).sum(axis=1) for c in HUES], axis=1)
    label = dist.argmin(axis=1)
    ok = dist.min(axis=1) < 0.5
    for hue in range(len(HUES)):
        sel = ok & (label == hue)
        wgt = chroma[ys[sel], xs[sel]]
        if wgt.sum() > 0:
            out[hue] = (
                float((wgt * (xs[sel] + 0.5)).sum() / wgt.sum()),
                float((wgt * (ys[sel] + 0.5)).sum() / wgt.sum()),
                float(wgt.sum()),
            )
    return out


# ------------------------------------------------------------- a hand-counted dataset

TINY_W, TINY_H = 64, 48


def tiny_rle_rect(rows: slice, cols: slice) -> dict:
    m = np.zeros((TINY_H, TINY_W), np.uint8)
    m[rows, cols] = 1
    rle = mask_utils.encode(np.asfortranarray(m))
    return {"size": rle["size"], "counts": rle["counts"].decode()}


def tiny_coco() -> dict:
    """3 images (one empty), 2 categories, 4 instances; test numbers are counted by hand."""
    images = [("imgs/sub/a.png", "synthetic"), ("imgs/b.png", "synthetic"), ("c.png", "real")]
    rect, poly = tiny_rle_rect(slice(15, 25), slice(5, 45)), [[28, 28, 53, 28, 53, 43, 28, 43]]

    def inst(aid: int, image_id: int, category_id: int, keypoints: list, num: int, bbox: list, **extra) -> dict:
        keys = {"id": aid, "image_id": image_id, "category_id": category_id, "keypoints": keypoints}
        masks = {"segmentation": extra.pop("mask")} if "mask" in extra else {}
        return {**keys, "num_keypoints": num, "bbox": bbox, **extra, **masks, "iscrowd": 0}

    return {
        "images": [
            {"id": i, "file_name": name, "width": TINY_W, "height": TINY_H, "source": source}
            for i, (name, source) in enumerate(images, start=1)
        ],
        "annotations": [
            inst(1, 1, 1, [10.5, 20.5, 2, 40.5, 20.5, 1, 0, 0, 0], 2, [5, 15, 40, 10], area=400.0, mask=rect),
            inst(2, 1, 1, [30.5, 30.5, 2, 35.5, 35.5, 2, 50.5, 40.5, 2], 3, [28, 28, 25, 15], area=1600.0, mask=poly),
            inst(3, 2, 1, [0, 0, 0, 12.0, 7.0, 0, 20.5, 10.5, 1], 1, [0, 0, 64, 48], area=10000.0),
            inst(4, 2, 2, [70.0, 5.0, 2], 0, [60, 0, 10, 10]),  # no area: its size comes from the box
        ],
        "categories": [
            {"id": 1, "name": "tri", "supercategory": "x", "keypoints": ["a", "b", "c"], "skeleton": [[1, 2], [2, 3]]},
            {"id": 2, "name": "dot", "supercategory": "x", "keypoints": ["p"], "skeleton": []},
        ],
    }


def write_tiny(folder: Path, coco: dict | None = None, name: str = "annotations.json") -> Path:
    """`tiny_coco` (or `coco`) as a dataset folder with noise images of its sizes; the JSON path."""
    coco = coco or tiny_coco()
    rng = np.random.default_rng(0)
    for img in coco["images"]:
        path = folder / img["file_name"]
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 60, (TINY_H, TINY_W, 3), dtype=np.uint8)).save(path)
    (folder / name).write_text(json.dumps(coco))
    return folder / name
