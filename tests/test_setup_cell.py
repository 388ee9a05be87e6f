"""The set-up cell's first lines (``helpers.course.bootstrap_code``), run in simulated environments.

Each test takes the block from a real notebook, as the learner gets it, and executes it with the
machine faked: whether ``helpers`` is importable, whether ``../helpers`` exists, the Colab module or the
Kaggle variable, and pip (a stand-in for ``subprocess.run`` records the command instead of installing).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

from helpers import course

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def bootstrap_block(path: Path) -> str:
    """The set-up cell's code up to ``from helpers import``, as stored in the notebook."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code" and "runtime.setup(PROFILE" in cell.source:
            return cell.source.split("from helpers import")[0]
    raise AssertionError(f"{path.name} has no set-up cell")


class Machine:
    """A faked place to run the block: records pip calls and what was printed."""

    def __init__(self, monkeypatch, tmp_path: Path, *, installed: bool, clone: bool = False,
                 colab: bool = False, kaggle: bool = False, pip_fails: bool = False) -> None:
        self.pip_calls: list[list[str]] = []
        cwd = tmp_path / "notebooks"
        cwd.mkdir()
        if clone:
            (tmp_path / "helpers").mkdir()
        monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "path", list(sys.path))
        real_find_spec = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec",
                            lambda name, *a: (real_find_spec(name, *a) if installed else None)
                            if name == "helpers" else real_find_spec(name, *a))
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
        monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
        if colab:
            monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
        if kaggle:
            monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")

        def fake_run(cmd, **kwargs):
            self.pip_calls.append(list(cmd))
            err = "ERROR: Could not find a version that satisfies the requirement (no network)\n" if pip_fails else ""
            return subprocess.CompletedProcess(cmd, 1 if pip_fails else 0, stdout="", stderr=err)

        monkeypatch.setattr(subprocess, "run", fake_run)
        self.root = tmp_path


def run_block(block: str) -> None:
    exec(compile(block, "<set-up cell>", "exec"), {"__name__": "__main__"})


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.stem[:2])
def block(request) -> str:
    return bootstrap_block(request.param)


def test_every_notebook_has_the_current_block(block):
    assert block.rstrip() == course.bootstrap_code().rstrip()


def test_local_with_helpers_installed_does_nothing(block, monkeypatch, tmp_path, capsys):
    machine = Machine(monkeypatch, tmp_path, installed=True)
    run_block(block)
    assert machine.pip_calls == [] and capsys.readouterr().out == ""


def test_a_clone_without_install_uses_its_own_helpers(block, monkeypatch, tmp_path, capsys):
    machine = Machine(monkeypatch, tmp_path, installed=False, clone=True, colab=True)
    run_block(block)
    assert machine.pip_calls == []  # even on Colab, a cloned course is used as it is
    assert sys.path[0] == str(tmp_path)
    assert "Using the course helpers of this folder" in capsys.readouterr().out


@pytest.mark.parametrize("place", ["colab", "kaggle"])
def test_colab_and_kaggle_install_the_pinned_package_quietly(block, monkeypatch, tmp_path, capsys, place):
    machine = Machine(monkeypatch, tmp_path, installed=False, **{place: True})
    run_block(block)
    assert machine.pip_calls == [[sys.executable, "-m", "pip", "install", "-q", course.INSTALL_SPEC]]
    assert not any("tensorflow" in arg.lower() for arg in machine.pip_calls[0]), "never reinstall TensorFlow"
    out = capsys.readouterr().out
    assert "Installing the course helpers" in out and f"Installed {course.INSTALL_SPEC}" in out


def test_a_failed_install_stops_with_one_line_that_says_what_to_do(block, monkeypatch, tmp_path):
    Machine(monkeypatch, tmp_path, installed=False, kaggle=True, pip_fails=True)
    with pytest.raises(SystemExit) as stop:
        run_block(block)
    message = str(stop.value)
    assert "Internet on" in message and "no network" in message and "\n" not in message


def test_elsewhere_without_helpers_says_how_to_install(block, monkeypatch, tmp_path):
    machine = Machine(monkeypatch, tmp_path, installed=False)
    with pytest.raises(SystemExit, match="course.py setup"):
        run_block(block)
    assert machine.pip_calls == []  # locally nothing surprising: no install behind the learner's back
