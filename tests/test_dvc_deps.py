"""Every file that params name is a DVC dependency: listed per key, checked under DVC, written by
`rig2kp dvc-deps`, and seen by the real `dvc status` when it changes (a texture, a mesh, a decal)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from pipeline.project.dvc_deps import DepsError, check_stage, dep_path, needed_deps, rewrite
from pipeline.project.param_files import mix_files, render_files
from pipeline.project.write_dvc_deps import main as dvc_deps_main
from pipeline.schema import load_params
from tests.support import ROOT, needs_bpy
from tests.support.doc_blocks import environment
from tests.support.mesh_writers import write_gltf_quad, write_png
from tests.support.real_exports import quirky_export, source, synthetic

TEXTURED = ROOT / "examples" / "textured"


def textured_project(root: Path) -> Path:
    """examples/textured in `ex/` (OBJ + MTL + PNG, a decal, a clutter folder), plus a glTF clutter
    mesh outside that folder whose texture lies beside it, background photos, a calibration file and
    a real export; returns its params file."""
    shutil.copytree(TEXTURED, root / "ex", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "ex" / "props").mkdir()
    (root / "ex" / "photos").mkdir()
    write_png(root / "ex" / "props" / "print.png", np.full((4, 4, 4), 200, np.uint8))
    write_gltf_quad(root / "ex" / "props" / "card.gltf", 0.05, [(0, 0), (1, 0), (1, 1), (0, 1)], "print.png")
    write_png(root / "ex" / "photos" / "desk.png", np.full((8, 8, 4), 90, np.uint8))
    (root / "ex" / "cam.json").write_text(
        json.dumps({"fx": 80, "fy": 80, "cx": 31.5, "cy": 23.5, "width": 64, "height": 48})
    )
    (root / "real" / "phone").mkdir(parents=True)
    params = yaml.safe_load((root / "ex" / "params.yaml").read_text())
    params["render"]["distractors"]["meshes"]["paths"] = ["clutter", "props/card.gltf"]
    params["render"]["background"] = {"photos": 1.0, "photos_dir": "photos"}
    params["render"]["camera"] = {"intrinsics": {"file": "cam.json"}}
    params["render"].pop("resolutions")  # the calibration's size
    params["mix"] = {"real": [{"path": "../real/phone", "images": "../photos"}]}
    (root / "ex" / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root / "ex" / "params.yaml"


def rel(path: Path, root: Path) -> str:
    return path.relative_to(root.resolve()).as_posix()


def test_param_files_lists_each_file_by_the_key_that_names_it(tmp_path):
    path = textured_project(tmp_path)
    params = load_params(path)
    ex = (tmp_path / "ex").resolve()
    found = {(n.key, rel(n.path, tmp_path)) for n in render_files(params, path)}
    assert found == {
        ("rigs.can.mesh.path", "ex/can.obj"),
        ("rigs.can.mesh.path", "ex/can.mtl"),  # the OBJ's mtllib
        ("rigs.can.mesh.path", "ex/can_label.png"),  # the MTL's map_Kd
        ("rigs.can.decals[0].image", "ex/sticker.png"),
        ("render.distractors.meshes.paths[0]", "ex/clutter"),
        *{("render.distractors.meshes.paths[0]", rel(f, tmp_path)) for f in ex.glob("clutter/*.[mp][tn][lg]")},
        ("render.distractors.meshes.paths[1]", "ex/props/card.gltf"),
        ("render.distractors.meshes.paths[1]", "ex/props/print.png"),  # the glTF's image
        ("render.background.photos_dir", "ex/photos"),
        ("render.camera.intrinsics.file", "ex/cam.json"),
    }
    textures = [n for n in render_files(params, path) if n.path.name == "can_label.png"]
    assert textures[0].describe("ex/can_label.png") == "ex/can_label.png (named by can.mtl)"
    found = {(n.key, rel(n.path, tmp_path)) for n in mix_files(params, path)}
    assert found == {("mix.real[0].path", "real/phone"), ("mix.real[0].images", "real/photos")}


def stage_yaml(root: Path, stage_cmds: dict[str, str]) -> Path:
    """dvc.yaml with the shipped stages' deps and these commands (other outs: none needed here)."""
    shipped = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    outs = {"render": "data/synthetic", "mix": "data/mixed"}
    stages = {
        name: {"cmd": cmd, "deps": shipped[name]["deps"], "outs": [outs[name]]} for name, cmd in stage_cmds.items()
    }
    path = root / "dvc.yaml"
    text = "".join(f"  {ln}\n" for ln in yaml.safe_dump(stages, sort_keys=False).splitlines())
    path.write_text("# the pipeline\nstages:\n" + text)
    return path


