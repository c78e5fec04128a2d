"""Seeded splits of dataset items into train / val / test, and oversampling copies.

Items are split by group (`Item.key`: the augmented copies of a render, the Roboflow variants of
a photo, a source's `group_by` matches), never image by image, so no group straddles two
splits. The order comes from hashing (seed, salt, key): adding or removing a group keeps the
others in the same order. A repeat r of an item (oversampling) keeps its file and labels and adds
r * REPEAT_BASE to its image and annotation ids.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.schema import MixConfig
from pipeline.schema.mix_params import RealSource

REPEAT_BASE = 10**10
MAX_REPEATS = 99  # repeats * REPEAT_BASE stays below a source's 10**12 id block


@dataclass
class Item:
    """One image with its annotations, ids set, ready for a split."""

    image: dict
    annotations: list[dict]
    src: Path  # the image file to link or copy
    key: str  # split group
    repeats: int = 1  # oversampling factor (train only)
    holdout: str | None = None  # "val" or "test" when the source's val_files / test_files name it


def _rank(seed: int, salt: str, keys: list[str]) -> list[str]:
    """Keys in a seeded order that does not change when other keys come or go."""
    return sorted(keys, key=lambda k: hashlib.sha256(f"{seed}:{salt}:{k}".encode()).hexdigest())


def split_groups(items: list[Item], fractions: dict[str, float], seed: int, salt: str) -> dict[str, list[Item]]:
    """Whole groups into the named splits by fraction (at least one group each where possible);
    the rest into `train`."""
    groups = defaultdict(list)
    for it in items:
        groups[it.key].append(it)
    order = _rank(seed, salt, list(groups))
    n = len(order)
    counts = {}
    for name, frac in fractions.items():
        c = int(round(frac * n))
        if frac > 0 and c == 0 and n - sum(counts.values()) > 1:
            c = 1
        counts[name] = min(c, max(0, n - 1 - sum(counts.values())))
    out, start = {}, 0
    for name, c in counts.items():
        out[name] = [it for k in order[start : start + c] for it in groups[k]]
        start += c
    out["train"] = [it for k in order[start:] for it in groups[k]]
    return out


def split_auto(items: list[Item], src: RealSource, cfg: MixConfig, seed: int) -> dict[str, list[Item]]:
    """A source's images by its val_files / test_files, the rest by the mix.val / mix.test fractions
    (a split named by patterns takes no share of the rest)."""
    named = {"val": bool(src.val_files), "test": bool(src.test_files)}
    fractions = {name: frac for name, frac in (("val", cfg.val), ("test", cfg.test)) if not named[name]}
    parts = split_groups([it for it in items if it.holdout is None], fractions, seed, src.label())
    for name in ("val", "test"):
        parts[name] = parts.get(name, []) + [it for it in items if it.holdout == name]
    return parts


def subsample(items: list[Item], target: int, seed: int) -> list[Item]:
    """Whole groups in seeded order until `target` images are reached."""
    groups = defaultdict(list)
    for it in items:
        groups[it.key].append(it)
    out = []
    for k in _rank(seed, "ratio", list(groups)):
        if len(out) >= target:
            break
        out += groups[k]
    return out


def real_share_repeats(share: float, n_real: int, n_synthetic: int) -> int:
    """Times each real train image appears so that real images are about `share` of the train set."""
    return max(1, int(round(share / (1 - share) * n_synthetic / n_real)))


def repeated(items: list[Item], k: int = 1) -> list[Item]:
    """Each item `it.repeats * k` times: the original, then its oversampling copies."""
    return [repeat(it, r) if r else it for it in items for r in range(it.repeats * k)]


def repeat(it: Item, r: int) -> Item:
    """Oversampling copy r (r >= 1): same file and labels, distinct ids."""
    shift = r * REPEAT_BASE
    image = {
        **it.image,
        "id": it.image["id"] + shift,
        "origin": {**it.image["origin"], "repeat": r},
    }
    anns = [{**a, "id": a["id"] + shift, "image_id": image["id"]} for a in it.annotations]
    return replace(it, image=image, annotations=anns)
