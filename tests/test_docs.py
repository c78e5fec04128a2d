"""The docs: a short README, one copy of each text, links that resolve, and commands that run.

The slow tests follow the README's front door (`make all`) and the tutorial, as written, in a
scratch copy of the repository with every size shrunk (tests/support/doc_blocks.py).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import sys
from pathlib import Path

import pytest
import yaml

from tests.support import ROOT, doc_blocks, needs_bpy

README = ROOT / "README.md"
TUTORIAL = ROOT / "docs" / "guide" / "tutorial.md"
GENERATED = {ROOT / "docs" / "reference" / "PARAMS.md"}  # written by pipeline/project/params_reference.py


def pages() -> list[Path]:
    """Every hand-written Markdown page: README, docs/, the examples' and benchmarks' pages."""
    found = [README, *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "examples").glob("*/README.md"))]
    found.append(ROOT / "benchmarks" / "RESULTS.md")
    return [p for p in found if p not in GENERATED]


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


# ---------------------------------------------------------------- the front door is short


def test_readme_is_under_250_lines():
    n = len(README.read_text().splitlines())
    assert n < 250, f"README.md has {n} lines; it is the front door: move details into docs/"


# ---------------------------------------------------------------- one copy of each text


def paragraphs(path: Path) -> list[tuple[int, str]]:
    """(first line, text) of each blank-line separated block of 3+ lines (prose, tables or code),
    whitespace collapsed; HTML comments dropped."""
    text = re.sub(r"<!--.*?-->", lambda m: "\n" * m.group(0).count("\n"), path.read_text(), flags=re.S)
    found, start, block = [], 0, []
    for i, line in enumerate([*text.splitlines(), ""], 1):
        if line.strip() and not re.fullmatch(r"\s*(```+|~~~+)\w*\s*", line):
            if not block:
                start = i
            block.append(" ".join(line.split()))
        else:
            if len(block) >= 3:
                found.append((start, "\n".join(block)))
            block = []
    return found


def near(a: str, b: str) -> bool:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.real_quick_ratio() >= 0.9 and matcher.quick_ratio() >= 0.9 and matcher.ratio() >= 0.9


def test_no_paragraph_is_written_twice():
    """README against docs/, and every page against every other: a text lives in one place."""
    items = [(page, line, text) for page in pages() for line, text in paragraphs(page)]
    assert len(items) > 200
    twice = []
    for i, (pa, la, a) in enumerate(items):
        for pb, lb, b in items[i + 1 :]:
            if near(a, b):
                twice.append(f"{rel(pa)}:{la} and {rel(pb)}:{lb}:\n{a[:160]}")
    assert not twice, "paragraphs written twice (keep one, link to it):\n\n" + "\n\n".join(twice)


def test_duplicate_check_catches_a_near_copy(tmp_path):
    text = "The render stage writes images,\nannotations and meta files\ninto one folder per dataset.\n"
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_text("# A\n\n" + text)
    b.write_text("# B\n\n" + text.replace("one folder", "a folder"))
    (pa,), (pb,) = paragraphs(a), paragraphs(b)
    assert near(pa[1], pb[1]) and not near(pa[1], "Something else\nentirely, on\nthree lines.")


# ---------------------------------------------------------------- links resolve


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*]", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found, seen, fenced = set(), {}, False
    for line in path.read_text().splitlines():
        if doc_blocks.FENCE.match(line):
            fenced = not fenced
        elif not fenced and (m := re.match(r"#{1,6} (.+)", line)):
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(path: Path) -> list[tuple[int, str]]:
    """(line, target) of every Markdown link and image outside code (fenced blocks, `spans`, comments)."""
    found, fenced = [], False
    text = re.sub(r"<!--.*?-->", lambda m: "\n" * m.group(0).count("\n"), path.read_text(), flags=re.S)
    for n, line in enumerate(text.splitlines(), 1):
        if doc_blocks.FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            found += [(n, m.group(1)) for m in LINK.finditer(re.sub(r"`[^`]*`", "", line))]
    return found


def test_slugs_follow_github():
    assert slug("A small CPU configuration (the shipped default)") == "a-small-cpu-configuration-the-shipped-default"
    assert slug("Drawing from code (`pipeline/drawing/draw.py`)") == "drawing-from-code-pipelinedrawingdrawpy"
    assert slug("Randomization (the `render:` section)") == "randomization-the-render-section"
    assert slug("Test on scenes the training photos do not show") == "test-on-scenes-the-training-photos-do-not-show"


@pytest.mark.parametrize("page", pages(), ids=rel)
def test_every_relative_link_and_anchor_resolves(page):
    broken = []
    for n, target in links(page):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        if not dest.exists():
            broken.append(f"{rel(page)}:{n}: {target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{rel(page)}:{n}: {target}: no heading #{anchor} in {dest.name}")
        elif anchor and dest.suffix != ".md":
            broken.append(f"{rel(page)}:{n}: {target}: an anchor into a file that is not Markdown")
    assert not broken, "\n".join(broken)


def test_every_doc_picture_is_small_and_used():
    used = {(page.parent / t).resolve() for page in pages() for _, t in links(page)}
    for png in sorted((ROOT / "docs" / "img").glob("*.png")):
        assert png.stat().st_size < 300_000, f"{rel(png)}: {png.stat().st_size} bytes; keep pictures under 300 KB"
        assert png.resolve() in used, f"{rel(png)} is not shown by any page"


# ---------------------------------------------------------------- one naming style for pages


PAGE_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\.md")


def test_pages_are_named_in_lowercase_words_joined_by_hyphens():
    """One style, the web's: `physics-placement.md`, never `physics_placement.md`. Every guide page
    follows it; elsewhere in docs/ only the capitalised pages (README.md, ARCHITECTURE.md, the
    references) keep their own convention."""
    assert PAGE_NAME.fullmatch("physics-placement.md") and PAGE_NAME.fullmatch("2026-12-01-round9-drop.md")
    assert not any(PAGE_NAME.fullmatch(n) for n in ("physics_placement.md", "Tutorial.md", "a--b.md", "-a.md"))
    guide = sorted((ROOT / "docs" / "guide").glob("*.md"))
    assert len(guide) > 10
    others = [p for p in sorted((ROOT / "docs").rglob("*.md")) if p.parent.name != "guide" and not p.stem.isupper()]
    bad = [rel(p) for p in [*guide, *others] if not PAGE_NAME.fullmatch(p.name)]
    assert not bad, f"pages not named in lowercase words joined by hyphens: {bad}"


# ---------------------------------------------------------------- the marked commands run


def test_pages_mark_their_commands():
    readme = doc_blocks.blocks(README)
    assert any("make all" in doc_blocks.commands(b) for b in readme if b.kind == "run")
    tutorial = doc_blocks.blocks(TUTORIAL)
    lines = [c for b in tutorial if b.kind == "run" for c in doc_blocks.commands(b)]
    steps = [c.split()[1] for c in lines if c.startswith("rig2kp")]
    assert steps == ["mesh-info", "preview", "render", "inspect", "augment", "mix", "train", "evaluate", "predict"], (
        steps
    )
    (params,) = [b for b in tutorial if b.kind == "file"]
    data = yaml.safe_load(params.text)
    assert doc_blocks.shrink(data)["render"]["num_images"] == 8 and data["render"]["num_images"] > 8


def scratch_project(tmp_path: Path) -> tuple[Path, dict]:
    root = doc_blocks.copy_repo(tmp_path / "repo")
    env = doc_blocks.environment(root)
    doc_blocks.sh("git init -q -b main && git add -A && git commit -q -m 'a fresh clone'", root, env)
    return root, env


@pytest.mark.slow
@needs_bpy
def test_readme_front_door_runs(tmp_path):
    """`make all` as the README gives it, on the shipped params shrunk, in a fresh copy.

    The copy's `.venv` is this test's environment (a link), made current for make so that it does
    not install anything; `make test` is not run (it is this suite)."""
    venv = Path(sys.prefix)
    if venv == Path(sys.base_prefix) or not (venv / ".installed").is_file():
        pytest.skip("needs the tests to run from a `make setup` environment (.venv/.installed)")
    root, env = scratch_project(tmp_path)
    params = root / "params.yaml"
    params.write_text(yaml.safe_dump(doc_blocks.shrink(yaml.safe_load(params.read_text())), sort_keys=False))
    doc_blocks.sh("git commit -q -am 'tiny params'", root, env)
    (root / ".venv").symlink_to(venv)
    stamp = (venv / ".installed").stat().st_mtime
    os.utime(root / "pyproject.toml", (stamp - 60, stamp - 60))  # set up already: make installs nothing

    outputs = doc_blocks.run_page(README, root, env, skip={"make test"})
    out = "\n".join(outputs.values())
    assert "pip install" not in out
    for name in ("render", "augment", "mix", "train", "evaluate", "export"):
        assert f"Running stage '{name}'" in out, name
    for f in ("data/synthetic/annotations.json", "models/best.pt", "metrics/eval.json", "exports/model.onnx"):
        assert (root / f).is_file(), f
    assert "Exported model:" in out  # make all's closing summary
    assert "held-out renders" in out and "\nverdict: " in out  # ... ends with the headline and the verdict
    assert "keypoints" in json.loads((root / "metrics/eval.json").read_text())["val"]["all"]


@pytest.mark.slow
@needs_bpy
def test_tutorial_runs_as_written(tmp_path):
    """Every marked block of the tutorial, in order; the labelled photos are renders at another seed
    in CVAT's layout, made where the tutorial's params expect them, just before the first command."""
    root, env = scratch_project(tmp_path)

    def before(block):
        if block.kind == "run" and "rig2kp preview" in block.text:
            doc_blocks.cvat_standin(root, root / "my_pen" / "params.yaml", env)

    doc_blocks.run_page(TUTORIAL, root, env, before=before)
    synthetic = json.loads((root / "data/pen/synthetic/annotations.json").read_text())
    assert [c["keypoints"] for c in synthetic["categories"]] == [["tip", "cap_end"]]
    assert (root / "preview/pen.png").is_file() and (root / "inspect/synthetic/overlays.png").is_file()
    test = json.loads((root / "data/pen/mixed/test.json").read_text())
    assert test["images"] and all(i["origin"]["file_name"].startswith("desk2_") for i in test["images"])
    train = json.loads((root / "data/pen/mixed/train.json").read_text())
    assert {i["source"] for i in train["images"]} == {"synthetic", "real"}
    metrics = json.loads((root / "data/pen/metrics/eval.json").read_text())
    assert {"val", "test", "val_synthetic"} <= set(metrics)
    assert (root / "data/pen/predictions/results.json").is_file()
    photos = sorted((root / "data/pen/photos/images/default").glob("*.jpg"))
    assert len(list((root / "data/pen/predictions/annotated").iterdir())) == len(photos)


QUOTING = ["README.md", "params.yaml", "docs/guide/*.md", "docs/reference/*.md"]
EXACT = re.compile(r"\b(\d+) min (\d+) s\b")
ROUNDED = re.compile(r"(\w+ )?\b(\d+) (?:minutes|min)\b(?! \d+ s)")
LIMITS = {"under", "within", "most", "than"}


def quoted_durations(results: str) -> set[int]:
    """Seconds of each row of RESULTS.md's quoted table ("13 min 45 s", "35 s")."""
    table = results.split("<!-- quoted durations -->", 1)[1].strip().split("\n\n", 1)[0]
    found = set()
    for row in table.splitlines()[2:]:
        value = row.split("|")[2].strip()
        m = re.fullmatch(r"(?:(\d+) min )?(\d+) s", value)
        assert m, f"benchmarks/RESULTS.md quoted table: {value!r} is not 'N min N s' or 'N s'"
        found.add(60 * int(m[1] or 0) + int(m[2]))
    return found


