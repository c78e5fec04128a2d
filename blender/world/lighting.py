"""The lighting in Blender (bpy): a pool of lamps made once, set per image from
blender/world/lighting_draw.py's draws (unused lamps parked and dark), and the HDRI world's image,
strength and turn."""

from __future__ import annotations

import bpy
from mathutils import Matrix

from blender.world.scene_parts import PARKED
from common.render_spec import Lights


class Lighting:
    def __init__(self, scene, lights_cfg: Lights, world: dict):
        """`world`: the HDRI nodes blender/world/scene_parts.py made (env, bg, mapping, images, dir)."""
        self.world = world
        self.lamps = []
        for k in range(int(lights_cfg.count.max)):
            data = bpy.data.lights.new(f"light.{k}", "POINT")
            obj = bpy.data.objects.new(f"light.{k}", data)
            scene.collection.objects.link(obj)
            obj.location = PARKED
            data.energy = 0.0
            self.lamps.append(obj)

    def apply(self, lights: list[dict], world: dict) -> None:
        for obj, light in zip(self.lamps, lights + [None] * len(self.lamps)):
            if light is None:
                obj.location = PARKED
                obj.data.energy = 0.0
                continue
            obj.data.type = light["type"]
            obj.matrix_world = Matrix(light["camera_like_matrix"])
            obj.data.energy = light["energy"]
            obj.data.color = light["color"]
            if light["type"] == "AREA":
                obj.data.size = light["size"]
            elif light["type"] == "SPOT":
                obj.data.spot_size = light["spot_size"]
            if light["type"] != "SUN":
                obj.data.shadow_soft_size = light["size"] * 0.3
        self.world["env"].image = self._hdri(world["hdri"])
        self.world["bg"].inputs["Strength"].default_value = world["strength"]
        self.world["mapping"].inputs["Rotation"].default_value = (0.0, 0.0, world["rotation"])

    def _hdri(self, name: str):
        images = self.world["images"]
        if name not in images:
            images[name] = bpy.data.images.load(str(self.world["dir"] / f"{name}.exr"), check_existing=True)
        return images[name]
