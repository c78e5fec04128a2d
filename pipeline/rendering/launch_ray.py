"""Render shards as Ray tasks: `rig2kp render --launcher ray [--ray-address auto|host:6379|ray://host:10001]`.

Each task runs on a worker exactly what a local shard runs (`pipeline.rendering.blender_runner.render_shard`: the same
Blender command, retried once, finished images kept), so shards resume and merge as they do locally;
the driver merges annotations.json once every task is done. Workers need this project and bpy
installed, and `--out` (plus the rigs' mesh files and background photos, named by absolute path in
spec.json) on shared storage at the same path as on the driver.

`ray` is an optional dependency (`pip install 'rig2kp[ray]'`): nothing imports it until a render
asks for the Ray launcher.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from types import ModuleType

from tqdm import tqdm

from pipeline.rendering.blender_runner import RenderError

Shard = tuple[int, int]  # image indices [start, end)


def import_ray() -> ModuleType:
    try:
        import ray
    except ImportError as exc:
        raise RenderError(
            "--launcher ray needs the ray package: pip install 'rig2kp[ray]' (or pip install 'ray>=2.9,<3')"
        ) from exc
    return ray


def connect(ray: ModuleType, address: str | None) -> bool:
    """Join the cluster at `address`; True if this call connected (so it also disconnects).

    None: RAY_ADDRESS, else a Ray started on this machine with `ray start`, else a new local Ray;
    `local`: always a new local Ray. An already initialized Ray (a notebook, a test) is used as it is.
    """
    if ray.is_initialized():
        return False
    local = address in (None, "local")
    try:
        ray.init(address=address, **({"include_dashboard": False} if local else {}))
    except Exception as exc:  # ConnectionError, ValueError, RuntimeError: it depends on the address kind
        raise RenderError(f"--ray-address {address or '(none: local)'}: could not start or join Ray: {exc}") from exc
    return True


def run_shard(run: Callable[[Shard], None], shard: Shard) -> tuple[str, str | None]:
    """The task body, on a worker: (host, None) when done, (host, the error with its Blender log) if not."""
    try:
        run(shard)
    except RenderError as exc:
        return socket.gethostname(), str(exc)
    return socket.gethostname(), None


def render_shards(
    shards: dict[int, Shard],
    run: Callable[[Shard], None],
    num_cpus: float,
    num_gpus: float,
    address: str | None,
    progress: bool = True,
) -> None:
    """Run `run(shard)` for every numbered shard as one Ray task each; raise naming every failed shard.

    `run` must pickle by reference (a module-level function or a functools.partial of one), so a
    worker imports it from its own installed copy of the project.
    """
    if not shards:
        return
    ray = import_ray()
    started = connect(ray, address)
    try:
        task = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus)(run_shard)
        refs = {task.remote(run, shard): number for number, shard in shards.items()}
        failures = []
        waiting = list(refs)
        with tqdm(total=len(refs), unit="shard", desc="render (ray)", disable=not progress) as bar:
            while waiting:
                done, waiting = ray.wait(waiting, num_returns=1)
                for ref in done:
                    number = refs[ref]
                    try:
                        host, error = ray.get(ref)
                    except ray.exceptions.RayError as exc:  # the worker process or its node died
                        host, error = "a worker that died", str(exc)
                    if error is not None:
                        a, b = shards[number]
                        failures.append(f"shard {number} (images {a}..{b - 1}) failed on {host}: {error}")
                        bar.write(failures[-1].splitlines()[0])
                    bar.update()
    finally:
        if started:
            ray.shutdown()
    if failures:
        raise RenderError(
            f"{len(failures)} of {len(shards)} shards failed (finished images are kept; "
            "run again to resume):\n" + "\n".join(failures)
        )
