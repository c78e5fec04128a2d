"""Make sure the stages run in the project's environment, before anything heavy is imported.

`.venv/bin/dvc repro` starts every stage's `python3` from PATH (dvc.yaml names `python3`, which
stock Debian and Ubuntu have and `python` they lack), which is not the environment's when it is
not activated. Such a Python lacks our dependencies: the `pipeline` and `train` packages call
`require()` on import, before anything heavy; when the project's own `.venv` exists, the command
is run again with its Python; otherwise it stops with one line that says how to get the right
one. Plain syntax only: this runs under whatever `python3` PATH gives.
"""

import importlib.util
import os
import sys
from pathlib import Path

REQUIRED = ("numpy", "yaml", "pydantic", "PIL", "cv2", "pycocotools", "tqdm", "torch", "torchvision")
ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
REEXEC = "RIG2KP_REEXEC"


def missing_modules() -> list:
    return [name for name in REQUIRED if importlib.util.find_spec(name) is None]


def require() -> None:
    """Return when this Python has the dependencies; else re-run in .venv or exit with one line."""
    missing = missing_modules()
    if not missing:
        return
    argv = getattr(sys, "orig_argv", None)
    here = Path(sys.executable).absolute()
    if VENV_PYTHON.is_file() and here != VENV_PYTHON.absolute() and argv and not os.environ.get(REEXEC):
        os.environ[REEXEC] = "1"
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *argv[1:]])
    sys.stderr.write(
        "error: {} lacks {}: it is not rig2kp's environment. Activate it (`source .venv/bin/activate` "
        "after `make setup`), or install the project into this Python (`pip install -e .`)\n".format(
            sys.executable, ", ".join(missing)
        )
    )
    raise SystemExit(2)
