"""A toy dataset folder in the mix stage's layout: coloured triangles and quads on noisy
backgrounds, their corners the keypoints. For tests, benchmarks and smoke runs without Blender.

    python -m train.toyset --out /tmp/toy --train 200 --val 40 --test 40

Two categories with different K (triangle: 3, quad: 4) exercise the padding of K; corners are
exact in continuous pixel coordinates (cv2 draws with sub-pixel vertices); boxes, areas and
RLE masks come from each shape's visible pixels; v = 1 where a later shape covers a corner.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from common.atomic import write_bytes, write_text

SHIFT = 4  # cv2 sub-pixel bits
CATEGORIES = [
    {
        "id": 1,
        "name": "triangle",
        "supercategory": "shape",
        "keypoints": ["apex", "left_base", "right_base"],
        "skeleton": [[1, 2], [2, 3], [3, 1]],
        "rig": {
            "sigmas": [0.05, 0.05, 0.05],
            "flip_pairs": [["left_base", "right_base"]],
            "tolerances": [0.0, 0.0, 0.0],
        },
    },
    {
        "id": 2,
        "name": "quad",
        "supercategory": "shape",
        "keypoints": ["left_top", "right_top", "right_bottom", "left_bottom"],
        "skeleton": [[1, 2], [2, 3], [3, 4], [4, 1]],
        "rig": {
            "sigmas": [0.05, 0.05, 0.05, 0.05],
            "flip_pairs": [["left_top", "right_top"], ["left_bottom", "right_bottom"]],
            "tolerances": [0.0, 0.0, 0.0, 0.0],
        },
    },
]
MIN_VISIBLE_PX = 40


def _shape(rng: np.random.Generator, cat_id: int, w: int, h: int) -> np.ndarray:
    """Corners in continuous pixels, ordered as the category's keypoint names (image frame)."""
    size = rng.uniform(0.18, 0.42) * min(w, h)
    cx, cy = rng.uniform(0.15 * w, 0.85 * w), rng.uniform(0.15 * h, 0.85 * h)
    angle = rng.uniform(-0.35, 0.35)  # radians; small, so "left" stays left
    if cat_id == 1:
        local = np.array([[0.0, -0.6], [-0.55, 0.45], [0.55, 0.45]]) * size
        local[0, 0] += rng.uniform(-0.2, 0.2) * size
    else:
        a, b = rng.uniform(0.35, 0.6, size=2) * size
        local = np.array([[-a, -b], [a, -b], [a, b], [-a, b]])
        local += rng.uniform(-0.1, 0.1, size=(4, 2)) * size
    c, s = np.cos(angle), np.sin(angle)
    return local @ np.array([[c, s], [-s, c]]) + [cx, cy]


def _fill(canvas: np.ndarray, corners: np.ndarray, value) -> None:
    pts = np.round((corners - 0.5) * (1 << SHIFT)).astype(np.int32)  # index frame, fixed point
    cv2.fillPoly(canvas, [pts], value, lineType=cv2.LINE_8, shift=SHIFT)


