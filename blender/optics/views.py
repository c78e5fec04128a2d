"""View constraints (pure): what each rig instance shows in a view, and whether the view complies.

`render.camera.require` is checked before rendering, on the scene as it will be rendered:

- keypoints in frame (v >= 1) and seen (v = 2): the very projection and ray casts that the
  annotations use, so the check and the labels agree exactly;
- truncation: the share of the instance's mesh vertices that project outside the image (or
  behind the camera), through the lens model;
- visible share: a grid of camera rays over the instance's silhouette (32 x 32 over the box of
  its projected vertices, in undistorted normalized coordinates, each ray weighted by the pixel
  area the lens gives it): rays that meet the instance first and land in the image, over rays
  that meet the instance at all (its full, uncut silhouette). The rendered mask agrees to the
  grid's resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from blender.optics.lens import Lens, jacobian_det
from common.render_spec import ViewRequirements

GRID = 32
NEAR = 0.005  # metres: the camera's clip_start; vertices closer (or behind) count as cut off


@dataclass
class InstanceView:
    rig: str
    keypoints_in_frame: int
    keypoints_seen: int
    truncated: float  # share of mesh vertices outside the image
    visible: float | None  # share of the silhouette visible; None when not asked for


def truncated_share(lens: Lens, world_to_cam_cv: np.ndarray, vertices_world: np.ndarray) -> float:
    uv, depth, inside = lens.project(world_to_cam_cv, vertices_world)
    return float(1.0 - (inside & (depth > NEAR)).mean())


def silhouette_rays(lens: Lens, world_to_cam_cv: np.ndarray, vertices_world: np.ndarray, grid: int = GRID):
    """Grid rays over the instance: (directions in the OpenCV camera frame Nx3, pixel-area weights N,
    in-frame flags N); None when part of the instance lies behind the camera plane."""
    p = np.asarray(vertices_world, dtype=float)
    cam = p @ world_to_cam_cv[:3, :3].T + world_to_cam_cv[:3, 3]
    if (cam[:, 2] <= NEAR).any():
        return None
    x, y = cam[:, 0] / cam[:, 2], cam[:, 1] / cam[:, 2]
    xs = x.min() + (np.arange(grid) + 0.5) * (x.max() - x.min()) / grid
    ys = y.min() + (np.arange(grid) + 0.5) * (y.max() - y.min()) / grid
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    dirs = np.stack([gx, gy, np.ones_like(gx)], axis=1)
    uv, _, inside = lens.project(np.eye(4), dirs)  # a point on each ray, in the camera frame
    if lens.distorted:
        with np.errstate(all="ignore"):
            weights = np.abs(jacobian_det(lens.model, lens.coeffs, gx, gy))
        weights = np.where(np.isfinite(weights), weights, 0.0)
    else:
        weights = np.ones_like(gx)
    return dirs, weights, inside


def visible_share(weights: np.ndarray, inside: np.ndarray, own_hit: np.ndarray, first_is_own: np.ndarray) -> float:
    """Weighted share of the instance's rays that are seen (first hit, in frame) among those that
    meet it at all."""
    total = float((weights * own_hit).sum())
    if total <= 0:
        return 0.0
    return float((weights * (own_hit & first_is_own & inside)).sum()) / total


def failures(require: ViewRequirements, views: list[InstanceView]) -> list[str]:
    """What each non-complying instance misses, as readable lines; empty when the view complies."""
    out = []
    for k, v in enumerate(views):
        if require.rigs is not None and v.rig not in require.rigs:
            continue
        checks = [
            ("min_keypoints_in_frame", v.keypoints_in_frame, lambda n, lim: n >= lim),
            ("min_keypoints_seen", v.keypoints_seen, lambda n, lim: n >= lim),
            ("max_truncated", v.truncated, lambda n, lim: n <= lim),
            ("min_visible", v.visible, lambda n, lim: n is not None and n >= lim),
        ]
        for key, value, ok in checks:
            limit = getattr(require, key)
            if limit is not None and not ok(value, limit):
                shown = f"{value:.3f}" if isinstance(value, float) else value
                out.append(f"{v.rig} instance {k}: {key} {limit} (got {shown})")
    return out


def as_records(measures: list[InstanceView]) -> list[dict]:
    """What each checked instance showed in the kept view, for meta (shares rounded to 1e-4)."""
    return [
        {
            "rig": m.rig,
            "keypoints_in_frame": m.keypoints_in_frame,
            "keypoints_seen": m.keypoints_seen,
            "truncated": round(m.truncated, 4),
            "visible": None if m.visible is None else round(m.visible, 4),
        }
        for m in measures
    ]
