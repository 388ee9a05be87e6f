"""Answer keys of chapter 03 · Data augmentation (worked solutions: ``solutions/03_data_augmentation.py``)."""

from __future__ import annotations

from typing import Any

from .. import augmentation, models
from . import key


@key("03", "1", tol=1e-3)
def _rotation_factor_for_30_degrees() -> float:
    return augmentation.rotation_factor(30)


@key("03", "2")
def _zoom_in_only_by_up_to_20_percent() -> tuple[float, float]:
    return (-0.2, 0.0)


@key("03", "3")
def _trainable_weights_of_the_augmentation(plain: Any, augmented: Any) -> int:
    return models.count_params(augmented)["trainable"] - models.count_params(plain)["trainable"]


@key("03", "4")
def _run_chosen_on_validation(val_scores: dict[str, dict[str, float]]) -> str:
    return max(val_scores, key=lambda name: val_scores[name]["accuracy"])  # on a tie, the first run listed
