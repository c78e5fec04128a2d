"""Pinhole camera math shared by the renderer and the annotations (pure numpy).

Frames: world is Blender's (z up, metres). The Blender camera frame has x right, y up and looks
along -z. The OpenCV frame (used in metadata and projection) has x right, y down, z forward.
Pixel coordinates are continuous: pixel (col i, row j) covers [i, i+1) x [j, j+1), the image's
top-left corner is (0, 0), so the principal point of an unshifted camera is (W/2, H/2).
"""

from __future__ import annotations

import numpy as np

BLENDER_TO_OPENCV = np.diag([1.0, -1.0, -1.0])


def intrinsics(focal_mm: float, sensor_mm: float, width: int, height: int) -> np.ndarray:
    """K for a camera whose sensor width spans the image width (Blender sensor_fit HORIZONTAL)."""
    f = focal_mm / sensor_mm * width  # pixels
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def look_at(position, target, roll_rad: float = 0.0) -> np.ndarray:
    """4x4 camera-to-world matrix (Blender camera frame) at `position` aimed at `target`.

    Roll turns the camera about its viewing axis (positive: image content turns clockwise).
    """
    position = np.asarray(position, dtype=float)
    forward = np.asarray(target, dtype=float) - position
    forward /= np.linalg.norm(forward)
    up_hint = np.array([0.0, 0.0, 1.0])
    if abs(forward @ up_hint) > 0.999:  # looking straight down or up
        up_hint = np.array([0.0, 1.0, 0.0])
    right = np.cross(forward, up_hint)
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    c, s = np.cos(roll_rad), np.sin(roll_rad)
    right, up = c * right + s * up, -s * right + c * up
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = right, up, -forward, position
    return m


def spherical_position(center, distance: float, elevation_rad: float, azimuth_rad: float) -> np.ndarray:
    """World point at `distance` from `center`, `elevation` above the xy plane, `azimuth` from +x."""
    ce = np.cos(elevation_rad)
    d = np.array([ce * np.cos(azimuth_rad), ce * np.sin(azimuth_rad), np.sin(elevation_rad)])
    return np.asarray(center, dtype=float) + distance * d


def world_to_opencv(camera_to_world_blender: np.ndarray) -> np.ndarray:
    """4x4 world-to-camera in the OpenCV frame from Blender's camera-to-world matrix."""
    w2c_blender = np.linalg.inv(camera_to_world_blender)
    out = np.eye(4)
    out[:3, :3] = BLENDER_TO_OPENCV @ w2c_blender[:3, :3]
    out[:3, 3] = BLENDER_TO_OPENCV @ w2c_blender[:3, 3]
    return out


def project(K: np.ndarray, world_to_cam_cv: np.ndarray, points_world) -> tuple[np.ndarray, np.ndarray]:
    """Project Nx3 world points; returns (Nx2 continuous pixel coords, N depths along +z_cv)."""
    p = np.asarray(points_world, dtype=float).reshape(-1, 3)
    cam = p @ world_to_cam_cv[:3, :3].T + world_to_cam_cv[:3, 3]
    z = cam[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = (cam[:, :2] / z[:, None]) @ K[:2, :2].T + K[:2, 2]
    return uv, z


def in_frame(uv: np.ndarray, depth: np.ndarray, width: int, height: int) -> np.ndarray:
    """True where a projected point lies in front of the camera and inside [0, W) x [0, H)."""
    return (depth > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < width) & (uv[:, 1] >= 0) & (uv[:, 1] < height)
