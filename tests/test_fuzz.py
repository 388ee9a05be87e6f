"""Hostile input, fuzzed with Hypothesis: file names, folder trees and image bytes.

What is fuzzed, and what each property holds the course to:

- **Labels from file names** (``layouts.FOOD5K_FILE_NAME``, the only place the course reads a label from a
  file name: Food-5K's ``{ClassID}_{ImageID}.jpg``). Any text, unicode, dots, underscores, empty stems and
  very long names included, either parses to the label its first character names, or does not parse
  (the file is then skipped with a reason); a name built from a known label always parses back to it;
  a name with any other prefix never parses (no silent mislabel).
- **Layout detection** (``layouts.locate``) over random folder trees written to a temporary folder:
  random nesting, class folder names (the real ones and random unicode ones), image and non-image files,
  empty, truncated and TIFF files, empty folders, hidden files, ``__MACOSX``, symbolic links to the folder
  itself and dangling ones. ``locate`` either returns a layout in which every file is a usable image whose
  label is its class folder (or, for Food-5K's flat layout, its file-name prefix), or raises the course's
  own :class:`~helpers.datasets.LayoutError`; never anything else. Trees that hold a complete layout under
  junk are always found.
- **Image bytes** (``files.image_problem``, then ``pipeline.decode_image``): random bytes, random bytes
  behind JPEG/PNG/GIF/BMP/WebP/TIFF signatures and end markers, and real images written by Pillow, cut
  at a random length or followed by extra bytes, all saved as ``.jpg``. ``image_problem`` never raises;
  whatever it lets through, TensorFlow decodes to an RGB image of the requested size (so a file the loader
  keeps never crashes an epoch); a JPEG, PNG or BMP that lost its last bytes is always reported.
- **Damage inside a file** (``pipeline.make_dataset``): JPEGs and PNGs with a flipped byte, a zeroed run or a
  cut, mixed with whole ones. The cheap check cannot see damage inside a JPEG or PNG (a full check costs more
  than the scan itself), so an epoch that decodes such a file stops. What must hold: ``pipeline.undecodable``
  names exactly the files TensorFlow cannot decode, the error an epoch stops with is explained by naming
  exactly those (``pipeline.unreadable_images_error``, what a notebook shows), and an epoch without them gives
  every file's image and label unchanged, in order.

The gaps this fuzzing first found (issue #6) are fixed, each pinned by a test at the end of the file: a
decompression bomb raised out of the scan; PNG, GIF and BMP files missing their last bytes were kept; an empty
training split gave a raw TensorFlow error; file-name labels accepted a trailing newline and non-ASCII digits;
a JPEG or PNG damaged inside stopped the epoch with forty lines of TensorFlow that named no file. The last is
fixed by naming the file, not by leaving it out: ``Dataset.ignore_errors()`` would make every dataset's length
unknown (Keras' progress bar and ``len()`` need it) and would train on a different dataset without saying so.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
import warnings
import zlib
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from helpers.datasets import CATALOG, LAYOUTS, LayoutError, info, locate
from helpers.datasets.files import IGNORED_DIRS, IMAGE_EXTENSIONS, DataWarning, image_problem, is_hidden
from helpers.datasets.layouts import FOOD5K_FILE_NAME, FRUITS_OTHER_BRANCHES
from helpers.datasets.samples import FRUIT_CLASSES, MOSQUITO_CLASSES


def fuzz(examples: int) -> settings:
    """Hypothesis settings: ``examples`` examples, no per-example deadline (file systems and TensorFlow vary)."""
    return settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------------------------------
# Strategies: names
# --------------------------------------------------------------------------------------------------


def usable_name(name: str) -> bool:
    """True for a name a Linux or macOS file system accepts as one path component."""
    return name not in ("", ".", "..") and "/" not in name and "\x00" not in name and len(name.encode()) <= 200


#: Any unicode text (no surrogates), dots and underscores included.
ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=300)
#: Random names for files and folders.
TEXT_NAMES = st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=24).filter(
    usable_name
)
IMAGE_ID = st.text(st.sampled_from("0123456789"), min_size=1, max_size=40)
JPEG_EXT = st.sampled_from([".jpg", ".jpeg", ".JPG", ".JPEG", ".Jpg", ".jpEg"])
OTHER_EXT = st.sampled_from(["", ".png", ".txt", ".tif", ".json", ".jpg.part", ".jpgx", ". jpg", ".jp", ".gif"])


def food5k_name(label: int, image_id: str, ext: str) -> str:
    return f"{label}_{image_id}{ext}"


#: Names that Food-5K's parser must label correctly: built from a known label.
FOOD_NAMES = st.builds(food5k_name, st.sampled_from([0, 1]), IMAGE_ID, JPEG_EXT)
#: Names that look like Food-5K's but are not: another prefix, a wrong separator or extension.
NEAR_FOOD_NAMES = st.one_of(
    st.builds(lambda prefix, rest: prefix + rest, TEXT_NAMES, st.builds(lambda i, e: f"_{i}{e}", IMAGE_ID, JPEG_EXT)),
    st.builds(lambda label, sep, i, e: f"{label}{sep}{i}{e}", st.sampled_from("01"),
              st.sampled_from(["-", "__", " ", "", "_-", "._"]), IMAGE_ID, JPEG_EXT),
    st.builds(food5k_name, st.sampled_from([0, 1]), IMAGE_ID, OTHER_EXT),
    st.builds(lambda label, i, e: f"{label}_{i}{e}", st.sampled_from(["2", "10", "01", "-1", "1.0", "O", "l", "１"]),
              IMAGE_ID, JPEG_EXT),
)
FILE_NAMES = st.one_of(
    FOOD_NAMES, NEAR_FOOD_NAMES,
    st.builds(lambda stem, ext: stem + ext, TEXT_NAMES, st.one_of(JPEG_EXT, OTHER_EXT)).filter(usable_name),
    st.sampled_from([".DS_Store", "Thumbs.db", "._0_1.jpg", ".jpg", "desktop.ini", "COURSE_SAMPLE.json"]),
)

SPLIT_NAMES = sorted({folder for layout in LAYOUTS.values() for folder in layout.splits.values()})
CLASS_NAMES = sorted({c for d in CATALOG.values() for c in d.class_names or ()} | set(FRUIT_CLASSES[:3])
                     | set(MOSQUITO_CLASSES[:3]))
WRAPPERS = ["Food-5K", "data", "fruits-360", "fruits-360_100x100", "fruits-360_original-size", "zw4p9kj6nt-2",
            "data_splitting", "seg_pred", "archive", "1", "Downloads"]
JUNK_FOLDERS = ["__MACOSX", ".ipynb_checkpoints", "@eaDir", ".hidden", "empty", "misc"]
KNOWN_FOLDERS = st.sampled_from(SPLIT_NAMES + CLASS_NAMES + WRAPPERS + JUNK_FOLDERS)
FOLDER_NAMES = st.one_of(KNOWN_FOLDERS, TEXT_NAMES)


# --------------------------------------------------------------------------------------------------
# Strategies: file contents and folder trees
# --------------------------------------------------------------------------------------------------


def encode(fmt: str, mode: str = "RGB", size: tuple[int, int] = (8, 6), seed: int = 0, **save) -> bytes:
    """A small image of random pixels in PIL ``mode``, encoded as ``fmt``."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buffer, fmt, **save)
    return buffer.getvalue()


