"""Rigs that move, in real renders: keypoints on bones and on the deformed mesh against forward
kinematics written out here, posed geometry in the visibility ray casts, shape keys, action
blends, the same bytes across shards, and rigs that do not fit their file named before rendering.

The rig: a two-bone chain in a .blend written in centimetres (unit_scale 0.01), its armature
object moved to (1, 2, 0) cm; bone b1 from (0, 0, 0) to (0, 0, 5), b2 from there to (0, 0, 9),
both along +z with roll 0, so each bone's x axis is the world x axis. The only visible mesh is a
marker sphere (radius 0.6 cm) centred on b2's tail and weighted 1.0 to b2; its shape key `shift`
moves it 2 cm along x. An empty `probe_end` is parented to b2 at its tail.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from blender.codecs.exr import find_channel, read_exr
from blender.optics.camera import look_at
from pipeline.rendering.blender_runner import RenderError, check_rigs, make_spec
from pipeline.rendering.render_dataset import render_dataset
from pipeline.schema import load_params
from tests.support import ROOT, needs_bpy
from tests.support.params import built_example, write_params
from tests.support.renders import base_scene, material, render_scenes
from tests.support.specs import sampled

pytestmark = [pytest.mark.slow, needs_bpy]

CM = 0.01
OFFSET = np.array([1.0, 2.0, 0.0]) * CM  # the armature object's location, metres
L1, L2, RADIUS, SHIFT = 5 * CM, 4 * CM, 0.6 * CM, 2 * CM

CHAIN = r"""
import sys, bpy, bmesh
from mathutils import Matrix, Quaternion
out = sys.argv[-1]
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
arm_data = bpy.data.armatures.new("chain")
arm = bpy.data.objects.new("chain", arm_data)
scene.collection.objects.link(arm)
bpy.context.view_layer.objects.active = arm
bpy.ops.object.mode_set(mode="EDIT")
b1 = arm_data.edit_bones.new("b1"); b1.head, b1.tail, b1.roll = (0, 0, 0), (0, 0, 5), 0
b2 = arm_data.edit_bones.new("b2"); b2.head, b2.tail, b2.roll = (0, 0, 5), (0, 0, 9), 0
b2.parent, b2.use_connect = b1, True
bpy.ops.object.mode_set(mode="OBJECT")
arm.location = (1, 2, 0)
arm.pose.bones["b2"].lock_rotation[1] = True
mesh = bpy.data.meshes.new("marker")
bm = bmesh.new(); bmesh.ops.create_uvsphere(bm, u_segments=32, v_segments=16, radius=0.6)
bmesh.ops.translate(bm, verts=bm.verts, vec=(0, 0, 9)); bm.to_mesh(mesh); bm.free()
obj = bpy.data.objects.new("marker", mesh); scene.collection.objects.link(obj)
everything = list(range(len(mesh.vertices)))
obj.vertex_groups.new(name="b2").add(everything, 1.0, "REPLACE")
obj.vertex_groups.new(name="marker").add(everything, 1.0, "REPLACE")
obj.shape_key_add(name="Basis")
shift = obj.shape_key_add(name="shift")
for p in shift.data:
    p.co.x += 2.0
shift.value = 0.0  # saved at 0: the rest pose shows the sphere on b2's tail
obj.modifiers.new("armature", "ARMATURE").object = arm
obj.parent = arm  # the mesh's object space is the armature's
probe = bpy.data.objects.new("probe_end", None); scene.collection.objects.link(probe)
probe.parent, probe.parent_type, probe.parent_bone = arm, "BONE", "b2"
bpy.context.view_layer.update()
probe.matrix_world = Matrix.Translation((1, 2, 9))
for name, angle in (("straight", 0.0), ("bent", 1.5707963267948966)):
    pb = arm.pose.bones["b1"]
    pb.rotation_mode = "QUATERNION"
    pb.rotation_quaternion = Quaternion((1, 0, 0), angle)
    arm.keyframe_insert(data_path='pose.bones["b1"].rotation_quaternion', frame=1)
    action = arm.animation_data.action
    action.name, action.use_fake_user = name, True
    arm.animation_data.action = None
