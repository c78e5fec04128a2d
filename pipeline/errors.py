"""The one family of errors a user can cause, and the one way problems are listed.

Every stage raises a `Rig2kpError` (or a subclass) for input it cannot use, naming the file,
the key and what was expected; `run_command` turns it, and any `OSError` (a full disk, a
read-only folder, a missing file), into one `error:` line and exit status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

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


def os_error_line(exc: OSError) -> str:
    """One line for a failed read or write: the file, the system's reason, what to do."""
    if exc.errno is None:  # raised by our own code with a full message
        return str(exc)
    path = exc.filename if exc.filename is not None else "(file)"
    reason = exc.strerror or str(exc)
    hints = {
        28: "free some space or write elsewhere (--out)",  # ENOSPC
        122: "free some space or write elsewhere (--out)",  # EDQUOT
        13: "check the folder's permissions or write elsewhere (--out)",  # EACCES
        30: "the file system is read-only: write elsewhere (--out)",  # EROFS
        2: "check the path",  # ENOENT
    }
    hint = hints.get(exc.errno or 0)
    return f"{path}: {reason}" + (f"; {hint}" if hint else "")


def run_command(fn: Callable[[], int | None]) -> int:
    """Run a stage's work; a user's error or an `OSError` becomes one `error:` message, exit 2."""
    try:
        return fn() or 0
    except Rig2kpError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"error: {os_error_line(exc)}", file=sys.stderr)
    return 2
