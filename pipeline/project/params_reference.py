"""The params.yaml reference (docs/reference/PARAMS.md), generated from the schema's models and descriptions.

`python -m pipeline.project.params_reference` rewrites the file; `--check` only compares, for CI. Keys are
dotted paths: `<rig>` stands for a map key the user picks, `[]` for every item of a list.
"""

from __future__ import annotations

import argparse
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Union, get_args, get_origin

import annotated_types as at
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from common.atomic import write_text
from pipeline.schema import Params
from pipeline.schema.common import IntRange, Range

DOC = Path(__file__).resolve().parents[2] / "docs" / "reference" / "PARAMS.md"
COMMAND = "python -m pipeline.project.params_reference"

HEADER = f"""# params.yaml reference

Every key `params.yaml` accepts, generated from the schema in `pipeline/schema/` by
`{COMMAND}` (or `make params-doc`); do not edit by hand.
A key left out takes its default; an unknown key is an error that names it.

- `[min, max]`: a closed interval sampled uniformly per image; a single number `x` means `[x, x]`.
- `<rig>`, `<material>`: a name you choose (a map key); `[]`: each item of a list.
- `null` in YAML is Python's `None`; paths are relative to the folder of `params.yaml`.
"""


@dataclass(frozen=True)
class Row:
    key: str  # dotted path, e.g. rigs.<rig>.keypoints[].sigma
    type: str
    default: str
    constraints: str
    description: str
    section: bool  # what the key holds has its own table(s) below


@dataclass(frozen=True)
class Section:
    key: str  # the prefix of its rows' keys; "" for the top level
    variant: str  # for one kind of a discriminated union: its tag, e.g. "box"
    doc: str  # the model's docstring
    rows: tuple[Row, ...]
    open: bool  # keys other than the rows are allowed (passed on, e.g. to albumentations)
    depth: int  # 0: the top level, 1: a section of params.yaml, 2 and more: tables inside those


def _is_model(tp) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel) and not issubclass(tp, Range)


def _unwrap(tp):
    """`Annotated[X, ...]` -> X (a tagged union's members and the union itself come wrapped)."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _members(tp) -> list:
    """The parts of a union (`X | None` included), or [tp]."""
    tp = _unwrap(tp)
    return [_unwrap(a) for a in get_args(tp)] if get_origin(tp) in (Union, types.UnionType) else [tp]


def _variant(model) -> tuple[str, str] | None:
    """(field, tag) of a union member told apart by a one-value Literal field, e.g. ("mode", "keep")."""
    for name, info in model.model_fields.items():
        args = get_args(info.annotation)
        if get_origin(info.annotation) is Literal and len(args) == 1:
            return name, str(args[0])
    return None


def _tagged_union(tp) -> tuple[str, list[str]] | None:
    """(field, tags) when tp is a union of several models told apart by one field (a map value, say)."""
    models = [m for m in _members(tp) if m is not type(None)]
    variants = [_variant(m) if _is_model(m) else None for m in models]
    if len(models) < 2 or None in variants or len({v[0] for v in variants}) != 1:
        return None
    return variants[0][0], [v[1] for v in variants]


def _children(key: str, info: FieldInfo) -> list[tuple[str, type[BaseModel], str]]:
    """(key prefix, model, variant tag) of each model this field holds: nested, list item, map value, variant."""
    out = []
    tagged = _tagged_union(info.annotation) is not None
    for tp in _members(info.annotation):
        origin, args = get_origin(tp), get_args(tp)
        if _is_model(tp):
            tag = get_args(tp.model_fields[info.discriminator].annotation)[0] if info.discriminator else ""
            out.append((key, tp, _variant(tp)[1] if tagged else tag))
        elif origin is list and _is_model(args[0]):
            out.append((f"{key}[]", args[0], ""))
        elif origin is dict:
            value_key = f"{key}.<{key.rsplit('.', 1)[-1].removesuffix('s')}>"
            values = _members(args[1])
            tag_values = _tagged_union(args[1]) is not None
            out += [(value_key, m, _variant(m)[1] if tag_values else "") for m in values if _is_model(m)]
    return out


def type_name(tp) -> str:
    """A reader's name for an annotation: `float`, `[min, max]`, `one of: a, b`, `list of …`."""
    tagged = _tagged_union(tp)
    if tagged is not None:
        field, tags = tagged
        return f"a word or a map, by `{field}`: {', '.join(tags[:-1])} or {tags[-1]}"
    tp = _unwrap(tp)
    parts = _members(tp)
    if len(parts) > 1:
        literals = [str(v) for p in parts if get_origin(p) is Literal for v in get_args(p)]
        others = [type_name(p) for p in parts if get_origin(p) is not Literal and p is not type(None)]
        words = ([f"one of: {', '.join(literals)}" if len(literals) > 1 else literals[0]] if literals else []) + others
        return " or ".join(words + (["null"] if type(None) in parts else []))
    origin, args = get_origin(tp), get_args(tp)
    if origin is Literal:
        return f"one of: {', '.join(map(str, args))}" if len(args) > 1 else str(args[0])
    if origin is list:
        return f"list of {type_name(args[0])}"
    if origin is tuple:
        return "[" + ", ".join(type_name(a) for a in args) + "]"
    if origin is dict:
        return f"map of {'name' if args[0] is str else type_name(args[0])} to {type_name(args[1])}"
    if isinstance(tp, type) and issubclass(tp, IntRange):
        return "[min, max] of int"
    if isinstance(tp, type) and issubclass(tp, Range):
        return "[min, max]"
    if _is_model(tp):
        return "map"
    return {Path: "path", str: "str"}.get(tp, getattr(tp, "__name__", str(tp)))


