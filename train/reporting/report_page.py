"""One Markdown page per evaluated run: headline, verdict, per-split figures, precision-recall
curves (PNGs drawn with matplotlib from `plots/`), per-keypoint tables and the contact sheets.

Built from the files evaluate writes (summary.json, eval.json, per_keypoint.json, plots/,
contact_sheets/), so `rig2kp report` rebuilds it for any metrics folder. The page links the
contact sheets by relative path: keep `report/` beside `contact_sheets/`.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from common.atomic import write_bytes, write_text
from pipeline.errors import Rig2kpError
from train.reporting.headline import ROWS, other_key, other_scale

PAGE = "index.md"
CURVES = {  # plots/<split>_<curve>.json -> legend
    "keypoints_oks50": "keypoints, OKS 0.5",
    "keypoints_oks75": "keypoints, OKS 0.75",
    "bbox_iou50": "boxes, IoU 0.5",
}


def read_run(metrics: Path) -> dict:
    """The files of a metrics folder that the page and the terminal summary use."""

    def load(name: str):
        path = metrics / name
        if not path.is_file():
            raise Rig2kpError(
                f"{path}: not found; rig2kp evaluate writes it (summary.json, eval.json, per_keypoint.json)"
            )
        return json.loads(path.read_text())

    return {"summary": load("summary.json"), "eval": load("eval.json"), "per_keypoint": load("per_keypoint.json")}


def _fmt(v, digits: int | None = 3) -> str:
    """A table cell: `–` for null; floats to `digits` decimals (None: as stored, the headline's rounding)."""
    if v is None:
        return "–"
    return str(v) if isinstance(v, int | str) or digits is None else f"{v:.{digits}f}"


def _table(header: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_fmt(c) if not isinstance(c, str) else c for c in row) + " |" for row in rows]
    return out + [""]


def _headline(summary: dict) -> list[str]:
    rows = summary["headline"]
    keys = [k for k in next(iter(rows.values()))["values"] if k != "verdict"]
    table = [
        [f"{ROWS[name]} ({row['split'] or 'none'})", *(_fmt(row["values"][k], None) for k in keys)]
        for name, row in rows.items()
    ]
    scale = summary["oks_scale"]
    lines = ["## Headline", ""]
    lines += _table(["", *keys], table)
    lines += [
        f"`AP`, `AP50`: keypoint OKS AP scaled by the {scale} area (`evaluate.oks_scale`); `AP_"
        f"{other_scale(scale)}`: the same at the other scale; `px`: median pixel error and "
        "`pck`: PCK@0.1 of the keypoints of detections matched at box IoU 0.5; `gap`: renders AP minus real AP.",
        "",
    ]
    return lines


def _verdict(summary: dict) -> list[str]:
    v = summary["verdict"]
    lines = [
        "## Verdict",
        "",
        f"**{v['level']}** on {v['judged']}" + (": " + "; ".join(v["reasons"]) if v["reasons"] else "."),
        "",
    ]
    if v["advice"]:
        lines += ['What to change (docs/guide/train.md, "When a run has not learned"):', ""]
        lines += [f"- {a}" for a in v["advice"]] + [""]
    if v.get("seed_note"):
        lines += [v["seed_note"].capitalize() + ".", ""]
    return lines


def _model(summary: dict) -> list[str]:
    m = summary.get("model")
    if not m:
        return []
    weights = "pretrained" if m["pretrained"] else "from scratch"
    if m.get("weights"):
        weights += f" ({m['weights']})"
    return [
        f"Model `{m['path']}`: {m['backbone']}, {weights}, K = {m['keypoints']}; weights of epoch {m['epoch']} of "
        f"{m['epochs']} ({m['steps']} steps of {m['batch_size']} images).",
        "",
    ]


def _sources(report: dict):
    """(split, source, metrics) of every source of every split in eval.json (figures such as
    `sim_to_real_gap` sit beside them and are skipped)."""
    for split, entry in report.items():
        if isinstance(entry, dict):
            yield from ((split, source, m) for source, m in entry.items() if isinstance(m, dict))


