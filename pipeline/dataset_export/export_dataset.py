"""Hand a dataset to another trainer or viewer: Ultralytics YOLO-pose, FiftyOne, COCO's layout.

    rig2kp export-dataset --format yolo-pose --input data/mixed --out handoff/yolo [--splits train,val,test]

--input is a render or augment output (`annotations.json`: one split, `train` unless --splits
names it), the mix stage's folder (`train/val/test/val_synthetic.json`; --splits picks them,
default train,val,test, and renames with OUT=IN, e.g. `--splits train,val=val_synthetic`), or a
COCO JSON file. The dataset must pass the checks a trainer needs (pipeline/coco_files/coco_checks.py); the
categories carry the rig (keypoint names, skeleton, flip pairs, OKS sigmas), so no params are read.

--format (docs/guide/export.md#handing-a-dataset-to-another-trainer):
  yolo-pose  data.yaml (kpt_shape, flip_idx, kpt_names, kpt_oks_sigmas), images/<split>/, labels/<split>/;
             several rigs share the keypoint slots (padded to the largest K) or, --keypoint-slots separate,
             each has its own
  fiftyone   <split>/labels.json (keypoint names and skeleton in info.default_skeleton), <split>/data/
  coco       annotations/person_keypoints_<split>.json, images/<split>/, mmpose/<rig>.py (datumaro, MMPose)

Images are linked (relative symbolic links to the files the input's images resolve to; hard links
for `coco`, since datumaro refuses links that lead out of its folder) or, with --copy, copied,
under names unique per split; manifest.json maps each back to its COCO file, id and
file_name, and keeps the categories. --out is replaced whole, and only when this command wrote it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

from tqdm import tqdm

from common.atomic import write_json, write_text
from pipeline.coco_files import coco_needs
from pipeline.dataset_export import coco_layouts, yolo_pose
from pipeline.dataset_export.handoff import (
    MANIFEST,
    OWNER,
    WRITTEN_BY,
    HandoffError,
    Split,
    export_names,
    load_splits,
    place_image,
    replaced_folder,
)
from pipeline.errors import run_command
from pipeline.outputs import refuse_overlap, take_output
from pipeline.stage_args import add_input, add_out, stage_parser

log = logging.getLogger("rig2kp.export_dataset")

FORMATS = ("yolo-pose", "fiftyone", "coco")
# How images are placed without --copy: datumaro resolves links and refuses those that lead out of its
# folder, so COCO's layout gets hard links (copies where the file systems differ).
LINKS = {"yolo-pose": "symlink", "fiftyone": "symlink", "coco": "hardlink"}
# What a trainer needs: labels, the rig extras that are there, boxes, v in 0/1/2, keypoints and boxes
# inside the image, and image files whose size is the one declared (labels are normalised by it).
NEEDS = coco_needs.Needs(
    labels=coco_needs.ERROR,
    rig=coco_needs.ERROR,
    boxes=coco_needs.ERROR,
    visibility=coco_needs.ERROR,
    format=coco_needs.ERROR,
    images=coco_needs.ERROR,
    open_images=True,
)


def _by_image(data: dict) -> dict[int, list[dict]]:
    found = defaultdict(list)
    for a in data["annotations"]:
        found[a["image_id"]].append(a)
    return found


def _split_record(split: Split, names: dict[int, str], folder: str, crowd_left_out: int | None = None) -> dict:
    """The manifest's entry of one split: counts, and each file written with where it came from."""
    record = {
        "source": str(split.source.resolve()),
        "images": len(split.data["images"]),
        "instances": len(split.data["annotations"]) - (crowd_left_out or 0),
    }
    if crowd_left_out is not None:
        record["crowd_left_out"] = crowd_left_out
    record["files"] = [
        {"file": f"{folder}/{names[img['id']]}", "image_id": img["id"], "file_name": img["file_name"]}
        for img in split.data["images"]
    ]
    return record


def _place_images(split: Split, names: dict[int, str], folder: Path, how: str, progress: bool) -> None:
    for img in tqdm(split.data["images"], desc=f"{split.name} images", unit="img", disable=not progress):
        place_image(split.root / img["file_name"], folder / names[img["id"]], how)


def write_yolo(
    splits: list[Split], out: Path, how: str, source: str, slots: str, progress: bool
) -> tuple[dict, list[str]]:
    """images/<split>/, labels/<split>/<stem>.txt and data.yaml; (manifest splits, notes)."""
    layout = yolo_pose.pose_layout(splits[0].data["categories"], slots)
    done = {}
    for split in splits:
        names = export_names(split.data["images"])
        _place_images(split, names, out / "images" / split.name, how, progress)
        anns, crowd = _by_image(split.data), 0
        for img in split.data["images"]:
            text, left_out = yolo_pose.label_text(anns.get(img["id"], []), layout, img["width"], img["height"])
            crowd += left_out
            stem = Path(names[img["id"]]).stem
            write_text(out / "labels" / split.name / f"{stem}.txt", text)
        done[split.name] = _split_record(split, names, f"images/{split.name}", crowd)
    write_text(out / "data.yaml", yolo_pose.data_yaml(layout, [s.name for s in splits], source))
    return done, layout.notes


def write_fiftyone(splits: list[Split], out: Path, how: str, progress: bool) -> tuple[dict, list[str]]:
    """<split>/data/ and <split>/labels.json for FiftyOne's COCODetectionDataset importer."""
    done, notes = {}, []
    if coco_layouts.skeleton(splits[0].data["categories"]) is None:
        notes.append(
            "the rigs have different keypoints: FiftyOne keeps one skeleton per label field, so none is set "
            "(each rig's names and skeleton are in dataset.info['categories']; each keypoint label names its rig)"
        )
    for split in splits:
        names = export_names(split.data["images"])
        _place_images(split, names, out / split.name / coco_layouts.FIFTYONE_DATA, how, progress)
        write_json(out / split.name / coco_layouts.FIFTYONE_LABELS, coco_layouts.fiftyone_labels(split.data, names))
        done[split.name] = _split_record(split, names, f"{split.name}/{coco_layouts.FIFTYONE_DATA}")
    return done, notes


