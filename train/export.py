"""Export a trained model to ONNX and TorchScript, and check each against PyTorch.

    python -m train.export --model models/best.pt --out exports --input data/mixed --split test

Both take one float32 RGB image [3, H, W] in [0, 1] (any H, W) and return boxes [N, 4] (x1, y1,
x2, y2 pixels), labels [N] (1..categories, see export.json), scores [N], keypoints [N, K, 3] and
keypoints_scores [N, K]. The ONNX file is checked with onnxruntime, the TorchScript file with
torch.jit.load, on --check-images images of the split (or random images without --data):

each image area-resized to the model's input size first (as `predict`, `evaluate` and training
load images): the same detections, boxes and keypoints within --atol pixels, or the export fails.

Feed the exported model images at that size too (export.json: input.resize; scale the outputs
back). It still resizes other sizes itself, with the bilinear resize of torchvision's transform:
that aliases large photos (1920 -> 398 px reads 1 pixel in 5) and its exported op samples them
slightly differently from PyTorch's, enough to change detections on a 1920 x 1080 photo.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import torch

from common.atomic import replacing, write_json
from pipeline.errors import Rig2kpError, run_command
from pipeline.outputs import Owner, refuse_overlap, take_output
from pipeline.stage_args import stage_parser
from train.checkpoint import load, model_from_checkpoint
from train.dataset import load_split, model_input_size, read_rgb

OUTPUTS = ["boxes", "labels", "scores", "keypoints", "keypoints_scores"]
# an export folder is one holding the export.json an export wrote (written first, completed last)
OWNER = Owner("export", "export.json", {"outputs": OUTPUTS, "checks": None})


class ExportCheckError(Rig2kpError, RuntimeError):
    """An exported model whose outputs differ from PyTorch's beyond the tolerance."""


def check_images(data: str | None, split: str, n: int, seed: int = 0) -> list[np.ndarray]:
    """RGB uint8 images to trace and check with: n of the split (spread by id) or random ones."""
    if data is None:
        rng = np.random.default_rng(seed)
        return [rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8) for h, w in ((240, 320), (300, 200))][:n]
    s = load_split(Path(data) / f"{split}.json")
    images = sorted(s.images, key=lambda im: im["id"])
    picks = sorted({int(i) for i in np.linspace(0, len(images) - 1, n)})
    return [read_rgb(s.root / images[i]["file_name"]) for i in picks]


def to_input(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb).permute(2, 0, 1).float().div(255.0).contiguous()


def at_model_size(rgb: np.ndarray, min_size: int, max_size: int) -> np.ndarray:
    """The image at the size the model resizes it to, so the model's own resize is the identity."""
    import cv2

    h, w = rgb.shape[:2]
    size = model_input_size(w, h, min_size, max_size)
    if size == (w, h):
        return rgb
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if size[0] < w else cv2.INTER_LINEAR)


def pair_detections(ref: dict[str, np.ndarray], got: dict[str, np.ndarray], atol: float) -> list[tuple[int, int]]:
    """(ref index, got index) of the same detection: same label, box corners within `atol` px. Matched
    by position, not by rank: two detections of nearly equal score may come out in either order."""
    free = list(range(len(got["boxes"])))
    pairs = []
    for i in np.argsort(-ref["scores"], kind="stable"):
        candidates = [j for j in free if got["labels"][j] == ref["labels"][i]]
        if not candidates:
            continue
        j = min(candidates, key=lambda j: float(np.abs(ref["boxes"][i] - got["boxes"][j]).max()))
        if float(np.abs(ref["boxes"][i] - got["boxes"][j]).max()) <= atol:
            pairs.append((int(i), j))
            free.remove(j)
    return pairs


def compare(
    name: str, ref: dict[str, np.ndarray], got: dict[str, np.ndarray], atol: float, borderline: float = -1.0
) -> dict:
    """Max differences over paired detections; raises ExportCheckError when a detection has no twin
    or coordinates and scores disagree. A detection whose score is within 1e-3 of `borderline` (the
    score threshold, or the lowest score kept at the detection cap) may be missing on one side: the
    two runtimes round it to either side of the cut."""
    pairs = pair_detections(ref, got, atol)
    lonely = [("PyTorch", ref, i) for i in sorted(set(range(len(ref["boxes"]))) - {i for i, _ in pairs})]
    lonely += [("the export", got, j) for j in sorted(set(range(len(got["boxes"]))) - {j for _, j in pairs})]
    unexplained = [
        (who, float(out["scores"][k]), int(out["labels"][k]))
        for who, out, k in lonely
        if abs(float(out["scores"][k]) - borderline) > 1e-3
    ]
    if unexplained:
        who, score, label = unexplained[0]
        raise ExportCheckError(
            f"{name}: {len(got['boxes'])} detections (labels {got['labels'][:10].tolist()}), PyTorch "
            f"{len(ref['boxes'])} ({ref['labels'][:10].tolist()}); {len(unexplained)} without a twin, e.g. "
            f"label {label} at score {score:.4f} from {who}"
        )
    ri = np.array([i for i, _ in pairs], dtype=int)
    gi = np.array([j for _, j in pairs], dtype=int)
    diffs = {k: float(np.abs(ref[k][ri] - got[k][gi]).max()) if len(pairs) else 0.0 for k in OUTPUTS if k != "labels"}
    coords = max(
        diffs["boxes"],
        float(np.abs(ref["keypoints"][ri][..., :2] - got["keypoints"][gi][..., :2]).max()) if len(pairs) else 0.0,
    )
    if coords > atol or diffs["scores"] > 1e-3:
        raise ExportCheckError(f"{name}: outputs differ from PyTorch: {diffs} (atol {atol} px)")
    return diffs


