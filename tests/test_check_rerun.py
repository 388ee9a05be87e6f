"""Tests for tools/check_rerun.py: the check run after nbval has re-executed every notebook in the same folders.

Each test builds the folders of a good double run (executed notebooks, results files written after them,
generated samples in a data home), breaks one thing the way a bad second run would, and expects exactly
the problem line that names it; the good run itself must pass.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from check_rerun import check, count_images, expected_images, main  # noqa: E402

from helpers.datasets.samples import MARKER, make_sample  # noqa: E402

NOTEBOOKS = ("00_start_here", "02_cnn_from_scratch")
SMALL = 4  # images per class of the test samples


@pytest.fixture(scope="module")
def samples_home(tmp_path_factory):
    """A data home with two small generated samples (made once, copied by each test)."""
    home = tmp_path_factory.mktemp("samples_home")
    make_sample("intel", home / "samples" / "intel", images_per_class=SMALL)
    make_sample("food5k", home / "samples" / "food5k", images_per_class=SMALL)
    return home


@pytest.fixture
def run(tmp_path, samples_home):
    """The folders of a good double run: ``(out, data_home, sources)``."""
    out, sources = tmp_path / "build" / "test", tmp_path / "notebooks"
    (out / "notebooks").mkdir(parents=True)
    (out / "results").mkdir()
    sources.mkdir()
    for stem in NOTEBOOKS:
        (sources / f"{stem}.ipynb").write_text("{}\n")
        notebook = out / "notebooks" / f"{stem}.ipynb"
        notebook.write_text("{}\n")
        write_result(out, stem)
        age(notebook, 60)  # saved by papermill a minute before nbval's second run wrote the results
    data_home = tmp_path / "data"
    shutil.copytree(samples_home, data_home)
    return out, data_home, sources


def write_result(out: Path, stem: str, record: dict | None = None) -> Path:
    """Write a results record (by default one ``helpers.results.save`` would write now) and return its path."""
    path = out / "results" / f"{stem}.json"
    if record is None:
        record = {"notebook": stem, "metrics": {}, "written_at": stamp()}
    path.write_text(json.dumps(record) + "\n")
    return path


def stamp(seconds_ago: float = 0) -> str:
    """A ``written_at`` value as ``helpers.results.save`` writes it: UTC, ISO 8601, whole seconds."""
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat(timespec="seconds")


def age(path: Path, seconds: float) -> None:
    """Make ``path`` look modified ``seconds`` earlier than now."""
    stamp = path.stat().st_mtime - seconds
    os.utime(path, (stamp, stamp))


def problems_of(run) -> list[str]:
    out, data_home, sources = run
    return check(out, data_home, sources)[0]


def intel_train(data_home: Path) -> Path:
    return data_home / "samples" / "intel" / "seg_train" / "seg_train" / "forest"


def test_a_good_double_run_passes(run, capsys):
    out, data_home, sources = run
    assert problems_of(run) == []
    assert main([str(out), "--data-home", str(data_home), "--sources", str(sources)]) == 0
    summary = capsys.readouterr().out
    assert summary.startswith("Re-run check: 2 notebooks") and "2 samples complete" in summary


def test_what_tools_and_finished_runs_leave_is_fine(run):
    out, data_home, sources = run
    (out / "notebooks" / ".ipynb_checkpoints").mkdir()
    (out / "results" / "checkpoints").mkdir()  # emptied by BackupAndRestore when training finished
    (out / "results" / "models").mkdir()
    (out / "results" / "models" / "05_food5k_resnet50.keras").write_bytes(b"model")
    cache = data_home / "cache" / "intel-train-150x150-100-0123456789ab.tfcache"
    cache.parent.mkdir()
    for suffix in (".index", ".data-00000-of-00001"):
        cache.with_name(cache.name + suffix).write_bytes(b"x")
    downloaded = data_home / "odonata" / "train" / "dragonflies"
    downloaded.mkdir(parents=True)
    (downloaded / "1234 (1).jpg").write_bytes(b"x")  # a real dataset's file names are not ours to judge
    assert problems_of(run) == []


# --------------------------------------------------------------------------------------------------
# Broken runs: each breakage gives the one line that names it
# --------------------------------------------------------------------------------------------------


def missing_results(out, data_home, sources):
    (out / "results" / "02_cnn_from_scratch.json").unlink()


def results_not_rewritten(out, data_home, sources):
    # The first run's record, written before the executed notebook was saved; copied since, so the file is new.
    write_result(out, "00_start_here", {"notebook": "00_start_here", "written_at": stamp(120)})


def old_results_not_rewritten(out, data_home, sources):
    # A record of older helpers (no written_at): its file time, older than the executed notebook, tells.
    age(write_result(out, "00_start_here", {"notebook": "00_start_here"}), 120)


def written_at_not_a_time(out, data_home, sources):
    write_result(out, "00_start_here", {"notebook": "00_start_here", "written_at": "yesterday"})


def written_at_without_time_zone(out, data_home, sources):
    write_result(out, "00_start_here", {"notebook": "00_start_here", "written_at": "2026-01-01T12:00:00"})


def results_without_notebook(out, data_home, sources):
    write_result(out, "03_data_augmentation")


def half_written_results(out, data_home, sources):
    (out / "results" / "00_start_here.json").write_text('{"notebook": "00_start_')


def results_of_another_notebook(out, data_home, sources):
    write_result(out, "00_start_here", {"notebook": "02_cnn_from_scratch"})


def leftover_results_tmp(out, data_home, sources):
    (out / "results" / "00_start_here.json.tmp").write_text("{")


def stray_file_in_executed_folder(out, data_home, sources):
    (out / "notebooks" / "confusion_matrix.png").write_bytes(b"png")


def stray_folder_in_sources(out, data_home, sources):
    (sources / "results").mkdir()


def duplicated_sample_image(out, data_home, sources):
    folder = intel_train(data_home)
    shutil.copy(next(folder.glob("*.jpg")), folder / "0 (1).jpg")


def extra_sample_image(out, data_home, sources):
    folder = intel_train(data_home)
    shutil.copy(next(folder.glob("*.jpg")), folder / "99999.jpg")


def half_written_sample(out, data_home, sources):
    next(intel_train(data_home).glob("*.jpg")).unlink()


def unreadable_sample_marker(out, data_home, sources):
    (data_home / "samples" / "food5k" / MARKER).write_text("{")


def leftover_sample_build_folder(out, data_home, sources):
    (data_home / "samples" / ".intel-k2j4x9_q" / "seg_train").mkdir(parents=True)


def leftover_replaced_sample(out, data_home, sources):
    (data_home / "samples" / ".intel-old-.intel-k2j4x9_q").mkdir()


def leftover_extraction_folder(out, data_home, sources):
    (data_home / "downloads" / ".food5k.extracting-abcd1234").mkdir(parents=True)


def leftover_partial_download(out, data_home, sources):
    (data_home / "downloads").mkdir()
    (data_home / "downloads" / "Food-5K.zip.part").write_bytes(b"PK")


def interrupted_tf_cache(out, data_home, sources):
    cache = data_home / "cache" / "intel-train-150x150-100-0123456789ab.tfcache"
    cache.parent.mkdir()
    cache.with_name(cache.name + ".data-00000-of-00001").write_bytes(b"x")
    cache.with_name(cache.name + "_0.lockfile").write_bytes(b"")


def resume_checkpoints_left(out, data_home, sources):
    run = out / "results" / "checkpoints" / "02-run1"
    run.mkdir(parents=True)
    (run / "training_metadata.json").write_text("{}")


def copied_results_folder(out, data_home, sources):
    shutil.copytree(out / "results", out / "results - Copy")


BROKEN = {
    missing_results: ["results: ", "02_cnn_from_scratch.json is missing"],
    results_not_rewritten: ["results: 00_start_here.json was not written again by the second run (written_at "],
    old_results_not_rewritten: ["results: 00_start_here.json was not written again by the second run (file modified "],
    written_at_not_a_time: ["results: 00_start_here.json has written_at 'yesterday', not an ISO 8601 time"],
    written_at_without_time_zone: ["results: 00_start_here.json has written_at '2026-01-01T12:00:00' without a time"],
    results_without_notebook: ["results: 03_data_augmentation.json belongs to no executed notebook"],
    half_written_results: ["results: 00_start_here.json is not readable JSON (JSONDecodeError)"],
    results_of_another_notebook: ["results: 00_start_here.json names notebook '02_cnn_from_scratch'"],
    leftover_results_tmp: ["00_start_here.json.tmp is a partial or temporary file"],
    stray_file_in_executed_folder: ["stray: ", "confusion_matrix.png in a notebooks' working folder"],
    stray_folder_in_sources: ["stray: ", "notebooks/results in a notebooks' working folder"],
    duplicated_sample_image: ["holds 53 images, 1 more than its settings make",
                              "duplicate: ", "0 (1).jpg is named like a copy"],
    extra_sample_image: ["sample: ", "samples/intel holds 53 images, 1 more than its settings make (duplicates?)"],
    half_written_sample: ["sample: ", "samples/intel holds 51 images, 1 fewer than its settings make"],
    unreadable_sample_marker: ["sample: ", "food5k/COURSE_SAMPLE.json is not readable JSON"],
    leftover_sample_build_folder: [".intel-k2j4x9_q is the temporary folder of an interrupted write"],
    leftover_replaced_sample: [".intel-old-.intel-k2j4x9_q is the temporary folder of an interrupted write"],
    leftover_extraction_folder: [".food5k.extracting-abcd1234 is the temporary folder of an interrupted write"],
    leftover_partial_download: ["Food-5K.zip.part is a partial or temporary file"],
    interrupted_tf_cache: [".tfcache_0.lockfile is a partial or temporary file",
                           ".tfcache* is a tf.data cache without its index"],
    resume_checkpoints_left: ["results/checkpoints holds Keras resume checkpoints of an unfinished training run"],
    copied_results_folder: ["duplicate: ", "results - Copy is named like a copy"],
}


@pytest.mark.parametrize("breakage", list(BROKEN), ids=lambda f: f.__name__)
def test_each_breakage_is_reported(run, breakage, capsys):
    breakage(*run)
    problems = problems_of(run)
    expected = BROKEN[breakage]
    assert all(any(fragment in line for line in problems) for fragment in expected), problems
    lines = {line for line in problems for fragment in expected if fragment in line}
    assert len(problems) == len(lines), f"unexpected extra problems: {sorted(set(problems) - lines)}"
    out, data_home, sources = run
    assert main([str(out), "--data-home", str(data_home), "--sources", str(sources)]) == 1
    assert capsys.readouterr().out.splitlines() == problems


def test_results_of_older_helpers_without_written_at_fall_back_to_the_file_time(run):
    out = run[0]
    write_result(out, "00_start_here", {"notebook": "00_start_here", "metrics": {}})  # written now, no written_at
    assert problems_of(run) == []


def test_written_at_wins_over_the_file_time(run):
    out = run[0]
    path = write_result(out, "00_start_here")
    age(path, 3600)  # the file time says "an hour old" (copied with its times kept); written_at says "now"
    assert problems_of(run) == []


@pytest.mark.parametrize(("written", "rewritten"), [(-1, False), (0, False), (1, True), (30, True)])
def test_written_at_counts_from_the_second_after_the_notebook_was_saved(run, written, rewritten):
    """``written_at`` has whole seconds: only a later second than the notebook's save proves a second run."""
    out = run[0]
    notebook = out / "notebooks" / "00_start_here.ipynb"
    saved = datetime(2026, 1, 2, 3, 4, 5, 600_000, tzinfo=UTC)  # saved at 03:04:05.6
    ns = int(saved.timestamp()) * 10**9 + 600_000_000
    os.utime(notebook, ns=(ns, ns))
    moment = (saved.replace(microsecond=0) + timedelta(seconds=written)).isoformat(timespec="seconds")
    write_result(out, "00_start_here", {"notebook": "00_start_here", "written_at": moment})
    problems = problems_of(run)
    assert problems == ([] if rewritten else [
        "results: 00_start_here.json was not written again by the second run "
        f"(written_at {moment[11:19]}.000 UTC, not after the executed notebook was saved at 03:04:05.600 UTC)"])


