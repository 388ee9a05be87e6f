"""Run each notebook with its exercise solutions pasted in, and require every self-check to say "correct".

    python tools/check_solutions.py [--out build/test/solutions] [--notebooks 00 03 ...] [--jobs 2]
    python tools/check_solutions.py --rerun build/test [--notebooks 00 03 ...]

The solutions of ``notebooks/NN_name.ipynb`` live in ``solutions/NN_name.py``, a jupytext-percent style
file with one ``# %% answer_N`` cell per self-checked exercise. For each notebook this tool

1. makes a copy in which the source of every ``answer_N = None  # ...`` cell is replaced by the code of
   the solution cell of the same name (a notebook answer cell without a solution, or a solution without
   an answer cell, stops everything before any notebook runs);
2. executes the copy with papermill, as ``tools/run_notebooks.py`` does (same parameters, working folder
   and environment), writing ``OUT/injected/<name>.ipynb`` (the copy) and ``OUT/notebooks/<name>.ipynb``
   (executed);
3. reads the executed copy and requires that every cell calling ``check("N", ...)`` printed
   ``Exercise N: correct!``.

It prints one line per notebook (seconds, exercises correct) and exits 1 if any notebook failed, naming
the notebook, the exercise and what its check printed. The solutions are thereby tested against the very
notebooks learners run, so an edit to a notebook that breaks an exercise is caught.

``--rerun OUT`` executes nothing; it prepares CI's second run instead (``course.py test``), so that one
re-execution serves three checks. For each notebook executed by ``tools/run_notebooks.py`` into
``OUT/notebooks`` (the course recipe's copy) it

1. requires that every self-check of that run, with the answers left blank, printed "not answered yet"
   (a check that passes a blank answer is a bug);
2. writes ``OUT/rerun/<name>.ipynb``: the executed copy (outputs and injected parameters kept) with the
   solutions pasted in, and each check cell's stored output replaced by ``Exercise N: correct!`` and
   tagged ``nbval-check-output``.

nbval then re-executes ``OUT/rerun`` and compares the marked cells: the notebook's own marked cells must
reproduce, and every check must print "correct" with the solutions; ``tools/check_rerun.py`` afterwards
checks that the second run left the folders consistent.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_notebooks  # noqa: E402
from run_notebooks import ROOT, notebooks  # noqa: E402

SOLUTIONS = ROOT / "solutions"
#: A notebook's answer cell: the whole cell is ``answer_N = None``, optionally followed by a comment.
ANSWER_CELL = re.compile(r"(answer_\d+)\s*=\s*None\s*(#[^\n]*)?")
#: The header of a solution cell in a solutions file.
SOLUTION_HEADER = re.compile(r"# %% (answer_\d+)")
#: A self-check call and its exercise number, ``check("3", ...)`` (not ``x.check(`` or ``my_check(``).
CHECK_CALL = re.compile(r"(?<![\w.])check\(\s*[\"']([^\"']+)[\"']")


#: What a self-check prints for an answer left as ``None`` (``helpers.exercises.checker``).
NOT_ANSWERED = "not answered yet"
#: nbval's cell tag for "compare this cell's outputs" (the tag form of ``# NBVAL_CHECK_OUTPUT``).
NBVAL_CHECK = "nbval-check-output"


class SolutionMismatch(ValueError):
    """The answer cells of a notebook and the solution cells of its solutions file do not match."""


@dataclass
class Verdict:
    """What the self-check cells of an executed notebook printed.

    Attributes:
        exercises: The exercise numbers of the check cells, in notebook order.
        correct: Those whose check printed "correct".
        problems: One line per exercise that did not (and per notebook-level problem).
    """

    exercises: list[str] = field(default_factory=list)
    correct: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """The result of checking one notebook: ``error`` is set when it did not even run to the end."""

    name: str
    seconds: float
    verdict: Verdict
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the notebook ran and every exercise printed "correct"."""
        return self.error is None and not self.verdict.problems


def solutions_file(notebook: Path) -> Path:
    """Where the solutions of ``notebook`` live: ``solutions/<notebook stem>.py``."""
    return SOLUTIONS / f"{notebook.stem}.py"


