"""Calibrated cameras and lens distortion (pure numpy): OpenCV's models, the wider undistorted
frame Blender renders, the remap to the distorted image, and keypoint projection through the lens.

Conventions (see camera.py): pixel coordinates are continuous, pixel (i, j) covers
[i, i+1) x [j, j+1). OpenCV puts pixel centres at integers, so its principal point is
cx_cv = cx - 0.5 (fx, fy and the distortion coefficients are the same in both). `K` here and in
meta is continuous; meta's `K_opencv` is what cv2 functions take.

Normalized coordinates (x, y) = (X/Z, Y/Z) in the OpenCV camera frame. The lens maps them to
distorted normalized coordinates (x_d, y_d); K maps those to pixels, u = fx x_d + cx. Models, as
OpenCV writes them:

- `opencv` (cv2.projectPoints): k1, k2, p1, p2[, k3[, k4, k5, k6]];
  radial = (1 + k1 r2 + k2 r2^2 + k3 r2^3) / (1 + k4 r2 + k5 r2^2 + k6 r2^3),
  x_d = x radial + 2 p1 x y + p2 (r2 + 2 x^2), y_d = y radial + p1 (r2 + 2 y^2) + 2 p2 x y.
- `fisheye` (cv2.fisheye): k1..k4; theta = atan(r),
  theta_d = theta (1 + k1 theta^2 + k2 theta^4 + k3 theta^6 + k4 theta^8), x_d = x theta_d / r.

Blender renders a square-pixel pinhole frame that covers the image's undistorted footprint; each
output pixel centre is undistorted (Newton's method to 1e-12) and sampled from that render,
bilinearly for colour, nearest for the object-index pass. A keypoint is projected with the forward
model; it counts as in frame only on the branch of the model the image shows (where the lens does
not fold over), so labels and pixels always name the same rays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from blender.optics.camera import in_frame as pinhole_in_frame
from blender.optics.camera import intrinsics
from blender.optics.camera import project as pinhole_project

REMAP_MARGIN = 2  # render pixels around the undistorted footprint (bilinear support and rounding)
MAX_FRAME_FACTOR = 4.0  # the render frame may be at most this many times the image on a side
SCAN_RADIUS = 10.0  # normalized radius (about 84 degrees off axis) up to which folds are searched


class LensError(ValueError):
    """A calibration or distortion that cannot be rendered; the message names the params key."""


def opencv_to_continuous(K_cv) -> np.ndarray:
    K = np.array(K_cv, dtype=float)
    K[0, 2] += 0.5
    K[1, 2] += 0.5
    return K


def continuous_to_opencv(K) -> np.ndarray:
    K_cv = np.array(K, dtype=float)
    K_cv[0, 2] -= 0.5
    K_cv[1, 2] -= 0.5
    return K_cv


def distort(model: str, coeffs, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distorted normalized coordinates of undistorted ones (arrays of any shape)."""
    return _distort_jacobian(model, coeffs, x, y, jacobian=False)[:2]


