"""The camera element's per-image draw (pure): size, pose, focal length, a calibration's K and
distortion, from the `camera` stream; view constraints draw again from the `views` stream."""

from __future__ import annotations

import math

import numpy as np

from blender.optics.camera import look_at, spherical_position
from blender.random_draws import STREAMS, uniform
from common.render_spec import Camera, Intrinsics, RenderSpec


def sensor_width_mm(cam: Camera, width: int, height: int) -> float:
    """Sensor width spanning the image width; `long_side` fit widens it for portrait frames.

    A phone turned to portrait keeps its long sensor side along the image's long side: objects stay
    the same size in pixels. Blender then still fits the (wider) sensor horizontally, so K and the
    render agree by construction.
    """
    if cam.sensor_fit == "long_side" and height > width:
        return cam.sensor_mm * width / height
    return cam.sensor_mm


def calibrated_size(intr: Intrinsics) -> tuple[int, int]:
    return round(intr.width * intr.scale), round(intr.height * intr.scale)


def calibrated_K(intr: Intrinsics) -> list[list[float]]:
    """K in continuous pixels (OpenCV's cx + 0.5) for the image scaled to `calibrated_size`."""
    w, h = calibrated_size(intr)
    sx, sy = w / intr.width, h / intr.height
    return [
        [intr.fx * sx, 0.0, (intr.cx + 0.5) * sx],
        [0.0, intr.fy * sy, (intr.cy + 0.5) * sy],
        [0.0, 0.0, 1.0],
    ]


def draw_camera(rng: np.random.Generator, cam: Camera, width: int, height: int) -> tuple[dict, np.ndarray]:
    """A look-at camera drawn from `render.camera` (aim, distance, elevation, azimuth, roll, focal),
    with the calibrated K and the distortion when params give them; also its position."""
    target = np.array([rng.normal(0, cam.look_jitter), rng.normal(0, cam.look_jitter), 0.0])
    position = spherical_position(
        target,
        uniform(rng, cam.distance),
        math.radians(uniform(rng, cam.elevation_deg)),
        math.radians(uniform(rng, cam.azimuth_deg)),
    )
    roll = math.radians(uniform(rng, cam.roll_deg))
    out = {
        "camera_to_world": look_at(position, target, roll).tolist(),
        "focal_mm": uniform(rng, cam.focal_mm),
        "sensor_mm": sensor_width_mm(cam, width, height),
    }
    if cam.intrinsics is not None:
        out["K"] = calibrated_K(cam.intrinsics)
        out["focal_mm"] = out["K"][0][0] * out["sensor_mm"] / width  # what Blender's lens is set to
    if cam.distortion is not None:
        out["distortion"] = {"model": cam.distortion.model, "coeffs": list(cam.distortion.coeffs)}
    return out, position


def resampled_camera(spec: RenderSpec, index: int, attempt: int, width: int, height: int) -> dict:
    """View `attempt` (>= 1) of image `index` when view constraints reject the earlier ones: drawn
    like the first from `render.camera`, from its own stream, so attempt 0 stays the sampled camera."""
    rng = np.random.default_rng([spec.seed, index, STREAMS["views"], attempt])
    return draw_camera(rng, spec.render.camera, width, height)[0]


def draw(ctx) -> dict:
    """Image size, camera and Cycles' seed; the camera's position is left in `ctx` for distractors."""
    rng, render = ctx.rng("camera"), ctx.spec.render
    cam = render.camera
    out = {}
    out["width"], out["height"] = (int(v) for v in render.resolutions[rng.integers(len(render.resolutions))])
    if cam.intrinsics is not None:  # the calibration sets the size; the draw above keeps the stream
        out["width"], out["height"] = calibrated_size(cam.intrinsics)
    out["camera"], ctx.camera_position = draw_camera(rng, cam, out["width"], out["height"])
    out["cycles_seed"] = int(rng.integers(0, 2**31 - 1))
    return out