def _plain(value):
    """A default as YAML would hold it: ranges as [min, max], models as maps, paths as strings."""
    if isinstance(value, IntRange):
        return [int(value.min), int(value.max)]
    if isinstance(value, Range):
        return value.as_list()
    if isinstance(value, BaseModel):
        return {k: _plain(getattr(value, k)) for k in type(value).model_fields} | _plain(value.model_extra or {})
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return value.as_posix()
    return value


def default_text(info: FieldInfo) -> str:
    """The default as YAML, `required`, `see below` for a table, or the names of a list of transforms."""
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if _is_model(type(value)):
        return "see below"
    if (
        value
        and isinstance(value, list)
        and all(isinstance(v, BaseModel) and "name" in type(v).model_fields for v in value)
    ):
        return "`" + ", ".join(v.name for v in value) + "` (with arguments)"
    text = yaml.safe_dump(_plain(value), default_flow_style=True, width=10**6, sort_keys=False)
    return f"`{text.strip().removesuffix('...').strip()}`"


_BOUNDS = {at.Ge: (">=", "ge"), at.Gt: (">", "gt"), at.Le: ("<=", "le"), at.Lt: ("<", "lt")}


def constraints_text(info: FieldInfo) -> str:
    out = []
    for m in info.metadata:
        if type(m) in _BOUNDS:
            op, attr = _BOUNDS[type(m)]
            out.append(f"{op} {getattr(m, attr)}")
        elif isinstance(m, at.MinLen):
            out.append("not empty" if m.min_length == 1 else f"length >= {m.min_length}")
        elif isinstance(m, at.MaxLen):
            out.append(f"length <= {m.max_length}")
    return ", ".join(out)


def sections(model: type[BaseModel] = Params, key: str = "", variant: str = "", depth: int = 0) -> list[Section]:
    """This model's table, then the tables of the models under it, depth first."""
    rows, below = [], []
    for name, info in model.model_fields.items():
        sub = f"{key}.{name}" if key else name
        children = _children(sub, info)
        kind = type_name(info.annotation)
        if info.discriminator:
            tags = [tag for _, _, tag in children]
            kind = f"map, by `{info.discriminator}`: {', '.join(tags[:-1])} or {tags[-1]}"
        children = [c for c in children if c[1] is not model]  # a compose's children are transforms again
        rows.append(Row(sub, kind, default_text(info), constraints_text(info), info.description or "", bool(children)))
        for child_key, child, tag in children:
            below += sections(child, child_key, tag, depth + 1)
    doc = " ".join((model.__doc__ or "").split())  # a class without a docstring has None, not its base's
    open_ = model.model_config.get("extra") == "allow"
    return [Section(key, variant, doc, tuple(rows), open_, depth), *below]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(secs: list[Section]) -> str:
    lines = [HEADER.rstrip()]
    for s in secs:
        level = "##" if s.depth <= 1 else "###"
        title = f"`{s.key}`" + (f" (type: {s.variant})" if s.variant else "") if s.key else "Top level"
        lines += ["", f"{level} {title}", ""]
        if s.doc:
            lines += [s.doc, ""]
        if s.open:
            lines += ["Any other key is passed on as an argument.", ""]
        lines += ["| key | type | default | constraints | description |", "|---|---|---|---|---|"]
        for r in s.rows:
            cells = [f"`{r.key}`", r.type, r.default, r.constraints, r.description]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def reference() -> str:
    return render(sections())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when the file differs from the schema")
    ap.add_argument("--out", type=Path, default=DOC, help="default: docs/reference/PARAMS.md of this checkout")
    args = ap.parse_args(argv)
    text = reference()
    if args.check:
        if not args.out.is_file() or args.out.read_text() != text:
            print(f"{args.out} is stale: the schema changed; run `{COMMAND}` (or `make params-doc`)", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    write_text(args.out, text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
