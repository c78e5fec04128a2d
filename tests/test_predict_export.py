"""train/predict.py and train/export.py on a tiny trained checkpoint."""

from __future__ import annotations

import contextlib
import io
import json

import cv2
import numpy as np
import pytest
import torch
from pycocotools.coco import COCO

from tests.support.params import write_train_params as write_params
from tests.support.training import toy_data
from train import checkpoint
from train import export as export_cli
from train import predict as predict_cli
from train import train as train_cli
from train.dataset import read_rgb
from train.export import ExportCheckError, compare


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 1-epoch tiny model (box_score_thresh 0, so it always returns detections) and its data."""
    tmp = tmp_path_factory.mktemp("trained")
    data = toy_data(tmp / "data", train=4, val=2, test=3)
    params = write_params(tmp / "p.yaml", train={"epochs": 1}, model={"box_score_thresh": 0.0})
    args = ["--params", str(params), "--data", str(data), "--out", str(tmp / "m")]
    assert train_cli.main([*args, "--live-dir", str(tmp / "live")]) == 0
    return tmp / "m" / "best.pt", data, params


def test_predict_folder_writes_loadable_coco_results(trained, tmp_path):
    model, data, params = trained
    folder = data / "images" / "test"
    out = tmp_path / "pred"
    rc = predict_cli.main([
        "--model", str(model), "--input", str(folder), "--out", str(out), "--params", str(params),
        "--score-thresh", "0.02", "--max-detections", "3", "--draw-thresh", "0",
    ])  # fmt: skip
    assert rc == 0
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(out / "images.json"))
        res = coco.loadRes(str(out / "results.json"))
    files = sorted(p.name for p in folder.iterdir())
    assert [im["file_name"] for im in coco.dataset["images"]] == files
    anns = res.dataset["annotations"]
    assert anns and all(a["score"] >= 0.02 for a in anns)
    for image_id in coco.getImgIds():
        assert len(res.getAnnIds(imgIds=[image_id])) <= 3
    # keypoints are cut to each category's own K (triangle 3, quad 4)
    k = {c["id"]: len(c["keypoints"]) for c in coco.dataset["categories"]}
    assert all(len(a["keypoints"]) == 3 * k[a["category_id"]] for a in anns)
    assert sorted(p.name for p in (out / "annotated").iterdir()) == [f.replace(".png", ".jpg") for f in files]


def test_predict_video_writes_an_annotated_video(trained, tmp_path):
    model, data, _ = trained
    frames = [read_rgb(p) for p in sorted((data / "images" / "test").iterdir())]
    frames = [cv2.resize(f, (96, 96)) for f in frames] * 2
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (96, 96))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    out = tmp_path / "pred"
    assert (
        predict_cli.main(["--model", str(model), "--input", str(video), "--out", str(out), "--params", "none.yaml"])
        == 2
    )
    assert predict_cli.main(["--model", str(model), "--input", str(video), "--out", str(out)]) == 0
    images = json.loads((out / "images.json").read_text())["images"]
    assert [im["id"] for im in images] == list(range(1, len(frames) + 1))
    cap = cv2.VideoCapture(str(out / "clip_annotated.mp4"))
    count = 0
    while cap.read()[0]:
        count += 1
    assert count == len(frames)


def test_export_onnx_and_torchscript_match_pytorch(trained, tmp_path):
    ort = pytest.importorskip("onnxruntime")  # and onnx: the `export` extras
    model_path, data, _ = trained
    out = tmp_path / "exp"
    rc = export_cli.main(["--model", str(model_path), "--out", str(out), "--data", str(data), "--check-images", "2"])
    assert rc == 0
    meta = json.loads((out / "export.json").read_text())
    assert set(meta["checks"]) == {"onnx", "torchscript"} and meta["num_keypoints"] == 4

    # independently of export's own check: onnxruntime on a new image size vs the checkpoint
    ckpt = checkpoint.load(model_path)
    model, _, _ = checkpoint.model_from_checkpoint(ckpt)
    image = torch.from_numpy(np.random.default_rng(3).random((3, 80, 120), dtype=np.float32))
    with torch.inference_mode():
        ref = model([image])[0]
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    boxes, labels, scores, kps, _ = session.run(None, {"image": image.numpy()})
    assert len(boxes) == len(ref["boxes"]) > 0
    np.testing.assert_allclose(boxes, ref["boxes"].numpy(), atol=1e-2)
    np.testing.assert_allclose(kps[..., :2], ref["keypoints"][..., :2].numpy(), atol=1e-2)
    np.testing.assert_array_equal(labels, ref["labels"].numpy())

    scripted = torch.jit.load(str(out / "model.torchscript.pt"))
    with torch.inference_mode():
        got = scripted([image])[1][0]
    torch.testing.assert_close(got["boxes"], ref["boxes"], atol=1e-3, rtol=0)


def test_export_check_catches_a_difference():
    ref = {
        "boxes": np.array([[1.0, 2.0, 10.0, 12.0]]),
        "labels": np.array([1]),
        "scores": np.array([0.9]),
        "keypoints": np.zeros((1, 4, 3)),
        "keypoints_scores": np.zeros((1, 4)),
    }
    assert compare("same", ref, {k: v.copy() for k, v in ref.items()}, 0.01)["boxes"] == 0
    moved = {**ref, "keypoints": ref["keypoints"] + [0.5, 0.0, 0.0]}
    with pytest.raises(ExportCheckError, match="differ from PyTorch"):
        compare("moved", ref, moved, 0.01)
    with pytest.raises(ExportCheckError, match="1 detections"):
        compare(
            "fewer",
            {
                **ref,
                "boxes": np.zeros((2, 4)),
                "labels": np.array([1, 1]),
                "scores": np.array([0.9, 0.8]),
                "keypoints": np.zeros((2, 4, 3)),
                "keypoints_scores": np.zeros((2, 4)),
            },
            ref,
            0.01,
        )


def test_export_check_pairs_detections_and_forgives_the_score_cut():
    """Two detections of nearly equal score may come out in either order, and one at the score
    threshold may be cut on one side only: neither is a difference; a lost confident one is."""
    two = {
        "boxes": np.array([[1.0, 2.0, 10.0, 12.0], [30.0, 5.0, 40.0, 20.0]]),
        "labels": np.array([1, 1]),
        "scores": np.array([0.6, 0.05]),
        "keypoints": np.arange(24, dtype=float).reshape(2, 4, 3),
        "keypoints_scores": np.zeros((2, 4)),
    }
    swapped = {k: v[::-1].copy() for k, v in two.items()}
    assert compare("swapped", two, swapped, 0.01)["keypoints"] == 0
    first = {k: v[:1].copy() for k, v in two.items()}
    assert compare("cut at the threshold", two, first, 0.01, borderline=0.05)["boxes"] == 0
    with pytest.raises(ExportCheckError, match="without a twin, e.g. label 1 at score 0.6000"):
        compare("lost", two, {k: v[1:].copy() for k, v in two.items()}, 0.01, borderline=0.05)
