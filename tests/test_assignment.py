"""Assignments (``tools/assignment.py``): chapter 02 built with otter-grader, then graded for real.

The first tests check the pieces on tiny in-memory inputs; the build tests read what ``otter assign`` wrote
for chapter 02 (seconds, nothing executed); the last test grades three submissions with ``otter run``, each a
full smoke run of chapter 02 on the offline sample (about a minute each, run side by side): the worked
solutions must score full marks, the untouched student notebook zero, and a partly right one exactly the
exercises it got right; a copy of the course's notebook (not the assignment's) is refused.
"""

from __future__ import annotations

import json
import os
import re
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import assignment as asg  # noqa: E402
import check_solutions as cs  # noqa: E402

from helpers import course  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Traits should be given as instances:DeprecationWarning")  # otter's

NOTEBOOK = ROOT / "notebooks" / "02_cnn_from_scratch.ipynb"
SOLUTIONS = ROOT / "solutions" / "02_cnn_from_scratch.py"


# --- pieces -------------------------------------------------------------------------------------------------------

def test_a_markdown_cell_is_cut_before_each_exercise_paragraph():
    text = "## Exercises\n\nIntro.\n\n**1 (warm-up).** One?\n\nMore on one.\n\n**2 (stretch: x).** Two.\n"
    assert asg.split_exercises(text) == [(None, "## Exercises\n\nIntro."),
                                         ("1", "**1 (warm-up).** One?\n\nMore on one."),
                                         ("2", "**2 (stretch: x).** Two.")]
    assert asg.split_exercises("**12 (big).** A.") == [("12", "**12 (big).** A.")]


def test_exercises_are_only_read_from_the_exercises_section():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title\n\n**1 (not an exercise).** A list item in the lesson."),
        nbformat.v4.new_markdown_cell("## Exercises\n\n**1 (warm-up).** One?"),
        nbformat.v4.new_code_cell("answer_1 = None"),
        nbformat.v4.new_markdown_cell("**2 (stretch).** Two."),
        nbformat.v4.new_markdown_cell("## Summary\n\n**3 (no).** Not one either."),
    ])
    assert asg.exercise_cells(nb) == range(1, 4)
    assert asg.exercise_texts(nb) == {"1": "**1 (warm-up).** One?", "2": "**2 (stretch).** Two."}


def test_sketches_are_read_one_per_exercise_even_when_one_cell_holds_several():
    text = ('"""Solutions."""\n\n# %% answer_1\nanswer_1 = 1\n\n# %% [markdown] stretch 6\n'
            "# **6 (stretch): first.** Do this.\n#\n# ```python\n# x = 1\n# ```\n#\n"
            "# **7 (stretch): second.** Do that.\n\n# %% [markdown] stretch 9\n# A sketch without its own title.\n")
    assert asg.read_sketches(text) == {"6": "**6 (stretch): first.** Do this.\n\n```python\nx = 1\n```",
                                       "7": "**7 (stretch): second.** Do that.",
                                       "9": "A sketch without its own title."}


def test_a_chapter_without_answer_keys_is_refused_with_what_to_do(tmp_path, monkeypatch, capsys):
    old_style = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## Exercises\n\n**1.** One?"), nbformat.v4.new_code_cell("answer_1 = None"),
        nbformat.v4.new_code_cell('from helpers.exercises import check\ncheck("1", answer_1, expected=2, hint="h")')])
    path = tmp_path / "notebooks" / "05_old.ipynb"
    path.parent.mkdir()
    nbformat.write(old_style, path)
    with pytest.raises(asg.AssignmentError, match=r"(?s)Chapter 05 cannot be an assignment yet.*checker\(\"05\"\)"
                                                  r".*helpers/answer_keys/ch05\.py"):
        asg.require_checker(old_style, "05", path.name)
    monkeypatch.setattr(asg, "chapter_notebook", lambda chapter: path)
    assert asg.main(["05", "--out", str(tmp_path / "dist")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Convert it as chapter 02 was" in err, "one message, saying what to do"
    assert not (tmp_path / "dist").exists(), "nothing is written for a refused chapter"


def test_an_unknown_chapter_is_refused():
    with pytest.raises(asg.AssignmentError, match="There is no chapter '42'"):
        asg.chapter_notebook("42")


def test_the_grading_plugin_injects_the_profile_after_the_parameters_cell_as_papermill_does():
    submission = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell('PROFILE = "quick"'),
        nbformat.v4.new_code_cell("print(PROFILE)")])
    submission.cells[1].metadata["tags"] = ["parameters"]
    graded = asg.GradingParameters("sub.ipynb", {}, {"PROFILE": "smoke"}).before_execution(submission)
    assert [c.source for c in graded.cells][:2] == ["# Title", 'PROFILE = "quick"']
    assert graded.cells[2].metadata["tags"] == ["injected-parameters"] and 'PROFILE = "smoke"' in graded.cells[2].source
    again = asg.GradingParameters("sub.ipynb", {}, {"PROFILE": "full"}).before_execution(graded)
    assert len(again.cells) == 4 and 'PROFILE = "full"' in again.cells[2].source, "replaced, not added twice"
    unchanged = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('PROFILE = "quick"')])
    assert asg.GradingParameters("sub.ipynb", {}, {}).before_execution(unchanged) is unchanged  # --profile submitted


