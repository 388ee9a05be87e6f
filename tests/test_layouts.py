"""Tests for helpers.datasets.layouts: every real on-disk layout, found from any sensible root.

The fixtures are hand-made (tests/layout_fixtures.py), tiny solid-colour JPEGs whose colour encodes
the class, so the label of every file can be checked by name and, after loading, by pixel.
"""

import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

import warnings
from collections import Counter

import pytest
from layout_fixtures import (
    FOOD_CLASSES,
    FRUIT_CLASSES,
    FRUITS_RELEASES,
    INTEL_CLASSES,
    MOSQUITO_RAW,
    MOSQUITO_SHORT,
    ODONATA_CLASSES,
    batches,
    build_food5k_epfl,
    build_food5k_folders,
    build_fruits_2025,
    build_fruits_branch,
    build_intel,
    build_mosquito,
    build_odonata,
    colour_labels,
    data_warnings,
    write_image,
)

from helpers import datasets
from helpers.datasets import LAYOUTS, LayoutError, info, locate

SIZE = (16, 16)


def load(name, root, **kwargs):
    kwargs.setdefault("image_size", SIZE)
    kwargs.setdefault("batch_size", 8)
    return datasets.load(name, root, **kwargs)


def assert_labels_follow_folders(found_or_loaded, splits=None):
    """Each file's label is the index of its class folder in class_names."""
    names = found_or_loaded.class_names
    for split in splits or found_or_loaded.files:
        files, labels = found_or_loaded.files[split], found_or_loaded.labels[split]
        assert len(files) == len(labels)
        assert [names[y] for y in labels] == [p.parent.name for p in files], split


def assert_pipelines_match_labels(loaded):
    """A full epoch of every split: images carry the colour of their label; val/test follow ``files``."""
    for split in ("train", "val", "test"):
        images, labels = batches(getattr(loaded, split))
        assert images.shape[1:] == (*SIZE, 3)
        assert colour_labels(images) == labels.tolist(), split
        if split != "train":  # unshuffled: same order as files/labels
            assert labels.tolist() == loaded.labels[split], split
        else:
            assert Counter(labels.tolist()) == Counter(loaded.labels["train"])


# --------------------------------------------------------------------------------------------------
# Intel
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def intel_root(tmp_path):
    """An Intel folder as kagglehub returns it: .../versions/2/{seg_train,seg_test,seg_pred}."""
    return build_intel(tmp_path / "kagglehub" / "versions" / "2", per_class=10, test_per_class=2, pred=3)


INTEL_ROOTS = {
    "kagglehub folder": lambda r: r,
    "parent of it": lambda r: r.parent,
    "seg_train/seg_train": lambda r: r / "seg_train" / "seg_train",
    "seg_train": lambda r: r / "seg_train",
    "seg_test/seg_test": lambda r: r / "seg_test" / "seg_test",
}


@pytest.mark.parametrize("given", INTEL_ROOTS)
def test_intel_found_from_any_root(intel_root, given):
    found = locate(info("intel"), INTEL_ROOTS[given](intel_root))
    assert found.layout == "intel"
    assert found.folder == intel_root
    assert found.class_names == list(INTEL_CLASSES)
    assert set(found.files) == {"train", "test"}
    assert len(found.files["train"]) == 60 and len(found.files["test"]) == 12
    assert all(p.is_relative_to(intel_root / "seg_train" / "seg_train") for p in found.files["train"])
    assert all(p.is_relative_to(intel_root / "seg_test" / "seg_test") for p in found.files["test"])
    assert_labels_follow_folders(found)
    every = [p for split in found.files.values() for p in split]
    assert not [p for p in every if "seg_pred" in p.parts], "seg_pred is unlabelled and must be ignored"


