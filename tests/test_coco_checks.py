"""pipeline/coco_files/coco_checks.py: which caller hears of which problem, at which level, under which key."""

from __future__ import annotations

import copy
import json

import pytest
from PIL import Image

from pipeline.coco_files import coco_checks, coco_needs
from pipeline.coco_files.coco import DatasetError
from pipeline.coco_files.coco_checks import InvalidDatasetError
from pipeline.coco_files.coco_needs import AUGMENT, COUNT, INSPECT, TRAIN, VALIDATE
from pipeline.errors import ProblemsError
from tests.support.coco_data import write_dataset

PROFILES = {"validate": VALIDATE, "train": TRAIN, "augment": AUGMENT, "inspect": INSPECT, "count": COUNT}


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("clean")
    return root, write_dataset(root, n_images=2)


def levels(data: dict, root, key: str) -> dict[str, str | None]:
    """profile -> the level of the problem at `key` (None: not reported)."""
    out = {}
    for name, needs in PROFILES.items():
        found = [p for p in coco_checks.check(data, needs, root) if p.key == key]
        assert len({p.level for p in found}) <= 1, found
        out[name] = found[0].level if found else None
    return out


def test_a_clean_dataset_passes_every_profile(clean):
    root, data = clean
    for name, needs in PROFILES.items():
        assert coco_checks.check(data, needs, root) == [], name


def _set(path: list, value):
    def mutate(data):
        target = data
        for step in path[:-1]:
            target = target[step]
        if value is KeyError:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return mutate


E, W = "error", "warning"


@pytest.mark.parametrize(
    ("mutate", "key", "expected"),
    [
        # v = 3: the model and validate refuse it; augment copies it, inspect draws it as seen
        (_set(["annotations", 0, "keypoints", 2], 3), "annotations[id=1001].keypoints[left_a]",
         {"validate": E, "train": E, "augment": None, "inspect": None, "count": None}),
        # augment moves masks: only it needs one per instance
        (_set(["annotations", 0, "segmentation"], KeyError), "annotations[id=1001].segmentation",
         {"validate": None, "train": None, "augment": E, "inspect": None, "count": None}),
        # no rig key: training needs its sigmas, validate warns, the rest do not care
        (_set(["categories", 0, "rig"], KeyError), "categories[id=1].rig.sigmas",
         {"validate": None, "train": E, "augment": None, "inspect": None, "count": None}),
        (_set(["categories", 0, "rig"], KeyError), "categories[id=1].rig",
         {"validate": W, "train": None, "augment": None, "inspect": None, "count": W}),
        # category 0 is the model's background
        (_set(["categories", 0, "id"], 0), "categories[id=0].id",
         {"validate": E, "train": E, "augment": None, "inspect": None, "count": None}),
        # num_keypoints that does not count v > 0: validate's error, the stats' count
        (_set(["annotations", 0, "num_keypoints"], 1), "annotations[id=1001].num_keypoints",
         {"validate": E, "train": None, "augment": None, "inspect": None, "count": W}),
        # a visible keypoint outside the image
        (_set(["annotations", 0, "keypoints", 0], 500.0), "annotations[id=1001].keypoints[left_a]",
         {"validate": E, "train": None, "augment": None, "inspect": None, "count": W}),
        # a box and an area: what training and OKS need
        (_set(["annotations", 0, "area"], KeyError), "annotations[id=1001].area",
         {"validate": E, "train": E, "augment": None, "inspect": None, "count": None}),
        (_set(["annotations", 0, "bbox"], [1, 2, 0, 5]), "annotations[id=1001].bbox",
         {"validate": E, "train": E, "augment": None, "inspect": None, "count": W}),
        # without them nothing reads the file: every caller stops
        (_set(["images", 1, "id"], 1), "images[id=1].id",
         {"validate": E, "train": E, "augment": E, "inspect": E, "count": E}),
        (_set(["annotations", 0, "keypoints"], [1, 2, 2]), "annotations[id=1001].keypoints",
         {"validate": E, "train": E, "augment": E, "inspect": E, "count": E}),
        (_set(["annotations", 0, "category_id"], 9), "annotations[id=1001].category_id",
         {"validate": E, "train": E, "augment": E, "inspect": E, "count": E}),
    ],
)  # fmt: skip
def test_each_caller_hears_what_it_needs(clean, mutate, key, expected):
    root, data = clean
    bad = copy.deepcopy(data)
    mutate(bad)
    assert levels(bad, root, key) == expected


@pytest.mark.parametrize(
    ("group", "message"),
    [
        ([[0, 1, 2], [1, 0, 3]], "[1, 0, 3] is not a permutation of 0..2"),
        ([[0, 1, 2], [1, 0]], "[1, 0] is not a permutation of 0..2"),
        ([[1, 0, 2]], "the identity is missing; expected a group"),
        ([], "expected a list of permutations, got []"),
        ("half turn", "expected a list of permutations, got 'half turn'"),
    ],
)
def test_symmetry_permutations_must_permute_the_keypoints(clean, group, message):
    root, data = clean
    bad = copy.deepcopy(data)
    bad["categories"][0]["rig"]["symmetry_permutations"] = group
    key = "categories[id=1].rig.symmetry_permutations"
    assert levels(bad, root, key) == {"validate": E, "train": E, "augment": E, "inspect": None, "count": None}
    assert f"{key}: {message}" in [str(p) for p in coco_checks.check(bad, VALIDATE, root)]
    good = copy.deepcopy(data)
    good["categories"][0]["rig"]["symmetry_permutations"] = [[0, 1, 2], [1, 0, 2]]
    assert coco_checks.check(good, VALIDATE, root) == []


def test_one_message_lists_every_error_under_the_file(clean, tmp_path):
    _, data = clean
    bad = copy.deepcopy(data)
    bad["annotations"][0]["keypoints"][2] = 7
    bad["annotations"][1]["bbox"] = [0, 0, -1, 3]
    bad["images"][0]["file_name"] = "images/gone.png"
    path = tmp_path / "train.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(InvalidDatasetError) as err:
        coco_checks.load(path, TRAIN, root=clean[0])
    assert isinstance(err.value, DatasetError) and isinstance(err.value, ProblemsError)
    assert str(err.value).splitlines() == [
        f"{path}: 3 problem(s)",
        f"  images[id=1].file_name: {clean[0] / 'images/gone.png'} not found",
        "  annotations[id=1001].keypoints[left_a]: v=7, expected 0, 1 or 2",
        "  annotations[id=1002].bbox: degenerate box [0, 0, -1, 3] (expected finite, width and height > 0)",
    ]
    assert coco_checks.load(path, coco_needs.without_images(INSPECT)) == bad  # inspect draws it


def test_a_photo_turned_by_its_exif_orientation_gets_a_hint(tmp_path):
    data = write_dataset(tmp_path, n_images=1, size=(120, 90))
    name = tmp_path / data["images"][0]["file_name"]
    upright = Image.open(name).convert("RGB").transpose(Image.Transpose.ROTATE_90)  # 90 x 120 pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees to display": what phones write
    upright.save(name, exif=exif)
    (msg,) = [str(p) for p in coco_checks.check(data, VALIDATE, tmp_path)]
    assert "is 90x120, the annotations say 120x90 (its EXIF orientation rotates it" in msg
