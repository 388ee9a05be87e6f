"""Check that running every notebook a second time in the same folders left those folders consistent.

    python tools/check_rerun.py OUT_DIR [--data-home DIR] [--sources DIR]

``course.py test`` runs each notebook twice in the same folders: ``tools/run_notebooks.py`` executes
``notebooks/NN_*.ipynb`` into ``OUT/notebooks`` with ``RESULTS_DIR=OUT/results`` and
``COURSE_DATA_HOME=<repo>/data``, then nbval re-executes copies of those executed notebooks (same injected
parameters, same data and results folders): ``OUT/rerun/`` when ``tools/check_solutions.py --rerun`` made
them (the course recipe's runs, with the exercise solutions pasted in; the article recipe's runs are not
re-run), else the executed copies in ``OUT/notebooks`` themselves. Run this after nbval. It checks that

- **results**: ``OUT/results`` holds exactly one valid ``<notebook>.json`` per executed notebook, each
  re-run one written again by the second run: its ``written_at`` (the UTC second ``helpers.results.save`` wrote it)
  is later than the second in which the executed notebook itself was saved at the end of the first run.
  The time inside the record is used because a file's modification time changes when the file is
  copied or touched; records of older helpers, without ``written_at``, fall back to the file's time.
- **working folders**: ``OUT/notebooks`` and ``OUT/rerun`` (the second run's working folder) and
  ``notebooks/`` (the first run's) hold nothing but notebooks: anything else was written by a notebook to a
  relative path.
- **samples**: every generated sample under the data home (a folder holding ``COURSE_SAMPLE.json``)
  holds exactly the number of images its recorded settings produce (``helpers.datasets.samples``), so
  the second run duplicated nothing and the first left nothing half-written.
- **leftovers** under ``OUT`` and the data home: the names half-finished work leaves behind (``*.part``,
  ``*.tmp``, tf.data cache lock files and caches without their index, the hidden temporary folders of
  samples and archive extraction, Keras resume checkpoints) and, outside downloaded data, the names of
  duplicates (``x (1).jpg``, ``x copy.jpg``, ``Copy of x``).

Exit status 0 with a short summary, 1 with one line per problem.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers.datasets.catalog import info  # noqa: E402
from helpers.datasets.files import IMAGE_EXTENSIONS  # noqa: E402
from helpers.datasets.samples import (  # noqa: E402
    DEFAULT_IMAGES_PER_CLASS,
    FRUIT_CLASSES,
    MARKER,
    MOSQUITO_CLASSES,
    MOSQUITO_RAW_FOLDERS,
    _split_sizes,
)

#: Files half-finished work leaves: downloads (``.part``), atomic writes (``.tmp``), tf.data cache locks.
TEMPORARY_SUFFIXES = (".part", ".tmp", ".lockfile")
#: Hidden temporary folders made by ``tempfile.mkdtemp(prefix=".<name>-")`` (samples, the example folder),
#: ``.<name>.extracting-XXXXXXXX`` (archives) and ``.<name>-old-...`` (a replaced sample).
TEMPORARY_FOLDER = re.compile(r"^\..+-[a-z0-9_]{8}$")
#: Names that copies of a file get: ``x (1).jpg``, ``x - Copy.jpg``, ``x copy 2.jpg``, ``Copy of x.jpg``.
DUPLICATE_NAME = re.compile(r"(?i)^copy of |[ -]copy( \d+)?(?=\.[^.]*$|$)| \(\d+\)(?=\.[^.]*$|$)")
#: Folders of a working folder that tools (not notebooks) create.
TOOL_FOLDERS = frozenset({"__pycache__", ".ipynb_checkpoints"})
#: The data home's folders of downloaded (real) data, where file names are not ours to judge.
DOWNLOADED = frozenset({"odonata", "odonata-full", "downloads", "kagglehub"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the folder run_notebooks.py wrote to (e.g. build/test)")
    parser.add_argument("--data-home", type=Path, default=None,
                        help="COURSE_DATA_HOME of the runs (default: $COURSE_DATA_HOME, else <repo>/data)")
    parser.add_argument("--sources", type=Path, default=ROOT / "notebooks",
                        help="the source notebooks' folder, the first run's working folder (default: notebooks/)")
    args = parser.parse_args(argv)
    data_home = args.data_home or Path(os.environ.get("COURSE_DATA_HOME") or ROOT / "data")
    problems, summary = check(args.out, data_home, args.sources)
    for line in problems:
        print(line)
    if not problems:
        print(summary)
    return 1 if problems else 0


def check(out: Path, data_home: Path, sources: Path | None = None) -> tuple[list[str], str]:
    """Every problem found (one line each) and a one-line summary of what was checked."""
    out, data_home = Path(out), Path(data_home)
    if not (out / "notebooks").is_dir():
        return [f"{out / 'notebooks'}: no executed notebooks here; run tools/run_notebooks.py and nbval first"], ""
    notebooks = sorted((out / "notebooks").glob("*.ipynb"))
    problems = check_results(out)
    problems += check_working_folder(out / "notebooks")
    if (out / "rerun").is_dir():
        problems += check_working_folder(out / "rerun")
    if sources is not None and Path(sources).is_dir():
        problems += check_working_folder(Path(sources))
    samples = find_samples(data_home)
    for sample in samples:
        problems += check_sample(sample)
    problems += leftovers(out) + leftovers(data_home, downloaded=DOWNLOADED)
    rerun = sorted((out / "rerun").glob("*.ipynb")) if (out / "rerun").is_dir() else notebooks
    summary = (f"Re-run check: {_count(notebooks, 'notebook')}, each with one results file ({len(rerun)} written "
               f"again by the second run); {_count(samples, 'sample')} complete, without duplicates; no leftovers "
               f"in {out} or {data_home}.")
    return problems, summary


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


def check_results(out: Path) -> list[str]:
    """One valid results file per executed notebook, each re-run one written after the notebook was saved; no others.

    The re-run notebooks are those in ``out/rerun`` when that folder exists, else every executed notebook.
    """
    results_dir = out / "results"
    notebooks = {p.stem: p for p in (out / "notebooks").glob("*.ipynb")}
    rerun = {p.stem for p in (out / "rerun").glob("*.ipynb")} if (out / "rerun").is_dir() else set(notebooks)
    found = {p.stem: p for p in results_dir.glob("*.json")} if results_dir.is_dir() else {}
    problems = []
    for stem, notebook in sorted(notebooks.items()):
        result = found.get(stem)
        if result is None:
            problems.append(f"results: {results_dir / (stem + '.json')} is missing (the notebook saved no results)")
            continue
        record, record_problems = _read_record(result, stem)
        problems += record_problems
        if record is not None and stem in rerun:
            problems += _check_rewritten(result, record, notebook)
    for stem in sorted(set(found) - set(notebooks)):
        problems.append(f"results: {found[stem].name} belongs to no executed notebook (left by another run?)")
    return problems


def _read_record(path: Path, stem: str) -> tuple[dict | None, list[str]]:
    """The record in ``path`` and its problems (unreadable, or about another notebook)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        return None, [f"results: {path.name} is not readable JSON ({type(err).__name__}): a half-written file?"]
    if not isinstance(record, dict) or record.get("notebook") != stem:
        notebook = record.get("notebook") if isinstance(record, dict) else None
        return None, [f"results: {path.name} names notebook {notebook!r}, not {stem!r}"]
    return record, []


