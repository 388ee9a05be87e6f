"""Near-duplicate images across dataset splits, found with perceptual hashes.

A test image that is a resized, re-compressed, brightened, rotated or mirrored copy of a training
image is not a test of generalisation: the model has seen it. Such *leakage* happens whenever a
dataset is augmented or cropped **before** it is split. This module measures it on any folder
dataset, with no dependency beyond Pillow and NumPy::

    report = duplicates.leakage_report({"train": train_files, "val": val_files, "test": test_files})
    duplicates.leakage_table(report)          # how many images of each split have a twin in an earlier one
    clean_test = [f for i, f in enumerate(test_files) if i not in set(report["leaky"]["test"])]

How it works. A perceptual hash shrinks an image to a tiny grayscale thumbnail and keeps one bit per
thumbnail pixel, so it survives what leaves an image *looking* the same (resizing, JPEG compression,
small changes of brightness or colour) and changes a lot between different images:

- the **difference hash** (dHash, default) resizes to ``(hash_size + 1) x hash_size`` pixels and
  keeps, for each pixel, whether its right-hand neighbour is brighter;
- the **average hash** (aHash) resizes to ``hash_size x hash_size`` and keeps whether each pixel is
  brighter than the mean.

With ``hash_size=8`` a hash is 64 bits, stored as one ``np.uint64``. Two images are near-duplicates
when their hashes differ in at most ``max_distance`` bits (the *Hamming distance*). Unrelated photos
differ in about half of the bits (~32 of 64); copies typically differ in fewer than 5.

With ``variants=True`` each query image is also hashed rotated by 90, 180 and 270 degrees and mirrored
(the 8 symmetries of a square), so rotated and flipped copies are found as well: the distance of a
pair is the smallest over the 8 variants.

Near-duplicates come in groups (one original photo and its edited copies), so a split is only honest
when each group sits in one split. :func:`clusters` groups the images of all splits (two images are in one
cluster when a chain of near-duplicate pairs links them), :func:`cluster_table` counts the clusters that
span splits, and :func:`cluster_leaks` lists the copies to drop from the later splits so that no cluster
spans them any more (chapter 08 audits the mosquito validation and test splits this way)::

    ids = duplicates.clusters(hashes)               # {split: cluster id of each image}
    duplicates.cluster_table(ids)                   # clusters that span splits, and their images per split
    leaks = duplicates.cluster_leaks(ids)           # {"val": [...], "test": [...]}: drop these
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from . import progress

__all__ = [
    "cluster_leaks", "cluster_table", "clusters", "hamming", "hash_bits", "hash_image", "image_hashes",
    "leakage_report", "leakage_table", "near_duplicates", "nearest", "thumbnail",
]

#: The hash methods :func:`hash_image` knows.
_METHODS = ("dhash", "ahash")
#: Hamming distance (of 64 bits) up to which two images count as near-duplicates by default.
_DEFAULT_MAX_DISTANCE = 6
#: File suffixes :func:`find_images` picks up (lower case).
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
#: The 8 symmetries of a square, applied to query images when ``variants=True`` (``None`` = unchanged).
_VARIANTS: tuple[Image.Transpose | None, ...] = (
    None,
    Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_180,
    Image.Transpose.ROTATE_270,
    Image.Transpose.FLIP_LEFT_RIGHT,
    Image.Transpose.FLIP_TOP_BOTTOM,
    Image.Transpose.TRANSPOSE,
    Image.Transpose.TRANSVERSE,
)
# Large JPEGs are decoded at a reduced scale (at least this many pixels a side): much faster, same hash.
_DRAFT_SIDE = 256
# Every image is first averaged down to this square (box filter), then resized to the hash's thumbnail.
_WORK_SIDE = 64
# Elements of the (rows x variants x reference) XOR block computed at once (~32 MB of uint64).
_BLOCK_ELEMENTS = 4_000_000
_POPCOUNT_TABLE = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)

_ImageLike = Image.Image | str | os.PathLike


def hash_image(image: _ImageLike, hash_size: int = 8, method: str = "dhash") -> int:
    """The perceptual hash of one image (a PIL image or a file path) as a Python int.

    Used in chapter 08.

    Args:
        image: A :class:`PIL.Image.Image` or the path of an image file.
        hash_size: Side of the thumbnail; the hash has ``hash_size ** 2`` bits (at most 8, i.e. 64 bits).
        method: ``"dhash"`` (difference hash) or ``"ahash"`` (average hash).
    """
    return int(_hash_variants(image, hash_size, method, (None,))[0])


def thumbnail(image: _ImageLike, hash_size: int = 8, method: str = "dhash") -> np.ndarray:
    """The tiny grayscale image a hash is computed from (uint8, ``(hash_size, hash_size + 1)`` for dHash).

    Used in chapter 08.

    Useful to *see* what the hash sees: fine detail is gone, only the coarse light and dark layout is left.
    """
    _check(hash_size, method)
    gray = _grayscale(image).resize((_WORK_SIDE, _WORK_SIDE), Image.Resampling.BOX)
    return _shrink(gray, hash_size, method)


def hash_bits(image: _ImageLike, hash_size: int = 8, method: str = "dhash") -> np.ndarray:
    """The hash of ``image`` as a ``(hash_size, hash_size)`` grid of booleans (row by row = the bits of the hash).

    Used in chapter 08.
    """
    return _bits(thumbnail(image, hash_size, method), method)


def image_hashes(
    paths: Iterable[str | os.PathLike],
    hash_size: int = 8,
    method: str = "dhash",
    *,
    variants: bool = False,
    workers: int | None = None,
) -> np.ndarray:
    """Hash many image files; returns ``np.uint64`` of shape ``(n,)``, or ``(n, 8)`` with ``variants``.

    Used in chapter 08.

    Column 0 of the variants is the unchanged image, the others its rotations and mirror images (see
    :data:`_VARIANTS`). Files are read in parallel threads (``workers``, default: a few per CPU core);
    the result is in the order of ``paths`` and does not depend on ``workers``.

    Raises:
        ValueError: A file is not a readable image (the message names it).
    """
    _check(hash_size, method)
    paths = [Path(p) for p in paths]
    transforms = _VARIANTS if variants else (None,)

    def one(path: Path) -> np.ndarray:
        return _hash_variants(path, hash_size, method, transforms)

    if not paths:
        return np.zeros((0, len(transforms)) if variants else (0,), dtype=np.uint64)
    workers = workers or min(8, 2 * (os.cpu_count() or 1))
    if workers > 1 and len(paths) > 16:
        with ThreadPoolExecutor(max_workers=workers) as pool:  # Pillow releases the GIL while decoding
            rows = list(progress.track(pool.map(one, paths), desc="Hashing images", unit="image", total=len(paths)))
    else:
        rows = [one(p) for p in progress.track(paths, desc="Hashing images", unit="image")]
    hashes = np.stack(rows)
    return hashes if variants else hashes[:, 0]


def _popcount(x: np.ndarray) -> np.ndarray:
    """Number of set bits of each element of an unsigned integer array (``np.uint8`` result)."""
    x = np.asarray(x)
    if hasattr(np, "bitwise_count"):  # NumPy >= 2.0
        return np.bitwise_count(x).astype(np.uint8)
    as_bytes = np.ascontiguousarray(x).view(np.uint8).reshape(*x.shape, x.dtype.itemsize)
    return _POPCOUNT_TABLE[as_bytes].sum(axis=-1, dtype=np.uint8)


def hamming(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    """Hamming distance between hashes (broadcasting like ``a ^ b``): the number of differing bits.

    Used in chapter 08.
    """
    return _popcount(np.bitwise_xor(np.asarray(a, dtype=np.uint64), np.asarray(b, dtype=np.uint64)))


def nearest(
    query_hashes: np.ndarray, reference_hashes: np.ndarray, *, exclude_self: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """For each query hash, the index of the closest reference hash and its Hamming distance.

    Used in chapter 08.

    ``query_hashes`` may hold variants (shape ``(n, k)``): the distance is the smallest over them.
    Only the unchanged hash (column 0) of a 2-D ``reference_hashes`` is used. With ``exclude_self``
    (query and reference are the same list) an image is not its own nearest neighbour. Where there is no
    candidate (empty reference), the index is -1 and the distance 255.
    """
    query, reference = _as_query(query_hashes), _as_reference(reference_hashes)
    index = np.full(len(query), -1, dtype=np.int64)
    distance = np.full(len(query), 255, dtype=np.uint8)
    if len(reference) == 0:
        return index, distance
    for start, block in _distance_blocks(query, reference, exclude_self):
        rows = slice(start, start + len(block))
        index[rows] = block.argmin(axis=1)
        distance[rows] = block.min(axis=1)
    return index, distance


def near_duplicates(
    query_hashes: np.ndarray,
    reference_hashes: np.ndarray,
    max_distance: int = _DEFAULT_MAX_DISTANCE,
    *,
    exclude_self: bool = False,
) -> list[tuple[int, int, int]]:
    """All pairs ``(i, j, distance)`` with ``hamming(query[i], reference[j]) <= max_distance``.

    Used in chapter 08.

    Sorted by ``i``, then distance, then ``j``. The comparison is every query against every
    reference (O(n * m)), done in vectorised blocks: 10,000 x 4,000 hashes take about a second.
    ``query_hashes`` may hold variants (shape ``(n, k)``; the smallest distance counts). With
    ``exclude_self`` (query and reference are the same list) the pairs ``(i, i)`` are left out.
    """
    if max_distance < 0:
        raise ValueError(f"max_distance must be >= 0, not {max_distance}")
    query, reference = _as_query(query_hashes), _as_reference(reference_hashes)
    pairs: list[tuple[int, int, int]] = []
    if len(reference) == 0:
        return pairs
    for start, block in _distance_blocks(query, reference, exclude_self):
        rows, cols = np.nonzero(block <= max_distance)
        dists = block[rows, cols]
        order = np.lexsort((cols, dists, rows))
        pairs.extend(zip((rows[order] + start).tolist(), cols[order].tolist(), dists[order].tolist(), strict=True))
    return pairs


def leakage_report(
    files_by_split: Mapping[str, Sequence[str | os.PathLike]],
    *,
    max_distance: int = _DEFAULT_MAX_DISTANCE,
    hash_size: int = 8,
    method: str = "dhash",
    variants: bool = True,
    hashes: Mapping[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Measure near-duplicates within each split and between each split and the splits before it.

    Used in chapter 08.

    Args:
        files_by_split: Image paths per split, in order (e.g. ``{"train": ..., "val": ..., "test": ...}``,
            which is what ``datasets.load(...).files`` holds). Each split is compared with every split
            *before* it: validation with training, test with training and validation.
        max_distance: Largest Hamming distance (of ``hash_size ** 2`` bits) that counts as a near-duplicate.
        hash_size, method: See :func:`hash_image`.
        variants: Also catch rotated and mirrored copies (see :data:`_VARIANTS`).
        hashes: Precomputed :func:`image_hashes` per split (with the same ``variants``), to skip hashing.

    Returns:
        A dict with
        ``settings`` (the arguments above), ``images`` (``{split: count}``),
        ``within`` (``{split: images that have a near-twin elsewhere in the same split}``),
        ``across`` (``{split: {earlier split: images that have a near-twin in it}}``),
        ``leaky`` (``{split: sorted indices of its images with a near-twin in any earlier split}``: drop
        them to get a de-duplicated split) and ``nearest`` (``{split: {"split", "index", "distance"}}``:
        for every image of a later split, its closest image in the earlier splits, as arrays).
    """
    splits = list(files_by_split)
    if hashes is None:
        hashes = {s: image_hashes(files_by_split[s], hash_size, method, variants=variants) for s in splits}
    report: dict[str, Any] = {
        "settings": {"method": method, "hash_size": hash_size, "bits": hash_size**2,
                     "max_distance": max_distance, "variants": variants},
        "images": {s: len(files_by_split[s]) for s in splits},
        "within": {}, "across": {}, "leaky": {}, "nearest": {},
    }
    for k, split in enumerate(splits):
        query = hashes[split]
        twins = {i for i, _, _ in near_duplicates(query, query, max_distance, exclude_self=True)}
        report["within"][split] = len(twins)
        if k == 0:
            continue
        best_split = np.full(len(query), "", dtype=object)
        best_index = np.full(len(query), -1, dtype=np.int64)
        best_distance = np.full(len(query), hash_size**2 + 1, dtype=np.int64)
        report["across"][split] = {}
        for earlier in splits[:k]:
            index, distance = nearest(query, hashes[earlier])
            report["across"][split][earlier] = int((distance <= max_distance).sum())
            closer = distance < best_distance
            best_split[closer], best_index[closer], best_distance[closer] = earlier, index[closer], distance[closer]
        report["leaky"][split] = np.flatnonzero(best_distance <= max_distance).tolist()
        report["nearest"][split] = {"split": best_split, "index": best_index, "distance": best_distance}
    return report