JPEG = encode("JPEG")
CONTENTS = {
    "jpeg": JPEG,
    "png": encode("PNG"),
    "gray_png": encode("PNG", "L"),
    "empty": b"",
    "truncated_jpeg": JPEG[: len(JPEG) // 2],
    "text": b"not an image\n",
    "tiff": encode("TIFF"),
}
USABLE = {"jpeg", "png", "gray_png"}
LINKS = ("link_to_itself", "dangling_link")
FILE_KINDS = st.sampled_from(sorted(CONTENTS))
LEAVES = st.one_of(FILE_KINDS, st.sampled_from(LINKS))
MOSTLY_USABLE = st.one_of(st.sampled_from(sorted(USABLE)), st.sampled_from(sorted(USABLE)), FILE_KINDS)

#: A random tree: a folder is a dict of name -> folder or leaf kind.
TREE_NAMES = st.one_of(KNOWN_FOLDERS, KNOWN_FOLDERS, KNOWN_FOLDERS, TEXT_NAMES, FILE_NAMES)
TREES = st.dictionaries(
    TREE_NAMES,
    st.recursive(LEAVES, lambda inner: st.dictionaries(TREE_NAMES, inner, max_size=4), max_leaves=24),
    max_size=5,
)


def write_tree(tree: dict, folder: Path) -> None:
    """Create ``tree`` under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, node in tree.items():
        path = folder / name
        if isinstance(node, dict):
            write_tree(node, path)
        elif node == "link_to_itself":
            path.symlink_to(".", target_is_directory=True)
        elif node == "dangling_link":
            path.symlink_to("no-such-file.jpg")
        else:
            path.write_bytes(CONTENTS[node])


@st.composite
def class_folders(draw, dataset) -> dict:
    """The inside of a split folder with class sub-folders: real or random class names, good and bad files."""
    real = st.sampled_from(list(dataset.class_names or CLASS_NAMES))
    names = st.one_of(real, real, real, TEXT_NAMES, st.sampled_from(JUNK_FOLDERS))
    some_files = st.dictionaries(FILE_NAMES, st.one_of(MOSTLY_USABLE, MOSTLY_USABLE, LEAVES), min_size=1, max_size=4)
    files = st.one_of(some_files, some_files, some_files, st.just({}))  # empty class folders too
    split = draw(st.dictionaries(names, files, min_size=1, max_size=4))
    return merge(split, draw(st.dictionaries(st.one_of(FILE_NAMES, st.sampled_from(JUNK_FOLDERS)), LEAVES,
                                             max_size=2)))


@st.composite
def flat_food_split(draw) -> dict:
    """A Food-5K EPFL split: files named ``{ClassID}_{ImageID}.jpg`` and near misses, plus junk."""
    return draw(st.dictionaries(st.one_of(FOOD_NAMES, FOOD_NAMES, NEAR_FOOD_NAMES, FILE_NAMES).filter(usable_name),
                                st.one_of(MOSTLY_USABLE, MOSTLY_USABLE, LEAVES), min_size=1, max_size=8))


def merge(base: dict, extra: dict) -> dict:
    """``base`` with the entries of ``extra`` whose names are not taken."""
    return {**extra, **base}


@st.composite
def dataset_trees(draw):
    """A tree holding one of a dataset's real layouts, maybe incomplete, under random wrappers and junk.

    Returns ``(dataset, tree, wrapper names, layout, complete)``; ``complete`` is true when the layout's
    every split folder is there and the training split holds a usable image where the layout expects one.
    """
    dataset = info(draw(st.sampled_from(sorted(CATALOG))))
    layout = LAYOUTS[draw(st.sampled_from(list(dataset.layouts)))]
    wrappers = draw(st.lists(st.one_of(st.sampled_from(WRAPPERS), TEXT_NAMES), max_size=2))
    container, complete = {}, True
    for split, folder in layout.splits.items():
        if draw(st.sampled_from([False] * 7 + [True])):  # a split folder missing
            complete = False
            continue
        content = draw(flat_food_split() if layout.labels == "food5k_names" else class_folders(dataset))
        if draw(st.sampled_from([False] * 5 + [True])):  # an empty split folder
            content = {}
        if split == "train":
            complete = complete and training_split_usable(dataset, layout, content)
        container[folder] = {folder: content} if layout.name == "intel" and draw(st.booleans()) else content
    container = merge(container, draw(st.dictionaries(st.one_of(FOLDER_NAMES, FILE_NAMES), LEAVES, max_size=3)))
    complete = complete and all(visible_wrapper(dataset, w) for w in wrappers)
    tree = container
    for wrapper in reversed(wrappers):
        tree = {wrapper: tree}
    return dataset, tree, wrappers, layout, complete


def usable_file(name: str, kind) -> bool:
    """True for a leaf the loader keeps as an image: usable bytes under an image extension."""
    return kind in USABLE and Path(name).suffix.lower() in IMAGE_EXTENSIONS


def training_split_usable(dataset, layout, content: dict) -> bool:
    """True when the training split ``content`` holds an image the layout's reader keeps."""
    if layout.labels == "food5k_names":
        return any(FOOD5K_FILE_NAME.fullmatch(name) and usable_file(name, kind) for name, kind in content.items())
    return any(
        isinstance(files, dict) and any(usable_file(n, kind) for n, kind in files.items())
        and (dataset.class_names is None or name in dataset.class_names) and not name.startswith(".")
        and name not in IGNORED_DIRS
        for name, files in content.items()
    )


def visible_wrapper(dataset, name: str) -> bool:
    """A wrapper folder the search descends into (and, for Fruits-360, not another branch of the archive)."""
    if name.startswith(".") or name in IGNORED_DIRS:
        return False
    return dataset.name != "fruits360" or not any(branch in name.lower() for branch in FRUITS_OTHER_BRANCHES)


def locate_quietly(dataset, root: Path):
    """``locate`` with its DataWarnings swallowed (the test output stays empty)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return locate(dataset, root)


def assert_consistent(dataset, found, root: Path) -> None:
    """Every listed file is a usable image inside the found folder, labelled by its class folder or name."""
    layout = LAYOUTS[found.layout]
    assert found.layout in dataset.layouts
    assert set(found.files) == set(found.labels) == set(layout.splits)
    if dataset.class_names:  # in the catalogue's order; a class without a usable training image is left out
        assert found.class_names == [c for c in dataset.class_names if c in found.class_names]
    assert set(found.labels["train"]) == set(range(len(found.class_names))), "a class with no training image"
    if dataset.name == "fruits360" and found.folder.is_relative_to(root):
        parts = found.folder.relative_to(root).parts
        assert not any(branch in part.lower() for part in parts for branch in FRUITS_OTHER_BRANCHES)
    assert not any(name.startswith(".") or name in IGNORED_DIRS for name in found.class_names)
    for split, files in found.files.items():
        labels = found.labels[split]
        assert len(files) == len(labels) == len(set(files))
        for path, label in zip(files, labels, strict=True):
            assert 0 <= label < len(found.class_names)
            assert path.is_relative_to(found.folder)
            folders = path.relative_to(found.folder).parts[:-1]
            assert not any(part.startswith(".") or part in IGNORED_DIRS for part in folders), path
            assert image_problem(path) is None, path
            if layout.labels == "food5k_names":
                assert FOOD5K_FILE_NAME.fullmatch(path.name) and label == int(path.name[0]), path.name
            else:
                assert found.class_names[label] == path.parent.name, path


# --------------------------------------------------------------------------------------------------
# File-name labels
# --------------------------------------------------------------------------------------------------


def is_food5k_name(name: str) -> bool:
    """Food-5K's ``{ClassID}_{ImageID}.jpg`` grammar, written out without a regular expression."""
    stem, dot, ext = name.rpartition(".")
    return (dot == "." and ext.isascii() and ext.lower() in ("jpg", "jpeg") and len(stem) > 2 and stem[0] in "01"
            and stem[1] == "_" and all(c in "0123456789" for c in stem[2:]))


@fuzz(400)
@given(ANY_TEXT)
@example("")
@example("1_" + "9" * 10_000 + ".jpg")  # a very long name
@example("0_1.jpg\n")  # a trailing newline ("$" would accept it)
@example("1_\u0663.jpg")  # a non-ASCII digit as the image id ("\d" would accept it)
@example("\u0661_3.jpg")  # a non-ASCII "1" as the class id
@example("1_3.jpg.part")
@example("1_3.\u212a")  # the Kelvin sign, which a Unicode IGNORECASE folds to "k"
def test_any_text_parses_to_its_prefix_label_or_not_at_all(name):
    match = FOOD5K_FILE_NAME.fullmatch(name)
    assert (match is not None) == is_food5k_name(name)
    if match is not None:
        assert int(match.group(1)) == int(name[0])


@fuzz(200)
@given(st.sampled_from([0, 1]), IMAGE_ID, JPEG_EXT)
@example(1, "0" * 10_000, ".JPEG")
def test_names_built_from_a_label_parse_back_to_it(label, image_id, ext):
    match = FOOD5K_FILE_NAME.fullmatch(food5k_name(label, image_id, ext))
    assert match is not None and int(match.group(1)) == label


@fuzz(200)
@given(ANY_TEXT.filter(lambda p: p not in ("0", "1")), IMAGE_ID, JPEG_EXT)
def test_any_other_prefix_never_parses(prefix, image_id, ext):
    assert FOOD5K_FILE_NAME.fullmatch(f"{prefix}_{image_id}{ext}") is None


@fuzz(40)
@given(flat_food_split(), flat_food_split())
def test_food5k_split_with_random_file_names(training, others):
    """Random names in a real Food-5K folder: each file is listed with its name's label, or skipped and named
    in one DataWarning."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp, "outer", "inner", "Food-5K")  # the search also looks two folders up
        write_tree({"training": training, "validation": others, "evaluation": others}, root)
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            try:
                found = locate(info("food5k"), root)
            except LayoutError as err:
                usable = [n for n, kind in training.items() if FOOD5K_FILE_NAME.fullmatch(n) and usable_file(n, kind)]
                assert len({n[0] for n in usable}) < 2, "a LayoutError although both classes have training images"
                if usable:  # one class only: a classifier needs two
                    assert "two or more" in str(err)
                elif any(FOOD5K_FILE_NAME.fullmatch(n) for n in training):  # the layout is there, without images
                    assert f"the training split {root / 'training'} holds no usable image" in str(err)
                return
        assert_consistent(info("food5k"), found, root)
        if found.layout != "food5k_epfl":  # a random name made a food/ or non_food/ folder: the other layout
            return
        usable = {n for n, kind in training.items() if usable_file(n, kind) and FOOD5K_FILE_NAME.fullmatch(n)}
        assert {p.name for p in found.files["train"]} == usable
        silent = {n for n, kind in training.items() if kind == "link_to_itself" and is_hidden(Path(n))}  # hidden dirs
        skipped = len(training) - len(usable) - len(silent)
        where = f"under {root / 'training'} that"
        warned = [str(w.message) for w in record if issubclass(w.category, DataWarning) and where in str(w.message)]
        if skipped:
            assert len(warned) == 1 and warned[0].startswith(f"Skipped {skipped} item(s) {where}"), warned
        else:
            assert warned == []


# --------------------------------------------------------------------------------------------------
# Layout detection
# --------------------------------------------------------------------------------------------------


@fuzz(80)
@given(dataset_trees(), st.sampled_from(["root", "container", "split"]))
def test_layout_detection_on_dataset_like_trees(drawn, start):
    dataset, tree, wrappers, layout, complete = drawn
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp, "outer", "inner", "data")  # the search also looks two folders up
        write_tree(tree, root)
        container = root.joinpath(*wrappers)
        split = container / layout.splits["train"]
        folder = {"root": root, "container": container, "split": split if split.is_dir() else root}[start]
        try:
            found = locate_quietly(dataset, folder)
        except LayoutError as err:
            event("layout without training images" if "holds no usable image" in str(err) else "no layout")
            assert dataset.title in str(err) and "DATA_DIR" in str(err)
            one_class = "two or more classes" in str(err)  # found, but fewer than two classes hold an image
            assert one_class or not (complete and start != "split"), "a complete layout under junk must be found"
            return
        event(f"found {found.layout}, {sum(map(len, found.files.values())) and 'with' or 'without'} images")
        assert_consistent(dataset, found, folder)


@fuzz(60)
@given(TREES, st.sampled_from(sorted(CATALOG)))
def test_layout_detection_on_random_trees(tree, name):
    dataset = info(name)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp, "outer", "inner", "data")  # the search also looks two folders up
        write_tree(tree, root)
        try:
            found = locate_quietly(dataset, root)
        except LayoutError as err:
            event("layout without training images" if "holds no usable image" in str(err) else "no layout")
            assert dataset.title in str(err)
            return
        event(f"found {found.layout}")
        assert_consistent(dataset, found, root)


# --------------------------------------------------------------------------------------------------
# Image bytes
# --------------------------------------------------------------------------------------------------

SIZE = (8, 8)
SIGNATURES = [b"", b"\xff\xd8\xff", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", b"\x89PNG\r\n\x1a\n", b"GIF87a",
              b"GIF89a", b"BM", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"II*\x00", b"MM\x00*"]
END_MARKERS = [b"", b"\xff\xd9", b"\x00\x00\x00\x00IEND\xaeB`\x82", b"\x00;"]


def decodes(path: Path) -> bool:
    """True when the course's decoder turns ``path`` into an RGB image of ``SIZE``."""
    import tensorflow as tf

    from helpers.pipeline import decode_image

    image = decode_image(tf.constant(str(path)), SIZE)
    return tuple(image.shape) == (*SIZE, 3) and image.dtype == tf.uint8


def decodes_without_error(path: Path) -> bool:
    """:func:`decodes`, False when TensorFlow raises (what would crash an epoch)."""
    import tensorflow as tf

    try:
        return decodes(path)
    except tf.errors.InvalidArgumentError:
        return False


def problem_or_decodes(data: bytes) -> str | None:
    """Write ``data`` as a .jpg; return ``image_problem``'s reason, or None after checking that it decodes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "photo.jpg"
        path.write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            problem = image_problem(path)
        assert problem is None or (isinstance(problem, str) and problem)
        event("reported" if problem else "accepted, decoded")
        if problem is None:
            assert decodes(path), "a file image_problem accepts must decode"
        return problem


@fuzz(150)
@given(st.sampled_from(SIGNATURES), st.binary(max_size=2048), st.sampled_from(END_MARKERS))
def test_random_bytes_are_reported_or_decode(signature, body, end):
    problem_or_decodes(signature + body + end)


FORMATS = [("JPEG", "RGB", {}), ("JPEG", "L", {}), ("JPEG", "CMYK", {}), ("JPEG", "RGB", {"progressive": True}),
           ("PNG", "RGB", {}), ("PNG", "RGBA", {}), ("PNG", "P", {}), ("PNG", "L", {}), ("GIF", "P", {}),
           ("BMP", "RGB", {}), ("WEBP", "RGB", {})]


@fuzz(120)
@given(st.sampled_from(FORMATS), st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**16), st.data())
def test_truncated_images_are_reported_or_decode(fmt, width, height, seed, data):
    name, mode, save = fmt
    whole = encode(name, mode, (width, height), seed, **save)
    # Whole files and the last bytes matter most (an interrupted copy); any cut is possible.
    missing = data.draw(st.one_of(st.just(0), st.integers(1, 16), st.integers(0, len(whole))), label="missing")
    extra = b"" if missing else data.draw(st.one_of(st.just(b""), st.binary(min_size=1, max_size=16)), label="extra")
    problem = problem_or_decodes(whole[: len(whole) - missing] + extra)
    if not missing and not extra:
        assert problem is None, "a whole image is usable"
    elif missing and name in ("JPEG", "PNG", "BMP"):
        assert problem is not None, f"{name} cut by {missing} bytes must be reported"


# --------------------------------------------------------------------------------------------------
# Damage inside a file: named exactly, in the scan and in the error an epoch stops with
# --------------------------------------------------------------------------------------------------

#: A PNG with a flipped bit inside its pixel data: its chunk CRC no longer matches, so TensorFlow cannot decode it.
FLIPPED_PNG = ("PNG", 0, ("flip", 0.5, 0x10))

DAMAGE = st.one_of(
    st.just(None),  # a whole file
    st.tuples(st.just("flip"), st.floats(0.3, 0.95), st.integers(1, 255)),  # past the headers: no huge sizes
    st.tuples(st.just("zero"), st.floats(0.3, 0.95), st.integers(1, 64)),
    st.tuples(st.just("cut"), st.floats(0.3, 0.99), st.just(0)),
)


def damage(data: bytes, how) -> bytes:
    """``data`` with a byte flipped, a run of bytes zeroed or its end cut off, at a fraction of its length."""
    if how is None:
        return data
    kind, where, amount = how
    at, out = int(len(data) * where), bytearray(data)
    if kind == "flip":
        out[at] ^= amount
    elif kind == "zero":
        out[at:at + amount] = bytes(len(out[at:at + amount]))
    else:
        del out[at:]
    return bytes(out)


def epoch(ds) -> tuple[np.ndarray, np.ndarray]:
    """Every ``(image, label)`` of one pass over a batched dataset, as arrays."""
    pairs = [(x.numpy(), y.numpy()) for x, y in ds]
    if not pairs:
        return np.zeros((0, *SIZE, 3), np.float32), np.zeros((0,), np.int32)
    return np.concatenate([x for x, _ in pairs]), np.concatenate([y for _, y in pairs])


@fuzz(25)
@given(st.lists(st.tuples(st.sampled_from(["JPEG", "PNG"]), st.integers(0, 2**16), DAMAGE), min_size=1, max_size=6),
       st.booleans(), st.booleans())
@example([("JPEG", 1, None), FLIPPED_PNG, ("JPEG", 2, None)], False, True)
@example([("JPEG", 1, None), ("PNG", 2, None)], True, False)
def test_the_files_tensorflow_cannot_decode_are_named_and_the_others_come_through_unchanged(specs, shuffle, cache):
    import tensorflow as tf

    from helpers import pipeline
    from helpers.pipeline import decode_image, make_dataset, undecodable, unreadable_images_error

    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, (fmt, seed, how) in enumerate(specs):
            files.append(Path(tmp) / f"{i}.jpg")
            files[-1].write_bytes(damage(encode(fmt, size=(40, 30), seed=seed), how))
        bad = [str(path) for path in files if not decodes_without_error(path)]
        event(f"{len(bad)} of {len(files)} undecodable")
        assert list(undecodable(files)) == bad
        pipeline._RECENT_FILES.clear()  # a fresh kernel: only this example's dataset
        ds = make_dataset(files, list(range(len(files))), image_size=SIZE, batch_size=4, shuffle=shuffle, seed=1,
                          cache=cache)
        if bad:
            with pytest.raises(tf.errors.OpError) as stopped:
                epoch(ds)
            explained = unreadable_images_error(stopped.value)
            assert explained is not None, str(stopped.value)
            named = [line.split(": ")[0].strip() for line in str(explained).splitlines() if line.startswith("  ")]
            assert named == bad
            return
        images, labels = epoch(ds)
        order = np.argsort(labels) if shuffle else np.arange(len(labels))
        assert labels[order].tolist() == list(range(len(files)))  # the labels say which file each image came from
        for image, i in zip(images[order], labels[order], strict=True):
            expected = decode_image(tf.constant(str(files[i])), SIZE).numpy().astype(np.float32)
            assert np.array_equal(image, expected), f"file {i} changed"


# --------------------------------------------------------------------------------------------------
# Gaps the fuzzing above first found (issue #6), fixed: each test pins one
# --------------------------------------------------------------------------------------------------


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def test_decompression_bomb_is_reported(tmp_path):
    """A 100-byte PNG that claims 50000 x 50000 pixels: reported, not raised out of the dataset scan."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0))
    path = tmp_path / "bomb.jpg"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + png_chunk(b"IEND", b""))
    assert image_problem(path) == "image too large (2,500,000,000 pixels)"


