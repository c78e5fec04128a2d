"""Pick the device and its speed settings: CUDA (AMP, TF32, channels_last), MPS, CPU.

On CUDA, AMP uses bf16 where the GPU supports it (no loss scaling needed) and fp16 with a
GradScaler otherwise; images stay uint8 until they reach the device (`to_device`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from pipeline.errors import Rig2kpError
from pipeline.schema.train_params import RuntimeConfig


class DeviceError(Rig2kpError, RuntimeError):
    """A device or precision asked for in params that this machine cannot give."""


@dataclass(frozen=True)
class DeviceSetup:
    device: torch.device
    amp_dtype: torch.dtype | None  # None: full fp32
    channels_last: bool
    pin_memory: bool

    @property
    def needs_scaler(self) -> bool:
        return self.amp_dtype == torch.float16

    def autocast(self):
        """Mixed precision for the forward pass, or nothing."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def describe(self) -> str:
        name = str(self.device)
        if self.device.type == "cuda":
            name += f" ({torch.cuda.get_device_name(self.device)})"
        amp = {None: "fp32", torch.bfloat16: "bf16 AMP", torch.float16: "fp16 AMP"}[self.amp_dtype]
        return f"{name}, {amp}" + (", channels_last" if self.channels_last else "")


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def pick_device_type(wanted: str) -> str:
    """`auto` -> cuda, mps or cpu, whichever exists first; an unavailable choice is an error."""
    available = {"cuda": torch.cuda.is_available(), "mps": _mps_available(), "cpu": True}
    if wanted == "auto":
        return next(d for d in ("cuda", "mps", "cpu") if available[d])
    if not available[wanted]:
        raise DeviceError(f"runtime.device: {wanted!r} is not available on this machine (use 'auto')")
    return wanted


def setup_device(cfg: RuntimeConfig, local_rank: int = 0) -> DeviceSetup:
    """Device for this process (`local_rank` picks the GPU under torchrun) and its settings."""
    kind = pick_device_type(cfg.device)
    if kind == "cuda":
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
        torch.backends.cudnn.allow_tf32 = True  # TF32 convs / matmuls where AMP does not reach
        torch.set_float32_matmul_precision("high")
    else:
        device = torch.device(kind)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    amp_dtype = None
    if kind == "cuda" and cfg.amp != "off":
        bf16 = torch.cuda.is_bf16_supported()
        if cfg.amp == "bf16" and not bf16:
            raise DeviceError("runtime.amp: bf16 is not supported by this GPU (use 'auto' or 'fp16')")
        amp_dtype = torch.float16 if cfg.amp == "fp16" or not bf16 else torch.bfloat16
    elif cfg.amp in ("bf16", "fp16"):
        raise DeviceError(f"runtime.amp: {cfg.amp!r} needs a CUDA device, this run uses {kind}")
    channels_last = cfg.channels_last == "on" or (
        cfg.channels_last == "auto" and kind == "cuda" and amp_dtype is not None
    )
    return DeviceSetup(device, amp_dtype, channels_last, pin_memory=kind == "cuda")


def to_device(images: list[torch.Tensor], targets: list[dict], setup: DeviceSetup):
    """uint8 CHW images -> float [0, 1] on the device (4x less to copy); targets alongside."""
    nb = setup.pin_memory
    images = [im.to(setup.device, non_blocking=nb).float().div_(255.0) for im in images]
    targets = [{k: v.to(setup.device, non_blocking=nb) for k, v in t.items()} for t in targets]
    return images, targets


def make_scaler(setup: DeviceSetup) -> torch.amp.GradScaler:
    """Loss scaling only for fp16; a disabled scaler still saves and restores its state."""
    kind = "cuda" if setup.device.type == "cuda" else "cpu"
    return torch.amp.GradScaler(kind, enabled=setup.needs_scaler)


def _to_float(out):
    if isinstance(out, torch.Tensor):
        return out.float()
    if isinstance(out, (list, tuple)):
        return type(out)(_to_float(o) for o in out)
    return out


def place_model(model: torch.nn.Module, setup: DeviceSetup) -> torch.nn.Module:
    """Move the detector to its device with the setup's memory format and AMP output hooks."""
    model.to(setup.device)
    if setup.channels_last:
        model.to(memory_format=torch.channels_last)
        contiguous_keypoint_logits(model)
    if setup.amp_dtype is not None:
        float32_head_outputs(model)
    return model


def contiguous_keypoint_logits(model: torch.nn.Module) -> None:
    """Hand the keypoint logits on in the default memory format.

    Under channels_last the keypoint predictor's output is NHWC, and torchvision's
    keypointrcnn_loss calls `.view(N * K, H * W)` on it, which fails for that layout.
    """
    model.roi_heads.keypoint_predictor.register_forward_hook(lambda _m, _inp, out: out.contiguous())


def float32_head_outputs(model: torch.nn.Module) -> None:
    """Under AMP, hand the box / keypoint predictors' outputs on in fp32.

    torchvision's BoxCoder.decode casts the anchors and proposals to the deltas' dtype, so in
    bf16 a box edge near x = 800 px would snap to a 4 px grid. Forward hooks change no state-dict
    key, so checkpoints are the same with and without AMP.
    """
    heads = [model.rpn.head, model.roi_heads.box_predictor, model.roi_heads.keypoint_predictor]
    for head in heads:
        head.register_forward_hook(lambda _m, _inp, out: _to_float(out))
