"""Bad params fail at load with the file, the key and what was expected."""

import copy
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.schema import ParamsError, load_params
from tests.support import ROOT
from tests.support.params import built_example, shipped_box, write_params

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


EXTRA = "Extra inputs are not permitted"


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d["render"].update(num_imges=3), f"render.num_imges: {EXTRA} (got 3); did you mean 'num_images'?"),
        (lambda d: d.update(rendr=d.pop("render")), f"rendr: {EXTRA} (got {{'num_images': 200"),
        (
            lambda d: d["rigs"]["box"]["keypoints"][0].update(nme="a"),
            f"keypoints.0.nme: {EXTRA} (got 'a'); did you mean 'name'?",
        ),
        (lambda d: d["mix"].update(real=[{"path": ".", "nmae": "x"}]), "mix.real.0.nmae: "),
    ],
)
def test_a_misspelt_key_gets_the_closest_known_key(tmp_path, mutate, fragment):
    msg = expect_error(tmp_path, mutate, fragment)
    assert "did you mean" in msg and len(max(msg.splitlines(), key=len)) < 160  # a long value is cut short


def test_a_key_like_no_known_one_gets_no_guess(tmp_path):
    msg = expect_error(
        tmp_path, lambda d: d["train"].update(zzzz=1), "train.zzzz: Extra inputs are not permitted (got 1)"
    )
    assert "did you mean" not in msg


def test_skeleton_names_unknown_keypoint(tmp_path):
    expect_error(
        tmp_path,
        lambda d: d["rigs"]["glue_tube"]["skeleton"].append(["head", "nose"]),
        "rigs.glue_tube",
        "'nose' is not a keypoint name",
        "head",
    )


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
EXPERIMENTS = ROOT / "examples" / "glue_tubes_real" / "experiments.sh"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT / "examples")))
def test_example_params_are_valid_and_hold_params_only(tmp_path, path):
    """Each example validates; commands live in its README or a script, not in the params file."""
    load_params(built_example(path, tmp_path / "example"))  # examples/pliers builds its .blend first
    lines = [line for line in path.read_text().splitlines() if line.startswith("#")]
    commands = [line for line in lines if "dvc exp run" in line or "rig2kp " in line]
    assert not commands, f"{path.relative_to(ROOT)}: commands belong in the example's README.md or a script"


def _run_experiments(tmp_path, *args: str) -> tuple[str, list[str]]:
    """Run experiments.sh as a user would, with a stand-in `dvc` that records the words it gets."""
    bin_dir, record = tmp_path / "bin", tmp_path / "argv.json"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "dvc"
    fake.write_text(f"#!{sys.executable}\nimport json, sys\njson.dump(sys.argv[1:], open({str(record)!r}, 'w'))\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", str(EXPERIMENTS), *args], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, json.loads(record.read_text()) if record.is_file() else []


def _applied(tmp_path, params: Path, words: list[str]) -> tuple[str, dict]:
    """(experiment name, {key: value}) of one `dvc exp run` line, its -S values applied with DVC's own
    Hydra code to a copy of `params`; every value is checked on the validated params."""
    from dvc.utils.hydra import apply_overrides

    assert words[:3] == ["exp", "run", "-n"], words
    overrides = [words[i + 1] for i, w in enumerate(words) if w == "-S"]
    run = tmp_path / "params.yaml"
    run.write_text(params.read_text())
    apply_overrides(str(run), overrides)
    p = load_params(run).model_dump(mode="json")
    values = {}
    for item in overrides:
        key, value = item.lstrip("+").split("=", 1)
        got = p
        for part in key.split("."):
            got = got[int(part)] if part.isdigit() else got[part]
        assert got == yaml.safe_load(value), (words, key)
        values[key] = got
    return words[3], values


def test_experiment_script_commands_are_valid(tmp_path):
    """Every experiment of experiments.sh runs `dvc exp run` with -S values that DVC applies to the params
    file it names and that validate; the experiments of one params file set the same keys (any order works)."""
    listing, _ = _run_experiments(tmp_path, "list")
    experiments = [line.split() for line in listing.splitlines()]
    assert len(experiments) >= 20 and {"desk-renders+real10-4k", "gpu-real-only"} <= {n for n, _ in experiments}
    keys_by_params: dict[str, set] = {}
    for name, params in experiments:
        _, words = _run_experiments(tmp_path, name)
        got_name, values = _applied(tmp_path, ROOT / params, words)
        assert got_name == name and values["train.seed"] is None, (name, values)
        keys = keys_by_params.setdefault(params, set(values))
        assert set(values) == keys, f"{name} sets {sorted(values)}, others of {params} set {sorted(keys)}"
    assert "mix.real.0.test_files" in keys_by_params["examples/glue_tubes_real/params.yaml"]

    _, words = _run_experiments(tmp_path, "desk-real-4k", "2", "--queue")
    name, values = _applied(tmp_path, ROOT / "examples/glue_tubes_real/params.yaml", words)
    assert name == "desk-real-4k-s2" and values["train.seed"] == 2 and words[-1] == "--queue"
    assert values["mix.real.0.test_files"] == ["IMG_488[4-9]_*", "IMG_489*", "IMG_49*"]  # quotes kept, no glob


SCRIPTS = sorted(p for p in (ROOT / "examples").glob("*/*.sh") if "\ndvc exp run" in p.read_text())


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


def test_drop_placement_refuses_rigs_posed_per_image(tmp_path):
    data = yaml.safe_load((ROOT / "examples" / "pliers" / "params.yaml").read_text())
    data["render"] = {**data.get("render", {}), "placement": {"mode": "drop"}}
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "pliers.blend").write_bytes(b"")  # the mesh file only needs to exist for this check
    with pytest.raises(ParamsError, match="drop does not support rigs posed per image yet"):
        load_params(write_params(tmp_path / "p.yaml", data))
