from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import folder_data
from helpers.datasets import DataWarning, LayoutError, layouts
from helpers.datasets.samples import MARKER

COLOURS = {"blue": (20, 40, 230), "green": (30, 200, 40), "red": (230, 30, 20)}


def write_images(folder: Path, colour: tuple[int, int, int], n: int, size: tuple[int, int] = (20, 16),
                 fmt: str = "JPEG") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".jpg" if fmt == "JPEG" else ".png"
    for i in range(n):
        Image.new("RGB", size, colour).save(folder / f"img_{i:03d}{suffix}", format=fmt)


def class_folders(root: Path, n: int = 10, classes=("blue", "green", "red")) -> Path:
    for name in classes:
        write_images(root / name, COLOURS[name], n)
    return root


@pytest.mark.parametrize(("name", "split"), [
    ("train", "train"), ("Training", "train"), ("seg_train", "train"), ("train-set", "train"),
    ("val", "val"), ("valid", "val"), ("Validation", "val"), ("dev", "val"),
    ("test", "test"), ("seg_test", "test"), ("Testing", "test"), ("evaluation", "test"),
    ("seg_pred", None), ("forest", None), ("trainval", None), ("train_test", None),
])
def test_split_of(name, split):
    assert layouts._split_of(name) == split


def test_class_folders_only(tmp_path):
    scan = folder_data.scan_folder(class_folders(tmp_path / "photos", n=10))
    assert scan.class_names == ["blue", "green", "red"]
    assert scan.given_splits == () and scan.num_images == 30
    assert scan.counts() == {"all": {"blue": 10, "green": 10, "red": 10}}


def test_stratified_three_way_split_is_a_partition(tmp_path):
    scan = folder_data.scan_folder(class_folders(tmp_path / "photos", n=20))
    files, labels, how = folder_data._split_files(scan, val_fraction=0.2, test_fraction=0.2, seed=1)
    assert "stratified" in how
    every = [f for split in ("train", "val", "test") for f in files[split]]
    assert sorted(every) == sorted(scan.files["all"]) and len(set(every)) == len(every)
    for split, per_class in (("train", 12), ("val", 4), ("test", 4)):
        assert np.bincount(labels[split]).tolist() == [per_class] * 3
        assert all(Path(f).parent.name == scan.class_names[y] for f, y in zip(files[split], labels[split], strict=True))


def test_split_is_reproducible_and_depends_on_the_seed(tmp_path):
    scan = folder_data.scan_folder(class_folders(tmp_path / "photos", n=20))
    a = folder_data._split_files(scan, seed=3)[0]
    assert a == folder_data._split_files(scan, seed=3)[0]
    assert a["test"] != folder_data._split_files(scan, seed=4)[0]["test"]


def test_train_and_test_folders_are_kept(tmp_path):
    root = tmp_path / "data"
    class_folders(root / "train", n=10)
    class_folders(root / "test", n=3)
    scan = folder_data.scan_folder(root)
    assert scan.given_splits == ("train", "test")
    files, labels, how = folder_data._split_files(scan, val_fraction=0.2)
    assert files["test"] == scan.files["test"]
    assert np.bincount(labels["val"]).tolist() == [2, 2, 2] and len(files["train"]) == 24
    assert "validation = a stratified 20% of train" in how


def test_train_val_test_folders_are_used_as_they_are(tmp_path):
    root = tmp_path / "data"
    for split, n in (("training", 6), ("validation", 2), ("testing", 3)):
        class_folders(root / split, n=n)
    files, _, how = folder_data._split_files(folder_data.scan_folder(root))
    assert [len(files[s]) for s in ("train", "val", "test")] == [18, 6, 9]
    assert "used as they are" in how


def test_train_and_val_folders_get_a_test_split_from_train(tmp_path):
    root = tmp_path / "data"
    class_folders(root / "train", n=10)
    class_folders(root / "valid", n=2)
    files, labels, how = folder_data._split_files(folder_data.scan_folder(root), test_fraction=0.3)
    assert len(files["val"]) == 6 and np.bincount(labels["test"]).tolist() == [3, 3, 3]
    assert "test = a stratified 30% of train" in how


