"""One rig as every stage reads it: keypoint names, skeleton, flip pairs, OKS sigmas and symmetry
permutations, from and to a COCO category with our `rig` extras (docs/reference/DATA_FORMAT.md).

The left/right rule (a rig that lists no flip pairs swaps every `left_X` with its `right_X`) and
the mirror-image permutation live here once, so the schema, the renderer's output, augmentation,
the exports and training cannot disagree on them (pure: numpy and the standard library).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


class RigError(ValueError):
    """Flip pairs that do not fit the rig's keypoints; the message names the key."""


def left_right_pairs(names: Iterable[str]) -> list[tuple[str, str]]:
    """Every `left_X` with a matching `right_X`, in name order: the flip pairs of a rig that lists none."""
    present = set(names)
    return [(n, "right_" + n[5:]) for n in sorted(present) if n.startswith("left_") and "right_" + n[5:] in present]


def resolve_flip_pairs(pairs: Iterable[Sequence[str]] | None, names: Iterable[str]) -> list[tuple[str, str]]:
    """The explicit pairs (an empty list: none), or with None the left/right rule."""
    return left_right_pairs(names) if pairs is None else [(a, b) for a, b in pairs]


@dataclass(frozen=True)
class RigModel:
    """One rig's category (docs/reference/DATA_FORMAT.md), its flip pairs resolved."""

    id: int  # COCO category id
    name: str
    keypoints: tuple[str, ...]
    skeleton: tuple[tuple[int, int], ...]  # COCO style: 1-based keypoint indices
    sigmas: tuple[float, ...]  # COCO OKS sigma per keypoint; (): none given
    flip_pairs: tuple[tuple[str, str], ...]  # names swapped on a mirror image
    symmetry: tuple[tuple[int, ...], ...] = ()  # rig.symmetry_permutations: the rig's group; (): none

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoints)

    def flip_pair_problems(self) -> list[str]:
        """Every reason the flip pairs cannot be a mirror image's swap (none: they can): a name that
        is not a keypoint, or a keypoint in two pairs. The validator lists them all; the stages
        raise the first (`flip_index_pairs`)."""
        names, problems, seen = list(self.keypoints), [], set()
        for a, b in self.flip_pairs:
            for n in dict.fromkeys((a, b)):  # a pair of one name swaps nothing
                if n not in names:
                    problems.append(f"{n!r} is not a keypoint of rig {self.name!r}; expected one of {names}")
                elif n in seen:
                    problems.append(
                        f"a keypoint is in two pairs ({n!r} in {[list(p) for p in self.flip_pairs]}); "
                        f"expected disjoint left/right pairs of rig {self.name!r}"
                    )
                seen.add(n)
        return problems

    def flip_index_pairs(self, where: str | None = None) -> list[tuple[int, int]]:
        """Keypoint index pairs swapped on a mirror image; RigError naming `where` (default the
        category's `rig.flip_pairs` key) for the first of `flip_pair_problems`."""
        problems = self.flip_pair_problems()
        if problems:
            raise RigError(f"{where or f'categories[id={self.id}].rig.flip_pairs'}: {problems[0]}")
        names = list(self.keypoints)
        return [(names.index(a), names.index(b)) for a, b in self.flip_pairs]

    def flip_index(self, k: int | None = None, where: str | None = None) -> np.ndarray:
        """Slot -> slot on a mirror image, over k slots (default the rig's K; a model with several
        rigs pads to its largest K, the extra slots staying put)."""
        k = self.num_keypoints if k is None else k
        if k < self.num_keypoints:
            raise RigError(f"{k} keypoint slots for rig {self.name!r}: expected at least its {self.num_keypoints}")
        perm = np.arange(k)
        for i, j in self.flip_index_pairs(where):
            perm[i], perm[j] = j, i
        return perm

    def to_category(self) -> dict:
        """The COCO category (with our `rig` key), as checkpoints and outputs store it."""
        return {
            "id": self.id,
            "name": self.name,
            "supercategory": "object",
            "keypoints": list(self.keypoints),
            "skeleton": [list(p) for p in self.skeleton],
            "rig": {"sigmas": list(self.sigmas), "flip_pairs": [list(p) for p in self.flip_pairs]}
            | ({"symmetry_permutations": [list(p) for p in self.symmetry]} if self.symmetry else {}),
        }

    @classmethod
    def from_category(cls, c: dict) -> RigModel:
        """The model of a COCO category; `rig.flip_pairs` absent: the left/right rule."""
        rig = c.get("rig") or {}
        keypoints = tuple(c["keypoints"])
        return cls(
            id=int(c["id"]),
            name=str(c["name"]),
            keypoints=keypoints,
            skeleton=tuple(tuple(int(i) for i in p) for p in c.get("skeleton") or []),
            sigmas=tuple(float(s) for s in rig.get("sigmas") or []),
            flip_pairs=tuple(resolve_flip_pairs(rig.get("flip_pairs"), keypoints)),
            symmetry=tuple(tuple(int(i) for i in p) for p in rig.get("symmetry_permutations") or []),
        )
