"""Convolution, pooling and receptive fields by hand, in NumPy, for chapter 01 (and any later chapter).

Everything here computes exactly what TensorFlow computes, and the tests prove it on random inputs:

- :func:`conv2d_loops`: one channel, one kernel, plain Python loops: the definition, for reading.
- :func:`conv2d`: the same thing vectorised, for batches (NHWC images, HWIO kernels, like
  ``tf.nn.conv2d``), as a sliding-window view followed by one matrix product ("im2col").
- :func:`output_size` and :func:`pad_amounts`: the output-size formula and TensorFlow's way of
  splitting "same" padding (the odd pixel goes to the bottom/right).
- :func:`pool2d`: max and average pooling, like ``keras.layers.MaxPooling2D``/``AveragePooling2D``.
- :func:`receptive_field` and :func:`receptive_fields`: how many input pixels one output sees;
  :func:`spatial_layers` reads the (kernel, stride) list off a Keras model.
- :data:`KERNELS`: classic 3x3 image kernels; :func:`filter_image` applies one to a photo,
  :func:`plot_kernels` draws them, :func:`kernel_editor` is an optional ipywidgets control.

Like TensorFlow (and every deep-learning library), "convolution" here means cross-correlation: the
kernel is *not* flipped. For the symmetric blur kernels it makes no difference; for Sobel it flips
the sign of the response.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from numpy.lib.stride_tricks import sliding_window_view

_Padding = str | int  # "valid", "same", or a number of zero rows/columns added on every side

#: Classic 3x3 kernels (float32). Blur kernels sum to 1 (brightness kept), edge kernels to 0
#: (flat regions give 0), sharpen and emboss to 1.
KERNELS: dict[str, np.ndarray] = {
    name: np.asarray(values, dtype=np.float32)
    for name, values in {
        "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
        "box blur": np.full((3, 3), 1 / 9),
        "gaussian blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16,
        "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
        "sobel x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
        "sobel y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
        "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
        "outline": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    }.items()
}


def _pair(value: int | Sequence[int], what: str) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(2, 3)`` stays; anything else (or < 1) raises."""
    pair = (value, value) if isinstance(value, int | np.integer) else tuple(value)
    if len(pair) != 2 or any(int(v) != v or v < 1 for v in pair):
        raise ValueError(f"{what} must be a positive int or a pair of them, got {value!r}.")
    return int(pair[0]), int(pair[1])


def pad_amounts(n: int, k: int, stride: int = 1, padding: _Padding = "valid") -> tuple[int, int]:
    """Zero rows (or columns) added ``(before, after)`` along one axis of length ``n``.

    Used in chapter 01.

    ``"valid"`` adds none. ``"same"`` adds just enough for ``ceil(n / stride)`` outputs and, like
    TensorFlow, puts the odd one *after* (bottom/right): ``total = max((out - 1) * stride + k - n, 0)``,
    ``before = total // 2``. An int ``p`` adds ``p`` on both sides (PyTorch's ``padding=p``).
    """
    if padding == "valid":
        return 0, 0
    if padding == "same":
        out = math.ceil(n / stride)
        total = max((out - 1) * stride + k - n, 0)
        return total // 2, total - total // 2
    if isinstance(padding, int | np.integer) and not isinstance(padding, bool) and padding >= 0:
        return int(padding), int(padding)
    raise ValueError(f'padding must be "valid", "same" or an int >= 0, got {padding!r}.')


def output_size(n: int, k: int, stride: int = 1, padding: _Padding = "valid") -> int:
    """Length of a convolution's (or pooling's) output along an axis of length ``n``.

    Used in chapter 01.

    The general formula is ``floor((n + p_before + p_after - k) / stride) + 1``: with ``"valid"``
    (no padding) it is ``floor((n - k) / stride) + 1``; with ``"same"`` it simplifies to
    ``ceil(n / stride)``, whatever ``k``.

    >>> output_size(150, 3), output_size(150, 3, 2, "same"), output_size(7, 3, 2, 1)
    (148, 75, 4)
    """
    if n < 1 or k < 1 or stride < 1:
        raise ValueError(f"n, k and stride must be >= 1, got n={n}, k={k}, stride={stride}.")
    before, after = pad_amounts(n, k, stride, padding)
    if n + before + after < k:
        raise ValueError(f"A kernel of {k} does not fit in {n} pixels with padding {padding!r}.")
    return (n + before + after - k) // stride + 1


