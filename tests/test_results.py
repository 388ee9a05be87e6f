from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from helpers import results
from helpers.runtime import Runtime

RT = Runtime("local", "smoke", 42, "CPU (2 cores)", (), "2.21.0", "3.15.1", "3.11.7", True)


def test_save_writes_the_required_fields(tmp_path):
    path = results.save(tmp_path, "02_cnn", runtime=RT, dataset="intel", model="cnn",
                        metrics={"accuracy": np.float32(0.5), "roc_auc": float("nan")},
                        train_seconds=3.14159, sample=True, article_accuracy=0.7833)
    record = json.loads(path.read_text())
    assert path.name == "02_cnn.json"
    for key in results._REQUIRED:
        assert key in record
    assert record["metrics"] == {"accuracy": 0.5, "roc_auc": None}
    assert record["train_seconds"] == 3.1 and record["sample"] is True
    assert record["tensorflow"] == "2.21.0" and record["device"] == "CPU (2 cores)"
    assert not list(tmp_path.glob("*.tmp"))


def test_save_stamps_each_record_with_the_utc_second_it_was_written(tmp_path):
    before = datetime.now(UTC).replace(microsecond=0)
    path = results.save(tmp_path, "x", runtime=RT, dataset="d", model="m", metrics={}, train_seconds=0, sample=True)
    after = datetime.now(UTC)
    stamp = json.loads(path.read_text())["written_at"]
    assert len(stamp) == len("2026-01-02T03:04:05+00:00") and stamp.endswith("+00:00")  # ISO 8601, seconds, UTC
    written = datetime.fromisoformat(stamp)
    assert written.utcoffset() == timedelta(0) and written.microsecond == 0
    assert before <= written <= after
    assert json.loads(path.read_text())["date"] == stamp[:10]


def test_written_at_is_not_required_so_older_records_still_collect(tmp_path):
    assert "written_at" not in results._REQUIRED
    path = results.save(tmp_path, "old", runtime=RT, dataset="d", model="m", metrics={}, train_seconds=0, sample=True)
    record = json.loads(path.read_text())
    del record["written_at"]
    path.write_text(json.dumps(record))
    assert [r["notebook"] for r in results.collect(tmp_path)] == ["old"]


def test_collect_and_table(tmp_path):
    results.save(tmp_path, "b", runtime=RT, dataset="x", model="m", metrics={"accuracy": 0.25},
                 train_seconds=1, sample=True, article_accuracy=0.9)
    results.save(tmp_path, "a", runtime=RT, dataset="y", model="m", metrics={}, train_seconds=1, sample=False)
    records = results.collect(tmp_path)
    assert [r["notebook"] for r in records] == ["a", "b"]
    table = results.table(records)
    lines = table.splitlines()
    assert len(lines) == 4
    assert "| b | x | smoke | sample | m | 25.0% |  | 90.0% |" in lines[3]
    assert "| a | y | smoke | real | m |  |  |" in lines[2]


def test_collect_rejects_incomplete_records(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps({"notebook": "bad", "dataset": "x"}))
    with pytest.raises(ValueError, match="bad lack"):
        results.collect(tmp_path)


def test_extra_fields_are_cleaned_recursively(tmp_path):
    path = results.save(tmp_path, "x", runtime=RT, dataset="d", model="m", metrics={}, train_seconds=0,
                        sample=True, zoo=[{"acc": np.float64(0.5), "auc": float("nan")}],
                        history={"loss": np.array([1.0, 0.5])})
    record = json.loads(path.read_text())
    assert record["zoo"] == [{"acc": 0.5, "auc": None}] and record["history"] == {"loss": [1.0, 0.5]}


