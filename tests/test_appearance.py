"""Looks without Blender: the materials/decals/mesh-distractor schema, their draws and the files they name."""

from __future__ import annotations

import copy
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from blender.surfaces.appearance import cylinder_frame, planar_frame, sample_decals, sample_jitter
from common import render_spec as spec_types
from common.typed_json import from_dict
from pipeline.authoring.preview import turntable_scenes
from pipeline.rendering.appearance_spec import image_aspect, mesh_files
from pipeline.rendering.blender_runner import make_spec
from pipeline.schema import ParamsError, load_params
from pipeline.schema.appearance_params import Decal, JitterMaterial, KeepMaterial, MaterialRanges, MeshDistractors
from pipeline.schema.rigs_params import Rig
from tests.support import ROOT
from tests.support.mesh_writers import write_obj_box, write_png
from tests.support.params import built_example, tiny_params, write_params
from tests.support.specs import sampled, typed_part, typed_rig

RADII = {"glue_tube": 0.05, "box": 0.07}


def rig(**extra) -> dict:
    return {"mesh": {"type": "box"}, "keypoints": [{"name": "a", "position": [0, 0, 0]}], **extra}


# ---------------------------------------------------------------- schema


def test_material_entries_read_as_words_or_maps_and_old_params_mean_replace():
    r = Rig.model_validate(
        rig(
            materials={
                "a": "keep",
                "b": "jitter",
                "c": {"hue": [0, 0.5]},
                "d": {"mode": "replace", "value": 0.5},
                "e": {"mode": "jitter", "value_scale": [0.5, 0.9], "wear": {"dust": [0, 0.3]}},
            }
        )
    )
    m = r.materials
    assert isinstance(m["a"], KeepMaterial) and isinstance(m["b"], JitterMaterial)
    assert isinstance(m["c"], MaterialRanges) and isinstance(m["d"], MaterialRanges)
    assert m["d"].value.as_list() == [0.5, 0.5] and m["e"].wear.dust.as_list() == [0, 0.3]
    dumped = r.model_dump(mode="json")["materials"]
    assert "mode" not in dumped["c"] and "mode" not in dumped["d"]  # the spec of old params keeps its bytes
    assert dumped["a"] == {"mode": "keep"} and dumped["e"]["mode"] == "jitter"


@pytest.mark.parametrize(
    "materials, words",
    [
        ({"body": "kep"}, "expected mode replace, keep or jitter"),
        ({"body": {"mode": "keep", "hue": [0, 1]}}, "hue"),
        ({"body": {"mode": "jitter", "hue_shift": [-0.7, 0]}}, "hue_shift"),
        ({"body": {"mode": "jitter", "value_scale": [-1, 1]}}, "value_scale"),
        ({"body": {"mode": "jitter", "roughness_offset": [0, 2]}}, "roughness_offset"),
        ({"body": {"mode": "jitter", "wear": {"dust": [0, 1.5]}}}, "dust"),
    ],
)
def test_bad_material_entries_name_their_key(tmp_path, materials, words):
    data = tiny_params()
    data["rigs"]["box"]["materials"] = materials
    with pytest.raises(ParamsError) as err:
        load_params(write_params(tmp_path / "p.yaml", data))
    assert "rigs.box.materials.body" in str(err.value) and words in str(err.value)


def test_decal_and_mesh_distractor_schema():
    with pytest.raises(ValidationError, match="radius"):
        Rig.model_validate(rig(decals=[{"image": "l.png", "projection": "cylinder", "width": 0.01}]))
    with pytest.raises(ValidationError, match="width"):
        Rig.model_validate(rig(decals=[{"image": "l.png"}]))
    with pytest.raises(ValidationError, match="axis"):
        Rig.model_validate(rig(decals=[{"image": "l.png", "width": 0.01, "axis": "z"}]))
    d = Rig.model_validate(rig(decals=[{"image": "l.png", "width": [0.01, 0.02]}])).decals[0]
    assert d.slots == ["*"] and d.projection == "planar" and d.axis == "+z" and d.height is None
    m = MeshDistractors.model_validate({"paths": "clutter"})
    assert m.paths == [Path("clutter")] and isinstance(m.materials, KeepMaterial)
    assert isinstance(MeshDistractors.model_validate({"paths": ["a"], "materials": "jitter"}).materials, JitterMaterial)


# ---------------------------------------------------------------- draws


def spec_with(tmp_path, **rig_extra) -> dict:
    data = tiny_params(8)
    data["rigs"]["box"].update(rig_extra)
    pfile = write_params(tmp_path / "p.yaml", data)
    return make_spec(load_params(pfile), pfile)


