"""Lens models, render frame and remap, checked against OpenCV (an independent implementation)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from blender.optics.camera import look_at, world_to_opencv
from blender.optics.lens import (
    Lens,
    LensError,
    blender_camera,
    continuous_to_opencv,
    distort,
    fold_radius,
    opencv_to_continuous,
    undistort,
)

K_CV = np.array([[520.0, 0.0, 331.2], [0.0, 505.0, 236.7], [0.0, 0.0, 1.0]])  # non-square, off-centre
CASES = [
    ("opencv", (-0.28, 0.09, 0.0012, -0.0008, -0.015)),
    ("opencv", (-0.2, 0.05, 0.0, 0.0)),
    ("opencv", (0.12, -0.05, 0.001, 0.002, 0.01, 0.05, 0.01, 0.001)),
    ("fisheye", (0.05, -0.01, 0.003, -0.001)),
]


def _cv_project(model, coeffs, points):
    if model == "opencv":
        uv, _ = cv2.projectPoints(points, np.zeros(3), np.zeros(3), K_CV, np.array(coeffs))
    else:
        uv, _ = cv2.fisheye.projectPoints(points[:, None, :], np.zeros(3), np.zeros(3), K_CV, np.array(coeffs))
    return uv.reshape(-1, 2)


@pytest.mark.parametrize(("model", "coeffs"), CASES)
def test_projection_matches_opencv(model, coeffs):
    rng = np.random.default_rng(0)
    xy = rng.uniform(-0.55, 0.55, size=(200, 2))
    points = np.concatenate([xy * 0.4, np.full((200, 1), 0.4)], axis=1)  # depth 0.4 m
    lens = Lens(opencv_to_continuous(K_CV), 640, 480, model, coeffs)
    uv, depth, _ = lens.project(np.eye(4), points)
    # OpenCV puts pixel centres at integers; ours at +0.5
    assert np.abs(uv - 0.5 - _cv_project(model, coeffs, points)).max() < 1e-9
    assert depth == pytest.approx(0.4)


@pytest.mark.parametrize(("model", "coeffs"), CASES)
def test_undistort_inverts_and_matches_opencv(model, coeffs):
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-0.6, 0.6, size=(2, 300))
    xd, yd = distort(model, coeffs, x, y)
    ux, uy, ok = undistort(model, coeffs, xd, yd)
    assert ok.all()
    assert np.abs(ux - x).max() < 1e-10 and np.abs(uy - y).max() < 1e-10
    pix = np.stack([K_CV[0, 0] * xd + K_CV[0, 2], K_CV[1, 1] * yd + K_CV[1, 2]], axis=1)[:, None, :]
    if model == "opencv":
        crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-15)
        ref = cv2.undistortPointsIter(pix, K_CV, np.array(coeffs), None, None, crit).reshape(-1, 2)
    else:
        ref = cv2.fisheye.undistortPoints(pix, K_CV, np.array(coeffs)).reshape(-1, 2)
    assert np.abs(ref - np.stack([ux, uy], axis=1)).max() < 1e-8


def test_conventions_round_trip():
    K = opencv_to_continuous(K_CV)
    assert K[0, 2] == pytest.approx(331.7) and K[1, 2] == pytest.approx(237.2)
    assert continuous_to_opencv(K) == pytest.approx(K_CV)


def test_fold_radius_of_barrel_distortion():
    # x (1 + k1 x^2) with k1 < 0 turns back where 1 + 3 k1 r^2 = 0
    assert fold_radius("opencv", (-0.3, 0.0, 0.0, 0.0)) == pytest.approx(1 / np.sqrt(0.9), abs=5e-3)
    assert fold_radius("opencv", (-0.2, 0.05, 0.0, 0.0)) == float("inf")  # monotonic everywhere scanned


def test_points_beyond_the_fold_are_not_in_frame():
    """A ray outside the lens's field lands inside the image by the polynomial, but the image does
    not show it: v = 0, not a label at a wrong place."""
    k1 = -0.3
    lens = Lens(np.array([[200.0, 0, 320], [0, 200.0, 240], [0, 0, 1]]), 640, 480, "opencv", (k1, 0, 0, 0))
    r_far = 1.6  # beyond the fold (1.054); distorts to 1.6 (1 - 0.3 * 2.56) = 0.371
    uv, _, inside = lens.project(np.eye(4), [[r_far, 0.0, 1.0], [0.371, 0.0, 1.0]])
    assert uv[0, 0] == pytest.approx(320 + 200 * r_far * (1 + k1 * r_far**2))
    assert 0 <= uv[0, 0] < 640
    assert list(inside) == [False, True]


@pytest.mark.parametrize(("model", "coeffs"), CASES)
def test_render_frame_covers_the_image_and_remap_samples_the_right_rays(model, coeffs):
    W, H = 160, 120
    K = opencv_to_continuous(K_CV * np.array([[0.25], [0.25], [1]]))
    lens = Lens(K, W, H, model, coeffs)
    K_r, Wr, Hr = lens.render_frame()
    assert K_r[0, 0] == K_r[1, 1] == max(K[0, 0], K[1, 1])  # square render pixels, the finer scale
    # every output pixel centre's ray (undistorted by OpenCV) lands inside the render frame
    v, u = np.mgrid[0:H, 0:W] + 0.5
    pix = np.stack([u.ravel() - 0.5, v.ravel() - 0.5], axis=1)[:, None, :]
    K_cv, d = continuous_to_opencv(K), np.array(coeffs)
    if model == "opencv":
        crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-15)
        n = cv2.undistortPointsIter(pix, K_cv, d, None, None, crit).reshape(-1, 2)
    else:
        n = cv2.fisheye.undistortPoints(pix, K_cv, d).reshape(-1, 2)
    q = n * [K_r[0, 0], K_r[1, 1]] + K_r[:2, 2]
    assert q.min() >= 1 and (q[:, 0] <= Wr - 1).all() and (q[:, 1] <= Hr - 1).all()
    # a render frame whose pixels hold their own normalized coordinates (linear: bilinear is exact)
    rv, ru = np.mgrid[0:Hr, 0:Wr] + 0.5
    frame = np.stack([(ru - K_r[0, 2]) / K_r[0, 0], (rv - K_r[1, 2]) / K_r[1, 1]], axis=-1)
    out = lens.remap(frame)
    assert out.shape == (H, W, 2)
    assert np.abs(out.reshape(-1, 2) - n).max() < 1e-6  # float32 weights: 1e-6 of a focal length
    # nearest: the render pixel that contains the ray
    labels = (np.arange(Hr)[:, None] * 10000 + np.arange(Wr)[None, :]).astype(np.int32)
    near = lens.remap(labels, nearest=True).ravel()
    assert (near // 10000 == np.floor(q[:, 1])).all() and (near % 10000 == np.floor(q[:, 0])).all()


def test_remap_without_distortion_is_the_identity():
    lens = Lens(np.array([[100.0, 0, 40], [0, 100.0, 30], [0, 0, 1]]), 80, 60)
    img = np.random.default_rng(0).uniform(size=(60, 80, 4)).astype(np.float32)
    assert lens.remap(img) is img
    assert lens.render_frame()[1:] == (80, 60)


def test_a_lens_too_wide_for_a_pinhole_frame_is_an_error():
    # 83 degrees off axis at the corners: tan(83 deg) = 8 focal lengths of pinhole frame
    lens = Lens(np.array([[270.0, 0, 320], [0, 270.0, 240], [0, 0, 1]]), 640, 480, "fisheye", (0.0, 0.0, 0.0, 0.0))
    with pytest.raises(LensError, match="too wide"):
        lens.render_frame()


def test_a_lens_that_folds_inside_the_image_is_an_error():
    lens = Lens(np.array([[200.0, 0, 320], [0, 200.0, 240], [0, 0, 1]]), 640, 480, "opencv", (-0.6, 0, 0, 0))
    with pytest.raises(LensError, match="folds over inside the 640x480 image"):
        lens.render_frame()


def test_blender_camera_values():
    """Blender's rules (sensor fit HORIZONTAL): f = lens / sensor * W; cx = W/2 - shift_x W;
    cy = H/2 + shift_y W. Blender renders square pixels only (fx != fy goes through the remap)."""
    b = blender_camera(np.array([[500.0, 0, 300.0], [0, 500.0, 250.0], [0, 0, 1]]), 640, 480)
    assert b["lens_mm"] / b["sensor_mm"] * 640 == pytest.approx(500)
    assert 320 - b["shift_x"] * 640 == pytest.approx(300)
    assert 240 + b["shift_y"] * 640 == pytest.approx(250)
    with pytest.raises(ValueError, match="square pixels"):
        blender_camera(np.array([[500.0, 0, 300.0], [0, 450.0, 250.0], [0, 0, 1]]), 640, 480)


def test_non_square_pixels_render_square_and_resample():
    lens = Lens(np.array([[100.0, 0, 40.3], [0, 80.0, 29.6], [0, 0, 1]]), 80, 60)
    K_r, Wr, Hr = lens.render_frame()
    assert K_r[0, 0] == K_r[1, 1] == 100.0  # the finer of the two scales
    # output pixel (u, v) sees normalized ((u - cx) / fx, (v - cy) / fy): a render frame holding its
    # own normalized coordinates, resampled, gives exactly those
    rv, ru = np.mgrid[0:Hr, 0:Wr] + 0.5
    frame = np.stack([(ru - K_r[0, 2]) / 100.0, (rv - K_r[1, 2]) / 100.0], axis=-1)
    v, u = np.mgrid[0:60, 0:80] + 0.5
    out = lens.remap(frame)
    assert np.abs(out[..., 0] - (u - 40.3) / 100).max() < 1e-6 and np.abs(out[..., 1] - (v - 29.6) / 80).max() < 1e-6


def test_undistort_points_of_projected_keypoints_give_the_pinhole_projection():
    """What users do with the labels: cv2.undistortPoints(annotation - 0.5, K_opencv, dist, P=K_opencv)."""
    coeffs = (-0.25, 0.07, 0.001, -0.001, -0.01)
    K = opencv_to_continuous(K_CV)
    lens = Lens(K, 640, 480, "opencv", coeffs)
    w2c = world_to_opencv(look_at((0.1, -0.5, 0.3), (0, 0, 0)))
    pts = np.random.default_rng(3).uniform(-0.1, 0.1, size=(40, 3))
    uv, _, inside = lens.project(w2c, pts)
    assert inside.all()
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-15)
    und = cv2.undistortPointsIter((uv - 0.5)[:, None, :], K_CV, np.array(coeffs), None, K_CV, crit).reshape(-1, 2)
    cam = pts @ w2c[:3, :3].T + w2c[:3, 3]
    pinhole = cam[:, :2] / cam[:, 2:] * [K[0, 0], K[1, 1]] + K[:2, 2]  # written out: u = fx X/Z + cx
    assert np.abs(und + 0.5 - pinhole).max() < 1e-6
