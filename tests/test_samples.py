"""Tests for helpers.datasets.samples: offline samples in each real dataset's exact layout.

A sample must look like the real data on disk (nesting, names, image sizes), be deterministic,
never overwrite the learner's files, and load with ``datasets.load`` like the real thing.
"""

import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

import csv
import json
import re
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from layout_fixtures import batches, build_intel, data_warnings
from PIL import Image

from helpers import datasets
from helpers.datasets import catalog, info, is_sample, make_sample, samples
from helpers.datasets.catalog import fruits360_series

NAMES = ("intel", "food5k", "fruits360", "mosquito", "odonata")
N = 4  # training images per class: the smallest sample (held-out splits get max(4, N // 3) = 4)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """One small sample of every dataset (seed 0), shared by the read-only tests of this module."""
    base = tmp_path_factory.mktemp("samples")
    return {name: make_sample(name, base / name, images_per_class=N, seed=0) for name in NAMES}


def images(root):
    return sorted(p for p in Path(root).rglob("*") if p.suffix == ".jpg")


def contents(root):
    """Every file under ``root`` by relative path, with its bytes."""
    files = sorted(p for p in Path(root).rglob("*") if p.is_file())
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files}


def sizes(paths):
    return Counter(Image.open(p).size for p in paths)  # (width, height)


# --------------------------------------------------------------------------------------------------
# Layout and image sizes
# --------------------------------------------------------------------------------------------------


def test_intel_sample_layout(made):
    root = made["intel"]
    for split in ("seg_train/seg_train", "seg_test/seg_test"):
        assert sorted(p.name for p in (root / split).iterdir()) == list(info("intel").class_names)
    assert len(list((root / "seg_train/seg_train/buildings").glob("*.jpg"))) == N
    assert len(list((root / "seg_test/seg_test/street").glob("*.jpg"))) == 4
    pred = list((root / "seg_pred" / "seg_pred").iterdir())
    assert pred and all(p.is_file() and p.suffix == ".jpg" for p in pred)
    assert all(re.fullmatch(r"\d+\.jpg", p.name) for p in images(root))
    assert len({p.name for p in images(root)}) == len(images(root)), "Intel file names are unique"


def test_intel_sample_sizes_are_mostly_150_with_the_odd_ones(tmp_path):
    root = make_sample("intel", tmp_path / "intel", images_per_class=12)
    train = sizes((root / "seg_train" / "seg_train").rglob("*.jpg"))
    assert train.most_common(1)[0][0] == (150, 150)
    assert {(150, 113), (150, 136), (500, 374)} <= set(train)
    assert train[(150, 150)] > sum(train.values()) / 2
    held = sizes([*(root / "seg_test").rglob("*.jpg"), *(root / "seg_pred").rglob("*.jpg")])
    assert set(held) == {(150, 150)}


def test_food5k_sample_uses_epfl_names(made):
    top = made["food5k"] / "Food-5K"
    assert sorted(p.name for p in top.iterdir()) == ["evaluation", "training", "validation"]
    for split in ("training", "validation", "evaluation"):
        names = [p.name for p in (top / split).iterdir()]
        assert all(re.fullmatch(r"[01]_\d+\.jpg", n) for n in names), names
        assert any(n.startswith("1_") for n in names) and any(n.startswith("0_") for n in names)
    assert len(sizes(images(top))) > 1, "Food-5K image sizes vary"
    assert all(max(s) <= 512 for s in sizes(images(top)))


def test_food5k_folders_variant(tmp_path):
    root = make_sample("food5k", tmp_path / "f", images_per_class=N, layout="folders")
    for split in ("training", "validation", "evaluation"):
        assert sorted(p.name for p in (root / split).iterdir()) == ["food", "non_food"]
    assert list((root / "training" / "food").glob("1_*.jpg"))
    assert not (root / "Food-5K").exists()
    loaded = datasets.load("food5k", root, image_size=(16, 16), batch_size=8)
    assert loaded.layout == "food5k_folders" and loaded.sample
    assert loaded.class_names == ["non_food", "food"]
    for split in ("train", "val", "test"):
        in_food = [p.parent.name == "food" for p in loaded.files[split]]
        assert in_food == [y == 1 for y in loaded.labels[split]]


