"""Answer keys of chapter 07 · Fine-tuning InceptionV3 on Fruits-360 (worked solutions:
``solutions/07_fine_tuning_fruits360.py``).

Every answer depends on the run (image size, recipe, number of classes, the files loaded), so each key
computes it from the objects the notebook passes to ``check``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..datasets.catalog import fruits360_series
from ..splits import shared_groups
from . import key

if TYPE_CHECKING:
    import keras
    import pandas as pd


@key("07", "1")
def _trainable_tensors_added(tuned: dict[str, Any]) -> int:
    return int(tuned["trainable_weights_after"] - tuned["trainable_weights_before"])


@key("07", "2")
def _feature_map_size(base: keras.Model) -> tuple[int, int]:
    return tuple(int(side) for side in base.output.shape[1:3])


@key("07", "3", tol=1e-3)
def _top5_by_chance(num_classes: int) -> float:
    return min(1.0, 5 / num_classes)


@key("07", "4")
def _batchnorm_in_unfrozen_part(base: keras.Model, cut_index: int) -> int:
    import keras  # here, not at the top: looking a key up needs no TensorFlow

    return sum(isinstance(layer, keras.layers.BatchNormalization) for layer in base.layers[cut_index:])


@key("07", "5")
def _cases_where_moving_mean_changed(bn_demo: pd.DataFrame) -> int:
    return int(bn_demo["moving mean changed"].sum())


@key("07", "6")
def _test_series_also_in_training(train_files: Sequence[Any], test_files: Sequence[Any]) -> int:
    return len(shared_groups([fruits360_series(f) for f in train_files], [fruits360_series(f) for f in test_files]))
