"""Output folders that never overwrite their inputs.

Every stage names its inputs (folders and files) and its output before any work; an output
that is an input, or holds one, would be deleted or overwritten by the stage's rewrite, so it
is refused with the flag and the input it would destroy.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipeline.errors import Rig2kpError


class OutputOverlapError(Rig2kpError):
    """An output folder that is, or holds, one of the stage's inputs."""


def _resolved(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


def refuse_overlap(out: str | Path, inputs: Mapping[str, str | Path | None], flag: str = "--out") -> None:
    """Raise when `out` is an input or holds one (`inputs`: label -> path; None entries skipped)."""
    target = _resolved(out)
    for label, path in inputs.items():
        if path is None:
            continue
        src = _resolved(path)
        if src == target or src.is_relative_to(target):
            what = "is" if src == target else "holds"
            raise OutputOverlapError(
                f"{flag} {out}: {what} the {label} {path}; the stage rewrites its output folder and would "
                f"destroy it. Choose an output folder outside the inputs"
            )
