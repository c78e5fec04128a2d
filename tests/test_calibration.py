"""Calibration files (written here by OpenCV itself, and by hand as ROS and plain JSON) into the spec;
bad files, sizes and coefficient counts are errors that name the params key."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from blender.optics.camera_draw import calibrated_K
from common.render_spec import Intrinsics
from pipeline.rendering.blender_runner import make_spec
from pipeline.rendering.calibration import read_calibration
from pipeline.schema import ParamsError, load_params
from tests.support.params import tiny_params, write_params
from tests.support.specs import sampled

K = np.array([[612.5, 0.0, 318.25], [0.0, 608.0, 241.5], [0.0, 0.0, 1.0]])
DIST = np.array([[-0.21, 0.043, 0.0011, -0.0007, 0.0]])


def _opencv_file(path, dist=DIST):
    fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE)
    fs.write("image_width", 640)
    fs.write("image_height", 480)
    fs.write("camera_matrix", K)
    fs.write("distortion_coefficients", dist)
    fs.release()
    return path


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_reads_what_cv2_filestorage_writes(tmp_path, suffix):
    cal = read_calibration(_opencv_file(tmp_path / f"calib{suffix}"), "key")
    assert (cal.fx, cal.fy, cal.cx, cal.cy) == (612.5, 608.0, 318.25, 241.5)
    assert (cal.width, cal.height) == (640, 480)
    assert cal.coeffs == pytest.approx(DIST.ravel())
    assert cal.model is None


def test_reads_ros_camera_info_and_plain_json(tmp_path):
    ros = tmp_path / "ost.yaml"
    ros.write_text(
        "image_width: 640\nimage_height: 480\ncamera_name: cam\n"
        "camera_matrix:\n  rows: 3\n  cols: 3\n  data: [612.5, 0, 318.25, 0, 608, 241.5, 0, 0, 1]\n"
        "distortion_model: equidistant\n"
        "distortion_coefficients:\n  rows: 1\n  cols: 4\n  data: [0.01, -0.002, 0.0003, 0.0]\n"
    )
    cal = read_calibration(ros, "key")
    assert (cal.fx, cal.cy, cal.width) == (612.5, 241.5, 640)
    assert cal.model == "fisheye" and cal.coeffs == (0.01, -0.002, 0.0003, 0.0)
    plain = tmp_path / "cam.json"
    plain.write_text(json.dumps({"fx": 612.5, "fy": 608, "cx": 318.25, "cy": 241.5, "width": 640, "height": 480}))
    cal = read_calibration(plain, "key")
    assert (cal.fx, cal.fy, cal.cx, cal.cy, cal.width, cal.height, cal.coeffs) == (
        612.5,
        608.0,
        318.25,
        241.5,
        640,
        480,
        None,
    )
    nested = tmp_path / "k.json"
    nested.write_text(json.dumps({"K": K.tolist(), "dist": [0.1, 0, 0, 0], "image_size": [640, 480]}))
    cal = read_calibration(nested, "key")
    assert (cal.fx, cal.cx, cal.width, cal.height, cal.coeffs) == (612.5, 318.25, 640, 480, (0.1, 0.0, 0.0, 0.0))


def _params(tmp_path, camera: dict, **render):
    p = tiny_params()
    p["render"]["camera"] = camera
    p["render"].update(render)
    return write_params(tmp_path / "params.yaml", p)


def test_spec_carries_the_calibration_and_sampled_scenes_its_K(tmp_path):
    _opencv_file(tmp_path / "calib.yaml")
    p = tiny_params()
    del p["render"]["resolutions"]
    p["render"]["camera"] = {"intrinsics": {"file": "calib.yaml", "scale": 0.25}, "distortion": {"file": "calib.yaml"}}
    pfile = write_params(tmp_path / "params.yaml", p)
    spec = make_spec(load_params(pfile), pfile)
    intr, dist = spec["render"]["camera"]["intrinsics"], spec["render"]["camera"]["distortion"]
    assert (intr["fx"], intr["cx"], intr["width"]) == (612.5, 318.25, 640)
    assert dist == {
        "model": "opencv",
        "coeffs": pytest.approx([-0.21, 0.043, 0.0011, -0.0007, 0.0]),
        "file": "calib.yaml",
    }
    scene = sampled(spec, 0, {"glue_tube": 0.05, "box": 0.07})
    assert (scene["width"], scene["height"]) == (160, 120)
    # a quarter of the image: continuous-pixel centres scale, (cx_cv + 0.5) / 4
    expected = [[612.5 / 4, 0, (318.25 + 0.5) / 4], [0, 608 / 4, (241.5 + 0.5) / 4], [0, 0, 1]]
    assert np.array(scene["camera"]["K"]) == pytest.approx(np.array(expected))
    assert scene["camera"]["distortion"]["model"] == "opencv"
    # the camera pose is drawn as without a calibration (same params otherwise)
    del p["render"]["camera"]
    plain = make_spec(load_params(write_params(tmp_path / "plain.yaml", p)), tmp_path / "plain.yaml")
    assert (
        sampled(plain, 0, {"glue_tube": 0.05, "box": 0.07})["camera"]["camera_to_world"]
        == scene["camera"]["camera_to_world"]
    )


def test_calibrated_K_at_scale_one_is_opencv_plus_half_a_pixel():
    intr = Intrinsics(file=None, fx=500.0, fy=480.0, cx=319.5, cy=239.5, width=640, height=480, scale=1.0)
    assert calibrated_K(intr) == [[500.0, 0.0, 320.0], [0.0, 480.0, 240.0], [0.0, 0.0, 1.0]]


@pytest.mark.parametrize(
    ("camera", "files", "message"),
    [
        (
            {"intrinsics": {"file": "bad.yaml"}},
            {"bad.yaml": "camera_matrix: [1, 2\n"},
            "render.camera.intrinsics.file: .*bad.yaml is not a YAML or JSON calibration",
        ),
        (
            {"intrinsics": {"file": "nok.yaml"}},
            {"nok.yaml": "focal: 3\n"},
            "render.camera.intrinsics.file: .*no camera matrix",
        ),
        ({"intrinsics": {"file": "missing.yaml"}}, {}, "render.camera.intrinsics.file: file .*missing.yaml not found"),
        (
            {"intrinsics": {"file": "nosize.json"}},
            {"nosize.json": json.dumps({"K": K.tolist()})},
            "render.camera.intrinsics.file: nosize.json: no image size",
        ),
        (
            {"distortion": {"file": "three.json"}},
            {"three.json": json.dumps({"K": K.tolist(), "dist": [0.1, 0.2, 0.3]})},
            "render.camera.distortion.file: coeffs: expected 4 or 5 or 8 coefficients for model opencv",
        ),
    ],
)
def test_bad_calibration_files_name_the_key(tmp_path, camera, files, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    pfile = _params(tmp_path, camera)
    with pytest.raises(ParamsError, match=message):
        make_spec(load_params(pfile), pfile)  # what the render stage does first


def test_bad_inline_values_name_the_key(tmp_path):
    with pytest.raises(ParamsError, match=r"render.camera.distortion: coeffs: expected 4 or 5 or 8 coefficients"):
        load_params(_params(tmp_path, {"distortion": {"coeffs": [0.1, 0.0, 0.0]}}))
    with pytest.raises(ParamsError, match=r"render.camera.distortion: coeffs: expected 4 coefficients .* fisheye"):
        load_params(_params(tmp_path, {"distortion": {"model": "fisheye", "coeffs": [0.1, 0.0, 0.0, 0.0, 0.0]}}))
    with pytest.raises(ParamsError, match=r"render.camera.intrinsics: .*missing cy, width, height"):
        load_params(_params(tmp_path, {"intrinsics": {"fx": 500, "fy": 500, "cx": 320}}))
    pfile = _params(
        tmp_path,
        {"intrinsics": {"fx": 50, "fy": 50, "cx": 31.5, "cy": 23.5, "width": 64, "height": 48}},
        resolutions=[[96, 72]],
    )
    with pytest.raises(ParamsError, match=r"render.resolutions: .*differs from the calibrated image size 64x48"):
        make_spec(load_params(pfile), pfile)


def test_a_lens_that_folds_inside_the_image_fails_before_rendering(tmp_path):
    # k1 = -0.6 folds at r = 0.75; the corners of a 96x72 image at 24 mm (f = 64 px) are at r = 0.94
    pfile = _params(tmp_path, {"focal_mm": [24, 50], "distortion": {"coeffs": [-0.6, 0.0, 0.0, 0.0]}})
    with pytest.raises(ParamsError, match=r"render.camera.distortion: the opencv model .* folds over inside the 96x72"):
        make_spec(load_params(pfile), pfile)
    pfile = _params(tmp_path, {"focal_mm": [24, 50], "distortion": {"coeffs": [-0.1, 0.0, 0.0, 0.0]}})
    make_spec(load_params(pfile), pfile)
