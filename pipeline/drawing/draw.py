"""Pure drawing of COCO keypoint annotations and detections on an image (PIL; no files).

The one module that draws annotations: `rig2kp inspect` (dataset overlays), `rig2kp preview` (a
rig's turntable), `train.evaluate` (ground truth beside predictions) and `train.predict`
(annotated images and video frames). Colours and sizes are `pipeline/drawing/draw_style.py`'s; sheets
of several images are `pipeline/drawing/contact_sheet.py`'s. Nothing here reads or writes files.

Coordinates follow docs/reference/DATA_FORMAT.md: continuous pixels, pixel (col i, row j) covers
[i, i+1) x [j, j+1), so a keypoint at (i + 0.5, j + 0.5) is drawn centred on pixel (i, j).
Marker radius, line width and font size scale with the image size (see `Style.for_size`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw
from pycocotools import mask as mask_utils

from pipeline.drawing.draw_style import OUTLINE, RGB, ImageLike, Style, category_color, font, keypoint_color, to_pil


def category_index(categories: Mapping[int, dict] | Sequence[dict] | dict) -> dict[int, dict]:
    """{id: category} from one COCO category dict, a list of them, or an {id: category} map."""
    if isinstance(categories, Mapping) and "id" in categories and "name" in categories:
        return {int(categories["id"]): dict(categories)}
    if isinstance(categories, Mapping):
        return {int(k): v for k, v in categories.items()}
    return {int(c["id"]): c for c in categories}


def keypoint_array(ann: dict, category: dict) -> np.ndarray:
    """The annotation's keypoints as a (K, 3) float array [x, y, v]; K from the category."""
    names = category.get("keypoints") or []
    flat = ann.get("keypoints") or []
    if len(flat) != 3 * len(names):
        raise ValueError(
            f"annotation {ann.get('id')}: 'keypoints' has {len(flat)} values, expected "
            f"{3 * len(names)} (3 x {len(names)} keypoints of category {category.get('name')!r})"
        )
    return np.asarray(flat, dtype=float).reshape(len(names), 3)


def annotation_mask(ann: dict, height: int, width: int) -> np.ndarray | None:
    """HxW uint8 mask from the annotation's segmentation (RLE, uncompressed RLE or polygons).

    `height`/`width` are the image size the annotation was made for (COCO `images[]` entry);
    returns None when there is no segmentation.
    """
    seg = ann.get("segmentation")
    if not seg:
        return None
    if isinstance(seg, dict):
        rle = seg if isinstance(seg.get("counts"), str | bytes) else mask_utils.frPyObjects(seg, *seg["size"])
    else:  # list of polygons [[x0, y0, x1, y1, ...], ...]
        rle = mask_utils.merge(mask_utils.frPyObjects(seg, height, width))
    return mask_utils.decode(rle)