def _distort_jacobian(model: str, coeffs, x, y, jacobian: bool = True):
    """(x_d, y_d) and, with `jacobian`, d(x_d, y_d)/d(x, y) as (a, b, c, d) = [[a, b], [c, d]]."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if model == "opencv":
        k = list(coeffs) + [0.0] * (8 - len(coeffs))
        k1, k2, p1, p2, k3, k4, k5, k6 = k
        r2 = x * x + y * y
        num = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
        den = 1 + r2 * (k4 + r2 * (k5 + r2 * k6))
        radial = num / den
        xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        if not jacobian:
            return xd, yd, None
        dnum = k1 + r2 * (2 * k2 + 3 * k3 * r2)
        dden = k4 + r2 * (2 * k5 + 3 * k6 * r2)
        drad = (dnum * den - num * dden) / (den * den)  # d radial / d r2
        a = radial + 2 * x * x * drad + 2 * p1 * y + 6 * p2 * x
        b = 2 * x * y * drad + 2 * p1 * x + 2 * p2 * y
        c = 2 * x * y * drad + 2 * p1 * x + 2 * p2 * y
        d = radial + 2 * y * y * drad + 6 * p1 * y + 2 * p2 * x
        return xd, yd, (a, b, c, d)
    k1, k2, k3, k4 = coeffs
    r = np.hypot(x, y)
    theta = np.arctan(r)
    t2 = theta * theta
    theta_d = theta * (1 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4))))
    small = r < 1e-9
    rs = np.where(small, 1.0, r)
    s = np.where(small, 1.0 + 0 * r, theta_d / rs)  # x_d = s x; s -> 1 on the axis
    xd, yd = s * x, s * y
    if not jacobian:
        return xd, yd, None
    dtheta_d = 1 + t2 * (3 * k1 + t2 * (5 * k2 + t2 * (7 * k3 + t2 * 9 * k4)))
    ds_dr = (dtheta_d / (1 + rs * rs) * rs - theta_d) / (rs * rs)
    g = np.where(small, 0.0, ds_dr / rs)  # J = s I + g [x y]^T [x y]
    return xd, yd, (s + g * x * x, g * x * y, g * x * y, s + g * y * y)


def jacobian_det(model: str, coeffs, x, y) -> np.ndarray:
    a, b, c, d = _distort_jacobian(model, coeffs, x, y)[2]
    return a * d - b * c


def undistort(model: str, coeffs, xd, yd, iterations: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Undistorted normalized coordinates by Newton's method from (x_d, y_d); also `ok` where the
    residual fell below 1e-12 (elsewhere the point has no preimage near the axis)."""
    xd, yd = np.asarray(xd, dtype=float), np.asarray(yd, dtype=float)
    x, y = xd.copy(), yd.copy()
    with np.errstate(all="ignore"):
        for _ in range(iterations):
            fx, fy, (a, b, c, d) = _distort_jacobian(model, coeffs, x, y)
            ex, ey = fx - xd, fy - yd
            if not (np.abs(ex).max(initial=0.0) > 1e-14 or np.abs(ey).max(initial=0.0) > 1e-14):
                break  # converged everywhere (NaN, where a point diverged, keeps iterating)
            det = a * d - b * c
            x, y = x - (d * ex - b * ey) / det, y - (a * ey - c * ex) / det
        fx, fy = distort(model, coeffs, x, y)
        ok = np.isfinite(x) & np.isfinite(y) & (np.hypot(fx - xd, fy - yd) < 1e-12)
    return x, y, ok


def fold_radius(model: str, coeffs) -> float:
    """Normalized radius of the disc about the axis where the lens map does not fold over (its
    Jacobian stays positive); inf when it does not fold up to SCAN_RADIUS. The image shows only rays
    inside it."""
    r = np.linspace(0, SCAN_RADIUS, 4001)[1:]
    a = np.linspace(0, 2 * np.pi, 73)[:-1]
    x, y = np.outer(r, np.cos(a)), np.outer(r, np.sin(a))
    with np.errstate(all="ignore"):
        bad = ~(jacobian_det(model, coeffs, x, y) > 0).all(axis=1)
    return float(r[np.argmax(bad)]) if bad.any() else math.inf


