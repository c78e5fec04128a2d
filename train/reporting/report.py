"""Print a run's headline and verdict, and write its page (`rig2kp report`).

    python -m train.reporting.report --input metrics               # prints; writes metrics/report/index.md
    python -m train.reporting.report --input metrics --no-page     # prints only (make all's summary)

Reads what `rig2kp evaluate` wrote (summary.json, eval.json, per_keypoint.json, plots/,
contact_sheets/) in --input. The page (train/reporting/report_page.py): headline, verdict, every split,
precision-recall curves, per-keypoint tables and contact sheets. The full numbers:
`dvc metrics show metrics/eval.json` or the JSON files themselves.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.errors import run_command
from pipeline.stage_args import add_input, add_out, stage_parser
from train.reporting.headline import format_table, rows_from_summary
from train.reporting.report_page import read_run, write_report
from train.reporting.verdict import Verdict


def run(args: argparse.Namespace) -> int:
    metrics = Path(args.input)
    summary = read_run(metrics)["summary"]
    print(format_table(rows_from_summary(summary["headline"])))
    print("\n".join(Verdict.from_json(summary["verdict"]).lines()))
    if not args.no_page:
        print(f"wrote {write_report(metrics, args.out)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("rig2kp report", __doc__)
    add_input(parser, "metrics", "the evaluate stage's output folder")
    add_out(parser, None, "folder for the page and its PNGs (default: <input>/report)")
    parser.add_argument("--no-page", action="store_true", help="print the headline and verdict only")
    args = parser.parse_args(argv)
    return run_command(lambda: run(args))


if __name__ == "__main__":
    raise SystemExit(main())
