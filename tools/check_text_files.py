"""Check text files: each ends with exactly one newline, and YAML files parse.

    python tools/check_text_files.py FILE ...     # the files given (pre-commit passes them)
    python tools/check_text_files.py              # every file git tracks
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

TEXT_SUFFIXES = {".py", ".md", ".yml", ".yaml", ".toml", ".txt", ".cfg", ".json", ".ipynb", ".sh", ""}


def problems(path: Path) -> list[str]:
    """What is wrong with ``path`` (empty when nothing is)."""
    data = path.read_bytes()
    found = []
    if data and not data.endswith(b"\n"):
        found.append("does not end with a newline")
    if data.endswith(b"\n\n"):
        found.append("ends with blank lines")
    if path.suffix in {".yml", ".yaml"}:
        try:
            yaml.safe_load(data)
        except yaml.YAMLError as err:
            found.append(f"invalid YAML: {err}")
    return found


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], capture_output=True, text=True, check=True).stdout
    return [Path(p) for p in out.splitlines() if Path(p).suffix in TEXT_SUFFIXES and Path(p).is_file()]


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv] or tracked_files()
    bad = [(f, p) for f in files for p in problems(f)]
    for f, p in bad:
        print(f"{f}: {p}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
