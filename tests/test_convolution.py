"""Tests for helpers.convolution: every NumPy result is checked against TensorFlow/Keras on random inputs."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf
from matplotlib.figure import Figure

from helpers import convolution, models

TOL = 1e-4  # float32 on values in [-1, 1]: the chapter asserts the same bound


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def tf_conv(images: np.ndarray, kernels: np.ndarray, stride: int | tuple[int, int], padding) -> np.ndarray:
    """tf.nn.conv2d with the helper's padding conventions (an int becomes explicit symmetric padding)."""
    explicit = [[0, 0], [padding, padding], [padding, padding], [0, 0]] if isinstance(padding, int) else None
    return tf.nn.conv2d(images, kernels, strides=stride, padding=explicit or padding.upper()).numpy()


# --- output size and padding -------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 5, 7, 8, 150, 151])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", ["valid", "same", 0, 1, 2])
def test_output_size_matches_tensorflow(n, k, stride, padding):
    before, after = convolution.pad_amounts(n, k, stride, padding)
    if n + before + after < k:
        with pytest.raises(ValueError):
            convolution.output_size(n, k, stride, padding)
        return
    x = np.zeros((1, n, n, 1), np.float32)
    expected = tf_conv(x, np.zeros((k, k, 1, 1), np.float32), stride, padding).shape[1]
    assert convolution.output_size(n, k, stride, padding) == expected


def test_output_size_known_values():
    assert convolution.output_size(150, 3) == 148
    assert convolution.output_size(150, 3, 1, "same") == 150
    assert convolution.output_size(150, 3, 2, "same") == 75
    assert convolution.output_size(151, 4, 2, "same") == 76
    assert convolution.output_size(7, 3, 2, "valid") == 3
    assert convolution.output_size(7, 3, 2, 1) == 4
    assert convolution.output_size(224, 7, 2, 3) == 112  # ResNet's first layer


def test_same_padding_puts_the_odd_pixel_after():
    assert convolution.pad_amounts(5, 3, 1, "same") == (1, 1)
    assert convolution.pad_amounts(5, 4, 1, "same") == (1, 2)
    assert convolution.pad_amounts(6, 3, 2, "same") == (0, 1)
    assert convolution.pad_amounts(6, 1, 3, "same") == (0, 0)
    assert convolution.pad_amounts(9, 3, 1, 2) == (2, 2)
    assert convolution.pad_amounts(9, 3, 1, "valid") == (0, 0)


@pytest.mark.parametrize("bad", ["full", "SAME", -1, 1.5, True])
def test_bad_padding_is_refused(bad):
    with pytest.raises(ValueError, match="padding"):
        convolution.pad_amounts(5, 3, 1, bad)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError):
        convolution.output_size(0, 3)
    with pytest.raises(ValueError):
        convolution.output_size(5, 3, 0)
    with pytest.raises(ValueError):
        convolution.output_size(2, 3)


# --- convolution ---------------------------------------------------------------------------------------

CONFIGS = list(itertools.product(["valid", "same", 1], [1, 2, 3], [1, 2, 3, 4, 5]))


@pytest.mark.parametrize(("padding", "stride", "k"), CONFIGS)
def test_conv2d_loops_matches_tf(padding, stride, k):
    r = rng(k * 10 + stride)
    for h, w in [(7, 7), (8, 11)]:
        image = r.uniform(-1, 1, (h, w)).astype(np.float32)
        kernel = r.uniform(-1, 1, (k, k)).astype(np.float32)
        got = convolution.conv2d_loops(image, kernel, stride, padding)
        expected = tf_conv(image[None, :, :, None], kernel[:, :, None, None], stride, padding)[0, :, :, 0]
        assert got.shape == expected.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, atol=TOL)


@pytest.mark.parametrize(("padding", "stride", "k"), CONFIGS)
def test_conv2d_matches_tf_on_random_batches(padding, stride, k):
    r = rng(100 + k * 10 + stride)
    for channels, filters, (h, w) in [(1, 1, (9, 9)), (3, 4, (10, 13)), (5, 2, (6, 8))]:
        images = r.uniform(-1, 1, (2, h, w, channels)).astype(np.float32)
        kernels = r.uniform(-1, 1, (k, k, channels, filters)).astype(np.float32)
        got = convolution.conv2d(images, kernels, stride, padding)
        expected = tf_conv(images, kernels, stride, padding)
        assert got.shape == expected.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, atol=TOL)


