import numpy as np
import pytest

from helpers.exercises import check, is_close


def test_unanswered_gives_the_hint(capsys):
    assert not check("1", None, expected=3, hint="count them")
    assert "not answered yet. Hint: count them" in capsys.readouterr().out


def test_correct_and_wrong(capsys):
    assert check("2", 3, expected=3, hint="h")
    assert "correct" in capsys.readouterr().out
    assert not check("2", 4, expected=3, hint="look again")
    out = capsys.readouterr().out
    assert "look again" in out and "3" not in out.replace("Exercise 2", "")


@pytest.mark.parametrize(("answer", "expected", "ok"), [
    (0.1 + 0.2, 0.3, True), (np.int64(5), 5, True), ([8, 64, 48, 3], (8, 64, 48, 3), True),
    ((8, 64, 3), (8, 64, 48, 3), False), ("food", "food", True), ("x", 1.0, False), (np.float32(0.5), 0.5, True),
])
def test_is_close(answer, expected, ok):
    assert is_close(answer, expected, 1e-6) is ok


def test_result_shows_nothing_in_a_notebook():
    result = check("3", None, expected=1, hint="h")
    assert result._ipython_display_() is None and repr(result) == "CheckResult(correct=False)"