def test_a_lone_train_folder_is_split_three_ways(tmp_path):
    root = tmp_path / "data"
    class_folders(root / "train", n=20)
    files, _, how = folder_data._split_files(folder_data.scan_folder(root), val_fraction=0.2, test_fraction=0.2)
    assert [len(files[s]) for s in ("train", "val", "test")] == [36, 12, 12]
    assert how.startswith("a train folder only: stratified")


def test_intel_style_nesting_and_an_unlabelled_folder(tmp_path):
    """Kaggle's Intel layout: seg_train/seg_train/<class>, seg_test/seg_test/<class>, seg_pred/seg_pred/*.jpg."""
    root = tmp_path / "versions" / "2"
    class_folders(root / "seg_train" / "seg_train", n=6)
    class_folders(root / "seg_test" / "seg_test", n=2)
    write_images(root / "seg_pred" / "seg_pred", (0, 0, 0), 3)
    scan = folder_data.scan_folder(tmp_path)  # two levels above, as kagglehub's cache would be given
    assert scan.folder == root and scan.given_splits == ("train", "test")
    assert [p.name for p in scan.ignored] == ["seg_pred"]
    assert folder_data._dataset_name(scan.folder) == tmp_path.name


def test_found_at_depth_through_wrappers(tmp_path):
    class_folders(tmp_path / "download" / "archive" / "Images", n=2)
    scan = folder_data.scan_folder(tmp_path / "download")
    assert scan.folder == tmp_path / "download" / "archive" / "Images"
    assert folder_data._dataset_name(tmp_path / "x" / "versions" / "3") == "x"


def test_a_lone_class_folder_in_a_split_is_a_class_not_a_wrapper(tmp_path):
    """A test split with one class only, ``test/cats/*.jpg``: the unwrap rule must not step into ``cats``.

    The two folder readers used to disagree here: chapter 09's stepped into any lone sub-folder (and then
    found no class folders in the test split), the catalogue's only into one of the split's own name.
    The one rule (:mod:`helpers.datasets.layouts`) never takes a folder that holds files for a wrapper.
    """
    root = tmp_path / "data"
    class_folders(root / "train", n=6, classes=("blue", "red"))
    class_folders(root / "test", n=2, classes=("blue",))
    scan = folder_data.scan_folder(root)
    assert scan.given_splits == ("train", "test") and scan.class_names == ["blue", "red"]
    assert scan.counts()["test"] == {"blue": 2, "red": 0}
    assert all(p.parent == root / "test" / "blue" for p in scan.files["test"])


@pytest.mark.parametrize("wrapped", ["same name, a file beside it", "images/ wrapper", "two levels"])
def test_wrappers_inside_split_folders_are_unwrapped(tmp_path, wrapped):
    """Kaggle's ``seg_train/seg_train`` with a stray file beside the inner folder (the catalogue's reader
    unwrapped it, chapter 09's did not and then missed the test split), ``train/images/<class>``, and
    wrappers two deep: each split's classes are found and both splits are kept."""
    root = tmp_path / "data"
    for split in ("seg_train", "seg_test"):
        inner = {"same name, a file beside it": root / split / split, "images/ wrapper": root / split / "images",
                 "two levels": root / split / "images" / "jpg"}[wrapped]
        class_folders(inner, n=4 if split == "seg_train" else 2)
        if wrapped == "same name, a file beside it":
            (root / split / "README.txt").write_text("Intel image classification")
    scan = folder_data.scan_folder(root)
    assert scan.folder == root and scan.given_splits == ("train", "test")
    assert scan.counts() == {"train": dict.fromkeys(COLOURS, 4), "test": dict.fromkeys(COLOURS, 2)}
    assert scan.skipped == []  # files beside a wrapper are not data, nor reported


def test_class_order_can_be_fixed(tmp_path):
    root = class_folders(tmp_path / "photos", n=2)
    scan = folder_data.scan_folder(root, class_names=["red", "green", "blue"])
    assert scan.class_names == ["red", "green", "blue"]
    assert all(Path(f).parent.name == scan.class_names[y] for f, y in zip(scan.files["all"], scan.labels["all"],
                                                                           strict=True))
    with pytest.raises(LayoutError, match="purple"):
        folder_data.scan_folder(root, class_names=["red", "purple"])
    with pytest.raises(LayoutError, match="two or more"):
        folder_data.scan_folder(root, class_names=["red"])


