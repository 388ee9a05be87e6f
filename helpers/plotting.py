"""Matplotlib figures for the notebooks: learning curves, image grids, confusion matrices, predictions.

Every function builds its figure with the object API and returns the
:class:`matplotlib.figure.Figure` without calling ``plt.show()``: the notebook's inline backend
displays it, and tests can inspect it (axes, titles, colours) and close it. No backend is
selected here, so notebooks keep their inline backend.

Figures are made without pyplot (``Figure()``), so a notebook shows each one exactly once, as the
value of the cell (or with ``display(fig)``), and none pile up in pyplot's list of open figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from helpers.evaluation import class_indices, probability_matrix


def _subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float], layout: str | None = None,
              squeeze: bool = True) -> tuple[Figure, Any]:
    """Like ``plt.subplots`` but the figure is not registered with pyplot (shown once, never leaked)."""
    fig = Figure(figsize=figsize, layout=layout)
    return fig, fig.subplots(nrows, ncols, squeeze=squeeze)

_MAX_ANNOTATED_CLASSES = 30
_MAX_CM_INCHES = 26.0

_HistoryLike = Any  # a keras.callbacks.History or its ``.history`` dict


def plot_history(
    history: _HistoryLike | Sequence[_HistoryLike],
    metrics: Sequence[str] = ("loss", "accuracy"),
    title: str | None = None,
) -> Figure:
    """Plot learning curves, training against validation, one subplot per metric.

    Used in chapters 00, 02 and 04-09.

    Parameters
    ----------
    history : keras.callbacks.History, dict, or list of them
        What ``model.fit`` returned, or its ``.history`` dict. A list is read as consecutive
        training phases (for example the frozen-base phase and the fine-tuning phase): their
        epochs are concatenated and a dashed vertical line, labelled in the legend, marks where
        each later phase starts, so the effect of fine-tuning is visible on one curve.
    metrics : sequence of str
        Metric names as logged by Keras (``"loss"``, ``"accuracy"``, ...); the validation curve
        ``"val_<name>"`` is drawn when it was logged.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    logs, phase_starts = _concat_phases(history)
    missing = [name for name in metrics if name not in logs]
    if missing:
        raise ValueError(f"Metrics {missing} were not logged; available: {sorted(logs)}.")
    n_epochs = len(next(iter(logs.values())))
    epochs = np.arange(1, n_epochs + 1)
    fig, axes = _subplots(1, len(metrics), figsize=(5.0 * len(metrics), 3.6), layout="constrained")
    for ax, name in zip(np.atleast_1d(axes), metrics, strict=True):
        ax.plot(epochs, logs[name], marker=".", label="train")
        if f"val_{name}" in logs:
            ax.plot(epochs, logs[f"val_{name}"], marker=".", label="validation")
        for phase, start in enumerate(phase_starts, start=2):
            ax.axvline(start - 0.5, color="grey", linestyle="--", linewidth=1, label=f"phase {phase} starts")
        ax.set(title=name, xlabel="epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig


def image_grid(
    images: Any,
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    size: float = 1.6,
    cmap: str | None = None,
) -> Figure:
    """Show a batch of images in a grid, one axis per image, axes hidden.

    Used in chapters 01, 03, 04, 07, 08 and 09.

    Parameters
    ----------
    images : array or tensor, shape (n, h, w, 3), (n, h, w, 1) or (n, h, w)
        uint8, floats in [0, 255] or floats in [0, 1]. The scale is decided for the whole batch:
        float data whose maximum exceeds 1 is read as 0-255 and converted to uint8 (``imshow``
        would otherwise clip it to white); values outside the range are clipped.
    titles : sequence of str, optional
        One title per image.
    ncols : int
        Maximum number of columns.
    size : float
        Width and height of each image, in inches.
    cmap : str, optional
        Colour map for single-channel images (default ``"gray"``); ignored for RGB.

    Returns
    -------
    matplotlib.figure.Figure
        Exactly one axis per image.
    """
    batch = _displayable(np.asarray(images))
    n = len(batch)
    if n == 0:
        raise ValueError("No images to show.")
    if titles is not None and len(titles) != n:
        raise ValueError(f"{len(titles)} titles for {n} images.")
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, axes = _subplots(nrows, ncols, figsize=(ncols * size, nrows * (size + 0.3)), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            fig.delaxes(ax)
            continue
        _show(ax, batch[i], cmap)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    fig.tight_layout()
    return fig


def dataset_grid(dataset: Any, class_names: Sequence[str], n: int = 16, ncols: int = 8,
                 title: str | None = None) -> Figure:
    """Show the first ``n`` images of a batched ``(images, labels)`` dataset, titled by class name.

    Used in chapters 00, 02, 04, 05, 07, 08 and 09.

    Only as many batches as needed are read, so this is cheap even on a large dataset.
    Labels may be class indices or one-hot vectors.
    """
    images: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for batch in dataset:
        images.append(np.asarray(batch[0]))
        labels.append(class_indices(np.asarray(batch[1])))
        if sum(len(b) for b in labels) >= n:
            break
    if not images:
        raise ValueError("The dataset is empty.")
    image_batch = np.concatenate(images)[:n]
    label_batch = np.concatenate(labels)[:n]
    fig = image_grid(image_batch, titles=[class_names[i] for i in label_batch], ncols=ncols)
    if title:
        fig.suptitle(title)
        fig.tight_layout()
    return fig


def plot_confusion_matrix(
    cm: np.ndarray, class_names: Sequence[str], normalize: bool = True, title: str | None = None
) -> Figure:
    """Draw a confusion matrix as a heatmap with a colour bar; rows are true classes.

    Used in chapters 02, 05, 08 and 09.

    Parameters
    ----------
    cm : array of int, shape (n_classes, n_classes)
        Counts, rows = true class, columns = predicted class (as from
        :func:`helpers.evaluation.confusion`).
    class_names : sequence of str
        Tick labels.
    normalize : bool
        Divide each row by its total, so each cell is the fraction of that true class and the
        diagonal is per-class accuracy; this keeps rare classes readable. Rows without support
        stay 0.
    title : str, optional
        Axis title; a default says whether counts or fractions are shown.

    Notes
    -----
    The figure grows with the number of classes (capped at 26 inches) and tick labels shrink, so
    it stays readable up to about 150 classes; values are written in the cells only up to 30
    classes, beyond which the text would be illegible.
    """
    counts = np.asarray(cm)
    n = len(class_names)
    if counts.shape != (n, n):
        raise ValueError(f"Confusion matrix of shape {counts.shape} for {n} classes.")
    values = _row_normalized(counts) if normalize else counts
    side = min(max(5.0, 3.0 + 0.3 * n), _MAX_CM_INCHES)
    cell_points = side * 0.8 * 72 / n  # the matrix takes about 80 % of the figure side
    font = float(np.clip(0.6 * cell_points, 4, 10))
    fig, ax = _subplots(figsize=(side + 1.2, side), layout="constrained")
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ticks = np.arange(n)
    ax.set_xticks(
        ticks,
        labels=class_names,
        rotation=90 if n > 10 else 45,
        ha="center" if n > 10 else "right",
        fontsize=font,
    )
    ax.set_yticks(ticks, labels=class_names, fontsize=font)
    ax.set(xlabel="predicted class", ylabel="true class")
    default_title = "Confusion matrix (fraction of each true class)" if normalize else "Confusion matrix"
    ax.set_title(title or default_title)
    if n <= _MAX_ANNOTATED_CLASSES:
        _annotate_cells(ax, values, normalize, font)
    return fig


def prediction_grid(
    images: Any, y_true: np.ndarray, y_prob: np.ndarray, class_names: Sequence[str], ncols: int = 4
) -> Figure:
    """Show images titled ``"predicted (p=0.93) / true"``: green when correct, red when wrong.

    Used in chapters 02 and 05-09.

    ``y_prob`` holds class probabilities of shape (n, n_classes); a single sigmoid column is read as
    the probability of class 1. ``p`` is the probability of the predicted class.
    """
    y_true = np.asarray(y_true).reshape(-1).astype(int)
    probs = probability_matrix(y_prob)
    if not len(images) == len(y_true) == len(probs):
        raise ValueError(f"{len(images)} images, {len(y_true)} labels, {len(probs)} probability rows.")
    y_pred = probs.argmax(axis=1)
    titles = [
        f"{class_names[p]} (p={probs[i, p]:.2f}) / {class_names[t]}"
        for i, (p, t) in enumerate(zip(y_pred, y_true, strict=True))
    ]
    fig = image_grid(images, titles=titles, ncols=ncols, size=2.4)
    for ax, correct in zip(fig.axes, y_pred == y_true, strict=True):
        ax.title.set_color("green" if correct else "red")
    return fig


def class_balance(
    counts: Mapping[str, Mapping[str, int]] | Mapping[str, int], title: str | None = None
) -> Figure:
    """Horizontal bar chart of images per class, to spot class imbalance at a glance.

    Used in chapters 00, 02 and 09.

    ``counts`` is either ``{class: count}`` or ``{split: {class: count}}``; in the second case each
    split gets its own bar within each class group (classes missing from a split count as 0).
    Classes are listed top to bottom in the order they first appear.
    """
    splits = _as_split_counts(counts)
    classes = list(dict.fromkeys(name for split in splits.values() for name in split))
    positions = np.arange(len(classes))
    height = 0.8 / len(splits)
    inches_per_class = 0.25 + 0.1 * (len(splits) - 1)
    fig, ax = _subplots(
        figsize=(7.0, min(1.5 + inches_per_class * len(classes), 40.0)), layout="constrained"
    )
    for i, (split, split_counts) in enumerate(splits.items()):
        offset = (i - (len(splits) - 1) / 2) * height
        bars = ax.barh(
            positions + offset, [split_counts.get(c, 0) for c in classes], height=height, label=split
        )
        if len(classes) <= _MAX_ANNOTATED_CLASSES:
            ax.bar_label(bars, fontsize=7, padding=2)
    ax.set_yticks(positions, labels=classes)
    ax.invert_yaxis()
    ax.set(xlabel="images", title=title or "Images per class")
    if len(splits) > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def kernel_comparison(image: Any, outputs: Mapping[str, Any], size: float = 3.0) -> Figure:
    """Show an image next to the results of filtering it (blur, sharpen, Sobel, ...).

    Used in chapter 01.

    Panels are titled ``"original"`` and then by the keys of ``outputs``. Arrays may be (h, w),
    (h, w, c) or a batch of one, (1, h, w, c), as a convolution returns. RGB panels are scaled like
    :func:`image_grid`; single-channel panels are contrast-stretched to their own range so that
    signed or small responses (Sobel edges) are visible.
    """
    panels = {"original": image, **outputs}
    fig, axes = _subplots(1, len(panels), figsize=(size * len(panels), size + 0.4), squeeze=False)
    for ax, (name, panel) in zip(axes.flat, panels.items(), strict=True):
        array = _squeeze_image(np.asarray(panel))
        if array.ndim == 2:
            ax.imshow(array, cmap="gray")
            ax.axis("off")
        else:
            _show(ax, _displayable(array[np.newaxis])[0], None)
        ax.set_title(name)
    fig.tight_layout()
    return fig


def _concat_phases(history: _HistoryLike | Sequence[_HistoryLike]) -> tuple[dict[str, list[float]], list[int]]:
    """Concatenate training phases; return the merged logs and the first epoch (1-based) of phases 2+.

    A metric missing from a phase is padded with nan, so all curves share the same epoch axis.
    """
    histories = history if isinstance(history, list | tuple) else [history]
    phases = [_history_dict(h) for h in histories]
    lengths = [len(next(iter(logs.values()), [])) for logs in phases]
    names = list(dict.fromkeys(name for logs in phases for name in logs))
    merged = {
        name: [v for logs, n in zip(phases, lengths, strict=True) for v in logs.get(name, [math.nan] * n)]
        for name in names
    }
    starts = np.cumsum(lengths)[:-1] + 1
    return merged, [int(s) for s in starts]


def _history_dict(history: _HistoryLike) -> dict[str, list[float]]:
    """Return the ``{metric: [value per epoch]}`` dict of a Keras History (or the dict itself)."""
    logs = history.history if hasattr(history, "history") else history
    if not isinstance(logs, Mapping) or not logs:
        raise ValueError("Expected a keras History or a non-empty dict of per-epoch metric lists.")
    return {name: [float(v) for v in values] for name, values in logs.items()}


def _displayable(batch: np.ndarray) -> np.ndarray:
    """Bring a batch to what ``imshow`` expects (uint8, or floats in [0, 1]); drop a 1-channel axis."""
    if batch.ndim == 4 and batch.shape[-1] == 1:
        batch = batch[..., 0]
    if batch.ndim not in (3, 4):
        raise ValueError(f"Expected images of shape (n, h, w[, c]), got {batch.shape}.")
    if batch.dtype == np.uint8:
        return batch
    if np.issubdtype(batch.dtype, np.integer) or batch.max(initial=0) > 1.0:
        return np.clip(np.rint(batch), 0, 255).astype(np.uint8)
    return np.clip(batch, 0.0, 1.0)


def _show(ax: Axes, image: np.ndarray, cmap: str | None) -> None:
    """Draw one displayable image; grayscale uses a fixed 0-255 or 0-1 range, not autoscaling."""
    if image.ndim == 2:
        vmax = 255 if image.dtype == np.uint8 else 1.0
        ax.imshow(image, cmap=cmap or "gray", vmin=0, vmax=vmax)
    else:
        ax.imshow(image)
    ax.axis("off")


def _squeeze_image(array: np.ndarray) -> np.ndarray:
    """Drop a leading batch axis of size 1 and a trailing channel axis of size 1."""
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    return array


def _row_normalized(cm: np.ndarray) -> np.ndarray:
    """Divide each row by its sum; rows that sum to 0 stay 0."""
    totals = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, totals, out=np.zeros(cm.shape, dtype=np.float64), where=totals > 0)


def _annotate_cells(ax: Axes, values: np.ndarray, normalize: bool, font: float) -> None:
    """Write each cell's value in it, white on dark cells so it stays readable."""
    threshold = (1.0 if normalize else values.max()) / 2
    for (row, col), value in np.ndenumerate(values):
        text = f"{value:.2f}" if normalize else f"{int(value)}"
        ax.text(
            col,
            row,
            text,
            ha="center",
            va="center",
            fontsize=font,
            color="white" if value > threshold else "black",
        )


def _as_split_counts(counts: Mapping[str, Any]) -> dict[str, Mapping[str, int]]:
    """Read ``{class: count}`` as a single unnamed split, ``{split: {class: count}}`` as is."""
    if not counts:
        raise ValueError("No class counts to plot.")
    if all(isinstance(v, Mapping) for v in counts.values()):
        return dict(counts)
    return {"images": counts}
