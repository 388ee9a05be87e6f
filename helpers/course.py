"""Facts about the course itself: where it lives, its chapters, and the links built from them.

The repository address is kept here and nowhere else; the notebooks' badges and set-up cells are
written from it by ``tools/sync_notebooks.py`` and checked by ``tests/test_notebook_contract.py``.
``tests/test_setup_cell.py`` runs the set-up cell's first lines (:func:`bootstrap_code`) as on Colab, Kaggle
and a local machine, installing with real pip and git from local wheels, zips and repositories.
"""

from __future__ import annotations

from .runtime import HOSTED_TEST, QUIET_TENSORFLOW

#: GitHub ``owner/name`` of the course repository.
_REPO = "cnn-course/keras-image-classification"
BRANCH = "main"
REPO_URL = f"https://github.com/{_REPO}"
#: What the set-up cell of a notebook installs on Colab/Kaggle (never TensorFlow itself).
INSTALL_SPEC = f"git+{REPO_URL}@{BRANCH}"


def _notebook_url(notebook: str) -> str:
    """The notebook's page on GitHub."""
    return f"{REPO_URL}/blob/{BRANCH}/notebooks/{notebook}"


def solutions_url(notebook: str) -> str:
    """The worked solutions of ``notebook``'s exercises on GitHub (``solutions/<stem>.py``).

    For ``tools/assignment.py``'s instructions and :func:`solutions_line`.
    """
    return f"{REPO_URL}/blob/{BRANCH}/solutions/{notebook.removesuffix('.ipynb')}.py"


def solutions_line(notebook: str) -> str:
    """The line under a notebook's "## Exercises" heading that links its solutions.

    ``tools/sync_notebooks.py`` writes it into every chapter.
    """
    stem = notebook.removesuffix(".ipynb")
    return (f"Worked solutions, to read after trying: [`solutions/{stem}.py`]({solutions_url(notebook)}) "
            "(CI runs them against this notebook, so they stay right).")


def colab_url(notebook: str) -> str:
    """Open ``notebook`` (file name) in Google Colab straight from GitHub.

    For :func:`badges` and ``tools/assignment.py``.
    """
    return f"https://colab.research.google.com/github/{_REPO}/blob/{BRANCH}/notebooks/{notebook}"


def _kaggle_url(notebook: str) -> str:
    """Open ``notebook`` (file name) in a new Kaggle notebook straight from GitHub."""
    return f"https://kaggle.com/kernels/welcome?src={_notebook_url(notebook)}"


def badges(notebook: str) -> str:
    """The markdown line of "Open in Colab" and "Open in Kaggle" badges for ``notebook``.

    ``tools/sync_notebooks.py`` writes it at the top of every chapter; ``tools/assignment.py`` uses it too.
    """
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(notebook)}) "
        f"[![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)]({_kaggle_url(notebook)})"
    )


#: First line of the block :func:`bootstrap_code` writes; the block ends before ``from helpers import``.
BOOTSTRAP_START = "import importlib.util"

#: Packages the set-up cell pins at their installed versions (pip's ``--constraint``), so that installing the
#: helpers can never replace them: TensorFlow and Keras, NumPy (TensorFlow is compiled against it) and its
#: other compiled companions, and the other big frameworks a platform preinstalls. Replacing any of them under a
#: running kernel leaves it with a mix of old and new files. Missing ones are not pinned (pip installs them).
_KEPT_PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "numpy", "ml-dtypes", "h5py", "jax", "jaxlib", "torch")

