"""A model zoo: many frozen ``keras.applications`` backbones, one recipe, a fair comparison.

Every backbone goes through the same steps:

1. :func:`feature_extractor`: the backbone at its input size, with its own family's preprocessing
   inside (from :data:`helpers.models.BACKBONES`; or, for the Intel article's recipe, a plain division
   by 255), frozen with ``trainable = False`` (which also keeps its BatchNormalization layers in
   inference mode), followed by global average pooling. It takes images as float32 in [0, 255], like
   every model in the course.
2. :func:`extract_features`: one pass over each split, keeping the pooled feature vectors in memory
   (timed, so we know the backbone's throughput in images per second).
3. :func:`new_head`: the same small head for every backbone, trained on the cached features: the
   course's :func:`feature_head` (standardise the features with statistics of the training split,
   dropout, one softmax layer) or, for the article recipe, :func:`dense_head` (one softmax layer).
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

from helpers import articles, evaluation, features, models, pipeline, training

_ARTICLE = articles.get("intel_zoo").recipe
#: The 13 backbones the Intel article lists, in its order (from :mod:`helpers.articles`).
ARTICLE_BACKBONES: tuple[str, ...] = tuple(_ARTICLE["backbones_listed"])
#: Listed by the article but not trained: NASNetLarge (it expects 331x331 inputs, the article says).
ARTICLE_NOT_TRAINED: tuple[str, ...] = tuple(_ARTICLE["backbones_not_trained"])
#: The 12 backbones the article trained; its per-model results are an image, only ResNet101V2's are in its text.
ARTICLE_TRAINED: tuple[str, ...] = tuple(b for b in ARTICLE_BACKBONES if b not in ARTICLE_NOT_TRAINED)
#: The course registry's backbones the article does not list (ResNet50, NASNetMobile, EfficientNetB0, ...).
ADDED_BACKBONES: tuple[str, ...] = tuple(b for b in models.BACKBONES if b not in ARTICLE_BACKBONES)

SPLITS = ("train", "val", "test")
#: How images reach a backbone: ``"family"`` (its own ``preprocess_input``, the course) or ``"divide_255"``
#: (images divided by 255 into [0, 1] for every backbone, as the Intel article prepared its arrays).
PREPROCESSING = ("family", "divide_255")
#: The heads :func:`new_head` builds: ``"course"`` (:func:`feature_head`) or ``"dense"`` (:func:`dense_head`).
HEADS = ("course", "dense")


def input_size(name: str, override: int | None = None) -> int:
    """The side in pixels a backbone receives: ``override`` when given, else its native size."""
    return int(override) if override else models.backbone(name).size


def feature_extractor(name: str, *, image_size: int | None = None, weights: Any = "imagenet",
                      preprocess: str = "family") -> keras.Model:
    """Frozen backbone ``name`` with its preprocessing and global average pooling; outputs one vector per image.

    With ``preprocess="family"`` it is :func:`helpers.models.transfer_model` cut at its pooling layer, so
    preprocessing and freezing are exactly those of the transfer models in the other chapters. With
    ``"divide_255"`` a ``Rescaling(1/255)`` layer (named ``preprocess``) replaces the family's
    preprocessing: the Intel article's inputs, in [0, 1] whatever the backbone expects.

    Args:
        name: A key of :data:`helpers.models.BACKBONES`.
        image_size: Input side in pixels; ``None`` for the backbone's native size.
        weights: ``"imagenet"``, ``None`` (random weights, offline) or a weights file.
        preprocess: One of :data:`PREPROCESSING`.
    """
    if preprocess == "family":
        model, _ = models.transfer_model(name, 2, image_size=image_size, weights=weights)
        return keras.Model(model.inputs, model.get_layer("pool").output, name=f"{name}_features")
    if preprocess != "divide_255":
        raise ValueError(f"preprocess must be one of {', '.join(PREPROCESSING)}, not {preprocess!r}.")
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
    """What a backbone's inputs go through: its family's mode (``"tf"``, ``"caffe"``, ...) or ``"divide_255"``."""
    return models.backbone(name).preprocess if preprocess == "family" else preprocess


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


def dense_head(feature_dim: int, num_classes: int, *, name: str = "head") -> keras.Model:
    """One softmax layer on the pooled features, nothing else; not compiled.

    With global average pooling in the extractor this is the classification top that most
    ``keras.applications`` models have when ``include_top=True``. The chapter's article recipe uses it:
    the Intel article says only the top layer(s) were trained and does not show its head.
    """
    return keras.Sequential([
        keras.Input(shape=(feature_dim,), name="features"),
        layers.Dense(num_classes, activation="softmax", dtype="float32", name="predictions"),
    ], name=name)


def new_head(kind: str, train_features: np.ndarray, num_classes: int, *, dropout: float = 0.2) -> keras.Model:
    """The head of one of :data:`HEADS` for features like ``train_features``; not compiled."""
    if kind == "course":
        return feature_head(train_features, num_classes, dropout=dropout)
    if kind == "dense":
        return dense_head(int(np.shape(train_features)[1]), num_classes)
    raise ValueError(f"head must be one of {', '.join(HEADS)}, not {kind!r}.")


def compile_head(head: keras.Model, learning_rate: float) -> keras.Model:
    """Compile ``head`` with Adam and sparse categorical cross-entropy (the same for every backbone)."""
    head.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                 loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return head


def full_model(extractor: keras.Model, head: keras.Model, name: str | None = None) -> keras.Model:
    """Backbone and trained head in one model that takes [0, 255] images: what you would deploy."""
    return features.attach_head(extractor, head, name=name or extractor.name.replace("_features", "_classifier"))


def current_dtype_policy() -> str:
    """The name of Keras' global dtype policy now (``"float32"``, or ``"mixed_float16"`` on a GPU)."""
    return keras.mixed_precision.global_policy().name


