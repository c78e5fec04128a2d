"""The Blender scene: built once per process, then only values change per image (bpy).

Pools of rig instances, distractors and lights are created up front; an image shows the first n
of each pool and parks the rest far below the scene, so per image only transforms, materials,
light and camera values change.
"""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from blender.optics.scene_camera import SceneCamera
from blender.placement.physics import DropError, Physics, Unsettled, set_pose
from blender.render_settings import configure_render
from blender.rigging.instances import RigInstances
from blender.world.distractors import Distractors
from blender.world.lighting import Lighting
from blender.world.scene_parts import PARKED, lowest_z, shadow_floor, world_nodes
from common.render_spec import RenderSpec


class Scene:
    """Everything in Blender for one process; `apply(sample)` sets one image's values."""

    def __init__(self, spec: RenderSpec, threads: int = 0):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        self.scene = bpy.context.scene
        self.spec = spec
        render = spec.render
        configure_render(self.scene, render, threads)
        self.camera = SceneCamera(self.scene)
        self.world = world_nodes(self.scene, Path(bpy.utils.system_resource("DATAFILES", path="studiolights/world")))
        self.rigs = RigInstances(self.scene, spec.rigs)
        self.templates, self.groups = self.rigs.templates, self.rigs.groups
        self.distractors = Distractors(self.scene, render.distractors)

        self.floor = shadow_floor(self.scene) if render.background.shadows else None
        self._placed: list = []  # what the last `apply` showed (the floor goes under it)
        placement = render.placement
        self.physics = Physics(self.scene, placement.drop.support) if placement.mode == "drop" else None

        self.lighting = Lighting(self.scene, render.lights, self.world)

    def apply(self, sample: dict) -> list[tuple[str, bpy.types.Object]]:
        """Set the scene for one image; returns the shown rig instances as (rig name, object)."""
        self.camera.apply(sample)
        self.scene.cycles.seed = sample["cycles_seed"]
        self.scene.render.film_transparent = sample["background"]["kind"] != "hdri"
        shown = self.rigs.apply(sample["objects"])
        placed = [obj for _, obj in shown] + self.distractors.apply(sample["distractors"])
        if sample.get("drop") is not None:
            self._settle(sample, placed)
            placed += self.physics.visible_objects

        self.lighting.apply(sample["lights"], sample["world"])
        bpy.context.view_layer.update()
        self._placed = placed
        if self.floor is not None:
            self._place_floor(placed)
        return shown

    def set_camera(self, sample: dict) -> None:
        """Another view of the scene `apply` set (view constraints): camera, then the shadow floor."""
        self.camera.apply(sample)
        bpy.context.view_layer.update()
        if self.floor is not None:
            self._place_floor(self._placed)

    def _settle(self, sample: dict, bodies: list) -> None:
        """Drop the shown objects and distractors (physics.py) and move them to where they settle;
        `sample` then holds the settled poses, and `sample["drop"]` the frames it took and the start
        poses. Raises Unsettled when they do not come to rest (the renderer draws the drop again)."""
        if self.physics is None:
            raise DropError("a scene with `drop` needs render.placement.mode: drop in the spec")
        result = self.physics.settle(bodies, sample["drop"])
        if not result.settled:
            raise Unsettled(result.reason, result.steps)
        start = []
        for obj, entry, matrix in zip(bodies, sample["objects"] + sample["distractors"], result.matrices, strict=True):
            start.append({"location": entry["location"], "rotation": entry["rotation"]})
            entry["location"], entry["rotation"] = set_pose(obj, matrix)
        sample["drop"]["steps"], sample["drop"]["start"] = result.steps, start

    def _place_floor(self, placed: list) -> None:
        """The shadow catcher just under the lowest vertex of everything shown, so every object and
        keypoint stays above it (no label changes); parked when the camera is not above it."""
        depsgraph = bpy.context.evaluated_depsgraph_get()
        lowest = min((lowest_z(obj, depsgraph) for obj in placed), default=0.0)
        z = lowest - 1e-4
        above = self.camera.obj.matrix_world.translation.z > z + 1e-3
        self.floor.location = (0.0, 0.0, z) if above else PARKED
        bpy.context.view_layer.update()

    def object_to_world(self, obj) -> np.ndarray:
        """4x4 rig frame (metres) -> world of a shown instance."""
        return np.array(self.rigs.handle(obj).matrix_world)

    def keypoints_world(self, rig_name: str, obj) -> np.ndarray:
        return self.rigs.keypoints_world(rig_name, obj)

    def camera_to_world(self) -> np.ndarray:
        return self.camera.to_world()

    def first_hits(self, origin: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Distance from `origin` to the first surface on the segment to each point (inf: none)."""
        depsgraph = bpy.context.evaluated_depsgraph_get()
        out = np.full(len(points), np.inf)
        for i, p in enumerate(points):
            d = p - origin
            dist = float(np.linalg.norm(d))
            if dist <= 0:
                continue
            hit, loc, *_ = self.scene.ray_cast(depsgraph, tuple(origin), tuple(d / dist), distance=dist + 1e-3)
            if hit:
                out[i] = float(np.linalg.norm(np.array(loc) - origin))
        return out

    def render(self, exr_path: Path) -> list[Path]:
        """Render one image; returns the multilayer EXRs holding its Combined and object-index passes.

        Cycles writes both in one render. EEVEE has no object-index pass, so with EEVEE the
        RGB comes from EEVEE and the index from a 1-sample Cycles render of the same scene.
        """
        r = self.scene.render
        bpy.ops.render.render(write_still=False)
        if r.engine == "CYCLES":
            return [exr_path]
        rgb = exr_path.with_name(exr_path.stem + ".rgb.exr")
        bpy.data.images["Render Result"].save_render(str(rgb), scene=self.scene)
        engine, r.engine = r.engine, "CYCLES"
        try:
            bpy.ops.render.render(write_still=False)
        finally:
            r.engine = engine
        return [rgb, exr_path]

    def save_passes(self, exr_path: Path) -> None:
        """Every pass of the last render to one multilayer EXR."""
        bpy.data.images["Render Result"].save_render(str(exr_path), scene=self.scene)
