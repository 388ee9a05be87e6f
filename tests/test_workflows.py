"""The GitHub workflows are valid and free of high-severity security findings (both checks run offline)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def test_workflows_match_the_github_schema():
    result = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                             *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_no_high_severity_issue():
    result = subprocess.run([str(BIN / "zizmor"), "--offline", "--min-severity", "high", str(ROOT / ".github")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_workflow_runs_the_readme_test_command_through_ci_run():
    ci = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    steps = ci["jobs"]["test"]["steps"]
    assert any(step.get("run") == "bash .ci/run" for step in steps)
    commands = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert "python3 course.py test" in commands
    assert "python3 course.py test" in (ROOT / "README.md").read_text()


def test_gpu_workflow_runs_quick_profile_and_nbval_with_a_configurable_runner():
    text = (ROOT / ".github" / "workflows" / "gpu.yml").read_text()
    gpu = yaml.safe_load(text)
    job = gpu["jobs"]["quick"]
    assert "vars.GPU_RUNNER" in job["runs-on"]
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "--profile quick" in runs and "--nbval-lax" in runs and "tensorflow[and-cuda]" in runs
    assert "secrets.KAGGLE_KEY" in text and "actions/upload-artifact" in text
