"""Every notebook follows the course contract (see README, "Notebook contract")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from helpers import course

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
DEPRECATED = {
    "ImageDataGenerator": r"ImageDataGenerator",
    "fit_generator": r"\b(fit|evaluate|predict)_generator\b",
    "lr= argument": r"[(,]\s*lr\s*=",
    "experimental.preprocessing": r"layers\.experimental\.preprocessing",
    "tensorboard.dev": r"tensorboard\.dev",
    "tensorflow_hub": r"tensorflow_hub",
    "tf.keras.preprocessing.image_dataset_from_directory": r"tf\.keras\.preprocessing\.image_dataset_from_directory",
}


def code(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found"
    assert NOTEBOOKS[0].name == "00_start_here.ipynb"


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.stem)
def notebook(request):
    path = request.param
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    return path, nb


def test_name_is_numbered(notebook):
    path, _ = notebook
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name)


def test_title_and_learning_goals(notebook):
    path, nb = notebook
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith(f"# {path.name[:2]} ")
    assert "**What you will learn**" in first.source


def test_badges_match_the_repository(notebook):
    path, nb = notebook
    assert course.badges(path.name) in nb.cells[0].source


def test_parameters_cell(notebook):
    _, nb = notebook
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    values = {}
    for node in ast.parse(tagged[0].source).body:
        assert isinstance(node, ast.Assign), "the parameters cell holds plain assignments only"
        values[node.targets[0].id] = ast.literal_eval(node.value)
    assert values["PROFILE"] == "quick"
    assert values["DATA_DIR"] is None
    assert values["RESULTS_DIR"] == "results"
    assert values["SEED"] == 42


def test_setup_cell_installs_the_course_helpers(notebook):
    _, nb = notebook
    source = code(nb)
    assert f'"{course.INSTALL_SPEC}"' in source
    assert course.bootstrap_code() in source, "set-up cell out of date: run tools/sync_notebooks.py"
    assert "runtime.setup(PROFILE, seed=SEED)" in source
    assert not re.search(r"pip\"?,? .*install.*tensorflow", source), "never reinstall TensorFlow"


def test_writes_its_results_file(notebook):
    path, nb = notebook
    calls = re.findall(r'results\.save\(\s*RESULTS_DIR,\s*"([^"]+)"', code(nb))
    assert calls == [path.stem], "the results cell saves RESULTS_DIR/<notebook stem>.json once"


def test_exercises_and_summary(notebook):
    path, nb = notebook
    text = markdown(nb)
    assert "## Exercises" in text and "## Summary" in text
    assert course.solutions_line(path.name) in text, "no link to the solutions: run tools/sync_notebooks.py"
    assert (ROOT / "solutions" / f"{path.stem}.py").is_file()
    assert code(nb).count("check(") >= 3, "at least three self-checked exercises"


def test_no_stored_outputs(notebook):
    _, nb = notebook
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None


def test_no_deprecated_keras_apis(notebook):
    _, nb = notebook
    source = code(nb)
    for what, pattern in DEPRECATED.items():
        assert not re.search(pattern, source), f"deprecated API in code: {what}"


def test_helpers_use_no_deprecated_apis():
    for path in (ROOT / "helpers").rglob("*.py"):
        text = path.read_text()
        for what, pattern in DEPRECATED.items():
            assert not re.search(pattern, text), f"{path.name}: {what}"


def test_training_chapters_start_from_their_article(notebook):
    """Chapters 02-08 take RECIPE, state their article from helpers.articles and record the recipe they ran.

    Their "article vs ours" table and comparison are generated from :mod:`helpers.articles`, so no chapter
    can misstate an article's settings in a hand-written table, and both recipes run in CI
    (``tools/run_notebooks.py`` runs a chapter with a ``RECIPE`` parameter once per recipe).
    """
    from helpers import articles

    path, nb = notebook
    keys = [a.key for a in articles.for_chapter(path.name[:2])]
    if not keys:
        return
    source = code(nb)
    tagged = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert re.search(r'(?m)^RECIPE = "course"$', tagged.source), "RECIPE = \"course\" in the parameters cell"
    for key in keys:
        assert f'articles.get("{key}")' in source, f"the chapter does not read its article {key!r}"
    assert ".recipe_table(" in source and "articles.comparison_table(" in source
    assert re.search(r"results\.save\([^)]*recipe=RECIPE", source, re.S), "results.save(..., recipe=RECIPE)"
    assert "not recorded in our sources" not in markdown(nb) + source
    assert not re.search(r"\.figures\b", source), "article figures come from helpers.articles, not the catalogue"


#: The Keras each chapter exists to teach, written in its own cells (issue #14): (what, regex) pairs.
TAUGHT = {
    "02": [("the model's layers", r"layers\.Conv2D\("), ("a visible fit", r"\bmodel\.fit\(")],
    "03": [("augmentation from keras.layers.Random*", r"layers\.Random(Flip|Rotation|Zoom|Translation)\("),
           ("the fused RandomAffine", r"RandomAffine"), ("a visible fit", r"\.fit\(")],
    "04": [("Grad-CAM with a GradientTape", r"tf\.GradientTape\("), ("a visible fit", r"\.fit\(")],
    "05": [("a backbone without its classifier", r"include_top\s*=\s*False"),
           ("the backbone's own preprocessing", r"preprocess_input"),
           ("a frozen backbone", r"\.trainable\s*=\s*False"), ("a visible fit", r"\.fit\(")],
    "06": [("a visible fit", r"\.fit\(")],
    "07": [("unfreezing", r"\.trainable\s*=\s*True"), ("BatchNormalization kept frozen", r"BatchNormalization"),
           ("a visible fit", r"\.fit\(")],
    "08": [("unfreezing", r"\.trainable\s*="), ("a visible fit", r"\.fit\(")],
    "09": [("a visible fit", r"\.fit\(")],
}


def test_chapters_write_the_keras_they_teach(notebook):
    """Each chapter shows the calls it teaches in its own cells, and trains through a visible ``fit``."""
    path, nb = notebook
    source = code(nb)
    for what, pattern in TAUGHT.get(path.name[:2], []):
        assert re.search(pattern, source), f"{path.name} does not show {what} ({pattern})"
    assert "timed_fit" not in source, "train with a visible model.fit and training.Timer(), not timed_fit"


def test_check_cells_do_not_show_the_answer(notebook):
    """Self-checks grade with ``checker`` (the answer key in helpers/answer_keys), never an ``expected=`` value."""
    path, nb = notebook
    checks = [c.source for c in nb.cells if c.cell_type == "code" and re.search(r"(?<![\w.])check\(", c.source)]
    assert checks and any(re.search(rf'checker\("{path.name[:2]}"\)', c) for c in checks)
    assert not any("expected=" in c for c in checks), "a check cell shows its expected value"
