"""Training helpers: callbacks, progress output and a timed ``fit``.

Notebooks keep ``model.compile`` and ``model.fit`` visible (that is the lesson); what is the same in
every chapter (early stopping, learning-rate control, how progress is printed, timing) lives here.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import keras


def fit_verbosity() -> int:
    """Keras ``verbose`` for ``fit``: a live progress bar when a person watches, one line per epoch in batch runs.

    The course's run command and CI set ``COURSE_BATCH=1`` for the notebooks they execute.
    """
    return 2 if os.environ.get("COURSE_BATCH") or os.environ.get("CI") else 1


def standard_callbacks(
    *, patience: int = 3, monitor: str = "val_loss", reduce_lr: bool = True, min_lr: float = 1e-6
) -> list[keras.callbacks.Callback]:
    """Early stopping that restores the best weights, plus (optionally) ReduceLROnPlateau.

    Restoring the best weights matters: without it the model you evaluate is the one from the last
    epoch, which is usually already over-fitting.
    """
    callbacks: list[keras.callbacks.Callback] = [
        keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True, verbose=1)
    ]
    if reduce_lr:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor=monitor, factor=0.3, patience=max(1, patience // 2), min_lr=min_lr, verbose=1))
    return callbacks


@dataclass
class FitResult:
    """What :func:`timed_fit` returns: Keras' history plus the wall time of training."""

    history: keras.callbacks.History
    seconds: float

    @property
    def epochs(self) -> int:
        return len(self.history.history.get("loss", []))


def backup_dir(results_dir: str | os.PathLike, run: str, profile: str) -> str | None:
    """Where a ``quick``/``full`` run keeps its resume checkpoints (``None`` for ``smoke``, which is seconds long).

    On Colab, point ``RESULTS_DIR`` at Google Drive to survive a disconnect.
    """
    return None if profile == "smoke" else os.path.join(results_dir, "checkpoints", run)


def timed_fit(model: keras.Model, train, *, validation_data, epochs: int, callbacks=None,
              backup: str | os.PathLike | None = None, **kwargs) -> FitResult:
    """``model.fit`` with the course's progress output, timed; returns a :class:`FitResult`.

    With ``backup`` (a folder), training is resumable: a checkpoint is written after every epoch,
    and running the same cell again after a disconnect or a crash continues from the last finished
    epoch instead of starting over (``keras.callbacks.BackupAndRestore``). The folder is removed when
    training finishes. The returned history then holds only the epochs of this call.
    """
    callbacks = list(callbacks or [])
    if backup is not None:
        callbacks.insert(0, keras.callbacks.BackupAndRestore(backup_dir=str(backup), delete_checkpoint=True))
    start = time.perf_counter()
    history = model.fit(train, validation_data=validation_data, epochs=epochs, callbacks=callbacks,
                        verbose=fit_verbosity(), shuffle=False, **kwargs)  # the dataset shuffles itself
    return FitResult(history, time.perf_counter() - start)
