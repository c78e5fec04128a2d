"""train/reporting/headline.py: which numbers the headline takes, and that the real `dvc metrics show` /
`dvc metrics diff` print them in under 120 columns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from train.reporting.headline import describe, format_table, headline_rows, rows_from_summary

WIDTH = 120


def _entry(ap: float, images: int = 10, px: float | None = 12.5) -> dict:
    return {
        "images": images,
        "keypoints": {"AP": ap, "AP50": ap + 0.1},
        "keypoints_mask_area": {"AP": ap / 2},
        "bbox": {"AP": 0.3},
        "keypoint_error": {"matched": 5, "median_px": px, "pck@0.1": 0.6},
    }


def test_with_real_photos_the_rows_are_val_synthetic_and_the_real_test_images():
    report = {
        "val": {"all": _entry(0.1), "real": _entry(0.1)},
        "test": {"all": _entry(0.2, 7), "real": _entry(0.2, 7)},
        "val_synthetic": {"all": _entry(0.5, 30), "synthetic": _entry(0.5, 30)},
    }
    rows = headline_rows(report, "box")
    assert (rows["sim"].split, rows["sim"].source) == ("val_synthetic", "synthetic")
    assert (rows["real"].split, rows["real"].source) == ("test", "real")
    assert rows["sim"].values == {
        "images": 30, "AP": 0.5, "AP50": 0.6, "AP_mask": 0.25, "box_AP": 0.3, "px": 12.5, "pck": 0.6,
        "gap": None, "verdict": None,
    }  # fmt: skip
    assert rows["real"].values["gap"] == pytest.approx(0.5 - 0.2)
    assert rows["real"].values["images"] == 7


def test_without_real_photos_the_renders_row_is_test_and_the_real_row_is_empty():
    """Without real data val picked best.pt and val_synthetic equals val: test is the unbiased one."""
    report = {
        "val": {"all": _entry(0.4), "synthetic": _entry(0.4)},
        "test": {"all": _entry(0.3), "synthetic": _entry(0.3)},
        "val_synthetic": {"all": _entry(0.4), "synthetic": _entry(0.4)},
    }
    rows = headline_rows(report, "mask")
    assert rows["sim"].split == "test" and rows["sim"].values["AP"] == 0.3
    assert "AP_box" in rows["sim"].values and "AP_mask" not in rows["sim"].values  # the other scale
    assert rows["real"].split is None
    assert set(rows["real"].values) == set(rows["sim"].values)  # same columns, all empty
    assert all(v is None for v in rows["real"].values.values())
    assert rows_from_summary(json.loads(json.dumps(describe(rows)))) == rows  # summary.json round trip


def test_terminal_table_names_where_each_row_comes_from():
    rows = headline_rows({"test": {"all": _entry(0.3), "synthetic": _entry(0.3)}}, "box")
    text = format_table(rows)
    assert "held-out renders: test, synthetic images; real photos: none" in text
    assert max(len(line) for line in text.splitlines()) <= WIDTH


# ---------------------------------------------------------------- the real DVC CLI


def _dvc(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "DVC_NO_ANALYTICS": "1",
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
    }
    proc = subprocess.run(["dvc", *args], cwd=root, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def _git(root: Path, *args: str) -> None:
    ident = ["-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", *ident, *args], cwd=root, check=True, capture_output=True)


def _widest_rows(variant: int) -> dict:
    """Headline rows with the longest values they can hold: large counts and errors, a negative
    gap, 4 decimals everywhere, the longest verdict."""
    e = _entry(0.1234 + variant / 10, images=123456, px=12345.6)
    e["keypoint_error"]["pck@0.1"] = 0.5678
    report = {"test": {"all": e, "real": e}, "val_synthetic": {"all": e, "synthetic": e}}
    rows = headline_rows(report, "box")
    rows["real"].values["gap"] = -0.9876
    rows["sim"].values["verdict"] = ("not learned", "learned")[variant]
    return rows


def test_dvc_metrics_show_and_diff_fit_in_120_columns(tmp_path):
    """The two files as dvc.yaml declares them (the evaluate stage's only metrics), read by the real CLI."""
    import yaml

    stages = yaml.safe_load((Path(__file__).parents[1] / "dvc.yaml").read_text())
    declared = [next(iter(m)) for s in stages["stages"].values() for m in s.get("metrics", [])]
    assert declared == ["metrics/sim.json", "metrics/real.json"] and "metrics" not in stages
    root = tmp_path / "repo"
    (root / "metrics").mkdir(parents=True)
    _git(root, "init", "-q")
    _dvc(root, "init", "-q")
    (root / "dvc.yaml").write_text(yaml.safe_dump({"metrics": declared}))
    for variant in (0, 1):
        for name, row in _widest_rows(variant).items():
            (root / "metrics" / f"{name}.json").write_text(json.dumps(row.values, indent=1))
        if variant == 0:
            _git(root, "add", "-A")
            _git(root, "commit", "-q", "-m", "baseline")
    show = _dvc(root, "metrics", "show")
    diff = _dvc(root, "metrics", "diff", "--all")
    assert "-0.9876" in show and " learned" in show.splitlines()[1]  # the workspace: variant 1
    assert "not learned" in diff  # the committed variant 0
    for text in (show, diff):
        assert max(len(line) for line in text.splitlines()) <= WIDTH, text