@pytest.mark.parametrize("fraction, per_class_val", [(0.2, 2), (0.3, 3)])
def test_intel_load_makes_stratified_validation_split(intel_root, fraction, per_class_val):
    loaded = load("intel", intel_root / "seg_train", val_fraction=fraction, seed=3)
    assert loaded.class_names == list(INTEL_CLASSES)
    assert loaded.layout == "intel" and loaded.folder == intel_root and not loaded.sample
    counts = loaded.counts()
    assert counts["val"] == dict.fromkeys(INTEL_CLASSES, per_class_val)
    assert counts["train"] == dict.fromkeys(INTEL_CLASSES, 10 - per_class_val)
    assert counts["test"] == dict.fromkeys(INTEL_CLASSES, 2)
    train, val = set(loaded.files["train"]), set(loaded.files["val"])
    assert not train & val, "a file is in both train and validation"
    all_train = set((intel_root / "seg_train" / "seg_train").rglob("*.jpg"))
    assert train | val == all_train
    assert all(p.is_relative_to(intel_root / "seg_test") for p in loaded.files["test"])
    assert_labels_follow_folders(loaded)
    assert_pipelines_match_labels(loaded)


def test_intel_validation_split_depends_on_seed_only(intel_root):
    a = load("intel", intel_root, seed=1)
    b = load("intel", intel_root, seed=1)
    c = load("intel", intel_root, seed=2)
    assert a.files["val"] == b.files["val"]
    assert a.files["val"] != c.files["val"]


def test_intel_wrapper_with_a_stray_file_beside_it_is_still_unwrapped(intel_root):
    (intel_root / "seg_train" / "README.txt").write_text("Intel image classification")
    found = locate(info("intel"), intel_root)
    assert all(p.is_relative_to(intel_root / "seg_train" / "seg_train") for p in found.files["train"])
    assert len(found.files["train"]) == 60


def test_a_split_with_one_class_folder_keeps_it(tmp_path):
    """``validation/damselflies/*.jpg`` alone is a class, not a wrapper (the one unwrap rule, also chapter 09's)."""
    build_odonata(tmp_path, per_class=3, held_per_class=2)
    for path in (tmp_path / "validation" / "dragonflies").iterdir():
        path.unlink()
    (tmp_path / "validation" / "dragonflies").rmdir()
    found = locate(info("odonata"), tmp_path)
    assert found.labels["val"] == [0, 0]
    assert all(p.parent == tmp_path / "validation" / "damselflies" for p in found.files["val"])


# --------------------------------------------------------------------------------------------------
# Food-5K
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["above Food-5K", "Food-5K", "Food-5K/training"])
def test_food5k_epfl_labels_come_from_file_names(tmp_path, given):
    top = build_food5k_epfl(tmp_path, per_class=3, extra=["1_12.jpg"])
    root = {"above Food-5K": tmp_path, "Food-5K": top, "Food-5K/training": top / "training"}[given]
    found = locate(info("food5k"), root)
    assert found.layout == "food5k_epfl"
    assert found.folder == top
    assert found.class_names == ["non_food", "food"]
    label_of = dict(zip(found.files["train"], found.labels["train"], strict=True))
    assert label_of[top / "training" / "1_12.jpg"] == 1
    assert label_of[top / "training" / "0_0.jpg"] == 0
    for split, folder in (("train", "training"), ("val", "validation"), ("test", "evaluation")):
        assert all(p.parent == top / folder for p in found.files[split])
        assert found.labels[split] == [int(p.name.split("_")[0]) for p in found.files[split]]
        assert Counter(found.labels[split])[0] == 3


def test_a_link_to_its_own_folder_is_not_unwrapped(tmp_path):
    """A training folder whose only entry is a link back to itself (named like an image; found by
    tests/test_fuzz.py): the unwrap rule must not follow it round and round, and the error names the split."""
    top = build_food5k_epfl(tmp_path, per_class=1)
    for image in (top / "training").iterdir():
        image.unlink()
    (top / "training" / "0_0.jpg").symlink_to(".", target_is_directory=True)
    with pytest.raises(LayoutError) as error:
        locate(info("food5k"), tmp_path)
    assert f"the training split {top / 'training'} holds no usable image" in str(error.value)


def test_food5k_epfl_load_uses_its_own_validation_split(tmp_path):
    top = build_food5k_epfl(tmp_path, per_class=3)
    loaded = load("food5k", tmp_path)
    assert loaded.class_names == ["non_food", "food"]
    assert loaded.counts() == {split: {"non_food": 3, "food": 3} for split in ("train", "val", "test")}
    assert all(p.parent == top / "validation" for p in loaded.files["val"])
    assert all(p.parent == top / "evaluation" for p in loaded.files["test"])
    assert_pipelines_match_labels(loaded)