def _splits(report: dict, scale: str) -> list[str]:
    other = other_key(scale)
    rows = []
    for split, source, m in _sources(report):
        err = m.get("keypoint_error", {})
        rows.append([split, source, m["images"], m["keypoints"]["AP"], m["keypoints"]["AP50"],
                     m["keypoints"]["AP75"], m.get(other, {}).get("AP"), m["bbox"]["AP"], m["bbox"]["AP50"],
                     err.get("median_px"), err.get("pck@0.1")])  # fmt: skip
    header = ["split", "source", "images", "AP", "AP50", "AP75", f"AP {other.split('_')[1]} area", "box AP",
              "box AP50", "median px", "PCK@0.1"]  # fmt: skip
    lines = ["## Every split", ""] + _table(header, rows)
    if report.get("sim_to_real_gap") is not None:
        lines += [f"`sim_to_real_gap` (eval.json): {report['sim_to_real_gap']:+.4f}", ""]
    return lines


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


def _error_breakdown(report: dict) -> list[str]:
    """Visible against hidden keypoints, and left/right swaps (train/error_breakdown.py)."""
    rows = []
    for split, source, m in _sources(report):
        for cat, e in m.get("error_breakdown", {}).items():
            vis, hid, lr = e["visible"], e["hidden"], e["left_right"]
            rows.append([split, source, cat, f"{e['matched']} / {e['instances']}",
                         vis["keypoints"], _pct(vis["median_of_diagonal"]), vis["pck@0.1"],
                         hid["keypoints"], _pct(hid["median_of_diagonal"]), hid["pck@0.1"],
                         lr["pairs"], _pct(lr["swapped"])])  # fmt: skip
    if not rows:
        return []
    header = ["split", "source", "rig", "matched", "visible", "median error", "PCK@0.1",
              "hidden", "median error", "PCK@0.1", "left/right pairs", "swapped"]  # fmt: skip
    return (
        ["## Where keypoints go wrong", ""]
        + _table(header, rows)
        + [
            "Keypoints of detections matched at box IoU 0.5: `visible` (COCO v = 2) against `hidden` (v = 1, labelled "
            "behind something), errors as a share of the box diagonal; `swapped`: pairs of a rig's flip pairs, both "
            "labelled, whose predictions lie nearer the other's label (`rig2kp errors`, docs/guide/evaluate.md).",
            "",
        ]
    )


def _per_keypoint(per_keypoint: dict) -> list[str]:
    lines = ["## Per keypoint", ""]
    for split, cats in per_keypoint.items():
        for cat, kps in cats.items():
            keys = list(dict.fromkeys(k for e in kps.values() for k in e))
            lines += [f"**{split}, {cat}**", ""]
            lines += _table(["keypoint", *keys], [[name, *(e.get(k) for k in keys)] for name, e in kps.items()])
    return lines


def plot_pr(metrics: Path, split: str, out_png: Path) -> bool:
    """The split's precision-recall curves in one PNG (no timestamp or version: stable bytes)."""
    curves = {k: metrics / "plots" / f"{split}_{k}.json" for k in CURVES}
    curves = {k: json.loads(p.read_text()) for k, p in curves.items() if p.is_file()}
    if not curves:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    for key, rows in curves.items():
        ax.plot([r["recall"] for r in rows], [r["precision"] for r in rows], label=CURVES[key])
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="recall", ylabel="precision", title=f"{split}: precision-recall")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    write_bytes(out_png, buf.getvalue())
    return True


def write_report(metrics: Path, out: Path | None = None) -> Path:
    """Write <out>/index.md (default <metrics>/report/) and its PR-curve PNGs; return the page."""
    out = out or metrics / "report"
    run = read_run(metrics)
    summary, report = run["summary"], run["eval"]
    lines = ["# Evaluation report", ""] + _model(summary) + _headline(summary) + _verdict(summary)
    lines += _splits(report, summary["oks_scale"])
    splits = [s for s, e in report.items() if isinstance(e, dict)]
    drawn = [s for s in splits if plot_pr(metrics, s, out / f"pr_{s}.png")]
    if drawn:
        lines += ["## Precision-recall", ""] + [f"![{s}](pr_{s}.png)" for s in drawn] + [""]
    lines += _error_breakdown(report)
    lines += _per_keypoint(run["per_keypoint"])
    sheets = [s for s in splits if (metrics / "contact_sheets" / f"{s}.jpg").is_file()]
    if sheets:
        rel = Path(os.path.relpath(metrics / "contact_sheets", out))
        lines += ["## Predictions (ground truth left, green; predictions right, red)", ""]
        lines += [f"**{s}**\n\n![{s}]({(rel / f'{s}.jpg').as_posix()})\n" for s in sheets]
    page = out / PAGE
    write_text(page, "\n".join(lines).rstrip() + "\n")
    return page
