"""Mix stage: augmented renders + real COCO keypoint exports -> train / val / test splits.

    python -m pipeline.mixing.mix --params params.yaml --input data/augmented --out data/mixed

Real exports (CVAT, Label Studio, COCO Annotator, Roboflow, plain COCO) are mapped onto the rigs
by category and keypoint *names* and their quirks repaired with a warning (pipeline/mixing/real_exports.py,
which also sets their ids, with real_categories.py and real_annotations.py); what cannot be
repaired is listed in one error before anything is written. Synthetic images and annotations keep their ids.

Output (every `file_name` relative to the output folder; categories are the rig categories):
  train.json, val.json, test.json, val_synthetic.json, stats.json, images/{synthetic,real/NAME}/...,
  and rig2kp-output.json, the marker that lets a later run replace the folder
With real data, val and test hold real images only and val_synthetic is a held-out synthetic
split; without it, val and test are synthetic and val_synthetic equals val. Splits are seeded
per image group (augmented copies of a render, Roboflow variants of a photo, a source's
`group_by` matches stay together; pipeline/mixing/splits.py); a source's `val_files` / `test_files`
globs pin photos (a held-out desk or session) to val / test before the rest is split.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections import defaultdict
from pathlib import Path

from tqdm import tqdm

from common.atomic import copy_file, write_json
from pipeline.coco_files import coco
from pipeline.coco_files.stats import dataset_stats
from pipeline.errors import Rig2kpError, run_command
from pipeline.mixing.real_annotations import NOTES
from pipeline.mixing.real_exports import REAL_BASE, check_readable, load_real
from pipeline.mixing.splits import MAX_REPEATS, Item, real_share_repeats, repeated, split_auto, split_groups, subsample
from pipeline.outputs import refuse_overlap, stage_owner, take_output
from pipeline.project.dvc_deps import check_stage
from pipeline.schema import MixConfig
from pipeline.stage_args import dataset_stage_parser, params_from_args

log = logging.getLogger("rig2kp.mix")

SPLIT_FILES = {
    "train": "train.json",
    "val": "val.json",
    "test": "test.json",
    "val_synthetic": "val_synthetic.json",
}

# the marker a mix run writes into its output folder first: only such a folder is ever emptied
OWNER = stage_owner("mix")


class MixError(Rig2kpError, ValueError):
    """Inputs the stage cannot use; lists every problem, naming file, key and what was expected."""


def load_synthetic(path: Path) -> tuple[list[dict], list[Item], list[str]]:
    """(rig categories, items, problems) of the augment stage's output (or any dataset folder)."""
    json_path = coco.resolve_json(path)
    data, root = coco.load_json(json_path), json_path.parent
    problems = []
    by_image = defaultdict(list)
    for a in data["annotations"]:
        by_image[a.get("image_id")].append(a)
    items, inside = [], {}
    for img in sorted(data["images"], key=lambda i: i["id"]):
        if not isinstance(img.get("id"), int) or not 1 <= img["id"] < REAL_BASE:
            problems.append(f"{json_path}: images[id={img.get('id')}]: expected an integer id in [1, 10**12)")
            continue
        why = coco.outside_dataset(str(img.get("file_name", "")), root, inside)
        if why is not None:  # the image would be read, and linked or copied, outside the folders
            problems.append(f"{json_path}: images[id={img['id']}].file_name {img.get('file_name')!r}: {why}")
            continue
        src = root / img["file_name"]
        if not src.is_file():
            problems.append(f"{json_path}: images[id={img['id']}]: file {src} not found")
        record = {
            "id": img["id"],
            "file_name": f"images/synthetic/{img['file_name']}",
            "width": img["width"],
            "height": img["height"],
            "source": "synthetic",
            "origin": {"source": "synthetic", "image_id": img["id"], "file_name": img["file_name"]},
        }
        if "augment" in img:
            record["augment"] = img["augment"]
        anns = sorted(by_image.get(img["id"], []), key=lambda a: a["id"])
        for a in anns:
            if not isinstance(a.get("id"), int) or not 1 <= a["id"] < REAL_BASE:
                problems.append(f"{json_path}: annotations[id={a.get('id')}]: expected an integer id in [1, 10**12)")
        group = (img.get("augment") or {}).get("image_id", img["id"])
        items.append(Item(record, anns, src, f"synthetic:{group}"))
    return data["categories"], items, problems


def input_folders(cfg: MixConfig, synthetic: Path, base: Path) -> dict[str, Path]:
    """The folders the stage reads: the --input dataset and every real export with its images."""
    synthetic = Path(synthetic)
    found = {"--input folder": synthetic if synthetic.is_dir() else synthetic.parent}
    for i, src in enumerate(cfg.real):
        folder = base / src.path
        found[f"mix.real[{i}] folder"] = folder
        if src.images is not None:
            found[f"mix.real[{i}].images folder"] = folder / src.images
    return found