def test_conv2d_rectangular_kernels_and_strides():
    r = rng(7)
    images = r.uniform(-1, 1, (2, 11, 12, 3)).astype(np.float32)
    kernels = r.uniform(-1, 1, (2, 5, 3, 4)).astype(np.float32)
    for padding in ["valid", "same"]:
        got = convolution.conv2d(images, kernels, (2, 3), padding)
        expected = tf.nn.conv2d(images, kernels, strides=(2, 3), padding=padding.upper()).numpy()
        np.testing.assert_allclose(got, expected, atol=TOL)


def test_conv2d_equals_loops_on_one_channel():
    r = rng(3)
    image, kernel = r.normal(size=(12, 9)), r.normal(size=(4, 3))
    for padding, stride in itertools.product(["valid", "same", 2], [1, 2, 3]):
        got = convolution.conv2d(image[None, :, :, None], kernel[:, :, None, None], stride, padding)
        np.testing.assert_allclose(got[0, :, :, 0], convolution.conv2d_loops(image, kernel, stride, padding),
                                   atol=TOL)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("stride", [1, 2])
def test_conv2d_matches_a_keras_layer_with_weights_set_by_hand(padding, stride):
    r = rng(11)
    images = r.uniform(0, 1, (2, 16, 15, 3)).astype(np.float32)
    kernels = r.normal(size=(3, 3, 3, 6)).astype(np.float32)
    bias = r.normal(size=6).astype(np.float32)
    layer = keras.layers.Conv2D(6, 3, strides=stride, padding=padding)
    layer.build(images.shape)
    layer.set_weights([kernels, bias])
    expected = np.asarray(layer(images))
    got = convolution.conv2d(images, kernels, stride, padding) + bias
    np.testing.assert_allclose(got, expected, atol=TOL)


def test_conv2d_is_cross_correlation_not_flipped():
    image = np.zeros((1, 5, 5, 1), np.float32)
    image[0, 2, 2, 0] = 1  # an impulse: the output shows the kernel, flipped, if the kernel is not flipped
    kernel = np.arange(9, dtype=np.float32).reshape(3, 3, 1, 1)
    out = convolution.conv2d(image, kernel, padding="valid")[0, :, :, 0]
    np.testing.assert_array_equal(out, kernel[::-1, ::-1, 0, 0])


def test_conv2d_keeps_float64():
    out = convolution.conv2d(np.ones((1, 4, 4, 1)), np.ones((2, 2, 1, 1)))
    assert out.dtype == np.float64 and out.shape == (1, 3, 3, 1) and np.all(out == 4)