def conv2d_loops(image: Any, kernel: Any, stride: int = 1, padding: _Padding = "valid") -> np.ndarray:
    """Convolve one single-channel image with one kernel using plain loops: the definition.

    Used in chapter 01.

    ``out[i, j] = sum over u, v of image[i * stride + u, j * stride + v] * kernel[u, v]``,
    after zero-padding the image (see :func:`pad_amounts`). Slow on purpose: every multiplication
    is visible. :func:`conv2d` computes the same numbers fast.

    Args:
        image: 2-D array ``(height, width)``.
        kernel: 2-D array ``(kh, kw)``.
        stride: Step between two windows, the same along both axes.
        padding: ``"valid"``, ``"same"`` or an int.

    Returns:
        float32 array ``(out_height, out_width)``.
    """
    image, kernel = np.asarray(image, dtype=np.float32), np.asarray(kernel, dtype=np.float32)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(f"Expected a 2-D image and a 2-D kernel, got {image.shape} and {kernel.shape}.")
    (kh, kw), (h, w) = kernel.shape, image.shape
    (top, bottom), (left, right) = pad_amounts(h, kh, stride, padding), pad_amounts(w, kw, stride, padding)
    padded = np.pad(image, ((top, bottom), (left, right)))
    out_h, out_w = output_size(h, kh, stride, padding), output_size(w, kw, stride, padding)
    out = np.zeros((out_h, out_w), dtype=np.float32)
    for i in range(out_h):  # every output row ...
        for j in range(out_w):  # ... and column is one position of the window
            total = 0.0
            for u in range(kh):  # multiply the window by the kernel, element by element, and add up
                for v in range(kw):
                    total += padded[i * stride + u, j * stride + v] * kernel[u, v]
            out[i, j] = total
    return out


def _pad_nhwc(images: np.ndarray, kh: int, kw: int, strides: tuple[int, int], padding: _Padding,
              value: float = 0.0) -> np.ndarray:
    """Pad the height and width axes of an NHWC batch as a convolution with these settings would."""
    pads = [(0, 0), pad_amounts(images.shape[1], kh, strides[0], padding),
            pad_amounts(images.shape[2], kw, strides[1], padding), (0, 0)]
    return np.pad(images, pads, constant_values=value)


def windows(images: Any, size: int | Sequence[int], stride: int | Sequence[int] = 1,
            padding: _Padding = "valid", pad_value: float = 0.0) -> np.ndarray:
    """Every window a kernel or pool of ``size`` visits, without copying: the "im2col" view.

    Used in chapter 01.

    Args:
        images: NHWC batch ``(n, h, w, c)``.
        size: Window height and width (an int for a square window).
        stride: Step between windows.
        padding: ``"valid"``, ``"same"`` or an int, as in :func:`pad_amounts`.
        pad_value: What padding is filled with (0 for convolution, -inf for max pooling).

    Returns:
        Array ``(n, out_h, out_w, c, kh, kw)``: ``result[b, i, j]`` is the window under output pixel
        ``(i, j)``.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"Expected an NHWC batch (n, h, w, c), got shape {images.shape}.")
    (kh, kw), strides = _pair(size, "size"), _pair(stride, "stride")
    out_h = output_size(images.shape[1], kh, strides[0], padding)
    out_w = output_size(images.shape[2], kw, strides[1], padding)
    padded = _pad_nhwc(images, kh, kw, strides, padding, pad_value)
    view = sliding_window_view(padded, (kh, kw), axis=(1, 2))
    return view[:, ::strides[0], ::strides[1]][:, :out_h, :out_w]


def conv2d(images: Any, kernels: Any, stride: int | Sequence[int] = 1,
           padding: _Padding = "valid") -> np.ndarray:
    """Vectorised 2-D convolution with the conventions of ``tf.nn.conv2d``.

    Used in chapter 01.

    Each output channel ``o`` at pixel ``(i, j)`` is the sum, over the window under ``(i, j)`` and
    over *all* input channels, of window times ``kernels[:, :, :, o]``. Implemented as a sliding
    window view (see :func:`windows`) contracted with the kernels in one matrix product, which is
    how many libraries turn convolution into fast matrix multiplication ("im2col").

    Args:
        images: ``(n, h, w, in_channels)`` (NHWC).
        kernels: ``(kh, kw, in_channels, filters)`` (HWIO), what ``keras.layers.Conv2D`` stores.
        stride: An int or ``(stride_h, stride_w)``.
        padding: ``"valid"``, ``"same"`` (split as TensorFlow does) or an int.

    Returns:
        ``(n, out_h, out_w, filters)``, in the inputs' float precision (float32 at least).
    """
    images, kernels = np.asarray(images), np.asarray(kernels)
    if kernels.ndim != 4:
        raise ValueError(f"Expected HWIO kernels (kh, kw, in_channels, filters), got shape {kernels.shape}.")
    if images.ndim != 4 or images.shape[-1] != kernels.shape[2]:
        raise ValueError(f"Images {images.shape} must be NHWC with {kernels.shape[2]} channels, "
                         "as many as the kernels have.")
    dtype = np.result_type(images.dtype, kernels.dtype, np.float32)
    patches = windows(images.astype(dtype, copy=False), kernels.shape[:2], stride, padding)
    # patches: (n, oh, ow, c, kh, kw); kernels: (kh, kw, c, o) -> contract c, kh, kw.
    return np.tensordot(patches, kernels.astype(dtype, copy=False), axes=([3, 4, 5], [2, 0, 1]))


def pool2d(images: Any, size: int | Sequence[int] = 2, stride: int | Sequence[int] | None = None,
           mode: str = "max", padding: str = "valid") -> np.ndarray:
    """Max or average pooling of an NHWC batch, channel by channel, like Keras's pooling layers.

    Used in chapter 01.

    Args:
        images: ``(n, h, w, c)``.
        size: Pool height and width.
        stride: Step between pools; defaults to ``size`` (no overlap), as in Keras.
        mode: ``"max"`` or ``"avg"``.
        padding: ``"valid"`` or ``"same"``. With ``"same"``, padded cells never win a max and are
            not counted in an average, as in TensorFlow.

    Returns:
        ``(n, out_h, out_w, c)``.
    """
    if mode not in ("max", "avg"):
        raise ValueError(f'mode must be "max" or "avg", got {mode!r}.')
    if padding not in ("valid", "same"):
        raise ValueError(f'padding must be "valid" or "same" for pooling, got {padding!r}.')
    images = np.asarray(images)
    images = images.astype(np.result_type(images.dtype, np.float32), copy=False)
    stride = size if stride is None else stride
    if mode == "max":
        return windows(images, size, stride, padding, pad_value=-np.inf).max(axis=(-2, -1))
    sums = windows(images, size, stride, padding).sum(axis=(-2, -1))
    counts = windows(np.ones_like(images[:1, ..., :1]), size, stride, padding).sum(axis=(-2, -1))
    return sums / counts


def receptive_fields(layers: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Receptive field and jump after each layer of a stack of convolutions and pools.

    Used in chapter 01.

    Each layer is ``(kernel, stride)``. Starting from one input pixel (size 1, jump 1), a layer
    widens the field by ``(kernel - 1) * jump`` and multiplies the jump (the distance, in input
    pixels, between two neighbouring outputs) by its stride. Padding does not change either.

    Returns:
        ``[(size, jump), ...]``, one pair per layer.
    """
    size, jump, out = 1, 1, []
    for kernel, stride in layers:
        if kernel < 1 or stride < 1:
            raise ValueError(f"Kernel and stride must be >= 1, got ({kernel}, {stride}).")
        size += (kernel - 1) * jump
        jump *= stride
        out.append((size, jump))
    return out


def receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    """How many input pixels (along one axis) one output pixel of the stack depends on.

    Used in chapter 01.

    >>> receptive_field([(3, 1), (3, 1), (3, 1)])  # three stacked 3x3 convolutions
    7
    """
    return receptive_fields(layers)[-1][0] if layers else 1


def spatial_layers(model: Any) -> list[tuple[str, int, int]]:
    """``(name, kernel, stride)`` of a Keras model's Conv2D and 2-D pooling layers, in order.

    Used in chapter 01.

    Nested models are walked. Only square kernels and strides are supported (the course uses no
    others); dilated convolutions count with their effective kernel ``dilation * (k - 1) + 1``.
    """
    found: list[tuple[str, int, int]] = []
    for layer in model.layers:
        if hasattr(layer, "layers"):
            found += spatial_layers(layer)
            continue
        config = layer.get_config()
        if "kernel_size" in config and "strides" in config and len(config["kernel_size"]) == 2:
            (k, k2), (s, s2) = config["kernel_size"], config["strides"]
            d, d2 = _pair(config.get("dilation_rate", 1), "dilation_rate")
            k, k2 = d * (k - 1) + 1, d2 * (k2 - 1) + 1
        elif "pool_size" in config and len(config["pool_size"]) == 2:
            (k, k2) = config["pool_size"]
            (s, s2) = config["strides"] or config["pool_size"]
        else:
            continue
        if k != k2 or s != s2:
            raise ValueError(f"Layer {layer.name} has a non-square kernel or stride.")
        found.append((layer.name, int(k), int(s)))
    return found


