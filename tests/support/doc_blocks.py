"""Run what the docs tell users to run: the Markdown blocks marked runnable, on tiny params.

A fenced block right after `<!-- runnable -->` is run line by line in bash (`set -euo pipefail`),
in order, from the root of a scratch copy of the repository; a block right after
`<!-- file: PATH -->` is written to PATH first, and when it is a params file (it has `rigs:`) the
sizes are shrunk by a tiny overlay, the same for every page. The labelled photos of the tutorial
are stood in for by renders of the same rig at another seed, written as a CVAT export.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
RUNNABLE = "<!-- runnable -->"
FILE_MARK = re.compile(r"<!-- file: (\S+) -->")
FENCE = re.compile(r"^(```+|~~~+)")

# Every stage shrunk to seconds: a real render, a real (useless) training, the same keys.
TINY = {
    "render": {
        "num_images": 8,
        "resolutions": [[96, 72]],
        "samples": 4,
        "denoise": False,
        "shard_size": 8,
        "workers": 1,
        "min_visible_px": 10,
    },
    "augment": {"copies": 1, "workers": 1},
    "train": {"iterations": 20, "batch_size": 2, "warmup_iters": 5, "eval_every": 1},
    "runtime": {"workers": 0, "threads": 1, "predict_batch_size": 2},
    "model": {
        "weights": "none",
        "fpn_channels": 32,
        "box_head_dim": 128,
        "keypoint_head": [32, 32],
        "min_size": 64,
        "max_size": 96,
        "rpn_post_nms_top_n_train": 100,
        "rpn_post_nms_top_n_test": 50,
        "box_batch_size_per_image": 32,
        "box_detections_per_img": 10,
    },
    "evaluate": {"contact_sheet": 4},
}


@dataclass(frozen=True)
class Block:
    kind: str  # "run" or "file"
    text: str
    path: str | None  # for "file": where it goes, relative to the repository root
    line: int  # 1-based line of the opening fence


def blocks(md: Path) -> list[Block]:
    """The marked blocks of a Markdown page, in page order."""
    lines = md.read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        mark = lines[i].strip()
        file_match = FILE_MARK.fullmatch(mark)
        if (mark == RUNNABLE or file_match) and i + 1 < len(lines) and FENCE.match(lines[i + 1]):
            fence = FENCE.match(lines[i + 1]).group(1)
            end = next(j for j in range(i + 2, len(lines)) if lines[j].startswith(fence))
            text = "\n".join(lines[i + 2 : end]) + "\n"
            kind, path = ("file", file_match.group(1)) if file_match else ("run", None)
            found.append(Block(kind, text, path, i + 2))
            i = end
        i += 1
    return found


def commands(block: Block) -> list[str]:
    """The shell commands of a run block, one a line, comments dropped; `\\` continues a line."""
    joined = block.text.replace("\\\n", " ")
    return [line.split(" #")[0].strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")]


def copy_repo(dest: Path) -> Path:
    """The working tree's files (tracked, and new files Git does not ignore) copied to `dest`."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in filter(None, out.split("\0")):
        src = ROOT / name
        if src.is_file():  # a file deleted in the worktree is still listed as cached
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def deep_merge(base: dict, overlay: dict) -> dict:
    out = dict(base)
    for key, value in overlay.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def shrink(params: dict, sizes: dict = TINY) -> dict:
    """`params` with the `sizes` overlay (TINY by default)."""
    data = deep_merge(params, sizes)
    if "iterations" in data.get("train", {}):
        data["train"].pop("epochs", None)
    return data


