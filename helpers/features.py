"""Fast transfer learning with a frozen backbone: compute its features once, train only the head.

When the backbone is frozen and nothing random happens before it (no augmentation), every epoch
pushes the same images through the same backbone and gets the same features: 99 % of the work of
an epoch is repeated for nothing. Chapter 05 writes this out in Keras and checks it equals these
helpers; chapter 06 calls them for every backbone of its zoo::

    extractor = features.feature_extractor(model)                 # images -> pooled backbone features
    feats = features.extract_features(extractor, {"train": train_ds, "val": val_ds})
    head = features.head_model(feats.dim, num_classes)            # the same head as models.transfer_model
    head.fit(feats.dataset("train", 32, shuffle=True), validation_data=feats.dataset("val", 32), ...)
    fast_model = features.attach_head(extractor, head)            # images -> classes again, to save and use

Caching is *not* allowed when the features change from one epoch to the next: with augmentation
(the input image changes every epoch) or while fine-tuning (the backbone's weights change every
step). :func:`cache_blockers` lists such reasons for a given extractor.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from helpers import evaluation, models

#: Layers that behave differently in training than in prediction; before the cut they forbid caching.
_TRAINING_ONLY = (layers.Dropout, layers.GaussianNoise, layers.GaussianDropout, layers.AlphaDropout,
                  layers.SpatialDropout1D, layers.SpatialDropout2D, layers.SpatialDropout3D)


def feature_extractor(model: keras.Model, layer: str = "pool") -> keras.Model:
    """The frozen part of a transfer model, from its image input up to ``layer`` (inclusive).

    For a model built by :func:`helpers.models.transfer_model` the default ``"pool"`` gives
    images -> preprocessing -> backbone -> global average pooling, i.e. one feature vector per
    image. The extractor shares its layers (and weights) with ``model``: nothing is copied.
    Chapter 05 writes it out (``keras.Model(model.input, model.get_layer("pool").output)``) and checks
    it equals this; chapter 06 builds every backbone's extractor with it (:func:`helpers.zoo.backbone_extractor`).
    """
    try:
        cut = model.get_layer(layer)
    except ValueError:
        names = ", ".join(lyr.name for lyr in model.layers)
        raise ValueError(f"{model.name} has no layer {layer!r}; its layers are: {names}.") from None
    return keras.Model(model.input, cut.output, name=f"{model.name}_features")


@dataclass
class Features:
    """Cached features of each split, their labels, and how long extracting them took.

    What :func:`extract_features` returns. Chapter 05 fills one by hand (a loop over each split's
    batches) and checks it equals the helper's; chapter 06 keeps one per backbone.

    Attributes:
        x: ``{split: float32 array (n, feature_dim)}``.
        y: ``{split: int32 array (n,)}``, aligned with ``x``.
        seconds: ``{split: wall seconds}`` of the pass over that split (decoding, resizing and the
            backbone; the first batches also pay for tracing the graph).
        image_size: Input side of the model that made the features (0 when unknown).
        params: Parameters of that model (the backbone's; preprocessing and pooling have none).
    """

    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    seconds: dict[str, float] = field(default_factory=dict)
    image_size: int = 0
    params: int = 0

    def __post_init__(self) -> None:
        for split in self.x:
            if len(self.x[split]) != len(self.y[split]):
                raise ValueError(f"{split}: {len(self.x[split])} feature rows but {len(self.y[split])} labels.")

    @property
    def dim(self) -> int:
        """Length of one feature vector."""
        return int(next(iter(self.x.values())).shape[1])

    @property
    def images(self) -> int:
        """Images in all splits together."""
        return sum(len(v) for v in self.y.values())

    @property
    def total_seconds(self) -> float:
        """Seconds of the whole extraction (every split)."""
        return float(sum(self.seconds.values()))

    @property
    def images_per_second(self) -> float:
        """Throughput of the whole extraction (input pipeline plus backbone)."""
        return self.images / self.total_seconds if self.total_seconds > 0 else math.nan

    def dataset(self, split: str, batch_size: int, *, shuffle: bool = False, seed: int = 0) -> tf.data.Dataset:
        """A batched ``(features, labels)`` dataset of one split, reshuffled every epoch when ``shuffle``.

        It has the same batch size and shuffling as the image pipeline, so a head trained on it sees
        the same kind of updates as one trained end to end.
        """
        ds = tf.data.Dataset.from_tensor_slices((np.asarray(self.x[split], np.float32),
                                                 np.asarray(self.y[split], np.int32)))
        if shuffle:
            ds = ds.shuffle(len(self.y[split]), seed=seed, reshuffle_each_iteration=True)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def extract_features(extractor: keras.Model, splits: Mapping[str, tf.data.Dataset]) -> Features:
    """Run ``extractor`` once over each split's batched ``(images, labels)`` dataset; keep features and labels.

    Each batch is predicted as it is read, so features and labels stay paired even if a dataset
    reshuffles on every pass (``extractor.predict(ds)`` followed by a second pass to read the labels
    would silently misalign them). The extractor runs as one compiled graph that accepts any batch
    size (:func:`helpers.evaluation.forward_step`, traced once for all the splits); each pass is timed.
    Chapter 05 writes the loop out and checks it equals this; chapter 06 calls it for every backbone.

    Args:
        extractor: A model from :func:`feature_extractor` (any model that maps images to vectors).
        splits: ``{split: dataset}``, e.g. ``{"train": train_ds, "val": val_ds, "test": test_ds}``.

    Returns:
        A :class:`Features` with float32 features and int32 labels in the order each dataset produced them.
    """
    step = evaluation.forward_step(extractor)
    x: dict[str, np.ndarray] = {}
    y: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    for split, dataset in splits.items():
        start = time.perf_counter()
        feats: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        for batch in dataset:
            feats.append(np.asarray(step(tf.cast(batch[0], tf.float32)), dtype=np.float32))
            labels.append(np.asarray(batch[1]).reshape(-1).astype(np.int32))
        if not feats:
            raise ValueError(f"The {split!r} split is empty: there are no features to extract.")
        x[split], y[split] = np.concatenate(feats), np.concatenate(labels)
        seconds[split] = time.perf_counter() - start
    return Features(x, y, seconds, image_size=int(extractor.input_shape[1] or 0),
                    params=int(models.count_params(extractor)["total"]))


def head_model(feature_dim: int, num_classes: int, *, head_units: int | None = None, dropout: float | None = 0.2,
               standardize: np.ndarray | None = None, name: str = "head") -> keras.Model:
    """A classification head on its own, for cached features; not compiled.

    Input: a feature vector of ``feature_dim`` numbers. Then, in this order:

    - with ``standardize`` (the *training* features), a ``Normalization`` layer (``centre_scale``) that
      subtracts each feature's mean and divides all features by one number, their common spread, both
      measured on those features only. One learning rate then suits every backbone, although their
      feature scales differ by orders of magnitude; one common scale (rather than one per feature) keeps
      features that hardly vary from being blown up. The layer has no trainable weights;
    - with ``head_units``, ``Dense(head_units, relu)`` (``head_dense``);
    - unless ``dropout`` is ``None``, ``Dropout(dropout)`` (``head_dropout``);
    - a softmax over ``num_classes`` (``predictions``).

    The defaults give exactly the head of :func:`helpers.models.transfer_model` (same layers, same names).
    Chapter 05 trains it on cached features; chapter 06 gives every backbone the ``standardize`` head
    (course recipe) or the plain softmax layer, ``dropout=None`` (article recipe).
    """
    inputs = keras.Input(shape=(feature_dim,), name="features")
    x = inputs
    if standardize is not None:
        train = np.asarray(standardize, dtype=np.float64)
        mean = train.mean(axis=0)
        spread = float(((train - mean) ** 2).mean())  # the variance of all centred features together
        x = layers.Normalization(mean=mean.astype(np.float32), variance=np.full_like(mean, spread, dtype=np.float32),
                                 name="centre_scale")(x)
    if head_units:
        x = layers.Dense(head_units, activation="relu", name="head_dense")(x)
    if dropout is not None:
        x = layers.Dropout(dropout, name="head_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def attach_head(extractor: keras.Model, head: keras.Model, name: str | None = None) -> keras.Model:
    """One model again: images -> ``extractor`` -> ``head`` -> class probabilities.

    Use it to save, evaluate or deploy a head that was trained on cached features. It shares the
    layers and weights of both parts. Chapters 05 and 06 check that it predicts on images exactly
    what the head predicts on the cached features.
    """
    if tuple(extractor.output.shape[1:]) != tuple(head.inputs[0].shape[1:]):
        raise ValueError(f"The extractor gives features of shape {tuple(extractor.output.shape[1:])} but the "
                         f"head expects {tuple(head.inputs[0].shape[1:])}.")
    outputs = head(extractor.output)
    return keras.Model(extractor.input, outputs, name=name or f"{extractor.name}_{head.name}")


def cache_blockers(extractor: keras.Model) -> list[str]:
    """Reasons why the features of ``extractor`` must NOT be computed once and reused; empty when caching is safe.

    Caching is safe only when the extractor gives the same output for the same image in every
    epoch: no trainable weights (fine-tuning changes them every step), no random augmentation
    layers (``Random*``: the input changes every epoch) and no layers that act only in training
    (dropout, noise). Used in chapter 05.
    """
    reasons = []
    trainable = sum(int(np.prod(w.shape)) for w in extractor.trainable_weights)
    if trainable:
        reasons.append(f"{trainable:,} trainable parameters: fine-tuning changes the features at every step")
    inner = list(models.all_layers(extractor))
    random = sorted({lyr.name for lyr in inner if type(lyr).__name__.startswith("Random")})
    if random:
        reasons.append(f"augmentation layers ({', '.join(random)}): the input changes every epoch")
    noisy = sorted({lyr.name for lyr in inner if isinstance(lyr, _TRAINING_ONLY)})
    if noisy:
        reasons.append(f"layers that act only while training ({', '.join(noisy)}): training output differs "
                       "from predicted output")
    return reasons


class EpochTimer(keras.callbacks.Callback):
    """Record the wall time of every epoch (training and validation) in :attr:`seconds`.

    The first epoch includes one-off costs (tracing the model into a graph, decoding and caching the
    images), so :meth:`steady` reports the median of the later epochs: the cost of one more epoch.
    Chapter 05 compares epochs through the backbone with epochs on cached features with it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._start)

    @property
    def first(self) -> float:
        """Seconds of the first epoch (``nan`` before any epoch ran)."""
        return self.seconds[0] if self.seconds else float("nan")

    def steady(self) -> float:
        """Median seconds of the epochs after the first (the first epoch if it is the only one)."""
        if not self.seconds:
            return float("nan")
        later = self.seconds[1:] or self.seconds
        return statistics.median(later)
