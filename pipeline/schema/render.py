"""Schema of the `render` section: engine, image size, camera, lights, backgrounds, distractors."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from .common import IntRange, Range, Strict


class Camera(Strict):
    """A look-at camera on a sphere around the scene centre (world metres, degrees)."""

    distance: Range = Range(min=0.3, max=0.7)
    elevation_deg: Range = Range(min=20.0, max=85.0)
    azimuth_deg: Range = Range(min=0.0, max=360.0)
    roll_deg: Range = Range(min=-20.0, max=20.0)
    focal_mm: Range = Range(min=28.0, max=55.0)
    sensor_mm: float = Field(36.0, gt=0)  # horizontal sensor width
    look_jitter: float = Field(0.03, ge=0)  # metres: aim point jitter around the centre


class Lights(Strict):
    count: IntRange = IntRange(min=1, max=3)
    types: list[Literal["POINT", "SPOT", "AREA", "SUN"]] = ["POINT", "AREA", "SPOT", "SUN"]
    energy_w: Range = Range(min=5.0, max=60.0)  # point/spot/area power, watts
    sun_strength: Range = Range(min=0.5, max=4.0)  # sun irradiance, W/m^2
    distance: Range = Range(min=0.4, max=1.5)  # metres from the scene centre
    saturation: Range = Range(min=0.0, max=0.3)  # light colour (random hue)
    world_strength: Range = Range(min=0.2, max=1.2)  # HDRI world lighting strength


class Background(Strict):
    """Weights of the background kinds; `photos` needs `photos_dir`."""

    hdri: float = Field(0.2, ge=0)  # one of Blender's studio-light HDRIs, seen directly
    procedural: float = Field(0.8, ge=0)  # noise / gradient / checker textures drawn in numpy
    photos: float = Field(0.0, ge=0)
    photos_dir: Path | None = None

    @model_validator(mode="after")
    def _weights(self):
        if self.hdri + self.procedural + self.photos <= 0:
            raise ValueError("expected at least one background weight > 0")
        if self.photos > 0 and self.photos_dir is None:
            raise ValueError("photos > 0 needs photos_dir (a folder of .jpg/.png images)")
        return self


class Distractors(Strict):
    count: IntRange = IntRange(min=0, max=3)
    size: Range = Range(min=0.02, max=0.08)  # metres
    occluder_prob: float = Field(0.3, ge=0, le=1)  # chance each one is placed toward the camera


class Placement(Strict):
    spread: float = Field(0.12, ge=0)  # metres: objects are placed in a disc of this radius
    height: Range = Range(min=-0.02, max=0.04)  # metres above the centre plane


class RenderConfig(Strict):
    num_images: int = Field(200, ge=1)
    resolutions: list[tuple[int, int]] = [(320, 320)]  # [width, height] choices, pixels
    engine: Literal["CYCLES", "BLENDER_EEVEE"] = "CYCLES"
    device: Literal["CPU", "CUDA", "OPTIX", "HIP", "METAL", "ONEAPI"] = "CPU"
    samples: int = Field(16, ge=1)
    denoise: bool = True
    shard_size: int = Field(50, ge=1)  # images per shard and per Blender process (restart)
    workers: int = Field(0, ge=0)  # parallel Blender processes; 0 = number of cores
    threads: int = Field(0, ge=0)  # render threads per process; 0 = cores / workers
    min_visible_px: int = Field(64, ge=1)
    camera: Camera = Camera()
    lights: Lights = Lights()
    background: Background = Background()
    distractors: Distractors = Distractors()
    placement: Placement = Placement()

    @model_validator(mode="after")
    def _resolutions(self):
        for w, h in self.resolutions:
            if w < 8 or h < 8:
                raise ValueError(f"resolutions: expected [width, height] >= 8 pixels, got [{w}, {h}]")
        if not self.resolutions:
            raise ValueError("resolutions: expected at least one [width, height]")
        return self
