"""Tests for helpers.datasets.files: bad files are skipped with one warning per split, odd images are used.

A bad input never reaches tf.data (so an epoch never crashes); a valid image in any form the loader
accepts comes out as 3-channel float32 RGB in [0, 255].
"""

import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

import warnings

import numpy as np
import pytest
import tensorflow as tf
from layout_fixtures import (
    INTEL_CLASSES,
    batches,
    build_intel,
    class_colour,
    data_warnings,
    truncate,
    write_image,
    write_noise_jpeg,
)

from helpers import datasets
from helpers.datasets import DataWarning
from helpers.datasets.files import Skipped, image_problem, list_images
from helpers.pipeline import decode_image

SIZE = (16, 16)
FOREST = 1  # label of the class folder the bad files are put in


def load_recording(root, **kwargs):
    """``datasets.load`` of intel with every warning recorded; returns (loaded, DataWarning messages)."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        loaded = datasets.load("intel", root, image_size=SIZE, batch_size=4, **kwargs)
    return loaded, data_warnings(record)


def full_epochs(loaded):
    """Iterate every split once (this is where an undecodable file would raise)."""
    out = {}
    for split in ("train", "val", "test"):
        out[split] = batches(getattr(loaded, split))
    return out


@pytest.fixture
def intel(tmp_path):
    return build_intel(tmp_path / "intel", per_class=3, test_per_class=2, pred=1)


def train_dir(root):
    return root / "seg_train" / "seg_train"


# Each bad item: (id, function writing it under the intel root and returning the path to name).
def _truncated_half(root):
    return truncate(write_noise_jpeg(train_dir(root) / "forest" / "cut_half.jpg"), 0.5)


def _truncated_tail(root):
    return truncate(write_noise_jpeg(train_dir(root) / "forest" / "cut_tail.jpg"), 0.9)


def _truncated_tiny(root):
    return truncate(write_image(train_dir(root) / "forest" / "tiny_cut.jpg", FOREST), 0.5)


def _empty(root):
    path = train_dir(root) / "forest" / "empty.jpg"
    path.write_bytes(b"")
    return path


def _ds_store(root):
    path = train_dir(root) / "forest" / ".DS_Store"
    path.write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(64))
    return path


def _thumbs_db(root):
    path = train_dir(root) / "forest" / "Thumbs.db"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64))
    return path


def _text(root):
    path = train_dir(root) / "forest" / "notes.txt"
    path.write_text("photos from the trip\n")
    return path


def _html_as_jpg(root):
    path = train_dir(root) / "forest" / "download.jpg"
    path.write_text("<html><body>403 Forbidden</body></html>\n")
    return path


def _folder_in_class(root):
    folder = train_dir(root) / "forest" / "more_forest"
    write_image(folder / "inside.jpg", FOREST)
    return folder


def _folder_beside_classes(root):
    folder = train_dir(root) / "old_backup"
    write_image(folder / "a.jpg", FOREST)
    return folder


def _file_beside_classes(root):
    path = train_dir(root) / ".DS_Store"
    path.write_bytes(b"\x00\x00\x00\x01Bud1")
    return path


def _tiff(root):
    return write_image(train_dir(root) / "forest" / "scan.tif", FOREST, fmt="TIFF")


def _tiff_named_jpg(root):
    return write_image(train_dir(root) / "forest" / "scan_tiff.jpg", FOREST, fmt="TIFF")


BAD_ITEMS = {
    "truncated JPEG cut in half": _truncated_half,
    "truncated JPEG missing its end": _truncated_tail,
    "tiny JPEG cut in half": _truncated_tiny,
    "empty file": _empty,
    ".DS_Store": _ds_store,
    "Thumbs.db": _thumbs_db,
    "text file": _text,
    "HTML page saved as .jpg": _html_as_jpg,
    "stray folder in a class folder": _folder_in_class,
    "stray folder beside the class folders": _folder_beside_classes,
    ".DS_Store beside the class folders": _file_beside_classes,
    "TIFF image": _tiff,
    "TIFF image named .jpg": _tiff_named_jpg,
}


@pytest.mark.parametrize("kind", BAD_ITEMS)
def test_bad_item_is_skipped_with_one_warning_naming_it(intel, kind):
    bad = BAD_ITEMS[kind](intel)
    loaded, messages = load_recording(intel)
    assert len(messages) == 1, messages
    assert bad.name in messages[0]
    assert str(train_dir(intel)) in messages[0], "the warning says where"
    every = [p for split in loaded.files.values() for p in split]
    assert not [p for p in every if p == bad or p.is_relative_to(bad)]
    assert len(loaded.files["train"]) + len(loaded.files["val"]) == 3 * len(INTEL_CLASSES)
    assert len(loaded.files["test"]) == 2 * len(INTEL_CLASSES)
    epochs = full_epochs(loaded)  # never raises
    assert sum(len(labels) for _, labels in epochs.values()) == 5 * len(INTEL_CLASSES)
    assert bad.exists(), "skipping must not delete anything"


def test_one_warning_per_split_each_naming_its_own_files(intel):
    for kind in ("empty file", "text file", "stray folder in a class folder", "TIFF image"):
        BAD_ITEMS[kind](intel)
    test_bad = write_image(intel / "seg_test" / "seg_test" / "sea" / "bad_test.jpg", 4)
    truncate(test_bad, 0.3)
    loaded, messages = load_recording(intel)
    assert len(messages) == 2, messages
    train_msg = next(m for m in messages if "seg_train" in m)
    test_msg = next(m for m in messages if "seg_test" in m)
    for name in ("empty.jpg", "notes.txt", "more_forest", "scan.tif"):
        assert name in train_msg and name not in test_msg
    assert "Skipped 4 item(s)" in train_msg
    assert "bad_test.jpg" in test_msg and "Skipped 1 item(s)" in test_msg
    full_epochs(loaded)


def test_clean_folder_gives_no_warning(intel):
    _, messages = load_recording(intel)
    assert messages == []


def test_hidden_and_archive_folders_are_ignored_silently(intel):
    write_image(train_dir(intel) / "forest" / ".ipynb_checkpoints" / "x.jpg", FOREST)
    write_image(train_dir(intel) / "__MACOSX" / "forest" / "._x.jpg", FOREST)
    write_image(train_dir(intel) / ".git" / "y.jpg", FOREST)
    loaded, messages = load_recording(intel)
    assert messages == []
    every = [p for split in loaded.files.values() for p in split]
    assert not [p for p in every if "__MACOSX" in p.parts or ".ipynb_checkpoints" in p.parts]


def test_long_lists_of_skipped_items_are_shortened(intel):
    for i in range(11):
        (train_dir(intel) / "forest" / f"junk{i:02d}.txt").write_text("x")
    _, messages = load_recording(intel)
    assert len(messages) == 1
    assert "Skipped 11 item(s)" in messages[0]
    assert "and 3 more" in messages[0]
    assert "junk00.txt" in messages[0] and "junk10.txt" not in messages[0]


def test_warning_is_a_data_warning_usable_with_pytest_warns(intel):
    _empty(intel)
    with pytest.warns(DataWarning, match="empty.jpg"):
        datasets.load("intel", intel, image_size=SIZE, batch_size=4)


# --------------------------------------------------------------------------------------------------
# Valid images in other forms
# --------------------------------------------------------------------------------------------------

# name -> (file name, write arguments); each is written in seg_test/seg_test/glacier (label 2).
GLACIER = 2
VALID_FORMS = {
    "PNG": ("png.png", {}),
    "grayscale JPEG": ("gray.jpg", {"mode": "L"}),
    "RGBA PNG": ("rgba.png", {"mode": "RGBA"}),
    "palette PNG": ("palette.png", {"mode": "P"}),
    "CMYK JPEG": ("cmyk.jpg", {"mode": "CMYK"}),
    "upper-case .JPG": ("upper.JPG", {}),
    ".jpeg": ("long.jpeg", {}),
    "upper-case .PNG": ("upper.PNG", {"fmt": "PNG"}),
    "progressive JPEG": ("progressive.jpg", {"progressive": True}),
    "BMP": ("bitmap.bmp", {}),
    "GIF": ("anim.gif", {}),
    "WebP": ("web.webp", {"lossless": True}),
    "16-bit grayscale PNG": ("deep.png", {"mode": "I;16"}),
    "odd size 20x8": ("wide.jpg", {"size": (20, 8)}),
}


@pytest.mark.parametrize("form", VALID_FORMS)
def test_image_problem_accepts_valid_forms(tmp_path, form):
    name, kwargs = VALID_FORMS[form]
    path = write_image(tmp_path / name, GLACIER, **kwargs)
    assert image_problem(path) is None


def test_valid_forms_load_as_rgb_float32(intel):
    test_glacier = intel / "seg_test" / "seg_test" / "glacier"
    written = {}
    for form, (name, kwargs) in VALID_FORMS.items():
        written[form] = write_image(test_glacier / name, GLACIER, **kwargs)
    loaded, messages = load_recording(intel)
    assert messages == []
    assert set(written.values()) <= set(loaded.files["test"])
    images, labels = batches(loaded.test)
    assert images.dtype == np.float32 and labels.dtype == np.int32
    assert images.shape == (len(loaded.files["test"]), *SIZE, 3)
    assert images.min() >= 0 and images.max() <= 255
    index = {p: i for i, p in enumerate(loaded.files["test"])}
    expected = np.array(class_colour(GLACIER), np.float32)
    for form, path in written.items():
        pixel = images[index[path]].reshape(-1, 3).mean(axis=0)
        assert labels[index[path]] == GLACIER
        if form in ("grayscale JPEG", "16-bit grayscale PNG"):
            assert np.ptp(pixel) < 2, f"{form}: gray must come out as R = G = B, got {pixel}"
            # PIL's luma of the class colour
            luma = (299 * expected[0] + 587 * expected[1] + 114 * expected[2]) / 1000
            if form == "grayscale JPEG":
                assert abs(pixel[0] - luma) < 6, (form, pixel, luma)
        else:
            assert np.abs(pixel - expected).max() < 10, (form, pixel, expected)
    full_epochs(loaded)


# --------------------------------------------------------------------------------------------------
# image_problem and list_images
# --------------------------------------------------------------------------------------------------


def _write(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda d: _write(d / "e.jpg", b""), "empty file"),
        (lambda d: _write(d / "notes.txt", b"hello"), "not an image file"),
        (lambda d: _write(d / ".DS_Store", b"\x00\x00\x00\x01Bud1"), "not an image file"),
        (lambda d: _write(d / "Thumbs.db", b"\xd0\xcf\x11\xe0"), "not an image file"),
        (lambda d: write_image(d / "scan.tif", fmt="TIFF"), "not an image file"),
        (lambda d: write_image(d / "scan.jpg", fmt="TIFF"), "TIFF images are not supported"),
        (lambda d: _write(d / "page.jpg", b"<html>Not found</html>"), "not a readable image"),
        (lambda d: truncate(write_noise_jpeg(d / "t.jpg"), 0.9), "truncated JPEG"),
        (lambda d: truncate(write_image(d / "t.png", size=(64, 64), mode="RGB"), 0.9), "truncated PNG"),
    ],
    ids=["empty", "txt", "DS_Store", "Thumbs.db", "tif", "TIFF as jpg", "html as jpg", "cut JPEG", "cut PNG"],
)
def test_image_problem_reasons(tmp_path, make, reason):
    path = make(tmp_path)
    assert image_problem(path) == reason


def _cut(path, missing):
    """Remove the last ``missing`` bytes of ``path`` (an interrupted copy)."""
    path.write_bytes(path.read_bytes()[:-missing])
    return path


def _append(path, extra):
    path.write_bytes(path.read_bytes() + extra)
    return path


@pytest.mark.parametrize(
    "make, reason, decodes",
    [
        (lambda d: _cut(write_image(d / "t.png"), 2), "truncated PNG", False),  # "IEND" is there, its CRC is not
        (lambda d: _cut(write_image(d / "t.gif", size=(20, 16)), 1), "truncated GIF", True),  # stricter than TF
        (lambda d: _cut(write_image(d / "t.gif", size=(20, 16)), 2), "truncated GIF", False),
        (lambda d: _cut(write_image(d / "t.bmp", size=(5, 3)), 1), "truncated BMP", False),
        (lambda d: _append(write_image(d / "t.bmp", size=(5, 3)), b"\0\0"), "BMP with 2 byte(s) after its pixels",
         False),
        (lambda d: write_image(d / "mono.bmp", mode="1"), "1-bit BMP images are not supported", False),
        (lambda d: write_image(d / "palette.bmp", mode="P"),
         "palette BMP images are not supported (TensorFlow would read them as grey)", True),  # wrong colours
    ],
    ids=["PNG without its last 2 bytes", "GIF without its trailer", "GIF without its last block end",
         "BMP without its last byte", "BMP with 2 bytes too many", "1-bit BMP", "palette BMP"],
)
def test_image_problem_reasons_for_files_tensorflow_gets_wrong(tmp_path, make, reason, decodes):
    """Files Pillow opens and loads, but TensorFlow cannot decode (or, for a palette BMP, decodes wrongly)."""
    path = make(tmp_path)
    assert image_problem(path) == reason
    assert _decodes(path) == decodes


def test_tensorflow_reads_a_palette_bmp_as_grey(tmp_path):
    """Why palette BMPs are rejected: TensorFlow ignores the palette, so a coloured image comes out grey."""
    path = write_image(tmp_path / "palette.bmp", GLACIER, mode="P")
    pixel = decode_image(tf.constant(str(path)), (8, 8)).numpy().reshape(-1, 3).mean(axis=0)
    assert np.ptp(pixel) == 0 and np.ptp(class_colour(GLACIER)) > 50


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
@pytest.mark.parametrize("width", [1, 2, 3, 4, 5])
def test_bmps_of_every_row_padding_are_accepted(tmp_path, mode, width):
    """A whole BMP passes the size check whatever padding its rows need, and decodes."""
    path = write_image(tmp_path / "ok.bmp", size=(width, 3), mode=mode)
    assert image_problem(path) is None
    assert _decodes(path)


@pytest.mark.parametrize("name", ["t.png", "t.jpg"])
def test_bytes_after_the_end_of_a_png_or_jpeg_are_accepted(tmp_path, name):
    """TensorFlow stops at the end chunk or marker: what follows (padding, another tool's data) does no harm."""
    path = _append(write_image(tmp_path / name), b"\0\0trailing data")
    assert image_problem(path) is None
    assert _decodes(path)


def test_a_bmp_larger_than_tensorflow_decodes_is_reported(tmp_path, monkeypatch):
    """With Pillow's own size limit lifted, the BMP header still says the image is too large for TensorFlow."""
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    path = write_image(tmp_path / "big.bmp", size=(4, 4))
    data = bytearray(path.read_bytes())
    data[18:26] = (20_000).to_bytes(4, "little") * 2  # width and height
    path.write_bytes(bytes(data))
    assert image_problem(path) == "image too large (20000 x 20000 pixels)"


def test_image_problem_on_a_half_jpeg_is_not_none(tmp_path):
    assert image_problem(truncate(write_noise_jpeg(tmp_path / "a.jpg"), 0.5)) is not None
    assert image_problem(truncate(write_image(tmp_path / "b.jpg"), 0.5)) is not None


def test_image_problem_on_a_missing_file(tmp_path):
    assert image_problem(tmp_path / "gone.jpg").startswith("unreadable")


def test_image_problem_does_not_mistake_a_valid_jpeg_for_a_truncated_one(tmp_path):
    for seed in range(5):
        assert image_problem(write_noise_jpeg(tmp_path / f"n{seed}.jpg", (80, 60), seed)) is None


def _decodes(path):
    try:
        decode_image(tf.constant(str(path)), (8, 8))
    except tf.errors.InvalidArgumentError:
        return False
    return True


@pytest.mark.parametrize(
    "make",
    [
        lambda d: write_image(d / "mono.bmp", mode="1"),
        lambda d: truncate(write_image(d / "cut.bmp", size=(40, 40)), 0.7),
        lambda d: truncate(write_image(d / "cut.gif", size=(40, 40)), 0.7),
    ],
    ids=["1-bit BMP", "truncated BMP", "truncated GIF"],
)
def test_files_tensorflow_cannot_decode_are_rejected(tmp_path, make):
    path = make(tmp_path)
    assert image_problem(path) is not None or _decodes(path), f"{path.name} would crash an epoch"


def test_list_images_sorts_and_reports(tmp_path):
    for name in ("b.jpg", "a.png", "C.JPG"):
        write_image(tmp_path / name)
    (tmp_path / "x.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    skipped = Skipped()
    found = list_images(tmp_path, skipped)
    assert [p.name for p in found] == sorted(["b.jpg", "a.png", "C.JPG"])
    assert sorted(p.name for p, _ in skipped.items) == ["sub", "x.txt"]


def test_skipped_warns_nothing_when_empty(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Skipped().warn(tmp_path)
