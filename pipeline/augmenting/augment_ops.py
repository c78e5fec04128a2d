"""Per-image geometry of the augment stage: one albumentations copy of an image, labels exact.

Instance masks (decoded from RLE) move with the image and give the new bbox, area and RLE;
keypoints that leave the image become v=0 at (0, 0); instances with fewer than
`min_visible_px` mask pixels left are dropped; a mirror image (any flip, transpose...) swaps
the rig's flip pairs; a symmetric rig's labels are then put back into the canonical order of
its symmetry (common/symmetry.py), as the renderer wrote them. Each copy is seeded from
(params.seed, image, copy) (`copy_seed`), so it does not depend on which process makes it.
"""

from __future__ import annotations

import functools

import numpy as np

from common import symmetry
from common.rig_model import RigError, RigModel
from pipeline.coco_files import coco
from pipeline.errors import Rig2kpError
from pipeline.schema import AugmentConfig
from pipeline.schema.augment_params import Transform

SALT = 0xA06  # separates this stage's random streams from the other stages'
# albumentations transforms whose keypoint maths scale x, y by the size ratio (x' = s x), which
# is exact for continuous coordinates; all the others (flips, rotations, warps) map pixel
# *indices* like OpenCV does (x' = W - 1 - x), exact for coordinates of pixel centres.
SCALING = {
    "Resize",
    "LongestMaxSize",
    "SmallestMaxSize",
    "RandomScale",
    "RandomSizedCrop",
    "RandomResizedCrop",
    "RandomSizedBBoxSafeCrop",
    "CropAndPad",
}


class AugmentError(Rig2kpError, ValueError):
    """Input or output that the stage cannot use; names the file and what was expected."""


def _shift(keypoints: np.ndarray, delta: float, **_) -> np.ndarray:
    out = keypoints.copy()
    out[:, :2] += delta
    return out


def _build(t: Transform):
    """One transform; scaling ones are wrapped to run in continuous coordinates."""
    import albumentations as A  # noqa: N812

    obj = t.instantiate([_build(c) for c in t.transforms] if t.transforms is not None else None)
    if t.name not in SCALING:
        return obj
    p, obj.p = obj.p, 1.0
    return A.Sequential(
        [
            A.Lambda(keypoints=functools.partial(_shift, delta=0.5)),
            obj,
            A.Lambda(keypoints=functools.partial(_shift, delta=-0.5)),
        ],
        p=p,
    )


def build_pipeline(cfg: AugmentConfig):
    """albumentations Compose over pixel-index keypoints, keeping every keypoint (we set v)."""
    import albumentations as A  # noqa: N812

    return A.Compose(
        [_build(t) for t in cfg.transforms],
        keypoint_params=A.KeypointParams(format="xy", remove_invisible=False),
        strict=True,
    )


def copy_seed(seed: int, image_id: int, copy: int) -> int:
    return int(np.random.SeedSequence([seed, SALT, image_id, copy]).generate_state(1)[0])


def _orientation(p: np.ndarray) -> float:
    (ax, ay), (bx, by), (cx, cy) = p[:, :2]
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)