def environment(root: Path) -> dict:
    """A shell as the docs assume it: the environment active (its bin first on PATH), the copy's code."""
    venv_bin = str(Path(sys.executable).parent)  # not resolved: the venv's bin, with rig2kp and dvc
    env = {
        **os.environ,
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
        "PYTHONPATH": str(root),  # `rig2kp` imports the copy's modules, not an editable install's
        "DVC_NO_ANALYTICS": "1",
        "TQDM_DISABLE": "1",
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    return env


def sh(command: str, root: Path, env: dict, timeout: float = 600) -> str:
    proc = subprocess.run(
        ["bash", "-c", f"set -euo pipefail\n{command}"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise AssertionError(f"`{command}` exited {proc.returncode} in {root}:\n{out[-4000:]}")
    return out


def write_file(block: Block, root: Path, sizes: dict = TINY) -> Path:
    path = root / block.path
    path.parent.mkdir(parents=True, exist_ok=True)
    data = yaml.safe_load(block.text)
    if isinstance(data, dict) and "rigs" in data:
        path.write_text(yaml.safe_dump(shrink(data, sizes), sort_keys=False))
    else:
        path.write_text(block.text)
    return path


def run_page(
    md: Path,
    root: Path,
    env: dict,
    skip: Iterable[str] = (),
    before: Callable[[Block], None] | None = None,
    sizes: dict = TINY,
) -> dict[int, str]:
    """Write the page's files and run its commands in `root`; returns each run block's output by line.

    `skip`: commands not to run (they are named by the caller, with the reason there); `before` is
    called with each block before it runs, to prepare what a user would bring (photos)."""
    skip = set(skip)
    outputs = {}
    for block in blocks(md):
        if before:
            before(block)
        if block.kind == "file":
            write_file(block, root, sizes)
            continue
        todo = [c for c in commands(block) if c not in skip]
        outputs[block.line] = sh("\n".join(todo), root, env) if todo else ""
    return outputs


def cvat_standin(root: Path, params_path: Path, env: dict, num: int = 8, seed_offset: int = 1000) -> Path:
    """Renders of the params' rigs at another seed, written where `mix.real[0]` expects its export, in
    CVAT's *COCO Keypoints 1.0* layout (JPEG photos, float coordinates, categories and keypoints
    named as the rigs). Half the files are named `desk1_*`, half `desk2_*`, so a `test_files`
    pattern can hold out a scene. Returns the export folder."""
    params = yaml.safe_load(params_path.read_text())
    real = params["mix"]["real"][0]
    export = (params_path.parent / real["path"]).resolve()
    scratch = params_path.parent / "_standin_params.yaml"
    standin = {
        "seed": params.get("seed", 0) + seed_offset,
        "rigs": params["rigs"],
        "render": {**params.get("render", {}), "num_images": num},
    }
    scratch.write_text(yaml.safe_dump(standin, sort_keys=False))
    renders = root / "_standin_renders"
    try:
        sh(f"rig2kp render --params {scratch} --out {renders}", root, env)
    finally:
        scratch.unlink()
    data = json.loads((renders / "annotations.json").read_text())
    images_dir = export / (real.get("images") or Path(real.get("annotations", "annotations.json")).parent)
    images_dir.mkdir(parents=True, exist_ok=True)
    images = []
    for n, img in enumerate(sorted(data["images"], key=lambda i: i["id"])):
        name = f"desk{1 + 2 * n // len(data['images'])}_{n:03d}.jpg"
        with Image.open(renders / img["file_name"]) as im:
            im.convert("RGB").save(images_dir / name, quality=92)
        images.append({"id": img["id"], "file_name": name, "width": img["width"], "height": img["height"]})
    keep = ("id", "image_id", "category_id", "bbox", "area", "iscrowd", "keypoints", "num_keypoints")
    annotations = [
        {**{k: a[k] for k in keep}, "segmentation": [], "attributes": {"occluded": False}} for a in data["annotations"]
    ]
    categories = [
        {"id": c["id"], "name": c["name"], "supercategory": "", "keypoints": c["keypoints"], "skeleton": c["skeleton"]}
        for c in data["categories"]
    ]
    ann_path = export / real.get("annotations", "annotations.json")
    ann_path.parent.mkdir(parents=True, exist_ok=True)
    ann_path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    shutil.rmtree(renders)
    return export