def test_food5k_unknown_layout_is_refused(tmp_path):
    with pytest.raises(ValueError, match="epfl"):
        make_sample("food5k", tmp_path / "f", images_per_class=N, layout="zip")


def test_fruits360_sample_2025_layout(made):
    root = made["fruits360"]
    branch = root / "fruits-360_100x100" / "fruits-360"
    assert len(list((branch / "Training" / "Apple Red 1").glob("*_100.jpg"))) == N
    assert sorted(p.name for p in (branch / "Training").iterdir()) == list(samples.FRUIT_CLASSES)
    assert sorted(p.name for p in (branch / "Test").iterdir()) == list(samples.FRUIT_CLASSES)
    assert set(sizes(images(branch))) == {(100, 100)}
    other = root / "fruits-360_original-size" / "fruits-360-original-size"
    assert (other / "Training" / "Apple Red 1").is_dir()
    assert (root / "fruits-360_meta").is_dir()


def series_frames(folder):
    """``{series: {frame numbers}}`` of one class folder, read from the file names as chapter 07 reads them."""
    found = {}
    for path in folder.iterdir():
        frame = catalog._FRUITS360_FRAME.match(path.stem)
        assert frame and frame.group("size") == "100", f"{path.name} is not named as Fruits-360 names its frames"
        found.setdefault(fruits360_series(path), set()).add(int(frame.group("frame")))
    return found


@pytest.mark.parametrize("per_class", [N, 20])
def test_fruits360_sample_has_rotation_series_shared_by_training_and_test(tmp_path, per_class):
    """Several series per class, named as the real dataset names them (old ``r_``/``r2_`` and new ``r0_`` styles),
    with the frames of one series interleaved between Training and Test, as in the real 100x100 branch."""
    branch = make_sample("fruits360", tmp_path / "f", images_per_class=per_class) / "fruits-360_100x100" / "fruits-360"
    prefixes = set()
    for cls in samples.FRUIT_CLASSES:
        train, test = (series_frames(branch / split / cls) for split in ("Training", "Test"))
        assert len(train) >= 2, f"{cls}: a grouped split needs two series or more"
        assert set(train) == set(test), f"{cls}: Training and Test share every series"
        for series in train:
            assert not train[series] & test[series], f"{series}: a frame in both splits"
            assert all(f % 4 == 3 for f in test[series]) and not any(f % 4 == 3 for f in train[series])
        prefixes |= {series.split("/")[1] for series in train}
    assert {"no prefix", "r", "r2", "r0", "r1"} <= prefixes


def test_fruits360_sample_frames_of_a_series_are_near_copies(made):
    """Frames of one series differ far less than frames of two series of the same class (what leaks)."""
    folder = made["fruits360"] / "fruits-360_100x100" / "fruits-360" / "Training" / "Apple Red 1"
    pixels = {p.name: np.asarray(Image.open(p), dtype=float) for p in folder.iterdir()}
    by_series = {}
    for name, image in pixels.items():
        by_series.setdefault(fruits360_series(folder / name), []).append(image)
    pair = next(frames for frames in by_series.values() if len(frames) >= 2)
    other = next(frames for frames in by_series.values() if frames is not pair)
    within, between = np.abs(pair[0] - pair[1]).mean(), np.abs(pair[0] - other[0]).mean()
    assert within < 0.8 * between, (within, between)


def test_mosquito_sample_layout(made):
    top = made["mosquito"] / "zw4p9kj6nt-2"
    assert (top / "Aedes albopictus  smashed").is_dir()  # the real double space
    for raw in samples.MOSQUITO_RAW_FOLDERS:
        assert list((top / raw).glob("*.jpg"))
    for split in ("Train", "Pred", "Test"):
        folders = sorted(p.name for p in (top / "data_splitting" / split).iterdir())
        assert folders == list(samples.MOSQUITO_CLASSES)
    assert set(sizes(images(top))) == {(224, 224)}


