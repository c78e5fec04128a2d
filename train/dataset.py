"""Read a dataset folder (COCO keypoints + images) for KeypointRCNN, checking it before any work.

Labels: the model's label l (1..n) is the l-th selected category; 0 is background. The model has
K = the most keypoints of any selected category; categories with fewer keypoints are padded with
v = 0, so their extra heatmap channels are never trained and their predictions are cut back to
the category's own K (train/engine.py `to_coco_results`).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from common.rig_model import RigModel
from pipeline.coco_files import coco_checks, coco_needs
from pipeline.coco_files.coco import DatasetError
from pipeline.coco_files.coco_checks import InvalidDatasetError


class Category(RigModel):
    """One rig as written by the render / mix stages: common/rig_model.py's model, under the
    names training code and checkpoints use (`to_json` / `from_json`)."""

    def to_json(self) -> dict:
        """The category as a COCO dict (with our `rig` key), for checkpoints and outputs."""
        return self.to_category()

    @classmethod
    def from_json(cls, c: dict) -> Category:
        return cls.from_category(c)


@dataclass(frozen=True)
class LabelMap:
    """Model labels <-> COCO categories, and the model's keypoint count K."""

    categories: tuple[Category, ...]  # label l is categories[l - 1]

    @property
    def num_classes(self) -> int:
        return len(self.categories) + 1

    @property
    def num_keypoints(self) -> int:
        return max(c.num_keypoints for c in self.categories)

    def label_of(self, category_id: int) -> int | None:
        for i, c in enumerate(self.categories):
            if c.id == category_id:
                return i + 1
        return None

    def category(self, label: int) -> Category:
        return self.categories[label - 1]

    def to_json(self) -> list[dict]:
        return [c.to_json() for c in self.categories]

    @classmethod
    def from_json(cls, cats: list[dict]) -> LabelMap:
        return cls(tuple(Category.from_json(c) for c in cats))


@dataclass
class CocoSplit:
    """One split file, validated: images by id, annotations grouped by image, categories."""

    path: Path
    root: Path  # file names are relative to this folder
    data: dict
    categories: dict[int, Category]
    anns_by_image: dict[int, list[dict]] = field(default_factory=dict)

    @property
    def images(self) -> list[dict]:
        return self.data["images"]

    def label_map(self, names: list[str] | None = None) -> LabelMap:
        """All categories in id order, or the named ones (in the given order)."""
        cats = sorted(self.categories.values(), key=lambda c: c.id)
        if names is None:
            return LabelMap(tuple(cats))
        by_name = {c.name: c for c in cats}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise DatasetError(
                f"{self.path}: train.categories names {missing} not in the dataset; expected some of {sorted(by_name)}"
            )
        return LabelMap(tuple(by_name[n] for n in names))


def load_split(path: str | Path, root: str | Path | None = None, check_files: bool = True) -> CocoSplit:
    """Read and check one COCO keypoint file (`coco_needs.TRAIN`); every problem is listed
    before any work starts."""
    path = Path(path)
    root = Path(root) if root is not None else path.parent
    if not path.is_file():
        raise DatasetError(f"{path}: split file not found")
    needs = coco_needs.TRAIN if check_files else coco_needs.without_images(coco_needs.TRAIN)
    data = coco_checks.load(path, needs, root)
    cats = {c["id"]: Category.from_json(c) for c in data["categories"]}
    anns_by_image: dict[int, list[dict]] = defaultdict(list)
    for a in data["annotations"]:
        anns_by_image[a["image_id"]].append(a)
    return CocoSplit(path, root, data, cats, dict(anns_by_image))


def check_same_categories(split: CocoSplit, labels: LabelMap, what: str) -> None:
    """The model's categories must exist in the split with the same keypoints (K and names)."""
    problems = []
    for c in labels.categories:
        d = split.categories.get(c.id)
        if d is None or d.name != c.name:
            problems.append(f"categories: {what} has category {c.id} {c.name!r}; the data does not")
        elif d.keypoints != c.keypoints:
            problems.append(
                f"categories[{c.name}].keypoints: {what} has {len(c.keypoints)} keypoints "
                f"{list(c.keypoints)}, the data {len(d.keypoints)} {list(d.keypoints)}"
            )
    if problems:
        raise InvalidDatasetError(str(split.path), problems)


REDUCED = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}


def model_input_size(width: int, height: int, min_size: int, max_size: int) -> tuple[int, int]:
    """(w, h) that torchvision's GeneralizedRCNNTransform resizes to: a float32 scale, floored."""
    short, long = np.float32(min(width, height)), np.float32(max(width, height))
    scale = min(np.float32(min_size) / short, np.float32(max_size) / long)
    return int(np.floor(width * float(scale))), int(np.floor(height * float(scale)))


def fit_size(width: int, height: int, fit: tuple[int, int]) -> tuple[int, int]:
    """The size the model would resize to, never larger than the image. Loading at that size
    with area interpolation skips work on pixels the model drops, and avoids the aliasing of the
    model's own bilinear downscale (a 1920 x 1080 photo to 398 x 224 samples 1 pixel in 20)."""
    w, h = model_input_size(width, height, *fit)
    return (w, h) if w < width else (width, height)


