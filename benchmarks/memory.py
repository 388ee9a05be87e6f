"""Peak memory: Intel's training split as one float32 NumPy array (the articles) vs the course pipeline.

    python benchmarks/memory.py                 # 14,034 JPEGs at 150x150 (Intel's training split)
    python benchmarks/memory.py --images 96     # tiny run (tests)

Each way runs in its own fresh Python process, so neither sees the other's memory. Both processes first
import the same modules (NumPy, Pillow, TensorFlow, ``helpers.pipeline``) and run one TensorFlow op, then
read their peak resident memory (``ru_maxrss``): that is the **baseline**. Then:

- **article**: read every image with Pillow into a list of uint8 arrays, convert the list into ONE
  float32 array ``(n, 150, 150, 3)`` and scale it to [0, 1] in place. This is the thriftiest version of the
  articles' code: their ``x = np.array(images, dtype="float32")`` followed by ``x = x / 255.0`` makes one
  more float32 copy, and ``np.stack`` of float32 images keeps two.
- **course**: ``helpers.pipeline.make_dataset(..., cache=True, shuffle=True)`` iterated for one full epoch,
  so every image is decoded and held in the in-memory uint8 cache (what training reads from epoch 2 on).

The peak after the work, minus the baseline, is the memory the data preparation costs. The last line is
``memory_ratio=<course net / article net>``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from _common import INTEL_SIZE, INTEL_TRAIN_IMAGES, finish, intel_like_folder, list_images, machine, table

MIB = 1024**2


def peak_rss_bytes() -> int:
    """Peak resident memory of this process so far (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def child(kind: str, folder: Path) -> dict:
    """Run one way in this process; returns baseline and peak bytes and what was built."""
    import numpy as np
    import tensorflow as tf
    from PIL import Image

    from helpers.pipeline import make_dataset

    files, labels, _ = list_images(folder)
    float(tf.reduce_sum(tf.constant([1.0, 2.0])))  # start TensorFlow's runtime (threads, allocator) before the baseline
    baseline = peak_rss_bytes()
    start = time.perf_counter()
    if kind == "article":
        images = [np.asarray(Image.open(f).convert("RGB").resize(INTEL_SIZE[::-1])) for f in files]
        x = np.array(images, dtype=np.float32)
        del images
        x /= 255.0
        y = np.array(labels, dtype=np.int32)
        built = f"float32 array {x.shape}, {x.nbytes / MIB:,.0f} MiB; labels {y.shape}"
    elif kind == "course":
        ds = make_dataset(files, labels, image_size=INTEL_SIZE, batch_size=32, shuffle=True, cache=True)
        n = 0
        for images, _labels in ds:
            n += int(images.shape[0])
        cache_mib = n * 3 * INTEL_SIZE[0] * INTEL_SIZE[1] / MIB
        built = f"one epoch of {n:,} images; in-memory uint8 cache of {cache_mib:,.0f} MiB"
    else:
        raise ValueError(kind)
    return {"kind": kind, "baseline": baseline, "peak": peak_rss_bytes(), "seconds": time.perf_counter() - start,
            "built": built}


def measure(kind: str, folder: Path) -> dict:
    """Run :func:`child` in a fresh interpreter and return its report (its last stdout line, JSON)."""
    proc = subprocess.run([sys.executable, __file__, "--child", kind, "--folder", str(folder)],
                          capture_output=True, text=True)
    if proc.returncode:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"The {kind} process failed with exit code {proc.returncode}.")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=INTEL_TRAIN_IMAGES, help="images in the generated folder")
    parser.add_argument("--cache-dir", default=None, help="where the JPEG folder is generated (once)")
    parser.add_argument("--child", choices=["article", "course"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.folder)))
        return 0

    folder = intel_like_folder(args.images, args.cache_dir)
    print(f"Memory benchmark: {args.images:,} JPEGs at {INTEL_SIZE[0]}x{INTEL_SIZE[1]}, each way in its own process"
          f"\nMachine: {machine()}\nData: {folder}\n", flush=True)
    reports = {}
    for kind in ("article", "course"):
        reports[kind] = r = measure(kind, folder)
        print(f"  {kind}: peak {r['peak'] / MIB:,.0f} MiB (baseline {r['baseline'] / MIB:,.0f} MiB) - {r['built']}",
              flush=True)
    rows = [[name, r["baseline"] / MIB, r["peak"] / MIB, (r["peak"] - r["baseline"]) / MIB, r["seconds"]]
            for name, r in (("article (one float32 NumPy array)", reports["article"]),
                            ("course (make_dataset, uint8 memory cache)", reports["course"]))]
    print()
    print(table(["way", "baseline MiB", "peak MiB", "peak - baseline MiB", "seconds"], rows))
    pixels = args.images * INTEL_SIZE[0] * INTEL_SIZE[1] * 3
    print(f"\nFor reference: the pixels take {pixels / MIB:,.0f} MiB as uint8 and {4 * pixels / MIB:,.0f} MiB as "
          "float32.")
    ratio = rows[1][3] / rows[0][3] if rows[0][3] > 0 else float("nan")
    verdict = "met" if ratio <= 0.3 else "NOT met"
    print(f"Course / article (peak - baseline): {ratio:.3f}. Goal: at most 0.3 ({verdict}).")
    finish("memory_ratio", ratio)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
