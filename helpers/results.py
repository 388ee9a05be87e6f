"""Results files: one JSON per notebook, and the course's results table built from them.

Every notebook ends with :func:`save`, which writes ``RESULTS_DIR/<notebook>.json``. The run command
collects those files into ``build/results.md`` and ``build/results.json`` with :func:`table` and
:func:`collect`, so the figures an instructor reads always come from an executed notebook.
"""

from __future__ import annotations

import json
import math
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # runtime imports TensorFlow; collecting results must not
    from .runtime import Runtime

#: The recipes a chapter can run: the course's, or the source article's as far as its text goes.
RECIPES = ("course", "article")

#: Fields every record has. ``written_at`` (added later) is not among them: older results files lack it.
_REQUIRED = ("notebook", "dataset", "profile", "sample", "model", "metrics", "train_seconds", "tensorflow", "device")

#: The models this kernel trained since the set-up cell, one entry per ``fit`` (see :func:`record_trained`).
_TRAINED: list[dict[str, Any]] = []


def record_trained(entry: dict[str, Any]) -> None:
    """Add one trained model to the run log that :func:`save` writes out as ``trained_models``.

    Chapters 00 and 02 to 09 record their fits with it, through helpers.training.

    ``helpers.training`` calls it for every fit the course times (every ``training.Timer``), with
    what the model actually ran under: ``dtype_policy``, ``loss_scale``, ``strategy``, ``replicas`` and
    ``weight_copies``, read from the model at fit time, not from the environment. The log lives here
    (not in ``training``) so that collecting results never imports TensorFlow.
    """
    _TRAINED.append(dict(entry))


def trained_models() -> list[dict[str, Any]]:
    """The run log: a copy of every entry recorded since the last :func:`clear_trained`.

    In every chapter, save writes it into the results file (tests/test_training.py reads it too).
    """
    return [dict(entry) for entry in _TRAINED]


def clear_trained() -> None:
    """Start a new run log; ``runtime.setup`` calls it, so running a notebook again does not double it.

    In every chapter, runtime.setup calls it.
    """
    _TRAINED.clear()


def recipe_mismatches(trained: list[dict[str, Any]], *, precision: str, replicas: int,
                      strategy: str | None = None) -> list[str]:
    """What differs between the trained models and the precision and strategy a run asked for; empty if nothing.

    Every chapter's save warns with it; tools/check_recipes.py checks every results file with it.

    A model "ran under" ``mixed_float16`` when its dtype policy is that policy and its optimizer was wrapped
    in Keras' ``LossScaleOptimizer``; it ran on ``replicas`` devices when the strategy it was built under
    has that many replicas and each of its weights has that many copies (a model built after the strategy
    was dropped keeps one copy, whatever the current strategy says). ``strategy`` (a class name such as
    ``"MirroredStrategy"``) is compared only when given.
    """
    problems = []
    for entry in trained:
        name = entry.get("name", "?")
        found = []
        if entry.get("dtype_policy") != precision:
            found.append(f"dtype policy {entry.get('dtype_policy')}, expected {precision}")
        wants_scaling = precision == "mixed_float16"
        if bool(entry.get("loss_scale")) != wants_scaling:
            state = "missing" if wants_scaling else "on"
            found.append(f"loss scaling {state} (optimizer {entry.get('optimizer')})")
        if strategy is not None and entry.get("strategy") != strategy:
            found.append(f"strategy {entry.get('strategy')}, expected {strategy}")
        if entry.get("replicas") != replicas:
            found.append(f"{entry.get('replicas')} replica(s), expected {replicas}")
        if entry.get("weight_copies") != replicas:
            found.append(f"{entry.get('weight_copies')} copy(ies) of each weight, expected {replicas}")
        problems += [f"{name}: {problem}" for problem in found]
    return problems