def test_new_looks_draw_from_their_own_streams_and_change_nothing_else(tmp_path):
    """keep, jitter, decals and mesh distractors only add keys: every other value of every image stays."""
    write_png(tmp_path / "label.png", np.zeros((10, 40, 4), np.uint8))
    (tmp_path / "clutter").mkdir()
    write_obj_box(tmp_path / "clutter" / "cube.obj", (1, 1, 1))
    plain = spec_with(tmp_path)
    assert "decals" not in plain["rigs"]["box"] and "meshes" not in plain["render"]["distractors"]
    replace = plain["rigs"]["box"]["materials"]["*"]
    plain["rigs"]["box"]["materials"]["zzz"] = replace  # drawn after the new entries' names: their draws would show
    rich = copy.deepcopy(plain)
    rich["rigs"]["box"]["materials"] = {
        "*": replace,
        "zzz": replace,
        "extra": {"mode": "keep"},
        "zz": JitterMaterial(mode="jitter").model_dump(mode="json"),
    }
    decal = Decal(image="label.png", probability=0.5, u=[0, 1], v=[0, 1], width=[1, 2], rotation_deg=[0, 90])
    rich["rigs"]["box"]["decals"] = [decal.model_dump(mode="json") | {"aspect": 0.25}]
    rich["render"]["distractors"]["count"] = plain["render"]["distractors"]["count"] = {"min": 2, "max": 3}
    meshes = MeshDistractors(paths=["clutter"], weight=0.5, size=[0.03, 0.1], materials="keep")
    rich["render"]["distractors"]["meshes"] = meshes.model_dump(mode="json") | {"files": ["a.obj", "b.obj"]}
    for i in range(8):
        a, b = sampled(plain, i, RADII), sampled(rich, i, RADII)
        for o in b["objects"]:
            if o["rig"] == "box":
                assert o["materials"].pop("zz")["mode"] == "jitter" and "extra" not in o["materials"]
                assert len(o.pop("decals")) == 1
        for d in b["distractors"]:
            for key in ("mesh", "mesh_size"):
                d.pop(key, None)
        assert a == b


def test_jitter_and_decal_draws_stay_in_their_ranges(tmp_path):
    cfg = typed_part(
        spec_types.JitterMaterial,
        JitterMaterial,
        {
            "mode": "jitter",
            "hue_shift": [-0.1, 0.05],
            "saturation_scale": [0.5, 0.6],
            "value_scale": [1, 1.5],
            "roughness_offset": [-0.2, 0],
            "wear": {"dust": [0.1, 0.2], "size": [0.01, 0.02]},
        },
    )
    params = Decal(image="d.png", probability=0.3, u=[-1, 1], v=[2, 3], width=[4, 5], rotation_deg=[-90, 90])
    decal = from_dict(spec_types.Decal, params.model_dump(mode="json") | {"aspect": 0.5})
    rng = np.random.default_rng(0)
    jit = [sample_jitter(rng, cfg) for _ in range(300)]
    places = [sample_decals(rng, [decal])[0] for _ in range(300)]
    for name, lo, hi in (
        ("hue_shift", -0.1, 0.05),
        ("saturation_scale", 0.5, 0.6),
        ("value_scale", 1, 1.5),
        ("roughness_offset", -0.2, 0),
    ):
        values = np.array([j[name] for j in jit])
        assert values.min() >= lo and values.max() <= hi and np.ptp(values) > 0.8 * (hi - lo)
    assert all(0.1 <= j["wear"]["dust"] <= 0.2 and 0.01 <= j["wear"]["size"] <= 0.02 for j in jit)
    assert all(j["metallic_offset"] == 0 for j in jit)
    assert all(p["height"] == pytest.approx(0.5 * p["width"]) and 4 <= p["width"] <= 5 for p in places)
    assert all(abs(p["rotation"]) <= math.pi / 2 and -1 <= p["u"] <= 1 and 2 <= p["v"] <= 3 for p in places)
    assert 0.2 < np.mean([p["shown"] for p in places]) < 0.4
    fixed = sample_decals(np.random.default_rng(0), [replace(decal, height=spec_types.Range(min=7, max=8))])[0]
    assert 7 <= fixed["height"] <= 8