def test_under_dvc_render_and_mix_refuse_deps_that_miss_a_named_file(tmp_path, monkeypatch, capsys):
    path = textured_project(tmp_path)
    params = load_params(path)
    dvc_yaml = stage_yaml(tmp_path, {
        "render": "python3 -m pipeline.rendering.render_dataset --params ex/params.yaml --out data/synthetic",
        "mix": "python3 -m pipeline.mixing.mix --params ex/params.yaml --input data/augmented --out data/mixed",
    })  # fmt: skip
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_STAGE", raising=False)
    check_stage("render", params, path)  # outside DVC: nothing to check
    monkeypatch.setenv("DVC_STAGE", "render")
    with pytest.raises(DepsError) as err:
        check_stage("render", params, path)
    msg = str(err.value)
    assert "stage render reads files that its deps do not list" in msg
    assert "rigs.can.mesh.path: ex/can_label.png (named by can.mtl) is not in its deps: add `- ex/can_label.png`" in msg
    assert "render.camera.intrinsics.file: ex/cam.json" in msg and "rig2kp dvc-deps" in msg
    assert "ex/clutter/" not in msg  # the folder's line covers the files in it
    monkeypatch.setenv("DVC_STAGE", "mix")
    with pytest.raises(DepsError, match=r"mix.real\[0\].path: real/phone is not in its deps: add `- real/phone`"):
        check_stage("mix", params, path)

    # the command writes the lines, marked; a second run changes nothing; the check then passes
    before = dvc_yaml.read_text()
    assert dvc_deps_main(["--dvc-yaml", str(dvc_yaml)]) == 0
    after = dvc_yaml.read_text()
    assert [ln for ln in after.splitlines() if "# dvc-deps:" not in ln] == before.splitlines()  # the rest kept
    assert "    - ex/can_label.png  # dvc-deps: rigs.can.mesh.path\n" in after
    assert "    - real/photos  # dvc-deps: mix.real[0].images\n" in after
    assert dvc_deps_main(["--dvc-yaml", str(dvc_yaml)]) == 0 and dvc_yaml.read_text() == after
    for stage in ("render", "mix"):
        monkeypatch.setenv("DVC_STAGE", stage)
        check_stage(stage, params, path)
    assert needed_deps(dvc_yaml)["render"][0] == ("ex/can.obj", "rigs.can.mesh.path")

    # a foreach stage's deps are templates: not checked; a stage not in dvc.yaml: not checked
    dvc_yaml.write_text(
        after + "  pens:\n    foreach: [a, b]\n    do:\n      cmd: python3 -m pipeline.rendering.render_dataset\n"
    )
    for stage in ("pens@a", "elsewhere"):
        monkeypatch.setenv("DVC_STAGE", stage)
        check_stage("render", params, path)
    dvc_yaml.write_text(after)

    # a path that params no longer name leaves dvc.yaml with the next run
    data = yaml.safe_load(path.read_text())
    data["mix"] = {"real": []}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    capsys.readouterr()
    assert dvc_deps_main(["--dvc-yaml", str(dvc_yaml), "--dry-run"]) == 0
    assert "stage mix: 0 file(s)" in capsys.readouterr().out and dvc_yaml.read_text() == after
    dvc_deps_main(["--dvc-yaml", str(dvc_yaml)])
    assert "real/" not in dvc_yaml.read_text() and "ex/can_label.png" in dvc_yaml.read_text()


def test_deps_are_relative_to_the_stage_also_beside_the_repository():
    wdir = Path("/work/repo")
    assert dep_path(Path("/work/repo/ex/can.obj"), wdir) == "ex/can.obj"
    assert dep_path(Path("/work/shared/photos"), wdir) == "../shared/photos"  # DVC watches it too
    assert dep_path(Path("/data/photos"), wdir) == "/data/photos"


def test_rewrite_keeps_the_shipped_dvc_yaml_and_its_comments():
    text = (ROOT / "dvc.yaml").read_text()
    wanted = {"render": [("ex/can.obj", "rigs.can.mesh.path")], "mix": [("../real/phone", "mix.real[0].path")]}
    new = rewrite(text, wanted)
    stages = yaml.safe_load(new)["stages"]
    old = yaml.safe_load(text)["stages"]
    assert stages["render"]["deps"] == [*old["render"]["deps"], "ex/can.obj"]
    assert stages["mix"]["deps"] == [*old["mix"]["deps"], "../real/phone"]
    assert "      - ex/can.obj  # dvc-deps: rigs.can.mesh.path\n" in new  # the file's own indentation
    assert [ln for ln in new.splitlines() if "# dvc-deps:" not in ln] == text.splitlines()
    assert rewrite(new, {"render": [], "mix": []}) == text


def test_the_shipped_dvc_yaml_lists_what_the_shipped_params_name():
    assert all(lines == [] for lines in needed_deps(ROOT / "dvc.yaml").values())


