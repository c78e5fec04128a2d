"""Output folders: a stage never overwrites its inputs, and deletes or replaces only what it made.

Every stage names its inputs (folders and files) and its output before any work; an output
that is an input, or holds one, would be deleted or overwritten by the stage's rewrite, so it
is refused with the flag and the input it would destroy (`refuse_overlap`).

A stage also owns its output folder only when it provably made it (`take_output`): the folder is
missing, empty, or holds the stage's marker, a JSON file the stage writes there before anything
else (`Owner`). Any other folder (photos, a real COCO export, another stage's output) is refused
with one line naming it, before any work and before anything is deleted. The render stage applies
the same rule inside Blender (blender/output.py `claim`, standard library only).

A single output file (`rig2kp errors --json`, `rig2kp render --metrics`) follows the same rule
(`take_output_file`): it may replace a missing file or one that the command wrote before, known by
its content; any other file (a COCO export, a user's notes) is refused before any work.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

from common.atomic import write_json
from pipeline.errors import Rig2kpError

LISTED = 5  # names of a foreign folder's entries shown in the message


class OutputOverlapError(Rig2kpError):
    """An output folder that is, or holds, one of the stage's inputs."""


class ForeignOutputError(Rig2kpError):
    """An output folder that the stage did not make: it holds no marker of the stage."""


@dataclass(frozen=True)
class Owner:
    """How a stage knows its own output folder: the JSON object in `marker`, written there before
    anything else, holding each key of `keys` (with that value, where the value is not None)."""

    stage: str  # the command, for messages: "render", "augment", "mix"
    marker: str  # the marker's file name inside the output folder
    keys: Mapping[str, object] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()  # names (glob patterns) that are no content of the folder: a lock file

    def owns(self, folder: str | Path) -> bool:
        try:
            data = json.loads((Path(folder) / self.marker).read_text())
        except (OSError, ValueError):
            return False
        return isinstance(data, dict) and all(k in data and (v is None or data[k] == v) for k, v in self.keys.items())

    def mark(self, folder: str | Path, content: Mapping | None = None) -> None:
        """Write the marker (the keys with values, plus `content`) into `folder`."""
        data = {k: v for k, v in self.keys.items() if v is not None} | dict(content or {})
        write_json(Path(folder) / self.marker, data, indent=1)


# the marker of a stage that writes no spec or manifest of its own: {"written_by": "rig2kp STAGE"}
MARKER = "rig2kp-output.json"


def stage_owner(stage: str) -> Owner:
    """The owner whose marker is `MARKER` naming `rig2kp STAGE`."""
    return Owner(stage, MARKER, {"written_by": f"rig2kp {stage}"})


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


def take_output(out: str | Path, owner: Owner, flag: str = "--out") -> bool:
    """Whether `out` holds an earlier output of `owner`'s stage (which the stage may replace);
    False for a missing or empty folder. Any other folder, or a file, is refused: call this
    before any work and before deleting anything there."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ForeignOutputError(f"{flag} {out}: is a file; expected a folder")
    if not out.is_dir():
        return False
    if owner.owns(out):
        return True
    held = sorted(p.name for p in out.iterdir() if not any(fnmatch(p.name, pat) for pat in owner.ignore))
    if not held:
        return False
    more = f" and {len(held) - LISTED} more" if len(held) > LISTED else ""
    raise ForeignOutputError(
        f"{flag} {out}: holds {', '.join(held[:LISTED])}{more} but no {owner.marker} that `rig2kp {owner.stage}` "
        "wrote, so the stage did not make it; refusing to write there: choose an empty or new folder"
    )


def take_output_file(path: str | Path, owns: Callable[[dict], bool], what: str, flag: str = "--out") -> bool:
    """Whether `path` holds an earlier output of the command (which it may replace); False for a
    missing file. A folder, or a file that `owns` (given its JSON object) does not recognise, is
    refused: `what` names the file the command writes ("a breakdown that `rig2kp errors` wrote")."""
    path = Path(path)
    if path.is_dir():
        raise ForeignOutputError(f"{flag} {path}: is a folder; expected a file name")
    if not path.exists():
        return False
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = None
    if isinstance(data, dict) and owns(data):
        return True
    raise ForeignOutputError(
        f"{flag} {path}: exists and is not {what}, so the command did not make it; refusing to overwrite it: "
        "choose a new file name (or delete the file first)"
    )


def own_output(out: str | Path, owner: Owner, flag: str = "--out") -> bool:
    """`take_output`, then the folder created and marked as `owner`'s: for a stage that writes
    its files into `out` by name. Returns whether `out` held an earlier output of the stage."""
    earlier = take_output(out, owner, flag)
    Path(out).mkdir(parents=True, exist_ok=True)
    if not earlier:
        owner.mark(out)
    return earlier
