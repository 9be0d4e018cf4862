"""Readers and converters: real FER-2013 in all three formats, and every kind of bad input."""

from __future__ import annotations

import logging
import zipfile

import cv2
import numpy as np
import pytest

from conftest import FER2013_COUNTS, synthetic_faces, write_image_tree
from fer.data.prepare import convert
from fer.data.readers import IMAGE_SUFFIXES, read_csv, read_folder, read_npz
from fer.errors import DataError
from fer.labels import FER2013_CSV_ORDER

# ----------------------------------------------------------------------------- real FER-2013


@pytest.fixture(scope="session")
def fer2013_formats(fer2013_zip, tmp_path_factory):
    """The Kaggle zip extracted by prepare_data, then folder -> CSV -> NPZ."""
    root = tmp_path_factory.mktemp("fer2013")
    convert(fer2013_zip, root / "folder", "folder")
    convert(root / "folder", root / "fer2013.csv", "csv")
    convert(root / "fer2013.csv", root / "fer2013.npz", "npz")
    return root


def test_fer2013_zip_read_in_place_has_the_standard_splits(fer2013_zip):
    arrays = read_folder(fer2013_zip)
    assert arrays.images.shape == (35887, 1, 48, 48) and arrays.images.dtype == np.uint8
    for i, split in enumerate(("train", "val", "test")):
        assert arrays.class_counts(split) == {c: counts[i] for c, counts in FER2013_COUNTS.items()}


def test_round_trip_folder_csv_npz_keeps_pixels_labels_and_splits(fer2013_zip, fer2013_formats):
    folder = read_folder(fer2013_formats / "folder")
    csv_arrays = read_csv(fer2013_formats / "fer2013.csv")
    npz = read_npz(fer2013_formats / "fer2013.npz")
    zipped = read_folder(fer2013_zip)
    for other in (csv_arrays, npz, zipped):
        assert other.classes == folder.classes
        np.testing.assert_array_equal(other.images, folder.images)
        np.testing.assert_array_equal(other.labels, folder.labels)
        np.testing.assert_array_equal(other.splits, folder.splits)
    header = (fer2013_formats / "fer2013.csv").open().readline().strip()
    assert header == "emotion,pixels,Usage"


def test_csv_uses_the_fer2013_integer_order_and_usage_names(fer2013_formats):
    with (fer2013_formats / "fer2013.csv").open() as handle:
        rows = [line.split(",") for line in handle.read().splitlines()[1:]]
    folder = read_folder(fer2013_formats / "folder")
    expected = [str(FER2013_CSV_ORDER.index(folder.classes[k])) for k in folder.labels]
    assert [r[0] for r in rows] == expected  # 0 Angry, 1 Disgust, 2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral
    usage = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
    assert [r[2] for r in rows] == [usage[s] for s in folder.splits]


def test_extraction_is_idempotent(fer2013_zip, fer2013_formats):
    target = fer2013_formats / "folder"
    before = sorted(p.stat().st_mtime_ns for p in (target / "test" / "disgust").iterdir())
    counts = convert(fer2013_zip, target, "folder")
    after = sorted(p.stat().st_mtime_ns for p in (target / "test" / "disgust").iterdir())
    assert before == after and counts[("test", "disgust")] == 111


# ----------------------------------------------------------------------------- synthetic sources


def test_folder_with_aliased_class_names_maps_to_canonical_classes(tmp_path):
    names = ("anger", "happiness", "surprised")
    write_image_tree(tmp_path, {"train": 9, "test": 6}, classes=names)
    arrays = read_folder(tmp_path)
    assert arrays.classes == ("angry", "happy", "surprise")
    assert arrays.source_classes == names
    assert arrays.class_counts("train") == {"angry": 3, "happy": 3, "surprise": 3}


def test_plain_class_folder_without_splits_is_unstructured(tmp_path):
    images, labels = synthetic_faces(6, ("happy", "sad"))
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        (tmp_path / ("happy", "sad")[label]).mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / ("happy", "sad")[label] / f"{i}.png"), image)
    arrays = read_folder(tmp_path)
    assert not arrays.structured and set(arrays.splits) == {"train"} and len(arrays) == 6


def test_colour_and_odd_sized_images_are_shaped_to_the_configured_size(tmp_path):
    write_image_tree(tmp_path, {"train": 7, "test": 7}, size=100)
    assert read_folder(tmp_path, image_size=48, channels=1).images.shape[1:] == (1, 48, 48)
    assert read_folder(tmp_path, image_size=64, channels=3).images.shape[1:] == (3, 64, 64)