def make_image(
    rng: np.random.Generator,
    w: int,
    h: int,
    cat_ids: tuple[int, ...] = (1, 2),
    shapes: tuple[int, int] = (1, 3),
) -> tuple[np.ndarray, list[dict]]:
    """One RGB image with shapes[0]..shapes[1] shapes and its annotations (without ids)."""
    base = rng.integers(0, 256, size=3)
    noise = rng.normal(0, 18, size=(h // 4 + 1, w // 4 + 1, 3))
    noise = cv2.resize(noise, (w, h), interpolation=cv2.INTER_LINEAR)
    img = np.clip(base + noise, 0, 255).astype(np.uint8)
    owner = np.zeros((h, w), np.int32)  # which shape (1-based) is on top at each pixel
    drawn = []
    for slot in range(int(rng.integers(shapes[0], shapes[1] + 1))):
        cat_id = int(cat_ids[rng.integers(0, len(cat_ids))])
        corners = _shape(rng, cat_id, w, h)
        color = [int(v) for v in rng.integers(0, 256, size=3)]
        _fill(img, corners, color)
        _fill(owner, corners, slot + 1)
        drawn.append((cat_id, corners))
    anns = []
    for slot, (cat_id, corners) in enumerate(drawn):
        visible = owner == slot + 1
        if visible.sum() < MIN_VISIBLE_PX:
            continue
        ys, xs = np.nonzero(visible)
        kps = []
        for x, y in corners:
            if not (0 <= x < w and 0 <= y < h):
                kps += [0.0, 0.0, 0]
                continue
            covered = owner[int(y), int(x)] > slot + 1
            kps += [round(float(x), 3), round(float(y), 3), 1 if covered else 2]
        rle = mask_utils.encode(np.asfortranarray(visible.astype(np.uint8)))
        rle["counts"] = rle["counts"].decode("ascii")
        x0, y0 = int(xs.min()), int(ys.min())
        anns.append(
            {
                "category_id": cat_id,
                "keypoints": kps,
                "num_keypoints": sum(1 for v in kps[2::3] if v > 0),
                "bbox": [x0, y0, int(xs.max()) + 1 - x0, int(ys.max()) + 1 - y0],
                "area": int(visible.sum()),
                "segmentation": rle,
                "iscrowd": 0,
            }
        )
    return img, anns


def make_split(
    root: Path,
    name: str,
    n: int,
    sizes: list[tuple[int, int]],
    seed: int,
    first_id: int,
    categories: tuple[str, ...] = ("triangle", "quad"),
    shapes: tuple[int, int] = (1, 3),
) -> None:
    """Write <root>/<name>.json and its images; half the images are labelled source "real"."""
    cats = [c for c in CATEGORIES if c["name"] in categories]
    images, annotations = [], []
    (root / "images" / name).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        rng = np.random.default_rng([seed, first_id + i])
        w, h = sizes[i % len(sizes)]
        img, anns = make_image(rng, w, h, tuple(c["id"] for c in cats), shapes)
        image_id = first_id + i
        file_name = f"images/{name}/{image_id:06d}.png"
        write_bytes(root / file_name, cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))[1].tobytes())
        source = "real" if i % 2 and name != "val_synthetic" else "synthetic"
        images.append({"id": image_id, "file_name": file_name, "width": w, "height": h, "source": source})
        for j, a in enumerate(anns):
            annotations.append({"id": image_id * 1000 + j + 1, "image_id": image_id, **a})
    data = {"images": images, "annotations": annotations, "categories": cats}
    write_text(root / f"{name}.json", json.dumps(data))


def make_toyset(
    root: str | Path,
    train: int = 64,
    val: int = 16,
    test: int = 16,
    sizes: tuple[tuple[int, int], ...] = ((128, 128), (128, 96)),
    seed: int = 0,
    categories: tuple[str, ...] = ("triangle", "quad"),
    shapes: tuple[int, int] = (1, 3),
) -> Path:
    """Write train / val / test / val_synthetic splits (disjoint image ids) under `root`;
    `categories` picks the shapes drawn, `shapes` the [min, max] number per image."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    first = 1
    for name, n in (("train", train), ("val", val), ("test", test), ("val_synthetic", val)):
        make_split(root, name, n, list(sizes), seed, first, categories, shapes)
        first += n
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.toyset", description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--train", type=int, default=200)
    parser.add_argument("--val", type=int, default=40)
    parser.add_argument("--test", type=int, default=40)
    parser.add_argument("--size", type=int, nargs=2, default=[128, 128], metavar=("W", "H"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--categories", nargs="+", default=["triangle", "quad"])
    parser.add_argument("--shapes", type=int, nargs=2, default=[1, 3], metavar=("MIN", "MAX"))
    a = parser.parse_args(argv)
    make_toyset(
        a.out,
        a.train,
        a.val,
        a.test,
        sizes=(tuple(a.size),),
        seed=a.seed,
        categories=tuple(a.categories),
        shapes=tuple(a.shapes),
    )
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
