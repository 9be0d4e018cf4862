"""The live frame as webcam.py runs it (fer.inference.live.LiveStream): detection alone at two frame sizes, and
the whole frame (detect + classify + smooth + draw) over a video of a moving face, with a clock per frame
(frames differ: most follow the face, every tenth searches the whole frame)."""

from __future__ import annotations

import statistics
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
import torch
from hydra.utils import instantiate

from benchmarks.machine import median_seconds
from benchmarks.training import composed
from fer.inference import Recognizer
from fer.inference.emoji import load_emoji
from fer.inference.live import LiveStream

TEST_FACE = Path(__import__("fer").__file__).resolve().parent / "assets" / "test_face.jpg"  # NASA, public domain


def face_image(source: Path | None) -> tuple[np.ndarray, float]:
    """A real face and its size as a fraction of the frame height: a FER-2013 PrivateTest face when the zip is
    given (the crop is all face), else the bundled portrait (a face about 150 px tall at 640x480)."""
    if source is not None and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            name = next(n for n in sorted(archive.namelist()) if "/happy/PrivateTest_" in n)
            return cv2.imdecode(np.frombuffer(archive.read(name), np.uint8), cv2.IMREAD_COLOR), 5 / 12
    return cv2.imread(str(TEST_FACE), cv2.IMREAD_COLOR), 4 / 5


def face_scene(face: np.ndarray, fraction: float, width: int, height: int, shift: int = 0) -> np.ndarray:
    """One face on a smooth background, ``shift`` pixels right of a third of the width."""
    rng = np.random.default_rng(0)
    frame = cv2.resize(rng.integers(60, 200, (6, 8, 3), dtype=np.uint8), (width, height),
                       interpolation=cv2.INTER_CUBIC)
    side = int(height * fraction)
    top, left = (height - side) // 2, width // 3 - side // 4 + shift
    frame[top: top + side, left: left + side] = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    return frame


def detection_latency(face, fraction, min_run_time: float) -> dict:
    result = {}
    for name in ("haar", "haar_fast"):
        detector = instantiate(composed("webcam", [f"detector={name}"]).detector)
        for width, height in ((640, 480), (1280, 720)):
            frame = face_scene(face, fraction, width, height)
            result[f"{name}_{width}x{height}_ms"] = 1000 * median_seconds("detector(frame)", min_run_time, threads=1,
                                                                          detector=detector, frame=frame)
    return result


def live_frames(face, fraction, detector_name: str, frames: int) -> dict:
    """Per-frame milliseconds of the webcam's loop body on a moving face, as webcam.yaml configures it."""
    webcam = composed("webcam", [f"detector={detector_name}"])
    torch.set_num_threads(webcam.threads or torch.get_num_threads())
    recognizer = Recognizer.from_config(webcam)
    stream = LiveStream(recognizer, emoji=load_emoji(None, recognizer.classes), smoothing=webcam.smoothing)
    video = [face_scene(face, fraction, 640, 480, shift=3 * (i % 40)) for i in range(frames)]
    for frame in video[:10]:  # warm-up
        stream(frame.copy())
    stream = LiveStream(recognizer, detector=instantiate(webcam.detector), emoji=stream.emoji,
                        smoothing=webcam.smoothing)
    times, detect, faces = [], [], []
    for frame in video:
        frame = frame.copy()
        start = time.perf_counter()
        faces.append(len(stream(frame)))
        times.append(time.perf_counter() - start)
        detect.append(stream.detect_seconds)
    return {"median_ms": 1000 * statistics.median(times), "p95_ms": 1000 * float(np.percentile(times, 95)),
            "detector_share": sum(detect) / sum(times), "frames_with_a_face": sum(f > 0 for f in faces) / len(faces),
            "fps": 1 / statistics.median(times)}


def pipeline_latency(source: Path | None, min_run_time: float, frames: int) -> dict:
    face, fraction = face_image(source)
    result = {"detection": detection_latency(face, fraction, min_run_time)}
    for name in ("haar_tracked", "haar_fast"):  # the webcam's default, and a whole-frame search on every frame
        result[f"frame_640x480_{name}"] = live_frames(face, fraction, name, frames)
    return result
