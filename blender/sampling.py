"""Per-image scene parameters, drawn outside bpy from (seed, image index) alone.

Every image has its own generators (one per concern), so an image's scene does not depend on how
images are split into shards, and changing e.g. the distractor settings leaves object poses and
cameras unchanged. Output is plain JSON-able data that `scene.py` applies to Blender.
Units: metres, radians, linear RGB in 0..1.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np

from blender.optics.camera import look_at, spherical_position
from blender.rigging import posing
from blender.surfaces.appearance import material_mode, sample_decals, sample_jitter

# Blender ships these HDRIs in datafiles/studiolights/world/ since 2.80 (3.4 to 5.x alike).
HDRI_NAMES = ("city", "courtyard", "forest", "interior", "night", "studio", "sunrise", "sunset")
DISTRACTOR_SHAPES = ("cube", "sphere", "cylinder", "cone", "torus")
PATTERNS = ("noise", "gradient", "checker", "stripes", "blobs", "wood", "granite")
DEFAULT_PATTERNS = PATTERNS[:6]  # the schema's default list: granite is opt-in
STREAMS = {
    "camera": 0,
    "objects": 1,
    "distractors": 2,
    "lights": 3,
    "world": 4,
    "background": 5,
    "materials": 6,
    "appearance": 7,
    "decals": 8,
    "distractor_meshes": 9,
    "physics": 10,
    "views": 11,
    "pose_bones": 12,
    "shape_keys": 13,
}


def rng_for(seed: int, index: int, stream: str) -> np.random.Generator:
    return np.random.default_rng([seed, index, STREAMS[stream]])


def uniform(rng: np.random.Generator, r: dict) -> float:
    return float(rng.uniform(r["min"], r["max"])) if r["max"] > r["min"] else float(r["min"])


def sensor_width_mm(cam: dict, width: int, height: int) -> float:
    """Sensor width spanning the image width; `long_side` fit widens it for portrait frames.

    A phone turned to portrait keeps its long sensor side along the image's long side: objects stay
    the same size in pixels. Blender then still fits the (wider) sensor horizontally, so K and the
    render agree by construction.
    """
    if cam.get("sensor_fit", "width") == "long_side" and height > width:
        return cam["sensor_mm"] * width / height
    return cam["sensor_mm"]


def integer(rng: np.random.Generator, r: dict) -> int:
    return int(rng.integers(int(r["min"]), int(r["max"]) + 1))


def srgb_to_linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def hsv_to_linear_rgb(h: float, s: float, v: float) -> list[float]:
    """HSV as a user picks it (display sRGB) to the linear RGB that shaders take."""
    return [srgb_to_linear(c) for c in colorsys.hsv_to_rgb(h % 1.0, s, v)]


def random_rotation(rng: np.random.Generator) -> list[float]:
    """Uniform rotation on SO(3) as a unit quaternion (w, x, y, z)."""
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    return [float(x) for x in (q if q[0] >= 0 else -q)]


def quat_multiply(a, b) -> list[float]:
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return [
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ]


def axis_angle(axis, angle: float) -> list[float]:
    axis = np.asarray(axis, dtype=float)
    axis = axis / np.linalg.norm(axis)
    s = math.sin(angle / 2)
    return [math.cos(angle / 2), *(float(a * s) for a in axis)]


def upright_rotation(rng: np.random.Generator, tilt_rad: float) -> list[float]:
    """Random yaw about world z, then a tilt of at most `tilt_rad` about a random horizontal axis."""
    yaw = axis_angle((0, 0, 1), rng.uniform(0, 2 * math.pi))
    a = rng.uniform(0, 2 * math.pi)
    tilt = axis_angle((math.cos(a), math.sin(a), 0.0), rng.uniform(-tilt_rad, tilt_rad))
    return quat_multiply(tilt, yaw)


def sample_material(rng: np.random.Generator, ranges: dict) -> dict:
    return {
        "color": hsv_to_linear_rgb(
            uniform(rng, ranges["hue"]), uniform(rng, ranges["saturation"]), uniform(rng, ranges["value"])
        ),
        "roughness": uniform(rng, ranges["roughness"]),
        "metallic": uniform(rng, ranges["metallic"]),
        "texture_strength": uniform(rng, ranges["texture_strength"]),
        "texture_scale": uniform(rng, ranges["texture_scale"]),
        "texture_offset": float(rng.uniform(0, 100)),
    }


def sample_look(mrng: np.random.Generator, arng: np.random.Generator, entry: dict) -> dict | None:
    """One image's values for a slot's materials entry: replace ranges draw from `mrng` (the materials
    stream, as always), jitter from `arng` (the appearance stream); keep draws nothing (None)."""
    mode = material_mode(entry)
    if mode == "replace":
        return sample_material(mrng, entry)
    return sample_jitter(arng, entry) if mode == "jitter" else None


def apart(draw, placed: list[tuple[np.ndarray, float]], radius: float, tries: int = 20) -> np.ndarray:
    """The first of up to `tries` points `draw()` gives whose sphere of `radius` keeps clear of every
    placed (point, radius); else the one that comes closest to it."""
    best, best_gap = None, -math.inf
    for _ in range(tries):
        p = draw()
        gap = min((np.linalg.norm(p - q) - radius - rq for q, rq in placed), default=math.inf)
        if gap >= 0:
            return p
        if gap > best_gap:
            best, best_gap = p, gap
    return best


def _place(rng, placed: list[tuple[np.ndarray, float]], radius: float, spread: float, height: dict):
    """A position in the placement disc that keeps bounding spheres apart when it can."""

    def draw() -> np.ndarray:
        r, t = spread * math.sqrt(rng.uniform()), rng.uniform(0, 2 * math.pi)
        return np.array([r * math.cos(t), r * math.sin(t), uniform(rng, height)])

    return apart(draw, placed, radius)


def calibrated_size(intr: dict) -> tuple[int, int]:
    return round(intr["width"] * intr["scale"]), round(intr["height"] * intr["scale"])


def calibrated_K(intr: dict) -> list[list[float]]:
    """K in continuous pixels (OpenCV's cx + 0.5) for the image scaled to `calibrated_size`."""
    w, h = calibrated_size(intr)
    sx, sy = w / intr["width"], h / intr["height"]
    return [
        [intr["fx"] * sx, 0.0, (intr["cx"] + 0.5) * sx],
        [0.0, intr["fy"] * sy, (intr["cy"] + 0.5) * sy],
        [0.0, 0.0, 1.0],
    ]


def _camera(rng: np.random.Generator, cam: dict, width: int, height: int) -> tuple[dict, np.ndarray]:
    """A look-at camera drawn from `render.camera` (aim, distance, elevation, azimuth, roll, focal),
    with the calibrated K and the distortion when params give them; also its position."""
    target = np.array([rng.normal(0, cam["look_jitter"]), rng.normal(0, cam["look_jitter"]), 0.0])
    position = spherical_position(
        target,
        uniform(rng, cam["distance"]),
        math.radians(uniform(rng, cam["elevation_deg"])),
        math.radians(uniform(rng, cam["azimuth_deg"])),
    )
    roll = math.radians(uniform(rng, cam["roll_deg"]))
    out = {
        "camera_to_world": look_at(position, target, roll).tolist(),
        "focal_mm": uniform(rng, cam["focal_mm"]),
        "sensor_mm": sensor_width_mm(cam, width, height),
    }
    if cam.get("intrinsics") is not None:
        out["K"] = calibrated_K(cam["intrinsics"])
        out["focal_mm"] = out["K"][0][0] * out["sensor_mm"] / width  # what Blender's lens is set to
    if cam.get("distortion") is not None:
        out["distortion"] = {"model": cam["distortion"]["model"], "coeffs": list(cam["distortion"]["coeffs"])}
    return out, position


def resampled_camera(spec: dict, index: int, attempt: int, width: int, height: int) -> dict:
    """View `attempt` (>= 1) of image `index` when view constraints reject the earlier ones: drawn
    like the first from `render.camera`, from its own stream, so attempt 0 stays the sampled camera."""
    rng = np.random.default_rng([spec["seed"], index, STREAMS["views"], attempt])
    return _camera(rng, spec["render"]["camera"], width, height)[0]


def sample_scene(spec: dict, index: int, rig_radii: dict[str, float]) -> dict:
    """Everything that varies in image `index`. `rig_radii`: bounding radius of each rig, metres."""
    seed, render = spec["seed"], spec["render"]
    out: dict = {"index": index}

    rng = rng_for(seed, index, "camera")
    cam = render["camera"]
    out["width"], out["height"] = (int(v) for v in render["resolutions"][rng.integers(len(render["resolutions"]))])
    if cam.get("intrinsics") is not None:  # the calibration sets the size; the draw above keeps the stream
        out["width"], out["height"] = calibrated_size(cam["intrinsics"])
    out["camera"], position = _camera(rng, cam, out["width"], out["height"])
    out["cycles_seed"] = int(rng.integers(0, 2**31 - 1))

    rng, mrng = rng_for(seed, index, "objects"), rng_for(seed, index, "materials")
    arng, drng = rng_for(seed, index, "appearance"), rng_for(seed, index, "decals")
    placement = render["placement"]
    objects, placed = [], []
    for rig_name, rig in spec["rigs"].items():
        for slot in range(integer(rng, rig["instances"])):
            scale = uniform(rng, rig["scale"])
            loc = _place(rng, placed, rig_radii[rig_name] * scale, placement["spread"], placement["height"])
            placed.append((loc, rig_radii[rig_name] * scale))
            pose = rig["pose"]
            if pose["mode"] == "free":
                rot = random_rotation(rng)
            else:
                rot = upright_rotation(rng, math.radians(pose["tilt_deg"]))
            looks = {name: sample_look(mrng, arng, entry) for name, entry in sorted(rig["materials"].items())}
            mats = {name: look for name, look in looks.items() if look is not None}
            objects.append(
                {
                    "rig": rig_name,
                    "slot": slot,
                    "location": loc.tolist(),
                    "rotation": rot,
                    "scale": scale,
                    "materials": mats,
                }
            )
            if rig.get("decals"):  # drawn only when set: default renders keep their bytes
                objects[-1]["decals"] = sample_decals(drng, rig["decals"])
    out["objects"] = objects
    if any(posing.articulated(rig) for rig in spec["rigs"].values()):  # else nothing drawn: bytes kept
        bones_rng, keys_rng = rng_for(seed, index, "pose_bones"), rng_for(seed, index, "shape_keys")
        for o in objects:
            if posing.articulated(spec["rigs"][o["rig"]]):
                o["articulation"] = posing.sample_articulation(bones_rng, keys_rng, spec["rigs"][o["rig"]])

    rng = rng_for(seed, index, "distractors")
    dis = render["distractors"]
    cam_pos = position
    distractors = []
    for _ in range(integer(rng, dis["count"])):
        size = uniform(rng, dis["size"])
        if objects and rng.uniform() < dis["occluder_prob"]:
            obj = np.array(objects[rng.integers(len(objects))]["location"])
            loc = obj + rng.uniform(0.25, 0.6) * (cam_pos - obj) + rng.normal(0, 0.01, size=3)
        else:
            loc = _place(rng, placed, size, placement["spread"] * 1.5, placement["height"])
        distractors.append(
            {
                "shape": DISTRACTOR_SHAPES[rng.integers(len(DISTRACTOR_SHAPES))],
                "location": [float(v) for v in loc],
                "rotation": random_rotation(rng),
                "size": size,
                "material": sample_material(rng, DEFAULT_MATERIAL),
            }
        )
    meshes = dis.get("meshes")
    if meshes:  # drawn only when set, from their own stream: the primitives' draws stay as they were
        rng = rng_for(seed, index, "distractor_meshes")
        for d in distractors:
            if rng.uniform() < meshes["weight"]:
                d["mesh"] = int(rng.integers(len(meshes["files"])))
                d["mesh_size"] = float(rng.uniform(meshes["size"]["min"], meshes["size"]["max"]))
                look = sample_look(rng, rng, meshes["materials"])
                if look is not None:
                    d["mesh_material"] = look
    out["distractors"] = distractors

    rng = rng_for(seed, index, "lights")
    lights_cfg = render["lights"]
    lights = []
    for _ in range(integer(rng, lights_cfg["count"])):
        kind = lights_cfg["types"][rng.integers(len(lights_cfg["types"]))]
        loc = spherical_position(
            (0, 0, 0),
            uniform(rng, lights_cfg["distance"]),
            math.radians(rng.uniform(20, 85)),
            rng.uniform(0, 2 * math.pi),
        )
        lights.append(
            {
                "type": kind,
                "camera_like_matrix": look_at(loc, (0, 0, 0)).tolist(),  # lights shine along local -z
                "energy": uniform(rng, lights_cfg["sun_strength"] if kind == "SUN" else lights_cfg["energy_w"]),
                "color": [
                    float(c) for c in colorsys.hsv_to_rgb(rng.uniform(), uniform(rng, lights_cfg["saturation"]), 1.0)
                ],
                "size": float(rng.uniform(0.05, 0.3)),
                "spot_size": float(rng.uniform(math.radians(30), math.radians(90))),
            }
        )
    out["lights"] = lights

    rng = rng_for(seed, index, "world")
    out["world"] = {
        "hdri": HDRI_NAMES[rng.integers(len(HDRI_NAMES))],
        "strength": uniform(rng, lights_cfg["world_strength"]),
        "rotation": float(rng.uniform(0, 2 * math.pi)),
    }

    rng = rng_for(seed, index, "background")
    bg = render["background"]
    photos = spec.get("photos", [])
    kinds = ["hdri", "procedural", "photos"]
    weights = np.array([bg["hdri"], bg["procedural"], bg["photos"] if photos else 0.0])
    kind = kinds[rng.choice(3, p=weights / weights.sum())]
    background = {"kind": kind, "seed": int(rng.integers(0, 2**31 - 1))}
    if kind == "procedural":
        patterns = bg.get("patterns", DEFAULT_PATTERNS)
        background["pattern"] = patterns[rng.integers(len(patterns))]
        sat = bg.get("saturation", {"min": 1.0, "max": 1.0})
        if sat["min"] != 1.0 or sat["max"] != 1.0:  # drawn only when set: default renders keep their bytes
            background["saturation"] = uniform(rng, sat)
        if bg.get("brightness") is not None:  # drawn only when set, after the other draws: bytes kept
            background["brightness"] = uniform(rng, bg["brightness"])
    elif kind == "photos":
        background["photo"] = int(rng.integers(len(photos)))
    out["background"] = background
    return out


DEFAULT_MATERIAL = {
    "hue": {"min": 0.0, "max": 1.0},
    "saturation": {"min": 0.0, "max": 0.9},
    "value": {"min": 0.1, "max": 0.95},
    "roughness": {"min": 0.1, "max": 0.9},
    "metallic": {"min": 0.0, "max": 0.5},
    "texture_strength": {"min": 0.0, "max": 0.6},
    "texture_scale": {"min": 5.0, "max": 80.0},
}
