"""Cut the glue tube's printed body out of a training photo, as a decal image for the glue-tube rig.

    python examples/glue_tubes_real/make_label_decal.py [--photos ../shared/data/glue_tubes_real]
        [--annotation 134] [--out data/decals/glue_label.png]

The photo and the decal made from it stay out of the repository: the decal is written at run time
into an ignored folder (data/). Photos of the held-out white desk (IMG_4884-IMG_4912, the test set of
the held-out-desk experiments) are refused, and so is a tube that the photo's edge cuts.

How: the annotated head and tail give the tube's axis; the photo is turned so that tail -> head runs
left to right. Along the axis, the yellow body starts at the crimped end and stops where the black
cap starts (the first run of dark columns past the middle). That stretch is cut out, with the
tube's silhouette as alpha: in every column, from the first to the last yellow pixel (the print
between them included), one pixel in, smoothed along the tube and feathered, so the desk never
prints onto the mesh. A phone photo from above is a planar projection of the tube's top face, so the
crop is the image of a `planar` decal seen from +z (right = +x, tail to head; up = +y). The crimped
end and the cap's start are the rig's x = -length/2 and x = length/2 - cap_length, whatever point
the annotators clicked, so the decal's place and width in metres follow from the rig alone:
`u = -cap_length / 2`, `width = length - cap_length` (params_label_decal.yaml).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

HELD_OUT = ["IMG_488[4-9]_*", "IMG_489*", "IMG_49*"]  # the white desk: never a source


def yellow(rgb: np.ndarray) -> np.ndarray:
    """The tube's yellow: hue 40-75 degrees, saturated and bright (wood is orange, granite grey)."""
    hsv = np.array(Image.fromarray(rgb).convert("HSV")).astype(float) / 255
    h, s, v = hsv[..., 0] * 360, hsv[..., 1], hsv[..., 2]
    return (h >= 40) & (h <= 75) & (s > 0.45) & (v > 0.45)


def body_span(rgb: np.ndarray, run: int) -> tuple[int, int]:
    """Columns [start, end) of the yellow body in a crop whose axis is its middle row: it starts at
    the first column with a quarter of the typical yellow count and ends where `run` columns in a row
    are mostly dark along the axis (the black cap; the pictograms' black marks are narrower)."""
    h, w = rgb.shape[:2]
    count = yellow(rgb).sum(axis=0)
    start = int(np.flatnonzero(count >= 0.25 * np.median(count[count > 0]))[0])
    band = rgb[int(h * 0.4) : int(h * 0.6)].astype(float).max(axis=2)  # brightness along the axis
    dark = (band < 80).mean(axis=0) > 0.7
    middle = (start + w) // 2
    for j in range(middle, w - run):
        if dark[j : j + run].all():
            return start, j
    raise ValueError("found no black cap along the tube")


def silhouette(rgb: np.ndarray, smooth: float = 0.06) -> np.ndarray:
    """In every column, everything between the first and the last yellow pixel, one pixel in. Columns
    without yellow take their edges from their neighbours, and each edge is the outermost one within
    `smooth` of the width around it (a white pictogram can reach, or fill, a column)."""
    mask = yellow(rgb)
    w = mask.shape[1]
    top, bottom = np.full(w, np.nan), np.full(w, np.nan)
    for j in range(w):
        rows = np.flatnonzero(mask[:, j])
        if len(rows):
            top[j], bottom[j] = rows[0], rows[-1]
    known = np.flatnonzero(~np.isnan(top))
    top, bottom = (np.interp(np.arange(w), known, e[known]) for e in (top, bottom))
    half = max(1, round(smooth * w / 2))
    out = np.zeros(mask.shape, bool)
    for j in range(w):
        window = slice(max(0, j - half), j + half + 1)
        out[int(top[window].min()) + 1 : int(bottom[window].max()), j] = True
    return out


def cut(photo: Image.Image, head, tail) -> Image.Image:
    """The tube's body as RGBA, crimped end at the left edge, cap start at the right edge."""
    (hx, hy), (tx, ty) = head, tail
    length = math.hypot(hx - tx, hy - ty)
    angle = math.degrees(math.atan2(hy - ty, hx - tx))  # PIL turns counter-clockwise for positive angles
    turned = photo.rotate(angle, center=(tx, ty), resample=Image.BICUBIC)
    inside = Image.new("L", photo.size, 255).rotate(angle, center=(tx, ty))  # 0 where the photo ends
    box = (round(tx - 0.2 * length), round(ty - 0.17 * length), round(tx + 1.2 * length), round(ty + 0.17 * length))
    if min(np.asarray(inside.crop(box))[2:-2, 2:-2].min(), *box[:2]) <= 0 or box[2] > photo.width * 2:
        raise ValueError("the photo's edge cuts the tube")
    rgb = np.asarray(turned.crop(box).convert("RGB"))
    start, end = body_span(rgb, run=max(3, round(0.05 * length)))
    rgb = rgb[:, start:end]
    half = round(0.16 * (end - start))  # the rig's flat tail is 0.144 of the body length wide
    mid = rgb.shape[0] // 2
    rgb = rgb[max(0, mid - half) : mid + half]
    alpha = Image.fromarray((silhouette(rgb) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.0))
    out = Image.fromarray(np.ascontiguousarray(rgb)).convert("RGBA")
    out.putalpha(alpha)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--photos",
        type=Path,
        default=Path("../shared/data/glue_tubes_real"),
        help="COCO folder of the real photos (annotations.json + images)",
    )
    ap.add_argument(
        "--annotation",
        type=int,
        default=134,
        help="annotation id of the tube to cut, on a training photo (134: a large, sharp tube on wood)",
    )
    ap.add_argument("--out", type=Path, default=Path("data/decals/glue_label.png"))
    args = ap.parse_args(argv)
    coco = json.loads((args.photos / "annotations.json").read_text())
    ann = next((a for a in coco["annotations"] if a["id"] == args.annotation), None)
    if ann is None:
        print(f"error: --annotation {args.annotation}: no such annotation in {args.photos}", file=sys.stderr)
        return 2
    image = next(i for i in coco["images"] if i["id"] == ann["image_id"])
    name = Path(image["file_name"]).name
    if any(fnmatch.fnmatch(name, p) for p in HELD_OUT):
        print(
            f"error: --annotation {args.annotation}: {name} shows the held-out white desk; pick a training photo",
            file=sys.stderr,
        )
        return 2
    hx, hy, _, tx, ty, _ = ann["keypoints"]
    try:
        with Image.open(args.photos / image["file_name"]) as photo:
            decal = cut(photo.convert("RGB"), (hx, hy), (tx, ty))
    except ValueError as exc:
        print(f"error: --annotation {args.annotation} ({name}): {exc}; pick another tube", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    decal.save(args.out)
    covered = (np.asarray(decal)[..., 3] > 127).mean()
    print(
        f"wrote {args.out}: {decal.width}x{decal.height} px of {name} (annotation {args.annotation}), "
        f"{covered:.0%} of it the tube"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
