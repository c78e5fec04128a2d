"""Every file that params name is a DVC dependency of the stage that reads it.

DVC re-runs a stage when one of its `deps` changes; a mesh, its texture, a decal image or a real
export that params name but `deps` does not list changes unseen, and `dvc repro` keeps stale
renders and models. Two guards: the render and mix stages, run by DVC (which sets DVC_STAGE),
stop before any work when their stage's `deps` miss such a file, naming the params key, the file
and the line to add; and `rig2kp dvc-deps` (pipeline/project/write_dvc_deps.py) writes those lines into
`dvc.yaml`, each marked with a `# dvc-deps: KEY` comment so that its next run replaces them
(other lines and comments are kept).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import yaml

from pipeline.errors import Rig2kpError, problems_message
from pipeline.project.param_files import STAGE_FILES, NamedFile
from pipeline.schema import load_params

MARK = "# dvc-deps:"  # ends each deps line this command writes
STAGE_MODULES = {
    "render": ("pipeline.rendering.render_dataset", "rig2kp render"),
    "mix": ("pipeline.mixing.mix", "rig2kp mix"),
}
PLAIN = re.compile(r"[A-Za-z0-9_./@+-]+")  # a path written unquoted in YAML


class DepsError(Rig2kpError):
    """A stage's `deps` in dvc.yaml miss files that params name, or dvc.yaml cannot be edited."""


def stage_kind(cmd: str | list) -> str | None:
    """`render` or `mix` when a stage's command runs that stage, else None."""
    text = " ".join(cmd) if isinstance(cmd, list) else str(cmd)
    for kind, (module, command) in STAGE_MODULES.items():
        if re.search(rf"-m {re.escape(module)}\b|{re.escape(command)}\b", text):
            return kind
    return None


def params_of(cmd: str | list, wdir: Path) -> Path:
    """The params file a stage's command passes (`--params FILE`), default params.yaml; in `wdir`."""
    text = " ".join(cmd) if isinstance(cmd, list) else str(cmd)
    found = re.search(r"--params[= ](\S+)", text)
    return wdir / (found.group(1) if found else "params.yaml")


def dep_path(path: Path, wdir: Path) -> str:
    """How `deps` names `path`: relative to the stage's folder (`../` for a folder beside the
    repository, which DVC watches as well), absolute when the two share no folder but the root."""
    if os.path.commonpath([path, wdir]) == Path(path).anchor:
        return Path(path).as_posix()
    return Path(os.path.relpath(path, wdir)).as_posix()


def covered(path: Path, deps: list[str], wdir: Path) -> bool:
    """True when a dep is `path` or a folder holding it."""
    for dep in deps:
        d = Path(os.path.normpath(wdir / dep))
        if path == d or d in path.parents:
            return True
    return False


def missing(named: list[NamedFile], deps: list[str], wdir: Path) -> list[NamedFile]:
    """The named files no dep covers, less those inside a named folder listed before them; a file
    named twice counts once, with its first key."""
    out: list[NamedFile] = []
    for n in named:
        if not covered(n.path, deps, wdir) and not covered(n.path, [str(m.path) for m in out], wdir):
            out.append(n)
    return out


def yaml_item(path: str) -> str:
    return path if PLAIN.fullmatch(path) else json.dumps(path)  # a JSON string is a YAML string


def running_stage() -> tuple[Path, str] | None:
    """(dvc.yaml, stage name) of the stage DVC runs now, or None outside `dvc repro`/`dvc exp run`.

    DVC sets DVC_STAGE to the stage's name (`file:name` for a dvc.yaml elsewhere) and runs the
    command in the stage's folder."""
    address = os.environ.get("DVC_STAGE")
    if not address:
        return None
    file, _, name = address.rpartition(":")
    dvc_yaml = Path("dvc.yaml")
    if file:
        root = Path(os.environ.get("DVC_ROOT", "."))
        dvc_yaml = next((p for p in (root / file, Path(file), Path(Path(file).name)) if p.is_file()), dvc_yaml)
    return dvc_yaml, name


