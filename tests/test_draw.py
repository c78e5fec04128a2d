"""Drawing checks at known pixels: colours land where the continuous-pixel convention says."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from pipeline.drawing.contact_sheet import contact_sheet, side_by_side
from pipeline.drawing.draw import draw_annotations
from pipeline.drawing.draw_style import PRED_COLOR, Style, category_color, keypoint_color

W, H = 64, 48
CAT = {"id": 1, "name": "tri", "keypoints": ["a", "b", "c"], "skeleton": [[1, 2], [2, 3]]}
ONLY_KPS = {"labels": False, "boxes": False, "skeleton": False, "masks": False}


def black(w: int = W, h: int = H) -> Image.Image:
    return Image.new("RGB", (w, h), (0, 0, 0))


def ann(kps: list[float], **extra) -> dict:
    return {"id": 7, "image_id": 1, "category_id": 1, "keypoints": kps, **extra}


def px(img: Image.Image, col: int, row: int) -> tuple[int, int, int]:
    return tuple(int(c) for c in np.asarray(img)[row, col])


def test_keypoint_colors_are_distinct_and_not_black():
    colors = [keypoint_color(k) for k in range(20)]
    assert len(set(colors)) == 20
    assert (0, 0, 0) not in colors


def test_seen_keypoint_fills_its_pixel_with_its_color():
    # keypoint b at the centre of pixel (col 40, row 20) in continuous coordinates
    out = draw_annotations(black(), [ann([0, 0, 0, 40.5, 20.5, 2, 0, 0, 0])], CAT, **ONLY_KPS)
    assert px(out, 40, 20) == keypoint_color(1)
    # the dot is small: a pixel 10 px away is untouched
    assert px(out, 50, 20) == (0, 0, 0)


def test_not_labelled_keypoint_draws_nothing_anywhere():
    # v=0 with coordinates kept (some exporters do this): still nothing drawn, not even skeleton
    a = ann([10.5, 20.5, 0, 40.5, 20.5, 0, 30.5, 40.5, 0])
    out = draw_annotations(black(), [a], CAT, labels=True, boxes=False, skeleton=True, masks=False)
    assert np.array_equal(np.asarray(out), np.asarray(black()))


def test_hidden_keypoint_is_a_ring_and_differs_from_seen():
    seen = draw_annotations(black(), [ann([20.5, 20.5, 2, 0, 0, 0, 0, 0, 0])], CAT, **ONLY_KPS)
    hidden = draw_annotations(black(), [ann([20.5, 20.5, 1, 0, 0, 0, 0, 0, 0])], CAT, **ONLY_KPS)
    assert px(seen, 20, 20) == keypoint_color(0)
    assert px(hidden, 20, 20) == (0, 0, 0)  # hollow centre
    r = Style.for_size(W, H).radius
    patch = np.asarray(hidden)[20 - 5 : 20 + 6, 20 - 5 : 20 + 6]
    ys, xs = np.nonzero((patch == keypoint_color(0)).all(axis=2))
    assert len(xs) > 0
    dist = np.hypot(xs - 5, ys - 5)
    assert dist.min() >= r - 2 and dist.max() <= r + 2  # the colour sits on a ring around it
    assert not np.array_equal(np.asarray(seen), np.asarray(hidden))


def test_skeleton_joins_labelled_keypoints_only():
    cat = {"id": 1, "name": "tri", "keypoints": ["a", "b", "c"], "skeleton": [[1, 2], [2, 3]]}
    opts = {"labels": False, "boxes": False, "masks": False}
    # a-b both seen: solid line through the midpoint pixel (25, 20); c not labelled: no b-c line
    out = draw_annotations(black(), [ann([10.5, 20.5, 2, 40.5, 20.5, 2, 40.5, 40.5, 0])], cat, **opts)
    assert px(out, 25, 20) == category_color(1)
    assert px(out, 40, 31) == (0, 0, 0)
    # c hidden: b-c dashed, so both coloured and untouched pixels lie along column 40
    out = draw_annotations(black(), [ann([10.5, 20.5, 2, 40.5, 20.5, 2, 40.5, 40.5, 1])], cat, **opts)
    column = [px(out, 40, row) for row in range(25, 36)]
    assert category_color(1) in column and (0, 0, 0) in column


def test_box_outline_on_its_border_pixels():
    a = ann([0, 0, 0] * 3, bbox=[5, 15, 40, 10])  # covers columns 5..44, rows 15..24
    out = draw_annotations(black(), [a], CAT, labels=False, skeleton=False, masks=False)
    c = category_color(1)
    assert px(out, 5, 20) == c and px(out, 44, 20) == c
    assert px(out, 25, 15) == c and px(out, 25, 24) == c
    assert px(out, 25, 20) == (0, 0, 0) and px(out, 45, 20) == (0, 0, 0) and px(out, 4, 20) == (0, 0, 0)


def test_results_draw_every_keypoint_as_seen_in_one_color_and_caption_the_score():
    # a detection: v=1 for every predicted keypoint (COCO results), a score, a box over rows 5..34
    det = {**ann([10.5, 40.5, 1, 40.5, 40.5, 1, 0, 0, 0], bbox=[5, 5, 40, 30]), "score": 0.87}
    out = draw_annotations(black(), [det], CAT, color=PRED_COLOR, results=True, labels=False, skeleton=False)
    assert px(out, 10, 40) == keypoint_color(0) and px(out, 40, 40) == keypoint_color(1)  # filled dots
    assert px(out, 44, 30) == PRED_COLOR and px(out, 25, 34) == PRED_COLOR  # right and bottom edges
    # the caption "tri 0.87" is written inside the box's top left corner, in the box's colour
    # (anti-aliased at 10 px: near it)

    def reddish(img):
        return sum(1 for r, g, b in np.asarray(img)[6:20, 6:30].reshape(-1, 3) if r > 200 and g < 90 and b < 90)

    assert reddish(out) > 10
    plain = draw_annotations(black(), [det], CAT, color=PRED_COLOR, labels=False, skeleton=False)
    assert reddish(plain) == 0
    assert px(plain, 10, 40) == (0, 0, 0)  # as an annotation, v=1 is a hollow ring


def test_side_by_side_puts_the_right_image_after_the_gap():
    left, right = Image.new("RGB", (10, 8), (255, 0, 0)), np.full((6, 5, 3), 9, np.uint8)
    both = side_by_side(left, right, gap=3)
    assert both.size == (18, 8)
    assert px(both, 9, 7) == (255, 0, 0) and px(both, 11, 3) == (255, 255, 255) and px(both, 13, 5) == (9, 9, 9)
    assert px(both, 13, 6) == (255, 255, 255)  # below the shorter image


def test_crowd_box_is_dashed():
    a = ann([0, 0, 0] * 3, bbox=[5, 15, 50, 10], iscrowd=1)
    out = draw_annotations(black(), [a], CAT, labels=False, skeleton=False, masks=False)
    top = [px(out, col, 15) for col in range(5, 55)]
    assert category_color(1) in top and (0, 0, 0) in top


@pytest.mark.parametrize("kind", ["rle", "uncompressed", "polygon"])
def test_mask_outline_follows_the_segmentation(kind):
    m = np.zeros((H, W), np.uint8)
    m[30:40, 20:50] = 1  # rows 30..39, columns 20..49
    if kind == "rle":
        rle = mask_utils.encode(np.asfortranarray(m))
        seg = {"size": rle["size"], "counts": rle["counts"].decode()}
    elif kind == "uncompressed":  # run lengths in column-major order, starting with zeros
        flat = m.flatten(order="F")
        change = np.flatnonzero(np.diff(flat)) + 1
        runs = np.diff(np.concatenate([[0], change, [flat.size]]))
        seg = {"size": [H, W], "counts": runs.tolist()}
    else:
        seg = [[20, 30, 50, 30, 50, 40, 20, 40]]  # continuous corners of the same rectangle
    a = ann([0, 0, 0] * 3, segmentation=seg)
    out = draw_annotations(black(), [a], CAT, labels=False, boxes=False, skeleton=False)
    c = category_color(1)
    assert px(out, 20, 35) == c and px(out, 35, 30) == c and px(out, 49, 35) == c
    assert px(out, 35, 35) == (0, 0, 0)  # inside stays untouched
    assert px(out, 35, 25) == (0, 0, 0)  # so does outside


def test_labels_write_the_name_in_the_keypoint_color():
    cat = {**CAT, "keypoints": ["head", "b", "c"]}
    a = ann([20.5, 30.5, 2, 0, 0, 0, 0, 0, 0])
    plain = np.asarray(draw_annotations(black(), [a], cat, **ONLY_KPS))
    named = np.asarray(draw_annotations(black(), [a], cat, **{**ONLY_KPS, "labels": True}))
    ys, xs = np.nonzero((named != plain).any(axis=2))
    assert len(xs) > 0
    # text pixels lie outside the dot, and some carry the keypoint colour (anti-aliased text)
    assert np.hypot(xs - 20, ys - 30).max() > Style.for_size(W, H).radius + 2
    distance = np.abs(named[ys, xs].astype(int) - keypoint_color(0)).sum(axis=1)
    assert (distance < 60).sum() >= 3


def test_array_input_is_not_modified_and_gives_the_same_drawing():
    arr = np.zeros((H, W, 3), np.uint8)
    a = ann([10.5, 20.5, 2, 40.5, 20.5, 1, 0, 0, 0], bbox=[5, 15, 40, 10])
    out = draw_annotations(arr, [a], [CAT])
    assert not arr.any()
    assert np.array_equal(np.asarray(out), np.asarray(draw_annotations(black(), [a], {1: CAT})))


def test_markers_scale_with_image_size_and_side_scales_annotations():
    assert Style.for_size(1920, 1080).radius > 2 * Style.for_size(W, H).radius
    assert Style.for_size(1920, 1080).font_size > Style.for_size(W, H).font_size
    big = black(1920, 1080)
    out = draw_annotations(big, [ann([960.5, 540.5, 2, 0, 0, 0, 0, 0, 0])], CAT, side=480, **ONLY_KPS)
    assert out.size == (480, 270)
    assert px(out, 240, 135) == keypoint_color(0)  # 960.5 / 4 = 240.1 lies in pixel 240
    # enlarged 5x: keypoint (10.5, 20.5) -> (52.5, 102.5), pixel (52, 102); no smoothing
    small = np.zeros((H, W, 3), np.uint8)
    small[20, 10] = (0, 0, 255)
    up = draw_annotations(small, [ann([10.5, 20.5, 2, 0, 0, 0, 0, 0, 0])], CAT, side=5 * W, **ONLY_KPS)
    assert up.size == (5 * W, 5 * H) and px(up, 52, 102) == keypoint_color(0)
    plain = np.asarray(draw_annotations(small, [], CAT, side=5 * W))
    assert set(np.unique(plain)) <= {0, 255}


def test_bad_keypoints_and_category_name_the_annotation():
    with pytest.raises(ValueError, match=r"annotation 7: 'keypoints' has 6 values, expected 9"):
        draw_annotations(black(), [ann([1, 1, 2, 1, 1, 2])], CAT)
    with pytest.raises(ValueError, match=r"annotation 7: category_id 5"):
        draw_annotations(black(), [{**ann([0] * 9), "category_id": 5}], CAT)


def test_contact_sheet_layout_and_tiles():
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)]
    tiles = [Image.new("RGB", (40, 30), c) for c in colors]
    sheet = contact_sheet(tiles, columns=2, pad=4)
    assert sheet.size == (4 + 2 * (40 + 4), 4 + 3 * (30 + 4))
    for i, c in enumerate(colors):
        r, col = divmod(i, 2)
        assert px(sheet, 4 + col * 44 + 20, 4 + r * 34 + 15) == c
    assert px(sheet, 4 + 44 + 20, 4 + 2 * 34 + 15) == (24, 24, 24)  # empty last cell
    with_caps = contact_sheet(tiles, 2, [f"img {i}" for i in range(5)], pad=4)
    assert with_caps.width == sheet.width and with_caps.height > sheet.height


def test_contact_sheet_rows_take_their_tallest_image():
    wide, tall = Image.new("RGB", (40, 20), (255, 0, 0)), Image.new("RGB", (20, 40), (0, 0, 255))
    sheet = contact_sheet([wide, wide, wide, tall], columns=2, pad=2)
    assert sheet.size == (2 + 2 * 42, 2 + (20 + 2) + (40 + 2))
    assert px(sheet, 2 + 20, 2 + 10) == (255, 0, 0)  # row 0, centre of the wide tile
    assert px(sheet, 2 + 42 + 20, 24 + 20) == (0, 0, 255)  # row 1, centre of the tall tile
    assert px(sheet, 2 + 2, 24 + 2) == (24, 24, 24)  # above the wide tile centred in row 1


def test_contact_sheet_shrinks_large_images_and_checks_arguments():
    sheet = contact_sheet([np.full((1080, 1920, 3), 200, np.uint8)], columns=3, thumb=100, pad=0)
    assert sheet.size == (100, 56)
    with pytest.raises(ValueError, match="2 captions for 1 images"):
        contact_sheet([black()], 1, ["a", "b"])
    with pytest.raises(ValueError, match="columns must be >= 1"):
        contact_sheet([black()], 0)
    with pytest.raises(ValueError, match="no images"):
        contact_sheet([], 2)


@pytest.mark.parametrize("size", [10, 19])
def test_cached_caption_masks_draw_what_imagedraw_text_draws(size):
    """Box captions are pasted through cached masks (fast on video); the pixels equal PIL's own
    outlined text on a noisy background."""
    from PIL import ImageDraw

    from pipeline.drawing.draw import _text_masks
    from pipeline.drawing.draw_style import OUTLINE, font

    bg = Image.fromarray(np.random.default_rng(size).integers(0, 255, (60, 300, 3), dtype=np.uint8))
    ref, ours = bg.copy(), bg.copy()
    text, color = "glue_tube 0.12 (crowd)", (255, 60, 60)
    ImageDraw.Draw(ref).text(
        (7, 9), text, fill=color, font=font(size), anchor="la", stroke_width=max(1, size // 8), stroke_fill=OUTLINE
    )
    outline, fill, (dx, dy) = _text_masks(text, size)
    ours.paste(OUTLINE, (7 + dx, 9 + dy), outline)
    ours.paste(color, (7 + dx, 9 + dy), fill)
    assert np.array_equal(np.asarray(ours), np.asarray(ref))
