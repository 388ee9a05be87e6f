"""Facts about the course itself: where it lives, its chapters, and the links built from them.

The repository address is kept here and nowhere else; the notebooks' badges and set-up cells are
checked against it by ``tests/test_notebook_contract.py``.
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
