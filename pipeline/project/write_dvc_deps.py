"""Write into dvc.yaml the deps that params name: meshes and their textures, decal images, clutter
meshes, background photos, calibration files (render) and real exports (mix).

    rig2kp dvc-deps [--dvc-yaml dvc.yaml] [--dry-run]     (= python -m pipeline.project.write_dvc_deps)

Run it after editing a file path in params. Each line it writes ends in `# dvc-deps: KEY` (the
params key that names the file); the next run replaces those lines and keeps every other line
and comment of dvc.yaml. The stages' params file is the one their command passes (`--params`).
"""

from __future__ import annotations

from pathlib import Path

from common.atomic import write_text
from pipeline.errors import run_command
from pipeline.project.dvc_deps import MARK, DepsError, needed_deps, rewrite, yaml_item
from pipeline.stage_args import stage_parser


def main(argv: list[str] | None = None) -> int:
    p = stage_parser("rig2kp dvc-deps", __doc__)
    p.add_argument("--dvc-yaml", type=Path, default=Path("dvc.yaml"), help="the pipeline file (default: dvc.yaml)")
    p.add_argument("--dry-run", action="store_true", help="print the deps lines; leave dvc.yaml as it is")
    args = p.parse_args(argv)

    def run() -> int:
        if not args.dvc_yaml.is_file():
            raise DepsError(f"{args.dvc_yaml}: not found (--dvc-yaml names the pipeline file)")
        wanted = needed_deps(args.dvc_yaml)
        for name, items in wanted.items():
            print(f"stage {name}: {len(items)} file(s) that params name, beyond its own deps")
            for path, key in items:
                print(f"  - {yaml_item(path)}  {MARK} {key}")
        if not args.dry_run:
            text = args.dvc_yaml.read_text()
            new = rewrite(text, wanted)
            if new != text:
                write_text(args.dvc_yaml, new)
                print(f"wrote {args.dvc_yaml}")
        return 0

    return run_command(run)


if __name__ == "__main__":
    raise SystemExit(main())
