"""Answer keys of chapter 02 · A CNN from scratch (worked solutions: ``solutions/02_cnn_from_scratch.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import key


@key("02", "1")
def _conv_parameters_16_filters() -> int:
    return (3 * 3 * 3 + 1) * 16


@key("02", "2")
def _dense1_parameters_at_128() -> int:
    side = 128 // 2 // 2 // 2  # "same" padding: only the three poolings shrink the side
    return (side * side * 128 + 1) * 128


@key("02", "3")
def _article_dense_parameters_at_128() -> int:
    side = 128
    for _ in range(3):  # "valid" 3x3 convolution, then 2x2 pooling
        side = (side - 2) // 2
    return (side * side * 32 + 1) * 128


@key("02", "4", tol=1e-3)
def _glacier_recall(cm: np.ndarray, class_names: list[str]) -> float:
    glacier = list(class_names).index("glacier")
    return float(cm[glacier, glacier] / cm[glacier].sum())


@key("02", "5")
def _epoch_evaluated(history: Any, early_stopping: Any) -> int:
    val_loss = history.history["val_loss"]
    return int(np.argmin(val_loss)) + 1 if early_stopping.restore_best_weights else len(val_loss)
