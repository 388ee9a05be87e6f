"""Data augmentation with Keras preprocessing layers, and the bridge from the legacy generator's arguments.

Older tutorials (and the course's source articles) augment images with the legacy Keras image data
generator (``keras.preprocessing.image``), configured by keyword arguments such as ``rotation_range=20``.
Keras 3 does the same with preprocessing layers (``keras.layers.RandomRotation`` and friends), but several
arguments use **different units**, and a literal port silently changes the augmentation:

- ``rotation_range=20`` is degrees (uniform in [-20, 20]); ``RandomRotation(20 / 360)`` takes a fraction
  of a full turn. ``RandomRotation(0.2)`` rotates by up to 72 degrees.
- ``width_shift_range``/``height_shift_range`` are a fraction of the size (below 1) or pixels (1 and up);
  ``RandomTranslation(height_factor, width_factor)`` takes fractions only.
- ``zoom_range=0.2`` draws a scale z in [0.8, 1.2] for x and y independently, z < 1 zooming in;
  ``RandomZoom`` scales by 1 + factor, so negative factors zoom in, and it keeps the aspect ratio unless
  ``width_factor`` is given.
- ``brightness_range=(0.8, 1.2)`` *multiplies* pixels by b; ``RandomBrightness`` *adds* factor * 255.
- ``shear_range=20`` is an angle in degrees; ``RandomShear(x_factor)`` shifts rows by up to that fraction
  of the height (the generator shears by sin(angle)).
- ``fill_mode``/``cval`` become ``fill_mode``/``fill_value`` (the generator defaults to ``"nearest"``,
  the layers to ``"reflect"``); ``rescale`` becomes a ``Rescaling`` layer.

:func:`from_image_data_generator_args` does that conversion; :func:`article_augmentation` and
:func:`recommended_augmentation` build the two recipes chapter 03 compares. Every unit above was measured
on TensorFlow 2.21 / Keras 3.15 (``tests/test_augmentation.py``, :func:`measured_rotation`,
:func:`measured_zoom`). Every layer used here exists since Keras 3.8 (Colab ships 3.13).

One more trap, checked here: ``RandomContrast(0.2)`` with a single number only *raises* contrast (factor
in [1, 1.2]) although its docstring promises [0.8, 1.2], so this module always passes a (lower, upper) pair.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

#: Legacy arguments that have a layer counterpart (handled by :func:`from_image_data_generator_args`).
SUPPORTED_ARGS = (
    "rotation_range", "width_shift_range", "height_shift_range", "zoom_range", "shear_range",
    "brightness_range", "horizontal_flip", "vertical_flip", "fill_mode", "cval", "rescale",
    "interpolation_order",
)

#: Legacy arguments with no layer counterpart, and what to do instead.
UNSUPPORTED_ARGS = {
    "featurewise_center": "use keras.layers.Normalization and adapt() it on the training images",
    "featurewise_std_normalization": "use keras.layers.Normalization and adapt() it on the training images",
    "samplewise_center": "standardise each image in the model (e.g. tf.image.per_image_standardization)",
    "samplewise_std_normalization": "standardise each image in the model (e.g. tf.image.per_image_standardization)",
    "zca_whitening": "there is no ZCA layer; modern CNNs do not need whitening",
    "zca_epsilon": "there is no ZCA layer; modern CNNs do not need whitening",
    "channel_shift_range": "no layer adds a random per-channel offset; RandomColorJitter or RandomHue come closest",
    "preprocessing_function": "put the function in the model or in tf.data's map()",
    "validation_split": "split the data when loading it (datasets.load(..., val_fraction=...))",
    "data_format": "the layers take data_format= themselves; the course uses channels_last",
    "dtype": "the layers output float32; cast in the pipeline if you need another dtype",
}

#: The strong recipe of the article era: the classic generator settings of the Keras blog and the tutorials
#: that copied it (rotation 40 degrees, shifts and zoom of 20 %, shear 0.2, horizontal flip, nearest fill).
ARTICLE_ARGS: dict[str, Any] = dict(
    rotation_range=40, width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2, zoom_range=0.2,
    horizontal_flip=True, fill_mode="nearest",
)

_GEOMETRIC = ("RandomRotation", "RandomTranslation", "RandomZoom", "RandomShear")


def rotation_factor(degrees: float) -> float:
    """The ``RandomRotation`` factor for a maximum rotation of ``degrees``: a fraction of a full turn."""
    return degrees / 360.0


def _shift_factor(value: float, size: int | None, what: str) -> float:
    """A legacy shift range (fraction below 1, pixels from 1 up) as a fraction of ``size``."""
    if isinstance(value, list | tuple | np.ndarray):
        raise ValueError(f"{what}_shift_range as a list of allowed shifts has no layer counterpart; "
                         "pass one number (fraction of the image, or pixels).")
    if abs(value) < 1:
        return abs(float(value))
    if size is None:
        raise ValueError(f"{what}_shift_range={value} is in pixels: pass image_size=(height, width) to convert it.")
    return min(abs(float(value)) / size, 1.0)


def from_image_data_generator_args(
    *,
    image_size: tuple[int, int] | None = None,
    seed: int | None = None,
    name: str = "augmentation",
    **kwargs: Any,
) -> keras.Sequential:
    """Translate the legacy generator's keyword arguments into a ``keras.Sequential`` of preprocessing layers.

    Args:
        image_size: ``(height, width)``; needed only when a shift range is given in pixels (>= 1).
        seed: Base seed; layer ``i`` gets ``seed + i``, so the block is reproducible and building it
            does not consume Keras' global random state (model weights stay the same with or without it).
        name: Name of the returned block.
        **kwargs: The generator's arguments (see :data:`SUPPORTED_ARGS`). Zero, ``False`` and ``None``
            values (the generator's defaults) add no layer.

    Returns:
        A ``keras.Sequential`` to put first in a model (``models.scratch_cnn(..., augmentation=block)``):
        geometric layers, then flips, then brightness, then ``Rescaling`` (the generator's order). With no
        augmentation at all it holds a single ``Identity`` layer. Like every ``Random*`` layer, it only
        changes images when called with ``training=True`` (``fit`` does that); at inference it is the identity.

    Raises:
        ValueError: for arguments without a layer counterpart (the message says what to use instead) and
            unknown arguments.
    """
    unknown = [k for k in kwargs if k not in SUPPORTED_ARGS]
    for key in unknown:
        if key in UNSUPPORTED_ARGS and kwargs[key] in (False, None, 0, 0.0, 1e-6, "channels_last"):
            continue  # a default value: nothing to translate
        if key in UNSUPPORTED_ARGS:
            raise ValueError(f"{key} has no preprocessing-layer counterpart: {UNSUPPORTED_ARGS[key]}.")
        raise ValueError(f"Unknown argument {key!r}; supported: {', '.join(SUPPORTED_ARGS)}.")
    fill = dict(fill_mode=kwargs.get("fill_mode", "nearest"), fill_value=float(kwargs.get("cval", 0.0)),
                interpolation="nearest" if kwargs.get("interpolation_order", 1) == 0 else "bilinear")
    height, width = image_size if image_size else (None, None)
    layers: list[keras.Layer] = []

    def seeded() -> dict[str, int]:
        return {} if seed is None else {"seed": seed + len(layers)}

    if kwargs.get("rotation_range"):
        f = rotation_factor(abs(kwargs["rotation_range"]))
        layers.append(keras.layers.RandomRotation((-f, f), **fill, **seeded(), name="rotation"))
    h_shift, w_shift = kwargs.get("height_shift_range") or 0, kwargs.get("width_shift_range") or 0
    if np.any(h_shift) or np.any(w_shift):
        hf, wf = _shift_factor(h_shift, height, "height"), _shift_factor(w_shift, width, "width")
        layers.append(keras.layers.RandomTranslation((-hf, hf), (-wf, wf), **fill, **seeded(), name="translation"))
    if kwargs.get("shear_range"):
        s = math.sin(math.radians(abs(kwargs["shear_range"])))  # the generator shears x by sin(angle)
        layers.append(keras.layers.RandomShear(x_factor=s, y_factor=0.0, **fill, **seeded(), name="shear"))
    zoom = kwargs.get("zoom_range") or 0
    if np.any(zoom):
        lo, hi = (1 - zoom, 1 + zoom) if np.isscalar(zoom) else (float(zoom[0]), float(zoom[1]))
        if (lo, hi) != (1, 1):
            z = (lo - 1, hi - 1)  # legacy scale z (z < 1 zooms in) = 1 + Keras factor (negative zooms in)
            layers.append(keras.layers.RandomZoom(z, z, **fill, **seeded(), name="zoom"))  # x, y independent
    flips = [d for d in ("horizontal", "vertical") if kwargs.get(f"{d}_flip")]
    if flips:
        mode = "horizontal_and_vertical" if len(flips) == 2 else flips[0]
        layers.append(keras.layers.RandomFlip(mode, **seeded(), name="flip"))
    if kwargs.get("brightness_range") is not None:
        lo, hi = kwargs["brightness_range"]
        # The generator multiplies by b; the layer adds factor * 255. Matching a mid-grey pixel (127.5):
        # 127.5 * b = 127.5 + factor * 255  =>  factor = (b - 1) / 2.
        layers.append(keras.layers.RandomBrightness(((lo - 1) / 2, (hi - 1) / 2), value_range=(0, 255),
                                                    **seeded(), name="brightness"))
    if kwargs.get("rescale"):
        layers.append(keras.layers.Rescaling(kwargs["rescale"], name="rescale"))
    return keras.Sequential(layers or [keras.layers.Identity(name="identity")], name=name)


def article_augmentation(seed: int | None = None) -> keras.Sequential:
    """The strong, article-era recipe (:data:`ARTICLE_ARGS`) translated to Keras 3 layers.

    Up to 40 degrees of rotation, 20 % shifts and zoom (x and y independently), a small shear, horizontal
    flips, and nearest-pixel filling that smears the borders: a large transformation budget for a small CNN
    trained for few epochs.
    """
    return from_image_data_generator_args(**ARTICLE_ARGS, seed=seed, name="article_augmentation")


def recommended_augmentation(seed: int | None = None, *, strength: float = 1.0) -> keras.Sequential:
    """A mild, scene-appropriate recipe: the photos could have been taken like this.

    Horizontal flips only (an upside-down mountain is not a mountain; never flip scenes vertically),
    up to 5 degrees of rotation (a tilted camera), zoom *in* by up to 15 % (a closer framing, no
    invented borders), 10 % translation and +-10 % contrast (weather and exposure). ``strength`` scales
    every range (1.0 as described; the flip is unaffected).
    """
    s = float(strength)
    if not 0 < s <= 3:
        raise ValueError(f"strength must be in (0, 3], not {strength}")

    def kw(i: int) -> dict[str, int]:
        return {} if seed is None else {"seed": seed + i}

    rot, zoom, shift, contrast = rotation_factor(5) * s, 0.15 * s, 0.1 * s, 0.1 * s
    return keras.Sequential([
        keras.layers.RandomFlip("horizontal", **kw(0), name="flip"),
        keras.layers.RandomRotation((-rot, rot), fill_mode="reflect", **kw(1), name="rotation"),
        keras.layers.RandomZoom((-zoom, 0.0), fill_mode="reflect", **kw(2), name="zoom"),
        keras.layers.RandomTranslation((-shift, shift), (-shift, shift), fill_mode="reflect", **kw(3),
                                       name="translation"),
        keras.layers.RandomContrast((contrast, contrast), value_range=(0, 255), **kw(4), name="contrast"),
    ], name="recommended_augmentation")


def single_layer_examples(seed: int | None = None) -> dict[str, keras.Layer]:
    """One layer of each kind, titled for a grid (strong settings, so each effect is visible).

    Includes the two mistakes the chapter warns about: a vertical flip of a scene and the
    ``RandomRotation(0.2)`` porting bug (up to 72 degrees).
    """
    def kw(i: int) -> dict[str, int]:
        return {} if seed is None else {"seed": seed + i}

    f20 = rotation_factor(20)
    return {
        "flip (horizontal)": keras.layers.RandomFlip("horizontal", **kw(0)),
        "rotation ±20°": keras.layers.RandomRotation((-f20, f20), **kw(1)),
        "zoom ±20%": keras.layers.RandomZoom((-0.2, 0.2), **kw(2)),
        "translation ±20%": keras.layers.RandomTranslation((-0.2, 0.2), (-0.2, 0.2), **kw(3)),
        "contrast ×0.6–1.4": keras.layers.RandomContrast((0.4, 0.4), **kw(4)),
        "brightness ±51": keras.layers.RandomBrightness((-0.2, 0.2), **kw(5)),
        "shear ±0.3": keras.layers.RandomShear(x_factor=0.3, y_factor=0.0, **kw(6)),
        "vertical flip (never)": keras.layers.RandomFlip("vertical", **kw(7)),
        "RandomRotation(0.2) ±72°": keras.layers.RandomRotation(0.2, **kw(8)),
    }


def augment_examples(image: Any, block: Callable[..., Any], n: int = 8) -> np.ndarray:
    """``n`` independently augmented copies of one image, as a float32 array ``(n, h, w, 3)`` in [0, 255].

    The image is tiled into a batch and passed through ``block`` with ``training=True`` (each image in a
    batch gets its own random transformation). Float output is clipped to [0, 255] for display.
    """
    batch = np.repeat(np.asarray(image, dtype=np.float32)[np.newaxis], n, axis=0)
    return np.clip(np.asarray(block(batch, training=True)), 0, 255)


def describe(block: keras.Layer | Iterable[keras.Layer]) -> list[str]:
    """One line per layer saying, in human units, what it does (degrees, percent, pixel offsets)."""
    layers = block.layers if hasattr(block, "layers") else list(block) if isinstance(block, Iterable) else [block]
    return [_describe_layer(layer) for layer in layers]


def _pct(lo: float, hi: float) -> str:
    return f"±{100 * hi:.0f}%" if math.isclose(-lo, hi) else f"{100 * lo:+.0f}% to {100 * hi:+.0f}%"


def _describe_layer(layer: keras.Layer) -> str:
    kind = type(layer).__name__
    fill = f", fill {layer.fill_mode}" if kind in _GEOMETRIC and hasattr(layer, "fill_mode") else ""
    try:
        if kind == "RandomRotation":
            lo, hi = layer.factor
            degrees = f"±{360 * hi:.1f}°" if math.isclose(-lo, hi) else f"{360 * lo:+.1f}° to {360 * hi:+.1f}°"
            text = f"{degrees} (factor {hi:.4f} of a turn)"
        elif kind == "RandomTranslation":
            text = (f"height {_pct(layer.height_lower, layer.height_upper)}, "
                    f"width {_pct(layer.width_lower, layer.width_upper)}")
        elif kind == "RandomZoom":
            text = f"height {_pct(layer.height_lower, layer.height_upper)}"
            if layer.width_factor is not None:
                text += f", width {_pct(layer.width_lower, layer.width_upper)} drawn independently"
            text += "; negative = zoom in"
        elif kind == "RandomShear":
            text = f"x ±{max(abs(v) for v in layer.x_factor):.4f} of the height"
            if max(abs(v) for v in layer.y_factor) > 0:
                text += f", y ±{max(abs(v) for v in layer.y_factor):.4f} of the width"
        elif kind == "RandomFlip":
            text = layer.mode
        elif kind == "RandomContrast":
            lo, hi = layer.factor
            text = f"contrast ×{1 - lo:.2f} to ×{1 + hi:.2f}"
        elif kind == "RandomBrightness":
            lo, hi = layer.factor
            span = float(layer.value_range[1]) - float(layer.value_range[0])
            text = f"adds {lo * span:+.1f} to {hi * span:+.1f} to every pixel"
        elif kind == "Rescaling":
            text = f"x * {layer.scale:g} + {layer.offset:g}"
        else:
            text = ""
    except (AttributeError, TypeError, ValueError):  # another Keras version's attributes: show the config
        text = str({k: v for k, v in layer.get_config().items() if k not in ("name", "trainable", "dtype")})
    return f"{kind:<18} {text}{fill}".rstrip()


def measured_rotation(factor: float, size: int = 101) -> float:
    """Rotate a horizontal line with ``RandomRotation((factor, factor))`` and measure its angle, in degrees.

    Positive means counter-clockwise. This is how the chapter checks that the factor is a fraction of a
    full turn: ``measured_rotation(20 / 360)`` is about 20, ``measured_rotation(0.2)`` about 72.
    """
    image = np.zeros((1, size, size, 1), np.float32)
    image[0, size // 2, size // 10: size - size // 10] = 255.0
    layer = keras.layers.RandomRotation((factor, factor), fill_mode="constant", interpolation="nearest")
    out = np.asarray(layer(image, training=True))[0, ..., 0]
    ys, xs = np.nonzero(out > 127)
    if np.ptp(xs) >= np.ptp(ys):
        slope = np.polyfit(xs, ys, 1)[0]
        return float(np.degrees(np.arctan(-slope)))  # rows grow downwards
    slope = np.polyfit(ys, xs, 1)[0]  # steeper than 45 degrees: fit x(y) for accuracy
    angle = 90.0 - float(np.degrees(np.arctan(abs(slope))))
    return angle if slope < 0 else -angle


def measured_zoom(factor: float, size: int = 101) -> float:
    """Apparent magnification of a centred square after ``RandomZoom((factor, factor))``; > 1 means zoomed in.

    ``measured_zoom(-0.2)`` is about 1.25 (negative factors zoom in), ``measured_zoom(0.2)`` about 0.83.
    """
    image = np.zeros((1, size, size, 1), np.float32)
    half = size // 5
    c = size // 2
    image[0, c - half: c + half + 1, c - half: c + half + 1] = 255.0
    layer = keras.layers.RandomZoom((factor, factor), fill_mode="constant", interpolation="nearest")
    out = np.asarray(layer(image, training=True))[0, ..., 0]
    return float((out[c] > 127).sum() / (2 * half + 1))


def images_per_second(dataset: tf.data.Dataset, step: Callable[[Any], Any] | None = None, *,
                      warmup_batches: int = 2, repeats: int = 3) -> float:
    """Throughput, in images per second, of iterating ``dataset`` and applying ``step`` to each batch.

    ``dataset`` yields batches of images (or tuples whose first element is the images). First
    ``warmup_batches`` batches are run untimed (tracing, thread start-up); then the whole dataset is timed
    ``repeats`` times and the best pass is returned, the usual way to damp the noise of a shared machine.
    ``step``'s result is pulled to the host every batch, so the time covers the work done, not its launch.
    """
    def run(ds: tf.data.Dataset) -> int:
        n = 0
        for batch in ds:
            x = batch[0] if isinstance(batch, tuple | list) else batch
            if step is not None:
                np.asarray(step(x)).sum()
            n += int(x.shape[0])
        return n

    run(dataset.take(warmup_batches))
    best = 0.0
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        images = run(dataset)
        if images == 0:
            raise ValueError("The dataset is empty: nothing to time.")
        best = max(best, images / (time.perf_counter() - start))
    return best


def plot_runs(histories: Mapping[str, Any], metrics: Sequence[str] = ("accuracy", "val_accuracy"),
              title: str | None = None) -> Figure:
    """Learning curves of several runs side by side: one panel per metric, one line per run.

    ``histories`` maps a run's name to its ``keras.callbacks.History`` (or its ``.history`` dict).
    Training accuracy of an augmented run is measured on augmented images, so it is expected to be lower.
    """
    labels = {"accuracy": "training accuracy", "val_accuracy": "validation accuracy",
              "loss": "training loss", "val_loss": "validation loss"}
    fig = Figure(figsize=(5.2 * len(metrics), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    for ax, metric in zip(axes, metrics, strict=True):
        for name, history in histories.items():
            logs = history.history if hasattr(history, "history") else history
            if metric not in logs:
                raise ValueError(f"{name!r} did not log {metric!r}; it logged {sorted(logs)}.")
            values = logs[metric]
            ax.plot(np.arange(1, len(values) + 1), values, marker=".", label=name)
        ax.set(title=labels.get(metric, metric), xlabel="epoch", ylabel=metric.replace("val_", ""))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig
