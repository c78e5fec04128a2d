"""Backgrounds composited behind a transparent render (pure numpy, linear RGB float32 HxWx3).

Drawn outside Blender so they cost no render time and are exactly reproducible from a seed.
"""

from __future__ import annotations

import numpy as np


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _value_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth noise in [0, 1]: a random grid of `cells` across, bilinearly upsampled."""
    gh, gw = max(2, cells * h // max(h, w) + 2), max(2, cells * w // max(h, w) + 2)
    grid = rng.uniform(size=(gh, gw))
    ys = np.linspace(0, gh - 1.001, h)
    xs = np.linspace(0, gw - 1.001, w)
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    fy, fx = fy * fy * (3 - 2 * fy), fx * fx * (3 - 2 * fx)
    a, b = grid[y0][:, x0], grid[y0][:, x0 + 1]
    c, d = grid[y0 + 1][:, x0], grid[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur (edges clamped); numpy only, as Blender ships no scipy."""
    r = max(1, int(3 * sigma + 0.5))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    pad = np.pad(img, r, mode="edge")
    rows = sum(k[i] * pad[:, i : i + img.shape[1]] for i in range(2 * r + 1))
    return sum(k[i] * rows[i : i + img.shape[0]] for i in range(2 * r + 1)).astype(np.float32)


def procedural(
    pattern: str, seed: int, height: int, width: int, saturation: float = 1.0, brightness: float | None = None
) -> np.ndarray:
    """A textured background: noise, gradient, checker, stripes, blobs, wood grain or granite.

    `saturation` < 1 pulls the colours toward their grey: real desks and floors are rarely vivid.
    `brightness` sets the mean sRGB level (0 black, 1 white): drawn colours average about 0.5, and
    white desks, paper and bright floors would otherwise never appear.
    """
    rng = np.random.default_rng(seed)
    colors = rng.uniform(0.05, 0.95, size=(4, 3))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    yy, xx = yy / max(height, width), xx / max(height, width)
    angle = rng.uniform(0, np.pi)
    along = xx * np.cos(angle) + yy * np.sin(angle)
    if pattern == "noise":
        t = sum(_value_noise(rng, height, width, c) * wt for c, wt in ((4, 0.5), (12, 0.3), (40, 0.2)))
    elif pattern == "gradient":
        t = (along - along.min()) / max(float(np.ptp(along)), 1e-6)
    elif pattern == "checker":
        n = rng.uniform(4, 20)
        across = -xx * np.sin(angle) + yy * np.cos(angle)
        t = ((np.floor(along * n) + np.floor(across * n)) % 2).astype(np.float32)
    elif pattern == "stripes":
        t = 0.5 + 0.5 * np.sin(along * 2 * np.pi * rng.uniform(3, 25))
    elif pattern == "wood":  # a desk: warped grain lines in browns
        colors[:2] = rng.uniform(0.25, 0.75) * np.array([[1.0, 0.72, 0.45], [0.8, 0.55, 0.3]]) * rng.uniform(0.8, 1.2)
        warp = _value_noise(rng, height, width, 6) * rng.uniform(0.5, 2.0)
        t = 0.5 + 0.5 * np.sin((along + 0.08 * warp) * 2 * np.pi * rng.uniform(8, 30))
        t = 0.6 * t + 0.4 * _value_noise(rng, height, width, 20)
    elif pattern == "blobs":
        t = np.zeros((height, width), np.float32)
        for _ in range(6):
            cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.3)
            t = np.maximum(t, np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)))
    elif pattern == "granite":  # a speckled worktop: grey-ish base, dense dark and light grains
        base = rng.uniform(0.35, 0.75)
        colors[:2] = base * (1 + rng.uniform(-0.08, 0.08, size=(2, 3))) * np.array([[1.0], [0.45]])
        grains = rng.uniform(size=(height, width)).astype(np.float32)
        size = rng.uniform(0.4, 1.5)  # grain radius in pixels, roughly
        t = _blur(grains, size)
        t = (t - t.mean()) / max(float(t.std()), 1e-6)
        t = np.clip(0.5 + 0.35 * t, 0, 1) + 0.15 * (_value_noise(rng, height, width, 8) - 0.5)
    else:
        raise ValueError(f"unknown background pattern {pattern!r}")
    t = t[..., None]
    img = colors[0] * (1 - t) + colors[1] * t
    if saturation != 1.0:
        grey = img.mean(axis=-1, keepdims=True)
        img = grey + saturation * (img - grey)
    img = img + (_value_noise(rng, height, width, 64)[..., None] - 0.5) * rng.uniform(0, 0.15)
    img = np.clip(img, 0, 1)
    if brightness is not None:
        img = with_mean(img, brightness)
    return _srgb_to_linear(img)


def with_mean(img: np.ndarray, level: float) -> np.ndarray:
    """`img` (0..1) moved to mean `level` with its texture kept: scaled toward black to darken,
    toward white to brighten. Both maps are affine, so the mean lands exactly and nothing clips."""
    mean = float(img.mean())
    if level <= mean:
        return img * (level / max(mean, 1e-6))
    return 1.0 - (1.0 - img) * ((1.0 - level) / max(1.0 - mean, 1e-6))


def photo(pixels_srgb: np.ndarray, seed: int, height: int, width: int) -> np.ndarray:
    """A random crop of a photo (HxWx3 sRGB in 0..1, top row first) resized to the frame."""
    rng = np.random.default_rng(seed)
    ph, pw = pixels_srgb.shape[:2]
    aspect = width / height
    scale = rng.uniform(0.5, 1.0)
    ch = int(min(ph, pw / aspect) * scale)
    cw = int(ch * aspect)
    y0, x0 = rng.integers(0, ph - ch + 1), rng.integers(0, pw - cw + 1)
    ys = (y0 + (np.arange(height) + 0.5) * ch / height).astype(int)
    xs = (x0 + (np.arange(width) + 0.5) * cw / width).astype(int)
    crop = pixels_srgb[ys][:, xs, :3]
    if rng.uniform() < 0.5:
        crop = crop[:, ::-1]
    return _srgb_to_linear(np.clip(crop, 0, 1))


def composite(rgba_premultiplied: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Linear 'over': render (premultiplied alpha, as Cycles writes it) over the background."""
    alpha = rgba_premultiplied[..., 3:4]
    return rgba_premultiplied[..., :3] + (1.0 - alpha) * background