def write_coco(splits: list[Split], out: Path, how: str, progress: bool) -> tuple[dict, list[str]]:
    """annotations/person_keypoints_<split>.json, images/<split>/ and mmpose/<rig>.py (datumaro, MMPose)."""
    done = {}
    for split in splits:
        names = export_names(split.data["images"])
        _place_images(split, names, out / "images" / split.name, how, progress)
        write_json(out / coco_layouts.coco_annotation_file(split.name), coco_layouts.renamed(split.data, names))
        done[split.name] = _split_record(split, names, f"images/{split.name}")
    for cat in splits[0].data["categories"]:
        write_text(out / coco_layouts.mmpose_file(cat), coco_layouts.mmpose_metainfo(cat))
    return done, []


def export_dataset(
    source: Path,
    out: Path,
    fmt: str,
    splits: str | None = None,
    copy: bool = False,
    slots: str = "shared",
    progress: bool = False,
) -> dict:
    """Write the hand-off of `source` in format `fmt` to `out`; returns the manifest (also written).
    `slots`: how several rigs share YOLO-pose's keypoint slots (pipeline/dataset_export/yolo_pose.py)."""
    if fmt not in FORMATS:
        raise HandoffError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    if slots not in yolo_pose.SLOTS:
        raise HandoffError(f"--keypoint-slots {slots}: expected one of {', '.join(yolo_pose.SLOTS)}")
    loaded = load_splits(source, splits, NEEDS)
    if fmt == "yolo-pose":
        other = [s for s in loaded if s.name not in yolo_pose.SPLITS]
        if other:
            name = other[0].name
            raise HandoffError(
                f"--splits: Ultralytics reads the splits {', '.join(yolo_pose.SPLITS)} only; export {name} as one "
                f"of them, e.g. --splits train,val={name}"
            )
    refuse_overlap(out, {f"{s.name} split's folder": s.root for s in loaded})
    take_output(out, OWNER)
    how = "copy" if copy else LINKS[fmt]
    with replaced_folder(out) as tmp:
        if fmt == "yolo-pose":
            done, notes = write_yolo(loaded, tmp, how, str(Path(source).resolve()), slots, progress)
        elif fmt == "fiftyone":
            done, notes = write_fiftyone(loaded, tmp, how, progress)
        else:
            done, notes = write_coco(loaded, tmp, how, progress)
        manifest = {
            "written_by": WRITTEN_BY,
            "format": fmt,
            "input": str(Path(source).resolve()),
            "images": how,
            "notes": notes,
            "categories": loaded[0].data["categories"],
            "splits": done,
        }
        write_json(tmp / MANIFEST, manifest, indent=1)
    return manifest


YOLO_MODEL = "yolo11n-pose.yaml"  # Ultralytics ships the yaml in its wheel: the hint works offline (a .pt downloads)


def summary(out: Path, manifest: dict) -> str:
    """The lines printed after a run: per split counts, what was left out, how to use the folder."""
    lines = [f"wrote {out} ({manifest['format']}; images: {manifest['images']})"]
    for name, s in manifest["splits"].items():
        crowd = f", {s['crowd_left_out']} crowd annotation(s) left out" if s.get("crowd_left_out") else ""
        lines.append(f"  {name}: {s['images']} images, {s['instances']} instances{crowd} <- {s['source']}")
    if manifest["format"] == "yolo-pose":
        lines.append(f"train with: yolo pose train data={out / 'data.yaml'} model={YOLO_MODEL}")
        lines.append("  (a yaml builds the network untrained, offline; online, model=yolo11n-pose.pt downloads")
        lines.append("  COCO-pretrained weights; model=PATH starts from a .pt you have)")
    elif manifest["format"] == "fiftyone":
        lines.append(f"load with: fo.Dataset.from_dir({str(out / 'SPLIT')!r}, fo.types.COCODetectionDataset)")
    else:
        lines.append(f"load with: datum import -f coco_person_keypoints {out}  (or MMPose's CocoDataset)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("rig2kp export-dataset", __doc__)
    parser.add_argument("--format", choices=FORMATS, default="yolo-pose", help="hand-off format (default yolo-pose)")
    add_input(parser, None, "dataset folder (annotations.json, or the mix stage's split files) or a COCO JSON file")
    add_out(parser, None, "folder to write (replaced whole; only a folder this command wrote, or an empty one)")
    parser.add_argument("--splits", help="splits to export, OUT=IN renames (default: train,val,test that exist)")
    parser.add_argument("--copy", action="store_true", help="copy the images (default: links; hard links for coco)")
    parser.add_argument(
        "--keypoint-slots",
        choices=yolo_pose.SLOTS,
        default="shared",
        help="yolo-pose with several rigs: shared slots padded to the largest K (default), or separate slots per "
        "rig (K the sum; flip_idx and sigmas always kept)",
    )
    args = parser.parse_args(argv)
    if args.out is None:
        parser.error("--out is required: the folder to write")

    def run() -> int:
        manifest = export_dataset(
            args.input, args.out, args.format, args.splits, args.copy, args.keypoint_slots, progress=True
        )
        for note in manifest["notes"]:
            log.warning("%s", note)
        print(summary(args.out, manifest))
        return 0

    return run_command(run)


if __name__ == "__main__":
    raise SystemExit(main())