def check_stage(kind: str, params, params_path: Path) -> None:
    """Under DVC, stop when the running stage's deps miss a file that params name (DepsError);
    outside DVC, or for a stage whose deps are templated (`${...}`), return."""
    running = running_stage()
    if running is None:
        return
    dvc_yaml, name = running
    try:
        stage = (yaml.safe_load(dvc_yaml.read_text()) or {}).get("stages", {}).get(name.split("@")[0])
    except (OSError, yaml.YAMLError):
        return  # no readable dvc.yaml here: DVC says what is wrong with it
    if not isinstance(stage, dict) or "do" in stage or "matrix" in stage:
        return  # a foreach or matrix stage: its deps are templates
    deps = [str(d) for d in stage.get("deps") or []]
    if any("${" in d for d in deps):
        return
    wdir = Path(os.path.normpath(dvc_yaml.resolve().parent / stage.get("wdir", ".")))
    lacking = missing(STAGE_FILES[kind](params, params_path), deps, wdir)
    if not lacking:
        return
    problems = []
    for n in lacking:
        line = yaml_item(dep_path(n.path, wdir))
        problems.append(f"{n.key}: {n.describe(line)} is not in its deps: add `- {line}` to stages.{name}.deps")
    header = f"{dvc_yaml}: stage {name} reads files that its deps do not list, so `dvc repro` would miss their changes"
    raise DepsError(problems_message(header, problems) + f"\n  or run `rig2kp dvc-deps` to write them into {dvc_yaml}")


def needed_deps(dvc_yaml: Path) -> dict[str, list[tuple[str, str]]]:
    """{stage: [(deps line, params key)]} for the render and mix stages of `dvc_yaml`: each file
    that params name and the stage's own deps (other than this command's lines) do not cover."""
    stages = (yaml.safe_load(dvc_yaml.read_text()) or {}).get("stages", {})
    text_lines = dvc_yaml.read_text().splitlines()
    marked = {yaml.safe_load(ln.split(MARK)[0].strip().removeprefix("- ")) for ln in text_lines if MARK in ln}
    out = {}
    for name, stage in stages.items():
        kind = stage_kind(stage.get("cmd", "")) if isinstance(stage, dict) else None
        if kind is None:
            continue
        wdir = Path(os.path.normpath(dvc_yaml.resolve().parent / stage.get("wdir", ".")))
        own = [str(d) for d in stage.get("deps") or [] if str(d) not in marked]
        params_path = params_of(stage["cmd"], wdir)
        named = STAGE_FILES[kind](load_params(params_path), params_path)
        out[name] = [(dep_path(n.path, wdir), n.key) for n in missing(named, own, wdir)]
    return out


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _stage_span(lines: list[str], name: str) -> tuple[int, int]:
    """Line range [start, end) of stage `name`'s block under `stages:`."""
    top = next((i for i, ln in enumerate(lines) if re.match(r"stages:\s*(#.*)?$", ln)), None)
    if top is None:
        raise DepsError("dvc.yaml: no `stages:` section")
    body = [i for i in range(top + 1, len(lines)) if lines[i].strip() and not lines[i].lstrip().startswith("#")]
    indent = _indent(lines[body[0]]) if body else 0
    for i in body:
        if _indent(lines[i]) < indent:
            break  # the end of `stages:`
        if _indent(lines[i]) == indent and re.match(rf"\s+{re.escape(name)}:\s*(#.*)?$", lines[i]):
            after = range(i + 1, len(lines))
            end = next((j for j in after if lines[j].strip() and _indent(lines[j]) <= indent), len(lines))
            return i, end
    raise DepsError(f"dvc.yaml: stage {name} not found as a block under `stages:`")


def rewrite(text: str, wanted: dict[str, list[tuple[str, str]]]) -> str:
    """dvc.yaml's text with each stage's marked deps lines replaced by `wanted`'s; the rest kept."""
    lines = text.splitlines()
    for name, items in wanted.items():
        start, end = _stage_span(lines, name)
        block = [ln for ln in lines[start:end] if MARK not in ln]
        deps = next((i for i, ln in enumerate(block) if re.match(r"\s+deps:\s*(#.*)?$", ln)), None)
        if deps is None:
            if not items:
                lines[start:end] = block
                continue
            block.insert(1, " " * (_indent(block[0]) + 2) + "deps:")
            deps = 1
        deps_indent = _indent(block[deps])
        last, indent = deps, deps_indent + 2
        for i in range(deps + 1, len(block)):
            stripped, here = block[i].lstrip(), _indent(block[i])
            if stripped.startswith("- ") and here >= deps_indent:
                last, indent = i, here
            elif stripped and not stripped.startswith("#"):
                break
        new = [f"{' ' * indent}- {yaml_item(path)}  {MARK} {key}" for path, key in items]
        lines[start:end] = block[: last + 1] + new + block[last + 1 :]
    return "\n".join(lines) + "\n"
