"""Format conversion: Kaggle zip -> folder tree, folder -> fer2013.csv, folder or CSV -> .npz (and back)."""

from __future__ import annotations

import csv
import logging
import shutil
import zipfile
from collections import Counter
from pathlib import Path, PurePosixPath

import cv2
import numpy as np
from tqdm.auto import tqdm

from fer.data.arrays import FER2013_USAGE, FaceArrays
from fer.data.readers import read_any, safe_members
from fer.errors import DataError
from fer.files import opened_whole
from fer.labels import FER2013_CSV_ORDER

log = logging.getLogger(__name__)
FORMATS = ("folder", "csv", "npz")
USAGE_OF_SPLIT = {split: usage for usage, split in FER2013_USAGE.items()}
FOLDER_OF_SPLIT = {"train": "train", "val": "test", "test": "test"}


def refuse_existing(paths: list[Path], overwrite: bool) -> None:
    """Stop before writing when any of ``paths`` already exists, unless the user said ``overwrite=true``."""
    existing = [p for p in paths if p.exists()] if not overwrite else []
    if existing:
        raise DataError(f"{existing[0]}: exists" + (f" (and {len(existing) - 1} more of the files to write)"
                                                    if len(existing) > 1 else "")
                        + "; choose a new output, or pass overwrite=true to replace them")


def extract_zip(source: Path, output: Path, overwrite: bool = False) -> Counter:
    """Extract safely: every member is checked before anything is written; existing identical files are kept,
    different ones are replaced only with ``overwrite``."""
    with zipfile.ZipFile(source) as archive:
        members = [m for m in safe_members(archive, str(source)) if not m.is_dir()]
        refuse_existing([output / m.filename for m in members
                         if (output / m.filename).exists() and (output / m.filename).stat().st_size != m.file_size],
                        overwrite)
        root = output.resolve()
        counts: Counter = Counter()
        for member in tqdm(members, desc=f"extracting {source.name}", unit="file", leave=False, disable=None):
            target = (output / member.filename).resolve()
            if root not in target.parents:
                raise DataError(f"{source}: refusing zip entry {member.filename!r}: it lands outside {output}")
            if not (target.exists() and target.stat().st_size == member.file_size):
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
            parts = PurePosixPath(member.filename).parts
            if len(parts) >= 3:
                counts[(parts[-3], parts[-2])] += 1
    return counts


def folder_paths(arrays: FaceArrays, output: Path) -> list[Path]:
    """PNG names with the FER-2013 prefixes, so split tags survive a round trip."""
    return [output / FOLDER_OF_SPLIT[split] / arrays.classes[label] / f"{USAGE_OF_SPLIT[split]}_{i:06d}.png"
            for i, (label, split) in enumerate(zip(arrays.labels, arrays.splits, strict=True))]


def write_folder(arrays: FaceArrays, output: Path) -> None:
    """Lossless PNG files, one class folder per split folder."""
    for image, path in zip(arrays.images, folder_paths(arrays, output), strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), image.transpose(1, 2, 0))


def write_csv(arrays: FaceArrays, output: Path) -> None:
    """The original ``emotion,pixels,Usage`` layout, emotion in fer2013.csv's integer order."""
    if arrays.images.shape[1] != 1:
        raise DataError(f"{output}: fer2013.csv holds grayscale pixels; read the source with channels=1")
    unknown = set(arrays.classes) - set(FER2013_CSV_ORDER)
    if unknown:
        raise DataError(f"{output}: fer2013.csv has no integer for {sorted(unknown)}; use format=npz")
    code = np.array([FER2013_CSV_ORDER.index(name) for name in arrays.classes])
    with opened_whole(output, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["emotion", "pixels", "Usage"])
        for image, label, split in zip(arrays.images, arrays.labels, arrays.splits, strict=True):
            writer.writerow([code[label], " ".join(map(str, image.ravel().tolist())), USAGE_OF_SPLIT[split]])


def write_npz(arrays: FaceArrays, output: Path) -> None:
    """uint8 [N, H, W] (or [N, H, W, 3]) with labels, canonical class names and split tags."""
    images = arrays.images[:, 0] if arrays.images.shape[1] == 1 else arrays.images.transpose(0, 2, 3, 1)
    with opened_whole(output) as handle:
        np.savez_compressed(handle, images=images, labels=arrays.labels, classes=np.array(arrays.classes),
                            splits=arrays.splits)


def convert(source: str | Path, output: str | Path, format: str, channels: int = 1,
            image_size: int | None = None, skip_corrupt: bool = False, overwrite: bool = False) -> Counter:
    """Convert ``source`` (zip, folder, CSV or NPZ) to ``format`` at ``output``; returns (split, class) counts.

    Nothing that exists is replaced unless ``overwrite``; the source itself never is.
    """
    source, output = Path(source), Path(output)
    if format not in FORMATS:
        raise DataError(f"format={format!r}: expected one of {FORMATS}")
    if not source.exists():
        raise DataError(f"{source}: no such file or directory")
    if source.resolve() == output.resolve() or source.resolve() in output.resolve().parents:
        raise DataError(f"{output}: output would write into the source {source}; choose an output outside it")
    if format == "folder" and output.is_dir() and any(output.iterdir()):
        log.warning("%s exists: writing only this conversion's files into it; nothing else there is touched", output)
    if format == "folder" and zipfile.is_zipfile(source):
        return extract_zip(source, output, overwrite)
    arrays = read_any(source, image_size=image_size, channels=channels, skip_corrupt=skip_corrupt)
    refuse_existing(folder_paths(arrays, output) if format == "folder" else [output], overwrite)
    {"folder": write_folder, "csv": write_csv, "npz": write_npz}[format](arrays, output)
    return Counter((split, arrays.classes[label]) for split, label in zip(arrays.splits, arrays.labels, strict=True))


def counts_table(counts: Counter) -> str:
    """Per-class counts by split, as a Markdown table."""
    splits = sorted({s for s, _ in counts})
    classes = sorted({c for _, c in counts})
    rows = ["| class | " + " | ".join(splits) + " |", "|---" * (len(splits) + 1) + "|"]
    rows += [f"| {c} | " + " | ".join(str(counts[(s, c)]) for s in splits) + " |" for c in classes]
    rows.append("| **total** | " + " | ".join(str(sum(counts[(s, c)] for c in classes)) for s in splits) + " |")
    return "\n".join(rows)
