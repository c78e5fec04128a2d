"""Make the pictures of README.md and docs/guide/tutorial.md (docs/img/*.png).

    python docs/img/make_images.py          # from the repository root, environment active

README's picture: renders of the shipped `params.yaml` rigs, drawn by `rig2kp inspect`. The
tutorial's: its runnable blocks, run as tests/test_docs.py runs them (a scratch copy of the
repository, renders at another seed standing in for the labelled photos) with the PICTURES sizes
below, and the pictures each step writes. Every picture is reduced to a 256-colour palette and at
most MAX_WIDTH pixels wide, so each stays well under 300 KB. A few minutes on 2 cores.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import yaml
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support import doc_blocks  # noqa: E402  (the runner the doc test uses)

OUT = ROOT / "docs" / "img"
MAX_WIDTH = 960
README_SIZES = {"render": {"num_images": 12, "resolutions": [[200, 150]], "samples": 16, "workers": 0}}
PICTURES = {
    **doc_blocks.TINY,
    "render": {
        **doc_blocks.TINY["render"],
        "num_images": 24,
        "resolutions": [[240, 180]],
        "samples": 16,
        "denoise": True,
        "workers": 0,
    },
    "train": {**doc_blocks.TINY["train"], "iterations": 60},
    "model": {**doc_blocks.TINY["model"], "min_size": 180, "max_size": 240},
}


def save(src: Path, name: str) -> None:
    """`src` as a palette PNG in docs/img/, at most MAX_WIDTH wide."""
    with Image.open(src) as im:
        im = im.convert("RGB")
        if im.width > MAX_WIDTH:
            im = im.resize((MAX_WIDTH, round(im.height * MAX_WIDTH / im.width)), Image.Resampling.LANCZOS)
        im.quantize(256, method=Image.Quantize.MEDIANCUT).save(OUT / name, optimize=True)
    print(f"wrote docs/img/{name}: {(OUT / name).stat().st_size // 1024} KB")


def readme_picture(root: Path, env: dict) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    (root / "pictures.yaml").write_text(yaml.safe_dump(doc_blocks.deep_merge(params, README_SIZES), sort_keys=False))
    doc_blocks.sh("rig2kp render --params pictures.yaml --out data/pictures", root, env)
    doc_blocks.sh("rig2kp inspect data/pictures --num 12 --columns 4 --thumb 240 --out inspect/pictures", root, env)
    save(root / "inspect/pictures/overlays.png", "renders.png")


def tutorial_pictures(root: Path, env: dict) -> None:
    tutorial = root / "docs" / "guide" / "tutorial.md"

    def before(block):
        if block.kind == "run" and "rig2kp preview" in block.text:
            doc_blocks.cvat_standin(root, root / "my_pen" / "params.yaml", env)

    doc_blocks.run_page(tutorial, root, env, before=before, sizes=PICTURES)
    save(root / "preview/pen.png", "tutorial-preview.png")
    save(root / "inspect/synthetic/overlays.png", "tutorial-inspect.png")
    save(root / "inspect/synthetic/stats.png", "tutorial-stats.png")
    save(root / "data/pen/metrics/contact_sheets/test.jpg", "tutorial-evaluate.png")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="rig2kp_pictures_") as tmp:
        root = doc_blocks.copy_repo(Path(tmp) / "repo")
        env = doc_blocks.environment(root)
        readme_picture(root, env)
        tutorial_pictures(root, env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
