#!/usr/bin/env python3
"""One entry point for the course: set up, run the notebooks, test. Needs only Python 3.11+ and git.

    python3 course.py run     # execute every notebook (smoke profile, offline samples) into build/
    python3 course.py test    # unit tests + every notebook executed with papermill and checked with nbval
    python3 course.py setup   # only create .venv and install the pinned requirements and `helpers`
    python3 course.py lint    # ruff + stripped-notebook check
    python3 course.py rehearse  # full-size data: RAM, disk and time per chapter and profile (long)
    python3 course.py rehearse-gpu  # every notebook with mixed precision, then on 2 mirrored CPU devices
    python3 course.py assignment 02 05 --out dist/  # student notebooks + otter-grader autograders (grade: see docs)

Every command first makes sure ``.venv`` exists and matches ``requirements.txt`` (it installs what is
missing, once), then runs inside it. Options after the command are passed on, e.g.
``python3 course.py run --profile quick --notebooks 02``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".course-installed"
NBVAL_SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"


def ensure_venv() -> None:
    """Create ``.venv`` and install the pinned requirements plus ``helpers`` (editable), if not done yet."""
    wanted = hashlib.sha256((ROOT / "requirements.txt").read_bytes() + (ROOT / "pyproject.toml").read_bytes())
    if STAMP.exists() and STAMP.read_text() == wanted.hexdigest():
        return
    if not PY.exists():
        print(f"Creating the virtual environment {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("Installing the pinned requirements (first time only, a few minutes) ...", flush=True)
    pip = [str(PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run(pip + ["-r", str(ROOT / "requirements.txt")])
    run(pip + ["--no-deps", "-e", str(ROOT)])
    STAMP.write_text(wanted.hexdigest())


def run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    """Run ``cmd`` from the project root; stop with its exit code if it fails."""
    print("$", Path(cmd[0]).name, *cmd[1:], flush=True)
    base = {"COURSE_DATA_HOME": str(ROOT / "data"), **os.environ}  # samples and downloads stay in the project
    code = subprocess.call(cmd, cwd=ROOT, env={**base, **(env or {})})
    if code:
        sys.exit(code)


def cmd_run(args: list[str]) -> None:
    """Execute every notebook into build/ (executed notebooks, results.md, results.json)."""
    run([str(PY), "tools/run_notebooks.py", "--out", "build", *args])


def longest_first(folder: Path, timings: Path) -> list[str]:
    """The notebooks of ``folder``, those whose executed copy of the same name in ``timings`` took longest first.

    nbval's second run hands whole notebooks to its two workers in this order (``--no-loadscope-reorder``),
    so the long chapters start first and the short ones fill in at the end; xdist's own order, by number of
    cells, can leave a long notebook running alone while the other worker waits.
    """
    def seconds(nb: Path) -> float:
        try:
            return float(json.loads((timings / nb.name).read_text())["metadata"]["papermill"]["duration"] or 0)
        except (OSError, ValueError, KeyError, TypeError):  # not run, or not by papermill: last
            return 0.0

    return [str(nb) for nb in sorted(folder.glob("*.ipynb"), key=lambda nb: (-seconds(nb), nb.name))]


def cmd_test(args: list[str]) -> None:
    """Unit and contract tests, then every notebook twice, and each stage's time at the end.

    The first run executes every notebook (both recipes) with papermill, answers left blank. The second
    run re-executes the course recipe's copies with nbval, with the exercise solutions pasted in
    (``check_solutions.py --rerun``): one re-execution checks that the marked cells reproduce, that every
    self-check says "correct" with its solution (and said "not answered yet" without), and, with
    ``check_rerun.py``, that running a notebook again in the same folders leaves them consistent. Last,
    every notebook's course recipe runs with mixed precision forced on, then on two mirrored CPU devices,
    and every model it trained must have run so (``course.py rehearse-gpu``; the GPU paths, without a GPU).
    """
    stages: list[tuple[str, float]] = []

    def stage(name: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
        start = time.perf_counter()
        try:
            run(cmd, env)
        finally:
            stages.append((name, time.perf_counter() - start))

    try:
        stage("unit and contract tests", [str(PY), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", *args])
        stage("notebooks, first run (papermill)",
              [str(PY), "tools/run_notebooks.py", "--profile", "smoke", "--out", "build/test"])
        stage("blank answers checked, solutions pasted in",
              [str(PY), "tools/check_solutions.py", "--rerun", "build/test"])
        stage("notebooks, second run (nbval, with solutions)",
              [str(PY), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadscope",
               "--no-loadscope-reorder", "--nbval-lax", "--nbval-current-env", "--nbval-sanitize-with",
               str(NBVAL_SANITIZE), *longest_first(ROOT / "build/test/rerun", ROOT / "build/test/notebooks")],
              env={"COURSE_BATCH": "1"})
        stage("re-run consistency", [str(PY), "tools/check_rerun.py", "build/test"])
        stage("GPU recipes rehearsed (mixed precision; 2 devices)",
              [str(PY), "tools/run_notebooks.py", "--profile", "smoke", "--out", "build/test/rehearse_gpu",
               "--rehearse-gpu"])
    finally:
        print("Stage times:", flush=True)
        for name, seconds in stages:
            print(f"  {name:<48} {seconds:7.1f} s", flush=True)


def cmd_lint(args: list[str]) -> None:
    """ruff over helpers, tests, tools and notebooks; notebooks must be stored without outputs."""
    run([str(PY), "-m", "ruff", "check", "helpers", "tests", "tools", "notebooks", "solutions", "benchmarks",
         "course.py", *args])
    notebooks = sorted(str(p) for p in (ROOT / "notebooks").glob("*.ipynb"))
    run([str(PY), "-m", "nbstripout", "--verify", *notebooks])


def cmd_rehearse(args: list[str]) -> None:
    """Each chapter's data preparation and a few training steps on full-size data (``tools/rehearse.py``)."""
    run([str(PY), "tools/rehearse.py", *args])


def cmd_rehearse_gpu(args: list[str]) -> None:
    """Every notebook's smoke run with mixed precision forced on, then with a MirroredStrategy over two logical
    CPU devices (build/rehearse_gpu/<setting>/); fails if a notebook fails or a trained model ran otherwise."""
    run([str(PY), "tools/run_notebooks.py", "--profile", "smoke", "--out", "build/rehearse_gpu", "--rehearse-gpu",
         *args])


def cmd_assignment(args: list[str]) -> None:
    """Student notebooks and otter-grader autograders of chosen chapters (``assignment 02 05 --out dist/``), or
    local grading of submissions (``assignment grade dist/02 SUBMISSIONS...``): ``tools/assignment.py``."""
    run([str(PY), "tools/assignment.py", *args])


COMMANDS = {"setup": lambda args: None, "run": cmd_run, "test": cmd_test, "lint": cmd_lint,
            "rehearse": cmd_rehearse, "rehearse-gpu": cmd_rehearse_gpu, "assignment": cmd_assignment}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        sys.exit(2)
    if sys.version_info < (3, 11):  # noqa: UP036 (this script may be started by an older Python)
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}.")
    ensure_venv()
    COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