def test_submissions_get_distinct_folders():
    paths = [Path("alice/02_x.ipynb"), Path("bob/02_x.ipynb"), Path("carol.ipynb")]
    assert asg.labels(paths) == ["alice-02_x", "bob-02_x", "carol"]


def test_scores_are_read_from_otters_results():
    results = {"tests": [{"name": "Public Tests", "visibility": "visible", "output": "..."},
                         {"name": "exercise_1", "score": 1.0, "max_score": 1.0},
                         {"name": "exercise_2", "score": 0, "max_score": 1.0}]}
    assert asg.read_results(results) == ({"exercise_1": 1.0, "exercise_2": 0.0},
                                         {"exercise_1": 1.0, "exercise_2": 1.0})


# --- chapter 02, built ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory) -> asg.Built:
    return asg.build("02", tmp_path_factory.mktemp("dist"), profile="smoke")


def test_the_student_notebook_is_the_chapter_without_its_solutions(built):
    source = nbformat.read(NOTEBOOK, as_version=4)
    student = nbformat.read(built.student, as_version=4)
    code = [c.source for c in student.cells if c.cell_type == "code"]
    assert code == [c.source for c in source.cells if c.cell_type == "code"], "every code cell, unchanged"
    assert 'check = checker("02")' in "\n".join(code)
    assert not [call for _, call in asg.check_calls(student).values() if "expected" in call], "no expected values"
    text = "\n".join(c.source for c in student.cells)
    assert course.solutions_url(NOTEBOOK.name) not in text and "/solutions/" not in text
    assert course.colab_url(NOTEBOOK.name) not in text, "the badges open the course's copy, not this one"
    sketch = asg.read_sketches(SOLUTIONS.read_text())["6"]
    assert sketch[:60] not in text and "def test_" not in text and "BEGIN SOLUTION" not in text
    assert "This notebook is an assignment" in text and 'PROFILE = "smoke"' in text
    section = [student.cells[i].source for i in asg.exercise_cells(student) if student.cells[i].cell_type == "markdown"]
    questions = [q for q in section if re.match(r"(<!-- BEGIN QUESTION -->\s*)?\*\*\d", q)]
    assert [re.search(r"\*\*\d+ ", q).group(0) for q in questions] == [f"**{n} " for n in "123456"]
    assert all(len(asg.split_exercises(q.removeprefix("<!-- BEGIN QUESTION -->"))) == 1 for q in questions), \
        "one cell per exercise, its text only"
    stretch_answer = student.cells[[c.source for c in student.cells].index(questions[-1]) + 1]
    assert stretch_answer.cell_type == "markdown" and "Type your answer here" in stretch_answer.source
    assert "tests" not in student.metadata.get("otter", {})
    assert student.metadata["otter"]["assignment_name"] == NOTEBOOK.stem
    assert sorted(p.name for p in built.student.parent.iterdir()) == [NOTEBOOK.name]