def percent_cells(text: str, header: re.Pattern[str]) -> list[tuple[str, list[str]]]:
    """The cells of a jupytext-percent text whose ``# %%`` line matches ``header``, in order.

    Each is ``(header's first group, the cell's lines without the header)``; cells with another header are
    skipped. Solutions (``# %% answer_N``) and, in ``tools/assignment.py``, stretch sketches are read with it.
    """
    cells: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("# %%"):
            match = header.fullmatch(line.rstrip())
            current = [] if match else None
            if match:
                cells.append((match.group(1), current))
        elif current is not None:
            current.append(line)
    return cells


def read_solutions(text: str) -> dict[str, str]:
    """The solution cells of a solutions file: ``{"answer_N": code}``, code without the header line.

    Cells are separated by ``# %%`` lines, as in jupytext's percent format; only cells headed
    ``# %% answer_N`` are solutions (the module docstring and ``# %% [markdown]`` cells are ignored).

    Raises:
        SolutionMismatch: a solution name appears twice or a solution cell holds no code.
    """
    cells: dict[str, list[str]] = {}
    for name, lines in percent_cells(text, SOLUTION_HEADER):
        if name in cells:
            raise SolutionMismatch(f"two solution cells are called {name}: keep one")
        cells[name] = lines
    solutions = {name: "\n".join(lines).strip("\n") for name, lines in cells.items()}
    empty = [name for name, code in solutions.items() if not code.strip()]
    if empty:
        raise SolutionMismatch(f"empty solution cell(s) {', '.join(empty)}: write the code that computes the answer")
    return solutions


def answer_cells(nb: nbformat.NotebookNode) -> dict[str, int]:
    """The notebook's answer cells, ``answer_N = None  # ...``: ``{"answer_N": cell index}``.

    Raises:
        SolutionMismatch: two answer cells assign the same name.
    """
    found: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        match = ANSWER_CELL.fullmatch(cell.source.strip()) if cell.cell_type == "code" else None
        if match:
            if match.group(1) in found:
                raise SolutionMismatch(f"two answer cells assign {match.group(1)} (cells {found[match.group(1)]} "
                                       f"and {index}): number the exercises uniquely")
            found[match.group(1)] = index
    return found


def _by_number(names: set[str]) -> list[str]:
    """``answer_N`` names sorted by N (answer_2 before answer_10)."""
    return sorted(names, key=lambda name: int(name.rsplit("_", 1)[1]))


def inject(nb: nbformat.NotebookNode, solutions: dict[str, str], *, label: str = "the notebook",
           source: str = "its solutions file") -> nbformat.NotebookNode:
    """A copy of ``nb`` whose answer cells hold the solution code of the same name; ``nb`` is not changed.

    Only the ``source`` of the answer cells changes: every other cell, the metadata and the answer
    cells' tags stay as they were.

    Raises:
        SolutionMismatch: an answer cell has no solution, or a solution has no answer cell (both listed).
    """
    answers = answer_cells(nb)
    missing, extra = _by_number(set(answers) - set(solutions)), _by_number(set(solutions) - set(answers))
    if missing or extra:
        lines = [f"{label} and {source} do not match:"]
        if missing:
            lines.append(f"  answer cell(s) without a solution: {', '.join(missing)} (add a '# %% answer_N' cell)")
        if extra:
            lines.append(f"  solution(s) without an 'answer_N = None' cell in the notebook: {', '.join(extra)} "
                         "(remove them, or fix the name)")
        raise SolutionMismatch("\n".join(lines))
    injected = copy.deepcopy(nb)
    for name, index in answers.items():
        injected.cells[index].source = solutions[name]
    return injected


def check_cells(nb: nbformat.NotebookNode) -> list[tuple[str, int]]:
    """``(exercise number, cell index)`` of every ``check("N", ...)`` call in the notebook's code cells."""
    return [(exercise, index) for index, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for exercise in CHECK_CALL.findall(cell.source)]


