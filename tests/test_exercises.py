import numpy as np
import pytest

from helpers import exercises


def test_unanswered_gives_the_hint(capsys):
    assert not exercises._check("1", None, expected=3, hint="count them")
    assert "not answered yet. Hint: count them" in capsys.readouterr().out


def test_correct_and_wrong(capsys):
    assert exercises._check("2", 3, expected=3, hint="h")
    assert "correct" in capsys.readouterr().out
    assert not exercises._check("2", 4, expected=3, hint="look again")
    out = capsys.readouterr().out
    assert "look again" in out and "3" not in out.replace("Exercise 2", "")


@pytest.mark.parametrize(("answer", "expected", "ok"), [
    (0.1 + 0.2, 0.3, True), (np.int64(5), 5, True), ([8, 64, 48, 3], (8, 64, 48, 3), True),
    ((8, 64, 3), (8, 64, 48, 3), False), ("food", "food", True), ("x", 1.0, False), (np.float32(0.5), 0.5, True),
])
def test_is_close(answer, expected, ok):
    assert exercises._is_close(answer, expected, 1e-6) is ok


def test_result_shows_nothing_in_a_notebook():
    result = exercises._check("3", None, expected=1, hint="h")
    assert result._ipython_display_() is None and repr(result) == "CheckResult(correct=False)"


def test_checker_grades_with_the_chapter_key(capsys):
    from helpers.exercises import checker

    check_02 = checker("02")
    assert check_02("1", 448, hint="weights and a bias")
    assert not check_02("1", 896, hint="weights and a bias")
    assert "448" not in capsys.readouterr().out  # the hint, never the answer


def test_checker_passes_the_run_objects_to_the_key():
    from helpers.exercises import checker

    cm = np.array([[5, 1], [3, 1]])
    assert checker("02")("4", 0.25, hint="h", cm=cm, class_names=["forest", "glacier"])
    assert not checker("02")("4", 5 / 6, hint="h", cm=cm, class_names=["forest", "glacier"])


def test_unanswered_needs_no_key_objects(capsys):
    from helpers.exercises import checker

    assert not checker("02")("4", None, hint="one row of cm")  # no cm given: the key is not computed
    assert "not answered yet" in capsys.readouterr().out