_BOOTSTRAP = """\
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

# TensorFlow reads these once, when it is first imported (below, with the course helpers): no C++ start-up
# messages, and no oneDNN on CPUs (it shifts losses in the 6th decimal from one machine to the next).
@QUIET@

# Where the course helpers come from. To install a fork, a wheel or a zip instead, set COURSE_HELPERS_SPEC to
# its address or path (what `pip install` takes) in a cell above this one, or as an environment variable.
CHOSEN_SPEC = globals().get("COURSE_HELPERS_SPEC") or os.environ.get("COURSE_HELPERS_SPEC")
HELPERS_SPEC = CHOSEN_SPEC or "@SPEC@"
if importlib.util.find_spec("helpers") is None:  # the course's helpers package is not importable yet
    if not CHOSEN_SPEC and (Path.cwd().parent / "helpers").is_dir():  # a clone of the course: use its helpers
        sys.path.insert(0, str(Path.cwd().parent))
        print("Using the course helpers of this folder:", Path.cwd().parent)
    elif CHOSEN_SPEC or @HOSTED@:  # install, once
        import contextlib
        import importlib.metadata
        import re
        import tempfile

        kept = {}  # pinned where they are installed: pip may add packages, never replace these
        for name in @KEPT@:
            with contextlib.suppress(importlib.metadata.PackageNotFoundError):
                kept[name] = importlib.metadata.version(name)
        work = Path(tempfile.gettempdir()) / "course-helpers"
        work.mkdir(exist_ok=True)
        (work / "constraints.txt").write_text("".join(f"{n}=={v}\\n" for n, v in kept.items()))
        print(f"Installing the course helpers from {HELPERS_SPEC}, keeping",
              ", ".join(f"{n} {v}" for n, v in kept.items()) or "every preinstalled package", "...", flush=True)
        pip = subprocess.run([sys.executable, "-m", "pip", "install", "--no-input", "--progress-bar", "off",
                              "--constraint", str(work / "constraints.txt"), HELPERS_SPEC],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})  # never wait for a password
        (work / "pip.log").write_text(f"$ {' '.join(pip.args)}\\n{pip.stdout}")
        if pip.returncode:
            causes = [  # (what pip or git printed, what it means, what to do): the first that matches explains it
                (r"Could not resolve host: \\S+|Failed to resolve .*|Failed to connect to .*|Connection refused"
                 r"|Failed to establish a new connection: [^')]*|Network is unreachable|timed out",
                 "this runtime could not reach the server",
                 "turn the internet on (Kaggle: Settings > Internet on; it needs a verified phone number), or "
                 "upload a wheel or zip of the course and set COURSE_HELPERS_SPEC to its path"),
                (r"could not read Username for .*|Authentication failed for \\S+|[Rr]epository \\S+ not found"
                 r"|\\S+ does not appear to be a git repository",
                 "there is no public repository at this address (it does not exist, was renamed, or is private)",
                 "check the address; for a fork or the course's new home, set COURSE_HELPERS_SPEC = "
                 "\\"git+https://github.com/<owner>/<name>@main\\" in a cell above; for a private one, "
                 "upload a wheel or zip of it and set COURSE_HELPERS_SPEC to its path"),
                (r"pathspec '[^']*' did not match any file\\(s\\) known to git|Remote branch \\S+ not found",
                 "the repository has no branch, tag or commit of that name", "check the name after @ in the address"),
                (r"HTTP error \\d+ while getting \\S+|The requested URL returned error: \\d+",
                 "the server refused the download", "check the address: a wheel or zip needs a direct download link"),
                (r"No such file or directory: \\S+|File \\S+ does not exist",
                 "there is no file or folder at this path",
                 f"check the path (a relative one starts in {Path.cwd()}); upload the file first"),
                (r"does not appear to be a Python project.*|BadZipFile.*|is not a (valid|supported) wheel.*",
                 "this is not an installable package",
                 "give a wheel (.whl) or a zip of the whole course folder (pyproject.toml at its top)"),
                (r"\\S+ \\S+ depends on \\S+|\\(constraint\\) \\S+",
                 "the course needs newer versions than this runtime has, and the set-up cell never replaces "
                 "its TensorFlow, Keras or NumPy",
                 "use a newer runtime (Kaggle: Settings > Environment > Always use latest environment), "
                 "or install the course locally with `python3 course.py setup`"),
                (r"No matching distribution found for \\S+", "pip found no release of a package the course needs",
                 f"check that the package exists for this Python ({sys.version.split()[0]})"),
                (r"Cannot find command 'git'", "git is not installed here",
                 "set COURSE_HELPERS_SPEC to a wheel or a zip of the course (a path or a download address)"),
            ]
            meaning, advice = "pip failed", "read pip's full output"  # unless a known cause matches
            for pattern, *explanation in causes:
                said = list(dict.fromkeys(m.group(0).strip() for m in re.finditer(pattern, pip.stdout)))[:3]
                if said:
                    meaning, advice = explanation
                    break
            else:  # not a failure the cell knows: quote pip's first error line
                said = [line.strip() for line in pip.stdout.splitlines()
                        if re.match(r"\\s*(ERROR|fatal|error): (?!subprocess-exited)", line)][:1] or ["(nothing)"]
            raise SystemExit(f"Could not install the course helpers from {HELPERS_SPEC}: {meaning}.\\n"
                             f"  pip said: {'; '.join(said)}\\n"
                             f"  What to do: {advice}; then run this cell again.\\n"
                             f"  pip's full output: {work / 'pip.log'}")
        importlib.invalidate_caches()  # let this running kernel see the new package
        print("Installed the course helpers from", HELPERS_SPEC)
    else:
        raise SystemExit("The course helpers are not installed here. In the course folder run "
                         f"`python3 course.py setup`, or `pip install {HELPERS_SPEC}` in this environment.")
"""


def bootstrap_code(spec: str = INSTALL_SPEC) -> str:
    """The first lines of every notebook's set-up cell: make ``helpers`` importable, wherever we run.

    - ``helpers`` already importable (``python3 course.py setup`` did it): nothing happens, nothing printed.
    - ``COURSE_HELPERS_SPEC`` set (a variable in a cell above, else an environment variable): that is
      installed instead of ``spec``, anywhere: a fork (``git+https://github.com/<owner>/<name>@<branch>``),
      a wheel or a zip (a path or an address), whatever ``pip install`` takes.
    - Inside a clone of the course (``../helpers`` exists) but not installed: it is put on ``sys.path``.
    - On Colab or Kaggle (:data:`helpers.runtime.HOSTED_TEST`, written in: ``helpers`` is not importable yet):
      ``pip install`` of ``spec``, with every installed package of
      :data:`_KEPT_PACKAGES` pinned by a constraints file, so pip adds what is missing and never replaces the
      platform's TensorFlow, Keras or NumPy; where they are older than ``pyproject.toml``'s floors, pip stops
      instead. A failure stops the notebook with what was tried, the line of pip's (or git's) output that
      says why, what that means and what to do; pip's whole output is kept in
      ``<temp>/course-helpers/pip.log``. Git never waits for a password (``GIT_TERMINAL_PROMPT=0``).
    - Anywhere else: one line saying how to install it, instead of an ``ImportError`` further down.

    ``tests/test_setup_cell.py`` runs this code with real pip against local targets; ``tools/sync_notebooks.py``
    writes it into every chapter's set-up cell.
    """
    kept = "(" + ", ".join(f'"{name}"' for name in _KEPT_PACKAGES) + ")"
    quiet = "\n".join(f'os.environ.setdefault("{name}", "{value}")' for name, value in QUIET_TENSORFLOW.items())
    return (_BOOTSTRAP.replace("@SPEC@", spec).replace("@KEPT@", kept).replace("@HOSTED@", HOSTED_TEST)
            .replace("@QUIET@", quiet))