def printed(cell: nbformat.NotebookNode) -> str:
    """What an executed code cell printed: its stream outputs, then any error as ``Name: message``."""
    text = "".join(out.get("text", "") for out in cell.get("outputs", []) if out.output_type == "stream")
    errors = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"
              for out in cell.get("outputs", []) if out.output_type == "error"]
    return "\n".join(part for part in [text.strip(), *errors] if part)


def verify(executed: nbformat.NotebookNode) -> Verdict:
    """Check that every self-check cell of an executed notebook printed ``Exercise N: correct!``."""
    checks = check_cells(executed)
    verdict = Verdict(exercises=[exercise for exercise, _ in checks])
    if not checks:
        verdict.problems.append("notebook: no self-check cell (check(\"N\", ...)) found")
    for exercise, index in checks:
        output = printed(executed.cells[index])
        if f"Exercise {exercise}: correct!" in output:
            verdict.correct.append(exercise)
        else:
            shown = repr(output.replace("\n", " | ")) if output else "nothing (was the cell executed?)"
            verdict.problems.append(f"exercise {exercise}: its check printed {shown}")
    return verdict


def verify_unanswered(executed: nbformat.NotebookNode) -> list[str]:
    """One problem per self-check of a run with blank answers that did not print "not answered yet"."""
    checks = check_cells(executed)
    if not checks:
        return ["notebook: no self-check cell (check(\"N\", ...)) found"]
    return [f"exercise {exercise}: with its answer left blank, its check printed "
            f"{printed(executed.cells[index]).replace(chr(10), ' | ')!r}, not '{NOT_ANSWERED}'"
            for exercise, index in checks if NOT_ANSWERED not in printed(executed.cells[index])]


