"""predict(cfg): emotions of the faces in images, as a CSV and annotated copies."""

from __future__ import annotations

import csv
import glob
import logging
from collections import Counter
from pathlib import Path

import cv2
from omegaconf import DictConfig
from tqdm.auto import tqdm

from fer.data.readers import IMAGE_SUFFIXES, decode, image_files, is_image_file
from fer.errors import InputFileError
from fer.inference.emoji import load_emoji
from fer.inference.overlay import draw_faces, legible
from fer.inference.recognizer import Recognizer, use_threads
from fer.labels import canonical_name
from fer.metrics import score_labels

log = logging.getLogger(__name__)


def expand_inputs(spec: str) -> tuple[list[Path], Path | None]:
    """An image, a folder (searched recursively) or a glob -> image paths, and the folder if one was given."""
    path = Path(spec)
    if path.is_file():
        return [path], None
    if path.is_dir():
        if not (files := image_files(path, recursive=True)):
            raise InputFileError(f"{spec}: no images in this folder or below it "
                                 f"(expected files ending in {', '.join(sorted(IMAGE_SUFFIXES))})")
        return files, path
    matches = sorted(filter(is_image_file, map(Path, glob.glob(spec, recursive=True))))
    if not matches:
        raise InputFileError(f"{spec}: no such image, folder, or glob matching images")
    return matches, None


def true_class(path: Path, root: Path | None) -> str | None:
    """The class named by the image's nearest folder below the input folder whose name is an emotion
    (``happy/x.jpg``, ``test/happy/x.jpg``, ``happy/subject_01/x.jpg``), or None."""
    if root is None:
        return None
    for folder in reversed(path.relative_to(root).parts[:-1]):
        try:
            return canonical_name(folder)
        except ValueError:
            continue
    return None


def prepare_output(output: Path, overwrite: bool) -> Path:
    """A fresh output directory, or an existing one the user allowed to be written into (``overwrite=true``)."""
    if output.exists() and any(output.iterdir()):
        if not overwrite:
            raise InputFileError(f"{output}: output directory exists and is not empty; choose a new output_dir, "
                                 "or pass overwrite=true to replace the files this command writes there")
        log.warning("%s exists: writing predictions.csv and annotated/<image>.png into it (overwrite=true); "
                    "nothing else there is touched", output)
    return output


def predict(cfg: DictConfig) -> dict:
    """Every face of every input image: a CSV row each, an annotated copy of each image, a line on the terminal.

    Nothing is written until the inputs and the model have been read successfully.
    """
    files, root = expand_inputs(str(cfg.input))
    output = prepare_output(Path(cfg.output_dir), cfg.overwrite)
    use_threads(cfg.threads)
    recognizer = Recognizer.from_config(cfg)
    emoji = load_emoji(cfg.emoji_dir, recognizer.classes)
    (output / "annotated").mkdir(parents=True, exist_ok=True)
    unreadable, truths, guesses, unscored, faces_found = [], [], [], Counter(), 0
    with (output / "predictions.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "face", "x", "y", "w", "h", "detected", "roll", "label", "confidence",
                         *recognizer.classes])
        for path in tqdm(files, desc="predicting", unit="img", disable=None):
            try:
                frame, why = decode(path.read_bytes()), "corrupt, truncated, or not an image"
            except OSError as err:
                frame, why = None, err.strerror
            if frame is None:
                log.error("%s: cannot read this image (%s); skipped", path, why)
                unreadable.append(str(path))
                continue
            faces = recognizer(frame, fallback_whole=cfg.fallback_whole)
            faces_found += len(faces)
            for i, face in enumerate(faces):
                writer.writerow([str(path), i, *face.box, int(face.detected), f"{face.roll:g}", face.label,
                                 f"{face.confidence:.4f}", *(f"{p:.4f}" for p in face.probs)])
                if not cfg.quiet:
                    tqdm.write(describe_face(path, i, face))
            name = path.relative_to(root) if root else Path(path.name)
            target = (output / "annotated" / name).with_suffix(".png")
            target.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(target), draw_faces(*legible(frame, faces), emoji))
            truth = true_class(path, root)
            if truth is None:
                continue
            if truth not in recognizer.classes:
                unscored[f"in a '{truth}' folder (a class the model does not have)"] += 1
            elif not faces:
                unscored["with no face found (fallback_whole=false)"] += 1
            else:
                truths.append(truth)
                guesses.append(max(faces, key=lambda f: f.box[2] * f.box[3]).label)
    summary = {"images": len(files) - len(unreadable), "unreadable": unreadable, "faces": faces_found,
               "output": str(output)}
    if truths:
        summary["labelled"] = score_labels(truths, guesses, recognizer.classes)
    if unscored:
        summary["unscored"] = dict(unscored)
    return summary


def describe_face(path: Path, index: int, face) -> str:
    """``photo.jpg  face 0  happy 93%  (x, y, w, h)``; ``(whole image)`` when no face was detected."""
    where = f"({', '.join(map(str, face.box))})" if face.detected else "(no face found: whole image)"
    if face.roll:
        where += f" tilted {face.roll:+g} degrees"
    return f"{path}  face {index}  {face.label} {face.confidence:.0%}  {where}"


def format_labelled(metrics: dict) -> str:
    """Accuracy, macro F1 and the confusion matrix with per-class counts and recall, for the terminal."""
    classes = list(metrics["classes"])
    lines = [f"accuracy {metrics['accuracy']:.4f} on {metrics['images']} labelled images "
             f"(macro F1 {metrics['f1_macro']:.4f})", "",
             f"{'true/predicted':<17}" + "".join(f"{c[:8]:>9}" for c in classes) + f"{'count':>8}{'recall':>8}"]
    for c, row in zip(classes, metrics["confusion"], strict=True):
        lines.append(f"{c:<17}" + "".join(f"{v:>9}" for v in row)
                     + f"{metrics['classes'][c]['support']:>8}{metrics['classes'][c]['recall']:>8.2f}")
    return "\n".join(lines)