def test_conv2d_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="channels"):
        convolution.conv2d(np.ones((1, 4, 4, 3)), np.ones((3, 3, 1, 2)))
    with pytest.raises(ValueError, match="HWIO"):
        convolution.conv2d(np.ones((1, 4, 4, 1)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="NHWC"):
        convolution.conv2d(np.ones((4, 4, 1)), np.ones((3, 3, 1, 1)))
    with pytest.raises(ValueError, match="2-D"):
        convolution.conv2d_loops(np.ones((4, 4, 3)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="stride"):
        convolution.conv2d(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), stride=0)


def test_windows_shape_and_content():
    images = np.arange(2 * 5 * 6 * 3).reshape(2, 5, 6, 3)
    view = convolution.windows(images, 3, 2)
    assert view.shape == (2, 2, 2, 3, 3, 3)
    np.testing.assert_array_equal(view[1, 1, 0, 2], images[1, 2:5, 0:3, 2])


# --- pooling -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize(("size", "stride"), [(2, None), (3, None), (3, 2), (2, 1), ((2, 3), (1, 2))])
def test_pool2d_matches_keras_layers(mode, padding, size, stride):
    images = rng(5).uniform(-1, 1, (2, 9, 10, 3)).astype(np.float32)
    layer_class = keras.layers.MaxPooling2D if mode == "max" else keras.layers.AveragePooling2D
    expected = np.asarray(layer_class(pool_size=size, strides=stride, padding=padding)(images))
    got = convolution.pool2d(images, size, stride, mode, padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=TOL)


def test_pool2d_small_example():
    x = np.array([[1, 2, 5, 6], [3, 4, 7, 8], [0, 0, 1, 1], [0, 4, 1, 1]], np.float32)[None, :, :, None]
    np.testing.assert_array_equal(convolution.pool2d(x, 2)[0, :, :, 0], [[4, 8], [4, 1]])
    np.testing.assert_array_equal(convolution.pool2d(x, 2, mode="avg")[0, :, :, 0], [[2.5, 6.5], [1, 1]])


def test_pool2d_refuses_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        convolution.pool2d(np.ones((1, 4, 4, 1)), 2, mode="median")
    with pytest.raises(ValueError, match="padding"):
        convolution.pool2d(np.ones((1, 4, 4, 1)), 2, padding=1)


# --- receptive field -----------------------------------------------------------------------------------


def test_receptive_field_known_values():
    assert convolution.receptive_field([]) == 1
    assert convolution.receptive_field([(3, 1)]) == 3
    assert convolution.receptive_field([(3, 1)] * 2) == 5
    assert convolution.receptive_field([(3, 1)] * 3) == 7  # why VGG stacks 3x3 convs instead of a 7x7
    assert convolution.receptive_field([(5, 1), (5, 1)]) == 9
    assert convolution.receptive_field([(3, 1), (2, 2), (3, 1)]) == 8
    assert convolution.receptive_fields([(3, 1), (2, 2), (3, 1)]) == [(3, 1), (4, 2), (8, 2)]


def test_receptive_field_of_vgg16():
    """Widely quoted values: conv5_3 of VGG16 sees 196 pixels, pool5 212."""
    block = lambda convs: [(3, 1)] * convs + [(2, 2)]  # noqa: E731
    vgg = block(2) + block(2) + block(3) + block(3) + block(3)
    assert convolution.receptive_field(vgg[:-1]) == 196
    assert convolution.receptive_field(vgg) == 212
    assert convolution.receptive_fields(vgg)[-1][1] == 32


def test_receptive_field_refuses_bad_layers():
    with pytest.raises(ValueError):
        convolution.receptive_field([(0, 1)])


def test_receptive_field_matches_the_gradient_footprint():
    """Measure it: the input pixels that move the centre output of a linear conv/pool stack."""
    stack = [keras.layers.Conv2D(1, 3, padding="same"), keras.layers.AveragePooling2D(2),
             keras.layers.Conv2D(1, 3, padding="same"), keras.layers.Conv2D(1, 5, strides=2, padding="same")]
    model = keras.Sequential([keras.Input((64, 64, 1)), *stack])
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([np.ones(layer.weights[0].shape, np.float32), np.zeros(1, np.float32)])
    x = tf.Variable(tf.zeros((1, 64, 64, 1)))
    with tf.GradientTape() as tape:
        y = model(x)
        centre = y[0, y.shape[1] // 2, y.shape[2] // 2, 0]
    rows = np.flatnonzero(np.abs(tape.gradient(centre, x).numpy()[0, :, :, 0]).sum(axis=1))
    layers = [(k, s) for _, k, s in convolution.spatial_layers(model)]
    assert layers == [(3, 1), (2, 2), (3, 1), (5, 2)]
    assert rows.max() - rows.min() + 1 == convolution.receptive_field(layers) == 16


def test_spatial_layers_of_the_course_cnn():
    model = models.scratch_cnn((32, 32, 3), 4, filters=(8, 8, 8))
    found = convolution.spatial_layers(model)
    expected = [f"block{i}_{kind}" for i in (1, 2, 3) for kind in ("conv1", "pool")]
    assert [name for name, _, _ in found] == expected
    assert convolution.receptive_field([(k, s) for _, k, s in found]) == 22


def test_spatial_layers_walks_nested_models_and_dilation():
    dilated = keras.layers.Conv2D(1, 3, dilation_rate=2)
    inner = keras.Sequential([keras.Input((16, 16, 1)), dilated], name="inner")
    outer = keras.Sequential([keras.Input((16, 16, 1)), inner, keras.layers.MaxPooling2D(3, strides=2),
                              keras.layers.Flatten()])
    assert convolution.spatial_layers(outer) == [(inner.layers[0].name, 5, 1), (outer.layers[1].name, 3, 2)]


# --- kernels, filtering, figures, widget ---------------------------------------------------------------


def test_classic_kernels():
    assert all(k.shape == (3, 3) and k.dtype == np.float32 for k in convolution.KERNELS.values())
    sums = {name: float(k.sum()) for name, k in convolution.KERNELS.items()}
    for name in ["identity", "box blur", "gaussian blur", "sharpen", "emboss"]:
        assert sums[name] == pytest.approx(1.0)
    for name in ["sobel x", "sobel y", "outline"]:
        assert sums[name] == 0


def test_sobel_x_responds_to_vertical_edges_only():
    step = np.zeros((8, 8), np.float32)
    step[:, 4:] = 1  # dark left, bright right: a vertical edge
    gx = convolution.filter_image(step, convolution.KERNELS["sobel x"], padding="valid")
    gy = convolution.filter_image(step, convolution.KERNELS["sobel y"], padding="valid")
    assert gx.max() == 4 and gx.min() == 0 and np.all(gy == 0)


def test_filter_image_keeps_size_and_channels():
    r = rng(2)
    photo = r.uniform(0, 255, (12, 10, 3)).astype(np.float32)
    blurred = convolution.filter_image(photo, convolution.KERNELS["box blur"])
    assert blurred.shape == photo.shape
    for c in range(3):
        by_hand = convolution.conv2d_loops(photo[..., c], np.full((3, 3), 1 / 9), padding="same")
        np.testing.assert_allclose(blurred[..., c], by_hand, rtol=1e-5)
    np.testing.assert_allclose(convolution.filter_image(photo[..., 0], convolution.KERNELS["identity"]),
                               photo[..., 0])
    with pytest.raises(ValueError):
        convolution.filter_image(photo, np.ones((3, 3, 1)))


def test_plot_kernels():
    fig = convolution.plot_kernels({k: convolution.KERNELS[k] for k in ["box blur", "sobel x"]})
    assert isinstance(fig, Figure) and [ax.get_title() for ax in fig.axes] == ["box blur", "sobel x"]
    assert len(fig.axes[1].texts) == 9 and fig.axes[1].texts[0].get_text() == "-1"
    assert fig.axes[0].texts[0].get_text() == ".11"
    with pytest.raises(ValueError):
        convolution.plot_kernels({})


def test_kernel_editor_updates_live():
    pytest.importorskip("ipywidgets")
    image = rng(4).uniform(0, 255, (10, 10)).astype(np.float32)
    drawn = []

    def render(original, outputs):
        drawn.append(outputs)
        fig = Figure(figsize=(1, 1))
        fig.subplots().imshow(outputs["your kernel"])
        return fig

    editor = convolution._KernelEditor(image, preset="identity", render=render)
    np.testing.assert_allclose(editor.result, image, atol=1e-4)
    assert len(drawn) == 1 and bytes(editor.picture.value).startswith(b"\x89PNG")
    editor.preset.value = "box blur"
    np.testing.assert_allclose(editor.kernel, convolution.KERNELS["box blur"], atol=1e-4)
    assert len(drawn) == 2  # loading a preset redraws once, not once per cell
    editor.cells[4].value = 10.0
    assert editor.kernel[1, 1] == 10.0 and len(drawn) == 3
    np.testing.assert_allclose(editor.result, convolution.filter_image(image, editor.kernel), rtol=1e-6)


def test_kernel_editor_function_shows_the_control(monkeypatch):
    pytest.importorskip("ipywidgets")
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    editor = convolution.kernel_editor(np.zeros((6, 6), np.float32))
    assert shown == [editor.widget] and editor.preset.value == "sharpen"
    assert bytes(editor.picture.value).startswith(b"\x89PNG")  # the default renderer drew a figure
