"""Check a COCO keypoint file and its images against docs/reference/DATA_FORMAT.md.

    python -m pipeline.inspection.validate PATH [--no-images]

PATH is a COCO JSON file or a dataset folder (its `annotations.json`, or the mix stage's
`train/val/test/val_synthetic.json`). Prints every problem with the id it concerns; errors
break training or evaluation, warnings break our conventions. Exits 1 when there are errors.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from pipeline.coco_files import coco, coco_checks, coco_needs
from pipeline.coco_files.coco_checks import Problem
from pipeline.errors import run_command

SPLITS = ("train.json", "val.json", "test.json", "val_synthetic.json")


def files_of(path: Path) -> list[Path]:
    """The COCO files named by PATH: the file, annotations.json, or the mix stage's splits."""
    if path.is_dir() and not (path / coco.ANNOTATIONS).is_file():
        found = [path / s for s in SPLITS if (path / s).is_file()]
        if found:
            return found
    return [coco.resolve_json(path)]


def validate_path(path: str | Path, check_images: bool = True, progress: bool = False) -> list[Problem]:
    """Problems of every file PATH names (`coco_needs.VALIDATE`: errors break training or
    evaluation, warnings our conventions); ids shared by several files must name the same image."""
    needs = coco_needs.VALIDATE if check_images else coco_needs.without_images(coco_needs.VALIDATE)
    problems, first_seen = [], {}
    for f in files_of(Path(path)):
        data = coco.load_json(f)
        found = coco_checks.check(data, needs, f.parent, progress)
        problems += [replace(p, file=f.name) for p in found]
        for img in data["images"]:
            prev = first_seen.setdefault(img.get("id"), (f.name, img.get("file_name")))
            if prev[1] != img.get("file_name"):
                key = f"images[id={img.get('id')}]"
                message = f"id also used in {prev[0]} for {prev[1]}"
                problems.append(Problem("error", key, message, "ids", f.name))
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m pipeline.inspection.validate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", type=Path, nargs="?", default=Path("data/synthetic/annotations.json"))
    p.add_argument("--no-images", action="store_true", help="do not open the image files")
    args = p.parse_args(argv)

    def run() -> int:
        problems = validate_path(args.path, not args.no_images, progress=True)
        for prob in problems:
            print(prob.line())
        errors = sum(p.level == "error" for p in problems)
        print(f"{args.path}: {errors} error(s), {len(problems) - errors} warning(s)")
        return 1 if errors else 0

    return run_command(run)


if __name__ == "__main__":
    raise SystemExit(main())
