"""Training helpers: the callbacks every chapter passes to its own ``model.fit``.

Notebooks keep ``model.compile`` and ``model.fit`` visible (that is the lesson); what is the same in
every chapter lives here as callbacks: early stopping and learning-rate control
(:func:`standard_callbacks`), resuming after a disconnect (:func:`resumable`), timing and the run log
(:class:`Timer`), and how progress is printed (:func:`fit_verbosity`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from . import results
from .runtime import someone_watching


def fit_verbosity() -> int:
    """Keras ``verbose`` for ``fit``: a live progress bar when a person watches, one line per epoch otherwise.

    Who watches is :func:`helpers.runtime.someone_watching`'s answer (nobody in the course's batch runs and CI).
    Every ``model.fit(..., verbose=training.fit_verbosity())`` of chapters 00 and 02-09 uses it.
    """
    return 1 if someone_watching() else 2


def standard_callbacks(
    *, patience: int = 3, monitor: str = "val_loss", reduce_lr: bool = True, min_lr: float = 1e-6
) -> list[keras.callbacks.Callback]:
    """Early stopping that restores the best weights, plus (optionally) ReduceLROnPlateau.

    Restoring the best weights matters: without it the model you evaluate is the one from the last
    epoch, which is usually already over-fitting.
    Used in chapters 02-04 and 06-09.
    """
    callbacks: list[keras.callbacks.Callback] = [
        keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True, verbose=1)
    ]
    if reduce_lr:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor=monitor, factor=0.3, patience=max(1, patience // 2), min_lr=min_lr, verbose=1))
    return callbacks


def trained_as(model: keras.Model) -> dict:
    """What precision and distribution ``model`` really trains with, read from the model itself.

    ``dtype_policy`` is the model's Keras dtype policy (fixed when it was built: a model built after
    ``keras.backend.clear_session()`` gets ``float32`` whatever the set-up cell chose), ``loss_scale``
    whether ``compile`` wrapped its optimizer in a ``LossScaleOptimizer`` (what mixed precision needs),
    ``strategy`` and ``replicas`` the ``tf.distribute`` strategy it runs under, and ``weight_copies`` how
    many devices hold each of its weights (one per replica when it was built under the strategy; one when
    it was built before a strategy was set, or after it was dropped).
    The :class:`Timer` of every training chapter records it; ``tools/check_recipes.py`` checks the recipes with it.
    """
    strategy = model.distribute_strategy
    name = type(strategy).__name__
    variables = model.trainable_variables or model.variables
    copies = len(getattr(variables[0].value, "values", (None,))) if variables else 0
    optimizer = getattr(model, "optimizer", None)
    return {
        "name": model.name,
        "dtype_policy": model.dtype_policy.name,
        "loss_scale": isinstance(optimizer, keras.optimizers.LossScaleOptimizer),
        "optimizer": type(optimizer).__name__ if optimizer is not None else None,
        "strategy": "default" if name == "_DefaultDistributionStrategy" else name,
        "replicas": int(strategy.num_replicas_in_sync),
        "weight_copies": copies,
    }


class Timer(keras.callbacks.Callback):
    """A callback that times ``model.fit`` and records what the model trained as.

    ``seconds`` is the wall time from the start to the end of training, ``epochs`` the number of epochs in
    the model's history (with :func:`resumable`, those before an interruption count too). At the end of
    training it adds one entry to the run log that ``results.save`` writes out as ``trained_models``
    (:func:`trained_as`, plus ``epochs`` and ``seconds``), so each results file says what every model it
    reports actually ran under. Put it **last** in ``callbacks``, after :func:`resumable`'s, so that it
    counts the whole history of a resumed run. Chapter 02 introduces it; every training chapter uses it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.seconds = 0.0
        self.epochs = 0
        self._start = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_train_end(self, logs: dict | None = None) -> None:
        self.seconds = time.perf_counter() - self._start
        history = getattr(self.model, "history", None)
        self.epochs = len(history.history.get("loss", [])) if history is not None else 0
        results.record_trained({**trained_as(self.model), "epochs": self.epochs, "seconds": round(self.seconds, 2)})


def resumable(backup: str | os.PathLike | None,
              callbacks: Sequence[keras.callbacks.Callback] = ()) -> list[keras.callbacks.Callback]:
    """The callbacks that make a ``fit`` resumable after a disconnect; none when ``backup`` is ``None``.

    ``keras.callbacks.BackupAndRestore`` writes a checkpoint to the folder ``backup`` after every epoch
    (weights, optimizer, epoch) and, when the same ``fit`` runs again, continues from the last finished
    epoch; :class:`_ResumeState` adds what it forgets: the state of the ``callbacks`` given (early stopping's
    best weights and patience, ReduceLROnPlateau's counters) and the history so far. A resumed run therefore
    ends exactly as an uninterrupted one. Put these after the callbacks they watch (and before a
    :class:`Timer`); the folder is removed when training finishes. Chapter 02 explains resuming.
    """
    if backup is None:
        return []
    return [_ResumeState(backup, callbacks),
            keras.callbacks.BackupAndRestore(backup_dir=str(backup), delete_checkpoint=True)]


