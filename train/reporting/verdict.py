"""Did the model learn? A plain verdict on the headline numbers, and what to change.

The verdict judges the headline's held-out renders (the real photos when there are none): a
model that cannot place the keypoints on renders like those it trained on has not learned, and
no sim-to-real work helps yet. Levels (docs/guide/train.md#when-a-run-has-not-learned):

- `not learned`: keypoint AP < NOT_LEARNED_AP, or PCK@0.1 < NOT_LEARNED_PCK (keypoints mostly
  farther than 10 % of the box diagonal; a guess spread over the box scores about 0.06), or no
  detection matched a ground truth at box IoU 0.5;
- `weak`: keypoint AP < LEARNED_AP (the keypoints are roughly found but rarely precisely), or
  best.pt comes from the first of several validations (no later validation scored higher);
- `learned`: otherwise;
- `unknown`: no labelled keypoint to measure.

Figures behind the thresholds (2-core CPU, 1600 steps, train seeds 0-2 each; held-out renders,
docs/results/2026-12-05-pretrained-start.md): the EfficientNet-Lite0 recipe reaches
keypoint AP 0.09-0.29 on the glue tube (K = 2), keypoints 5-7 px off in 256 px frames (with the
fitted anchors, 0.16-0.36 over seeds 0-5, 3.5-6 px; with the 300-step warm-up shipped since,
0.33-0.41 over seeds 0-5; with the keypoints where the photos' annotators click, shipped since,
0.40-0.46); the former
MobileNetV3-small default from scratch 0.06-0.11, 10-11 px off; the box (K = 8) from scratch
0.000 (PCK@0.1 0.09-0.17). A useful detector sits where the pretrained start lands: AP 0.1 and
above is `learned`, the scratch model's level is `weak`, and under 0.02 no keypoint is found.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from train.dataset import CocoSplit
from train.network.anchor_fit import RPN_POSITIVE_IOU, model_boxes
from train.reporting.object_scale import median_object_px

NOT_LEARNED_AP = 0.02
LEARNED_AP = 0.1
NOT_LEARNED_PCK = 0.2  # PCK@0.1, pooled over keypoints
SMALL_OBJECT_PX = 32  # median sqrt(box area) in the model's input below which objects are small (COCO's cut)
LEVELS = ("learned", "weak", "not learned")
GUIDE = "docs/guide/train.md#when-a-run-has-not-learned"
# What train seeds 0 to 5 alone gave the shipped recipe (fitted anchors, 300-step warm-up) on the
# shipped data (the keypoints where the photos' annotators click), the photos scored at max_size 342:
# the size of a difference that one run each cannot show
# (docs/results/2026-12-05-pretrained-start.md#objects-at-the-models-input-the-photos-were-shrunk).
SEED_RANGE = {"held-out renders": (0.395, 0.461), "real photos": (0.656, 0.682)}
SEEDS = "0-5"
SEED_RESULTS = "docs/results/2026-12-05-pretrained-start.md"


def seed_note() -> str:
    spans = ", ".join(f"{what} {lo:.3f}-{hi:.3f}" for what, (lo, hi) in SEED_RANGE.items())
    return (
        f"one run is one training seed: train seeds {SEEDS} alone gave the shipped recipe keypoint AP {spans} "
        f"({SEED_RESULTS}); a difference between two runs smaller than that is seed noise, so compare "
        "configurations over 3 seeds or more (train.seed)"
    )


@dataclass(frozen=True)
class Training:
    """What the checkpoint says about the training behind the weights evaluated."""

    keypoints: int  # K, the most keypoints of any category
    steps: int  # optimizer steps behind these weights
    batch_size: int
    epoch: int  # epoch of these weights (best.pt: the best validation)
    epochs: int  # epochs the run was planned for
    eval_every: int
    pretrained: bool
    symmetric: bool  # some category declares a symmetry
    min_size: int
    weights: str = ""  # where the starting weights came from, as the train log said it
    anchor_share: float | None = None  # train boxes with an anchor at IoU >= 0.7 (None: not recorded)
    better_anchors: str = ""  # the params that fit more of them, when few fit

    @classmethod
    def from_checkpoint(cls, ckpt: dict, symmetric: bool) -> Training:
        """`symmetric`: whether the evaluated data declare a symmetry (the data's rigs rule, not the model's)."""
        cfg, state = ckpt["train_config"], ckpt["state"]
        fit = ckpt.get("anchor_fit") or {}  # absent from checkpoints before the anchor fit
        return cls(
            keypoints=max((len(c["keypoints"]) for c in ckpt["categories"]), default=0),
            steps=int(state["epoch"]) * int(ckpt.get("iters_per_epoch", 0)),
            batch_size=int(cfg["batch_size"]),
            epoch=int(state["epoch"]),
            epochs=int(cfg["epochs"]),
            eval_every=int(cfg["eval_every"]),
            pretrained=bool(ckpt.get("frozen_bn")),
            symmetric=symmetric,
            min_size=int(ckpt["model_config"]["min_size"]),
            weights=str(ckpt.get("weights_note", "")),
            anchor_share=fit.get("share"),
            better_anchors=str(fit.get("better", "")),
        )

    @property
    def best_at_first_of_several_validations(self) -> bool:
        first = min(self.eval_every, self.epochs)
        return self.epoch == first and self.epochs > first


@dataclass
class Verdict:
    level: str  # one of LEVELS, or "unknown"
    judged: str  # which numbers: "held-out renders (test, synthetic images)"
    reasons: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        thresholds = {"not_learned_ap": NOT_LEARNED_AP, "learned_ap": LEARNED_AP, "not_learned_pck": NOT_LEARNED_PCK}
        return {"level": self.level, "judged": self.judged, "reasons": self.reasons, "advice": self.advice,
                "thresholds": thresholds, "seed_note": seed_note()}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict) -> Verdict:
        return cls(data["level"], data["judged"], list(data["reasons"]), list(data["advice"]))

    def lines(self) -> list[str]:
        """The verdict as evaluate and `rig2kp report` print it."""
        head = f"verdict: {self.level.upper()} on {self.judged}"
        out = [head + (": " + "; ".join(self.reasons) if self.reasons else "")]
        if self.advice:
            out.append(f"what to change ({GUIDE}):")
            out += [f"  - {a}" for a in self.advice]
        return out + [seed_note()]


def object_size_px(split: CocoSplit, image_ids: set[int] | None, min_size: int, max_size: int) -> float | None:
    """Median sqrt(box area) of the ground truths in the model's input pixels (after its resize):
    the measure training keeps for its own boxes (train/reporting/object_scale.py)."""
    images = [im for im in split.images if image_ids is None or im["id"] in image_ids]
    return median_object_px(model_boxes(images, split.anns_by_image, min_size, max_size))


def judge(row: dict, judged: str, training: Training, object_px: float | None, on_cpu: bool) -> Verdict:
    """The verdict on one headline row (train/reporting/headline.py: AP, pck, px, box_AP)."""
    ap, pck = row.get("AP"), row.get("pck")
    if ap is None:
        return Verdict("unknown", judged, ["no labelled keypoints to measure"])
    reasons, level = [], "learned"
    if ap < NOT_LEARNED_AP:
        level = "not learned"
        reasons.append(f"keypoint AP {ap:.4f} < {NOT_LEARNED_AP}")
    if pck is None:
        level = "not learned"
        reasons.append("no detection matched a ground truth at box IoU 0.5")
    elif pck < NOT_LEARNED_PCK:
        level = "not learned"
        reasons.append(f"PCK@0.1 {pck:.2f} < {NOT_LEARNED_PCK} (keypoints mostly off by > 10 % of the box)")
    if level == "learned" and ap < LEARNED_AP:
        level = "weak"
        reasons.append(f"keypoint AP {ap:.4f} < {LEARNED_AP}" + (f" though PCK@0.1 is {pck:.2f}" if pck else ""))
    if training.best_at_first_of_several_validations:
        level = max(level, "weak", key=LEVELS.index)
        reasons.append(
            f"best.pt is from the first validation (epoch {training.epoch} of {training.epochs}): "
            "no later validation scored higher"
        )
    if level == "learned":
        return Verdict(level, judged, reasons)
    return Verdict(level, judged, reasons, advice(training, object_px, on_cpu))


def advice(training: Training, object_px: float | None, on_cpu: bool) -> list[str]:
    """What to change, most effective first for a model trained from scratch on a CPU."""
    out = [
        f"more steps: these weights saw {training.steps} steps of {training.batch_size} images for "
        f"K = {training.keypoints} keypoints; raise train.iterations several-fold (from scratch, 1600 "
        "steps teach K = 2 a little and K = 8 nothing)"
    ]
    if not training.pretrained:
        out.append("pretrained weights: the model trained from scratch; model.backbone: efficientnet_lite0_fpn "
                   "starts from the ImageNet weights that make setup installs (model.weights: auto), or put "
                   "COCO / ImageNet weights in torchvision's cache, or name a file in model.weights")  # fmt: skip
    if on_cpu:
        out.append("a GPU: runtime.device cuda and the full-size model (examples/glue_tubes_real/params_gpu.yaml) "
                   "train many times more steps in the same time")  # fmt: skip
    if object_px is not None and object_px < SMALL_OBJECT_PX:
        out.append(
            f"bigger objects: the median object is {object_px:.0f} px in the model's {training.min_size} px input "
            f"(< {SMALL_OBJECT_PX}); bring the camera closer (render.camera.distance) or raise model.min_size"
        )
    if training.better_anchors:
        out.append(
            f"anchors that fit the object: {training.anchor_share:.0%} of the train boxes have an anchor at "
            f"IoU >= {RPN_POSITIVE_IOU}, so the RPN learns the rest late and loosely; {training.better_anchors}"
        )
    if training.keypoints > 2 and not training.symmetric:
        out.append("keypoints that look alike (an object that looks the same from several sides) cannot be told "
                   "apart: declare the rig's symmetry (docs/guide/symmetry.md)")  # fmt: skip
    if training.best_at_first_of_several_validations:
        out.append("no validation after the first scored higher: look at dvclive/plots; a lower train.lr "
                   "or more training images")  # fmt: skip
    return out