def leakage_table(report: Mapping[str, Any]) -> Any:
    """The counts of a :func:`leakage_report` as a pandas DataFrame, one row per split.

    Used in chapter 08.
    """
    import pandas as pd

    splits = list(report["images"])
    rows = []
    for k, split in enumerate(splits):
        n = report["images"][split]
        row: dict[str, Any] = {"split": split, "images": n, "twin in same split": report["within"][split]}
        for earlier in splits[:-1]:
            row[f"twin in {earlier}"] = report["across"].get(split, {}).get(earlier) if earlier in splits[:k] else None
        leaky = len(report["leaky"].get(split, [])) if k else None
        row["twin in an earlier split"] = leaky
        row["share"] = None if leaky is None or n == 0 else round(leaky / n, 4)
        rows.append(row)
    table = pd.DataFrame(rows).set_index("split")
    counts = [c for c in table.columns if c != "share"]  # nullable integers: empty cells show as <NA>, not NaN
    return table.astype({**dict.fromkeys(counts, "Int64"), "share": "Float64"})


def clusters(hashes: Mapping[str, np.ndarray], max_distance: int = _DEFAULT_MAX_DISTANCE) -> dict[str, np.ndarray]:
    """Group the images of all splits into clusters of near-duplicates; one cluster id per image.

    Two images share a cluster when a chain of near-duplicate pairs (each at most ``max_distance`` bits
    apart, within a split or across splits) links them: typically one original photo and its edited
    copies. An image with no near-duplicate is a cluster of its own. Chapter 08 uses the clusters to audit
    the validation and test splits (:func:`cluster_leaks`).

    Args:
        hashes: :func:`image_hashes` per split, in split order, all with or all without ``variants``
            (with variants, rotated and mirrored copies are linked too).
        max_distance: Largest Hamming distance that links two images.

    Returns:
        ``{split: np.int64 array}``, the cluster id of each image of that split. Ids are shared across
        splits and numbered from 0 in order of first appearance (split order, then image order).
    """
    if max_distance < 0:
        raise ValueError(f"max_distance must be >= 0, not {max_distance}")
    splits = list(hashes)
    queries = [_as_query(hashes[s]) for s in splits]
    if len({q.shape[1] for q in queries}) > 1:
        raise ValueError("Give every split's hashes with variants, or every split's without.")
    query = np.concatenate(queries) if queries else np.zeros((0, 1), dtype=np.uint64)
    rows, cols = [], []
    for start, block in _distance_blocks(query, query[:, 0], exclude_self=True):
        r, c = np.nonzero(block <= max_distance)
        rows.append(r + start)
        cols.append(c)
    label = _components(len(query), np.concatenate(rows or [[]]).astype(np.int64),
                        np.concatenate(cols or [[]]).astype(np.int64))
    ids = np.unique(label, return_inverse=True)[1].astype(np.int64).reshape(-1)
    bounds = np.cumsum([0, *(len(q) for q in queries)])
    return {s: ids[bounds[k]:bounds[k + 1]] for k, s in enumerate(splits)}


