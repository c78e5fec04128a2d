"""Symmetric rigs: the keypoint permutations a declared symmetry makes, and the image-space rule
that picks one labelling among the equivalent ones (pure numpy; the renderer, augmentation,
mixing and training all use this one rule).

A permutation p (K indices) of a rig says: a rotation g of the object takes the physical point of
keypoint i to the one of keypoint p[i], and the object looks the same afterwards. An instance
whose keypoints are kp (K x 3 rows x, y, v) is then, in the same image, the object turned by g
with keypoints kp[p]: both labellings describe the same pixels. The group of a rig is every such
p, identity included, closed under composition, sorted (identity first).

Only rotations make two views look alike: no rotation turns an object into its mirror image, so a
mirror plane counts through the rotations it composes to (two planes through an axis at an angle
a: the turn by 2a about it). Explicit permutations are taken as rotations (the user vouches).

The rule (docs/guide/symmetry.md): among the labellings kp[p], p in the group, the canonical one
is the smallest in this order: compare slot 0, then slot 1, and so on; a labelled slot (v > 0)
comes before an unlabelled one (v = 0); two labelled slots compare by y (top-most first), then x
(left-most first); two unlabelled slots are equal. Labellings equal in every slot write the same
numbers; the first permutation in group order is taken then. The comparison uses the values as
written (continuous pixels, rounded like the annotations), so it can be checked on the files.
"""

from __future__ import annotations

import math

import numpy as np

from common.render_spec import Symmetry

MAX_GROUP = 1000  # permutations in one rig's group
DECIMALS = 3  # as blender/annotate.py writes keypoints


class SymmetryError(ValueError):
    """A symmetry that does not fit the rig's keypoints; the message names the params key."""


# ---------------------------------------------------------------- the group


def rotation_matrix(axis, angle: float) -> np.ndarray:
    """3x3 rotation by `angle` radians about `axis` (right hand), Rodrigues' formula."""
    a = np.asarray(axis, dtype=float)
    a = a / np.linalg.norm(a)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * (k @ k)


def mirror_matrix(normal) -> np.ndarray:
    """3x3 reflection in the plane through the origin with this normal."""
    n = np.asarray(normal, dtype=float)
    n = n / np.linalg.norm(n)
    return np.eye(3) - 2 * np.outer(n, n)


def permutation_of(
    matrix: np.ndarray, center, points: np.ndarray, names: list[str], key: str, tolerance: float
) -> tuple[int, ...]:
    """p with matrix (about `center`) taking points[i] onto points[p[i]]; SymmetryError naming the
    first keypoint sent where the rig has none. points: K x 3, the frame the matrix acts in."""
    c = np.asarray(center, dtype=float)
    moved = (points - c) @ np.asarray(matrix).T + c
    dist = np.linalg.norm(moved[:, None, :] - points[None, :, :], axis=2)  # [moved i, keypoint j]
    perm = dist.argmin(axis=1)
    for i, j in enumerate(perm):
        if dist[i, j] > tolerance:
            raise SymmetryError(
                f"{key}: maps keypoint {names[i]!r} to {np.round(moved[i], 6).tolist()}, where the rig has no "
                f"keypoint (nearest: {names[j]!r} at distance {dist[i, j]:.6g}, tolerance {tolerance:.3g}); "
                "the rig is not symmetric that way, or the axis / center is off"
            )
    if len(set(perm.tolist())) != len(perm):
        twice = sorted({names[i] for i in range(len(perm)) if (perm == perm[i]).sum() > 1})
        raise SymmetryError(
            f"{key}: keypoints {twice} land on the same keypoint; two keypoints of the rig "
            "sit at one place, so the symmetry cannot tell them apart: list the permutation"
        )
    return tuple(int(j) for j in perm)


def permutation_from_names(mapping: dict[str, str], names: list[str], key: str) -> tuple[int, ...]:
    """p from {keypoint: the keypoint it goes to}; unlisted keypoints stay in place."""
    for a, b in mapping.items():
        for n in (a, b):
            if n not in names:
                raise SymmetryError(f"{key}: {n!r} is not a keypoint of the rig; expected some of {names}")
    perm = [names.index(mapping.get(n, n)) for n in names]
    if len(set(perm)) != len(perm):
        hit = sorted({names[j] for j in perm if perm.count(j) > 1})
        raise SymmetryError(
            f"{key}: not a permutation of the rig's keypoints: {hit} are reached twice "
            "(every keypoint must go to exactly one and come from exactly one)"
        )
    return tuple(perm)


def compose(p: tuple[int, ...], q: tuple[int, ...]) -> tuple[int, ...]:
    """The product of two group elements: compose(p, q)[i] = q[p[i]], so kp[compose(p, q)] = kp[q][p]."""
    return tuple(q[i] for i in p)