def test_the_autograder_grades_every_self_checked_exercise_with_the_chapters_answer_key(built):
    with zipfile.ZipFile(built.autograder) as zf:
        names = set(zf.namelist())
        tests = {n: zf.read(n).decode() for n in names if n.startswith("tests/")}
        config = json.loads(zf.read("otter_config.json"))
        environment = zf.read("environment.yml").decode()
    assert sorted(tests) == [f"tests/exercise_{n}.py" for n in "12345"], "no test for the stretch exercise"
    assert {"assignment.py", "run_autograder", "setup.sh"} <= names
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for exercise, (_, call) in asg.check_calls(nb).items():
        test = tests[f"tests/exercise_{exercise}.py"]
        assert "hidden=True" in test and "checker('02')" in test and repr(call) in test
    assert "cm=cm, class_names=data.class_names" in tests["tests/exercise_4.py"]
    assert config["plugins"] == [{"assignment.GradingParameters": {"PROFILE": "smoke"}}]
    assert config["assignment_name"] == NOTEBOOK.stem
    pip = yaml.safe_load(environment)["dependencies"][-1]["pip"]
    assert "python=3.11" in environment and "tensorflow==2.21.0" in pip and asg.default_helpers_spec() in pip
    assert not [line for line in pip if "#" in line], "requirement lines without comments"


def test_stretch_exercises_are_graded_by_hand_with_the_sketch_as_rubric(built):
    sketch = asg.read_sketches(SOLUTIONS.read_text())["6"]
    rubric = built.rubric.read_text()
    assert "## Exercise 6 (2 points)" in rubric and sketch in rubric
    assert "**6 (stretch: dropout against over-fitting).**" in rubric, "the exercise's own text"
    master = nbformat.read(built.folder / "source" / NOTEBOOK.name, as_version=4)
    assert any(c.cell_type == "raw" and "name: \"exercise_6\"" in c.source and "manual: true" in c.source
               for c in master.cells)
    autograder_nb = nbformat.read(built.folder / "autograder" / NOTEBOOK.name, as_version=4)
    assert any(c.cell_type == "markdown" and sketch in c.source for c in autograder_nb.cells)
    manifest = json.loads((built.folder / "assignment.json").read_text())
    assert [(e["number"], e["points"], e["graded"]) for e in manifest["exercises"]] == [
        *((n, 1, "autograder") for n in "12345"), ("6", 2, "by hand")]


# --- chapter 02, graded ---------------------------------------------------------------------------------------------

def test_solutions_score_full_marks_a_blank_notebook_zero_and_a_partial_one_what_it_got_right(built, tmp_path,
                                                                                                monkeypatch):
    student = nbformat.read(built.student, as_version=4)
    solutions = cs.read_solutions(SOLUTIONS.read_text())
    partial = {**solutions, "answer_3": "answer_3 = 802944 + 1  # off by one",
               "answer_5": "answer_5 = None  # an int, 1-based"}
    submissions = {"solutions": cs.inject(student, solutions), "blank": student, "partial": cs.inject(student, partial),
                   "course_copy": cs.inject(nbformat.read(NOTEBOOK, as_version=4), solutions)}  # not the assignment's
    monkeypatch.chdir(tmp_path)  # relative paths, as an instructor types them
    paths = []
    for name, nb in submissions.items():
        nbformat.write(nb, f"{name}.ipynb")
        paths.append(Path(f"{name}.ipynb"))

    folder = Path(os.path.relpath(built.folder, tmp_path))
    grades = {Path(g.submission).stem: g for g in asg.grade(folder, paths, Path("grades"), jobs=4)}

    exercises = [f"exercise_{n}" for n in "12345"]
    refused = grades.pop("course_copy")
    assert refused.scores == {} and "this is assignment '02_cnn_from_scratch'" in refused.error, refused.error
    assert all(g.error is None and g.raised is None for g in grades.values()), {n: (g.error, g.raised)
                                                                               for n, g in grades.items()}
    assert grades["solutions"].scores == dict.fromkeys(exercises, 1.0)
    assert grades["blank"].scores == dict.fromkeys(exercises, 0.0)
    assert grades["partial"].scores == {**dict.fromkeys(exercises, 1.0), "exercise_3": 0.0, "exercise_5": 0.0}
    assert grades["partial"].possible == dict.fromkeys(exercises, 1.0)
    executed = nbformat.read(tmp_path / "grades" / "solutions" / "executed.ipynb", as_version=4)
    injected = [c.source for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'PROFILE = "smoke"' in injected[0], "graded on the offline sample"
    rows = (tmp_path / "grades" / "scores.csv").read_text().splitlines()
    assert rows[0] == "submission,exercise_1,exercise_2,exercise_3,exercise_4,exercise_5,autograded,out of,problem"
    assert rows[1:4] == ["solutions.ipynb,1,1,1,1,1,5,5,", "blank.ipynb,0,0,0,0,0,0,5,", "partial.ipynb,1,1,0,1,0,3,5,"]
    assert rows[4].startswith("course_copy.ipynb,0,0,0,0,0,0,5,otter failed")
