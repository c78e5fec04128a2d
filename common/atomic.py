"""Files written under a temporary name and renamed into place (standard library only).

A crash, a full disk or a kill mid-write then leaves the old file or none, never a file cut
short under its final name; the temporary name carries the process id, so two processes
writing the same file never share one. Every stage writes its outputs through here.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

# the name every writer here gives its temporary file; a render sweeps what a killed one left
TEMPORARY_NAME = re.compile(r"^\..+\.\d+\.tmp(\.\w+)?$")


def temporary(path: Path, suffix: str = "") -> Path:
    """`.NAME.PID.tmp[SUFFIX]` beside `path`: hidden, and never shared by two processes."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")


# what to do when a read or write fails, by errno
HINTS = {
    errno.ENOSPC: "free some space or write elsewhere (--out)",
    errno.EDQUOT: "free some space or write elsewhere (--out)",
    errno.EACCES: "check the folder's permissions or write elsewhere (--out)",
    errno.EPERM: "check the folder's permissions or write elsewhere (--out)",
    errno.EROFS: "the file system is read-only: write elsewhere (--out)",
    errno.ENOENT: "check the path",
}


def os_error_line(exc: OSError, where: str | Path | None = None) -> str:
    """One line for a failed read or write: the file (`where` when the error names none), the
    system's reason, what to do."""
    if exc.errno is None:  # raised by our own code with a full message
        return str(exc)
    path = exc.filename if exc.filename is not None else where if where is not None else "(file)"
    reason = exc.strerror or str(exc)
    hint = HINTS.get(exc.errno)
    return f"{path}: {reason}" + (f"; {hint}" if hint else "")


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def stale_temporaries(path: Path, tag: str = "tmp") -> list[Path]:
    """The temporary files or folders (`.NAME.PID.tmp[SUFFIX]`; `tag` another word than `tmp`)
    that writers of `path` left beside it and whose process no longer runs here: killed mid-write."""
    path = Path(path)
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)\.{tag}(\.\w+)?$")
    found = []
    for p in path.parent.glob(f".{glob.escape(path.name)}.*.{tag}*"):
        m = pattern.match(p.name)
        if m is not None and not _running(int(m.group(1))):
            found.append(p)
    return found


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:  # name the file the user knows, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode())


def write_json(path: str | Path, data, indent: int | None = None) -> None:
    """Compact (or indented), keys in build order, newline-terminated: stable bytes for DVC."""
    text = json.dumps(data, indent=indent) if indent is not None else json.dumps(data, separators=(",", ":"))
    write_text(path, text + "\n")


def copy_file(src: str | Path, dst: str | Path) -> None:
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary(dst)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except OSError as exc:  # a full disk names the source first (shutil's sendfile), the temporary second
        named = str(dst) if str(tmp) in (exc.filename, exc.filename2) else exc.filename
        raise OSError(exc.errno, exc.strerror, named) from exc
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def replacing(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """A temporary path for a writer that needs a file name (a model exporter, a video writer);
    it becomes `path` when the block ends without an error, and is removed when it raises.
    `suffix` keeps an extension the writer reads (`.mp4`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary(path, suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        if exc.errno is None:  # the writer's own message, naming `path` already
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    finally:
        tmp.unlink(missing_ok=True)
