"""The distractors' per-image draw (pure): primitive shapes placed around the rigs or between them and
the camera (occluders), from the `distractors` stream; a mesh file in place of some, from its own
`distractor_meshes` stream and only when params name meshes."""

from __future__ import annotations

import numpy as np

from blender.random_draws import integer, place, random_rotation, uniform
from blender.surfaces.appearance import sample_look, sample_material
from common.render_spec import Range, ReplaceMaterial

PRIMITIVE_LOOK = ReplaceMaterial(  # the primitive distractors' looks
    hue=Range(min=0.0, max=1.0),
    saturation=Range(min=0.0, max=0.9),
    value=Range(min=0.1, max=0.95),
    roughness=Range(min=0.1, max=0.9),
    metallic=Range(min=0.0, max=0.5),
    texture_strength=Range(min=0.0, max=0.6),
    texture_scale=Range(min=5.0, max=80.0),
    pictograms=False,
)
DISTRACTOR_SHAPES = ("cube", "sphere", "cylinder", "cone", "torus")


def draw(ctx) -> dict:
    rng = ctx.rng("distractors")
    dis, placement = ctx.spec.render.distractors, ctx.spec.render.placement
    objects, placed, cam_pos = ctx.sample["objects"], ctx.placed, ctx.camera_position
    distractors = []
    for _ in range(integer(rng, dis.count)):
        size = uniform(rng, dis.size)
        if objects and rng.uniform() < dis.occluder_prob:
            obj = np.array(objects[rng.integers(len(objects))]["location"])
            loc = obj + rng.uniform(0.25, 0.6) * (cam_pos - obj) + rng.normal(0, 0.01, size=3)
        else:
            loc = place(rng, placed, size, placement.spread * 1.5, placement.height)
        distractors.append(
            {
                "shape": DISTRACTOR_SHAPES[rng.integers(len(DISTRACTOR_SHAPES))],
                "location": [float(v) for v in loc],
                "rotation": random_rotation(rng),
                "size": size,
                "material": sample_material(rng, PRIMITIVE_LOOK),
            }
        )
    meshes = dis.meshes
    if meshes is not None:  # drawn only when set, from their own stream: the primitives' draws stay as they were
        rng = ctx.rng("distractor_meshes")
        for d in distractors:
            if rng.uniform() < meshes.weight:
                d["mesh"] = int(rng.integers(len(meshes.files)))
                d["mesh_size"] = float(rng.uniform(meshes.size.min, meshes.size.max))
                look = sample_look(rng, rng, meshes.materials)
                if look is not None:
                    d["mesh_material"] = look
    return {"distractors": distractors}
