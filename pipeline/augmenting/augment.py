"""Augment stage: K albumentations copies of every image of a COCO keypoint folder.

    python -m pipeline.augmenting.augment --params params.yaml --input data/synthetic --out data/augmented

Geometry stays exact (pipeline/augmenting/augment_ops.py): instance masks move with the image and give the
new bbox, area and RLE; keypoints that leave the image become v=0 at (0, 0); instances with
fewer than `min_visible_px` mask pixels left are dropped; a mirror image swaps the rig's flip
pairs and a symmetric rig's labels are put back into their canonical order. Each copy is seeded
from (params.seed, image, copy), so the output does not depend on the number of workers.
Finished images are kept when the run is repeated with the same params and input (resume); the
output is rebuilt when either changes, and an image's copies are made again when its bytes change
(`inputs.json` records each input image's SHA-256).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np
from tqdm import tqdm

from common.atomic import copy_file, file_sha256, write_bytes, write_json, write_text
from common.rig_model import RigModel
from pipeline.augmenting.augment_ops import AugmentError, augment_image, build_pipeline, copy_seed, input_masks
from pipeline.coco_files import coco, coco_checks, coco_needs
from pipeline.coco_files.stats import dataset_stats
from pipeline.errors import run_command
from pipeline.outputs import Owner, refuse_overlap, take_output
from pipeline.schema import AugmentConfig
from pipeline.stage_args import dataset_stage_parser, params_from_args


def copy_name(file_name: str, copy: int) -> str:
    """`images/000012.png` -> `images/000012_aug2.png`; copy 0 keeps the name."""
    if copy == 0:
        return file_name
    root, ext = os.path.splitext(file_name)  # strings, not Path: this runs for every copy
    return f"{root}_aug{copy}{ext}"


def copies_of(cfg: AugmentConfig) -> list[int]:
    return ([0] if cfg.keep_original else []) + list(range(1, cfg.copies + 1))


class AugmentWorker:
    """What one process needs to augment input images: `augment` makes every copy of one image and
    appends its record to the process's part log under `dst/.parts/` (the resume marker)."""

    def __init__(self, cfg: AugmentConfig, seed: int, src: Path, dst: Path, cats: dict[int, dict]):
        self.cfg, self.pipeline, self.seed = cfg, build_pipeline(cfg), seed
        self.src, self.dst = src, dst
        self.rigs = {cid: RigModel.from_category(c) for cid, c in cats.items()}  # the categories' rules, by id
        self.part_log: TextIO | None = None  # opened at the first finished image; `close` closes it

    def augment(self, task: tuple[int, dict, list[dict]]) -> dict:
        """Every copy of one input image; writes the images, then a part file (the resume marker)."""
        rank, image, anns = task
        cfg = self.cfg
        src_file = self.src / image["file_name"]
        digest = file_sha256(src_file)  # the part is valid while the image has these bytes
        bgr = cv2.imread(str(src_file), cv2.IMREAD_COLOR)
        if bgr is None:
            raise AugmentError(f"{src_file}: cannot read image (images[id={image['id']}])")
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        if rgb.shape[:2] != (image["height"], image["width"]):
            raise AugmentError(
                f"{src_file}: the file is {rgb.shape[1]}x{rgb.shape[0]}, images[id={image['id']}] says "
                f"{image['width']}x{image['height']}"
            )
        n = cfg.copies + 1
        packed = input_masks(anns, *rgb.shape[:2]) if cfg.copies else None
        records, lost_total = [], {"instances_dropped": 0, "keypoints_left_image": 0}
        for c in copies_of(cfg):
            new_id = rank * n + c + 1
            name = copy_name(image["file_name"], c)
            target = self.dst / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if c == 0:
                out_img, out_anns = (
                    rgb,
                    [{k: v for k, v in a.items() if k not in ("id", "image_id")} for a in anns],
                )
                copy_file(src_file, target)
            else:
                out_img, out_anns, lost = augment_image(
                    self.pipeline,
                    rgb,
                    anns,
                    self.rigs,
                    copy_seed(self.seed, image["id"], c),
                    cfg.min_visible_px,
                    packed,
                )
                for key in lost:
                    lost_total[key] += lost[key]
                _write_image(target, out_img, cfg.jpeg_quality)
            rec = {
                k: v
                for k, v in image.items()
                if k not in ("id", "file_name", "width", "height", "meta_file", "augment")
            }
            img_rec = {
                "id": new_id,
                "file_name": name,
                "width": int(out_img.shape[1]),
                "height": int(out_img.shape[0]),
                **rec,
                "augment": {"image_id": image["id"], "copy": c},
            }
            records.append({"image": img_rec, "annotations": out_anns})
        part = {"records": records, "lost": lost_total, "input_sha256": digest}
        # written after the images: a part file that reads back means this input image is done
        if self.part_log is None:  # one append-only file per process: opening a file per image costs
            self.part_log = open(self.dst / ".parts" / f"{os.getpid()}.jsonl", "a")  # noqa: SIM115
        self.part_log.write(json.dumps({"rank": rank, **part}, separators=(",", ":")) + "\n")
        self.part_log.flush()
        return part

    def close(self) -> None:
        if self.part_log is not None:
            self.part_log.close()
            self.part_log = None


