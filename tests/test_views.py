"""View constraints (pure parts): the measures and the verdict, on hand-built cameras and counts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from blender.optics.camera import intrinsics, look_at, world_to_opencv
from blender.optics.camera_draw import resampled_camera
from blender.optics.lens import Lens
from blender.optics.views import InstanceView, failures, silhouette_rays, truncated_share, visible_share
from common.render_spec import ViewRequirements, load_spec
from pipeline.rendering.blender_runner import make_spec
from pipeline.schema import ParamsError, load_params
from pipeline.schema.views_params import ViewRequirements as ViewRequirementsParams
from tests.support.params import tiny_params, write_params
from tests.support.specs import sampled, typed_part


def test_failures_name_what_each_instance_misses():
    limits = {"min_keypoints_in_frame": 2, "min_keypoints_seen": 1, "max_truncated": 0.1, "min_visible": 0.5}
    req = typed_part(ViewRequirements, ViewRequirementsParams, limits)
    ok = InstanceView("box", 8, 3, 0.0, 0.9)
    assert failures(req, [ok]) == []
    bad = InstanceView("tube", 1, 0, 0.25, 0.3)
    assert failures(req, [ok, bad]) == [
        "tube instance 1: min_keypoints_in_frame 2 (got 1)",
        "tube instance 1: min_keypoints_seen 1 (got 0)",
        "tube instance 1: max_truncated 0.1 (got 0.250)",
        "tube instance 1: min_visible 0.5 (got 0.300)",
    ]
    assert failures(replace(req, rigs=("box",)), [ok, bad]) == []  # only the named rigs must comply


def test_truncated_share_counts_vertices_outside_the_image():
    K = intrinsics(36, 36, 100, 80)  # f = 100 px; camera at (0, -1, 0) looking along +y
    w2c = world_to_opencv(look_at((0, -1, 0), (0, 0, 0)))
    lens = Lens(K, 100, 80)
    # x = 0.3 m at 1 m projects to u = 50 + 30 = 80 (inside); x = 0.6 to 110 (outside)
    verts = np.array([[0.3, 0, 0], [0.6, 0, 0], [0.0, 0, 0], [0.0, -2.0, 0]])  # the last behind the camera
    assert truncated_share(lens, w2c, verts) == pytest.approx(0.5)


def test_silhouette_rays_span_the_projected_box_and_weigh_pixel_area():
    K = intrinsics(36, 36, 100, 80)
    w2c = world_to_opencv(look_at((0, -1, 0), (0, 0, 0)))
    verts = np.array([[-0.1, 0, -0.1], [0.1, 0, 0.1], [0.6, 0, 0.0]])
    dirs, weights, inside = silhouette_rays(Lens(K, 100, 80), w2c, verts, grid=8)
    assert dirs.shape == (64, 3) and (weights == 1).all()
    assert dirs[:, 0].min() > -0.1 and dirs[:, 0].max() < 0.6  # cell centres inside the box of the vertices
    assert inside.sum() == 8 * (np.sum(dirs[:8, 0] * 100 + 50 < 100))  # columns left of the image edge
    distorted = Lens(K, 100, 80, "opencv", (-0.2, 0.0, 0.0, 0.0))
    _, w, _ = silhouette_rays(distorted, w2c, verts, grid=8)
    assert w.max() < 1 and w.min() > 0.5  # barrel distortion shrinks pixels' footprint off axis
    assert silhouette_rays(Lens(K, 100, 80), w2c, np.array([[0, -1.5, 0], [0, 0, 0]])) is None  # behind


def test_visible_share():
    w = np.array([1.0, 1.0, 2.0, 1.0])
    own = np.array([True, True, True, False])
    first = np.array([True, False, True, False])
    inside = np.array([True, True, False, True])
    assert visible_share(w, inside, own, first) == pytest.approx(1 / 4)  # only ray 0 of weight 4
    assert visible_share(w, inside, own & False, first) == 0.0


def test_resampled_views_are_seeded_and_leave_the_first_alone(tmp_path):
    p = tiny_params()
    p["render"]["camera"] = {"require": {"min_keypoints_in_frame": 1}}
    pfile = write_params(tmp_path / "p.yaml", p)
    spec = make_spec(load_params(pfile), pfile)
    radii = {"glue_tube": 0.05, "box": 0.065}
    plain = tiny_params()
    plain_spec = make_spec(load_params(write_params(tmp_path / "q.yaml", plain)), tmp_path / "q.yaml")
    assert sampled(spec, 3, radii) == sampled(plain_spec, 3, radii)  # attempt 0 is today's view
    a, b = resampled_camera(load_spec(spec), 3, 1, 96, 72), resampled_camera(load_spec(spec), 3, 2, 96, 72)
    assert a == resampled_camera(load_spec(spec), 3, 1, 96, 72) and a != b
    assert a["camera_to_world"] != sampled(spec, 3, radii)["camera"]["camera_to_world"]


def test_impossible_constraints_fail_at_load(tmp_path):
    p = tiny_params()
    p["render"]["camera"] = {"require": {"min_keypoints_seen": 3, "rigs": ["glue_tube"]}}
    with pytest.raises(ParamsError, match="render.camera.require.min_keypoints_seen: 3 but rig glue_tube has 2"):
        load_params(write_params(tmp_path / "p.yaml", p))
    p["render"]["camera"] = {"require": {"min_keypoints_seen": 1, "rigs": ["bottle"]}}
    with pytest.raises(ParamsError, match=r"render.camera.require.rigs: \['bottle'\] are not rigs"):
        load_params(write_params(tmp_path / "p.yaml", p))
    p["render"]["camera"] = {"require": {"rigs": ["box"]}}
    with pytest.raises(ParamsError, match="render.camera.require: expected at least one of"):
        load_params(write_params(tmp_path / "p.yaml", p))