def test_mesh_distractors_take_their_share_and_size(tmp_path):
    (tmp_path / "clutter").mkdir()
    write_obj_box(tmp_path / "clutter" / "cube.obj", (1, 1, 1))
    write_obj_box(tmp_path / "clutter" / "slab.obj", (1, 1, 0.1))
    data = tiny_params(
        60,
        distractors={
            "count": [3, 3],
            "meshes": {"paths": ["clutter"], "weight": 0.25, "size": [0.05, 0.06], "materials": "jitter"},
        },
    )
    pfile = write_params(tmp_path / "p.yaml", data)
    spec = make_spec(load_params(pfile), pfile)
    assert [Path(f).name for f in spec["render"]["distractors"]["meshes"]["files"]] == ["cube.obj", "slab.obj"]
    ds = [d for i in range(60) for d in sampled(spec, i, RADII)["distractors"]]
    meshes = [d for d in ds if "mesh" in d]
    assert 0.15 < len(meshes) / len(ds) < 0.35
    assert {d["mesh"] for d in meshes} == {0, 1}
    assert all(0.05 <= d["mesh_size"] <= 0.06 and d["mesh_material"]["mode"] == "jitter" for d in meshes)


def test_decal_frames_read_unmirrored_from_where_they_face():
    for axis in ("+x", "-x", "+y", "-y", "+z", "-z"):
        right, up, n = planar_frame(axis)
        assert np.allclose(np.cross(right, up), n) and np.allclose(np.abs(n).sum(), 1)
        a, b, n2 = cylinder_frame(axis)
        assert np.allclose(np.cross(a, b), n2) and np.allclose(n, n2) and a @ n == 0
    assert np.allclose(planar_frame("+z")[0], [1, 0, 0]) and np.allclose(planar_frame("-y")[0], [1, 0, 0])
    assert np.allclose(cylinder_frame("+x")[0], [0, 1, 0]) and np.allclose(cylinder_frame("+x")[1], [0, 0, 1])


def test_preview_draws_replace_once_and_jitter_per_view():
    box = {"mesh": {"type": "box"}, "keypoints": [{"name": "c", "position": [0, 0, 0]}]}
    spec = typed_rig({**box, "materials": {"body": {}, "cap": "jitter"}})
    scenes = turntable_scenes("r", spec, [0, 0, 0], 0.05, 4, 64, 30.0, seed=1)
    mats = [s["objects"][0]["materials"] for s in scenes]
    assert all(m["body"] == mats[0]["body"] for m in mats)
    assert len({m["cap"]["hue_shift"] for m in mats}) == 4
    assert (
        mats[0]["body"]["color"]
        == turntable_scenes("r", typed_rig({**box, "materials": {"body": {}}}), [0, 0, 0], 0.05, 1, 64, 30.0, seed=1)[
            0
        ]["objects"][0]["materials"]["body"]["color"]
    )


# ---------------------------------------------------------------- files named by params


def test_decal_images_are_checked_when_rendering_starts(tmp_path):
    write_png(tmp_path / "ok.png", np.zeros((10, 40, 4), np.uint8))
    assert image_aspect(tmp_path / "ok.png", "k") == 0.25
    (tmp_path / "bad.png").write_bytes(b"\x89PNG but not really")
    with pytest.raises(ParamsError, match=r"^rigs.box.decals\[0\].image: cannot read .*bad.png"):
        image_aspect(tmp_path / "bad.png", "rigs.box.decals[0].image")
    data = tiny_params()
    data["rigs"]["box"]["decals"] = [{"image": "gone.png", "width": 0.01}]
    pfile = write_params(tmp_path / "p.yaml", data)
    params = load_params(pfile)  # other stages load params without the image
    with pytest.raises(ParamsError) as err:
        make_spec(params, pfile)
    assert str(err.value).count("\n") == 0 and str(err.value).startswith("rigs.box.decals[0].image: image ")
    data["rigs"]["box"]["decals"][0]["image"] = "ok.png"
    spec = make_spec(load_params(write_params(tmp_path / "p.yaml", data)), pfile)
    assert spec["rigs"]["box"]["decals"][0]["aspect"] == 0.25
    assert spec["rigs"]["box"]["decals"][0]["image"] == str((tmp_path / "ok.png").resolve())


def test_distractor_mesh_paths(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParamsError, match=r"^k\[0\]: no mesh files .* in folder .*empty$"):
        mesh_files(["empty"], tmp_path, "k")
    with pytest.raises(ParamsError, match=r"^k\[1\]: .*nowhere not found$"):
        (tmp_path / "a.ply").write_text("ply\n")
        mesh_files(["a.ply", "nowhere"], tmp_path, "k")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ParamsError, match="not a mesh file"):
        mesh_files(["notes.txt"], tmp_path, "k")
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "b.OBJ").write_text("v 0 0 0\n")
    (tmp_path / "deep" / "skip.png").write_bytes(b"")
    got = mesh_files(["deep", "a.ply", "deep/er/b.OBJ"], tmp_path, "k")
    assert [Path(p).name for p in got] == ["b.OBJ", "a.ply"]


