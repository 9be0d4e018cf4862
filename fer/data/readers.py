"""One reader per source format. Each returns FaceArrays shaped to the configured size/channels.

Readers decide nothing about splitting, balancing or batching: that lives once, in the
DataModule. They only decode, check, and map the source's labels to canonical classes.
"""

from __future__ import annotations

import csv
import logging
import math
import stat
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

import cv2
import numpy as np
from tqdm.auto import tqdm

from fer.data.arrays import FER2013_USAGE, SPLITS, FaceArrays, to_face
from fer.errors import DataError
from fer.labels import canonical_classes, canonical_name, integer_order

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".pgm", ".ppm", ".webp", ".tif", ".tiff"}
SPLIT_DIRS = {"train": "train", "training": "train", "val": "val", "validation": "val", "test": "test"}
MAX_MEMBER_BYTES = 64 * 2**20  # no single face image is this large; a bigger member is a zip bomb
MAX_COMPRESSION_RATIO = 200


# --------------------------------------------------------------------------- folder / zip
def safe_members(archive: zipfile.ZipFile, name: str) -> list[zipfile.ZipInfo]:
    """All members of a zip, refusing any that could escape a target directory or explode."""
    members = archive.infolist()
    for info in members:
        path = info.filename
        parts = PurePosixPath(path).parts
        mode = info.external_attr >> 16
        problem = (
            "is an absolute path" if path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":")
            else "contains '..'" if ".." in parts
            else "contains a backslash" if "\\" in path
            else "is a symbolic link" if stat.S_ISLNK(mode)
            else "is too large for a face image" if info.file_size > MAX_MEMBER_BYTES
            else "has an implausible compression ratio" if info.compress_size
            and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO
            else None
        )
        if problem:
            raise DataError(f"{name}: refusing zip entry {path!r}: it {problem}")
    return members


def _is_junk(parts: Sequence[str]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _layout(files: list[PurePosixPath], dirs: set[PurePosixPath], source: str) -> tuple[list, set, bool]:
    """Strip a wrapping folder; tell whether the tree has split folders (train/, test/)."""
    while files and len({f.parts[0] for f in files}) == 1 and len(files[0].parts) > 2 \
            and files[0].parts[0].lower() not in SPLIT_DIRS:
        top = files[0].parts[0]
        files = [PurePosixPath(*f.parts[1:]) for f in files]
        dirs = {PurePosixPath(*d.parts[1:]) for d in dirs if d.parts[0] == top and len(d.parts) > 1}
    if not files:
        raise DataError(f"{source}: no images found (expected train/<class>/*.jpg and test/<class>/*.jpg, "
                        f"or <class>/*.jpg)")
    structured = any(f.parts[0].lower() in SPLIT_DIRS for f in files)
    depth = 3 if structured else 2
    misplaced = [str(f) for f in files if len(f.parts) != depth]
    if misplaced:
        shape = "<split>/<class>/<image>" if structured else "<class>/<image>"
        raise DataError(f"{source}: images must lie at {shape}; found {misplaced[:3]} ({len(misplaced)} in all)")
    return files, dirs, structured


def _check_class_dirs(files: list[PurePosixPath], dirs: set[PurePosixPath], structured: bool, source: str) -> None:
    class_level = 2 if structured else 1
    used = {PurePosixPath(*f.parts[:class_level]) for f in files}
    empty = sorted(str(d) for d in dirs if len(d.parts) == class_level and d not in used and not _is_junk(d.parts))
    if empty:
        raise DataError(f"{source}: empty class directory {empty[0]!r} (every class folder needs images)")
    if not structured:
        return
    by_split: dict[str, set[str]] = {}
    for f in files:
        by_split.setdefault(f.parts[0].lower(), set()).add(f.parts[1])
    for needed in ("train", "test"):
        if needed not in by_split:
            raise DataError(f"{source}: missing {needed}/ folder (found {sorted(by_split)}; "
                            "expected train/<class>/ and test/<class>/)")
    for split, names in by_split.items():
        if names != by_split["train"]:
            raise DataError(f"{source}: class folders differ between train/ and {split}/: "
                            f"only in train {sorted(by_split['train'] - names)}, "
                            f"only in {split} {sorted(names - by_split['train'])}")


def _split_of(path: PurePosixPath, structured: bool) -> str:
    if not structured:
        return "train"
    split = SPLIT_DIRS[path.parts[0].lower()]
    if split == "test":  # Kaggle FER-2013: test/ holds PublicTest_ (validation) and PrivateTest_ (test)
        prefix = path.name.split("_", 1)[0]
        return FER2013_USAGE.get(prefix, "test") if prefix != "Training" else "test"
    return split


def _list_tree(source: Path) -> tuple[list[PurePosixPath], set[PurePosixPath], Callable[[PurePosixPath], bytes]]:
    if zipfile.is_zipfile(source):
        archive = zipfile.ZipFile(source)
        members = safe_members(archive, str(source))
        files = [PurePosixPath(m.filename) for m in members if not m.is_dir()]
        dirs = {PurePosixPath(m.filename) for m in members if m.is_dir()}
        dirs |= {p for f in files for p in f.parents if p != PurePosixPath(".")}
        return files, dirs, lambda p: archive.read(str(p))
    if source.is_file():
        hint = {".csv": " (a CSV: use data=csv)", ".npz": " (an NPZ: use data=npz)"}.get(source.suffix.lower(), "")
        raise DataError(f"{source}: a file, but not a zip archive{hint}; expected a folder with train/ and test/, "
                        "a folder of class subfolders, or the Kaggle FER-2013 zip")
    if not source.is_dir():
        raise DataError(f"{source}: no such directory or zip file (expected a folder with train/ and test/, "
                        "a folder of class subfolders, or the Kaggle FER-2013 zip)")
    files, dirs = [], set()
    for path in sorted(source.rglob("*")):
        rel = PurePosixPath(path.relative_to(source).as_posix())
        if path.is_symlink():
            raise DataError(f"{path}: symbolic links are not followed in a dataset folder")
        (dirs.add if path.is_dir() else files.append)(rel)
    return files, dirs, lambda p: (source / p).read_bytes()


def decode(data: bytes, channels: int = 3) -> np.ndarray | None:
    """Decode an encoded image to uint8 gray or BGR; None when it cannot be decoded.

    Every program decodes from bytes: ``cv2.imdecode`` refuses a truncated JPEG, which ``cv2.imread`` would
    return with its missing part grey and only libjpeg's warning, which names no file, on the terminal.
    """
    flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flag) if data else None
    if image is not None and image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    return image


