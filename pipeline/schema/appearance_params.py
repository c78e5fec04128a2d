"""Schema of an object's look: per-slot material modes (replace, keep, jitter), decals, mesh distractors.

A material slot's entry in `rigs.<rig>.materials` is one of:
- `replace` (a map of HSV/PBR ranges, the original form; `mode: replace` may be written or left out),
- `keep` (the mesh file's own material: image textures, glTF PBR, .blend nodes, vertex colours),
- `jitter` (keep, then vary hue, saturation, value, roughness, metallic, specular and wear per image).
A bare word (`body: keep`) is short for `{mode: keep}`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag, field_validator, model_validator

from pipeline.schema.common import MESH_SUFFIXES, Range, Strict


class MaterialRanges(Strict):
    """`replace`: a procedural Principled BSDF material drawn per image (HSV in 0..1, PBR values)."""

    mode: Literal["replace"] = Field(
        "replace", exclude=True, description="replace (the default when a map gives no mode)"
    )
    hue: Range = Field(Range(min=0.0, max=1.0), description="base colour hue, 0..1")
    saturation: Range = Field(Range(min=0.2, max=0.9), description="base colour saturation, 0..1")
    value: Range = Field(Range(min=0.2, max=0.9), description="base colour brightness, 0..1")
    roughness: Range = Field(Range(min=0.2, max=0.8), description="Principled BSDF roughness, 0..1")
    metallic: Range = Field(Range(min=0.0, max=0.2), description="Principled BSDF metallic, 0..1")
    texture_strength: Range = Field(Range(min=0.0, max=0.4), description="0..1, noise mixed into base colour")
    texture_scale: Range = Field(Range(min=5.0, max=60.0), description="noise frequency, per metre")
    pictograms: bool = Field(
        False,
        description="hazard-label diamonds (white, red edge, dark mark) in a row along the mesh's x axis on its +z "
        "face, as printed on glue and paint tubes (a decal with your own image does this for any print)",
    )


class KeepMaterial(Strict):
    """`keep`: the mesh file's own material as it is (OBJ+MTL textures, glTF PBR, .blend nodes), with the
    file's vertex colours multiplied into its base colour where the material does not use them already."""

    mode: Literal["keep"] = Field(description="keep")


class Wear(Strict):
    """Procedural wear painted over the material per image, in object space: each amount runs from 0 (none,
    the material exactly as it was) to 1 (heavy: more of the surface, more strongly)."""

    dust: Range = Field(Range(min=0.0, max=0.0), description="light grey, matte specks, 0..1")
    smudges: Range = Field(Range(min=0.0, max=0.0), description="matte, slightly dark patches (fingerprints), 0..1")
    scratches: Range = Field(Range(min=0.0, max=0.0), description="thin light lines, mostly along object x, 0..1")
    size: Range = Field(
        Range(min=0.005, max=0.02),
        description="metres: the size of a smudge (dust specks are 20 times smaller, scratches about 4 times longer)",
    )

    @model_validator(mode="after")
    def _limits(self):
        for name in ("dust", "smudges", "scratches"):
            r = getattr(self, name)
            if r.min < 0 or r.max > 1:
                raise ValueError(f"{name}: expected amounts within [0, 1], got [{r.min}, {r.max}]")
        if self.size.min <= 0:
            raise ValueError(f"size: expected metres > 0, got [{self.size.min}, {self.size.max}]")
        return self


class JitterMaterial(Strict):
    """`jitter`: the file's own material (as `keep`), varied per image. Colour changes act on the linear
    base colour as Blender's Hue/Saturation/Value node does (value scales the albedo); PBR offsets are
    added and clamped to 0..1."""

    mode: Literal["jitter"] = Field(description="jitter")
    hue_shift: Range = Field(Range(min=-0.03, max=0.03), description="added to the hue; 1 is a full turn")
    saturation_scale: Range = Field(Range(min=0.85, max=1.15), description="saturation multiplied by this")
    value_scale: Range = Field(Range(min=0.8, max=1.2), description="albedo (HSV value) multiplied by this")
    roughness_offset: Range = Field(Range(min=-0.1, max=0.1), description="added to Principled roughness")
    metallic_offset: Range = Field(Range(min=0.0, max=0.0), description="added to Principled metallic")
    specular_offset: Range = Field(
        Range(min=-0.1, max=0.1), description="added to Principled specular (IOR level in Blender 4+)"
    )
    wear: Wear | None = Field(None, description="procedural dust, smudges and scratches over the material; null: none")

    @model_validator(mode="after")
    def _limits(self):
        if self.hue_shift.min < -0.5 or self.hue_shift.max > 0.5:
            raise ValueError(f"hue_shift: expected within [-0.5, 0.5], got {self.hue_shift.as_list()}")
        for name in ("saturation_scale", "value_scale"):
            if getattr(self, name).min < 0:
                raise ValueError(f"{name}: expected scales >= 0, got {getattr(self, name).as_list()}")
        for name in ("roughness_offset", "metallic_offset", "specular_offset"):
            r = getattr(self, name)
            if r.min < -1 or r.max > 1:
                raise ValueError(f"{name}: expected within [-1, 1], got [{r.min}, {r.max}]")
        return self