def draw_annotations(
    image: ImageLike,
    annotations: Sequence[dict],
    categories: Mapping[int, dict] | Sequence[dict] | dict,
    *,
    labels: bool = True,
    boxes: bool = True,
    skeleton: bool = True,
    masks: bool = True,
    side: int | None = None,
    style: Style | None = None,
    color: RGB | None = None,
    results: bool = False,
    captions: bool | None = None,
) -> Image.Image:
    """Draw COCO keypoint annotations on a copy of `image` and return it (RGB PIL image).

    image: PIL image or HxWx3 uint8 array; annotation coordinates are in its pixel frame.
    annotations: COCO annotation dicts (`category_id`, `keypoints` [x, y, v] * K, optional
      `bbox` [x, y, w, h], optional `segmentation` RLE or polygons, optional `iscrowd`).
    categories: one COCO category dict, a list of them, or {id: category}; each gives
      `keypoints` (names, for labels and colours) and `skeleton` (1-based index pairs).
    Keypoints: v=2 a filled dot, v=1 a hollow ring, v=0 nothing; keypoint k has colour
      `keypoint_color(k)` and, with `labels`, its name beside it. Skeleton lines join only
      keypoints with v > 0 (dashed when one end is hidden, v=1). Boxes and mask outlines take
      `category_color(category_id)`; boxes are captioned with the category name when
      `categories` holds more than one category.
    side: when set, draw on a copy scaled so its longer side is `side` px (annotations scaled
      with it; shrunk with Lanczos, enlarged with nearest so pixels stay sharp), so markers and
      text suit a thumbnail or show a small render's pixel grid.
    style: marker sizes; default `Style.for_size` of the output image.
    color: one colour for every box, skeleton and mask outline instead of the category's
      (`GT_COLOR`, `PRED_COLOR` to tell ground truth from predictions); keypoints keep theirs.
    results: the annotations are COCO results (detections): their keypoints are drawn as seen
      (results write v = 1 for every predicted keypoint) and boxes are captioned with the
      category name and the `score`.
    captions: caption boxes with the category name; default: with `labels` when `categories`
      holds more than one category, and always for `results`.
    """
    img = to_pil(image)
    src_w, src_h = img.size
    if side is not None and max(img.size) != side:
        f = side / max(img.size)
        size = (max(1, round(src_w * f)), max(1, round(src_h * f)))
        img = img.resize(size, Image.LANCZOS if f < 1 else Image.NEAREST)
    sx, sy = img.width / src_w, img.height / src_h
    style = style or Style.for_size(*img.size)
    cats = category_index(categories)
    draw = ImageDraw.Draw(img)
    items = []
    for ann in annotations:
        cat = cats.get(int(ann.get("category_id", -1)))
        if cat is None:
            raise ValueError(
                f"annotation {ann.get('id')}: category_id {ann.get('category_id')!r} "
                f"is not among the categories {sorted(cats)}"
            )
        kps = keypoint_array(ann, cat)
        if results:
            kps[:, 2] = np.where(kps[:, 2] > 0, 2, 0)
        items.append((ann, cat, kps))
    if captions is None:
        captions = results or (labels and len(cats) > 1)
    # Layers bottom to top, so no instance's lines hide another's keypoints.
    if masks:
        for ann, cat, _ in items:
            _draw_mask_outline(draw, ann, (src_h, src_w), img.size, color or category_color(cat["id"]), style)
    if boxes:
        for ann, cat, _ in items:
            caption = _caption(ann, cat, results) if captions else ""
            _draw_box(img, draw, ann, sx, sy, color or category_color(cat["id"]), caption, style)
    if skeleton:
        for _, cat, kps in items:
            _draw_skeleton(draw, kps, cat.get("skeleton") or [], sx, sy, color or category_color(cat["id"]), style)
    if labels:  # under the markers, so a long name never hides a keypoint
        for _, cat, kps in items:
            _draw_keypoint_labels(draw, kps, cat.get("keypoints") or [], sx, sy, img.size, style)
    for _, _, kps in items:
        _draw_keypoints(draw, kps, sx, sy, style)
    return img


def _caption(ann: dict, cat: dict, results: bool) -> str:
    name = str(cat.get("name", ""))
    return f"{name} {ann['score']:.2f}" if results and "score" in ann else name


def _pil_xy(x: float, y: float, sx: float, sy: float) -> tuple[float, float]:
    """Continuous pixel coordinates -> PIL's (PIL puts integer coordinates at pixel centres)."""
    return x * sx - 0.5, y * sy - 0.5