def is_image_file(path: Path) -> bool:
    """A file whose suffix names an image format (a folder called ``x.jpg`` is not one)."""
    return path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()


def image_files(folder: Path, recursive: bool = False) -> list[Path]:
    """The image files of a folder, in name order."""
    return sorted(filter(is_image_file, folder.rglob("*") if recursive else folder.iterdir()))


def read_folder(source: str | Path, image_size: int = 48, channels: int = 1, skip_corrupt: bool = False) -> FaceArrays:
    """A folder (or zip) holding ``train/<class>/`` + ``test/<class>/``, or just ``<class>/`` folders.

    The Kaggle zip is read in place: members are checked as strictly as an extraction would
    check them, and each image is decoded once into the cache.
    """
    source = Path(source)
    files, dirs, read_bytes = _list_tree(source)
    files = [f for f in files if not _is_junk(f.parts)]
    ignored = [f for f in files if f.suffix.lower() not in IMAGE_SUFFIXES and len(f.parts) > 1]
    if ignored:
        raise DataError(f"{source}: {ignored[0]} is not an image (expected one of {sorted(IMAGE_SUFFIXES)})")
    files = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
    files, dirs, structured = _layout(sorted(files), dirs, str(source))
    _check_class_dirs(files, dirs, structured, str(source))

    class_level = 1 if structured else 0
    source_classes = tuple(sorted({f.parts[class_level] for f in files}))
    try:
        classes = canonical_classes(source_classes)
    except ValueError as err:
        raise DataError(f"{source}: {err}") from None
    index = {name: classes.index(canonical_name(name)) for name in source_classes}

    images, labels, splits, names, corrupt = [], [], [], [], []
    for path in tqdm(files, desc=f"decoding {source.name}", unit="img", leave=False, disable=None):
        image = decode(read_bytes(path), channels)
        if image is None:
            corrupt.append(f"{source}/{path}")
            continue
        images.append(to_face(image, image_size, channels))
        labels.append(index[path.parts[class_level]])
        splits.append(_split_of(path, structured))
        names.append(str(path))
    _report_corrupt(corrupt, skip_corrupt, "not a decodable image")
    _refuse_mixed_sizes(images, names, source)
    return FaceArrays(np.stack(images), np.array(labels, np.int64), np.array(splits), classes,
                      source_classes, np.array(names), structured)


def _refuse_mixed_sizes(images: list[np.ndarray], names: list[str], source: Path) -> None:
    """Images kept at their own size (conversion without image_size=) must all share one size."""
    sizes: dict[tuple[int, ...], str] = {}
    for image, name in zip(images, names, strict=True):
        sizes.setdefault(image.shape[1:], name)
        if len(sizes) > 1:
            (a, first), (b, second) = sizes.items()
            raise DataError(f"{source}: images of different sizes, e.g. {first} is {a[1]}x{a[0]} and {second} "
                            f"is {b[1]}x{b[0]}; give image_size=<pixels> to resize them all")


