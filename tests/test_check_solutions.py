"""The solutions checker: injecting solutions into answer cells, and reading what the self-checks printed.

The injection and verification functions are tested on tiny in-memory notebooks; the last tests check,
without executing anything, that every notebook's solutions file matches its answer cells and does not
overwrite the notebook's own variables.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import check_solutions as cs  # noqa: E402
from run_notebooks import notebooks  # noqa: E402

SOLUTIONS_TEXT = '''"""Solutions to the exercises of 99 · Test. Try them yourself first."""
# ruff: noqa: F821

# %% answer_1
# Why: one plus one.
answer_1 = 1 + 1

# %% [markdown] stretch 3
# A stretch exercise, prose only: answer_9 = 9 here is not a solution.

# %% answer_2
# Why: it is in the data.
answer_2 = len(data)
'''


def exercise_notebook(*numbers: str) -> nbformat.NotebookNode:
    """A notebook with a set-up cell and, per exercise, a question, an answer cell and a check cell."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("data = [1, 2, 3]\nfrom helpers.exercises import check")]
    for n in numbers:
        nb.cells += [
            nbformat.v4.new_markdown_cell(f"**{n}.** A question."),
            nbformat.v4.new_code_cell(f"answer_{n} = None  # an int"),
            nbformat.v4.new_code_cell(f'check("{n}", answer_{n}, expected=2, hint="Think.")'),
        ]
    return nb