def pack_masks(masks: list[np.ndarray]) -> np.ndarray:
    """Instance masks as bits of one uint8 image (bit i % 8 of channel i // 8): one warp moves
    them all, exactly, because masks are resampled with nearest neighbour (checked in params)."""
    h, w = masks[0].shape
    # built transposed: masks from pycocotools are column-major, so this reads them in order
    planes = np.zeros(((len(masks) + 7) // 8, w, h), np.uint8)
    for i, m in enumerate(masks):
        planes[i // 8] |= (m.T != 0).view(np.uint8) << np.uint8(i % 8)
    packed = np.ascontiguousarray(planes.transpose(2, 1, 0))
    return packed[..., 0] if packed.shape[2] == 1 else packed


def unpack_masks(packed: np.ndarray, n: int) -> list[np.ndarray]:
    """The n masks, column-major (what pycocotools encodes without another copy)."""
    planes = np.ascontiguousarray((packed[..., None] if packed.ndim == 2 else packed).transpose(2, 1, 0))
    return [((planes[i // 8] >> np.uint8(i % 8)) & np.uint8(1)).T for i in range(n)]


def input_masks(anns: list[dict], h: int, w: int) -> np.ndarray | None:
    """The packed instance masks of one input image (decoded once for all its copies)."""
    return pack_masks([coco.decode_mask(a["segmentation"], h, w) for a in anns]) if anns else None


def augment_image(
    pipeline,
    image: np.ndarray,
    anns: list[dict],
    rigs: dict[int, RigModel],
    seed: int,
    min_visible_px: int,
    packed: np.ndarray | None = None,
) -> tuple[np.ndarray, list[dict], dict]:
    """One augmented copy: (RGB image, annotations without ids, counts of what was lost).

    Keypoints enter albumentations as pixel indices (x - 0.5, y - 0.5) and come back as
    continuous pixel coordinates. Three probe points tell whether the result is mirrored.
    """
    h, w = image.shape[:2]
    kps = [np.asarray(a["keypoints"], np.float32).reshape(-1, 3) for a in anns]
    probes = np.array([[0.25 * w, 0.25 * h], [0.75 * w, 0.25 * h], [0.25 * w, 0.75 * h]], np.float32)
    points = np.concatenate([k[:, :2] - 0.5 for k in kps] + [probes]) if kps else probes
    pipeline.set_random_seed(seed)
    data = {"image": image, "keypoints": points}
    if anns:
        data["mask"] = packed if packed is not None else input_masks(anns, h, w)
    out = pipeline(**data)
    moved = np.asarray(out["keypoints"], np.float64)
    if len(moved) != len(points):
        raise AugmentError(
            f"a transform dropped keypoints ({len(points)} -> {len(moved)}); remove it from augment.transforms"
        )
    img = out["image"]
    h2, w2 = img.shape[:2]
    mirrored = _orientation(moved[-3:]) * _orientation(probes) < 0
    lost = {"instances_dropped": 0, "keypoints_left_image": 0}
    result, start = [], 0
    masks = unpack_masks(out["mask"], len(anns)) if anns else []
    for a, k, mask in zip(anns, kps, masks, strict=True):
        xy = moved[start : start + len(k), :2] + 0.5
        start += len(k)
        rle = coco.encode_mask(mask)
        bbox, area = coco.rle_bbox_area(rle)
        if area < min_visible_px:
            lost["instances_dropped"] += 1
            continue
        new = np.zeros_like(k, dtype=np.float64)
        for j in range(len(k)):
            x, y = xy[j]
            if k[j, 2] <= 0:
                continue
            if not (0 <= x < w2 and 0 <= y < h2):
                lost["keypoints_left_image"] += 1
                continue
            new[j] = (round(float(x), 3), round(float(y), 3), k[j, 2])
        rig = rigs[a["category_id"]]
        if mirrored:
            try:
                new = new[rig.flip_index()]
            except RigError as e:
                raise AugmentError(str(e)) from None
        if rig.symmetry:  # moved keypoints may break the canonical order: choose it again (docs/guide/symmetry.md)
            new = symmetry.canonical(new, rig.symmetry)[0]
        flat = [float(v) if i % 3 < 2 else int(v) for i, v in enumerate(new.reshape(-1))]
        extras = {key: val for key, val in a.items() if key not in _REBUILT}
        result.append(
            {
                "category_id": a["category_id"],
                "keypoints": flat,
                "num_keypoints": coco.num_visible(flat),
                "bbox": bbox,
                "area": area,
                "segmentation": rle,
                "iscrowd": a.get("iscrowd", 0),
                **extras,
            }
        )
    return img, result, lost


_REBUILT = {
    "id",
    "image_id",
    "category_id",
    "keypoints",
    "num_keypoints",
    "bbox",
    "area",
    "segmentation",
    "iscrowd",
}