def save(results_dir: str | Path, notebook: str, *, runtime: Runtime, dataset: str, model: str,
         metrics: dict[str, float], train_seconds: float, sample: bool, recipe: str = "course",
         **extra: Any) -> Path:
    """Write ``results_dir/<notebook>.json`` (``<notebook>.article.json`` for the article recipe); return its path.

    Every chapter's results cell calls it.

    The record holds the run's settings and ``written_at``, the UTC time it was written (ISO 8601, to the
    second), so a stale file from an earlier run can be told from a fresh one whatever its file time says,
    and ``trained_models``, the run log (:func:`record_trained`): for every model trained since the set-up
    cell, the dtype policy and the strategy it actually ran under. When one of them differs from what the
    set-up cell chose (``runtime.precision``, ``runtime.replicas``), the file is still written and a
    ``RuntimeWarning`` names the models; ``tools/check_recipes.py`` turns that into a failure in CI.

    Args:
        notebook: The notebook's file stem, e.g. ``"02_cnn_from_scratch"``.
        runtime: The :class:`~helpers.runtime.Runtime` from the set-up cell.
        dataset: Catalogue name of the dataset (or a comma-separated list).
        model: Short description of the model that produced ``metrics``.
        metrics: Test-split metrics; chapters that train a classifier include ``accuracy``.
        train_seconds: Wall time spent in ``fit``.
        sample: True when the run used a generated sample rather than the real data.
        recipe: ``"course"`` (our recipe) or ``"article"`` (the source article's, chapters 02-08). An article
            run is recorded under its own name, ``<notebook>.article``, so both runs of a chapter can sit in
            one results folder and the results table shows them side by side.
        extra: Anything else worth keeping (article figures, per-model tables, ...); must be JSON-able.
    """
    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {', '.join(RECIPES)}, not {recipe!r}.")
    now = datetime.now(UTC)
    name = notebook if recipe == "course" else f"{notebook}.{recipe}"
    record = {
        "notebook": name,
        "chapter": notebook,
        "recipe": recipe,
        "dataset": dataset,
        "profile": runtime.profile,
        "sample": bool(sample),
        "model": model,
        "metrics": {k: _clean(v) for k, v in metrics.items()},
        "train_seconds": round(float(train_seconds), 1),
        "tensorflow": runtime.tensorflow,
        "keras": runtime.keras,
        "python": runtime.python,
        "device": runtime.device,
        "environment": runtime.environment,
        "seed": runtime.seed,
        "deterministic": runtime.deterministic,
        "precision": runtime.precision,
        "xla": runtime.xla,
        "strategy": runtime.strategy,
        "replicas": runtime.replicas,
        "trained_models": trained_models(),
        "date": now.strftime("%Y-%m-%d"),
        "written_at": now.isoformat(timespec="seconds"),
        **{key: _clean(value) for key, value in extra.items()},
    }
    path = Path(results_dir) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, allow_nan=False) + "\n")
    tmp.replace(path)  # never leave a half-written results file
    mismatches = recipe_mismatches(record["trained_models"], precision=runtime.precision, replicas=runtime.replicas)
    if mismatches:  # the file is written first: the run's figures are kept, and the warning says what to distrust
        warnings.warn(f"{len(mismatches)} trained model(s) did not run as the set-up cell chose "
                      f"({runtime.precision}, {runtime.replicas} replica(s)): " + "; ".join(mismatches)
                      + ". Their speed and accuracy are not those of the recipe the results file names; "
                      "please report it to the course.", RuntimeWarning, stacklevel=2)
    return path


def _clean(value: Any) -> Any:
    """JSON-safe values, recursively: NumPy scalars and arrays to Python, NaN to ``None``."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "tolist"):
        return _clean(value.tolist())
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def load(results_dir: str | Path, notebook: str, recipe: str = "course") -> dict | None:
    """The record a chapter's run with ``recipe`` left in ``results_dir``, or ``None`` if there is none.

    Chapters 02 to 08 read earlier results with it (another chapter's, or the other recipe's).

    A chapter's comparison cell uses it to put the other recipe's figure (from an earlier run in the same
    folder) next to this run's. The record may be stale or from another profile: read its ``profile``,
    ``sample`` and ``written_at`` before comparing.
    """
    path = Path(results_dir) / (f"{notebook}.json" if recipe == "course" else f"{notebook}.{recipe}.json")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def collect(results_dir: str | Path) -> list[dict]:
    """All results records in ``results_dir``, sorted by notebook name.

    tools/run_notebooks.py gathers every chapter's results with it.
    """
    records = [json.loads(p.read_text()) for p in sorted(Path(results_dir).glob("*.json"))]
    for record in records:
        missing = [k for k in _REQUIRED if k not in record]
        if missing:
            raise ValueError(f"results for {record.get('notebook', '?')} lack {', '.join(missing)}")
    return records


def table(records: list[dict]) -> str:
    """A markdown table, one row per chapter: our recipe's test accuracy, the article recipe's, the article's.

    tools/run_notebooks.py writes the results table with it.

    Sample runs are marked so nobody mistakes them for real figures. Article-recipe records (``recipe ==
    "article"``) fill the "article recipe" column of their chapter's row; a chapter run only with the
    article recipe still gets a row.
    """
    head = ("| notebook | dataset | profile | data | model | test accuracy | article recipe | article's figure "
            "| train s | device | date |")
    rows = [head, "|" + " --- |" * 11]
    by_chapter: dict[str, dict[str, dict]] = {}
    for r in records:
        by_chapter.setdefault(r.get("chapter", r["notebook"]), {})[r.get("recipe", "course")] = r
    for chapter, runs in sorted(by_chapter.items()):
        r = runs.get("course") or runs["article"]
        ours = _pct(runs["course"]["metrics"].get("accuracy")) if "course" in runs else "not run"
        article_run = _pct(runs["article"]["metrics"].get("accuracy")) if "article" in runs else ""
        rows.append(
            f"| {chapter} | {r['dataset']} | {r['profile']} | {'sample' if r['sample'] else 'real'} "
            f"| {r['model']} | {ours} | {article_run} | {_pct(r.get('article_accuracy'))} | {r['train_seconds']} "
            f"| {r['device']} | {r.get('date', '')} |"
        )
    return "\n".join(rows) + "\n"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"