def test_food5k_epfl_badly_named_file_is_skipped_with_a_warning(tmp_path):
    top = build_food5k_epfl(tmp_path, per_class=2, extra=["food_12.jpg", "2_7.jpg"])
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        loaded = load("food5k", tmp_path)
    messages = data_warnings(record)
    assert len(messages) == 1
    assert "food_12.jpg" in messages[0] and "2_7.jpg" in messages[0]
    names = {p.name for split in loaded.files.values() for p in split}
    assert "food_12.jpg" not in names and "2_7.jpg" not in names
    assert len(loaded.files["train"]) == 4
    assert (top / "training" / "food_12.jpg").exists(), "skipping must not delete anything"


def test_food5k_kaggle_folders_put_food_at_label_1(tmp_path):
    """The trap: alphabetical folder order would make food = 0."""
    build_food5k_folders(tmp_path, per_class=3)
    found = locate(info("food5k"), tmp_path)
    assert found.layout == "food5k_folders"
    assert found.class_names == ["non_food", "food"]
    for split in ("train", "val", "test"):
        for path, label in zip(found.files[split], found.labels[split], strict=True):
            assert label == (1 if path.parent.name == "food" else 0)
    assert 1 in found.labels["train"] and 0 in found.labels["train"]
    loaded = load("food5k", tmp_path / "training")
    assert loaded.class_names == list(FOOD_CLASSES)
    assert all(p.parent.parent.name == "validation" for p in loaded.files["val"])
    assert_pipelines_match_labels(loaded)


# --------------------------------------------------------------------------------------------------
# Fruits-360
# --------------------------------------------------------------------------------------------------

OTHER_BRANCHES = (
    "fruits-360_original-size", "fruits-360_3-body-problem", "fruits-360_multi", "fruits-360_meta",
)


@pytest.mark.parametrize("release", [*FRUITS_RELEASES, "release2025"])
def test_fruits360_every_release_layout(tmp_path, release):
    archive = tmp_path / "archive"
    if release == "release2025":
        branch = build_fruits_2025(archive, per_class=5, test_per_class=2)
    else:
        branch = build_fruits_branch(archive / FRUITS_RELEASES[release], per_class=5, test_per_class=2)
    found = locate(info("fruits360"), archive)
    assert found.layout == "fruits360"
    assert found.folder == branch
    assert found.class_names == list(FRUIT_CLASSES)  # spaces and digits kept; count from the folders
    assert len(found.files["train"]) == 5 * len(FRUIT_CLASSES)
    assert len(found.files["test"]) == 2 * len(FRUIT_CLASSES)
    assert all(p.is_relative_to(branch / "Training") for p in found.files["train"])
    assert all(p.is_relative_to(branch / "Test") for p in found.files["test"])
    assert all(p.name.endswith("_100.jpg") for split in found.files.values() for p in split)
    assert_labels_follow_folders(found)


def test_fruits360_2025_other_branches_are_never_mixed_in(tmp_path):
    branch = build_fruits_2025(tmp_path, per_class=5, test_per_class=2)
    for root in (tmp_path, tmp_path / "fruits-360_100x100", branch / "Training"):
        found = locate(info("fruits360"), root)
        every = [p for split in found.files.values() for p in split]
        assert every and all(p.is_relative_to(branch) for p in every)
        assert not [p for p in every if any(b in str(p) for b in OTHER_BRANCHES)]
        assert "Durian" not in found.class_names  # a class only the other branches have
    loaded = load("fruits360", tmp_path, val_fraction=0.2)
    assert loaded.class_names == list(FRUIT_CLASSES)
    assert loaded.counts()["val"] == dict.fromkeys(FRUIT_CLASSES, 1)
    assert loaded.counts()["train"] == dict.fromkeys(FRUIT_CLASSES, 4)
    every = [p for split in loaded.files.values() for p in split]
    assert all(p.is_relative_to(branch) for p in every)
    assert_pipelines_match_labels(loaded)