def test_odonata_sample_layout_and_attribution(made):
    root = made["odonata"]
    for split in ("train", "validation", "test"):
        assert sorted(p.name for p in (root / split).iterdir()) == ["damselflies", "dragonflies"]
    with (root / "attribution.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert {"split", "label", "file", "license_code", "attribution"} <= set(rows[0])
    assert sorted(r["file"] for r in rows) == sorted(p.relative_to(root).as_posix() for p in images(root))
    assert all((root / r["file"]).parts[-2] == r["label"] for r in rows)
    assert set(sizes(images(root))) == {(500, 375), (375, 500)}


def test_odonata_sample_classes_differ_in_grayscale(made):
    """Chapter 04 trains a grayscale model on this sample: its classes must differ in brightness, not only in
    hue (with hue alone, 29 grey levels apart, the grayscale model often ended a smoke run at chance)."""
    root = made["odonata"] / "train"
    means = [np.mean([np.asarray(Image.open(p).convert("L"), dtype=float).mean() for p in images(root / cls)])
             for cls in ("damselflies", "dragonflies")]
    assert abs(means[0] - means[1]) > 50, means


@pytest.mark.parametrize("name", NAMES)
def test_sample_images_are_rgb_jpegs(made, name):
    for path in images(made[name])[:12]:
        with Image.open(path) as im:
            assert (im.format, im.mode) == ("JPEG", "RGB")


@pytest.mark.parametrize("name", NAMES)
def test_sample_marker_records_the_settings(made, name):
    spec = json.loads((made[name] / samples.MARKER).read_text())
    assert spec["dataset"] == name and spec["images_per_class"] == N and spec["seed"] == 0
    assert spec["synthetic"] is True


# --------------------------------------------------------------------------------------------------
# Determinism, idempotence, never overwriting
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_gives_identical_files_and_another_seed_does_not(made, tmp_path, name):
    again = contents(make_sample(name, tmp_path / "again", images_per_class=N, seed=0))
    assert again == contents(made[name])
    other = contents(make_sample(name, tmp_path / "other", images_per_class=N, seed=1))
    assert set(other) == set(again), "the seed changes pixels, not the layout"
    changed = [k for k in again if k.endswith(".jpg") and again[k] != other[k]]
    assert len(changed) == len([k for k in again if k.endswith(".jpg")])


@pytest.mark.parametrize("name", NAMES)
def test_second_call_reuses_the_sample(made, monkeypatch, name):
    before = {p: p.stat().st_mtime_ns for p in made[name].rglob("*")}

    def must_not_build(*args, **kwargs):
        raise AssertionError("the sample was built again")

    monkeypatch.setitem(samples._BUILDERS, name, must_not_build)
    assert make_sample(name, made[name], images_per_class=N, seed=0) == made[name]
    assert {p: p.stat().st_mtime_ns for p in made[name].rglob("*")} == before


def test_refuses_to_overwrite_a_folder_with_other_files(tmp_path):
    dest = tmp_path / "my_photos"
    dest.mkdir()
    (dest / "holiday.jpg").write_bytes(b"precious")
    (dest / "notes").mkdir()
    before = contents(dest), sorted(p.name for p in dest.rglob("*"))
    with pytest.raises(FileExistsError, match="my_photos"):
        make_sample("intel", dest, images_per_class=N)
    assert (contents(dest), sorted(p.name for p in dest.rglob("*"))) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my_photos"], "no temporary folder left behind"


def test_a_sample_made_with_other_settings_is_regenerated(made, tmp_path):
    """Samples are generated data (the marker file proves it), so a new course version may replace them."""
    dest = make_sample("odonata", tmp_path / "o", images_per_class=N, seed=0)
    before = contents(dest)
    assert make_sample("odonata", dest, images_per_class=N, seed=1) == dest
    assert contents(dest) != before
    assert json.loads((dest / samples.MARKER).read_text())["seed"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"], "no old or temporary folder left behind"


def test_a_fruits360_sample_of_the_older_generator_is_regenerated(tmp_path):
    """A sample written before the generator named rotation series (same arguments, marker without its
    version) must not be reused: chapter 07's grouped validation split would find one series per class."""
    dest = make_sample("fruits360", tmp_path / "f", images_per_class=N, seed=0)
    marker = json.loads((dest / samples.MARKER).read_text())
    assert marker["generator"] == samples._GENERATOR_VERSION["fruits360"]
    del marker["generator"]
    (dest / samples.MARKER).write_text(json.dumps(marker))
    stale = dest / "fruits-360_100x100" / "fruits-360" / "Training" / "Banana" / "r0_0_100.jpg"  # the old naming
    stale.write_bytes(b"made by the older generator")
    assert make_sample("fruits360", dest, images_per_class=N, seed=0) == dest
    assert not stale.exists()
    assert json.loads((dest / samples.MARKER).read_text())["generator"] == samples._GENERATOR_VERSION["fruits360"]


def test_an_existing_empty_folder_is_filled(tmp_path):
    dest = tmp_path / "empty"
    dest.mkdir()
    assert make_sample("fruits360", dest, images_per_class=N) == dest
    assert (dest / samples.MARKER).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_unknown_dataset_is_refused(tmp_path):
    with pytest.raises(ValueError, match="intel"):
        make_sample("cifar10", tmp_path / "c")
    assert not (tmp_path / "c").exists()


# --------------------------------------------------------------------------------------------------
# is_sample and loading
# --------------------------------------------------------------------------------------------------


def test_is_sample(made, tmp_path):
    assert is_sample(made["intel"])
    assert is_sample(made["mosquito"] / "zw4p9kj6nt-2" / "data_splitting")  # a folder inside one
    hand_made = build_intel(tmp_path / "real", per_class=2, test_per_class=1)
    assert not is_sample(hand_made)
    assert not is_sample(hand_made / "seg_train")


EXPECTED_CLASSES = {
    "intel": list(info("intel").class_names),
    "food5k": ["non_food", "food"],
    "fruits360": list(samples.FRUIT_CLASSES),
    "mosquito": list(samples.MOSQUITO_CLASSES),
    "odonata": list(info("odonata").class_names),
}


@pytest.mark.parametrize("name", NAMES)
def test_every_sample_loads(made, name):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        loaded = datasets.load(name, made[name], image_size=(16, 16), batch_size=16, seed=0)
    assert data_warnings(record) == []
    assert loaded.sample
    assert loaded.class_names == EXPECTED_CLASSES[name]
    if info(name).class_names:
        assert loaded.class_names == list(info(name).class_names)
    counts = loaded.counts()
    for cls in loaded.class_names:
        assert counts["train"][cls] + (counts["val"][cls] if name in ("intel", "fruits360") else 0) == N
        assert counts["test"][cls] == 4
        assert counts["train"][cls] > 0 and counts["val"][cls] > 0
    for split in ("train", "val", "test"):
        images_, labels = batches(getattr(loaded, split))
        assert len(labels) == len(loaded.files[split])
        assert images_.shape[1:] == (16, 16, 3)
    every = [p for split in loaded.files.values() for p in split]
    assert not [p for p in every if "original-size" in str(p) or "seg_pred" in str(p)]
    if name == "mosquito":
        assert not [p for p in every if "Aedes" in str(p) or "Culex" in str(p)]


def test_a_parallel_run_never_moves_a_finished_sample_aside(tmp_path):
    """Two runs build the same sample at once: the second keeps the first one's folder, which may be in use."""
    dest = make_sample("intel", tmp_path / "intel", images_per_class=2)
    in_use = dest / "reader_was_here"
    in_use.write_text("a notebook is reading this folder")
    spec = json.loads((dest / samples.MARKER).read_text())
    work = tmp_path / ".intel-late"
    work.mkdir()
    samples.publish(work, dest, spec)  # the late run publishes the same sample
    assert in_use.is_file()  # the first run's folder stayed where it was
    other = tmp_path / ".intel-other"
    other.mkdir()
    samples.publish(other, dest, {**spec, "seed": 99})  # other settings: replaced, as before
    assert not in_use.exists() and json.loads((dest / samples.MARKER).read_text())["seed"] == 99
