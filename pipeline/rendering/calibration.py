"""Read camera calibrations (OpenCV FileStorage YAML/JSON, ROS camera_info, plain JSON) into the
numbers the render spec carries: `render.camera.intrinsics` and `render.camera.distortion`.
The render stage reads them when it makes its spec, before any rendering; other stages never do.

Values stay in OpenCV's convention (pixel centres at integers), as the calibration tools write them;
blender/optics/lens.py converts to the continuous pixel convention of the annotations.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from blender.optics.camera import intrinsics
from blender.optics.camera_draw import calibrated_K, calibrated_size, sensor_width_mm
from blender.optics.lens import Lens, LensError
from common.render_spec import Camera
from common.typed_json import from_dict
from pipeline.schema import ParamsError
from pipeline.schema.lens_params import COEFFICIENTS, coefficient_problem

MATRIX_KEYS = ("camera_matrix", "cameraMatrix", "K", "k", "intrinsic_matrix", "intrinsics", "mtx", "M")
DIST_KEYS = ("distortion_coefficients", "dist_coeffs", "distCoeffs", "distortion", "dist", "D", "d")
WIDTH_KEYS = ("image_width", "width", "imageWidth", "img_width")
HEIGHT_KEYS = ("image_height", "height", "imageHeight", "img_height")
SIZE_KEYS = ("image_size", "imageSize", "size", "resolution")
FISHEYE_NAMES = ("equidistant", "fisheye", "kannala_brandt")


class CalibrationError(ParamsError):
    """A calibration file that cannot be read; the message names the params key and the file."""


@dataclass(frozen=True)
class Calibration:
    fx: float
    fy: float
    cx: float  # OpenCV convention
    cy: float
    width: int | None
    height: int | None
    coeffs: tuple[float, ...] | None
    model: str | None  # from the file when it says (ROS distortion_model), else None


class _OpenCVLoader(yaml.SafeLoader):
    """PyYAML with cv2.FileStorage's `!!opencv-matrix` tag (a mapping with rows, cols, dt, data)."""


_OpenCVLoader.add_constructor(
    "tag:yaml.org,2002:opencv-matrix", lambda loader, node: loader.construct_mapping(node, deep=True)
)
_OpenCVLoader.add_constructor(
    "tag:yaml.org,2002:opencv-nd-matrix", lambda loader, node: loader.construct_mapping(node, deep=True)
)


def _parse(path: Path) -> dict:
    text = path.read_text()
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        return json.loads(text)
    text = re.sub(r"\A\s*%YAML[: ]1\.\d+[^\n]*\n", "", text)  # FileStorage writes `%YAML:1.0`, not YAML's `%YAML 1.0`
    return yaml.load(text, Loader=_OpenCVLoader)  # noqa: S506 (a SafeLoader subclass)


def _matrix(value, shape: tuple[int, int] | None) -> list[float]:
    """Flat numbers of a FileStorage matrix ({rows, cols, data}), a nested list or a flat list."""
    if isinstance(value, dict):
        data = value.get("data")
        if data is None:
            raise ValueError(f"a matrix needs `data`, got keys {sorted(value)}")
        value = data
    flat = []
    stack = [value]
    while stack:  # flatten nested lists in order
        v = stack.pop(0)
        if isinstance(v, (list, tuple)):
            stack = list(v) + stack
        else:
            flat.append(float(v))
    if shape is not None and len(flat) != shape[0] * shape[1]:
        raise ValueError(f"expected {shape[0]}x{shape[1]} numbers, got {len(flat)}")
    return flat


def _first(data: dict, keys):
    for k in keys:
        if k in data:
            return data[k]
    return None