def closure(generators: list[tuple[tuple[int, ...], int]], k: int, key: str) -> list[tuple[int, ...]]:
    """Rotation part of the group the (permutation, det sign) generators make, sorted, identity first."""
    identity = (tuple(range(k)), 1)
    seen = {identity}
    frontier = [identity]
    while frontier:
        nxt = []
        for p, s in frontier:
            for g, t in generators:
                e = (compose(p, g), s * t)
                if e not in seen:
                    seen.add(e)
                    nxt.append(e)
                    if len(seen) > 2 * MAX_GROUP:
                        raise SymmetryError(
                            f"{key}: the group has more than {MAX_GROUP} elements; declare fewer generators"
                        )
        frontier = nxt
    rotations = sorted({p for p, s in seen if s > 0})
    if len(rotations) > MAX_GROUP:
        raise SymmetryError(f"{key}: the group has {len(rotations)} elements, more than {MAX_GROUP}")
    return rotations


def resolve(sym: Symmetry, names: list[str], sigmas: list[float], points: np.ndarray, key: str) -> list[list[int]]:
    """The group of a rig's `symmetry` params (the render spec's) from its keypoints.

    points: K x 3 keypoint positions in the mesh's object space (the frame of `center`, `axis`
    and mirror normals). Raises SymmetryError naming the key of the first declaration that does
    not fit, a group that moves no keypoint, or symmetric keypoints with different sigmas.
    """
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    c = np.asarray(sym.center, dtype=float)
    spread = float(np.linalg.norm(points - c, axis=1).max()) if len(points) else 0.0
    tol = max(sym.tolerance * spread, 1e-9)
    gens: list[tuple[tuple[int, ...], int]] = []
    for i, r in enumerate(sym.rotations):
        m = rotation_matrix(r.axis, 2 * math.pi / r.order)
        gens.append((permutation_of(m, c, points, names, f"{key}.rotations[{i}]", tol), 1))
    for i, n in enumerate(sym.mirrors):
        gens.append((permutation_of(mirror_matrix(n), c, points, names, f"{key}.mirrors[{i}]", tol), -1))
    for i, mapping in enumerate(sym.permutations):
        gens.append((permutation_from_names(mapping, names, f"{key}.permutations[{i}]"), 1))
    group = closure(gens, len(names), key)
    if len(group) == 1:
        why = (
            " (mirror planes alone never make two views look alike: no rotation turns an object into "
            "its mirror image; declare the rotations, or two mirror planes whose composition is one)"
            if sym.mirrors and not sym.rotations and not sym.permutations
            else ""
        )
        raise SymmetryError(
            f"{key}: the declared symmetry relabels no keypoint{why}; drop `symmetry` "
            "or declare one that moves keypoints"
        )
    for p in group:
        for i, j in enumerate(p):
            if sigmas[i] != sigmas[j]:
                raise SymmetryError(
                    f"{key}: keypoints {names[i]!r} and {names[j]!r} are symmetric but have "
                    f"different sigmas ({sigmas[i]} and {sigmas[j]}); give them one sigma"
                )
    return [list(p) for p in group]


def orbits(group: list[list[int]]) -> list[list[int]]:
    """Keypoint index sets that the group mixes (each sorted; singletons included)."""
    k = len(group[0])
    seen, out = set(), []
    for i in range(k):
        if i in seen:
            continue
        orbit = sorted({p[i] for p in group})
        seen.update(orbit)
        out.append(orbit)
    return out


# ---------------------------------------------------------------- the rule


def sort_keys(keypoints: np.ndarray) -> np.ndarray:
    """Per labelling (... x K x 3) the K x 3 comparison keys (unlabelled, y, x) of the rule."""
    kp = np.round(np.asarray(keypoints, dtype=float), DECIMALS)
    unlabelled = kp[..., 2] <= 0
    y = np.where(unlabelled, 0.0, kp[..., 1])
    x = np.where(unlabelled, 0.0, kp[..., 0])
    return np.stack([unlabelled.astype(float), y, x], axis=-1)


def canonical_index(keypoints: np.ndarray, group) -> int:
    """Index into `group` of the canonical labelling of one instance's K x 3 keypoints."""
    perms = np.asarray(group, dtype=int)
    keys = sort_keys(np.asarray(keypoints, dtype=float)[perms]).reshape(len(perms), -1)  # G x 3K, slot-major
    order = np.lexsort(keys.T[::-1])  # last key is primary for lexsort; stable: ties keep group order
    return int(order[0])


def canonical(keypoints: np.ndarray, group) -> tuple[np.ndarray, list[int]]:
    """(the canonical labelling kp[p], p) of one instance's K x 3 keypoints (x, y, v)."""
    kp = np.asarray(keypoints)
    p = list(group[canonical_index(kp, group)])
    return kp[p], p