def test_every_listed_image_format_is_read_from_a_class_folder(tmp_path):
    """Each format face datasets come in (.tiff, .gif, .pgm, ...) is read from a folder, as the pixels written:
    exactly for the lossless formats, closely for JPEG and WebP."""
    from PIL import Image

    suffixes = (".bmp", ".gif", ".jpeg", ".jpg", ".pgm", ".png", ".ppm", ".tif", ".tiff", ".webp")
    assert set(suffixes) == IMAGE_SUFFIXES
    images, labels = synthetic_faces(2 * len(suffixes), ("happy", "sad"))
    for i, (suffix, image, label) in enumerate(zip(suffixes * 2, images, labels, strict=True)):
        (tmp_path / ("happy", "sad")[label]).mkdir(exist_ok=True)
        Image.fromarray(image).save(tmp_path / ("happy", "sad")[label] / f"{i:02d}{suffix}")
    arrays = read_folder(tmp_path)
    assert len(arrays) == len(images) and {n.rsplit(".", 1)[1] for n in arrays.files} == {s[1:] for s in suffixes}
    for name, image in zip(arrays.files, arrays.images[:, 0], strict=True):
        written = images[int(name.split("/")[1][:2])]
        tolerance = 8 if name.endswith((".jpg", ".jpeg", ".webp")) else 0
        assert np.abs(image.astype(int) - written).mean() <= tolerance, name


def test_npz_96px_eight_classes_flattened_float(tmp_path):
    classes = ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt")
    images, labels = synthetic_faces(32, classes, size=96)
    path = tmp_path / "affectnet.npz"
    np.savez_compressed(path, X=(images.reshape(32, -1) / 255.0).astype(np.float32), y=labels)
    arrays = read_npz(path, image_size=96, label_order="affectnet")
    assert arrays.images.shape == (32, 1, 96, 96) and len(arrays.classes) == 8
    assert arrays.classes[arrays.labels[7]] == "contempt" and arrays.classes[arrays.labels[0]] == "neutral"
    np.testing.assert_allclose(arrays.images[:, 0].astype(int), images.astype(int), atol=1)
    assert not arrays.structured


@pytest.mark.parametrize("layout", ["NHW", "NHW1", "N1HW", "flat"])
def test_npz_accepts_common_shapes_and_string_labels(tmp_path, layout):
    images, labels = synthetic_faces(14)
    shaped = {"NHW": images, "NHW1": images[..., None], "N1HW": images[:, None], "flat": images.reshape(14, -1)}
    names = np.array(["Happiness" if k == 3 else "anger" for k in labels])
    np.savez(tmp_path / "x.npz", images=shaped[layout], labels=names)
    arrays = read_npz(tmp_path / "x.npz")
    assert arrays.classes == ("angry", "happy") and arrays.images.shape == (14, 1, 48, 48)
    assert arrays.class_counts() == {"angry": 12, "happy": 2}


def test_csv_without_usage_and_with_string_labels(tmp_path):
    images, _ = synthetic_faces(4)
    rows = ["emotion,pixels"] + [f"{name},{' '.join(map(str, im.ravel()))}"
                                 for name, im in zip(["happy", "sad", "happy", "surprised"], images, strict=True)]
    (tmp_path / "faces.csv").write_text("\n".join(rows) + "\n")
    arrays = read_csv(tmp_path / "faces.csv")
    assert not arrays.structured and arrays.class_counts()["happy"] == 2 and arrays.class_counts()["surprise"] == 1


# ----------------------------------------------------------------------------- bad input


def _corrupt_one(root):
    victim = next((root / "train" / "happy").iterdir())
    victim.write_bytes(b"not an image at all")
    return victim


def test_corrupt_image_is_an_error_naming_the_file(tiny_folder):
    victim = _corrupt_one(tiny_folder)
    with pytest.raises(DataError, match=f"{victim.name}.*not a decodable image.*skip_corrupt"):
        read_folder(tiny_folder)


def test_skip_corrupt_skips_with_a_warning_that_names_it(tiny_folder, caplog):
    victim = _corrupt_one(tiny_folder)
    with caplog.at_level(logging.WARNING):
        arrays = read_folder(tiny_folder, skip_corrupt=True)
    assert len(arrays) == 140 + 56 - 1
    assert "skipped 1 corrupt" in caplog.text and victim.name in caplog.text


def test_missing_test_folder(tmp_path):
    write_image_tree(tmp_path, {"train": 14})
    with pytest.raises(DataError, match="missing test/ folder"):
        read_folder(tmp_path)


def test_empty_class_folder(tiny_folder):
    (tiny_folder / "train" / "contempt").mkdir()
    (tiny_folder / "test" / "contempt").mkdir()
    with pytest.raises(DataError, match="empty class directory '(train|test)/contempt'"):
        read_folder(tiny_folder)


