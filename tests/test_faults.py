"""Fault injection: every stage under kills, misuse, full and read-only disks and damaged files.

Each test asserts what a user relies on: nothing finished is lost, nothing foreign is merged,
nothing an input holds is deleted, and the error names the file and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from blender import output
from common import atomic
from pipeline.augmenting import augment
from pipeline.authoring.preview import main as preview_main
from pipeline.coco_files.coco import DatasetError
from pipeline.dataset_export.export_dataset import main as export_dataset_main
from pipeline.errors import Rig2kpError
from pipeline.inspection.inspect_dataset import main as inspect_main
from pipeline.mixing import mix
from pipeline.outputs import MARKER
from pipeline.rendering.blender_runner import BLENDER_SCRIPT, make_spec
from pipeline.rendering.render_dataset import main as render_main
from pipeline.schema import AugmentConfig, MixConfig, load_params
from tests.support import ROOT, needs_bpy
from tests.support.coco_data import write_dataset
from tests.support.params import THING, tiny_params, write_params, write_train_params
from tests.support.real_exports import quirky_export, source, synthetic
from tests.support.training import toy_data
from train import checkpoint
from train.dataset import load_split
from train.evaluate import main as evaluate_main
from train.export import main as export_main
from train.predict import main as predict_main
from train.train import main as train_main

# ---------------------------------------------------------------------------- helpers


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (links followed) by relative path; the lock file left out."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != output.LOCK
    }


def children(pid: int) -> list[int]:
    """Every descendant process of `pid` (Linux /proc)."""
    found, direct = [], []
    for task in Path(f"/proc/{pid}/task").glob("*"):  # a child started by a thread is listed under that thread
        try:
            direct += (task / "children").read_text().split()
        except OSError:
            continue
    for child in map(int, direct):
        found += [child, *children(child)]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"exited early with {proc.returncode}: {proc.stderr.read()[-3000:]}"
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def start_render(pfile: Path, out: Path, tmp: Path) -> subprocess.Popen:
    """`rig2kp render` in a process of its own, its temporary files under `tmp`."""
    tmp.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp)}
    cmd = [sys.executable, "-m", "pipeline.rendering.render_dataset", "--params", str(pfile), "--out", str(out)]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def error_lines(capsys) -> list[str]:
    """The `error:` lines a command printed (a progress bar may have drawn on the line before)."""
    err = capsys.readouterr().err.replace("\r", "\n")
    return [ln for ln in err.splitlines() if ln.startswith("error:")]


RENDER = {"num_images": 6, "shard_size": 2, "workers": 1}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted render of six images in three shards: (params file, folder)."""
    tmp = tmp_path_factory.mktemp("reference")
    pfile = write_params(tmp / "params.yaml", tiny_params(**RENDER))
    assert render_main(["--params", str(pfile), "--out", str(tmp / "out")]) == 0
    return pfile, tmp / "out"


def copied_render(ref: Path, tmp_path: Path) -> Path:
    """A copy of the reference render at `tmp_path/out`."""
    shutil.copytree(ref, tmp_path / "out")
    return tmp_path / "out"


def same_render(a: Path, b: Path) -> bool:
    keep = lambda s: {k: v for k, v in s.items() if k.startswith(("images/", "annotations.json"))}  # noqa: E731
    return keep(snapshot(a)) == keep(snapshot(b))


# ---------------------------------------------------------------------------- render: kills and a second render


@pytest.mark.slow
@needs_bpy
def test_killed_render_resumes_to_the_same_bytes_and_keeps_what_was_finished(reference, tmp_path):
    pfile, ref = reference
    out = tmp_path / "out"
    proc = start_render(pfile, out, tmp_path / "tmp")
    wait_for(lambda: (out / "meta" / "000000.json").exists(), proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and every Blender it started, at once
    proc.wait()
    assert not (out / "annotations.json").exists()
    kept = {p.name: p.stat().st_mtime_ns for p in (out / "meta").glob("*.json")}
    assert kept and all(json.loads((out / "meta" / n).read_text()) for n in kept)  # whole files only
    (out / "meta" / f".000001.json.{proc.pid}.tmp").write_text('{"cut')  # as when the kill hits a write
    assert render_main(["--params", str(pfile), "--out", str(out)]) == 0
    assert same_render(out, ref)
    assert not list(out.rglob("*.tmp*"))  # what the kill left mid-write (if it hit one) is gone
    assert all((out / "meta" / n).stat().st_mtime_ns == t for n, t in kept.items())  # not rendered again


def test_a_render_folder_sheds_what_killed_writers_left_but_never_what_a_live_one_writes(tmp_path):
    """A SIGKILL mid-write leaves `.NAME.PID.tmp`; the next claim removes it, but only when no
    other process works in the folder (its temporary file may be half written right now)."""
    out, spec = tmp_path / "out", {"seed": 1, "num_images": 2}
    output.claim(out, spec, may_reset=True).release()
    left = [out / "meta" / ".000001.json.4242.tmp", out / "images" / ".000001.png.4242.tmp", out / ".stats.json.7.tmp"]
    left.append(atomic.temporary(out / "passes" / "000001.exr", ".exr"))  # the writer's own name for it
    mine = out / "meta" / "notes.tmp"  # not a name our writer uses
    for path in [*left, mine]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"cut sh")
    other = output.FolderLock(out)
    other.shared()  # a live shard of the same spec
    output.claim(out, spec, may_reset=False).release()
    assert all(p.exists() for p in left)
    other.release()
    output.claim(out, spec, may_reset=False).release()
    assert not any(p.exists() for p in left) and mine.exists()
    assert json.loads((out / output.SPEC).read_text()) == spec


