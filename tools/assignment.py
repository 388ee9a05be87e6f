"""Assignments for instructors: a student notebook and an otter-grader autograder per chapter, and local grading.

    python tools/assignment.py 02 05 --out dist [--profile smoke] [--helpers-spec SPEC] [--check]
    python tools/assignment.py grade dist/02 SUBMISSION.ipynb ... [--out dist/02/grades] [--jobs 2]

``python3 course.py assignment ...`` runs the same (docs/instructors.md, "Assignments and grading").

**Build.** For each chapter whose notebook grades its self-checks with an answer key (``check = checker("NN")``,
as chapter 02 does), this writes ``OUT/NN/``:

- ``student/<notebook>.ipynb``: the chapter to hand out. Every code cell is the chapter's own, self-checks
  included; the solutions link and the badges (they open the course's copy, not this one) are gone; each
  stretch exercise gets an answer cell.
- ``autograder/autograder.zip``: otter-grader's autograder, for Gradescope (a programming assignment) or for
  ``grade`` below; ``autograder/<notebook>.ipynb`` is the same notebook with the worked solutions in.
- ``source/<notebook>.ipynb``: the otter-assign notebook (format v1) both come from, generated from
  ``notebooks/NN_*.ipynb`` and ``solutions/NN_*.py``: one question per exercise, the solution cell of
  ``solutions/`` as its solution, and one hidden test that calls the notebook's own self-check, i.e. the
  chapter's answer key (:mod:`helpers.answer_keys`) on the submission's own objects. Stretch exercises are
  manually graded questions whose solution is the sketch of ``solutions/``, also written to ``rubric.md``.
- ``assignment.json``: what was built (exercises, points, grading profile).

**Grading re-runs the submission**, in the profile given at build time (``--profile``, default ``smoke``: the
offline sample, a minute on a CPU; ``submitted`` keeps the submission's own ``PROFILE``). The parameters are
injected as papermill does, by :class:`GradingParameters`, an otter plugin: this file is added to the
autograder zip, where otter imports it. Because every key is computed from the run's objects, an answer
computed in code is graded right in any profile; a number typed in from another run is not (docs).

**Grade.** ``grade`` runs ``otter run`` (no Docker) on each submission and writes ``scores.csv`` (one row per
submission, one column per exercise) and, per submission, otter's ``results.json`` and log and the executed
notebook.
"""

from __future__ import annotations

import argparse
import ast
import copy
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import nbformat

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent
#: Points of a self-checked (autograded) exercise and of a stretch (hand-graded) one.
AUTOGRADED_POINTS = 1
STRETCH_POINTS = 2
#: ``--profile`` values: a notebook ``PROFILE`` the grading run is given, or ``submitted`` to keep the submission's.
PROFILES = ("smoke", "quick", "full", "submitted")
#: The first paragraph of an exercise in a notebook or a solution sketch: ``**N (title).** ...``.
EXERCISE_PARAGRAPH = re.compile(r"\*\*(\d+)\b")
#: A stretch exercise's sketch in a solutions file: a markdown cell headed ``# %% [markdown] stretch N``.
SKETCH_HEADER = re.compile(r"# %% \[markdown\] stretch (\d+)")
#: What tells the student how their notebook is graded (inserted after the title).
STUDENT_NOTE = (
    "**This notebook is an assignment.** Work in this copy, run it top to bottom, and hand in this `.ipynb` "
    "file. Your instructor's autograder runs it again{where} and grades each exercise with the same answer "
    "key as the self-check cells. So compute every answer in code from the notebook's own objects (`cm`, "
    "`history`, `data`, ...), as the exercises ask, rather than typing in a number you read off an output: "
    "a re-run may give other numbers. Stretch exercises are graded by hand: answer them in the cell "
    "below each one (and add code cells as you need)."
)


class AssignmentError(ValueError):
    """A chapter cannot be turned into an assignment; the message says why and what to do."""


def _course_tools() -> tuple[ModuleType, ModuleType, ModuleType]:
    """``check_solutions``, ``run_notebooks`` and ``helpers.course``, imported on first use.

    Not at the top of this file: the autograder zip carries this file for :class:`GradingParameters` alone,
    and the grading machine has neither ``tools/`` nor a need for them.
    """
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    import check_solutions
    import run_notebooks

    from helpers import course

    return check_solutions, run_notebooks, course


# --- the grading-time plugin (runs inside otter, on Gradescope too) -------------------------------------------------

