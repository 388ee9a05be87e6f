"""Wall time of the whole notebook smoke run, with each notebook's time.

    python benchmarks/smoke_suite.py                    # every notebook, profile smoke (what CI runs)
    python benchmarks/smoke_suite.py --notebooks 00     # tiny run (tests): notebook 00 only

Runs ``tools/run_notebooks.py --profile smoke --out <temporary folder>`` (papermill, 2 notebooks at a time by
default, as ``python3 course.py run`` does), times it, and parses the per-notebook times the runner prints.
The last line is ``seconds=<wall time of the whole run>``; the script exits non-zero (after printing it) if
any notebook failed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, finish, machine, table

#: A runner line such as ``  02_cnn_from_scratch        41.3 s  ok`` or ``... 12.0 s  FAILED: ...``.
LINE = re.compile(r"^\s+(?P<name>\d\d_\S+)\s+(?P<seconds>\d+(?:\.\d+)?) s\s+(?P<status>.*)$")
TOTAL = re.compile(r"^Total wall time:\s+(?P<seconds>\d+(?:\.\d+)?) s")


def parse(output: str) -> tuple[list[tuple[str, float, str]], float | None]:
    """``([(notebook, seconds, status), ...], runner's total or None)`` from the runner's printed output."""
    notebooks, total = [], None
    for line in output.splitlines():
        if m := LINE.match(line):
            notebooks.append((m["name"], float(m["seconds"]), m["status"].strip()))
        elif m := TOTAL.match(line):
            total = float(m["seconds"])
    return notebooks, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebooks", nargs="*", default=[], help="name prefixes, e.g. 00 (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks run at the same time (the runner's default)")
    parser.add_argument("--out", type=Path, default=None, help="keep the executed notebooks here (default: a "
                        "temporary folder, deleted afterwards)")
    args = parser.parse_args(argv)

    out = args.out or Path(tempfile.mkdtemp(prefix="smoke-suite-"))
    cmd = [sys.executable, str(ROOT / "tools" / "run_notebooks.py"), "--profile", "smoke", "--out", str(out),
           "--jobs", str(args.jobs)]
    if args.notebooks:
        cmd += ["--notebooks", *args.notebooks]
    print(f"Smoke-suite benchmark: {' '.join(cmd[1:])}\nMachine: {machine()}\n", flush=True)
    env = {**os.environ, "COURSE_DATA_HOME": os.environ.get("COURSE_DATA_HOME", str(ROOT / "data"))}
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)

    notebooks, total = parse(proc.stdout)
    if not notebooks:
        sys.stdout.write(proc.stdout[-3000:])
        sys.stderr.write(proc.stderr[-3000:])
    rows = [[name, secs, status] for name, secs, status in sorted(notebooks, key=lambda r: -r[1])]
    print(table(["notebook (slowest first)", "seconds", "status"], rows))
    print()
    print(table(["", "seconds"], [["sum of notebook times", sum(r[1] for r in notebooks)],
                                  ["runner's total wall time", total if total is not None else float("nan")],
                                  ["wall time of the whole command", seconds]]))
    failed = proc.returncode != 0
    note = " (a notebook FAILED: the time is not a valid figure)" if failed else ""
    verdict = "met" if seconds <= 600 and not failed else "NOT met"
    print(f"\nRunner exit code {proc.returncode}{note}. Goal: at most 600 s ({verdict}).")
    print(f"Machine at the end: {machine()}")
    finish("seconds", seconds)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
