"""Schema of view constraints (`render.camera.require`): views are drawn again until they hold."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pipeline.schema.common import Strict


class ViewRequirements(Strict):
    """What every instance of the named rigs must show; a view that fails is drawn again from the seed.

    Checked before rendering: keypoint counts exactly as the annotations count them (projection and
    ray casts), truncation on the mesh's vertices, the visible share on a grid of camera rays.
    """

    min_keypoints_in_frame: int | None = Field(
        None, ge=0, description="at least this many keypoints inside the image (v >= 1) per instance"
    )
    min_keypoints_seen: int | None = Field(None, ge=0, description="at least this many keypoints seen (v = 2)")
    max_truncated: float | None = Field(
        None, ge=0, le=1, description="at most this share of the instance's mesh vertices outside the image"
    )
    min_visible: float | None = Field(
        None,
        ge=0,
        le=1,
        description="at least this share of the instance's silhouette visible (neither hidden nor cut by the frame "
        "edge), measured on a 32 x 32 grid of camera rays over the instance",
    )
    rigs: list[str] | None = Field(None, description="rigs whose instances must comply; null: every rig")
    max_attempts: int = Field(25, ge=1, le=1000, description="views tried per image (the first is today's)")
    on_failure: Literal["error", "best"] = Field(
        "error",
        description="when no view complies: error stops the render naming the image; best keeps the view "
        "that failed least (counted in stats.json)",
    )

    @model_validator(mode="after")
    def _something(self):
        keys = ("min_keypoints_in_frame", "min_keypoints_seen", "max_truncated", "min_visible")
        if all(getattr(self, k) is None for k in keys):
            raise ValueError(f"expected at least one of {', '.join(keys)}")
        return self


def check_rigs(require: ViewRequirements | None, keypoint_counts: dict[str, int]) -> None:
    """Constraints no view can meet fail here, before any rendering (a clear error, never a hang)."""
    if require is None:
        return
    unknown = [r for r in require.rigs or [] if r not in keypoint_counts]
    if unknown:
        raise ValueError(
            f"render.camera.require.rigs: {unknown} are not rigs; expected some of {sorted(keypoint_counts)}"
        )
    for key in ("min_keypoints_in_frame", "min_keypoints_seen"):
        n = getattr(require, key)
        for rig in require.rigs or list(keypoint_counts):
            if n is not None and n > keypoint_counts[rig]:
                raise ValueError(
                    f"render.camera.require.{key}: {n} but rig {rig} has {keypoint_counts[rig]} keypoints; "
                    "no view can satisfy it"
                )
