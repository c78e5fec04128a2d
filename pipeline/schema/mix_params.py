"""Schema of the `mix` section (owned by pipeline/mixing/mix.py): real exports and how to split."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from pipeline.schema.common import Strict


class RealSource(Strict):
    """One real COCO keypoint export (CVAT, Label Studio, COCO Annotator, Roboflow, plain COCO).

    Paths are relative to the folder of params.yaml. Names map onto the rigs: a category or
    keypoint not listed keeps its own name; mapping a name to null drops it.
    """

    path: Path = Field(description="the export's folder")
    annotations: Path = Field(Path("annotations.json"), description="the COCO JSON, relative to `path`")
    images: Path | None = Field(
        None, description="folder that `file_name`s are relative to; default: the JSON's folder"
    )
    name: str | None = Field(None, description="label in output paths and stats; default: the folder's name")
    categories: dict[str, str | None] = Field({}, description="export category name -> rig name (null: drop)")
    keypoints: dict[str, dict[str, str | None]] = Field({}, description="rig -> {export keypoint: rig keypoint | null}")
    split: Literal["auto", "train", "val", "test"] = Field(
        "auto", description="where its images go; auto: by mix.val / mix.test"
    )
    oversample: int = Field(1, ge=1, le=99, description="each train image appears this many times")
    val_files: list[str] = Field(
        [],
        description="glob patterns of `file_name`s that go to val.json, e.g. a held-out desk or session "
        "(a pattern without '/' matches the file's name, with '/' the whole `file_name`); "
        "the rest is split by mix.val / mix.test as usual",
    )
    test_files: list[str] = Field(
        [], description="as `val_files`, for test.json: test on scenes that no train photo shows"
    )
    group_by: str | None = Field(
        None,
        description="regular expression on `file_name`; images with the same match (its first group if it has one) "
        "go to one split together, e.g. frames of one video: '^(.+)_frame'. null: one group per photo "
        "(Roboflow copies of a photo stay together)",
    )
    pixel_offset: Literal["auto"] | float = Field(
        "auto", description="pixels added to x, y; auto: 0.5 if all are integers"
    )
    pair_boxes: bool = Field(False, description="Label Studio: join keypoint-only annotations to their enclosing box")

    @model_validator(mode="after")
    def _holdout(self):
        if self.split != "auto" and (self.val_files or self.test_files):
            raise ValueError(f"val_files / test_files: only with split 'auto', got split {self.split!r}")
        for key in ("val_files", "test_files"):
            for i, pattern in enumerate(getattr(self, key)):
                if not pattern.strip():
                    raise ValueError(f"{key}[{i}]: expected a glob pattern such as 'IMG_49*', got an empty string")
        if self.group_by is not None:
            try:
                compiled = re.compile(self.group_by)
            except re.error as exc:
                raise ValueError(f"group_by {self.group_by!r}: not a regular expression ({exc})") from None
            if compiled.groups > 1:
                raise ValueError(f"group_by {self.group_by!r}: expected at most one group, got {compiled.groups}")
        return self

    def label(self) -> str:
        """The source's name: `name`, else its folder's name with odd characters made '_'."""
        if self.name:
            return self.name
        folder = self.path.name or self.path.resolve().name
        return re.sub(r"[^A-Za-z0-9_-]", "_", folder) or "real"


class MixConfig(Strict):
    """Joins the augmented renders with real COCO exports and splits them into train/val/test."""

    real: list[RealSource] = Field([], description="real COCO keypoint exports, zero or more")
    val: float = Field(0.15, ge=0, lt=1, description="fraction of real images for val.json (of synthetic when no real)")
    test: float = Field(0.15, ge=0, lt=1, description="fraction of real images for test.json (as `val`)")
    synthetic_val: float = Field(0.1, ge=0, lt=1, description="fraction of renders held out for val_synthetic.json")
    synthetic_per_real: float | None = Field(
        None, gt=0, description="at most this many synthetic train images per real one; null: all synthetic"
    )
    real_share: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="repeat real train images until they are about this share of train.json (0.5: as many as renders); "
        "null: each once (times its `oversample`)",
    )
    real_train_images: int | None = Field(
        None,
        ge=1,
        description="keep only this many real train images (whole groups, seeded; smaller counts are subsets of larger "
        "ones): how many photos do renders save? null: all. val/test are unchanged",
    )
    copy_images: bool = Field(False, description="copy image files into the output instead of symlinking")
    train_sources: Literal["all", "synthetic", "real"] = Field(
        "all",
        description="which sources feed train.json; val/test stay the same, so experiments compare on one test set",
    )

    @model_validator(mode="after")
    def _fractions(self):
        if self.val + self.test >= 1:
            raise ValueError(f"val + test: expected < 1 so train keeps images, got {self.val + self.test}")
        names = [r.label() for r in self.real]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"real: sources named {dup} more than once; give each a distinct `name`")
        for i, r in enumerate(self.real):
            if r.name is not None and not r.name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"real[{i}].name {r.name!r}: expected letters, digits, '_' or '-'")
        return self
