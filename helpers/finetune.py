"""Fine-tuning a pretrained backbone safely: unfreeze its top, keep BatchNormalization frozen.

The two-phase recipe of chapter 07:

1. Train a new head on a frozen backbone (:func:`helpers.models.transfer_model` builds it with
   ``base.trainable = False``).
2. Unfreeze the backbone's top layers with :func:`unfreeze_top`, **compile again** (Keras applies a
   change of ``trainable`` when the model is compiled), check that the number of trainable weights
   grew, and train on with a small learning rate.

:func:`unfreeze_top` keeps every BatchNormalization layer frozen: its scale and offset are not
trained and, because a BatchNormalization layer whose ``trainable`` is ``False`` always runs in
inference mode in Keras 3, its moving mean and variance (estimated on ImageNet) are not replaced by
the statistics of small fine-tuning batches. Calling the backbone with ``training=False`` does **not**
do this in Keras 3: ``fit`` passes ``training=True`` down and it wins; :func:`batchnorm_demo` shows it
on a toy model (chapters 05, 07 and 08 run it). The other functions measure what fine-tuning does:
how far the weights move (:func:`relative_change`) and how much the features change
(:func:`pooled_features`, :func:`mean_cosine_similarity`); :func:`undo_afterwards` runs an
experiment on a trained model and puts it back as it was. :func:`input_shift` measures what another
input preprocessing (say ``/255`` instead of InceptionV3's [-1, 1]) does to a backbone's activations, with
its BatchNormalization layers in inference mode and in training mode.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import keras
import numpy as np
import pandas as pd

from helpers import models

__all__ = [
    "batchnorm_demo", "batchnorm_layers", "estimate_batchnorm_statistics", "input_shift", "mean_cosine_similarity",
    "pooled_features", "relative_change", "snapshot", "trainable_counts", "undo_afterwards", "unfreeze_top",
]


def batchnorm_layers(model: keras.Layer) -> list[keras.layers.BatchNormalization]:
    """All BatchNormalization layers of ``model``, including those inside nested models.

    Used in chapters 07, 08 and 09.
    """
    return [layer for layer in models.all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]


def trainable_counts(model: keras.Layer) -> dict[str, int]:
    """How many weight tensors of ``model`` are trainable, and how many numbers they hold.

    Used in chapter 07.

    Returns ``{"weights": number of trainable weight tensors, "params": number of trainable
    parameters}``: the two figures to compare before and after changing ``trainable``.
    """
    weights = model.trainable_weights
    return {"weights": len(weights), "params": int(sum(math.prod(w.shape) for w in weights))}


def unfreeze_top(
    base: keras.Model,
    n_layers: int | None = None,
    *,
    from_layer_name: str | None = None,
    keep_bn_frozen: bool = True,
    model: keras.Model | None = None,
) -> dict[str, Any]:
    """Make the top of a frozen backbone trainable; everything below the cut stays frozen.

    Chapter 07 writes it out and checks it equals this; chapters 08 and 09 call it.

    Sets ``base.trainable = True`` (which makes every layer trainable), then freezes again every
    layer below the cut and, with ``keep_bn_frozen``, every BatchNormalization layer. Give exactly
    one of:

    Args:
        base: The backbone, e.g. the second value :func:`helpers.models.transfer_model` returns.
        n_layers: Unfreeze the last ``n_layers`` layers of ``base.layers``.
        from_layer_name: Unfreeze the layer of that name and every layer after it (``base.layers``
            is in topological order, so these are the layers that depend on it). For InceptionV3,
            ``"mixed8"`` unfreezes the top two inception blocks (``mixed9`` and ``mixed10``).
        keep_bn_frozen: Keep BatchNormalization layers frozen, hence in inference mode (recommended).
        model: The whole model; when given, the returned counts are the whole model's (head included),
            otherwise the backbone's.

    Returns:
        A dict with ``cut_index`` (position in ``base.layers`` of the first unfrozen layer),
        ``first_trainable`` (its name), ``trainable_layers`` (layers of ``base`` left trainable that
        hold weights), ``frozen_batchnorm`` (BatchNormalization layers kept frozen),
        ``trainable_weights_before``/``_after`` (trainable weight tensors) and
        ``trainable_params_before``/``_after`` (trainable parameters).

    Raises:
        ValueError: Neither or both of ``n_layers`` and ``from_layer_name``, an unknown layer name,
            ``n_layers`` out of range, or a cut that would make no weight trainable.

    Compile the model again afterwards: Keras reads ``trainable`` when it builds the training step.
    """
    if (n_layers is None) == (from_layer_name is None):
        raise ValueError("Give exactly one of n_layers or from_layer_name.")
    layers = list(base.layers)
    if from_layer_name is not None:
        names = [layer.name for layer in layers]
        if from_layer_name not in names:
            raise ValueError(f"{base.name!r} has no layer {from_layer_name!r}; its last layers are "
                             f"{', '.join(names[-5:])}.")
        cut = names.index(from_layer_name)
    else:
        if not 0 < n_layers <= len(layers):
            raise ValueError(f"n_layers must be between 1 and {len(layers)} (the layers of {base.name!r}), "
                             f"not {n_layers}.")
        cut = len(layers) - n_layers
    counted = model if model is not None else base
    before = trainable_counts(counted)
    flags = [(layer, layer.trainable) for layer in [base, *models.all_layers(base)]]

    base.trainable = True  # every layer and weight becomes trainable ...
    for layer in layers[:cut]:  # ... then the layers below the cut are frozen again
        layer.trainable = False
    frozen_bn = 0
    if keep_bn_frozen:  # the BatchNormalization layers above the cut too
        for bn in batchnorm_layers(base):
            if bn.trainable:
                bn.trainable = False
                frozen_bn += 1

    trainable_layers = [layer.name for layer in layers[cut:] if layer.trainable_weights]
    if not trainable_layers:
        for layer, flag in flags:  # leave the backbone as it was
            layer.trainable = flag
        raise ValueError(f"Unfreezing from {layers[cut].name!r} makes no weight of {base.name!r} trainable "
                         "(the layers above the cut hold no trainable weights); cut lower.")
    after = trainable_counts(counted)
    return {
        "cut_index": cut,
        "first_trainable": layers[cut].name,
        "trainable_layers": len(trainable_layers),
        "frozen_batchnorm": frozen_bn,
        "trainable_weights_before": before["weights"],
        "trainable_weights_after": after["weights"],
        "trainable_params_before": before["params"],
        "trainable_params_after": after["params"],
    }


def estimate_batchnorm_statistics(base: keras.Model, inputs: Any) -> int:
    """Set every BatchNormalization layer's moving mean and variance to the statistics of ``inputs``.

    Used in chapters 07 and 09 (smoke profile).

    Only for backbones with **random** weights (``weights=None``, the course's offline ``smoke``
    profile): their statistics were never estimated (mean 0, variance 1), so in inference mode the
    signal shrinks layer after layer and the features come out tiny. One pass of a batch in
    training mode, with momentum 0, stores that batch's statistics, as pretraining would have.
    Never use it on pretrained weights: it would overwrite the statistics the features were
    learned with. The ``trainable`` flags and momenta are restored afterwards.

    Args:
        base: The backbone.
        inputs: One batch exactly as the backbone receives it (already preprocessed).

    Returns:
        The number of BatchNormalization layers updated.
    """
    bns = batchnorm_layers(base)
    saved = [(bn.trainable, bn.momentum) for bn in bns]
    try:
        for bn in bns:
            bn.trainable = True  # a frozen BN runs in inference mode even with training=True
            bn.momentum = 0.0
        base(inputs, training=True)
    finally:
        for bn, (trainable, momentum) in zip(bns, saved, strict=True):
            bn.trainable = trainable
            bn.momentum = momentum
    return len(bns)


def snapshot(weights: Sequence[Any]) -> list[np.ndarray]:
    """Copies of weight values (e.g. ``base.trainable_weights``), to compare with later.

    Used in chapters 05 and 07.
    """
    return [np.array(w, copy=True) for w in weights]


def relative_change(before: Sequence[Any], after: Sequence[Any]) -> float:
    """How far weights moved: ``||after - before|| / ||before||`` over all the tensors together.

    Used in chapters 05 and 07.

    0 means unchanged; 0.01 means the weights moved by 1 % of their size. ``nan`` if a value is
    not finite (training diverged).
    """
    if len(before) != len(after):
        raise ValueError(f"{len(before)} tensors before but {len(after)} after.")
    diff = sum(float(np.sum((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
               for b, a in zip(before, after, strict=True))
    size = sum(float(np.sum(np.asarray(b, np.float64) ** 2)) for b in before)
    if size == 0:
        raise ValueError("The weights before are all zero: a relative change is undefined.")
    value = math.sqrt(diff / size)
    return value if math.isfinite(value) else math.nan


def pooled_features(base: keras.Model, inputs: Any) -> np.ndarray:
    """The backbone's features of a batch, averaged over space: shape ``(batch, channels)``.

    Used in chapter 07.

    ``inputs`` must already be preprocessed for the backbone. The backbone runs in inference mode
    (eagerly, without tracing a graph).
    """
    maps = np.asarray(base(inputs, training=False))
    return maps.mean(axis=(1, 2)) if maps.ndim == 4 else maps


def mean_cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Average cosine similarity of matching rows of ``a`` and ``b`` (1 = same direction).

    Used in chapter 07.

    Used to compare the features of the same images before and after training; ``nan`` when a
    value is not finite.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"Shapes differ: {a.shape} and {b.shape}.")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return math.nan
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where(norms > 0, np.sum(a * b, axis=1) / norms, np.nan)
    return round(float(np.nanmean(cos)), 4) if np.isfinite(cos).any() else math.nan


def input_shift(base: keras.Model, reference: Any, other: Any, layer_names: Sequence[str] = ()) -> pd.DataFrame:
    """How differently ``base`` responds to two preprocessings of the same images, layer by layer.

    Used in chapter 07.

    ``reference`` and ``other`` are the same batch of images, preprocessed two ways (for InceptionV3:
    ``preprocess_input``, i.e. [-1, 1], and ``/ 255``, i.e. [0, 1]). Both pass through ``base`` twice:

    - in **inference mode**: every BatchNormalization layer normalises with its moving mean and variance
      (what a frozen BatchNormalization layer always does, and what ``predict``/``evaluate`` do);
    - in **training mode**: every BatchNormalization layer normalises with the batch's own statistics
      (what ``fit`` does to a *trainable* BatchNormalization layer). For this pass the layers are made
      trainable for a moment; their ``trainable`` flags and moving statistics are put back afterwards,
      so nothing of ``base`` changes.

    For each probed layer (``layer_names``, then the backbone's output averaged over space, which is what
    a ``GlobalAveragePooling2D`` head sees) it reports the mean cosine similarity of the two activations of
    each image (1: same direction) and the ratio of their sizes (root mean square of ``other`` over that of
    ``reference``; 1: same size).

    Returns:
        One row per probed layer with the columns ``layer``, ``inference mode: cosine``,
        ``inference mode: size ratio``, ``training mode: cosine``, ``training mode: size ratio``.
    """
    names = [*layer_names, "pooled output"]
    probe = keras.Model(base.input, [base.get_layer(name).output for name in layer_names] + [base.output])
    bns = batchnorm_layers(base)
    rows: list[dict[str, Any]] = [{"layer": name} for name in names]
    for mode, training in (("inference mode", False), ("training mode", True)):
        flags = [bn.trainable for bn in bns]
        statistics = snapshot([w for bn in bns for w in (bn.moving_mean, bn.moving_variance)])
        try:
            if training:
                for bn in bns:
                    bn.trainable = True  # a frozen BN layer would run in inference mode even with training=True
            outputs = [probe(x, training=training) for x in (reference, other)]
        finally:
            for bn, flag in zip(bns, flags, strict=True):
                bn.trainable = flag
            for variable, value in zip([w for bn in bns for w in (bn.moving_mean, bn.moving_variance)], statistics,
                                       strict=True):
                variable.assign(value)
        for row, a, b in zip(rows, *outputs, strict=True):
            a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
            if row["layer"] == "pooled output" and a.ndim == 4:
                a, b = a.mean(axis=(1, 2)), b.mean(axis=(1, 2))
            a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
            row[f"{mode}: cosine"] = mean_cosine_similarity(a, b)
            row[f"{mode}: size ratio"] = round(float(np.sqrt(np.mean(b**2) / np.mean(a**2))), 4)
    return pd.DataFrame(rows)


@contextmanager
def undo_afterwards(model: keras.Model) -> Iterator[keras.Model]:
    """Run an experiment on ``model`` and restore its weights and optimizer state on exit.

    Used in chapter 07.

    Everything ``model.get_weights()`` holds (BatchNormalization statistics included) and every
    variable of the compiled optimizer (learning rate, step count, momentum) is copied on entry and
    written back on exit, even if the experiment fails or diverges::

        with finetune.undo_afterwards(model):
            model.optimizer.learning_rate = 0.1
            model.fit(train, epochs=1)
        # model and optimizer are as they were before the block
    """
    weights = model.get_weights()
    optimizer = getattr(model, "optimizer", None)
    state = [np.array(v, copy=True) for v in optimizer.variables] if optimizer is not None else []
    try:
        yield model
    finally:
        model.set_weights(weights)
        if optimizer is not None:
            for variable, value in zip(optimizer.variables, state, strict=True):
                variable.assign(value)


def batchnorm_demo(seed: int = 0) -> pd.DataFrame:
    """What keeps a BatchNormalization layer frozen in Keras 3, measured on a toy model.

    Builds, four times, a tiny "backbone" (Dense > BatchNormalization > Dropout) inside a model whose head
    is trained with ``fit`` for one step on inputs far from the layer's statistics, and reports whether the
    BatchNormalization layer's moving mean changed and whether its scale (gamma) was trained. The four
    cases cross the layer's ``trainable`` flag with the way the backbone is called (``base(x)`` or
    ``base(x, training=False)``). In Keras 3 only ``trainable = False`` on the layer keeps both still:
    ``fit`` calls the model with ``training=True`` and that overrides the ``training=False`` recorded when
    the functional model was built. Used by chapters 05, 07 and 08; ``tests/test_keras_behaviour.py``
    checks the same facts on every supported Keras.

    Returns:
        One row per case: ``bn.trainable``, ``backbone called with``, ``moving mean changed``,
        ``gamma trained``.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(3.0, 1.0, (64, 8)).astype("float32")
    y = rng.integers(0, 2, 64)
    rows = []
    for bn_trainable in (True, False):
        for call in ("base(x)", "base(x, training=False)"):
            keras.utils.set_random_seed(seed)
            base_in = keras.Input((8,))
            h = keras.layers.BatchNormalization(name="bn")(keras.layers.Dense(8)(base_in))
            base = keras.Model(base_in, keras.layers.Dropout(0.5)(h), name="base")
            bn = base.get_layer("bn")
            bn.trainable = bn_trainable
            inputs = keras.Input((8,))
            features = base(inputs) if call == "base(x)" else base(inputs, training=False)
            model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(features))
            model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
            mean, gamma = snapshot([bn.moving_mean, bn.gamma])
            model.fit(x, y, batch_size=64, epochs=1, verbose=0)
            rows.append({"bn.trainable": bn_trainable, "backbone called with": call,
                         "moving mean changed": bool(not np.allclose(mean, np.asarray(bn.moving_mean))),
                         "gamma trained": bool(not np.allclose(gamma, np.asarray(bn.gamma)))})
    return pd.DataFrame(rows)