def test_no_classes_or_one_class_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(LayoutError, match="No class folders"):
        folder_data.scan_folder(tmp_path / "empty")
    write_images(tmp_path / "one" / "train" / "cats", (9, 9, 9), 2)
    write_images(tmp_path / "one" / "train" / "dogs", (9, 9, 9), 0)
    with pytest.raises(LayoutError):
        folder_data.scan_folder(tmp_path / "one")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        folder_data.scan_folder(tmp_path / "missing")


def test_bad_files_are_skipped_with_one_warning(tmp_path):
    root = class_folders(tmp_path / "photos", n=10)
    (root / "blue" / "empty.jpg").write_bytes(b"")
    good = (root / "red" / "img_000.jpg").read_bytes()
    (root / "red" / "cut.jpg").write_bytes(good[: len(good) // 2])
    (root / "green" / "notes.txt").write_text("hello")
    (root / "README.md").write_text("my photos")
    (root / ".DS_Store").write_bytes(b"\0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = folder_data.load_folder(root, image_size=(8, 8), batch_size=4, seed=0, cache=False)
    ours = [w for w in caught if issubclass(w.category, DataWarning)]
    assert len(ours) == 1
    message = str(ours[0].message)
    assert "Skipped 5 item(s)" in message  # same rules as the course loaders: junk files are named too
    for name in ("empty.jpg", "cut.jpg", "notes.txt", "README.md", ".DS_Store"):
        assert name in message
    assert sum(sum(c.values()) for c in data.counts().values()) == 30


def test_load_folder_gives_aligned_batches(tmp_path):
    root = class_folders(tmp_path / "photos", n=10)
    data = folder_data.load_folder(root, image_size=(8, 12), batch_size=5, val_fraction=0.2, test_fraction=0.2,
                                   seed=0)
    assert data.name == "photos" and data.class_names == ["blue", "green", "red"] and not data.sample
    assert data.counts()["test"] == {"blue": 2, "green": 2, "red": 2}
    assert "stratified" in data.layout and data.folder == root
    for split in ("train", "val", "test"):
        for images, labels in getattr(data, split):
            assert images.shape[1:] == (8, 12, 3) and images.dtype.name == "float32"
            dominant = images.numpy().mean(axis=(1, 2)).argmax(axis=1)  # 0 = red channel, 1 = green, 2 = blue
            expected = {0: 2, 1: 1, 2: 0}  # blue -> channel 2, green -> 1, red -> 0
            assert [expected[int(y)] for y in labels.numpy()] == dominant.tolist()


def test_mixed_formats_and_sizes(tmp_path):
    root = tmp_path / "photos"
    write_images(root / "a", (200, 10, 10), 3, size=(50, 20))
    write_images(root / "b", (10, 10, 200), 3, size=(12, 40), fmt="PNG")
    data = folder_data.load_folder(root, image_size=(16, 16), batch_size=8, val_fraction=0.34, test_fraction=0.33)
    assert {s: sum(c.values()) for s, c in data.counts().items()} == {"train": 2, "val": 2, "test": 2}


def test_make_example_folder(tmp_path):
    photos = folder_data.make_example_folder(tmp_path / "example", classes=3)
    assert photos == tmp_path / "example" / "my_photos"
    assert (tmp_path / "example" / MARKER).is_file()
    classes = sorted(p.name for p in photos.iterdir())
    assert classes == ["buildings", "forest", "glacier"]
    assert (photos / "buildings" / "IMG_9999.jpg").is_file() and (photos / "glacier" / "notes.txt").is_file()
    stamp = (photos / "forest" / "IMG_0001.jpg").stat().st_mtime_ns
    assert folder_data.make_example_folder(tmp_path / "example", classes=3) == photos
    assert (photos / "forest" / "IMG_0001.jpg").stat().st_mtime_ns == stamp  # reused, not rewritten
    with pytest.warns(DataWarning, match="Skipped 2 item"):
        data = folder_data.load_folder(photos, image_size=(16, 16), batch_size=8, seed=0)
    assert data.sample and data.name == "my_photos"
    assert sum(sum(c.values()) for c in data.counts().values()) == 3 * 32
    with pytest.raises(ValueError):
        folder_data.make_example_folder(tmp_path / "x", classes=1)


def test_make_example_folder_never_overwrites_other_data(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("precious")
    with pytest.raises(FileExistsError):
        folder_data.make_example_folder(tmp_path / "mine")


def test_scan_warns_once_and_loading_the_scan_does_not_warn_again(tmp_path):
    root = class_folders(tmp_path / "photos", n=6)
    (root / "red" / "broken.png").write_bytes(b"\x89PNG\r\n")
    with pytest.warns(DataWarning, match=r"red/broken.png \(") as caught:
        scan = folder_data.scan_folder(root)
    assert len(caught) == 1 and caught[0].filename == __file__  # points at the caller's line
    assert [p.name for p, _ in scan.skipped] == ["broken.png"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = folder_data.load_folder(scan, image_size=(8, 8), batch_size=4, val_fraction=0.34, test_fraction=0.33)
        folder_data.scan_folder(root, warn=False)
    assert data.counts()["test"] == {"blue": 2, "green": 2, "red": 2}


def test_an_unreadable_class_is_left_out_with_a_warning(tmp_path):
    class_folders(tmp_path)
    for path in (tmp_path / "green").iterdir():
        path.write_bytes(b"\x00" * 10)
    with pytest.warns(DataWarning, match="green"):
        scan = folder_data.scan_folder(tmp_path, warn=False)
    assert scan.class_names == ["blue", "red"]
    assert sorted(set(scan.labels["all"])) == [0, 1]


# --------------------------------------------------------------------------------------------------
# A folder of photos as phones and cameras write them (helpers.datasets.phone_photos)
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def phone_folder(tmp_path_factory):
    from helpers.datasets import phone_photos

    return phone_photos.make_phone_photos(tmp_path_factory.mktemp("phone"))


def test_phone_photos_are_all_used_and_the_rest_named_with_the_fix(phone_folder):
    """Every photo Pillow or TensorFlow reads is used (AVIF too); the warning names the macOS files and, for
    HEIC without pillow-heif, says what to install. Before: AVIF skipped, HEIC "not an image file"."""
    import importlib.util

    from helpers.datasets import phone_photos

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scan = folder_data.scan_folder(phone_folder.parent)
    heic = importlib.util.find_spec("pillow_heif") is not None
    expected = [p.path for p in phone_photos.PHOTOS
                if (p.kind != "AVIF" or phone_photos.avif_supported()) and (p.kind != "HEIC" or heic)]
    assert sorted(str(f.relative_to(scan.folder)) for f in scan.files["all"]) == sorted(expected)
    assert scan.files["all"] == sorted(scan.files["all"]), "still in file order"
    assert all(scan.class_names[y] == f.parent.name for f, y in zip(scan.files["all"], scan.labels["all"],
                                                                     strict=True))
    skipped = {str(p.relative_to(scan.folder)): why for p, why in scan.skipped}
    assert set(skipped) == {".DS_Store", "ball/.DS_Store", "box/._IMG_0006.JPG"} | (set() if heic else
                                                                                       {"box/IMG_0020.HEIC"})
    messages = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert len(messages) == 1 and "._IMG_0006.JPG" in messages[0]
    if not heic:
        assert "IMG_0020.HEIC (HEIC photo" in messages[0] and "pip install pillow-heif" in messages[0]


def test_the_phone_folder_loads_and_every_batch_decodes(phone_folder):
    from helpers.datasets import phone_photos

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        data = folder_data.load_folder(phone_folder, image_size=(48, 64), batch_size=8, seed=0,
                                       val_fraction=0.2, test_fraction=0.2)
    assert data.sample
    for split in ("train", "val", "test"):
        images = np.concatenate([x.numpy() for x, _ in getattr(data, split)])
        assert images.shape == (len(data.files[split]), 48, 64, 3)
    test_images = np.concatenate([x.numpy() for x, _ in data.test])
    for path, image in zip(data.files["test"], test_images, strict=True):  # unshuffled: file order
        assert np.abs(image[1, 1] - phone_photos.MARKER_RED).max() < 60, f"{path.name}: the red corner is top-left"
