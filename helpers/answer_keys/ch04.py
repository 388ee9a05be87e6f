"""Answer keys of chapter 04 · What a CNN sees (worked solutions: ``solutions/04_odonata_what_a_cnn_sees.py``).

Every answer here depends on the run (the profile's filters and image size, the trained model's mistakes,
the article split's rows), so each key computes it from the notebook's own objects.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import key


@key("04", "1")
def _first_conv_weights(gray_model: Any) -> int:
    """Weights (biases left out) of the grayscale model's first convolution: kh * kw * 1 channel * filters."""
    return int(np.prod(gray_model.get_layer("block1_conv1").kernel.shape))


@key("04", "2")
def _grad_cam_resolution(model: Any) -> tuple[int, int]:
    """(height, width) of ``block3_conv2``'s feature maps, the grid Grad-CAM's heat map is computed on."""
    return tuple(int(side) for side in model.get_layer("block3_conv2").output.shape[1:3])


@key("04", "3")
def _test_mistakes(y_true: Any, y_prob: Any) -> int:
    """Test images whose most probable class is not their label."""
    return int((np.asarray(y_prob).argmax(axis=1) != np.asarray(y_true).reshape(-1)).sum())


@key("04", "4")
def _class_not_chosen(y_prob: Any, right: Any, wrong: Any) -> int:
    """The class the model did not choose for the most confidently wrong photo (or right, when none is wrong)."""
    case = wrong[0] if len(wrong) else right[0]
    return int(1 - np.asarray(y_prob)[case].argmax())


@key("04", "5")
def _test_images_with_twin_in_training(split: Any) -> int:
    """Test rows ``(photo, mirrored)`` of the article split whose twin ``(photo, 1 - mirrored)`` is a training row."""
    return int(np.asarray(split.test_leaked).sum())
