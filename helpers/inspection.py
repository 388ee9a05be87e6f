"""Look at a dataset before training on it: native image sizes, odd files, and images picked from a pipeline.

Image datasets are rarely as uniform as their description says (Intel's "150x150" scenes include
shorter images and one 500x374 photo). These helpers make that visible cheaply::

    sizes = inspection.read_sizes(data.files["train"])      # header only: fast on 10,000s of files
    inspection.size_table(sizes)                              # how many images of each size
    odd = inspection.odd_sizes(sizes, expected=(150, 150))    # the files that differ
    inspection.native_grid(odd["path"][:4])                   # shown at their true relative size

:func:`images_at` picks a few images out of a batched, unshuffled ``tf.data`` pipeline by position
(e.g. the misclassified test images) without holding the whole split in memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from PIL import Image

from . import progress


def read_sizes(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """Native ``width`` and ``height`` of every image file, read from the file header only.

    Used in chapters 02 and 09.

    Pillow's ``Image.open`` is lazy: it parses the header and decodes no pixels, so this takes
    milliseconds per thousand files on a local disk.

    Returns:
        A DataFrame with columns ``path`` (str), ``width`` and ``height`` (int), one row per file,
        in the order given.
    """
    rows = []
    for path in progress.track(paths, desc="Reading image sizes", unit="image"):
        with Image.open(path) as im:
            width, height = im.size
        rows.append((str(path), int(width), int(height)))
    return pd.DataFrame(rows, columns=["path", "width", "height"]).astype({"width": int, "height": int})


def size_table(sizes: pd.DataFrame) -> pd.DataFrame:
    """How many images have each native size, most common first.

    Used in chapters 02 and 09.

    Args:
        sizes: The output of :func:`read_sizes`.

    Returns:
        A DataFrame with columns ``size`` (``"WxH"``, width first as image tools print it), ``width``,
        ``height``, ``images`` and ``share`` (fraction of all images, rounded to 4 decimals). Ties are
        ordered by width then height, so the table is the same on every run.
    """
    if sizes.empty:
        return pd.DataFrame(columns=["size", "width", "height", "images", "share"])
    counts = sizes.groupby(["width", "height"]).size().reset_index(name="images")
    counts = counts.sort_values(["images", "width", "height"], ascending=[False, True, True], kind="stable")
    counts.insert(0, "size", [f"{w}x{h}" for w, h in zip(counts["width"], counts["height"], strict=True)])
    counts["share"] = (counts["images"] / len(sizes)).round(4)
    return counts.reset_index(drop=True)


def odd_sizes(sizes: pd.DataFrame, expected: tuple[int, int]) -> pd.DataFrame:
    """The rows of ``sizes`` whose image is not ``expected`` = ``(height, width)``, largest area first.

    Used in chapter 02.

    ``expected`` is ``(height, width)`` like every image size in the course (and Keras); the table's
    columns say ``width`` and ``height`` explicitly. Ties keep the input order.
    """
    height, width = expected
    odd = sizes[(sizes["width"] != width) | (sizes["height"] != height)]
    area = odd["width"] * odd["height"]
    return odd.iloc[np.argsort(-area.to_numpy(), kind="stable")].reset_index(drop=True)


def native_grid(
    paths: Sequence[str | os.PathLike],
    titles: Sequence[str] | None = None,
    inches_per_pixel: float = 0.01,
) -> Figure:
    """Show a handful of image files side by side at their native pixel size, all on one scale.

    Used in chapter 02.

    Nothing is resized for display: each panel is as wide as its image and every panel spans the
    tallest image's height, so a 500x374 photo looks bigger than a 150x150 one and a 150x113 one
    looks shorter. Panels are titled ``"WxH"`` (width first, as image viewers print sizes) and the
    file name, unless ``titles`` are given.

    Args:
        paths: Image files (any format Pillow reads), shown in one row, converted to RGB.
        titles: One title per image.
        inches_per_pixel: Figure scale; the default draws 150 pixels as 1.5 inches.
    """
    if len(paths) == 0:
        raise ValueError("No images to show.")
    images = []
    for path in paths:
        with Image.open(path) as im:
            images.append(np.asarray(im.convert("RGB")))
    if titles is None:
        titles = [f"{im.shape[1]}x{im.shape[0]}\n{Path(p).name}" for im, p in zip(images, paths, strict=True)]
    if len(titles) != len(images):
        raise ValueError(f"{len(titles)} titles for {len(images)} images.")
    widths = [im.shape[1] for im in images]
    max_h = max(im.shape[0] for im in images)
    gap = 20  # pixels between panels
    fig = Figure(figsize=((sum(widths) + gap * len(images)) * inches_per_pixel + 0.3,
                          max_h * inches_per_pixel + 0.9), layout="constrained")
    axes = fig.subplots(1, len(images), squeeze=False, gridspec_kw={"width_ratios": widths})[0]
    for ax, image, title in zip(axes, images, titles, strict=True):
        h, w = image.shape[:2]
        ax.imshow(image, extent=(0, w, h, 0))
        ax.set_xlim(0, w)
        ax.set_ylim(max_h, 0)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_title(title, fontsize=9)
    return fig


def images_at(dataset: Any, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The images and labels at positions ``indices`` of a batched ``(images, labels)`` dataset.

    Used in chapters 02, 05, 06, 07 and 09; chapter 04 calls it as explain.images_at.

    The dataset is read once, in order, and only the wanted images are kept, so this works on a
    whole test split without holding it in memory. Use it only on an **unshuffled** pipeline
    (validation or test): on a shuffled one, positions change every time it is read.

    Returns:
        ``(images, labels)`` as NumPy arrays, in the order of ``indices`` (repeats allowed).

    Raises:
        IndexError: an index is negative or not smaller than the number of examples.
    """
    wanted = [int(i) for i in indices]
    if not wanted:
        raise ValueError("No indices given.")
    if min(wanted) < 0:
        raise IndexError("Indices must be non-negative positions in the dataset.")
    found: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    targets = set(wanted)
    start = 0
    for batch in dataset:
        images, labels = np.asarray(batch[0]), np.asarray(batch[1])
        stop = start + len(images)
        for i in targets.intersection(range(start, stop)):
            found[i] = (images[i - start], labels[i - start])
        start = stop
        if len(found) == len(targets):
            break
    missing = sorted(targets - set(found))
    if missing:
        raise IndexError(f"The dataset holds {start} examples; no example at position(s) {missing[:5]}.")
    return np.stack([found[i][0] for i in wanted]), np.stack([found[i][1] for i in wanted])
