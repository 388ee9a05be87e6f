"""Tests for helpers.budget: every chapter's caches fit free Colab's RAM and Kaggle's working disk.

The figures are computed from the catalogue and each chapter's settings; these tests check the
computation against what ``datasets.load`` really does on the samples, check that the settings are still
the notebooks' own, and check the limits (which the old rule, 07 ``full`` cached at 299x299, broke).
"""

import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

import json
from pathlib import Path

import pytest

from helpers import budget, pipeline
from helpers.datasets import CATALOG, load, make_sample

ROOT = Path(__file__).resolve().parent.parent


def test_every_chapter_fits_free_colab_ram_and_kaggle_working_disk():
    assert budget._problems() == []


def test_the_old_rule_did_not_fit_chapter_07_full():
    """Caching at the training size (Fruits-360 at 299x299) overflows Kaggle's /kaggle/working."""
    found = budget._problems(budget._old_rule)
    assert found and all(problem.startswith("chapter 07 full") for problem in found), found
    old = budget.usage("07", "full", "course", budget._old_rule)
    assert old.disk > budget.KAGGLE_DISK, "24 GB of cache files: more than the whole disk"


def test_the_limits_follow_the_rule_the_pipeline_applies(monkeypatch):
    """Put the old rule back into the pipeline and the fit check fails: it guards the real rule."""
    monkeypatch.setattr(pipeline, "cache_size", budget._old_rule)
    assert any(problem.startswith("chapter 07 full") for problem in budget._problems())


def test_chapter_07_full_caches_fruits_at_their_native_size():
    new, old = budget.usage("07", "full"), budget.usage("07", "full", rule=budget._old_rule)
    assert new.sizes == [(100, 100)] and old.sizes == [(299, 299)]
    assert new.disk == 0, "2.7 GB: every split fits in memory"
    assert sum(c.images for c in new.caches) == sum(CATALOG["fruits360"].sizes.values())
    assert (old.disk + old.ram) / new.ram > 8


def test_a_file_cache_counts_its_shuffle_buffer_in_ram():
    big = budget._Cache("train", 10**6, (100, 100), shuffled=True)
    assert not big.in_memory and big.disk == big.bytes
    assert big.ram == pipeline.SHUFFLE_BUFFER * 100 * 100 * 3
    small = budget._Cache("train", 10, (100, 100), shuffled=True)
    assert small.in_memory and small.ram == small.bytes and small.disk == 0
    forced = budget._Cache("bench", 10**6, (100, 100), dtype="float32", place="memory")
    assert forced.in_memory and forced.ram == 4 * 10**6 * 100 * 100 * 3


@pytest.mark.parametrize("name", sorted(CATALOG))
@pytest.mark.parametrize("per_class", [7, 13])
def test_smoke_split_counts_are_what_load_returns_on_the_sample(tmp_path, name, per_class):
    root = make_sample(name, tmp_path / name, images_per_class=per_class)
    loaded = load(name, root, image_size=(8, 8), batch_size=4, cache=False)
    found = {split: len(files) for split, files in loaded.files.items()}
    assert budget.split_counts(name, "smoke", images_per_class=per_class) == found


def test_real_split_counts_come_from_the_catalogue():
    intel = budget.split_counts("intel", "full")
    assert intel["train"] + intel["val"] == 14034 and intel["test"] == 3000
    assert budget.split_counts("mosquito", "quick") == {"train": 4200, "val": 3600, "test": 1799}
    assert budget.classes("fruits360", "quick") == 131
    assert sum(budget.split_counts("odonata", "full").values()) == pytest.approx(17659, abs=3)


