"""The headline of an evaluation: two rows of a few numbers that `dvc metrics show` prints in
under 120 columns (dvc.yaml declares only these two files as metrics).

- `sim`: held-out renders: `test` when it holds renders only (data without real photos: `val`
  picked best.pt and `val_synthetic` is `val`), else `val_synthetic`, else the renders of `val`,
  then of `test`;
- `real`: real photos: the real images of `test`, else of `val`.

Each row holds the same keys (null where there is nothing to measure, `-` in DVC's table):
`images`; `AP`, `AP50`: keypoint OKS AP at `evaluate.oks_scale`; `AP_mask` (or `AP_box` when
`oks_scale` is mask): the same AP at the other scale; `box_AP`; `px`: median pixel error of the
labelled keypoints of detections matched at box IoU 0.5; `pck`: their PCK@0.1 (share within 10 %
of the ground-truth box diagonal); `gap` (real row): sim AP minus real AP; `verdict`: in the row
the verdict judged (train/reporting/verdict.py). The full breakdown stays in eval.json and per_keypoint.json.
"""

from __future__ import annotations

from dataclasses import dataclass

SIM_SPLITS = ("val_synthetic", "val", "test")  # when `test` is not renders only
REAL_SPLITS = ("test", "val")
PCK_AT = 0.1  # the headline's PCK threshold, a fraction of the ground-truth box diagonal
ROWS = {"sim": "held-out renders", "real": "real photos"}


@dataclass(frozen=True)
class Row:
    """One headline row: where its numbers come from and the numbers (JSON-ready, rounded)."""

    name: str  # "sim" or "real"
    split: str | None  # None: no split has images of that source
    source: str
    values: dict

    @property
    def title(self) -> str:
        where = f"{self.split}, {self.source} images" if self.split else "none in the evaluated splits"
        return f"{ROWS[self.name]} ({where})"


def other_scale(oks_scale: str) -> str:
    return "mask" if oks_scale == "box" else "box"


def other_key(oks_scale: str) -> str:
    """eval.json's key of the keypoint AP at the scale that is not the headline's."""
    return f"keypoints_{other_scale(oks_scale)}_area"


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _pick(report: dict, source: str, splits: tuple[str, ...]) -> tuple[str, dict] | None:
    """The first split of `splits` with images of `source`; for renders, `test` first when it has no photos."""
    test = report.get("test", {})
    if source == "synthetic" and not test.get("real") and test.get("synthetic", {}).get("images"):
        return "test", test["synthetic"]
    for name in splits:
        entry = report.get(name, {}).get(source)
        if entry and entry.get("images"):
            return name, entry
    return None


def _values(entry: dict | None, oks_scale: str) -> dict:
    entry = entry or {}
    kp, other, box = entry.get("keypoints", {}), entry.get(other_key(oks_scale), {}), entry.get("bbox", {})
    err = entry.get("keypoint_error", {})
    return {
        "images": entry.get("images"),
        "AP": _round(kp.get("AP"), 4),
        "AP50": _round(kp.get("AP50"), 4),
        f"AP_{other_scale(oks_scale)}": _round(other.get("AP"), 4),
        "box_AP": _round(box.get("AP"), 4),
        "px": _round(err.get("median_px"), 1),
        "pck": _round(err.get(f"pck@{PCK_AT:g}"), 4),
    }


def headline_rows(report: dict, oks_scale: str) -> dict[str, Row]:
    """The sim and real rows of an eval.json report (split -> source -> metrics)."""
    rows = {}
    for name, source, splits in (("sim", "synthetic", SIM_SPLITS), ("real", "real", REAL_SPLITS)):
        hit = _pick(report, source, splits)
        split, entry = hit if hit else (None, None)
        rows[name] = Row(name, split, source, _values(entry, oks_scale))
    sim, real = rows["sim"].values["AP"], rows["real"].values["AP"]
    for row in rows.values():
        row.values["gap"] = None
        row.values["verdict"] = None
    if sim is not None and real is not None:
        rows["real"].values["gap"] = round(sim - real, 4)
    return rows


def describe(rows: dict[str, Row]) -> dict:
    """Each row as summary.json keeps it: where it comes from and its values."""
    return {name: {"split": row.split, "source": row.source, "values": row.values} for name, row in rows.items()}


def rows_from_summary(headline: dict) -> dict[str, Row]:
    """The rows back from summary.json's `headline` (what describe wrote)."""
    return {name: Row(name, e["split"], e["source"], e["values"]) for name, e in headline.items()}


def format_table(rows: dict[str, Row]) -> str:
    """The rows as a small terminal table (what evaluate and `rig2kp report` print)."""
    keys = [k for k in next(iter(rows.values())).values if k != "verdict"]
    lines = [["", *keys]]
    for row in rows.values():
        lines.append([ROWS[row.name], *("-" if row.values[k] is None else f"{row.values[k]:g}" for k in keys)])
    widths = [max(len(line[i]) for line in lines) for i in range(len(keys) + 1)]
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    where = "; ".join(
        f"{ROWS[r.name]}: " + (f"{r.split}, {r.source} images" if r.split else "none") for r in rows.values()
    )
    return "\n".join([*out, f"({where})"])
