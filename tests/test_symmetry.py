"""common/symmetry.py: groups from declared symmetries, checked against permutations worked out
by hand, and the canonical labelling rule, checked by brute force on 200 sampled box scenes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from blender.random_draws import quat_multiply
from blender.rigging import shapes
from common.render_spec import Symmetry
from common.symmetry import SymmetryError, canonical, permutation_from_names, resolve
from pipeline.rendering.blender_runner import make_spec
from pipeline.schema import load_params
from pipeline.schema.rig_symmetry_params import Symmetry as SymmetryParams
from tests.support import ROOT
from tests.support.specs import sampled, typed_part

SIGNS = list(itertools.product((-1, 1), repeat=3))  # a box's corners as signs along x, y, z


def box_corners(size=(0.10, 0.07, 0.05)) -> np.ndarray:
    return np.array([[sx * size[0] / 2, sy * size[1] / 2, sz * size[2] / 2] for sx, sy, sz in SIGNS])


def flips_to_perm(flip: tuple[int, int, int]) -> tuple[int, ...]:
    """The permutation of a half turn that negates two axes: corner i goes to the corner with those signs."""
    return tuple(SIGNS.index(tuple(s * f for s, f in zip(SIGNS[i], flip))) for i in range(8))


NAMES = [f"c{i}" for i in range(8)]
SIGMAS = [0.05] * 8


def group_of(symmetry: dict, names: list[str], sigmas: list[float], points: np.ndarray, key: str) -> list[list[int]]:
    """resolve() of a rig's `symmetry` params, read as the render spec holds them."""
    return resolve(typed_part(Symmetry, SymmetryParams, symmetry), names, sigmas, points, key)


def test_box_half_turns_make_the_four_element_group_worked_out_by_hand():
    group = group_of(
        {"rotations": [{"axis": (0, 0, 1), "order": 2}, {"axis": (1, 0, 0), "order": 2}]},
        NAMES,
        SIGMAS,
        box_corners(),
        "rigs.box.symmetry",
    )
    expected = {flips_to_perm(f) for f in [(1, 1, 1), (-1, -1, 1), (1, -1, -1), (-1, 1, -1)]}
    assert {tuple(p) for p in group} == expected
    assert group[0] == list(range(8))  # identity first


def test_three_mirror_planes_give_the_same_rotations_and_a_cube_gives_24():
    mirrors = group_of({"mirrors": [(1, 0, 0), (0, 1, 0), (0, 0, 1)]}, NAMES, SIGMAS, box_corners(), "k")
    turns = group_of(
        {"rotations": [{"axis": (0, 0, 1), "order": 2}, {"axis": (0, 1, 0), "order": 2}]},
        NAMES,
        SIGMAS,
        box_corners(),
        "k",
    )
    assert mirrors == turns  # mirror images are no views: only their rotations count
    cube = group_of(
        {"rotations": [{"axis": (0, 0, 1), "order": 4}, {"axis": (1, 0, 0), "order": 4}]},
        NAMES,
        SIGMAS,
        box_corners((1, 1, 1)),
        "k",
    )
    assert len(cube) == 24  # the rotation group of the cube


def test_a_mirror_plane_alone_relabels_nothing_and_is_an_error():
    with pytest.raises(SymmetryError, match=r"rigs\.box\.symmetry: .*mirror planes alone"):
        group_of({"mirrors": [(1, 0, 0)]}, NAMES, SIGMAS, box_corners(), "rigs.box.symmetry")


def test_a_turn_that_sends_a_keypoint_off_the_rig_is_named():
    with pytest.raises(SymmetryError, match=r"rigs\.box\.symmetry\.rotations\[0\]: maps keypoint 'c0'"):
        group_of({"rotations": [{"axis": (0, 0, 1), "order": 4}]}, NAMES, SIGMAS, box_corners(), "rigs.box.symmetry")
    with pytest.raises(SymmetryError, match=r"\.rotations\[0\]: maps keypoint"):  # off-centre axis
        group_of(
            {"rotations": [{"axis": (0, 0, 1), "order": 2}], "center": (0.01, 0, 0)},
            NAMES,
            SIGMAS,
            box_corners(),
            "rigs.box.symmetry",
        )


def test_permutations_by_name_must_be_permutations_of_the_keypoints():
    names = ["a", "b", "c"]
    assert permutation_from_names({"a": "b", "b": "a"}, names, "k") == (1, 0, 2)
    with pytest.raises(SymmetryError, match=r"k: 'd' is not a keypoint"):
        permutation_from_names({"a": "d", "d": "a"}, names, "k")
    with pytest.raises(SymmetryError, match=r"k: not a permutation .*\['b'\]"):
        permutation_from_names({"a": "b"}, names, "k")  # b is reached from a and from itself
    group = group_of({"permutations": [{"a": "b", "b": "c", "c": "a"}]}, names, [0.1] * 3, np.zeros((3, 3)), "k")
    assert group == [[0, 1, 2], [1, 2, 0], [2, 0, 1]]


def test_symmetric_keypoints_need_one_sigma():
    with pytest.raises(SymmetryError, match="different sigmas"):
        group_of({"permutations": [{"a": "b", "b": "a"}]}, ["a", "b"], [0.05, 0.08], np.zeros((2, 3)), "k")


# ---------------------------------------------------------------- the rule


