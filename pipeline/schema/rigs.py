"""Schema of an object rig: a mesh, named keypoints, skeleton, flip pairs and randomization."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .common import IntRange, Range, Strict

MESH_SUFFIXES = (".obj", ".ply", ".stl", ".glb", ".gltf", ".blend")


class BoxMesh(Strict):
    """A cuboid centred on its origin; vertex groups name its 8 corners (see README)."""

    type: Literal["box"]
    size: tuple[float, float, float] = (0.12, 0.08, 0.05)  # metres along x, y, z
    bevel: float = Field(0.0, ge=0.0)  # metres; rounded edges for realism


class GlueTubeMesh(Strict):
    """A squeezed tube along +x: crimped seal at the tail (-x), shoulder and cap at the head (+x).

    Vertex groups `head` (centre of the cap's end face) and `tail` (middle of the crimp edge).
    Material slots: `body`, `label`, `cap`.
    """

    type: Literal["glue_tube"]
    length: float = Field(0.095, gt=0)  # metres, tail edge to cap tip
    radius: float = Field(0.011, gt=0)  # metres, round part of the body
    cap_length: float = Field(0.017, gt=0)
    cap_radius: float = Field(0.0075, gt=0)
    squeeze: float = Field(0.25, ge=0, le=0.9)  # how flattened the body is toward the tail


class FileMesh(Strict):
    """A mesh file; `object` picks one object of a `.blend` or multi-object file."""

    type: Literal["file"]
    path: Path
    unit_scale: float = Field(1.0, gt=0)  # metres per file unit
    object: str | None = None

    @model_validator(mode="after")
    def _suffix(self):
        if self.path.suffix.lower() not in MESH_SUFFIXES:
            raise ValueError(f"path {self.path}: expected one of {', '.join(MESH_SUFFIXES)}")
        return self


Mesh = Annotated[BoxMesh | GlueTubeMesh | FileMesh, Field(discriminator="type")]


class Keypoint(Strict):
    """One named keypoint; exactly one of position / vertex / vertex_group / empty locates it."""

    name: str = Field(min_length=1)
    position: tuple[float, float, float] | None = None  # object space, mesh units
    vertex: int | None = Field(None, ge=0)  # index into the evaluated mesh
    vertex_group: str | None = None  # weighted centroid of the group's vertices
    empty: str | None = None  # an empty object in a .blend
    sigma: float = Field(0.05, gt=0)  # COCO OKS sigma
    tolerance: float = Field(0.004, ge=0)  # metres: occluders closer than this don't hide it

    @model_validator(mode="after")
    def _one_source(self):
        given = [k for k in ("position", "vertex", "vertex_group", "empty") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"keypoint {self.name!r}: expected exactly one of position, vertex, vertex_group, "
                f"empty; got {given or 'none'}"
            )
        return self


class MaterialRanges(Strict):
    """Randomization of one material slot (HSV in 0..1, Principled BSDF parameters)."""

    hue: Range = Range(min=0.0, max=1.0)
    saturation: Range = Range(min=0.2, max=0.9)
    value: Range = Range(min=0.2, max=0.9)
    roughness: Range = Range(min=0.2, max=0.8)
    metallic: Range = Range(min=0.0, max=0.2)
    texture_strength: Range = Range(min=0.0, max=0.4)  # procedural noise mixed into base colour
    texture_scale: Range = Range(min=5.0, max=60.0)  # noise frequency, per metre


class Pose(Strict):
    """`free`: uniform random rotation. `upright`: random yaw about world z, tilt up to tilt_deg."""

    mode: Literal["free", "upright"] = "free"
    tilt_deg: float = Field(20.0, ge=0, le=180)


class Rig(Strict):
    mesh: Mesh
    keypoints: list[Keypoint] = Field(min_length=1)
    skeleton: list[tuple[str, str]] = []
    flip_pairs: list[tuple[str, str]] | None = None  # None: derived from left_/right_ names
    instances: IntRange = IntRange(min=1, max=1)  # per image
    scale: Range = Range(min=1.0, max=1.0)  # uniform scale factor
    pose: Pose = Pose()
    materials: dict[str, MaterialRanges] = {}  # slot name ("*" for all) -> ranges
    supercategory: str = "object"

    @model_validator(mode="after")
    def _names(self):
        names = [k.name for k in self.keypoints]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"keypoints: duplicate names {dup}")
        for field in ("skeleton", "flip_pairs"):
            for pair in getattr(self, field) or []:
                for n in pair:
                    if n not in names:
                        raise ValueError(f"{field}: {n!r} is not a keypoint name; expected one of {names}")
        return self

    def resolved_flip_pairs(self) -> list[tuple[str, str]]:
        """Explicit pairs, or every `left_X` with a matching `right_X`."""
        if self.flip_pairs is not None:
            return list(self.flip_pairs)
        names = {k.name for k in self.keypoints}
        return [(n, "right_" + n[5:]) for n in sorted(names) if n.startswith("left_") and "right_" + n[5:] in names]
