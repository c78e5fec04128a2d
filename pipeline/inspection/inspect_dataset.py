"""Look at a COCO keypoint dataset: annotated overlays, a contact sheet and a stats sheet.

    rig2kp inspect PATH [--images DIR] [--out DIR] [--num 16] [--seed 0] [--ids 3,7] [--no-labels]

PATH (or --input PATH) is a COCO keypoint JSON file or a dataset folder holding `annotations.json`
(any stage's output or a real export; `file_name` is relative to the JSON's folder, or to
--images: a CVAT export keeps them in `images/default/`, as `mix.real[].images` says). Writes into
--out (default `inspect/<json folder name>/`, or `inspect/<folder>-<stem>/` for a JSON not named
annotations.json): `overlays/<image id>.png` (`.jpg` for JPEG photos), `overlays.png` (contact
sheet), `stats.png` and `stats.json` (`pipeline/coco_files/stats.py`). The file must pass the checks every
reader needs (`pipeline/coco_files/coco_checks.py`); departures from the format are counted in `checks`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from common.atomic import replacing, write_json
from pipeline.coco_files import coco_checks, coco_needs
from pipeline.coco_files.coco import DatasetError, resolve_json
from pipeline.coco_files.stats import box_sizes, dataset_stats
from pipeline.drawing.contact_sheet import contact_sheet
from pipeline.drawing.draw import draw_annotations
from pipeline.drawing.stats_plot import plot_stats
from pipeline.errors import run_command
from pipeline.outputs import own_output, refuse_overlap, stage_owner
from pipeline.stage_args import add_out, stage_parser

OWNER = stage_owner("inspect")  # its marker in --out: a later run may write there again


def select_images(coco: dict, num: int, seed: int, ids: list[int] | None) -> list[dict]:
    """The images to overlay: those with `ids` in that order, else a seeded sample of `num`."""
    by_id = {img["id"]: img for img in coco["images"]}
    if ids:
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise DatasetError(f"--ids: image id(s) {missing} not in images[].id")
        return [by_id[i] for i in ids]
    order = sorted(by_id)
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(order), size=min(num, len(order)), replace=False) if order else []
    return [by_id[order[i]] for i in sorted(picked)]


def default_out(json_path: Path) -> Path:
    """`inspect/<folder>[-<stem>]` in the working directory: never inside a DVC stage's output."""
    name = json_path.resolve().parent.name or "dataset"
    return Path("inspect") / (name if json_path.name == "annotations.json" else f"{name}-{json_path.stem}")


