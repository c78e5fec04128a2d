"""Calibrated, distorted cameras through real renders, checked with OpenCV and hand-written pinholes:

- small spheres placed (by cv2.undistortPoints) near the four corners of a distorted image with
  non-square pixels and an off-centre principal point: each rendered mask is centred on its
  annotated keypoint;
- cv2.undistortPoints of the annotations gives the pinhole projection of the keypoints;
- moving the principal point moves annotations by exactly the offset, and the rendered masks too.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from blender.codecs.exr import find_channel, read_exr
from blender.optics.camera import look_at
from tests.support import needs_bpy
from tests.support.renders import base_scene, material, render_scenes, write_sphere_obj

pytestmark = [pytest.mark.slow, needs_bpy]

W, H = 240, 180
K_CV = np.array([[200.0, 0.0, 127.3], [0.0, 184.0, 84.1], [0.0, 0.0, 1.0]])  # fy = 0.92 fx, off-centre
LENSES = [("opencv", [-0.27, 0.08, 0.0015, -0.001, -0.01]), ("fisheye", [0.04, -0.01, 0.002, -0.0005])]
DEPTH = 0.3
CAMERA = look_at((0.0, -DEPTH, 0.0), (0.0, 0.0, 0.0))  # Blender camera frame: looks along +y, z up


def _params(n: int) -> dict:
    return {
        "rigs": {
            "marker": {
                "mesh": {"type": "file", "path": "marker.obj"},
                "instances": [n, n],
                "keypoints": [{"name": "centre", "position": [0, 0, 0], "tolerance": 0.01}],
            }
        },
        "render": {"samples": 16, "denoise": False, "min_visible_px": 1, "distractors": {"count": [0, 0]}},
    }


def _undistort(pixels_cv: np.ndarray, model: str, coeffs, K_cv=K_CV) -> np.ndarray:
    p = np.asarray(pixels_cv, dtype=float)[:, None, :]
    if model == "opencv":
        crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-15)
        return cv2.undistortPointsIter(p, K_cv, np.array(coeffs), None, None, crit).reshape(-1, 2)
    return cv2.fisheye.undistortPoints(p, K_cv, np.array(coeffs)).reshape(-1, 2)


def _world_on_rays(normalized: np.ndarray) -> np.ndarray:
    """Points at DEPTH along camera rays (OpenCV frame: x right, y down) in the world of CAMERA."""
    cv = np.concatenate([normalized * DEPTH, np.full((len(normalized), 1), DEPTH)], axis=1)
    blender_cam = cv * [1, -1, -1]
    return blender_cam @ CAMERA[:3, :3].T + CAMERA[:3, 3]


def _scene(K_cv, model, coeffs, points) -> dict:
    K = np.array(K_cv, dtype=float)
    K[:2, 2] += 0.5  # the scene carries continuous-pixel K
    scene = base_scene(W, H, CAMERA, K[0, 0] * 36.0 / W)
    scene["camera"]["K"] = K.tolist()
    scene["camera"]["distortion"] = {"model": model, "coeffs": list(coeffs)}
    scene["lights"][0]["camera_like_matrix"] = CAMERA.tolist()
    scene["objects"] = [
        {
            "rig": "marker",
            "slot": k,
            "location": list(map(float, p)),
            "rotation": [1, 0, 0, 0],
            "scale": 1.0,
            "materials": {"*": material()},
        }
        for k, p in enumerate(points)
    ]
    return scene


def _centroid(weights: np.ndarray) -> np.ndarray:
    rows, cols = np.mgrid[0 : weights.shape[0], 0 : weights.shape[1]] + 0.5  # pixel centres
    return np.array([(weights * cols).sum() / weights.sum(), (weights * rows).sum() / weights.sum()])


def _mask(ann: dict) -> np.ndarray:
    return mask_utils.decode(ann["segmentation"]).astype(float)


def _alpha_in_image(out, index: int, model: str, coeffs, K_cv) -> np.ndarray:
    """The rendered (undistorted, wider) frame's alpha, resampled into the distorted image by OpenCV:
    each image pixel centre undistorted by cv2, then cv2.remap bilinearly."""
    meta = json.loads((out / "meta" / f"{index:06d}.json").read_text())
    frame = meta["camera"]["render_frame"]
    alpha = find_channel(read_exr(out / "passes" / f"{index:06d}.exr"), ("Combined",), "A").astype(np.float32)
    assert alpha.shape == (frame["height"], frame["width"])
    v, u = np.mgrid[0:H, 0:W].astype(float)
    rays = _undistort(np.stack([u.ravel(), v.ravel()], axis=1), model, coeffs, K_cv)
    K_r = np.array(frame["K"])
    map_x = (rays[:, 0] * K_r[0, 0] + K_r[0, 2] - 0.5).reshape(H, W).astype(np.float32)  # OpenCV pixel centres
    map_y = (rays[:, 1] * K_r[1, 1] + K_r[1, 2] - 0.5).reshape(H, W).astype(np.float32)
    return cv2.remap(alpha, map_x, map_y, cv2.INTER_LINEAR)


def test_markers_at_the_corners_are_centred_on_their_keypoints(tmp_path):
    write_sphere_obj(tmp_path / "marker.obj", 0.006)
    corners_cv = np.array([[14, 14], [W - 15, 14], [14, H - 15], [W - 15, H - 15]], dtype=float)
    scenes = [
        _scene(K_CV, model, coeffs, _world_on_rays(_undistort(corners_cv, model, coeffs))) for model, coeffs in LENSES
    ]
    out = render_scenes(tmp_path, _params(4), scenes)
    data = json.loads((out / "annotations.json").read_text())
    errors, mask_errors = [], []
    for image, (model, coeffs) in zip(data["images"], LENSES, strict=True):
        anns = [a for a in data["annotations"] if a["image_id"] == image["id"]]
        meta = json.loads((out / image["meta_file"]).read_text())
        assert np.array(meta["camera"]["K_opencv"]) == pytest.approx(K_CV)
        assert meta["camera"]["distortion"] == {"model": model, "coeffs": coeffs}
        assert meta["camera"]["render_frame"]["width"] > W  # barrel-like: a wider pinhole frame was rendered
        alpha = _alpha_in_image(out, image["id"] - 1, model, coeffs, K_CV)
        assert len(anns) == 4
        for ann, corner in zip(anns, corners_cv, strict=True):
            x, y, v = ann["keypoints"]
            assert v == 2
            assert np.hypot(x - 0.5 - corner[0], y - 0.5 - corner[1]) < 2e-3  # where OpenCV put the marker
            near = np.zeros_like(alpha)
            near[max(0, int(y) - 12) : int(y) + 12, max(0, int(x) - 12) : int(x) + 12] = 1  # this marker only
            errors.append(float(np.hypot(*(_centroid(alpha * near) - [x, y]))))
            mask_errors.append(float(np.hypot(*(_centroid(_mask(ann)) - [x, y]))))
            assert 15 < ann["area"] < 200
    assert max(errors) < 0.5, errors
    assert max(mask_errors) < 1.0, mask_errors  # nearest-sampled binary masks: coarser


def test_undistorting_the_annotations_gives_the_pinhole_projection(tmp_path):
    write_sphere_obj(tmp_path / "marker.obj", 0.006)
    rng = np.random.default_rng(5)
    points = _world_on_rays(rng.uniform([-0.55, -0.45], [0.55, 0.45], size=(4, 2)))
    model, coeffs = LENSES[0]
    out = render_scenes(tmp_path, _params(4), [_scene(K_CV, model, coeffs, points)], keep_passes=False)
    data = json.loads((out / "annotations.json").read_text())
    meta = json.loads((out / "meta" / "000000.json").read_text())
    w2c = np.array(meta["camera"]["world_to_camera"])
    for ann, o in zip(data["annotations"], meta["objects"], strict=True):
        x, y, _ = ann["keypoints"]
        und = cv2.undistortPointsIter(
            np.array([[[x - 0.5, y - 0.5]]]),
            K_CV,
            np.array(coeffs),
            None,
            K_CV,
            (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-15),
        ).ravel()
        X, Y, Z = w2c[:3, :3] @ np.array(o["keypoints_world"][0]) + w2c[:3, 3]
        pinhole = np.array([K_CV[0, 0] * X / Z + K_CV[0, 2], K_CV[1, 1] * Y / Z + K_CV[1, 2]])
        assert np.abs(und - pinhole).max() < 5e-3  # the annotations are rounded to 1e-3 px


def test_an_off_centre_principal_point_moves_labels_and_pixels_by_the_offset(tmp_path):
    write_sphere_obj(tmp_path / "marker.obj", 0.015)  # large masks: their centroids move smoothly
    model, coeffs = LENSES[0]
    points = _world_on_rays(np.array([[-0.3, -0.2], [0.25, 0.3], [0.0, 0.0]]))
    shifted = K_CV.copy()
    shifted[0, 2] += 12.0
    shifted[1, 2] -= 7.0
    out = render_scenes(
        tmp_path, _params(3), [_scene(K_CV, model, coeffs, points), _scene(shifted, model, coeffs, points)]
    )
    data = json.loads((out / "annotations.json").read_text())
    first = [a for a in data["annotations"] if a["image_id"] == 1]
    second = [a for a in data["annotations"] if a["image_id"] == 2]
    alphas = [_alpha_in_image(out, 0, model, coeffs, K_CV), _alpha_in_image(out, 1, model, coeffs, shifted)]
    for a, b in zip(first, second, strict=True):
        assert np.array(b["keypoints"][:2]) - a["keypoints"][:2] == pytest.approx([12.0, -7.0], abs=2e-3)
        windows = []
        for alpha, ann in zip(alphas, (a, b)):
            x, y = ann["keypoints"][:2]
            near = np.zeros_like(alpha)
            near[max(0, int(y) - 25) : int(y) + 25, max(0, int(x) - 25) : int(x) + 25] = 1
            windows.append(_centroid(alpha * near))
        assert windows[1] - windows[0] == pytest.approx([12.0, -7.0], abs=0.1)
