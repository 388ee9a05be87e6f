"""GPU training speed: float32 vs mixed precision with XLA, and the input pipeline's overhead.

    python benchmarks/gpu_training.py                       # on a GPU: EfficientNetB0 fine-tuning at 224x224
    python benchmarks/gpu_training.py --force-cpu --tiny    # the same code path with a tiny CNN on the CPU (tests)

Without a GPU (and without ``--force-cpu``) it prints that no GPU was found and ends with
``mixed_precision_speedup=nan`` (exit code 0): nothing is measured.

On a GPU it fine-tunes ``helpers.models.transfer_model("EfficientNetB0", weights=None)`` with the whole
backbone trainable (BatchNormalization kept in inference mode, as the course does) and measures:

1. **Images per second** fed by one batch already in memory (repeated), so only the model's work counts:
   float32; float32 + XLA (``jit_compile=True``); mixed precision (``mixed_float16``, the last Dense in
   float32, loss scaling added by Keras) + XLA.
2. **Input-pipeline overhead**: steps per second of the fastest set-up (mixed + XLA) fed by the real
   pipeline (``helpers.pipeline.make_dataset`` over a generated Intel-like JPEG folder, resized to 224,
   uint8 memory cache, later epochs) vs fed from memory right after (same model, already compiled, as many
   steps per epoch). Overhead = 1 - pipeline / memory.

No augmentation layers: ``RandomRotation`` and friends use ``ImageProjectiveTransformV3``, which XLA
cannot compile (checked here: ``InvalidArgumentError`` under ``jit_compile=True``).

The first epoch of every fit includes tracing and XLA compilation; figures are means over the later
epochs. The last line is ``mixed_precision_speedup=<mixed + XLA images/s / float32 images/s>``.
"""

from __future__ import annotations

import argparse
import math
import time

from _common import finish, intel_like_folder, list_images, machine, table

CONFIGS = (("float32", False), ("float32", True), ("mixed_float16", True))


def epoch_timer():
    """The course's per-epoch wall-time callback (imported late: TensorFlow loads only when needed)."""
    from helpers.features import EpochTimer

    return EpochTimer()


def build(tiny: bool, size: int, classes: int):
    """EfficientNetB0 with its whole backbone trainable, or (``tiny``) a small CNN, for the current policy."""
    from helpers.models import scratch_cnn, transfer_model

    if tiny:
        return scratch_cnn((size, size, 3), classes, filters=(8, 16), dense=(16,), name="tiny_cnn")
    model, base = transfer_model("EfficientNetB0", classes, image_size=size, weights=None)
    base.trainable = True  # fine-tuning: every backbone weight trains (BN stays in inference mode)
    return model