def duration_mismatches(text: str, measured: set[int]) -> list[str]:
    """Durations in a page that are neither a measured figure nor a limit."""
    wrong = []
    for m in EXACT.finditer(text):
        if 60 * int(m[1]) + int(m[2]) not in measured:
            wrong.append(m[0])
    minutes = {int(s / 60 + 0.5) for s in measured}
    for m in ROUNDED.finditer(text):
        limit = (m[1] or "").strip() in LIMITS
        if not limit and int(m[2]) not in minutes:
            wrong.append(m[0].strip())
    return wrong


def test_docs_quote_durations_from_one_measured_table():
    measured = quoted_durations((ROOT / "benchmarks" / "RESULTS.md").read_text())
    assert 13 * 60 + 9 in measured  # the README's make all figure is a row
    wrong = {}
    for pattern in QUOTING:
        for page in sorted(ROOT.glob(pattern)):
            bad = duration_mismatches(page.read_text(), measured)
            if bad:
                wrong[rel(page)] = bad
    assert not wrong, f"durations not in benchmarks/RESULTS.md's quoted table: {wrong}"


def test_duration_check_catches_a_figure_nobody_measured():
    measured = {13 * 60 + 45, 9 * 60 + 30}
    assert duration_mismatches("took 13 min 45 s; training about 10 minutes; under 20 minutes", measured) == []
    assert duration_mismatches("make all takes 14 min 10 s, training 6 minutes", measured) == [
        "14 min 10 s",
        "training 6 minutes",
    ]
