"""Shared fixtures: the real FER-2013 zip from ../shared, and tiny synthetic datasets made on the fly."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torchmetrics.functional.classification import multiclass_f1_score

from fer.data.prepare import convert
from fer.inference import Recognizer
from fer.labels import FER2013_CLASSES
from fer.train import train

REPO = Path(__file__).resolve().parent.parent
FER2013_ZIP = Path(os.environ.get("FER2013", REPO.parent / "shared" / "datasets" / "fer2013.zip"))
FER2013_COUNTS = {  # DESIGN.md: class -> (train, PublicTest, PrivateTest)
    "angry": (3995, 467, 491), "disgust": (436, 56, 55), "fear": (4097, 496, 528), "happy": (7215, 895, 879),
    "neutral": (4965, 607, 626), "sad": (4830, 653, 594), "surprise": (3171, 415, 416),
}


def pytest_collection_modifyitems(items) -> None:
    """Every test that reads the real FER-2013 is ``slow``: ``pytest -m "not slow"`` is the fast subset."""
    for item in items:
        if "fer2013_zip" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def fer2013_zip() -> Path:
    if not FER2013_ZIP.is_file():
        pytest.skip(f"FER-2013 not found at {FER2013_ZIP} (set FER2013=<path to the Kaggle zip>)")
    return FER2013_ZIP


def fer2013_faces(zip_path, split_prefix="PrivateTest", per_class=None):
    """(class, 48x48 gray face) pairs straight from the Kaggle zip."""
    with zipfile.ZipFile(zip_path) as archive:
        names = sorted(n for n in archive.namelist() if f"/{split_prefix}_" in n)
        taken: dict[str, int] = {}
        for name in names:
            cls = name.split("/")[-2]
            if per_class and taken.get(cls, 0) >= per_class:
                continue
            taken[cls] = taken.get(cls, 0) + 1
            yield cls, cv2.imdecode(np.frombuffer(archive.read(name), np.uint8), cv2.IMREAD_GRAYSCALE)


def scene(face: np.ndarray, x: int, y: int, side: int = 200, seed: int = 0,
          size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A frame (640x480 unless ``size`` says): a smooth random background with the face pasted at (x, y)."""
    rng = np.random.default_rng(seed)
    background = cv2.resize(rng.integers(60, 200, (6, 8, 3), dtype=np.uint8), size, interpolation=cv2.INTER_CUBIC)
    background[y:y + side, x:x + side] = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)[..., None]
    return background


@pytest.fixture(scope="session")
def privatetest_faces(fer2013_zip) -> list[tuple[str, np.ndarray]]:
    """All 3,589 PrivateTest faces, decoded once for every test that scores a model on them."""
    faces = list(fer2013_faces(fer2013_zip))
    assert len(faces) == sum(private for _, _, private in FER2013_COUNTS.values())
    return faces


def classify_all(recognizer: Recognizer, faces) -> np.ndarray:
    """The Recognizer's class probabilities for (class, face) pairs, in chunks the way a user would batch."""
    return np.concatenate([recognizer.classify([face for _, face in faces[i:i + 512]])
                           for i in range(0, len(faces), 512)])


def privatetest_scores(recognizer: Recognizer, faces) -> tuple[float, float]:
    """Accuracy and macro F1 of the Recognizer on (class, face) pairs."""
    predicted = torch.from_numpy(classify_all(recognizer, faces).argmax(1))
    labels = torch.tensor([recognizer.classes.index(cls) for cls, _ in faces])
    accuracy = (predicted == labels).double().mean().item()
    f1 = multiclass_f1_score(predicted, labels, num_classes=len(recognizer.classes), average="macro").item()
    return accuracy, f1


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory) -> Path:
    """Every test session decodes into its own cache, so tests never read a stale one."""
    path = tmp_path_factory.mktemp("cache")
    os.environ["FER_CACHE_DIR"] = str(path)
    return path


def synthetic_faces(n: int, classes=FER2013_CLASSES, size: int = 48, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Learnable fake faces: class k is noise plus a bright horizontal band at a class-specific height."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(classes)
    images = rng.integers(0, 90, (n, size, size), dtype=np.uint8)
    band = size // (len(classes) + 1)
    for i, k in enumerate(labels):
        images[i, k * band:(k + 1) * band] += 150
    return images, labels.astype(np.int64)


def write_image_tree(root: Path, per_split: dict[str, int], classes=FER2013_CLASSES, size: int = 48,
                     prefixes: dict[str, str] | None = None) -> Path:
    """train/<class>/*.png and test/<class>/*.png; test files named PublicTest_/PrivateTest_ alternately."""
    import cv2

    for s, (split, count) in enumerate(per_split.items()):
        images, labels = synthetic_faces(count, classes, size, seed=s)
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            folder = root / split / classes[label]
            folder.mkdir(parents=True, exist_ok=True)
            prefix = "Training" if split == "train" else ("PublicTest", "PrivateTest")[(i // len(classes)) % 2]
            cv2.imwrite(str(folder / f"{prefix}_{i:05d}.png"), image)
    return root


@pytest.fixture
def tiny_folder(tmp_path) -> Path:
    return write_image_tree(tmp_path / "faces", {"train": 140, "test": 56})


def run_script(script: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """scripts/<script> run as a user runs it, from the repository root."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}  # this checkout's fer
    result = subprocess.run([sys.executable, str(REPO / "scripts" / script), *args], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"{script} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def compose_train(output_dir: Path, *overrides: str):
    """The real train config, as Hydra composes it for scripts/train.py, writing into ``output_dir``."""
    from hydra import compose, initialize_config_dir

    from fer.config import CONFIG_DIR

    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        return compose("train", overrides=[f"paths.output_dir={output_dir}", "callbacks.progress_bar=null",
                                           *overrides])


@pytest.fixture(scope="session")
def tiny_sources(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    folder = write_image_tree(root / "folder", {"train": 280, "test": 112})
    convert(folder, root / "faces.csv", "csv")
    convert(folder, root / "faces.npz", "npz")
    return {"folder": folder, "csv": root / "faces.csv", "npz": root / "faces.npz"}


SHORT = ["model=baseline_cnn", "trainer.max_epochs=3", "data.batch_size=32", "augment=none",
         "trainer.precision=32-true", "optimizer=adam", "module.optimizer.lr=1e-3", "scheduler=none"]


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory, tiny_sources) -> Path:
    out = tmp_path_factory.mktemp("trained")
    train(compose_train(out, *SHORT, f"data.source={tiny_sources['folder']}"))
    return out


@pytest.fixture(scope="session")
def real_short_run(tmp_path_factory, fer2013_zip) -> Path:
    """Two epochs of baseline_cnn on real FER-2013 (about two minutes on a 2-core CPU)."""
    out = tmp_path_factory.mktemp("real")
    train(compose_train(out, "model=baseline_cnn", "trainer.max_epochs=2", f"data.source={fer2013_zip}"))
    return out