@pytest.mark.parametrize("parent", ["plain-course"])
def test_fruits360_found_under_any_parent_folder(tmp_path, parent):
    branch = build_fruits_branch(tmp_path / parent / "fruits-360", per_class=2, test_per_class=1)
    assert locate(info("fruits360"), tmp_path / parent).folder == branch


@pytest.mark.parametrize("parent", ["metadata-course", "multiclass", "timetable"])
def test_fruits360_folder_names_above_the_root_do_not_matter(tmp_path, parent):
    branch = build_fruits_branch(tmp_path / parent / "fruits-360", per_class=2, test_per_class=1)
    assert locate(info("fruits360"), tmp_path / parent).folder == branch


# --------------------------------------------------------------------------------------------------
# Mosquito
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["above the archive", "zw4p9kj6nt-2", "data_splitting"])
def test_mosquito_uses_data_splitting_with_pred_as_validation(tmp_path, given):
    splits = build_mosquito(tmp_path, per_class=3, held_per_class=2)
    top = splits.parent
    assert (top / "Aedes albopictus  smashed").is_dir()
    root = {"above the archive": tmp_path, "zw4p9kj6nt-2": top, "data_splitting": splits}[given]
    found = locate(info("mosquito"), root)
    assert found.layout == "mosquito" and found.folder == splits
    assert found.class_names == list(MOSQUITO_SHORT)
    assert_labels_follow_folders(found)
    loaded = load("mosquito", root)
    assert loaded.class_names == list(MOSQUITO_SHORT)
    for split, folder, n in (("train", "Train", 3), ("val", "Pred", 2), ("test", "Test", 2)):
        assert all(p.is_relative_to(splits / folder) for p in loaded.files[split]), split
        assert loaded.counts()[split] == dict.fromkeys(MOSQUITO_SHORT, n)
    every = [p for split in loaded.files.values() for p in split]
    assert not [p for p in every if any(raw in p.parts for raw in MOSQUITO_RAW)]
    assert_pipelines_match_labels(loaded)


# --------------------------------------------------------------------------------------------------
# Odonata
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("nested", [False, True], ids=["splits at root", "article data folder"])
def test_odonata_layouts(tmp_path, nested):
    folder = build_odonata(tmp_path / "data" if nested else tmp_path, per_class=3, held_per_class=2)
    found = locate(info("odonata"), tmp_path)
    assert found.layout == "odonata" and found.folder == folder
    assert found.class_names == list(ODONATA_CLASSES)
    assert_labels_follow_folders(found)
    loaded = load("odonata", tmp_path)
    for split, name, n in (("train", "train", 3), ("val", "validation", 2), ("test", "test", 2)):
        assert all(p.parent.parent == folder / name for p in loaded.files[split])
        assert loaded.counts()[split] == dict.fromkeys(ODONATA_CLASSES, n)
    assert_pipelines_match_labels(loaded)


# --------------------------------------------------------------------------------------------------
# No layout
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["intel", "food5k", "fruits360", "mosquito", "odonata"])
def test_unrecognised_folder_raises_layout_error_naming_what_was_expected(tmp_path, name):
    root = tmp_path / "my_downloads"
    build_odonata(root / "photos" / "flat") if name != "odonata" else build_intel(root / "photos")
    with pytest.raises(LayoutError) as err:
        datasets.load(name, root, image_size=SIZE, batch_size=4)
    message = str(err.value)
    assert info(name).title in message
    assert str(root) in message
    for layout in info(name).layouts:
        assert LAYOUTS[layout].description in message


@pytest.mark.parametrize("name", ["intel", "food5k"])
def test_missing_root_raises_file_not_found_with_the_path(tmp_path, name):
    missing = tmp_path / "no" / "such" / "folder"
    with pytest.raises(FileNotFoundError) as err:
        locate(info(name), missing)
    assert str(missing) in str(err.value)
    with pytest.raises(FileNotFoundError, match="such"):
        datasets.load(name, missing, image_size=SIZE, batch_size=4)


def test_layout_error_is_a_file_not_found_error():
    """Code that catches FileNotFoundError for a bad DATA_DIR also catches a wrong layout."""
    assert issubclass(LayoutError, FileNotFoundError)


