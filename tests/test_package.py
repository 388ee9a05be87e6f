"""The shape of the ``helpers`` package itself: what a newcomer can rely on when they open any module.

- every public function and class says, in its docstring, which chapter teaches or uses it (or which course
  tool does, for the few that no notebook calls);
- no module reaches into another module's private names;
- ``import helpers`` changes nothing in the learner's environment;
- "are we on Colab or Kaggle?" is answered in one place, ``helpers.runtime``.

The source is read with :mod:`ast`; nothing here imports TensorFlow except the import-side-effect test.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HELPERS = ROOT / "helpers"
MODULES = sorted(p for p in HELPERS.rglob("*.py"))
CHAPTERS = {p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}

#: A docstring names where its function is used: "chapter 04", "chapters 05 and 06", "every chapter", or, for
#: the few that only the course's own tools call, the tool ("tools/run_notebooks.py", "course.py").
WHERE = re.compile(r"\b[Cc]hapters? (\d\d)|\bevery chapter\b|\ball chapters\b|\btools/\w+\.py\b|\bcourse\.py\b")
CHAPTER_NUMBERS = re.compile(r"\b[Cc]hapters? ((?:\d\d)(?:(?:, | and | or |-|–)\d\d)*)")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def public_definitions() -> list[tuple[str, str, str]]:
    """(module, name, docstring) of every public top-level function and class in ``helpers``."""
    found = []
    for path in MODULES:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                found.append((module_name(path), node.name, ast.get_docstring(node) or ""))
    return found


def test_every_public_function_names_the_chapter_that_uses_it():
    missing = [f"{module}.{name}" for module, name, doc in public_definitions() if not WHERE.search(doc)]
    assert not missing, (f"{len(missing)} public functions/classes do not say which chapter teaches or uses "
                         "them (e.g. 'Used in chapters 05 and 06.'):\n  " + "\n  ".join(missing))


def test_chapters_named_in_docstrings_exist():
    wrong = []
    for module, name, doc in public_definitions():
        for group in CHAPTER_NUMBERS.findall(doc):
            wrong += [f"{module}.{name}: chapter {n}" for n in re.findall(r"\d\d", group) if n not in CHAPTERS]
    assert not wrong, "docstrings name chapters that do not exist:\n  " + "\n  ".join(wrong)


def private_imports(path: Path) -> list[str]:
    """Private names of other helpers modules that ``path`` imports or reads as attributes."""
    tree = ast.parse(path.read_text())
    own = module_name(path)
    aliases: dict[str, str] = {}  # local name -> helpers module it stands for
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import: resolve against this module's package
                package = own.split(".") if path.name == "__init__.py" else own.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            if not base.startswith("helpers"):
                continue
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if alias.name.startswith("_") and not alias.name.startswith("__") and base != own:
                    found.append(f"from {base} import {alias.name}")
                aliases[alias.asname or alias.name] = target
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("helpers"):
                    aliases[alias.asname or alias.name.split(".")[0]] = alias.asname and alias.name or "helpers"
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name) and node.value.id in aliases
                and aliases[node.value.id] != own):
            found.append(f"{aliases[node.value.id]}.{node.attr}")
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_uses_another_modules_private_names(path):
    assert not private_imports(path), (
        f"{path.relative_to(ROOT)} uses private names of other modules: {private_imports(path)}. "
        "Make the name public (with a docstring) in the module that owns it, or move the code.")


def test_the_private_import_check_catches_both_forms(tmp_path, monkeypatch):
    fake = HELPERS / "datasets" / "probe.py"  # not written: private_imports only reads the path given
    source = "from helpers.datasets.fetch import _unavailable\nfrom . import fetch\nfetch._progress_disabled()\n"
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: source)
    assert private_imports(fake) == ["from helpers.datasets.fetch import _unavailable",
                                     "helpers.datasets.fetch._progress_disabled"]


def test_import_helpers_leaves_the_environment_as_it_was():
    code = ("import json, os; before = dict(os.environ); import helpers, helpers.runtime; "
            "print(json.dumps({k: v for k, v in os.environ.items() if before.get(k) != v}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {}


#: What tells Colab and Kaggle apart; only helpers.runtime may look at these.
PLATFORM_SIGNS = ('"google.colab" in', "'google.colab' in", "KAGGLE_KERNEL_RUN_TYPE", "COLAB_RELEASE_TAG")


@pytest.mark.parametrize("path", [p for p in MODULES if p.name != "runtime.py"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_only_runtime_decides_where_we_run(path):
    text = path.read_text()
    signs = [s for s in PLATFORM_SIGNS if s in text]
    assert not signs, (f"{path.relative_to(ROOT)} detects the platform itself ({signs}); "
                       "ask helpers.runtime.detect_environment() instead")
