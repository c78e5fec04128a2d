"""examples/runs_table.py: the table experiments are compared with says when seeds settle nothing."""

from __future__ import annotations

import importlib.util
import json

from tests.support import ROOT

spec = importlib.util.spec_from_file_location("runs_table", ROOT / "examples" / "runs_table.py")
runs_table = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runs_table)


def test_overlapping_seed_ranges_are_named_and_separated_ones_are_not():
    notes = runs_table.overlaps({"a": [0.10, 0.20, 0.15], "b": [0.18, 0.30], "c": [0.40, 0.50], "one": [0.12]})
    assert len(notes) == 1
    assert "a (0.100-0.200) and b (0.180-0.300) overlap" in notes[0]


def test_the_table_groups_seed_folders_and_ends_with_the_note(tmp_path, capsys):
    for group, aps in {"x": [0.1, 0.3], "y": [0.2, 0.4]}.items():
        for seed, ap in enumerate(aps):
            d = tmp_path / group / f"seed{seed}"
            d.mkdir(parents=True)
            (d / "eval.json").write_text(json.dumps({"test": {"all": {"keypoints": {"AP": ap, "AP50": ap}}}}))
            (d / "per_keypoint.json").write_text(json.dumps({"test": {"tube": {"head": {"pck@0.1": 0.5}}}}))
    assert runs_table.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "**x: mean ± spread (2)**" in out and "0.200 ± 0.200" in out
    assert "x (0.100-0.300) and y (0.200-0.400) overlap" in out


def test_hidden_keypoints_and_swaps_pool_over_rigs_by_their_counts(tmp_path, capsys):
    def part(n, value, count="keypoints", key="pck@0.1"):
        return {count: n, key: value}

    breakdown = {  # rig a: 10 hidden at 0.2, 4 pairs 0.5 swapped; rig b: 30 hidden at 0.6, no pair
        "a": {"hidden": part(10, 0.2), "left_right": part(4, 0.5, "pairs", "swapped")},
        "b": {"hidden": part(30, 0.6), "left_right": part(0, None, "pairs", "swapped")},
    }
    d = tmp_path / "run" / "seed0"
    d.mkdir(parents=True)
    report = {"all": {"keypoints": {"AP": 0.3, "AP50": 0.5}, "error_breakdown": breakdown}}
    (d / "eval.json").write_text(json.dumps({"test": report}))
    (d / "per_keypoint.json").write_text(json.dumps({"test": {"a": {"k": {"pck@0.1": 0.5}}}}))
    row = runs_table.row(d, "test")
    assert row["PCK@0.1 hidden"] == (10 * 0.2 + 30 * 0.6) / 40 and row["L/R swapped"] == 0.5
    assert runs_table.main([str(tmp_path)]) == 0
    assert "| run/seed0 | 0.300 | 0.500 | — | 0.500 | — | — | — | 0.500 | 0.500 |" in capsys.readouterr().out
