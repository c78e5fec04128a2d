"""Schema of the `augment` section (owned by pipeline/augmenting/augment.py).

The pipeline is a list of albumentations transforms by class name with their arguments, so a
user adds `MotionBlur` or `RandomShadow` by editing params. Names and arguments are checked
against albumentations when params are loaded (which imports albumentations, a few seconds,
only when params set `augment.transforms`).
"""

from __future__ import annotations

import inspect
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.schema.common import Strict

# Transforms whose output is not an 8-bit image of the same scene: they belong to training.
NOT_FOR_AUGMENT = {"Normalize", "ToTensorV2", "ToFloat", "FromFloat", "ToRGB", "ToGray3"}


class Transform(BaseModel):
    """One albumentations transform: `name` (class name), its arguments, `transforms` for composes.

    Arguments other than `name`/`transforms` go to the class as keyword arguments; `p` defaults
    to albumentations' own default for that class (often 0.5).
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(min_length=1, description="albumentations class name, e.g. Affine, MotionBlur, OneOf")
    transforms: list[Transform] | None = Field(None, description="children of a compose (OneOf, SomeOf, Sequential)")

    def kwargs(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def instantiate(self, children: list | None = None):
        """The albumentations object, built from already-built children for composes."""
        import albumentations as A  # noqa: N812  (lazy: only stages that augment pay the import)

        cls = getattr(A, self.name)
        if children is not None:
            return cls(children, **self.kwargs())
        return cls(**self.kwargs())


def _check(t: Transform, where: str) -> list[str]:
    """Every problem of one transform (and its children), each naming its place in the list."""
    import albumentations as A  # noqa: N812

    label = f"{where} ({t.name})"
    cls = getattr(A, t.name, None)
    if not (isinstance(cls, type) and issubclass(cls, (A.BasicTransform, A.BaseCompose))):
        return [
            f"{label}: not an albumentations transform; expected a class name such as "
            f"HorizontalFlip, Affine, MotionBlur, RandomBrightnessContrast, OneOf"
        ]
    if t.name in NOT_FOR_AUGMENT:
        return [f"{label}: does not give an 8-bit image; it belongs to training, not augment"]
    problems = []
    is_compose = issubclass(cls, A.BaseCompose)
    if is_compose and not t.transforms:
        problems.append(f"{label}: expected a non-empty `transforms` list of children")
    if not is_compose and t.transforms is not None:
        problems.append(f"{label}: only composes (OneOf, SomeOf, Sequential) take `transforms`")
    if not is_compose and issubclass(cls, A.DualTransform):
        targets = {str(x.value).lower() for x in getattr(cls, "_targets", ())}
        missing = {"keypoints", "mask"} - targets
        if missing:
            problems.append(
                f"{label}: moves pixels but does not support {sorted(missing)}, so "
                f"annotations could not follow the image"
            )
    if t.kwargs().get("mask_interpolation", 0) != 0:
        problems.append(
            f"{label}: mask_interpolation must be 0 (nearest): augment moves instance "
            "masks packed as bits, which only nearest-neighbour resampling keeps exact"
        )
    params = inspect.signature(cls.__init__).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        allowed = [n for n in params if n not in ("self", "transforms")]
        unknown = sorted(set(t.kwargs()) - set(allowed))
        if unknown:
            problems.append(f"{label}: unknown argument(s) {unknown}; expected some of {allowed}")
    children = []
    for i, child in enumerate(t.transforms or []):
        sub = _check(child, f"{where}.transforms[{i}]")
        problems += sub
        if not sub:
            children.append(child.instantiate(_built_children(child)))
    if not problems:
        try:
            t.instantiate(children if is_compose else None)
        except (ValueError, TypeError) as exc:
            cause = exc if isinstance(exc, ValidationError) else exc.__cause__
            if isinstance(cause, ValidationError):  # albumentations wraps its pydantic errors
                text = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in cause.errors())
            else:
                text = str(exc)
            problems.append(f"{label}: bad arguments: {text} (got {t.kwargs()})")
    return problems


def _built_children(t: Transform) -> list | None:
    if t.transforms is None:
        return None
    return [c.instantiate(_built_children(c)) for c in t.transforms]


DEFAULT_TRANSFORMS = [
    {"name": "HorizontalFlip", "p": 0.5},
    {
        "name": "Affine",
        "scale": [0.75, 1.25],
        "rotate": [-30, 30],
        "translate_percent": [-0.1, 0.1],
        "p": 0.7,
    },
    {
        "name": "RandomBrightnessContrast",
        "brightness_limit": 0.25,
        "contrast_limit": 0.25,
        "p": 0.5,
    },
    {"name": "HueSaturationValue", "p": 0.3},
    {
        "name": "OneOf",
        "p": 0.25,
        "transforms": [
            {"name": "MotionBlur", "blur_limit": [3, 7]},
            {"name": "GaussianBlur", "blur_limit": [3, 5]},
        ],
    },
    {"name": "GaussNoise", "std_range": [0.02, 0.08], "p": 0.2},
    {"name": "ImageCompression", "quality_range": [60, 95], "p": 0.3},
]


class AugmentConfig(Strict):
    """Offline augmentation: each rendered image is written again with random albumentations transforms."""

    copies: int = Field(2, ge=0, description="augmented copies written per input image")
    keep_original: bool = Field(True, description="also write each input image unchanged (copy 0)")
    min_visible_px: int = Field(1, ge=1, description="instances with fewer mask pixels afterwards are dropped")
    workers: int = Field(0, ge=0, description="processes; 0 = one per core")
    jpeg_quality: int = Field(95, ge=1, le=100, description="for inputs stored as JPEG (renders are PNG)")
    transforms: list[Transform] = Field(
        default_factory=lambda: [Transform(**t) for t in DEFAULT_TRANSFORMS],
        description="applied in order; each with its own probability `p`",
    )

    @model_validator(mode="after")
    def _transforms(self):
        # The defaults are checked by a test; checking them here would import albumentations
        # (seconds) in every stage that loads params.
        if "transforms" not in self.model_fields_set:
            return self
        problems = []
        for i, t in enumerate(self.transforms):
            problems += _check(t, f"transforms[{i}]")
        if problems:
            raise ValueError("; ".join(problems))
        return self
