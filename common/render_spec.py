"""The render spec, typed: what `rig2kp render` hands to Blender (spec.json), as frozen dataclasses.

The pipeline builds spec.json from the validated params (pipeline/rendering/blender_runner.py) and
checks that it reads back into these types unchanged; blender/render.py reads it once with
`load_spec`, and the Blender side reads attributes. Fields mirror pipeline/schema/ in its key order
(so `to_dict` gives spec.json's bytes); ranges are [min, max], lists are tuples. A key marked
`optional_key` is left out of the JSON at its default, as the spec did before the feature existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from common.typed_json import from_dict, optional_key

Axis = Literal["+x", "-x", "+y", "-y", "+z", "-z"]
Vec3 = tuple[float, float, float]


@dataclass(frozen=True, kw_only=True)
class Range:
    """A closed interval drawn uniformly."""

    min: float
    max: float


@dataclass(frozen=True, kw_only=True)
class ReplaceMaterial:
    """`replace`: a procedural material drawn per image (HSV 0..1, PBR values)."""

    mode: ClassVar[str] = "replace"  # the schema leaves it out of the JSON
    hue: Range
    saturation: Range
    value: Range
    roughness: Range
    metallic: Range
    texture_strength: Range
    texture_scale: Range
    pictograms: bool


@dataclass(frozen=True, kw_only=True)
class KeepMaterial:
    mode: Literal["keep"]


@dataclass(frozen=True, kw_only=True)
class Wear:
    dust: Range
    smudges: Range
    scratches: Range
    size: Range  # metres


@dataclass(frozen=True, kw_only=True)
class JitterMaterial:
    mode: Literal["jitter"]
    hue_shift: Range
    saturation_scale: Range
    value_scale: Range
    roughness_offset: Range
    metallic_offset: Range
    specular_offset: Range
    wear: Wear | None


Material = ReplaceMaterial | KeepMaterial | JitterMaterial


@dataclass(frozen=True, kw_only=True)
class Decal:
    image: str  # absolute path
    slots: tuple[str, ...]
    projection: Literal["uv", "planar", "cylinder"]
    axis: Axis
    origin: Vec3
    radius: float | None
    u: Range
    v: Range
    width: Range
    height: Range | None
    rotation_deg: Range
    probability: float
    aspect: float  # the image's height / width


@dataclass(frozen=True, kw_only=True)
class BoxMesh:
    type: Literal["box"]
    size: Vec3
    bevel: float


@dataclass(frozen=True, kw_only=True)
class GlueTubeMesh:
    type: Literal["glue_tube"]
    length: float
    radius: float
    cap_length: float
    cap_radius: float
    squeeze: float


@dataclass(frozen=True, kw_only=True)
class FileMesh:
    type: Literal["file"]
    path: str  # absolute path
    unit_scale: float
    object: str | None
    up_axis: Axis = optional_key("+z")
    rotation_deg: Vec3 | None = optional_key(None)


@dataclass(frozen=True, kw_only=True)
class Keypoint:
    """One keypoint: exactly one of position, vertex, vertex_group, empty, bone locates it."""

    name: str
    position: Vec3 | None
    vertex: int | None
    vertex_group: str | None
    empty: str | None
    bone: str | None = optional_key(None)
    bone_end: Literal["head", "tail"] | None = optional_key(None)
    sigma: float
    tolerance: float  # metres


@dataclass(frozen=True, kw_only=True)
class Pose:
    mode: Literal["free", "upright"]
    tilt_deg: float


@dataclass(frozen=True, kw_only=True)
class RigPhysics:
    collision: Literal["convex_hull", "mesh"]
    friction: float
    restitution: float


@dataclass(frozen=True, kw_only=True)
class BoneRange:
    x: Range | None
    y: Range | None
    z: Range | None
    order: Literal["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"]


@dataclass(frozen=True, kw_only=True)
class PoseActions:
    """Poses from the file's actions: one per image, or two blended."""

    names: tuple[str, ...]
    blend: bool
    frame: float | None


@dataclass(frozen=True, kw_only=True)
class Rotation:
    """The object looks the same after a turn of 360 / order degrees about `axis`."""

    axis: Vec3  # object space, through the symmetry's centre
    order: int


@dataclass(frozen=True, kw_only=True)
class Symmetry:
    rotations: tuple[Rotation, ...]
    mirrors: tuple[Vec3, ...]
    permutations: tuple[dict[str, str], ...]
    center: Vec3
    tolerance: float


