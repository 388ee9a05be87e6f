"""The answer keys: every key is registered once, found by chapter and exercise, and matches the notebooks."""

import re
from pathlib import Path

import nbformat
import pytest

from helpers import answer_keys

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHECK = re.compile(r"(?<![\w.])check\(\s*[\"']([^\"']+)[\"']")
CHECKER = re.compile(r"checker\(\s*[\"'](\d\d)[\"']\s*\)")


def test_lookup_finds_a_key_and_computes_it():
    assert answer_keys.lookup("02", "1").compute() == 448


def test_unknown_chapter_or_exercise_is_a_clear_key_error():
    with pytest.raises(KeyError, match="chapter '99'"):
        answer_keys.lookup("99", "1")
    with pytest.raises(KeyError, match="exercise '42' of chapter '02'"):
        answer_keys.lookup("02", "42")


def _checks(path: Path) -> tuple[str | None, list[str]]:
    source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    chapter = CHECKER.search(source)
    return (chapter.group(1) if chapter else None), CHECK.findall(source)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_notebook_checks_and_keys_match(path):
    """Every notebook grades with its own ``checker`` and has exactly one key per check cell, none orphaned."""
    chapter, checked = _checks(path)
    assert chapter == path.stem[:2], "the self-checks must grade with checker(\"NN\") and this chapter's keys"
    assert checked == answer_keys._exercises(chapter)


def test_a_design_exercise_key_accepts_every_right_kernel_and_no_wrong_one():
    import numpy as np

    from helpers.exercises import checker

    detector = answer_keys.lookup("01", "4").compute()
    assert detector == [[1, 2, 1], [0, 0, 0], [-1, -2, -1]]
    assert detector == ((1, 1, 1), (0, 0, 0), (-1, -1, -1))
    for wrong in ([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], [[1, 0, -1]] * 3, [[1, 1, 1]] * 3, [[1, 2], [3, 4]], "sobel"):
        assert wrong != detector
    assert checker("01")("4", np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]]), hint="h")