def later_steps_per_second(model, dataset, steps: int, epochs: int) -> float:
    timer = epoch_timer()
    model.fit(dataset, epochs=epochs, verbose=0, callbacks=[timer])
    print(f"    epochs took {', '.join(f'{s:.2f}' for s in timer.seconds)} s", flush=True)
    later = timer.seconds[1:]
    return steps / (sum(later) / len(later))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force-cpu", action="store_true", help="run on the CPU even without (or with) a GPU")
    parser.add_argument("--tiny", action="store_true", help="a tiny CNN at 32x32 and few images (tests)")
    parser.add_argument("--size", type=int, default=None, help="image side (default 224, tiny 32)")
    parser.add_argument("--batch-size", type=int, default=None, help="default 32, tiny 8")
    parser.add_argument("--steps", type=int, default=None, help="steps per epoch fed from memory (default 50, tiny 4)")
    parser.add_argument("--images", type=int, default=None, help="JPEGs for the pipeline run (default 2048, tiny 32)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per fit; the first (compilation) is dropped")
    parser.add_argument("--cache-dir", default=None, help="where the JPEG folder is generated (once)")
    parser.add_argument("--classes", type=int, default=6)
    args = parser.parse_args(argv)
    size = args.size or (32 if args.tiny else 224)
    batch = args.batch_size or (8 if args.tiny else 32)
    steps = args.steps or (4 if args.tiny else 50)
    n_images = args.images or (32 if args.tiny else 2048)
    n_images -= n_images % batch  # whole batches only: a smaller last batch would make XLA compile again
    if args.epochs < 2 or n_images == 0:
        parser.error("--epochs must be at least 2 and --images at least one batch")

    import keras
    import tensorflow as tf

    if args.force_cpu:
        tf.config.set_visible_devices([], "GPU")
    gpus = tf.config.list_physical_devices("GPU") if not args.force_cpu else []
    print(f"GPU training benchmark\nMachine: {machine()}", flush=True)
    if not gpus and not args.force_cpu:
        print("No GPU found: nothing measured (run it on a GPU, or pass --force-cpu --tiny to test the code path).")
        finish("mixed_precision_speedup", math.nan)
        return 0
    if gpus:
        names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
        print(f"GPU: {', '.join(names)}")
    else:
        print("Forced onto the CPU: the figures below test the code path, they say nothing about a GPU.")
    model_name = "tiny CNN" if args.tiny else "EfficientNetB0 (weights=None, whole backbone trainable)"
    print(f"Model: {model_name} at {size}x{size}, batch {batch}, {steps} steps per epoch, {args.epochs} epochs per "
          "fit\n", flush=True)

    import numpy as np

    from helpers.pipeline import make_dataset

    rng = np.random.default_rng(0)
    xb = tf.constant(rng.integers(0, 256, (batch, size, size, 3)).astype(np.float32))
    yb = tf.constant(rng.integers(0, args.classes, batch).astype(np.int32))
    in_memory = tf.data.Dataset.from_tensors((xb, yb)).repeat(steps)

    rates, model = {}, None
    for policy, xla in CONFIGS:
        keras.backend.clear_session()
        keras.mixed_precision.set_global_policy(policy)
        keras.utils.set_random_seed(0)
        model = build(args.tiny, size, args.classes)
        model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], jit_compile=xla)
        start = time.perf_counter()
        rates[policy, xla] = later_steps_per_second(model, in_memory, steps, args.epochs) * batch
        print(f"  {policy}{' + XLA' if xla else ''}: {rates[policy, xla]:,.1f} images/s "
              f"(fit took {time.perf_counter() - start:.1f} s)", flush=True)

    # The last model built is the fastest set-up (mixed precision + XLA): feed it by the real pipeline, then
    # again from memory with as many steps per epoch, both with the model already compiled and warm.
    files, labels, _ = list_images(intel_like_folder(n_images, args.cache_dir))
    labels = [lab % args.classes for lab in labels]
    pipeline = make_dataset(files, labels, image_size=(size, size), batch_size=batch, shuffle=True, cache=True)
    pipe_steps = later_steps_per_second(model, pipeline, n_images // batch, args.epochs)
    print(f"  mixed_float16 + XLA fed by make_dataset: {pipe_steps:,.2f} steps/s", flush=True)
    same_steps = tf.data.Dataset.from_tensors((xb, yb)).repeat(n_images // batch)
    mem_steps = later_steps_per_second(model, same_steps, n_images // batch, args.epochs)
    print(f"  mixed_float16 + XLA fed from memory: {mem_steps:,.2f} steps/s", flush=True)
    overhead = 1 - pipe_steps / mem_steps
    keras.mixed_precision.set_global_policy("float32")

    base_rate = rates[CONFIGS[0]]
    rows = [[f"{p}{' + XLA' if x else ''}", r, r / base_rate] for (p, x), r in rates.items()]
    print()
    print(table(["precision", "images/s (from memory)", "x float32"], rows))
    print()
    print(table(["mixed + XLA fed by", "steps/s"], [["one batch in memory, repeated", mem_steps],
                                                    [f"make_dataset ({n_images} JPEGs, cached)", pipe_steps]]))
    speedup = rates[CONFIGS[-1]] / base_rate
    print(f"\nInput-pipeline overhead: {100 * overhead:.1f} % (goal: at most 10 %, "
          f"{'met' if overhead <= 0.10 else 'NOT met'}{'' if gpus else '; meaningless on a CPU'}).")
    print(f"Mixed precision + XLA vs float32: {speedup:.2f}x (goal on a modern GPU: at least 2x, "
          f"{'met' if speedup >= 2 else 'NOT met'}{'' if gpus else '; meaningless on a CPU'}).")
    finish("mixed_precision_speedup", speedup)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
