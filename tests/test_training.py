from __future__ import annotations

from types import SimpleNamespace

import keras
import numpy as np
import tensorflow as tf

from helpers import training


def fit(model, ds, *, epochs, backup=None, callbacks=()):
    """What every chapter writes: ``model.fit`` with its callbacks, ``resumable(...)``, and a Timer last."""
    callbacks, timer = list(callbacks), training.Timer()
    history = model.fit(ds, validation_data=ds, epochs=epochs, verbose=0,
                        callbacks=[*callbacks, *training.resumable(backup, callbacks), timer])
    return SimpleNamespace(history=history, seconds=timer.seconds, epochs=timer.epochs)


def test_fit_verbosity_follows_the_runtimes_answer(monkeypatch):
    monkeypatch.setattr(training, "someone_watching", lambda: True)
    assert training.fit_verbosity() == 1  # a live progress bar
    monkeypatch.setattr(training, "someone_watching", lambda: False)
    assert training.fit_verbosity() == 2  # one line per epoch


def test_fit_verbosity_is_one_line_per_epoch_in_batch_runs(monkeypatch):
    monkeypatch.setenv("COURSE_BATCH", "1")
    monkeypatch.setenv("JPY_SESSION_NAME", "01.ipynb")
    assert training.fit_verbosity() == 2


def test_standard_callbacks_restore_best_weights():
    callbacks = training.standard_callbacks(patience=4)
    stop = callbacks[0]
    assert isinstance(stop, keras.callbacks.EarlyStopping) and stop.restore_best_weights and stop.patience == 4
    assert isinstance(callbacks[1], keras.callbacks.ReduceLROnPlateau) and callbacks[1].patience == 2
    assert len(training.standard_callbacks(reduce_lr=False)) == 1


def test_timer_times_and_counts_epochs(monkeypatch):
    monkeypatch.setenv("COURSE_BATCH", "1")
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1), loss="sparse_categorical_crossentropy")
    result = fit(model, ds, epochs=3)
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
        fit(model, ds, epochs=4, backup=backup, callbacks=[_DisconnectDuring(1)])
    except ConnectionAbortedError:
        pass
    else:
        raise AssertionError("the simulated disconnect did not happen")
    assert backup.exists(), "a checkpoint must survive the interruption"
    fresh, _ = _tiny_problem()  # a new kernel: the model object is rebuilt from scratch
    trained = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(epoch))
    seen: list[int] = []
    result = fit(fresh, ds, epochs=4, backup=backup, callbacks=[trained])
    assert seen == [1, 2, 3], "resumes at epoch 2 (index 1) and ends at the same count"
    assert result.history.epoch == [0, 1, 2, 3], "the history includes the epoch before the interruption"
    assert not backup.exists(), "the checkpoint is removed once training finished"


