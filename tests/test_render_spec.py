"""common/render_spec.py and common/typed_json.py: every spec make_spec writes reads back into the
types and out again byte for byte (so spec.json and its hash stay), and a stale or wrong spec fails
naming the key."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest

from common.render_spec import KeepMaterial, ReplaceMaterial, load_spec
from common.typed_json import SpecError, to_dict
from pipeline.rendering import blender_runner
from pipeline.rendering.blender_runner import BLENDER_SCRIPT, make_spec
from pipeline.schema import ParamsError, load_params
from tests.support import ROOT, needs_bpy
from tests.support.params import built_example

EXAMPLES = sorted((ROOT / "examples").glob("*/params*.yaml"))


@pytest.fixture(scope="module")
def shipped() -> dict:
    return make_spec(load_params(ROOT / "params.yaml"), ROOT / "params.yaml")


def round_trips(spec: dict) -> bool:
    return json.dumps(to_dict(load_spec(spec)), indent=1) == json.dumps(spec, indent=1)


def test_the_shipped_spec_reads_back_byte_for_byte(shipped):
    assert round_trips(shipped)
    typed = load_spec(shipped)
    tube = typed.rigs["glue_tube"]
    assert typed.render.camera.distance.max == shipped["render"]["camera"]["distance"]["max"]
    assert [k.tolerance for k in tube.keypoints] == [k["tolerance"] for k in shipped["rigs"]["glue_tube"]["keypoints"]]
    assert isinstance(tube.materials["body"], ReplaceMaterial) and tube.materials["body"].mode == "replace"
    assert tube.decals == () and typed.render.distractors.meshes is None  # keys the spec leaves out


@pytest.mark.parametrize("params", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_example_spec_reads_back_byte_for_byte(params, tmp_path):
    path = built_example(params, tmp_path)
    try:
        spec = make_spec(load_params(path), path)
    except ParamsError as exc:  # a decal cut from photos outside the project
        if "not found" in str(exc) and params.name == "params_label_decal.yaml":
            pytest.skip(f"needs files from outside the project: {exc}")
        raise
    assert round_trips(spec)


def test_kinds_of_a_union_are_told_apart_by_their_mode(tmp_path):
    path = built_example(ROOT / "examples" / "textured" / "params.yaml", tmp_path)
    spec = make_spec(load_params(path), path)
    can = load_spec(spec).rigs["can"]
    assert isinstance(can.materials["lid"], KeepMaterial) and can.materials["label"].mode == "jitter"
    assert can.decals[0].aspect == spec["rigs"]["can"]["decals"][0]["aspect"]
    assert round_trips(spec)


def changed(spec: dict, edit) -> dict:
    out = copy.deepcopy(spec)
    edit(out)
    return out


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda s: s["rigs"]["glue_tube"]["materials"]["body"].update(roughnes=1.0),
            "spec.rigs.glue_tube.materials.body.roughnes: unknown key",
        ),
        (lambda s: s["render"]["camera"].update(zoom=2), "spec.render.camera.zoom: unknown key"),
        (lambda s: s["render"]["camera"].pop("look_jitter"), "spec.render.camera.look_jitter: missing key"),
        (lambda s: s["rigs"]["glue_tube"]["keypoints"][1].pop("tolerance"), "keypoints[1].tolerance: missing key"),
        (
            lambda s: s["render"]["camera"].update(sensor_mm="36"),
            "spec.render.camera.sensor_mm: expected float; got '36'",
        ),
        (lambda s: s["render"].update(samples=True), "spec.render.samples: expected int; got True"),
        (lambda s: s["render"].update(engine="LUXCORE"), "spec.render.engine: expected one of"),
        (lambda s: s["render"]["lights"].update(types="SUN"), "spec.render.lights.types: expected a list"),
        (lambda s: s["render"].update(resolutions=[[64, 48, 3]]), "spec.render.resolutions[0]: expected 2 items"),
    ],
)
def test_a_stale_or_wrong_spec_fails_naming_the_key(shipped, edit, message):
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_spec(changed(shipped, edit))


def test_an_unknown_mode_names_the_kinds_it_could_be(shipped):
    bad = changed(shipped, lambda s: s["rigs"]["glue_tube"]["materials"].update(cap={"mode": "paint"}))
    with pytest.raises(SpecError, match="materials.cap.mode: expected one of 'keep', 'jitter'; got 'paint'"):
        load_spec(bad)


@needs_bpy
def test_blender_refuses_a_stale_spec_json_naming_the_key(shipped, tmp_path):
    """A spec.json that older or newer code wrote fails in Blender before any scene is built."""
    stale = changed(shipped, lambda s: s["render"]["lights"].update(ambient=0.5))
    (tmp_path / "spec.json").write_text(json.dumps(stale))
    cmd = [sys.executable, str(BLENDER_SCRIPT), "--spec", str(tmp_path / "spec.json"), "--out", str(tmp_path / "o")]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 2 and not (tmp_path / "o").exists()
    assert "error: --spec" in proc.stderr and "spec.render.lights.ambient: unknown key" in proc.stderr


def test_a_spec_that_does_not_read_back_is_refused_before_rendering(monkeypatch):
    """make_spec checks the round trip: a schema key the types lack fails there, not in Blender."""
    complete = blender_runner.complete_spec
    monkeypatch.setattr(blender_runner, "complete_spec", lambda spec, base: {**complete(spec, base), "extra": 1})
    with pytest.raises(SpecError, match="spec.extra: unknown key"):
        make_spec(load_params(ROOT / "params.yaml"), ROOT / "params.yaml")
