"""Self-check cells for exercises: say "correct" or give a hint, never the answer.

A notebook makes its chapter's check function once, then calls it under each exercise::

    check = checker("02")
    check("4", answer_4, hint="Recall looks at one row of the confusion matrix.", cm=cm,
          class_names=data.class_names)

The expected value is not in the notebook: :func:`checker` looks it up in the chapter's answer key
(:mod:`helpers.answer_keys`), passing it the run's own objects (``cm=...``) where the answer depends on
the run. An unanswered exercise (``None``) gets its hint, so a notebook run top to bottom never fails on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from . import answer_keys


def _is_close(answer: Any, expected: Any, tol: float) -> bool:
    """Equality that tolerates float rounding, NumPy scalars and tuples vs lists."""
    if hasattr(answer, "tolist") and getattr(answer, "ndim", 0) > 0:  # a NumPy array: compare as (nested) lists
        answer = answer.tolist()
    if isinstance(expected, float) or isinstance(answer, float):
        try:
            return math.isclose(float(answer), float(expected), rel_tol=tol, abs_tol=tol)
        except (TypeError, ValueError):
            return False
    if isinstance(expected, tuple | list) and isinstance(answer, tuple | list):
        return len(answer) == len(expected) and all(_is_close(a, e, tol) for a, e in zip(answer, expected, strict=True))
    if hasattr(answer, "item") and not isinstance(answer, str):
        answer = answer.item()
    return answer == expected


class _CheckResult:
    """The outcome of :func:`_check`: true when the answer is right.

    It displays as nothing in a notebook (the printed message is the feedback), instead of a bare
    ``True``/``False`` under every self-check cell.
    """

    def __init__(self, correct: bool) -> None:
        self.correct = correct

    def __bool__(self) -> bool:
        return self.correct

    def __repr__(self) -> str:
        return f"CheckResult(correct={self.correct})"

    def _ipython_display_(self) -> None:
        """Show nothing: the message printed by :func:`_check` says it all."""


def _check(exercise: str, answer: Any, *, expected: Any, hint: str, tol: float = 1e-6) -> _CheckResult:
    """Print whether ``answer`` is right; the result is true when it is.

    Args:
        exercise: The exercise's number or name, echoed in the message.
        answer: What the learner computed; ``None`` means not answered yet.
        expected: The right answer (computed by the cell, so it follows the data actually loaded).
        hint: Shown when the answer is missing or wrong; must not give the answer away.
        tol: Tolerance for float answers.
    """
    if answer is None:
        print(f"Exercise {exercise}: not answered yet. Hint: {hint}")
        return _CheckResult(False)
    if _is_close(answer, expected, tol):
        print(f"Exercise {exercise}: correct!")
        return _CheckResult(True)
    print(f"Exercise {exercise}: not quite. Hint: {hint}")
    return _CheckResult(False)


def checker(chapter: str) -> Callable[..., _CheckResult]:
    """The self-check function of one chapter's notebook, grading with that chapter's answer key.

    The function returned is ``check(exercise, answer, *, hint, **given)``: ``given`` are the objects of the
    run that the key needs (see ``helpers/answer_keys/ch<chapter>.py``). The exercises of every chapter use it.
    """

    def check_answer(exercise: str, answer: Any, *, hint: str, **given: Any) -> _CheckResult:
        if answer is None:  # not answered: no need to compute the key
            return _check(exercise, None, expected=None, hint=hint)
        expected = answer_keys.lookup(chapter, exercise)
        return _check(exercise, answer, expected=expected.compute(**given), hint=hint, tol=expected.tol)

    return check_answer