def _parse_ids(text: str) -> list[int]:
    try:
        return [int(t) for t in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected image ids like 3,7,12, got {text!r}") from None


def load_dataset(path: Path) -> tuple[Path, dict]:
    """(the COCO file PATH names, its dict), with the checks every reader needs passed."""
    json_path = resolve_json(path)
    return json_path, coco_checks.load(json_path, coco_needs.INSPECT)


# where exports keep their images, relative to the JSON's folder (CVAT: annotations/ beside images/default/)
IMAGE_FOLDERS = ("images/default", "images", "../images/default", "../images")


def check_files(json_path: Path, chosen: list[dict], root: Path) -> None:
    """The chosen images' files exist in `root` (the others are not opened); when they are not
    there but in an export's usual images folder, the message names it."""
    missing = [img for img in chosen if not (root / img["file_name"]).is_file()]
    if not missing:
        return
    problems = [f"images[id={img['id']}].file_name: {root / img['file_name']} not found" for img in missing]
    for folder in (json_path.parent / f for f in IMAGE_FOLDERS):
        if (folder / missing[0]["file_name"]).is_file():
            problems.insert(0, f"the images are in {folder.resolve()}: add --images {folder.resolve()}")
            break
    raise coco_checks.InvalidDatasetError(str(json_path), problems)


def write_overlays(coco: dict, chosen: list[dict], root: Path, out: Path, args: argparse.Namespace) -> int:
    """overlays/<id>.png|jpg at full size (or --max-side) and the contact sheet overlays.png."""
    (out / "overlays").mkdir(parents=True, exist_ok=True)
    for old in (out / "overlays").glob("*"):  # rewrite the output completely, never append
        if old.suffix in (".png", ".jpg") and old.is_file():
            old.unlink()
    anns_by_image: dict[int, list[dict]] = {}
    for ann in coco["annotations"]:
        anns_by_image.setdefault(ann["image_id"], []).append(ann)
    draw_opts = {"labels": not args.no_labels, "masks": not args.no_masks}
    thumbs, captions = [], []
    for img in tqdm(chosen, desc="overlays", unit="img"):
        with Image.open(root / img["file_name"]) as im:
            pixels = im.convert("RGB")
        anns = anns_by_image.get(img["id"], [])
        note = ""
        if pixels.size != (img["width"], img["height"]):
            note = f" SIZE {pixels.width}x{pixels.height}!"
            tqdm.write(
                f"warning: images[id={img['id']}].file_name: {root / img['file_name']} is "
                f"{pixels.width}x{pixels.height}, the annotations say {img['width']}x{img['height']}"
            )
        side = min(args.max_side, max(pixels.size)) if args.max_side else None
        overlay = draw_annotations(pixels, anns, coco["categories"], side=side, **draw_opts)
        # JPEG photos give JPEG overlays (a lossless copy of a lossy photo is 10x bigger)
        if Path(img["file_name"]).suffix.lower() in (".jpg", ".jpeg"):
            with replacing(out / "overlays" / f"{img['id']:06d}.jpg") as tmp:
                overlay.save(tmp, format="JPEG", quality=92)
        else:
            with replacing(out / "overlays" / f"{img['id']:06d}.png") as tmp:
                overlay.save(tmp, format="PNG", compress_level=1)
        thumbs.append(draw_annotations(pixels, anns, coco["categories"], side=args.thumb, **draw_opts))
        captions.append(f"#{img['id']} {Path(img['file_name']).name} ({len(anns)} inst){note}")
    (out / "overlays.png").unlink(missing_ok=True)
    if thumbs:
        with replacing(out / "overlays.png") as tmp:
            contact_sheet(thumbs, args.columns, captions, thumb=args.thumb).save(tmp, format="PNG")
    return len(thumbs)


def summary(json_path: Path, stats: dict) -> str:
    """The few lines printed after a run: counts, sizes, how often each keypoint is seen, checks."""
    box = stats["box_size"]
    lines = [
        f"{json_path}: {stats['images']} images, {stats['instances']} instances, "
        f"size small/medium/large {box['small']}/{box['medium']}/{box['large']}"
    ]
    for name, entry in stats["categories"].items():
        seen = ", ".join(f"{k} {v['v2']:.0%}" for k, v in entry["visibility"].items() if v["v2"] is not None)
        lines.append(f"  {name}: {entry['instances']} instances; seen (v=2): {seen or '-'}")
    bad = {k: v for k, v in stats["checks"].items() if v}
    if bad:
        lines.append("  checks: " + ", ".join(f"{k} {v}" for k, v in bad.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("rig2kp inspect", __doc__)
    parser.add_argument("path", type=Path, nargs="?", help="COCO keypoint JSON, or a folder with annotations.json")
    parser.add_argument("--input", type=Path, help="the same as PATH")
    parser.add_argument(
        "--images", type=Path, help="folder the file_names are relative to (default: the JSON's; CVAT: images/default)"
    )
    add_out(parser, None, "output folder (default: inspect/<json folder>/, or inspect/<folder>-<stem>/ for X.json)")
    parser.add_argument("--num", type=int, default=16, help="images to overlay (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the image sample")
    parser.add_argument("--ids", type=_parse_ids, help="image ids to overlay instead, e.g. 3,7,12")
    parser.add_argument("--no-labels", action="store_true", help="do not write keypoint names")
    parser.add_argument("--no-masks", action="store_true", help="do not outline segmentation masks")
    parser.add_argument("--thumb", type=int, default=400, help="contact sheet thumbnail size, px")
    parser.add_argument("--columns", type=int, default=4, help="contact sheet columns")
    parser.add_argument("--max-side", type=int, help="shrink overlays to this longer side, px")
    args = parser.parse_args(argv)
    if args.num < 0 or args.thumb < 16 or args.columns < 1:
        parser.error("--num must be >= 0, --thumb >= 16 and --columns >= 1")
    if args.input is None and args.path is None:
        parser.error("the dataset to inspect is required: PATH or --input PATH")
    if args.input is not None and args.path is not None and args.input != args.path:
        parser.error(f"two datasets named ({args.path} and --input {args.input}): name one")

    def run() -> int:
        json_path, coco = load_dataset(args.input or args.path)
        chosen = select_images(coco, args.num, args.seed, args.ids)
        root = args.images or json_path.parent
        check_files(json_path, chosen, root)
        out = args.out or default_out(json_path)
        refuse_overlap(out, {"dataset folder": json_path.parent, "--images folder": root})
        own_output(out, OWNER)
        stats = dataset_stats(coco)
        write_json(out / "stats.json", stats, indent=2)
        plot_stats(stats, box_sizes(coco), out / "stats.png", str(json_path))
        drawn = write_overlays(coco, chosen, root, out, args)
        print(summary(json_path, stats))
        print(f"wrote {drawn} overlays, overlays.png, stats.png, stats.json to {out}")
        return 0

    return run_command(run)


if __name__ == "__main__":
    raise SystemExit(main())