# this pool process's worker, set by the Pool initializer (how multiprocessing hands state to tasks)
_WORKER: AugmentWorker | None = None


def _init_worker(cfg_json: str, seed: int, src: str, dst: str, cats: dict, threads: int) -> None:
    global _WORKER
    cv2.setNumThreads(threads)
    _WORKER = AugmentWorker(AugmentConfig.model_validate_json(cfg_json), seed, Path(src), Path(dst), cats)


def _work(task: tuple[int, dict, list[dict]]) -> dict:
    return _WORKER.augment(task)


def _write_image(path: Path, rgb: np.ndarray, jpeg_quality: int) -> None:
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality] if path.suffix.lower() in (".jpg", ".jpeg") else []
    ok, encoded = cv2.imencode(path.suffix, bgr, params)
    if not ok:
        raise AugmentError(f"{path}: cannot encode the image as {path.suffix}")
    write_bytes(path, encoded.tobytes())


def check_input(data: dict, root: Path, json_path: Path | None = None) -> None:
    """Everything the stage needs (`coco_needs.AUGMENT`), checked before any work; all problems in
    one message headed by the input file."""
    coco_checks.require(data, coco_needs.AUGMENT, json_path or root, root)


def spec_of(cfg: AugmentConfig, seed: int, json_path: Path) -> dict:
    return {
        "seed": seed,
        "augment": cfg.model_dump(mode="json", exclude={"workers"}),
        "input_sha256": hashlib.sha256(json_path.read_bytes()).hexdigest(),
    }


INPUTS = "inputs.json"  # the input images' SHA-256 by file name: a finished output is rebuilt when one changes
KEPT = "kept.jsonl"  # the parts still valid at a run's start, in one log

# an augment folder is one whose spec.json is an augment run's (a render writes a spec.json too)
OWNER = Owner("augment", "spec.json", {"augment": None, "input_sha256": None})


def prepare_output(out: Path, spec: dict) -> None:
    """Keep finished parts only if made from the same spec; otherwise start clean (`take_output`
    refused a folder that an augment run did not make before any work)."""
    if OWNER.owns(out) and json.loads((out / OWNER.marker).read_text()) != spec:
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / coco.ANNOTATIONS).unlink(missing_ok=True)
    (out / "stats.json").unlink(missing_ok=True)
    write_json(out / OWNER.marker, spec, indent=1)


def _context():
    """forkserver where there is one: a plain fork of a process whose OpenCV or BLAS threads
    already ran can deadlock; the server preloads albumentations and augment_ops so workers start
    fast. Not this module: a worker runs the main module again (as `__mp_main__`), and runpy warns
    when `python -m pipeline.augmenting.augment` finds it imported already."""
    if "forkserver" not in get_all_start_methods():
        return get_context("spawn")
    ctx = get_context("forkserver")
    ctx.set_forkserver_preload(["albumentations", "pipeline.augmenting.augment_ops"])
    return ctx


