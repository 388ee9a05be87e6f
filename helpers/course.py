"""Facts about the course itself: where it lives, its chapters, and the links built from them.

The repository address is kept here and nowhere else; the notebooks' badges and set-up cells are
written from it by ``tools/sync_notebooks.py`` and checked by ``tests/test_notebook_contract.py``.
``tests/test_setup_cell.py`` runs the set-up cell's first lines (:func:`bootstrap_code`) in simulated Colab,
Kaggle and local environments.
"""

from __future__ import annotations

#: GitHub ``owner/name`` of the course repository.
REPO = "cnn-course/keras-image-classification"
BRANCH = "main"
REPO_URL = f"https://github.com/{REPO}"
#: What the set-up cell of a notebook installs on Colab/Kaggle (never TensorFlow itself).
INSTALL_SPEC = f"git+{REPO_URL}@{BRANCH}"


def notebook_url(notebook: str) -> str:
    """The notebook's page on GitHub."""
    return f"{REPO_URL}/blob/{BRANCH}/notebooks/{notebook}"


def solutions_url(notebook: str) -> str:
    """The worked solutions of ``notebook``'s exercises on GitHub (``solutions/<stem>.py``)."""
    return f"{REPO_URL}/blob/{BRANCH}/solutions/{notebook.removesuffix('.ipynb')}.py"


def solutions_line(notebook: str) -> str:
    """The line under a notebook's "## Exercises" heading that links its solutions."""
    stem = notebook.removesuffix(".ipynb")
    return (f"Worked solutions, to read after trying: [`solutions/{stem}.py`]({solutions_url(notebook)}) "
            "(CI runs them against this notebook, so they stay right).")


def colab_url(notebook: str) -> str:
    """Open ``notebook`` (file name) in Google Colab straight from GitHub."""
    return f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/notebooks/{notebook}"


def kaggle_url(notebook: str) -> str:
    """Open ``notebook`` (file name) in a new Kaggle notebook straight from GitHub."""
    return f"https://kaggle.com/kernels/welcome?src={notebook_url(notebook)}"


def badges(notebook: str) -> str:
    """The markdown line of "Open in Colab" and "Open in Kaggle" badges for ``notebook``."""
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(notebook)}) "
        f"[![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)]({kaggle_url(notebook)})"
    )


#: First line of the block :func:`bootstrap_code` writes; the block ends before ``from helpers import``.
BOOTSTRAP_START = "import importlib.util"

_BOOTSTRAP = """\
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

HELPERS_SPEC = "{spec}"
if importlib.util.find_spec("helpers") is None:  # the course's helpers package is not importable yet
    if (Path.cwd().parent / "helpers").is_dir():  # a clone of the course: use its helpers as they are
        sys.path.insert(0, str(Path.cwd().parent))
        print("Using the course helpers of this folder:", Path.cwd().parent)
    elif "google.colab" in sys.modules or "KAGGLE_KERNEL_RUN_TYPE" in os.environ:  # install them, once
        print("Installing the course helpers; preinstalled packages (TensorFlow too) are kept ...", flush=True)
        pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", HELPERS_SPEC],
                             capture_output=True, text=True)
        if pip.returncode:
            reason = (pip.stderr.strip().splitlines() or ["pip failed"])[-1]
            raise SystemExit(f"Could not install the course helpers ({{reason}}). "
                             "On Kaggle: Settings > Internet on, then run this cell again.")
        importlib.invalidate_caches()  # let this running kernel see the new package
        print("Installed", HELPERS_SPEC)
    else:
        raise SystemExit("The course helpers are not installed here. In the course folder run "
                         f"`python3 course.py setup`, or `pip install {{HELPERS_SPEC}}` in this environment.")
"""


def bootstrap_code(spec: str = INSTALL_SPEC) -> str:
    """The first lines of every notebook's set-up cell: make ``helpers`` importable, wherever we run.

    - ``helpers`` already importable (``python3 course.py setup`` did it): nothing happens, nothing printed.
    - Inside a clone of the course (``../helpers`` exists) but not installed: it is put on ``sys.path``.
    - On Colab or Kaggle: ``pip install -q`` of the course's package; pip keeps every preinstalled package
      that satisfies the bounds in ``pyproject.toml`` (TensorFlow is never reinstalled) and installs only
      what is missing. A failure (no internet on Kaggle) stops the notebook with one line saying what to do.
    - Anywhere else: one line saying how to install it, instead of an ``ImportError`` further down.
    """
    return _BOOTSTRAP.format(spec=spec)
