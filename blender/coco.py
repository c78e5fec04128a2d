"""Merge per-image metadata into one COCO keypoint file (pure; stdlib only).

Ids are derived from the render index, so the file is the same whatever the sharding:
image id = index + 1, annotation id = (index + 1) * 1000 + position in the image + 1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

MAX_INSTANCES_PER_IMAGE = 999
SYMMETRY = "symmetry.json"  # {rig: group}: what Blender resolved from each symmetric rig's keypoints


def categories(spec: dict, groups: dict[str, list[list[int]]] | None = None) -> list[dict]:
    """One category per rig, in params order; our extras live under the `rig` key (with
    `symmetry_permutations`, the rig's group, for a symmetric rig)."""
    out = []
    for cid, (name, rig) in enumerate(spec["rigs"].items(), start=1):
        names = [k["name"] for k in rig["keypoints"]]
        out.append({
            "id": cid, "name": name, "supercategory": rig.get("supercategory", "object"),
            "keypoints": names,
            "skeleton": [[names.index(a) + 1, names.index(b) + 1] for a, b in rig["skeleton"]],
            "rig": {
                "sigmas": [k["sigma"] for k in rig["keypoints"]],
                "tolerances": [k["tolerance"] for k in rig["keypoints"]],
                "flip_pairs": [list(p) for p in rig["flip_pairs"]],
            },
        })
        if rig.get("symmetry"):
            out[-1]["rig"]["symmetry_permutations"] = groups[name]
    return out


def write_symmetry(out_dir: Path, groups: dict[str, list[list[int]]]) -> None:
    """The resolved groups beside the meta files; every shard writes the same bytes (own temp file)."""
    path = Path(out_dir) / SYMMETRY
    tmp = path.with_name(f"{SYMMETRY}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(groups, separators=(",", ":")) + "\n")
    tmp.replace(path)


def read_symmetry(spec: dict, out_dir: Path) -> dict[str, list[list[int]]] | None:
    """The groups of the symmetric rigs (None when no rig is symmetric)."""
    wanted = [n for n, r in spec["rigs"].items() if r.get("symmetry")]
    if not wanted:
        return None
    path = Path(out_dir) / SYMMETRY
    groups = json.loads(path.read_text()) if path.is_file() else {}
    missing = [n for n in wanted if n not in groups]
    if missing:
        raise FileNotFoundError(f"{path}: no symmetry group for rig(s) {missing}; a render writes it when it "
                                "builds the scene: run the render again")
    return groups


def meta_path(out_dir: Path, index: int) -> Path:
    return Path(out_dir) / "meta" / f"{index:06d}.json"


def merge(spec: dict, out_dir: Path, num_images: int) -> dict:
    """COCO dict for images 0..num_images-1; every meta file must exist."""
    missing = [i for i in range(num_images) if not meta_path(out_dir, i).is_file()]
    if missing:
        raise FileNotFoundError(f"{out_dir}/meta: {len(missing)} image(s) not rendered yet, "
                                f"e.g. index {missing[:5]}; run the render again to finish them")
    images, annotations = [], []
    for i in range(num_images):
        meta = json.loads(meta_path(out_dir, i).read_text())
        images.append({"id": i + 1, "file_name": meta["file_name"], "width": meta["width"],
                       "height": meta["height"], "source": "synthetic",
                       "meta_file": f"meta/{i:06d}.json"})
        if len(meta["annotations"]) > MAX_INSTANCES_PER_IMAGE:
            raise ValueError(f"image {i}: more than {MAX_INSTANCES_PER_IMAGE} instances")
        for k, ann in enumerate(meta["annotations"]):
            annotations.append({"id": (i + 1) * 1000 + k + 1, "image_id": i + 1, **ann})
    return {
        "info": {"description": "rig2kp synthetic renders", "seed": spec["seed"], "version": "1"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": categories(spec, read_symmetry(spec, out_dir)),
    }


def write_json(path: Path, data: dict) -> None:
    """Compact, key-ordered as built, newline-terminated: stable bytes for DVC's cache."""
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    tmp.replace(path)