def _report_corrupt(bad: list[str], skip: bool, what: str) -> None:
    if not bad:
        return
    if not skip:
        raise DataError(f"{bad[0]}: {what}" + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else "")
                        + "; fix or remove it, or set data.skip_corrupt=true to skip such entries")
    log.warning("skipped %d corrupt entries (%s): %s", len(bad), what, ", ".join(bad[:20]))


# --------------------------------------------------------------------------- CSV
def _square_side(count: int, source: str, expected: int | Sequence[int] | None) -> tuple[int, int]:
    if expected is not None:
        h, w = (expected, expected) if isinstance(expected, int) else tuple(expected)
        if h * w != count:
            raise DataError(f"{source}: {count} pixels per image, expected {h}x{w} = {h * w}")
        return h, w
    side = math.isqrt(count)
    if side * side != count:
        raise DataError(f"{source}: {count} pixels per image is not a square image; "
                        "give data.reader.source_size=[H,W]")
    return side, side


def _label_mapper(order: str | Sequence[str], source: str) -> tuple[tuple[str, ...], Callable]:
    """Classes and a function raw label -> class index, for integer or string labels."""
    names = integer_order(order)
    classes = tuple(sorted(set(names)))

    def to_index(raw) -> int:
        text = str(raw).strip()
        if text.lstrip("-").isdigit():
            value = int(text)
            if not 0 <= value < len(names):
                raise DataError(f"{source}: label {value} outside 0..{len(names) - 1} of order {names}")
            return classes.index(names[value])
        try:
            return classes.index(canonical_name(text))
        except ValueError:
            raise DataError(f"{source}: label {text!r} is not one of {classes}") from None

    return classes, to_index


def _split_tag(raw: str, source: str) -> str:
    tag = FER2013_USAGE.get(raw.strip(), raw.strip().lower())
    if tag not in SPLITS:
        raise DataError(f"{source}: split {raw!r} is not one of {list(FER2013_USAGE)} or {list(SPLITS)}")
    return tag


def read_csv(source: str | Path, image_size: int = 48, channels: int = 1, skip_corrupt: bool = False,
             label_order: str | Sequence[str] = "fer2013_csv", source_size: int | Sequence[int] | None = None
             ) -> FaceArrays:
    """The original ``fer2013.csv``: ``emotion,pixels[,Usage]``; pixels are H*W integers 0..255."""
    source = Path(source)
    if not source.is_file():
        raise DataError(f"{source}: no such CSV file")
    classes, to_index = _label_mapper(label_order, str(source))
    with source.open(newline="") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in reader.fieldnames or []]
        label_column = next((c for c in ("emotion", "label") if c in columns), None)
        if label_column is None or "pixels" not in columns:
            raise DataError(f"{source}: expected columns emotion,pixels[,Usage], found {columns}")
        reader.fieldnames = columns
        structured = "Usage" in columns
        images, labels, splits, names, corrupt = [], [], [], [], []
        shape = None
        rows = tqdm(reader, desc=f"parsing {source.name}", unit="row", leave=False, disable=None)
        for line, row in enumerate(rows, start=2):
            where = f"{source}:{line}"
            try:
                pixels = np.array(row["pixels"].split(), dtype=np.int64)
            except (ValueError, AttributeError):
                corrupt.append(where)
                continue
            shape = shape or _square_side(pixels.size, where, source_size)
            if pixels.size != shape[0] * shape[1]:
                raise DataError(f"{where}: {pixels.size} pixels, "
                                f"expected {shape[0]}x{shape[1]} = {shape[0] * shape[1]}")
            if pixels.min(initial=0) < 0 or pixels.max(initial=0) > 255:
                corrupt.append(where)
                continue
            images.append(to_face(pixels.astype(np.uint8).reshape(shape), image_size, channels))
            labels.append(to_index(row[label_column]))
            splits.append(_split_tag(row["Usage"], where) if structured else "train")
            names.append(f"{source.name}:{line}")
    _report_corrupt(corrupt, skip_corrupt, "pixels are not integers in 0..255")
    if not images:
        raise DataError(f"{source}: no rows")
    return FaceArrays(np.stack(images), np.array(labels, np.int64), np.array(splits), classes,
                      integer_order(label_order) if isinstance(label_order, str) else tuple(label_order),
                      np.array(names), structured)


# --------------------------------------------------------------------------- NPZ
NPZ_KEYS = {
    "images": ("images", "x", "X", "pixels", "data", "faces"),
    "labels": ("labels", "y", "Y", "label", "emotion", "targets"),
    "splits": ("splits", "split", "usage", "Usage"),
    "classes": ("classes", "class_names"),
}


def _npz_key(npz, role: str, source: Path, required: bool = True) -> np.ndarray | None:
    for key in NPZ_KEYS[role]:
        if key in npz.files:
            return npz[key]
    if required:
        raise DataError(f"{source}: no {role} array; expected one of the keys {NPZ_KEYS[role]}, found {npz.files}")
    return None


