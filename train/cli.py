"""Command-line pieces shared by train / evaluate / predict / export: the params file and
`--set section.key=value` overrides (values are YAML: `--set train.epochs=2`)."""

from __future__ import annotations

import argparse

import yaml

from pipeline.schema import Params, load_params


def add_params_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one param, e.g. --set train.epochs=2 (repeatable; YAML values)",
    )


def parse_overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set {item!r}: expected KEY=VALUE, e.g. train.epochs=2")
        out[key.strip()] = yaml.safe_load(value)
    return out


def params_from_args(args: argparse.Namespace) -> Params:
    return load_params(args.params, parse_overrides(args.overrides))
