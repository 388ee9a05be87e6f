"""Answer keys of chapter 06 · A model zoo (worked solutions: ``solutions/06_model_zoo.py``).

Exercises 1 and 3 are read off the run's own zoo rows (``rows``, ``best``), so their keys are right
whatever backbones, profile and recipe the run used; exercises 2 and 4 are arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from . import key


@key("06", "1")
def _first_head_trained_parameters(rows: Sequence[Any], num_classes: int) -> int:
    return (int(rows[0].feature_dim) + 1) * int(num_classes)  # the softmax layer: the only trained one


@key("06", "2", tol=1e-3)
def _pixels_seen_as_zero_to_one() -> tuple[float, float]:
    return (127.5, 255.0)  # x / 127.5 - 1 is 0 at 127.5 and 1 at 255


@key("06", "3", tol=0.05)
def _seconds_of_one_uncached_epoch(best: Any) -> float:
    return (best.train_images + best.val_images) / best.images_per_second


@key("06", "4")
def _gap_beyond_two_standard_errors() -> bool:
    standard_error = math.sqrt(0.91 * (1 - 0.91) / 3000)  # zoo.accuracy_standard_error(0.91, 3000)
    return bool(2 * standard_error < 0.918 - 0.910)