def stream(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def executed(outputs_by_exercise: dict[str, list]) -> nbformat.NotebookNode:
    """An exercise notebook whose check cells carry the given outputs, as if papermill had run it."""
    nb = exercise_notebook(*outputs_by_exercise)
    for exercise, index in cs.check_cells(nb):
        nb.cells[index].outputs = outputs_by_exercise[exercise]
    return nb


# --- reading solutions files -------------------------------------------------------------------------------

def test_solution_cells_are_read_by_name_without_header_docstring_or_markdown():
    solutions = cs.read_solutions(SOLUTIONS_TEXT)
    assert solutions == {"answer_1": "# Why: one plus one.\nanswer_1 = 1 + 1",
                         "answer_2": "# Why: it is in the data.\nanswer_2 = len(data)"}


def test_a_solution_named_twice_or_left_empty_is_an_error():
    with pytest.raises(cs.SolutionMismatch, match="answer_1"):
        cs.read_solutions("# %% answer_1\nanswer_1 = 1\n\n# %% answer_1\nanswer_1 = 2\n")
    with pytest.raises(cs.SolutionMismatch, match="empty solution cell.*answer_2"):
        cs.read_solutions("# %% answer_1\nanswer_1 = 1\n\n# %% answer_2\n\n# %% [markdown]\n# prose\n")


# --- finding answer cells and injecting ---------------------------------------------------------------------

def test_answer_cells_are_whole_cells_assigning_none():
    nb = exercise_notebook("1", "2")
    nb.cells += [nbformat.v4.new_code_cell("answer_3 = compute()"),  # already answered: not an answer cell
                 nbformat.v4.new_code_cell("answer_4 = None\nprint(answer_4)"),  # more than the assignment
                 nbformat.v4.new_markdown_cell("answer_5 = None")]
    assert cs.answer_cells(nb) == {"answer_1": 2, "answer_2": 5}


def test_two_answer_cells_with_one_name_are_an_error():
    nb = exercise_notebook("1")
    nb.cells.append(nbformat.v4.new_code_cell("answer_1 = None"))
    with pytest.raises(cs.SolutionMismatch, match="two answer cells assign answer_1"):
        cs.answer_cells(nb)


def test_an_answer_cell_without_solution_is_an_error():
    with pytest.raises(cs.SolutionMismatch) as err:
        cs.inject(exercise_notebook("1", "2", "3"), cs.read_solutions(SOLUTIONS_TEXT), label="nb.ipynb")
    assert "nb.ipynb" in str(err.value)
    assert "without a solution: answer_3" in str(err.value)
    assert "without an 'answer_N = None' cell" not in str(err.value)


def test_a_solution_without_answer_cell_is_an_error():
    with pytest.raises(cs.SolutionMismatch) as err:
        cs.inject(exercise_notebook("1"), cs.read_solutions(SOLUTIONS_TEXT))
    assert "without an 'answer_N = None' cell in the notebook: answer_2" in str(err.value)
    assert "without a solution" not in str(err.value)


def test_injection_replaces_exactly_the_answer_cells():
    nb = exercise_notebook("1", "2")
    nb.cells[2].metadata["tags"] = ["exercise"]
    original = nbformat.writes(nb)
    solutions = cs.read_solutions(SOLUTIONS_TEXT)

    injected = cs.inject(nb, solutions)

    assert nbformat.writes(nb) == original, "the original notebook must not change"
    assert len(injected.cells) == len(nb.cells)
    changed = [i for i, (a, b) in enumerate(zip(nb.cells, injected.cells, strict=True)) if a != b]
    assert changed == [2, 5]
    assert injected.cells[2].source == solutions["answer_1"]
    assert injected.cells[5].source == solutions["answer_2"]
    assert injected.cells[2].metadata == {"tags": ["exercise"]}
    assert injected.cells[2].cell_type == "code"
    assert injected.metadata == nb.metadata


# --- verifying the executed copy ----------------------------------------------------------------------------

def test_every_exercise_that_printed_correct_passes():
    verdict = cs.verify(executed({"1": [stream("Exercise 1: correct!\n")],
                                  "2": [stream("some progress\n"), stream("Exercise 2: correct!\n")]}))
    assert verdict.exercises == ["1", "2"]
    assert verdict.correct == ["1", "2"]
    assert verdict.problems == []


def test_not_quite_is_caught_with_what_was_printed():
    verdict = cs.verify(executed({"1": [stream("Exercise 1: correct!\n")],
                                  "2": [stream("Exercise 2: not quite. Hint: Think.\n")]}))
    assert verdict.correct == ["1"]
    assert len(verdict.problems) == 1
    assert verdict.problems[0].startswith("exercise 2:")
    assert "Exercise 2: not quite. Hint: Think." in verdict.problems[0]


def test_a_check_cell_without_output_or_with_an_error_is_caught():
    error = nbformat.v4.new_output("error", ename="NameError", evalue="name 'answer_2' is not defined", traceback=[])
    verdict = cs.verify(executed({"1": [], "2": [error]}))
    assert verdict.correct == []
    assert "exercise 1: its check printed nothing" in verdict.problems[0]
    assert "NameError: name 'answer_2' is not defined" in verdict.problems[1]


def test_correct_for_another_exercise_does_not_count():
    verdict = cs.verify(executed({"1": [stream("Exercise 1: correct!\n")], "2": [stream("Exercise 1: correct!\n")]}))
    assert verdict.correct == ["1"]
    assert [p.split(":")[0] for p in verdict.problems] == ["exercise 2"]


def test_only_calls_of_check_itself_are_self_checks():
    nb = exercise_notebook("1")
    nb.cells.append(nbformat.v4.new_code_cell('def my_check(x):\n    return x\nresult.check("7")\nmy_check("8")'))
    assert cs.check_cells(nb) == [("1", 3)]


def test_a_notebook_without_self_checks_fails():
    assert cs.verify(nbformat.v4.new_notebook()).problems == ['notebook: no self-check cell (check("N", ...)) found']


def test_the_report_names_notebook_exercise_and_output():
    verdict = cs.verify(executed({"1": [stream("Exercise 1: correct!\n")],
                                  "2": [stream("Exercise 2: not quite. Hint: Think.\n")]}))
    lines = cs.report(cs.Outcome("03_data_augmentation", 12.5, verdict))
    assert "1/2 correct" in lines[0] and "FAILED" in lines[0] and "03_data_augmentation" in lines[0]
    assert "03_data_augmentation, exercise 2" in lines[1] and "not quite" in lines[1]
    crashed = cs.report(cs.Outcome("04_x", 3.0, cs.Verdict(), error="PapermillExecutionError: boom"))
    assert crashed == ["  04_x" + " " * 36 + "     3.0 s  FAILED: PapermillExecutionError: boom"]


def test_a_mismatch_stops_the_run_before_any_notebook_executes(tmp_path, monkeypatch, capsys):
    (tmp_path / "00_start_here.py").write_text(SOLUTIONS_TEXT)
    monkeypatch.setattr(cs, "SOLUTIONS", tmp_path)
    monkeypatch.setattr(cs.run_notebooks.papermill, "execute_notebook", lambda *a, **k: pytest.fail("must not execute"))
    assert cs.main(["--notebooks", "00", "--out", str(tmp_path / "out")]) == 1
    message = capsys.readouterr().err
    assert "00_start_here" in message and "answer_3" in message


# --- the course's own notebooks and solutions (static, nothing is executed) ---------------------------------

COURSE_NOTEBOOKS = notebooks([])


@pytest.mark.parametrize("notebook", COURSE_NOTEBOOKS, ids=[nb.stem for nb in COURSE_NOTEBOOKS])
def test_every_notebook_has_solutions_matching_its_answer_cells(notebook, tmp_path):
    path = cs.solutions_file(notebook)
    assert path.exists(), f"create {path.name} in solutions/"
    text = path.read_text()
    assert text.startswith('"""Solutions to the exercises of ' + notebook.stem[:2] + " · ")
    assert "Try them yourself first." in text.split('"""')[1]
    nb = nbformat.read(notebook, as_version=4)
    solutions = cs.read_solutions(text)
    assert set(solutions) == set(cs.answer_cells(nb))
    assert len(cs.answer_cells(nb)) >= 3
    injected = nbformat.read(cs.prepare(notebook, tmp_path), as_version=4)
    assert [injected.cells[i].source for i in cs.answer_cells(nb).values()] == [
        solutions[name] for name in cs.answer_cells(nb)]


LOCAL_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp, ast.SetComp,
                ast.DictComp, ast.GeneratorExp)


