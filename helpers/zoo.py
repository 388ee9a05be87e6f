"""A model zoo: many frozen ``keras.applications`` backbones, one recipe, a fair comparison (chapter 06).

Every backbone goes through the steps chapter 05 taught, with :mod:`helpers.features`:

1. :func:`backbone_extractor`: the backbone at its input size, with its own family's preprocessing
   inside (from :data:`helpers.models.BACKBONES`; or, for the Intel article's recipe, a plain division
   by 255), frozen with ``trainable = False`` (which also keeps its BatchNormalization layers in
   inference mode), followed by global average pooling. It takes images as float32 in [0, 255], like
   every model in the course.
2. :func:`helpers.features.extract_features` over :func:`extraction_splits`: one pass over each split,
   keeping the pooled feature vectors in memory (timed, so we know the backbone's throughput).
3. :func:`helpers.features.head_model`: the same small head for every backbone, trained on the cached
   features: the course's (standardise the features with statistics of the training split, dropout, one
   softmax layer) or, for the article recipe, one softmax layer.
4. :func:`make_row`: one comparable row per backbone (size, parameters, speed, accuracy, and the dtype
   policy it actually ran under).

:func:`run_backbone` does all four and frees the backbone's memory; :func:`zoo_table` and
:func:`plot_zoo` compare the rows.

Why caching is legitimate: a frozen backbone in inference mode is a fixed function of the image, and
without augmentation every epoch feeds it the same images, so it would compute exactly the same
features every epoch. Computing them once gives the same head training at a fraction of the cost.
With augmentation or fine-tuning the features change every epoch, and this shortcut no longer applies.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from keras import layers
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from helpers import articles, evaluation, features, models, pipeline, training

_ARTICLE = articles.get("intel_zoo").recipe
#: The 13 backbones the Intel article lists, in its order (from :mod:`helpers.articles`).
_ARTICLE_BACKBONES: tuple[str, ...] = tuple(_ARTICLE["backbones_listed"])
#: The 12 backbones the article trained (not NASNetLarge: it expects 331x331 inputs, the article says); its
#: per-model results are an image, only ResNet101V2's are in its text.
_ARTICLE_TRAINED: tuple[str, ...] = tuple(b for b in _ARTICLE_BACKBONES if b not in _ARTICLE["backbones_not_trained"])

SPLITS = ("train", "val", "test")
#: How images reach a backbone: ``"family"`` (its own ``preprocess_input``, the course) or ``"divide_255"``
#: (images divided by 255 into [0, 1] for every backbone, as the Intel article prepared its arrays).
_PREPROCESSING = ("family", "divide_255")
#: The heads :func:`run_backbone` gives: ``"course"`` (standardised features, dropout, softmax) or ``"dense"``
#: (one softmax layer); both are :func:`helpers.features.head_model`.
_HEADS = ("course", "dense")


def input_size(name: str, override: int | None = None) -> int:
    """The side in pixels a backbone receives: ``override`` when given, else its native size (chapter 06)."""
    return int(override) if override else models.backbone(name).size


def backbone_extractor(name: str, *, image_size: int | None = None, weights: Any = "imagenet",
                       preprocess: str = "family") -> keras.Model:
    """Frozen backbone ``name`` with its preprocessing and global average pooling; outputs one vector per image.

    With ``preprocess="family"`` it is :func:`helpers.features.feature_extractor` of
    :func:`helpers.models.transfer_model`, the extractor chapter 05 writes out, so preprocessing and
    freezing are exactly those of the transfer models in the other chapters. With ``"divide_255"`` a
    ``Rescaling(1/255)`` layer (named ``preprocess``) replaces the family's preprocessing: the Intel
    article's inputs, in [0, 1] whatever the backbone expects. Chapter 06 builds every backbone with it.

    Args:
        name: A key of :data:`helpers.models.BACKBONES`.
        image_size: Input side in pixels; ``None`` for the backbone's native size.
        weights: ``"imagenet"``, ``None`` (random weights, offline) or a weights file.
        preprocess: ``"family"`` or ``"divide_255"``.
    """
    if preprocess == "family":
        model, _ = models.transfer_model(name, 2, image_size=image_size, weights=weights)
        return features.feature_extractor(model)
    if preprocess != "divide_255":
        raise ValueError(f"preprocess must be one of {', '.join(_PREPROCESSING)}, not {preprocess!r}.")
    spec = models.backbone(name)
    size = input_size(name, image_size)
    inputs = keras.Input(shape=(size, size, 3), name="image")
    x = layers.Rescaling(1.0 / 255, name="preprocess")(inputs)
    base = spec.build((size, size, 3), weights)
    base.trainable = False  # freezes its weights and keeps its BatchNormalization layers in inference mode
    x = base(x, training=False)
    outputs = layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, outputs, name=f"{name}_features")


def preprocess_mode(name: str, preprocess: str = "family") -> str:
    """What a backbone's inputs go through: its family's mode (``"tf"``, ``"caffe"``, ...) or ``"divide_255"``.

    Chapter 06 prints it for every backbone of its zoo.
    """
    return models.backbone(name).preprocess if preprocess == "family" else preprocess


def extraction_splits(data: Any, image_size: int, batch_size: int,
                      splits: Sequence[str] = SPLITS) -> dict[str, tf.data.Dataset]:
    """Each split of a :class:`helpers.datasets.Loaded` at ``image_size``, in file order, for one pass.

    Not shuffled (every backbone sees the images in the same order, and row ``i`` of the features
    belongs to ``data.files[split][i]``) and not cached (each backbone reads the images once). Chapter 06
    extracts its features from them.
    """
    return {
        split: pipeline.make_dataset(data.files[split], data.labels[split], image_size=(image_size, image_size),
                                     batch_size=batch_size, shuffle=False, cache=False)
        for split in splits
    }


def _new_head(kind: str, train_features: np.ndarray, num_classes: int, *, dropout: float = 0.2) -> keras.Model:
    """The head of one of :data:`_HEADS` for features like ``train_features``, compiled later.

    ``"course"``: standardised features (statistics of the training split), dropout, softmax. ``"dense"``:
    one softmax layer on the pooled features, nothing else: the classification top most ``keras.applications``
    models have with ``include_top=True``; the Intel article says only the top layer(s) were trained.
    """
    dim = int(np.shape(train_features)[1])
    if kind == "course":
        return features.head_model(dim, num_classes, dropout=dropout, standardize=train_features)
    if kind == "dense":
        return features.head_model(dim, num_classes, dropout=None)
    raise ValueError(f"head must be one of {', '.join(_HEADS)}, not {kind!r}.")


def _dtype_policy() -> str:
    """The name of Keras' global dtype policy now (``"float32"``, or ``"mixed_float16"`` on a GPU)."""
    return keras.mixed_precision.global_policy().name


