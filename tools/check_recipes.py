"""Check that every model a run trained used the precision and the strategy the run asked for.

    python tools/check_recipes.py RESULTS_DIR --precision mixed_float16 --replicas 1 [--strategy default]
    python tools/check_recipes.py RESULTS_DIR --precision float32 --replicas 2 --strategy MirroredStrategy

Each results file (``helpers.results.save``) holds ``trained_models``: for every model the notebook trained,
the dtype policy, loss scaling, strategy, replica count and weight copies read from the model at fit time
(``helpers.training.trained_as``). This fails when

- a results file has no ``trained_models`` (written by helpers that do not record them), or an empty one
  for a notebook that trains (every notebook but those named by ``--untrained``);
- the set-up cell did not choose what was asked (the record's ``precision`` and ``replicas``);
- any trained model differs from what was asked (``helpers.results.recipe_mismatches``): e.g. a backbone
  built after ``keras.backend.clear_session()`` in float32 in a ``mixed_float16`` run, or on one device in a
  ``MirroredStrategy`` run.

``tools/run_notebooks.py --rehearse-gpu`` runs every notebook with ``COURSE_MIXED_PRECISION=1`` and with
``COURSE_STRATEGY=cpu:2`` and calls :func:`check` on each run. Exit status 0 with one line per results file,
1 with one line per problem.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers.results import recipe_mismatches  # noqa: E402  (no TensorFlow import)

#: Notebooks that train no model (chapter 01 convolves by hand): an empty ``trained_models`` is right there.
UNTRAINED = ("01_",)


def check_record(record: dict, *, precision: str, replicas: int, strategy: str | None = None,
                 untrained: tuple[str, ...] = UNTRAINED) -> list[str]:
    """Problems in one results record (empty list: every trained model ran as asked)."""
    name = record.get("notebook", "?")
    if "trained_models" not in record:
        return [f"{name}: no trained_models in the results file (written by helpers that do not record them)"]
    trained = record["trained_models"]
    problems = []
    if not trained and not name.startswith(tuple(untrained)):
        problems.append(f"{name}: no trained model was recorded (a fit without training.Timer()?)")
    if record.get("precision") != precision:
        problems.append(f"{name}: the set-up cell chose {record.get('precision')}, the run asked for {precision}")
    if record.get("replicas", 1) != replicas:
        problems.append(f"{name}: the set-up cell chose {record.get('strategy')}, "
                        f"the run asked for {replicas} replicas")
    problems += [f"{name}: {p}" for p in recipe_mismatches(trained, precision=precision, replicas=replicas,
                                                             strategy=strategy)]
    return problems


def check(results_dir: str | Path, *, precision: str, replicas: int, strategy: str | None = None,
          untrained: tuple[str, ...] = UNTRAINED, verbose: bool = True) -> list[str]:
    """Check every ``*.json`` results file in ``results_dir``; returns the problems (printed when ``verbose``)."""
    files = sorted(Path(results_dir).glob("*.json"))
    if not files:
        return [f"{results_dir}: no results files"]
    problems = []
    for path in files:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            problems.append(f"{path.name}: unreadable ({exc})")
            continue
        found = check_record(record, precision=precision, replicas=replicas, strategy=strategy, untrained=untrained)
        problems += found
        if verbose and not found:
            models = record.get("trained_models", [])
            seen = sorted({f"{m['dtype_policy']}/{m['strategy']}x{m['replicas']}" for m in models})
            print(f"  {record.get('notebook', path.stem):<40} {len(models):>3} trained model(s): "
                  f"{', '.join(seen) or 'none'}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results_dir", type=Path)
    parser.add_argument("--precision", required=True, choices=["float32", "mixed_float16"])
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--strategy", default=None,
                        help="class name every model must run under, e.g. MirroredStrategy or default")
    parser.add_argument("--untrained", nargs="*", default=list(UNTRAINED),
                        help="name prefixes of notebooks that train no model")
    args = parser.parse_args(argv)
    problems = check(args.results_dir, precision=args.precision, replicas=args.replicas, strategy=args.strategy,
                     untrained=tuple(args.untrained))
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    if not problems:
        print(f"Every trained model ran under {args.precision} on {args.replicas} replica(s).")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
