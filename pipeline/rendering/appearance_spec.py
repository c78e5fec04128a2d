"""The files that decals and mesh distractors name, resolved and checked for the render spec.

Paths in params are relative to params.yaml's folder; the spec that Blender reads holds absolute
ones. These files are checked when the render stage starts (not when any stage loads params), so
an image made at run time by a script (a label cut from a photo) need only exist before rendering.
Each problem is one line naming its params key.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from pipeline.schema import ParamsError
from pipeline.schema.common import MESH_SUFFIXES


def image_aspect(path: Path, key: str) -> float:
    """Height over width of an image file; a missing or unreadable file is a ParamsError naming `key`."""
    if not path.is_file():
        raise ParamsError(f"{key}: image {path} not found")
    try:
        with Image.open(path) as im:
            im.load()
            width, height = im.size
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise ParamsError(f"{key}: cannot read {path} as an image ({exc})") from None
    if width == 0 or height == 0:
        raise ParamsError(f"{key}: image {path} is empty ({width}x{height})")
    return height / width


def resolve_decals(decals: list[dict], base: Path, key: str) -> list[dict]:
    """The rig's decal dicts with absolute image paths and each image's aspect (height / width)."""
    out = []
    for i, decal in enumerate(decals):
        path = (base / decal["image"]).resolve()
        aspect = image_aspect(path, f"{key}.decals[{i}].image")
        out.append({**decal, "image": str(path), "aspect": aspect})
    return out


def mesh_files(paths: list[str], base: Path, key: str) -> list[str]:
    """Every mesh file the `paths` name (files, or folders searched recursively), sorted, absolute."""
    files: list[str] = []
    for i, p in enumerate(paths):
        path = (base / p).resolve()
        where = f"{key}[{i}]"
        if path.is_dir():
            found = sorted(str(f) for f in path.rglob("*") if f.is_file() and f.suffix.lower() in MESH_SUFFIXES)
            if not found:
                raise ParamsError(f"{where}: no mesh files ({' '.join(MESH_SUFFIXES)}) in folder {path}")
            files += found
        elif path.is_file():
            if path.suffix.lower() not in MESH_SUFFIXES:
                raise ParamsError(f"{where}: {path} is not a mesh file; expected one of {' '.join(MESH_SUFFIXES)}")
            files.append(str(path))
        else:
            raise ParamsError(f"{where}: {path} not found")
    return list(dict.fromkeys(files))  # a file named twice (directly and by its folder) counts once


def complete_spec(spec: dict, base: Path) -> dict:
    """Resolve decal images and distractor meshes in a spec made from params; keys left at their
    defaults (no decals, no mesh distractors) are dropped, so older params keep their spec bytes."""
    for name, rig in spec["rigs"].items():
        if rig.get("decals"):
            rig["decals"] = resolve_decals(rig["decals"], base, f"rigs.{name}")
        else:
            rig.pop("decals", None)
    dis = spec["render"]["distractors"]
    if dis.get("meshes"):
        dis["meshes"]["files"] = mesh_files(dis["meshes"]["paths"], base, "render.distractors.meshes.paths")
    else:
        dis.pop("meshes", None)
    return spec
