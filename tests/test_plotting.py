"""Tests for helpers.plotting: figure structure, titles, colours, scaling; figures are always closed."""

import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

import matplotlib

matplotlib.use("Agg")

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from helpers import plotting


@pytest.fixture(autouse=True)
def no_show_and_close_figures(monkeypatch):
    """Fail if a function calls plt.show(); close every figure after each test so none leak."""

    def forbidden_show(*args, **kwargs):
        raise AssertionError("plotting functions must not call plt.show()")

    monkeypatch.setattr(plt, "show", forbidden_show)
    yield
    plt.close("all")


def dashed_vlines(ax):
    """Vertical dashed lines of an axis (the phase separators)."""
    return [
        line
        for line in ax.get_lines()
        if line.get_linestyle() == "--" and len(set(np.atleast_1d(line.get_xdata()))) == 1
    ]


def shown_images(fig):
    """The array drawn by imshow in each axis, in axis order."""
    return [ax.get_images()[0].get_array() for ax in fig.axes if ax.get_images()]


HISTORY = {
    "loss": [1.0, 0.8, 0.6],
    "accuracy": [0.5, 0.6, 0.7],
    "val_loss": [1.1, 0.9, 0.8],
    "val_accuracy": [0.4, 0.5, 0.6],
}


# --- plot_history ----------------------------------------------------------------------------------


def test_plot_history_one_subplot_per_metric_with_train_and_validation():
    fig = plotting.plot_history(HISTORY, title="Scratch CNN")
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert fig.get_suptitle() == "Scratch CNN"
    loss_ax = fig.axes[0]
    train, val = loss_ax.get_lines()
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(train.get_ydata(), HISTORY["loss"])
    np.testing.assert_array_equal(val.get_ydata(), HISTORY["val_loss"])
    assert dashed_vlines(loss_ax) == []


def test_plot_history_accepts_a_keras_history_without_validation():
    history = keras.callbacks.History()
    history.history = {"loss": [0.9, 0.5]}
    fig = plotting.plot_history(history, metrics=("loss",))
    assert len(fig.axes) == 1
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["train"]


def test_plot_history_phases_are_concatenated_with_labelled_separators():
    fine_tune = {key: values[:2] for key, values in HISTORY.items()}
    third = {key: values[:1] for key, values in HISTORY.items()}
    fig = plotting.plot_history([HISTORY, fine_tune, third])
    for ax in fig.axes:
        train = ax.get_lines()[0]
        np.testing.assert_array_equal(train.get_xdata(), np.arange(1, 7))
        separators = dashed_vlines(ax)
        assert [line.get_xdata()[0] for line in separators] == [3.5, 5.5]
        legend_texts = [text.get_text() for text in ax.get_legend().get_texts()]
        assert "phase 2 starts" in legend_texts
        assert "phase 3 starts" in legend_texts


def test_plot_history_pads_a_metric_missing_from_one_phase():
    fig = plotting.plot_history(
        [{"loss": [1.0, 0.9]}, {"loss": [0.5], "accuracy": [0.8]}], metrics=("accuracy",)
    )
    ydata = fig.axes[0].get_lines()[0].get_ydata()
    assert np.isnan(ydata[:2]).all()
    assert ydata[2] == 0.8


def test_plot_history_unknown_metric_raises_with_available_names():
    with pytest.raises(ValueError, match="auc"):
        plotting.plot_history(HISTORY, metrics=("loss", "auc"))


# --- image_grid, dataset_grid ----------------------------------------------------------------------


def test_image_grid_one_axis_per_image_titles_and_axes_off():
    images = np.zeros((10, 8, 8, 3), dtype=np.uint8)
    titles = [f"img {i}" for i in range(10)]
    fig = plotting.image_grid(images, titles=titles, ncols=4)
    assert len(fig.axes) == 10  # the two spare cells of the 3x4 grid are removed
    assert [ax.get_title() for ax in fig.axes] == titles
    assert not any(ax.axison for ax in fig.axes)


def test_image_grid_converts_0_255_floats_to_uint8():
    images = tf.constant(np.full((2, 4, 4, 3), 200.4, dtype=np.float32))
    shown = shown_images(plotting.image_grid(images))
    assert shown[0].dtype == np.uint8
    assert shown[0].max() == 200


def test_image_grid_keeps_0_1_floats():
    images = np.full((2, 4, 4, 3), 0.5, dtype=np.float32)
    shown = shown_images(plotting.image_grid(images))
    assert shown[0].dtype.kind == "f"
    assert shown[0].max() == pytest.approx(0.5)


@pytest.mark.parametrize("shape", [(3, 5, 5, 1), (3, 5, 5)])
def test_image_grid_grayscale_uses_gray_cmap_with_fixed_range(shape):
    images = np.full(shape, 100, dtype=np.uint8)
    fig = plotting.image_grid(images)
    image = fig.axes[0].get_images()[0]
    assert image.get_array().shape == (5, 5)
    assert image.get_cmap().name == "gray"
    assert image.get_clim() == (0, 255)


