"""Typed render specs for the tests: a spec dict as make_spec writes it (often edited by a test), or
a part of one written as params with the schema's defaults, read into common/render_spec.py's types
as blender/render.py reads spec.json."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from blender.sampling import sample_scene
from common.render_spec import Rig, load_spec
from common.typed_json import from_dict
from pipeline.schema.rigs_params import Rig as RigParams

T = TypeVar("T")


def sampled(spec: dict, index: int, radii: dict[str, float]) -> dict:
    """Image `index`'s scene drawn from a spec dict."""
    return sample_scene(load_spec(spec), index, radii)


def typed_part(cls: type[T], params: type[BaseModel], data: dict) -> T:
    """A part of the spec (a `cls`) from its params, the schema model `params` filling the defaults."""
    return from_dict(cls, params.model_validate(data).model_dump(mode="json"), cls.__name__)


def typed_rig(data: dict) -> Rig:
    """A rig as the spec holds it (as make_spec writes it), from its params."""
    rig = RigParams.model_validate(data)
    return from_dict(Rig, rig.spec() | {"flip_pairs": [list(p) for p in rig.resolved_flip_pairs()]}, "rig")
