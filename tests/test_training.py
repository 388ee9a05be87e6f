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


class _DisconnectDuring(keras.callbacks.Callback):
    """Simulates a session lost while epoch ``at`` (0-based) trains, after the previous one was saved."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise ConnectionAbortedError("session lost")


def _tiny_problem():
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1), loss="sparse_categorical_crossentropy")
    return model, ds


def test_interrupted_training_resumes_where_it_stopped(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BATCH", "1")
    keras.utils.set_random_seed(0)
    model, ds = _tiny_problem()
    backup = tmp_path / "backup"
    try:
        training.timed_fit(model, ds, validation_data=ds, epochs=4, backup=backup, callbacks=[_DisconnectDuring(1)])
    except ConnectionAbortedError:
        pass
    else:
        raise AssertionError("the simulated disconnect did not happen")
    assert backup.exists(), "a checkpoint must survive the interruption"
    fresh, _ = _tiny_problem()  # a new kernel: the model object is rebuilt from scratch
    trained = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(epoch))
    seen: list[int] = []
    result = training.timed_fit(fresh, ds, validation_data=ds, epochs=4, backup=backup, callbacks=[trained])
    assert seen == [1, 2, 3], "resumes at epoch 2 (index 1) and ends at the same count"
    assert result.history.epoch == [0, 1, 2, 3], "the history includes the epoch before the interruption"
    assert not backup.exists(), "the checkpoint is removed once training finished"


def test_uninterrupted_run_has_the_same_epoch_count(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BATCH", "1")
    model, ds = _tiny_problem()
    result = training.timed_fit(model, ds, validation_data=ds, epochs=4, backup=tmp_path / "b")
    assert result.history.epoch == [0, 1, 2, 3]


def test_backup_dir_only_for_long_profiles(tmp_path):
    assert training.backup_dir(tmp_path, "02", "smoke") is None
    assert training.backup_dir(tmp_path, "02", "quick").endswith("checkpoints/02")


class _Scripted(keras.callbacks.Callback):
    """Writes a scripted ``val_score`` into the logs, so early stopping's choices are known in advance."""

    SCORES = (3.0, 1.0, 2.0, 2.5, 2.7, 2.9)  # best at epoch index 1; patience 2 stops after index 3

    def on_epoch_end(self, epoch, logs=None):
        logs["val_score"] = self.SCORES[epoch]


def _scripted_run(backup, disconnect_at=None):
    keras.utils.set_random_seed(0)
    model, ds = _tiny_problem()
    stop = keras.callbacks.EarlyStopping(monitor="val_score", mode="min", patience=2, restore_best_weights=True)
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_score", mode="min", patience=1, factor=0.5)
    callbacks = [_Scripted(), stop, plateau] + ([_DisconnectDuring(disconnect_at)] if disconnect_at is not None else [])
    result = training.timed_fit(model, ds, validation_data=ds, epochs=6, backup=backup, callbacks=callbacks)
    return model, result


def test_resumed_run_ends_exactly_as_an_uninterrupted_one(tmp_path, monkeypatch):
    """Interrupted after its best epoch, a run must still stop at the same epoch, restore the same best
    weights and return the whole history (BackupAndRestore alone forgets early stopping's state)."""
    monkeypatch.setenv("COURSE_BATCH", "1")
    reference, ref_result = _scripted_run(tmp_path / "ref")
    assert ref_result.history.epoch == [0, 1, 2, 3]  # stopped by early stopping, best epoch index 1
    try:
        _scripted_run(tmp_path / "cut", disconnect_at=3)  # after the best epoch (1), before the stop (3)
    except ConnectionAbortedError:
        pass
    else:
        raise AssertionError("the simulated disconnect did not happen")
    keras.utils.set_random_seed(123)  # a new kernel: other random state, rebuilt model
    model, ds = _tiny_problem()
    stop = keras.callbacks.EarlyStopping(monitor="val_score", mode="min", patience=2, restore_best_weights=True)
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_score", mode="min", patience=1, factor=0.5)
    result = training.timed_fit(model, ds, validation_data=ds, epochs=6, backup=tmp_path / "cut",
                                callbacks=[_Scripted(), stop, plateau])
    assert result.history.epoch == ref_result.history.epoch
    assert result.history.history["loss"] == ref_result.history.history["loss"]
    assert stop.best_epoch == 1 and stop.stopped_epoch == 3
    for got, want in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert float(model.optimizer.learning_rate) == float(reference.optimizer.learning_rate)
    assert not (tmp_path / "cut").exists()
