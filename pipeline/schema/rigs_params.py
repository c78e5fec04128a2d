"""Schema of an object rig: a mesh, named keypoints, skeleton, flip pairs and randomization."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from common.rig_model import resolve_flip_pairs
from pipeline.schema.appearance_params import Decal, MaterialRanges, MaterialSpec
from pipeline.schema.common import MESH_SUFFIXES, IntRange, Range, Strict
from pipeline.schema.rig_motion_params import BoneRange, PoseActions
from pipeline.schema.rig_symmetry_params import Symmetry

__all__ = ["MESH_SUFFIXES", "Decal", "MaterialRanges", "MaterialSpec", "Rig"]

SOURCES = ("position", "vertex", "vertex_group", "empty", "bone")


class BoxMesh(Strict):
    """A cuboid centred on its origin; vertex groups name its 8 corners (docs/guide/rigs.md)."""

    type: Literal["box"] = Field(description="selects this mesh kind")
    size: tuple[float, float, float] = Field((0.12, 0.08, 0.05), description="metres along x, y, z")
    bevel: float = Field(0.0, ge=0.0, description="metres; rounded edges for realism")


class GlueTubeMesh(Strict):
    """A squeezed tube along +x: crimped seal at the tail (-x), shoulder and cap at the head (+x).

    Vertex groups `head` (centre of the cap's end face) and `tail` (middle of the crimp edge), and
    on the axis `cap_middle` (halfway along the cap) and `crimp_middle` (halfway across the crimp).
    Material slots: `body`, `label`, `cap`.
    """

    type: Literal["glue_tube"] = Field(description="selects this mesh kind")
    length: float = Field(0.095, gt=0, description="metres, tail edge to cap tip")
    radius: float = Field(0.011, gt=0, description="metres, round part of the body")
    cap_length: float = Field(0.017, gt=0, description="metres, along x")
    cap_radius: float = Field(0.0075, gt=0, description="metres")
    squeeze: float = Field(0.25, ge=0, le=0.9, description="how flattened the body is toward the tail (0: round)")


class FileMesh(Strict):
    """A mesh file; `object` picks one object of a `.blend` or multi-object file.

    The file's own axes are kept; `up_axis` and `rotation_deg` turn the mesh into the rig frame
    (blender/rigging/mesh_turn.py) before its keypoints are read. `position`, bones, empties and symmetry
    stay in file coordinates and turn with it; vertex indices are unchanged. Decals and wear are
    placed in the rig frame (after the turn).
    """

    type: Literal["file"] = Field(description="selects this mesh kind")
    path: Path = Field(description="the mesh file, relative to params.yaml's folder: " + " ".join(MESH_SUFFIXES))
    unit_scale: float = Field(1.0, gt=0, description="metres per file unit")
    object: str | None = Field(None, description="mesh object to use in the file; null: the file must hold exactly one")
    up_axis: Literal["+x", "-x", "+y", "-y", "+z", "-z"] = Field(
        "+z",
        description="the file axis that points up in the world (+y in most OBJ exports); `rig2kp mesh-info` guesses it",
    )
    rotation_deg: tuple[float, float, float] | None = Field(
        None, description="degrees: XYZ Euler turn about the rig's axes, after up_axis; null: none"
    )

    @model_validator(mode="after")
    def _suffix(self):
        if self.path.suffix.lower() not in MESH_SUFFIXES:
            raise ValueError(f"path {self.path}: expected one of {', '.join(MESH_SUFFIXES)}")
        return self


Mesh = Annotated[BoxMesh | GlueTubeMesh | FileMesh, Field(discriminator="type")]


class Keypoint(Strict):
    """One named keypoint; exactly one of position / vertex / vertex_group / empty / bone locates it."""

    name: str = Field(min_length=1, description="keypoint name, unique within the rig (`left_`/`right_` pair up)")
    position: tuple[float, float, float] | None = Field(None, description="object space, mesh units")
    vertex: int | None = Field(None, ge=0, description="index into the evaluated mesh")
    vertex_group: str | None = Field(None, description="weighted centroid of the group's vertices")
    empty: str | None = Field(None, description="an empty object in a .blend")
    bone: str | None = Field(None, description="a bone of the mesh's armature (head, or `bone_end`); follows the pose")
    bone_end: Literal["head", "tail"] | None = Field(None, description="with `bone`: which end; null: head")
    sigma: float = Field(0.05, gt=0, description="COCO OKS sigma (fraction of the object's scale)")
    tolerance: float = Field(0.004, ge=0, description="metres: occluders closer than this don't hide it")

    @model_validator(mode="after")
    def _one_source(self):
        given = [k for k in SOURCES if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"keypoint {self.name!r}: expected exactly one of position, vertex, vertex_group, "
                f"empty, bone; got {given or 'none'}"
            )
        if self.bone_end is not None and self.bone is None:
            raise ValueError(f"keypoint {self.name!r}: bone_end needs bone")
        return self


class Pose(Strict):
    """`free`: uniform random rotation. `upright`: random yaw about world z, tilt up to tilt_deg."""

    mode: Literal["free", "upright"] = Field("free", description="free: any rotation; upright: yaw + small tilt")
    tilt_deg: float = Field(20.0, ge=0, le=180, description="degrees: the most an upright object tilts off world z")


class RigPhysics(Strict):
    """How a rig's instances collide and slide when `render.placement.mode` is `drop`."""

    collision: Literal["convex_hull", "mesh"] = Field(
        "convex_hull", description="collision shape: convex_hull (fast, robust) or mesh (concave objects: bowls, rings)"
    )
    friction: float = Field(0.6, ge=0, le=10, description="Bullet friction coefficient")
    restitution: float = Field(0.1, ge=0, le=1, description="bounciness, 0..1")


class Rig(Strict):
    """One object: a mesh, its named keypoints and how it varies between images; one COCO category."""

    mesh: Mesh = Field(description="the object's shape: a procedural mesh or a file, chosen by `type`")
    keypoints: list[Keypoint] = Field(min_length=1, description="named keypoints, in COCO order")
    skeleton: list[tuple[str, str]] = Field([], description="pairs of keypoint names joined in drawings")
    flip_pairs: list[tuple[str, str]] | None = Field(
        None, description="left/right keypoint names swapped by horizontal flips; null: from left_/right_ names"
    )
    instances: IntRange = Field(IntRange(min=1, max=1), description="how many of this object per image")
    scale: Range = Field(Range(min=1.0, max=1.0), description="uniform scale factor")
    pose: Pose = Field(Pose(), description="how the object is rotated")
    materials: dict[str, MaterialSpec] = Field(
        {},
        description='material slot name ("*" for all) -> replace (HSV ranges), keep (the file\'s own) or jitter; '
        "a slot left out keeps the file's material (and vertex colours), or the blank grey of a bare mesh",
    )
    decals: list[Decal] = Field([], description="images printed on the object (labels, logos), placed per image")
    physics: RigPhysics = Field(RigPhysics(), description="collision shape and contact, for render.placement.mode drop")
    supercategory: str = Field("object", description="COCO category's supercategory")
    pose_bones: dict[str, BoneRange] = Field(
        {}, description="bone name -> Euler degree ranges drawn per image (mesh files with an armature)"
    )
    pose_actions: PoseActions | None = Field(None, description="poses from the file's actions, drawn per image")
    shape_keys: dict[str, Range] = Field({}, description="shape key name -> value range drawn per image")
    symmetry: Symmetry | None = Field(None, description="turns under which the object looks the same; null: none")

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
        if self.mesh.type != "file":
            moving = [k for k in ("pose_bones", "pose_actions", "shape_keys") if getattr(self, k)]
            moving += [f"keypoints ({k.name}).bone" for k in self.keypoints if k.bone is not None]
            if moving:
                raise ValueError(
                    f"{', '.join(moving)}: a built-in {self.mesh.type} mesh has no armature or shape "
                    "keys; use a mesh file (.blend, .glb) that has them"
                )
        return self

    def articulated(self) -> bool:
        """Whether the rig's pose or shape changes per image (each instance then has its own armature)."""
        return bool(self.pose_bones or self.pose_actions or self.shape_keys)

    def spec(self) -> dict:
        """The rig as JSON for the renderer; keys of unused features are left out, so the spec of a
        rig that uses none of them is what it was before they existed."""
        d = self.model_dump(mode="json")
        for key in ("pose_bones", "pose_actions", "shape_keys", "symmetry"):
            if not d[key]:
                del d[key]
        mesh = d["mesh"]
        if mesh.get("up_axis") == "+z":
            del mesh["up_axis"]
        if "rotation_deg" in mesh and mesh["rotation_deg"] is None:
            del mesh["rotation_deg"]
        for kp in d["keypoints"]:
            for key in ("bone", "bone_end"):
                if kp[key] is None:
                    del kp[key]
        return d

    def resolved_flip_pairs(self) -> list[tuple[str, str]]:
        """Explicit pairs, or every `left_X` with a matching `right_X` (common/rig_model.py's rule)."""
        return resolve_flip_pairs(self.flip_pairs, [k.name for k in self.keypoints])