@dataclass(frozen=True, kw_only=True)
class Rig:
    mesh: BoxMesh | GlueTubeMesh | FileMesh
    keypoints: tuple[Keypoint, ...]
    skeleton: tuple[tuple[str, str], ...]
    flip_pairs: tuple[tuple[str, str], ...]  # resolved
    instances: Range
    scale: Range
    pose: Pose
    materials: dict[str, Material]  # slot name ("*": every slot) -> look
    decals: tuple[Decal, ...] = optional_key(())
    physics: RigPhysics
    supercategory: str
    pose_bones: dict[str, BoneRange] = optional_key(factory=dict)
    pose_actions: PoseActions | None = optional_key(None)
    shape_keys: dict[str, Range] = optional_key(factory=dict)
    symmetry: Symmetry | None = optional_key(None)

    def articulated(self) -> bool:
        """Whether the rig's pose or shape changes per image (each instance has its own armature)."""
        return bool(self.pose_bones or self.pose_actions or self.shape_keys)


@dataclass(frozen=True, kw_only=True)
class Intrinsics:
    """A calibrated camera; the pipeline reads a `file` into the numbers."""

    file: str | None
    fx: float | None  # pixels
    fy: float | None
    cx: float | None  # pixels, OpenCV convention
    cy: float | None
    width: int | None
    height: int | None
    scale: float


@dataclass(frozen=True, kw_only=True)
class Distortion:
    model: Literal["opencv", "fisheye"]
    coeffs: tuple[float, ...] | None
    file: str | None


@dataclass(frozen=True, kw_only=True)
class ViewRequirements:
    min_keypoints_in_frame: int | None
    min_keypoints_seen: int | None
    max_truncated: float | None
    min_visible: float | None
    rigs: tuple[str, ...] | None
    max_attempts: int
    on_failure: Literal["error", "best"]


@dataclass(frozen=True, kw_only=True)
class Camera:
    distance: Range  # metres
    elevation_deg: Range
    azimuth_deg: Range
    roll_deg: Range
    focal_mm: Range
    sensor_mm: float
    sensor_fit: Literal["width", "long_side"]
    look_jitter: float  # metres
    intrinsics: Intrinsics | None
    distortion: Distortion | None
    require: ViewRequirements | None


@dataclass(frozen=True, kw_only=True)
class Lights:
    count: Range
    types: tuple[Literal["POINT", "SPOT", "AREA", "SUN"], ...]
    energy_w: Range
    sun_strength: Range
    distance: Range  # metres
    saturation: Range
    world_strength: Range


@dataclass(frozen=True, kw_only=True)
class Background:
    hdri: float  # weights
    procedural: float
    photos: float
    photos_dir: str | None
    patterns: tuple[Literal["noise", "gradient", "checker", "stripes", "blobs", "wood", "granite"], ...]
    saturation: Range
    shadows: bool
    brightness: Range | None


@dataclass(frozen=True, kw_only=True)
class MeshDistractors:
    paths: tuple[str, ...]
    weight: float
    size: Range  # metres
    materials: Material
    files: tuple[str, ...]  # every mesh file the paths name, absolute


@dataclass(frozen=True, kw_only=True)
class Distractors:
    count: Range
    size: Range  # metres
    occluder_prob: float
    meshes: MeshDistractors | None = optional_key(None)


@dataclass(frozen=True, kw_only=True)
class Support:
    kind: Literal["plane", "tray"]
    size: tuple[float, float]  # metres
    wall_height: float
    wall_thickness: float
    material: ReplaceMaterial


@dataclass(frozen=True, kw_only=True)
class Drop:
    height: Range  # metres
    piles: bool | Range
    pile_spread: float
    support: Support
    max_steps: int
    substeps: int
    solver_iterations: int
    settle_speed: float  # m/s
    linear_damping: float
    angular_damping: float
    collision_margin: float  # metres
    retries: int


@dataclass(frozen=True, kw_only=True)
class Placement:
    mode: Literal["disc", "drop"]
    spread: float  # metres
    height: Range  # metres
    drop: Drop


@dataclass(frozen=True, kw_only=True)
class RenderSettings:
    """The `render` section."""

    num_images: int
    resolutions: tuple[tuple[int, int], ...]  # (width, height), pixels
    engine: Literal["CYCLES", "BLENDER_EEVEE"]
    device: Literal["CPU", "CUDA", "OPTIX", "HIP", "METAL", "ONEAPI"]
    samples: int
    denoise: bool
    shard_size: int
    workers: int
    threads: int
    min_visible_px: int
    camera: Camera
    lights: Lights
    background: Background
    distractors: Distractors
    placement: Placement


@dataclass(frozen=True, kw_only=True)
class RenderSpec:
    """All that decides a render's images: spec.json."""

    seed: int
    rigs: dict[str, Rig]  # in category order
    render: RenderSettings
    photos: tuple[str, ...]  # background photos, absolute paths
    params_file: str
    files: dict[str, str]  # every input file -> its SHA-256


def load_spec(data: dict) -> RenderSpec:
    """spec.json's content, typed; SpecError naming the key where it does not fit."""
    return from_dict(RenderSpec, data)