def test_image_grid_rejects_wrong_number_of_titles():
    with pytest.raises(ValueError, match="titles"):
        plotting.image_grid(np.zeros((3, 4, 4, 3)), titles=["a"])


def test_dataset_grid_titles_first_n_images_with_class_names():
    labels = np.arange(20) % 3
    images = np.zeros((20, 4, 4, 3), dtype=np.uint8)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(6)
    fig = plotting.dataset_grid(dataset, ["cat", "dog", "fox"], n=8, ncols=4)
    assert [ax.get_title() for ax in fig.axes] == ["cat", "dog", "fox", "cat", "dog", "fox", "cat", "dog"]


# --- plot_confusion_matrix -------------------------------------------------------------------------


def test_confusion_matrix_normalized_cells_and_colorbar():
    cm = np.array([[3, 1], [0, 0]])
    fig = plotting.plot_confusion_matrix(cm, ["cat", "dog"])
    heatmap, colorbar = fig.axes
    assert [t.get_text() for t in heatmap.texts] == ["0.75", "0.25", "0.00", "0.00"]
    assert [t.get_text() for t in heatmap.get_yticklabels()] == ["cat", "dog"]
    assert heatmap.get_xticklabels()[0].get_rotation() == 45
    assert "fraction" in heatmap.get_title()
    assert colorbar is not None


def test_confusion_matrix_counts_and_custom_title():
    cm = np.array([[3, 1], [2, 5]])
    fig = plotting.plot_confusion_matrix(cm, ["cat", "dog"], normalize=False, title="Test set")
    assert [t.get_text() for t in fig.axes[0].texts] == ["3", "1", "2", "5"]
    assert fig.axes[0].get_title() == "Test set"


def test_confusion_matrix_many_classes_skips_text_and_caps_size():
    n = 150
    fig = plotting.plot_confusion_matrix(np.eye(n, dtype=int), [f"c{i}" for i in range(n)])
    assert len(fig.axes[0].texts) == 0
    assert fig.axes[0].get_xticklabels()[0].get_rotation() == 90
    height = fig.get_size_inches()[1]
    assert 10 < height <= 26
    small = plotting.plot_confusion_matrix(np.eye(3, dtype=int), ["a", "b", "c"])
    assert small.get_size_inches()[1] < height


def test_confusion_matrix_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shape"):
        plotting.plot_confusion_matrix(np.eye(3), ["a", "b"])


# --- prediction_grid -------------------------------------------------------------------------------


def test_prediction_grid_titles_and_colours():
    images = np.zeros((3, 4, 4, 3), dtype=np.uint8)
    y_prob = np.array([[0.93, 0.07], [0.2, 0.8], [0.6, 0.4]])
    fig = plotting.prediction_grid(images, np.array([0, 0, 0]), y_prob, ["cat", "dog"])
    titles = [ax.title for ax in fig.axes]
    assert [t.get_text() for t in titles] == [
        "cat (p=0.93) / cat",
        "dog (p=0.80) / cat",
        "cat (p=0.60) / cat",
    ]
    assert [to_rgba(t.get_color()) for t in titles] == [to_rgba("green"), to_rgba("red"), to_rgba("green")]


def test_prediction_grid_accepts_a_sigmoid_column():
    fig = plotting.prediction_grid(np.zeros((2, 4, 4, 3)), [1, 1], np.array([[0.9], [0.3]]), ["neg", "pos"])
    assert [ax.get_title() for ax in fig.axes] == ["pos (p=0.90) / pos", "neg (p=0.70) / pos"]


# --- class_balance, kernel_comparison --------------------------------------------------------------


def test_class_balance_single_split():
    fig = plotting.class_balance({"cat": 5, "dog": 3}, title="Train")
    ax = fig.axes[0]
    assert [bar.get_width() for bar in ax.patches] == [5, 3]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog"]
    assert ax.get_title() == "Train"
    assert ax.get_legend() is None


def test_class_balance_grouped_bars_per_split():
    counts = {"train": {"cat": 50, "dog": 30}, "test": {"cat": 10, "fox": 4}}
    ax = plotting.class_balance(counts).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog", "fox"]
    assert [bar.get_width() for bar in ax.patches] == [50, 30, 0, 10, 0, 4]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "test"]


def test_kernel_comparison_original_then_outputs():
    image = np.full((6, 6, 3), 120.0)
    sobel = np.linspace(-4, 4, 36).reshape(1, 6, 6, 1)  # a conv output: batch of one, signed values
    fig = plotting.kernel_comparison(image, {"blur": image * 0.5, "sobel x": sobel})
    assert [ax.get_title() for ax in fig.axes] == ["original", "blur", "sobel x"]
    original, blur, edges = shown_images(fig)
    assert original.dtype == np.uint8
    assert edges.shape == (6, 6)
    assert fig.axes[2].get_images()[0].get_clim() == pytest.approx((-4, 4))


def test_figures_are_not_registered_with_pyplot():
    """Not in pyplot's list: a notebook shows each figure once, and none leak across cells."""
    fig = plotting.image_grid(np.zeros((2, 4, 4, 3)))
    assert plt.get_fignums() == []
    assert fig.canvas is not None and len(fig.axes) == 2
