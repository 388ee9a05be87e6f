#!/usr/bin/env python3
"""Full-size rehearsal: each chapter's data preparation and a few training steps on data of the real size.

The course's CI runs every notebook on small samples. This command checks what the samples cannot: how much
RAM, disk and time a chapter's data preparation takes on a dataset with the real file count and image
sizes. It writes a synthetic copy of each dataset in its published layout with the real split counts
(:func:`helpers.datasets.samples.make_sample` with ``images_per_class``/``held_per_class``), then, for each
chapter and profile, in a fresh Python process:

1. ``datasets.load`` at the chapter's training size for that profile (``helpers.budget.CHAPTERS``, the
   sizes copied from the notebooks and checked against them), with the course's cache rule;
2. one full pass over every split, which fills every cache (the data preparation of a real run);
3. a few training steps of the chapter's model with random weights (``--steps``).

It reports, per chapter and profile: the peak RAM of the process, the cache bytes on disk, the data bytes,
the time of each stage, and the computed figures of :mod:`helpers.budget` beside them, with the verdict
against free Colab's RAM and Kaggle's working disk. Usage::

    python3 course.py rehearse                       # every dataset at full size (about 14 GB of disk, long)
    python3 course.py rehearse --scale 0.1 --chapters 02 07 --profiles quick
    python3 tools/rehearse.py --help

Chapters 01 and 06 cache nothing (``helpers.budget``) and are not rehearsed. Times on a CPU only show how
the stages compare; on a GPU machine the same command measures the ``quick`` times for the instructors' guide.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers import budget  # noqa: E402
from helpers.datasets import catalog, samples  # noqa: E402

#: The model each chapter trains, built with random weights: a backbone name, or "scratch".
MODELS = {"00": "scratch", "02": "scratch", "03": "scratch", "04": "scratch", "05": "ResNet50",
          "07": "InceptionV3", "08": "EfficientNetB0", "09": "EfficientNetV2B0"}
BATCH_SIZE = 32
PROFILES = ("quick", "full")


def full_size_counts(name: str, profile: str, scale: float = 1.0) -> dict[str, int]:
    """``make_sample`` arguments that give dataset ``name`` the real training and held-out counts.

    The copy keeps the sample's classes (six fruits instead of 131, for instance) and spreads the real
    number of images over them: training images per class from the real training split (before
    ``datasets.load`` carves validation out of it), held-out images per class from the real validation split
    where there is one, else from the test split. ``scale`` shrinks both (a quick check of the command).
    """
    k = budget.classes(name, "smoke")
    if name == "odonata":
        counts = budget.split_counts("odonata", profile)
        train, held = counts["train"], counts["test"]
    else:
        sizes = catalog.info(name).sizes
        train = budget.catalogue_split(sizes, "train")
        held = budget.catalogue_split(sizes, "val") or budget.catalogue_split(sizes, "test")
    return {"images_per_class": max(2, round(train * scale / k)), "held_per_class": max(2, round(held * scale / k))}


def dataset_folder(data: Path, name: str, profile: str) -> Path:
    """Where the full-size copy of ``name`` lives (odonata has one build per profile, like the real builder)."""
    return data / (f"{name}-{profile}" if name == "odonata" else name)


def generate(data: Path, name: str, profile: str, scale: float) -> Path:
    """Write (once) the full-size copy of dataset ``name`` under ``data``; return its folder."""
    layout = "folders" if name == "food5k" else None  # Kaggle's layout, the one a learner downloads
    return samples.make_sample(name, dataset_folder(data, name, profile), layout=layout,
                               **full_size_counts(name, profile, scale))


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under ``folder`` (0 when it does not exist)."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


# --------------------------------------------------------------------------------------------------
# One chapter and profile, in its own process
# --------------------------------------------------------------------------------------------------


def measure(chapter: str, profile: str, root: Path, work: Path, steps: int) -> dict:
    """Load, fill every cache, train ``steps`` steps; return the figures (run in a fresh process)."""
    import keras

    from helpers import datasets, models, pipeline, runtime

    runtime.set_seed(0)
    spec = budget.CHAPTERS[chapter]
    side = spec.sizes["course"][profile]
    native = catalog.info(spec.dataset).image_size
    stored = pipeline.cache_size(native, (side, side))
    # Chapter 07 receives its batches at the cached size and resizes in the model; the others in tf.data.
    in_model = chapter == "07" and stored != (side, side)
    start = time.perf_counter()
    data = datasets.load(spec.dataset, root, image_size=stored if in_model else (side, side),
                         batch_size=BATCH_SIZE, cache_dir=work / "cache")
    images = {split: len(data.files[split]) for split in ("train", "val", "test")}
    for split in (data.train, data.val, data.test):  # one full pass: every cache is complete afterwards
        for _ in split:
            pass
    prepared = time.perf_counter() - start
    name = MODELS[chapter]
    if name == "scratch":
        model = models.scratch_cnn((side, side, 3), data.num_classes)
    else:
        model, _ = models.transfer_model(name, data.num_classes, image_size=side, weights=None)
    if in_model:
        model = pipeline.resize_in_model(model, stored)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(data.train, epochs=1, steps_per_epoch=steps, verbose=0)
    trained = time.perf_counter() - start
    usage = budget.usage(chapter, profile)
    return {
        "chapter": chapter, "profile": profile, "dataset": spec.dataset, "size": side,
        "cached_at": list(stored), "images": images, "model": name,
        "peak_ram": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,  # Linux: kilobytes
        "cache_disk": folder_bytes(work / "cache"), "data_disk": folder_bytes(root),
        "prepare_s": round(prepared, 1), "train_s": round(trained, 1), "steps": steps,
        "budget_ram": usage.ram, "budget_disk": usage.disk,
    }


def run_one(chapter: str, profile: str, data: Path, out: Path, steps: int, scale: float) -> dict:
    """Run :func:`measure` for one chapter and profile in a child process; return its figures."""
    root = dataset_folder(data, budget.CHAPTERS[chapter].dataset, profile)
    work = out / f"{chapter}-{profile}"
    cmd = [sys.executable, __file__, "--one", chapter, profile, "--root", str(root), "--work", str(work),
           "--steps", str(steps)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "COURSE_BATCH": "1"}
    work.mkdir(parents=True, exist_ok=True)
    log = work / "log.txt"
    with log.open("w") as f:
        code = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
    result_file = work / "result.json"
    if code or not result_file.exists():
        return {"chapter": chapter, "profile": profile, "error": f"exit code {code}; see {log}"}
    return json.loads(result_file.read_text())


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def verdict(result: dict) -> str:
    """``"fits"``, or what does not fit: peak RAM against free Colab's, cache and data files against Kaggle's disk.

    Kaggle mounts a dataset read-only under ``/kaggle/input``; only the odonata photos (built by the course)
    and the cache files land in ``/kaggle/working``.
    """
    if "error" in result:
        return "failed"
    problems = []
    if result["peak_ram"] > budget.COLAB_RAM:
        problems.append("RAM > free Colab")
    written = result["cache_disk"] + (result["data_disk"] if result["dataset"] == "odonata" else 0)
    if written > budget.KAGGLE_DISK:
        problems.append("disk > Kaggle's /kaggle/working")
    return ", ".join(problems) or "fits"


def _gb(n: int) -> str:
    return f"{n / budget.GB:.2f} GB"


def table(results: list[dict]) -> str:
    """The markdown table of every result: measured figures, the computed budget, the verdict."""
    lines = ["| chapter | profile | dataset (images train/val/test) | size, cached at | peak RAM | cache files "
             "| data | prepare | train steps | budget RAM / disk | verdict |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['chapter']} | {r['profile']} | {r['error']} |" + " |" * 8 + " failed |")
            continue
        n = r["images"]
        lines.append(
            f"| {r['chapter']} | {r['profile']} | {r['dataset']} ({n['train']:,}/{n['val']:,}/{n['test']:,}) "
            f"| {r['size']}, {r['cached_at'][0]}x{r['cached_at'][1]} | {_gb(r['peak_ram'])} | {_gb(r['cache_disk'])} "
            f"| {_gb(r['data_disk'])} | {r['prepare_s']} s | {r['steps']} in {r['train_s']} s ({r['model']}) "
            f"| {_gb(r['budget_ram'])} / {_gb(r['budget_disk'])} | {verdict(r)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", nargs="*", default=list(MODELS), help="chapters to rehearse (default: all)")
    parser.add_argument("--profiles", nargs="*", default=list(PROFILES), choices=PROFILES)
    parser.add_argument("--scale", type=float, default=1.0, help="share of the real file counts (default 1)")
    parser.add_argument("--steps", type=int, default=3, help="training steps per run (default 3)")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "rehearsal",
                        help="where the full-size copies are written (kept for the next run)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "rehearsal")
    parser.add_argument("--one", nargs=2, metavar=("CHAPTER", "PROFILE"), help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:  # the child process
        result = measure(*args.one, args.root, args.work, args.steps)
        (args.work / "result.json").write_text(json.dumps(result, indent=1))
        return 0
    unknown = sorted(set(args.chapters) - set(MODELS))
    if unknown:
        parser.error(f"no rehearsal for chapter(s) {unknown}: chapters 01 and 06 cache nothing")
    data = args.data if args.scale == 1 else args.data.with_name(f"{args.data.name}-x{args.scale:g}")
    results = []
    for profile in args.profiles:
        for chapter in args.chapters:
            name = budget.CHAPTERS[chapter].dataset
            start = time.perf_counter()
            folder = generate(data, name, profile, args.scale)
            print(f"{name} ({profile}) ready in {folder} ({time.perf_counter() - start:.0f} s)", flush=True)
            result = run_one(chapter, profile, data, args.out / f"x{args.scale:g}", args.steps, args.scale)
            results.append(result)
            print(f"chapter {chapter} {profile}: {verdict(result)} "
                  f"({'see ' + result['error'] if 'error' in result else _gb(result['peak_ram']) + ' peak RAM'})",
                  flush=True)
    report = table(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "rehearsal.md").write_text(f"Scale {args.scale:g}, {args.steps} training steps, batch {BATCH_SIZE}."
                                           f"\n\n{report}\n")
    (args.out / "rehearsal.json").write_text(json.dumps(results, indent=1))
    print(report)
    print(f"\nWritten to {args.out / 'rehearsal.md'}")
    return 0 if all("error" not in r and verdict(r) == "fits" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
