"""Tests for helpers.datasets (the public API): get() rules, data_home(), load() glue and Loaded.

No test touches the network: kagglehub is replaced by fakes, and /kaggle/input by a folder in tmp_path.
"""

import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

import functools
from pathlib import Path

import kagglehub
import pytest
import tensorflow as tf
from layout_fixtures import batches, build_intel, build_odonata

from helpers import datasets, pipeline
from helpers.datasets import DataUnavailableError, Loaded, data_home, fetch, info, is_sample, samples

NAMES = ("intel", "food5k", "fruits360", "mosquito", "odonata")
KAGGLE_NAMES = tuple(n for n in NAMES if info(n).kaggle)
PROFILES = ("smoke", "quick", "full")


@pytest.fixture
def kaggle_input(tmp_path, monkeypatch):
    """A fake ``/kaggle/input`` (empty unless a test mounts something) used by get()."""
    base = tmp_path / "kaggle" / "input"
    base.mkdir(parents=True)
    original = fetch.find_kaggle_mount
    monkeypatch.setattr(fetch, "find_kaggle_mount", functools.partial(original, base=base))
    return base


@pytest.fixture
def no_download(monkeypatch):
    """kagglehub must not be asked for anything."""
    calls = []

    def forbidden(*args, **kwargs):
        calls.append((args, kwargs))
        raise AssertionError("kagglehub.dataset_download was called")

    monkeypatch.setattr(kagglehub, "dataset_download", forbidden)
    return calls


@pytest.fixture
def offline(monkeypatch):
    """kagglehub behaves as without network; records what it was asked for."""
    calls = []

    def no_network(handle, *args, **kwargs):
        calls.append((handle, kwargs))
        raise ConnectionError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(kagglehub, "dataset_download", no_network)
    return calls


# --------------------------------------------------------------------------------------------------
# get(): explicit data_dir
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_explicit_data_dir_wins_in_every_profile(tmp_path, kaggle_input, no_download, profile):
    mine = tmp_path / "my data"
    mine.mkdir()
    (kaggle_input / "intel-image-classification").mkdir()  # even an attached dataset loses
    assert datasets.get("intel", profile=profile, data_dir=mine) == mine
    assert datasets.get("intel", profile=profile, data_dir=str(mine)) == mine
    assert not (data_home() / "samples").exists(), "no sample is made when DATA_DIR is given"
    assert no_download == []


def test_data_dir_expands_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "datasets" / "intel").mkdir(parents=True)
    assert datasets.get("intel", "quick", data_dir="~/datasets/intel") == tmp_path / "datasets" / "intel"


@pytest.mark.parametrize("profile", PROFILES)
def test_missing_data_dir_raises_file_not_found_naming_data_dir(tmp_path, no_download, profile):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as err:
        datasets.get("food5k", profile=profile, data_dir=missing)
    message = str(err.value)
    assert "DATA_DIR" in message and str(missing) in message
    assert info("food5k").title in message


def test_data_dir_that_is_a_file_is_refused(tmp_path):
    archive = tmp_path / "intel.zip"
    archive.write_bytes(b"PK")
    with pytest.raises(FileNotFoundError, match="DATA_DIR"):
        datasets.get("intel", "smoke", data_dir=archive)


# --------------------------------------------------------------------------------------------------
# get(): smoke
# --------------------------------------------------------------------------------------------------


def test_smoke_makes_a_sample_under_data_home_and_reuses_it(tmp_path, monkeypatch, no_download):
    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path / "home"))
    root = datasets.get("intel", profile="smoke")
    assert root == tmp_path / "home" / "samples" / "intel"
    assert is_sample(root) and (root / "seg_train" / "seg_train" / "buildings").is_dir()
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}

    def must_not_build(*args, **kwargs):
        raise AssertionError("the sample was made again")

    monkeypatch.setitem(samples._BUILDERS, "intel", must_not_build)
    assert datasets.get("intel", profile="smoke") == root
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before
    assert no_download == []


