"""Pinhole math: checked against hand-worked numbers, not against itself."""

import math

import numpy as np
import pytest

from blender.optics.camera import in_frame, intrinsics, look_at, project, spherical_position, world_to_opencv


def test_intrinsics_horizontal_fit():
    # 50 mm lens on a 36 mm sensor spanning 640 px: f = 50/36*640 px; centre at (W/2, H/2).
    K = intrinsics(50, 36, 640, 480)
    assert K[0, 0] == pytest.approx(888.888888, rel=1e-6)
    assert K[1, 1] == K[0, 0]
    assert (K[0, 2], K[1, 2]) == (320.0, 240.0)


def test_look_at_projects_target_to_centre_and_axes_to_image_directions():
    c2w = look_at((0, -1, 0), (0, 0, 0))  # looking along +y, z up
    K = intrinsics(36, 36, 100, 80)  # f = 100 px
    uv, z = project(K, world_to_opencv(c2w), [(0, 0, 0), (0.1, 0, 0), (0, 0, 0.1)])
    assert z == pytest.approx([1, 1, 1])
    assert uv[0] == pytest.approx([50, 40])
    assert uv[1] == pytest.approx([60, 40])  # world +x is image right
    assert uv[2] == pytest.approx([50, 30])  # world +z is image up (smaller row)


def test_roll_turns_the_image_about_the_principal_point():
    K = intrinsics(36, 36, 100, 100)
    plain = project(K, world_to_opencv(look_at((0, -1, 0), (0, 0, 0))), [(0.1, 0, 0)])[0][0]
    rolled = project(K, world_to_opencv(look_at((0, -1, 0), (0, 0, 0), math.radians(90))), [(0.1, 0, 0)])[0][0]
    assert plain == pytest.approx([60, 50])
    # rotating the camera by +90 deg about its view axis moves image content by -90 deg
    assert np.linalg.norm(rolled - [50, 50]) == pytest.approx(10)
    assert rolled[0] == pytest.approx(50)


def test_look_at_is_a_rigid_transform_even_straight_down():
    for pos in [(0.3, -0.2, 0.5), (0, 0, 1.0)]:
        m = look_at(pos, (0, 0, 0), 0.3)
        assert m[:3, :3] @ m[:3, :3].T == pytest.approx(np.eye(3))
        assert np.linalg.det(m[:3, :3]) == pytest.approx(1)


def test_behind_camera_and_outside_frame():
    K = intrinsics(36, 36, 100, 80)
    w2c = world_to_opencv(look_at((0, -1, 0), (0, 0, 0)))
    uv, z = project(K, w2c, [(0, 0, 0), (0, -2, 0), (0.6, 0, 0), (0.499, 0, 0.399)])
    assert list(in_frame(uv, z, 100, 80)) == [True, False, False, True]


def test_spherical_position():
    p = spherical_position((1, 0, 0), 2.0, math.radians(90), 0.0)
    assert p == pytest.approx([1, 0, 2])
    p = spherical_position((0, 0, 0), 1.0, 0.0, math.radians(90))
    assert p == pytest.approx([0, 1, 0])
