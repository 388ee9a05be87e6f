"""Fast ``tf.data`` input pipelines.

The recipe, and why:

1. **Decode and resize each image once**, in parallel (``num_parallel_calls=AUTOTUNE``).
2. **Cache the result as uint8** at the training size: a quarter of the memory of float32, and later
   epochs skip the JPEG decoding entirely. Small datasets are cached in memory, large ones in a file.
3. **Shuffle after the cache** (a fresh order every epoch), then **batch** and only then convert to
   float32, one batch at a time.
4. **Prefetch** so the accelerator never waits for the next batch.

Augmentation is not done here: it belongs inside the model (``keras.layers.Random*``), where it runs
on the GPU, in batches, and only while training.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE
#: Above this many bytes of uint8 pixels, ``cache="auto"`` writes the cache to a file instead of memory.
MEMORY_CACHE_LIMIT = 3 * 1024**3
#: Shuffle buffer used after the cache (elements); the file order is also shuffled once up front.
SHUFFLE_BUFFER = 4096


def decode_image(path: tf.Tensor, image_size: tuple[int, int]) -> tf.Tensor:
    """Read one image file, decode it as RGB and resize it to ``image_size``; returns uint8 ``(h, w, 3)``.

    Grayscale, RGBA, palette and CMYK images all come out as 3-channel RGB.
    """
    data = tf.io.read_file(path)
    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    already = tf.reduce_all(tf.equal(tf.shape(image)[:2], tf.constant(image_size, dtype=tf.int32)))
    image = tf.cond(already, lambda: image, lambda: _resize(image, image_size))  # most files: no resize needed
    image.set_shape([*image_size, 3])  # tf.cond forgets the static shape; models need it
    return image


def _resize(image: tf.Tensor, image_size: tuple[int, int]) -> tf.Tensor:
    resized = tf.image.resize(image, image_size, antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def cache_bytes(n_images: int, image_size: tuple[int, int]) -> int:
    """Bytes a uint8 cache of ``n_images`` RGB images at ``image_size`` takes."""
    return n_images * image_size[0] * image_size[1] * 3


def choose_cache(files: Sequence[str | os.PathLike], image_size: tuple[int, int], cache_dir: str | Path | None,
                 tag: str) -> str:
    """``""`` (memory cache) for datasets that fit comfortably, else a cache file path under ``cache_dir``.

    The file name holds a fingerprint of the file list and the image size, so a cache made from other
    data or at another size is never read by mistake.
    """
    if cache_bytes(len(files), image_size) <= MEMORY_CACHE_LIMIT or cache_dir is None:
        return ""
    folder = Path(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1("\n".join(map(str, files)).encode()).hexdigest()[:12]
    path = folder / f"{tag}-{image_size[0]}x{image_size[1]}-{len(files)}-{digest}.tfcache"
    reset_incomplete_cache(path)
    return str(path)


def reset_incomplete_cache(path: str | Path) -> None:
    """Delete the pieces of a file cache whose first pass never finished (no ``.index`` file).

    TensorFlow writes the index last; an interrupted first epoch leaves data and a lock file behind
    that would make the next run fail with "cache lockfile already exists".
    """
    path = Path(path)
    if not Path(f"{path}.index").exists():
        for piece in path.parent.glob(f"{path.name}*"):
            piece.unlink()


def make_dataset(
    files: Sequence[str | os.PathLike],
    labels: Sequence[int],
    *,
    image_size: tuple[int, int],
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    cache: bool | str = True,
) -> tf.data.Dataset:
    """Build a batched dataset of ``(float32 images in [0, 255], int32 labels)`` from file paths.

    Args:
        files: Image paths.
        labels: Integer class index of each path.
        image_size: ``(height, width)`` every image is resized to.
        batch_size: Images per batch; the last batch may be smaller.
        shuffle: Shuffle the order (once up front, and again every epoch). Use for training only.
        seed: Makes shuffling reproducible.
        cache: ``True`` caches decoded uint8 images in memory, a string caches them in that file,
            ``False`` decodes every epoch (only useful to measure how much the cache saves).
    """
    if len(files) != len(labels):
        raise ValueError(f"{len(files)} files but {len(labels)} labels")
    paths = np.array([str(f) for f in files], dtype=object)
    targets = np.asarray(labels, dtype=np.int32)
    if shuffle:  # mix classes before caching, so the small post-cache buffer still sees every class
        order = np.random.default_rng(seed).permutation(len(paths))
        paths, targets = paths[order], targets[order]
    ds = tf.data.Dataset.from_tensor_slices((paths.astype(str), targets))
    ds = ds.map(lambda p, y: (decode_image(p, image_size), y), num_parallel_calls=AUTOTUNE)
    if cache is not False:
        ds = ds.cache("" if cache is True else str(cache))
    if shuffle:
        ds = ds.shuffle(min(len(paths), SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE)


def stratified_split(labels: Sequence[int], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(keep, held_out)`` with about ``fraction`` of every class held out.

    Used to carve a validation set out of a training folder with the same class balance. Every class
    with at least two images keeps at least one image on each side.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1, not {fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        k = int(round(len(idx) * fraction))
        if len(idx) >= 2:
            k = min(max(k, 1), len(idx) - 1)
        held.append(idx[:k])
    held_idx = np.sort(np.concatenate(held)) if held else np.array([], dtype=int)
    keep_idx = np.setdiff1d(np.arange(len(labels)), held_idx)
    return keep_idx, held_idx
