"""The input files that params name, per params key: what DVC must list in a stage's `deps`.

A mesh file counts with the files it reads beside itself: an OBJ's MTL files (`mtllib`) and the
images those name (`map_Kd`, `bump`, ...), a .gltf's buffers and images, a .glb's external
images. A .blend's linked libraries and external images are not read (Blender alone can list
them). Folders (clutter meshes, background photos, real exports) are named as folders. Paths
in params are relative to params.yaml's folder; the paths here are absolute. Files that do not
exist are listed all the same: the stage that reads them says so.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from pipeline.schema import Params
from pipeline.schema.common import MESH_SUFFIXES

# MTL statements whose last argument is an image file (options such as `-bm 1.0` come before it).
MTL_MAPS = ("map_", "bump", "disp", "decal", "refl", "norm")


@dataclass(frozen=True)
class NamedFile:
    """A file or folder a stage reads because params name it."""

    key: str  # the params key that names it, e.g. rigs.duck.mesh.path
    path: Path  # absolute
    via: Path | None = None  # the mesh or MTL file that names it (a texture), else None; absolute

    def describe(self, shown: str) -> str:
        """`shown` (how the path is written), with the file that names it for a texture."""
        return f"{shown} (named by {self.via.name})" if self.via else shown


def _existing(path: Path) -> Path | None:
    return path.resolve() if path.is_file() else None


def _statement_file(folder: Path, rest: str) -> Path | None:
    """The file an OBJ/MTL statement names: its whole argument (names with spaces), else its last word."""
    rest = rest.strip()
    if not rest:
        return None
    return _existing(folder / rest) or _existing(folder / rest.split()[-1])


def _obj_companions(obj: Path) -> list[tuple[Path, Path]]:
    out = []
    for line in obj.read_text(errors="replace").splitlines():
        if not line.startswith("mtllib"):
            continue
        rest = line[len("mtllib") :]
        mtls = [m for m in [_statement_file(obj.parent, rest)] if m] or [
            m for m in (_existing(obj.parent / w) for w in rest.split()) if m
        ]
        for mtl in mtls:
            out.append((mtl, obj))
            for stmt in mtl.read_text(errors="replace").splitlines():
                word, _, arg = stmt.strip().partition(" ")
                if word.lower().startswith(MTL_MAPS) and (image := _statement_file(mtl.parent, arg)):
                    out.append((image, mtl))
    return out


def _gltf_json(path: Path) -> dict:
    if path.suffix.lower() == ".gltf":
        return json.loads(path.read_text())
    data = path.read_bytes()  # .glb: 12-byte header, then the JSON chunk (length, type, bytes)
    if len(data) < 20 or data[:4] != b"glTF":
        return {}
    length, kind = struct.unpack_from("<I4s", data, 12)
    return json.loads(data[20 : 20 + length]) if kind == b"JSON" else {}


def _gltf_companions(path: Path) -> list[tuple[Path, Path]]:
    try:
        doc = _gltf_json(path)
    except (ValueError, UnicodeDecodeError):
        return []  # the render's importer reports a broken file
    uris = [x.get("uri") for x in doc.get("buffers", []) + doc.get("images", [])]
    files = [_existing(path.parent / unquote(u)) for u in uris if isinstance(u, str) and not u.startswith("data:")]
    return [(f, path) for f in files if f]


def mesh_companions(mesh: Path) -> list[tuple[Path, Path]]:
    """(file, the file that names it) for every file a mesh file reads beside itself."""
    if not mesh.is_file():
        return []
    suffix = mesh.suffix.lower()
    if suffix == ".obj":
        return _obj_companions(mesh)
    if suffix in (".gltf", ".glb"):
        return _gltf_companions(mesh)
    return []


def _mesh(key: str, path: Path) -> list[NamedFile]:
    named = [NamedFile(key, path)]
    meshes = [path] if path.is_file() else sorted(f for f in path.rglob("*") if f.suffix.lower() in MESH_SUFFIXES)
    for mesh in meshes:
        named += [NamedFile(key, f, via) for f, via in mesh_companions(mesh)]
    return named


def render_files(params: Params, params_path: Path) -> list[NamedFile]:
    """Every file the render stage reads because params name it: meshes and their textures,
    decal images, clutter meshes, background photos, calibration files."""
    base = params_path.resolve().parent
    named: list[NamedFile] = []
    for name, rig in params.rigs.items():
        if rig.mesh.type == "file":
            named += _mesh(f"rigs.{name}.mesh.path", (base / rig.mesh.path).resolve())
        for i, decal in enumerate(rig.decals or []):
            named.append(NamedFile(f"rigs.{name}.decals[{i}].image", (base / decal.image).resolve()))
    render = params.render
    if render.distractors.meshes is not None:
        for i, p in enumerate(render.distractors.meshes.paths):
            named += _mesh(f"render.distractors.meshes.paths[{i}]", (base / p).resolve())
    if render.background.photos > 0 and render.background.photos_dir is not None:
        named.append(NamedFile("render.background.photos_dir", (base / render.background.photos_dir).resolve()))
    for part in ("intrinsics", "distortion"):
        section = getattr(render.camera, part)
        if section is not None and section.file is not None:
            named.append(NamedFile(f"render.camera.{part}.file", (base / section.file).resolve()))
    return named


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def mix_files(params: Params, params_path: Path) -> list[NamedFile]:
    """Every real export the mix stage reads: its folder, and its annotations and images when
    they lie outside it."""
    base = params_path.resolve().parent
    named: list[NamedFile] = []
    for i, src in enumerate(params.mix.real):
        folder = (base / src.path).resolve()
        named.append(NamedFile(f"mix.real[{i}].path", folder))
        extra = [("annotations", folder / src.annotations)]
        if src.images is not None:
            extra.append(("images", folder / src.images))
        named += [NamedFile(f"mix.real[{i}].{k}", p.resolve()) for k, p in extra if not _inside(p.resolve(), folder)]
    return named


STAGE_FILES = {"render": render_files, "mix": mix_files}
