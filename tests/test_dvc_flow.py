"""The DVC flow as a user drives it: what `dvc repro` re-runs after an edit, experiments, diffs.

The slow test runs the real `dvc` CLI on a copy of the project's Git-tracked files with a tiny
params.yaml (6 renders of 64 x 64 px, one epoch of a tiny model), so every stage really runs.
The fast test checks that each stage's code deps are the modules its command imports: a module
missing from `deps` gives stale results, a file listed that the stage never imports gives needless
re-runs (the train stage used to depend on all of train/: editing train/export.py retrained).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.support import ROOT, needs_bpy
from tests.support.doc_blocks import environment
from tests.support.imports import CODE_DIRS, imports, module_file

# Imported by a stage's module only on a path its dvc.yaml command never takes.
NOT_RUN_BY_STAGES = {"pipeline/rendering/launch_ray.py"}  # `rig2kp render --launcher ray`
ALL_STAGES = {"render", "augment", "mix", "train", "evaluate", "export"}


# ---------------------------------------------------------------- deps = imports (fast)


def imported_files(*modules: str) -> set[str]:
    """Files (relative to the repo root) of the modules, their packages and what they import, transitively."""
    files, todo = set(), list(modules)
    while todo:
        module = todo.pop()
        path = module_file(module)
        if path is None or str(path.relative_to(ROOT)) in files:
            continue
        files.add(str(path.relative_to(ROOT)))
        parts = module.split(".")
        found = sorted(m for m in imports(path, module) if m.split(".")[0] in CODE_DIRS)
        todo += [".".join(parts[:i]) for i in range(1, len(parts))] + found
    return files


def stage_modules(name: str, stage: dict) -> list[str]:
    modules = re.findall(r"python3? -m (\S+)", stage["cmd"])
    if "pipeline.rendering.render_dataset" in modules:
        modules.append("blender.render")  # the script pipeline/rendering/blender_runner.py runs inside Blender
    return modules


@pytest.mark.parametrize("name", sorted(ALL_STAGES))
def test_stage_code_deps_are_the_modules_it_imports(name):
    stage = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][name]
    deps = [d for d in stage["deps"] if d.split("/")[0] in CODE_DIRS]
    used = {
        f
        for f in imported_files(*stage_modules(name, stage))
        if f not in NOT_RUN_BY_STAGES and (ROOT / f).stat().st_size > 0  # empty __init__.py: no code
    }

    def covered(f: str) -> bool:
        return any(f == d or f.startswith(d.rstrip("/") + "/") for d in deps)

    assert sorted(f for f in used if not covered(f)) == [], f"dvc.yaml stage {name}: deps miss imported modules"
    needless = [d for d in deps if not any(f == d or f.startswith(d.rstrip("/") + "/") for f in used)]
    assert needless == [], f"dvc.yaml stage {name}: deps the stage never imports (needless re-runs)"


# ---------------------------------------------------------------- the real CLI (slow)


def tiny_flow_params(real: dict) -> dict:
    """The shipped params.yaml with every stage shrunk to seconds (same rigs, same keys)."""
    data = json.loads(json.dumps(real))
    data["render"].update(
        num_images=6, resolutions=[[64, 64]], samples=2, denoise=False, shard_size=3, workers=1, min_visible_px=10
    )
    data["augment"].update(copies=1, workers=1)
    data["train"].update(epochs=1, batch_size=2, warmup_iters=1, eval_every=1)
    data["runtime"].update(workers=0, threads=1, predict_batch_size=2)
    data["train"]["iterations"] = None  # epochs rule (left out, the schema default of 1600 steps applies)
    data["model"].update(
        weights="none",
        fpn_channels=32,
        box_head_dim=128,
        keypoint_head=[32, 32],
        min_size=64,
        max_size=96,
        rpn_post_nms_top_n_train=100,
        rpn_post_nms_top_n_test=50,
        box_batch_size_per_image=32,
        box_detections_per_img=10,
    )
    data["evaluate"].update(contact_sheet=2)
    return data


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [f for f in out.split("\0") if f and (ROOT / f).is_file()]  # skip files deleted in the worktree


class Project:
    """A scratch clone of the project, driven through the venv's `dvc` and `git` as a user would."""

    def __init__(self, root: Path):
        self.root = root
        self.env = environment(root)  # the venv's bin first on PATH, as an activated shell has it
        self.env.pop("PYTHONPATH", None)  # stage commands import the copy's modules (cwd), not the checkout's

    def run(self, *cmd: str) -> str:
        proc = subprocess.run(cmd, cwd=self.root, env=self.env, capture_output=True, text=True)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}:\n{out[-4000:]}"
        return out

    def dvc(self, *args: str) -> str:
        return self.run("dvc", *args)

    def dvc_json(self, *args: str):
        proc = subprocess.run(["dvc", *args, "--json"], cwd=self.root, env=self.env, capture_output=True, text=True)
        assert proc.returncode == 0, f"dvc {' '.join(args)} --json exited {proc.returncode}:\n{proc.stderr[-4000:]}"
        return json.loads(proc.stdout)

    def commit(self, message: str) -> None:
        self.run("git", "add", "-A")
        self.run("git", "commit", "-q", "-m", message)

    def params(self) -> dict:
        return yaml.safe_load((self.root / "params.yaml").read_text())

    def write_params(self, data: dict) -> None:
        (self.root / "params.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def tiny_project(root: Path) -> Project:
    """A Git and DVC project of the Git-tracked files with the tiny params, committed."""
    proj = Project(root)
    for f in tracked_files():
        (proj.root / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, proj.root / f)
    proj.write_params(tiny_flow_params(yaml.safe_load((ROOT / "params.yaml").read_text())))
    proj.run("git", "init", "-q", "-b", "main")
    if not (proj.root / ".dvc").is_dir():
        proj.dvc("init", "-q")
    proj.commit("tiny project")
    return proj


def ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def find_experiment(node, name: str) -> dict | None:
    """The entry for experiment `name` anywhere in `dvc exp show --json`'s nesting."""
    if isinstance(node, dict):
        if node.get("name") == name and "data" in node:
            return node
        node = list(node.values())
    if isinstance(node, list):
        for child in node:
            if (hit := find_experiment(child, name)) is not None:
                return hit
    return None


@pytest.mark.slow
@needs_bpy
def test_dvc_repro_experiments_and_diffs(tmp_path):
    """repro runs all; again runs nothing; train.* re-runs train onward; a rig re-runs all; exps compare."""
    t0 = time.perf_counter()
    proj = tiny_project(tmp_path / "project")

    # 1. everything runs once and writes the metrics dvc reads
    assert ran(proj.dvc("repro")) == ALL_STAGES
    for f in ("metrics/render.json", "metrics/eval.json", "metrics/per_keypoint.json", "dvclive/metrics.json",
              "metrics/sim.json", "metrics/real.json", "metrics/summary.json", "metrics/report/index.md"):  # fmt: skip
        assert (proj.root / f).is_file(), f
    # the headline is all `dvc metrics show` prints, in under 120 columns; the rest on request
    show = proj.dvc("metrics", "show")
    assert [ln.split()[0] for ln in show.splitlines()[1:]] == ["metrics/sim.json", "metrics/real.json"], show
    assert max(map(len, show.splitlines())) <= 120, show
    assert "val.all.keypoints.AP" in proj.dvc("metrics", "show", "metrics/eval.json")
    assert (proj.root / "exports/model.onnx").is_file() and (proj.root / "exports/export.json").is_file()
    proj.commit("baseline")  # dvc.lock, metrics/ and dvclive/ are Git's (cache: false)
    t1 = time.perf_counter()

    # 2. nothing changed: nothing runs (every output is where dvc.lock says)
    assert ran(proj.dvc("repro")) == set()
    assert proj.dvc_json("status") == {}

    # 3. an experiment on a train param re-runs train, evaluate and export only
    out = proj.dvc("exp", "run", "-n", "lr-high", "-S", "train.lr=0.01")
    assert ran(out) == {"train", "evaluate", "export"}, out
    t2 = time.perf_counter()
    exp = find_experiment(proj.dvc_json("exp", "show"), "lr-high")
    assert exp is not None, "dvc exp show does not list lr-high"
    assert exp["data"]["params"]["params.yaml"]["data"]["train"]["lr"] == 0.01
    metrics = exp["data"]["metrics"]
    assert set(metrics) == {"metrics/sim.json", "metrics/real.json"}
    assert {"images", "AP", "AP50", "AP_mask", "box_AP", "verdict"} <= set(metrics["metrics/sim.json"]["data"])
    table = proj.dvc("exp", "show", "--only-changed", "--csv").splitlines()  # the readable view: what differs
    assert "train.lr" in table[0] and "render.num_images" not in table[0], table[0]
    assert any(row.startswith("lr-high,") for row in table), table

    # 4. the baseline commit against the experiment: the headline in under 120 columns, train metrics
    # changed (an undeclared file on request), plots of both revisions
    diff = proj.dvc("metrics", "diff", "HEAD", "lr-high", "--all")
    assert "metrics/sim.json" in diff and max(map(len, diff.splitlines())) <= 120, diff
    loss = proj.dvc_json("metrics", "diff", "HEAD", "lr-high", "--targets", "dvclive/metrics.json")
    assert loss["dvclive/metrics.json"]["train.loss"]["diff"] != 0, loss
    plots_dir = tmp_path / "plots"
    proj.dvc("plots", "diff", "HEAD", "lr-high", "-o", str(plots_dir))
    html = (plots_dir / "index.html").read_text()
    assert "lr-high" in html and "train/loss" in html  # dvclive's training curves
    assert "metrics/plots/val_keypoints_oks50.json" in html  # evaluate's precision-recall curves

    # 5. editing a rig re-runs render and everything after it. Run up to mix only (what train onward
    # costs was shown in 3.): render, augment and mix run, and train, evaluate and export are stale.
    params = proj.params()
    params["rigs"]["glue_tube"]["scale"] = [0.7, 1.1]
    proj.write_params(params)
    assert set(proj.dvc_json("status")) == {"render"}  # dvc status names the stage whose params changed
    assert ran(proj.dvc("repro", "mix")) == {"render", "augment", "mix"}
    stale = proj.dvc_json("status")
    assert set(stale) == {"train", "evaluate", "export"}, stale
    assert all({"changed deps": {"data/mixed": "modified"}} in stale[s] for s in stale), stale
    t3 = time.perf_counter()
    print(f"\nfull repro {t1 - t0:.0f} s, train experiment {t2 - t1:.0f} s, diffs + rig edit {t3 - t2:.0f} s")

    # 6. `.venv/bin/dvc repro` from a shell that did not activate .venv: the stages' `python3` is
    # another one (here a bare venv: no packages; the system's alone: the test below). With the
    # project's .venv there, each stage runs again in its Python; without it, each stops with one
    # line that says what to do.
    venv = Path(sys.executable).parent.parent  # not resolved: the venv's own folder
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    (proj.root / ".venv").symlink_to(venv, target_is_directory=True)
    env = {**proj.env, "PATH": os.pathsep.join([str(bare / "bin"), "/usr/bin", "/bin"])}

    def repro_render() -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(proj.root / ".venv" / "bin" / "dvc"), "repro", "--force", "render"],
            cwd=proj.root,
            env=env,
            capture_output=True,
            text=True,
        )

    done = repro_render()
    assert done.returncode == 0 and "Running stage 'render'" in done.stdout, done.stdout + done.stderr
    (proj.root / ".venv").unlink()
    (proj.root / ".venv").symlink_to(tmp_path / "nowhere", target_is_directory=True)  # dvc still found below
    done = subprocess.run(
        [str(venv / "bin" / "dvc"), "repro", "--force", "render"],
        cwd=proj.root,
        env=env,
        capture_output=True,
        text=True,
    )
    out = done.stdout + done.stderr
    assert done.returncode != 0 and "Traceback" not in out, out
    (line,) = [ln for ln in out.splitlines() if ln.startswith("error:") and "environment" in ln]
    assert "lacks" in line and "source .venv/bin/activate" in line