def _draw_mask_outline(draw, ann, src_hw, out_size, color: RGB, style: Style) -> None:
    mask = annotation_mask(ann, *src_hw)
    if mask is None:
        return
    if mask.shape[::-1] != tuple(out_size):
        mask = cv2.resize(mask, out_size, interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    width = max(1, style.line // 2)
    for c in contours:
        pts = [(float(p[0][0]), float(p[0][1])) for p in c]
        if len(pts) == 1:
            draw.point(pts, fill=color)
        else:
            draw.line([*pts, pts[0]], fill=color, width=width, joint="curve")


def _draw_box(img: Image.Image, draw, ann, sx, sy, color: RGB, caption: str, style: Style) -> None:
    bbox = ann.get("bbox")
    if not bbox or len(bbox) != 4:
        return
    x, y, w, h = (float(v) for v in bbox)
    # Outline on the box's own border pixels: continuous [x, x+w) covers columns x .. x+w-1.
    x0, y0 = round(x * sx), round(y * sy)
    x1, y1 = max(x0, round((x + w) * sx) - 1), max(y0, round((y + h) * sy) - 1)
    dash = ann.get("iscrowd", 0) == 1
    if dash:
        for p, q in (
            ((x0, y0), (x1, y0)),
            ((x1, y0), (x1, y1)),
            ((x1, y1), (x0, y1)),
            ((x0, y1), (x0, y0)),
        ):
            _dashed_line(draw, p, q, color, style.line, 3 * style.radius)
    else:
        draw.rectangle([x0, y0, x1, y1], outline=color, width=style.line)
    if caption:
        outline, fill, (dx, dy) = _text_masks(caption + (" (crowd)" if dash else ""), style.font_size)
        corner = (x0 + style.line + dx, y0 + style.line + dy)
        img.paste(OUTLINE, corner, outline)
        img.paste(color, corner, fill)


@lru_cache(maxsize=1024)
def _text_masks(text: str, size: int) -> tuple[Image.Image, Image.Image, tuple[int, int]]:
    """Coverage masks of `text` with its outline and of the text alone, and where their corner goes
    relative to the text's left-ascender point: pasting a colour through each draws what
    `ImageDraw.text` with a stroke draws. Cached: a video's captions repeat (a name, a score)."""
    f = font(size)
    stroke = max(1, size // 8)
    left, top, right, bottom = (int(v) for v in f.getbbox(text, anchor="la", stroke_width=stroke))
    size_px = (max(1, right - left), max(1, bottom - top))
    outline, fill = Image.new("L", size_px), Image.new("L", size_px)
    ImageDraw.Draw(outline).text((-left, -top), text, fill=255, font=f, anchor="la", stroke_width=stroke)
    ImageDraw.Draw(fill).text((-left, -top), text, fill=255, font=f, anchor="la")
    return outline, fill, (left, top)


def _draw_skeleton(draw, kps: np.ndarray, pairs, sx, sy, color: RGB, style: Style) -> None:
    for pair in pairs:
        a, b = int(pair[0]) - 1, int(pair[1]) - 1
        if not (0 <= a < len(kps) and 0 <= b < len(kps)) or kps[a, 2] <= 0 or kps[b, 2] <= 0:
            continue
        p, q = _pil_xy(kps[a, 0], kps[a, 1], sx, sy), _pil_xy(kps[b, 0], kps[b, 1], sx, sy)
        if kps[a, 2] == 1 or kps[b, 2] == 1:
            _dashed_line(draw, p, q, color, style.line, 2.5 * style.radius)
        else:
            draw.line([p, q], fill=color, width=style.line)


def _dashed_line(draw, p, q, color: RGB, width: int, dash: float) -> None:
    """A line from p to q drawn as dashes of length `dash` with equal gaps."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    length = float(np.hypot(*(q - p)))
    if length == 0:
        return
    step = (q - p) / length
    for start in np.arange(0.0, length, 2 * dash):
        end = min(start + dash, length)
        draw.line([tuple(p + step * start), tuple(p + step * end)], fill=color, width=width)


def _draw_keypoints(draw, kps: np.ndarray, sx, sy, style: Style) -> None:
    r = style.radius
    edge = max(1, round(r / 4))
    for k, (x, y, v) in enumerate(kps):
        if v <= 0:
            continue
        cx, cy = _pil_xy(x, y, sx, sy)
        color = keypoint_color(k)
        if v >= 2:  # seen: filled dot with a dark edge
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=color, outline=OUTLINE, width=edge)
        else:  # hidden: hollow ring one pixel wider than the dot, dark edges outside and in
            ring, rr = max(2, round(r / 2.5)), r + 1
            draw.ellipse(
                [cx - rr - edge, cy - rr - edge, cx + rr + edge, cy + rr + edge],
                outline=OUTLINE,
                width=ring + 2 * edge,
            )
            draw.ellipse([cx - rr, cy - rr, cx + rr, cy + rr], outline=color, width=ring)


def _draw_keypoint_labels(draw, kps: np.ndarray, names, sx, sy, size, style: Style) -> None:
    f = font(style.font_size)
    stroke = max(1, style.font_size // 8)
    gap = style.radius + stroke
    for k, (x, y, v) in enumerate(kps):
        if v <= 0 or k >= len(names):
            continue
        cx, cy = _pil_xy(x, y, sx, sy)
        # Upper right of the marker; flipped left / down where it would leave the image.
        left, top, right, bottom = draw.textbbox((0, 0), str(names[k]), font=f, anchor="lb", stroke_width=stroke)
        tx = cx + gap if cx + gap + right <= size[0] else cx - gap - right
        ty = cy - gap if cy - gap + top >= 0 else cy + gap + (bottom - top)
        draw.text(
            (tx, ty),
            str(names[k]),
            fill=keypoint_color(k),
            font=f,
            anchor="lb",
            stroke_width=stroke,
            stroke_fill=OUTLINE,
        )
