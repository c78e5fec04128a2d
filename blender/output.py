"""What the renderer writes, and when an image counts as finished (standard library only).

A render folder belongs to one spec: `spec.json` names it, every `meta/NNNNNN.json` carries its
hash (`spec_hash`) and the SHA-256 of its image, and the merged `annotations.json` carries the
hash too. An image is finished when its meta file reads, matches the spec and its PNG has the
bytes the meta file names; anything else is rendered again. Processes working in a folder hold
a shared lock on it; only a process that holds the folder alone may give it to other params.

Ids are derived from the render index, so the merged file is the same whatever the sharding:
image id = index + 1, annotation id = (index + 1) * 1000 + position in the image + 1.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import shutil
import time
from pathlib import Path

from common.atomic import TEMPORARY_NAME, file_sha256, write_json
from common.render_spec import RenderSpec

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; folders are then not guarded against a second process
    fcntl = None

MAX_INSTANCES_PER_IMAGE = 999
SPEC = "spec.json"
SYMMETRY = "symmetry.json"  # {rig: group}: what Blender resolved from each symmetric rig's keypoints
LOCK = ".rig2kp.lock"  # listed in .dvcignore: not part of the dataset
# what a render writes into its folder, and nothing else: all of it goes when params change
RENDER_OUTPUTS = ("images", "meta", "passes", "annotations.json", "stats.json", SYMMETRY, SPEC)
# how the work is split and where files lie on this machine: they change no image or annotation
EXECUTION_KEYS = {"render": ("workers", "threads", "shard_size"), None: ("params_file", "files", "photos")}


class OutputError(RuntimeError):
    """A render folder that this process may not write to; the message says why and what to do."""


# ---------------------------------------------------------------------------- spec identity


def spec_content(spec: dict) -> dict:
    """The part of a spec that decides images and annotations: no execution settings, and every
    input file named by its SHA-256 (`spec["files"]`) instead of its path on this machine."""
    files = spec.get("files", {})

    def by_digest(value):
        if isinstance(value, dict):
            return {k: by_digest(v) for k, v in value.items()}
        if isinstance(value, list):
            return [by_digest(v) for v in value]
        if isinstance(value, str) and value in files:
            return f"sha256:{files[value]}"
        return value

    out = {k: v for k, v in spec.items() if k not in EXECUTION_KEYS[None]}
    out["render"] = {k: v for k, v in spec.get("render", {}).items() if k not in EXECUTION_KEYS["render"]}
    if "photos" in spec:
        out["photos"] = [files.get(p, p) for p in spec["photos"]]
    return by_digest(copy.deepcopy(out))


def spec_hash(spec: dict) -> str:
    """SHA-256 of the spec's content: equal for specs that give the same images."""
    text = json.dumps(spec_content(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------- files and "done"


def meta_path(out_dir: Path, index: int) -> Path:
    return Path(out_dir) / "meta" / f"{index:06d}.json"


def image_name(index: int) -> str:
    return f"images/{index:06d}.png"


def read_meta(out_dir: Path, index: int) -> dict | None:
    """Image `index`'s meta file, or None when it is missing or cut short."""
    try:
        return json.loads(meta_path(out_dir, index).read_text())
    except (OSError, ValueError):
        return None


def finished(out_dir: Path, index: int, digest: str) -> bool:
    """Whether image `index` is done for the spec with hash `digest`: its meta file reads, names
    that spec, and its PNG is there with the bytes the meta file records."""
    meta = read_meta(out_dir, index)
    if meta is None or meta.get("spec_hash") != digest or "image_sha256" not in meta:
        return False
    image = Path(out_dir) / meta.get("file_name", image_name(index))
    try:
        if image.stat().st_size != meta.get("image_bytes"):
            return False
        return file_sha256(image) == meta["image_sha256"]
    except OSError:
        return False


def forget(out_dir: Path, index: int) -> None:
    """Remove what an unfinished image left (its meta first: a meta file marks done)."""
    meta_path(out_dir, index).unlink(missing_ok=True)
    (Path(out_dir) / image_name(index)).unlink(missing_ok=True)


# ---------------------------------------------------------------------------- folder ownership


class FolderLock:
    """An advisory lock on a render folder: shared while working, exclusive to change owner."""

    def __init__(self, out_dir: Path):
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)

    def shared(self) -> None:
        if fcntl is not None:
            fcntl.flock(self.fd, fcntl.LOCK_SH)

    def unlock(self) -> None:
        if fcntl is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def try_exclusive(self) -> bool:
        if fcntl is None:
            return True
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def sweep(self) -> list[Path]:
        """Remove what killed writers left (temporary files) if no other process works in the
        folder now; the lock is shared again afterwards. A dying process holds the lock until its
        last thread has gone, so a run may find nothing to sweep at its start and sweep at its end."""
        swept = sweep_temporaries(self.out) if self.try_exclusive() else []
        self.shared()  # a failed upgrade may have dropped the shared lock
        return swept

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing drops the lock
            self.fd = None

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def is_render_spec(spec: dict) -> bool:
    """Whether a spec.json was written by a render (an augment run writes one too)."""
    return isinstance(spec, dict) and "rigs" in spec and "render" in spec


def stored_spec(out_dir: Path) -> dict | None:
    try:
        return json.loads((Path(out_dir) / SPEC).read_text())
    except (OSError, ValueError):
        return None


def _reset(out_dir: Path, spec: dict) -> None:
    for name in RENDER_OUTPUTS:
        target = Path(out_dir) / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    write_json(Path(out_dir) / SPEC, spec, indent=1)


def sweep_temporaries(out_dir: Path) -> list[Path]:
    """Remove the temporary files (common/atomic.py names) a killed writer left in a render
    folder; call only while holding its lock exclusively, so no live writer loses one."""
    out_dir = Path(out_dir)
    found = [p for p in out_dir.glob(".*.tmp*") if TEMPORARY_NAME.match(p.name)]
    for name in RENDER_OUTPUTS:
        if (out_dir / name).is_dir():
            found += [p for p in (out_dir / name).rglob(".*.tmp*") if TEMPORARY_NAME.match(p.name)]
    for path in found:
        path.unlink(missing_ok=True)
    return found


def claim(out_dir: Path, spec: dict, may_reset: bool, attempts: int = 10) -> FolderLock:
    """Take a shared lock on a render folder for `spec` and return it (release when done).

    A folder of the same spec is kept (finished images stay; temporary files of killed writers
    are removed when no other process works there). A folder of other params is
    emptied of everything a render writes and given the new spec, but only when `may_reset` and
    no other process works in it; a non-empty folder without a render's spec.json (photos, a COCO
    export, another stage's output) is never touched: the rule of pipeline/outputs.py, which the
    render stage checks first, kept here for a render started inside Blender.
    """
    out_dir = Path(out_dir)
    foreign = [p.name for p in out_dir.iterdir() if p.name != LOCK] if out_dir.is_dir() else []
    held = stored_spec(out_dir)
    if held is not None and not is_render_spec(held) and held != spec:
        raise OutputError(
            f"{out_dir}/{SPEC}: not the spec of a render (another stage's output?); refusing to write "
            "into it (choose an empty or new folder for --out)"
        )
    lock = FolderLock(out_dir)
    digest = spec_hash(spec)
    for _ in range(attempts):
        lock.shared()
        old = stored_spec(out_dir)
        if old is not None and spec_hash(old) == digest:
            lock.sweep()
            if spec_hash(stored_spec(out_dir) or {}) == digest:  # the upgrade let others in: check again
                return lock
            continue
        if old is None and (out_dir / SPEC).exists():
            lock.release()
            raise OutputError(f"{out_dir}/{SPEC}: not readable; remove the folder or choose another --out")
        if old is None and foreign:
            lock.release()
            raise OutputError(
                f"{out_dir}: holds {', '.join(sorted(foreign)[:5])} but no {SPEC} of a render; refusing to "
                "write into it (choose an empty or new folder for --out)"
            )
        if old is not None and not may_reset:
            lock.release()
            raise OutputError(
                f"{out_dir}/{SPEC}: the images there come from other params; render with `rig2kp render` "
                f"(which starts the folder afresh) or choose another --out"
            )
        lock.unlock()
        if lock.try_exclusive():
            old = stored_spec(out_dir)  # another process may have claimed it meanwhile
            if old is None or spec_hash(old) != digest:
                _reset(out_dir, spec)
            lock.shared()
            return lock
        time.sleep(random.uniform(0.05, 0.15))  # others hold it: maybe processes claiming it alike, briefly
    lock.release()
    raise OutputError(
        f"{out_dir}: another render with other params is still writing there (an earlier run still "
        "finishing, or a second render started on the same folder); wait for it or stop it, or choose another --out"
    )


# ---------------------------------------------------------------------------- the merged COCO file


def categories(spec: RenderSpec, groups: dict[str, list[list[int]]] | None = None) -> list[dict]:
    """One category per rig, in params order; our extras live under the `rig` key (with
    `symmetry_permutations`, the rig's group, for a symmetric rig)."""
    out = []
    for cid, (name, rig) in enumerate(spec.rigs.items(), start=1):
        names = [k.name for k in rig.keypoints]
        out.append(
            {
                "id": cid,
                "name": name,
                "supercategory": rig.supercategory,
                "keypoints": names,
                "skeleton": [[names.index(a) + 1, names.index(b) + 1] for a, b in rig.skeleton],
                "rig": {
                    "sigmas": [k.sigma for k in rig.keypoints],
                    "tolerances": [k.tolerance for k in rig.keypoints],
                    "flip_pairs": [list(p) for p in rig.flip_pairs],
                },
            }
        )
        if rig.symmetry is not None:
            out[-1]["rig"]["symmetry_permutations"] = groups[name]
    return out


def write_symmetry(out_dir: Path, groups: dict[str, list[list[int]]]) -> None:
    """The resolved groups beside the meta files; every shard writes the same bytes."""
    write_json(Path(out_dir) / SYMMETRY, groups)


def read_symmetry(spec: RenderSpec, out_dir: Path) -> dict[str, list[list[int]]] | None:
    """The groups of the symmetric rigs (None when no rig is symmetric)."""
    wanted = [n for n, r in spec.rigs.items() if r.symmetry is not None]
    if not wanted:
        return None
    path = Path(out_dir) / SYMMETRY
    try:
        groups = json.loads(path.read_text())
    except (OSError, ValueError):
        groups = {}
    missing = [n for n in wanted if n not in groups]
    if missing:
        raise OutputError(
            f"{path}: no symmetry group for rig(s) {missing}; a render writes it when it "
            "builds the scene: run the render again"
        )
    return groups


def unfinished(digest: str, out_dir: Path, indices) -> list[int]:
    """The indices not finished for the spec whose `spec_hash` is `digest`."""
    return [i for i in indices if not finished(out_dir, i, digest)]


def merge(spec: RenderSpec, digest: str, out_dir: Path) -> dict:
    """COCO dict of every image of `spec` (whose `spec_hash` is `digest`); all must be finished."""
    num_images = spec.render.num_images
    missing = unfinished(digest, out_dir, range(num_images))
    if missing:
        raise OutputError(
            f"{out_dir}: {len(missing)} image(s) not rendered for these params (missing, cut short, or "
            f"from other params), e.g. index {missing[:5]}; run the render again to redo them"
        )
    images, annotations = [], []
    for i in range(num_images):
        meta = read_meta(out_dir, i)
        images.append(
            {
                "id": i + 1,
                "file_name": meta["file_name"],
                "width": meta["width"],
                "height": meta["height"],
                "source": "synthetic",
                "meta_file": f"meta/{i:06d}.json",
            }
        )
        if len(meta["annotations"]) > MAX_INSTANCES_PER_IMAGE:
            raise ValueError(f"image {i}: more than {MAX_INSTANCES_PER_IMAGE} instances")
        for k, ann in enumerate(meta["annotations"]):
            annotations.append({"id": (i + 1) * 1000 + k + 1, "image_id": i + 1, **ann})
    return {
        "info": {
            "description": "rig2kp synthetic renders",
            "seed": spec.seed,
            "version": "1",
            "spec_hash": digest,
        },
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": categories(spec, read_symmetry(spec, out_dir)),
    }
