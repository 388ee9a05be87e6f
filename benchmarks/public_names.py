"""Size of the ``helpers`` package a newcomer has to hold in their head: files, lines and public names.

    .venv/bin/python benchmarks/public_names.py            # totals and one row per module
    .venv/bin/python benchmarks/public_names.py --names    # also list every public name

A public name is a top-level function, class or assignment (a constant) in a ``helpers`` module whose name
does not start with an underscore (imports do not count: they belong to the module that defines them).
Functions and classes are counted apart from constants; issue #15 counted the former (221 then). The
answer keys (``helpers/answer_keys/chNN.py``) are registered, never imported by name, so their functions
are counted separately. The script reads the source with :mod:`ast` and imports nothing (no TensorFlow).
The last line is ``public_names=<public functions and classes>``.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELPERS = ROOT / "helpers"


def public_names(path: Path) -> tuple[list[str], list[str]]:
    """The public functions and classes, and the public constants, a module defines at top level."""
    tree = ast.parse(path.read_text())
    code, constants = [], []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            code.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            constants += [t.id for t in targets if isinstance(t, ast.Name)]
    return [n for n in code if not n.startswith("_")], [n for n in constants if not n.startswith("_")]


def modules() -> list[Path]:
    """Every module of the package except the answer keys, sorted by path."""
    return sorted(p for p in HELPERS.rglob("*.py") if "answer_keys" not in p.parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", action="store_true", help="list every public name")
    args = parser.parse_args(argv)
    total_code = total_constants = total_lines = 0
    print(f"{'module':<34} {'lines':>6} {'def/class':>9} {'constants':>9}")
    for path in modules():
        code, constants = public_names(path)
        lines = len(path.read_text().splitlines())
        total_code, total_constants = total_code + len(code), total_constants + len(constants)
        total_lines += lines
        listing = f"  {', '.join(code + constants)}" if args.names else ""
        print(f"{str(path.relative_to(ROOT)):<34} {lines:>6} {len(code):>9} {len(constants):>9}{listing}")
    keys = sorted((HELPERS / "answer_keys").glob("*.py"))
    key_lines = sum(len(p.read_text().splitlines()) for p in keys)
    print(f"{len(modules())} modules, {total_lines} lines, {total_code} public functions and classes, "
          f"{total_constants} public constants (plus {len(keys)} answer-key files, {key_lines} lines)")
    print(f"public_names={total_code}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