def test_smoke_sample_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path))
    loaded = datasets.load("intel", datasets.get("intel", "smoke"), image_size=(16, 16), batch_size=32)
    assert loaded.sample and loaded.class_names == list(info("intel").class_names)


# --------------------------------------------------------------------------------------------------
# get(): quick / full
# --------------------------------------------------------------------------------------------------


def mount_places(name):
    owner, slug = info(name).kaggle[0].split("/")[:2]
    return {
        "slug": Path(slug),
        "datasets/owner/slug": Path("datasets", owner, slug),
        "owner/slug": Path(owner, slug),
    }


@pytest.mark.parametrize("name", KAGGLE_NAMES)
@pytest.mark.parametrize("place", ["slug", "datasets/owner/slug", "owner/slug"])
@pytest.mark.parametrize("profile", ["quick", "full"])
def test_attached_kaggle_dataset_is_used_without_downloading(kaggle_input, no_download, name, place, profile):
    mount = kaggle_input / mount_places(name)[place]
    mount.mkdir(parents=True)
    assert datasets.get(name, profile=profile) == mount
    assert no_download == []


def test_find_kaggle_mount_default_base_is_kaggle_input():
    assert fetch.find_kaggle_mount.__defaults__[-1] == Path("/kaggle/input")


@pytest.mark.parametrize("name", KAGGLE_NAMES)
def test_quick_without_network_raises_data_unavailable(kaggle_input, offline, name):
    with pytest.raises(DataUnavailableError) as err:
        datasets.get(name, profile="quick")
    message = str(err.value)
    assert info(name).title in message
    assert info(name).kaggle_url in message
    assert "DATA_DIR" in message, "the message says how to get the data by hand"
    assert err.value.transient
    assert len(offline) == 1 and offline[0][0] == info(name).kaggle[0]
    assert offline[0][1] == {}, "never kagglehub's path= (one file name): Kaggle refuses a folder"


def test_quick_returns_what_kagglehub_downloaded(kaggle_input, monkeypatch, tmp_path):
    cache = tmp_path / "kagglehub" / "datasets" / "fruits" / "versions" / "100"
    (cache / "fruits-360_100x100").mkdir(parents=True)
    asked = []

    def fake_download(handle, path=None):
        asked.append((handle, path))
        return str(cache)

    monkeypatch.setattr(kagglehub, "dataset_download", fake_download)
    assert datasets.get("fruits360", "full") == cache / "fruits-360_100x100"
    assert asked == [(info("fruits360").kaggle[0], None)], "the whole archive: Kaggle refuses a folder as path="


def test_download_errors_never_leak_a_kaggle_key(kaggle_input, monkeypatch):
    secret = "0123456789abcdef0123456789abcdef"
    monkeypatch.setenv("KAGGLE_KEY", secret)

    def refused(*args, **kwargs):
        raise PermissionError(f"403 Forbidden for key={secret}")

    monkeypatch.setattr(kagglehub, "dataset_download", refused)
    with pytest.raises(DataUnavailableError) as err:
        datasets.get("intel", "quick")
    assert secret not in str(err.value)
    assert info("intel").kaggle_url in str(err.value)


# --------------------------------------------------------------------------------------------------
# Bad arguments
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: datasets.get("cifar10", "smoke"),
        lambda: datasets.info("Intel"),
        lambda: datasets.download("imagenet"),
        lambda: datasets.load("mnist", ".", image_size=(8, 8), batch_size=1),
    ],
    ids=["get", "info", "download", "load"],
)
def test_unknown_dataset_lists_the_five_names(call):
    with pytest.raises(ValueError) as err:
        call()
    for name in NAMES:
        assert name in str(err.value)


@pytest.mark.parametrize("profile", ["fast", "Smoke", "", None])
def test_bad_profile(tmp_path, profile):
    with pytest.raises(ValueError) as err:
        datasets.get("intel", profile=profile, data_dir=tmp_path)
    for good in PROFILES:
        assert good in str(err.value)


# --------------------------------------------------------------------------------------------------
# data_home
# --------------------------------------------------------------------------------------------------


