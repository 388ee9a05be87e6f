"""The first epoch of a ``fit``: Keras 3 alone vs after ``runtime.setup`` (one trace of the training step).

    python benchmarks/first_epoch.py                                  # InceptionV3, all layers trained, 96 px
    python benchmarks/first_epoch.py --backbone MobileNetV2 --size 32 --images 16 --batch-size 8   # tiny (tests)

Without a distribution strategy, Keras 3 creates the optimizer's and the metrics' variables inside the first
training step, and TensorFlow then traces that step a second time (``helpers.runtime.build_before_first_trace``
explains it). Each way runs in a fresh Python process: the same model (``weights=None``, nothing downloaded;
every layer trainable, as in fine-tuning), Adam, the accuracy metric, op determinism on, the same seed and
the same shuffled random images held in memory:

- **Keras alone**: Keras' own behaviour;
- **course**: after :func:`helpers.runtime.build_before_first_trace`, as every chapter's ``runtime.setup`` does.

It prints how many times each way traced ``train_step``, the first and the second epoch's seconds, and
whether the weights after training are identical (they must be: only the waiting changes). The last line is
``first_epoch_speedup=<Keras-alone first epoch / course first epoch>``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from _common import finish, machine, table

WAYS = {"keras": "Keras alone", "course": "after runtime.setup"}


def train_once(args: argparse.Namespace) -> dict:
    """One way, in this process: traces, epoch seconds and a checksum of the trained weights."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import keras
    import numpy as np
    import tensorflow as tf

    from helpers import runtime
    from helpers.features import EpochTimer

    if args.way == "course":
        runtime.build_before_first_trace()
    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(args.seed)
    x = rng.random((args.images, args.size, args.size, 3), dtype=np.float32)
    y = rng.integers(0, args.classes, args.images).astype(np.int32)
    data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(args.images, seed=args.seed).batch(args.batch_size)
    backbone = getattr(keras.applications, args.backbone)(weights=None, include_top=False, pooling="avg",
                                                          input_shape=(args.size, args.size, 3))
    model = keras.Sequential([backbone, keras.layers.Dense(args.classes, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    traces = []
    step = model.train_step

    def counted(batch):
        traces.append(1)  # Python runs this once per trace, never per batch
        return step(batch)

    model.train_step = counted
    timer = EpochTimer()
    model.fit(data, epochs=2, verbose=0, callbacks=[timer])
    checksum = float(sum(np.abs(w).astype(np.float64).sum() for w in model.get_weights()))
    return {"traces": len(traces), "seconds": timer.seconds, "checksum": checksum}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="InceptionV3", help="a keras.applications model")
    parser.add_argument("--size", type=int, default=96, help="image side in pixels")
    parser.add_argument("--images", type=int, default=72)
    parser.add_argument("--batch-size", type=int, default=18)
    parser.add_argument("--classes", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--way", choices=sorted(WAYS), help=argparse.SUPPRESS)  # one way, in a child process
    args = parser.parse_args(argv)
    if args.way:
        print(json.dumps(train_once(args)))
        return 0

    print(f"First-epoch benchmark: {args.backbone} (weights=None, every layer trained) at {args.size}x{args.size}, "
          f"{args.images} images, batch {args.batch_size}, 2 epochs, each way in a fresh process\n"
          f"Machine: {machine()}\n", flush=True)
    measured = {}
    for way in WAYS:
        child = subprocess.run([sys.executable, __file__, *(argv if argv is not None else sys.argv[1:]), "--way", way],
                               capture_output=True, text=True, check=False)
        if child.returncode:
            raise SystemExit(f"the {way} run failed:\n{child.stderr[-3000:]}")
        measured[way] = json.loads(child.stdout.strip().splitlines()[-1])
    rows = [[WAYS[way], m["traces"], m["seconds"][0], m["seconds"][1]] for way, m in measured.items()]
    print(table(["way", "train_step traces", "first epoch s", "second epoch s"], rows))
    keras_alone, course = measured["keras"], measured["course"]
    speedup = keras_alone["seconds"][0] / course["seconds"][0]
    print(f"\nFirst epoch: {speedup:.2f}x faster ({keras_alone['seconds'][0] - course['seconds'][0]:.1f} s saved). "
          f"Same trained weights: {keras_alone['checksum'] == course['checksum']}.")
    finish("first_epoch_speedup", speedup)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
