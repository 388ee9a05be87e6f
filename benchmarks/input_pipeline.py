"""Input pipeline: the course's tf.data pipeline vs the legacy ImageDataGenerator, with augmentation.

    python benchmarks/input_pipeline.py                 # 14,034 JPEGs at 150x150 (Intel's training split)
    python benchmarks/input_pipeline.py --images 192    # tiny run (tests)

Both sides read the same folder of JPEGs (generated once, Intel's real size: 6 class folders, 14,034
images at 150x150, quality 90), batch 32 at 150x150 and apply the same augmentation: rotation up to 20
degrees, shifts of 10 %, zoom of 10 %, horizontal flips, nearest fill.

- **legacy**: ``tf.keras.preprocessing.image.ImageDataGenerator(rotation_range=20, ...)
  .flow_from_directory(...)``, the articles' way; each batch is read with PIL and augmented image by
  image on the CPU (scipy), every epoch.
- **course**: ``helpers.pipeline.make_dataset`` (decode and resize once, uint8 cache in memory, shuffle,
  batch, float32 per batch, prefetch), with the same augmentation as Keras layers
  (``helpers.augmentation.from_image_data_generator_args``) applied to each batch with ``training=True``
  inside a ``tf.function``, as it runs inside the model during ``fit``.

Each side is iterated for ``--epochs`` full epochs; the table gives images per second for the first
epoch and for the later ones (mean), with and without augmentation. The last line is
``speedup_later_epoch=<course / legacy, later epochs, with augmentation>``.

The augmentation block is the course's default, ``fused=True``: rotation, shifts, zoom and the flip as ONE
random affine warp per image (``helpers.augmentation.RandomAffine``, one ``ImageProjectiveTransformV3`` call
per batch), which is what the legacy generator does image by image. One more row, **separate layers**
(not used for the last line), runs the same pipeline with ``fused=False``: ``RandomRotation``,
``RandomTranslation``, ``RandomZoom`` and ``RandomFlip``, three warps per image, the layer-by-layer port.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable

from _common import INTEL_TRAIN_IMAGES, finish, intel_like_folder, list_images, machine, table

BATCH = 32
SIZE = (150, 150)
AUGMENTATION = dict(rotation_range=20, width_shift_range=0.1, height_shift_range=0.1, zoom_range=0.1,
                    horizontal_flip=True, fill_mode="nearest")


def time_epochs(make_epoch: Callable[[], Iterable], step: Callable | None, epochs: int) -> list[float]:
    """Images per second of each of ``epochs`` passes; ``step`` (if any) is applied to every image batch."""
    import numpy as np

    rates = []
    for _ in range(epochs):
        n = 0
        start = time.perf_counter()
        for images, _labels in make_epoch():
            if step is not None:
                float(np.asarray(step(images)))  # pull a scalar to the host: the work is done, not just launched
            n += int(images.shape[0])
        rates.append(n / (time.perf_counter() - start))
    return rates


def legacy(folder, augment: bool, epochs: int, seed: int) -> list[float]:
    """``ImageDataGenerator.flow_from_directory``: one epoch is ``len(iterator)`` batches (what ``fit`` draws)."""
    import tensorflow as tf

    generator = tf.keras.preprocessing.image.ImageDataGenerator(**(AUGMENTATION if augment else {}))
    iterator = generator.flow_from_directory(str(folder), target_size=SIZE, batch_size=BATCH, class_mode="sparse",
                                             shuffle=True, seed=seed)

    def epoch():
        for _ in range(len(iterator)):
            yield next(iterator)

    return time_epochs(epoch, None, epochs)


def course(folder, augment: bool, epochs: int, seed: int, fused: bool = True) -> list[float]:
    """``make_dataset`` (memory cache) + the augmentation block applied per batch in a ``tf.function``."""
    import tensorflow as tf

    from helpers.augmentation import from_image_data_generator_args
    from helpers.pipeline import make_dataset

    files, labels, _ = list_images(folder)
    ds = make_dataset(files, labels, image_size=SIZE, batch_size=BATCH, shuffle=True, seed=seed, cache=True)
    if augment:
        block = from_image_data_generator_args(**AUGMENTATION, image_size=SIZE, seed=seed, fused=fused)

        @tf.function
        def step(images):
            return tf.reduce_sum(block(images, training=True))
    else:
        step = None
    return time_epochs(lambda: ds, step, epochs)


def separate(folder, augment: bool, epochs: int, seed: int) -> list[float]:
    """The course pipeline with the layer-by-layer port (``fused=False``): one warp per geometric layer."""
    return course(folder, augment, epochs, seed, fused=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=INTEL_TRAIN_IMAGES, help="images in the generated folder")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (the first, then later ones)")
    parser.add_argument("--cache-dir", default=None, help="where the JPEG folder is generated (once)")
    parser.add_argument("--no-breakdown", action="store_true",
                        help="skip the runs without augmentation and the separate-layers run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (a first and a later epoch)")

    folder = intel_like_folder(args.images, args.cache_dir)
    print(f"Input pipeline benchmark: {args.images:,} JPEGs at {SIZE[0]}x{SIZE[1]}, batch {BATCH}, "
          f"{args.epochs} epochs per run\nMachine: {machine()}\nData: {folder}\n", flush=True)
    import tensorflow as tf

    tf.keras.utils.set_random_seed(args.seed)
    runs = [("course", True), ("legacy", True)]
    if not args.no_breakdown:
        runs += [("course", False), ("legacy", False), ("separate", True)]
    labels = {"course": "course (tf.data + RandomAffine, one warp per batch)", "legacy": "legacy (ImageDataGenerator)",
              "separate": "course pipeline + separate layers (three warps)"}
    functions = {"course": course, "legacy": legacy, "separate": separate}
    rows, rates = [], {}
    for name, augment in runs:
        start = time.perf_counter()
        r = functions[name](folder, augment, args.epochs, args.seed)
        rates[name, augment] = r
        later = sum(r[1:]) / len(r[1:])
        label = labels[name]
        rows.append([label, "yes" if augment else "no", r[0], later, time.perf_counter() - start])
        print(f"  {label}, augmentation {'on' if augment else 'off'}: "
              f"first {r[0]:,.0f} img/s, later {later:,.0f} img/s", flush=True)

    def speed(epoch: slice, augment: bool = True, name: str = "course") -> float:
        c, g = rates[name, augment][epoch], rates["legacy", augment][epoch]
        return (sum(c) / len(c)) / (sum(g) / len(g))

    print()
    print(table(["pipeline", "augmentation", "first epoch img/s", "later epochs img/s", "run seconds"], rows))
    print()
    summary = [["first epoch", speed(slice(0, 1))], ["later epochs", speed(slice(1, None))]]
    if not args.no_breakdown:
        summary += [["first epoch, no augmentation", speed(slice(0, 1), False)],
                    ["later epochs, no augmentation", speed(slice(1, None), False)],
                    ["separate layers / legacy, first epoch", speed(slice(0, 1), name="separate")],
                    ["separate layers / legacy, later epochs", speed(slice(1, None), name="separate")]]
        later_course = sum(rates["course", False][1:]) / len(rates["course", False][1:])
        later_legacy = sum(rates["legacy", True][1:]) / len(rates["legacy", True][1:])
        summary.append(["course without aug. / legacy with aug., later epochs (aug. on a GPU: upper bound)",
                        later_course / later_legacy])
    print(table(["speed-up course / legacy", "x"], summary))
    print(f"\nGoal: at least 3x on a later epoch ({'met' if summary[1][1] >= 3 else 'NOT met'}), "
          f"no slower on the first ({'met' if summary[0][1] >= 1 else 'NOT met'}).")
    print(f"Machine at the end: {machine()}")
    finish("speedup_later_epoch", summary[1][1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
