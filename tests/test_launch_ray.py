"""The Ray launcher: shards as Ray tasks on a local Ray give the local pool's bytes, resume, and name failures."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from pipeline.rendering.blender_runner import BLENDER_SCRIPT, ROOT, RenderError
from pipeline.rendering.render_dataset import render_dataset
from pipeline.schema import load_params
from tests.support import needs_bpy
from tests.support.params import tiny_params, write_params


def test_importing_the_render_stage_does_not_import_ray():
    code = "import sys, pipeline.rendering.render_dataset, pipeline.cli; assert 'ray' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_asking_for_ray_without_it_installed_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    pfile = write_params(tmp_path / "params.yaml", tiny_params(num_images=2))
    with pytest.raises(RenderError, match=r"pip install 'rig2kp\[ray\]'"):
        render_dataset(load_params(pfile), pfile, tmp_path / "out", launcher="ray", progress=False)
    assert not (tmp_path / "out").exists()  # failed before any work


@pytest.fixture(scope="module")
def local_ray():
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (pip install 'rig2kp[ray]')")
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def fake_blender(path, fail_start: int):
    """A stand-in Blender binary: shard starting at `fail_start` fails with a Blender-style error line."""
    path.write_text(
        "#!/bin/sh\n"
        'while [ "$1" != "--" ]; do shift; done; shift\n'
        f'case " $* " in *" --start {fail_start} "*) echo "error: shard fails on purpose" >&2; exit 3;; esac\n'
        f'exec "{sys.executable}" "{BLENDER_SCRIPT}" "$@"\n'
    )
    path.chmod(0o755)
    return str(path)


@pytest.mark.slow
@needs_bpy
def test_ray_tasks_give_the_local_pool_bytes_report_failures_and_resume(local_ray, tmp_path):
    pfile = write_params(tmp_path / "params.yaml", tiny_params(num_images=4, shard_size=2, workers=2))
    params = load_params(pfile)
    local = tmp_path / "local"
    render_dataset(params, pfile, local, progress=False)

    # Shard 1 (images 2..3) fails on its worker, twice (the retry): reported with its Blender log line;
    # shard 0 finishes and is kept.
    out = tmp_path / "ray"
    with pytest.raises(RenderError) as err:
        render_dataset(
            params, pfile, out, blender=fake_blender(tmp_path / "blender", 2), launcher="ray", progress=False
        )
    message = str(err.value)
    assert "1 of 2 shards failed" in message and "shard 1 (images 2..3) failed on" in message
    assert "failed on" in message and "shard fails on purpose" in message
    assert sorted(p.name for p in (out / "meta").iterdir()) == ["000000.json", "000001.json"]
    assert not (out / "annotations.json").exists()

    before = {p.name: p.stat().st_mtime_ns for p in (out / "meta").iterdir()}
    data = render_dataset(params, pfile, out, launcher="ray", progress=False)  # resumes: shard 1 only
    assert len(data["images"]) == 4
    assert all((out / "meta" / n).stat().st_mtime_ns == t for n, t in before.items())
    assert (out / "annotations.json").read_bytes() == (local / "annotations.json").read_bytes()
