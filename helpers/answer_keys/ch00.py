"""Answer keys of chapter 00 · Start here (worked solutions: ``solutions/00_start_here.py``)."""

from __future__ import annotations

from typing import Any

from .. import datasets
from . import key


@key("00", "1")
def _test_images_of_the_first_dataset(counts: dict[str, dict[str, Any]]) -> int:
    return int(sum(counts["test"].values()))


@key("00", "2")
def _label_of_food() -> int:
    # the catalogue fixes the order (EPFL's file names say 1 = food), not the alphabet
    return datasets.info("food5k").class_names.index("food")


@key("00", "3")
def _batch_shape() -> tuple[int, int, int, int]:
    batch_size, (height, width), channels = 8, (64, 48), 3  # image_size is (height, width); RGB always
    return batch_size, height, width, channels