def expect_correct(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose check cells expect ``Exercise N: correct!`` as their only output, tagged for nbval."""
    expecting = copy.deepcopy(nb)
    by_cell: dict[int, list[str]] = {}
    for exercise, index in check_cells(expecting):
        by_cell.setdefault(index, []).append(f"Exercise {exercise}: correct!\n")
    for index, lines in by_cell.items():
        cell = expecting.cells[index]
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="".join(lines))]
        cell.execution_count = cell.execution_count or 1  # nbval refuses outputs of a cell that never ran
        tags = cell.metadata.setdefault("tags", [])
        if NBVAL_CHECK not in tags:
            tags.append(NBVAL_CHECK)
    return expecting


def prepare_rerun(executed: Path, notebook: Path, out: Path) -> tuple[Path | None, list[str]]:
    """Check the blank run ``executed`` of ``notebook`` and write its solved copy to ``out/rerun/``.

    Returns the copy's path (``None`` when it could not be made) and the problems found.
    """
    if not executed.exists():
        return None, [f"notebook: {_shown(executed)} is missing: run tools/run_notebooks.py --out {_shown(out)} first"]
    nb = nbformat.read(executed, as_version=4)
    problems = verify_unanswered(nb)
    try:
        solutions = read_solutions(solutions_file(notebook).read_text())
        solved = inject(nb, solutions, label=_shown(notebook), source=_shown(solutions_file(notebook)))
    except (OSError, SolutionMismatch) as err:
        return None, [*problems, f"solutions: {err}"]
    target = out / "rerun" / notebook.name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(expect_correct(solved), target)
    return target, problems


def rerun_main(out: Path, selected: list[Path]) -> int:
    """``--rerun``: prepare ``out/rerun`` for nbval from the blank runs in ``out/notebooks``; 1 on any problem."""
    print(f"Preparing the second run of {len(selected)} notebook(s) with the solutions pasted in -> {out / 'rerun'}")
    failed = []
    for notebook in selected:
        target, problems = prepare_rerun(out / "notebooks" / notebook.name, notebook, out)
        exercises = len(check_cells(nbformat.read(target, as_version=4))) if target else 0
        status = "FAILED" if problems else f"{exercises} exercises: blank answers fail, solutions pasted in"
        print(f"  {notebook.stem:<40} {status}")
        for problem in problems:
            print(f"      {notebook.stem}, {problem}")
        if problems:
            failed.append(notebook.stem)
    if failed:
        print(f"Blank answers or solutions wrong in {len(failed)} notebook(s): {', '.join(failed)}.", file=sys.stderr)
    return 1 if failed else 0


def prepare(notebook: Path, out: Path) -> Path:
    """Write the notebook with its solutions injected to ``out/injected/``; return the copy's path.

    Raises:
        SolutionMismatch: no solutions file, or answer cells and solutions that do not match.
    """
    path = solutions_file(notebook)
    if not path.exists():
        raise SolutionMismatch(f"{notebook.name} has no solutions file: create {_shown(path)} with one "
                               "'# %% answer_N' cell per self-checked exercise")
    nb = nbformat.read(notebook, as_version=4)
    try:
        solutions = read_solutions(path.read_text())
    except SolutionMismatch as err:
        raise SolutionMismatch(f"{_shown(path)}: {err}") from None
    injected = inject(nb, solutions, label=_shown(notebook), source=_shown(path))
    target = out / "injected" / notebook.name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(injected, target)
    return target


def _shown(path: Path) -> str:
    """``path`` relative to the repository when it is inside it, for messages."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def execute(injected: Path, out: Path, profile: str, seed: int, timeout: int) -> Outcome:
    """Run one injected copy as ``tools/run_notebooks.py`` runs a notebook (in ``notebooks/``), then verify it."""
    name, seconds, error = run_notebooks.execute(injected, out, profile, seed, timeout, cwd=ROOT / "notebooks")
    if error:
        return Outcome(name, seconds, Verdict(), error)
    return Outcome(name, seconds, verify(nbformat.read(out / "notebooks" / injected.name, as_version=4)))


def report(outcome: Outcome) -> list[str]:
    """The notebook's summary line, then one indented line per problem."""
    verdict = outcome.verdict
    status = f"FAILED: {outcome.error}" if outcome.error else (
        f"{len(verdict.correct)}/{len(verdict.exercises)} correct" + ("" if outcome.ok else ", FAILED"))
    return [f"  {outcome.name:<40} {outcome.seconds:7.1f} s  {status}",
            *[f"      {outcome.name}, {problem}" for problem in verdict.problems]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=Path("build/test/solutions"), type=Path)
    parser.add_argument("--notebooks", nargs="*", default=[], help="name prefixes, e.g. 00 02")
    parser.add_argument("--jobs", default=2, type=int, help="notebooks run at the same time")
    parser.add_argument("--profile", default="smoke", choices=["smoke", "quick", "full"])
    parser.add_argument("--seed", default=42, type=int)
    parser.add_argument("--timeout", default=1800, type=int, help="seconds per cell")
    parser.add_argument("--rerun", type=Path, default=None, metavar="OUT",
                        help="execute nothing: check the blank runs in OUT/notebooks and write OUT/rerun for nbval")
    args = parser.parse_args(argv)

    out = args.out if args.out.is_absolute() else (ROOT / args.out).resolve()
    selected = notebooks(args.notebooks)
    if not selected:
        print("No notebooks matched.", file=sys.stderr)
        return 2
    if args.rerun is not None:
        return rerun_main(args.rerun if args.rerun.is_absolute() else (ROOT / args.rerun).resolve(), selected)
    injected, mismatches = [], []
    for notebook in selected:  # all injections first: a mismatch fails before minutes of execution
        try:
            injected.append(prepare(notebook, out))
        except SolutionMismatch as err:
            mismatches.append(str(err))
    if mismatches:
        print("Solutions do not match the notebooks:\n" + "\n".join(mismatches), file=sys.stderr)
        return 1

    run_notebooks.set_environment()
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    print(f"Checking the solutions of {len(injected)} notebook(s), profile {args.profile}, "
          f"{args.jobs} at a time -> {out}")
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(lambda nb: execute(nb, out, args.profile, args.seed, args.timeout), injected))
    for outcome in outcomes:
        print("\n".join(report(outcome)))
    failed = [outcome.name for outcome in outcomes if not outcome.ok]
    print(f"Total wall time: {time.perf_counter() - started:.1f} s")
    if failed:
        print(f"Solutions failed in {len(failed)} notebook(s): {', '.join(failed)}. The executed copies are in "
              f"{out / 'notebooks'}.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