def unactivated_env(proj: Project) -> dict:
    """A shell that never activated .venv, on a machine whose only Python is the system's `python3`:
    PATH holds the system's folders only (no `python`, no venv)."""
    env = {k: v for k, v in proj.env.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    return {**env, "PATH": os.pathsep.join(["/usr/bin", "/bin"])}


@pytest.mark.slow
@needs_bpy
@pytest.mark.skipif(not Path("/usr/bin/python3").is_file(), reason="needs a system /usr/bin/python3")
def test_unactivated_repro_runs_the_whole_flow_with_only_python3(tmp_path):
    """`.venv/bin/dvc repro` from a shell that never activated .venv, PATH=/usr/bin:/bin: each
    stage's `python3` is the system's (there is no `python`), and each stage, train, evaluate and
    export (which import torch) included, runs itself again in .venv's Python."""
    t0 = time.perf_counter()
    proj = tiny_project(tmp_path / "project")
    (proj.root / ".venv").symlink_to(Path(sys.executable).parent.parent, target_is_directory=True)
    done = subprocess.run(
        [str(proj.root / ".venv" / "bin" / "dvc"), "repro"],
        cwd=proj.root,
        env=unactivated_env(proj),
        capture_output=True,
        text=True,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    assert ran(out) == ALL_STAGES, out[-4000:]
    assert "not found" not in out and "ModuleNotFoundError" not in out, out[-4000:]
    assert (proj.root / "exports" / "model.onnx").is_file()
    print(f"\nunactivated full repro {time.perf_counter() - t0:.0f} s")