def backup_dir(results_dir: str | os.PathLike, run: str, profile: str) -> str | None:
    """Where a ``quick``/``full`` run keeps its resume checkpoints (``None`` for ``smoke``, which is seconds long).

    On Colab, point ``RESULTS_DIR`` at Google Drive to survive a disconnect.
    Used in chapters 00, 02-05 and 07-09, with :func:`resumable`.
    """
    return None if profile == "smoke" else os.path.join(results_dir, "checkpoints", run)


class _ResumeState(keras.callbacks.Callback):
    """Makes the callbacks of a resumed run carry on where the interrupted run left them.

    ``keras.callbacks.BackupAndRestore`` restores the model, the optimizer and the epoch, but every other
    callback starts over: ``EarlyStopping`` forgets its best value, its patience counter and the best
    weights it would restore, ``ReduceLROnPlateau`` its counters, and the returned history lacks the
    epochs before the interruption. A run interrupted after its best epoch would then end with worse
    "best" weights than an uninterrupted one. This callback saves that state in ``backup`` after every
    epoch and puts it back when training resumes. It must come after the callbacks it watches and before
    ``BackupAndRestore`` (:func:`resumable` orders them so). Chapter 02 explains resuming; ``tests/test_training.py``
    interrupts a run after its best epoch and checks it ends as the uninterrupted one.
    """

    STATE = "course_callback_state.json"
    BEST = "course_best_weights.npz"
    FIELDS = {keras.callbacks.EarlyStopping: ("wait", "best", "best_epoch", "stopped_epoch"),
              keras.callbacks.ReduceLROnPlateau: ("wait", "best", "cooldown_counter")}

    def __init__(self, backup: str | os.PathLike, callbacks: Sequence[keras.callbacks.Callback]) -> None:
        super().__init__()
        self.folder = Path(backup)
        self.watched = [c for c in callbacks if type(c) in self.FIELDS]
        self.past: dict = {"epoch": [], "history": {}}

    def on_train_begin(self, logs: dict | None = None) -> None:
        state_file = self.folder / self.STATE
        if not state_file.exists():
            self.past = {"epoch": [], "history": {}}
            return
        state = json.loads(state_file.read_text())
        self.past = {"epoch": state["epoch"], "history": state["history"]}
        for callback, saved in zip(self.watched, state["callbacks"], strict=False):
            for name in self.FIELDS[type(callback)]:
                setattr(callback, name, saved[name])
        best = self.folder / self.BEST
        if best.exists():
            with np.load(best) as arrays:
                weights = [arrays[f"w{i}"] for i in range(len(arrays.files))]
            for callback in self.watched:
                if isinstance(callback, keras.callbacks.EarlyStopping) and callback.restore_best_weights:
                    callback.best_weights = weights

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.past["epoch"].append(epoch)
        for key, value in (logs or {}).items():
            self.past["history"].setdefault(key, []).append(float(value))
        state = {"epoch": self.past["epoch"], "history": self.past["history"],
                 "callbacks": [{name: _plain(getattr(c, name)) for name in self.FIELDS[type(c)]}
                               for c in self.watched]}
        self.folder.mkdir(parents=True, exist_ok=True)
        for callback in self.watched:
            if isinstance(callback, keras.callbacks.EarlyStopping) and callback.best_weights is not None:
                tmp = self.folder / ("tmp-" + self.BEST)
                np.savez(tmp, **{f"w{i}": w for i, w in enumerate(callback.best_weights)})
                tmp.replace(self.folder / self.BEST)
        tmp = self.folder / ("tmp-" + self.STATE)
        tmp.write_text(json.dumps(state))
        tmp.replace(self.folder / self.STATE)  # never a half-written state

    def on_train_end(self, logs: dict | None = None) -> None:
        history = getattr(self.model, "history", None)
        if history is None or not self.past["epoch"]:
            return
        history.epoch = list(self.past["epoch"])
        history.history = {key: list(values) for key, values in self.past["history"].items()}


def _plain(value):
    """JSON-safe callback state (NumPy and tensor scalars to floats, ``None`` kept)."""
    if value is None or isinstance(value, int | str):
        return value
    return float(value)
