"""Augment stage throughput against the same albumentations pipeline in a bare loop.

    python benchmarks/augment_bench.py [--images 100] [--copies 2] [--input data/synthetic]

Both sides read each PNG, apply the pipeline from params (default: the schema's default
transforms) K times and write each result as PNG; the bare loop moves only the image and its
keypoints, the stage also moves the instance masks, re-encodes RLE, sets visibility, swaps flip
pairs and writes the COCO file. OpenCV runs one thread per process on both sides, so
images/s per core compare directly. Prints a Markdown table for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, not installed
from common.atomic import write_json  # noqa: E402
from pipeline.augmenting import augment, augment_ops  # noqa: E402
from pipeline.schema import AugmentConfig, load_params  # noqa: E402


def make_input(folder: Path, n: int, size: int = 320, seed: int = 0) -> None:
    """Render-like inputs: textured backgrounds, 2 polygon instances with 8 keypoints each."""
    rng = np.random.default_rng(seed)
    cat = {
        "id": 1,
        "name": "box",
        "supercategory": "object",
        "keypoints": [f"{s}_{i}" for i in range(4) for s in ("left", "right")],
        "skeleton": [],
        "rig": {
            "sigmas": [0.05] * 8,
            "tolerances": [0.004] * 8,
            "flip_pairs": [[f"left_{i}", f"right_{i}"] for i in range(4)],
        },
    }
    images, anns = [], []
    (folder / "images").mkdir(parents=True)
    for i in range(n):
        low = rng.integers(0, 255, (size // 16, size // 16, 3), dtype=np.uint8)
        img = cv2.resize(low, (size, size), interpolation=cv2.INTER_CUBIC)
        img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
        for t in range(2):
            centre = rng.uniform(0.25, 0.75, 2) * size
            pts = centre + rng.uniform(-0.18, 0.18, (8, 2)) * size
            hull = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2)
            mask = np.zeros((size, size), np.uint8)
            cv2.fillPoly(mask, [hull.astype(np.int32)], 1)
            img[mask > 0] = rng.integers(0, 255, 3)
            rle = mask_utils.encode(np.asfortranarray(mask))
            kps = [v for x, y in pts for v in (round(float(x), 3), round(float(y), 3), 2)]
            anns.append(
                {
                    "id": (i + 1) * 1000 + t + 1,
                    "image_id": i + 1,
                    "category_id": 1,
                    "keypoints": kps,
                    "num_keypoints": 8,
                    "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                    "area": float(mask_utils.area(rle)),
                    "iscrowd": 0,
                    "segmentation": {"size": [size, size], "counts": rle["counts"].decode()},
                }
            )
        cv2.imwrite(str(folder / f"images/{i:06d}.png"), img)
        images.append(
            {"id": i + 1, "file_name": f"images/{i:06d}.png", "width": size, "height": size, "source": "synthetic"}
        )
    write_json(folder / "annotations.json", {"images": images, "annotations": anns, "categories": [cat]})


def bare_loop(cfg: AugmentConfig, src: Path, dst: Path, seed: int) -> int:
    """The same albumentations Compose on image + keypoints, read and written as the stage does."""
    import albumentations as A  # noqa: N812

    pipe = A.Compose(
        [
            t.instantiate(None if t.transforms is None else [c.instantiate() for c in t.transforms])
            for t in cfg.transforms
        ],
        keypoint_params=A.KeypointParams(format="xy", remove_invisible=False),
    )
    data = json.loads((src / "annotations.json").read_text())
    kps = {}
    for a in data["annotations"]:
        kps.setdefault(a["image_id"], []).append(np.array(a["keypoints"], np.float32).reshape(-1, 3)[:, :2])
    dst.mkdir(parents=True, exist_ok=True)
    n = 0
    for img in data["images"]:
        rgb = cv2.cvtColor(cv2.imread(str(src / img["file_name"])), cv2.COLOR_BGR2RGB)
        points = np.concatenate(kps.get(img["id"], [np.zeros((0, 2), np.float32)]))
        for c in range(1, cfg.copies + 1):
            pipe.set_random_seed(augment_ops.copy_seed(seed, img["id"], c))
            out = pipe(image=rgb, keypoints=points)
            cv2.imwrite(str(dst / f"{img['id']}_{c}.png"), cv2.cvtColor(out["image"], cv2.COLOR_RGB2BGR))
            n += 1
    return n


def timed(fn) -> tuple[float, int]:
    t0 = time.perf_counter()
    count = fn()
    return time.perf_counter() - t0, count


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=100)
    p.add_argument("--copies", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--input", type=Path, default=None, help="a dataset folder (default: generated)")
    p.add_argument("--params", type=Path, default=None, help="take augment.transforms from here")
    args = p.parse_args(argv)
    cv2.setNumThreads(1)
    base = load_params(args.params).augment if args.params else AugmentConfig()
    cfg = base.model_copy(update={"copies": args.copies, "keep_original": False})
    tmp = Path(tempfile.mkdtemp(prefix="augment_bench_"))
    try:
        src = args.input or tmp / "input"
        if args.input is None:
            make_input(src, args.images)
        cores = os.cpu_count() or 1

        def stage(workers: int) -> int:
            shutil.rmtree(tmp / "stage", ignore_errors=True)
            out = augment.augment_dataset(cfg, 0, src, tmp / "stage", workers=workers, progress=False)
            return len(out["images"])

        runs = {
            "bare": lambda: bare_loop(cfg, src, tmp / "bare", 0),
            "one": lambda: stage(1),
            "all": lambda: stage(cores),
        }
        best = {k: (float("inf"), 0) for k in runs}
        for _ in range(args.repeats):  # interleaved, so load from other processes hits all alike
            for k, fn in runs.items():
                best[k] = min(best[k], timed(fn))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    (bare_t, n), (one_t, n1), (all_t, n2) = best["bare"], best["one"], best["all"]
    bare, one, many = n / bare_t, n1 / one_t, n2 / all_t
    print(
        f"\nmachine: {platform.machine()}, {cores} cores ({platform.processor() or platform.platform()}); "
        f"{n} augmented images ({args.copies} per input), best of {args.repeats} interleaved runs; "
        f"load average at the end: {os.getloadavg()[0]:.1f}"
    )
    print("| run | processes | images/s | images/s per core | vs bare loop per core |")
    print("|---|---|---|---|---|")
    print(f"| bare albumentations loop | 1 | {bare:.1f} | {bare:.1f} | 1.00 |")
    print(f"| augment stage | 1 | {one:.1f} | {one:.1f} | {one / bare:.2f} |")
    print(f"| augment stage | {cores} | {many:.1f} | {many / cores:.1f} | {many / cores / bare:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
