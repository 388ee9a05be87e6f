"""Answer keys of chapter 05 · Transfer learning on Food-5K.

Worked solutions: ``solutions/05_transfer_learning_food5k.py``.

Exercises 1, 4 and 5 depend on the run (the backbone's feature length, the BatchNormalization table), so
their keys read the notebook's own objects; 2 and 3 follow from the class names and the caching rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from . import key


@key("05", "1")
def _feature_vector_length(train_x: np.ndarray) -> int:
    return int(np.shape(train_x)[1])  # one pooled number per channel of the backbone's last layer


@key("05", "2")
def _food_label_in_alphabetical_order(class_names: Sequence[str]) -> int:
    return sorted(class_names).index("food")


@key("05", "3")
def _setups_that_may_cache() -> str:
    return "ad"  # frozen backbone, nothing random before it; what comes after the backbone does not matter


@key("05", "4")
def _bigger_head_parameters(feature_dim: int, num_classes: int, head_units: int = 256) -> int:
    return (int(feature_dim) + 1) * head_units + (head_units + 1) * int(num_classes)


@key("05", "5")
def _call_that_keeps_bn_still(bn_demo: pd.DataFrame) -> str:
    trainable = bn_demo[bn_demo["bn.trainable"]]
    still = trainable.loc[~trainable["moving mean changed"], "backbone called with"].tolist()
    return still[0] if len(still) == 1 else "neither"