# --------------------------------------------------------------------------------------------------
# A layout without training images
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["intel", "food5k"])
def test_a_training_split_without_images_is_a_layout_error_naming_it(tmp_path, name):
    if name == "intel":
        build_intel(tmp_path, per_class=1, test_per_class=1, pred=0)
        train = tmp_path / "seg_train" / "seg_train"
        images = sorted(train.glob("*/*.jpg"))
        for image in images:
            image.write_bytes(b"")  # empty files: the class folders are there, their images are not usable
        reason = "(empty file)"
        expected = "Expected image files (.bmp, .gif, .jpeg, .jpg, .png, .webp) in its class folders (buildings, "
    else:
        train = build_food5k_epfl(tmp_path, per_class=1) / "training"
        images = sorted(train.glob("*.jpg"))
        for image in images:
            image.write_text("<html>403 Forbidden</html>")  # what a failed download saves
        reason = "(not a readable image)"
        expected = "Expected image files named {ClassID}_{ImageID}.jpg (1 = food, 0 = non-food) directly in it"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the error names the skipped files itself: no warning before it
        with pytest.raises(LayoutError) as err:
            datasets.load(name, tmp_path, image_size=SIZE, batch_size=4)  # not "buffer_size must be greater than zero"
    message = str(err.value)
    assert message.startswith(f"{info(name).title}: the training split {train} holds no usable image.")
    assert f"Skipped {len(images)} item(s) under {train} that are not usable images: " in message and reason in message
    assert expected in message and "DATA_DIR" in message


def test_a_layout_without_training_images_does_not_hide_another_one(tmp_path):
    """A stray ``1_5.jpg`` that is no image beside Food-5K's class folders: the EPFL layout has no usable training
    image, so the search goes on and finds the folder layout."""
    build_food5k_folders(tmp_path, per_class=2)
    (tmp_path / "training" / "1_5.jpg").write_text("not an image")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        found = locate(info("food5k"), tmp_path)
    assert found.layout == "food5k_folders"
    assert len(found.files["train"]) == 4
    messages = data_warnings(record)
    assert len(messages) == 1 and "1_5.jpg (file outside the class folders)" in messages[0]


@pytest.mark.parametrize("name", ["1_7.jpg\n", "1_\u0667.jpg", "\u0661_7.jpg", "1_7.jpg.part", "1_7.jpgx"])
def test_food5k_names_are_matched_whole_with_ascii_digits(tmp_path, name):
    top = build_food5k_epfl(tmp_path, per_class=1)
    write_image(top / "training" / name, 1, fmt="JPEG")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        found = locate(info("food5k"), tmp_path)
    assert top / "training" / name not in found.files["train"]
    assert len(found.files["train"]) == 2
    assert any(name in message for message in data_warnings(record))


# --------------------------------------------------------------------------------------------------
# A class folder with no usable image
# --------------------------------------------------------------------------------------------------


def test_a_class_folder_without_usable_images_is_left_out_with_a_warning(tmp_path):
    """Every file of 'Banana' is unreadable: it must not become an output the model can never learn."""
    branch = build_fruits_branch(tmp_path / "fruits-360")
    for path in (branch / "Training" / "Banana").iterdir():
        path.write_bytes(b"not an image")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        found = locate(info("fruits360"), tmp_path)
    kept = [c for c in FRUIT_CLASSES if c != "Banana"]
    assert found.class_names == kept
    assert any("Banana" in w and "left out" in w for w in data_warnings(record))
    for split in ("train", "test"):
        assert sorted(set(found.labels[split])) == list(range(len(kept)))
        assert not any("Banana" in str(p) for p in found.files[split])
    assert_labels_follow_folders(found)


def test_fewer_than_two_usable_classes_is_a_layout_error(tmp_path):
    build_odonata(tmp_path, per_class=3, held_per_class=2)
    for path in (tmp_path / "train" / "dragonflies").iterdir():
        path.write_bytes(b"")
    with pytest.raises(LayoutError, match="dragonflies.*two or more|two or more.*dragonflies"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        locate(info("odonata"), tmp_path)
