"""The per-image scene: every element's draw, in one ordered registry, from (seed, image index) alone.

Each element (camera, rigs, distractors, lights, world, background) draws in its own module, pure
numpy, from its own named streams (blender/random_draws.py STREAMS), so an image's scene does not
depend on how images are split into shards, and changing e.g. the distractor settings leaves object
poses and cameras unchanged. The order below only hands on what a later element needs (the camera's
position, the rigs' places); keep it, and a new element goes at the end with a new stream, and
every render keeps its bytes (tests/test_render_golden.py). Output is plain JSON-able data that
`scene.py` applies to Blender.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from blender.optics import camera_draw
from blender.random_draws import rng_for
from blender.rigging import instance_draw
from blender.world import background_draw, distractor_draw, lighting_draw
from common.render_spec import RenderSpec


@dataclass
class SceneDraw:
    """What the draws of one image share: the spec, the image, and what earlier elements placed."""

    spec: RenderSpec
    index: int
    rig_radii: dict[str, float]  # bounding radius of each rig, metres
    sample: dict = field(default_factory=dict)  # the keys earlier elements drew (their rigs: "objects")
    camera_position: np.ndarray | None = None
    placed: list[tuple[np.ndarray, float]] = field(default_factory=list)  # bounding spheres to keep apart

    def rng(self, stream: str) -> np.random.Generator:
        return rng_for(self.spec.seed, self.index, stream)


# the scene, element by element: each returns its keys of the sample
ELEMENTS = (
    camera_draw.draw,
    instance_draw.draw,
    distractor_draw.draw,
    lighting_draw.draw_lights,
    lighting_draw.draw_world,
    background_draw.draw,
)


def sample_scene(spec: RenderSpec, index: int, rig_radii: dict[str, float]) -> dict:
    """Everything that varies in image `index`. `rig_radii`: bounding radius of each rig, metres."""
    ctx = SceneDraw(spec, index, rig_radii, sample={"index": index})
    for element in ELEMENTS:
        ctx.sample.update(element(ctx))
    return ctx.sample
