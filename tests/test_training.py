from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from helpers import training


def test_fit_verbosity(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("COURSE_BATCH", raising=False)
    assert training.fit_verbosity() == 1
    monkeypatch.setenv("COURSE_BATCH", "1")
    assert training.fit_verbosity() == 2


def test_standard_callbacks_restore_best_weights():
    callbacks = training.standard_callbacks(patience=4)
    stop = callbacks[0]
    assert isinstance(stop, keras.callbacks.EarlyStopping) and stop.restore_best_weights and stop.patience == 4
    assert isinstance(callbacks[1], keras.callbacks.ReduceLROnPlateau) and callbacks[1].patience == 2
    assert len(training.standard_callbacks(reduce_lr=False)) == 1


def test_timed_fit_times_and_counts_epochs(monkeypatch):
    monkeypatch.setenv("COURSE_BATCH", "1")
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1), loss="sparse_categorical_crossentropy")
    result = training.timed_fit(model, ds, validation_data=ds, epochs=3)
    assert result.epochs == 3 and result.seconds > 0
    assert result.history.history["loss"][-1] < result.history.history["loss"][0]
