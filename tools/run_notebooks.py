"""Execute the course notebooks with papermill and build the results table.

    python tools/run_notebooks.py [--profile smoke] [--out build] [--jobs 2] [--notebooks 00 02 ...]
                                  [--recipes course article] [--env KEY=VALUE ...] [--rehearse-gpu]

Writes ``OUT/notebooks/<name>.ipynb`` (executed, with outputs and plots), ``OUT/results/<name>.json``
(one per notebook); a chapter with a ``RECIPE`` parameter (02-08) also runs with ``RECIPE="article"``
(the source article's recipe) into ``OUT/notebooks/<name>.article.ipynb`` and ``<name>.article.json``,
unless ``--recipes course`` is given; ``OUT/results.md`` and ``OUT/results.json`` (the table), and prints how long
each notebook took. Exits non-zero if any notebook failed; the failed notebook is still written,
with papermill's error banner at the failing cell. While a notebook runs, its executed copy is rewritten
every :data:`SAVE_EVERY` seconds rather than around every cell (:class:`SparseSavesEngine`).

``--env KEY=VALUE`` sets an environment variable for the notebooks' kernels (e.g. ``COURSE_STRATEGY=cpu:2``).
``--rehearse-gpu [SETTING ...]`` rehearses a GPU run's recipes on any machine: it runs the selection once per
setting of :data:`REHEARSALS` (mixed precision forced on with ``COURSE_MIXED_PRECISION=1``, as on one GPU with
tensor cores; a ``MirroredStrategy`` over two logical CPU devices with ``COURSE_STRATEGY=cpu:2``, in float32 as
the course trains on Kaggle's two T4s), both unless settings are named, each into ``OUT/<setting>/``, with the
course recipe only unless ``--recipes`` says otherwise, then checks with ``tools/check_recipes.py`` that every
model each notebook trained ran under that setting's precision and strategy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import nbformat
import papermill
from jupyter_client.manager import AsyncKernelManager
from papermill.engines import NBClientEngine, papermill_engines

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers import results  # noqa: E402

sys.path.insert(0, str(ROOT / "tools"))
import check_recipes  # noqa: E402

#: ``--rehearse-gpu``'s settings: the environment each run gets, and what every trained model must have run under.
REHEARSALS = {
    "mixed_precision": ({"COURSE_MIXED_PRECISION": "1", "COURSE_STRATEGY": "none"},
                        {"precision": "mixed_float16", "replicas": 1, "strategy": "default"}),
    "two_devices": ({"COURSE_STRATEGY": "cpu:2", "COURSE_MIXED_PRECISION": "0"},
                    {"precision": "float32", "replicas": 2, "strategy": "MirroredStrategy"}),
}


def notebooks(selection: list[str]) -> list[Path]:
    """The numbered notebooks, optionally only those whose name starts with one of ``selection``."""
    found = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    return [nb for nb in found if not selection or any(nb.name.startswith(s) for s in selection)]


def recipe_runs(nb: Path, recipes: list[str]) -> list[tuple[Path, str | None]]:
    """``(notebook, recipe)`` pairs to execute: one per recipe for a chapter with a ``RECIPE`` parameter,
    else one with ``None`` (the notebook's own parameters)."""
    source = nbformat.read(nb, as_version=4)
    has_recipe = any("parameters" in c.metadata.get("tags", []) and re.search(r"(?m)^RECIPE\s*=", c.source)
                     for c in source.cells)
    return [(nb, recipe) for recipe in recipes] if has_recipe else [(nb, None)]


def unrendered_figures(path: Path) -> int:
    """How many outputs of an executed notebook are a figure's text form instead of an image."""
    nb = nbformat.read(path, as_version=4)
    return sum(
        1
        for cell in nb.cells if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if "<Figure size" in out.get("data", {}).get("text/plain", "") and "image/png" not in out.get("data", {})
    )


#: Credential-shaped strings that must never appear in an executed notebook or a results file.
SECRET_PATTERNS = (
    re.compile(r"\b[0-9a-f]{32}\b"),  # a Kaggle API key
    re.compile(r"KGAT_[A-Za-z0-9]{16,}"),  # a Kaggle API token
    re.compile(r"(?i)\b(api[_-]?key|secret|password|token)\b[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9_\-]{16,}"),
)
SECRET_VARIABLES = ("KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_API_KEY")


def leaked_secrets(text: str, environ: dict[str, str] | None = None) -> list[str]:
    """Credential-shaped strings in ``text`` (values of the Kaggle credential variables included), redacted."""
    environ = os.environ if environ is None else environ
    found = [m.group(0) for pattern in SECRET_PATTERNS for m in pattern.finditer(text)]
    found += [name for name in SECRET_VARIABLES if len(environ.get(name, "")) >= 8 and environ[name] in text]
    return [f"{item[:4]}..." for item in found]


def logged_kernel(log: IO[str]) -> type[AsyncKernelManager]:
    """A kernel manager class whose kernels write their own stdout and stderr to ``log``.

    A notebook's kernel inherits the terminal otherwise, and TensorFlow's C++ start-up lines (absl, CUDA
    probing, oneDNN) and Jupyter's warnings would fill it between the one-line-per-notebook summary.
    What the *notebook* prints is not affected: it goes to the executed copy's outputs.
    """

    class LoggedKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw):  # noqa: ANN003, ANN202 (jupyter_client's signature)
            kw.setdefault("stdout", log)
            kw.setdefault("stderr", log)
            return await super().start_kernel(**kw)

    return LoggedKernelManager


