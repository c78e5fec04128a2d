"""Train KeypointRCNN on a dataset folder (DVC stage `train`).

    python -m train.train --params params.yaml --input data/mixed --out models
    torchrun --nproc_per_node=4 -m train.train --params params.yaml --input data/mixed --out models

Reads data/train.json and data/val.json; writes <out>/last.pt every epoch, <out>/best.pt when
the validation keypoint AP improves, and per-epoch metrics with dvclive (--live-dir).
`--resume` continues from <out>/last.pt (or a given file) exactly where it stopped.
"""

from __future__ import annotations

import argparse
import math
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from pipeline.errors import run_command
from pipeline.outputs import own_output, refuse_overlap, stage_owner, take_output
from pipeline.schema.train_params import ModelConfig, TrainConfig
from pipeline.stage_args import add_input, add_params_args, params_from_args, stage_parser
from train import checkpoint, ddp
from train.coco_eval import coco_from_dict, evaluate_bbox, evaluate_keypoints, load_results
from train.dataset import CocoSplit, DatasetError, KeypointDataset, LabelMap, check_same_categories, load_split
from train.devices import make_scaler, place_model, setup_device
from train.engine import predict, train_one_epoch
from train.loaders import eval_loader, train_loader
from train.network.anchor_fit import anchor_fit, anchor_fit_line, model_boxes
from train.network.model import anchor_sizes, build_model
from train.optim import (
    build_ema,
    build_optimizer,
    build_scheduler,
    set_body_trainable,
    unfreeze_epoch,
    warmup_warning,
)
from train.reporting.object_scale import median_object_px
from train.transforms import TrainAugment

# train params that may change between a run and its resume (runtime.* may change too: workers changes
# no weight, threads and device only the order of floating-point sums)
RESUMABLE_CHANGES = {"eval_every", "patience"}
MIN_VAL_IMAGES = 10  # fewer, and best.pt is chosen on an AP that one image moves by a tenth or more

# --out is train's when it holds train's marker, or nothing but checkpoints (a folder that
# `dvc pull` or `dvc checkout` filled holds last.pt and best.pt alone) and their temporaries
OWNER = replace(stage_owner("train"), ignore=("last.pt", "best.pt", "*.pt.tmp", ".*.pt.*.tmp"))


def seed_for(*parts: int) -> int:
    """One 32-bit seed from (seed, epoch, rank): each epoch's randomness is fixed on its own."""
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


def check_has_instances(split: CocoSplit, labels: LabelMap) -> None:
    ids = {c.id for c in labels.categories}
    if not any(a["category_id"] in ids for anns in split.anns_by_image.values() for a in anns):
        names = [c.name for c in labels.categories]
        raise DatasetError(f"{split.path}: no annotations of the categories to train ({names})")


