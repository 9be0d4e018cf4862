"""Bad input through every entry point, as a user would type it: exit status 2, one line naming the file or
key (no traceback), and every file that existed before the command byte-for-byte the same after it."""

from __future__ import annotations

import json
import pickle
import shutil
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from conftest import REPO, run_script, synthetic_faces, write_image_tree

FAST_MODEL = REPO / "fer" / "assets" / "model_fast.pt"


@pytest.fixture(scope="module")
def files(tmp_path_factory, trained_tiny) -> Path:
    """One of each kind of bad (and good) input the cases below point at."""
    root = tmp_path_factory.mktemp("bad")
    write_image_tree(root / "faces", {"train": 28, "test": 14})
    shutil.copytree(root / "faces", root / "corrupt")
    next((root / "corrupt" / "train" / "happy").iterdir()).write_bytes(b"not an image")
    mixed = root / "mixed" / "happy"
    mixed.mkdir(parents=True)
    cv2.imwrite(str(mixed / "small.png"), np.zeros((48, 48), np.uint8))
    cv2.imwrite(str(mixed / "large.png"), np.zeros((64, 64), np.uint8))
    images, labels = synthetic_faces(20)
    floats = images.astype(np.float32) / 255
    floats[3, 0, 0] = np.nan
    np.savez(root / "nan.npz", images=floats, labels=labels)
    np.savez(root / "big_ints.npz", images=images.astype(np.int32) * 3, labels=labels)
    np.savez(root / "bad_labels.npz", images=images, labels=labels + 5)
    np.savez(root / "wide_floats.npz", images=images.astype(np.float32), labels=labels)  # 0..255 floats
    (root / "columns.csv").write_text("label,image\n0,1 2 3\n")
    (root / "pixels.csv").write_text("emotion,pixels,Usage\n0," + " ".join(["1"] * 101) + ",Training\n")
    (root / "notes.txt").write_text("just text")
    (root / "fake.zip").write_text("not a zip")
    with zipfile.ZipFile(root / "evil.zip", "w") as archive:
        archive.writestr("../escape/happy/a.png", b"x")
    (root / "garbage.ckpt").write_bytes(b"\x00garbage")
    (root / "garbage.onnx").write_bytes(b"\x08\x07not a protobuf graph")
    with (root / "evil.ckpt").open("wb") as handle:  # a pickle that would run code if loaded unsafely
        pickle.dump({"state_dict": shutil.rmtree}, handle)
    torch.save({"state_dict": {}, "hyper_parameters": shutil.rmtree}, root / "evil.pt")  # the same, as torch saves
    shutil.copy(FAST_MODEL, root / "model.pt")
    (root / "full_dir").mkdir()
    (root / "full_dir" / "keep.txt").write_text("keep me")
    (root / "out.csv").write_text("already here")
    (root / "exported.pt").write_text("already here")
    writer = cv2.VideoWriter(str(root / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 5, (64, 64))
    for _ in range(3):
        writer.write(np.full((64, 64, 3), 128, np.uint8))
    writer.release()
    (root / "clip_out.mp4").write_text("already here")
    (root / "broken.mp4").write_text("not a video")
    (root / "run").mkdir()
    shutil.copytree(trained_tiny / "checkpoints", root / "run" / "checkpoints")
    return root


def snapshot(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


CASES = [  # (script, arguments with {f} for the fixture folder, text the error must contain)
    # prepare_data
    ("prepare_data.py", ["output={f}/o.csv", "format=csv"], "source="),
    ("prepare_data.py", ["source={f}/nowhere", "output={f}/o.csv", "format=csv"], "nowhere"),
    ("prepare_data.py", ["source={f}/faces", "output={f}/o.xml", "format=xml"], "format='xml'"),
    ("prepare_data.py", ["source={f}/faces", "output={f}/out.csv", "format=csv"], "out.csv: exists"),
    ("prepare_data.py", ["source={f}/faces", "output={f}/faces/inside", "format=folder"], "into the source"),
    ("prepare_data.py", ["source={f}/corrupt", "output={f}/o.csv", "format=csv"], "not a decodable image"),
    ("prepare_data.py", ["source={f}/nan.npz", "output={f}/o.csv", "format=csv"], "NaN or Inf (first at index 3)"),
    ("prepare_data.py", ["source={f}/big_ints.npz", "output={f}/o.csv", "format=csv"], "big_ints.npz"),
    ("prepare_data.py", ["source={f}/wide_floats.npz", "output={f}/o.csv", "format=csv"], "outside [0.0, 1.0]"),
    ("prepare_data.py", ["source={f}/bad_labels.npz", "output={f}/o.csv", "format=csv"], "first at index"),
    ("prepare_data.py", ["source={f}/columns.csv", "output={f}/o.npz", "format=npz"], "expected columns"),
    ("prepare_data.py", ["source={f}/pixels.csv", "output={f}/o.npz", "format=npz", "image_size=48"], "101 pixels"),
    ("prepare_data.py", ["source={f}/mixed", "output={f}/o.npz", "format=npz"], "image_size=<pixels>"),
    ("prepare_data.py", ["source={f}/fake.zip", "output={f}/o.npz", "format=npz"], "not a zip archive"),
    ("prepare_data.py", ["source={f}/evil.zip", "output={f}/ex", "format=folder"], "refusing zip entry"),
    ("prepare_data.py", ["source={f}/faces", "output={f}/o.npz", "format=npz", "image_size=0"], "image_size=0"),
    ("prepare_data.py", ["source={f}/faces", "output={f}/o.npz", "format=npz", "channels=2"], "channels=2"),
    # train
    ("train.py", ["data.source={f}/faces", "trainer.max_epochs=abc"], "trainer.max_epochs"),
    ("train.py", ["data.source={f}/faces", "trainer.max_epochs=0"], "trainer.max_epochs=0"),
    ("train.py", ["data.source={f}/faces", "data.batch_size=0"], "data.batch_size=0"),
    ("train.py", ["data.source={f}/faces", "module.optimizer.lr=-1"], "module.optimizer.lr=-1"),
    ("train.py", ["data.source={f}/faces", "data.val_fraction=1.5"], "data.val_fraction=1.5"),
    ("train.py", ["data.source={f}/faces", "module.label_smoothing=2"], "module.label_smoothing=2"),
    ("train.py", ["data.source={f}/faces", "data.image_size=4"], "data.image_size=4"),
    ("train.py", ["data.source={f}/faces", "distill=bundled", "module.distill.weight=5"], "module.distill.weight=5"),
    ("train.py", ["data.source={f}/faces", "distill=bundled", "module.distill.views=all"],
     "module.distill.views='all'"),
    ("train.py", ["data.source={f}/faces", "distill=bundled", "module.distill.cached=maybe"],
     "module.distill.cached='maybe'"),
    ("train.py", ["data.source={f}/faces", "model=nosuch"], "model/nosuch"),
    ("train.py", ["data.source={f}/faces", "no_such_key=1"], "no_such_key"),
    ("train.py", ["data.source={f}/faces", "model=vgg", "+model.bogus=1", "hydra.run.dir={f}/t4"],
     "model 'vgg': VGG.__init__() got an unexpected keyword argument 'bogus'"),
    ("train.py", ["data.source={f}/faces", "model=resnet", "+model.widths=[64]", "hydra.run.dir={f}/t5"],
     "model 'resnet': widths [64] and blocks [1, 1, 1] must list the same stages"),
    ("train.py", ["data.source={f}/faces", "callbacks=swa", "callbacks.tail_averaging.fraction=1.5",
                  "hydra.run.dir={f}/t6"],
     "callbacks.tail_averaging.fraction=1.5: expected a share of training in (0, 1]"),
    ("train.py", ["data.source={f}/faces", "optimizer=sam", "module.optimizer.rho=0", "hydra.run.dir={f}/t7"],
     "module.optimizer.rho=0: SAM's neighbourhood radius must be positive"),
    ("train.py", ["data.source={f}/faces", "resize=progressive", "data.resize.ramp=0", "hydra.run.dir={f}/t8"],
     "data.resize.ramp=0: expected the share of the epochs"),
    ("train.py", ["data.source={f}/faces", "resize=progressive", "model=bn_cnn", "hydra.run.dir={f}/t9"],
     "resize=progressive: model bn_cnn has a head sized for 48x48 faces only"),
    ("train.py", ["data.source={f}/notes.txt", "hydra.run.dir={f}/t1"], "notes.txt: a file, but not a zip"),
    ("train.py", ["data.source={f}/faces", "ckpt_path={f}/garbage.ckpt", "hydra.run.dir={f}/t2"], "garbage.ckpt"),
    ("train.py", ["data.source={f}/faces", "ckpt_path={f}/model.pt", "hydra.run.dir={f}/t3"], "no training state"),
    ("train.py", ["resume={f}/full_dir"], "not a training run directory"),
    # eval
    ("eval.py", ["data.source={f}/faces"], "ckpt_path="),
    ("eval.py", ["ckpt_path={f}/nowhere.ckpt", "hydra.run.dir={f}/e1"], "nowhere.ckpt"),
    ("eval.py", ["ckpt_path={f}/garbage.ckpt", "hydra.run.dir={f}/e2"], "not a model file"),
    ("eval.py", ["ckpt_path={f}/evil.ckpt", "hydra.run.dir={f}/e3"], "refused for safety"),
    ("eval.py", ["ckpt_path={f}/notes.txt", "hydra.run.dir={f}/e5"], "notes.txt: not a model file"),
    ("eval.py", ["ckpt_path={f}/model.pt", "split=everything"], "split='everything'"),
    ("eval.py", ["ckpt_path={f}/model.pt", "tta=twice"], "tta='twice'"),
    ("eval.py", ["ckpt_path={f}/model.pt", "data.source={f}/columns.csv", "hydra.run.dir={f}/e4"], "data=csv"),
    # predict
    ("predict.py", ["output_dir={f}/p0"], "input="),
    ("predict.py", ["input={f}/nowhere.jpg", "output_dir={f}/p1"], "nowhere.jpg"),
    ("predict.py", ["input={f}/faces", "output_dir={f}/full_dir"], "full_dir: output directory exists"),
    ("predict.py", ["input={f}/full_dir", "output_dir={f}/p8"], "full_dir: no images in this folder or below it"),
    ("predict.py", ["input={f}/faces", "model_file={f}/garbage.ckpt", "output_dir={f}/p2"], "garbage.ckpt"),
    ("predict.py", ["input={f}/faces", "model_file={f}/notes.txt", "output_dir={f}/p9"], "notes.txt: not a model file"),
    ("predict.py", ["input={f}/faces", "model_file={f}/evil.pt", "output_dir={f}/p4"], "refused for safety"),
    ("predict.py", ["input={f}/faces", "model_file=huge", "output_dir={f}/p3"], "huge: neither a bundled model"),
    ("predict.py", ["input={f}/faces", "threads=0"], "threads=0"),
    ("predict.py", ["input={f}/faces", "margin=-1"], "margin=-1"),
    ("predict.py", ["input={f}/faces", "turns=20"], "turns=20 is not allowed: it must be a list of angles"),
    ("predict.py", ["input={f}/faces", "turns=[-20,abc]"], "it must be a list of angles in degrees"),
    ("predict.py", ["input={f}/faces", "turns=[-200]"], "each from -90 to 90"),
    ("predict.py", ["input={f}/faces", "search_width=10"], "search_width=10 is not allowed"),
    ("predict.py", ["input={f}/faces", "precision=fast"], "precision='fast'"),
    ("predict.py", ["input={f}/faces", "detector=nosuch"], "detector/nosuch"),
    # webcam
    ("webcam.py", ["source={f}/nowhere.mp4", "headless=true", "output={f}/w1.mp4"], "nowhere.mp4"),
    ("webcam.py", ["source={f}/broken.mp4", "headless=true", "output={f}/w2.mp4"], "cannot read it as a video"),
    ("webcam.py", ["source=7", "headless=true", "output={f}/w3.mp4"], "no camera at index 7"),
    ("webcam.py", ["source={f}/clip.mp4", "headless=true", "output={f}/clip.mp4"], "overwrite the input"),
    ("webcam.py", ["source={f}/clip.mp4", "headless=true", "output={f}/clip_out.mp4"], "clip_out.mp4: exists"),
    ("webcam.py", ["source={f}/clip.mp4", "smoothing=1.5"], "smoothing=1.5"),
    ("webcam.py", ["source={f}/clip.mp4", "headless=true", "output={f}/w4.mp4", "model_file={f}/evil.ckpt"],
     "refused for safety"),
    # export
    ("export.py", ["ckpt_path={f}/run/checkpoints/last.ckpt"], "output="),
    ("export.py", ["ckpt_path={f}/nowhere.ckpt", "output={f}/x1.pt"], "nowhere.ckpt"),
    ("export.py", ["ckpt_path={f}/garbage.ckpt", "output={f}/x2.pt"], "not a model file"),
    ("export.py", ["ckpt_path={f}/run/checkpoints/last.ckpt", "output={f}/exported.pt"], "exported.pt: exists"),
    ("export.py", ["ckpt_path={f}/model.pt", "output={f}/model.pt", "overwrite=true"], "is the model being exported"),
    ("export.py", ["ckpt_path=fast", "output={f}/exported.pt", "format=onnx"], "exported.pt: exists"),
    ("export.py", ["ckpt_path=fast", "output={f}/x3.tflite", "format=tflite"], "format='tflite'"),
    ("export.py", ["ckpt_path={f}/evil.pt", "output={f}/x4.onnx", "format=onnx"], "refused for safety"),
    ("predict.py", ["input={f}/faces", "backend=tensorrt"], "backend='tensorrt'"),
    ("predict.py", ["input={f}/faces", "backend=onnxruntime", "model_file={f}/garbage.onnx", "output_dir={f}/p5"],
     "not a readable ONNX file"),
    ("predict.py", ["input={f}/faces", "backend=onnxruntime", "model_file={f}/nowhere.onnx", "output_dir={f}/p6"],
     "nowhere.onnx: no such ONNX file"),
    ("predict.py", ["input={f}/faces", "model_file={f}/garbage.onnx", "output_dir={f}/p7"], "backend=onnxruntime"),
    # serve (stops before serving: the model is loaded first)
    ("serve.py", ["model_file={f}/garbage.ckpt", "port=1"], "garbage.ckpt"),
    ("serve.py", ["port=http"], "port"),
    # the developer tools take the same front door
    ("compare.py", ["root={f}/full_dir"], "no metrics.json under it"),
    ("compare.py", ["sort=test_acc"], "root="),
    ("bench.py", ["quick=true", "sections=[gpu]", "output={f}/b.json"], "unknown section(s) ['gpu']"),
    ("bench.py", ["quick=true", "models=[resnet9000]", "output={f}/b.json"], "unknown model(s) ['resnet9000']"),
    ("make_emoji.py", ["font={f}/nowhere.ttf", "output={f}/emoji"], "nowhere.ttf: not found"),
    ("make_emoji.py", ["colour=red"], "colour"),
]


@pytest.fixture(scope="module")
def outcomes(files, tmp_path_factory) -> tuple[list[dict], dict, dict]:
    """Every case run once, in order, in one Python process (tests/cli_batch.py), with the files before and after."""
    work = tmp_path_factory.mktemp("cases")
    (work / "cases.json").write_text(json.dumps([[script, [a.format(f=files) for a in arguments]]
                                                  for script, arguments, _ in CASES]))
    before = snapshot(files)
    run_script("../tests/cli_batch.py", str(work / "cases.json"), str(work / "out.json"))
    return json.loads((work / "out.json").read_text()), before, snapshot(files)


@pytest.mark.parametrize("case", range(len(CASES)),
                         ids=[f"{c[0].removesuffix('.py')}-{i}" for i, c in enumerate(CASES)])
def test_bad_input_is_one_clear_line(outcomes, case):
    script, arguments, message = CASES[case]
    result = outcomes[0][case]
    assert result["code"] == 2, result["stderr"][-2000:]
    assert message in result["stderr"] and "Traceback" not in result["stderr"], result["stderr"][-2000:]


def test_no_bad_input_changed_or_removed_a_file_that_existed(outcomes):
    _, before, after = outcomes
    assert {p: after.get(p) for p in before} == before


def test_full_error_shows_the_traceback_for_bug_reports(files):
    import os

    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        result = run_script("export.py", f"ckpt_path={files}/garbage.ckpt", f"output={files}/x9.pt", check=False)
    finally:
        del os.environ["HYDRA_FULL_ERROR"]
    assert result.returncode != 0 and "Traceback" in result.stderr and "garbage.ckpt" in result.stderr


def test_a_missing_mandatory_option_creates_nothing(tmp_path):
    result = run_script("predict.py", f"output_dir={tmp_path / 'never'}", check=False)
    assert result.returncode == 2 and result.stderr.count("\n") <= 2 and "input=..." in result.stderr
    assert not (tmp_path / "never").exists()
