"""The answer keys of the notebooks' self-check exercises, one module per chapter (``ch02.py`` ...).

The keys live here, not in the notebooks, so that a learner works an answer out instead of reading it
under the question, and so that an instructor's autograder (``course.py assignment``) grades with the very
same keys as the self-checks. A key is a private function registered with :func:`key` (only :func:`lookup`
calls it); it returns the expected answer, computed from the objects of the learner's own run where the
answer depends on the run (a confusion matrix, a training history), so it is right in every profile and on
every dataset. The worked solutions, with the reasoning, are in ``solutions/``; CI runs them against every
notebook.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class _Key:
    """One exercise's key: the function that computes the expected answer, and the tolerance for floats."""

    compute: Callable[..., Any]
    tol: float


_KEYS: dict[tuple[str, str], _Key] = {}


def key(chapter: str, exercise: str, *, tol: float = 1e-6) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as the key of ``exercise`` in ``chapter`` (both as the notebook writes them).

    The keys of every chapter (``ch00.py`` to ``ch09.py``) register with it.
    """

    def register(compute: Callable[..., Any]) -> Callable[..., Any]:
        _KEYS[(chapter, exercise)] = _Key(compute, tol)
        return compute

    return register


def lookup(chapter: str, exercise: str) -> _Key:
    """The key of one exercise, loading ``ch<chapter>.py`` on first use.

    Every chapter's self-checks reach it through :func:`helpers.exercises.checker`; ``course.py assignment``
    grades with it too.

    Raises:
        KeyError: no key for that exercise (a notebook and its keys disagree: a bug in the course).
    """
    try:
        importlib.import_module(f"{__name__}.ch{chapter}")
    except ModuleNotFoundError as err:
        raise KeyError(f"no answer keys for chapter {chapter!r} (helpers/answer_keys/ch{chapter}.py)") from err
    try:
        return _KEYS[(chapter, exercise)]
    except KeyError:
        raise KeyError(f"no answer key for exercise {exercise!r} of chapter {chapter!r}") from None


def _exercises(chapter: str) -> list[str]:
    """The exercises of ``chapter`` that have a key, in the order they are registered."""
    importlib.import_module(f"{__name__}.ch{chapter}")
    return [exercise for (ch, exercise) in _KEYS if ch == chapter]