def free_memory() -> None:
    """Drop Keras' global state and collect garbage, so the next backbone starts with free memory.

    Delete your own references to the old model (``del extractor``) before calling it. Chapter 06 calls
    it after each backbone (and :func:`run_backbone` does).

    ``keras.backend.clear_session()`` also resets Keras' global dtype policy to ``float32`` and forgets
    the default ``tf.distribute`` strategy, both of which :func:`helpers.runtime.setup` may have set
    (mixed precision on one GPU, ``MirroredStrategy`` on several). Without putting them back, every
    backbone after the first would silently run in float32 on one device. This function restores both.
    """
    policy = keras.mixed_precision.global_policy()
    strategy = tf.distribute.get_strategy() if tf.distribute.has_strategy() else None
    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy(policy)
    if strategy is not None and not tf.distribute.has_strategy():
        tf.distribute.experimental_set_strategy(strategy)
    gc.collect()


@dataclass
class ZooRow:
    """One backbone's line in the comparison.

    Used in chapter 06.
    """

    backbone: str
    in_article: bool
    image_size: int
    preprocess: str
    params: int
    feature_dim: int
    images: int
    extract_seconds: float
    images_per_second: float
    train_images: int
    val_images: int
    head_epochs: int
    head_seconds_per_epoch: float
    val_accuracy: float
    val_loss: float
    test_accuracy: float
    metrics: dict[str, float] = field(repr=False)
    dtype_policy: str = "float32"
    #: Class probabilities of every test image, in file order (for the error gallery); not written to results.
    test_probabilities: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def article_trained(self) -> bool:
        """True for the 12 backbones the article trained (not NASNetLarge, not the course's additions)."""
        return self.backbone in _ARTICLE_TRAINED

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values (times rounded; the test probabilities left out)."""
        row = asdict(self)
        row.pop("test_probabilities")
        for key in ("extract_seconds", "images_per_second", "head_seconds_per_epoch"):
            row[key] = round(float(row[key]), 3)
        return row

    def uncached_seconds(self, epochs: int | None = None) -> float:
        """Estimated time of the usual recipe, the backbone run on every image in every epoch.

        Each of ``epochs`` epochs passes the training and validation images through the backbone at
        the measured throughput (the head's share is negligible); the test set is passed once.
        """
        epochs = self.head_epochs if epochs is None else epochs
        per_image = 1.0 / self.images_per_second
        test = self.images - self.train_images - self.val_images
        return epochs * (self.train_images + self.val_images) * per_image + test * per_image

    def cached_seconds(self, epochs: int | None = None) -> float:
        """Time of this chapter's recipe: one extraction pass plus ``epochs`` head epochs."""
        epochs = self.head_epochs if epochs is None else epochs
        return self.extract_seconds + epochs * self.head_seconds_per_epoch


def make_row(name: str, feats: features.Features, history: keras.callbacks.History, metrics: Mapping[str, float], *,
             seconds: float, preprocess: str = "family", restored: bool = True, dtype_policy: str | None = None,
             test_probabilities: np.ndarray | None = None) -> ZooRow:
    """Summarise one backbone: size, parameters, speed, validation and test results.

    ``history`` is what the head's ``fit`` returned and ``seconds`` how long that ``fit`` took (a
    :class:`~helpers.training.Timer`'s ``seconds``). The validation figures are those of the weights the
    head kept: with early stopping that restores the best weights (``restored=True``) the best epoch
    (lowest validation loss), else the last epoch. ``dtype_policy`` is the Keras dtype policy the backbone
    and head ran under (default: the global policy now). ``test_probabilities``, the head's predictions
    for the test split, are kept on the row for chapter 06's error gallery. Chapter 06 calls it for the
    backbone it trains by hand; :func:`run_backbone` for every other one.
    """
    logs = history.history
    epochs = len(logs["val_loss"])
    kept = int(np.argmin(logs["val_loss"])) if restored else epochs - 1
    return ZooRow(
        backbone=name,
        in_article=name in _ARTICLE_BACKBONES,
        image_size=feats.image_size,
        preprocess=preprocess_mode(name, preprocess),
        params=feats.params,
        feature_dim=feats.dim,
        images=feats.images,
        extract_seconds=feats.total_seconds,
        images_per_second=feats.images_per_second,
        train_images=len(feats.y["train"]),
        val_images=len(feats.y["val"]),
        head_epochs=epochs,
        head_seconds_per_epoch=seconds / max(epochs, 1),
        val_accuracy=round(float(logs["val_accuracy"][kept]), 4),
        val_loss=round(float(logs["val_loss"][kept]), 4),
        test_accuracy=float(metrics["accuracy"]),
        metrics=dict(metrics),
        dtype_policy=dtype_policy or _dtype_policy(),
        test_probabilities=None if test_probabilities is None else np.asarray(test_probabilities),
    )


def run_backbone(
    name: str,
    data: Any,
    *,
    image_size: int | None = None,
    weights: Any = "imagenet",
    epochs: int = 15,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    patience: int = 3,
    dropout: float = 0.2,
    restore_best_weights: bool = True,
    preprocess: str = "family",
    head: str = "course",
    seed: int = 0,
    verbose: int = 0,
) -> ZooRow:
    """The whole recipe for one backbone; returns its :class:`ZooRow` and frees the backbone.

    Chapter 06 writes these steps out for the first backbone of its zoo (seed, extractor,
    :func:`helpers.features.extract_features`, head, ``fit`` with a :class:`~helpers.training.Timer`,
    evaluation), checks that this function gives the same row for it, then calls it for every other backbone.

    Args:
        name: A key of :data:`helpers.models.BACKBONES`.
        data: A :class:`helpers.datasets.Loaded`; its files are read again at the backbone's size
            (see :func:`extraction_splits`), whatever size it was loaded at.
        image_size: Input side; ``None`` for the backbone's native size.
        weights: ``"imagenet"`` or ``None`` (random weights, for offline smoke runs).
        batch_size: Images per batch during extraction, feature vectors per batch for the head.
        epochs, learning_rate, patience, dropout: The head's training budget, the same
            for every backbone. Early stopping watches the validation loss (Keras' default monitor).
        restore_best_weights: Whether early stopping restores the best epoch's weights (the course: yes).
        preprocess: ``"family"`` or ``"divide_255"`` (see :func:`backbone_extractor`).
        head: ``"course"`` (standardised features, dropout, softmax) or ``"dense"`` (one softmax layer), both
            :func:`helpers.features.head_model`; ``dropout`` only applies to ``"course"``.
        seed: Seeds weight initialisation and shuffling, so each backbone starts alike whatever its
            position in the list.
        verbose: Keras ``verbose`` for the head's ``fit`` (0: silent).
    """
    keras.utils.set_random_seed(seed)
    size = input_size(name, image_size)
    backbone_policy = _dtype_policy()
    extractor = backbone_extractor(name, image_size=size, weights=weights, preprocess=preprocess)
    feats = features.extract_features(extractor, extraction_splits(data, size, batch_size))
    del extractor  # the features are all we need from the backbone: release it before training the head
    free_memory()
    model = _new_head(head, feats.x["train"], len(data.class_names), dropout=dropout)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    head_policy = _dtype_policy()  # read at train time: free_memory must not have changed it
    timer = training.Timer()
    history = model.fit(
        feats.dataset("train", batch_size, shuffle=True, seed=seed),
        validation_data=feats.dataset("val", batch_size), epochs=epochs, verbose=verbose, shuffle=False,
        callbacks=[keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=restore_best_weights),
                   timer],
    )
    # A direct call (no compiled predict function to trace): the head is one small layer.
    y_prob = keras.ops.convert_to_numpy(model(feats.x["test"], training=False))
    metrics = evaluation.classification_metrics(feats.y["test"], y_prob)
    policy = backbone_policy if backbone_policy == head_policy else f"backbone {backbone_policy}, head {head_policy}"
    row = make_row(name, feats, history, metrics, seconds=timer.seconds, preprocess=preprocess,
                   restored=restore_best_weights, dtype_policy=policy, test_probabilities=y_prob)
    del model, feats
    free_memory()
    return row