@dataclass(frozen=True)
class Lens:
    """The image's camera: K (continuous pixels), size, and distortion (None: an ideal pinhole)."""

    K: np.ndarray
    width: int
    height: int
    model: str | None = None
    coeffs: tuple[float, ...] = ()
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def distorted(self) -> bool:
        return self.model is not None

    @property
    def resampled(self) -> bool:
        """Whether the image is resampled from a render frame: with distortion, or with non-square
        pixels (Blender renders square ones; its pixel aspect breaks the multilayer EXR writer)."""
        return self.distorted or self.K[0, 0] != self.K[1, 1]

    def project(self, world_to_cam_cv: np.ndarray, points_world) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nx3 world points to (Nx2 continuous pixels, N depths, N in-frame flags)."""
        if not self.distorted:
            uv, z = pinhole_project(self.K, world_to_cam_cv, points_world)
            return uv, z, pinhole_in_frame(uv, z, self.width, self.height)
        p = np.asarray(points_world, dtype=float).reshape(-1, 3)
        cam = p @ world_to_cam_cv[:3, :3].T + world_to_cam_cv[:3, 3]
        z = cam[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            x, y = cam[:, 0] / z, cam[:, 1] / z
            xd, yd = distort(self.model, self.coeffs, x, y)
            uv = np.stack([self.K[0, 0] * xd + self.K[0, 2], self.K[1, 1] * yd + self.K[1, 2]], axis=1)
            on_branch = np.hypot(x, y) < self.fold_radius()
        return uv, z, pinhole_in_frame(uv, z, self.width, self.height) & on_branch

    def fold_radius(self) -> float:
        if "fold" not in self._cache:
            self._cache["fold"] = fold_radius(self.model, self.coeffs)
        return self._cache["fold"]

    def render_frame(self) -> tuple[np.ndarray, int, int]:
        """(K, width, height) of the square-pixel pinhole frame Blender renders: the image itself for a
        pinhole with square pixels; else the image's undistorted footprint plus a margin, at
        max(fx, fy) pixels per unit in both directions (no axis loses resolution)."""
        if not self.resampled:
            return self.K, self.width, self.height
        if "frame" not in self._cache:
            self._cache["frame"] = self._render_frame()
        return self._cache["frame"]

    def _undistort_pixels(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normalized undistorted rays of continuous pixel positions; every one must exist."""
        K = self.K
        xd, yd = (u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1]
        if not self.distorted:
            return xd, yd
        x, y, ok = undistort(self.model, self.coeffs, xd, yd)
        ok &= np.hypot(x, y) < self.fold_radius()
        if not ok.all():
            i = int(np.argmin(ok.ravel()))
            raise LensError(
                f"render.camera.distortion: the {self.model} model {list(self.coeffs)} folds over inside the "
                f"{self.width}x{self.height} image (no ray reaches pixel ({u.ravel()[i]:.1f}, {v.ravel()[i]:.1f})); "
                "check the coefficients and that the calibration's size matches"
            )
        return x, y

    def _render_frame(self) -> tuple[np.ndarray, int, int]:
        W, H = self.width, self.height
        edge_u = np.linspace(0, W, 4 * W + 1)
        edge_v = np.linspace(0, H, 4 * H + 1)
        u = np.concatenate([edge_u, edge_u, np.zeros_like(edge_v), np.full_like(edge_v, W)])
        v = np.concatenate([np.zeros_like(edge_u), np.full_like(edge_u, H), edge_v, edge_v])
        x, y = self._undistort_pixels(u, v)
        f = max(self.K[0, 0], self.K[1, 1])
        m = REMAP_MARGIN
        width = int(np.ceil(f * (x.max() - x.min()) + 2 * m))
        height = int(np.ceil(f * (y.max() - y.min()) + 2 * m))
        if width > MAX_FRAME_FACTOR * W or height > MAX_FRAME_FACTOR * H:
            raise LensError(
                f"render.camera.distortion: the undistorted footprint of the {W}x{H} image needs a {width}x{height} "
                f"pinhole render (more than {MAX_FRAME_FACTOR:g}x the image on a side); this lens is too wide to "
                "render through a pinhole frame"
            )
        K = np.array([[f, 0.0, m - f * x.min()], [0.0, f, m - f * y.min()], [0.0, 0.0, 1.0]])
        return K, width, height

    def _remap_tables(self):
        """Per output pixel: the 4 bilinear source indices and weights, and the nearest source index,
        into the flattened render frame."""
        if "remap" not in self._cache:
            K_r, Wr, Hr = self.render_frame()
            v, u = np.mgrid[0 : self.height, 0 : self.width] + 0.5
            x, y = self._undistort_pixels(u, v)
            qx, qy = K_r[0, 0] * x + K_r[0, 2], K_r[1, 1] * y + K_r[1, 2]  # continuous render pixels
            cx, cy = qx - 0.5, qy - 0.5  # in units of pixel-centre indices
            x0, y0 = np.floor(cx).astype(np.int64), np.floor(cy).astype(np.int64)
            tx, ty = (cx - x0).astype(np.float32), (cy - y0).astype(np.float32)
            x0, y0 = np.clip(x0, 0, Wr - 2), np.clip(y0, 0, Hr - 2)
            idx = [(y0 + dy) * Wr + (x0 + dx) for dy in (0, 1) for dx in (0, 1)]
            w = [(1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty]
            nearest = np.clip(np.floor(qy).astype(np.int64), 0, Hr - 1) * Wr + np.clip(
                np.floor(qx).astype(np.int64), 0, Wr - 1
            )
            self._cache["remap"] = (idx, w, nearest)
        return self._cache["remap"]

    def remap(self, image: np.ndarray, nearest: bool = False) -> np.ndarray:
        """An image of the render frame (Hr x Wr [x C], top row first) resampled to the distorted
        output (H x W [x C]): bilinear, or nearest for labels such as the object index."""
        if not self.resampled:
            return image
        idx, w, near = self._remap_tables()
        flat = image.reshape(image.shape[0] * image.shape[1], *image.shape[2:])
        if nearest:
            return flat[near]
        extra = (None,) * (image.ndim - 2)
        out = sum(flat[i] * wi[(...,) + extra] for i, wi in zip(idx, w))
        return out.astype(image.dtype, copy=False)


def blender_camera(K: np.ndarray, width: int, height: int, sensor_mm: float = 36.0) -> dict:
    """Blender camera values that render the square-pixel pinhole K at width x height (sensor fit
    HORIZONTAL): f = lens / sensor * W, cx = W/2 - shift_x W, cy = H/2 + shift_y W."""
    if K[0, 0] != K[1, 1]:
        raise ValueError(f"blender_camera: expected square pixels (fx == fy), got {K[0, 0]} and {K[1, 1]}")
    return {
        "lens_mm": K[0, 0] * sensor_mm / width,
        "sensor_mm": sensor_mm,
        "shift_x": (width / 2 - K[0, 2]) / width,
        "shift_y": (K[1, 2] - height / 2) / width,
    }


def from_sample(sample: dict) -> Lens | None:
    """The image's lens from a sampled scene; None for today's camera (a centred square-pixel
    pinhole from focal_mm and sensor_mm), which keeps its own code path and bytes."""
    cam = sample["camera"]
    if "K" not in cam and "distortion" not in cam:
        return None
    K = (
        np.array(cam["K"], dtype=float)
        if "K" in cam
        else intrinsics(cam["focal_mm"], cam["sensor_mm"], sample["width"], sample["height"])
    )
    dist = cam.get("distortion")
    return _cached_lens(
        K.tobytes(),
        sample["width"],
        sample["height"],
        dist["model"] if dist else None,
        tuple(dist["coeffs"]) if dist else (),
    )


_LENSES: dict = {}


def _cached_lens(K_bytes: bytes, width: int, height: int, model: str | None, coeffs: tuple) -> Lens:
    """One Lens (and its remap tables) per distinct camera in a process: renders reuse them."""
    key = (K_bytes, width, height, model, coeffs)
    if key not in _LENSES:
        if len(_LENSES) > 8:
            _LENSES.clear()
        _LENSES[key] = Lens(np.frombuffer(K_bytes).reshape(3, 3).copy(), width, height, model, coeffs)
    return _LENSES[key]