def cluster_leaks(cluster_ids: Mapping[str, np.ndarray]) -> dict[str, list[int]]:
    """The copies to drop so that no cluster spans splits: for each split after the first, its leaking images.

    Used in chapter 08.

    An image leaks when its cluster (:func:`clusters`) also holds an image of an earlier split: a
    validation image whose cluster reaches into training, a test image whose cluster reaches into
    training or validation. Dropping them keeps the first split (training) whole, so the models trained
    on it need no retraining; their validation and test figures are then computed on images none of
    whose near-copies they saw.

    Returns:
        ``{split: sorted indices into that split}`` for every split but the first.
    """
    splits = list(cluster_ids)
    leaks: dict[str, list[int]] = {}
    for k, split in enumerate(splits[1:], start=1):
        earlier = np.concatenate([np.asarray(cluster_ids[s]) for s in splits[:k]])
        leaks[split] = np.flatnonzero(np.isin(cluster_ids[split], earlier)).tolist()
    return leaks


def cluster_table(cluster_ids: Mapping[str, np.ndarray]) -> Any:
    """The clusters that span more than one split, as a pandas DataFrame, one row per combination of splits.

    Used in chapter 08.

    Columns: ``clusters`` (how many span exactly those splits) and, per split, how many of its images
    those clusters hold. Empty (no rows) when every cluster stays in one split.
    """
    import pandas as pd

    splits = list(cluster_ids)
    members: dict[int, dict[str, int]] = {}
    for split in splits:
        for cluster, count in zip(*np.unique(np.asarray(cluster_ids[split]), return_counts=True), strict=True):
            members.setdefault(int(cluster), {})[split] = int(count)
    rows: dict[str, dict[str, int]] = {}
    for per_split in members.values():
        if len(per_split) < 2:
            continue
        row = rows.setdefault(" + ".join(s for s in splits if s in per_split),
                              {"clusters": 0, **{f"images in {s}": 0 for s in splits}})
        row["clusters"] += 1
        for split, count in per_split.items():
            row[f"images in {split}"] += count
    columns = ["clusters", *(f"images in {s}" for s in splits)]
    order = sorted(rows, key=lambda name: (name.count("+"), [splits.index(s) for s in name.split(" + ")]))
    return pd.DataFrame([rows[name] for name in order], index=pd.Index(order, name="splits spanned"),
                        columns=columns, dtype="int64")