@pytest.mark.parametrize("missing", [1, 2, 3, 4])
def test_png_missing_its_last_bytes_is_reported(tmp_path, missing):
    """The CRC of the IEND chunk cut off: "IEND" is still in the tail, but TensorFlow cannot decode the file."""
    path = tmp_path / "cut.png"
    path.write_bytes(encode("PNG")[:-missing])
    assert image_problem(path) == "truncated PNG"
    assert not decodes_without_error(path)


@pytest.mark.parametrize("missing", [1, 2])  # with more missing, Pillow's full decode fails too
def test_gif_missing_its_last_bytes_is_reported(tmp_path, missing):
    """Pillow loads a GIF without its trailer or its last block terminator; TensorFlow fails without the latter."""
    path = tmp_path / "cut.gif"
    path.write_bytes(encode("GIF", "P", (20, 16))[:-missing])
    assert image_problem(path) == "truncated GIF"


@pytest.mark.parametrize("missing", [1, 2, 3])
def test_bmp_missing_its_row_padding_is_reported(tmp_path, missing):
    """Pillow loads a BMP whose last row lacks its padding bytes; TensorFlow does not."""
    path = tmp_path / "cut.bmp"
    path.write_bytes(encode("BMP", "L", (5, 3))[:-missing])  # rows of 5 bytes padded to 8
    assert image_problem(path) == "truncated BMP"
    assert not decodes_without_error(path)


