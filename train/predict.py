"""Run a trained model on an image, a folder of images or a video.

    python -m train.predict --model models/best.pt --input photo.jpg --out predictions
    python -m train.predict --model models/best.pt --input clip.mp4 --score-thresh 0.3

Writes <out>/results.json (COCO results: bbox xywh, keypoints [x, y, 1] * K, score, plus
keypoint_scores) and <out>/images.json (the COCO `images` and `categories` they refer to, so
`COCO("images.json").loadRes("results.json")` works), and annotated copies: <out>/annotated/
for images, <out>/<video name>_annotated.mp4 for a video. Detections kept follow the model
thresholds (params `model.box_score_thresh`, `box_nms_thresh`, `box_detections_per_img`, or the
flags); only those scoring at least --draw-thresh are drawn. An image that cannot be read, or is
too thin for the model, is named and skipped, and a video shorter than its container says is
reported: the results cover the rest, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import torch

from common.atomic import replacing, write_bytes, write_json
from pipeline.drawing.draw import draw_annotations
from pipeline.drawing.draw_style import PRED_COLOR
from pipeline.errors import run_command
from pipeline.outputs import own_output, refuse_overlap, stage_owner
from pipeline.schema import load_params
from pipeline.schema.train_params import EvaluateConfig, ModelConfig, RuntimeConfig
from pipeline.stage_args import add_set, parse_overrides, stage_parser
from train.checkpoint import load, model_from_checkpoint
from train.dataset import DatasetError, LabelMap, fit_size, read_rgb
from train.devices import DeviceSetup, place_model, setup_device
from train.engine import to_coco_results, to_file_pixels

OWNER = stage_owner("predict")  # its marker in --out: a later run may write there again

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"}


def list_images(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DatasetError(f"--input {folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def read_video(path: Path) -> tuple[Iterator[np.ndarray], float, int]:
    """RGB frames, frames per second, frame count (as the container reports it)."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise DatasetError(f"--input {path}: cannot be opened as a video")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))

    def frames():
        try:
            while True:
                ok, bgr = cap.read()
                if not ok:
                    return
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            cap.release()

    return frames(), fps, count


def input_size(model, width: int, height: int) -> tuple[int, int]:
    """(w, h) pixels an image of this size is area-downscaled to before the model sees it."""
    return fit_size(width, height, (model.transform.min_size[0], model.transform.max_size))


def unusable(model, rgb: np.ndarray) -> str | None:
    """Why the model cannot look at this image (one so thin that its input would have no row or
    column), or None."""
    h, w = rgb.shape[:2]
    size = input_size(model, w, h)
    if min(size) < 1:
        return f"{w}x{h} pixels is too thin for the model (its input would be {size[0]}x{size[1]})"
    return None


def frames_in(path: Path) -> int:
    """How many frames a video file holds, as its container says (0 when it cannot be opened)."""
    cap = cv2.VideoCapture(str(path))
    try:
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
    finally:
        cap.release()


@torch.inference_mode()
def detect(model, rgbs: list[np.ndarray], setup: DeviceSetup, labels: LabelMap, ids: list[int]) -> list[dict]:
    """COCO results for a batch of RGB uint8 images, each area-downscaled to the model's input size
    first as in training and evaluation (the model's own bilinear resize aliases big photos)."""
    images, scales = [], []
    for im in rgbs:
        h, w = im.shape[:2]
        size = input_size(model, w, h)
        if size != (w, h):
            im = cv2.resize(im, size, interpolation=cv2.INTER_AREA)
        scales.append((size[0] / w, size[1] / h))
        images.append(torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1).to(setup.device).float().div_(255))
    with setup.autocast():
        outputs = model(images)
    results = []
    for image_id, o, sc in zip(ids, outputs, scales, strict=True):
        cpu = to_file_pixels({k: v.float().cpu() for k, v in o.items()}, *sc)
        results += to_coco_results(image_id, cpu, labels)
    return results


def _batches(items, size):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def run(args: argparse.Namespace) -> int:
    src, out = Path(args.input), Path(args.out)
    if not src.exists():
        raise FileNotFoundError(f"--input {src}: not found")
    refuse_overlap(out, {"--input": src, "--model": args.model})
    own_output(out, OWNER)
    params_path = Path(args.params) if args.params else None
    if params_path is not None and params_path.is_file():
        params = load_params(params_path, parse_overrides(args.overrides))
        runtime, model_cfg, eval_cfg = params.runtime, params.model, params.evaluate
    elif args.params and args.params != "params.yaml":
        raise FileNotFoundError(f"--params {args.params}: not found")
    else:
        runtime, model_cfg, eval_cfg = RuntimeConfig(), None, EvaluateConfig()
    ckpt = load(args.model)
    base = ModelConfig.model_validate(ckpt["model_config"])
    base = model_cfg or base
    overrides = {
        "box_score_thresh": args.score_thresh if args.score_thresh is not None else base.box_score_thresh,
        "box_nms_thresh": args.nms_thresh if args.nms_thresh is not None else base.box_nms_thresh,
        "box_detections_per_img": args.max_detections or base.box_detections_per_img,
    }
    model, labels, _ = model_from_checkpoint(ckpt, **overrides)
    setup = setup_device(runtime)
    place_model(model, setup)
    draw_thresh = args.draw_thresh if args.draw_thresh is not None else eval_cfg.draw_score_thresh
    cats = labels.to_json()
    batch = args.batch_size or runtime.predict_batch_size
    images, results = [], []
    (out / "annotated").mkdir(parents=True, exist_ok=True)

    def annotate(rgb, image_results):
        shown = [r for r in image_results if r["score"] >= draw_thresh]
        drawn = draw_annotations(rgb, shown, cats, color=PRED_COLOR, results=True, labels=False, masks=False)
        return np.asarray(drawn)

    from tqdm import tqdm

    problems = []  # images skipped, and a video cut short: reported at the end, exit status 1
    if src.suffix.lower() in VIDEO_SUFFIXES:
        frames, fps, count = read_video(src)
        bar = tqdm(total=count or None, desc=src.name, unit="frame")
        with replacing(out / f"{src.stem}_annotated.mp4", suffix=".mp4") as video_tmp:  # whole, or not at all
            writer, index = None, 0
            for chunk in _batches(frames, batch):
                if index == 0 and (why := unusable(model, chunk[0])):
                    raise DatasetError(f"--input {src}: {why}")
                ids = list(range(index + 1, index + 1 + len(chunk)))
                found = detect(model, chunk, setup, labels, ids)
                results += found
                for image_id, rgb in zip(ids, chunk, strict=True):
                    h, w = rgb.shape[:2]
                    images.append(
                        {"id": image_id, "file_name": f"{src.name}#frame={image_id - 1}", "width": w, "height": h}
                    )
                    if writer is None:
                        writer = cv2.VideoWriter(str(video_tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
                    drawn = annotate(rgb, [r for r in found if r["image_id"] == image_id])
                    writer.write(cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
                index += len(chunk)
                bar.update(len(chunk))
            bar.close()
            if writer is None:
                raise DatasetError(f"--input {src}: no frames could be read")
            writer.release()
            if (written := frames_in(video_tmp)) != len(images):  # the writer does not say when a write fails
                raise OSError(
                    f"{out / f'{src.stem}_annotated.mp4'}: the annotated video holds {written} of {len(images)} "
                    "frames (a full disk?); free some space or write elsewhere (--out)"
                )
        if not images:
            raise DatasetError(f"--input {src}: no frames could be read")
        if count > len(images):
            problems.append(
                f"{src}: the container says {count} frames, {len(images)} could be read (cut short?); "
                "the results and the annotated video cover those"
            )
    else:
        files = [src] if src.is_file() else list_images(src)
        if src.is_file() and src.suffix.lower() not in IMAGE_SUFFIXES:
            raise DatasetError(f"--input {src}: not an image or video file by its suffix")

        def readable() -> Iterator[tuple[int, Path, np.ndarray]]:
            """(id, file, RGB) of each image the model can look at; the others are named and skipped."""
            for image_id, path in enumerate(files, start=1):
                try:
                    rgb = read_rgb(path)
                except DatasetError as exc:
                    problems.append(f"{exc}; skipped")
                    continue
                if why := unusable(model, rgb):
                    problems.append(f"{path}: {why}; skipped")
                    continue
                yield image_id, path, rgb

        for chunk in _batches(readable(), batch):
            rgbs = [rgb for _, _, rgb in chunk]
            ids = [i for i, _, _ in chunk]
            found = detect(model, rgbs, setup, labels, ids)
            results += found
            for image_id, path, rgb in chunk:
                h, w = rgb.shape[:2]
                name = path.name if src.is_file() else str(path.relative_to(src))
                images.append({"id": image_id, "file_name": name, "width": w, "height": h})
                drawn = annotate(rgb, [r for r in found if r["image_id"] == image_id])
                ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
                write_bytes(out / "annotated" / f"{path.stem}.jpg", jpeg.tobytes())
    for line in problems:
        print(f"warning: {line}", file=sys.stderr)
    if not images:
        raise DatasetError(f"--input {src}: none of its {len(problems)} image(s) could be used (listed above)")
    write_json(out / "results.json", results)
    meta = {"images": images, "annotations": [], "categories": labels.to_json()}
    write_json(out / "images.json", meta)
    shown = sum(r["score"] >= draw_thresh for r in results)
    print(
        f"{len(images)} image(s), {len(results)} detections "
        f"({shown} drawn at score >= {draw_thresh}); wrote {out / 'results.json'}"
    )
    if problems:
        print(f"error: {len(problems)} problem(s) above; the results cover the rest", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("rig2kp predict", __doc__)
    parser.add_argument("--model", default="models/best.pt", help="checkpoint (best.pt or last.pt)")
    parser.add_argument("--input", required=True, help="an image, a folder of images, or a video")
    parser.add_argument("--out", default="predictions", help="output folder")
    parser.add_argument(
        "--params",
        default="params.yaml",
        help="params for thresholds and device (default: params.yaml if present)",
    )
    add_set(parser)
    parser.add_argument("--score-thresh", type=float, help="keep detections scoring at least this")
    parser.add_argument("--nms-thresh", type=float, help="box IoU above which NMS drops a detection")
    parser.add_argument("--max-detections", type=int, help="most detections per image")
    parser.add_argument("--draw-thresh", type=float, help="draw detections scoring at least this")
    parser.add_argument("--batch-size", type=int, help="images per forward pass")
    args = parser.parse_args(argv)
    return run_command(lambda: run(args))


if __name__ == "__main__":
    raise SystemExit(main())
