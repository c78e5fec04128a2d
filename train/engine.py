"""One training epoch and one prediction pass (torchvision references' `engine.py` names).

Losses stay on the device and are read back every `log_every` iterations only: reading a GPU
number each step (as the reference loop does) stalls the pipeline.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from tqdm import tqdm

from train import ddp
from train.dataset import LabelMap
from train.devices import DeviceSetup, to_device


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def train_one_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    loader,
    setup: DeviceSetup,
    scaler: torch.amp.GradScaler,
    *,
    epoch: int,
    clip_grad_norm: float = 0.0,
    ema: torch.optim.swa_utils.AveragedModel | None = None,
    world: ddp.World = ddp.SINGLE,
    log_every: int = 10,
    progress: bool = True,
) -> dict[str, float]:
    """Train for one pass over `loader`; returns the epoch's mean losses (over all ranks) and lr."""
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    names, sums, n = None, None, 0
    shown = progress and world.is_main
    bar = tqdm(total=len(loader), desc=f"epoch {epoch + 1}", disable=not shown, leave=False)
    for i, (images, targets) in enumerate(loader):
        images, targets = to_device(images, targets, setup)
        with setup.autocast():
            loss_dict = model(images, targets)
        loss = sum(loss_dict.values())
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if clip_grad_norm > 0:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(params, clip_grad_norm)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        if ema is not None:
            ema.update_parameters(unwrap(model))
        names = names or sorted(loss_dict)
        step = torch.stack([loss_dict[k].detach().float() for k in names])
        sums = step if sums is None else sums + step
        n += 1
        if n % log_every == 0 or i + 1 == len(loader):
            running = (sums / n).tolist()  # the only device -> host sync
            if not all(math.isfinite(v) for v in running):
                raise FloatingPointError(
                    f"epoch {epoch + 1}, iteration {i + 1}: loss is not finite "
                    f"({dict(zip(names, running, strict=True))}); lower train.lr or check the data"
                )
            bar.set_postfix(loss=f"{sum(running):.3f}", lr=f"{optimizer.param_groups[0]['lr']:.2e}")
        bar.update()
    bar.close()
    if sums is None:
        raise RuntimeError("the training loader gave no batches (is train.json empty?)")
    means = ddp.all_reduce_mean(sums / n).tolist()
    out = {f"loss_{k.removeprefix('loss_')}": v for k, v in zip(names, means, strict=True)}
    out["loss"] = float(sum(means))
    out["lr"] = float(optimizer.param_groups[0]["lr"])
    return out


def to_coco_results(image_id: int, output: dict[str, torch.Tensor], labels: LabelMap) -> list[dict]:
    """One image's detections as COCO results: xywh boxes, keypoints cut to the category's K."""
    out = []
    boxes = output["boxes"].tolist()
    kps = output["keypoints"].tolist()
    kp_scores = output["keypoints_scores"].tolist()
    for box, label, score, kp, ks in zip(
        boxes, output["labels"].tolist(), output["scores"].tolist(), kps, kp_scores, strict=True
    ):
        cat = labels.category(int(label))
        k = cat.num_keypoints
        x1, y1, x2, y2 = box
        out.append(
            {
                "image_id": int(image_id),
                "category_id": cat.id,
                "bbox": [round(x1, 3), round(y1, 3), round(x2 - x1, 3), round(y2 - y1, 3)],
                "score": round(float(score), 5),
                "keypoints": [v for x, y, _ in kp[:k] for v in (round(x, 3), round(y, 3), 1)],
                "keypoint_scores": [round(float(s), 4) for s in ks[:k]],
            }
        )
    return out


def to_file_pixels(output: dict[str, torch.Tensor], sx: float, sy: float) -> dict[str, torch.Tensor]:
    """Detections on an image loaded at (sx, sy) image pixels per file pixel, in file pixels."""
    return {
        **output,
        "boxes": output["boxes"] / torch.tensor([sx, sy, sx, sy]),
        "keypoints": output["keypoints"] / torch.tensor([sx, sy, 1.0]),
    }


@torch.inference_mode()
def predict(
    model: nn.Module,
    loader,
    setup: DeviceSetup,
    labels: LabelMap,
    world: ddp.World = ddp.SINGLE,
    desc: str = "predict",
) -> list[dict]:
    """COCO results for every image of `loader` (each rank its shard; all ranks get all)."""
    model = unwrap(model)
    model.eval()
    results = []
    for images, targets in tqdm(loader, desc=desc, disable=not world.is_main, leave=False):
        images, _ = to_device(images, [], setup)
        with setup.autocast():
            outputs = model(images)
        for t, o in zip(targets, outputs, strict=True):
            cpu = {k: v.float().cpu() for k, v in o.items()}
            if "scale" in t:  # loaded at the model's size: back to the file's pixels
                cpu = to_file_pixels(cpu, *(float(v) for v in t["scale"]))
            results += to_coco_results(int(t["image_id"]), cpu, labels)
    gathered = ddp.gather_objects(results)
    merged = [r for part in gathered for r in part]
    merged.sort(key=lambda r: (r["image_id"], -r["score"]))
    return merged
