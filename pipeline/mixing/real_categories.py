"""A real export's categories and keypoint names mapped onto the rigs (`mix.real[i].categories`
and `.keypoints`); what cannot be mapped comes back as problems naming the key."""

from __future__ import annotations

from collections import Counter

from common.rig_model import RigModel
from pipeline.schema.mix_params import RealSource


def map_categories(data: dict, cfg: RealSource, rigs: list[dict], where: str) -> tuple[dict, list[str]]:
    """Export category id -> (the rig's model, rig index of each export keypoint or None)."""
    rig_by_name = {c["name"]: c for c in rigs}
    counts = Counter(a.get("category_id") for a in data["annotations"])
    problems, mapping, used_rigs = [], {}, set()
    for rig in cfg.categories.values():
        if rig is not None and rig not in rig_by_name:
            problems.append(f"{where}.categories: {rig!r} is not a rig; expected one of {sorted(rig_by_name)}")
    for name in set(cfg.categories) - {c.get("name") for c in data["categories"]}:
        problems.append(f"{where}.categories: the export has no category {name!r}")
    for cat in data["categories"]:
        name = cat.get("name")
        target = cfg.categories.get(name, name if name in rig_by_name else "")
        if target is None:
            continue
        if target == "":
            if counts.get(cat.get("id"), 0):
                problems.append(
                    f"{where}: category {name!r} ({counts[cat.get('id')]} annotations) is not a rig; "
                    f"map it in categories: {{{name}: RIG}} (one of {sorted(rig_by_name)}) "
                    "or to null to drop it"
                )
            continue  # e.g. Roboflow's unused placeholder category
        rig = rig_by_name[target]
        used_rigs.add(target)
        names = cat.get("keypoints") or []
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            problems.append(f"{where}: category {name!r}: keypoints {names!r}, expected a list of names")
            continue
        kmap = cfg.keypoints.get(target, {})
        for n in set(kmap) - set(names):
            problems.append(
                f"{where}.keypoints.{target}: {n!r} is not a keypoint of category {name!r} (it has {names})"
            )
        index, covered = [], []
        for n in names:
            t = kmap.get(n, n)
            if t is None:
                index.append(None)
            elif t not in rig["keypoints"]:
                problems.append(
                    f"{where}: keypoint {n!r} of category {name!r} is not a keypoint of rig "
                    f"{target!r} ({rig['keypoints']}); map it in keypoints.{target}: "
                    f"{{{n}: NAME}} or to null to drop it"
                )
                index.append(None)
            else:
                index.append(rig["keypoints"].index(t))
                covered.append(t)
        missing = [k for k in rig["keypoints"] if k not in covered]
        if missing:
            problems.append(
                f"{where}: category {name!r} lacks rig {target!r} keypoints {missing} "
                f"(it has {names}); map its names in keypoints.{target}"
            )
        twice = sorted({t for t in covered if covered.count(t) > 1})
        if twice:
            problems.append(f"{where}: category {name!r}: several keypoints map onto {twice}")
        mapping[cat.get("id")] = (RigModel.from_category(rig), index)
    for rig in set(cfg.keypoints) - used_rigs:
        problems.append(f"{where}.keypoints: {rig!r} is not a rig that this export's categories map onto")
    return mapping, problems
