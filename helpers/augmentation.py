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

:func:`from_image_data_generator_args` does that conversion (chapter 03 ports the Intel article's generator
arguments with it, as recorded in :mod:`helpers.articles`); :func:`recommended_augmentation` is the milder recipe
chapter 03 compares it with.

Speed: ``RandomRotation``, ``RandomTranslation``, ``RandomZoom`` and ``RandomShear`` each warp (resample) the
whole image, so a block of three of them interpolates every pixel three times: blurrier, and about three times
the work. The legacy generator composed rotation, shift, shear and zoom into **one** matrix per image.
:class:`RandomAffine` does the same as one Keras layer (one warp per batch, flips folded in), and the course's
recipes use it (``fused=True``); ``fused=False`` gives the layer-by-layer port, the clearer one to read.
:func:`ranges` (what a block draws, from its settings) and :func:`measured_draws` (what it draws, measured on
test images) show that the two draw the same; chapter 03 checks its written-out recipe against the fused one
with both.

Every unit above was measured on TensorFlow 2.21 / Keras 3.15 (``tests/test_augmentation.py``,
:func:`measured_rotation`, :func:`measured_zoom`). Every layer used here exists since Keras 3.8 (Colab
ships 3.13).

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
_SUPPORTED_ARGS = (
    "rotation_range", "width_shift_range", "height_shift_range", "zoom_range", "shear_range",
    "brightness_range", "horizontal_flip", "vertical_flip", "fill_mode", "cval", "rescale",
    "interpolation_order",
)