def test_a_png_and_a_jpeg_damaged_inside_are_named_when_the_epoch_stops(tmp_path):
    """Damage the cheap check cannot see (a PNG's pixel data, a JPEG's Huffman table): the epoch that meets one
    stops, and the explanation names both, in the training and the test split."""
    png = bytearray(encode("PNG", size=(20, 16)))
    png[len(png) // 2] ^= 0x10  # inside the pixel data: the chunk's CRC no longer matches
    jpeg = bytearray(encode("JPEG", size=(20, 16)))
    table = jpeg.index(b"\xff\xc4")  # the first Huffman table: 16 code counts after marker, length and class
    jpeg[table + 5:table + 21] = b"\xff" * 16
    for cls in info("intel").class_names:
        for split in ("seg_train", "seg_test"):
            for i in range(2):
                Path(tmp_path, split, split, cls).mkdir(parents=True, exist_ok=True)
                Path(tmp_path, split, split, cls, f"{i}.jpg").write_bytes(encode("JPEG", size=(20, 16), seed=i))
    bad = [tmp_path / "seg_train" / "seg_train" / "forest" / "flipped.png",
           tmp_path / "seg_test" / "seg_test" / "sea" / "bad_table.jpg"]
    bad[0].write_bytes(bytes(png))
    bad[1].write_bytes(bytes(jpeg))
    assert [image_problem(path) for path in bad] == [None, None]  # the cheap check lets them through
    assert not any(decodes_without_error(path) for path in bad)
    import tensorflow as tf

    from helpers import pipeline
    from helpers.datasets import load

    pipeline._RECENT_FILES.clear()  # a fresh kernel
    loaded = load("intel", tmp_path, image_size=SIZE, batch_size=4, val_fraction=0.5)
    assert sum(len(files) for files in loaded.files.values()) == 2 * 2 * len(loaded.class_names) + 2  # both kept
    stopped = []
    for split in ("train", "val"):  # the random split put the PNG in one of them
        try:
            epoch(getattr(loaded, split))
        except tf.errors.InvalidArgumentError as err:
            stopped.append(err)
    assert len(stopped) == 1
    lines = str(pipeline.unreadable_images_error(stopped[0])).splitlines()
    total = sum(len(files) for files in loaded.files.values())
    assert lines[0] == f"2 of the {total} image files of this notebook's datasets cannot be read:"
    named = dict(line.strip().split(": ", 1) for line in lines[1:3])
    assert named.keys() == {str(bad[0]), str(bad[1])}  # the test split's JPEG too, before an epoch reads it
    assert "Invalid PNG" in named[str(bad[0])] and "JPEG" in named[str(bad[1])]


def test_a_training_split_without_usable_images_is_a_clear_error(tmp_path):
    for cls in info("intel").class_names:
        (tmp_path / "seg_train" / "seg_train" / cls).mkdir(parents=True)
        (tmp_path / "seg_test" / "seg_test" / cls).mkdir(parents=True)
        (tmp_path / "seg_train" / "seg_train" / cls / "notes.txt").write_text("no photos here\n")
    with pytest.raises(LayoutError) as info_:
        locate_quietly(info("intel"), tmp_path)
    message = str(info_.value)
    assert f"the training split {tmp_path / 'seg_train' / 'seg_train'} holds no usable image" in message
    assert "forest/notes.txt (not an image file)" in message
    assert "Expected image files (.bmp, .gif, .jpeg, .jpg, .png, .webp) in its class folders" in message
    assert "DATA_DIR" in message and "Intel" in message