class GradingParameters:
    """otter-grader plugin: give the submission the notebook parameters the grading run asks for.

    otter calls :meth:`before_execution` with the submitted notebook before it runs it. The plugin's
    configuration (``otter_config.json``: ``{"assignment.GradingParameters": {"PROFILE": "smoke"}}``) holds
    the parameters, injected with papermill exactly as ``tools/run_notebooks.py`` injects them in CI: a cell
    tagged ``injected-parameters`` right after the cell tagged ``parameters`` (replacing one already there).
    """

    def __init__(self, submission_path: str, submission_metadata: dict[str, Any],
                 plugin_config: dict[str, Any] | None) -> None:
        self.parameters = dict(plugin_config or {})

    def before_execution(self, submission: nbformat.NotebookNode | str) -> nbformat.NotebookNode | str:
        """The submission with the parameters injected (a Python script is left as it is)."""
        if not self.parameters or isinstance(submission, str):
            return submission
        from papermill.parameterize import parameterize_notebook

        submission.metadata.setdefault("papermill", {})  # what papermill's own reader adds, and it needs
        for cell in submission.cells:
            cell.metadata.setdefault("tags", [])
        kernel = submission.metadata.get("kernelspec", {}).get("name") or "python3"  # a Python notebook, always
        return parameterize_notebook(submission, self.parameters, comment="Parameters of the grading run",
                                     kernel_name=kernel, language="python")


# --- reading a chapter --------------------------------------------------------------------------------------------

@dataclass
class Exercise:
    """One exercise of a chapter, as the assignment grades it.

    Attributes:
        number: As the notebook writes it (``"4"``).
        stretch: Graded by hand with a rubric (no self-check) instead of by the autograder.
        solution: The code of ``solutions/NN_*.py``'s ``# %% answer_N`` cell (autograded exercises).
        check_call: The source of the notebook's ``check("N", answer_N, ...)`` call (autograded exercises).
        sketch: The markdown of ``solutions/NN_*.py``'s ``stretch N`` cell: the rubric (stretch exercises).
    """

    number: str
    stretch: bool = False
    solution: str = ""
    check_call: str = ""
    sketch: str = ""

    @property
    def name(self) -> str:
        """The otter question name, also the column of the scores table: ``exercise_N``."""
        return f"exercise_{self.number}"

    @property
    def points(self) -> int:
        return STRETCH_POINTS if self.stretch else AUTOGRADED_POINTS


def chapter_notebook(chapter: str) -> Path:
    """``notebooks/NN_*.ipynb`` of a two-digit chapter number.

    Raises:
        AssignmentError: not a chapter of the course.
    """
    _, run_notebooks, _ = _course_tools()
    found = run_notebooks.notebooks([chapter]) if re.fullmatch(r"\d\d", chapter) else []
    if len(found) != 1:
        chapters = ", ".join(nb.name[:2] for nb in run_notebooks.notebooks([]))
        raise AssignmentError(f"There is no chapter {chapter!r}: give two-digit chapter numbers ({chapters}).")
    return found[0]


def require_checker(nb: nbformat.NotebookNode, chapter: str, notebook: str) -> None:
    """Refuse a notebook whose self-checks do not grade with an answer key yet (no ``checker("NN")`` call).

    Raises:
        AssignmentError: one message saying what to do.
    """
    uses = re.compile(rf"\bchecker\(\s*[\"']{chapter}[\"']\s*\)")
    if not any(cell.cell_type == "code" and uses.search(cell.source) for cell in nb.cells):
        raise AssignmentError(
            f"Chapter {chapter} cannot be an assignment yet: notebooks/{notebook} does not grade its self-checks "
            f"with an answer key (no `check = checker(\"{chapter}\")` cell), so its check cells would show the "
            f"expected values to students. Convert it as chapter 02 was (the keys in "
            f"helpers/answer_keys/ch{chapter}.py, `check = checker(\"{chapter}\")` in the notebook), then build again.")


def check_calls(nb: nbformat.NotebookNode) -> dict[str, tuple[int, str]]:
    """Every self-check call of the notebook: ``{exercise: (cell index, source of the call)}``.

    Raises:
        AssignmentError: a check cell that is not plain Python, or an exercise checked twice.
    """
    check_solutions, _, _ = _course_tools()
    found: dict[str, tuple[int, str]] = {}
    for exercise, index in check_solutions.check_cells(nb):
        source = nb.cells[index].source
        try:
            tree = ast.parse(source)
        except SyntaxError as err:
            raise AssignmentError(f"the check cell of exercise {exercise} (cell {index}) is not plain Python: "
                                  f"{err.msg}") from None
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "check"
                    and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == exercise):
                if exercise in found:
                    raise AssignmentError(f"exercise {exercise} is checked twice (cells {found[exercise][0]} "
                                          f"and {index}): keep one check call per exercise")
                found[exercise] = (index, ast.get_source_segment(source, node) or "")
    return found


