"""The checks of a category's `rig` extras (docs/reference/DATA_FORMAT.md): sigmas, tolerances,
flip pairs and symmetry permutations, each fitting the category's keypoints."""

from __future__ import annotations

from common.rig_model import RigModel
from pipeline.coco_files.coco_needs import Add, Needs, is_int, is_number, strongest


def check_rig(rig, names: list[str], name: str, key: str, needs: Needs, add: Add) -> None:
    """Our `rig` extras (docs/reference/DATA_FORMAT.md): whichever are there must fit the keypoints."""
    k, fits = len(names), strongest(needs.rig, needs.sigmas)
    if rig is None:
        add(needs.conventions, key, "conventions", "missing (sigmas, flip pairs): defaults will be used")
        add(needs.sigmas, f"{key}.sigmas", "sigmas", f"missing; expected {k} OKS sigmas, one per keypoint")
        return
    if not isinstance(rig, dict):
        add(fits, key, "rig", f"expected an object, got {type(rig).__name__}")
        return
    sigmas = rig.get("sigmas")
    if sigmas is None:
        add(needs.sigmas, f"{key}.sigmas", "sigmas", f"missing; expected {k} OKS sigmas, one per keypoint")
    elif not isinstance(sigmas, list) or len(sigmas) != k:
        n = f"{len(sigmas)} values" if isinstance(sigmas, list) else repr(sigmas)
        add(fits, f"{key}.sigmas", "rig", f"{n}, expected one per keypoint ({k}: {names})")
    elif not all(is_number(s) and s > 0 for s in sigmas):
        add(fits, f"{key}.sigmas", "rig", f"expected values > 0, got {sigmas}")
    tolerances = rig.get("tolerances")
    if tolerances is not None and not (
        isinstance(tolerances, list) and len(tolerances) == k and all(is_number(t) and t >= 0 for t in tolerances)
    ):
        add(needs.rig, f"{key}.tolerances", "rig", f"expected {k} numbers >= 0, got {tolerances}")
    _check_flip_pairs(rig.get("flip_pairs") or [], names, name, f"{key}.flip_pairs", needs, add)
    group = rig.get("symmetry_permutations")
    if group is None:
        return
    if not isinstance(group, list) or not group:
        add(needs.rig, f"{key}.symmetry_permutations", "rig", f"expected a list of permutations, got {group!r}")
        return
    identity = list(range(k))
    for p in group:
        if not (isinstance(p, list) and all(is_int(i) for i in p) and sorted(p) == identity):
            add(needs.rig, f"{key}.symmetry_permutations", "rig", f"{p!r} is not a permutation of 0..{k - 1}")
    if identity not in group:
        add(needs.rig, f"{key}.symmetry_permutations", "rig", "the identity is missing; expected a group")


def _check_flip_pairs(pairs, names: list[str], name: str, key: str, needs: Needs, add: Add) -> None:
    """Pairs of names first; then the rig model's own rule (common/rig_model.py), so that nothing
    passes validation that augment, mix or an export would refuse later."""
    pairs = pairs if isinstance(pairs, list) else [pairs]
    shaped = [p for p in pairs if isinstance(p, list) and len(p) == 2 and all(isinstance(n, str) for n in p)]
    for pair in pairs:
        if pair not in shaped or not all(n in names for n in pair):
            add(needs.rig, key, "rig", f"{pair!r}: expected a pair of keypoint names, two of {names}")
    if len(shaped) < len(pairs) or any(n not in names for p in shaped for n in p):
        return
    model = RigModel(0, name, tuple(names), (), (), tuple((a, b) for a, b in shaped))
    for problem in model.flip_pair_problems():
        add(needs.rig, key, "rig", problem)
