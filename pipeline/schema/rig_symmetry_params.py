"""Schema of a rig's symmetry: the rotations, mirror planes or keypoint permutations under which
the object looks the same (docs/guide/symmetry.md)."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from pipeline.schema.common import Strict

AXIS_NAMES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}


def _vector(value):
    """`x`, `y`, `z` or [x, y, z] (not all zero) as a 3-tuple."""
    if isinstance(value, str):
        if value.lower() not in AXIS_NAMES:
            raise ValueError(f"expected x, y, z or [x, y, z], got {value!r}")
        return AXIS_NAMES[value.lower()]
    if isinstance(value, (list, tuple)) and len(value) == 3 and all(isinstance(v, (int, float)) for v in value):
        if not any(value):
            raise ValueError("expected a direction, got [0, 0, 0]")
        return tuple(float(v) for v in value)
    raise ValueError(f"expected x, y, z or [x, y, z], got {value!r}")


class Rotation(Strict):
    """An n-fold rotation: turns by 360/n degrees about `axis` through `symmetry.center`."""

    axis: tuple[float, float, float] = Field(description="x, y, z or [x, y, z]: direction in the mesh's object space")
    order: int = Field(ge=2, le=360, description="n: the object looks the same after a turn of 360/n degrees")

    @field_validator("axis", mode="before")
    @classmethod
    def _axis(cls, value):
        return _vector(value)


class Symmetry(Strict):
    """Turns under which the object looks the same; labels are then written in a canonical order.

    The generators (rotations, mirror planes, permutations) are closed into a group of keypoint
    permutations in Blender's check pass. A mirror plane counts through the rotations it composes
    to with the others (a mirror image is never a view of the same object).
    """

    rotations: list[Rotation] = Field([], description="n-fold rotations, e.g. [{axis: z, order: 2}]")
    mirrors: list[tuple[float, float, float]] = Field(
        [], description="mirror planes through `center`, by their normals (x, y, z or [x, y, z])"
    )
    permutations: list[dict[str, str]] = Field(
        [],
        description="explicit relabellings {keypoint: keypoint it goes to}; unlisted keypoints stay; for rigs whose "
        "keypoints coincide at rest, or a symmetry no rotation expresses",
    )
    center: tuple[float, float, float] = Field(
        (0.0, 0.0, 0.0), description="the point axes and planes pass through: object space, mesh units (as position)"
    )
    tolerance: float = Field(
        1e-3,
        gt=0,
        le=0.1,
        description="how close a turned keypoint must land on another, as a fraction of the "
        "keypoints' largest distance from center",
    )

    @field_validator("mirrors", mode="before")
    @classmethod
    def _mirrors(cls, value):
        return [_vector(v) for v in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _something(self):
        if not (self.rotations or self.mirrors or self.permutations):
            raise ValueError("expected at least one of rotations, mirrors, permutations")
        return self
