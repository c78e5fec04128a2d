"""One typed schema for all of params.yaml, validated once at the start of a stage."""

from __future__ import annotations

import difflib
import typing
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from pipeline.errors import Rig2kpError
from pipeline.schema.augment_params import AugmentConfig
from pipeline.schema.common import IntRange, Range, Strict
from pipeline.schema.mix_params import MixConfig
from pipeline.schema.render_params import RenderConfig
from pipeline.schema.rigs_params import Keypoint, Rig
from pipeline.schema.train_params import EvaluateConfig, ModelConfig, RuntimeConfig, TrainConfig
from pipeline.schema.views_params import check_rigs

__all__ = [
    "AugmentConfig",
    "EvaluateConfig",
    "IntRange",
    "Keypoint",
    "MixConfig",
    "ModelConfig",
    "Params",
    "ParamsError",
    "Range",
    "RenderConfig",
    "Rig",
    "RuntimeConfig",
    "TrainConfig",
    "load_params",
]


MOVED_TO_RUNTIME = ("device", "amp", "channels_last", "threads", "workers")


class ParamsError(Rig2kpError, ValueError):
    """A params file that does not fit the schema; the message names the file and every key."""


class Params(Strict):
    """All of params.yaml; every section but `rigs` may be left out."""

    seed: int = Field(0, ge=0, description="drives every random choice: same params, same data")
    rigs: dict[str, Rig] = Field(min_length=1, description="the objects, by name; each is one COCO category")
    render: RenderConfig = Field(RenderConfig(), description="synthetic images (stage render)")
    augment: AugmentConfig = Field(AugmentConfig(), description="offline augmentation (stage augment)")
    mix: MixConfig = Field(MixConfig(), description="renders + real exports -> train/val/test (stage mix)")
    train: TrainConfig = Field(TrainConfig(), description="training (stage train)")
    model: ModelConfig = Field(ModelConfig(), description="the KeypointRCNN's shape and weights")
    evaluate: EvaluateConfig = Field(EvaluateConfig(), description="metrics and drawings (stage evaluate)")
    runtime: RuntimeConfig = Field(
        RuntimeConfig(), description="device, precision, threads and loaders of train, evaluate, predict and export"
    )

    @model_validator(mode="before")
    @classmethod
    def _moved_keys(cls, data):
        """Keys that moved to `runtime` (they changed no result where they were): named, not ignored."""
        if not isinstance(data, dict):
            return data
        moved = [f"train.{k} -> runtime.{k}" for k in MOVED_TO_RUNTIME if k in (data.get("train") or {})]
        if "batch_size" in (data.get("evaluate") or {}):
            moved.append("evaluate.batch_size -> runtime.predict_batch_size")
        if moved:
            raise ValueError(f"these keys moved (shared by train, evaluate, predict and export): {'; '.join(moved)}")
        return data

    @model_validator(mode="after")
    def _rig_names(self):
        for name in self.rigs:
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"rigs: name {name!r}: expected letters, digits, '_' or '-'")
        return self

    @model_validator(mode="after")
    def _drop_rigid_rigs(self):
        """The rigid-body drop moves whole objects; a rig posed per image is several (armature, mesh)."""
        if self.render.placement.mode == "drop":
            moving = [name for name, rig in self.rigs.items() if rig.articulated()]
            if moving:
                raise ValueError(
                    f"render.placement.mode: drop does not support rigs posed per image yet ({moving}: "
                    "pose_bones, pose_actions or shape_keys); use mode: disc for them"
                )
        return self

    @model_validator(mode="after")
    def _view_requirements(self):
        check_rigs(self.render.camera.require, {name: len(rig.keypoints) for name, rig in self.rigs.items()})
        return self


def _models(annotation) -> list[type[BaseModel]]:
    """The schema models inside a field's annotation (optional, a union, a list or dict of them)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def _keys_beside(loc: tuple) -> list[str]:
    """The keys the schema knows where `loc` ends: a rig's name, a list index or a mesh type
    on the way name no field and are stepped over."""
    models: list[type[BaseModel]] = [Params]
    for part in loc[:-1]:
        inner = [
            m for model in models if part in model.model_fields for m in _models(model.model_fields[part].annotation)
        ]
        models = inner or models
    return sorted({k for model in models for k in model.model_fields})


def _unknown_key(loc: tuple, value) -> str:
    """`(got VALUE)`, and the known key closest to a misspelt one."""
    got = repr(value)
    got = got if len(got) <= 60 else got[:57] + "..."
    close = difflib.get_close_matches(str(loc[-1]), _keys_beside(loc), n=1, cutoff=0.6)
    return f" (got {got})" + (f"; did you mean {close[0]!r}?" if close else "")


def _format(path: Path, err: ValidationError) -> str:
    lines = [f"{path}: {err.error_count()} problem(s) in params"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"  {key}: {msg}" + (_unknown_key(e["loc"], e["input"]) if e["type"] == "extra_forbidden" else ""))
    return "\n".join(lines)


def load_params(path: str | Path = "params.yaml", overrides: dict | None = None) -> Params:
    """Read and validate params.yaml; relative mesh/photo paths resolve against its folder."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    for dotted, value in (overrides or {}).items():
        node = raw
        *parents, last = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    try:
        params = Params.model_validate(raw)
    except ValidationError as exc:
        raise ParamsError(_format(path, exc)) from None
    _check_files(path, params)
    return params


def _check_files(path: Path, params: Params) -> None:
    """Missing files fail here, before any work, with the key that names them."""
    base = path.resolve().parent
    problems = []
    for name, rig in params.rigs.items():
        mesh_path = getattr(rig.mesh, "path", None)
        if mesh_path is not None and not (base / mesh_path).is_file():
            problems.append(f"  rigs.{name}.mesh.path: file {base / mesh_path} not found")
    bg = params.render.background
    if bg.photos > 0 and not (base / bg.photos_dir).is_dir():
        problems.append(f"  render.background.photos_dir: folder {base / bg.photos_dir} not found")
    if problems:
        raise ParamsError("\n".join([f"{path}: {len(problems)} problem(s) in params", *problems]))
