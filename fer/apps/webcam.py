"""run(cfg): the live camera (or a video / image folder) with face boxes, emotions and emoji."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2
from omegaconf import DictConfig

from fer.errors import SourceError
from fer.inference.emoji import load_emoji
from fer.inference.live import LiveStream
from fer.inference.recognizer import Recognizer, use_threads
from fer.inference.video import FrameSource, HeadlessSink

log = logging.getLogger(__name__)
WINDOW = "fer: q/Esc quit, s screenshot, p pause"


def show(frame) -> None:
    """The live window; a machine without a display gets a UserError that names the headless option."""
    try:
        cv2.imshow(WINDOW, frame)
    except cv2.error as err:
        if any(word in str(err).lower() for word in ("display", "gtk", "qt", "cannot connect", "not implemented")):
            raise SourceError("cannot open a window here (no display, or an OpenCV without GUI support); "
                              "use headless=true output=<file.mp4>") from err
        raise


def run(cfg: DictConfig) -> dict:
    """Returns frames processed, frames per second, where the output went and the unreadable images skipped."""
    source = FrameSource(cfg.source)  # first: a missing camera should not wait for a model to load
    use_threads(cfg.threads)
    recognizer = Recognizer.from_config(cfg)
    stream = LiveStream(recognizer, emoji=load_emoji(cfg.emoji_dir, recognizer.classes), smoothing=cfg.smoothing)
    sink = HeadlessSink(cfg.output, source.fps, recognizer.classes, source=cfg.source, overwrite=cfg.overwrite) \
        if cfg.headless else None
    frames, started, paused = 0, time.perf_counter(), False
    try:
        for frame in source:
            faces = stream(frame)
            frames += 1
            if sink is not None:
                sink.write(frame, faces)
                continue
            show(frame)
            key = cv2.waitKey(0 if paused else 1) & 0xFF
            if key in (ord("q"), 27):
                break
            if key == ord("p"):
                paused = not paused
            if key == ord("s"):
                shot = Path(cfg.screenshot_dir) / f"fer_{time.strftime('%Y%m%d_%H%M%S')}_{frames}.png"
                shot.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(shot), frame)
                log.info("screenshot: %s", shot)
        else:
            log.info("end of %s after %d frames", cfg.source, frames)
    finally:
        source.close()
        if sink is not None:
            sink.close()
        else:
            cv2.destroyAllWindows()
    elapsed = time.perf_counter() - started
    return {"frames": frames, "fps": frames / elapsed if elapsed else 0.0,
            "output": str(cfg.output) if cfg.headless else None, "unreadable": source.unreadable}