def _mode(value) -> str:
    if isinstance(value, dict):
        return value.get("mode", "replace")
    return getattr(value, "mode", "replace")


def _word(value):
    """`keep` is short for `{mode: keep}`."""
    return {"mode": value} if isinstance(value, str) else value


MaterialSpec = Annotated[
    Annotated[MaterialRanges, Tag("replace")]
    | Annotated[KeepMaterial, Tag("keep")]
    | Annotated[JitterMaterial, Tag("jitter")],
    Discriminator(_mode, custom_error_type="mode", custom_error_message="expected mode replace, keep or jitter"),
    BeforeValidator(_word),
]


class Decal(Strict):
    """An image printed on the object (a photo of the real label, a logo, a serial plate), placed anew per
    image within the ranges. Where the image is transparent (PNG alpha) the material shows through.

    Coordinates by `projection`: `uv`: the mesh's UV map (u, v, width, height in UV units); `planar`:
    object space seen from `axis` (metres, image right and up as seen from there); `cylinder`: around
    `axis` through `origin` (u in degrees from the next axis in x, y, z order, e.g. +y for +x; v, width
    and height in metres, width measured around at `radius`)."""

    image: Path = Field(description="the image (PNG with alpha, or JPEG), relative to params.yaml's folder")
    slots: list[str] = Field(["*"], min_length=1, description='material slots it prints on ("*": every slot)')
    projection: Literal["uv", "planar", "cylinder"] = Field("planar", description="how the image meets the surface")
    axis: Literal["+x", "-x", "+y", "-y", "+z", "-z"] = Field(
        "+z", description="planar: printed on faces that face this way; cylinder: the cylinder's axis"
    )
    origin: tuple[float, float, float] = Field(
        (0.0, 0.0, 0.0), description="object space, metres: planar and cylinder coordinates are measured from here"
    )
    radius: float | None = Field(None, gt=0, description="cylinder: metres; where arc lengths are measured")
    u: Range = Field(Range(min=0.0, max=0.0), description="centre: U (uv), metres right (planar), degrees (cylinder)")
    v: Range = Field(
        Range(min=0.0, max=0.0), description="centre: V (uv), metres up (planar), metres along the axis (cylinder)"
    )
    width: Range = Field(description="the image's width: UV units (uv) or metres")
    height: Range | None = Field(
        None, description="the image's height, same units; null: width times the image's aspect"
    )
    rotation_deg: Range = Field(Range(min=0.0, max=0.0), description="degrees, counter-clockwise as seen")
    probability: float = Field(1.0, ge=0, le=1, description="chance the decal is on an instance in an image")

    @model_validator(mode="after")
    def _shape(self):
        if self.projection == "cylinder" and self.radius is None:
            raise ValueError("radius: a cylinder projection needs the cylinder's radius (metres)")
        if self.width.min <= 0 or (self.height is not None and self.height.min <= 0):
            raise ValueError("width, height: expected sizes > 0")
        return self


class MeshDistractors(Strict):
    """Mesh files (desk clutter, other products) mixed with the primitive distractors: unannotated, and
    hiding keypoints by ray cast exactly as the primitives do."""

    paths: list[Path] = Field(
        min_length=1,
        description="mesh files or folders of them (searched recursively), "
        "relative to params.yaml's folder: " + " ".join(MESH_SUFFIXES),
    )
    weight: float = Field(0.5, ge=0, le=1, description="chance that a distractor is a mesh rather than a primitive")
    size: Range = Field(Range(min=0.03, max=0.1), description="metres: the mesh's largest bounding-box side")
    materials: MaterialSpec = Field(
        KeepMaterial(mode="keep"),
        description="every slot of every mesh: keep, jitter (with ranges) or replace (with ranges)",
    )

    @field_validator("paths", mode="before")
    @classmethod
    def _one_path(cls, value):
        return [value] if isinstance(value, (str, Path)) else value

    @model_validator(mode="after")
    def _size(self):
        if self.size.min <= 0:
            raise ValueError(f"size: expected metres > 0, got {self.size.as_list()}")
        return self