def read_sketches(text: str) -> dict[str, str]:
    """The stretch exercises' sketches of a solutions file: ``{"N": markdown}``, the ``# `` prefixes removed.

    A sketch cell is headed ``# %% [markdown] stretch N``; one that sketches several exercises (``**7 ...``,
    ``**8 ...``) is cut into one sketch per exercise, like a notebook's exercise cell.
    """
    check_solutions, _, _ = _course_tools()
    cells = {number: [line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines]
             for number, lines in check_solutions.percent_cells(text, SKETCH_HEADER)}
    sketches: dict[str, str] = {}
    for first, lines in cells.items():
        for number, sketch in split_exercises("\n".join(lines)):
            sketches[number or first] = (sketches.get(number or first, "") + "\n\n" + sketch).strip()
    return sketches


def paragraphs(markdown: str) -> list[str]:
    """The paragraphs of a markdown text (blocks separated by blank lines)."""
    return [block.strip("\n") for block in re.split(r"\n[ \t]*\n", markdown) if block.strip()]


def split_exercises(markdown: str) -> list[tuple[str | None, str]]:
    """A markdown cell cut before each exercise paragraph (``**N ...``): ``[(None, text before), ("N", text)]``.

    An exercise's text runs from its ``**N`` paragraph to the next one (or the end of the cell), so a cell
    that holds the "Exercises" heading and exercise 1, or several stretch exercises, becomes one part each.
    """
    parts: list[tuple[str | None, list[str]]] = [(None, [])]
    for block in paragraphs(markdown):
        match = EXERCISE_PARAGRAPH.match(block)
        if match:
            parts.append((match.group(1), []))
        parts[-1][1].append(block)
    return [(number, "\n\n".join(blocks)) for number, blocks in parts if blocks]


def exercise_cells(nb: nbformat.NotebookNode) -> range:
    """The cell indices of the notebook's "## Exercises" section (up to the next ``## `` heading)."""
    headings = [(index, line) for index, cell in enumerate(nb.cells) if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if line.startswith("## ")]
    start = next((index for index, line in headings if line.strip() == "## Exercises"), None)
    if start is None:
        return range(0)
    end = next((index for index, line in headings if index > start), len(nb.cells))
    return range(start, end)