def _npz_images(raw: np.ndarray, source: Path, source_size) -> np.ndarray:
    """Common NPZ image layouts -> uint8 [N, H, W] or [N, H, W, C]."""
    if raw.ndim == 2:
        h, w = _square_side(raw.shape[1], str(source), source_size)
        raw = raw.reshape(len(raw), h, w)
    elif raw.ndim == 4 and raw.shape[1] in (1, 3) and raw.shape[3] not in (1, 3):
        raw = raw.transpose(0, 2, 3, 1)
    elif raw.ndim not in (3, 4) or (raw.ndim == 4 and raw.shape[3] not in (1, 3)):
        raise DataError(f"{source}: images of shape {raw.shape}; expected [N,H,W], [N,H,W,1|3], [N,1|3,H,W] "
                        "or flattened [N,H*W]")
    if raw.dtype == np.uint8:
        return raw
    if raw.dtype.kind != "f" and raw.dtype.kind not in "iu":
        raise DataError(f"{source}: images of dtype {raw.dtype}; expected uint8 or float in [0, 1]")
    floats = raw.dtype.kind == "f"
    per_image = raw.reshape(len(raw), -1)
    if floats:
        _refuse_rows(~np.isfinite(per_image).all(1), source, "hold NaN or Inf", "finite floats in [0, 1]")
    low, high = (0.0, 1.0) if floats else (0, 255)
    _refuse_rows((per_image < low).any(1) | (per_image > high).any(1), source, f"have pixels outside [{low}, {high}]",
                 "float images in [0, 1] or integer images in [0, 255]")
    return np.rint(raw * (255.0 if floats else 1.0)).astype(np.uint8)


def _refuse_rows(bad: np.ndarray, source: Path, what: str, expected: str) -> None:
    """A DataError naming the file, how many rows are bad, and the first of them."""
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(f"{source}: {len(rows)} of {len(bad)} images {what} (first at index {rows[0]}); "
                        f"expected {expected}")


def read_npz(source: str | Path, image_size: int = 48, channels: int = 1, skip_corrupt: bool = False,
             label_order: str | Sequence[str] = "canonical", source_size: int | Sequence[int] | None = None
             ) -> FaceArrays:
    """A NumPy ``.npz`` of images + labels (+ optional split tags and class names)."""
    source = Path(source)
    if not source.is_file():
        raise DataError(f"{source}: no such NPZ file")
    try:
        npz = np.load(source, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as err:
        raise DataError(f"{source}: not a readable .npz ({err})") from None
    with npz:
        images = _npz_images(_npz_key(npz, "images", source), source, source_size)
        labels = _npz_key(npz, "labels", source)
        splits = _npz_key(npz, "splits", source, required=False)
        names = _npz_key(npz, "classes", source, required=False)
    if labels.ndim == 2:  # one-hot, as Keras users store them
        labels = labels.argmax(1)
    if labels.dtype.kind == "f" and np.array_equal(labels, np.round(labels)):
        labels = labels.astype(np.int64)
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(f"{source}: {len(images)} images but labels of shape {labels.shape}; expected [{len(images)}]")
    if splits is not None and splits.shape != (len(images),):
        raise DataError(f"{source}: {len(images)} images but splits of shape {splits.shape}")
    order = [str(n) for n in names] if names is not None else label_order
    if labels.dtype.kind in "US":
        order = sorted({canonical_name(v) for v in np.unique(labels)})
    classes, to_index = _label_mapper(order, str(source))
    mapped = []
    for value in np.unique(labels):
        try:
            mapped.append(to_index(value))
        except DataError as err:
            rows = np.flatnonzero(labels == value)
            raise DataError(f"{err} ({len(rows)} rows, first at index {rows[0]})") from None
    mapped = np.array(mapped, np.int64)
    label_index = mapped[np.searchsorted(np.unique(labels), labels)]
    faces = np.stack([to_face(img, image_size, channels) for img in
                      tqdm(images, desc=f"shaping {source.name}", unit="img", leave=False, disable=None)])
    tags = np.array([_split_tag(str(s), str(source)) for s in splits]) if splits is not None \
        else np.full(len(images), "train")
    source_classes = tuple(order) if not isinstance(order, str) else integer_order(order)
    return FaceArrays(faces, label_index, tags, classes, source_classes,
                      np.array([f"{source.name}[{i}]" for i in range(len(faces))]), splits is not None)


def read_any(source: str | Path, **kwargs) -> FaceArrays:
    """Pick the reader from the source itself: a directory or .zip, a .csv, or a .npz."""
    path = Path(source)
    reader = read_csv if path.suffix.lower() == ".csv" else read_npz if path.suffix.lower() == ".npz" else read_folder
    return reader(path, **kwargs)
