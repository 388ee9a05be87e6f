"""tools/rehearse.py: full-size copies with the real counts, the verdict against Colab/Kaggle, one real run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from helpers import budget
from helpers.datasets import catalog

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("rehearse", ROOT / "tools" / "rehearse.py")
rehearse = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rehearse)


@pytest.mark.parametrize("name", ["intel", "food5k", "fruits360", "mosquito"])
def test_full_size_copies_have_the_real_training_count(name):
    counts = rehearse.full_size_counts(name, "full")
    k = budget.classes(name, "smoke")
    real = budget.catalogue_split(catalog.info(name).sizes, "train")
    assert abs(counts["images_per_class"] * k - real) <= k  # the real count, spread over the sample's classes
    assert counts["held_per_class"] * k >= budget.catalogue_split(catalog.info(name).sizes, "test") - k


def test_odonata_copies_follow_each_profiles_build():
    quick, full = (rehearse.full_size_counts("odonata", p) for p in ("quick", "full"))
    assert full["images_per_class"] > 5 * quick["images_per_class"]
    folders = {rehearse.dataset_folder(Path("d"), "odonata", p) for p in ("quick", "full")}
    assert len(folders) == 2


def _result(**changes):
    base = {"chapter": "07", "profile": "full", "dataset": "fruits360", "peak_ram": 4 * budget.GB,
            "cache_disk": 0, "data_disk": 30 * budget.GB}
    return {**base, **changes}


def test_verdict_flags_what_does_not_fit_on_colab_or_kaggle():
    assert rehearse.verdict(_result()) == "fits"  # a Kaggle dataset is mounted read-only, not in /kaggle/working
    assert rehearse.verdict(_result(peak_ram=13 * budget.GB)) == "RAM > free Colab"
    assert rehearse.verdict(_result(cache_disk=21 * budget.GB)) == "disk > Kaggle's /kaggle/working"
    assert "disk" in rehearse.verdict(_result(dataset="odonata", data_disk=19 * budget.GB, cache_disk=2 * budget.GB))
    assert rehearse.verdict({"chapter": "07", "profile": "full", "error": "exit code 1"}) == "failed"


def test_a_small_rehearsal_measures_a_real_run(tmp_path):
    code = rehearse.main(["--chapters", "02", "--profiles", "quick", "--scale", "0.001", "--steps", "1",
                          "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out")])
    results = json.loads((tmp_path / "out" / "rehearsal.json").read_text())
    assert code == 0 and len(results) == 1, results
    r = results[0]
    assert r["images"]["train"] > 0 and r["cached_at"] == [150, 150]
    assert r["peak_ram"] > 200 * 2**20  # TensorFlow alone takes more: the figure is the child's, measured
    assert r["data_disk"] > 0 and r["budget_ram"] == budget.usage("02", "quick").ram
    assert "| 02 | quick | intel" in (tmp_path / "out" / "rehearsal.md").read_text()