@pytest.mark.slow
@needs_bpy
def test_second_render_with_other_params_is_refused_while_the_first_writes(reference, tmp_path, capsys):
    """A Blender of another run still writes into the folder (a scheduler's task, or a stock
    Blender started by hand): a render with other params is refused while it works; once it is
    gone, the folder starts afresh and nothing of the other run is merged."""
    pfile, ref = reference
    slow = {**RENDER, "shard_size": 6, "samples": 64, "resolutions": [[320, 240]]}  # one Blender, ~10 s
    other = write_params(tmp_path / "other.yaml", tiny_params(**slow) | {"seed": 99})
    assert render_main(["--params", str(other), "--write-spec", str(tmp_path / "other_spec.json")]) == 0
    out = tmp_path / "out"
    cmd = [sys.executable, str(BLENDER_SCRIPT), "--spec", str(tmp_path / "other_spec.json"), "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: (out / "meta" / "000000.json").exists(), proc)
    assert len(list((out / "meta").glob("*.json"))) < 6
    assert render_main(["--params", str(pfile), "--out", str(out)]) == 2
    (line,) = error_lines(capsys)
    assert str(out) in line and "another render with other params is still writing there" in line
    assert proc.wait(timeout=300) == 0
    assert len(list((out / "meta").glob("*.json"))) == 6  # the other run finished, untouched
    assert render_main(["--params", str(pfile), "--out", str(out)]) == 0
    assert same_render(out, ref)
    digest = output.spec_hash(make_spec(load_params(pfile), pfile))
    assert all(json.loads(p.read_text())["spec_hash"] == digest for p in (out / "meta").glob("*.json"))
    assert json.loads((out / "annotations.json").read_text())["info"]["spec_hash"] == digest


@pytest.mark.slow
@needs_bpy
def test_a_killed_driver_leaves_no_blender_writing(tmp_path):
    """The driver killed alone: its Blender ends at its next line of output (the pipe is gone),
    leaving whole files only, and a new run with other params may take the folder."""
    slow = {**RENDER, "shard_size": 6, "samples": 32}
    other = write_params(tmp_path / "other.yaml", tiny_params(**slow) | {"seed": 99})
    out = tmp_path / "out"
    proc = start_render(other, out, tmp_path / "tmp")
    wait_for(lambda: (out / "meta" / "000000.json").exists(), proc)
    blender = children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    end = time.monotonic() + 60
    while any(alive(pid) for pid in blender):
        assert time.monotonic() < end, "the orphaned Blender kept running"
        time.sleep(0.1)
    assert not list(out.rglob("*.tmp")) and every_image_is_whole(out)


@pytest.mark.slow
@needs_bpy
def test_damaged_foreign_and_missing_images_are_redone_and_never_merged(reference, tmp_path, capsys):
    pfile, ref = reference
    out = copied_render(ref, tmp_path)
    (out / "annotations.json").unlink()
    png = out / "images" / "000002.png"
    png.write_bytes(png.read_bytes()[:200])  # cut short by a crash of another tool
    (out / "images" / "000003.png").unlink()  # deleted by hand, its meta file kept
    meta = json.loads((out / "meta" / "000004.json").read_text())
    meta["spec_hash"] = "0" * 64  # written for other params
    (out / "meta" / "000004.json").write_text(json.dumps(meta))
    assert render_main(["--params", str(pfile), "--out", str(out), "--merge-only"]) == 2
    (line,) = error_lines(capsys)
    assert "3 image(s) not rendered for these params" in line and "[2, 3, 4]" in line
    assert not (out / "annotations.json").exists()
    untouched = {n: (out / "meta" / n).stat().st_mtime_ns for n in ("000000.json", "000001.json", "000005.json")}
    assert render_main(["--params", str(pfile), "--out", str(out)]) == 0
    assert same_render(out, ref)
    assert all((out / "meta" / n).stat().st_mtime_ns == t for n, t in untouched.items())


@pytest.mark.slow
@needs_bpy
def test_a_resumed_render_counts_each_image_once(reference, tmp_path, capsys):
    pfile, ref = reference
    out = copied_render(ref, tmp_path)
    (out / "meta" / "000003.json").unlink()  # its shard (images 2, 3) is pending, image 2 finished
    assert render_main(["--params", str(pfile), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    counts = [int(n) for n in re.findall(r"render: .*?(\d+)/6 ", err)]
    assert counts and max(counts) == 6 and not re.search(r"render: \d+img", err)  # past its total: no "/6"
    assert same_render(out, ref)


@pytest.mark.slow
@needs_bpy
def test_a_params_typo_only_blender_finds_leaves_the_previous_render_whole(reference, tmp_path, capsys):
    pfile, ref = reference
    out = copied_render(ref, tmp_path)
    before = snapshot(out)
    data = yaml.safe_load(pfile.read_text())
    data["rigs"]["glue_tube"]["keypoints"][0]["vertex_group"] = "haed"  # the schema cannot know the mesh's groups
    typo = write_params(tmp_path / "params.yaml", data)
    assert render_main(["--params", str(typo), "--out", str(out)]) == 2
    assert "haed" in capsys.readouterr().err
    assert snapshot(out) == before


@pytest.mark.slow
@needs_bpy
def test_a_camera_that_sees_no_object_is_reported_with_counts(tmp_path, capsys):
    data = tiny_params(num_images=2)
    intrinsics = {"fx": 100.0, "fy": 100.0, "cx": 5000.0, "cy": 36.0, "width": 96, "height": 72}
    data["render"]["camera"] = {"intrinsics": intrinsics}  # the principal point far right of the image
    del data["render"]["resolutions"]  # the calibration sets the size
    params = write_params(tmp_path / "params.yaml", data)
    assert render_main(["--params", str(params), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "warning: 2 of 2 images hold no instance in view" in err and "render.camera" in err


@pytest.mark.slow
@needs_bpy
def test_blender_leaves_no_temporary_folder_on_success_or_failure(tmp_path):
    sys_tmp = tmp_path / "tmp"
    pfile = write_params(tmp_path / "params.yaml", tiny_params(num_images=2))
    proc = start_render(pfile, tmp_path / "out", sys_tmp)
    assert proc.wait() == 0, proc.stderr.read()
    assert list(sys_tmp.iterdir()) == []
    bad = tiny_params(num_images=2)
    bad["rigs"]["glue_tube"]["keypoints"][0] = {"name": "head", "vertex": 10**6}  # only Blender finds this
    pfile = write_params(tmp_path / "bad.yaml", bad)
    proc = start_render(pfile, tmp_path / "bad_out", sys_tmp)
    assert proc.wait() == 2 and "out of range" in proc.stderr.read()
    assert list(sys_tmp.iterdir()) == []


# ---------------------------------------------------------------------------- full and read-only disks


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root); the injected-error tests cover the stages")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount(path: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(path)], check=True)


def every_image_is_whole(folder: Path) -> bool:
    for png in folder.rglob("*.png"):
        with Image.open(png) as im:
            im.load()  # raises on a file cut short
    return True


@pytest.mark.slow
@needs_bpy
def test_full_then_read_only_disk(reference, tmp_path, capsys):
    pfile, ref = reference
    with tmpfs(tmp_path / "disk", "48k") as disk:
        out = disk / "out"
        assert render_main(["--params", str(pfile), "--out", str(out)]) == 2
        (line,) = error_lines(capsys)
        assert "No space left on device" in line and "free some space" in line and str(out) in line
        assert not list(disk.rglob("*.tmp")) and every_image_is_whole(out)
        finished = [p.name for p in (out / "meta").glob("*.json")]
        remount(disk, "size=16m")
        assert render_main(["--params", str(pfile), "--out", str(out)]) == 0
        assert same_render(out, ref)
        assert len(finished) < 6
        remount(disk, "ro")
        other = write_params(tmp_path / "other.yaml", tiny_params(**RENDER) | {"seed": 99})
        assert render_main(["--params", str(other), "--out", str(out)]) == 2
        (line,) = error_lines(capsys)
        assert "Read-only file system" in line
        assert same_render(out, ref)  # nothing lost


def test_a_copy_onto_a_full_disk_names_the_destination(tiny_model, tmp_path, monkeypatch, capsys):
    _, data, _ = tiny_model

    def full(out_fd, in_fd, offset, count):  # how the kernel's copy fails on a full disk
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "sendfile", full)
    out = tmp_path / "export"
    argv = ["--format", "coco", "--input", str(data / "val.json"), "--out", str(out), "--copy"]
    assert export_dataset_main(argv) == 2
    (line,) = error_lines(capsys)
    assert "No space left on device; free some space" in line and str(data) not in line
    assert line.startswith(f"error: {out.resolve()}")


def test_a_failed_write_says_what_to_do_for_its_cause():
    """The one line every stage and Blender's render print for a failed write: a full disk asks for
    space, a permission or a read-only disk does not."""
    for err, hint in ((errno.ENOSPC, "free some space"), (errno.EACCES, "permissions"), (errno.EROFS, "read-only")):
        line = atomic.os_error_line(OSError(err, os.strerror(err)), "data/synthetic")
        assert line.startswith(f"data/synthetic: {os.strerror(err)}; ") and hint in line
        assert ("free some space" in line) == (err == errno.ENOSPC)


def fail_writes_after(monkeypatch, n: int, err: int = errno.ENOSPC) -> None:
    """Every file write after the first `n` fails as a full disk would (an injected OSError)."""
    real = Path.write_bytes
    count = {"n": 0}

    def write_bytes(self, data):
        count["n"] += 1
        if count["n"] > n:
            with open(self, "wb") as f:  # a full disk cuts the file short, then fails
                f.write(data[: len(data) // 2])
            raise OSError(err, os.strerror(err), str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)


def test_mix_on_a_full_disk_says_so_and_leaves_no_cut_file(tmp_path, monkeypatch, capsys):
    synthetic(tmp_path / "syn", n=3)
    quirky_export(tmp_path / "real", n=6)
    params = write_params(
        tmp_path / "params.yaml",
        {
            "rigs": THING,
            "mix": {"real": [source(tmp_path / "real")], "copy_images": True},
        },
    )
    argv = ["--params", str(params), "--input", str(tmp_path / "syn"), "--out", str(tmp_path / "out")]
    fail_writes_after(monkeypatch, 1)
    assert mix.main(argv) == 2
    err = error_lines(capsys)
    assert len(err) == 1 and "No space left on device; free some space" in err[0] and str(tmp_path / "out") in err[0]
    assert not list((tmp_path / "out").rglob("*.tmp"))
    assert not (tmp_path / "out" / "val.json").exists()  # the write that failed
    assert all(json.loads(f.read_text()) for f in (tmp_path / "out").glob("*.json"))  # the rest whole


def test_augment_on_a_full_disk_resumes_to_the_same_bytes(tmp_path, monkeypatch, capsys):
    src = tmp_path / "src"
    write_dataset(src, n_images=4)
    params = write_params(
        tmp_path / "params.yaml",
        {
            "seed": 3,
            "rigs": {"thing": {"mesh": {"type": "box"}, "keypoints": [{"name": "k", "position": [0, 0, 0]}]}},
            "augment": {"copies": 1, "workers": 1},
        },
    )
    argv = ["--params", str(params), "--input", str(src), "--out", str(tmp_path / "out")]
    clean = augment.augment_dataset(AugmentConfig(copies=1), 3, src, tmp_path / "clean", workers=1, progress=False)
    with monkeypatch.context() as m:
        fail_writes_after(m, 3)
        assert augment.main(argv) == 2
    err = error_lines(capsys)
    assert len(err) == 1 and "No space left on device" in err[0]
    assert not list((tmp_path / "out").rglob("*.tmp"))
    assert augment.main(argv) == 0
    assert json.loads((tmp_path / "out" / "annotations.json").read_text()) == clean
    assert snapshot(tmp_path / "out" / "images") == snapshot(tmp_path / "clean" / "images")


def test_augment_rebuilds_when_an_input_image_changes_but_its_json_does_not(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    data = write_dataset(src, n_images=2)
    augment.augment_dataset(AugmentConfig(copies=1), 0, src, out, workers=1, progress=False)
    name = data["images"][0]["file_name"]
    first = (out / name).read_bytes()
    cv2.imwrite(str(src / name), np.full((90, 120, 3), 200, np.uint8))  # same size, other pixels
    augment.augment_dataset(AugmentConfig(copies=1), 0, src, out, workers=1, progress=False)
    assert (out / name).read_bytes() == (src / name).read_bytes() != first
    second = src / data["images"][1]["file_name"]  # a run cut short on the second image ...
    good = second.read_bytes()
    second.write_bytes(good[:100])
    with pytest.raises(augment.AugmentError, match="cannot read image"):
        augment.augment_dataset(AugmentConfig(copies=2), 0, src, out, workers=1, progress=False)
    cv2.imwrite(str(src / name), np.full((90, 120, 3), 100, np.uint8))  # ... then the first image changed
    second.write_bytes(good)
    augment.augment_dataset(AugmentConfig(copies=2), 0, src, out, workers=1, progress=False)
    assert (out / name).read_bytes() == (src / name).read_bytes()
    assert augment.augment_dataset(AugmentConfig(copies=2), 0, src, tmp_path / "fresh", workers=1, progress=False) == (
        json.loads((out / "annotations.json").read_text())
    )


# ---------------------------------------------------------------------------- outputs over inputs


def test_render_into_a_folder_holding_its_params_or_mesh_is_refused(tmp_path, capsys):
    proj = tmp_path / "proj"
    (proj / "meshes").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "pen" / "pen.obj", proj / "meshes" / "pen.obj")
    params = yaml_params(
        proj / "params.yaml",
        {"pen": {"mesh": {"type": "file", "path": "meshes/pen.obj"}, "keypoints": [{"name": "tip", "vertex": 0}]}},
    )
    before = snapshot(proj)
    for out in (proj, proj / "meshes", tmp_path):
        assert render_main(["--params", str(params), "--out", str(out)]) == 2
        (line,) = error_lines(capsys)
        assert f"--out {out}: holds the" in line or f"--out {out}: is the" in line
    assert snapshot(proj) == before


def yaml_params(path: Path, rigs: dict, **sections) -> Path:
    return write_params(path, {"rigs": rigs, **sections})


def test_mix_into_its_input_or_a_real_export_is_refused_and_deletes_nothing(tmp_path, capsys):
    synthetic(tmp_path / "syn", n=3)
    quirky_export(tmp_path / "exports" / "real", n=4)
    params = write_params(
        tmp_path / "params.yaml",
        {
            "rigs": THING,
            "mix": {"real": [source(tmp_path / "exports" / "real")]},
        },
    )
    before = snapshot(tmp_path)
    for out in (
        tmp_path / "syn",
        tmp_path / "exports" / "real",
        tmp_path / "exports",
        tmp_path / "exports/real/images",
    ):
        argv = ["--params", str(params), "--input", str(tmp_path / "syn"), "--out", str(out)]
        assert mix.main(argv) == 2
        err = capsys.readouterr().err
        assert f"--out {out}:" in err and "destroy it" in err
    assert snapshot(tmp_path) == before


# ---------------------------------------------------------------------------- folders a stage did not make


def photo_export(folder: Path) -> Path:
    """A real COCO export laid out as a render's: `images/` and `annotations.json`, no spec.json."""
    write_dataset(folder, n_images=2)
    return folder


def test_render_into_a_coco_export_or_another_stage_output_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    params = write_params(tmp_path / "params.yaml", tiny_params(num_images=2))
    photos = photo_export(tmp_path / "photos")
    augmented = tmp_path / "augmented"
    augment.augment_dataset(AugmentConfig(copies=0), 0, photos, augmented, workers=1, progress=False)
    (tmp_path / "half").mkdir()  # a folder holding only what a render writes, but no render made it
    (tmp_path / "half" / "annotations.json").write_text("{}")
    work = []
    monkeypatch.setattr("pipeline.rendering.render_dataset.check_rigs", lambda *a, **k: work.append(a))
    before = snapshot(tmp_path)
    for out in (photos, augmented, tmp_path / "half"):
        assert render_main(["--params", str(params), "--out", str(out)]) == 2
        (line,) = error_lines(capsys)
        assert line.startswith(f"error: --out {out}: holds ") and "refusing to write there" in line
    assert snapshot(tmp_path) == before and not work
    spec = make_spec(load_params(params), params)
    for out in (photos, augmented):  # the render inside Blender applies the same rule
        with pytest.raises(output.OutputError, match="refusing to write"):
            output.claim(out, spec, may_reset=True)
    assert snapshot(tmp_path) == before


def test_augment_and_mix_into_a_folder_they_did_not_make_are_refused_and_delete_nothing(tmp_path, capsys):
    photos = photo_export(tmp_path / "photos")
    render_like = tmp_path / "render"
    render_like.mkdir()
    (render_like / "spec.json").write_text(json.dumps({"rigs": {}, "render": {}, "seed": 0}))
    shutil.copytree(photos / "images", render_like / "images")
    src = tmp_path / "src"
    synthetic(src, n=3)
    params = write_params(tmp_path / "params.yaml", {"rigs": THING})
    only_images = tmp_path / "only_images"
    shutil.copytree(photos / "images", only_images / "images")
    before = snapshot(tmp_path)
    for out in (photos, render_like, only_images):
        with pytest.raises(Rig2kpError, match=f"--out {out}: holds .*refusing to write there"):
            augment.augment_dataset(AugmentConfig(), 0, src, out, workers=1, progress=False)
        argv = ["--params", str(params), "--input", str(src), "--out", str(out)]
        assert mix.main(argv) == 2
        (line,) = error_lines(capsys)
        assert line.startswith(f"error: --out {out}: holds ") and "`rig2kp mix`" in line
    assert snapshot(tmp_path) == before
    out = tmp_path / "mixed"  # a folder mix made is replaced by the next run
    for _ in range(2):
        assert mix.main(["--params", str(params), "--input", str(src), "--out", str(out)]) == 0
    assert (out / mix.OWNER.marker).is_file() and (out / "train.json").is_file()


def test_predict_on_a_full_disk_leaves_no_cut_video_under_its_name(tiny_model, tmp_path, monkeypatch, capsys):
    model, _, params = tiny_model
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 64))
    for i in range(6):
        writer.write(np.full((64, 64, 3), i * 30, np.uint8))
    writer.release()
    real = cv2.VideoWriter

    class FullDisk:  # OpenCV's writer says nothing when the disk fills: the file just ends early
        def __init__(self, path, *args):
            self.path, self.inner = path, real(path, *args)

        def write(self, frame):
            self.inner.write(frame)

        def release(self):
            self.inner.release()
            data = Path(self.path).read_bytes()
            Path(self.path).write_bytes(data[: len(data) // 2])

    monkeypatch.setattr(cv2, "VideoWriter", FullDisk)
    out = tmp_path / "pred"
    assert predict_main(["--model", str(model), "--params", str(params), "--input", str(video), "--out", str(out)]) == 2
    (line,) = error_lines(capsys)
    assert line.startswith(f"error: {out / 'clip_annotated.mp4'}: the annotated video holds 0 of 6 frames")
    assert not list(out.glob("*.mp4*")) and not list(out.glob(".*.tmp*"))


def test_inspect_preview_predict_and_exports_refuse_a_folder_they_did_not_make(
    tiny_model, tmp_path, monkeypatch, capsys
):
    model, data, params = tiny_model
    photos = photo_export(tmp_path / "photos")
    (photos / "stats.json").write_text('{"mine": 1}')  # a file name the stages write too
    drawn = []

    def fake_preview(params_path, rig, views, size, elevation, out, blender):  # Blender's part, left out
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / f"{rig}.png").write_bytes(b"png")
        drawn.append(rig)
        return Path(out) / f"{rig}.png"

    monkeypatch.setattr("pipeline.authoring.preview.preview", fake_preview)
    before = snapshot(tmp_path)
    runs = {
        "inspect": lambda: inspect_main([str(data / "val.json"), "--out", str(photos)]),
        "preview": lambda: preview_main(["--params", str(params), "--out", str(photos)]),
        "predict": lambda: predict_main(
            [
                "--model",
                str(model),
                "--params",
                str(params),
                "--input",
                str(data / "images" / "test"),
                "--out",
                str(photos),
            ]
        ),
        "export-dataset": lambda: export_dataset_main(["--input", str(data / "val.json"), "--out", str(photos)]),
        "export": lambda: export_main(["--model", str(model), "--formats", "torchscript", "--out", str(photos)]),
        "evaluate": lambda: evaluate_main(
            ["--model", str(model), "--params", str(params), "--input", str(data), "--out", str(photos)]
        ),
    }
    for stage, run in runs.items():
        assert run() == 2, stage
        (line,) = error_lines(capsys)
        assert line.startswith(f"error: --out {photos}: holds ") and f"`rig2kp {stage}`" in line
    assert snapshot(tmp_path) == before and not drawn
    out = tmp_path / "inspected"  # a folder a stage made, it writes into again
    for _ in range(2):
        assert inspect_main([str(data / "val.json"), "--out", str(out)]) == 0
    assert (out / "stats.json").is_file()


def test_evaluate_writes_beside_the_renders_stats_and_again_over_its_own_output(tiny_model, tmp_path):
    """dvc.yaml's metrics/ holds render.json (the render stage's) before evaluate runs there."""
    model, data, params = tiny_model
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "render.json").write_text('{"images": 3}')
    argv = ["--model", str(model), "--params", str(params), "--input", str(data), "--out", str(metrics)]
    assert evaluate_main(argv) == 0
    assert json.loads((metrics / "summary.json").read_text())["written_by"] == "rig2kp evaluate"
    (metrics / "notes.md").write_text("mine")  # beside a folder evaluate marked, a user's file is no bar
    assert evaluate_main(argv) == 0
    assert (metrics / "render.json").read_text() == '{"images": 3}' and (metrics / "notes.md").read_text() == "mine"


def test_export_dataset_removes_the_scratch_folders_killed_runs_left_and_only_those(tiny_model, tmp_path):
    _, data, _ = tiny_model
    out = tmp_path / "export"
    dead = [tmp_path / ".export.999999999.tmp", tmp_path / ".export.999999999.old"]
    live = tmp_path / f".export.{os.getppid()}.tmp"  # a run still writing
    for folder in [*dead, live]:
        folder.mkdir()
        (folder / "labels.txt").write_text("scratch")
    assert export_dataset_main(["--input", str(data / "val.json"), "--out", str(out)]) == 0
    assert (out / "manifest.json").is_file() and live.is_dir()
    assert not any(d.exists() for d in dead)


# ---------------------------------------------------------------------------- paths a dataset names


def escaping_datasets(tmp_path: Path) -> dict[str, Path]:
    """Datasets whose second image is named outside their folder, each named file there and
    readable: a `..` name, an absolute name, a folder that is a link leading out."""
    found = {}
    for kind in ("dotdot", "absolute", "link"):
        folder = tmp_path / kind / "data"
        data = write_dataset(folder, n_images=2)
        outside = tmp_path / kind / "outside"
        outside.mkdir()
        shutil.copy(folder / data["images"][1]["file_name"], outside / "000001.png")
        name = {
            "dotdot": "../outside/000001.png",
            "absolute": str(outside / "000001.png"),
            "link": "linked/000001.png",
        }[kind]
        if kind == "link":
            (folder / "linked").symlink_to(outside, target_is_directory=True)
        data["images"][1]["file_name"] = name
        (folder / "annotations.json").write_text(json.dumps(data))
        found[kind] = folder
    return found


def test_every_reader_refuses_a_file_name_leading_out_of_the_dataset(tmp_path, capsys):
    datasets = escaping_datasets(tmp_path)
    params = write_params(tmp_path / "params.yaml", {"rigs": THING, "mix": {"copy_images": True}})
    before = snapshot(tmp_path)
    for kind, folder in datasets.items():
        why = "an absolute path" if kind == "absolute" else "goes up" if kind == "dotdot" else "a link leading out"
        with pytest.raises(DatasetError, match=f"images\\[id=2\\].file_name: .*{why}"):
            augment.augment_dataset(
                AugmentConfig(copies=1), 0, folder, tmp_path / f"aug_{kind}", workers=1, progress=False
            )
        with pytest.raises(DatasetError, match=f"images\\[id=2\\].file_name: .*{why}"):
            load_split(folder / "annotations.json")
        argv = ["--params", str(params), "--input", str(folder), "--out", str(tmp_path / f"mix_{kind}")]
        assert mix.main(argv) == 2
        assert why in capsys.readouterr().err
        assert inspect_main([str(folder), "--out", str(tmp_path / f"inspect_{kind}")]) == 2
        assert why in capsys.readouterr().err
    assert snapshot(tmp_path) == before  # nothing written, inside or outside


def test_augment_into_its_input_or_a_folder_holding_it_is_refused(tmp_path):
    src = tmp_path / "data" / "synthetic"
    write_dataset(src, n_images=2)
    before = snapshot(tmp_path)
    for out in (src, tmp_path / "data"):
        with pytest.raises(Exception, match=f"--out {out}: (is|holds) the input"):
            augment.augment_dataset(AugmentConfig(), 0, src, out, workers=1, progress=False)
    assert snapshot(tmp_path) == before


def test_train_and_evaluate_outputs_holding_their_inputs_are_refused(tmp_path, capsys):
    data = toy_data(tmp_path / "data", train=4, val=2, test=2)
    params = write_train_params(tmp_path / "p.yaml", train={"epochs": 1})
    before = snapshot(tmp_path / "data")
    argv = ["--params", str(params), "--data", str(data), "--live-dir", str(tmp_path / "live")]
    assert train_main([*argv, "--out", str(tmp_path)]) == 2
    assert "holds the --input folder" in capsys.readouterr().err
    assert train_main([*argv, "--out", str(tmp_path / "models")]) == 0
    model = tmp_path / "models" / "best.pt"
    assert (
        evaluate_main(
            ["--params", str(params), "--data", str(data), "--model", str(model), "--out", str(tmp_path / "models")]
        )
        == 2
    )
    assert "holds the --model" in capsys.readouterr().err
    assert snapshot(tmp_path / "data") == before and model.is_file()


def test_train_on_a_full_disk_says_so_in_one_line_and_leaves_no_temporary_checkpoint(tmp_path, monkeypatch, capsys):
    data = toy_data(tmp_path / "data", train=4, val=2, test=2)
    params = write_train_params(tmp_path / "p.yaml", train={"epochs": 1})
    out = tmp_path / "models"
    out.mkdir()
    (out / "last.pt.tmp").write_bytes(b"cut")  # left by an earlier version killed mid-write
    (out / ".best.pt.999999999.tmp").write_bytes(b"cut")  # by a killed process

    def full_disk(obj, f, *a, **k):  # how torch reports ENOSPC: a RuntimeError, after a partial write
        Path(f).write_bytes(b"partial")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 512 vs 498")

    monkeypatch.setattr(torch, "save", full_disk)
    argv = ["--params", str(params), "--data", str(data), "--live-dir", str(tmp_path / "live"), "--out", str(out)]
    assert train_main(argv) == 2
    (line,) = error_lines(capsys)
    assert line.startswith(f"error: {out / 'last.pt'}: could not write the checkpoint") and "free some space" in line
    # no temporary file, old or new, and no cut checkpoint: only train's marker, written before any work
    assert sorted(p.name for p in out.iterdir()) == [MARKER]


def test_train_refuses_an_out_folder_it_did_not_make_and_takes_one_of_checkpoints(tmp_path, capsys):
    """A folder of photos is refused before any work; one that holds only checkpoints (as `dvc pull`
    leaves models/) is train's."""
    data = toy_data(tmp_path / "data", train=4, val=2, test=2)
    params = write_train_params(tmp_path / "p.yaml", train={"epochs": 1})
    argv = ["--params", str(params), "--data", str(data), "--live-dir", str(tmp_path / "live")]
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "IMG_1.jpg").write_bytes(b"a photo")
    assert train_main([*argv, "--out", str(photos)]) == 2
    (line,) = error_lines(capsys)
    assert line.startswith(f"error: --out {photos}: holds IMG_1.jpg but no {MARKER}")
    assert sorted(p.name for p in photos.iterdir()) == ["IMG_1.jpg"]
    pulled = tmp_path / "models"
    pulled.mkdir()
    (pulled / "best.pt").write_bytes(b"an earlier model")
    assert train_main([*argv, "--out", str(pulled)]) == 0
    assert sorted(p.name for p in pulled.iterdir()) == ["best.pt", "last.pt", MARKER]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """(best.pt of a 1-epoch tiny model, its data folder, its params file)."""
    tmp = tmp_path_factory.mktemp("tiny_model")
    data = toy_data(tmp / "data", train=4, val=2, test=2)
    params = write_train_params(tmp / "p.yaml", train={"epochs": 1})
    argv = ["--params", str(params), "--data", str(data), "--live-dir", str(tmp / "live")]
    assert train_main([*argv, "--out", str(tmp / "models")]) == 0
    return tmp / "models" / "best.pt", data, params


def test_predict_names_unreadable_thin_images_and_a_cut_video_goes_on_and_exits_1(tiny_model, tmp_path, capsys):
    model, data, params = tiny_model
    photos = tmp_path / "photos"
    photos.mkdir()
    good = sorted((data / "images" / "test").iterdir())[0]
    shutil.copy(good, photos / "a_good.png")
    (photos / "b_broken.png").write_bytes(b"\x89PNG not really")
    cv2.imwrite(str(photos / "c_thin.png"), np.zeros((3, 4000, 3), np.uint8))
    capsys.readouterr()
    run = ["--model", str(model), "--params", str(params)]
    assert predict_main([*run, "--input", str(photos), "--out", str(tmp_path / "pred")]) == 1
    err = capsys.readouterr().err
    assert f"warning: {photos / 'b_broken.png'}: cannot be read as an image; skipped" in err
    assert f"warning: {photos / 'c_thin.png'}: 4000x3 pixels is too thin for the model" in err
    assert "Traceback" not in err and "error: 2 problem(s) above" in err
    images = json.loads((tmp_path / "pred" / "images.json").read_text())["images"]
    assert [im["file_name"] for im in images] == ["a_good.png"]
    video = tmp_path / "clip.avi"  # an AVI cut short still opens, and says how many frames it had
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 64))
    for i in range(30):
        writer.write(np.full((64, 64, 3), i * 8, np.uint8))
    writer.release()
    video.write_bytes(video.read_bytes()[: video.stat().st_size * 6 // 10])
    assert predict_main([*run, "--input", str(video), "--out", str(tmp_path / "pred_video")]) == 1
    err = capsys.readouterr().err
    assert f"warning: {video}: the container says 30 frames" in err and "cut short" in err


# ---------------------------------------------------------------------------- malformed real exports

BAD = {
    "null": None,
    "string": "12",
    "word": "abc",
    "nan": math.nan,
    "negative": -5,
    "list": [],
    "dict": {},
    "bool": True,
}
FIELDS = {
    "x": ("annotations", lambda a, v: a["keypoints"].__setitem__(0, v)),
    "y": ("annotations", lambda a, v: a["keypoints"].__setitem__(1, v)),
    "v": ("annotations", lambda a, v: a["keypoints"].__setitem__(2, v)),
    "keypoints": ("annotations", lambda a, v: a.__setitem__("keypoints", v)),
    "bbox": ("annotations", lambda a, v: a.__setitem__("bbox", v)),
    "bbox_w": ("annotations", lambda a, v: a["bbox"].__setitem__(2, v)),
    "area": ("annotations", lambda a, v: a.__setitem__("area", v)),
    "iscrowd": ("annotations", lambda a, v: a.__setitem__("iscrowd", v)),
    "num_keypoints": ("annotations", lambda a, v: a.__setitem__("num_keypoints", v)),
    "segmentation": ("annotations", lambda a, v: a.__setitem__("segmentation", v)),
    "category_id": ("annotations", lambda a, v: a.__setitem__("category_id", v)),
    "image_id": ("annotations", lambda a, v: a.__setitem__("image_id", v)),
    "width": ("images", lambda i, v: i.__setitem__("width", v)),
    "height": ("images", lambda i, v: i.__setitem__("height", v)),
    "file_name": ("images", lambda i, v: i.__setitem__("file_name", v)),
    "id": ("images", lambda i, v: i.__setitem__("id", v)),
}


@pytest.fixture(scope="module")
def clean_export(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    synthetic(tmp / "syn", n=2)
    quirky_export(tmp / "real", n=4)
    return tmp


@pytest.mark.parametrize("value", list(BAD), ids=list(BAD))
@pytest.mark.parametrize("field", list(FIELDS))
def test_malformed_export_values_are_listed_or_repaired_never_a_traceback(clean_export, tmp_path, field, value, caplog):
    shutil.copytree(clean_export, tmp_path / "in")
    export = tmp_path / "in" / "real" / "export.json"
    data = json.loads(export.read_text())
    key, mutate = FIELDS[field]
    mutate(data[key][-1], BAD[value])  # the last annotation / image: plain, with keypoints and a box
    export.write_text(json.dumps(data))
    cfg = MixConfig(real=[source(tmp_path / "in" / "real")])
    try:
        mix.mix_dataset(cfg, 0, tmp_path / "in" / "syn", tmp_path / "out", progress=False)
    except mix.MixError as exc:
        msg = str(exc)
        assert "nothing was written" in msg and not (tmp_path / "out").exists()
        assert str(export) in msg or "mix.real[0]" in msg
        return
    # accepted: then every value in the output is well formed (validate finds no error)
    from pipeline.inspection.validate import validate_path

    errors = [p for p in validate_path(tmp_path / "out") if p.level == "error"]
    assert errors == [], errors


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("x", None, "keypoints[0]: (x, y) = (None,"),
        ("y", "12", "(x, y) = ("),
        ("bbox_w", -5, "negative width or height"),
        ("v", "2", "v='2', expected 0, 1 or 2"),
        ("width", "120", "width, height = '120'"),
    ],
)
def test_the_named_problems(clean_export, tmp_path, field, value, message):
    shutil.copytree(clean_export, tmp_path / "in")
    export = tmp_path / "in" / "real" / "export.json"
    data = json.loads(export.read_text())
    key, mutate = FIELDS[field]
    mutate(data[key][-1], value)
    export.write_text(json.dumps(data))
    with pytest.raises(mix.MixError, match="nothing was written") as err:
        mix.mix_dataset(
            MixConfig(real=[source(tmp_path / "in" / "real")]),
            0,
            tmp_path / "in" / "syn",
            tmp_path / "out",
            progress=False,
        )
    assert message in str(err.value)


# ---------------------------------------------------------------------------- damaged inputs of augment


def test_augment_names_resized_truncated_and_missing_images_before_any_work(tmp_path):
    src = tmp_path / "src"
    write_dataset(src, n_images=4)
    Image.new("RGB", (60, 45)).save(src / "images/sub/000000.png")  # a valid PNG of another size
    (src / "images/sub/000001.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (src / "images/sub/000002.png").unlink()
    with pytest.raises(DatasetError) as err:
        augment.augment_dataset(AugmentConfig(), 0, src, tmp_path / "out", workers=1, progress=False)
    msg = str(err.value)
    assert "3 problem(s)" in msg
    assert "000000.png is 60x45, the annotations say 120x90" in msg
    assert "000001.png is not a readable image" in msg and "000002.png not found" in msg
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------- training: kill and resume


@pytest.mark.slow
def test_training_killed_with_one_loader_worker_resumes_bit_for_bit(tmp_path):
    data = toy_data(tmp_path / "data")
    params = write_train_params(tmp_path / "p.yaml", train={"epochs": 4, "ema": True}, runtime={"workers": 1})

    def cmd(out: str, *extra: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "train.train",
            "--params",
            str(params),
            "--data",
            str(data),
            "--out",
            str(tmp_path / out),
            "--live-dir",
            str(tmp_path / f"live_{out}"),
            *extra,
        ]

    subprocess.run(cmd("straight"), cwd=ROOT, check=True, capture_output=True)
    proc = subprocess.Popen(cmd("killed"), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: (tmp_path / "killed" / "last.pt").exists(), proc)
    for pid in [proc.pid, *children(proc.pid)]:  # the trainer and its loader worker
        os.kill(pid, signal.SIGKILL)
    proc.wait()
    stopped = checkpoint.load(tmp_path / "killed" / "last.pt")["state"]["epoch"]
    assert 1 <= stopped < 4
    subprocess.run(cmd("killed", "--resume"), cwd=ROOT, check=True, capture_output=True)
    a = checkpoint.load(tmp_path / "straight" / "last.pt")
    b = checkpoint.load(tmp_path / "killed" / "last.pt")
    for part in ("model", "ema"):
        assert all(torch.equal(a[part][k], b[part][k]) for k in a[part]), part
    assert a["state"] == b["state"]


@pytest.mark.slow
def test_loader_workers_change_no_weight(tmp_path):
    data = toy_data(tmp_path / "data")
    weights = []
    for workers in (0, 2):
        params = write_train_params(tmp_path / f"w{workers}.yaml", train={"epochs": 2}, runtime={"workers": workers})
        out = tmp_path / f"w{workers}"
        argv = ["--params", str(params), "--data", str(data), "--out", str(out), "--live-dir", str(tmp_path / "live")]
        assert train_main(argv) == 0
        weights.append(checkpoint.load(out / "last.pt")["model"])
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