def best_row(rows: Sequence[ZooRow]) -> ZooRow:
    """The winner chosen on the *validation* split: highest accuracy, then lowest loss.

    Used in chapter 06.

    The test split is only used to report the winner's accuracy, never to choose it.
    """
    if not rows:
        raise ValueError("No rows to choose from.")
    return max(rows, key=lambda r: (r.val_accuracy, -r.val_loss))


def article_status(name: str) -> str:
    """``"trained"`` (one of the article's 12), ``"listed, not trained"`` (NASNetLarge) or ``"no (course)"``.

    Used in chapter 06.
    """
    if name in _ARTICLE_TRAINED:
        return "trained"
    return "listed, not trained" if name in _ARTICLE_BACKBONES else "no (course)"


def zoo_table(rows: Sequence[ZooRow]) -> pd.DataFrame:
    """The comparison as a table, best validation accuracy first (the order a choice may be made in).

    Used in chapter 06.

    The test accuracy of every backbone is shown too; choosing among them by it would repeat the
    article's mistake (its winner was named by test accuracy): choose by validation accuracy.
    """
    ordered = sorted(rows, key=lambda r: (-r.val_accuracy, r.val_loss))
    return pd.DataFrame([
        {
            "backbone": r.backbone,
            "in the article": article_status(r.backbone),
            "input px": r.image_size,
            "preprocessing": r.preprocess,
            "params (M)": round(r.params / 1e6, 1),
            "feature dim": r.feature_dim,
            "images/s": round(r.images_per_second),
            "extract s": round(r.extract_seconds, 1),
            "head s/epoch": round(r.head_seconds_per_epoch, 2),
            "head epochs": r.head_epochs,
            "dtype policy": r.dtype_policy,
            "val accuracy": round(r.val_accuracy, 4),
            "test accuracy": round(r.test_accuracy, 4),
        }
        for r in ordered
    ])


