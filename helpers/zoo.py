"""A model zoo: many frozen ``keras.applications`` backbones, one recipe, a fair comparison.

Every backbone goes through the same steps:

1. :func:`feature_extractor`: the backbone at its input size, with its own family's preprocessing
   inside (from :data:`helpers.models.BACKBONES`), frozen, in inference mode, followed by global
   average pooling. It takes images as float32 in [0, 255], like every model in the course.
2. :func:`extract_features`: one pass over each split, keeping the pooled feature vectors in memory
   (timed, so we know the backbone's throughput in images per second).
3. :func:`feature_head`: the same small head for every backbone (standardise the features with
   statistics of the training split, dropout, one softmax layer), trained on the cached features.
4. :func:`make_row`: one comparable row per backbone (size, parameters, speed, accuracy).

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
import time
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

from helpers import evaluation, features, models, pipeline, training

#: The backbones the Intel article compared (ResNet101V2 won with 90.33 % test accuracy).
ARTICLE_BACKBONES: tuple[str, ...] = (
    "Xception", "VGG16", "VGG19", "InceptionResNetV2", "MobileNetV2", "NASNetLarge", "ResNet50V2",
    "ResNet101V2", "ResNet152V2", "DenseNet121", "DenseNet169", "DenseNet201", "InceptionV3",
)
#: Newer families added by the course.
MODERN_BACKBONES: tuple[str, ...] = ("EfficientNetV2B0", "ConvNeXtTiny")

SPLITS = ("train", "val", "test")


def input_size(name: str, override: int | None = None) -> int:
    """The side in pixels a backbone receives: ``override`` when given, else its native size."""
    return int(override) if override else models.backbone(name).size


def feature_extractor(name: str, *, image_size: int | None = None, weights: Any = "imagenet") -> keras.Model:
    """Frozen backbone ``name`` with its preprocessing and global average pooling; outputs one vector per image.

    It is :func:`helpers.models.transfer_model` cut at its pooling layer, so preprocessing, freezing
    and ``training=False`` are exactly those of the transfer models in the other chapters.

    Args:
        name: A key of :data:`helpers.models.BACKBONES`.
        image_size: Input side in pixels; ``None`` for the backbone's native size.
        weights: ``"imagenet"``, ``None`` (random weights, offline) or a weights file.
    """
    model, _ = models.transfer_model(name, 2, image_size=image_size, weights=weights)
    return keras.Model(model.inputs, model.get_layer("pool").output, name=f"{name}_features")


@dataclass
class Features:
    """Pooled features of each split, their labels, and how long extracting them took.

    Attributes:
        x: ``{split: array (n, feature_dim)}``.
        y: ``{split: int array (n,)}``, aligned with ``x``.
        seconds: ``{split: wall seconds}`` of the pass over that split (decoding, resizing and the
            backbone; the first batches also pay for tracing the graph).
        image_size: Input side of the model that made the features.
        params: Parameters of that model (the backbone's; preprocessing and pooling have none).
    """

    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    seconds: dict[str, float] = field(default_factory=dict)
    image_size: int = 0
    params: int = 0

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
        return float(sum(self.seconds.values()))

    @property
    def images_per_second(self) -> float:
        """Throughput of the whole extraction (input pipeline plus backbone)."""
        return self.images / self.total_seconds if self.total_seconds > 0 else math.nan

    def dataset(self, split: str, batch_size: int, *, shuffle: bool = False, seed: int = 0) -> tf.data.Dataset:
        """A batched ``(features, labels)`` dataset of one split, reshuffled every epoch when ``shuffle``."""
        ds = tf.data.Dataset.from_tensor_slices((self.x[split], self.y[split]))
        if shuffle:
            ds = ds.shuffle(len(self.y[split]), seed=seed, reshuffle_each_iteration=True)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def extraction_splits(data: Any, image_size: int, batch_size: int,
                      splits: Sequence[str] = SPLITS) -> dict[str, tf.data.Dataset]:
    """Each split of a :class:`helpers.datasets.Loaded` at ``image_size``, in file order, for one pass.

    Not shuffled (every backbone sees the images in the same order, and row ``i`` of the features
    belongs to ``data.files[split][i]``) and not cached (each backbone reads the images once).
    """
    return {
        split: pipeline.make_dataset(data.files[split], data.labels[split], image_size=(image_size, image_size),
                                     batch_size=batch_size, shuffle=False, cache=False)
        for split in splits
    }


def extract_features(extractor: keras.Model, splits: Mapping[str, tf.data.Dataset]) -> Features:
    """Run ``extractor`` once over each split and keep the features with their labels.

    Each batch is predicted as it is read, so labels stay aligned with features whatever the order.
    The model runs as one compiled graph that accepts any batch size (traced once).

    Args:
        extractor: A model from :func:`feature_extractor` (any model that maps images to vectors).
        splits: ``{split: dataset}`` of batched ``(images, labels)``, e.g. from :func:`extraction_splits`.
    """
    step = features.forward_step(extractor)
    x: dict[str, np.ndarray] = {}
    y: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    for split, ds in splits.items():
        start = time.perf_counter()
        try:
            x[split], y[split] = features.extract_features(extractor, ds, step=step)
        except ValueError:
            raise ValueError(f"The {split!r} split is empty.") from None
        seconds[split] = time.perf_counter() - start
    return Features(x, y, seconds, image_size=int(extractor.input_shape[1]),
                    params=int(models.count_params(extractor)["total"]))


def feature_head(train_features: np.ndarray, num_classes: int, *, dropout: float = 0.2,
                 name: str = "head") -> keras.Model:
    """The head every backbone gets: centre and scale the features, dropout, softmax; not compiled.

    The ``Normalization`` layer subtracts each feature's mean and divides all features by one number,
    their typical spread, both measured on the *training* features only. One learning rate then
    suits every backbone, although their feature scales differ by orders of magnitude. One common
    scale (rather than one per feature) keeps features that hardly vary in the training images from
    being blown up into huge values. The layer has no trainable weights: the head is a linear
    classifier (multinomial logistic regression) on the scaled features.
    """
    x = np.asarray(train_features, dtype=np.float64)
    mean = x.mean(axis=0)
    spread = float(((x - mean) ** 2).mean())  # the variance of all centred features together
    norm = layers.Normalization(mean=mean.astype(np.float32), variance=np.full_like(mean, spread, dtype=np.float32),
                                name="centre_scale")
    return keras.Sequential([
        keras.Input(shape=(x.shape[1],), name="features"),
        norm,
        layers.Dropout(dropout, name="head_dropout"),
        layers.Dense(num_classes, activation="softmax", dtype="float32", name="predictions"),
    ], name=name)


def compile_head(head: keras.Model, learning_rate: float) -> keras.Model:
    """Compile ``head`` with Adam and sparse categorical cross-entropy (the same for every backbone)."""
    head.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                 loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return head


def full_model(extractor: keras.Model, head: keras.Model, name: str | None = None) -> keras.Model:
    """Backbone and trained head in one model that takes [0, 255] images: what you would deploy."""
    return features.attach_head(extractor, head, name=name or extractor.name.replace("_features", "_classifier"))


def free_memory() -> None:
    """Drop Keras' global state and collect garbage, so the next backbone starts with free memory.

    Delete your own references to the old model (``del extractor``) before calling it.
    """
    keras.backend.clear_session()
    gc.collect()


@dataclass
class ZooRow:
    """One backbone's line in the comparison."""

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

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values (times rounded)."""
        row = asdict(self)
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


def make_row(name: str, features: Features, fit: training.FitResult, metrics: Mapping[str, float]) -> ZooRow:
    """Summarise one backbone: size, parameters, speed, validation and test results.

    ``fit`` is the head's :class:`~helpers.training.FitResult`; with early stopping that restores the
    best weights, the validation figures are those of the best epoch (lowest validation loss).
    """
    logs = fit.history.history
    best = int(np.argmin(logs["val_loss"]))
    spec = models.backbone(name)
    return ZooRow(
        backbone=name,
        in_article=name in ARTICLE_BACKBONES,
        image_size=features.image_size,
        preprocess=spec.preprocess,
        params=features.params,
        feature_dim=features.dim,
        images=features.images,
        extract_seconds=features.total_seconds,
        images_per_second=features.images_per_second,
        train_images=len(features.y["train"]),
        val_images=len(features.y["val"]),
        head_epochs=fit.epochs,
        head_seconds_per_epoch=fit.seconds / max(fit.epochs, 1),
        val_accuracy=round(float(logs["val_accuracy"][best]), 4),
        val_loss=round(float(logs["val_loss"][best]), 4),
        test_accuracy=float(metrics["accuracy"]),
        metrics=dict(metrics),
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
    seed: int = 0,
    verbose: int = 0,
) -> ZooRow:
    """The whole recipe for one backbone; returns its :class:`ZooRow` and frees the backbone.

    Args:
        name: A key of :data:`helpers.models.BACKBONES`.
        data: A :class:`helpers.datasets.Loaded`; its files are read again at the backbone's size
            (see :func:`extraction_splits`), whatever size it was loaded at.
        image_size: Input side; ``None`` for the backbone's native size.
        weights: ``"imagenet"`` or ``None`` (random weights, for offline smoke runs).
        batch_size: Images per batch during extraction, feature vectors per batch for the head.
        epochs, learning_rate, patience, dropout: The head's training budget, the same
            for every backbone. Early stopping watches the validation loss and restores the best epoch.
        seed: Seeds weight initialisation and shuffling, so each backbone starts alike whatever its
            position in the list.
        verbose: Keras ``verbose`` for the head's ``fit`` (0: silent).
    """
    keras.utils.set_random_seed(seed)
    size = input_size(name, image_size)
    extractor = feature_extractor(name, image_size=size, weights=weights)
    features = extract_features(extractor, extraction_splits(data, size, batch_size))
    del extractor  # the features are all we need from the backbone: release it before training the head
    free_memory()
    head = compile_head(feature_head(features.x["train"], len(data.class_names), dropout=dropout), learning_rate)
    start = time.perf_counter()
    history = head.fit(
        features.dataset("train", batch_size, shuffle=True, seed=seed),
        validation_data=features.dataset("val", batch_size), epochs=epochs, verbose=verbose, shuffle=False,
        callbacks=[keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)],
    )
    fit = training.FitResult(history, time.perf_counter() - start)
    # A direct call (no compiled predict function to trace): the head is one small layer.
    y_prob = keras.ops.convert_to_numpy(head(features.x["test"], training=False))
    metrics = evaluation.classification_metrics(features.y["test"], y_prob)
    row = make_row(name, features, fit, metrics)
    del head, features
    free_memory()
    return row


def best_row(rows: Sequence[ZooRow]) -> ZooRow:
    """The winner chosen on the *validation* split: highest accuracy, then lowest loss.

    The test split is only used to report the winner's accuracy, never to choose it.
    """
    if not rows:
        raise ValueError("No rows to choose from.")
    return max(rows, key=lambda r: (r.val_accuracy, -r.val_loss))


def zoo_table(rows: Sequence[ZooRow]) -> pd.DataFrame:
    """The comparison as a table, best validation accuracy first."""
    ordered = sorted(rows, key=lambda r: (-r.val_accuracy, r.val_loss))
    return pd.DataFrame([
        {
            "backbone": r.backbone,
            "in article": "yes" if r.in_article else "new",
            "input px": r.image_size,
            "preprocessing": r.preprocess,
            "params (M)": round(r.params / 1e6, 1),
            "feature dim": r.feature_dim,
            "images/s": round(r.images_per_second),
            "extract s": round(r.extract_seconds, 1),
            "head s/epoch": round(r.head_seconds_per_epoch, 2),
            "head epochs": r.head_epochs,
            "val accuracy": round(r.val_accuracy, 4),
            "test accuracy": round(r.test_accuracy, 4),
        }
        for r in ordered
    ])


def accuracy_standard_error(accuracy: float, n: int) -> float:
    """Binomial standard error of an accuracy measured on ``n`` test images.

    Two accuracies closer than about two standard errors are not clearly different.
    """
    if n <= 0:
        raise ValueError("n must be positive")
    return math.sqrt(max(accuracy * (1 - accuracy), 0.0) / n)


def plot_zoo(rows: Sequence[ZooRow], *, reference: float | None = None, reference_label: str = "article",
             title: str | None = None) -> Figure:
    """Test accuracy against model size and against time per image, one labelled point per backbone.

    Left: accuracy against backbone parameters (millions, log scale). Right: accuracy against
    milliseconds per image during feature extraction (log scale). Up and to the left is better in
    both. Backbones from the article are blue circles, newer ones orange squares. ``reference``
    draws a dashed horizontal line (for example the article's best accuracy). Labels are placed
    beside their points where they overlap neither another label nor a point, when such a place exists.
    """
    if not rows:
        raise ValueError("No rows to plot.")
    fig = Figure(figsize=(12.0, 5.2), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    panels = (
        ("backbone parameters (millions, log scale)", [r.params / 1e6 for r in rows]),
        ("milliseconds per image, feature extraction (log scale)", [1000.0 / r.images_per_second for r in rows]),
    )
    accuracies = [100 * r.test_accuracy for r in rows]
    for ax, (xlabel, xs) in zip(axes, panels, strict=True):
        for group, marker, colour in ((True, "o", "tab:blue"), (False, "s", "tab:orange")):
            idx = [i for i, r in enumerate(rows) if r.in_article == group]
            if idx:
                ax.scatter([xs[i] for i in idx], [accuracies[i] for i in idx], marker=marker, s=50,
                           color=colour, label="in the article" if group else "added by the course", zorder=3)
        if reference is not None:
            ax.axhline(100 * reference, color="grey", linestyle="--", linewidth=1, label=reference_label)
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3, which="both")
        ax.margins(y=0.1)
        _pad_log_axis(ax, xs)
    axes[0].set_ylabel("test accuracy (%)")
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