def _changed_keys(old: dict, new: dict, prefix: str) -> list[str]:
    return [f"{prefix}.{k}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def restore(path: Path, *, labels, params, iters_per_epoch, model, optimizer, scheduler, scaler, ema):
    """Load a last.pt into the live objects; refuse when it belongs to another setup."""
    ckpt = checkpoint.load(path)
    problems = []
    if ckpt["categories"] != labels.to_json():
        problems.append("categories / keypoints differ from the data's (keypoint count or names)")
    problems += _changed_keys(ckpt["model_config"], params.model.model_dump(mode="json"), "model")
    old_train = {k: v for k, v in ckpt["train_config"].items() if k not in RESUMABLE_CHANGES}
    new_train = {k: v for k, v in params.train.model_dump(mode="json").items() if k not in RESUMABLE_CHANGES}
    problems += _changed_keys(old_train, new_train, "train")
    if ckpt["iters_per_epoch"] != iters_per_epoch:
        problems.append(f"iterations per epoch {ckpt['iters_per_epoch']} -> {iters_per_epoch} (data?)")
    if problems:
        raise checkpoint.CheckpointError(
            f"{path}: cannot resume exactly; changed since the checkpoint: {', '.join(problems)}"
        )
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    scaler.load_state_dict(ckpt["scaler"])
    if ema is not None:
        ema.load_state_dict(ckpt["ema"])
    return dict(ckpt["state"])


def validate(model, loader, setup, labels: LabelMap, world: ddp.World, gt, oks_scale: str) -> dict[str, float]:
    """Keypoint and box AP on the validation split (computed on rank 0; {} on the others)."""
    results = predict(model, loader, setup, labels, world, desc="val")
    if not world.is_main:
        return {}
    res = load_results(gt, results)
    kp = evaluate_keypoints(gt, res, list(labels.categories), oks_scale=oks_scale)
    box = evaluate_bbox(gt, res, cat_ids=[c.id for c in labels.categories])
    out = {}
    for k in ("AP", "AP50", "AP75"):
        out[f"val/keypoints_{k}"] = kp.stats[k] or 0.0
        out[f"val/bbox_{k}"] = box.stats[k] or 0.0
    return out


def _config_json(cfg: TrainConfig) -> dict:
    return cfg.model_dump(mode="json")


def _anchor_fit(split: CocoSplit, labels: LabelMap, model_cfg: ModelConfig) -> tuple[str, dict | None, float | None]:
    """The anchors' fit to the train boxes at the model's input size (train/network/anchor_fit.py):
    the log line, and what the checkpoint keeps for the verdict (None without boxes); and the
    boxes' median size there, which evaluate compares each split's with (train/reporting/object_scale.py)."""
    anns = {i: [a for a in a_s if labels.label_of(a["category_id"])] for i, a_s in split.anns_by_image.items()}
    boxes = model_boxes(split.images, anns, model_cfg.min_size, model_cfg.max_size)
    fit = anchor_fit(boxes, anchor_sizes(model_cfg), model_cfg.aspect_ratios)
    kept = None if fit is None else {"share": fit.share, "better": fit.better}
    return anchor_fit_line(fit), kept, median_object_px(boxes)


def run(args: argparse.Namespace) -> int:
    params = params_from_args(args)
    cfg = params.train
    world = ddp.world_from_env()
    setup = setup_device(params.runtime, world.local_rank)
    ddp.init_process_group(world, setup.device)
    log = print if world.is_main else (lambda *a, **k: None)

    data = Path(args.input)
    refuse_overlap(args.out, {"--input folder": data})
    refuse_overlap(args.live_dir, {"--input folder": data}, flag="--live-dir")
    take_output(args.out, OWNER)  # before any work: a folder of someone else's files is refused
    train_split = load_split(data / "train.json")
    val_split = load_split(data / "val.json")
    labels = train_split.label_map(cfg.categories)
    check_same_categories(val_split, labels, "train.json")
    check_has_instances(train_split, labels)

    seed = cfg.seed if cfg.seed is not None else params.seed
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        if not world.is_main:
            warnings.simplefilter("ignore")
        model, note, frozen_bn = build_model(params.model, labels.num_classes, labels.num_keypoints)
    place_model(model, setup)

    fit = (params.model.min_size, params.model.max_size)
    train_ds = KeypointDataset(train_split, labels, TrainAugment(cfg.augment, labels), seed, fit)
    val_ds = KeypointDataset(val_split, labels, fit=fit)
    tl = train_loader(train_ds, cfg.batch_size, params.runtime.workers, setup, world, seed)
    if cfg.iterations:  # a budget in steps: the same for a small real set and a large rendered one
        cfg = cfg.model_copy(update={"epochs": max(1, math.ceil(cfg.iterations / len(tl)))})
        params = params.model_copy(update={"train": cfg})
    vl = eval_loader(val_ds, params.runtime.predict_batch_size, params.runtime.workers, setup, world)
    optimizer = build_optimizer(model, cfg, setup.device, pretrained=frozen_bn)
    scheduler = build_scheduler(optimizer, cfg, len(tl))
    scaler = make_scaler(setup)
    ema = build_ema(model, cfg)
    out = Path(args.out)
    if world.is_main:
        own_output(out, OWNER)  # made and marked only now: a run stopped by its data leaves no folder
        for p in checkpoint.sweep_temporaries(out):  # what a killed run left mid-write
            log(f"removed {p}, a checkpoint a killed run left unfinished")
    state = {"epoch": 0, "best_ap": -1.0, "best_epoch": 0, "evals_since_best": 0}
    if args.resume is not None:
        path = Path(args.resume) if args.resume else out / "last.pt"
        state = restore(
            path,
            labels=labels,
            params=params,
            iters_per_epoch=len(tl),
            model=model,
            optimizer=optimizer,
            scheduler=scheduler,
            scaler=scaler,
            ema=ema,
        )
        log(f"resumed from {path} after epoch {state['epoch']} (best AP {state['best_ap']:.4f})")

    def wrap(model):
        ids = [setup.device.index] if setup.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids) if world.distributed else model

    net = wrap(model)
    unfreeze = unfreeze_epoch(cfg)

    names = ", ".join(c.name for c in labels.categories)
    log(f"device: {setup.describe()}; processes: {world.world_size}")
    log(
        f"model: {params.model.backbone}, {labels.num_classes - 1} categories ({names}), "
        f"K = {labels.num_keypoints}; {note}"
    )
    log(f"data: {len(train_ds)} train / {len(val_ds)} val images; {len(tl)} batches per epoch")
    anchors_line, anchor_fit, train_object_px = _anchor_fit(train_split, labels, params.model)
    log(anchors_line)
    if len(val_ds) < MIN_VAL_IMAGES:
        log(
            f"warning: val.json holds {len(val_ds)} images, too few to choose best.pt on: one image moves "
            f"its AP by about 1/{len(val_ds)}; give val {MIN_VAL_IMAGES} or more (mix.val, val_files), or use last.pt"
        )
    steps = cfg.epochs * len(tl)
    asked = f" (train.iterations {cfg.iterations}, rounded up to whole epochs)" if cfg.iterations else ""
    log(f"budget: {steps} steps = {cfg.epochs} epochs x {len(tl)} batches of {cfg.batch_size}{asked}")
    if warning := warmup_warning(cfg, steps):
        log(warning)

    live = None
    if world.is_main:
        from dvclive import Live

        live = Live(str(args.live_dir), resume=args.resume is not None, dvcyaml=False, save_dvc_exp=False)
    gt_val = coco_from_dict(val_split.data) if world.is_main else None
    common = {
        "categories": labels.to_json(),
        "model_config": params.model.model_dump(mode="json"),
        "train_config": _config_json(cfg),
        "frozen_bn": frozen_bn,
        "weights_note": note,
        "anchor_fit": anchor_fit,
        "train_object_px": train_object_px,
        "iters_per_epoch": len(tl),
    }
    first_epoch = state["epoch"]
    for epoch in range(first_epoch, cfg.epochs):
        if unfreeze is not None and epoch >= unfreeze and not all(p.requires_grad for p in model.parameters()):
            set_body_trainable(model)
            net = wrap(model)  # DDP hooks only the parameters that train when it is made
            log(f"epoch {epoch + 1}: the whole backbone trains from now on (train.unfreeze_at {cfg.unfreeze_at})")
        torch.manual_seed(seed_for(seed, epoch, world.rank))
        tl.batch_sampler.set_epoch(epoch)
        step = {"epoch": epoch, "clip_grad_norm": cfg.clip_grad_norm, "ema": ema, "world": world}
        losses = train_one_epoch(net, optimizer, scheduler, tl, setup, scaler, **step)
        metrics = {f"train/{k}": v for k, v in losses.items()}
        improved = False
        if (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs:
            metrics.update(validate(ema.module if ema else model, vl, setup, labels, world, gt_val, cfg.val_oks_scale))
            ap = ddp.broadcast_object(metrics.get("val/keypoints_AP"))
            # patience counts evaluations without a better AP; best.pt takes the later model on a tie
            # (a run whose validation AP stays at 0 must not keep its first, least trained weights)
            state["evals_since_best"] = 0 if ap > state["best_ap"] else state["evals_since_best"] + 1
            improved = ap >= state["best_ap"]
            if improved:
                state.update(best_ap=ap, best_epoch=epoch + 1)
        state["epoch"] = epoch + 1
        if world.is_main:
            last = {
                "model": model.state_dict(),
                "ema": ema.state_dict() if ema else None,
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict(),
            }
            checkpoint.save(out / "last.pt", {**common, **last, "state": dict(state)})
            if improved:  # the weights that were validated, for inference only
                best = (ema.module if ema else model).state_dict()
                best_state = {**common, "model": best, "ema": None, "state": dict(state), "metrics": metrics}
                checkpoint.save(out / "best.pt", best_state)
            live.step = epoch
            for k, v in metrics.items():
                live.log_metric(k, v)
            live.next_step()
            val = ""
            if "val/keypoints_AP" in metrics:
                val = (
                    f"  val keypoint AP {metrics['val/keypoints_AP']:.4f} "
                    f"(best {state['best_ap']:.4f}, epoch {state['best_epoch']})"
                )
            log(f"epoch {epoch + 1}/{cfg.epochs}  loss {metrics['train/loss']:.4f}  lr {metrics['train/lr']:.2e}{val}")
        if cfg.patience and state["evals_since_best"] >= cfg.patience:
            log(f"early stop: no better validation AP in {cfg.patience} evaluations")
            break
        if args.epochs_this_run and epoch + 1 - first_epoch >= args.epochs_this_run:
            log(f"stopping after {args.epochs_this_run} epoch(s) as asked; continue with --resume")
            break
    if live is not None:
        live.summary["best/keypoints_AP"] = state["best_ap"]
        live.summary["best/epoch"] = state["best_epoch"]
        live.end()
    ddp.barrier()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("rig2kp train", __doc__)
    add_params_args(parser)
    add_input(parser, "data/mixed", "dataset folder with train.json and val.json", old="--data")
    parser.add_argument("--out", default="models", help="folder for last.pt and best.pt")
    parser.add_argument("--live-dir", default="dvclive", help="dvclive folder (metrics, plots)")
    parser.add_argument(
        "--resume",
        nargs="?",
        const="",
        default=None,
        metavar="CKPT",
        help="continue from CKPT (default: <out>/last.pt)",
    )
    parser.add_argument(
        "--epochs-this-run",
        type=int,
        default=0,
        metavar="N",
        help="stop after N epochs of this invocation (for job time limits; then --resume)",
    )
    args = parser.parse_args(argv)
    try:
        return run_command(lambda: run(args))
    finally:
        ddp.destroy()


if __name__ == "__main__":
    raise SystemExit(main())