def test_no_executed_notebooks(tmp_path, capsys):
    assert main([str(tmp_path / "build" / "test"), "--data-home", str(tmp_path)]) == 1
    assert "no executed notebooks here" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------------
# The expected sample sizes follow the sample builders
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "layout"), [("intel", None), ("food5k", "epfl"), ("food5k", "folders"),
                                              ("fruits360", None), ("mosquito", None), ("odonata", None)])
def test_expected_images_match_the_sample_builders(tmp_path, name, layout):
    root = make_sample(name, tmp_path / name, images_per_class=SMALL, seed=1, layout=layout)
    spec = json.loads((root / MARKER).read_text())
    assert expected_images(spec) == count_images(root) > 0


def test_expected_images_match_the_example_folder():
    from helpers.folder_data import make_example_folder  # writes under the test's own COURSE_DATA_HOME

    root = make_example_folder(classes=3).parent
    assert expected_images(json.loads((root / MARKER).read_text())) == count_images(root) > 0


def test_unknown_sample_settings_are_not_counted(tmp_path):
    assert expected_images({"dataset": "someone-elses", "images_per_class": 3}) is None
    (tmp_path / "samples" / "mine").mkdir(parents=True)
    (tmp_path / "samples" / "mine" / MARKER).write_text('{"dataset": "someone-elses"}')
    out = tmp_path / "out"
    (out / "notebooks").mkdir(parents=True)
    assert check(out, tmp_path)[0] == []


def test_with_a_rerun_folder_only_its_notebooks_must_be_rewritten(run):
    """When check_solutions --rerun made OUT/rerun, only those notebooks ran twice; the others ran once."""
    out, _, _ = run
    once, twice = sorted(NOTEBOOKS)
    (out / "rerun").mkdir()
    (out / "rerun" / f"{twice}.ipynb").write_text("{}\n")
    write_result(out, once, {"notebook": once, "metrics": {}, "written_at": stamp(3600)})  # from the first run
    assert problems_of(run) == []
    write_result(out, twice, {"notebook": twice, "metrics": {}, "written_at": stamp(3600)})
    assert [p for p in problems_of(run) if "was not written again" in p and twice in p]
    (out / "rerun" / "stray.csv").write_text("x")
    assert any("stray" in p and "rerun" in p for p in problems_of(run))
