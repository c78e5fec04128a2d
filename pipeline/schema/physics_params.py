"""Schema of physics placement: objects dropped onto a support by Blender's rigid-body simulation."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pipeline.schema.common import IntRange, Range, Strict
from pipeline.schema.rigs_params import MaterialRanges


class Support(Strict):
    """What the objects fall onto. Its top is the plane z = 0 (the camera aims there)."""

    kind: Literal["plane", "tray"] = Field(
        "plane",
        description="plane: an invisible floor (use background.shadows for shadows on the background); "
        "tray: a rendered box with a floor and four walls",
    )
    size: tuple[float, float] = Field(
        (1.0, 1.0), description="metres along x, y: the plane's extent, or the tray's inside (e.g. [0.3, 0.2])"
    )
    wall_height: float = Field(0.04, gt=0, description="tray: metres, inside floor to the top of the walls")
    wall_thickness: float = Field(0.006, gt=0, description="tray: metres, thickness of its walls and floor")
    material: MaterialRanges = Field(
        MaterialRanges(saturation=Range(min=0.0, max=0.4), value=Range(min=0.2, max=0.8)),
        description="tray: its material, drawn per image",
    )

    @model_validator(mode="after")
    def _size(self):
        if min(self.size) <= 0:
            raise ValueError(f"size: expected two lengths > 0, got {list(self.size)}")
        return self


class Drop(Strict):
    """How objects are dropped and when they count as settled (world metres, seconds at 24 frames/s)."""

    height: Range = Field(
        Range(min=0.005, max=0.05), description="metres from the support up to an object's bounding sphere at release"
    )
    piles: bool | IntRange = Field(
        False,
        description="false: objects fall apart from each other; true: all fall in one pile; [min, max]: piles of "
        "that many objects (rig instances first, then distractors), so they lean on and hide each other",
    )
    pile_spread: float = Field(
        0.3, ge=0, le=1, description="xy scatter within a pile, as a share of each object's radius"
    )
    support: Support = Field(Support(), description="the floor or tray the objects fall onto")
    max_steps: int = Field(480, ge=10, le=100000, description="frames simulated at most (24 per second)")
    substeps: int = Field(20, ge=1, le=1000, description="rigid-body steps per frame")
    solver_iterations: int = Field(20, ge=1, le=1000, description="constraint solver iterations per step")
    settle_speed: float = Field(
        0.005,
        gt=0,
        description="m/s: settled once no corner of any object's box has moved faster over 0.25 s, three times "
        "in a row (a window: contact jitter averages out, sliding and rolling do not)",
    )
    linear_damping: float = Field(
        0.6, ge=0, le=1, description="share of linear speed lost per second (stands in for rolling resistance)"
    )
    angular_damping: float = Field(0.9, ge=0, le=1, description="share of spin lost per second")
    collision_margin: float = Field(
        0.0002, ge=0, le=0.01, description="metres: Bullet's contact margin; objects rest this far above a surface"
    )
    retries: int = Field(
        2,
        ge=0,
        le=100,
        description="drops that do not settle within max_steps are drawn again (new start poses, from the seed) "
        "this many times before the render stops with an error naming the image",
    )

    @model_validator(mode="after")
    def _piles(self):
        if not isinstance(self.piles, bool) and self.piles.min < 1:
            raise ValueError(f"piles: expected [min, max] objects per pile with min >= 1, got {self.piles.as_list()}")
        return self
