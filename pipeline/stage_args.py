"""The flags every stage command shares: `--params`, `--set KEY=VALUE`, `--input`, `--out`.

`--set section.key=value` overrides one param for this run (the value is YAML:
`--set train.epochs=2`, `--set 'render.resolutions=[[320, 240]]'`); older spellings of the
data flags (`--output`, `--data`) still work and are not shown in `--help`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from pipeline.errors import Rig2kpError
from pipeline.schema import Params, load_params


def stage_parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def add_params_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file (default: params.yaml)")
    add_set(parser)


def add_set(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one param for this run, e.g. --set train.epochs=2 (repeatable; YAML values)",
    )


def dataset_stage_parser(
    prog: str, doc: str | None, input_default: str, input_help: str, out_default: str, out_help: str
) -> argparse.ArgumentParser:
    """The parser of a stage that reads params and turns one dataset folder into another."""
    parser = stage_parser(prog, doc)
    add_params_args(parser)
    add_input(parser, input_default, input_help)
    add_out(parser, out_default, out_help, old="--output")
    return parser


def add_input(parser: argparse.ArgumentParser, default: str | None, help: str, old: str | None = None) -> None:
    """`--input` (and a hidden older spelling) naming what the stage reads."""
    parser.add_argument(
        "--input", type=Path, default=Path(default) if default else None, required=default is None, help=help
    )
    if old:
        parser.add_argument(old, dest="input", type=Path, help=argparse.SUPPRESS)


def add_out(parser: argparse.ArgumentParser, default: str | None, help: str, old: str | None = None) -> None:
    """`--out` (and a hidden older spelling) naming the folder the stage writes (None: the stage
    chooses one from its input)."""
    parser.add_argument("--out", type=Path, default=Path(default) if default else None, help=help)
    if old:
        parser.add_argument(old, dest="out", type=Path, help=argparse.SUPPRESS)


def parse_overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise Rig2kpError(f"--set {item!r}: expected KEY=VALUE, e.g. train.epochs=2")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise Rig2kpError(f"--set {item!r}: the value is not YAML: {exc}") from None
    return out


def params_from_args(args: argparse.Namespace) -> Params:
    return load_params(args.params, parse_overrides(args.overrides))