def test_shipped_params_make_the_same_spec_keys_as_before(tmp_path):
    """No decals and no mesh distractors: the spec has no new keys (its bytes, and so DVC's hash, stay)."""
    for path in [ROOT / "params.yaml", *sorted((ROOT / "examples").glob("*/params.yaml"))]:
        raw = yaml.safe_load(path.read_text())
        if "decals" in str(raw) or "meshes" in str(raw.get("render", {}).get("distractors", {})):
            continue
        path = built_example(path, tmp_path / path.parent.name) if path.parent != ROOT else path
        spec = make_spec(load_params(path), path)
        assert all("decals" not in r for r in spec["rigs"].values())
        assert "meshes" not in spec["render"]["distractors"]


def test_the_textured_example_ships_what_its_script_writes(tmp_path):
    """examples/textured: every mesh, texture and decal is made by make_assets.py (so it may ship)."""
    import subprocess
    import sys

    example = ROOT / "examples" / "textured"
    proc = subprocess.run(
        [sys.executable, str(example / "make_assets.py"), "--out", str(tmp_path)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    shipped = sorted(
        p.relative_to(example) for p in example.rglob("*") if p.is_file() and p.suffix not in (".py", ".yaml", ".md")
    )
    assert made == shipped and len(made) >= 10
    for rel in made:
        assert (tmp_path / rel).read_bytes() == (example / rel).read_bytes(), rel


def test_the_label_decal_variant_differs_from_the_glue_tube_example_only_where_it_says():
    base_path = ROOT / "examples" / "glue_tubes_real" / "params.yaml"
    variant_path = ROOT / "examples" / "glue_tubes_real" / "params_label_decal.yaml"
    base, variant = (yaml.safe_load(p.read_text()) for p in (base_path, variant_path))
    tube, vtube = base["rigs"]["glue_tube"], variant["rigs"]["glue_tube"]
    assert tube["materials"]["label"]["pictograms"] and "pictograms" not in vtube["materials"]["label"]
    assert [d["axis"] for d in vtube.pop("decals")] == ["+z", "-z"]
    for t in (tube, vtube):
        t["materials"].pop("label")
    assert vtube == tube
    assert variant["render"]["distractors"]["meshes"]["paths"] == ["examples/textured/clutter"]
    for p in (base, variant):
        p["render"].pop("distractors")
        p["rigs"] = None
    assert variant == base
    # the decal sits on the body: from the crimped end (x = -length/2) to the cap (length/2 - cap_length)
    mesh = tube["mesh"]
    front = yaml.safe_load(variant_path.read_text())["rigs"]["glue_tube"]["decals"][0]
    assert np.mean(front["u"]) == pytest.approx(-mesh["cap_length"] / 2)
    assert np.mean(front["width"]) == pytest.approx(mesh["length"] - mesh["cap_length"])


def names_of(words: list[str]) -> str:
    return words[words.index("-n") + 1]


def test_the_label_decal_script_runs_valid_experiments(tmp_path):
    """run_label_decal.sh: nine `dvc exp run` (renders alone, renders + 10 photos, and the decal
    without the clutter; seeds 0-2) whose -S values DVC applies to params_label_decal.yaml and
    that validate."""
    import shlex

    from dvc.utils.hydra import apply_overrides

    folder = ROOT / "examples" / "glue_tubes_real"
    script = (folder / "run_label_decal.sh").read_text()
    test_files = shlex.split(next(line for line in script.splitlines() if line.startswith("TEST=")))[0][5:]
    runs = []
    for seed in (0, 1, 2):
        for block in script.split("for seed in 0 1 2; do")[1:]:
            body = block.split("done")[0].replace("\\\n", " ").replace('"$TEST"', shlex.quote(test_files))
            runs.append(shlex.split(body.replace("$seed", str(seed))))
    names = set()
    for words in runs:
        assert words[:3] == ["dvc", "exp", "run"], words
        names.add(names_of(words))
        run = tmp_path / "params.yaml"
        run.write_text((folder / "params_label_decal.yaml").read_text())
        apply_overrides(str(run), [words[i + 1] for i, w in enumerate(words) if w == "-S"])
        p = load_params(run)
        assert p.train.iterations == 4000 and p.mix.real[0].test_files == ["IMG_488[4-9]_*", "IMG_489*", "IMG_49*"]
        clutter = p.render.distractors.meshes is not None
        assert clutter == ("noclutter" not in names_of(words)), words
    assert len(names) == 9