def notebook_code(number: str) -> str:
    """All code cells of notebook ``number``, joined."""
    path = next((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")


@pytest.mark.parametrize("number", sorted(budget.CHAPTERS))
def test_the_chapter_settings_are_still_the_notebooks_own(number):
    """Each size and count the budget assumes is written in the notebook; a changed notebook fails here."""
    code = notebook_code(number)
    missing = [line for line in budget.CHAPTERS[number].evidence if line not in code]
    assert not missing, f"notebook {number} changed: update helpers/budget.py ({missing})"


def test_the_table_in_the_instructors_guide_is_up_to_date():
    assert budget._section_in_doc() == budget._render_section(), "run: python -m helpers.budget"


def test_write_doc_replaces_only_the_generated_block(tmp_path):
    doc = tmp_path / "guide.md"
    doc.write_text(f"# Guide\n\nbefore\n\n{budget._BEGIN}\nstale\n{budget._END}\n\nafter\n")
    assert budget._write_doc(doc) is True
    text = doc.read_text()
    assert text.startswith("# Guide\n\nbefore\n\n") and text.endswith("\n\nafter\n")
    assert budget._section_in_doc(doc) == budget._render_section()
    assert budget._write_doc(doc) is False, "a second run changes nothing"
    doc.write_text("no markers")
    with pytest.raises(ValueError, match="no generated cache table"):
        budget._write_doc(doc)


def test_override_sets_every_phase_and_the_batch_size_and_says_so(capsys):
    cfg = {"image_size": 64, "batch_size": 18, "head_epochs": 8, "finetune_epochs": 2, "patience": 3}
    new = budget.override(cfg, epochs=1, batch_size=8)
    assert new == {"image_size": 64, "batch_size": 8, "head_epochs": 1, "finetune_epochs": 1, "patience": 3}
    assert cfg["head_epochs"] == 8, "the profile table's own entry is left as it was"
    out = capsys.readouterr().out
    assert "head_epochs 8 -> 1" in out and "finetune_epochs 2 -> 1" in out and "batch_size 18 -> 8" in out


def test_override_without_parameters_changes_and_prints_nothing(capsys):
    cfg = {"image_size": 64, "batch_size": 32, "epochs": 5}
    assert budget.override(cfg) == cfg and budget.override(cfg, epochs=5, batch_size=32) == cfg
    assert capsys.readouterr().out == ""


def test_override_by_phase_keeps_phases_a_recipe_does_not_run():
    cfg = {"batch_size": 16, "head_epochs": 0, "finetune_epochs": 20, "epochs": 4,
           "article_epochs": {"no augmentation": 30, "article augmentation": 20}}
    assert budget.override(cfg, epochs={"finetune_epochs": 3})["finetune_epochs"] == 3
    every = budget.override(cfg, epochs=2)
    assert every["head_epochs"] == 0 and every["finetune_epochs"] == every["epochs"] == 2
    assert every["article_epochs"] == {"no augmentation": 2, "article augmentation": 2}
    with pytest.raises(ValueError, match="tune_epochs"):
        budget.override(cfg, epochs={"tune_epochs": 3})
    with pytest.raises(ValueError, match="positive"):
        budget.override(cfg, epochs=0)


@pytest.mark.parametrize("number", ["00", "02", "03", "04", "05", "06", "07", "08", "09"])
def test_every_training_chapter_takes_the_override_parameters(number):
    """EPOCHS and BATCH_SIZE in the parameters cell, applied once by budget.override, and no old key spellings."""
    path = next((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    cells = json.loads(path.read_text())["cells"]
    params = next("".join(c["source"]) for c in cells if "parameters" in c["metadata"].get("tags", []))
    assert "\nEPOCHS = None" in params and "\nBATCH_SIZE = None" in params
    code = notebook_code(number)
    assert code.count("budget.override(") == 1
    assert "epochs=EPOCHS, batch_size=BATCH_SIZE)" in code
    old = [key for key in ("size", "batch", "tune_epochs", "tune_lr")
           if f'CFG["{key}"]' in code or f"CFG['{key}']" in code or f"dict({key}=" in code]
    old += [key for key in ("tune_epochs", "tune_lr") if f" {key}=" in code]
    old += [name for name in ("HEAD_EPOCHS", "TUNE_EPOCHS", "MAX_EPOCHS") if name in code]
    assert not old, f"old parameter or key spellings in notebook {number}: {old}"
