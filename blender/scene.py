"""The Blender scene: built once per process, then only values change per image (bpy).

Pools of rig instances, distractors and lights are created up front; an image shows the first n
of each pool and parks the rest far below the scene, so per image only transforms, materials,
light and camera values change.
"""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix, Quaternion

from blender.optics.lens import blender_camera
from blender.optics.lens import from_sample as lens_from_sample
from blender.placement.physics import DropError, Physics, Unsettled, set_pose
from blender.render_settings import configure_render
from blender.rigging import articulation, rigs
from blender.surfaces import looks
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
        cam_data = bpy.data.cameras.new("camera")
        cam_data.sensor_fit = "HORIZONTAL"
        cam_data.clip_start, cam_data.clip_end = 0.005, 100.0
        self.camera = bpy.data.objects.new("camera", cam_data)
        self.scene.collection.objects.link(self.camera)
        self.scene.camera = self.camera
        self.world = world_nodes(self.scene, Path(bpy.utils.system_resource("DATAFILES", path="studiolights/world")))

        self.templates = {
            name: (articulation.build if rig.articulated() else rigs.build)(name, rig)
            for name, rig in spec.rigs.items()
        }
        self.groups = {
            name: rigs.symmetry_group(name, rig, self.templates[name])
            for name, rig in spec.rigs.items()
            if rig.symmetry is not None
        }
        plans = {
            name: looks.prepare(name, rig, self.templates[name], getattr(rig.mesh, "path", None))
            for name, rig in spec.rigs.items()
        }
        decal_images = {name: looks.load_decal_images(name, rig) for name, rig in spec.rigs.items()}
        self.instances: dict[str, list] = {}
        self.posed: dict = {}  # mesh object of an articulated instance -> its posed.Posed
        pass_index = 1
        for name, rig in spec.rigs.items():
            tpl = self.templates[name]
            pool = []
            for k in range(int(rig.instances.max)):
                if tpl.posed is not None:  # its own armature and mesh, linked and parked
                    inst = tpl.posed.instance(f"{name}.{k}", self.scene.collection)
                    obj = inst.mesh
                    self.posed[obj] = inst
                else:
                    obj = tpl.obj.copy()
                    obj.name = f"{name}.{k}"
                obj.hide_render = False
                obj.pass_index = pass_index
                pass_index += 1
                mats = looks.instance_looks(obj, plans[name], rig, decal_images[name], f"{name}.{k}")
                if tpl.posed is None:
                    obj.location = PARKED
                    self.scene.collection.objects.link(obj)
                pool.append((obj, mats))
            self.instances[name] = pool

        self.distractors = Distractors(self.scene, render.distractors)

        self.floor = shadow_floor(self.scene) if render.background.shadows else None
        self._placed: list = []  # what the last `apply` showed (the floor goes under it)
        placement = render.placement
        self.physics = Physics(self.scene, placement.drop.support) if placement.mode == "drop" else None

        self.lighting = Lighting(self.scene, render.lights, self.world)

    def apply(self, sample: dict) -> list[tuple[str, bpy.types.Object]]:
        """Set the scene for one image; returns the shown rig instances as (rig name, object)."""
        scene = self.scene
        r = scene.render
        self._camera(sample)
        scene.cycles.seed = sample["cycles_seed"]
        r.film_transparent = sample["background"]["kind"] != "hdri"

        shown, used = [], {name: 0 for name in self.instances}
        for o in sample["objects"]:
            obj, mats = self.instances[o["rig"]][o["slot"]]
            used[o["rig"]] = max(used[o["rig"]], o["slot"] + 1)
            handle = self._handle(obj)
            handle.location = o["location"]
            handle.rotation_mode = "QUATERNION"
            handle.rotation_quaternion = Quaternion(o["rotation"])
            handle.scale = (o["scale"],) * 3
            if obj in self.posed:
                self.posed[obj].pose(o.get("articulation", {}))
            looks.apply(mats, o, self.spec.rigs[o["rig"]])
            shown.append((o["rig"], obj))
        for name, pool in self.instances.items():
            for obj, _ in pool[used[name] :]:
                self._handle(obj).location = PARKED

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

    def _camera(self, sample: dict) -> None:
        """Today's camera (focal_mm on a centred sensor), or a calibrated / distorted one, rendered as
        the square-pixel pinhole frame `lens.Lens.render_frame` gives (lens and shift)."""
        r, cam, data = self.scene.render, sample["camera"], self.camera.data
        model = lens_from_sample(sample)
        if model is None:
            r.resolution_x, r.resolution_y = sample["width"], sample["height"]
            data.lens, data.sensor_width = cam["focal_mm"], cam["sensor_mm"]
            data.shift_x = data.shift_y = 0.0
        else:
            K, width, height = model.render_frame()
            values = blender_camera(K, width, height, cam["sensor_mm"])
            r.resolution_x, r.resolution_y = width, height
            data.lens, data.sensor_width = values["lens_mm"], values["sensor_mm"]
            data.shift_x, data.shift_y = values["shift_x"], values["shift_y"]
        self.camera.matrix_world = Matrix(cam["camera_to_world"])

    def set_camera(self, sample: dict) -> None:
        """Another view of the scene `apply` set (view constraints): camera, then the shadow floor."""
        self._camera(sample)
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
        above = self.camera.matrix_world.translation.z > z + 1e-3
        self.floor.location = (0.0, 0.0, z) if above else PARKED
        bpy.context.view_layer.update()

    def _handle(self, obj) -> bpy.types.Object:
        """What carries an instance's transform: its root empty when it moves, else the object."""
        return self.posed[obj].root if obj in self.posed else obj

    def object_to_world(self, obj) -> np.ndarray:
        """4x4 rig frame (metres) -> world of a shown instance."""
        return np.array(self._handle(obj).matrix_world)

    def keypoints_world(self, rig_name: str, obj) -> np.ndarray:
        """K x 3 world keypoints of a shown instance: its template's, moved rigidly; or, for a rig
        that moves, read from the instance's evaluated pose and deformed mesh."""
        if obj in self.posed:
            return self.posed[obj].keypoints_world()
        m = np.array(obj.matrix_world)
        return self.templates[rig_name].keypoints_local @ m[:3, :3].T + m[:3, 3]

    def camera_to_world(self) -> np.ndarray:
        return np.array(self.camera.matrix_world)

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
