"""Decode a source once: FaceArrays cached on disk, keyed by the source's checksum and the read options."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from fer.data.arrays import FaceArrays
from fer.files import opened_whole

log = logging.getLogger(__name__)
CACHE_VERSION = 1


def default_cache_dir() -> Path:
    return Path(os.environ.get("FER_CACHE_DIR", Path.home() / ".cache" / "fer"))


def source_checksum(source: str | Path) -> str:
    """SHA-256 of a file's bytes; of a directory's file list with sizes and mtimes (cheap, yet changes on edit)."""
    path = Path(source)
    digest = hashlib.sha256()
    if path.is_file():
        with path.open("rb") as handle:
            while block := handle.read(1 << 22):
                digest.update(block)
    elif path.is_dir():
        for item in sorted(path.rglob("*")):
            if item.is_file():
                info = item.stat()
                digest.update(f"{item.relative_to(path)}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    else:
        digest.update(str(path).encode())  # let the reader raise its own, clearer error
    return digest.hexdigest()


def cache_path(source: str | Path, reader: Callable, options: dict, cache_dir: str | Path | None) -> Path:
    reader_name = getattr(getattr(reader, "func", reader), "__qualname__", str(reader))
    reader_options = getattr(reader, "keywords", {})
    key = json.dumps([CACHE_VERSION, source_checksum(source), reader_name, reader_options, options],
                     sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return Path(cache_dir or default_cache_dir()) / f"{Path(source).stem}-{digest}.npz"


def save(arrays: FaceArrays, path: Path) -> None:
    with opened_whole(path) as handle:
        np.savez(handle, images=arrays.images, labels=arrays.labels, splits=arrays.splits, files=arrays.files,
                 classes=np.array(arrays.classes), source_classes=np.array(arrays.source_classes),
                 structured=np.array(arrays.structured))


def load(path: Path) -> FaceArrays:
    with np.load(path, allow_pickle=False) as z:
        return FaceArrays(z["images"], z["labels"], z["splits"], tuple(z["classes"].tolist()),
                          tuple(z["source_classes"].tolist()), z["files"], bool(z["structured"]))


def read_cached(source: str | Path, reader: Callable[..., FaceArrays], cache_dir: str | Path | None = None,
                **options) -> FaceArrays:
    """``reader(source, **options)``, decoded at most once per source content and options."""
    path = cache_path(source, reader, options, cache_dir)
    if path.exists():
        return load(path)
    arrays = reader(source, **options)
    save(arrays, path)
    log.info("cached %d images from %s in %s", len(arrays), source, path)
    return arrays
