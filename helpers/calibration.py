"""Calibration: do a classifier's probabilities mean what they say? Reliability diagrams and temperature scaling.

Chapter 08 teaches it. A model is *calibrated* when, of all the images it labels with confidence 0.8,
about 80 % are right. Networks trained with cross-entropy are often over-confident (their 0.99 is right
less often than 99 % of the time). The tools, as the chapter uses them::

    bins = calibration.reliability_bins(y_true, y_prob)            # confidence bins: count, confidence, accuracy
    calibration.expected_calibration_error(y_true, y_prob)         # ECE: the bins' gaps, weighted by count
    T = calibration.fit_temperature(calibration.logits_from_probabilities(val_prob), val_true)
    calibrated = calibration.apply_temperature(calibration.logits_from_probabilities(test_prob), T)
    calibration.plot_reliability({"before": (y_true, y_prob), "after": (y_true, calibrated)})

**Temperature scaling** (Guo et al., *On Calibration of Modern Neural Networks*, ICML 2017) divides the
logits by one number ``T`` fitted on the validation split: ``T > 1`` softens over-confident
probabilities, ``T < 1`` sharpens under-confident ones. It never changes which class is the most probable,
so accuracy stays the same; only the confidence moves.

The course's models end with a softmax, so what comes out is probabilities, not logits. The logarithm of
a softmax is the logits minus one number per row (``log softmax(z) = z - logsumexp(z)``), and a softmax
ignores a number added to a whole row, so ``softmax(log(p) / T) == softmax(z / T)``: the log-probabilities
serve as logits (:func:`logits_from_probabilities`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from helpers.evaluation import probability_matrix

__all__ = [
    "apply_temperature", "expected_calibration_error", "fit_temperature", "logits_from_probabilities",
    "negative_log_likelihood", "plot_reliability", "reliability_bins",
]

#: The smallest probability :func:`logits_from_probabilities` keeps (a float32 softmax can round to exactly 0).
EPSILON = 1e-12
#: The range :func:`fit_temperature` searches by default.
TEMPERATURE_BOUNDS = (0.05, 20.0)


def _labels_and_probabilities(y_true, y_prob) -> tuple[np.ndarray, np.ndarray]:
    """Integer labels of shape ``(n,)`` and probabilities of shape ``(n, classes)``, checked to agree."""
    probs = probability_matrix(np.asarray(y_prob))
    labels = np.asarray(y_true).reshape(-1).astype(int)
    if len(labels) != len(probs):
        raise ValueError(f"{len(labels)} labels but {len(probs)} rows of probabilities.")
    return labels, probs


def reliability_bins(y_true, y_prob, n_bins: int = 10) -> pd.DataFrame:
    """Group predictions by confidence (the top probability) into equal-width bins, for a reliability diagram.

    Used in chapter 08.

    Bin ``b`` holds the predictions with ``b / n_bins < confidence <= (b + 1) / n_bins`` (the first bin
    also holds 0). For a calibrated model each bin's accuracy is close to its mean confidence.

    Args:
        y_true: Integer class labels, shape ``(n,)``.
        y_prob: Class probabilities, shape ``(n, classes)`` (a single sigmoid column is read as class 1's).
        n_bins: Number of bins over [0, 1].

    Returns:
        One row per bin, empty bins included: ``lower``, ``upper``, ``count``, ``confidence`` (mean top
        probability, NaN when empty), ``accuracy`` (share of right predictions, NaN when empty) and ``gap``
        (``confidence - accuracy``: positive means over-confident).
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, not {n_bins}")
    labels, probs = _labels_and_probabilities(y_true, y_prob)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        members = which == b
        count = int(members.sum())
        conf = float(confidence[members].mean()) if count else math.nan
        acc = float(correct[members].mean()) if count else math.nan
        rows.append({"lower": edges[b], "upper": edges[b + 1], "count": count, "confidence": conf,
                     "accuracy": acc, "gap": conf - acc})
    return pd.DataFrame(rows)


def expected_calibration_error(y_true, y_prob, n_bins: int = 10) -> float:
    """ECE: the average gap between confidence and accuracy over the bins, weighted by how many predictions each holds.

    Used in chapter 08.

    0 for a perfectly calibrated model; a model that says 0.99 and is right 80 % of the time has an ECE
    near 0.19. It depends a little on ``n_bins``, so compare ECEs computed with the same bins.
    """
    bins = reliability_bins(y_true, y_prob, n_bins)
    filled = bins[bins["count"] > 0]
    if filled.empty:
        raise ValueError("No predictions to measure.")
    return float((filled["count"] * filled["gap"].abs()).sum() / filled["count"].sum())


def logits_from_probabilities(y_prob, epsilon: float = EPSILON) -> np.ndarray:
    """Log-probabilities, which stand in for the logits of a model that ends with a softmax.

    Used in chapter 08.

    ``log softmax(z) = z - logsumexp(z)`` differs from the logits ``z`` by one number per row, and adding a
    number to a whole row changes no softmax, even after dividing by a temperature. Probabilities are
    clipped at ``epsilon`` first (a float32 softmax can round a tiny probability to 0, whose log is -inf).
    """
    probs = probability_matrix(np.asarray(y_prob))
    return np.log(np.clip(probs, epsilon, 1.0))


def apply_temperature(logits, temperature: float) -> np.ndarray:
    """The probabilities ``softmax(logits / temperature)`` (row by row, computed stably).

    Used in chapter 08.
    """
    if not temperature > 0:
        raise ValueError(f"The temperature must be positive, not {temperature}")
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def negative_log_likelihood(logits, y_true, temperature: float = 1.0) -> float:
    """Mean of ``-log p(true class)`` after dividing the logits by ``temperature``: the loss the model trained on.

    Used in chapter 08.

    Computed as ``(top - true) + log1p(sum of the other exp(logit - top))``, so that the loss of a confident
    right answer stays a tiny positive number instead of rounding to 0 (``log(1 + 1e-17)`` is 0 in float64):
    :func:`fit_temperature` needs the differences between such losses.
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(y_true).reshape(-1).astype(int)
    if len(labels) != len(logits):
        raise ValueError(f"{len(labels)} labels but {len(logits)} rows of logits.")
    rows = np.arange(len(labels))
    scaled = logits / temperature
    top_index = scaled.argmax(axis=1)
    top = scaled[rows, top_index]
    others = np.exp(scaled - top[:, None])
    others[rows, top_index] = 0.0  # the top logit's own term, exp(0) = 1, is the 1 of log1p
    return float(np.mean(top - scaled[rows, labels] + np.log1p(others.sum(axis=1))))


def fit_temperature(logits, y_true, bounds: tuple[float, float] = TEMPERATURE_BOUNDS, tol: float = 1e-7) -> float:
    """The temperature ``T`` that minimises the negative log-likelihood of ``y_true`` (fit it on VALIDATION data).

    Used in chapter 08.

    The negative log-likelihood is a convex function of ``1 / T`` (a log-sum-exp minus a linear term), so a
    golden-section search over ``1 / T`` finds its minimum within ``bounds``. A result at a bound means the
    minimum lies beyond it: with every validation prediction right, for instance, the likelihood only grows
    as ``T`` falls towards 0, and nothing is left to calibrate.

    Args:
        logits: Logits (or log-probabilities, see :func:`logits_from_probabilities`), shape ``(n, classes)``.
        y_true: Integer labels, shape ``(n,)``.
        bounds: Smallest and largest temperature considered.
        tol: Stop when the search interval over ``1 / T`` is narrower than this.
    """
    low, high = bounds
    if not 0 < low < high:
        raise ValueError(f"bounds must be 0 < low < high, not {bounds}")
    logits = np.asarray(logits, dtype=np.float64)

    def loss(beta: float) -> float:
        return negative_log_likelihood(logits, y_true, 1.0 / beta)

    golden = (math.sqrt(5) - 1) / 2
    a, b = 1.0 / high, 1.0 / low  # search over beta = 1 / T, where the loss is convex
    c, d = b - golden * (b - a), a + golden * (b - a)
    fc, fd = loss(c), loss(d)
    while b - a > tol:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - golden * (b - a)
            fc = loss(c)
        else:
            a, c, fc = c, d, fd
            d = a + golden * (b - a)
            fd = loss(d)
    candidates = {a: loss(a), b: loss(b), (a + b) / 2: loss((a + b) / 2)}
    best = min(candidates, key=candidates.get)
    return float(1.0 / best)


def plot_reliability(diagrams: Mapping[str, tuple[np.ndarray, np.ndarray]], n_bins: int = 10,
                     title: str | None = None) -> Figure:
    """Reliability diagrams side by side: one panel per ``name: (y_true, y_prob)``, titled with its ECE.

    Used in chapter 08.

    Bars are each confidence bin's accuracy, the hatched part of a bar the gap to the bin's mean confidence
    (above the bar: over-confident; inside it: under-confident), the dashed diagonal a perfectly calibrated
    model. The number of predictions in each bin is written above it: a bin of three images says little.
    """
    if not diagrams:
        raise ValueError("Nothing to plot.")
    fig = Figure(figsize=(4.6 * len(diagrams), 4.3), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(diagrams), sharey=True))
    width = 1.0 / n_bins
    for ax, (name, (y_true, y_prob)) in zip(axes, diagrams.items(), strict=True):
        bins = reliability_bins(y_true, y_prob, n_bins)
        filled = bins[bins["count"] > 0]
        centres = (filled["lower"] + filled["upper"]) / 2
        ax.bar(centres, filled["accuracy"], width=width * 0.95, color="tab:blue", edgecolor="black",
               linewidth=0.5, label="accuracy in the bin")
        ax.bar(centres, filled["gap"], bottom=filled["accuracy"], width=width * 0.95, color="tab:red", alpha=0.3,
               hatch="//", edgecolor="tab:red", linewidth=0.5, label="gap to mean confidence")
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
        for x, row in zip(centres, filled.itertuples(), strict=True):
            ax.text(x, max(row.accuracy, row.confidence) + 0.02, f"{row.count}", ha="center", va="bottom", fontsize=7)
        ece = expected_calibration_error(y_true, y_prob, n_bins)
        ax.set(xlim=(0, 1), ylim=(0, 1.12), xlabel="confidence (top probability)",
               title=f"{name}\nECE {ece:.3f}, {int(bins['count'].sum())} images")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy")
    axes[0].legend(loc="upper left", fontsize=8)
    if title:
        fig.suptitle(title)
    return fig