def test_dvc_status_names_the_stage_whose_named_file_changed(tmp_path):
    """The real `dvc` on the textured rig (with a background photo, a calibration and a real export):
    render (its command stops after the spec, no Blender) and mix refuse deps that miss their files;
    with `rig2kp dvc-deps`'s lines, editing the texture, the mesh, the decal or a photo makes
    `dvc status` name render, editing the real export names mix, and `dvc repro` runs them again."""
    root = tmp_path / "project"
    root.mkdir()
    for folder in ("blender", "common", "pipeline"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    params = textured_project(root)
    data = yaml.safe_load(params.read_text())
    data["mix"] = {"real": [{**source(root / "real" / "phone"), "path": "../real/phone"}], "val": 0.2, "test": 0.2}
    params.write_text(yaml.safe_dump(data, sort_keys=False))
    shutil.rmtree(root / "real" / "phone")
    quirky_export(root / "real" / "phone")
    synthetic(root / "data" / "augmented")
    stage_yaml(root, {
        "render": "python3 -m pipeline.rendering.render_dataset --params ex/params.yaml "
                  "--write-spec data/synthetic/spec.json",
        "mix": "python3 -m pipeline.mixing.mix --params ex/params.yaml --input data/augmented --out data/mixed",
    })  # fmt: skip
    env = environment(root)

    def run(*cmd: str, ok: bool = True) -> str:
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
        out = proc.stdout + proc.stderr
        assert (proc.returncode == 0) == ok, f"{' '.join(cmd)} exited {proc.returncode}:\n{out[-3000:]}"
        return out

    def status() -> dict:
        return json.loads(run("dvc", "status", "--json"))

    run("git", "init", "-q", "-b", "main")
    run("dvc", "init", "-q")
    run("git", "add", "-A")
    run("git", "commit", "-qm", "textured project")
    out = run("dvc", "repro", "render", ok=False)
    assert "rigs.can.mesh.path: ex/can_label.png (named by can.mtl) is not in its deps" in out, out
    out = run("dvc", "repro", "mix", ok=False)
    assert "mix.real[0].path: real/phone is not in its deps: add `- real/phone` to stages.mix.deps" in out, out
    run("python3", "-m", "pipeline.project.write_dvc_deps")
    assert ran(run("dvc", "repro")) == {"render", "mix"}
    assert status() == {}

    texture = root / "ex" / "can_label.png"
    with Image.open(texture) as im:
        Image.fromarray(255 - np.asarray(im.convert("RGB"))).save(texture)
    assert status() == {"render": [{"changed deps": {"ex/can_label.png": "modified"}}]}
    assert ran(run("dvc", "repro")) == {"render"}
    for name in ("can.obj", "sticker.png", "photos/desk.png"):
        with open(root / "ex" / name, "ab") as f:
            f.write(b"\n")
    changed = {"ex/can.obj": "modified", "ex/sticker.png": "modified", "ex/photos": "modified"}
    assert status() == {"render": [{"changed deps": changed}]}
    assert ran(run("dvc", "repro")) == {"render"}
    photo = next((root / "real" / "phone" / "images").rglob("*.jpg"))
    with Image.open(photo) as im:
        Image.fromarray(255 - np.asarray(im.convert("RGB"))).save(photo)
    assert status() == {"mix": [{"changed deps": {"real/phone": "modified"}}]}
    assert ran(run("dvc", "repro")) == {"mix"}


def ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


@pytest.mark.slow
@needs_bpy
def test_dvc_repro_renders_again_after_the_texture_changes(tmp_path):
    """The shipped render stage, the textured example's rig (tiny renders): after `rig2kp dvc-deps`,
    inverting the label's texture makes `dvc repro` render again, and the images change."""
    root = tmp_path / "project"
    root.mkdir()
    for folder in ("blender", "common", "pipeline"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(TEXTURED, root / "ex", ignore=shutil.ignore_patterns("__pycache__"))
    params = yaml.safe_load((TEXTURED / "params.yaml").read_text())
    params["rigs"]["can"]["mesh"]["path"] = "ex/can.obj"
    params["rigs"]["can"]["decals"][0]["image"] = "ex/sticker.png"
    params["render"].update(num_images=2, resolutions=[[64, 64]], samples=2, denoise=False, shard_size=2, workers=1)
    params["render"]["distractors"]["meshes"]["paths"] = ["ex/clutter"]
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    render = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["render"]
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"render": render}}, sort_keys=False))
    env = environment(root)

    def run(*cmd: str) -> str:
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}:\n{out[-3000:]}"
        return out

    def images() -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted((root / "data" / "synthetic" / "images").rglob("*.png"))}

    run("git", "init", "-q", "-b", "main")
    run("dvc", "init", "-q")
    run("python3", "-m", "pipeline.project.write_dvc_deps")
    run("git", "add", "-A")
    run("git", "commit", "-qm", "textured project")
    assert "Running stage 'render'" in run("dvc", "repro")
    before = images()
    assert len(before) == 2

    texture = root / "ex" / "can_label.png"
    with Image.open(texture) as im:
        Image.fromarray(255 - np.asarray(im.convert("RGB"))).save(texture)
    assert set(json.loads(run("dvc", "status", "--json"))) == {"render"}
    assert "Running stage 'render'" in run("dvc", "repro")
    after = images()
    assert after.keys() == before.keys() and after != before
