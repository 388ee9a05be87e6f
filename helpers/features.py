"""Fast transfer learning with a frozen backbone: compute its features once, train only the head.

When the backbone is frozen and nothing random happens before it (no augmentation), every epoch
pushes the same images through the same backbone and gets the same features: 99 % of the work of
an epoch is repeated for nothing. This module does that work once::

    extractor = features.feature_extractor(model)              # images -> pooled backbone features
    train_x, train_y = features.extract_features(extractor, train_ds)
    head = features.head_model(train_x.shape[1], num_classes)  # the same head as models.transfer_model
    head.fit(features.features_dataset(train_x, train_y, batch_size=32, shuffle=True), ...)
    fast_model = features.attach_head(extractor, head)         # images -> classes again, to save and use

Caching is *not* allowed when the features change from one epoch to the next: with augmentation
(the input image changes every epoch) or while fine-tuning (the backbone's weights change every
step). :func:`cache_blockers` lists such reasons for a given extractor.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers

#: Layers that behave differently in training than in prediction; before the cut they forbid caching.
_TRAINING_ONLY = (layers.Dropout, layers.GaussianNoise, layers.GaussianDropout, layers.AlphaDropout,
                  layers.SpatialDropout1D, layers.SpatialDropout2D, layers.SpatialDropout3D)


def feature_extractor(model: keras.Model, layer: str = "pool") -> keras.Model:
    """The frozen part of a transfer model, from its image input up to ``layer`` (inclusive).

    For a model built by :func:`helpers.models.transfer_model` the default ``"pool"`` gives
    images -> preprocessing -> backbone -> global average pooling, i.e. one feature vector per
    image. The extractor shares its layers (and weights) with ``model``: nothing is copied.
    """
    try:
        cut = model.get_layer(layer)
    except ValueError:
        names = ", ".join(lyr.name for lyr in model.layers)
        raise ValueError(f"{model.name} has no layer {layer!r}; its layers are: {names}.") from None
    return keras.Model(model.input, cut.output, name=f"{model.name}_features")


def forward_step(extractor: keras.Model):
    """``extractor`` as one compiled graph that accepts any batch size (traced once, not per batch shape)."""

    def forward(images: tf.Tensor) -> tf.Tensor:
        return extractor(images, training=False)

    return tf.function(forward, autograph=False,
                       input_signature=[tf.TensorSpec((None, *extractor.input_shape[1:]), tf.float32)])


def extract_features(extractor: keras.Model, dataset: tf.data.Dataset, *, step=None) -> tuple[np.ndarray, np.ndarray]:
    """Run ``extractor`` over a batched ``(images, labels)`` dataset once; return ``(features, labels)``.

    Each batch is predicted as it is read, so features and labels stay paired even if the dataset
    reshuffles on every pass (``extractor.predict(ds)`` followed by a second pass to read the labels
    would silently misalign them).

    Returns:
        ``features`` float32 of shape ``(n, *extractor.output_shape[1:])`` and ``labels`` int32 of
        shape ``(n,)``, in the order the dataset produced them.

    ``step`` is a :func:`forward_step` of ``extractor`` to reuse across calls (one trace for several splits).
    """
    step = step or forward_step(extractor)
    feats: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for batch in dataset:
        images, batch_labels = batch[0], batch[1]
        feats.append(np.asarray(step(tf.cast(images, tf.float32)), dtype=np.float32))
        labels.append(np.asarray(batch_labels).reshape(-1).astype(np.int32))
    if not feats:
        raise ValueError("The dataset is empty: there are no features to extract.")
    return np.concatenate(feats), np.concatenate(labels)


def features_dataset(features: np.ndarray, labels: np.ndarray, *, batch_size: int, shuffle: bool = False,
                     seed: int = 0) -> tf.data.Dataset:
    """Batched ``(features, labels)`` dataset, reshuffled every epoch when ``shuffle`` (for training).

    It has the same batch size and shuffling as the image pipeline, so a head trained on it sees
    the same kind of updates as one trained end to end.
    """
    if len(features) != len(labels):
        raise ValueError(f"{len(features)} feature rows but {len(labels)} labels")
    ds = tf.data.Dataset.from_tensor_slices((np.asarray(features, np.float32), np.asarray(labels, np.int32)))
    if shuffle:
        ds = ds.shuffle(len(features), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def head_model(feature_dim: int, num_classes: int, *, head_units: int | None = None, dropout: float = 0.2,
               name: str = "head") -> keras.Model:
    """The classification head of :func:`helpers.models.transfer_model`, on its own.

    Input: a feature vector of ``feature_dim`` numbers. Then an optional ``Dense(head_units, relu)``,
    ``Dropout(dropout)`` and a softmax over ``num_classes``. The layer names are those of
    ``transfer_model`` (``head_dense``, ``head_dropout``, ``predictions``).
    """
    inputs = keras.Input(shape=(feature_dim,), name="features")
    x = inputs
    if head_units:
        x = layers.Dense(head_units, activation="relu", name="head_dense")(x)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def attach_head(extractor: keras.Model, head: keras.Model, name: str | None = None) -> keras.Model:
    """One model again: images -> ``extractor`` -> ``head`` -> class probabilities.

    Use it to save, evaluate or deploy a head that was trained on cached features. It shares the
    layers and weights of both parts.
    """
    if tuple(extractor.output.shape[1:]) != tuple(head.inputs[0].shape[1:]):
        raise ValueError(f"The extractor gives features of shape {tuple(extractor.output.shape[1:])} but the "
                         f"head expects {tuple(head.inputs[0].shape[1:])}.")
    outputs = head(extractor.output)
    return keras.Model(extractor.input, outputs, name=name or f"{extractor.name}_{head.name}")


def _all_layers(model: keras.Layer) -> Iterator[keras.Layer]:
    """Every layer inside ``model``, nested models included (depth first)."""
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _all_layers(layer)


def cache_blockers(extractor: keras.Model) -> list[str]:
    """Reasons why the features of ``extractor`` must NOT be computed once and reused; empty when caching is safe.

    Caching is safe only when the extractor gives the same output for the same image in every
    epoch: no trainable weights (fine-tuning changes them every step), no random augmentation
    layers (``Random*``: the input changes every epoch) and no layers that act only in training
    (dropout, noise).
    """
    reasons = []
    trainable = sum(int(np.prod(w.shape)) for w in extractor.trainable_weights)
    if trainable:
        reasons.append(f"{trainable:,} trainable parameters: fine-tuning changes the features at every step")
    random = sorted({lyr.name for lyr in _all_layers(extractor) if type(lyr).__name__.startswith("Random")})
    if random:
        reasons.append(f"augmentation layers ({', '.join(random)}): the input changes every epoch")
    noisy = sorted({lyr.name for lyr in _all_layers(extractor) if isinstance(lyr, _TRAINING_ONLY)})
    if noisy:
        reasons.append(f"layers that act only while training ({', '.join(noisy)}): training output differs "
                       "from predicted output")
    return reasons


class EpochTimer(keras.callbacks.Callback):
    """Record the wall time of every epoch (training and validation) in :attr:`seconds`.

    The first epoch includes one-off costs (tracing the model into a graph, decoding and caching the
    images), so :meth:`steady` reports the median of the later epochs: the cost of one more epoch.
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
