"""Where a detector's keypoints go wrong, for any COCO keypoint file and results list (stage
`errors`): visible against hidden keypoints' errors and left/right swaps
(train/error_breakdown.py), the figures evaluate writes for its own runs.

    rig2kp errors --gt data/mixed/test.json --predictions metrics/predictions/test.json
    rig2kp errors --gt data/mixed/test.json --predictions other_tool.json --json breakdown.json
"""

from __future__ import annotations

import json
from pathlib import Path

from common.atomic import write_json
from pipeline.errors import Rig2kpError, run_command
from pipeline.outputs import refuse_overlap, take_output_file
from pipeline.stage_args import stage_parser
from train import coco_eval
from train.dataset import Category
from train.error_breakdown import describe, error_breakdown

WRITTEN_BY = "rig2kp errors"  # the --json file's mark: a later run may replace a file that holds it


def breakdown_of_files(gt_path: Path, predictions_path: Path) -> dict[str, dict]:
    """error_breakdown of a COCO keypoint file and a COCO results file (every category of the file)."""
    for path, what in ((gt_path, "--gt"), (predictions_path, "--predictions")):
        if not path.is_file():
            raise Rig2kpError(f"{path}: not found ({what})")
    data = json.loads(gt_path.read_text())
    results = json.loads(predictions_path.read_text())
    if not isinstance(results, list):
        raise Rig2kpError(f"{predictions_path}: expected a COCO results list (one dict per detection)")
    lacking = [i for i, r in enumerate(results) if not isinstance(r, dict) or "keypoints" not in r or "bbox" not in r]
    if lacking:
        raise Rig2kpError(
            f"{predictions_path}: result {lacking[0]} has no keypoints or bbox (a COCO keypoint result has both)"
        )
    known = {c["id"] for c in data.get("categories", [])}
    strays = sorted({r.get("category_id") for r in results} - known, key=str)
    if strays:
        raise Rig2kpError(f"{predictions_path}: category_id {strays} not among {gt_path}'s categories {sorted(known)}")
    categories = [Category.from_json(c) for c in data["categories"] if c.get("keypoints")]
    gt = coco_eval.coco_from_dict(data)
    res = coco_eval.load_results(gt, results)
    return error_breakdown(gt, res, coco_eval.evaluate_bbox(gt, res), categories)


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("rig2kp errors", __doc__)
    parser.add_argument("--gt", required=True, type=Path, help="COCO keypoint file (a split: data/mixed/test.json)")
    parser.add_argument("--predictions", required=True, type=Path, help="COCO results list for its images")
    parser.add_argument("--json", type=Path, help="also write the breakdown here")

    def run() -> int:
        if args.json:  # before any work: never over an input, or over a file this command did not write
            refuse_overlap(args.json, {"--gt file": args.gt, "--predictions file": args.predictions}, flag="--json")
            take_output_file(
                args.json,
                lambda d: d.get("written_by") == WRITTEN_BY,
                f"a breakdown that `{WRITTEN_BY}` wrote",
                "--json",
            )
        breakdown = breakdown_of_files(args.gt, args.predictions)
        print("\n".join(describe(breakdown)))
        if args.json:
            doc = {
                "written_by": WRITTEN_BY,
                "gt": str(args.gt),
                "predictions": str(args.predictions),
                "rigs": breakdown,
            }
            write_json(args.json, doc, indent=1)
        return 0

    args = parser.parse_args(argv)
    return run_command(run)


if __name__ == "__main__":
    raise SystemExit(main())
