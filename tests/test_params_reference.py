"""docs/reference/PARAMS.md is generated from the schema, stays current, and documents every key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, get_args

import pytest
import yaml
from pydantic import BaseModel

from pipeline.project.params_reference import COMMAND, DOC, main, reference, sections, type_name
from pipeline.schema import Params, Range
from pipeline.schema.common import IntRange
from tests.support import ROOT


def test_params_md_is_current():
    if not DOC.is_file() or DOC.read_text() != reference():
        pytest.fail(f"{DOC.relative_to(ROOT)} is stale: the schema changed; run `{COMMAND}` (or `make params-doc`)")


def _models(tp, found: set) -> set:
    """Every pydantic model reachable from an annotation, found independently of the generator."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp not in found:
            found.add(tp)
            for info in tp.model_fields.values():
                _models(info.annotation, found)
    for arg in get_args(tp):
        _models(arg, found)
    return found


def test_every_field_has_a_description():
    models = _models(Params, set())
    assert Range in models and len(models) > 15
    missing = [f"{m.__name__}.{name}" for m in models for name, info in m.model_fields.items() if not info.description]
    assert not missing, f"fields without Field(description=...): {sorted(missing)}"


def _yaml_keys(node, prefix: str = ""):
    """Dotted keys of a YAML tree; `[]` stands for each list item, as in the reference."""
    if isinstance(node, dict):
        for k, v in node.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            yield key
            yield from _yaml_keys(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from _yaml_keys(v, prefix + "[]")


def _pattern(key: str) -> re.Pattern:
    return re.compile(re.sub(r"<\w+>", r"[^.]+", re.escape(key)) + r"\Z")


def test_reference_mentions_every_key_of_the_shipped_params():
    secs = sections()
    rows = [r for s in secs for r in s.rows]
    # a key is documented by a row or a table heading; below a free-form value (a map of names,
    # a list of pairs) or an open table (albumentations arguments) any key may follow
    documented = [(_pattern(r.key), r.key, not r.section) for r in rows]
    documented += [(_pattern(s.key), s.key, s.open) for s in secs if s.key]
    text = DOC.read_text()
    data = yaml.safe_load((ROOT / "params.yaml").read_text())
    keys = list(_yaml_keys(data))
    assert "rigs.glue_tube.materials.body.hue" in keys and "augment.transforms[].transforms[].blur_limit" in keys
    for key in keys:
        own = [name for pat, name, _ in documented if pat.match(key)]
        if own:
            assert all(f"`{name}`" in text for name in own), (key, own)
            continue
        cut = [m.start() for m in re.finditer(r"\.|\[\]", key)]
        free = any(pat.match(key[:c]) and anything for c in cut for pat, _, anything in documented)
        assert free, f"params.yaml key {key} is not in {DOC.name}"


def test_check_fails_on_a_stale_file_and_names_the_command(tmp_path: Path, capsys):
    out = tmp_path / "PARAMS.md"
    assert main(["--check", "--out", str(out)]) == 1
    out.write_text(reference().replace("`seed`", "`sead`"))
    assert main(["--check", "--out", str(out)]) == 1
    assert COMMAND in capsys.readouterr().err
    assert main(["--out", str(out)]) == 0 and main(["--check", "--out", str(out)]) == 0


def test_type_names():
    assert type_name(Range) == "[min, max]" and type_name(IntRange) == "[min, max] of int"
    assert type_name(Literal["a", "b"] | Path) == "one of: a, b or path"
    assert type_name(list[tuple[int, int]] | None) == "list of [int, int] or null"
    assert type_name(dict[str, str | None]) == "map of name to str or null"