#: Seconds between two writes of an executed copy while its notebook runs (see :class:`SparseSavesEngine`).
SAVE_EVERY = 10.0


class SparseSavesEngine(NBClientEngine):
    """papermill's nbclient engine, writing the executed copy at most every :data:`SAVE_EVERY` seconds.

    papermill rewrites the whole output notebook before and after every cell, and each write validates and
    serialises it again (several MB once the plots are in): 8-9 s of a 45-60 s smoke run of chapter 08,
    measured with the same notebook both ways. Those writes are there so that a notebook which hangs or is
    killed still leaves its outputs so far, and a write every few seconds keeps that. The last write, when
    the notebook ends, fails or times out, always happens.
    """

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):  # noqa: ANN001, ANN003, ANN206 (papermill's)
        nb_man.save = sparse(nb_man.save, finished=lambda: nb_man.end_time is not None)
        return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)


def sparse(save: Callable[..., Any], finished: Callable[[], bool], every: float | None = None,
           clock: Callable[[], float] = time.monotonic) -> Callable[..., Any]:
    """``save`` that does nothing when the last write was under ``every`` seconds ago (default
    :data:`SAVE_EVERY`), unless ``finished()``; the notebook has just been written when it is made."""
    last = clock()  # papermill has just written the notebook once, before its first cell

    def save_now_and_then(**kwargs: Any) -> Any:
        nonlocal last
        if not finished() and clock() - last < (SAVE_EVERY if every is None else every):
            return None
        last = clock()
        return save(**kwargs)

    return save_now_and_then


papermill_engines.register("course", SparseSavesEngine)


def execute(nb: Path, out: Path, profile: str, seed: int, timeout: int,
            cwd: Path | None = None, recipe: str | None = None) -> tuple[str, float, str | None]:
    """Run one notebook into ``out/notebooks/``; returns (name, seconds, error message or None).

    ``cwd`` is the kernel's working folder, the notebook's own by default (a copy stored elsewhere
    passes ``notebooks/`` so that its relative paths still work). ``recipe`` sets the chapter's ``RECIPE``
    parameter; the article recipe's copy is named ``<name>.article.ipynb``, like its results file. The
    kernel's own output (TensorFlow's start-up noise, a crash's last words) goes to ``out/logs/<name>.log``.
    """
    start = time.perf_counter()
    error = None
    stem = nb.stem if recipe in (None, "course") else f"{nb.stem}.{recipe}"
    parameters = {"PROFILE": profile, "RESULTS_DIR": str(out / "results"), "SEED": seed}
    if recipe is not None:
        parameters["RECIPE"] = recipe
    (out / "logs").mkdir(parents=True, exist_ok=True)
    try:
        with open(out / "logs" / f"{stem}.log", "w") as log:
            papermill.execute_notebook(
                str(nb), str(out / "notebooks" / f"{stem}.ipynb"),
                parameters=parameters, kernel_manager_class=logged_kernel(log),
                cwd=str(cwd or nb.parent), kernel_name="python3", progress_bar=False, execution_timeout=timeout,
                engine_name="course",
            )
    except Exception as exc:  # report every failure, keep running the others
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
        error += f" (kernel log: {out / 'logs' / f'{stem}.log'})"
    else:
        executed = out / "notebooks" / f"{stem}.ipynb"
        blank = unrendered_figures(executed)
        leaks = leaked_secrets(executed.read_text())
        result = out / "results" / f"{stem}.json"
        leaks += leaked_secrets(result.read_text()) if result.exists() else []
        if leaks:
            error = f"credential-shaped text in the outputs ({', '.join(leaks)}): remove it before sharing"
        elif blank:
            error = f"{blank} figure(s) were not rendered as images"
    return stem, time.perf_counter() - start, error


def set_environment() -> None:
    """The environment every executed notebook gets: one line per epoch, quiet TensorFlow, project data."""
    os.environ["COURSE_BATCH"] = "1"  # one line per epoch, no progress bars
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("COURSE_DATA_HOME", str(ROOT / "data"))
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")


