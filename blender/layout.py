"""One image's layout in Blender, everything before the render call (bpy): the scene applied, a
drop settled (drawn again when it does not settle), a view that meets `render.camera.require`
(drawn again when it does not), and the keypoints projected through the image's lens with their
visibility. What the layout reports (frames simulated, views tried) goes to meta and stats.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from blender import annotate
from blender.optics import rays, views
from blender.optics.camera import intrinsics, world_to_opencv
from blender.optics.camera_draw import resampled_camera
from blender.optics.lens import Lens, continuous_to_opencv
from blender.optics.lens import from_sample as lens_from_sample
from blender.placement import drop
from blender.placement.physics import DropError, Unsettled
from common import symmetry
from common.render_spec import RenderSpec, ViewRequirements


class ViewError(RuntimeError):
    """No view of an image meets `render.camera.require`; the message names the image and the key."""


@dataclass
class Layout:
    sample: dict  # the scene as rendered: settled poses, the chosen camera
    lens: Lens
    world_to_cam: np.ndarray  # OpenCV frame
    camera_to_world: np.ndarray  # Blender camera frame
    objects: list[dict]  # per shown rig instance: rig, obj, matrix, world, uv, v
    report: dict = field(default_factory=dict)  # {"drop": {...}, "view": {...}} when those ran


def image_lens(sample: dict) -> Lens:
    """The image's lens; today's camera is a centred pinhole from focal_mm and sensor_mm."""
    lens = lens_from_sample(sample)
    if lens is None:
        cam = sample["camera"]
        lens = Lens(
            intrinsics(cam["focal_mm"], cam["sensor_mm"], sample["width"], sample["height"]),
            sample["width"],
            sample["height"],
        )
    return lens


def keypoints(scene, shown, placed: list[dict], lens: Lens, tolerance: dict) -> tuple[np.ndarray, np.ndarray, list]:
    """World-to-camera (OpenCV), camera-to-world (Blender), and per instance its keypoints in the
    world and the image with v (annotate.py's rule: ray casts from the camera centre); a posed rig's
    keypoints come from its evaluated pose, and a symmetric rig's are put in the canonical order
    (symmetry.py). `placed`: the sample's objects, in the order of `shown`."""
    c2w = scene.camera_to_world()
    w2c = world_to_opencv(c2w)
    origin = c2w[:3, 3]
    objects = []
    for (rig_name, obj), sampled in zip(shown, placed, strict=True):
        m = scene.object_to_world(obj)
        world = scene.keypoints_world(rig_name, obj)
        uv, depth, inside = lens.project(w2c, world)
        hits = np.full(len(world), np.inf)
        if inside.any():
            hits[inside] = scene.first_hits(origin, world[inside])
        dist = np.linalg.norm(world - origin, axis=1)
        v = annotate.visibility(inside, dist, hits, tolerance[rig_name])
        extra = {"articulation": sampled["articulation"]} if "articulation" in sampled else {}
        if rig_name in scene.groups:  # the labelling the image-space rule picks
            group = scene.groups[rig_name]
            p = group[symmetry.canonical_index(np.array(annotate.keypoint_triplets(uv, v)).reshape(-1, 3), group)]
            uv, v, world = uv[p], v[p], world[p]
            extra["symmetry_permutation"] = list(p)
        objects.append({"rig": rig_name, "obj": obj, "matrix": m, "world": world, "uv": uv, "v": v, **extra})
    return w2c, c2w, objects


def apply_settled(scene, spec: RenderSpec, index: int, sample: dict, radii: dict) -> tuple[dict, list, dict | None]:
    """Apply the scene; with physics placement, drop it (draws of its own start poses, then
    `retries` redraws when a drop does not settle). Returns (sample as applied, shown, drop report)."""
    if spec.render.placement.mode == "drop" and "drop" not in sample:
        base = sample
        sample = drop.start_poses(spec, index, 0, base, radii)
    else:
        base = None
    if sample.get("drop") is None:
        return sample, scene.apply(sample), None
    retries = spec.render.placement.drop.retries if base is not None else 0
    failed: list[tuple[str, int]] = []
    for attempt in range(retries + 1):
        if attempt:
            sample = drop.start_poses(spec, index, attempt, base, radii)
        try:
            shown = scene.apply(sample)
        except Unsettled as exc:
            failed.append((str(exc), exc.steps))
            continue
        d = sample["drop"]
        return (
            sample,
            shown,
            {
                "steps": d["steps"],
                "attempts": attempt + 1,
                "start": d["start"],
                "failed_steps": [steps for _, steps in failed],
            },
        )
    tried = "; ".join(f"attempt {k}: {reason} ({steps} frames)" for k, (reason, steps) in enumerate(failed))
    raise DropError(
        f"render.placement.drop: image {index}: the drop did not settle in {retries + 1} attempt(s) "
        f"({tried}); raise max_steps or settle_speed, or lower the drop height"
    )


def mesh_vertices(obj) -> np.ndarray:
    """An instance's mesh vertices, object space (the rig template's baked mesh)."""
    co = np.empty(len(obj.data.vertices) * 3)
    obj.data.vertices.foreach_get("co", co)
    return co.reshape(-1, 3)


def measure(
    scene, lens: Lens, w2c: np.ndarray, c2w: np.ndarray, objects: list[dict], require: ViewRequirements
) -> list:
    """What each instance shows in the current view (views.InstanceView)."""
    out = []
    origin = c2w[:3, 3]
    cam_to_world_cv = np.linalg.inv(w2c)[:3, :3]
    for o in objects:
        if require.rigs is not None and o["rig"] not in require.rigs:
            continue
        vertices = mesh_vertices(o["obj"]) @ o["matrix"][:3, :3].T + o["matrix"][:3, 3]
        visible = None
        if require.min_visible is not None:
            rays_ = views.silhouette_rays(lens, w2c, vertices)
            if rays_ is None:
                visible = 0.0
            else:
                dirs, weights, inside = rays_
                world_dirs = dirs @ cam_to_world_cv.T
                world_dirs /= np.linalg.norm(world_dirs, axis=1, keepdims=True)
                own = rays.meets(o["obj"], origin, world_dirs)
                first = np.array([n == o["obj"].name for n in rays.first_objects(scene.scene, origin, world_dirs)])
                visible = views.visible_share(weights, inside, own, first)
        out.append(
            views.InstanceView(
                rig=o["rig"],
                keypoints_in_frame=int((o["v"] > 0).sum()),
                keypoints_seen=int((o["v"] == 2).sum()),
                truncated=views.truncated_share(lens, w2c, vertices),
                visible=visible,
            )
        )
    return out


def layout(scene, spec: RenderSpec, index: int, sample: dict, radii: dict, tolerance: dict) -> Layout:
    """Everything about image `index` that comes before rendering it."""
    sample, shown, drop_report = apply_settled(scene, spec, index, sample, radii)
    lens = image_lens(sample)
    w2c, c2w, objects = keypoints(scene, shown, sample["objects"], lens, tolerance)
    report = {} if drop_report is None else {"drop": drop_report}
    require = spec.render.camera.require
    if require is None:
        return Layout(sample, lens, w2c, c2w, objects, report)

    best = None
    for attempt in range(require.max_attempts):
        if attempt:
            sample["camera"] = resampled_camera(spec, index, attempt, sample["width"], sample["height"])
            scene.set_camera(sample)
            lens = image_lens(sample)
            w2c, c2w, objects = keypoints(scene, shown, sample["objects"], lens, tolerance)
        measures = measure(scene, lens, w2c, c2w, objects, require)
        failing = views.failures(require, measures)
        if best is None or len(failing) < len(best[1]):
            best = (attempt, failing, sample["camera"], measures)
        if not failing:
            report["view"] = {"attempts": attempt + 1, "met": True, "instances": views.as_records(measures)}
            return Layout(sample, lens, w2c, c2w, objects, report)
    if require.on_failure == "best":
        attempt, failing, camera, measures = best
        sample["camera"] = camera
        scene.set_camera(sample)
        lens = image_lens(sample)
        w2c, c2w, objects = keypoints(scene, shown, sample["objects"], lens, tolerance)
        report["view"] = {
            "attempts": require.max_attempts,
            "met": False,
            "kept": attempt,
            "failing": failing,
            "instances": views.as_records(measures),
        }
        return Layout(sample, lens, w2c, c2w, objects, report)
    raise ViewError(
        f"render.camera.require: image {index}: none of {require.max_attempts} views meets the "
        f"constraints; the best (view {best[0]}) fails {'; '.join(best[1])}. Loosen the constraints, "
        "widen render.camera ranges (distance, focal_mm), or raise max_attempts"
    )


def layout_meta(meta: dict, lay: Layout) -> dict:
    """meta/NNNNNN.json with what a calibrated lens, a drop or view constraints add; unchanged (same
    bytes) for today's camera and placement."""
    cam = lay.sample["camera"]
    if "K" in cam or "distortion" in cam:
        K_r, width, height = lay.lens.render_frame()
        meta["camera"]["K_opencv"] = np.round(continuous_to_opencv(lay.lens.K), 9).tolist()
        meta["camera"]["distortion"] = cam.get("distortion")
        meta["camera"]["render_frame"] = {"K": np.round(K_r, 9).tolist(), "width": width, "height": height}
    if "drop" in lay.report:
        meta["drop"] = {**lay.report["drop"], "support": lay.sample["drop"]["support"]}
    if "view" in lay.report:
        meta["view"] = lay.report["view"]
    return meta


def layout_record(lay: Layout, index: int) -> dict:
    """A layout as JSON (--layout-only): what meta would hold, without image, masks or boxes."""
    cam = lay.sample["camera"]
    record = {
        "index": index,
        "width": lay.sample["width"],
        "height": lay.sample["height"],
        "camera": {
            "K": np.round(lay.lens.K, 9).tolist(),
            "world_to_camera": np.round(lay.world_to_cam, 9).tolist(),
            "distortion": cam.get("distortion"),
        },
        "objects": [
            {
                "rig": o["rig"],
                "object_to_world": np.round(o["matrix"], 9).tolist(),
                "keypoints_world": np.round(o["world"], 9).tolist(),
                "keypoints": annotate.keypoint_triplets(o["uv"], o["v"]),
            }
            for o in lay.objects
        ],
        "distractors": [
            {"shape": d["shape"], "location": d["location"], "rotation": d["rotation"], "size": d["size"]}
            for d in lay.sample["distractors"]
        ],
    }
    return layout_meta(record, lay)
