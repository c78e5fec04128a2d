"""The one family of errors a user can cause, and the one way problems are listed.

Every stage raises a `Rig2kpError` (or a subclass) for input it cannot use, naming the file,
the key and what was expected; `run_command` turns it, and any `OSError` (a full disk, a
read-only folder, a missing file), into one `error:` line and exit status 2 (the line of
`common/atomic.py`'s `os_error_line`, which Blender's render prints too).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from common.atomic import os_error_line

MAX_LISTED = 20  # problems listed in one message; the rest are counted


class Rig2kpError(Exception):
    """Input or output the command cannot use; the message says which file, key and why."""


def problems_message(header: str, problems: Sequence[str], limit: int = MAX_LISTED) -> str:
    """`header: N problem(s)` then one indented line a problem, the rest counted."""
    lines = [f"{header}: {len(problems)} problem(s)"] + [f"  {p}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more")
    return "\n".join(lines)


class ProblemsError(Rig2kpError):
    """Several problems found before any work; all are listed in one message."""

    def __init__(self, header: str, problems: Sequence[str], limit: int = MAX_LISTED):
        self.problems = list(problems)
        super().__init__(problems_message(header, self.problems, limit))


def run_command(fn: Callable[[], int | None]) -> int:
    """Run a stage's work; a user's error or an `OSError` becomes one `error:` message, exit 2."""
    try:
        return fn() or 0
    except Rig2kpError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"error: {os_error_line(exc)}", file=sys.stderr)
    return 2
