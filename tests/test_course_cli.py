"""``course.py``, the course's one entry point (a script beside the package, loaded here by path)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _course_cli():
    spec = importlib.util.spec_from_file_location("course_cli", ROOT / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _executed(path: Path, seconds: float | None) -> None:
    papermill = {} if seconds is None else {"papermill": {"duration": seconds}}
    path.write_text(json.dumps({"cells": [], "metadata": papermill, "nbformat": 4, "nbformat_minor": 5}))


def test_the_second_run_starts_the_notebooks_that_took_longest_first(tmp_path):
    first, rerun = tmp_path / "notebooks", tmp_path / "rerun"
    first.mkdir()
    rerun.mkdir()
    times = {"00_a": 20.0, "07_b": 95.0, "08_c": 60.0, "09_d": 50.0, "01_e": None}
    for name, seconds in times.items():
        _executed(rerun / f"{name}.ipynb", 1.0)  # the re-run copies' own figures are not what counts
        if seconds is not None or name == "01_e":
            _executed(first / f"{name}.ipynb", seconds)
    (first / "09_d.ipynb").write_text("not json")  # unreadable: last, never an error
    (rerun / "notes.txt").write_text("not a notebook")
    order = [Path(p).stem for p in _course_cli().longest_first(rerun, first)]
    assert order == ["07_b", "08_c", "00_a", "01_e", "09_d"]
