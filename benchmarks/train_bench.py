"""Training throughput: our trainer against torchvision's reference loop, side by side.

    python benchmarks/train_bench.py                      # CPU: tiny model on a toy set
    python benchmarks/train_bench.py --data data/mixed --params params.yaml --epochs 4   # GPU

Both loops train the same model (same initial weights) on the same images with the same batch
size, learning rate, momentum and weight decay, and only horizontal flips as augmentation; their
epochs alternate (reference, ours, reference, ours ...) so machine load hits both alike. The
first epoch of each is a warm-up and is not timed. Reported: training images per second (data
loading included, as a user waits for it) and the mean loss per epoch (the curves should agree).

The reference is torchvision's `references/detection` (train.py + engine.train_one_epoch +
coco_utils.ConvertCocoPolysToMask + transforms + GroupedBatchSampler) with its defaults: fp32,
PIL decoding, masks decoded for every image, float images built by the loader workers, a
`.item()` sync per iteration for logging. Two changes were needed to run it on our data: the
COCO-person keypoint flip table is replaced by the rig's flip pairs, and masks are decoded from
compressed RLE (the reference only handles polygons for non-crowd instances); category ids are
mapped to the model's labels as ours are. It needs one K for all categories, so the toy set here
has one rig.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from pycocotools import mask as coco_mask
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, Sampler
from torchvision.transforms import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.schema import load_params  # noqa: E402
from pipeline.schema.train_params import Augmentation, ModelConfig, RuntimeConfig, TrainConfig  # noqa: E402
from train.dataset import KeypointDataset, load_split  # noqa: E402
from train.ddp import SINGLE  # noqa: E402
from train.devices import make_scaler, place_model, setup_device  # noqa: E402
from train.engine import train_one_epoch  # noqa: E402
from train.loaders import aspect_groups, train_loader  # noqa: E402
from train.network.model import build_model  # noqa: E402
from train.optim import build_optimizer, build_scheduler  # noqa: E402
from train.toyset import make_toyset  # noqa: E402
from train.transforms import TrainAugment  # noqa: E402

CPU_MODEL = {
    "backbone": "mobilenet_v3_small_fpn",
    "weights": "none",
    "fpn_channels": 64,
    "box_head_dim": 256,
    "keypoint_head": [64, 64, 64, 64],
    "min_size": 128,
    "max_size": 128,
    "anchor_sizes": [[16], [32], [64], [128]],
    "rpn_post_nms_top_n_train": 300,
    "box_batch_size_per_image": 128,
}

# ---------------------------------------------------------------- the reference, reproduced


class ReferenceCocoKeypoints(torch.utils.data.Dataset):
    """torchvision.datasets.CocoDetection + ConvertCocoPolysToMask + the hflip preset."""

    def __init__(self, split, labels, flip_inds: list[int]):
        self.split, self.labels, self.flip_inds = split, labels, flip_inds
        self.ids = [im["id"] for im in split.images]
        self.images = {im["id"]: im for im in split.images}

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        image_id = self.ids[i]
        image = Image.open(self.split.root / self.images[image_id]["file_name"]).convert("RGB")
        anno = [a for a in self.split.anns_by_image.get(image_id, []) if a.get("iscrowd", 0) == 0]
        anno = [a for a in anno if self.labels.label_of(a["category_id"]) is not None]  # --category
        w, h = image.size
        boxes = torch.as_tensor([a["bbox"] for a in anno], dtype=torch.float32).reshape(-1, 4)
        boxes[:, 2:] += boxes[:, :2]
        boxes[:, 0::2].clamp_(min=0, max=w)
        boxes[:, 1::2].clamp_(min=0, max=h)
        classes = torch.tensor([self.labels.label_of(a["category_id"]) for a in anno], dtype=torch.int64)
        masks = [torch.as_tensor(coco_mask.decode(a["segmentation"]), dtype=torch.uint8) for a in anno]
        masks = torch.stack(masks) if masks else torch.zeros((0, h, w), dtype=torch.uint8)
        keypoints = torch.as_tensor([a["keypoints"] for a in anno], dtype=torch.float32)
        keypoints = keypoints.view(keypoints.shape[0], -1, 3)
        keep = (boxes[:, 3] > boxes[:, 1]) & (boxes[:, 2] > boxes[:, 0])
        target = {
            "boxes": boxes[keep],
            "labels": classes[keep],
            "masks": masks[keep],
            "image_id": image_id,
            "keypoints": keypoints[keep],
            "area": torch.tensor([a["area"] for a in anno])[keep],
            "iscrowd": torch.tensor([a.get("iscrowd", 0) for a in anno])[keep],
        }
        if torch.rand(1) < 0.5:  # references/detection/transforms.RandomHorizontalFlip
            image = F.hflip(image)
            target["boxes"][:, [0, 2]] = w - target["boxes"][:, [2, 0]]
            target["masks"] = target["masks"].flip(-1)
            kp = target["keypoints"][:, self.flip_inds]
            kp[..., 0] = w - kp[..., 0]
            kp[kp[..., 2] == 0] = 0
            target["keypoints"] = kp
        image = F.convert_image_dtype(F.pil_to_tensor(image), torch.float)  # PILToTensor, ToDtype
        return image, target


class GroupedBatchSampler(BatchSampler):
    """references/detection/group_by_aspect_ratio.GroupedBatchSampler (same algorithm)."""

    def __init__(self, sampler: Sampler, group_ids, batch_size: int):
        self.sampler, self.group_ids, self.batch_size = sampler, group_ids, batch_size

    def __iter__(self):
        buffer, samples = defaultdict(list), defaultdict(list)
        num_batches = 0
        for idx in self.sampler:
            gid = self.group_ids[idx]
            buffer[gid].append(idx)
            samples[gid].append(idx)
            if len(buffer[gid]) == self.batch_size:
                yield buffer[gid]
                num_batches += 1
                del buffer[gid]
        expected = len(self)
        remaining = expected - num_batches
        if remaining > 0:
            for gid, _ in sorted(buffer.items(), key=lambda x: len(x[1]), reverse=True):
                batch = (buffer[gid] + samples[gid] * self.batch_size)[: self.batch_size]
                yield batch
                remaining -= 1
                if remaining == 0:
                    break

    def __len__(self):
        return len(self.sampler) // self.batch_size


def reference_collate(batch):
    return tuple(zip(*batch, strict=True))


def reference_train_one_epoch(model, optimizer, loader, device, epoch, warmup) -> list[float]:
    """references/detection/engine.train_one_epoch (single process, amp off: its defaults)."""
    model.train()
    lr_scheduler = warmup if epoch == 0 else None
    losses_seen = []
    for images, targets in loader:
        images = list(image.to(device) for image in images)
        targets = [{k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in t.items()} for t in targets]
        with torch.autocast(device_type=device.type, enabled=False):
            loss_dict = model(images, targets)
            losses = sum(loss for loss in loss_dict.values())
        loss_value = losses.item()  # reduce_dict is a no-op in one process
        if not math.isfinite(loss_value):
            raise FloatingPointError(f"reference loop: loss is {loss_value}")
        optimizer.zero_grad()
        losses.backward()
        optimizer.step()
        if lr_scheduler is not None:
            lr_scheduler.step()
        _ = {k: v.item() for k, v in loss_dict.items()}  # MetricLogger.update
        losses_seen.append(loss_value)
    return losses_seen


# ---------------------------------------------------------------- the benchmark


def only_annotated(split, labels):
    """The reference drops training images without annotations; both loops get the same list."""
    ids = {c.id for c in labels.categories}
    keep = [im for im in split.images if any(a["category_id"] in ids for a in split.anns_by_image.get(im["id"], []))]
    return dataclasses.replace(split, data={**split.data, "images": keep})


def _toy(tmp: Path, n: int, size: int) -> Path:
    return make_toyset(tmp, train=n, val=2, test=2, sizes=((size, size), (size, size * 3 // 4)), categories=("quad",))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", help="dataset folder with train.json (default: a generated toy set)")
    p.add_argument("--params", help="params.yaml for model / train (default: tiny CPU or ResNet-50 GPU)")
    p.add_argument("--category", help="train this rig only (the reference needs one keypoint count)")
    p.add_argument("--images", type=int, default=48, help="toy set size (without --data)")
    p.add_argument("--size", type=int, default=128, help="toy image width (without --data)")
    p.add_argument("--epochs", type=int, default=3, help="epochs per loop; the first is not timed")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")
    p.add_argument("--lr", type=float, default=0.005)
    p.add_argument("--out", help="write the results here as JSON")
    a = p.parse_args(argv)

    tmp = tempfile.TemporaryDirectory()
    data = Path(a.data) if a.data else _toy(Path(tmp.name), a.images, a.size)
    split = load_split(data / "train.json")
    labels = split.label_map([a.category] if a.category else None)
    split = only_annotated(split, labels)
    if len({c.num_keypoints for c in labels.categories}) != 1:
        raise SystemExit("the reference loop needs one keypoint count for all categories: use --category")
    train_cfg = TrainConfig(
        batch_size=a.batch_size, optimizer="sgd", iterations=None, eval_every=1, lr=a.lr, momentum=0.9,
        weight_decay=1e-4, warmup_iters=min(1000, math.ceil(len(split.images) / a.batch_size) - 1),
        schedule="step", lr_steps=[10_000], epochs=a.epochs, clip_grad_norm=0.0,
        augment=Augmentation(hflip=0.5, affine=0.0, color=0.0),
    )  # fmt: skip
    setup = setup_device(RuntimeConfig(workers=a.workers, threads=a.threads))
    if a.params:
        model_cfg = load_params(a.params).model
    elif setup.device.type == "cpu":
        model_cfg = ModelConfig.model_validate(CPU_MODEL)
    else:
        model_cfg = ModelConfig.full_size()
    torch.manual_seed(0)
    base, note, _ = build_model(model_cfg, labels.num_classes, labels.num_keypoints)

    # ours
    ours = place_model(copy.deepcopy(base), setup)
    ds = KeypointDataset(split, labels, TrainAugment(train_cfg.augment, labels), seed=0)
    our_loader = train_loader(ds, a.batch_size, a.workers, setup, world=SINGLE, seed=0)
    our_opt = build_optimizer(ours, train_cfg, setup.device)
    our_sched = build_scheduler(our_opt, train_cfg, len(our_loader))
    scaler = make_scaler(setup)

    # reference
    ref = copy.deepcopy(base).to(setup.device)
    flip = labels.categories[0].flip_index(labels.num_keypoints).tolist()
    ref_ds = ReferenceCocoKeypoints(split, labels, flip)
    groups = aspect_groups(ds.aspect_ratios())
    ref_loader = DataLoader(
        ref_ds, batch_sampler=GroupedBatchSampler(RandomSampler(ref_ds), groups, a.batch_size),
        num_workers=a.workers, collate_fn=reference_collate,
    )  # fmt: skip
    ref_opt = torch.optim.SGD(
        [q for q in ref.parameters() if q.requires_grad], lr=a.lr, momentum=0.9, weight_decay=1e-4
    )
    ref_warm = torch.optim.lr_scheduler.LinearLR(
        ref_opt, start_factor=1.0 / 1000, total_iters=min(1000, len(ref_loader) - 1)
    )

    timings = {"reference": [], "ours": []}
    curves = {"reference": [], "ours": []}
    images = {"reference": len(ref_loader) * a.batch_size, "ours": len(ds)}
    print(f"device: {setup.describe()}; model {model_cfg.backbone} ({note}); {len(ds)} images, batch {a.batch_size}")
    for epoch in range(a.epochs):
        _sync(setup.device)
        t = time.perf_counter()
        losses = reference_train_one_epoch(ref, ref_opt, ref_loader, setup.device, epoch, ref_warm)
        _sync(setup.device)
        timings["reference"].append(time.perf_counter() - t)
        curves["reference"].append(float(np.mean(losses)))

        our_loader.batch_sampler.set_epoch(epoch)
        t = time.perf_counter()
        stats = train_one_epoch(ours, our_opt, our_sched, our_loader, setup, scaler, epoch=epoch, progress=False)
        _sync(setup.device)
        timings["ours"].append(time.perf_counter() - t)
        curves["ours"].append(stats["loss"])
        print(
            f"epoch {epoch + 1}: reference {timings['reference'][-1]:.2f} s (loss {curves['reference'][-1]:.3f})"
            f"  ours {timings['ours'][-1]:.2f} s (loss {curves['ours'][-1]:.3f})"
        )
    timed = slice(1, None) if a.epochs > 1 else slice(None)
    rate = {k: images[k] * len(v[timed]) / sum(v[timed]) for k, v in timings.items()}
    result = {
        "device": setup.describe(),
        "model": model_cfg.backbone,
        "images": len(ds),
        "batch_size": a.batch_size,
        "workers": a.workers,
        "threads": torch.get_num_threads(),
        "images_per_s": rate,
        "speedup": rate["ours"] / rate["reference"],
        "loss_per_epoch": curves,
        "epoch_seconds": timings,
    }
    print(f"images/s: reference {rate['reference']:.2f}, ours {rate['ours']:.2f} -> {result['speedup']:.2f}x")
    if a.out:
        Path(a.out).write_text(json.dumps(result, indent=1) + "\n")
    tmp.cleanup()
    return 0


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


if __name__ == "__main__":
    raise SystemExit(main())
