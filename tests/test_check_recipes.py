"""tools/check_recipes.py: a results file whose trained models ran otherwise than the run asked fails the check."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import check_recipes  # noqa: E402

MODEL = {"name": "cnn", "dtype_policy": "mixed_float16", "loss_scale": True, "optimizer": "LossScaleOptimizer",
         "strategy": "default", "replicas": 1, "weight_copies": 1, "epochs": 2, "seconds": 0.5}
MIXED = {"precision": "mixed_float16", "replicas": 1, "strategy": "default"}


def _write(folder: Path, notebook: str, trained, precision="mixed_float16", replicas=1) -> None:
    record = {"notebook": notebook, "precision": precision, "replicas": replicas, "strategy": "default (one device)"}
    if trained is not None:
        record["trained_models"] = trained
    (folder / f"{notebook}.json").write_text(json.dumps(record))


def test_consistent_run_passes(tmp_path, capsys):
    _write(tmp_path, "02_cnn", [MODEL, {**MODEL, "name": "cnn_2"}])
    _write(tmp_path, "01_convolution_intuition", [])  # trains nothing, and says so
    assert check_recipes.check(tmp_path, **MIXED) == []
    assert "02_cnn" in capsys.readouterr().out
    assert check_recipes.main([str(tmp_path), "--precision", "mixed_float16", "--strategy", "default"]) == 0


def test_a_model_that_lost_mixed_precision_fails_the_check(tmp_path, capsys):
    """Chapter 06's bug: a backbone built after clear_session() in float32 while the run asked for mixed_float16."""
    lost = {**MODEL, "name": "head", "dtype_policy": "float32", "loss_scale": False, "optimizer": "Adam"}
    _write(tmp_path, "06_model_zoo", [MODEL, lost])
    problems = check_recipes.check(tmp_path, **MIXED)
    assert problems == ["06_model_zoo: head: dtype policy float32, expected mixed_float16",
                        "06_model_zoo: head: loss scaling missing (optimizer Adam)"]
    assert check_recipes.main([str(tmp_path), "--precision", "mixed_float16"]) == 1
    assert "FAILED: 06_model_zoo: head: dtype policy float32" in capsys.readouterr().err


def test_a_model_on_one_device_fails_a_two_replica_run(tmp_path):
    mirrored = {**MODEL, "dtype_policy": "float32", "loss_scale": False, "strategy": "MirroredStrategy",
                "replicas": 2, "weight_copies": 2}
    single = {**mirrored, "name": "rebuilt", "strategy": "default", "replicas": 1, "weight_copies": 1}
    _write(tmp_path, "05_food", [mirrored, single], precision="float32", replicas=2)
    problems = check_recipes.check(tmp_path, precision="float32", replicas=2, strategy="MirroredStrategy")
    assert problems == ["05_food: rebuilt: strategy default, expected MirroredStrategy",
                        "05_food: rebuilt: 1 replica(s), expected 2",
                        "05_food: rebuilt: 1 copy(ies) of each weight, expected 2"]


@pytest.mark.parametrize(
    ("notebook", "trained", "expected"),
    [
        ("03_aug", None, "03_aug: no trained_models in the results file"),
        ("03_aug", [], "03_aug: no trained model was recorded"),
    ],
)
def test_missing_or_empty_run_log_fails(tmp_path, notebook, trained, expected):
    _write(tmp_path, notebook, trained)
    [problem] = check_recipes.check(tmp_path, **MIXED)
    assert problem.startswith(expected)


def test_set_up_that_ignored_the_request_fails(tmp_path):
    """COURSE_MIXED_PRECISION=1 asked for mixed precision but the set-up cell chose float32 (and so did the model)."""
    plain = {**MODEL, "dtype_policy": "float32", "loss_scale": False}
    _write(tmp_path, "02_cnn", [plain], precision="float32")
    problems = check_recipes.check(tmp_path, **MIXED)
    assert problems[0] == "02_cnn: the set-up cell chose float32, the run asked for mixed_float16"


def test_empty_folder_fails(tmp_path):
    assert check_recipes.check(tmp_path, **MIXED) == [f"{tmp_path}: no results files"]
