"""Fast ``tf.data`` input pipelines.

The recipe, and why:

1. **Decode and resize each image once**, in parallel (``num_parallel_calls=AUTOTUNE``).
2. **Cache the result as uint8** at the *cache size*: the smaller of the images' native size and the
   training size (:func:`cache_size`). uint8 takes a quarter of the memory of float32, and later epochs
   skip the JPEG decoding entirely. Enlarging before the cache would only store more bytes of the same
   picture: Fruits-360's 100x100 images cached at 299x299 take 8.9 times the space (24 GB, not 2.7).
   Small datasets are cached in memory, large ones in a file.
3. **Shuffle after the cache** (a fresh order every epoch), then **batch** and only then convert to
   float32, one batch at a time; images cached below the training size are **enlarged after the cache**,
   batch by batch, exactly as they would have been before it.
4. **Prefetch** so the accelerator never waits for the next batch.

Enlarging in ``tf.data`` runs on the CPU. A chapter that trains at a size larger than the data's own
(chapter 07: 100x100 fruit at 299x299) asks for batches at the cache size instead and enlarges them in
the model's first layer (:func:`resize_in_model`), on the accelerator. Augmentation is not done here
either: it belongs inside the model (``keras.layers.Random*``), where it runs on the GPU, in batches,
and only while training.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .photos import decode_photo

_AUTOTUNE = tf.data.AUTOTUNE
#: Above this many bytes of uint8 pixels, ``cache="auto"`` writes the cache to a file instead of memory.
MEMORY_CACHE_LIMIT = 3 * 1024**3
#: Shuffle buffer used after the cache (elements); the file order is also shuffled once up front.
SHUFFLE_BUFFER = 4096
#: The file lists of the last datasets :func:`make_dataset` built in this process, newest last: where
#: :func:`unreadable_images_error` looks for the file that stopped an epoch.
_RECENT_FILES: deque[tuple[str, ...]] = deque(maxlen=32)


def decode_image(path: tf.Tensor, image_size: tuple[int, int]) -> tf.Tensor:
    """Read one image file as a photo viewer shows it and resize it to ``image_size``; returns uint8 ``(h, w, 3)``.

    Every chapter decodes its images with it (through make_dataset); chapters 04, 05, 07, 08 and 09 also call it
    directly.

    Decoding is :func:`helpers.photos.decode_photo`: EXIF orientation applied, colours with an ICC
    profile converted to sRGB, transparency over white, grayscale, palette, CMYK, YCCK and 16-bit
    files as RGB, HEIC and AVIF through Pillow when its plugins are there (else a
    :class:`helpers.photos.PhotoError` naming the file). Tidy JPEGs stay on TensorFlow's decoder.
    """
    image = decode_photo(tf.io.read_file(path), path, image_size)
    already = tf.reduce_all(tf.equal(tf.shape(image)[:2], tf.constant(image_size, dtype=tf.int32)))
    image = tf.cond(already, lambda: image, lambda: _resize(image, image_size))  # most files: no resize needed
    image.set_shape([*image_size, 3])  # tf.cond forgets the static shape; models need it
    return image


def _resize(image: tf.Tensor, image_size: tuple[int, int]) -> tf.Tensor:
    resized = tf.image.resize(image, image_size, antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def cache_size(native: tuple[int, int] | None, image_size: tuple[int, int]) -> tuple[int, int]:
    """The ``(height, width)`` images are cached at: the smaller of their native size and ``image_size``.

    The one rule for every cache of the course (``datasets.load``, chapter 07, the cache budget in
    :mod:`helpers.budget`). Each side is the smaller of the two, so the cache never holds more pixels
    than the images have, nor more than training needs: Fruits-360 (native 100x100) trained at 299x299
    is cached at 100x100, Intel (150x150) trained at 64x64 at 64x64. What is cached smaller than
    ``image_size`` is enlarged after the cache (:func:`make_dataset`, or :func:`resize_in_model`).

    Args:
        native: The size of the dataset's images (``DatasetInfo.image_size``), or ``None`` when sizes
            vary (Food-5K, odonata, your own photos): images must share one size before they can be
            batched, so they are cached at ``image_size``.
        image_size: The training size.
    """
    height, width = (int(side) for side in image_size)
    if native is None:
        return height, width
    return min(int(native[0]), height), min(int(native[1]), width)


def cache_bytes(n_images: int, image_size: tuple[int, int], dtype: str = "uint8") -> int:
    """Bytes a cache of ``n_images`` RGB images at ``image_size`` takes (uint8 pixels unless ``dtype`` says).

    Chapter 07 sizes its caches with it; helpers.budget's figures use it too.
    """
    return n_images * image_size[0] * image_size[1] * 3 * np.dtype(dtype).itemsize


def in_memory(n_images: int, image_size: tuple[int, int]) -> bool:
    """Whether :func:`choose_cache` keeps a uint8 cache of ``n_images`` at ``image_size`` in memory.

    In every chapter, the cache choice goes through it (choose_cache); helpers.budget's figures use it too.
    """
    return cache_bytes(n_images, image_size) <= MEMORY_CACHE_LIMIT


def choose_cache(files: Sequence[str | os.PathLike], image_size: tuple[int, int], cache_dir: str | Path | None,
                 tag: str) -> str:
    """``""`` (memory cache) for datasets that fit comfortably, else a cache file path under ``cache_dir``.

    Every chapter's datasets.load picks its cache with it; chapter 07 calls it directly.

    ``image_size`` is the size the images are *cached* at (:func:`cache_size`), which can be smaller
    than the training size. The file name holds a fingerprint of the file list and that size, so a
    cache made from other data or at another size is never read by mistake.
    """
    if in_memory(len(files), image_size) or cache_dir is None:
        return ""
    folder = Path(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1("\n".join(map(str, files)).encode()).hexdigest()[:12]
    path = folder / f"{tag}-{image_size[0]}x{image_size[1]}-{len(files)}-{digest}.tfcache"
    _reset_incomplete_cache(path)
    return str(path)


def _reset_incomplete_cache(path: str | Path) -> None:
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
    cache_size: tuple[int, int] | None = None,
) -> tf.data.Dataset:
    """Build a batched dataset of ``(float32 images in [0, 255], int32 labels)`` from file paths.

    Every chapter's datasets.load builds its pipelines with it; chapters 05, 07 and 08 call it directly.

    Args:
        files: Image paths.
        labels: Integer class index of each path.
        image_size: ``(height, width)`` of the images in every batch.
        batch_size: Images per batch; the last batch may be smaller.
        shuffle: Shuffle the order (once up front, and again every epoch). Use for training only.
        seed: Makes shuffling reproducible.
        cache: ``True`` caches decoded uint8 images in memory, a string caches them in that file,
            ``False`` decodes every epoch (only useful to measure how much the cache saves).
        cache_size: ``(height, width)`` each image is decoded and cached at (default ``image_size``);
            use :func:`cache_size` to get it. When it is smaller than ``image_size``, every batch is
            enlarged after the cache with the same resampling (antialiased, rounded to whole grey
            levels) that decoding at ``image_size`` applies, so the batches are identical to those of
            a cache at ``image_size`` for every image of the native size, at a fraction of the bytes.

    Raises:
        ValueError: ``files`` and ``labels`` differ in length, or ``cache_size`` is larger than
            ``image_size`` on a side (a cache never holds more pixels than the batches need).
    """
    if len(files) != len(labels):
        raise ValueError(f"{len(files)} files but {len(labels)} labels")
    image_size = (int(image_size[0]), int(image_size[1]))
    stored = image_size if cache_size is None else (int(cache_size[0]), int(cache_size[1]))
    if stored[0] > image_size[0] or stored[1] > image_size[1]:
        raise ValueError(f"cache_size {stored} is larger than image_size {image_size}: cache at most at "
                         "image_size (pipeline.cache_size(native, image_size) gives the right size).")
    paths = np.array([str(f) for f in files], dtype=object)
    targets = np.asarray(labels, dtype=np.int32)
    _RECENT_FILES.append(tuple(paths.tolist()))
    if shuffle:  # mix classes before caching, so the small post-cache buffer still sees every class
        order = np.random.default_rng(seed).permutation(len(paths))
        paths, targets = paths[order], targets[order]
    ds = tf.data.Dataset.from_tensor_slices((paths.astype(str), targets))
    ds = ds.map(lambda p, y: (decode_image(p, stored), y), num_parallel_calls=_AUTOTUNE)
    if cache is not False:
        ds = ds.cache("" if cache is True else str(cache))
    if shuffle:
        ds = ds.shuffle(min(len(paths), SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True)
    if stored == image_size:
        to_batch = lambda x, y: (tf.cast(x, tf.float32), y)  # noqa: E731
    else:
        to_batch = lambda x, y: (_enlarge(tf.cast(x, tf.float32), image_size), y)  # noqa: E731
    ds = ds.batch(batch_size).map(to_batch, num_parallel_calls=_AUTOTUNE)
    return ds.prefetch(_AUTOTUNE)


def undecodable(files: Sequence[str | os.PathLike]) -> dict[str, str]:
    """The files among ``files`` that :func:`decode_image` cannot read, each with the decoder's reason.

    In every chapter, :func:`unreadable_images_error` calls it when an epoch stops on a file; you can
    also call it to check a list of files before training on them (``data.files["train"]``).

    Every file is read and decoded once, in parallel, as the first epoch of :func:`make_dataset` does:
    ``datasets.load`` only checks each file's first bytes (``files.image_problem``), so a JPEG or PNG
    that is damaged *inside* passes it and stops the epoch that decodes it. A file that no longer
    exists counts too (deleted or moved since its dataset was made).
    """
    paths = list(dict.fromkeys(str(f) for f in files))
    if not paths:
        return {}
    names = tf.constant(paths)

    def decoded_size(i: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        name = names[i]
        return i, tf.size(decode_photo(tf.io.read_file(name), name))

    ds = tf.data.Dataset.range(len(paths)).map(decoded_size, num_parallel_calls=_AUTOTUNE).ignore_errors()
    readable = {int(i) for i, _ in ds.as_numpy_iterator()}
    return {path: _decoding_problem(path) for i, path in enumerate(paths) if i not in readable}


#: :func:`_decoding_problem`'s reason for a file that no longer exists.
_GONE = "the file is gone (deleted or moved after its dataset was made)"


def _decoding_problem(path: str) -> str:
    """Why ``path`` cannot be decoded, in the decoder's own words, without TensorFlow's node names."""
    if not Path(path).is_file():
        return _GONE
    try:
        decode_photo(tf.io.read_file(path), path)
    except (tf.errors.OpError, ValueError) as err:
        text = err.message if isinstance(err, tf.errors.OpError) else str(err)
        text = re.sub(r"\{\{function_node [^}]*\}\}\s*|\s*\[Op:\w+\].*$", "", text.strip().splitlines()[0])
        return text.strip() or type(err).__name__
    return "decoded when checked again (was the file being written?)"


#: What TensorFlow's messages contain when an image could not be read or decoded in a ``tf.data`` pipeline
#: (besides "Iterator": the error reached the code that asked for the next batch). No ``\b`` after the op
#: names: TensorFlow's node names extend them (``DecodeImage_tfg_inlined_cond...``).
_DECODING_FAILURE = re.compile(r"Decode(Jpeg|Png|Image|Gif|Bmp|WebP)|ReadFile|Invalid (JPEG|PNG)"
                               r"|Unknown image file format|could not be decoded|cannot be read")


class UnreadableImagesError(RuntimeError):
    """Image files an epoch could not decode, with what to do; shown instead of TensorFlow's traceback.

    Made by :func:`unreadable_images_error`, shown in every chapter through ``runtime.setup``'s handler.
    """

    def _render_traceback_(self) -> list[str]:  # IPython shows these lines instead of a traceback
        return str(self).splitlines()


def unreadable_images_error(error: BaseException, limit: int = 20) -> UnreadableImagesError | None:
    """A short, actionable :class:`UnreadableImagesError` for ``error``, or None if it is not about images.

    It serves every chapter, through ``runtime.setup``: when ``fit``, ``evaluate``, ``predict`` or a loop
    over a dataset stops with TensorFlow's decoding error, the notebook shows which files could not be
    decoded and what to do, instead of some forty lines from inside TensorFlow that name no file. It
    decodes every file of the datasets :func:`make_dataset` built in this process (:func:`undecodable`),
    so it takes about as long as a first epoch's decoding; ``limit`` files are listed at most.
    """
    message = str(error)
    if not (isinstance(error, tf.errors.OpError) and "Iterator" in message and _DECODING_FAILURE.search(message)):
        return None  # not raised while a dataset was read, or not by reading or decoding an image
    files = list(dict.fromkeys(path for recent in _RECENT_FILES for path in recent))
    if not files:  # the failing dataset was not made by make_dataset: nothing to look through
        return None
    print(f"Reading the images stopped; looking for the files that cannot be decoded among {len(files):,} ...",
          flush=True)
    bad = undecodable(files)
    if not bad:
        return None
    listed = [f"  {path}: {reason}" for path, reason in list(bad.items())[:limit]]
    listed += [f"  ... and {len(bad) - limit} more"] if len(bad) > limit else []
    damaged = any(reason != _GONE for reason in bad.values())
    notes = (["Those that exist are damaged inside: their first bytes passed the check when the data was loaded, "
              "only decoding them shows the damage."] if damaged else [])
    fix = "open them in an image viewer, delete those that do not open (or replace them with good copies); "
    return UnreadableImagesError(
        "\n".join([f"{len(bad)} of the {len(files):,} image files of this notebook's datasets cannot be read:",
                   *listed, *notes,
                   f"What to do: {fix + 'then ' if damaged else ''}run the notebook again from the cell that "
                   "loads the data (it lists the files again)."]))


def _enlarge(images: tf.Tensor, image_size: tuple[int, int]) -> tf.Tensor:
    """Resize a float32 batch as :func:`decode_image` resizes one image: antialiased, whole grey levels.

    The same arithmetic image by image, so a batch enlarged here equals the batch of images that were
    resized before the cache, to the last bit (``tests/test_pipeline.py`` checks it).
    """
    resized = tf.image.resize(images, image_size, antialias=True)
    return tf.clip_by_value(tf.round(resized), 0.0, 255.0)


def resize_in_model(model: keras.Model, cached_size: tuple[int, int]) -> keras.Model:
    """``model`` behind a first layer that resizes ``cached_size`` images to the model's input size.

    Used in chapter 07.

    For images cached smaller than the training size (:func:`cache_size`): the pipeline then delivers
    batches at the cache size (``make_dataset(..., image_size=cached_size)``) and the accelerator
    enlarges them, with the rest of the forward pass, instead of the CPU in ``tf.data``. That also
    moves a ninth of the bytes from the host to the GPU (100x100 instead of 299x299). The first layer
    is a bilinear ``keras.layers.Resizing`` (enlarging needs no antialiasing), or an ``Identity`` when
    the sizes agree, so the returned model always has a layer named ``"resize"``. Its input is
    ``cached_size``; it shares every weight with ``model``, which becomes its last layer.

    Raises:
        ValueError: ``cached_size`` is larger than the model's input on a side.
    """
    height, width = (int(side) for side in model.input_shape[1:3])
    cached = (int(cached_size[0]), int(cached_size[1]))
    if cached[0] > height or cached[1] > width:
        raise ValueError(f"cached_size {cached} is larger than the model's input {(height, width)}: "
                         "images are cached at most at the training size (pipeline.cache_size).")
    inputs = keras.Input((*cached, 3), name="cached_image")
    if cached == (height, width):
        resize = keras.layers.Identity(name="resize")
    else:
        resize = keras.layers.Resizing(height, width, interpolation="bilinear", dtype="float32", name="resize")
    return keras.Model(inputs, model(resize(inputs)), name=f"{model.name}_from_{cached[0]}x{cached[1]}")
