"""Physics placement in Blender (bpy): objects fall onto a support in Blender's rigid-body world
(Bullet), and their settled poses become the scene that is annotated and rendered.

Determinism: each drop starts from a fresh Bullet world. The bodies join the rigid-body collection
in scene order with fresh settings, the world's settings are written again (which marks the point
cache outdated, so Blender rebuilds the world when it steps from the start frame), and the
simulation always starts at the same frame with the same substeps. A drop thus depends on its
start poses alone, never on the images rendered before it in the process.

The simulation steps frame by frame (`scene.frame_set`); after it the scene returns to the start
frame, the bodies leave the rigid-body collection and get their settled poses as plain transforms,
so rendering, ray casts and the shadow floor see an ordinary static scene.
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np
from mathutils import Matrix

from blender.surfaces.materials import apply_material, make_material
from common.render_spec import Support

START_FRAME = 1
SETTLE_FRAMES = 6  # 0.25 s at 24 frames/s: the window over which motion is measured
CALM_CHECKS = 3  # consecutive calm windows that count as settled
FELL_BELOW = -0.5  # metres: a body this far under the support has fallen off it
PARKED = (0.0, 0.0, -1000.0)


class DropError(RuntimeError):
    """A drop that does not settle; the message names the image and the params key."""


class Unsettled(DropError):
    """One drop that did not come to rest after `steps` frames (the renderer may draw it again)."""

    def __init__(self, reason: str, steps: int):
        super().__init__(reason)
        self.steps = steps


@dataclass
class Settled:
    matrices: list[np.ndarray]  # per body: object-to-world 4x4 where it came to rest
    steps: int  # frames simulated
    settled: bool
    reason: str = ""


def _box_mesh(name: str) -> bpy.types.Mesh:
    """A unit cube centred on its origin (scaled per object)."""
    import bmesh

    bm = bmesh.new()
    bmesh.ops.create_cube(bm, size=1.0)
    mesh = bpy.data.meshes.new(name)
    bm.to_mesh(mesh)
    bm.free()
    return mesh


def _tray_boxes(size, wall_height: float, wall: float) -> list[tuple[tuple, tuple]]:
    """(centre, dimensions) of the tray's floor and four walls; the floor's top is z = 0."""
    sx, sy = size
    return [
        ((0.0, 0.0, -wall / 2), (sx + 2 * wall, sy + 2 * wall, wall)),
        ((sx / 2 + wall / 2, 0.0, wall_height / 2), (wall, sy, wall_height)),
        ((-sx / 2 - wall / 2, 0.0, wall_height / 2), (wall, sy, wall_height)),
        ((0.0, sy / 2 + wall / 2, wall_height / 2), (sx + 2 * wall, wall, wall_height)),
        ((0.0, -sy / 2 - wall / 2, wall_height / 2), (sx + 2 * wall, wall, wall_height)),
    ]


class Physics:
    """The rigid-body world and the support of one process; `settle` runs one image's drop."""

    def __init__(self, scene, support: Support):
        self.scene = scene
        with bpy.context.temp_override(scene=scene):
            bpy.ops.rigidbody.world_add()
        self.world = scene.rigidbody_world
        self.world.collection = bpy.data.collections.new("rig2kp.rigid_bodies")
        self.kind = support.kind
        mesh = _box_mesh("support")
        self.material = None
        if self.kind == "tray":
            self.material = make_material("support.tray")
            boxes = _tray_boxes(support.size, support.wall_height, support.wall_thickness)
        else:
            thickness = 0.1
            boxes = [((0.0, 0.0, -thickness / 2), (*support.size, thickness))]
        self.supports = []
        for k, (centre, dims) in enumerate(boxes):
            obj = bpy.data.objects.new(f"support.{k}", mesh)
            scene.collection.objects.link(obj)
            obj.scale = dims
            obj.pass_index = 0  # never an instance mask
            obj.hide_render = self.kind != "tray"
            self.supports.append((obj, centre))
        if self.material is not None:
            mesh.materials.append(self.material)
        self.park()

    def park(self) -> None:
        """The invisible plane leaves the scene between drops (ray casts then never meet it)."""
        for obj, centre in self.supports:
            obj.location = centre if self.kind == "tray" else PARKED

    @property
    def visible_objects(self) -> list:
        return [obj for obj, _ in self.supports] if self.kind == "tray" else []

    def settle(self, bodies: list, drop: dict) -> Settled:
        """Drop `bodies` (Blender objects at their start poses) as `drop` (drop.start_poses) says,
        step until every body is calm or `max_steps`, and return the poses (the scene is left at
        the start frame, bodies at their start poses)."""
        scene, settle = self.scene, drop["settle"]
        if self.material is not None and "material" in drop["support"]:
            apply_material(self.material, drop["support"]["material"])
        if not bodies:
            return Settled([], 0, True)
        scene.frame_set(START_FRAME)
        collection = self.world.collection
        for obj in list(collection.objects):
            collection.objects.unlink(obj)
        for obj, centre in self.supports:
            obj.location = centre
            collection.objects.link(obj)
            rb = obj.rigid_body
            rb.type, rb.collision_shape = "PASSIVE", "BOX"
            rb.friction, rb.restitution = 0.6, 0.1
            rb.use_margin, rb.collision_margin = True, settle["collision_margin"]
        for obj, body in zip(bodies, drop["bodies"], strict=True):
            collection.objects.link(obj)
            rb = obj.rigid_body
            rb.type = "ACTIVE"
            rb.collision_shape = "MESH" if body["collision"] == "mesh" else "CONVEX_HULL"
            rb.mesh_source = "BASE"
            rb.mass = 1.0
            rb.friction, rb.restitution = body["friction"], body["restitution"]
            rb.use_margin, rb.collision_margin = True, settle["collision_margin"]
            rb.linear_damping, rb.angular_damping = settle["linear_damping"], settle["angular_damping"]
            rb.use_deactivation = False
        world = self.world
        world.enabled = True
        world.time_scale = 1.0
        world.substeps_per_frame = settle["substeps"]  # also marks the cache outdated: a fresh world
        world.solver_iterations = settle["solver_iterations"]
        world.point_cache.frame_start = START_FRAME
        world.point_cache.frame_end = START_FRAME + settle["max_steps"]

        corners = [_box_corners(obj.data) for obj in bodies]
        fps = scene.render.fps / scene.render.fps_base
        limit = settle["settle_speed"] * SETTLE_FRAMES / fps  # metres per window
        depsgraph = bpy.context.evaluated_depsgraph_get()
        history, calm, steps, reason = [], 0, 0, ""
        matrices = [np.array(obj.matrix_world) for obj in bodies]
        settled = False
        for frame in range(START_FRAME + 1, START_FRAME + settle["max_steps"] + 1):
            scene.frame_set(frame)
            steps += 1
            matrices = [np.array(obj.evaluated_get(depsgraph).matrix_world) for obj in bodies]
            points = np.concatenate([c @ m[:3, :3].T + m[:3, 3] for c, m in zip(corners, matrices)])
            if points[:, 2].min() < FELL_BELOW:
                reason = "an object fell off the support"
                break
            history = (history + [points])[-SETTLE_FRAMES - 1 :]
            if len(history) > SETTLE_FRAMES:  # over a window: contact jitter averages out, drift does not
                calm = calm + 1 if np.abs(points - history[0]).max() < limit else 0
            if calm >= CALM_CHECKS:
                settled = True
                break
        if not settled and not reason:
            reason = f"still moving after {settle['max_steps']} frames"
        scene.frame_set(START_FRAME)
        for obj in list(collection.objects):
            collection.objects.unlink(obj)
        self.park()
        return Settled(matrices, steps, settled, reason)


def _box_corners(mesh) -> np.ndarray:
    """The 8 corners of a mesh's bounding box, object space (its motion stands for the body's)."""
    co = np.empty(len(mesh.vertices) * 3)
    mesh.vertices.foreach_get("co", co)
    co = co.reshape(-1, 3)
    lo, hi = co.min(axis=0), co.max(axis=0)
    return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])


def set_pose(obj, matrix: np.ndarray) -> tuple[list[float], list[float]]:
    """Give `obj` the rigid pose of `matrix` (its scale kept); returns (location, quaternion wxyz)."""
    loc, rot, _ = Matrix(matrix.tolist()).decompose()
    rot.normalize()
    obj.location = loc
    obj.rotation_mode = "QUATERNION"
    obj.rotation_quaternion = rot
    return [float(v) for v in loc], [float(v) for v in rot]
