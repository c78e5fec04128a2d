"""One command for every stage: `rig2kp <stage> [options]` (each stage also runs as `python -m`)."""

from __future__ import annotations

import importlib
import logging
import sys

COMMANDS = {
    "render": ("pipeline.rendering.render_dataset", "render randomized scenes of the rigs to a COCO keypoint folder"),
    "preview": ("pipeline.authoring.preview", "turntable contact sheet of a rig with its keypoints named"),
    "mesh-info": (
        "pipeline.authoring.mesh_info",
        "a mesh file's vertices, bounds, slots and up axis, and a rig to paste",
    ),
    "inspect": ("pipeline.inspection.inspect_dataset", "draw annotations over images and write a stats sheet"),
    "augment": ("pipeline.augmenting.augment", "albumentations copies of a COCO keypoint folder"),
    "mix": ("pipeline.mixing.mix", "mix renders with real annotated photos into train/val/test"),
    "validate": ("pipeline.inspection.validate", "check a COCO keypoint file and its images"),
    "train": ("train.train", "train KeypointRCNN"),
    "evaluate": ("train.evaluate", "COCO keypoint/bbox AP, pixel error and PCK"),
    "errors": (
        "train.reporting.error_report",
        "where keypoints go wrong: visible against hidden, left/right swaps",
    ),
    "report": ("train.reporting.report", "a run's headline and verdict; its page with curves and contact sheets"),
    "predict": ("train.predict", "run a trained model on images, a folder or a video"),
    "export": ("train.export", "export a trained model to ONNX and TorchScript"),
    "export-dataset": (
        "pipeline.dataset_export.export_dataset",
        "a dataset for Ultralytics YOLO-pose, FiftyOne or datumaro/MMPose",
    ),
    "dvc-deps": (
        "pipeline.project.write_dvc_deps",
        "write into dvc.yaml the deps that params name (meshes, textures, exports)",
    ),
}


def usage() -> str:
    lines = ["usage: rig2kp <command> [options]   (rig2kp <command> --help for its options)", "", "commands:"]
    width = max(len(name) for name in COMMANDS)
    lines += [f"  {name:<{width}} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv[0] not in COMMANDS:
        print(f"error: unknown command {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")  # stages report repairs
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return module.main(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