def exercise_texts(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Each exercise's text in the "Exercises" section: ``{"N": "**N (title).** ..."}``."""
    return {number: text for index in exercise_cells(nb) if nb.cells[index].cell_type == "markdown"
            for number, text in split_exercises(nb.cells[index].source) if number}


def read_exercises(nb: nbformat.NotebookNode, notebook: Path, chapter: str) -> list[Exercise]:
    """The chapter's exercises in notebook order: self-checked ones with their solution and check call,
    stretch ones with their sketch.

    Raises:
        AssignmentError: no ``checker``, or notebook, self-checks and ``solutions/`` do not match.
    """
    check_solutions, _, _ = _course_tools()
    require_checker(nb, chapter, notebook.name)
    solutions_path = check_solutions.solutions_file(notebook)
    if not solutions_path.exists():
        raise AssignmentError(f"{notebook.name} has no solutions file solutions/{solutions_path.name}")
    text = solutions_path.read_text()
    try:
        solutions = check_solutions.read_solutions(text)
        check_solutions.inject(nb, solutions, label=f"notebooks/{notebook.name}",
                               source=f"solutions/{solutions_path.name}")  # the same match as CI requires
    except check_solutions.SolutionMismatch as err:
        raise AssignmentError(str(err)) from None
    calls = check_calls(nb)
    answers = {name.removeprefix("answer_") for name in check_solutions.answer_cells(nb)}
    if set(calls) != answers:
        raise AssignmentError(f"answer cells ({', '.join(sorted(answers))}) and check calls "
                              f"({', '.join(sorted(calls))}) of {notebook.name} do not match")
    sketches = read_sketches(text)
    listed = exercise_texts(nb)
    problems = [f"exercise {n} has a self-check and a sketch" for n in sorted(set(calls) & set(sketches))]
    problems += [f"exercise {n} has neither a self-check nor a sketch in solutions/" for n in listed
                 if n not in calls and n not in sketches]
    problems += [f"solutions/ sketches exercise {n}, which the Exercises section does not have" for n in sketches
                 if n not in listed]
    problems += [f"exercise {n}'s self-check is not in the Exercises section" for n in calls if n not in listed]
    if problems:
        raise AssignmentError(f"notebooks/{notebook.name} and solutions/{solutions_path.name} do not say how to "
                              f"grade every exercise: {'; '.join(problems)}. A self-checked exercise needs an "
                              "answer cell, a check cell and a solution; one without a self-check is graded by "
                              "hand and needs a '# %% [markdown] stretch N' sketch (its rubric).")
    exercises = [Exercise(n, solution=solutions[f"answer_{n}"], check_call=calls[n][1]) if n in calls
                 else Exercise(n, stretch=True, sketch=sketches[n]) for n in listed]
    return sorted(exercises, key=lambda exercise: int(exercise.number))


# --- the otter-assign notebook ------------------------------------------------------------------------------------

def _raw(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_raw_cell(text)


def _markdown(cell: nbformat.NotebookNode, text: str) -> nbformat.NotebookNode:
    """A copy of a markdown cell (its metadata and attachments) with ``text`` as its source."""
    copied = copy.deepcopy(cell)
    copied.source = text
    return copied


def _question(exercise: Exercise) -> nbformat.NotebookNode:
    """The ``# BEGIN QUESTION`` cell. Autograded questions get no otter check cell: the notebook's own self-check
    stays, and otter runs the hidden test after the question's last cell."""
    config = {"name": exercise.name, "points": exercise.points}
    config |= {"manual": True} if exercise.stretch else {"check_cell": False}
    return _raw("# BEGIN QUESTION\n" + "\n".join(f"{key}: {json.dumps(value)}" for key, value in config.items()))


def solution_cell(answer_cell: nbformat.NotebookNode, solution: str) -> nbformat.NotebookNode:
    """The answer cell in otter's solution format: students get the cell as it was, the autograder the solution."""
    cell = nbformat.v4.new_code_cell(
        f'""" # BEGIN PROMPT\n{answer_cell.source.strip()}\n""" # END PROMPT\n'
        f"# BEGIN SOLUTION NO PROMPT\n{solution}\n# END SOLUTION")
    cell.metadata = dict(answer_cell.metadata)
    return cell


def grading_test_cell(chapter: str, exercise: Exercise) -> nbformat.NotebookNode:
    """The hidden otter test of an exercise: the notebook's self-check call, evaluated in the submission's
    namespace with the chapter's :func:`helpers.exercises.checker`, must say "correct"."""
    return nbformat.v4.new_code_cell(
        f"# hidden: the self-check of exercise {exercise.number}, i.e. the answer key on this run's objects\n"
        f"def test_{exercise.name}(env):\n"
        f"    from helpers.exercises import checker\n\n"
        f"    correct = eval({exercise.check_call!r}, {{**env, \"check\": checker({chapter!r})}})\n"
        f"    assert correct, \"exercise {exercise.number}: no answer, or not what the key gives for this run\"\n")


def assignment_config(notebook: Path, profile: str) -> dict[str, Any]:
    """The ``# ASSIGNMENT CONFIG`` of a chapter: no otter cells in the student notebook (it keeps the course's
    self-checks and runs without otter), tests in files, the grading parameters as a plugin."""
    parameters = {} if profile == "submitted" else {"PROFILE": profile}
    return {
        "name": notebook.stem,
        "requirements": "requirements.txt",
        "python_version": "3.11",
        "init_cell": False, "check_all_cell": False, "export_cell": False, "run_tests": True,  # if build(check=True)
        "tests": {"files": True, "ok_format": False},
        "generate": {"show_stdout": True, "plugins": [{"assignment.GradingParameters": parameters}]},
    }


def _without_links(source: str, notebook: str, course: ModuleType) -> str:
    """A markdown cell without the solutions link and the badges (both point at the course's own copy)."""
    drop = (course.solutions_url(notebook), course.colab_url(notebook))
    kept = [line for line in source.splitlines() if not any(url in line for url in drop)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")


def master_notebook(nb: nbformat.NotebookNode, notebook: Path, chapter: str, exercises: list[Exercise],
                    profile: str) -> nbformat.NotebookNode:
    """The otter-assign notebook (format v1) of a chapter.

    Every cell of the chapter is kept, in order. Markdown cells are cut before each exercise paragraph; around
    each exercise go the question cells: a self-checked exercise spans its text, its answer cell (in solution
    format, followed by its test) and everything up to its check cell; a stretch exercise is its text and,
    as its solution, the sketch.

    Raises:
        AssignmentError: an exercise's text, answer cell and check cell are not in that order.
    """
    check_solutions, _, course = _course_tools()
    by_number = {exercise.number: exercise for exercise in exercises}
    answers = {index: name.removeprefix("answer_") for name, index in check_solutions.answer_cells(nb).items()}
    check_at = {number: index for number, (index, _) in check_calls(nb).items()}
    where = "" if profile == "submitted" else f" (with `PROFILE = \"{profile}\"`)"
    config = "# ASSIGNMENT CONFIG\n" + json.dumps(assignment_config(notebook, profile), indent=2)
    cells = [_raw(config)]
    section = exercise_cells(nb)
    open_question: Exercise | None = None
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            text = _without_links(cell.source, notebook.name, course)
            for part, (number, piece) in enumerate(split_exercises(text) if index in section else [(None, text)]):
                exercise = by_number.get(number or "")
                if exercise is None:
                    cells.append(_markdown(cell, piece) if part == 0 else nbformat.v4.new_markdown_cell(piece))
                    continue
                if open_question:
                    raise AssignmentError(f"exercise {exercise.number} starts before the check cell of exercise "
                                          f"{open_question.number}: keep each exercise's cells together")
                cells += [_question(exercise), nbformat.v4.new_markdown_cell(piece)]
                if exercise.stretch:
                    rubric = f"**Rubric** (from the solution sketch; {exercise.points} points):\n\n{exercise.sketch}"
                    cells += [_raw("# BEGIN SOLUTION"), nbformat.v4.new_markdown_cell(rubric),
                              _raw("# END SOLUTION"), _raw("# END QUESTION")]
                else:
                    open_question = exercise
            if index == 0:
                cells.append(nbformat.v4.new_markdown_cell(STUDENT_NOTE.format(where=where)))
            continue
        number = answers.get(index)
        if number is not None:
            if open_question is None or open_question.number != number:
                raise AssignmentError(f"the answer cell of exercise {number} (cell {index}) does not follow its "
                                      f"text (a paragraph starting **{number}): keep each exercise's cells together")
            cells += [_raw("# BEGIN SOLUTION"), solution_cell(cell, open_question.solution), _raw("# END SOLUTION"),
                      _raw("# BEGIN TESTS"), grading_test_cell(chapter, open_question), _raw("# END TESTS")]
            continue
        cells.append(cell)
        if open_question and check_at[open_question.number] == index:
            cells.append(_raw("# END QUESTION"))
            open_question = None
    if open_question:
        raise AssignmentError(f"the check cell of exercise {open_question.number} comes before its answer cell")
    master = nbformat.v4.new_notebook(metadata=dict(nb.metadata), cells=cells)
    return master


# --- building ----------------------------------------------------------------------------------------------------

@dataclass
class Built:
    """What :func:`build` wrote for one chapter (paths inside ``folder``)."""

    chapter: str
    notebook: str
    folder: Path
    profile: str
    helpers_spec: str
    exercises: list[dict[str, Any]] = field(default_factory=list)

    @property
    def student(self) -> Path:
        return self.folder / "student" / self.notebook

    @property
    def autograder(self) -> Path:
        return self.folder / "autograder" / "autograder.zip"

    @property
    def rubric(self) -> Path:
        return self.folder / "rubric.md"


def default_helpers_spec() -> str:
    """What the grading machine installs the course's ``helpers`` from: the course branch as a zip archive
    (pip needs no git for it), the same code a student's set-up cell installs on Colab."""
    _, _, course = _course_tools()
    return f"cnn-course-helpers @ {course.REPO_URL}/archive/refs/heads/{course.BRANCH}.zip"


def grading_requirements(helpers_spec: str) -> str:
    """The autograder's requirements: the versions CI tests (``requirements.txt``, without its comments: otter
    copies each line into a conda ``environment.yml``) and the course's helpers, one per line."""
    lines = [re.sub(r"(^|\s)#.*$", "", line).strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    return "\n".join([*filter(None, lines), helpers_spec]) + "\n"


def rubric_markdown(title: str, exercises: list[Exercise], texts: dict[str, str]) -> str:
    """``rubric.md``: each stretch exercise's text, points and the solution sketch to grade it by."""
    lines = [f"# Rubric for the stretch exercises of {title}", "",
             "Graded by hand. The sketch is what `solutions/` says a good answer shows. On the `smoke` sample most "
             "of these exercises show nothing: judge them from runs on the real data where they ask for one.", ""]
    for exercise in (exercise for exercise in exercises if exercise.stretch):
        full, half = exercise.points, exercise.points / 2
        lines += [f"## Exercise {exercise.number} ({full} points)", "", texts.get(exercise.number, ""), "",
                  "**What a good answer shows** (the solution sketch):", "", exercise.sketch, "",
                  "**Scale**:", "",
                  f"- {full} points: done as asked (on the real data where the exercise says so); the answer "
                  "reports what came out and explains it as the sketch does.",
                  f"- {half:g} point{'s' if half != 1 else ''}: done, but the explanation misses or misreads the main "
                  "point; or sound reasoning without doing it.",
                  "- 0 points: not attempted.", ""]
    return "\n".join(lines)


def verify_student(student: nbformat.NotebookNode, source: nbformat.NotebookNode, exercises: list[Exercise],
                   notebook: str) -> None:
    """Check what students get: exactly the chapter's code cells, no link to the solutions, no sketch, no test.

    Raises:
        AssignmentError: otter's output broke one of these (a bug to fix here, never to hand out).
    """
    _, _, course = _course_tools()
    code = [cell.source for cell in student.cells if cell.cell_type == "code"]
    if code != [cell.source for cell in source.cells if cell.cell_type == "code"]:
        raise AssignmentError(f"the student notebook's code cells differ from notebooks/{notebook}'s")
    text = "\n".join(cell.source for cell in student.cells)
    leaks = [course.solutions_url(notebook)] if course.solutions_url(notebook) in text else []
    leaks += [f"exercise {e.number}'s sketch" for e in exercises if e.stretch and e.sketch[:80] in text]
    leaks += ["a test" for cell in student.cells if "def test_exercise_" in cell.source]
    if leaks or "tests" in student.metadata.get("otter", {}):
        raise AssignmentError(f"the student notebook shows {', '.join(leaks) or 'tests in its metadata'}")


def _clean(folder: Path) -> None:
    """Remove what an earlier build wrote in ``folder`` (only that: the folder may hold the instructor's files)."""
    for name in ("source", "autograder", "student"):
        shutil.rmtree(folder / name, ignore_errors=True)
    for name in ("rubric.md", "assignment.json"):
        (folder / name).unlink(missing_ok=True)


def build(chapter: str, out: Path, *, profile: str = "smoke", helpers_spec: str | None = None,
          check: bool = False) -> Built:
    """Write the assignment of one chapter to ``out/<chapter>/`` (see the module's docstring).

    Args:
        chapter: Two digits, ``"02"``.
        out: The folder of all assignments, ``dist/``.
        profile: The ``PROFILE`` grading runs the submissions with, or ``"submitted"`` for their own.
        helpers_spec: What the grading machine pip-installs the helpers from (default: :func:`default_helpers_spec`).
        check: Let otter grade the solutions notebook once (a full run in ``profile``) and fail unless it gets
            full marks.

    Raises:
        AssignmentError: the chapter cannot be an assignment (yet); nothing is written then.
        RuntimeError: with ``check``, otter's message naming the exercises the solutions failed.
    """
    if profile not in PROFILES:
        raise AssignmentError(f"--profile must be one of {', '.join(PROFILES)}, not {profile!r}")
    notebook = chapter_notebook(chapter)
    source = nbformat.read(notebook, as_version=4)
    exercises = read_exercises(source, notebook, chapter)
    master = master_notebook(source, notebook, chapter, exercises, profile)
    spec = helpers_spec or default_helpers_spec()

    folder = out.resolve() / chapter
    folder.mkdir(parents=True, exist_ok=True)
    _clean(folder)
    (folder / "source").mkdir()
    nbformat.write(master, folder / "source" / notebook.name)
    (folder / "source" / "requirements.txt").write_text(grading_requirements(spec))

    from otter.assign import main as otter_assign

    if str(TOOLS) not in sys.path:  # otter imports the plugin named in the config while it builds the zip
        sys.path.insert(0, str(TOOLS))
    otter_assign(str(folder / "source" / notebook.name), str(folder), no_pdfs=True, no_run_tests=not check)

    zips = sorted((folder / "autograder").glob(f"{notebook.stem}-autograder_*.zip"))
    zips[-1].rename(folder / "autograder" / "autograder.zip")
    with zipfile.ZipFile(folder / "autograder" / "autograder.zip", "a") as zf:
        zf.write(Path(__file__), "assignment.py")  # importable there: otter runs from the zip's folder
    shutil.rmtree(folder / "student" / "tests", ignore_errors=True)  # only empty files: every test is hidden
    try:
        verify_student(nbformat.read(folder / "student" / notebook.name, as_version=4), source, exercises,
                       notebook.name)
    except AssignmentError:
        shutil.rmtree(folder / "student")  # never leave a notebook that must not be handed out
        raise

    texts = exercise_texts(source)
    title = source.cells[0].source.splitlines()[0].lstrip("# ").strip()
    built = Built(chapter, notebook.name, folder, profile, spec,
                  [{"name": e.name, "number": e.number, "points": e.points,
                    "graded": "by hand" if e.stretch else "autograder"} for e in exercises])
    built.rubric.write_text(rubric_markdown(title, exercises, texts))
    manifest = {key: str(value) if isinstance(value, Path) else value for key, value in asdict(built).items()}
    (folder / "assignment.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return built


# --- grading -----------------------------------------------------------------------------------------------------

@dataclass
class Grades:
    """The autograder's scores of one submission (its path as given): ``scores[exercise_N]`` out of
    ``possible[exercise_N]``.

    ``error`` says why otter gave no scores; ``raised`` names the first error the submission's run raised
    (otter runs on past it, but an exercise that needs what the failed cell would have made scores 0).
    """

    submission: str
    scores: dict[str, float] = field(default_factory=dict)
    possible: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    raised: str | None = None

    @property
    def total(self) -> float:
        return sum(self.scores.values())


def labels(submissions: list[Path]) -> list[str]:
    """One distinct folder name per submission: its file name without suffix, with its folder's name in front
    when two share a file name (``alice/02_x.ipynb``, ``bob/02_x.ipynb``)."""
    stems = [path.stem for path in submissions]
    named = [path.stem if stems.count(path.stem) == 1 else f"{path.parent.name}-{path.stem}" for path in submissions]
    return [name if named.count(name) == 1 else f"{i:03d}-{name}" for i, name in enumerate(named)]


def read_results(results: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """``(scores, possible)`` per question from otter's ``results.json`` (its Gradescope format)."""
    tests = [test for test in results.get("tests", []) if "max_score" in test]
    return ({test["name"]: float(test.get("score", 0)) for test in tests},
            {test["name"]: float(test["max_score"]) for test in tests})


def first_error(nb: nbformat.NotebookNode) -> str | None:
    """``"cell N: Name: message"`` of the first error output of an executed notebook, or None."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.output_type == "error":
                return f"cell {index}: {output.ename}: {output.evalue}"[:200]
    return None


def grade_one(autograder: Path, submission: Path, out: Path, env: dict[str, str]) -> Grades:
    """Grade one submission with ``otter run`` (no Docker), into ``out/``: otter's ``results.json``, its log
    ``otter.log`` and the run of the submission, ``executed.ipynb`` (with otter's grading cells).

    ``env`` is the environment of otter and the notebook's kernel; its ``PYTHONPATH`` must reach this file (the
    plugin named in the autograder's configuration).
    """
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("results.json", "results.pkl", "executed.ipynb"):
        (out / stale).unlink(missing_ok=True)
    run = subprocess.run([sys.executable, "-m", "otter", "run", "--no-logo", "--pickle-results", "-a", str(autograder),
                          "-o", str(out), str(submission.resolve())], cwd=out, env=env, capture_output=True, text=True)
    (out / "otter.log").write_text(f"$ {' '.join(run.args)}\n{run.stdout}\n{run.stderr}")
    if not (out / "results.json").exists():
        last = (run.stderr.strip() or run.stdout.strip() or "no output").splitlines()[-1]
        return Grades(str(submission), error=f"otter failed ({last}); see {out / 'otter.log'}")
    grades = Grades(str(submission), *read_results(json.loads((out / "results.json").read_text())))
    if (out / "results.pkl").exists():  # otter's GradingResults, holding the executed notebook
        import dill

        with (out / "results.pkl").open("rb") as f:
            executed = dill.load(f).notebook
        (out / "results.pkl").unlink()
        nbformat.write(executed, out / "executed.ipynb")
        grades.raised = first_error(executed)
    return grades


def grade(assignment: Path, submissions: list[Path], out: Path | None = None, jobs: int = 1) -> list[Grades]:
    """Grade ``submissions`` with the autograder of ``assignment`` (a folder :func:`build` wrote).

    Writes ``out/<submission>/`` per submission and ``out/scores.csv`` (default ``out``: ``assignment/grades``).
    The notebooks' kernels get the environment CI's runs get (one line per epoch, quiet TensorFlow,
    ``COURSE_DATA_HOME`` for the samples).
    """
    _, run_notebooks, _ = _course_tools()
    autograder = assignment / "autograder" / "autograder.zip"
    if not autograder.exists():
        raise AssignmentError(f"{assignment} holds no autograder/autograder.zip: build it first "
                              "(python3 course.py assignment NN --out DIR)")
    autograder, out = autograder.resolve(), (out or assignment / "grades").resolve()  # otter runs in out/<name>/
    with mock.patch.dict(os.environ):  # the variables run_notebooks sets for CI's runs, without keeping them here
        run_notebooks.set_environment()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(TOOLS), os.environ.get("PYTHONPATH")]))}
    names = labels(submissions)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        grades = list(pool.map(lambda pair: grade_one(autograder, pair[0], out / pair[1], env),
                               zip(submissions, names, strict=True)))
    write_scores(grades, json.loads((assignment / "assignment.json").read_text()), out / "scores.csv")
    return grades


def write_scores(grades: list[Grades], manifest: dict[str, Any], path: Path) -> None:
    """``scores.csv``: a row per submission, a column per autograded exercise, the total and what it is out of."""
    columns = [e["name"] for e in manifest["exercises"] if e["graded"] == "autograder"]
    possible = sum(e["points"] for e in manifest["exercises"] if e["graded"] == "autograder")
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", *columns, "autograded", "out of", "problem"])
        for g in grades:
            writer.writerow([g.submission, *(f"{g.scores.get(c, 0):g}" for c in columns), f"{g.total:g}", possible,
                             g.error or (f"error in {g.raised}" if g.raised else "")])


def scores_table(grades: list[Grades], manifest: dict[str, Any]) -> str:
    """The scores as a text table, with the exercises graded by hand named under it."""
    auto = [e for e in manifest["exercises"] if e["graded"] == "autograder"]
    manual = [e for e in manifest["exercises"] if e["graded"] != "autograder"]
    possible = sum(e["points"] for e in auto)
    width = max([len("submission"), *(len(g.submission) for g in grades)])
    lines = [f"{'submission':<{width}}  " + "  ".join(f"ex {e['number']:>2}" for e in auto) + "  autograded"]
    for g in grades:
        cells = "  ".join(f"{g.scores.get(e['name'], 0):>5g}" for e in auto)
        problem = g.error or (f"error in {g.raised}" if g.raised else "")
        lines.append(f"{g.submission:<{width}}  {cells}  {g.total:g} / {possible}  {problem}".rstrip())
    if manual:
        lines.append("graded by hand (rubric.md): " + ", ".join(f"exercise {e['number']} ({e['points']} points)"
                                                             for e in manual))
    return "\n".join(lines)


# --- command line ------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["grade"]:
        parser = argparse.ArgumentParser(prog="assignment.py grade", description="Grade submissions locally "
                                         "with otter run (no Docker), as the Gradescope autograder does.")
        parser.add_argument("assignment", type=Path, help="a chapter's folder written by the build, e.g. dist/02")
        parser.add_argument("submissions", type=Path, nargs="+", help="submitted .ipynb (or otter .zip) files")
        parser.add_argument("--out", type=Path, default=None, help="default: ASSIGNMENT/grades")
        parser.add_argument("--jobs", type=int, default=1, help="submissions graded at the same time")
        args = parser.parse_args(argv[1:])
        try:
            grades = grade(args.assignment, args.submissions, args.out, args.jobs)
        except AssignmentError as err:
            print(err, file=sys.stderr)
            return 2
        print(scores_table(grades, json.loads((args.assignment / "assignment.json").read_text())))
        print(f"Scores: {(args.out or args.assignment / 'grades') / 'scores.csv'}")
        return 1 if any(g.error for g in grades) else 0

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapters", nargs="+", help="two-digit chapter numbers, e.g. 02 05")
    parser.add_argument("--out", type=Path, default=Path("dist"))
    parser.add_argument("--profile", default="smoke", choices=PROFILES,
                        help="the PROFILE submissions are graded with (default smoke: the offline sample, on a CPU); "
                             "'submitted' keeps each submission's own")
    parser.add_argument("--helpers-spec", default=None,
                        help="what the grading machine pip-installs the course helpers from (default: the course's "
                             "main branch as a zip); pin a tag or commit for a term")
    parser.add_argument("--check", action="store_true",
                        help="grade the solutions notebook once per chapter and fail unless it gets full marks")
    args = parser.parse_args(argv)
    out = args.out if args.out.is_absolute() else Path.cwd() / args.out
    try:  # every chapter is read first: one that cannot be an assignment stops the build before anything is written
        for chapter in args.chapters:
            notebook = chapter_notebook(chapter)
            read_exercises(nbformat.read(notebook, as_version=4), notebook, chapter)
    except AssignmentError as err:
        print(err, file=sys.stderr)
        return 2
    if args.check:
        _, run_notebooks, _ = _course_tools()
        run_notebooks.set_environment()
    for chapter in args.chapters:
        try:
            built = build(chapter, out, profile=args.profile, helpers_spec=args.helpers_spec, check=args.check)
        except (AssignmentError, RuntimeError) as err:  # RuntimeError: otter's --check found a failing test
            print(f"{chapter}: {err}", file=sys.stderr)
            return 1
        auto = [e for e in built.exercises if e["graded"] == "autograder"]
        manual = [e for e in built.exercises if e["graded"] != "autograder"]
        runs = "each submission in its own PROFILE" if built.profile == "submitted" else f"PROFILE={built.profile}"
        print(f"{chapter}: {len(auto)} autograded exercise(s), {len(manual)} graded by hand; grading runs {runs}")
        print(f"    hand out     {_shown(built.student)}")
        print(f"    autograder   {_shown(built.autograder)}  (Gradescope, or: python3 course.py assignment grade "
              f"{_shown(built.folder)} SUBMISSIONS...)")
        print(f"    rubric       {_shown(built.rubric)}")
    return 0


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it, for messages."""
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


if __name__ == "__main__":
    sys.exit(main())
