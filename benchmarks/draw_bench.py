"""Cost of drawing detections on a video frame, as `rig2kp predict` does for every frame.

    python benchmarks/draw_bench.py [--frames 300] [--detections 5] [--size 640x480]

Each frame: `pipeline.drawing.draw.draw_annotations` of COCO results (boxes captioned with name and
score, skeletons, keypoints) on an RGB array, back to an array and to BGR for cv2.VideoWriter.
`fixed` draws the same scores every frame (captions come from the cache); `varying` draws new
random scores each frame (two-digit captions, so the cache fills over the first frames).
Prints a Markdown table for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, not installed
from pipeline.drawing.draw import draw_annotations  # noqa: E402
from pipeline.drawing.draw_style import PRED_COLOR  # noqa: E402
from train.toyset import CATEGORIES  # noqa: E402


def detections(n: int, rng: np.random.Generator, w: int, h: int) -> list[dict]:
    """n COCO results of the toy categories, spread over the frame."""
    out = []
    for i in range(n):
        cat = CATEGORIES[i % len(CATEGORIES)]
        x, y = rng.uniform(0, 0.8 * w), rng.uniform(0, 0.8 * h)
        kps = [v for _ in cat["keypoints"] for v in (x + rng.uniform(0, 80), y + rng.uniform(0, 60), 1)]
        out.append({"image_id": 1, "category_id": cat["id"], "bbox": [x, y, 80, 60], "score": 0.9, "keypoints": kps})
    return out


def per_frame_ms(frames: int, n: int, size: tuple[int, int], varying: bool) -> float:
    rng = np.random.default_rng(0)
    w, h = size
    rgb = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    found = detections(n, rng, w, h)

    def frame() -> np.ndarray:
        if varying:
            for d in found:
                d["score"] = float(rng.uniform(0.3, 1.0))
        drawn = draw_annotations(rgb, found, CATEGORIES, color=PRED_COLOR, results=True, labels=False, masks=False)
        return cv2.cvtColor(np.asarray(drawn), cv2.COLOR_RGB2BGR)

    for _ in range(10):
        frame()
    start = time.perf_counter()
    for _ in range(frames):
        frame()
    return 1000 * (time.perf_counter() - start) / frames


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--detections", type=int, default=5)
    p.add_argument("--size", default="640x480", help="frame width x height, px")
    args = p.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    machine = platform.processor() or platform.machine()
    print(f"{machine}, {args.frames} frames of {args.size}, {args.detections} detections")
    print("| scores | ms per frame |\n|---|---|")
    for varying in (False, True):
        ms = per_frame_ms(args.frames, args.detections, size, varying)
        print(f"| {'varying' if varying else 'fixed'} | {ms:.2f} |")


if __name__ == "__main__":
    main()
