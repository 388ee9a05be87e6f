"""Answer keys of chapter 01 · Convolution intuition (worked solutions: ``solutions/01_convolution_intuition.py``)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from .. import convolution
from . import key


@key("01", "1")
def _output_height_valid_stride_2() -> int:
    return convolution.output_size(150, 3, 2, "valid")


@key("01", "2")
def _conv_parameters_64_filters_on_32_channels() -> int:
    layer = keras.layers.Conv2D(64, 3)
    layer.build((None, 75, 75, 32))
    return layer.count_params()


@key("01", "3")
def _receptive_field_after_two_vgg_blocks() -> int:
    block = [(3, 1), (3, 1), (2, 2)]  # (kernel, stride): conv3, conv3, pool2
    return convolution.receptive_field(block * 2)


class _HorizontalEdgeDetector:
    """Equal to every 3x3 kernel that detects horizontal edges getting darker downwards (exercise 4).

    A design exercise has many right answers, so its key is a test rather than a value: the learner's kernel
    (a list of rows, or an array) must respond positively to a bright top half over a dark bottom half, and
    give 0 on a flat image and on a vertical edge. :func:`helpers.exercises.checker` compares an answer with
    the key by ``==``, which Python hands to this class's ``__eq__`` when the answer is a list.
    """

    def __repr__(self) -> str:
        return "HorizontalEdgeDetector()"

    def __eq__(self, kernel: Any) -> bool:
        try:
            kernel = np.asarray(kernel, "float32")
        except (TypeError, ValueError):
            return False
        if kernel.shape != (3, 3) or not np.isfinite(kernel).all():
            return False
        bright_top = np.repeat([[9.0], [9.0], [9.0], [0.0], [0.0], [0.0]], 6, axis=1)
        flat, vertical = np.full((6, 6), 5.0), bright_top.T
        strongest = convolution.conv2d_loops(bright_top, kernel).max()
        quiet = max(np.abs(convolution.conv2d_loops(other, kernel)).max() for other in (flat, vertical))
        return bool(strongest > 0 and quiet < 1e-6)

    __hash__ = None  # equal to many kernels: not hashable


@key("01", "4")
def _a_horizontal_edge_detector() -> _HorizontalEdgeDetector:
    return _HorizontalEdgeDetector()
