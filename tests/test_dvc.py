"""dvc.yaml declares exactly the params each stage reads (stale or needless re-runs otherwise)."""

from __future__ import annotations

import yaml

from pipeline.rendering.blender_runner import make_spec
from pipeline.schema import Params, load_params
from tests.support import ROOT


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
            model, *rest = key.split(".")
            assert model in Params.model_fields, (name, key)
            cls = Params.model_fields[model].annotation
            for part in rest:  # dotted keys name real fields of the section's model
                assert part in cls.model_fields, (name, key)
                cls = cls.model_fields[part].annotation


def test_every_declared_param_is_written_in_params_yaml():
    """DVC reads the file, not our schema's defaults: a declared key missing there fails `dvc repro`."""
    data = yaml.safe_load((ROOT / "params.yaml").read_text())
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name in stages:
        for key in stage_params(name):
            node = data
            for part in key.split("."):
                assert isinstance(node, dict) and part in node, f"dvc.yaml stage {name}: {key} not in params.yaml"
                node = node[part]


def test_augment_stage_declares_every_field_that_changes_its_output():
    from pipeline.schema import AugmentConfig

    declared = {k.split(".", 1)[1] for k in stage_params("augment") if k.startswith("augment.")}
    assert declared == set(AugmentConfig.model_fields) - {"workers"}  # workers only changes speed
    assert {"seed", "mix"} <= stage_params("mix")
