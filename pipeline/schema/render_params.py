"""Schema of the `render` section: engine, image size, camera, lights, backgrounds, distractors."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from pipeline.schema.appearance_params import MeshDistractors
from pipeline.schema.common import IntRange, Range, Strict
from pipeline.schema.lens_params import Distortion, Intrinsics
from pipeline.schema.physics_params import Drop
from pipeline.schema.views_params import ViewRequirements


class Camera(Strict):
    """A look-at camera on a sphere around the scene centre (world metres, degrees)."""

    distance: Range = Field(Range(min=0.3, max=0.7), description="metres from the aim point")
    elevation_deg: Range = Field(Range(min=20.0, max=85.0), description="degrees above the xy plane")
    azimuth_deg: Range = Field(Range(min=0.0, max=360.0), description="degrees about world z, from +x")
    roll_deg: Range = Field(Range(min=-20.0, max=20.0), description="degrees about the viewing axis")
    focal_mm: Range = Field(Range(min=28.0, max=55.0), description="focal length, millimetres")
    sensor_mm: float = Field(36.0, gt=0, description="horizontal sensor width, millimetres (spans the image width)")
    sensor_fit: Literal["width", "long_side"] = Field(
        "width",
        description="what `sensor_mm` spans: the image width, or its long side as in a camera turned to portrait "
        "(then portrait frames show objects as large as landscape ones)",
    )
    look_jitter: float = Field(0.03, ge=0, description="metres: aim point jitter around the centre")
    intrinsics: Intrinsics | None = Field(
        None, description="a calibrated camera (replaces focal_mm, sensor_mm and resolutions); null: drawn as above"
    )
    distortion: Distortion | None = Field(None, description="lens distortion; null: an ideal pinhole")
    require: ViewRequirements | None = Field(None, description="view constraints; null: every drawn view is kept")


class Lights(Strict):
    """Lamps aimed at the scene, plus world lighting from one of Blender's studio HDRIs."""

    count: IntRange = Field(IntRange(min=1, max=3), description="lamps per image")
    types: list[Literal["POINT", "SPOT", "AREA", "SUN"]] = Field(
        ["POINT", "AREA", "SPOT", "SUN"], description="lamp kinds drawn from, uniformly"
    )
    energy_w: Range = Field(Range(min=5.0, max=60.0), description="point/spot/area power, watts")
    sun_strength: Range = Field(Range(min=0.5, max=4.0), description="sun irradiance, W/m^2")
    distance: Range = Field(Range(min=0.4, max=1.5), description="metres from the scene centre")
    saturation: Range = Field(Range(min=0.0, max=0.3), description="light colour saturation, 0..1 (random hue)")
    world_strength: Range = Field(Range(min=0.2, max=1.2), description="HDRI world lighting strength")


class Background(Strict):
    """Weights of the background kinds; `photos` needs `photos_dir`."""

    hdri: float = Field(0.2, ge=0, description="weight: one of Blender's studio-light HDRIs, seen directly")
    procedural: float = Field(0.8, ge=0, description="weight: noise / gradient / checker textures drawn in numpy")
    photos: float = Field(0.0, ge=0, description="weight: random crops of the photos in `photos_dir`")
    photos_dir: Path | None = Field(None, description="folder of .jpg/.png images, relative to params.yaml's folder")
    patterns: list[Literal["noise", "gradient", "checker", "stripes", "blobs", "wood", "granite"]] = Field(
        ["noise", "gradient", "checker", "stripes", "blobs", "wood"],
        min_length=1,
        description="procedural patterns drawn from, uniformly (wood and granite look like desks)",
    )
    saturation: Range = Field(
        Range(min=1.0, max=1.0),
        description="share of a procedural background's colourfulness kept: 1 = as drawn, 0 = grey (like real desks)",
    )
    shadows: bool = Field(
        False,
        description="the objects' shadows fall on the background: a shadow-catching floor just under the lowest "
        "object (Cycles only; objects lying on a desk). false: objects float in front of it",
    )
    brightness: Range | None = Field(
        None,
        description="mean sRGB level of a procedural background, drawn per image: 0 black, 1 white "
        "(e.g. [0.15, 0.9] to include white desks and paper); null: as drawn (about 0.3-0.7)",
    )

    @model_validator(mode="after")
    def _weights(self):
        if self.hdri + self.procedural + self.photos <= 0:
            raise ValueError("expected at least one background weight > 0")
        if self.photos > 0 and self.photos_dir is None:
            raise ValueError("photos > 0 needs photos_dir (a folder of .jpg/.png images)")
        return self


class Distractors(Strict):
    """Simple shapes with random materials that clutter the scene and sometimes hide the objects."""

    count: IntRange = Field(IntRange(min=0, max=3), description="distractors per image")
    size: Range = Field(Range(min=0.02, max=0.08), description="metres")
    occluder_prob: float = Field(0.3, ge=0, le=1, description="chance each one is placed toward the camera")
    meshes: MeshDistractors | None = Field(
        None, description="mesh files mixed with the primitives; null: primitives only"
    )


class Placement(Strict):
    """Where the objects stand around the scene centre (world metres)."""

    mode: Literal["disc", "drop"] = Field(
        "disc",
        description="disc: objects float where drawn (spread, height, rig pose); drop: they fall onto a support "
        "(Blender's rigid-body simulation) and are rendered where they settle",
    )
    spread: float = Field(0.12, ge=0, description="metres: objects are placed in a disc of this radius")
    height: Range = Field(Range(min=-0.02, max=0.04), description="metres above the centre plane (disc)")
    drop: Drop = Field(Drop(), description="mode drop: the support, drop heights, piles, settling")


class RenderConfig(Strict):
    """The synthetic dataset: how many images, how they are rendered and what varies per image."""

    num_images: int = Field(200, ge=1, description="images in the synthetic dataset")
    resolutions: list[tuple[int, int]] = Field([(320, 320)], description="[width, height] choices, pixels (>= 8)")
    engine: Literal["CYCLES", "BLENDER_EEVEE"] = Field("CYCLES", description="Blender render engine")
    device: Literal["CPU", "CUDA", "OPTIX", "HIP", "METAL", "ONEAPI"] = Field(
        "CPU", description="Cycles compute device"
    )
    samples: int = Field(16, ge=1, description="render samples per pixel")
    denoise: bool = Field(True, description="Cycles: denoise each image (OpenImageDenoise, when built in)")
    shard_size: int = Field(50, ge=1, description="images per shard and per Blender process (restart)")
    workers: int = Field(0, ge=0, description="parallel Blender processes; 0 = number of cores")
    threads: int = Field(0, ge=0, description="render threads per process; 0 = cores / workers")
    min_visible_px: int = Field(64, ge=1, description="instances with fewer visible pixels are dropped")
    camera: Camera = Field(Camera(), description="camera pose and lens")
    lights: Lights = Field(Lights(), description="lamps and world lighting")
    background: Background = Field(Background(), description="what is seen behind the objects")
    distractors: Distractors = Field(Distractors(), description="clutter objects")
    placement: Placement = Field(Placement(), description="where objects stand")

    @model_validator(mode="after")
    def _shadows(self):
        if self.background.shadows and self.engine != "CYCLES":
            raise ValueError("background.shadows: expected engine CYCLES (the shadow catcher is Cycles-only)")
        return self

    @model_validator(mode="after")
    def _resolutions(self):
        for w, h in self.resolutions:
            if w < 8 or h < 8:
                raise ValueError(f"resolutions: expected [width, height] >= 8 pixels, got [{w}, {h}]")
        if not self.resolutions:
            raise ValueError("resolutions: expected at least one [width, height]")
        return self
