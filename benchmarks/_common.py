"""Shared pieces of the benchmark scripts: quiet TensorFlow, the generated Intel-like JPEG folder,
machine description, tables and the final ``name=value`` line.

Every benchmark prints a readable table and ends its standard output with exactly one line
``name=value`` (``value`` parses with ``float()``; ``nan`` means "not measured here").
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import sys
import time
from collections.abc import Sequence
from multiprocessing import Pool
from pathlib import Path

# Quiet TensorFlow before anything imports it (see /work/shared/notes/tooling-facts.md).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python benchmarks/x.py` from anywhere, with or without the editable install
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

#: Intel Image Classification's training folder (seg_train): images per class, 14,034 in all.
INTEL_CLASSES = {"buildings": 2191, "forest": 2271, "glacier": 2404, "mountain": 2512, "sea": 2274, "street": 2382}
INTEL_TRAIN_IMAGES = sum(INTEL_CLASSES.values())
INTEL_SIZE = (150, 150)
#: Bump when the generated images change, so old folders are regenerated instead of reused.
GENERATOR_VERSION = 2
MARKER = "BENCH_DATA.json"


def default_cache_dir() -> Path:
    """``$COURSE_DATA_HOME/bench``, by default ``~/.cache/cnn-course/bench``."""
    from helpers.datasets import data_home  # no TensorFlow import

    return data_home() / "bench"


def class_counts(n_images: int) -> dict[str, int]:
    """``n_images`` spread over Intel's six classes in Intel's proportions (exact for 14,034)."""
    if n_images < len(INTEL_CLASSES):
        raise ValueError(f"need at least {len(INTEL_CLASSES)} images (one per class), not {n_images}")
    shares = {c: n * n_images / INTEL_TRAIN_IMAGES for c, n in INTEL_CLASSES.items()}
    counts = {c: max(1, int(s)) for c, s in shares.items()}
    by_remainder = sorted(shares, key=lambda c: shares[c] - int(shares[c]), reverse=True)
    i = 0
    while sum(counts.values()) < n_images:
        counts[by_remainder[i % len(by_remainder)]] += 1
        i += 1
    while sum(counts.values()) > n_images:
        biggest = max(counts, key=counts.get)
        counts[biggest] -= 1
    return counts


def _smooth_image(seed: int, size: tuple[int, int]) -> Image.Image:
    """A random smooth RGB image (two octaves of upsampled noise plus fine grain), like a blurry photo."""
    rng = np.random.default_rng(seed)
    h, w = size
    coarse = Image.fromarray(rng.integers(0, 256, (5, 5, 3), dtype=np.uint8)).resize((w, h), Image.BICUBIC)
    middle = Image.fromarray(rng.integers(0, 256, (19, 19, 3), dtype=np.uint8)).resize((w, h), Image.BICUBIC)
    smooth = np.asarray(Image.blend(coarse, middle, 0.3), np.int16)
    grain = rng.integers(-6, 7, (h, w, 3), dtype=np.int16)
    return Image.fromarray(np.clip(smooth + grain, 0, 255).astype(np.uint8))


def _write_one(job: tuple[str, int, int, int]) -> None:
    path, seed, h, w = job
    _smooth_image(seed, (h, w)).save(path, quality=90)


def intel_like_folder(n_images: int = INTEL_TRAIN_IMAGES, cache_dir: str | os.PathLike | None = None,
                      size: tuple[int, int] = INTEL_SIZE, processes: int | None = None) -> Path:
    """A folder ``<class>/<n>.jpg`` of ``n_images`` JPEGs (quality 90) shaped like Intel's training split.

    Generated once (in parallel) under ``cache_dir`` (default :func:`default_cache_dir`) as ``intel_like``
    for the real size and ``intel_like_<n>`` otherwise; later calls reuse it when its marker file matches.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    suffix = "" if (n_images, tuple(size)) == (INTEL_TRAIN_IMAGES, INTEL_SIZE) else f"_{n_images}_{size[0]}x{size[1]}"
    folder = cache / f"intel_like{suffix}"
    spec = {"images": n_images, "size": list(size), "classes": class_counts(n_images), "version": GENERATOR_VERSION}
    marker = folder / MARKER
    if marker.exists() and json.loads(marker.read_text()) == spec:
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    jobs = []
    for c, (name, count) in enumerate(spec["classes"].items()):
        (folder / name).mkdir(parents=True)
        jobs += [(str(folder / name / f"{i}.jpg"), c * 1_000_003 + i, size[0], size[1]) for i in range(count)]
    start = time.perf_counter()
    with Pool(processes or os.cpu_count() or 1) as pool:
        pool.map(_write_one, jobs, chunksize=64)
    marker.write_text(json.dumps(spec))
    print(f"Generated {n_images:,} JPEGs in {folder} ({time.perf_counter() - start:.1f} s, reused next time)",
          flush=True)
    return folder


def list_images(folder: Path) -> tuple[list[str], list[int], list[str]]:
    """``(files, labels, class_names)`` of a class-folder tree, classes in alphabetical order."""
    class_names = sorted(p.name for p in folder.iterdir() if p.is_dir())
    files, labels = [], []
    for label, name in enumerate(class_names):
        for path in sorted((folder / name).glob("*.jpg"), key=lambda p: (len(p.name), p.name)):
            files.append(str(path))
            labels.append(label)
    return files, labels, class_names


def machine() -> str:
    """One line describing where the benchmark ran, with the current load average."""
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"
            f", load average {load}, {time.strftime('%Y-%m-%d %H:%M')}")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table with aligned columns (numbers right-aligned)."""
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(isinstance(row[i], int | float) for row in rows) for i in range(len(headers))]

    def line(r: list[str]) -> str:
        return "| " + " | ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(r, widths, numeric,
                                                                                     strict=True)) + " |"

    sep = "| " + " | ".join(("-" * (w - 1) + ":") if num else "-" * w for w, num in zip(widths, numeric,
                                                                                         strict=True)) + " |"
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])


def _fmt(v: object) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def result_line(name: str, value: float) -> str:
    """The final ``name=value`` line (``nan`` when not measured)."""
    if not name.isidentifier():
        raise ValueError(f"not a valid result name: {name!r}")
    value = float(value)
    return f"{name}=nan" if math.isnan(value) else f"{name}={value:.4g}"


def finish(name: str, value: float) -> None:
    """Print the final line, flushing everything printed before it."""
    sys.stdout.flush()
    sys.stderr.flush()
    print(result_line(name, value), flush=True)
