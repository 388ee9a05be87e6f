"""What a CNN sees: grayscale input inside the model, feature maps, first-layer filters and Grad-CAM.

Everything here works on a *flat* functional model, one whose convolution layers are layers of the
model itself, such as :func:`helpers.models.scratch_cnn`. Then ``model.get_layer("block3_conv2").output``
is a tensor of the model's own graph and a sub-model from ``model.inputs`` to it can be built::

    maps = explain.feature_maps(model, image[None], ["block1_conv1", "block1_conv2"])
    explain.plot_feature_maps(maps)
    explain.plot_filters(explain.conv_kernels(model))           # first-layer 3x3 kernels
    heat = explain.grad_cam(model, images)                      # (n, h, w) in [0, 1]
    explain.plot_grad_cam(images, heat, titles=...)

With a pretrained backbone nested as one layer (``y = head(base(x))``) such a sub-model does not
work in Keras 3: 3.14 and later refuse to build it (``Output ... is not connected to inputs``), earlier
versions such as Colab's 3.13 build it and fail with a ``KeyError`` when it is called.
Build the backbone on the model's input (``input_tensor=``) or make the sub-model from the backbone's own inputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops
from matplotlib import colormaps
from matplotlib.figure import Figure

from .inspection import images_at  # noqa: F401 (re-exported: chapter 04 calls explain.images_at)

#: Luma weights of ITU-R BT.601, the ones ``tf.image.rgb_to_grayscale`` and Pillow's ``convert("L")`` use.
_LUMA = (0.2989, 0.5870, 0.1140)


@keras.saving.register_keras_serializable(package="course")
class Grayscale(layers.Layer):
    """Turn RGB images into one luminance channel, inside the model: ``(..., 3)`` to ``(..., 1)``.

    Used in chapter 04.

    The value range is kept (a [0, 255] RGB image gives a [0, 255] gray one), so it can sit in front of
    a ``Rescaling`` layer. Being a registered layer (not a ``Lambda``), a model that holds it saves to
    ``.keras`` and loads again in safe mode, and the model still takes the same RGB batches as every
    other model in the course.
    """

    def call(self, x):
        weights = ops.convert_to_tensor(_LUMA, dtype=x.dtype)
        return ops.sum(x * weights, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], 1)


def conv_layer_names(model: keras.Model) -> list[str]:
    """Names of the model's ``Conv2D`` layers, input side first.

    Used in chapter 04.
    """
    return [layer.name for layer in model.layers if isinstance(layer, layers.Conv2D)]


def last_conv_layer(model: keras.Model) -> str:
    """Name of the last ``Conv2D`` layer: the usual Grad-CAM layer (most semantic, still spatial).

    Used in chapter 04.
    """
    names = conv_layer_names(model)
    if not names:
        raise ValueError(
            f"Model {model.name!r} has no Conv2D layer of its own. If its convolutions sit inside a nested "
            "backbone, pass layer_name and build the backbone on the model's input (input_tensor=...)."
        )
    return names[-1]


def _layer(model: keras.Model, name: str) -> keras.Layer:
    try:
        return model.get_layer(name)
    except ValueError:
        raise ValueError(
            f"No layer {name!r} in model {model.name!r}; its layers are {[lay.name for lay in model.layers]}. "
            "Layers of a nested backbone cannot be reached from the outer model in Keras 3."
        ) from None


def feature_maps(model: keras.Model, images: Any, layer_names: Sequence[str]) -> dict[str, np.ndarray]:
    """The outputs of the named layers for ``images``: ``{name: array (n, h, w, channels)}``.

    Used in chapter 04.

    A sub-model from the model's input to those layers is run in inference mode (dropout off).
    """
    outputs = [_layer(model, name).output for name in layer_names]
    probe = keras.Model(model.input, outputs)
    values = probe(np.asarray(images, dtype="float32"), training=False)
    if len(layer_names) == 1:
        values = [values]
    return {name: np.asarray(v, dtype=np.float32) for name, v in zip(layer_names, values, strict=True)}


def conv_kernels(model: keras.Model, layer_name: str | None = None) -> np.ndarray:
    """The kernels of a ``Conv2D`` layer (default: the first) as ``(filters, kh, kw, in_channels)``.

    Used in chapter 04.

    Keras stores them as ``(kh, kw, in_channels, filters)``; one filter per row is what we plot.
    """
    name = layer_name or conv_layer_names(model)[0]
    layer = _layer(model, name)
    if not isinstance(layer, layers.Conv2D):
        raise ValueError(f"Layer {name!r} is a {type(layer).__name__}, not a Conv2D.")
    return np.transpose(np.asarray(layer.kernel, dtype=np.float32), (3, 0, 1, 2))


def _score_model(model: keras.Model, conv_name: str) -> tuple[keras.Model, keras.Layer | None]:
    """A sub-model to ``[conv output, class scores]``; the scores are taken before a final softmax/sigmoid.

    When the last layer is a ``Dense`` with softmax or sigmoid, the sub-model returns that layer's input
    and the caller applies the layer's kernel and bias itself: that gives the logits, whose gradients do
    not vanish when the model is very sure (a probability of 0.9999 barely moves).
    """
    conv = _layer(model, conv_name).output
    head = model.layers[-1]
    activation = getattr(getattr(head, "activation", None), "__name__", "")
    if isinstance(head, layers.Dense) and activation in ("softmax", "sigmoid"):
        return keras.Model(model.input, [conv, head.input]), head
    return keras.Model(model.input, [conv, model.outputs[0]]), None


def grad_cam(
    model: keras.Model,
    images: Any,
    *,
    layer_name: str | None = None,
    class_index: int | Sequence[int] | None = None,
) -> np.ndarray:
    """Grad-CAM heat maps (Selvaraju et al., 2017): where in each image the evidence for a class lies.

    For each image: take the feature maps ``A`` of a convolution layer (default: the last one) and the
    gradient of the class score (the logit) with respect to them; average that gradient over space to get
    one weight per channel (how much the channel pushes the class up); sum the channels with those
    weights, keep the positive part (ReLU), resize the map to the input, and scale it to [0, 1].

    Chapter 04 writes the plain case out with ``tf.GradientTape`` (a model whose last layer is a ``Dense``
    softmax, the predicted class) and checks it gives the same maps as this function, which adds the default
    layer, ``class_index``, one-unit sigmoid heads and heads that are not a ``Dense`` softmax;
    ``tests/test_explain.py`` holds the same written-out version as the reference.

    Args:
        model: A flat functional model (see the module docstring).
        images: A batch ``(n, h, w, c)`` as the model takes it (float32 in [0, 255] in this course).
        layer_name: The convolution layer to explain; default :func:`last_conv_layer`.
        class_index: The class to explain, one for all images or one per image; default the predicted class.

    Returns:
        Heat maps of shape ``(n, h, w)``, float32 in [0, 1] (all zero where no location supports the class).
    """
    batch = tf.convert_to_tensor(np.asarray(images, dtype="float32"))
    sub_model, head = _score_model(model, layer_name or last_conv_layer(model))
    with tf.GradientTape() as tape:
        conv_out, last = sub_model(batch, training=False)
        tape.watch(conv_out)
        scores = _logits(head, last) if head is not None else tf.cast(last, tf.float32)
        if scores.shape[-1] == 1:  # one sigmoid unit: class 1 has score z, class 0 has -z
            scores = tf.concat([-scores, scores], axis=-1)
        if class_index is None:
            chosen = tf.argmax(scores, axis=-1, output_type=tf.int32)
        else:
            chosen = tf.broadcast_to(tf.constant(class_index, dtype=tf.int32), [batch.shape[0]])
        score = tf.gather(scores, chosen, batch_dims=1)
    grads = tape.gradient(score, conv_out)
    conv_out, grads = tf.cast(conv_out, tf.float32), tf.cast(grads, tf.float32)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)  # one weight per channel and image
    cam = tf.nn.relu(tf.reduce_sum(weights * conv_out, axis=-1, keepdims=True))
    cam = tf.image.resize(cam, batch.shape[1:3], method="bilinear")[..., 0]
    peak = tf.reduce_max(cam, axis=(1, 2), keepdims=True)
    cam = tf.math.divide_no_nan(cam, peak)
    return np.clip(cam.numpy(), 0.0, 1.0).astype(np.float32)


def _logits(head: keras.Layer, features: tf.Tensor) -> tf.Tensor:
    """What a ``Dense`` layer computes before its activation."""
    features = tf.cast(features, tf.float32)
    z = tf.matmul(features, tf.cast(head.kernel, tf.float32))
    return z + tf.cast(head.bias, tf.float32) if head.use_bias else z


def _overlay(image: Any, heatmap: np.ndarray, alpha: float = 0.45, cmap: str = "jet") -> np.ndarray:
    """Blend a heat map (h, w) in [0, 1] over an image (h, w, 3 or 1), returning RGB floats in [0, 1]."""
    rgb = _as_unit_rgb(np.asarray(image))
    heat = colormaps[cmap](np.clip(heatmap, 0, 1))[..., :3]
    return np.clip((1 - alpha) * rgb + alpha * heat, 0, 1)


def _as_unit_rgb(image: np.ndarray) -> np.ndarray:
    """An image as RGB floats in [0, 1]; values above 1 are read as [0, 255]."""
    image = image.astype(np.float32)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    if image.max(initial=0) > 1.0:
        image = image / 255.0
    return np.clip(image, 0, 1)


def _figure(nrows: int, ncols: int, size: float, title_space: float = 0.3) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(ncols * size, nrows * (size + title_space)))
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def plot_feature_maps(
    maps: Mapping[str, np.ndarray], n_channels: int = 16, ncols: int = 8, size: float = 1.25,
    title: str | None = None, cmap: str = "viridis",
) -> Figure:
    """Show the first ``n_channels`` feature maps of each layer, one block of rows per layer.

    Used in chapter 04.

    ``maps`` is what :func:`feature_maps` returns (the first image of each batch is shown). Each map is
    stretched to its own range, so a channel that barely fires still shows its pattern; a channel that
    is zero everywhere (a "dead" ReLU for this image) stays uniformly dark and is titled "(zero)".
    """
    blocks = []
    for name, value in maps.items():
        array = np.asarray(value)
        array = array[0] if array.ndim == 4 else array
        blocks.append((name, array[..., : min(n_channels, array.shape[-1])]))
    rows_per = [math.ceil(b.shape[-1] / ncols) for _, b in blocks]
    fig, axes = _figure(sum(rows_per), ncols, size)
    row = 0
    for (name, block), nrows in zip(blocks, rows_per, strict=True):
        for k in range(nrows * ncols):
            ax = axes[row + k // ncols, k % ncols]
            ax.axis("off")
            if k >= block.shape[-1]:
                continue
            channel = block[..., k]
            low, high = float(channel.min()), float(channel.max())
            ax.imshow(channel, cmap=cmap, vmin=low, vmax=high if high > low else low + 1)
            ax.set_title(f"{name} #{k}" + (" (zero)" if high <= 0 else ""), fontsize=7)
        row += nrows
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _kernel_image(kernel: np.ndarray, low: float, high: float) -> np.ndarray:
    """One kernel ``(kh, kw, c)`` scaled from [low, high] to [0, 1]: RGB when c is 3, else the channel mean."""
    kernel = kernel if kernel.shape[-1] == 3 else kernel.mean(axis=-1)
    return (kernel - low) / (high - low) if high > low else np.full_like(kernel, 0.5)


def _draw_kernel(ax: Any, image: np.ndarray) -> None:
    ax.imshow(image, cmap=None if image.ndim == 3 else "gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _check_kernels(kernels: Any) -> np.ndarray:
    kernels = np.asarray(kernels, dtype=np.float32)
    if kernels.ndim != 4:
        raise ValueError(f"Expected kernels of shape (filters, kh, kw, in_channels), got {kernels.shape}.")
    return kernels


def plot_filters(kernels: np.ndarray, ncols: int = 8, size: float = 0.9, title: str | None = None) -> Figure:
    """Show convolution kernels ``(filters, kh, kw, in_channels)`` as tiny images, one per filter.

    Used in chapter 04.

    Each kernel is scaled to [0, 1] on its own (its most negative weight black, its most positive
    white), so the pattern it looks for is visible whatever its magnitude. Three input channels are
    shown as colour (the colour the filter likes), one as gray; any other count is averaged to gray.
    """
    kernels = _check_kernels(kernels)
    n = len(kernels)
    ncols = min(ncols, n)
    fig, axes = _figure(math.ceil(n / ncols), ncols, size, title_space=0.25)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            _draw_kernel(ax, _kernel_image(kernels[k], float(kernels[k].min()), float(kernels[k].max())))
            ax.set_title(str(k), fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_filter_change(before: np.ndarray, after: np.ndarray, ncols: int = 8, size: float = 0.9,
                       title: str | None = None) -> Figure:
    """Each kernel before training above the same kernel after it, both drawn on one shared scale.

    Used in chapter 04.

    A shared scale per filter (not one per image) makes the change visible: a weight that grew looks
    brighter or darker after training, one that did not move looks the same.
    """
    before, after = _check_kernels(before), _check_kernels(after)
    if before.shape != after.shape:
        raise ValueError(f"Kernels before {before.shape} and after {after.shape} training differ in shape.")
    n = len(before)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, axes = _figure(2 * nrows, ncols, size, title_space=0.25)
    for k in range(nrows * ncols):
        pair = axes[2 * (k // ncols), k % ncols], axes[2 * (k // ncols) + 1, k % ncols]
        if k >= n:
            for ax in pair:
                ax.axis("off")
            continue
        low = float(min(before[k].min(), after[k].min()))
        high = float(max(before[k].max(), after[k].max()))
        for ax, kernels, label in zip(pair, (before, after), ("before", "after"), strict=True):
            _draw_kernel(ax, _kernel_image(kernels[k], low, high))
            if k % ncols == 0:
                ax.set_ylabel(label, fontsize=8)
        pair[0].set_title(str(k), fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_grad_cam(
    images: Any, heatmaps: np.ndarray, titles: Sequence[str] | None = None, correct: Sequence[bool] | None = None,
    ncols: int = 4, size: float = 2.4, alpha: float = 0.45, title: str | None = None,
) -> Figure:
    """Each image above its Grad-CAM overlay; titles green for correct predictions, red for wrong ones.

    Used in chapter 04.
    """
    images = np.asarray(images)
    heatmaps = np.asarray(heatmaps)
    n = len(images)
    if n == 0 or len(heatmaps) != n:
        raise ValueError(f"{n} images and {len(heatmaps)} heat maps.")
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, axes = _figure(2 * nrows, ncols, size)
    for k in range(nrows * ncols):
        top, bottom = axes[2 * (k // ncols), k % ncols], axes[2 * (k // ncols) + 1, k % ncols]
        top.axis("off")
        bottom.axis("off")
        if k >= n:
            continue
        top.imshow(_as_unit_rgb(images[k]))
        bottom.imshow(_overlay(images[k], heatmaps[k], alpha=alpha))
        if titles is not None:
            colour = "black" if correct is None else ("green" if correct[k] else "red")
            top.set_title(titles[k], fontsize=8, color=colour)
        bottom.set_title("Grad-CAM", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confident_cases(y_true: Any, y_prob: Any, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the ``k`` most confidently **right** and the ``k`` most confidently **wrong** predictions.

    Used in chapter 04.

    Confidence is the probability of the predicted class. Either array may be shorter than ``k`` (a
    model that makes no mistake has no wrong cases).
    """
    y_true = np.asarray(y_true).reshape(-1).astype(int)
    y_prob = np.asarray(y_prob, dtype=np.float64)
    predicted = y_prob.argmax(axis=1)
    confidence = y_prob.max(axis=1)
    order = np.argsort(-confidence, kind="stable")
    right = order[predicted[order] == y_true[order]][:k]
    wrong = order[predicted[order] != y_true[order]][:k]
    return right, wrong


def case_titles(indices: Sequence[int], y_true: Any, y_prob: Any, class_names: Sequence[str]) -> list[str]:
    """``"predicted p=0.93\\ntrue: actual"`` for each index, as titles for :func:`plot_grad_cam`.

    Used in chapter 04.
    """
    y_true = np.asarray(y_true).reshape(-1).astype(int)
    y_prob = np.asarray(y_prob)
    titles = []
    for i in indices:
        p = int(y_prob[i].argmax())
        titles.append(f"{class_names[p]} p={y_prob[i, p]:.2f}\ntrue: {class_names[y_true[i]]}")
    return titles
