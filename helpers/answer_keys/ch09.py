"""Answer keys of chapter 09 · Your own dataset (worked solutions: ``solutions/09_your_own_dataset.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..datasets import phone_photos
from . import key


@key("09", "1")
def _test_images(data: Any) -> int:
    return sum(data.counts()["test"].values())


@key("09", "2", tol=1e-3)
def _majority_class_accuracy(data: Any) -> float:
    test_counts = data.counts()["test"]
    return max(test_counts.values()) / sum(test_counts.values())


@key("09", "3")
def _weight_tensors_added_by_fine_tuning(tuned: dict[str, Any]) -> int:
    return tuned["trainable_weights_after"] - tuned["trainable_weights_before"]


@key("09", "4")
def _exported_input_size(exported: Any) -> tuple[int, ...]:
    return tuple(json.loads(exported.labels.read_text())["image_size"])


@key("09", "5")
def _photos_stored_a_quarter_turn_away(phones: Path, phone_scan: Any) -> int:
    used = set(phone_scan.files["all"])
    return sum(1 for photo in phone_photos.PHOTOS if photo.orientation >= 5 and Path(phones) / photo.path in used)
