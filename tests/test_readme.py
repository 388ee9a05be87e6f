"""The README's repository layout lists every module of ``helpers``, one line each, and nothing that is gone."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def layout_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Repository layout"):]
    return section[section.index("```") + 3:section.index("```", section.index("```") + 3)]


def listed_modules() -> set[str]:
    """``helpers/...`` paths named in the layout, from the indentation under ``helpers/`` and ``datasets/``."""
    found, folder = set(), None
    for line in layout_block().splitlines():
        match = re.match(r"^( *)(\S+)", line)
        if not match:
            continue
        indent, name = len(match.group(1)), match.group(2)
        if indent == 0:
            folder = "helpers" if name == "helpers/" else None
        elif folder and indent == 2:
            found.add(f"helpers/{name.rstrip('/')}")
            folder = "helpers/datasets" if name == "datasets/" else "helpers"
        elif folder == "helpers/datasets" and indent == 4:
            found.add(f"helpers/datasets/{name}")
    return found


def test_layout_lists_every_helpers_module():
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "helpers").glob("*.py")}
    modules |= {str(p.relative_to(ROOT)) for p in (ROOT / "helpers" / "datasets").glob("*.py")}
    packages = {f"helpers/{p.name}" for p in (ROOT / "helpers").iterdir() if (p / "__init__.py").exists()}
    listed = listed_modules()
    assert not (modules | packages) - listed, "add these to README's Repository layout, one line each"
    assert not listed - (modules | packages), "README's Repository layout names modules that do not exist"
