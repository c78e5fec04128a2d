"""The checks of a category's `rig` extras (docs/reference/DATA_FORMAT.md): sigmas, tolerances,
flip pairs and symmetry permutations, each fitting the category's keypoints."""

from __future__ import annotations

from pipeline.coco_files.coco_needs import Add, Needs, is_int, is_number, strongest


def check_rig(rig, names: list[str], key: str, needs: Needs, add: Add) -> None:
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
    pairs = rig.get("flip_pairs") or []
    for pair in pairs if isinstance(pairs, list) else [pairs]:
        if not (isinstance(pair, list) and len(pair) == 2 and all(n in names for n in pair)):
            add(needs.rig, f"{key}.flip_pairs", "rig", f"{pair!r}: expected a pair of keypoint names, two of {names}")
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