def test_class_folders_that_differ_between_train_and_test(tiny_folder):
    for f in (tiny_folder / "test" / "sad").iterdir():
        f.unlink()
    (tiny_folder / "test" / "sad").rmdir()
    with pytest.raises(DataError, match=r"class folders differ.*only in train \['sad'\]"):
        read_folder(tiny_folder)


def test_missing_source_folder(tmp_path):
    with pytest.raises(DataError, match="no such directory or zip file"):
        read_folder(tmp_path / "nowhere")


def test_csv_without_needed_columns(tmp_path):
    (tmp_path / "bad.csv").write_text("label_id,image\n1,2 3\n")
    expected = r"bad.csv: expected columns emotion,pixels\[,Usage\], found \['label_id', 'image'\]"
    with pytest.raises(DataError, match=expected):
        read_csv(tmp_path / "bad.csv")


def test_csv_with_wrong_pixel_count(tmp_path):
    good = " ".join(["7"] * 2304)
    (tmp_path / "bad.csv").write_text(f"emotion,pixels,Usage\n0,{good},Training\n3,{' '.join(['7'] * 2000)},Training\n")
    with pytest.raises(DataError, match="bad.csv:3: 2000 pixels, expected 48x48 = 2304"):
        read_csv(tmp_path / "bad.csv")


def test_csv_with_non_square_pixel_count(tmp_path):
    (tmp_path / "bad.csv").write_text("emotion,pixels\n0,1 2 3\n")
    with pytest.raises(DataError, match="3 pixels per image is not a square"):
        read_csv(tmp_path / "bad.csv")


def test_npz_with_mismatched_lengths(tmp_path):
    images, labels = synthetic_faces(10)
    np.savez(tmp_path / "bad.npz", images=images, labels=labels[:7])
    with pytest.raises(DataError, match=r"bad.npz: 10 images but labels of shape \(7,\)"):
        read_npz(tmp_path / "bad.npz")


def test_npz_with_wrong_image_shape(tmp_path):
    np.savez(tmp_path / "bad.npz", images=np.zeros((4, 48, 48, 5), np.uint8), labels=np.zeros(4, int))
    with pytest.raises(DataError, match=r"bad.npz: images of shape \(4, 48, 48, 5\); expected"):
        read_npz(tmp_path / "bad.npz")


def test_npz_without_labels(tmp_path):
    np.savez(tmp_path / "bad.npz", images=np.zeros((4, 48, 48), np.uint8))
    with pytest.raises(DataError, match="no labels array"):
        read_npz(tmp_path / "bad.npz")


@pytest.mark.parametrize("entry, problem", [("../evil.jpg", "contains '..'"), ("/etc/evil.jpg", "absolute path"),
                                            ("train/../../evil.jpg", "contains '..'")])
def test_malicious_zip_is_refused_before_anything_is_written(tmp_path, entry, problem):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("train/happy/ok.jpg", b"x")
        archive.writestr(entry, b"x")
    with pytest.raises(DataError, match=problem):
        convert(bad, tmp_path / "out", "folder")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.jpg").exists()
    with pytest.raises(DataError, match=problem):
        read_folder(bad)


def test_zip_with_a_symlink_is_refused(tmp_path):
    bad = tmp_path / "link.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        info = zipfile.ZipInfo("train/happy/link.jpg")
        info.external_attr = (0o120777 << 16)
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(DataError, match="symbolic link"):
        convert(bad, tmp_path / "out", "folder")


def test_csv_cannot_hold_contempt(tmp_path):
    write_image_tree(tmp_path / "src", {"train": 4, "test": 4}, classes=("contempt", "happy"))
    with pytest.raises(DataError, match="no integer for \\['contempt'\\]; use format=npz"):
        convert(tmp_path / "src", tmp_path / "out.csv", "csv")


def test_a_conversion_that_fails_midway_keeps_the_file_it_was_to_replace(tmp_path, monkeypatch):
    write_image_tree(tmp_path / "src", {"train": 4, "test": 4})
    for name, fmt in (("faces.csv", "csv"), ("faces", "npz")):  # an npz output named without .npz: that very name
        output = tmp_path / name
        convert(tmp_path / "src", output, fmt)
        before = output.read_bytes()

        def fail(*args, **kwargs):  # a full disk or a killed process, halfway through
            raise OSError("No space left on device")

        with monkeypatch.context() as patched:
            patched.setattr("csv.writer", fail)
            patched.setattr(np, "savez_compressed", fail)
            with pytest.raises(OSError, match="No space left"):
                convert(tmp_path / "src", output, fmt, overwrite=True)
        assert output.read_bytes() == before, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faces", "faces.csv", "src"]  # no half files, no leftovers
