"""What every hand-off format shares: the splits a dataset folder holds, unique image names, image
links or copies, and an output folder that is replaced whole.

A dataset folder is a render or augment output (`annotations.json`) or the mix stage's output
(`train.json`, `val.json`, `test.json`, `val_synthetic.json`); each file becomes one split of the
hand-off. Other tools find an image's labels by its file name alone (Ultralytics: `images/` ->
`labels/`, the extension -> `.txt`), so the images of a split are written flat under names that
are unique per split (`export_names`), and `manifest.json` maps each back to its COCO file, id and
`file_name`.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from common.atomic import copy_file, stale_temporaries, temporary
from pipeline.coco_files import coco, coco_checks, coco_needs
from pipeline.errors import Rig2kpError
from pipeline.outputs import Owner

MIX_SPLITS = ("train", "val", "test", "val_synthetic")  # the mix stage's split files, <name>.json
DEFAULT_SPLITS = ("train", "val", "test")
MANIFEST = "manifest.json"
WRITTEN_BY = "rig2kp export-dataset"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class HandoffError(Rig2kpError, ValueError):
    """A hand-off the command cannot write; the message names the flag, file or key."""


@dataclass(frozen=True)
class Split:
    """One split of the hand-off: `name` in the output, read from the COCO file `source`."""

    name: str
    source: Path
    data: dict  # the COCO dict, checked

    @property
    def root(self) -> Path:
        """The folder the split's `file_name`s are relative to."""
        return self.source.parent


def parse_splits(text: str) -> list[tuple[str, str]]:
    """`train,val=val_synthetic` -> [(train, train), (val, val_synthetic)]: (output name, input
    split) pairs in the order given."""
    pairs = []
    for item in text.split(","):
        out, sep, src = (s.strip() for s in item.partition("="))
        src = src if sep else out
        if not out or not src or not re.fullmatch(r"[A-Za-z0-9_-]+", out):
            raise HandoffError(f"--splits {text!r}: expected names like train,val,test or OUT=IN (val=val_synthetic)")
        pairs.append((out, src))
    outs = [o for o, _ in pairs]
    repeated = sorted({o for o in outs if outs.count(o) > 1})
    if repeated:
        raise HandoffError(f"--splits {text!r}: {', '.join(repeated)} named twice")
    return pairs


def split_files(path: Path, splits: str | None) -> list[tuple[str, Path]]:
    """(output split name, COCO file) for the dataset PATH names: a COCO file, a folder holding
    `annotations.json` (one split: `train` unless --splits names it), or the mix stage's folder
    (--splits picks and renames its splits; default train, val, test where they exist)."""
    path = Path(path)
    if path.is_dir() and not (path / coco.ANNOTATIONS).is_file():
        found = {name: path / f"{name}.json" for name in MIX_SPLITS if (path / f"{name}.json").is_file()}
        if not found:
            raise HandoffError(
                f"--input {path}: expected {coco.ANNOTATIONS} (a render or augment output) or the mix stage's "
                f"{', '.join(n + '.json' for n in MIX_SPLITS)}"
            )
        pairs = parse_splits(splits) if splits else [(n, n) for n in DEFAULT_SPLITS if n in found]
        missing = [src for _, src in pairs if src not in found]
        if missing:
            raise HandoffError(
                f"--splits {splits}: no {', '.join(m + '.json' for m in missing)} in {path} "
                f"(it holds {', '.join(f.name for f in found.values())})"
            )
        return [(out, found[src]) for out, src in pairs]
    json_path = coco.resolve_json(path)
    default = json_path.stem if json_path.stem in MIX_SPLITS else "train"
    pairs = parse_splits(splits) if splits else [(default, default)]
    if len(pairs) != 1 or pairs[0][0] != pairs[0][1]:
        raise HandoffError(
            f"--splits {splits}: {json_path} is one COCO file; name the one split it becomes, e.g. --splits val"
        )
    return [(pairs[0][0], json_path)]


def load_splits(path: Path, splits: str | None, needs: coco_needs.Needs) -> list[Split]:
    """The splits, each file checked for what `needs` asks (its problems listed by key); every split
    must carry the same categories, since the hand-off has one class list."""
    loaded = [Split(name, f, coco_checks.load(f, needs)) for name, f in split_files(path, splits)]
    first = loaded[0]
    for s in loaded[1:]:
        if s.data["categories"] != first.data["categories"]:
            raise HandoffError(
                f"{s.source}: categories differ from {first.source}'s; export the splits of one dataset together"
            )
    return loaded


def flat_name(file_name: str) -> str:
    """`images/real/desk/IMG_1.jpg` -> `real__desk__IMG_1.jpg`: the folders (less any named
    `images`) joined into the name, other characters than letters, digits, `.`, `_`, `-` as `_`."""
    parts = [p for p in PurePosixPath(file_name).parts if p not in ("images", ".", "/")]
    return "__".join(_UNSAFE.sub("_", p) for p in parts) or "image"


def export_names(images: list[dict]) -> dict[int, str]:
    """Image id -> a file name unique in its split, also by stem and case (a label file is named by
    the stem; some file systems ignore case). An image whose flat name is taken (an oversampling
    repeat of the mix stage shares its file) gets `__id<id>` before the extension."""
    names, taken = {}, set()
    for img in images:
        name = flat_name(img["file_name"])
        stem, suffix = os.path.splitext(name)
        if stem.lower() in taken:
            stem = f"{stem}__id{img['id']}"
            n = 1
            while stem.lower() in taken:  # only if a file is named like another's disambiguation
                stem, n = f"{stem}_{n}", n + 1
        taken.add(stem.lower())
        names[img["id"]] = stem + suffix
    return names


def place_image(src: Path, dst: Path, how: str) -> None:
    """`dst` as the image `src`: `symlink`, a relative link to the file `src` resolves to (the mix
    stage's images are links themselves; one hop is then left); `hardlink`, the same file under a
    second name (a copy where the file systems differ); `copy`."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    target = os.path.realpath(src)
    if how == "symlink":
        os.symlink(os.path.relpath(target, os.path.realpath(dst.parent)), dst)
        return
    if how == "hardlink":
        try:
            os.link(target, dst)
            return
        except OSError:  # another file system, or one without hard links
            pass
    copy_file(target, dst)


# an export folder is one holding the manifest an export wrote: only such a folder is replaced
OWNER = Owner("export-dataset", MANIFEST, {"written_by": WRITTEN_BY})


@contextmanager
def replaced_folder(out: Path) -> Iterator[Path]:
    """A scratch folder beside `out` to write into; on success it replaces `out` (a previous export
    is removed only then), on failure it is removed and `out` is left as it was."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in [*stale_temporaries(out), *stale_temporaries(out, "old")]:  # what killed runs left
        shutil.rmtree(stale, ignore_errors=True)
    tmp = temporary(out)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    except OSError as exc:  # named by where the file would have been (a full disk, a read-only folder)
        shutil.rmtree(tmp, ignore_errors=True)
        if exc.errno is None or not str(exc.filename).startswith(str(tmp)):
            raise
        raise OSError(exc.errno, exc.strerror, str(out) + str(exc.filename)[len(str(tmp)) :]) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = out.with_name(f".{out.name}.{os.getpid()}.old")
    if out.exists():
        os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)