def _numpy(out: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {k: out[k].detach().cpu().numpy() for k in OUTPUTS}


def export_onnx(model, example: torch.Tensor, path: Path, opset: int) -> None:
    dynamic = {"image": {1: "height", 2: "width"}} | {k: {0: "detections"} for k in OUTPUTS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shapes torchvision handles
        torch.onnx.export(
            model,
            ([example],),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=["image"],
            output_names=OUTPUTS,
            dynamic_axes=dynamic,
        )


def check_export(path: Path, model, run, inputs: list[torch.Tensor], atol: float) -> dict:
    """Largest differences between PyTorch and `run(x)` (the exported model) over `inputs`."""
    worst: dict[str, float] = {}
    heads = model.roi_heads
    for i, x in enumerate(inputs):
        with torch.inference_mode():
            ref = _numpy(model([x])[0])
        full = len(ref["scores"]) >= heads.detections_per_img  # then the cut is the lowest score kept
        borderline = float(ref["scores"].min()) if full else heads.score_thresh
        for k, v in compare(f"{path} on check image {i}", ref, run(x), atol, borderline).items():
            worst[k] = max(worst.get(k, 0.0), v)
    return worst


def check_onnx(path: Path, model, inputs: list[torch.Tensor], atol: float) -> dict:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return check_export(
        path, model, lambda x: dict(zip(OUTPUTS, session.run(OUTPUTS, {"image": x.numpy()}), strict=True)), inputs, atol
    )


def export_torchscript(model, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit deprecation notices
        torch.jit.script(model).save(str(path))


def check_torchscript(path: Path, model, inputs: list[torch.Tensor], atol: float) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.load(str(path))

        def run(x):
            with torch.inference_mode():
                return _numpy(scripted([x])[1][0])  # scripted detectors return (losses, detections)

        return check_export(path, model, run, inputs, atol)


def run(args: argparse.Namespace) -> int:
    with torch.no_grad():
        return _export(args)


def _export(args: argparse.Namespace) -> int:
    refuse_overlap(args.out, {"--model": args.model, "--input folder": args.data})
    take_output(args.out, OWNER)
    ckpt = load(args.model)
    overrides = {}
    if args.score_thresh is not None:
        overrides["box_score_thresh"] = args.score_thresh
    model, labels, cfg = model_from_checkpoint(ckpt, **overrides)
    images = check_images(args.data, args.split, args.check_images)
    inputs = [to_input(at_model_size(im, cfg.min_size, cfg.max_size)) for im in images]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "model": str(args.model),
        "input": {
            "name": "image",
            "dtype": "float32",
            "shape": ["3", "height", "width"],
            "range": [0.0, 1.0],
            "channels": "RGB",
            # images already at this size give PyTorch's results exactly; others are resized inside
            "resize": {"min_size": cfg.min_size, "max_size": cfg.max_size},
        },
        "outputs": OUTPUTS,
        "labels": {str(i + 1): c.name for i, c in enumerate(labels.categories)},
        "categories": labels.to_json(),
        "num_keypoints": labels.num_keypoints,
        "box_score_thresh": cfg.box_score_thresh,
        "box_nms_thresh": cfg.box_nms_thresh,
        "box_detections_per_img": cfg.box_detections_per_img,
        "checks": {},
    }
    write_json(out / OWNER.marker, meta, indent=1)  # the folder is an export's from here on; no checks yet
    if "onnx" in args.formats:  # written and checked under a temporary name: a failed check leaves no model
        path = out / "model.onnx"
        with replacing(path) as tmp:
            export_onnx(model, inputs[0], tmp, args.opset)
            meta["checks"]["onnx"] = {"file": path.name, "max_abs_diff": check_onnx(tmp, model, inputs, args.atol)}
        print(f"wrote {path}; onnxruntime matches PyTorch on {len(inputs)} image(s)")
    if "torchscript" in args.formats:
        path = out / "model.torchscript.pt"
        with replacing(path) as tmp:
            export_torchscript(model, tmp)
            meta["checks"]["torchscript"] = {
                "file": path.name,
                "max_abs_diff": check_torchscript(tmp, model, inputs, args.atol),
            }
        print(f"wrote {path}; TorchScript matches PyTorch on {len(inputs)} image(s)")
    write_json(out / "export.json", meta, indent=1)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("rig2kp export", __doc__)
    parser.add_argument("--model", default="models/best.pt", help="checkpoint to export")
    parser.add_argument("--out", default="exports", help="output folder")
    parser.add_argument("--formats", nargs="+", choices=["onnx", "torchscript"], default=["onnx", "torchscript"])
    parser.add_argument(
        "--input", "--data", dest="data", help="dataset folder whose images check the export (default: random)"
    )
    parser.add_argument("--split", default="test", help="split of --input to check on (default: test)")
    parser.add_argument("--check-images", type=int, default=4, help="how many images to check on")
    parser.add_argument("--atol", type=float, default=0.01, help="pixels: allowed box/keypoint difference")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset")
    parser.add_argument("--score-thresh", type=float, help="bake a detection score threshold in")
    args = parser.parse_args(argv)
    return run_command(lambda: run(args))


if __name__ == "__main__":
    raise SystemExit(main())