def filter_image(image: Any, kernel: Any, padding: _Padding = "same") -> np.ndarray:
    """Filter a 2-D grayscale or ``(h, w, c)`` image with one 2-D kernel, each channel on its own.

    Used in chapter 01.

    This is what photo editors call a filter (blur, sharpen, ...): with ``"same"`` padding the
    result has the image's size. Values are not clipped, so edges keep their sign.
    """
    image = np.asarray(image, dtype=np.float32)
    kernel = np.asarray(kernel, dtype=np.float32)
    if image.ndim not in (2, 3) or kernel.ndim != 2:
        raise ValueError(f"Expected an (h, w) or (h, w, c) image and a 2-D kernel, "
                         f"got {image.shape} and {kernel.shape}.")
    planes = image[np.newaxis] if image.ndim == 2 else np.moveaxis(image, -1, 0)  # (c, h, w)
    planes = planes[..., np.newaxis]  # each channel becomes one single-channel image of a batch
    out = conv2d(planes, kernel[:, :, np.newaxis, np.newaxis], padding=padding)[..., 0]  # (c, h, w)
    return out[0] if image.ndim == 2 else np.moveaxis(out, 0, -1)


def plot_kernels(kernels: Mapping[str, Any], size: float = 2.2) -> Figure:
    """Draw 2-D kernels as small heat maps with their numbers written in the cells.

    Used in chapter 01.

    Red is positive, blue negative, white zero (one colour scale per kernel, centred on 0).
    """
    if not kernels:
        raise ValueError("No kernels to draw.")
    fig = Figure(figsize=(size * len(kernels), size + 0.5))
    axes = fig.subplots(1, len(kernels), squeeze=False)[0]
    for ax, (name, kernel) in zip(axes, kernels.items(), strict=True):
        k = np.asarray(kernel, dtype=np.float64)
        limit = float(np.abs(k).max()) or 1.0
        ax.imshow(k, cmap="coolwarm", vmin=-limit, vmax=limit)
        for (r, c), value in np.ndenumerate(k):  # 1/9 is written .11: short enough to fit a cell
            text = f"{value:.0f}" if value == int(value) else re.sub(r"^(-?)0\.", r"\1.", f"{value:.2f}")
            ax.text(c, r, text, ha="center", va="center", fontsize=10 if k.shape[0] <= 3 else 7)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(name)
    fig.tight_layout()
    return fig


class _KernelEditor:
    """An ipywidgets control: edit a 3x3 kernel (or pick a classic one) and see the filtered image live.

    ``_KernelEditor(image).widget`` is the control to display (:func:`kernel_editor` displays it for
    you). :attr:`kernel` is the kernel in the boxes, :attr:`result` the filtered image. ``render``
    draws a figure from the image and the result (default: :func:`helpers.plotting.kernel_comparison`).

    The figure is shown as the PNG bytes of an ``ipywidgets.Image``, not through an ``Output``
    widget: headless runners (nbclient, papermill) sometimes wait for their cell timeout when a cell
    writes into an ``Output`` widget, and a plain image value has no such problem.
    """

    def __init__(self, image: Any, preset: str = "sharpen",
                 render: Callable[[np.ndarray, dict[str, np.ndarray]], Figure] | None = None) -> None:
        import ipywidgets as widgets  # optional: only needed for the interactive control

        from helpers import plotting

        self.image = np.asarray(image, dtype=np.float32)
        self._render = render or plotting.kernel_comparison
        self.cells = [widgets.FloatText(step=0.5, layout=widgets.Layout(width="5em")) for _ in range(9)]
        self.preset = widgets.Dropdown(options=list(KERNELS), value=preset, description="start from")
        self.picture = widgets.Image(format="png")
        self.result = self.image
        grid = widgets.GridBox(self.cells, layout=widgets.Layout(grid_template_columns="repeat(3, 5.5em)"))
        self.widget = widgets.VBox([self.preset, grid, self.picture])
        self._loading = False
        self._load_preset()
        self.preset.observe(lambda _change: self._load_preset(), names="value")
        for cell in self.cells:
            cell.observe(lambda _change: self.update(), names="value")

    @property
    def kernel(self) -> np.ndarray:
        """The 3x3 kernel in the cells."""
        return np.array([cell.value for cell in self.cells], dtype=np.float32).reshape(3, 3)

    def _load_preset(self) -> None:
        self._loading = True  # one redraw for nine cells, not nine
        for cell, value in zip(self.cells, KERNELS[self.preset.value].ravel(), strict=True):
            cell.value = round(float(value), 4)
        self._loading = False
        self.update()

    def update(self) -> None:
        """Filter the image with the current kernel and redraw the picture."""
        if self._loading:
            return
        self.result = filter_image(self.image, self.kernel)
        buffer = io.BytesIO()
        self._render(self.image, {"your kernel": self.result}).savefig(buffer, format="png", bbox_inches="tight")
        self.picture.value = buffer.getvalue()


def kernel_editor(image: Any, preset: str = "sharpen") -> _KernelEditor:
    """Display a :class:`_KernelEditor` for ``image`` and return it (needs ipywidgets and IPython).

    Used in chapter 01.
    """
    from IPython.display import display

    editor = _KernelEditor(image, preset)
    display(editor.widget)
    return editor
