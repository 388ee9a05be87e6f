"""Answer keys of chapter 08 · Fine-tuning EfficientNetB0 on mosquitoes (worked solutions:
``solutions/08_fine_tuning_mosquito.py``)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pandas as pd

from .. import duplicates, models
from . import key


@key("08", "1")
def _trainable_parameters_after_unfreezing(model: keras.Model) -> int:
    return int(models.count_params(model)["trainable"])


@key("08", "2")
def _hamming_distance_by_hand() -> int:
    return bin(0b10110010 ^ 0b10011011).count("1")


@key("08", "3")
def _test_images_with_an_identical_training_hash(hashes: dict[str, np.ndarray]) -> int:
    pairs = duplicates.near_duplicates(hashes["test"], hashes["train"], max_distance=0)
    return len({test_index for test_index, _, _ in pairs})


@key("08", "4")
def _trainable_batchnorm_layers(base: keras.Model) -> int:
    return sum(layer.trainable for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization))


@key("08", "5")
def _cases_with_the_moving_mean_unchanged(bn_demo: pd.DataFrame) -> int:
    return int((~bn_demo["moving mean changed"]).sum())


@key("08", "6")
def _predictions_changed_by_temperature(y_prob: np.ndarray, calibrated: np.ndarray) -> int:
    return int((np.asarray(y_prob).argmax(axis=1) != np.asarray(calibrated).argmax(axis=1)).sum())


@key("08", "7")
def _validation_images_dropped(cluster_ids: dict[str, Any]) -> int:
    return int(np.isin(cluster_ids["val"], cluster_ids["train"]).sum())