def free_memory() -> None:
    """Drop Keras' global state and collect garbage, so the next backbone starts with free memory.

    Delete your own references to the old model (``del extractor``) before calling it.

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
    dtype_policy: str = "float32"
    #: Class probabilities of every test image, in file order (for the error gallery); not written to results.
    test_probabilities: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def article_trained(self) -> bool:
        """True for the 12 backbones the article trained (not NASNetLarge, not the course's additions)."""
        return self.backbone in ARTICLE_TRAINED

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


def make_row(name: str, features: Features, history: keras.callbacks.History, metrics: Mapping[str, float], *,
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
        in_article=name in ARTICLE_BACKBONES,
        image_size=features.image_size,
        preprocess=preprocess_mode(name, preprocess),
        params=features.params,
        feature_dim=features.dim,
        images=features.images,
        extract_seconds=features.total_seconds,
        images_per_second=features.images_per_second,
        train_images=len(features.y["train"]),
        val_images=len(features.y["val"]),
        head_epochs=epochs,
        head_seconds_per_epoch=seconds / max(epochs, 1),
        val_accuracy=round(float(logs["val_accuracy"][kept]), 4),
        val_loss=round(float(logs["val_loss"][kept]), 4),
        test_accuracy=float(metrics["accuracy"]),
        metrics=dict(metrics),
        dtype_policy=dtype_policy or current_dtype_policy(),
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

    Chapter 06 writes these steps out in Keras for the first backbone of its zoo (seed, extractor,
    ``predict`` per split, head, ``fit`` with a :class:`~helpers.training.Timer`, evaluation), checks that
    this function gives the same row for it, then calls it for every other backbone.

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
        preprocess: One of :data:`PREPROCESSING` (see :func:`feature_extractor`).
        head: One of :data:`HEADS` (see :func:`new_head`); ``dropout`` only applies to ``"course"``.
        seed: Seeds weight initialisation and shuffling, so each backbone starts alike whatever its
            position in the list.
        verbose: Keras ``verbose`` for the head's ``fit`` (0: silent).
    """
    keras.utils.set_random_seed(seed)
    size = input_size(name, image_size)
    backbone_policy = current_dtype_policy()
    extractor = feature_extractor(name, image_size=size, weights=weights, preprocess=preprocess)
    features = extract_features(extractor, extraction_splits(data, size, batch_size))
    del extractor  # the features are all we need from the backbone: release it before training the head
    free_memory()
    model = compile_head(new_head(head, features.x["train"], len(data.class_names), dropout=dropout), learning_rate)
    head_policy = current_dtype_policy()  # read at train time: free_memory must not have changed it
    timer = training.Timer()
    history = model.fit(
        features.dataset("train", batch_size, shuffle=True, seed=seed),
        validation_data=features.dataset("val", batch_size), epochs=epochs, verbose=verbose, shuffle=False,
        callbacks=[keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=restore_best_weights),
                   timer],
    )
    # A direct call (no compiled predict function to trace): the head is one small layer.
    y_prob = keras.ops.convert_to_numpy(model(features.x["test"], training=False))
    metrics = evaluation.classification_metrics(features.y["test"], y_prob)
    policy = backbone_policy if backbone_policy == head_policy else f"backbone {backbone_policy}, head {head_policy}"
    row = make_row(name, features, history, metrics, seconds=timer.seconds, preprocess=preprocess,
                   restored=restore_best_weights, dtype_policy=policy, test_probabilities=y_prob)
    del model, features
    free_memory()
    return row


def best_row(rows: Sequence[ZooRow]) -> ZooRow:
    """The winner chosen on the *validation* split: highest accuracy, then lowest loss.

    The test split is only used to report the winner's accuracy, never to choose it.
    """
    if not rows:
        raise ValueError("No rows to choose from.")
    return max(rows, key=lambda r: (r.val_accuracy, -r.val_loss))


def article_status(name: str) -> str:
    """``"trained"`` (one of the article's 12), ``"listed, not trained"`` (NASNetLarge) or ``"no (course)"``."""
    if name in ARTICLE_TRAINED:
        return "trained"
    return "listed, not trained" if name in ARTICLE_BACKBONES else "no (course)"


def zoo_table(rows: Sequence[ZooRow]) -> pd.DataFrame:
    """The comparison as a table, best validation accuracy first (the order a choice may be made in).

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

    Two accuracies closer than about two standard errors are not clearly different.
    """
    if n <= 0:
        raise ValueError("n must be positive")
    return math.sqrt(max(accuracy * (1 - accuracy), 0.0) / n)


def plot_zoo(rows: Sequence[ZooRow], *, metric: str = "val_accuracy", reference: float | None = None,
             reference_label: str = "article", title: str | None = None) -> Figure:
    """Accuracy against model size and against time per image, one labelled point per backbone.

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