arm.pose.bones["b1"].rotation_quaternion = (1, 0, 0, 0)
bpy.ops.wm.save_as_mainfile(filepath=out + "/chain.blend")
"""


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chain")
    proc = subprocess.run([sys.executable, "-c", CHAIN, str(folder)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return folder / "chain.blend"


def rig(blend, **extra) -> dict:
    return {
        "mesh": {"type": "file", "path": str(blend), "object": "marker", "unit_scale": CM},
        "keypoints": [
            {"name": "tip", "bone": "b2", "bone_end": "tail", "tolerance": 0.01},
            {"name": "marker", "vertex_group": "marker", "tolerance": 0.01},
            {"name": "probe", "empty": "probe_end", "tolerance": 0.01},
            {"name": "root", "bone": "b1"},
            {"name": "fixed", "position": [0, 6, 0]},  # the mesh's object space, cm: (1, 8, 0) cm in the rig frame
        ],
        "pose_bones": {"b1": {"x": [-60, 60]}, "b2": {"x": [0, 90]}},
        **extra,
    }


def rx(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def forward_kinematics(t1: float, t2: float, shift: float = 0.0) -> dict[str, np.ndarray]:
    """Rig-frame positions (metres) of b2's tail and of the marker's centre, by hand."""
    head2 = rx(t1) @ [0, 0, L1]
    tail = head2 + rx(t1) @ rx(t2) @ [0, 0, L2]
    centre = head2 + rx(t1) @ rx(t2) @ np.array([shift * SHIFT, 0, L2])
    return {"tip": OFFSET + tail, "marker": OFFSET + centre, "root": OFFSET.copy()}


def quat_matrix(q) -> np.ndarray:
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def pinhole(scene: dict, points) -> np.ndarray:
    """Camera looking along its -z (Blender), x right, y up: the textbook projection written out."""
    c2w = np.array(scene["camera"]["camera_to_world"])
    cam = (np.atleast_2d(points) - c2w[:3, 3]) @ c2w[:3, :3]
    f = scene["camera"]["focal_mm"] / scene["camera"]["sensor_mm"] * scene["width"]
    return np.stack(
        [scene["width"] / 2 + f * cam[:, 0] / -cam[:, 2], scene["height"] / 2 - f * cam[:, 1] / -cam[:, 2]], 1
    )


def to_world(o: dict, p: np.ndarray) -> np.ndarray:
    return np.asarray(o["location"]) + o["scale"] * quat_matrix(o["rotation"]) @ p


PARAMS = {
    "seed": 11,
    "render": {
        "num_images": 6,
        "resolutions": [[160, 120], [120, 160]],
        "samples": 48,
        "denoise": False,
        "min_visible_px": 1,
        "shard_size": 6,
        "camera": {"distance": [0.25, 0.3], "focal_mm": [35, 35], "look_jitter": 0.005, "elevation_deg": [10, 80]},
        "placement": {"spread": 0.01, "height": [0.0, 0.01]},
        "distractors": {"count": [0, 0]},
        "background": {"hdri": 0, "procedural": 1},
    },
}


def test_tip_keypoints_and_rendered_marker_follow_forward_kinematics(chain, tmp_path):
    """Sampled angles (from the seed, recomputed here) through the forward kinematics above give the
    annotated bone tail, deformed-mesh centroid and bone-parented empty, and the rendered marker's
    centre (its alpha centroid: Cycles' own rays), to 0.5 px."""
    params = {**PARAMS, "rigs": {"arm": rig(chain)}}
    out = render_scenes(tmp_path, params, None)
    spec = json.loads((tmp_path / "spec.json").read_text())  # what the render read
    facts = check_rigs(tmp_path / "spec.json", tmp_path / "check", None)["arm"]
    coco = json.loads((out / "annotations.json").read_text())
    names = coco["categories"][0]["keypoints"]
    judged, angles = 0, []
    for image in coco["images"]:
        scene = sampled(spec, image["id"] - 1, {"arm": facts["radius"]})
        (o,) = scene["objects"]
        t1, t2 = o["articulation"]["bones"]["b1"][0], o["articulation"]["bones"]["b2"][0]
        angles.append((t1, t2))
        meta = json.loads((out / image["meta_file"]).read_text())
        assert meta["objects"][0]["articulation"] == o["articulation"]
        fk = {k: to_world(o, v) for k, v in forward_kinematics(t1, t2).items()}
        expected = {"tip": fk["tip"], "marker": fk["marker"], "probe": fk["tip"], "root": fk["root"]}
        world = dict(zip(names, np.array(meta["objects"][0]["keypoints_world"])))
        for n, p in expected.items():
            assert np.abs(world[n] - p).max() < 2e-6, (n, world[n], p)  # metres: float32 vertices
        (ann,) = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
        kp = dict(zip(names, np.array(ann["keypoints"]).reshape(-1, 3)))
        for n, p in expected.items():
            if kp[n][2] > 0:
                assert np.abs(kp[n][:2] - pinhole(scene, p)[0]).max() < 0.01, (n, kp[n], pinhole(scene, p))
        alpha = find_channel(read_exr(out / "passes" / f"{image['id'] - 1:06d}.exr"), ("Combined",), "A")
        if alpha[0].any() or alpha[-1].any() or alpha[:, 0].any() or alpha[:, -1].any():
            continue  # the marker is cut by the frame edge: its centroid is biased
        rows, cols = np.mgrid[0 : alpha.shape[0], 0 : alpha.shape[1]] + 0.5
        centre = np.array([(alpha * cols).sum(), (alpha * rows).sum()]) / alpha.sum()
        assert np.hypot(*(centre - pinhole(scene, fk["marker"])[0])) < 0.5
        judged += 1
    assert judged >= 4
    assert np.ptp([a[0] for a in angles]) > math.radians(30)  # the poses differ from image to image


def test_the_same_seed_gives_the_same_bytes_in_one_shard_or_three(chain, tmp_path):
    params = {**PARAMS, "rigs": {"arm": rig(chain, instances=[2, 3], shape_keys={"shift": [0, 1]})}}
    params["render"] = {**PARAMS["render"], "resolutions": [[64, 48]], "samples": 4, "shard_size": 6}
    outs = []
    for name, shard_size, workers in (("one", 6, 1), ("three", 2, 2)):
        pfile = write_params(
            tmp_path / f"{name}.yaml", {**params, "render": {**params["render"], "shard_size": shard_size}}
        )
        render_dataset(load_params(pfile), pfile, tmp_path / name, workers=workers, progress=False)
        outs.append(tmp_path / name)
    a, b = outs
    assert (a / "annotations.json").read_bytes() == (b / "annotations.json").read_bytes()
    for png in sorted((a / "images").iterdir()):
        assert png.read_bytes() == (b / "images" / png.name).read_bytes()
    shown = [o for m in sorted((a / "meta").iterdir()) for o in json.loads(m.read_text())["objects"]]
    assert len(shown) >= 12  # several instances per image, each posed on its own
    assert len({o["articulation"]["shape_keys"]["shift"] for o in shown}) == len(shown)


def test_posed_geometry_hides_keypoints_and_shape_keys_and_actions_move_them(chain, tmp_path):
    """Explicit poses seen from +y: bent toward the camera (b1 -90 degrees) the marker hides the
    fixed keypoint behind it, straight up it does not; shape key 0.5 moves the marker 1 cm along
    the bone's x axis; halfway between the actions `straight` and `bent` is b1 at 45 degrees."""
    params = {
        **PARAMS,
        "rigs": {"arm": rig(chain, shape_keys={"shift": [0, 1]}, pose_actions={"names": ["straight", "bent"]})},
    }
    params["render"] = {**PARAMS["render"], "samples": 4}
    cam = look_at((0.01, 0.4, 0.0), (0.01, 0.0, 0.0))
    poses = [
        {
            "actions": ["straight"],
            "blend": 0.0,
            "bones": {"b1": [-math.pi / 2, 0, 0], "b2": [0, 0, 0]},
            "shape_keys": {"shift": 0.0},
        },
        {
            "actions": ["straight"],
            "blend": 0.0,
            "bones": {"b1": [0, 0, 0], "b2": [0, 0, 0]},
            "shape_keys": {"shift": 0.0},
        },
        {
            "actions": ["straight", "bent"],
            "blend": 0.5,
            "bones": {"b1": [0, 0, 0], "b2": [0.3, 0, 0]},
            "shape_keys": {"shift": 0.5},
        },
    ]
    scenes = []
    for pose in poses:
        s = base_scene(160, 120, cam, 35.0)
        s["objects"] = [
            {
                "rig": "arm",
                "slot": 0,
                "location": [0, 0, 0],
                "rotation": [1, 0, 0, 0],
                "scale": 1.0,
                "materials": {"*": material()},
                "articulation": pose,
            }
        ]
        scenes.append(s)
    out = render_scenes(tmp_path, params, scenes, keep_passes=False)
    coco = json.loads((out / "annotations.json").read_text())
    names = coco["categories"][0]["keypoints"]
    v = [dict(zip(names, np.array(a["keypoints"]).reshape(-1, 3)[:, 2])) for a in coco["annotations"]]
    fixed = OFFSET + np.array([0, 6 * CM, 0])
    assert v[0]["fixed"] == 1 and v[1]["fixed"] == 2  # hidden by the posed marker, seen at rest
    assert v[0]["tip"] == 2 and v[1]["tip"] == 2
    metas = [json.loads((out / "meta" / f"{i:06d}.json").read_text()) for i in range(3)]
    world = [dict(zip(names, np.array(m["objects"][0]["keypoints_world"]))) for m in metas]
    assert np.abs(world[0]["fixed"] - fixed).max() < 1e-6
    expected = forward_kinematics(math.pi / 4, 0.3, shift=0.5)
    for n in ("tip", "marker", "root"):
        assert np.abs(world[2][n] - expected[n]).max() < 2e-6, (n, world[2][n], expected[n])
    assert np.abs(world[2]["probe"] - expected["tip"]).max() < 2e-6


@pytest.mark.parametrize(
    "change, fragments",
    [
        ({"pose_bones": {"b9": {"x": [0, 10]}}}, ["rigs.arm.pose_bones.b9: no bone 'b9'", "['b1', 'b2']"]),
        ({"pose_bones": {"b2": {"y": [0, 10]}}}, ["rigs.arm.pose_bones.b2.y: the bone's Y rotation is locked"]),
        ({"shape_keys": {"grow": [0, 1]}}, ["rigs.arm.shape_keys.grow: no shape key 'grow'", "shift"]),
        ({"shape_keys": {"shift": [0, 2]}}, ["rigs.arm.shape_keys.shift: range [0.0, 2.0] leaves the key's slider"]),
        ({"pose_actions": {"names": ["wave"]}}, ["rigs.arm.pose_actions.names: no action 'wave'", "bent"]),
        ({"keypoints": [{"name": "k", "bone": "b7"}]}, ["rigs.arm.keypoints[0] (k).bone: no bone 'b7'"]),
        ({"symmetry": {"permutations": [{"tip": "root"}]}}, ["rigs.arm.symmetry.permutations[0]: not a permutation"]),
        (
            {"symmetry": {"permutations": [{"tip": "elbow", "elbow": "tip"}]}},
            ["rigs.arm.symmetry.permutations[0]: 'elbow' is not a keypoint"],
        ),
        ({"symmetry": {"rotations": [{"axis": "z", "order": 2}]}}, ["rigs.arm.symmetry.rotations[0]: maps keypoint"]),
    ],
)
def test_a_rig_that_does_not_fit_its_file_is_named_before_rendering(chain, tmp_path, change, fragments):
    pfile = write_params(tmp_path / "params.yaml", {**PARAMS, "rigs": {"arm": {**rig(chain), **change}}})
    spec = make_spec(load_params(pfile), pfile)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    with pytest.raises(RenderError) as err:
        check_rigs(tmp_path / "spec.json", tmp_path / "out", None)
    for f in fragments:
        assert f in str(err.value), str(err.value)


def test_up_axis_and_rotation_turn_bones_empties_groups_and_positions_alike(chain, tmp_path):
    """The chain turned by `up_axis: -x` and `rotation_deg`, posed (its own armature) and baked
    (no pose ranges): every rest keypoint is the unturned one times the turn, written out here."""
    turn = {"up_axis": "-x", "rotation_deg": [0, 0, 30]}
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    # -x up: +90 degrees about y, (x, y, z) -> (z, y, -x); then 30 degrees about z
    r = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ np.array([[0, 0, 1], [0, 1, 0], [-1, 0, 0]])
    base = rig(chain)
    baked = {k: v for k, v in base.items() if k != "pose_bones"}
    rigs = {
        "posed": base,
        "posed_turned": {**base, "mesh": {**base["mesh"], **turn}},
        "baked": baked,
        "baked_turned": {**baked, "mesh": {**baked["mesh"], **turn}},
    }
    facts = {}
    for name, one in rigs.items():  # one Blender each: a .blend read twice renames its objects
        (tmp_path / name).mkdir()
        pfile = write_params(tmp_path / name / "params.yaml", {**PARAMS, "rigs": {name: one}})
        (tmp_path / name / "spec.json").write_text(json.dumps(make_spec(load_params(pfile), pfile)))
        facts.update(check_rigs(tmp_path / name / "spec.json", tmp_path / name / "out", None))
    for kind in ("posed", "baked"):
        plain = np.array(facts[kind]["keypoints_local"])
        assert plain[4] == pytest.approx(OFFSET + [0, 6 * CM, 0], abs=1e-6)  # `fixed`, before the turn
        assert np.array(facts[f"{kind}_turned"]["keypoints_local"]) == pytest.approx(plain @ r.T, abs=1e-6), kind
        assert facts[f"{kind}_turned"]["radius"] == pytest.approx(facts[kind]["radius"], abs=1e-6)


def test_the_pliers_example_opens_and_closes_with_its_keypoints_on_the_jaws(tmp_path):
    """examples/pliers, built by its script: per instance the jaw tips sit where the sampled jaw
    angles put them (turns about the hinge axis, written out), the hinge stays put, and the labels
    are in the canonical order of the declared symmetry."""
    pfile = built_example(ROOT / "examples" / "pliers" / "params.yaml", tmp_path)
    params = load_params(
        pfile, {"render.num_images": 4, "render.resolutions": [[96, 72]], "render.samples": 4, "render.denoise": False}
    )
    data = render_dataset(params, pfile, tmp_path / "out", workers=1, progress=False)
    cat = data["categories"][0]
    names, group = cat["keypoints"], cat["rig"]["symmetry_permutations"]
    assert group == [[0, 1, 2, 3, 4], [1, 0, 2, 4, 3]]
    openings = []
    for image in data["images"]:
        meta = json.loads((tmp_path / "out" / image["meta_file"]).read_text())
        for o in meta["objects"]:
            m = np.array(o["object_to_world"])
            scale = np.linalg.norm(m[:3, 0])
            local = (np.array(o["keypoints_world"]) - m[:3, 3]) @ m[:3, :3] / scale**2  # rig frame, metres
            a, b = o["articulation"]["bones"]["jaw_a"][2], o["articulation"]["bones"]["jaw_b"][2]
            assert 0 <= a <= math.radians(15) and -math.radians(15) <= b <= 0
            tips = {"jaw_a_tip": rz(a) @ [0.05, 0.001, 0], "jaw_b_tip": rz(b) @ [0.05, -0.001, 0]}
            p = o["symmetry_permutation"]
            got = dict(zip(names, local))
            for slot, name in enumerate(names[:2]):  # slot i holds the point of keypoint p[i]
                assert np.abs(got[name] - tips[names[p[slot]]]).max() < 1e-6
            assert np.abs(got["hinge"]).max() < 1e-6
            openings.append(math.degrees(a - b))
    for a in data["annotations"]:
        kp = np.array(a["keypoints"]).reshape(-1, 3)
        keys = [[(0, y, x) if v > 0 else (1, 0, 0) for x, y, v in kp[p]] for p in group]
        assert keys[0] == min(keys)
    assert len(openings) >= 4 and max(openings) - min(openings) > 5  # open in one image, closed in another


def rz(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
