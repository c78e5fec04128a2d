"""common/rig_model.py: the left/right rule, the mirror-image permutation and its checks, and the
COCO category round trip, checked against dicts and permutations written out by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from common.rig_model import RigError, RigModel, left_right_pairs, resolve_flip_pairs
from pipeline.schema import load_params
from tests.support import ROOT
from train.dataset import Category

QUAD = {
    "id": 2,
    "name": "quad",
    "supercategory": "object",
    "keypoints": ["left_top", "right_top", "right_bottom", "left_bottom", "centre"],
    "skeleton": [[1, 2], [2, 3], [3, 4], [4, 1]],
    "rig": {
        "sigmas": [0.05, 0.05, 0.06, 0.06, 0.1],
        "flip_pairs": [["left_top", "right_top"], ["left_bottom", "right_bottom"]],
        "tolerances": [0.001] * 5,  # not part of the model: to_category leaves it out
    },
}


def quad(**rig) -> dict:
    return {**QUAD, "rig": {**QUAD["rig"], **rig}}


def test_left_right_rule_pairs_matching_names_in_name_order():
    names = ["nose", "right_eye", "left_eye", "left_ear", "right_wing", "left_wing", "left_", "right"]
    assert left_right_pairs(names) == [("left_eye", "right_eye"), ("left_wing", "right_wing")]
    assert resolve_flip_pairs(None, names) == left_right_pairs(names)
    assert resolve_flip_pairs([["nose", "left_ear"]], names) == [("nose", "left_ear")]
    assert resolve_flip_pairs([], names) == []  # explicitly none: no rule


def test_category_without_flip_pairs_takes_the_left_right_rule():
    cat = {**QUAD, "rig": {"sigmas": [0.05] * 5}}
    assert RigModel.from_category(cat).flip_pairs == (("left_bottom", "right_bottom"), ("left_top", "right_top"))
    assert RigModel.from_category(quad(flip_pairs=[])).flip_pairs == ()
    assert RigModel.from_category(quad(flip_pairs=[["centre", "left_top"]])).flip_pairs == (("centre", "left_top"),)


def test_schema_and_category_share_the_rule():
    rig = load_params(ROOT / "examples" / "box" / "params.yaml").rigs["box"]
    names = [k.name for k in rig.keypoints]
    assert rig.resolved_flip_pairs() == resolve_flip_pairs(rig.flip_pairs, names)
    if rig.flip_pairs is None:
        assert rig.resolved_flip_pairs() == left_right_pairs(names)


def test_flip_index_is_an_involution_that_pads_to_k():
    model = RigModel.from_category(quad())
    assert model.flip_index_pairs() == [(0, 1), (3, 2)]
    np.testing.assert_array_equal(model.flip_index(), [1, 0, 3, 2, 4])
    perm = model.flip_index(8)  # a model whose largest rig has 8 keypoints: slots 5..7 stay put
    np.testing.assert_array_equal(perm, [1, 0, 3, 2, 4, 5, 6, 7])
    np.testing.assert_array_equal(perm[perm], np.arange(8))
    with pytest.raises(RigError, match="4 keypoint slots for rig 'quad': expected at least its 5"):
        model.flip_index(4)


def test_a_keypoint_in_two_pairs_is_refused_naming_it():
    model = RigModel.from_category(quad(flip_pairs=[["left_top", "right_top"], ["right_top", "centre"]]))
    msg = r"categories\[id=2\].rig.flip_pairs: a keypoint is in two pairs \('right_top' in .*disjoint"
    with pytest.raises(RigError, match=msg):
        model.flip_index()
    with pytest.raises(RigError, match=r"^here: a keypoint is in two pairs \('right_top'"):
        model.flip_index_pairs("here")


def test_an_unknown_name_is_refused_naming_it():
    model = RigModel.from_category(quad(flip_pairs=[["left_top", "left_tip"]]))
    with pytest.raises(RigError, match=r"flip_pairs: 'left_tip' is not a keypoint of rig 'quad'; expected one of"):
        model.flip_index()


def test_a_pair_of_one_name_swaps_nothing():
    model = RigModel.from_category(quad(flip_pairs=[["centre", "centre"]]))
    np.testing.assert_array_equal(model.flip_index(), np.arange(5))


def test_to_category_is_the_checkpoint_dict_of_train_dataset():
    """The dict train/dataset.py's Category.to_json wrote before the model existed, so checkpoints stay the same."""
    # written out as the old to_json wrote it (its key order too): no reuse of QUAD's literal
    expected = json.loads(
        '{"id": 2, "name": "quad", "supercategory": "object", '
        '"keypoints": ["left_top", "right_top", "right_bottom", "left_bottom", "centre"], '
        '"skeleton": [[1, 2], [2, 3], [3, 4], [4, 1]], "rig": {"sigmas": [0.05, 0.05, 0.06, 0.06, 0.1], '
        '"flip_pairs": [["left_top", "right_top"], ["left_bottom", "right_bottom"]]}}'
    )
    assert RigModel.from_category(quad()).to_category() == expected
    assert Category.from_json(quad()).to_json() == expected
    assert list(expected["rig"]) == list(RigModel.from_category(quad()).to_category()["rig"])  # key order too


def test_symmetry_permutations_are_carried_and_round_trip():
    group = [[0, 1, 2, 3, 4], [2, 3, 0, 1, 4]]
    model = RigModel.from_category(quad(symmetry_permutations=group))
    assert model.symmetry == ((0, 1, 2, 3, 4), (2, 3, 0, 1, 4))
    assert model.to_category()["rig"]["symmetry_permutations"] == group
    assert "symmetry_permutations" not in RigModel.from_category(quad()).to_category()["rig"]
    assert RigModel.from_category(quad()).symmetry == ()
    bare = RigModel.from_category({"id": 1, "name": "a", "keypoints": ["x"]})  # no rig extras at all
    for m in (model, RigModel.from_category(quad()), bare):
        assert RigModel.from_category(m.to_category()) == m


def test_category_is_the_model_under_trainings_names():
    cat = Category.from_json(quad())
    assert isinstance(cat, RigModel) and type(cat) is Category
    assert cat.num_keypoints == 5 and cat.sigmas == (0.05, 0.05, 0.06, 0.06, 0.1) and cat.skeleton[0] == (1, 2)
    np.testing.assert_array_equal(cat.flip_index(6), [1, 0, 3, 2, 4, 5])
    assert Category.from_json(cat.to_json()) == cat