def augment_dataset(
    cfg: AugmentConfig,
    seed: int,
    src: str | Path,
    dst: str | Path,
    workers: int | None = None,
    progress: bool = True,
) -> dict:
    """Run the stage: returns the output COCO dict (also written as dst/annotations.json)."""
    json_path = coco.resolve_json(src)
    data = coco.load_json(json_path)
    root, dst = json_path.parent, Path(dst)
    refuse_overlap(dst, {"input folder": root, "input file": json_path})
    take_output(dst, OWNER)
    check_input(data, root, json_path)
    spec = spec_of(cfg, seed, json_path)
    spec_file, out_json = dst / "spec.json", dst / coco.ANNOTATIONS
    images = sorted(data["images"], key=lambda i: i["id"])
    digests = {rank: file_sha256(root / img["file_name"]) for rank, img in enumerate(images)}
    if out_json.is_file() and spec_file.is_file() and json.loads(spec_file.read_text()) == spec:
        if _read_json(dst / INPUTS) == _inputs(images, digests):
            return coco.load_json(out_json)  # finished earlier from the same params, input and images
        shutil.rmtree(dst)  # an input image changed since: every copy is made again
    prepare_output(dst, spec)
    by_image: dict[int, list[dict]] = {img["id"]: [] for img in data["images"]}
    for a in sorted(data["annotations"], key=lambda a: a["id"]):
        by_image[a["image_id"]].append(a)
    most = max((len(v) for v in by_image.values()), default=0)
    stride = 10 ** max(3, len(str(most)))  # annotation id = image id * stride + slot + 1
    tasks = [(rank, img, by_image[img["id"]]) for rank, img in enumerate(images)]
    (dst / ".parts").mkdir(exist_ok=True)
    done = keep_parts(dst, digests)
    todo = [t for t in tasks if t[0] not in done]
    cats = {c["id"]: c for c in data["categories"]}
    workers = workers or cfg.workers or os.cpu_count() or 1
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), unit="img", desc="augment", disable=not progress)
    worker = None
    try:
        if workers == 1 or len(todo) < 16:  # starting worker processes costs seconds
            worker = AugmentWorker(cfg, seed, root, dst, cats)
            for t in todo:
                worker.augment(t)
                bar.update()
        else:
            init = (cfg.model_dump_json(), seed, str(root), str(dst), cats, 1)
            with _context().Pool(min(workers, len(todo)), _init_worker, init) as pool:
                for _ in pool.imap_unordered(_work, todo, chunksize=1):
                    bar.update()
    finally:
        bar.close()  # also on an error: its message then starts a line of its own
        if worker is not None:
            worker.close()
    write_json(dst / INPUTS, _inputs(images, digests), indent=1)
    return _merge(data, dst, len(tasks), stride, digests)


def _inputs(images: list[dict], digests: dict[int, str]) -> dict:
    """What INPUTS records: each input image's SHA-256 by file name."""
    return {"images": {img["file_name"]: digests[rank] for rank, img in enumerate(images)}}


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def finished_parts(dst: Path, digests: dict[int, str] | None = None) -> dict[int, dict]:
    """Input rank -> its finished copies, from the per-process logs (a line cut short by a
    crash is ignored: that image is done again); with `digests` (rank -> the SHA-256 of its input
    image now), only the parts made from the image as it is now."""
    parts = {}
    for log in sorted((dst / ".parts").glob("*.jsonl")):
        for line in log.read_text().splitlines():
            try:
                part = json.loads(line)
            except ValueError:
                continue
            rank = part.pop("rank")
            if digests is None or part.get("input_sha256") == digests.get(rank):
                parts[rank] = part
    return parts


def keep_parts(dst: Path, digests: dict[int, str]) -> set[int]:
    """The ranks finished from their input image as it is now; the parts of images that changed
    since are dropped from the logs (their copies are made again, and no older part can match
    later files)."""
    parts = finished_parts(dst, digests)
    logs = sorted((dst / ".parts").glob("*.jsonl"))
    lines = [json.dumps({"rank": r, **p}, separators=(",", ":")) + "\n" for r, p in sorted(parts.items())]
    write_text(dst / ".parts" / KEPT, "".join(lines))
    for log in logs:
        if log.name != KEPT:
            log.unlink()
    return set(parts)


def _merge(data: dict, dst: Path, count: int, stride: int, digests: dict[int, str]) -> dict:
    images, annotations = [], []
    lost = {"instances_dropped": 0, "keypoints_left_image": 0}
    parts = finished_parts(dst, digests)
    for rank in range(count):
        part = parts[rank]
        for key in lost:
            lost[key] += part["lost"][key]
        for rec in part["records"]:
            img = rec["image"]
            images.append(img)
            for slot, a in enumerate(rec["annotations"]):
                annotations.append({"id": img["id"] * stride + slot + 1, "image_id": img["id"], **a})
    info = dict(data.get("info") or {})
    info["augment"] = {"input_images": count, **lost}
    out = {
        "info": info,
        "licenses": data.get("licenses", []),
        "images": images,
        "annotations": annotations,
        "categories": data["categories"],
    }
    write_json(dst / coco.ANNOTATIONS, out)
    stats = dataset_stats(out)
    stats.update(lost)
    write_json(dst / "stats.json", stats, indent=1)
    shutil.rmtree(dst / ".parts")
    return out


def main(argv: list[str] | None = None) -> int:
    p = dataset_stage_parser(
        "rig2kp augment",
        __doc__,
        "data/synthetic",
        "dataset folder (or its COCO JSON) to augment",
        "data/augmented",
        "folder for the augmented copies and annotations.json",
    )
    p.add_argument("--workers", type=int, default=None, help="processes (default: params, 0 = cores)")
    args = p.parse_args(argv)

    def run() -> int:
        params = params_from_args(args)
        out = augment_dataset(params.augment, params.seed, args.input, args.out, args.workers)
        print(f"wrote {args.out / coco.ANNOTATIONS}: {len(out['images'])} images, {len(out['annotations'])} instances")
        return 0

    return run_command(run)


if __name__ == "__main__":
    raise SystemExit(main())
