"""Cost of `rig2kp export-dataset` per image, for each format, with links and with --copy.

    python benchmarks/export_bench.py [--images 2000] [--instances 4] [--keypoints 8] [--size 640x480]

Writes a dataset folder of PNG noise images (the export opens each image's header and links or
copies the file; the pixels do not matter) with random instances, then times each format once
with links and once with copies. Prints a Markdown table for benchmarks/RESULTS.md.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, not installed
from pipeline.dataset_export.export_dataset import FORMATS, export_dataset  # noqa: E402


def make_dataset(folder: Path, n: int, instances: int, k: int, size: tuple[int, int]) -> None:
    """n PNG images under images/, `instances` instances of one K-keypoint rig each."""
    rng = np.random.default_rng(0)
    w, h = size
    (folder / "images").mkdir(parents=True)
    noise = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    cv2.imwrite(str(folder / "images" / "000000.png"), noise)
    names = [f"left_{j}" if j % 2 == 0 else f"right_{j - 1}" for j in range(k)]
    images, anns = [], []
    for i in range(n):
        name = f"images/{i:06d}.png"
        if i:
            shutil.copyfile(folder / "images" / "000000.png", folder / name)
        images.append({"id": i + 1, "file_name": name, "width": w, "height": h, "source": "synthetic"})
        for t in range(instances):
            x, y = rng.uniform(0, w - 100), rng.uniform(0, h - 100)
            kps = []
            for _ in range(k):
                kps += [float(x + rng.uniform(0, 100)), float(y + rng.uniform(0, 100)), int(rng.integers(1, 3))]
            anns.append(
                {
                    "id": (i + 1) * 1000 + t + 1,
                    "image_id": i + 1,
                    "category_id": 1,
                    "keypoints": kps,
                    "num_keypoints": k,
                    "bbox": [x, y, 100.0, 100.0],
                    "area": 10000.0,
                    "iscrowd": 0,
                }
            )
    cat = {
        "id": 1,
        "name": "rig",
        "supercategory": "object",
        "keypoints": names,
        "skeleton": [[1, 2]],
        "rig": {"sigmas": [0.05] * k, "flip_pairs": [[names[j], names[j + 1]] for j in range(0, k - 1, 2)]},
    }
    data = {"images": images, "annotations": anns, "categories": [cat]}
    (folder / "annotations.json").write_text(json.dumps(data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--instances", type=int, default=4)
    parser.add_argument("--keypoints", type=int, default=8)
    parser.add_argument("--size", default="640x480")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "ds"
        make_dataset(src, args.images, args.instances, args.keypoints, size)
        print(
            f"{platform.node()}, {os.cpu_count()} cores; {args.images} images {args.size}, "
            f"{args.instances} instances x {args.keypoints} keypoints"
        )
        print("\n| format | images as | total | per image |\n|---|---|---|---|")
        for fmt in FORMATS:
            for copy in (False, True):
                out = Path(tmp) / f"{fmt}-{copy}"
                start = time.perf_counter()
                manifest = export_dataset(src, out, fmt, copy=copy)
                took = time.perf_counter() - start
                print(f"| {fmt} | {manifest['images']} | {took:.1f} s | {1000 * took / args.images:.2f} ms |")
                shutil.rmtree(out)


if __name__ == "__main__":
    main()