#: Legacy arguments with no layer counterpart, and what to do instead.
_UNSUPPORTED_ARGS = {
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

_GEOMETRIC = ("RandomRotation", "RandomTranslation", "RandomZoom", "RandomShear", "RandomAffine")


@keras.saving.register_keras_serializable(package="course")
class RandomAffine(keras.layers.Layer):
    """Random rotation, shifts, shear, zoom and flips composed into ONE affine warp per image.

    Chapter 03 teaches it; every recipe built with fused=True uses it (chapters 03 and 07).

    It draws, for each image of the batch: an angle in ``[-rotation, rotation]`` degrees, a shift in
    ``[-height_shift, height_shift]`` of the height and ``[-width_shift, width_shift]`` of the width, a shear
    angle in ``[-shear, shear]`` degrees, zoom scales in ``zoom`` (x and y independently unless
    ``keep_aspect``; the legacy convention: a scale below 1 zooms **in**), and, if enabled, horizontal and
    vertical flips with probability 1/2. It multiplies them into one matrix about the image centre and
    resamples the image once (``keras.ops.image.affine_transform``), as the legacy generator did image by
    image, so there is one interpolation instead of one per layer and a batch costs one warp.

    Like the ``Random*`` layers it holds no weights and is the identity unless called with
    ``training=True`` (``fit`` does; ``predict`` and ``evaluate`` don't). It is registered as
    ``course>RandomAffine``, so a ``.keras`` file holding it loads in safe mode once ``helpers`` is imported.
    Not compiled by XLA (``supports_jit = False``; Keras then compiles the model without XLA).

    Args:
        rotation: Largest rotation, in degrees.
        height_shift, width_shift: Largest shift, as a fraction of the height / width (0 to 1).
        shear: Largest shear angle, in degrees (rows slide sideways by ``sin(angle)`` times their offset
            from the centre, as in the legacy generator).
        zoom: ``(lowest, highest)`` scale of the sampled field of view: ``(0.85, 1.0)`` zooms in by up to 15 %.
        keep_aspect: Draw one zoom scale for both axes (no stretching).
        horizontal_flip, vertical_flip: Mirror half of the images left-right / upside down.
        fill_mode: How pixels that come from outside the image are filled: ``"nearest"`` (the generator's
            default), ``"reflect"``, ``"constant"`` or ``"wrap"``.
        fill_value: The value for ``fill_mode="constant"``.
        interpolation: ``"bilinear"`` or ``"nearest"``.
        seed: Seed of the layer's own random stream (reproducible, and independent of Keras' global one).
    """

    def __init__(self, rotation: float = 0.0, height_shift: float = 0.0, width_shift: float = 0.0,
                 shear: float = 0.0, zoom: tuple[float, float] = (1.0, 1.0), keep_aspect: bool = False,
                 horizontal_flip: bool = False, vertical_flip: bool = False, fill_mode: str = "nearest",
                 fill_value: float = 0.0, interpolation: str = "bilinear", seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        lo, hi = (float(z) for z in zoom)
        if not 0 < lo <= hi:
            raise ValueError(f"zoom must be (lowest, highest) scales with 0 < lowest <= highest, not {zoom}.")
        for what, value in (("height_shift", height_shift), ("width_shift", width_shift)):
            if not 0 <= value <= 1:
                raise ValueError(f"{what} is a fraction of the image size (0 to 1), not {value}.")
        if fill_mode not in ("nearest", "reflect", "constant", "wrap"):
            raise ValueError(f"fill_mode must be nearest, reflect, constant or wrap, not {fill_mode!r}.")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"interpolation must be bilinear or nearest, not {interpolation!r}.")
        self.rotation, self.shear = abs(float(rotation)), abs(float(shear))
        self.height_shift, self.width_shift = float(height_shift), float(width_shift)
        self.zoom, self.keep_aspect = (lo, hi), bool(keep_aspect)
        self.horizontal_flip, self.vertical_flip = bool(horizontal_flip), bool(vertical_flip)
        self.fill_mode, self.fill_value, self.interpolation = fill_mode, float(fill_value), interpolation
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_jit = False

    def transforms(self, batch_size: Any, height: Any, width: Any) -> Any:
        """Random ``(batch_size, 8)`` rows for ``affine_transform``: output pixel -> input pixel."""
        ops = keras.ops
        u = keras.random.uniform((batch_size, 7), seed=self.seed_generator)  # one draw for every parameter

        def spread(column: int, lo: float, hi: float) -> Any:
            return lo + (hi - lo) * u[:, column]

        theta = spread(0, -self.rotation, self.rotation) * (math.pi / 180)
        shear = spread(1, -self.shear, self.shear) * (math.pi / 180)
        tx = spread(2, -self.width_shift, self.width_shift) * width
        ty = spread(3, -self.height_shift, self.height_shift) * height
        zx = spread(4, *self.zoom)
        zy = zx if self.keep_aspect else spread(5, *self.zoom)
        flips = ops.cast(u[:, 6] * 4, "int32")  # 0..3: bit 0 = horizontal, bit 1 = vertical
        ones = ops.ones_like(theta)
        fx = ops.where(flips % 2 == 1, -ones, ones) if self.horizontal_flip else ones
        fy = ops.where(flips // 2 == 1, -ones, ones) if self.vertical_flip else ones
        cos, sin = ops.cos(theta), ops.sin(theta)
        # M = rotation(theta) @ shear(s) @ zoom(zx, zy) @ flip(fx, fy), shear = [[1, -sin s], [0, cos s]]
        s01, s11 = -ops.sin(shear), ops.cos(shear)
        a0, a1 = cos * zx * fx, (cos * s01 - sin * s11) * zy * fy
        b0, b1 = sin * zx * fx, (sin * s01 + cos * s11) * zy * fy
        cx, cy = (width - 1) / 2, (height - 1) / 2
        a2, b2 = cx + tx - a0 * cx - a1 * cy, cy + ty - b0 * cx - b1 * cy
        zeros = ops.zeros_like(a0)
        return ops.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)

    def call(self, inputs: Any, training: bool = True) -> Any:
        if not training:
            return inputs
        ops = keras.ops
        images = ops.cast(inputs, self.compute_dtype)
        single = len(images.shape) == 3
        if single:
            images = ops.expand_dims(images, 0)
        shape = ops.shape(images)
        height, width = ops.cast(shape[1], "float32"), ops.cast(shape[2], "float32")
        rows = self.transforms(shape[0], height, width)
        out = keras.ops.image.affine_transform(images, ops.cast(rows, self.compute_dtype),
                                               interpolation=self.interpolation, fill_mode=self.fill_mode,
                                               fill_value=self.fill_value, data_format="channels_last")
        return out[0] if single else out

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rotation": self.rotation, "height_shift": self.height_shift,
                "width_shift": self.width_shift, "shear": self.shear, "zoom": list(self.zoom),
                "keep_aspect": self.keep_aspect, "horizontal_flip": self.horizontal_flip,
                "vertical_flip": self.vertical_flip, "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "interpolation": self.interpolation, "seed": self.seed}


def rotation_factor(degrees: float) -> float:
    """The ``RandomRotation`` factor for a maximum rotation of ``degrees``: a fraction of a full turn.

    from_image_data_generator_args converts with it; chapter 03's answer key (exercise 1) checks with it.
    """
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
    fused: bool = True,
    **kwargs: Any,
) -> keras.Sequential:
    """Translate the legacy generator's keyword arguments into a ``keras.Sequential`` of preprocessing layers.

    Used in chapters 03 and 07.

    Args:
        image_size: ``(height, width)``; needed only when a shift range is given in pixels (>= 1).
        seed: Base seed; layer ``i`` gets ``seed + i``, so the block is reproducible and building it
            does not consume Keras' global random state (model weights stay the same with or without it).
        name: Name of the returned block.
        fused: ``True`` (default): rotation, shifts, shear, zoom and flips become one :class:`RandomAffine`
            layer, one warp per image like the generator (fast: one interpolation). ``False``: one Keras
            layer per argument (``RandomRotation``, ``RandomTranslation``, ...), the port to read and learn
            the units from; it warps the image once per geometric layer.
        **kwargs: The generator's arguments (see :data:`_SUPPORTED_ARGS`). Zero, ``False`` and ``None``
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
    unknown = [k for k in kwargs if k not in _SUPPORTED_ARGS]
    for key in unknown:
        if key in _UNSUPPORTED_ARGS and kwargs[key] in (False, None, 0, 0.0, 1e-6, "channels_last"):
            continue  # a default value: nothing to translate
        if key in _UNSUPPORTED_ARGS:
            raise ValueError(f"{key} has no preprocessing-layer counterpart: {_UNSUPPORTED_ARGS[key]}.")
        raise ValueError(f"Unknown argument {key!r}; supported: {', '.join(_SUPPORTED_ARGS)}.")
    height, width = image_size if image_size else (None, None)
    h_shift, w_shift = kwargs.get("height_shift_range") or 0, kwargs.get("width_shift_range") or 0
    zoom = kwargs.get("zoom_range") or 0
    zoom = (1 - zoom, 1 + zoom) if np.isscalar(zoom) else (float(zoom[0]), float(zoom[1]))
    geometry = dict(
        rotation=abs(kwargs.get("rotation_range") or 0),
        height_shift=_shift_factor(h_shift, height, "height") if np.any(h_shift) else 0.0,
        width_shift=_shift_factor(w_shift, width, "width") if np.any(w_shift) else 0.0,
        shear=abs(kwargs.get("shear_range") or 0), zoom=zoom,
        horizontal_flip=bool(kwargs.get("horizontal_flip")), vertical_flip=bool(kwargs.get("vertical_flip")),
    )
    fill = dict(fill_mode=kwargs.get("fill_mode", "nearest"), fill_value=float(kwargs.get("cval", 0.0)),
                interpolation="nearest" if kwargs.get("interpolation_order", 1) == 0 else "bilinear")
    layers: list[keras.Layer] = []

    def seeded() -> dict[str, int]:
        return {} if seed is None else {"seed": seed + len(layers)}

    if fused:
        if any(geometry[k] for k in ("rotation", "height_shift", "width_shift", "shear", "horizontal_flip",
                                     "vertical_flip")) or zoom != (1, 1):
            layers.append(RandomAffine(**geometry, **fill, **seeded(), name="affine"))
    else:
        layers += _separate_geometric_layers(geometry, fill, seed)
    if kwargs.get("brightness_range") is not None:
        lo, hi = kwargs["brightness_range"]
        # The generator multiplies by b; the layer adds factor * 255. Matching a mid-grey pixel (127.5):
        # 127.5 * b = 127.5 + factor * 255  =>  factor = (b - 1) / 2.
        layers.append(keras.layers.RandomBrightness(((lo - 1) / 2, (hi - 1) / 2), value_range=(0, 255),
                                                    **seeded(), name="brightness"))
    if kwargs.get("rescale"):
        layers.append(keras.layers.Rescaling(kwargs["rescale"], name="rescale"))
    return keras.Sequential(layers or [keras.layers.Identity(name="identity")], name=name)


def _separate_geometric_layers(geometry: dict[str, Any], fill: dict[str, Any],
                               seed: int | None) -> list[keras.Layer]:
    """The layer-by-layer port of :func:`from_image_data_generator_args` (``fused=False``); layer i: seed + i."""
    layers: list[keras.Layer] = []

    def add(layer_type: type, *args: Any, **kw: Any) -> None:
        layers.append(layer_type(*args, **kw, **({} if seed is None else {"seed": seed + len(layers)})))

    if geometry["rotation"]:
        f = rotation_factor(geometry["rotation"])
        add(keras.layers.RandomRotation, (-f, f), **fill, name="rotation")
    hf, wf = geometry["height_shift"], geometry["width_shift"]
    if hf or wf:
        add(keras.layers.RandomTranslation, (-hf, hf), (-wf, wf), **fill, name="translation")
    if geometry["shear"]:
        s = math.sin(math.radians(geometry["shear"]))  # the generator shears x by sin(angle)
        add(keras.layers.RandomShear, x_factor=s, y_factor=0.0, **fill, name="shear")
    lo, hi = geometry["zoom"]
    if (lo, hi) != (1, 1):
        z = (lo - 1, hi - 1)  # legacy scale z (z < 1 zooms in) = 1 + Keras factor (negative zooms in)
        add(keras.layers.RandomZoom, z, z, **fill, name="zoom")  # x and y drawn independently
    flips = [d for d in ("horizontal", "vertical") if geometry[f"{d}_flip"]]
    if flips:
        add(keras.layers.RandomFlip, "horizontal_and_vertical" if len(flips) == 2 else flips[0], name="flip")
    return layers


def recommended_augmentation(seed: int | None = None, *, strength: float = 1.0, fused: bool = True
                             ) -> keras.Sequential:
    """A mild, scene-appropriate recipe: the photos could have been taken like this.

    Horizontal flips only (an upside-down mountain is not a mountain; never flip scenes vertically),
    up to 5 degrees of rotation (a tilted camera), zoom *in* by up to 15 % keeping the aspect ratio (a
    closer framing, no invented borders), 10 % translation and +-10 % contrast (weather and exposure), with
    the few empty pixels filled by mirroring. ``strength`` scales every range (1.0 as described; the flip is
    unaffected). ``fused=True`` does flip, rotation, zoom and translation as one :class:`RandomAffine` warp;
    ``fused=False`` as four Keras layers (same distributions, three interpolations), written as keras.io
    writes them; chapter 03 writes that block out in its cells and checks it equals this one (without a seed),
    then checks with :func:`ranges` and :func:`measured_draws` that the fused block draws the same.
    """
    s = float(strength)
    if not 0 < s <= 3:
        raise ValueError(f"strength must be in (0, 3], not {strength}")

    def kw(i: int) -> dict[str, int]:
        return {} if seed is None else {"seed": seed + i}

    degrees, zoom, shift, contrast = 5 * s, 0.15 * s, 0.1 * s, 0.1 * s
    contrast_layer = keras.layers.RandomContrast((contrast, contrast), value_range=(0, 255), **kw(4),
                                                 name="contrast")
    if fused:
        return keras.Sequential([
            RandomAffine(rotation=degrees, height_shift=shift, width_shift=shift, zoom=(1 - zoom, 1.0),
                         keep_aspect=True, horizontal_flip=True, fill_mode="reflect", **kw(0), name="affine"),
            contrast_layer,
        ], name="recommended_augmentation")
    rot = rotation_factor(degrees)
    return keras.Sequential([
        keras.layers.RandomFlip("horizontal", **kw(0), name="flip"),
        keras.layers.RandomRotation((-rot, rot), fill_mode="reflect", **kw(1), name="rotation"),
        keras.layers.RandomZoom((-zoom, 0.0), fill_mode="reflect", **kw(2), name="zoom"),
        keras.layers.RandomTranslation(shift, shift, fill_mode="reflect", **kw(3), name="translation"),
        contrast_layer,
    ], name="recommended_augmentation")


def single_layer_examples(seed: int | None = None) -> dict[str, keras.Layer]:
    """One layer of each kind, titled for a grid (strong settings, so each effect is visible).

    Used in chapter 03.

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

    Used in chapter 03.

    The image is tiled into a batch and passed through ``block`` with ``training=True`` (each image in a
    batch gets its own random transformation). Float output is clipped to [0, 255] for display.
    """
    batch = np.repeat(np.asarray(image, dtype=np.float32)[np.newaxis], n, axis=0)
    return np.clip(np.asarray(block(batch, training=True)), 0, 255)


def describe(block: keras.Layer | Iterable[keras.Layer]) -> list[str]:
    """One line per layer saying, in human units, what it does (degrees, percent, pixel offsets).

    Used in chapter 03.
    """
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
        elif kind == "RandomAffine":
            text = _describe_affine(layer)
        else:
            text = ""
    except (AttributeError, TypeError, ValueError):  # another Keras version's attributes: show the config
        text = str({k: v for k, v in layer.get_config().items() if k not in ("name", "trainable", "dtype")})
    return f"{kind:<18} {text}{fill}".rstrip()


def _describe_affine(layer: RandomAffine) -> str:
    """Human units of a :class:`RandomAffine` layer, only the parts that are on."""
    parts = []
    if layer.rotation:
        parts.append(f"rotation ±{layer.rotation:g}°")
    if layer.height_shift or layer.width_shift:
        parts.append(f"shift height ±{100 * layer.height_shift:.0f}%, width ±{100 * layer.width_shift:.0f}%")
    if layer.shear:
        parts.append(f"shear ±{layer.shear:g}°")
    lo, hi = layer.zoom
    if (lo, hi) != (1.0, 1.0):
        way = "in" if hi <= 1 else "out" if lo >= 1 else "in or out"
        how = "same for x and y" if layer.keep_aspect else "x and y apart"
        parts.append(f"zoom {way}: field of view ×{lo:.2f} to ×{hi:.2f} ({how})")
    flips = [d for d in ("horizontal", "vertical") if getattr(layer, f"{d}_flip")]
    if flips:
        parts.append(f"{' and '.join(flips)} flip")
    return "; ".join(parts) + "; one warp" if parts else "identity"


def measured_rotation(factor: float, size: int = 101) -> float:
    """Rotate a horizontal line with ``RandomRotation((factor, factor))`` and measure its angle, in degrees.

    Used in chapter 03.

    Positive means counter-clockwise. This is how the chapter checks that the factor is a fraction of a
    full turn: ``measured_rotation(20 / 360)`` is about 20, ``measured_rotation(0.2)`` about 72.
    """
    image = np.zeros((1, size, size, 1), np.float32)
    image[0, size // 2, size // 10: size - size // 10] = 255.0
    layer = keras.layers.RandomRotation((factor, factor), fill_mode="constant", interpolation="nearest")
    return _line_angle(np.asarray(layer(image, training=True))[0, ..., 0])


def _line_angle(picture: np.ndarray) -> float:
    """Angle, in degrees counter-clockwise, of the bright line in a 2-D ``picture`` (a straight-line fit)."""
    ys, xs = np.nonzero(picture > 127)
    if np.ptp(xs) >= np.ptp(ys):
        slope = np.polyfit(xs, ys, 1)[0]
        return float(np.degrees(np.arctan(-slope)))  # rows grow downwards
    slope = np.polyfit(ys, xs, 1)[0]  # steeper than 45 degrees: fit x(y) for accuracy
    angle = 90.0 - float(np.degrees(np.arctan(abs(slope))))
    return angle if slope < 0 else -angle


def measured_zoom(factor: float, size: int = 101) -> float:
    """Apparent magnification of a centred square after ``RandomZoom((factor, factor))``; > 1 means zoomed in.

    Used in chapter 03.

    ``measured_zoom(-0.2)`` is about 1.25 (negative factors zoom in), ``measured_zoom(0.2)`` about 0.83.
    """
    image = np.zeros((1, size, size, 1), np.float32)
    half = size // 5
    c = size // 2
    image[0, c - half: c + half + 1, c - half: c + half + 1] = 255.0
    layer = keras.layers.RandomZoom((factor, factor), fill_mode="constant", interpolation="nearest")
    out = np.asarray(layer(image, training=True))[0, ..., 0]
    return float((out[c] > 127).sum() / (2 * half + 1))


def measured_draws(block: Callable[..., Any], n: int = 256, size: int = 101) -> dict[str, np.ndarray]:
    """Measure, image by image, the rotation and the zoom that ``block`` draws.

    :func:`measured_rotation` and :func:`measured_zoom` measure one layer at a fixed factor; this measures a
    whole block as it trains: ``n`` copies of a centred horizontal line and ``n`` of a centred square go
    through ``block`` with ``training=True``, and each copy's line angle and square size are read off.
    Shifts and flips move or mirror both shapes without changing either measurement, and a shear along the
    rows leaves the line flat, so what is measured is the rotation and the zoom alone. Chapter 03 measures its
    written-out recipe and the fused :class:`RandomAffine` this way, to check that they draw the same ranges.

    The shapes stay well inside the image for shifts up to 20 % and zoom scales down to 0.8, so no border
    filling reaches them. With zoom scales drawn apart for x and y (``keep_aspect=False``), stretching tilts a
    rotated line further and the angles are no longer the rotation alone; the square's size is then the
    geometric mean of the two scales.

    Args:
        block: An augmentation layer or ``keras.Sequential`` taking ``(batch, size, size, 3)`` images in [0, 255].
        n: Number of draws.
        size: Side of the test images, in pixels.

    Returns:
        ``{"rotation": ..., "zoom": ...}``, ``n`` values each: the line's angle in degrees (counter-clockwise
        positive), and the square's magnification (above 1: zoomed in; the reciprocal of the scale of the
        field of view that :class:`RandomAffine` and :func:`ranges` speak of).
    """
    c, half, reach = size // 2, size // 10, size // 5
    lines = np.zeros((n, size, size, 3), np.float32)
    lines[:, c - 1: c + 2, c - reach: c + reach + 1] = 255.0  # 3 pixels thick: it survives blurring
    squares = np.zeros((n, size, size, 3), np.float32)
    squares[:, c - half: c + half + 1, c - half: c + half + 1] = 255.0
    lines_out = np.asarray(block(lines, training=True), np.float32)[..., 0]
    squares_out = np.asarray(block(squares, training=True), np.float32)[..., 0]
    area = float((2 * half + 1) ** 2)
    return {"rotation": np.array([_principal_angle(picture) for picture in lines_out]),
            "zoom": np.sqrt((squares_out > 127).sum(axis=(1, 2)) / area)}


def _principal_angle(picture: np.ndarray) -> float:
    """Angle, in degrees counter-clockwise, of the long axis of the bright shape in ``picture``.

    From the intensity-weighted second moments, so a line blurred by several interpolations is measured as
    well as a sharp one; pixels below a quarter of full brightness (filled borders, contrast offsets) are
    left out.
    """
    weights = np.where(picture > 64, picture, 0.0).astype(np.float64)
    rows, cols = np.indices(picture.shape)
    total = weights.sum()
    y, x = (rows * weights).sum() / total, (cols * weights).sum() / total
    mu_xx = ((cols - x) ** 2 * weights).sum() / total
    mu_yy = ((rows - y) ** 2 * weights).sum() / total
    mu_xy = ((cols - x) * (rows - y) * weights).sum() / total
    return float(-np.degrees(0.5 * np.arctan2(2 * mu_xy, mu_xx - mu_yy)))  # rows grow downwards


def ranges(block: keras.Layer | Iterable[keras.Layer]) -> dict[str, Any]:
    """What an augmentation block draws, in the same units whether it is written layer by layer or fused.

    Chapter 03 writes its recipe out with ``keras.layers.Random*`` layers, then trains with the fused
    :class:`RandomAffine`; ``ranges(written) == ranges(fused)`` checks that the switch changes how the images
    are warped (once instead of once per layer), not what is drawn. The units are :class:`RandomAffine`'s,
    which are the legacy generator's: degrees for rotation and shear, fractions of the height and width for
    shifts, scales of the field of view for zoom (below 1 zooms in: ``RandomZoom``'s factor plus 1).

    Args:
        block: A ``keras.Sequential`` of augmentation layers, a list of layers, or one layer.

    Returns:
        A dict: ``rotation`` and ``shear`` (degrees), ``height_shift`` and ``width_shift`` (fractions),
        ``zoom_height`` and ``zoom_width`` (scales), each as ``(lowest, highest)`` (``(0.0, 0.0)`` or
        ``(1.0, 1.0)`` when not drawn); ``keep_aspect`` (one zoom draw for both axes); ``horizontal_flip``
        and ``vertical_flip``; ``fill_mode`` and ``interpolation`` of the warping layers (``None`` without
        any, a sorted tuple when they differ); ``others``: the other layers in order, as ``(class name,
        settings)`` with the name, seed, dtype and data format left out. Floats are rounded to 6 decimals,
        so ``RandomRotation(5 / 360)`` gives a rotation of exactly ``(-5.0, 5.0)`` degrees.

    Raises:
        ValueError: two layers draw the same quantity (their ranges compose: no single range describes
            them), or a layer draws what :class:`RandomAffine` cannot (a shear along the columns).
    """
    layers = block.layers if hasattr(block, "layers") else list(block) if isinstance(block, Iterable) else [block]
    drawn: dict[str, Any] = {}
    warps: dict[str, set[str]] = {"fill_mode": set(), "interpolation": set()}
    others: list[tuple[str, dict[str, Any]]] = []

    def span(lo: float, hi: float, scale: float = 1.0) -> tuple[float, float]:
        return round(scale * float(lo), 6) + 0.0, round(scale * float(hi), 6) + 0.0  # + 0.0: no -0.0

    def draw(quantity: str, value: Any, by: str) -> None:
        if quantity in drawn:
            raise ValueError(f"two layers of the block draw {quantity} (the second is {by}): their ranges "
                             "compose, and no single range describes them.")
        drawn[quantity] = value

    for layer in layers:
        kind = type(layer).__name__
        if kind in _GEOMETRIC:
            warps["fill_mode"].add(layer.fill_mode)
            warps["interpolation"].add(layer.interpolation)
        if kind == "RandomAffine":
            for quantity in ("rotation", "shear", "height_shift", "width_shift"):
                if getattr(layer, quantity):
                    draw(quantity, span(-getattr(layer, quantity), getattr(layer, quantity)), kind)
            if tuple(layer.zoom) != (1.0, 1.0):
                draw("zoom_height", span(*layer.zoom), kind)
                draw("zoom_width", span(*layer.zoom), kind)
                draw("keep_aspect", layer.keep_aspect, kind)
            for quantity in ("horizontal_flip", "vertical_flip"):
                if getattr(layer, quantity):
                    draw(quantity, True, kind)
        elif kind == "RandomRotation":
            draw("rotation", span(*layer.factor, scale=360.0), kind)
        elif kind == "RandomTranslation":
            draw("height_shift", span(layer.height_lower, layer.height_upper), kind)
            draw("width_shift", span(layer.width_lower, layer.width_upper), kind)
        elif kind == "RandomShear":
            if max(abs(v) for v in layer.y_factor) > 0:
                raise ValueError("RandomShear with a y_factor shears the columns; RandomAffine shears rows only.")
            lo, hi = layer.x_factor  # the shift of a row is sin(angle): the generator's convention
            draw("shear", span(math.degrees(math.asin(lo)), math.degrees(math.asin(hi))), kind)
        elif kind == "RandomZoom":
            height = span(1 + layer.height_lower, 1 + layer.height_upper)
            draw("zoom_height", height, kind)
            if layer.width_factor is None:  # the width follows the height: one scale, no stretching
                draw("zoom_width", height, kind)
                draw("keep_aspect", True, kind)
            else:
                draw("zoom_width", span(1 + layer.width_lower, 1 + layer.width_upper), kind)
                draw("keep_aspect", False, kind)
        elif kind == "RandomFlip":
            for way in ("horizontal", "vertical"):
                if way in layer.mode:
                    draw(f"{way}_flip", True, kind)
        else:
            settings = {key: value for key, value in layer.get_config().items()
                        if key not in ("name", "seed", "dtype", "data_format", "trainable")}
            others.append((kind, settings))
    defaults = dict(rotation=(0.0, 0.0), shear=(0.0, 0.0), height_shift=(0.0, 0.0), width_shift=(0.0, 0.0),
                    zoom_height=(1.0, 1.0), zoom_width=(1.0, 1.0), keep_aspect=True, horizontal_flip=False,
                    vertical_flip=False)
    found = {k: (None if not v else next(iter(v)) if len(v) == 1 else tuple(sorted(v))) for k, v in warps.items()}
    return {**defaults, **drawn, **found, "others": others}


def images_per_second(dataset: tf.data.Dataset, step: Callable[[Any], Any] | None = None, *,
                      warmup_batches: int = 2, repeats: int = 3) -> float:
    """Throughput, in images per second, of iterating ``dataset`` and applying ``step`` to each batch.

    Used in chapter 03.

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

    Used in chapter 03.

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
