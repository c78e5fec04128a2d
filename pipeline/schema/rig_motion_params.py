"""Schema of a rig that moves: per-image bone rotations, poses from actions, shape keys."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pipeline.schema.common import Range, Strict

AXES = ("x", "y", "z")
MAX_DEGREES = 360.0


class BoneRange(Strict):
    """Rotation of one pose bone per image: Euler degrees per axis, each drawn uniformly.

    The angles are the bone's rotation values as Blender's pose panel shows them (about the bone's
    own rest axes: y runs head to tail); with `pose_actions` they turn the bone further from the
    action's pose. Axes left out stay at 0.
    """

    x: Range | None = Field(None, description="degrees about the bone's x axis; null: not rotated")
    y: Range | None = Field(None, description="degrees about the bone's y axis (along the bone); null: not rotated")
    z: Range | None = Field(None, description="degrees about the bone's z axis; null: not rotated")
    order: Literal["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"] = Field(
        "XYZ", description="Euler order, as Blender's rotation mode (XYZ: about x first, then y, then z)"
    )

    @model_validator(mode="after")
    def _axes(self):
        given = [a for a in AXES if getattr(self, a) is not None]
        if not given:
            raise ValueError("expected a range on at least one of x, y, z (degrees)")
        for a in given:
            r = getattr(self, a)
            if max(abs(r.min), abs(r.max)) > MAX_DEGREES:
                raise ValueError(f"{a}: expected degrees within [-{MAX_DEGREES:g}, {MAX_DEGREES:g}], got {r.as_list()}")
        return self


class PoseActions(Strict):
    """Poses stored as actions in the .blend: each image takes one, or a blend of two."""

    names: list[str] = Field(min_length=1, description="actions of the .blend, each a pose of the armature")
    blend: bool = Field(
        True, description="true: two actions drawn per image, blended by a weight drawn in [0, 1]; false: one action"
    )
    frame: float | None = Field(None, description="frame at which each action is read; null: its first frame")

    @model_validator(mode="after")
    def _unique(self):
        dup = sorted({n for n in self.names if self.names.count(n) > 1})
        if dup:
            raise ValueError(f"names: {dup} listed twice")
        return self
