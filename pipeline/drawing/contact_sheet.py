"""Contact sheets and side-by-side pairs of images (PIL; no files).

`rig2kp inspect` and `rig2kp preview` tile their overlays into sheets; `train.evaluate` sets
ground truth beside predictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PIL import Image, ImageDraw

from pipeline.drawing.draw_style import RGB, ImageLike, font, to_pil


def contact_sheet(
    images: Sequence[ImageLike],
    columns: int = 4,
    captions: Sequence[str] | None = None,
    *,
    thumb: int = 320,
    pad: int = 4,
    background: RGB = (24, 24, 24),
    caption_color: RGB = (235, 235, 235),
) -> Image.Image:
    """Tile `images` row-major into one RGB sheet, `columns` per row, optional caption under each.

    images: PIL images or HxWx3 uint8 arrays, any sizes. Each is shrunk (aspect kept, never
      enlarged) to fit a `thumb` x `thumb` box and centred in its cell: cells are as wide as
      the widest thumbnail, rows as tall as their tallest.
    captions: one line per image (cut with '…' to the cell width), or None.
    pad: pixels between cells and around the sheet. Returns the sheet; nothing is written.
    """
    if not images:
        raise ValueError("contact_sheet: no images given")
    if columns < 1:
        raise ValueError(f"contact_sheet: columns must be >= 1, got {columns}")
    if captions is not None and len(captions) != len(images):
        raise ValueError(f"contact_sheet: {len(captions)} captions for {len(images)} images")
    thumbs = []
    for im in images:
        t = to_pil(im)
        if max(t.size) > thumb:
            t.thumbnail((thumb, thumb), Image.LANCZOS)
        thumbs.append(t)
    cell_w = max(t.width for t in thumbs)
    f = font(max(10, min(16, cell_w // 24)))
    cap_h = 0
    if captions is not None:
        box = f.getbbox("Ag…")
        cap_h = int(box[3] - box[1]) + 2 * pad
    # Each row is as tall as its tallest thumbnail, so landscape rows do not keep portrait gaps.
    rows = [thumbs[i : i + columns] for i in range(0, len(thumbs), columns)]
    row_h = [max(t.height for t in row) for row in rows]
    ncols = min(columns, len(thumbs))
    size = (pad + ncols * (cell_w + pad), pad + sum(h + cap_h + pad for h in row_h))
    sheet = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(sheet)
    y0 = pad
    for r, row in enumerate(rows):
        for c, t in enumerate(row):
            x0 = pad + c * (cell_w + pad)
            sheet.paste(t, (x0 + (cell_w - t.width) // 2, y0 + (row_h[r] - t.height) // 2))
            if captions is not None:
                text = _fit_text(draw, str(captions[r * columns + c]), f, cell_w)
                xy = (x0 + cell_w / 2, y0 + row_h[r] + pad)
                draw.text(xy, text, fill=caption_color, font=f, anchor="ma")
        y0 += row_h[r] + cap_h + pad
    return sheet


def _fit_text(draw: ImageDraw.ImageDraw, text: str, f: Any, width: int) -> str:
    """`text`, cut with an ellipsis until it fits in `width` pixels."""
    if draw.textlength(text, font=f) <= width:
        return text
    while text and draw.textlength(text + "…", font=f) > width:
        text = text[:-1]
    return text + "…"


def side_by_side(left: ImageLike, right: ImageLike, gap: int = 4, background: RGB = (255, 255, 255)) -> Image.Image:
    """`left` and `right` in one RGB image, `gap` px apart, tops aligned (ground truth | prediction)."""
    a, b = to_pil(left), to_pil(right)
    out = Image.new("RGB", (a.width + gap + b.width, max(a.height, b.height)), background)
    out.paste(a, (0, 0))
    out.paste(b, (a.width + gap, 0))
    return out