def test_data_home_honours_course_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path / "x"))
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    assert data_home() == tmp_path / "x"
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("COURSE_DATA_HOME", "~/course")
    assert data_home() == tmp_path / "course"


def test_data_home_on_kaggle(monkeypatch):
    monkeypatch.delenv("COURSE_DATA_HOME", raising=False)
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Batch")
    assert data_home() == Path("/kaggle/working/cnn-course-data")


def test_data_home_default(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_DATA_HOME", raising=False)
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_home() == tmp_path / ".cache" / "cnn-course"
    monkeypatch.setenv("COURSE_DATA_HOME", "")
    assert data_home() == tmp_path / ".cache" / "cnn-course", "an empty variable counts as unset"


# --------------------------------------------------------------------------------------------------
# Loaded and load()
# --------------------------------------------------------------------------------------------------


def test_loaded_counts_order_and_values():
    empty = tf.data.Dataset.range(0)
    files = {"test": [Path("t")], "val": [Path("v1"), Path("v2")], "train": [Path(f"{i}") for i in range(5)]}
    labels = {"test": [1], "val": [1, 1], "train": [2, 0, 2, 2, 0]}
    loaded = Loaded("x", empty, empty, empty, ["c", "a", "b"], files, labels)
    counts = loaded.counts()
    assert list(counts) == ["train", "val", "test"]
    assert all(list(per_class) == ["c", "a", "b"] for per_class in counts.values())
    assert counts == {
        "train": {"c": 2, "a": 0, "b": 3},
        "val": {"c": 0, "a": 2, "b": 0},
        "test": {"c": 0, "a": 1, "b": 0},
    }
    assert loaded.num_classes == 3
    assert "files" not in repr(loaded)


def test_load_returns_described_pipelines(tmp_path):
    root = build_odonata(tmp_path / "odonata", per_class=3, held_per_class=2)
    loaded = datasets.load("odonata", root, image_size=(12, 10), batch_size=4, seed=1)
    assert loaded.name == "odonata" and loaded.layout == "odonata" and loaded.folder == root
    assert not loaded.sample
    for split in ("train", "val", "test"):
        ds = getattr(loaded, split)
        assert isinstance(ds, tf.data.Dataset)
        assert ds.element_spec[0].shape.as_list() == [None, 12, 10, 3]
        images, labels = batches(ds)
        assert len(labels) == len(loaded.files[split]) == len(loaded.labels[split])
    assert batches(loaded.val)[1].tolist() == loaded.labels["val"]


def test_load_with_a_cache_prefix_writes_one_cache_per_split(tmp_path):
    root = build_intel(tmp_path / "intel", per_class=3, test_per_class=1, pred=0)
    prefix = tmp_path / "caches" / "intel"
    (tmp_path / "caches").mkdir()
    loaded = datasets.load("intel", root, image_size=(8, 8), batch_size=8, cache=str(prefix))
    for split in ("train", "val", "test"):
        batches(getattr(loaded, split))
        assert Path(f"{prefix}-{split}.index").exists(), split


def test_load_puts_large_splits_in_a_file_cache_under_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(pipeline, "MEMORY_CACHE_LIMIT", 100)
    root = build_intel(tmp_path / "intel", per_class=3, test_per_class=1, pred=0)
    loaded = datasets.load("intel", root, image_size=(8, 8), batch_size=8)
    first = batches(loaded.test)
    caches = tmp_path / "home" / "cache"
    assert sorted(p.name.split("-")[1] for p in caches.glob("*.index")) == ["test"]
    for split in ("train", "val"):
        batches(getattr(loaded, split))
    assert len(list(caches.glob("*.index"))) == 3
    again = datasets.load("intel", root, image_size=(8, 8), batch_size=8, cache_dir=tmp_path / "elsewhere")
    assert (batches(again.test)[0] == first[0]).all()
    assert len(list((tmp_path / "elsewhere").glob("*.index"))) == 1


def test_load_without_cache(tmp_path):
    root = build_intel(tmp_path / "intel", per_class=2, test_per_class=1, pred=0)
    loaded = datasets.load("intel", root, image_size=(8, 8), batch_size=8, cache=False)
    assert len(batches(loaded.train)[1]) == 6


def test_public_api():
    for name in ("get", "load", "make_sample", "download", "info", "is_sample", "data_home", "Loaded",
                 "DataWarning", "LayoutError", "DataUnavailableError", "LAYOUTS", "CATALOG"):
        assert name in datasets.__all__ and hasattr(datasets, name)
    assert set(datasets.CATALOG) == set(NAMES)


def test_load_caches_at_the_native_size_and_delivers_the_training_size(tmp_path, monkeypatch):
    """Fruits-360 (100x100) loaded at 120x120: the cache files hold 100x100 images, the batches are 120x120
    and identical, bit for bit, to those of the old cache at 120x120 (issue 13: 07 full cached at 299x299)."""
    monkeypatch.setattr(pipeline, "MEMORY_CACHE_LIMIT", 100)  # every split in a cache file, to look at
    root = samples.make_sample("fruits360", tmp_path / "fruits", images_per_class=5)
    loaded = datasets.load("fruits360", root, image_size=(120, 120), batch_size=8, seed=4, cache_dir=tmp_path / "c")
    for split in ("train", "val", "test"):
        images, labels = batches(getattr(loaded, split))
        assert images.shape[1:] == (120, 120, 3)
        old = pipeline.make_dataset(loaded.files[split], loaded.labels[split], image_size=(120, 120), batch_size=8,
                                    shuffle=split == "train", seed=4, cache=False)
        old_images, old_labels = batches(old)
        assert (images == old_images).all() and (labels == old_labels).all(), split
    names = sorted(p.name for p in (tmp_path / "c").glob("*.index"))
    assert len(names) == 3 and all("-100x100-" in name for name in names), names


def test_load_below_the_native_size_caches_at_the_training_size(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "MEMORY_CACHE_LIMIT", 100)
    root = build_intel(tmp_path / "intel", per_class=2, test_per_class=1, pred=0)
    batches(datasets.load("intel", root, image_size=(8, 8), batch_size=8, cache_dir=tmp_path / "c").test)
    assert [p.name.split("-")[2] for p in (tmp_path / "c").glob("*.index")] == ["8x8"]


@pytest.mark.parametrize("path, series", [
    ("fruits-360_100x100/fruits-360/Training/Apple 10/r0_0_100.jpg", "Apple 10/r0"),  # the 2025 100x100 branch
    ("fruits-360_100x100/fruits-360/Test/Apple 10/r1_3_100.jpg", "Apple 10/r1"),
    ("fruits-360/Training/Apple Red 1/32_100.jpg", "Apple Red 1/no prefix"),  # README: image_index_100.jpg
    ("fruits-360/Test/Apple Red 1/r_32_100.jpg", "Apple Red 1/r"),  # r_image_index_100.jpg
    ("Training/Lemon/r2_31_100.jpg", "Lemon/r2"),  # r2: rotated around the third axis
    ("Training/Lemon/r3_31_100.jpg", "Lemon/r3"),
    ("fruits-360-original-size/Training/Banana/r0_12.jpg", "Banana/r0"),  # no size in the name
    ("Training/Lemon/my photo.jpg", "Lemon/my photo.jpg"),  # not a frame name: a group of its own
])
def test_fruits360_series_reads_the_series_from_the_file_name(path, series):
    from helpers.datasets.catalog import fruits360_series

    assert fruits360_series(Path(path)) == series
    assert fruits360_series(path) == series


def test_fruits360_series_keeps_classes_apart():
    from helpers.datasets.catalog import fruits360_series

    assert fruits360_series("Training/Lemon/r_1_100.jpg") != fruits360_series("Training/Lime/r_1_100.jpg")
    assert fruits360_series("Training/Lemon/r_1_100.jpg") == fruits360_series("Test/Lemon/r_3_100.jpg")
