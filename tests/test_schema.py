"""Bad params fail at load with the file, the key and what was expected."""

import copy
import shlex

import pytest
import yaml

from pipeline.schema import ParamsError, load_params
from tests.conftest import ROOT, shipped_box, write_params

BASE = yaml.safe_load((ROOT / "params.yaml").read_text())
BASE["rigs"].update(shipped_box())


def load_with(tmp_path, mutate):
    data = copy.deepcopy(BASE)
    mutate(data)
    return load_params(write_params(tmp_path / "params.yaml", data))


def expect_error(tmp_path, mutate, *fragments):
    with pytest.raises(ParamsError) as err:
        load_with(tmp_path, mutate)
    msg = str(err.value)
    assert str(tmp_path / "params.yaml") in msg
    for f in fragments:
        assert f in msg, msg
    return msg


def test_shipped_params_are_valid():
    p = load_params(ROOT / "params.yaml")
    assert list(p.rigs) == ["glue_tube"]
    assert [k.name for k in p.rigs["glue_tube"].keypoints] == ["head", "tail"]
    box = load_params(ROOT / "examples" / "box" / "params.yaml")
    assert len(box.rigs["box"].skeleton) == 12


def test_unknown_key(tmp_path):
    expect_error(tmp_path, lambda d: d["rigs"]["box"].update(colour="red"), "rigs.box.colour", "colour")


def test_skeleton_names_unknown_keypoint(tmp_path):
    expect_error(tmp_path, lambda d: d["rigs"]["glue_tube"]["skeleton"].append(["head", "nose"]),
                 "rigs.glue_tube", "'nose' is not a keypoint name", "head")


def test_keypoint_needs_exactly_one_source(tmp_path):
    def both(d):
        d["rigs"]["glue_tube"]["keypoints"][0]["position"] = [0, 0, 0]
    expect_error(tmp_path, both, "rigs.glue_tube.keypoints.0", "exactly one of position")


def test_missing_mesh_file(tmp_path):
    def file_mesh(d):
        d["rigs"]["box"]["mesh"] = {"type": "file", "path": "meshes/nothere.obj"}
    expect_error(tmp_path, file_mesh, "rigs.box.mesh.path", "nothere.obj", "not found")


def test_unsupported_mesh_suffix(tmp_path):
    def file_mesh(d):
        d["rigs"]["box"]["mesh"] = {"type": "file", "path": "thing.fbx"}
    expect_error(tmp_path, file_mesh, "rigs.box.mesh.file", ".obj")


def test_bad_range(tmp_path):
    expect_error(tmp_path, lambda d: d["render"].update(samples=0), "render.samples")
    expect_error(tmp_path, lambda d: d["rigs"]["box"].update(scale=[2, 1]), "rigs.box.scale", "min <= max")


def test_flip_pairs_derived_from_names():
    p = load_params(ROOT / "params.yaml")
    pairs = load_params(ROOT / "examples" / "box" / "params.yaml").rigs["box"].resolved_flip_pairs()
    assert ("left_top_front", "right_top_front") in pairs and len(pairs) == 4
    assert p.rigs["glue_tube"].resolved_flip_pairs() == []


def test_overrides_apply_dotted_keys():
    p = load_params(ROOT / "params.yaml", {"render.num_images": 3, "seed": 5})
    assert p.render.num_images == 3 and p.seed == 5


EXAMPLES = sorted((ROOT / "examples").glob("*/params*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT / "examples")))
def test_example_params_and_their_commands_are_valid(tmp_path, path):
    """Each example validates, and so does every `dvc exp run -S ...` its header tells users to run."""
    load_params(path)
    commands = [line for line in path.read_text().splitlines() if line.startswith("#") and "dvc exp run" in line]
    _check_commands(tmp_path, path, commands)


SCRIPTS = sorted((ROOT / "examples").glob("*/*.sh"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT / "examples")))
def test_example_scripts_commands_are_valid(tmp_path, script):
    """Every `dvc exp run -S ...` of an example's script validates against that example's params.yaml."""
    commands = [line for line in script.read_text().splitlines() if line.startswith("dvc exp run")]
    assert commands
    _check_commands(tmp_path, script.parent / "params.yaml", commands)


def _check_commands(tmp_path, path, commands: list[str]) -> None:
    from dvc.utils.hydra import apply_overrides

    for line in commands:
        run = tmp_path / "params.yaml"
        run.write_text(path.read_text())
        words = shlex.split(line.lstrip("# "))  # as the shell passes them: quotes removed
        overrides = [words[i + 1] for i, w in enumerate(words) if w == "-S"]
        apply_overrides(str(run), overrides)
        p = load_params(run)
        for item in overrides:
            key, value = item.lstrip("+").split("=", 1)
            got = p.model_dump(mode="json")
            for part in key.split("."):
                got = got[int(part)] if part.isdigit() else got[part]
            want = yaml.safe_load(value)
            if isinstance(got, dict) and set(got) == {"min", "max"} and isinstance(want, list):
                got = [got["min"], got["max"]]  # a [min, max] range as written
            assert got == want, (line, key)
