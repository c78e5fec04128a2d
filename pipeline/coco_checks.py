"""The one COCO keypoint validator: every check of docs/reference/DATA_FORMAT.md, asked for by need.

Each problem names its key (`annotations[id=1003].keypoints[left_a]`, `categories[id=1].rig.sigmas`,
`images[id=12].file_name`; an item without a usable id is named by its index, `annotations[4]`)
and says what was found and what was expected; the file is named once, in the message header.

Some checks always run: without them nothing can read the file (ids are unique integers >= 0,
references resolve, a category's keypoint names and skeleton, K (x, y, v) numbers per annotation,
positive image sizes, a `bbox` that is there is four numbers, and every `file_name` inside the
dataset folder: `coco.outside_dataset`). The others run when the caller's
`Needs` asks for them, as errors or as warnings (validate, train, augment, and the counts of
`pipeline/stats.py`, which the inspect command reports):

- `labels`: at least one category, ids >= 1 (0 is the background label), at least one keypoint
  each. Validate and train: errors.
- `rig`: the `rig` extras that are there fit the keypoints (sigmas > 0, tolerances >= 0, flip
  pairs of names, `symmetry_permutations` permutations of 0..K-1 with the identity). Validate,
  train and augment: errors.
- `sigmas`: every category carries `rig.sigmas` (OKS, the flip of the heatmaps). Train: errors.
- `boxes`: every annotation has a finite `bbox` with w, h > 0, and an `area`. Validate and
  train: errors.
- `visibility`: v is 0, 1 or 2. Validate and train: errors.
- `masks`: every annotation has a `segmentation`. Augment (it moves masks): errors.
- `format`: the rest of the format: `num_keypoints`, keypoints with v > 0 and boxes inside the
  image, `area` > 0, `iscrowd` 0 or 1; with `decode_masks`, masks that decode at the image's
  size. Validate: errors; stats count some (`COUNTED`).
- `conventions`: v = 0 at (0, 0), a box and area that match the mask, `source`, a `rig` key,
  image ids from 1, `iscrowd` present. Validate: warnings; stats count `v0_with_xy`.
- `images`: each image file exists; with `open_images`, it opens and has the declared size (with
  `verify_images`, it also reads to the end). Validate (unless --no-images), train and augment:
  errors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image
from tqdm import tqdm

from pipeline import coco
from pipeline.coco import DatasetError
from pipeline.errors import ProblemsError

Level = Literal["error", "warning"] | None
ERROR: Level = "error"
WARNING: Level = "warning"
BOX_TOL = 1.0  # pixels: a box against its mask's box, and a box reaching outside the image
# The departures from the format that dataset stats count (stats.json `checks`), 0 in a clean dataset.
COUNTED = ("num_keypoints_mismatch", "keypoints_outside_image", "v0_with_xy", "boxes_outside_image")


@dataclass(frozen=True)
class Needs:
    """What a reader needs from a COCO keypoint file: each flag's checks (listed in the module's
    docstring) run at its level; None skips them."""

    labels: Level = None
    rig: Level = None
    sigmas: Level = None
    boxes: Level = None
    visibility: Level = None
    masks: Level = None
    format: Level = None
    conventions: Level = None
    images: Level = None
    open_images: bool = False  # the `images` check opens each file and compares its size
    verify_images: bool = False  # ... and reads it to the end (a truncated file fails)
    decode_masks: bool = False  # the `format` check decodes each mask (slow on big datasets)


VALIDATE = Needs(
    labels=ERROR,
    rig=ERROR,
    boxes=ERROR,
    visibility=ERROR,
    format=ERROR,
    conventions=WARNING,
    images=ERROR,
    open_images=True,
    verify_images=True,
    decode_masks=True,
)
TRAIN = Needs(labels=ERROR, rig=ERROR, sigmas=ERROR, boxes=ERROR, visibility=ERROR, images=ERROR)
AUGMENT = Needs(rig=ERROR, masks=ERROR, images=ERROR, open_images=True)
INSPECT = Needs()
COUNT = Needs(format=WARNING, conventions=WARNING)  # what stats count: no file opened, no mask decoded


@dataclass(frozen=True)
class Problem:
    level: str  # "error" or "warning"
    key: str  # where in the file, e.g. "annotations[id=1003].keypoints"
    message: str  # what was found and what was expected
    check: str  # the check's name, e.g. "keypoints_outside_image" (stats count those in COUNTED)
    file: str = ""  # the COCO file, when several are checked together

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"

    def line(self) -> str:
        """`error: train.json: annotations[id=3].bbox: ...`, for a report of several files."""
        return f"{self.level}: {self.file}: {self}" if self.file else f"{self.level}: {self}"


class InvalidDatasetError(DatasetError, ProblemsError):
    """A COCO file that lacks what the command needs; every problem is listed."""


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _strongest(*levels: Level) -> Level:
    return ERROR if ERROR in levels else WARNING if WARNING in levels else None


def _items(raw, kind: str, noun: str, least: int | None, add: Add, keep: bool = False) -> Iterator[tuple[str, dict]]:
    """(key, item) of each object in `raw` with a usable id: an integer (>= least) that no earlier
    item uses. Items without one are reported, and left out unless `keep` (nothing refers to an
    annotation's id, so its other checks still run)."""
    seen: set[int] = set()
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            add(ERROR, f"{kind}[{i}]", "structure", f"expected an object, got {type(item).__name__}")
            continue
        key, iid = _key(kind, i, item), item.get("id")
        usable = _is_int(iid) and (least is None or iid >= least) and iid not in seen
        if usable:
            seen.add(iid)
        else:
            floor = "" if least is None else f" >= {least}"
            add(ERROR, f"{key}.id", "ids", f"{iid!r}: expected an integer{floor} that no other {noun} uses")
        if usable or keep:
            yield key, item


def _sized(img: dict) -> bool:
    w, h = img.get("width"), img.get("height")
    return _is_int(w) and _is_int(h) and w > 0 and h > 0


def _key(kind: str, index: int, item: dict) -> str:
    """`annotations[id=3]`, or `annotations[4]` when the item has no integer id."""
    return f"{kind}[id={item.get('id')}]" if _is_int(item.get("id")) else f"{kind}[{index}]"


Add = Callable[[Level, str, str, str], None]  # (level, key, check, message)


def check(data: dict, needs: Needs, root: Path | None = None, progress: bool = False) -> list[Problem]:
    """Every problem of one COCO dict that `needs` asks about, errors and warnings; `root` is the
    folder its file names are relative to (None: the image files are not looked at)."""
    found: list[Problem] = []

    def add(level: Level, key: str, name: str, message: str) -> None:
        if level is not None:
            found.append(Problem(level, key, message, name))

    if not isinstance(data, dict):
        add(ERROR, "(top level)", "structure", f"expected a JSON object, got {type(data).__name__}")
        return found
    missing = [k for k in ("images", "annotations", "categories") if not isinstance(data.get(k), list)]
    for k in missing:
        add(ERROR, k, "structure", f"expected a list, got {type(data.get(k)).__name__}")
    if missing:
        return found
    cats = _categories(data["categories"], needs, add)
    images = _images(data["images"], needs, root, progress, add)
    _annotations(data["annotations"], images, cats, needs, add)
    return found


def _categories(raw: list, needs: Needs, add: Add) -> dict[int, dict]:
    """The categories with a usable id and keypoint names, by id; their problems through `add`."""
    if not raw:
        add(needs.labels, "categories", "labels", "expected at least one category")
    by_id: dict[int, dict] = {}
    for key, cat in _items(raw, "categories", "category", None, add):
        cid = cat["id"]
        if cid < 1:
            add(needs.labels, f"{key}.id", "labels", f"{cid}: expected an integer >= 1 (0 is the background label)")
        if not isinstance(cat.get("name"), str):
            add(ERROR, f"{key}.name", "structure", f"expected a string, got {cat.get('name')!r}")
        names = cat.get("keypoints", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            add(ERROR, f"{key}.keypoints", "structure", f"expected a list of names, got {names!r}")
            continue
        if not names:
            add(needs.labels, f"{key}.keypoints", "labels", "expected at least one keypoint name")
        if len(set(names)) != len(names):
            add(ERROR, f"{key}.keypoints", "structure", f"names repeat: {names}")
        skeleton = cat.get("skeleton") or []
        for j, pair in enumerate(skeleton if isinstance(skeleton, list) else [skeleton]):
            if not (
                isinstance(pair, list) and len(pair) == 2 and all(_is_int(j) and 1 <= j <= len(names) for j in pair)
            ):
                add(
                    ERROR,
                    f"{key}.skeleton[{j}]",
                    "structure",
                    f"expected a pair of 1-based keypoint indices in 1..{len(names)}, got {pair!r}",
                )
        _rig(cat.get("rig"), names, f"{key}.rig", needs, add)
        by_id[cid] = cat
    return by_id


def _rig(rig, names: list[str], key: str, needs: Needs, add: Add) -> None:
    """Our `rig` extras (docs/reference/DATA_FORMAT.md): whichever are there must fit the keypoints."""
    k, fits = len(names), _strongest(needs.rig, needs.sigmas)
    if rig is None:
        add(needs.conventions, key, "conventions", "missing (sigmas, flip pairs): defaults will be used")
        add(needs.sigmas, f"{key}.sigmas", "sigmas", f"missing; expected {k} OKS sigmas, one per keypoint")
        return
    if not isinstance(rig, dict):
        add(fits, key, "rig", f"expected an object, got {type(rig).__name__}")
        return
    sigmas = rig.get("sigmas")
    if sigmas is None:
        add(needs.sigmas, f"{key}.sigmas", "sigmas", f"missing; expected {k} OKS sigmas, one per keypoint")
    elif not isinstance(sigmas, list) or len(sigmas) != k:
        n = f"{len(sigmas)} values" if isinstance(sigmas, list) else repr(sigmas)
        add(fits, f"{key}.sigmas", "rig", f"{n}, expected one per keypoint ({k}: {names})")
    elif not all(_num(s) and s > 0 for s in sigmas):
        add(fits, f"{key}.sigmas", "rig", f"expected values > 0, got {sigmas}")
    tolerances = rig.get("tolerances")
    if tolerances is not None and not (
        isinstance(tolerances, list) and len(tolerances) == k and all(_num(t) and t >= 0 for t in tolerances)
    ):
        add(needs.rig, f"{key}.tolerances", "rig", f"expected {k} numbers >= 0, got {tolerances}")
    pairs = rig.get("flip_pairs") or []
    for pair in pairs if isinstance(pairs, list) else [pairs]:
        if not (isinstance(pair, list) and len(pair) == 2 and all(n in names for n in pair)):
            add(needs.rig, f"{key}.flip_pairs", "rig", f"{pair!r}: expected a pair of keypoint names, two of {names}")
    group = rig.get("symmetry_permutations")
    if group is None:
        return
    if not isinstance(group, list) or not group:
        add(needs.rig, f"{key}.symmetry_permutations", "rig", f"expected a list of permutations, got {group!r}")
        return
    identity = list(range(k))
    for p in group:
        if not (isinstance(p, list) and all(_is_int(i) for i in p) and sorted(p) == identity):
            add(needs.rig, f"{key}.symmetry_permutations", "rig", f"{p!r} is not a permutation of 0..{k - 1}")
    if identity not in group:
        add(needs.rig, f"{key}.symmetry_permutations", "rig", "the identity is missing; expected a group")


def _images(raw: list, needs: Needs, root: Path | None, progress: bool, add: Add) -> dict[int, dict]:
    """The images by id; their problems through `add`."""
    by_id: dict[int, dict] = {}
    look = root is not None and needs.images is not None
    inside: dict = {}  # folder -> inside the dataset, asked once per folder
    shown = tqdm(raw, desc="images", unit="img", disable=not (progress and look))
    for key, img in _items(shown, "images", "image", 0, add):
        iid = img["id"]
        if iid == 0:
            add(needs.conventions, f"{key}.id", "conventions", "0: our format numbers images from 1")
        by_id[iid] = img
        w, h, name = img.get("width"), img.get("height"), img.get("file_name")
        sized = _sized(img)
        if not sized:
            add(ERROR, f"{key}.width", "structure", f"width, height = {w!r}, {h!r}: expected positive integers")
        if img.get("source") not in ("synthetic", "real"):
            add(
                needs.conventions,
                f"{key}.source",
                "conventions",
                f"{img.get('source')!r}: expected 'synthetic' or 'real'",
            )
        if not isinstance(name, str) or not name:
            add(ERROR, f"{key}.file_name", "structure", f"{name!r}: expected a path relative to the JSON's folder")
            continue
        why = coco.outside_dataset(name, root, inside)
        if why is not None:
            add(ERROR, f"{key}.file_name", "paths", f"{name!r}: {why}; expected a path inside the dataset folder")
            continue
        if look:
            _image_file(root / name, (w, h) if sized else None, f"{key}.file_name", needs, add)
    return by_id


def _image_file(path: Path, size: tuple[int, int] | None, key: str, needs: Needs, add: Add) -> None:
    if not needs.open_images:
        if not path.is_file():
            add(needs.images, key, "images", f"{path} not found")
        return
    try:
        with Image.open(path) as im:  # reads the header only
            found = im.size
            if needs.verify_images:
                im.verify()  # reads the whole file: a truncated or corrupt one fails here
    except FileNotFoundError:
        add(needs.images, key, "images", f"{path} not found")
        return
    except OSError as exc:
        add(needs.images, key, "images", f"{path} is not a readable image ({exc})")
        return
    if size is not None and found != size:
        hint = (
            " (its EXIF orientation rotates it; save it upright, e.g. PIL.ImageOps.exif_transpose)"
            if found == size[::-1] and _orientation(path) in (5, 6, 7, 8)
            else "; fix the file or its width/height"
        )
        add(
            needs.images,
            key,
            "images",
            f"{path} is {found[0]}x{found[1]}, the annotations say {size[0]}x{size[1]}{hint}",
        )


def _orientation(path: Path) -> int:
    """The EXIF orientation tag of an image file (1: upright, or none)."""
    try:
        with Image.open(path) as im:
            return im.getexif().get(0x0112, 1)
    except OSError:
        return 1


def _annotations(raw: list, images: dict[int, dict], cats: dict[int, dict], needs: Needs, add: Add) -> None:
    for key, a in _items(raw, "annotations", "annotation", 0, add, keep=True):
        img, cat = images.get(a.get("image_id")), cats.get(a.get("category_id"))
        if img is None:
            add(ERROR, f"{key}.image_id", "structure", f"{a.get('image_id')!r} is not an image id")
        if cat is None:
            cid = a.get("category_id")
            what = "is the background label" if cid == 0 else "is not a category id"
            add(ERROR, f"{key}.category_id", "structure", f"{cid!r} {what}; expected one of {sorted(cats)}")
        if img is None or cat is None or not _sized(img):  # its problems are reported already
            continue
        _keypoints(a, img, cat, key, needs, add)
        _box(a, img, key, needs, add)
        _mask(a, img, key, needs, add)


def _keypoints(a: dict, img: dict, cat: dict, key: str, needs: Needs, add: Add) -> None:
    names = cat.get("keypoints", [])
    k, (w, h) = len(names), (img["width"], img["height"])
    kps = a.get("keypoints", [] if k == 0 else None)
    if not isinstance(kps, list) or len(kps) != 3 * k or not all(_num(v) for v in kps):
        got = f"{len(kps)} values" if isinstance(kps, list) and len(kps) != 3 * k else repr(kps)
        add(
            ERROR,
            f"{key}.keypoints",
            "structure",
            f"{got}, expected 3 x {k} = {3 * k} numbers [x, y, v] for category {cat.get('name')!r} ({names})",
        )
        return
    for j, name in enumerate(names):
        x, y, v = kps[3 * j : 3 * j + 3]
        where = f"{key}.keypoints[{name}]"
        if v not in (0, 1, 2):
            add(needs.visibility, where, "visibility", f"v={v}, expected 0, 1 or 2")
        elif v == 0 and (x != 0 or y != 0):
            add(needs.conventions, where, "v0_with_xy", f"v=0 but (x, y) = ({x}, {y}); expected (0, 0)")
        elif v > 0 and not (0 <= x <= w and 0 <= y <= h):
            add(needs.format, where, "keypoints_outside_image", f"v={v} but ({x}, {y}) is outside the {w}x{h} image")
    n, field = coco.num_visible(kps), a.get("num_keypoints")
    if field is None:
        add(
            needs.format,
            f"{key}.num_keypoints",
            "num_keypoints_missing",
            f"missing; expected {n} (keypoints with v > 0)",
        )
    elif field != n:
        add(needs.format, f"{key}.num_keypoints", "num_keypoints_mismatch", f"{field}, but {n} keypoints have v > 0")
    crowd = a.get("iscrowd")
    if crowd is None:
        add(needs.conventions, f"{key}.iscrowd", "conventions", "missing; expected 0 or 1")
    elif crowd not in (0, 1):
        add(needs.format, f"{key}.iscrowd", "format", f"{crowd!r}: expected 0 or 1")


def _box(a: dict, img: dict, key: str, needs: Needs, add: Add) -> None:
    w, h, bbox = img["width"], img["height"], a.get("bbox")
    if bbox is None:
        add(needs.boxes, f"{key}.bbox", "boxes", "missing; expected [x, y, width, height]")
    elif not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, int | float) for v in bbox)):
        add(ERROR, f"{key}.bbox", "structure", f"expected [x, y, width, height], got {bbox!r}")
    elif not all(math.isfinite(v) for v in bbox) or bbox[2] <= 0 or bbox[3] <= 0:
        add(
            _strongest(needs.boxes, needs.format),
            f"{key}.bbox",
            "boxes",
            f"degenerate box {bbox} (expected finite, width and height > 0)",
        )
    elif bbox[0] < -BOX_TOL or bbox[1] < -BOX_TOL or bbox[0] + bbox[2] > w + BOX_TOL or bbox[1] + bbox[3] > h + BOX_TOL:
        add(needs.format, f"{key}.bbox", "boxes_outside_image", f"{bbox} reaches outside the {w}x{h} image")
    area = a.get("area")
    if area is None:
        add(needs.boxes, f"{key}.area", "boxes", "missing; expected a positive number (OKS divides by it)")
    elif not (_num(area) and area > 0):
        add(needs.format, f"{key}.area", "format", f"{area!r}: expected a positive number (OKS divides by it)")


