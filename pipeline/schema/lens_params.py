"""Schema of a calibrated camera: OpenCV intrinsics and lens distortion (`render.camera`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from pipeline.schema.common import Strict

INLINE = ("fx", "fy", "cx", "cy", "width", "height")
COEFFICIENTS = {"opencv": (4, 5, 8), "fisheye": (4,)}  # counts each model takes (blender/optics/lens.py)


def coefficient_problem(model: str, coeffs) -> str | None:
    """What is wrong with a distortion's coefficients, or None."""
    counts = COEFFICIENTS[model]
    if len(coeffs) not in counts:
        names = "k1, k2, p1, p2[, k3[, k4, k5, k6]]" if model == "opencv" else "k1, k2, k3, k4"
        return (
            f"coeffs: expected {' or '.join(map(str, counts))} coefficients for model {model} ({names}), "
            f"got {len(coeffs)}"
        )
    if not all(math.isfinite(c) for c in coeffs):
        return f"coeffs: expected finite numbers, got {list(coeffs)}"
    return None


class Intrinsics(Strict):
    """A calibrated pinhole, as OpenCV writes it (pixel centres at integers: a centred cx is (W - 1) / 2).

    Either `file` or all six numbers. The image size is the calibration's times `scale`; the
    camera poses are still drawn from `render.camera` (distance, elevation, azimuth, roll).
    """

    file: Path | None = Field(
        None,
        description="calibration file, relative to params.yaml: OpenCV FileStorage YAML/JSON "
        "(camera_matrix, image_width, image_height, as cv2.FileStorage or ROS camera_info write them) or "
        "plain JSON ({fx, fy, cx, cy, width, height} or {K, width, height})",
    )
    fx: float | None = Field(None, gt=0, description="focal length along x, pixels")
    fy: float | None = Field(None, gt=0, description="focal length along y, pixels (fx != fy: non-square pixels)")
    cx: float | None = Field(None, description="principal point x, pixels, OpenCV convention")
    cy: float | None = Field(None, description="principal point y, pixels, OpenCV convention")
    width: int | None = Field(None, ge=8, description="calibrated image width, pixels")
    height: int | None = Field(None, ge=8, description="calibrated image height, pixels")
    scale: float = Field(
        1.0, gt=0, le=4, description="render at this share of the calibrated size (e.g. 0.25); K scales with it"
    )

    @model_validator(mode="after")
    def _one_source(self):
        given = [k for k in INLINE if getattr(self, k) is not None]
        if self.file is not None and given:
            raise ValueError(f"expected either file or {', '.join(INLINE)}; got file and {', '.join(given)}")
        if self.file is None and len(given) != len(INLINE):
            missing = [k for k in INLINE if k not in given]
            raise ValueError(f"expected file, or all of {', '.join(INLINE)}; missing {', '.join(missing)}")
        return self


class Distortion(Strict):
    """Lens distortion in OpenCV's models; images are rendered distorted and labelled exactly."""

    model: Literal["opencv", "fisheye"] = Field(
        "opencv", description="opencv: cv2.calibrateCamera's model; fisheye: cv2.fisheye's (equidistant) model"
    )
    coeffs: list[float] | None = Field(
        None, description="opencv: [k1, k2, p1, p2], [k1, k2, p1, p2, k3] or 8 with k4-k6; fisheye: [k1, k2, k3, k4]"
    )
    file: Path | None = Field(
        None,
        description="read the coefficients from this calibration file (as intrinsics.file; ROS "
        "distortion_model `equidistant` selects fisheye)",
    )

    @model_validator(mode="after")
    def _coefficients(self):
        if (self.coeffs is None) == (self.file is None):
            raise ValueError("expected exactly one of coeffs or file")
        problem = coefficient_problem(self.model, self.coeffs) if self.coeffs is not None else None
        if problem:
            raise ValueError(problem)
        return self
