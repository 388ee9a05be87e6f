"""Metrics for a trained classifier: predictions, scores, report, confusion matrix, worst mistakes.

Every notebook evaluates its model the same way, so results are comparable across the course:
:func:`predict_dataset` collects labels and class probabilities in one pass over the test set,
:func:`classification_metrics` turns them into the full metric set (accuracy, balanced accuracy,
macro precision/recall/F1, Cohen's kappa, MCC, ROC AUC and, for many classes, top-5 accuracy), and
the remaining functions explain *where* the model goes wrong (report, confusion matrix, most confused
pairs, per-class accuracy, most confidently wrong images).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

_DECIMALS = 4

_METRIC_NAMES = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "precision": "Precision (macro)",
    "recall": "Recall (macro)",
    "f1": "F1 score (macro)",
    "cohen_kappa": "Cohen's kappa",
    "mcc": "Matthews correlation (MCC)",
    "roc_auc": "ROC AUC",
    "top5_accuracy": "Top-5 accuracy",
}


def predict_dataset(model: Any, dataset: Any) -> tuple[np.ndarray, np.ndarray]:
    """Predict a whole batched dataset, keeping labels and probabilities aligned.

    Chapters 00 and 02-09 evaluate their models with it.

    The dataset is iterated exactly once and each batch is predicted as it is read, so the
    labels and predictions stay paired even when the dataset reshuffles on every iteration
    (calling ``model.predict(ds)`` and then reading labels from ``ds`` would silently misalign them).

    Parameters
    ----------
    model : keras.Model
        A model whose output is class probabilities: softmax of shape ``(batch, n_classes)``
        or a single sigmoid unit of shape ``(batch, 1)``.
    dataset : tf.data.Dataset
        Batched ``(images, labels)`` (extra elements such as sample weights are ignored).
        Labels may be integer class indices or one-hot vectors.

    Returns
    -------
    y_true : np.ndarray of int, shape (n,)
        Integer class indices.
    y_prob : np.ndarray of float, shape (n, n_classes)
        Class probabilities; a sigmoid output becomes two columns ``[1 - p, p]``.
    """
    labels: list[np.ndarray] = []
    probs: list[np.ndarray] = []
    predict = _batch_predictor(model)
    for batch in dataset:
        images, batch_labels = batch[0], batch[1]
        labels.append(class_indices(np.asarray(batch_labels)))
        probs.append(np.asarray(predict(images), dtype=np.float64))
    if not labels:
        raise ValueError("The dataset is empty: there is nothing to predict.")
    return np.concatenate(labels), probability_matrix(np.concatenate(probs))


def forward_step(model: Any) -> Any:
    """``model`` as one compiled graph that accepts any batch size (traced once, not once per batch shape).

    Called in inference mode (``training=False``) on float32 batches. Chapters 05 and 06 extract their cached
    features through it (:func:`helpers.features.extract_features`), and :func:`predict_dataset` uses it
    under a multi-GPU strategy.
    """
    import tensorflow as tf

    def forward(images: Any) -> Any:
        return model(images, training=False)

    return tf.function(forward, autograph=False,
                       input_signature=[tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)])


def _batch_predictor(model: Any) -> Any:
    """A function ``images -> probabilities`` for one batch.

    On one device that is ``model.predict_on_batch``. Under a multi-GPU ``MirroredStrategy`` Keras'
    ``predict_on_batch`` hands the whole batch to every replica and returns all their copies (twice the
    rows on two GPUs, checked on Keras 3.15), so the model is called directly, as one compiled graph.
    """
    strategy = getattr(model, "distribute_strategy", None)
    if strategy is None or strategy.num_replicas_in_sync == 1:
        return model.predict_on_batch
    import tensorflow as tf

    step = forward_step(model)
    return lambda images: step(tf.cast(images, tf.float32))


def classification_metrics(
    y_true: np.ndarray, y_prob: np.ndarray, class_names: list[str] | None = None, *, average: str = "macro"
) -> dict[str, float]:
    """Compute the course's full metric set from labels and class probabilities.

    Every chapter that trains a classifier (00 and 02-09) reports its test split with it.

    Accuracy alone hides class imbalance, so balanced accuracy, macro-averaged precision, recall
    and F1, Cohen's kappa and MCC (agreement beyond chance) and ROC AUC (quality of the ranking,
    independent of the 0.5/argmax threshold) are reported as well. Top-5 accuracy is added when
    there are more than five classes, where it is a meaningful measure of "nearly right".

    Parameters
    ----------
    y_true : array-like of int, shape (n,)
        True class indices.
    y_prob : array-like of float, shape (n, n_classes)
        Predicted class probabilities. A single sigmoid column, shape ``(n, 1)`` or ``(n,)``,
        is read as the probability of class 1.
    class_names : list of str, optional
        Only used to check that the number of probability columns matches the class list.
    average : {"macro", "weighted"}, default "macro"
        How precision, recall and F1 are averaged over classes. ``"macro"`` (the course's choice) gives
        every class the same weight, so macro recall equals balanced accuracy. ``"weighted"`` weights each
        class by its number of true images, as the Intel article's metric table did (chapters 02 and 03):
        weighted recall is then always equal to accuracy.

    Returns
    -------
    dict of str to float
        Keys ``accuracy``, ``balanced_accuracy``, ``precision``, ``recall``, ``f1`` (macro over the
        classes present in ``y_true`` or the predictions), ``cohen_kappa``, ``mcc``, ``roc_auc``
        (binary: AUC of class 1; multiclass: one-vs-rest macro; ``nan`` when a class has no test
        example, because its AUC is undefined) and ``top5_accuracy`` (only when there are more
        than five classes). Values are plain floats rounded to 4 decimals, so printed results are
        stable between runs and platforms.
    """
    y_true, y_prob = _validate(y_true, y_prob, class_names)
    y_pred = y_prob.argmax(axis=1)
    n_classes = y_prob.shape[1]
    precision, recall, f1, _ = skm.precision_recall_fscore_support(
        y_true, y_pred, average=_average(average), zero_division=0
    )
    scores = {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "balanced_accuracy": np.nanmean(_recalls(confusion(y_true, y_pred, n_classes))),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "cohen_kappa": skm.cohen_kappa_score(y_true, y_pred),
        "mcc": skm.matthews_corrcoef(y_true, y_pred),
        "roc_auc": _roc_auc(y_true, y_prob),
    }
    if n_classes > 5:
        scores["top5_accuracy"] = skm.top_k_accuracy_score(y_true, y_prob, k=5, labels=np.arange(n_classes))
    return {name: _rounded(value) for name, value in scores.items()}


def _average(average: str) -> str:
    if average not in ("macro", "weighted"):
        raise ValueError(f"average must be 'macro' or 'weighted', not {average!r}.")
    return average


def metrics_table(metrics: dict[str, float]) -> pd.DataFrame:
    """Turn a metrics dict into a two-column table (``metric``, ``value``) for notebook display.

    Used in chapters 07 and 09.

    Known keys get readable names ("Matthews correlation (MCC)" rather than ``mcc``); unknown
    keys are kept, with underscores turned into spaces. The dict order is preserved.
    """
    rows = [
        (_METRIC_NAMES.get(key, key.replace("_", " ").capitalize()), value) for key, value in metrics.items()
    ]
    return pd.DataFrame(rows, columns=["metric", "value"])


def report(y_true: np.ndarray, y_pred: np.ndarray, class_names: list[str]) -> str:
    """Return scikit-learn's per-class classification report as text.

    Used in chapters 02, 05, 08 and 09.

    Every class in ``class_names`` gets a row, even one absent from the test set or never
    predicted (its scores are reported as 0 instead of raising or warning).
    """
    return skm.classification_report(
        y_true,
        y_pred,
        labels=range(len(class_names)),
        target_names=list(class_names),
        digits=_DECIMALS,
        zero_division=0,
    )


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Return the ``(n_classes, n_classes)`` integer confusion matrix; rows are true classes.

    Used in chapters 02, 05, 07, 08 and 09.

    The size is fixed by ``n_classes`` (not by the labels seen), so matrices from different test
    sets or models always line up with the class list.
    """
    return skm.confusion_matrix(y_true, y_pred, labels=np.arange(n_classes)).astype(int)


def most_confused(cm: np.ndarray, class_names: list[str], k: int = 5) -> list[tuple[str, str, int]]:
    """Return the ``k`` most frequent mistakes as ``(true class, predicted class, count)``.

    Used in chapters 02 and 07.

    Only off-diagonal cells with a count above zero are considered; they are sorted by count,
    largest first, with ties in class order (by true class, then predicted class), so the
    result is deterministic.
    """
    cm = np.asarray(cm)
    cells = [
        (-int(cm[t, p]), t, p)
        for t in range(cm.shape[0])
        for p in range(cm.shape[1])
        if t != p and cm[t, p] > 0
    ]
    return [(class_names[t], class_names[p], -neg_count) for neg_count, t, p in sorted(cells)[:k]]


def per_class_accuracy(cm: np.ndarray, class_names: list[str]) -> dict[str, float]:
    """Return the accuracy (recall) of each true class, rounded to 4 decimals.

    Used in chapters 03 and 07.

    A class with no test examples has no accuracy; it gets ``nan`` rather than a misleading 0.
    """
    return {name: _rounded(value) for name, value in zip(class_names, _recalls(cm), strict=True)}


def misclassified(y_true: np.ndarray, y_prob: np.ndarray, k: int = 16) -> np.ndarray:
    """Return indices of the ``k`` most confidently wrong predictions, most confident first.

    Used in chapters 02 and 05-09.

    Confidence is the probability of the predicted (argmax) class. The confidently wrong images
    are the most informative ones to look at: label errors, ambiguous images, shortcuts.
    """
    y_true, y_prob = _validate(y_true, y_prob)
    wrong = np.flatnonzero(y_prob.argmax(axis=1) != y_true)
    confidence = y_prob[wrong].max(axis=1)
    return wrong[np.argsort(-confidence, kind="stable")[:k]]


def class_indices(labels: np.ndarray) -> np.ndarray:
    """Convert one-hot labels to class indices; flatten integer labels of shape (n,) or (n, 1).

    Every chapter's evaluation reads its labels through it (:func:`predict_dataset`), and so do
    :func:`helpers.plotting.dataset_grid` (chapters 00, 02, 04, 05, 07, 08 and 09).
    """
    if labels.ndim == 2 and labels.shape[1] > 1:
        return labels.argmax(axis=1).astype(int)
    return labels.reshape(-1).astype(int)


def probability_matrix(y_prob: np.ndarray) -> np.ndarray:
    """Return probabilities as (n, n_classes); a sigmoid column p becomes two columns [1 - p, p].

    So that one-unit sigmoid models and softmax models are scored alike: every chapter's metrics go through
    it (:func:`classification_metrics`), and so do :func:`helpers.plotting.prediction_grid` (chapters 02 and
    05-09) and chapter 08's calibration (:mod:`helpers.calibration`).
    """
    y_prob = np.asarray(y_prob, dtype=np.float64)
    if y_prob.ndim not in (1, 2):
        raise ValueError(f"Expected probabilities of shape (n, n_classes), got {y_prob.shape}.")
    if y_prob.ndim == 1 or y_prob.shape[1] == 1:
        p = y_prob.reshape(-1)
        return np.column_stack([1.0 - p, p])
    return y_prob


def _validate(
    y_true: np.ndarray, y_prob: np.ndarray, class_names: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Check shapes and label range, so mistakes fail loudly instead of giving wrong scores."""
    y_true = np.asarray(y_true).reshape(-1).astype(int)
    y_prob = probability_matrix(y_prob)
    n_classes = y_prob.shape[1]
    if len(y_true) != len(y_prob):
        raise ValueError(f"{len(y_true)} labels but {len(y_prob)} rows of probabilities.")
    if class_names is not None and len(class_names) != n_classes:
        raise ValueError(f"{len(class_names)} class names but {n_classes} probability columns.")
    if len(y_true) and (y_true.min() < 0 or y_true.max() >= n_classes):
        raise ValueError(f"Labels must lie in [0, {n_classes - 1}].")
    return y_true, y_prob


def _recalls(cm: np.ndarray) -> np.ndarray:
    """Per-class recall from a confusion matrix (rows = true); nan where a class has no support."""
    cm = np.asarray(cm, dtype=np.float64)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / support, np.nan)


def _roc_auc(y_true: np.ndarray, y_prob: np.ndarray) -> float:
    """ROC AUC: binary AUC of class 1, or one-vs-rest macro AUC; nan if a class is absent.

    The one-vs-rest average is computed class by class (exactly as scikit-learn's
    ``multi_class="ovr"``) so that float32 softmax outputs whose rows do not sum to 1 within
    scikit-learn's tolerance are still accepted.
    """
    n_classes = y_prob.shape[1]
    if np.unique(y_true).size < n_classes:
        return math.nan
    if n_classes == 2:
        return skm.roc_auc_score(y_true, y_prob[:, 1])
    return float(np.mean([skm.roc_auc_score(y_true == c, y_prob[:, c]) for c in range(n_classes)]))


def _rounded(value: float) -> float:
    """Plain Python float rounded to 4 decimals (nan stays nan)."""
    return round(float(value), _DECIMALS)
