"""Keep every notebook's badges and install line in step with ``helpers.course``.

    python tools/sync_notebooks.py          # rewrite notebooks in place
    python tools/sync_notebooks.py --check  # exit 1 if any notebook is out of date

The repository address lives in ``helpers/course.py`` only. This tool writes, in each notebook, the
"Open in Colab / Open in Kaggle" badge line (the line holding ``colab-badge.svg``, or a line that is
just ``BADGES`` in a new notebook) and the first lines of the set-up cell, from its first line
(``import importlib.util``) up to ``from helpers import``, from ``helpers.course.bootstrap_code()``
(a new notebook may hold just a line ``BOOTSTRAP`` there), and the link to the exercises' worked
solutions right under the "## Exercises" heading.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers import course  # noqa: E402

BADGE_LINE = re.compile(r"^(BADGES|.*colab-badge\.svg.*)$", re.M)
BOOTSTRAP = re.compile(r"^(BOOTSTRAP\n|" + re.escape(course.BOOTSTRAP_START) + r"\n.*?)(?=^from helpers import)",
                       re.M | re.S)


SOLUTIONS_LINE = re.compile(r"^## Exercises\n(\nWorked solutions, to read after trying:.*\n)?", re.M)


def with_solutions_link(source: str, name: str) -> str:
    """``source`` with the solutions link (added or refreshed) under its "## Exercises" heading."""
    return SOLUTIONS_LINE.sub(lambda _m: f"## Exercises\n\n{course.solutions_line(name)}\n", source, count=1)


def with_bootstrap(source: str) -> str:
    """``source`` with its bootstrap block (if it has one) replaced by the current one."""
    return BOOTSTRAP.sub(lambda _m: course.bootstrap_code() + "\n", source, count=1)


def synced(nb: nbformat.NotebookNode, name: str) -> bool:
    """Update ``nb`` in memory; return True if anything changed."""
    changed = False
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            new = BADGE_LINE.sub(lambda _m: course.badges(name), cell.source, count=1)
            new = with_solutions_link(new, name)
        elif cell.cell_type == "code":
            new = with_bootstrap(cell.source)
        else:
            continue
        if new != cell.source:
            cell.source, changed = new, True
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report notebooks that are out of date")
    args = parser.parse_args()
    stale = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if synced(nb, path.name):
            stale.append(path.name)
            if not args.check:
                nbformat.write(nb, path)
    verb = "out of date" if args.check else "updated"
    print(f"{len(stale)} notebook(s) {verb}: {', '.join(stale) or 'none'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
