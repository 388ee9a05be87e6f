"""The benchmark scripts in benchmarks/ run in a tiny mode and end with one ``name=value`` line.

Only the format is checked (the value parses as a float), never a timing: figures depend on the machine.
"""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

import _common  # noqa: E402
import smoke_suite  # noqa: E402

RESULT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(\S+)$")


def run_script(name: str, *args: str, env: dict[str, str] | None = None, timeout: int = 600):
    """Run ``benchmarks/<name>`` with the test interpreter; returns the completed process."""
    proc = subprocess.run([sys.executable, str(BENCH / name), *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)
    assert proc.returncode == 0, f"{name} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def last_result(stdout: str) -> tuple[str, float]:
    """The final ``name=value`` line of ``stdout``, with the value parsed as a float."""
    lines = stdout.rstrip("\n").splitlines()
    assert lines, "no output"
    match = RESULT.match(lines[-1])
    assert match, f"last line is not name=value: {lines[-1]!r}"
    return match[1], float(match[2])


@pytest.mark.parametrize(
    ("script", "args", "name"),
    [
        ("input_pipeline.py", ["--images", "96", "--epochs", "2"], "speedup_later_epoch"),
        ("memory.py", ["--images", "48"], "memory_ratio"),
        ("feature_extraction.py", ["--images", "32", "--size", "32", "--epochs", "2", "--batch-size", "16"], "speedup"),
        ("public_names.py", [], "public_names"),
        ("first_epoch.py", ["--backbone", "MobileNetV2", "--size", "32", "--images", "16", "--batch-size", "8"],
         "first_epoch_speedup"),
    ],
)
def test_benchmark_tiny_run_ends_with_a_float(script, args, name, tmp_path):
    extra = ["--cache-dir", str(tmp_path)] if script in ("input_pipeline.py", "memory.py") else []
    proc = run_script(script, *args, *extra)
    got, value = last_result(proc.stdout)
    assert got == name
    assert math.isfinite(value) and value >= 0
    if script != "public_names.py":  # a plain listing, one row per module
        assert "| " in proc.stdout  # the readable table


def test_smoke_suite_tiny_runs_notebook_00():
    proc = run_script("smoke_suite.py", "--notebooks", "00")
    name, value = last_result(proc.stdout)
    assert name == "seconds" and value > 0
    assert "00_start_here" in proc.stdout


def test_gpu_training_without_gpu_is_skipped_with_nan():
    proc = run_script("gpu_training.py", env={"CUDA_VISIBLE_DEVICES": ""})
    name, value = last_result(proc.stdout)
    assert name == "mixed_precision_speedup" and math.isnan(value)
    assert "No GPU found" in proc.stdout


def test_gpu_training_code_path_runs_on_cpu_when_forced(tmp_path):
    proc = run_script("gpu_training.py", "--force-cpu", "--tiny", "--cache-dir", str(tmp_path))
    name, value = last_result(proc.stdout)
    assert name == "mixed_precision_speedup" and math.isfinite(value) and value > 0
    assert "Input-pipeline overhead" in proc.stdout


def test_result_line_format():
    assert _common.result_line("speedup", 12.3456) == "speedup=12.35"
    assert _common.result_line("x", float("nan")) == "x=nan"
    for line in (_common.result_line("seconds", 1234567.0), _common.result_line("r", 1e-9)):
        assert RESULT.match(line)
        float(line.split("=", 1)[1])
    with pytest.raises(ValueError):
        _common.result_line("not a name", 1.0)


def test_class_counts_follow_intel():
    assert _common.class_counts(_common.INTEL_TRAIN_IMAGES) == _common.INTEL_CLASSES
    for n in (6, 7, 48, 1000):
        counts = _common.class_counts(n)
        assert sum(counts.values()) == n and min(counts.values()) >= 1
    with pytest.raises(ValueError):
        _common.class_counts(5)


def test_generated_folder_is_reused(tmp_path):
    folder = _common.intel_like_folder(12, tmp_path, size=(20, 24), processes=1)
    files, labels, classes = _common.list_images(folder)
    assert len(files) == 12 and classes == sorted(_common.INTEL_CLASSES)
    assert sorted(set(labels)) == list(range(6))
    stamp = Path(files[0]).stat().st_mtime_ns
    assert _common.intel_like_folder(12, tmp_path, size=(20, 24), processes=1) == folder
    assert Path(files[0]).stat().st_mtime_ns == stamp  # not generated again


def test_smoke_suite_parses_the_runner_output():
    output = """Executing 2 notebook(s), profile smoke, 2 at a time -> /tmp/x
  00_start_here                               12.5 s  ok
  02_cnn_from_scratch                         41.0 s  FAILED: PapermillExecutionError: boom
Total wall time: 43.2 s
Results table: /tmp/x/results.md
"""
    notebooks, total = smoke_suite.parse(output)
    assert notebooks == [("00_start_here", 12.5, "ok"),
                         ("02_cnn_from_scratch", 41.0, "FAILED: PapermillExecutionError: boom")]
    assert total == 43.2
