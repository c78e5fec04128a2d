"""Shared building blocks for the params schema."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

MESH_SUFFIXES = (".obj", ".ply", ".stl", ".glb", ".gltf", ".blend")  # what Blender imports for rigs and distractors


class Strict(BaseModel):
    """Base for every params section: unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(Strict):
    """A closed interval [min, max] sampled uniformly; written in YAML as `[min, max]`."""

    min: float = Field(description="lower end, included")
    max: float = Field(description="upper end, included")

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value):
        if isinstance(value, (int, float)):
            return {"min": value, "max": value}
        if isinstance(value, (list, tuple)):
            if len(value) != 2:
                raise ValueError(f"expected [min, max], got {list(value)}")
            return {"min": value[0], "max": value[1]}
        return value

    @model_validator(mode="after")
    def _ordered(self):
        if self.min > self.max:
            raise ValueError(f"expected min <= max, got [{self.min}, {self.max}]")
        return self

    def as_list(self) -> list[float]:
        return [self.min, self.max]


class IntRange(Range):
    """An integer interval [min, max], both ends included."""

    @model_validator(mode="after")
    def _integers(self):
        if self.min != int(self.min) or self.max != int(self.max) or self.min < 0:
            raise ValueError(f"expected non-negative integers [min, max], got [{self.min}, {self.max}]")
        return self