def accuracy_standard_error(accuracy: float, n: int) -> float:
    """Binomial standard error of an accuracy measured on ``n`` test images.

    Used in chapter 06.

    Two accuracies closer than about two standard errors are not clearly different.
    """
    if n <= 0:
        raise ValueError("n must be positive")
    return math.sqrt(max(accuracy * (1 - accuracy), 0.0) / n)


def plot_zoo(rows: Sequence[ZooRow], *, metric: str = "val_accuracy", reference: float | None = None,
             reference_label: str = "article", title: str | None = None) -> Figure:
    """Accuracy against model size and against time per image, one labelled point per backbone.

    Used in chapter 06.

    Left: accuracy against backbone parameters (millions, log scale). Right: accuracy against
    milliseconds per image during feature extraction (log scale). Up and to the left is better in
    both. ``metric`` is ``"val_accuracy"`` (the default: a plot you choose a backbone from must not show
    test figures) or ``"test_accuracy"``. The 12 backbones the article trained are blue circles, the
    others (NASNetLarge, which it listed but did not train, and the course's additions) orange squares.
    ``reference`` draws a dashed horizontal line (for example the article's best accuracy). Labels are
    placed beside their points where they overlap neither another label nor a point, when such a place exists.
    """
    if not rows:
        raise ValueError("No rows to plot.")
    if metric not in ("val_accuracy", "test_accuracy"):
        raise ValueError(f"metric must be 'val_accuracy' or 'test_accuracy', not {metric!r}.")
    fig = Figure(figsize=(12.0, 5.2), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    panels = (
        ("backbone parameters (millions, log scale)", [r.params / 1e6 for r in rows]),
        ("milliseconds per image, feature extraction (log scale)", [1000.0 / r.images_per_second for r in rows]),
    )
    accuracies = [100 * getattr(r, metric) for r in rows]
    for ax, (xlabel, xs) in zip(axes, panels, strict=True):
        for group, marker, colour in ((True, "o", "tab:blue"), (False, "s", "tab:orange")):
            idx = [i for i, r in enumerate(rows) if r.article_trained == group]
            if idx:
                ax.scatter([xs[i] for i in idx], [accuracies[i] for i in idx], marker=marker, s=50, color=colour,
                           label="trained in the article" if group else "not trained in the article", zorder=3)
        if reference is not None:
            ax.axhline(100 * reference, color="grey", linestyle="--", linewidth=1, label=reference_label)
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3, which="both")
        ax.margins(y=0.1)
        _pad_log_axis(ax, xs)
    axes[0].set_ylabel(("validation" if metric == "val_accuracy" else "test") + " accuracy (%)")
    for ax, (_, xs) in zip(axes, panels, strict=True):  # limits are final now: place the labels
        _label_points(ax, xs, accuracies, [r.backbone for r in rows], panel_inches=(5.4, 4.2))
    axes[0].legend(loc="best", fontsize=8)
    fig.suptitle(title or "Frozen backbones: accuracy against size and speed")
    return fig


