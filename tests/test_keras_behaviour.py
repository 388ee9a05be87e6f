"""Claims the chapters make about Keras itself, checked on the installed Keras.

CI runs these on the pinned Keras (3.15); they were also run on Keras 3.13 with TensorFlow 2.20 (the
Colab stack), see the README's Versions section. If a Keras release changes one of these behaviours, the
test fails and the chapters' prose must change with it.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers import finetune


@pytest.fixture(scope="module")
def demo():
    return finetune.batchnorm_demo().set_index(["bn.trainable", "backbone called with"])


def test_training_false_does_not_freeze_batchnorm(demo) -> None:
    """Chapters 05, 07, 08: ``base(x, training=False)`` does not stop a trainable BN from updating under fit."""
    row = demo.loc[(True, "base(x, training=False)")]
    assert row["moving mean changed"] and row["gamma trained"]


def test_trainable_false_freezes_batchnorm(demo) -> None:
    """What does keep BN frozen: the layer's own ``trainable = False``, however the backbone is called."""
    for call in ("base(x)", "base(x, training=False)"):
        row = demo.loc[(False, call)]
        assert not row["moving mean changed"] and not row["gamma trained"]


def test_fit_overrides_training_false_for_dropout() -> None:
    """The same override switches on a Dropout inside a backbone called with ``training=False``."""
    inner_in = keras.Input((4,))
    inner = keras.Model(inner_in, keras.layers.Dropout(0.99)(inner_in))
    inputs = keras.Input((4,))
    model = keras.Model(inputs, inner(inputs, training=False))
    x = np.ones((1, 4), "float32")
    assert np.allclose(model(x, training=False), x)
    assert not np.allclose(model(x, training=True), x)  # what fit passes: dropout runs despite training=False


def test_trainable_change_needs_compile() -> None:
    """Chapters 07, 08: a change of ``trainable`` after compile only takes effect at the next compile."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    dense = keras.layers.Dense(2)
    model = keras.Model(inputs, keras.layers.Dense(1)(dense(inputs)))
    dense.trainable = False
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
    model.fit(x, y, epochs=1, verbose=0)  # builds the optimizer with dense frozen
    dense.trainable = True
    before = np.array(dense.kernel)
    model.fit(x, y, epochs=1, verbose=0)
    stale = np.allclose(before, dense.kernel)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    assert stale and not np.allclose(before, dense.kernel)