def _check_rewritten(path: Path, record: dict, notebook: Path) -> list[str]:
    """A problem if the record was written before the second run: no later than the executed notebook's save.

    ``written_at`` has whole seconds: a record counts as rewritten when it was written in a later second
    than the notebook was saved (the second run re-executes the whole notebook, which takes longer).
    """
    saved = datetime.fromtimestamp(notebook.stat().st_mtime_ns / 1e9, UTC)
    stamp = record.get("written_at")
    if stamp is None:  # a record of older helpers: only its file time tells
        written, how = datetime.fromtimestamp(path.stat().st_mtime_ns / 1e9, UTC), "file modified"
        fresh = written > saved
    else:
        try:
            written, how = datetime.fromisoformat(str(stamp)), "written_at"
        except ValueError:
            return [f"results: {path.name} has written_at {stamp!r}, not an ISO 8601 time"]
        if written.tzinfo is None:
            return [f"results: {path.name} has written_at {stamp!r} without a time zone (helpers.results writes UTC)"]
        fresh = written > saved.replace(microsecond=0)
    if fresh:
        return []
    return [f"results: {path.name} was not written again by the second run ({how} {_clock(written)}, "
            f"not after the executed notebook was saved at {_clock(saved)})"]


def _count(items: list, noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _clock(moment: datetime) -> str:
    """``moment`` as a UTC time of day to the millisecond, e.g. ``14:05:09.120 UTC``."""
    return moment.astimezone(UTC).strftime("%H:%M:%S.%f")[:-3] + " UTC"


def check_working_folder(folder: Path) -> list[str]:
    """Anything but notebooks in a notebooks' working folder (a notebook wrote to a relative path)."""
    return [
        f"stray: {path} in a notebooks' working folder (a notebook wrote to a relative path)"
        for path in sorted(folder.iterdir())
        if path.suffix != ".ipynb" and path.name not in TOOL_FOLDERS
    ]


# --------------------------------------------------------------------------------------------------
# Samples
# --------------------------------------------------------------------------------------------------


def find_samples(data_home: Path) -> list[Path]:
    """The generated samples under ``data_home``: folders holding the sample marker (not inside another sample)."""
    if not data_home.is_dir():
        return []
    roots = sorted(marker.parent for marker in data_home.rglob(MARKER) if marker.is_file())
    return [root for root in roots if not any(other in root.parents for other in roots)]


def expected_images(spec: dict) -> int | None:
    """How many image files a sample made with ``spec`` (its marker's contents) holds; None for unknown specs.

    Mirrors the builders of ``helpers.datasets.samples`` and ``helpers.folder_data.make_example_folder``;
    ``tests/test_check_rerun.py`` holds the two to the same counts.
    """
    name = spec.get("dataset")
    if str(name).startswith("my_photos"):  # folder_data.make_example_folder: intel train + test per class
        train, held = _split_sizes(DEFAULT_IMAGES_PER_CLASS["intel"])
        return int(spec.get("classes", 0)) * (train + held) + 1  # + the truncated IMG_9999.jpg
    if name not in DEFAULT_IMAGES_PER_CLASS or not isinstance(spec.get("images_per_class"), int):
        return None
    train, held = _split_sizes(spec["images_per_class"])
    if name == "intel":
        classes = len(info("intel").class_names)
        return classes * (train + held) + held  # + the unlabelled seg_pred images
    if name == "fruits360":
        return len(FRUIT_CLASSES) * (train + held) + 2 * 2 + 2 * 1  # + the original-size branch
    if name == "mosquito":
        return len(MOSQUITO_RAW_FOLDERS) * 2 + len(MOSQUITO_CLASSES) * (train + 2 * held)
    return len(info(name).class_names) * (train + 2 * held)  # food5k (either layout), odonata


def count_images(root: Path) -> int:
    """Image files (by extension) anywhere under ``root``, hidden folders included."""
    return sum(1 for path in root.rglob("*") if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file())


def check_sample(root: Path) -> list[str]:
    """A sample with as many images as its settings produce (more: duplicated; fewer: half-written)."""
    try:
        spec = json.loads((root / MARKER).read_text())
    except (OSError, ValueError) as err:
        return [f"sample: {root / MARKER} is not readable JSON ({type(err).__name__})"]
    expected = expected_images(spec) if isinstance(spec, dict) else None
    if expected is None:
        return []  # a marker this tool does not know: only the leftover checks apply
    found = count_images(root)
    if found > expected:
        return [f"sample: {root} holds {found} images, {found - expected} more than its settings make (duplicates?)"]
    if found < expected:
        return [f"sample: {root} holds {found} images, {expected - found} fewer than its settings make (half-written?)"]
    return []


# --------------------------------------------------------------------------------------------------
# Leftovers
# --------------------------------------------------------------------------------------------------


def leftovers(root: Path, downloaded: Iterable[str] = ()) -> list[str]:
    """Names of half-finished work anywhere under ``root``, and of duplicates outside ``downloaded`` folders."""
    if not root.is_dir():
        return []
    downloaded = set(downloaded)
    problems, caches = [], set()
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        judge_names = here == root or here.relative_to(root).parts[0] not in downloaded
        for name in sorted(dirs):
            path = here / name
            if TEMPORARY_FOLDER.match(name):
                problems.append(f"leftover: {path} is the temporary folder of an interrupted write")
                dirs.remove(name)  # its contents are part of the same leftover
            elif name == "checkpoints" and any(path.iterdir()):
                problems.append(f"leftover: {path} holds Keras resume checkpoints of an unfinished training run")
            elif judge_names and not (here == root and name in downloaded) and DUPLICATE_NAME.search(name):
                problems.append(f"duplicate: {path} is named like a copy")
        for name in sorted(files):
            path = here / name
            if name.endswith(TEMPORARY_SUFFIXES):
                problems.append(f"leftover: {path} is a partial or temporary file")
            elif judge_names and DUPLICATE_NAME.search(name):
                problems.append(f"duplicate: {path} is named like a copy")
            if ".tfcache" in name:
                caches.add(here / name[: name.index(".tfcache") + len(".tfcache")])
    for base in sorted(caches):
        if not base.with_name(base.name + ".index").exists():
            problems.append(f"leftover: {base}* is a tf.data cache without its index (its first epoch was interrupted)")
    return problems


if __name__ == "__main__":
    sys.exit(main())