_LABEL_OFFSETS = ((5, 3), (5, -11), (-5, 3), (-5, -11), (5, 12), (5, -20), (-5, 12), (-5, -20), (0, 14), (0, -22))


def _label_points(ax: Any, xs: Sequence[float], ys: Sequence[float], names: Sequence[str], *,
                  panel_inches: tuple[float, float], fontsize: float = 8) -> None:
    """Annotate each point with its name, at the first offset whose (estimated) box collides with nothing."""
    to_axes = ax.transData + ax.transAxes.inverted()
    points = to_axes.transform(np.column_stack([xs, ys]))
    per_point = (1 / 72 / panel_inches[0], 1 / 72 / panel_inches[1])  # axes fraction per typographic point
    height = 1.2 * fontsize * per_point[1]
    dot = 4 * per_point[0], 4 * per_point[1]
    taken = [(px - dot[0], py - dot[1], px + dot[0], py + dot[1]) for px, py in points]
    for (px, py), x, y, name in sorted(zip(points, xs, ys, names, strict=True), key=lambda t: -t[0][1]):
        width = 0.6 * fontsize * len(name) * per_point[0]
        choice, box = _LABEL_OFFSETS[0], None
        for dx, dy in _LABEL_OFFSETS:
            x0 = px + dx * per_point[0] - (width if dx < 0 else width / 2 if dx == 0 else 0)
            y0 = py + dy * per_point[1]
            candidate = (x0, y0, x0 + width, y0 + height)
            inside = candidate[0] >= 0 and candidate[2] <= 1 and candidate[1] >= 0 and candidate[3] <= 1
            if inside and not any(_overlap(candidate, other) for other in taken):
                choice, box = (dx, dy), candidate
                break
        if box is not None:
            taken.append(box)
        dx, dy = choice
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=fontsize,
                    ha="left" if dx > 0 else "right" if dx < 0 else "center", va="bottom")


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _pad_log_axis(ax: Any, xs: Sequence[float]) -> None:
    """Plain tick labels (1, 2, 5, 10, 20, 50, ...) on a log axis, with room for the labels right of the points."""
    lo, hi = min(xs), max(xs)
    ax.set_xlim(lo / 2.2, hi * 2.2)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(FuncFormatter(_one_two_five))


def _one_two_five(value: float, _pos: Any = None) -> str:
    """Label the minor ticks 2x and 5x a power of ten only, so a log axis stays readable."""
    if value <= 0:
        return ""
    mantissa = round(value / 10 ** math.floor(math.log10(value)), 6)
    return f"{value:g}" if mantissa in (2.0, 5.0) else ""
