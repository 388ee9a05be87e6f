"""Training a head on a frozen backbone: image by image (full model) vs on cached features.

    python benchmarks/feature_extraction.py                                 # MobileNetV2, 96 px, 320 images
    python benchmarks/feature_extraction.py --images 64 --size 32 --epochs 2    # tiny run (tests)

- **full model**: ``helpers.models.transfer_model`` (backbone frozen, ``weights=None`` so nothing is
  downloaded) fitted on the images: every epoch pushes every image through the backbone again.
- **cached features**: ``helpers.features``: the backbone's pooled features are computed once
  (``feature_extractor`` + ``extract_features``, a one-off cost reported apart), then the same head
  (``head_model``) is fitted on them.

Both fit with the same optimizer, batch size and number of epochs. The first epoch includes tracing, so
the speed-up is taken over the later epochs. Images are random pixels held in memory: the benchmark
measures the model's work, not the input pipeline. The last line is
``speedup=<full-model seconds per epoch / cached-features seconds per epoch>``.
"""

from __future__ import annotations

import argparse
import math

from _common import finish, machine, table


def epoch_timer():
    """The course's per-epoch wall-time callback (imported late: TensorFlow loads only when needed)."""
    from helpers.features import EpochTimer

    return EpochTimer()


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="MobileNetV2", help="a name from helpers.models.BACKBONES")
    parser.add_argument("--images", type=int, default=320)
    parser.add_argument("--size", type=int, default=96, help="image side in pixels")
    parser.add_argument("--epochs", type=int, default=4, help="epochs for each way (the first includes tracing)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--classes", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first epoch includes tracing)")

    print(f"Feature-extraction benchmark: {args.backbone} (weights=None, frozen) at {args.size}x{args.size}, "
          f"{args.images} images, batch {args.batch_size}, {args.epochs} epochs each\nMachine: {machine()}\n",
          flush=True)
    import keras
    import numpy as np
    import tensorflow as tf

    from helpers import features
    from helpers.models import transfer_model

    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x = rng.integers(0, 256, (args.images, args.size, args.size, 3), dtype=np.uint8).astype(np.float32)
    y = rng.integers(0, args.classes, args.images).astype(np.int32)
    train = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(args.images, seed=args.seed)
             .batch(args.batch_size).prefetch(tf.data.AUTOTUNE))
    in_order = tf.data.Dataset.from_tensor_slices((x, y)).batch(args.batch_size)

    def compile_(model):
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])

    model, base = transfer_model(args.backbone, args.classes, image_size=args.size, weights=None)
    compile_(model)
    full = epoch_timer()
    model.fit(train, epochs=args.epochs, verbose=0, callbacks=[full])
    print(f"  full model: epochs took {', '.join(f'{s:.2f}' for s in full.seconds)} s", flush=True)

    extractor = features.feature_extractor(model)
    blockers = features.cache_blockers(extractor)
    if blockers:
        raise SystemExit("Caching would be wrong here: " + "; ".join(blockers))
    feats = features.extract_features(extractor, {"train": in_order})
    one_off = feats.total_seconds
    head = features.head_model(feats.dim, args.classes)
    compile_(head)
    cached = epoch_timer()
    head.fit(feats.dataset("train", args.batch_size, shuffle=True, seed=args.seed),
             epochs=args.epochs, verbose=0, callbacks=[cached])
    print(f"  cached features {feats.x['train'].shape}: extraction {one_off:.2f} s, epochs took "
          f"{', '.join(f'{s:.3f}' for s in cached.seconds)} s", flush=True)

    full_epoch, cached_epoch = mean(full.seconds[1:]), mean(cached.seconds[1:])
    speedup = full_epoch / cached_epoch
    rows = [
        ["full model (frozen backbone, fit on images)", math.nan, full.seconds[0], full_epoch,
         args.images / full_epoch],
        ["cached features (head only)", one_off, cached.seconds[0], cached_epoch, args.images / cached_epoch],
    ]
    print()
    print(table(["way", "one-off s", "first epoch s", "later epochs s/epoch", "images/s"], rows))
    saved = full_epoch - cached_epoch
    print(f"\nSpeed-up per epoch: {speedup:,.1f}x. The one-off extraction costs {one_off / full_epoch:.1f} full-model "
          f"epochs; caching pays for itself after {one_off / saved if saved > 0 else float('inf'):.1f} epochs.")
    print(f"Trainable parameters: {sum(int(np.prod(w.shape)) for w in model.trainable_weights):,} (the head); "
          f"frozen backbone: {sum(int(np.prod(w.shape)) for w in base.weights):,}.")
    print(f"Goal: at least 10x ({'met' if speedup >= 10 else 'NOT met'}).")
    finish("speedup", speedup)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