def _mask(a: dict, img: dict, key: str, needs: Needs, add: Add) -> None:
    seg = a.get("segmentation")
    if seg in (None, [], {}):
        add(needs.masks, f"{key}.segmentation", "masks", "missing; expected a mask (RLE or polygons)")
        return
    if not needs.decode_masks or needs.format is None:
        return
    w, h = img["width"], img["height"]
    try:
        rle = coco.to_rle(seg, h, w)
    except (ValueError, TypeError, KeyError) as exc:
        add(needs.format, f"{key}.segmentation", "format", f"cannot decode: {exc}")
        return
    if list(rle["size"]) != [h, w]:
        add(needs.format, f"{key}.segmentation", "format", f"size {rle['size']}, expected the image's [{h}, {w}]")
        return
    mbox, marea = coco.rle_bbox_area(rle)
    bbox, area = a.get("bbox"), a.get("area")
    box_ok = isinstance(bbox, list) and len(bbox) == 4 and all(_num(v) for v in bbox) and min(bbox[2:]) > 0
    if box_ok and marea > 0:
        corners = [bbox[0], bbox[1], bbox[0] + bbox[2], bbox[1] + bbox[3]]
        if not np.allclose(corners, [mbox[0], mbox[1], mbox[0] + mbox[2], mbox[1] + mbox[3]], atol=BOX_TOL):
            add(needs.conventions, f"{key}.bbox", "conventions", f"{bbox} differs from the mask's box {mbox}")
    if _num(area) and area > 0 and not isinstance(seg, list) and abs(area - marea) > max(1.0, 0.01 * marea):
        add(needs.conventions, f"{key}.area", "conventions", f"{area} differs from the mask's {marea} pixels")


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.level == ERROR]


def require(data: dict, needs: Needs, where: str | Path, root: Path | None = None) -> list[Problem]:
    """`check`, raising `InvalidDatasetError` (headed by `where`, the file) when there is an error;
    returns the warnings."""
    found = check(data, needs, root)
    bad = errors(found)
    if bad:
        raise InvalidDatasetError(str(where), [str(p) for p in bad])
    return found


def load(path: str | Path, needs: Needs, root: Path | None = None) -> dict:
    """Read a COCO JSON file and `require` what `needs` asks; image files are looked up under
    `root` (default: the JSON's folder)."""
    path = Path(path)
    data = coco.load_json(path)
    require(data, needs, path, path.parent if root is None else root)
    return data


def without_images(needs: Needs) -> Needs:
    """The same needs, leaving the image files alone."""
    return replace(needs, images=None, open_images=False, verify_images=False)
