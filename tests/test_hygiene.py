"""Repository hygiene that CI enforces: lint, stripped notebooks, generated files up to date."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers.datasets import docs

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_is_clean():
    result = run("-m", "ruff", "check", "helpers", "tests", "tools", "notebooks", "solutions", "benchmarks",
                 "course.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_notebooks_are_stored_without_outputs():
    notebooks = [str(p) for p in sorted((ROOT / "notebooks").glob("*.ipynb"))]
    result = run("-m", "nbstripout", "--verify", *notebooks)
    assert result.returncode == 0, result.stdout + result.stderr


def test_badges_and_install_lines_are_in_sync():
    result = run("tools/sync_notebooks.py", "--check")
    assert result.returncode == 0, result.stdout


def test_datasets_md_is_generated_from_the_catalogue():
    assert (ROOT / "datasets.md").read_text() == docs.render(), "run: python tools/make_datasets_md.py"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 course.py test" in readme
    assert "python3 course.py test" in ci.splitlines()[-1]


def test_text_files_end_with_one_newline_and_yaml_parses():
    result = run("tools/check_text_files.py")
    assert result.returncode == 0, result.stdout


def test_text_file_check_catches_problems(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    from check_text_files import problems

    (tmp_path / "a.md").write_text("no newline")
    (tmp_path / "b.yml").write_text("key: [unclosed\n")
    (tmp_path / "c.py").write_text("x = 1\n\n")
    assert problems(tmp_path / "a.md") == ["does not end with a newline"]
    assert problems(tmp_path / "b.yml")[0].startswith("invalid YAML")
    assert problems(tmp_path / "c.py") == ["ends with blank lines"]