def rule_holds(kp: np.ndarray, group) -> bool:
    """The documented rule, written out: no relabelling in the group is smaller slot by slot."""

    def key(labelling):
        return [(0, y, x) if v > 0 else (1, 0.0, 0.0) for x, y, v in np.round(labelling, 3)]

    return all(key(kp) <= key(kp[list(p)]) for p in group)


def test_rule_by_hand_top_most_then_left_most_and_unlabelled_last():
    group = [[0, 1], [1, 0]]
    kp = np.array([[10.0, 20.0, 2], [30.0, 5.0, 1]])
    np.testing.assert_array_equal(canonical(kp, group)[0], kp[[1, 0]])  # the higher one (y = 5) first
    same_row = np.array([[30.0, 5.0, 2], [10.0, 5.0, 2]])
    np.testing.assert_array_equal(canonical(same_row, group)[0], same_row[[1, 0]])  # then the left one
    outside = np.array([[0.0, 0.0, 0], [50.0, 60.0, 2]])
    np.testing.assert_array_equal(canonical(outside, group)[0], outside[[1, 0]])  # labelled before v = 0
    twins = np.array([[4.0, 4.0, 2], [4.0, 4.0, 2]])
    assert canonical(twins, group)[1] == [0, 1]  # equal labellings: the first in group order


def _pinhole(scene: dict, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Textbook projection written out: Blender camera (x right, y up, looking along -z)."""
    c2w = np.array(scene["camera"]["camera_to_world"])
    cam = (points - c2w[:3, 3]) @ c2w[:3, :3]  # world -> camera axes
    f = scene["camera"]["focal_mm"] / scene["camera"]["sensor_mm"] * scene["width"]
    depth = -cam[:, 2]
    uv = np.stack([scene["width"] / 2 + f * cam[:, 0] / depth, scene["height"] / 2 - f * cam[:, 1] / depth], axis=1)
    return uv, depth


def _rotate(q, points: np.ndarray) -> np.ndarray:
    w, x, y, z = q
    m = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    return points @ m.T


def _labelled(scene: dict, o: dict, corners: np.ndarray) -> np.ndarray:
    world = _rotate(o["rotation"], corners * o["scale"]) + o["location"]
    uv, depth = _pinhole(scene, world)
    inside = (
        (depth > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < scene["width"]) & (uv[:, 1] >= 0) & (uv[:, 1] < scene["height"])
    )
    kp = np.zeros((len(world), 3))
    kp[inside] = np.column_stack([np.round(uv[inside], 3), np.full(inside.sum(), 2)])
    return kp


def test_rule_holds_and_equal_views_get_equal_labels_on_200_sampled_box_scenes():
    """Every box instance of 200 images sampled from examples/box (the renderer draws these scenes
    and hands these rounded projections to canonical_index): the rule holds, and the box turned by
    any symmetry of its group (the same image) gets the same labels."""
    params = ROOT / "examples" / "box" / "params.yaml"
    spec = make_spec(load_params(params, {"render.num_images": 200}), params)
    s = shapes.box(spec["rigs"]["box"]["mesh"]["size"])
    names = [k["name"] for k in spec["rigs"]["box"]["keypoints"]]
    corners = np.array([s.vertices[s.groups[n][0]] for n in names])
    group = group_of(spec["rigs"]["box"]["symmetry"], names, [0.05] * 8, corners, "k")
    assert len(group) == 4
    half_turns = [(0.0, 0.0, 0.0, 1.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0)]  # quaternions w, x, y, z
    instances = changed = 0
    for i in range(200):
        scene = sampled(spec, i, {"box": 0.066})
        for o in scene["objects"]:
            kp = _labelled(scene, o, corners)
            label, p = canonical(kp, group)
            assert rule_holds(label, group), (i, kp)
            changed += p != list(range(8))
            for q in half_turns:  # the same box, turned by a symmetry: same pixels, other names
                turned = _labelled(scene, {**o, "rotation": quat_multiply(o["rotation"], q)}, corners)
                np.testing.assert_allclose(canonical(turned, group)[0], label, atol=2e-3)
            instances += 1
    assert instances > 150 and changed > instances / 2  # most instances are relabelled


def test_canonical_index_is_a_function_of_the_labelling_set():
    rng = np.random.default_rng(0)
    group = [[0, 1, 2, 3], [1, 2, 3, 0], [2, 3, 0, 1], [3, 0, 1, 2]]
    for _ in range(200):
        kp = np.column_stack([rng.uniform(0, 100, (4, 2)), rng.choice([0, 1, 2], 4)])
        kp[kp[:, 2] == 0, :2] = 0
        first = canonical(kp, group)[0]
        for q in group:
            np.testing.assert_array_equal(canonical(kp[q], group)[0], first)
        assert rule_holds(first, group)


def test_rotations_about_any_axis_match_a_turn_written_out():
    """A 3-fold turn about the cube diagonal cycles x -> y -> z: corners permute by their signs."""
    group = group_of({"rotations": [{"axis": (1, 1, 1), "order": 3}]}, NAMES, SIGMAS, box_corners((1, 1, 1)), "k")
    cycle = tuple(SIGNS.index((s[2], s[0], s[1])) for s in SIGNS)  # (x, y, z) -> (z, x, y)
    back = tuple(SIGNS.index((s[1], s[2], s[0])) for s in SIGNS)
    assert {tuple(p) for p in group} == {tuple(range(8)), cycle, back}
