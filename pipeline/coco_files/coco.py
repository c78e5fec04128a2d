"""COCO keypoint helpers shared by the stages: dataset folders, masks <-> RLE, boxes from masks.

A dataset folder holds a COCO JSON and the images it names by paths relative to the JSON's
folder (docs/reference/DATA_FORMAT.md). Masks are HxW uint8 arrays (1 = instance); RLE is COCO's
compressed form with a `str` counts, as pycocotools writes it.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np
from pycocotools import mask as mask_utils

from pipeline.errors import Rig2kpError

ANNOTATIONS = "annotations.json"


class DatasetError(Rig2kpError, ValueError):
    """A dataset that cannot be used; the message names the file and what was expected."""


class OutsideDatasetError(DatasetError):
    """A `file_name` that leads out of its dataset folder."""


def outside_dataset(name: str, root: str | Path | None = None, _inside: dict | None = None) -> str | None:
    """Why the image path `name` leads out of the dataset folder `root`, or None when it stays
    inside: an absolute path, a `..` part, or (with `root`) a folder on the way that is a link
    leading out. Every reader and writer of a dataset's images asks this one check; an image file
    that is itself a link (the mix stage's image links, DVC's cache links) is followed.
    `_inside`: a cache of folder -> verdict, for a call per image of a large dataset."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or PureWindowsPath(name).drive:
        return "an absolute path"
    if ".." in pure.parts:
        return "a path that goes up ('..')"
    if root is None:
        return None
    folder = Path(root, *pure.parts[:-1])
    inside = None if _inside is None else _inside.get(folder)
    if inside is None:
        inside = folder.resolve().is_relative_to(Path(root).resolve())
        if _inside is not None:
            _inside[folder] = inside
    return None if inside else f"its folder {folder} is a link leading out of {root}"


def inside_dataset(root: str | Path, name: str, what: str = "file_name") -> Path:
    """`root / name`, after `outside_dataset`'s check (an `OutsideDatasetError` names `what`)."""
    why = outside_dataset(name, root)
    if why is not None:
        raise OutsideDatasetError(f"{what} {name!r}: {why}; expected a path inside the dataset folder {root}")
    return Path(root) / name


def resolve_json(path: str | Path) -> Path:
    """The COCO JSON named by `path`: the file itself, or `annotations.json` in a folder."""
    path = Path(path)
    if path.is_dir():
        if (path / ANNOTATIONS).is_file():
            return path / ANNOTATIONS
        others = sorted(p.name for p in path.glob("*.json"))
        hint = f"; it holds {', '.join(others)}: name one of them" if others else ""
        raise DatasetError(f"{path}: expected a COCO file {ANNOTATIONS} in this folder{hint}")
    if not path.is_file():
        raise DatasetError(f"{path}: no such file or folder")
    return path


def load_json(path: str | Path) -> dict:
    """A COCO dict with `images`, `annotations` and `categories` lists (read, not yet checked)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: not a readable JSON file: {exc}") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected a JSON object at the top level")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DatasetError(f"{path}: expected a list under {key!r}, got {type(data.get(key)).__name__}")
    return data


def load_dataset(path: str | Path) -> tuple[dict, Path]:
    """(COCO dict, folder its file names are relative to) for a JSON file or dataset folder."""
    json_path = resolve_json(path)
    return load_json(json_path), json_path.parent


def encode_mask(mask: np.ndarray) -> dict:
    """Compressed RLE `{"size": [h, w], "counts": str}` of an HxW mask (nonzero = inside)."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8, copy=False)))
    return {
        "size": [int(rle["size"][0]), int(rle["size"][1])],
        "counts": rle["counts"].decode("ascii"),
    }


def to_rle(segmentation, height: int, width: int) -> dict:
    """Compressed RLE of any COCO segmentation: polygons, uncompressed or compressed RLE."""
    if isinstance(segmentation, list):  # polygons [[x1, y1, x2, y2, ...], ...]
        polys = [p for p in segmentation if len(p) >= 6]
        if not polys:
            return encode_mask(np.zeros((height, width), np.uint8))
        rle = mask_utils.merge(mask_utils.frPyObjects(polys, height, width))
    elif isinstance(segmentation, dict) and isinstance(segmentation.get("counts"), list):
        rle = mask_utils.frPyObjects(segmentation, *segmentation["size"])
    elif isinstance(segmentation, dict) and "counts" in segmentation:
        counts = segmentation["counts"]
        rle = {
            "size": list(segmentation["size"]),
            "counts": counts.encode("ascii") if isinstance(counts, str) else counts,
        }
    else:
        raise ValueError(f"expected polygons or an RLE dict, got {type(segmentation).__name__}")
    counts = rle["counts"]
    return {
        "size": [int(rle["size"][0]), int(rle["size"][1])],
        "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts,
    }


def decode_mask(segmentation, height: int, width: int) -> np.ndarray:
    """HxW uint8 mask (1 = inside) of any COCO segmentation."""
    rle = to_rle(segmentation, height, width)
    return mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode("ascii")})


def rle_bbox_area(rle: dict) -> tuple[list[float], float]:
    """([x, y, w, h], pixel count) of a compressed RLE; the box encloses whole pixels."""
    r = {
        "size": rle["size"],
        "counts": rle["counts"].encode("ascii") if isinstance(rle["counts"], str) else rle["counts"],
    }
    x, y, w, h = (float(v) for v in mask_utils.toBbox(r))
    return [x, y, w, h], float(mask_utils.area(r))


def num_visible(keypoints: list[float]) -> int:
    """COCO `num_keypoints`: how many (x, y, v) triplets have v > 0."""
    return sum(1 for v in keypoints[2::3] if v > 0)
