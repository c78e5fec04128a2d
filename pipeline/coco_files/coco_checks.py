"""The one COCO keypoint validator: every check of docs/reference/DATA_FORMAT.md, asked for by need.

Each problem names its key (`annotations[id=1003].keypoints[left_a]`, `categories[id=1].rig.sigmas`,
`images[id=12].file_name`; an item without a usable id is named by its index, `annotations[4]`)
and says what was found and what was expected; the file is named once, in the message header.

Some checks always run: without them nothing can read the file (ids are unique integers >= 0,
references resolve, a category's keypoint names and skeleton, K (x, y, v) numbers per annotation,
positive image sizes, a `bbox` that is there is four numbers, and every `file_name` inside the
dataset folder: `coco.outside_dataset`). The others run when the caller's
`Needs` asks for them, as errors or as warnings (validate, train, augment, and the counts of
`pipeline/coco_files/stats.py`, which the inspect command reports):

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

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from pipeline.coco_files import coco
from pipeline.coco_files.annotation_checks import check_annotation
from pipeline.coco_files.coco import DatasetError
from pipeline.coco_files.coco_needs import ERROR, Add, Level, Needs, is_int
from pipeline.coco_files.rig_extras_checks import check_rig
from pipeline.errors import ProblemsError


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
        usable = is_int(iid) and (least is None or iid >= least) and iid not in seen
        if usable:
            seen.add(iid)
        else:
            floor = "" if least is None else f" >= {least}"
            add(ERROR, f"{key}.id", "ids", f"{iid!r}: expected an integer{floor} that no other {noun} uses")
        if usable or keep:
            yield key, item


def _sized(img: dict) -> bool:
    w, h = img.get("width"), img.get("height")
    return is_int(w) and is_int(h) and w > 0 and h > 0


def _key(kind: str, index: int, item: dict) -> str:
    """`annotations[id=3]`, or `annotations[4]` when the item has no integer id."""
    return f"{kind}[id={item.get('id')}]" if is_int(item.get("id")) else f"{kind}[{index}]"


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
                isinstance(pair, list) and len(pair) == 2 and all(is_int(j) and 1 <= j <= len(names) for j in pair)
            ):
                add(
                    ERROR,
                    f"{key}.skeleton[{j}]",
                    "structure",
                    f"expected a pair of 1-based keypoint indices in 1..{len(names)}, got {pair!r}",
                )
        check_rig(cat.get("rig"), names, str(cat.get("name")), f"{key}.rig", needs, add)
        by_id[cid] = cat
    return by_id


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
        check_annotation(a, img, cat, key, needs, add)


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