def _imread(path: Path, flag: int, waits: tuple[float, ...] = (0.2, 1.0)) -> np.ndarray | None:
    """cv2.imread, tried again after a pause when it fails on a file that exists: a read can fail
    for a moment under load, and OpenCV does not say why."""
    img = cv2.imread(str(path), flag)
    for wait in waits:
        if img is not None or not path.is_file():
            break
        time.sleep(wait)
        img = cv2.imread(str(path), flag)
    return img


def read_rgb(path: Path, size: tuple[int, int] | None = None, declared: tuple[int, int] | None = None) -> np.ndarray:
    """HxWx3 uint8 RGB; OpenCV decodes faster than PIL and drops alpha. `size` (w, h): resized
    to it, a JPEG of `declared` size decoded at 1/2, 1/4 or 1/8 scale first when still larger."""
    flag = cv2.IMREAD_COLOR
    if size is not None and declared is not None and path.suffix.lower() in (".jpg", ".jpeg"):
        for f in (8, 4, 2):  # only exact factors: a partial last block would shift the labels
            exact = declared[0] % f == 0 and declared[1] % f == 0
            if exact and declared[0] // f >= size[0] and declared[1] // f >= size[1]:
                flag = REDUCED[f]
                break
    img = _imread(path, flag)
    if img is not None and size is not None:
        h, w = img.shape[:2]
        if declared is not None and (w > h) != (declared[0] > declared[1]) and w != h:
            raise DatasetError(f"{path}: the file is {w}x{h} (after EXIF rotation), the annotations say {declared}")
        if (w, h) != tuple(size):
            img = cv2.resize(img, tuple(size), interpolation=cv2.INTER_AREA)
    if img is None:
        raise DatasetError(f"{path}: cannot be read as an image")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def instances(split: CocoSplit, image_id: int, labels: LabelMap) -> dict[str, np.ndarray]:
    """Boxes (xyxy, pixels), labels and padded keypoints [N, K, 3] of one image's instances.

    Crowd annotations and categories outside `labels` are left out (they become background).
    """
    k = labels.num_keypoints
    boxes, labs, kps = [], [], []
    for a in split.anns_by_image.get(image_id, []):
        lab = labels.label_of(a["category_id"])
        if lab is None or a.get("iscrowd", 0):
            continue
        x, y, w, h = a["bbox"]
        boxes.append([x, y, x + w, y + h])
        labs.append(lab)
        kp = np.zeros((k, 3), np.float32)
        own = np.asarray(a["keypoints"], np.float32).reshape(-1, 3)
        kp[: len(own)] = own
        kps.append(kp)
    return {
        "boxes": np.asarray(boxes, np.float32).reshape(-1, 4),
        "labels": np.asarray(labs, np.int64),
        "keypoints": np.asarray(kps, np.float32).reshape(-1, k, 3),
    }


class KeypointDataset(Dataset):
    """Items are (uint8 CHW image tensor, target dict); floats are made on the device.

    Index with an int, or with (epoch, index) from `EpochSampler` so the augmentation seed
    follows the epoch even in persistent loader workers.
    """

    def __init__(
        self, split: CocoSplit, labels: LabelMap, augment=None, seed: int = 0, fit: tuple[int, int] | None = None
    ):
        """`fit` (min_size, max_size): load images at the model's input size (training only: the
        model resizes to it anyway, and a 1920x1080 photo costs 40x the work of its 398x224)."""
        self.split, self.labels, self.augment, self.seed, self.fit = split, labels, augment, seed, fit
        self.image_ids = [im["id"] for im in split.images]
        self._images = {im["id"]: im for im in split.images}

    def __len__(self) -> int:
        return len(self.image_ids)

    def __getitem__(self, item: int | tuple[int, int]):
        epoch, index = item if isinstance(item, tuple) else (0, item)
        image_id = self.image_ids[index]
        info = self._images[image_id]
        inst = instances(self.split, image_id, self.labels)
        scale = (1.0, 1.0)
        if self.fit is None:
            img = read_rgb(self.split.root / info["file_name"])
        else:
            w, h = fit_size(info["width"], info["height"], self.fit)
            img = read_rgb(self.split.root / info["file_name"], (w, h), (info["width"], info["height"]))
            sx, sy = w / info["width"], h / info["height"]
            scale = (sx, sy)
            inst["boxes"] = inst["boxes"] * np.float32([sx, sy, sx, sy])
            inst["keypoints"][..., 0] *= sx
            inst["keypoints"][..., 1] *= sy
        if self.augment is not None:
            rng = np.random.default_rng([self.seed, epoch, index])
            img, inst = self.augment(img, inst, rng)
        target = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in inst.items()}
        target["image_id"] = torch.tensor(image_id, dtype=torch.int64)
        target["scale"] = torch.tensor(scale, dtype=torch.float32)  # image pixels per file pixel (x, y)
        image = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).contiguous()
        return image, target

    def aspect_ratios(self) -> list[float]:
        """Width / height of each item, for aspect-ratio grouped batches."""
        return [self._images[i]["width"] / self._images[i]["height"] for i in self.image_ids]


def collate(batch):
    """Detection batches are lists: images differ in size until the model resizes them."""
    images, targets = zip(*batch, strict=True)
    return list(images), list(targets)