def mix_dataset(
    cfg: MixConfig,
    seed: int,
    synthetic: Path,
    out: Path,
    base: Path = Path("."),
    progress: bool = True,
) -> dict[str, dict]:
    """Run the stage; returns {split: COCO dict} (also written under `out`)."""
    refuse_overlap(out, input_folders(cfg, synthetic, base))
    take_output(out, OWNER)
    categories, syn_items, problems = load_synthetic(synthetic)
    real_items, all_notes = [], []
    for s, src in enumerate(cfg.real, start=1):
        items, probs, notes = load_real(src, s, base, categories)
        real_items.append((src, items))
        problems += probs
        all_notes.append((src.label(), notes))
    problems += check_readable([it for _, items in real_items for it in items], progress)
    if problems:
        more = f"\n  ... and {len(problems) - 40} more" if len(problems) > 40 else ""
        raise MixError(f"{len(problems)} problem(s); nothing was written\n  " + "\n  ".join(problems[:40]) + more)
    for label, notes in all_notes:
        for kind, n in sorted(notes.items()):
            if n:
                log.warning("%s: %d %s", label, n, NOTES[kind])

    splits: dict[str, list[Item]] = {name: [] for name in SPLIT_FILES}
    has_real = any(items for _, items in real_items)
    for src, items in real_items:
        if src.split == "auto":
            parts = split_auto(items, src, cfg, seed)
        else:
            parts = {src.split: items}
        for name, its in parts.items():
            splits[name] += its
    if has_real:
        parts = split_groups(syn_items, {"val_synthetic": cfg.synthetic_val}, seed, "synthetic")
        splits["val_synthetic"] = parts["val_synthetic"]
        syn_train = parts["train"]
    else:
        parts = split_groups(syn_items, {"val": cfg.val, "test": cfg.test}, seed, "synthetic")
        splits["val"], splits["test"] = parts["val"], parts["test"]
        splits["val_synthetic"] = parts["val"]
        syn_train = parts["train"]
    if cfg.real_train_images is not None:
        if cfg.real_train_images > len(splits["train"]):
            log.warning(
                "real_train_images %d: only %d real train images exist", cfg.real_train_images, len(splits["train"])
            )
        splits["train"] = subsample(splits["train"], cfg.real_train_images, seed)
    real_train = repeated(splits["train"])
    if cfg.synthetic_per_real is not None and real_train:
        target = int(round(cfg.synthetic_per_real * len(real_train)))
        if target > len(syn_train):
            log.warning(
                "synthetic_per_real %.3g asks for %d synthetic train images; only %d exist",
                cfg.synthetic_per_real,
                target,
                len(syn_train),
            )
        syn_train = subsample(syn_train, target, seed)
    if cfg.real_share is not None and real_train and syn_train and cfg.train_sources == "all":
        k = real_share_repeats(cfg.real_share, len(real_train), len(syn_train))
        most = max(it.repeats for it in splits["train"])
        if most * k > MAX_REPEATS:  # ids hold at most 99 repeats of an image
            log.warning(
                "real_share %.3g needs %d repeats of a photo; capped at %d", cfg.real_share, most * k, MAX_REPEATS
            )
            k = max(1, MAX_REPEATS // most)
        real_train = repeated(splits["train"], k)
    if cfg.train_sources == "real" and not has_real:
        raise MixError("mix.train_sources: 'real' needs at least one mix.real source with images")
    splits["train"] = {
        "all": syn_train + real_train,
        "synthetic": syn_train,
        "real": real_train,
    }[cfg.train_sources]
    for name in ("train", "val", "test"):
        if not splits[name]:
            log.warning("%s is empty: check mix.val / mix.test and the sources' `split`", SPLIT_FILES[name])
    return write_output(splits, categories, seed, out, cfg.copy_images, progress)


def write_output(
    splits: dict[str, list[Item]],
    categories: list[dict],
    seed: int,
    out: Path,
    copy_images: bool,
    progress: bool,
) -> dict[str, dict]:
    """The split files, the image tree and stats.json; replaces what a previous run wrote (a
    folder with the stage's marker; any other non-empty folder is refused)."""
    take_output(out, OWNER)
    out.mkdir(parents=True, exist_ok=True)
    OWNER.mark(out)
    shutil.rmtree(out / "images", ignore_errors=True)
    for f in [*SPLIT_FILES.values(), "stats.json"]:
        (out / f).unlink(missing_ok=True)
    files = {}
    for items in splits.values():
        for it in items:
            files[it.image["file_name"]] = it.src
    for name, src in tqdm(
        sorted(files.items()),
        desc="link images" if not copy_images else "copy images",
        unit="img",
        disable=not progress,
    ):
        dst = out / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if copy_images:
            copy_file(src, dst)
        else:
            os.symlink(os.path.relpath(os.path.abspath(src), os.path.abspath(dst.parent)), dst)
    result, stats = {}, {}
    for name, items in splits.items():
        data = {
            "info": {"description": f"rig2kp mix: {name}", "split": name, "seed": seed},
            "licenses": [],
            "images": [it.image for it in items],
            "annotations": [a for it in items for a in it.annotations],
            "categories": categories,
        }
        write_json(out / SPLIT_FILES[name], data)
        result[name] = data
        stats[name] = dataset_stats(data)
        log.info(
            "%s: %d images (%s), %d instances",
            SPLIT_FILES[name],
            len(items),
            ", ".join(f"{k} {v['images']}" for k, v in stats[name]["sources"].items()) or "empty",
            stats[name]["instances"],
        )
    write_json(out / "stats.json", stats, indent=1)
    return result


def main(argv: list[str] | None = None) -> int:
    p = dataset_stage_parser(
        "rig2kp mix",
        __doc__,
        "data/augmented",
        "dataset folder of renders (the augment stage's output)",
        "data/mixed",
        "folder for train/val/test/val_synthetic.json and the image links",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")

    def run() -> int:
        params = params_from_args(args)
        check_stage("mix", params, args.params)  # under DVC: every real export is in deps
        mix_dataset(params.mix, params.seed, args.input, args.out, base=args.params.resolve().parent)
        print(f"wrote {args.out}: " + ", ".join(SPLIT_FILES.values()))
        return 0

    return run_command(run)


if __name__ == "__main__":
    raise SystemExit(main())