def _components(n: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Connected components of the graph with ``n`` nodes and edges ``rows[i] - cols[i]``: each node's smallest member.

    Labels start as the node's own index and only ever fall to the smallest label across an edge (then
    follow chains of labels to their end), so at the end every edge joins two equal labels and each
    label is the smallest node of its component. NumPy only, a few passes over the edges.
    """
    label = np.arange(n)
    while True:
        low = np.minimum(label[rows], label[cols])
        new = label.copy()
        for ends in (rows, cols, label[rows], label[cols]):  # the ends of each edge, and the nodes their labels name
            np.minimum.at(new, ends, low)
        while not np.array_equal(new[new], new):  # follow labels to the end of their chain
            new = new[new]
        if np.array_equal(new, label):
            return label
        label = new


def _find_images(folder: str | os.PathLike) -> list[Path]:
    """All image files under ``folder`` (recursively, by suffix, hidden files skipped), sorted."""
    root = Path(folder)
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES and not p.name.startswith("."))


def _check(hash_size: int, method: str) -> None:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, not {method!r}")
    if not 2 <= hash_size <= 8:
        raise ValueError(f"hash_size must be between 2 and 8 (a hash of at most 64 bits), not {hash_size}")


def _hash_variants(image: _ImageLike, hash_size: int, method: str,
                   transforms: Sequence[Image.Transpose | None]) -> np.ndarray:
    """Hashes of ``image`` under each of ``transforms``, as ``np.uint64`` of shape ``(len(transforms),)``."""
    _check(hash_size, method)
    gray = _grayscale(image).resize((_WORK_SIDE, _WORK_SIDE), Image.Resampling.BOX)
    bits = [_bits(_shrink(gray if t is None else gray.transpose(t), hash_size, method), method) for t in transforms]
    return _pack(np.stack(bits).reshape(len(transforms), -1))


def _shrink(gray: Image.Image, hash_size: int, method: str) -> np.ndarray:
    """The hash's grayscale thumbnail: (hash_size, hash_size + 1) pixels for dHash, square for aHash."""
    width = hash_size + 1 if method == "dhash" else hash_size
    return np.asarray(gray.resize((width, hash_size), Image.Resampling.LANCZOS), dtype=np.uint8)