def assigned_names(code: str) -> set[str]:
    """The global names a cell binds (assignments, loop targets, definitions; not ``_``), magics allowed."""
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        if not isinstance(node, LOCAL_SCOPES):  # their own variables stay inside them
            for child in ast.iter_child_nodes(node):
                visit(child)

    visit(ast.parse(TransformerManager().transform_cell(code)))
    return names - {"_"}


@pytest.mark.parametrize("notebook", COURSE_NOTEBOOKS, ids=[nb.stem for nb in COURSE_NOTEBOOKS])
def test_solutions_leave_the_notebooks_variables_alone(notebook):
    nb = nbformat.read(notebook, as_version=4)
    answers = cs.answer_cells(nb).values()
    notebook_names = set().union(*(assigned_names(cell.source) for i, cell in enumerate(nb.cells)
                                   if cell.cell_type == "code" and i not in answers))
    for name, code in cs.read_solutions(cs.solutions_file(notebook).read_text()).items():
        own = assigned_names(code)
        assert name in own, f"{name}'s solution cell must assign {name}"
        clobbered = (own - {name}) & notebook_names
        assert not clobbered, f"{name}'s solution overwrites the notebook's {sorted(clobbered)}: use other names"


# --- --rerun: one re-execution checks blank answers, solutions and reproducibility ----------------------------


def test_blank_answers_must_say_not_answered():
    blank = executed({"1": [stream("Exercise 1: not answered yet. Hint: Think.\n")],
                      "2": [stream("Exercise 2: correct!\n")]})  # a check that passes a blank answer
    problems = cs.verify_unanswered(blank)
    assert len(problems) == 1 and problems[0].startswith("exercise 2:") and "not answered yet" in problems[0]


def test_the_rerun_copy_expects_correct_in_tagged_check_cells():
    nb = executed({"1": [stream("Exercise 1: not answered yet. Hint: Think.\n")]})
    solved = cs.expect_correct(cs.inject(nb, {"answer_1": "answer_1 = 2"}))
    (_, index), = cs.check_cells(solved)
    cell = solved.cells[index]
    assert cell.outputs[0]["text"] == "Exercise 1: correct!\n" and cs.NBVAL_CHECK in cell.metadata["tags"]
    assert "answer_1 = 2" in [c.source for c in solved.cells]
    assert nb.cells[index].outputs[0]["text"].startswith("Exercise 1: not answered")  # the original is untouched


def _nbval(path: Path) -> int:
    import subprocess

    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
                           "--nbval-current-env", str(path)], capture_output=True, cwd=path.parent).returncode


def test_nbval_passes_the_solved_copy_and_fails_a_wrong_solution(tmp_path):
    """The real nbval, on a tiny notebook: the solved copy passes; a wrong solution fails its check cell."""
    def write(solution: str) -> Path:
        nb = executed({"1": [stream("Exercise 1: not answered yet. Hint: Think.\n")]})
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells[0].source = "from helpers.exercises import _check\n" \
                             "def check(n, answer, **kw): return _check(n, answer, expected=2, hint='h')"
        path = tmp_path / f"nb_{len(list(tmp_path.iterdir()))}.ipynb"
        nbformat.write(cs.expect_correct(cs.inject(nb, {"answer_1": solution})), path)
        return path

    assert _nbval(write("answer_1 = 1 + 1")) == 0
    assert _nbval(write("answer_1 = 3")) != 0