def test_article_recipe_has_its_own_record_and_column(tmp_path):
    """An article-recipe run is saved as <notebook>.article.json and fills the chapter row's second column."""
    course = results.save(tmp_path, "02_cnn", runtime=RT, dataset="intel", model="course cnn",
                          metrics={"accuracy": 0.8}, train_seconds=1, sample=True, article_accuracy=0.7833)
    article = results.save(tmp_path, "02_cnn", runtime=RT, dataset="intel", model="article cnn",
                           metrics={"accuracy": 0.7}, train_seconds=1, sample=True, recipe="article",
                           article_accuracy=0.7833)
    assert (course.name, article.name) == ("02_cnn.json", "02_cnn.article.json")
    records = results.collect(tmp_path)
    assert {(r["notebook"], r["chapter"], r["recipe"]) for r in records} == {
        ("02_cnn", "02_cnn", "course"), ("02_cnn.article", "02_cnn", "article")}
    assert results.load(tmp_path, "02_cnn", "article")["metrics"]["accuracy"] == 0.7
    assert results.load(tmp_path, "03_aug") is None
    lines = results.table(records).splitlines()
    assert len(lines) == 3
    assert "| 02_cnn | intel | smoke | sample | course cnn | 80.0% | 70.0% | 78.3% |" in lines[2]
    with pytest.raises(ValueError, match="recipe"):
        results.save(tmp_path, "x", runtime=RT, dataset="d", model="m", metrics={}, train_seconds=0,
                     sample=True, recipe="articel")


@pytest.fixture
def run_log():
    """An empty run log of trained models, emptied again afterwards (other tests' fits must not leak in)."""
    results.clear_trained()
    yield
    results.clear_trained()


MIXED = {"name": "cnn", "dtype_policy": "mixed_float16", "loss_scale": True, "optimizer": "LossScaleOptimizer",
         "strategy": "default", "replicas": 1, "weight_copies": 1, "epochs": 2, "seconds": 0.5}


def test_save_writes_the_run_log_of_trained_models(tmp_path, run_log):
    plain = {**MIXED, "dtype_policy": "float32", "loss_scale": False, "optimizer": "Adam"}
    results.record_trained(plain)
    plain["name"] = "changed afterwards"  # the log keeps its own copy
    path = results.save(tmp_path, "x", runtime=RT, dataset="d", model="m", metrics={}, train_seconds=0, sample=True)
    record = json.loads(path.read_text())
    assert record["trained_models"] == [{**MIXED, "dtype_policy": "float32", "loss_scale": False, "optimizer": "Adam"}]
    assert record["replicas"] == 1 and record["precision"] == "float32"
    results.clear_trained()
    assert results.trained_models() == []


def test_recipe_mismatches_names_each_difference():
    assert results.recipe_mismatches([MIXED], precision="mixed_float16", replicas=1, strategy="default") == []
    lost = {**MIXED, "name": "head", "dtype_policy": "float32", "loss_scale": False, "optimizer": "Adam"}
    found = results.recipe_mismatches([MIXED, lost], precision="mixed_float16", replicas=1)
    assert found == ["head: dtype policy float32, expected mixed_float16",
                     "head: loss scaling missing (optimizer Adam)"]
    one_copy = {**MIXED, "strategy": "MirroredStrategy", "replicas": 2, "weight_copies": 1}
    assert results.recipe_mismatches([one_copy], precision="mixed_float16", replicas=2,
                                     strategy="MirroredStrategy") == ["cnn: 1 copy(ies) of each weight, expected 2"]
    assert results.recipe_mismatches([MIXED], precision="mixed_float16", replicas=2, strategy="MirroredStrategy") == [
        "cnn: strategy default, expected MirroredStrategy", "cnn: 1 replica(s), expected 2",
        "cnn: 1 copy(ies) of each weight, expected 2"]


def test_save_warns_when_a_model_did_not_run_as_the_set_up_chose(tmp_path, run_log):
    """The file is still written (nothing is lost), and the warning names the model and what differed."""
    mixed_rt = Runtime("local", "smoke", 42, "CPU", (), "2.21.0", "3.15.1", "3.11.7", True, precision="mixed_float16")
    results.record_trained(MIXED)
    results.record_trained({**MIXED, "name": "head_after_clear_session", "dtype_policy": "float32"})
    with pytest.warns(RuntimeWarning, match="head_after_clear_session: dtype policy float32, expected mixed_float16"):
        path = results.save(tmp_path, "06", runtime=mixed_rt, dataset="d", model="m", metrics={}, train_seconds=0,
                            sample=True)
    assert len(json.loads(path.read_text())["trained_models"]) == 2