def _bits(pixels: np.ndarray, method: str) -> np.ndarray:
    """dHash: is the right-hand neighbour brighter? aHash: is the pixel brighter than the mean?"""
    pixels = pixels.astype(np.int16)
    return pixels[:, 1:] > pixels[:, :-1] if method == "dhash" else pixels > pixels.mean()


def _grayscale(image: _ImageLike) -> Image.Image:
    """The image as 8-bit grayscale ("L"), decoding large JPEG files at a reduced scale."""
    if isinstance(image, Image.Image):
        return image.convert("L")
    try:
        with Image.open(image) as im:
            im.draft("L", (_DRAFT_SIDE, _DRAFT_SIDE))  # JPEG only: decode at 1/2, 1/4 or 1/8 scale if large
            return im.convert("L")
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"{image}: not a readable image ({err})") from err


def _pack(bits: np.ndarray) -> np.ndarray:
    """Rows of up to 64 bits (first bit most significant) to ``np.uint64``."""
    n, width = bits.shape
    padded = np.zeros((n, 64), dtype=bool)
    padded[:, 64 - width:] = bits
    return np.packbits(padded, axis=1).view(">u8").astype(np.uint64).reshape(n)


def _as_query(hashes: np.ndarray) -> np.ndarray:
    """Query hashes as ``(n, k)`` uint64 (k variants per image, k = 1 without variants)."""
    hashes = np.asarray(hashes, dtype=np.uint64)
    return hashes.reshape(-1, 1) if hashes.ndim == 1 else hashes


def _as_reference(hashes: np.ndarray) -> np.ndarray:
    """Reference hashes as ``(m,)`` uint64: the unchanged image's hash (column 0 of variants)."""
    hashes = np.asarray(hashes, dtype=np.uint64)
    return hashes[:, 0] if hashes.ndim == 2 else hashes.reshape(-1)


def _distance_blocks(query: np.ndarray, reference: np.ndarray, exclude_self: bool):
    """Yield ``(first row, distances)`` blocks of the ``(n, m)`` smallest-over-variants distance matrix.

    With ``exclude_self`` the diagonal gets a distance larger than any real one.
    """
    n, k = query.shape
    m = len(reference)
    rows = max(1, _BLOCK_ELEMENTS // max(1, k * m))
    for start in range(0, n, rows):
        block = hamming(query[start:start + rows, :, None], reference[None, None, :]).min(axis=1)
        if exclude_self:
            i = np.arange(start, min(start + rows, n))
            keep = i < m
            block[(i - start)[keep], i[keep]] = 255
        yield start, block
