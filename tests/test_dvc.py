"""dvc.yaml declares exactly the params each stage reads (stale or needless re-runs otherwise)."""

from __future__ import annotations

import yaml

from pipeline.render import make_spec
from pipeline.schema import Params, load_params
from tests.conftest import ROOT


class Recorder:
    """Wraps Params and records which top-level sections a stage touches."""

    def __init__(self, params: Params):
        self._params, self.read = params, set()

    def __getattr__(self, name):
        if name in Params.model_fields:
            self.read.add(name)
        return getattr(self._params, name)


def stage_params(stage: str) -> set[str]:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    return {p if isinstance(p, str) else next(iter(p)) for p in stages[stage].get("params", [])}


def test_render_stage_declares_what_the_renderer_reads():
    rec = Recorder(load_params(ROOT / "params.yaml"))
    make_spec(rec, ROOT / "params.yaml")
    assert rec.read == stage_params("render") == {"seed", "rigs", "render"}


def test_every_declared_param_exists_in_the_schema():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name in stages:
        for key in stage_params(name):
            assert key.split(".")[0] in Params.model_fields, (name, key)
