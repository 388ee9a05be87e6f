"""Model builders: small CNNs from scratch and transfer models over ``keras.applications`` backbones.

Every model takes images as float32 in [0, 255] (what :mod:`helpers.pipeline` produces) and does
its own scaling inside, so the same pipeline feeds every model and nothing is scaled twice. Each
backbone family gets its own preprocessing (see :data:`BACKBONES`), as a serialisable layer rather
than a ``Lambda``, so saved ``.keras`` files load in safe mode.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import keras
from keras import layers, ops

# Per-channel constants of the ImageNet preprocessing modes, in RGB order.
_CAFFE_MEAN = (123.68, 116.779, 103.939)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


@keras.saving.register_keras_serializable(package="course")
class BackbonePreprocess(layers.Layer):
    """Map [0, 255] RGB images to what a backbone family was trained on.

    Inside every transfer model (chapters 05-09); chapters 05 and 06 check it against ``preprocess_input``.

    Modes (as in ``keras.applications``): ``"caffe"`` (RGB to BGR, ImageNet mean subtracted: ResNet,
    VGG), ``"tf"`` (scaled to [-1, 1]: ResNetV2, Inception, Xception, MobileNet, NASNet), ``"torch"``
    (ImageNet mean/std: DenseNet) and ``"none"`` (EfficientNet, ConvNeXt rescale inside).
    """

    MODES = ("caffe", "tf", "torch", "none")

    def __init__(self, mode: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}, not {mode!r}")
        self.mode = mode

    def call(self, x):
        if self.mode == "caffe":
            return x[..., ::-1] - ops.convert_to_tensor(_CAFFE_MEAN[::-1], dtype=x.dtype)
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "torch":
            mean = ops.convert_to_tensor(_TORCH_MEAN, dtype=x.dtype)
            std = ops.convert_to_tensor(_TORCH_STD, dtype=x.dtype)
            return (x / 255.0 - mean) / std
        return x

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}


@dataclass(frozen=True)
class Backbone:
    """A ``keras.applications`` constructor with its native input size and preprocessing mode.

    Chapters 06 and 09 read a backbone's native size from it.
    """

    name: str
    constructor: str
    size: int
    preprocess: str

    def build(self, input_shape: tuple[int, int, int], weights: str | os.PathLike | None) -> keras.Model:
        """The headless backbone (``include_top=False``, no pooling).

        ``weights`` is ``"imagenet"`` (downloads on first use), ``None`` (random, for offline runs) or the
        path of a weights file saved from the same architecture.
        """
        cls = getattr(keras.applications, self.constructor)
        return cls(include_top=False, weights=None if weights is None else str(weights), input_shape=input_shape)


BACKBONES: dict[str, Backbone] = {
    b.name: b
    for b in (
        Backbone("MobileNetV2", "MobileNetV2", 224, "tf"),
        Backbone("ResNet50", "ResNet50", 224, "caffe"),
        Backbone("ResNet50V2", "ResNet50V2", 224, "tf"),
        Backbone("ResNet101V2", "ResNet101V2", 224, "tf"),
        Backbone("ResNet152V2", "ResNet152V2", 224, "tf"),
        Backbone("VGG16", "VGG16", 224, "caffe"),
        Backbone("VGG19", "VGG19", 224, "caffe"),
        Backbone("Xception", "Xception", 299, "tf"),
        Backbone("InceptionV3", "InceptionV3", 299, "tf"),
        Backbone("InceptionResNetV2", "InceptionResNetV2", 299, "tf"),
        Backbone("NASNetMobile", "NASNetMobile", 224, "tf"),
        Backbone("NASNetLarge", "NASNetLarge", 331, "tf"),
        Backbone("DenseNet121", "DenseNet121", 224, "torch"),
        Backbone("DenseNet169", "DenseNet169", 224, "torch"),
        Backbone("DenseNet201", "DenseNet201", 224, "torch"),
        Backbone("EfficientNetB0", "EfficientNetB0", 224, "none"),
        Backbone("EfficientNetV2B0", "EfficientNetV2B0", 224, "none"),
        Backbone("ConvNeXtTiny", "ConvNeXtTiny", 224, "none"),
    )
}


def backbone(name: str) -> Backbone:
    """The registry entry for ``name``, with the list of choices when it is unknown.

    Used in chapters 06 and 09.
    """
    try:
        return BACKBONES[name]
    except KeyError:
        raise ValueError(f"Unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}.") from None


def scratch_cnn(
    input_shape: tuple[int, int, int],
    num_classes: int,
    *,
    filters: Sequence[int] = (32, 64, 128),
    convs_per_block: int = 1,
    dense: Sequence[int] = (128,),
    dropout: float = 0.25,
    augmentation: keras.Layer | None = None,
    preprocessing: keras.Layer | None = None,
    name: str = "scratch_cnn",
) -> keras.Model:
    """The course's plain CNN: blocks of Conv2D (3x3, ReLU, same padding), MaxPooling, Dropout; then Dense layers.

    Chapter 02 writes it out layer by layer and checks it equals this function; chapters 00, 03, 04, 08 and 09
    reuse it, and chapter 01 computes its receptive field. It is the course's recipe, not an article's: with
    ``convs_per_block=1`` it has the shape of the Intel article's network (three conv-pool blocks,
    ``Dense(128)``) but doubles the filters and pads, and with 2 it follows the odonata article's description
    (VGG-style pairs of convolutions). The articles' own networks are :func:`intel_article_cnn` and, as far as
    its text goes, chapter 04's.
    Binary problems (``num_classes == 2``) still use a 2-way softmax, so every chapter uses the same loss
    and metrics.

    Two optional layers go in front of the first ``Rescaling``, on the [0, 255] RGB batch, in this order:
    ``augmentation`` (random layers that change images only while training, e.g. chapter 03's block or a
    random flip) and ``preprocessing`` (applied to every image, in training and prediction alike, e.g.
    chapter 04's :class:`helpers.explain.Grayscale`).
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = augmentation(inputs) if augmentation is not None else inputs
    x = preprocessing(x) if preprocessing is not None else x
    x = layers.Rescaling(1.0 / 255, name="rescale")(x)
    for i, f in enumerate(filters, start=1):
        for j in range(1, convs_per_block + 1):
            x = layers.Conv2D(f, 3, padding="same", activation="relu", name=f"block{i}_conv{j}")(x)
        x = layers.MaxPooling2D(name=f"block{i}_pool")(x)
        x = layers.Dropout(dropout, name=f"block{i}_dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    for k, units in enumerate(dense, start=1):
        x = layers.Dense(units, activation="relu", name=f"dense{k}")(x)
        x = layers.Dropout(min(2 * dropout, 0.5), name=f"dense{k}_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def intel_article_cnn(input_shape: tuple[int, int, int], num_classes: int, *, name: str = "article_cnn"
                      ) -> keras.Model:
    """The Intel article's small CNN, layer for layer (chapters 02 and 03, ``RECIPE = "article"``).

    Three ``Conv2D(32, 3)`` without padding, each followed by ``MaxPooling2D``; ``Dropout(0.5)`` after the
    first block and ``Dropout(0.3)`` after the second, none after the third; ``Flatten``, ``Dense(128)``
    and a softmax output (see ``helpers.articles.get("intel_scratch").recipe["architecture"]``). The
    article divided its images by 255 before the model; here a ``Rescaling`` layer does it, so the model
    takes the course pipeline's [0, 255] images. Chapter 02 writes it out and checks it equals this.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    for i, rate in enumerate((0.5, 0.3, None), start=1):
        x = layers.Conv2D(32, 3, activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(name=f"pool{i}")(x)
        if rate is not None:
            x = layers.Dropout(rate, name=f"dropout{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, activation="relu", name="dense")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def transfer_model(
    backbone_name: str,
    num_classes: int,
    *,
    image_size: int | None = None,
    weights: str | os.PathLike | None = "imagenet",
    head_units: int | None = None,
    dropout: float = 0.2,
    augmentation: keras.Layer | None = None,
) -> tuple[keras.Model, keras.Model]:
    """A frozen backbone with a new classification head; returns ``(model, base)``.

    Chapter 05 writes it out and checks it equals this; chapters 06-09 call it.

    The backbone is frozen with ``base.trainable = False``: that is what keeps its weights and its
    BatchNormalization statistics still while the head trains. The ``training=False`` in the call does
    not: in Keras 3, ``fit`` passes ``training=True`` down and it overrides the recorded value (see
    :func:`helpers.finetune.batchnorm_demo`). To fine-tune, use :func:`helpers.finetune.unfreeze_top`,
    which keeps every BatchNormalization layer's ``trainable`` at ``False``. The backbone's own
    preprocessing is inside the model, so the model takes [0, 255] images.
    """
    spec = backbone(backbone_name)
    size = image_size or spec.size
    inputs = keras.Input(shape=(size, size, 3), name="image")
    x = augmentation(inputs) if augmentation is not None else inputs
    x = BackbonePreprocess(spec.preprocess, name="preprocess")(x)
    base = spec.build((size, size, 3), weights)
    base.trainable = False
    x = base(x, training=False)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    if head_units:
        x = layers.Dense(head_units, activation="relu", name="head_dense")(x)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"{backbone_name}_transfer"), base


def all_layers(model: keras.Layer) -> Iterator[keras.Layer]:
    """Every layer inside ``model``, nested models included, parents before their children (depth first).

    ``model.layers`` lists only the top level: a backbone nested as one layer hides its BatchNormalization
    and the augmentation block hides its ``Random*`` layers. Chapter 05 looks for those with
    :func:`helpers.features.cache_blockers`, chapters 07-09 with :func:`helpers.finetune.batchnorm_layers`.
    """
    for layer in getattr(model, "layers", []):
        yield layer
        yield from all_layers(layer)


def count_params(model: keras.Model) -> dict[str, int]:
    """Trainable and non-trainable parameter counts (what ``model.summary()`` prints at the bottom).

    Used in chapters 02-09.
    """
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    frozen = sum(math.prod(w.shape) for w in model.non_trainable_weights)
    return {"trainable": trainable, "non_trainable": frozen, "total": trainable + frozen}