def parse_env(pairs: list[str]) -> dict[str, str]:
    """``["KEY=VALUE", ...]`` to a dict; a pair without ``=`` or with an empty key is refused."""
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--env takes KEY=VALUE pairs, e.g. COURSE_STRATEGY=cpu:2; got {pair!r}")
        env[key.strip()] = value
    return env


@contextmanager
def environment(overrides: dict[str, str]) -> Iterator[None]:
    """Set ``overrides`` in ``os.environ`` (which the notebooks' kernels inherit) and restore it afterwards."""
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def start_order(selected: list[tuple[Path, str | None]]) -> list[tuple[Path, str | None]]:
    """Later chapters first: they take longest (fine-tuning, several models), so the short early chapters fill
    the gaps at the end instead of one long notebook running alone while the other worker waits."""
    return sorted(selected, key=lambda run: run[0].name[:2], reverse=True)


def run_selection(selected: list[tuple[Path, str | None]], out: Path, args: argparse.Namespace) -> bool:
    """Execute ``selected`` into ``out`` and write its results table; True if every notebook passed."""
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    (out / "results").mkdir(parents=True, exist_ok=True)
    for stale in (out / "results").glob("*.json"):  # never mix old results with new ones
        stale.unlink()
    print(f"Executing {len(selected)} notebook run(s), profile {args.profile}, {args.jobs} at a time -> {out}")
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        runs = sorted(pool.map(lambda run: execute(run[0], out, args.profile, args.seed, args.timeout,
                                                   recipe=run[1]), start_order(selected)))
    for name, seconds, error in runs:
        print(f"  {name:<40} {seconds:7.1f} s  {'FAILED: ' + error if error else 'ok'}")
    print(f"Total wall time: {time.perf_counter() - started:.1f} s")

    records = results.collect(out / "results")
    (out / "results.md").write_text(results.table(records))
    (out / "results.json").write_text(json.dumps(records, indent=2) + "\n")
    print(f"Results table: {out / 'results.md'}")
    return not any(error for _, _, error in runs)


def rehearse_gpu(selected: list[tuple[Path, str | None]], out: Path, args: argparse.Namespace,
                 env: dict[str, str]) -> bool:
    """Run ``selected`` once per chosen :data:`REHEARSALS` setting (all by default) into ``out/<setting>``, then check
    the trained models."""
    passed = True
    for setting in args.rehearse_gpu or REHEARSALS:
        overrides, expected = REHEARSALS[setting]
        print(f"== {setting}: {' '.join(f'{k}={v}' for k, v in overrides.items())}")
        with environment({**env, **overrides}):
            ran = run_selection(selected, out / setting, args)
        print(f"Checking that every trained model ran under {expected['precision']}, "
              f"{expected['strategy']} strategy, {expected['replicas']} replica(s):")
        problems = check_recipes.check(out / setting / "results", **expected)
        for problem in problems:
            print(f"  FAILED: {problem}")
        passed = passed and ran and not problems
    return passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="smoke", choices=["smoke", "quick", "full"])
    parser.add_argument("--out", default="build", type=Path)
    parser.add_argument("--jobs", default=2, type=int, help="notebooks run at the same time")
    parser.add_argument("--seed", default=42, type=int)
    parser.add_argument("--timeout", default=1800, type=int, help="seconds per cell")
    parser.add_argument("--notebooks", nargs="*", default=[], help="name prefixes, e.g. 00 02")
    parser.add_argument("--recipes", nargs="+", default=None, choices=["course", "article"],
                        help="the RECIPE values to run chapters 02-08 with (default: both; course with --rehearse-gpu)")
    parser.add_argument("--env", nargs="+", default=[], metavar="KEY=VALUE",
                        help="environment variables for the notebooks' kernels, e.g. COURSE_MIXED_PRECISION=1")
    parser.add_argument("--rehearse-gpu", nargs="*", default=None, choices=list(REHEARSALS), metavar="SETTING",
                        help="run with mixed precision and with two mirrored CPU devices (or only the settings "
                             f"named: {', '.join(REHEARSALS)}), each into OUT/<setting>, and check what every "
                             "trained model ran under")
    args = parser.parse_args()
    try:
        env = parse_env(args.env)
    except ValueError as exc:
        parser.error(str(exc))
    recipes = args.recipes or (["course"] if args.rehearse_gpu is not None else ["course", "article"])

    out = (ROOT / args.out).resolve() if not args.out.is_absolute() else args.out
    set_environment()
    selected = [run for nb in notebooks(args.notebooks) for run in recipe_runs(nb, recipes)]
    if not selected:
        print("No notebooks matched.", file=sys.stderr)
        return 2
    if args.rehearse_gpu is not None:
        return 0 if rehearse_gpu(selected, out, args, env) else 1
    with environment(env):
        return 0 if run_selection(selected, out, args) else 1


if __name__ == "__main__":
    sys.exit(main())