def test_uninterrupted_run_has_the_same_epoch_count(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BATCH", "1")
    model, ds = _tiny_problem()
    result = fit(model, ds, epochs=4, backup=tmp_path / "b")
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
    result = fit(model, ds, epochs=6, backup=backup, callbacks=callbacks)
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
    result = fit(model, ds, epochs=6, backup=tmp_path / "cut",
                                callbacks=[_Scripted(), stop, plateau])
    assert result.history.epoch == ref_result.history.epoch
    assert result.history.history["loss"] == ref_result.history.history["loss"]
    assert stop.best_epoch == 1 and stop.stopped_epoch == 3
    for got, want in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert float(model.optimizer.learning_rate) == float(reference.optimizer.learning_rate)
    assert not (tmp_path / "cut").exists()


def test_every_fit_is_recorded_with_what_the_model_ran_under(monkeypatch):
    """A Timer among a fit's callbacks (every fit in the course has one) adds the model to the run log:
    its dtype policy, loss scaling and strategy, read from the model, not from the environment."""
    from helpers import results

    monkeypatch.setenv("COURSE_BATCH", "1")
    results.clear_trained()
    model, ds = _tiny_problem()
    fit(model, ds, epochs=2)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        mixed, _ = _tiny_problem()
        mixed.name = "mixed"
    finally:
        keras.mixed_precision.set_global_policy("float32")
    timer = training.Timer()
    mixed.fit(ds, epochs=1, verbose=0, shuffle=False, callbacks=[timer])  # after the reset: the model keeps its policy
    mixed.fit(ds, epochs=1, verbose=0, shuffle=False)  # no Timer: nothing recorded
    first, second = results.trained_models()
    results.clear_trained()
    assert first == {"name": model.name, "dtype_policy": "float32", "loss_scale": False, "optimizer": "Adam",
                     "strategy": "default", "replicas": 1, "weight_copies": 1, "epochs": 2,
                     "seconds": first["seconds"]}
    assert second == {"name": "mixed", "dtype_policy": "mixed_float16", "loss_scale": True,
                      "optimizer": "LossScaleOptimizer", "strategy": "default", "replicas": 1, "weight_copies": 1,
                      "epochs": 1, "seconds": round(timer.seconds, 2)}


RECORDED_ON_TWO_DEVICES = r'''
import json, warnings
import keras, numpy as np, tensorflow as tf
from helpers import models, results, runtime, training
rt = runtime.setup("smoke", seed=1, verbose=False)  # COURSE_STRATEGY=cpu:2 COURSE_MIXED_PRECISION=1
assert (rt.precision, rt.replicas) == ("mixed_float16", 2), rt
x = np.random.default_rng(0).uniform(0, 255, (16, 16, 16, 3)).astype("float32")
ds = tf.data.Dataset.from_tensor_slices((x, np.arange(16) % 2)).batch(8)

def train(name):
    model = models.scratch_cnn((16, 16, 3), 2, filters=(4,), dense=(8,), name=name)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(ds, validation_data=ds, epochs=1, verbose=0, callbacks=[training.Timer()])

train("before")
keras.backend.clear_session()  # drops the policy and the strategy (chapter 06's bug)
train("after_clear_session")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    path = results.save(".", "rehearsal", runtime=rt, dataset="d", model="m", metrics={}, train_seconds=0,
                        sample=True)
print(json.dumps({"trained": json.loads(path.read_text())["trained_models"],
                  "warnings": [str(w.message) for w in caught if w.category is RuntimeWarning]}))
'''


def test_a_mixed_two_replica_fit_is_recorded_as_such(tmp_path):
    """Under COURSE_MIXED_PRECISION=1 and COURSE_STRATEGY=cpu:2 (two logical CPU devices, which must be set
    before TensorFlow starts: hence a subprocess), a model is recorded as mixed_float16 with loss scaling on a
    2-replica MirroredStrategy with two copies of each weight; one built after clear_session() is recorded as
    float32 on one device, and results.save warns about it."""
    import json
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", RECORDED_ON_TWO_DEVICES], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "COURSE_STRATEGY": "cpu:2",
                               "COURSE_MIXED_PRECISION": "1", "COURSE_BATCH": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    before, after = out["trained"]
    assert {k: before[k] for k in ("name", "dtype_policy", "loss_scale", "strategy", "replicas", "weight_copies")} \
        == {"name": "before", "dtype_policy": "mixed_float16", "loss_scale": True, "strategy": "MirroredStrategy",
            "replicas": 2, "weight_copies": 2}
    assert {k: after[k] for k in ("name", "dtype_policy", "loss_scale", "strategy", "replicas", "weight_copies")} \
        == {"name": "after_clear_session", "dtype_policy": "float32", "loss_scale": False, "strategy": "default",
            "replicas": 1, "weight_copies": 1}
    [warning] = out["warnings"]
    assert "after_clear_session: dtype policy float32, expected mixed_float16" in warning
    assert "after_clear_session: 1 replica(s), expected 2" in warning and "before:" not in warning