def read_calibration(path: Path, key: str) -> Calibration:
    """The calibration in `path`; `key` (e.g. render.camera.intrinsics.file) names it in errors."""
    if not path.is_file():
        raise CalibrationError(f"{key}: file {path} not found")
    try:
        data = _parse(path)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise CalibrationError(f"{key}: {path} is not a YAML or JSON calibration: {exc}") from None
    if not isinstance(data, dict):
        raise CalibrationError(f"{key}: {path}: expected a mapping of calibration values, got {type(data).__name__}")
    try:
        matrix = _first(data, MATRIX_KEYS)
        if matrix is not None:
            K = _matrix(matrix, (3, 3))
            fx, fy, cx, cy = K[0], K[4], K[2], K[5]
            if abs(K[1]) > 1e-9 * abs(fx):
                raise ValueError(f"camera matrix skew {K[1]} != 0 is not supported")
        elif all(k in data for k in ("fx", "fy", "cx", "cy")):
            fx, fy, cx, cy = (float(data[k]) for k in ("fx", "fy", "cx", "cy"))
        else:
            raise ValueError(
                f"no camera matrix ({' / '.join(MATRIX_KEYS[:3])}, or fx, fy, cx, cy); keys found: {sorted(data)}"
            )
        if fx <= 0 or fy <= 0:
            raise ValueError(f"expected fx, fy > 0, got {fx}, {fy}")
        width, height = _first(data, WIDTH_KEYS), _first(data, HEIGHT_KEYS)
        size = _first(data, SIZE_KEYS)
        if (width is None or height is None) and size is not None:
            width, height = _matrix(size, None)[:2]
        dist = _first(data, DIST_KEYS)
        coeffs = tuple(_matrix(dist, None)) if dist is not None else None
        name = str(data.get("distortion_model", "")).lower()
        model = "fisheye" if name in FISHEYE_NAMES else ("opencv" if name else None)
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"{key}: {path}: {exc}") from None
    return Calibration(
        fx,
        fy,
        cx,
        cy,
        int(width) if width is not None else None,
        int(height) if height is not None else None,
        coeffs,
        model,
    )


def resolve_camera(camera: dict, base: Path, resolutions_set: bool, resolutions: list) -> dict:
    """`render.camera` (a dumped schema dict) with its calibration files read into numbers; checks
    that the image size, the coefficient count and explicit `resolutions` agree."""
    out = dict(camera)
    intr = camera.get("intrinsics")
    cache: dict[Path, Calibration] = {}

    def read(rel: str, key: str) -> Calibration:
        p = (base / rel).resolve()
        if p not in cache:
            cache[p] = read_calibration(p, key)
        return cache[p]

    if intr is not None:
        intr = dict(intr)
        if intr.get("file") is not None:
            cal = read(intr["file"], "render.camera.intrinsics.file")
            if cal.width is None or cal.height is None:
                raise CalibrationError(
                    f"render.camera.intrinsics.file: {intr['file']}: no image size "
                    "(image_width / image_height); add them to the file or give the "
                    "intrinsics inline"
                )
            intr.update(fx=cal.fx, fy=cal.fy, cx=cal.cx, cy=cal.cy, width=cal.width, height=cal.height)
        w, h = round(intr["width"] * intr["scale"]), round(intr["height"] * intr["scale"])
        if w < 8 or h < 8:
            raise CalibrationError(
                f"render.camera.intrinsics.scale: {intr['scale']} makes a {w}x{h} image; expected at least 8x8"
            )
        if resolutions_set and any(list(r) != [w, h] for r in resolutions):
            raise CalibrationError(
                f"render.resolutions: {[list(r) for r in resolutions]} differs from the calibrated "
                f"image size {w}x{h} (render.camera.intrinsics sets the size); remove it"
            )
        out["intrinsics"] = intr
    dist = camera.get("distortion")
    if dist is not None and dist.get("file") is not None:
        dist = dict(dist)
        cal = read(dist["file"], "render.camera.distortion.file")
        if cal.coeffs is None:
            raise CalibrationError(
                f"render.camera.distortion.file: {dist['file']}: no distortion coefficients "
                f"({' / '.join(DIST_KEYS[:3])})"
            )
        coeffs = list(cal.coeffs)
        model = cal.model or dist["model"]
        while model == "opencv" and len(coeffs) > 5 and len(coeffs) not in COEFFICIENTS["opencv"] and coeffs[-1] == 0:
            coeffs.pop()  # calibrations often pad to 8, 12 or 14 coefficients with zeros
        problem = coefficient_problem(model, coeffs)
        if problem:
            raise CalibrationError(f"render.camera.distortion.file: {problem} (read from {dist['file']})")
        dist.update(model=model, coeffs=coeffs)
        out["distortion"] = dist
    return out


def check_lens(render: dict) -> None:
    """Fail before any rendering when the distortion folds over inside the image or needs too wide a
    pinhole frame: tried with the calibrated K, or else the shortest focal length at each size
    (the widest view, where a lens is worst)."""
    cam = from_dict(Camera, render["camera"], "render.camera")  # as blender/optics reads it
    dist = cam.distortion
    if dist is None:
        return
    if cam.intrinsics is not None:
        width, height = calibrated_size(cam.intrinsics)
        cameras = [(np.array(calibrated_K(cam.intrinsics)), width, height)]
    else:
        cameras = [
            (intrinsics(cam.focal_mm.min, sensor_width_mm(cam, w, h), w, h), w, h) for w, h in render["resolutions"]
        ]
    for K, width, height in cameras:
        try:
            Lens(K, int(width), int(height), dist.model, tuple(dist.coeffs)).render_frame()
        except LensError as exc:
            raise CalibrationError(str(exc)) from None
