"""Tests for helpers.inspection: native sizes from headers, size tables, odd files, native grids, picking images."""

import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from matplotlib.figure import Figure
from PIL import Image

from helpers import datasets, inspection

# (width, height) of the files written by the ``files`` fixture, in name order.
SIZES = [(150, 150), (150, 113), (150, 150), (500, 374), (150, 150), (150, 136)]


@pytest.fixture
def files(tmp_path):
    """Six JPEG/PNG files with known sizes: three 150x150 and three odd ones."""
    paths = []
    for i, (w, h) in enumerate(SIZES):
        path = tmp_path / f"{i}.{'png' if i == 4 else 'jpg'}"
        mode = "L" if i == 2 else "RGB"  # a grayscale file must still be read and shown
        Image.new(mode, (w, h), color=40 * i).save(path)
        paths.append(path)
    return paths


# --- read_sizes ------------------------------------------------------------------------------------


def test_read_sizes_reads_width_and_height_in_order(files):
    sizes = inspection.read_sizes(files)
    assert list(sizes.columns) == ["path", "width", "height"]
    assert list(zip(sizes["width"], sizes["height"], strict=True)) == SIZES
    assert sizes["path"].tolist() == [str(p) for p in files]
    assert sizes["width"].dtype.kind == "i" and sizes["height"].dtype.kind == "i"


def test_read_sizes_of_no_files_is_an_empty_table():
    sizes = inspection.read_sizes([])
    assert sizes.empty and list(sizes.columns) == ["path", "width", "height"]


def test_read_sizes_does_not_decode_pixels(files, monkeypatch):
    def forbidden_load(self, *args, **kwargs):
        raise AssertionError("read_sizes must read headers only")

    monkeypatch.setattr(Image.Image, "load", forbidden_load)
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", forbidden_load)
    assert len(inspection.read_sizes(files)) == len(files)


# --- size_table and odd_sizes ------------------------------------------------------------------------


def test_size_table_counts_each_size_most_common_first(files):
    table = inspection.size_table(inspection.read_sizes(files))
    assert table["size"].tolist() == ["150x150", "150x113", "150x136", "500x374"]
    assert table["images"].tolist() == [3, 1, 1, 1]
    assert table["share"].tolist() == [0.5, round(1 / 6, 4), round(1 / 6, 4), round(1 / 6, 4)]
    assert table["images"].sum() == len(files)


def test_size_table_of_an_empty_table_has_the_columns():
    table = inspection.size_table(inspection.read_sizes([]))
    assert table.empty and list(table.columns) == ["size", "width", "height", "images", "share"]


def test_odd_sizes_takes_height_width_and_sorts_largest_first(files):
    sizes = inspection.read_sizes(files)
    odd = inspection.odd_sizes(sizes, expected=(150, 150))
    assert list(zip(odd["width"], odd["height"], strict=True)) == [(500, 374), (150, 136), (150, 113)]
    # (height, width): a 374-high, 500-wide expectation leaves the five others
    assert len(inspection.odd_sizes(sizes, expected=(374, 500))) == 5
    assert inspection.odd_sizes(sizes, expected=(500, 374)).shape[0] == 6


def test_odd_sizes_of_a_uniform_dataset_is_empty(files):
    sizes = inspection.read_sizes([files[0], files[2]])
    assert inspection.odd_sizes(sizes, expected=(150, 150)).empty


def test_intel_sample_reproduces_the_odd_sizes_quirk(tmp_path):
    root = datasets.make_sample("intel", tmp_path / "intel")
    files = sorted((root / "seg_train" / "seg_train").rglob("*.jpg"))
    sizes = inspection.read_sizes(files)
    odd = inspection.odd_sizes(sizes, expected=(150, 150))
    assert 0 < len(odd) < len(files) / 4
    assert (odd.iloc[0]["width"], odd.iloc[0]["height"]) == (500, 374)
    assert (odd["width"] == 150).sum() == len(odd) - (odd["width"] == 500).sum()


# --- native_grid -----------------------------------------------------------------------------------


def test_native_grid_draws_each_image_at_native_size_on_one_scale(files):
    fig = inspection.native_grid(files)
    try:
        assert isinstance(fig, Figure)
        assert len(fig.axes) == len(files)
        fig.draw_without_rendering()  # apply the layout and aspect, then compare the drawn sizes
        scales = []
        for ax, (w, h) in zip(fig.axes, SIZES, strict=True):
            image = ax.get_images()[0]
            assert image.get_array().shape[:2] == (h, w)
            assert image.get_extent() == [0, w, h, 0]
            assert ax.get_xlim() == (0, w) and ax.get_ylim() == (374, 0)
            assert ax.get_title().startswith(f"{w}x{h}")
            box = ax.get_window_extent()
            scales.append((box.width / w, box.height / 374))
        assert np.allclose(np.ravel(scales), scales[0][0], rtol=0.02), scales  # one pixel scale everywhere
        assert fig.axes[2].get_images()[0].get_array().shape == (150, 150, 3)  # grayscale shown as RGB
    finally:
        fig.clf()


def test_native_grid_titles_and_errors(files):
    fig = inspection.native_grid(files[:2], titles=["a", "b"])
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    with pytest.raises(ValueError, match="titles"):
        inspection.native_grid(files[:2], titles=["only one"])
    with pytest.raises(ValueError, match="No images"):
        inspection.native_grid([])


# --- images_at -------------------------------------------------------------------------------------


def numbered_dataset(n=10, batch=4):
    """Batches of 2x2 images whose pixels all equal their position, labels = position % 3."""
    images = np.repeat(np.arange(n, dtype=np.float32), 2 * 2 * 3).reshape(n, 2, 2, 3)
    labels = np.arange(n) % 3
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch)


def test_images_at_picks_positions_across_batches_in_the_order_asked():
    images, labels = inspection.images_at(numbered_dataset(), [9, 0, 5, 5])
    assert images.shape == (4, 2, 2, 3)
    assert images[:, 0, 0, 0].tolist() == [9, 0, 5, 5]
    assert labels.tolist() == [0, 0, 2, 2]


def test_images_at_stops_reading_once_everything_is_found():
    read = []
    ds = numbered_dataset().map(lambda x, y: (x, y))

    def generator():
        for batch in ds:
            read.append(1)
            yield batch

    images, _ = inspection.images_at(generator(), [1, 2])
    assert images[:, 0, 0, 0].tolist() == [1, 2]
    assert len(read) == 1


def test_images_at_rejects_positions_outside_the_dataset():
    with pytest.raises(IndexError, match="10 examples"):
        inspection.images_at(numbered_dataset(), [3, 10])
    with pytest.raises(IndexError):
        inspection.images_at(numbered_dataset(), [-1])
    with pytest.raises(ValueError):
        inspection.images_at(numbered_dataset(), [])


def test_images_at_matches_the_files_order_of_a_loaded_test_split(tmp_path):
    root = datasets.make_sample("intel", tmp_path / "intel")
    data = datasets.load("intel", root, image_size=(32, 32), batch_size=7, seed=0)
    n = len(data.files["test"])
    wanted = [n - 1, 0, n // 2]
    _, labels = inspection.images_at(data.test, wanted)
    assert labels.tolist() == [data.labels["test"][i] for i in wanted]


def test_read_sizes_accepts_strings_and_returns_a_dataframe(files):
    assert isinstance(inspection.read_sizes([str(files[0])]), pd.DataFrame)
