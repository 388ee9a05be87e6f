"""Classify images with an exported model, in a process of its own.

    python predict.py MODEL IMAGE [IMAGE ...]

MODEL is model.keras, the saved_model folder or model.tflite; labels.json next to it gives the class
names and the input size. Prints one JSON line per image:
{"image": ..., "class": ..., "probability": ..., "probabilities": {class: probability, ...}}

Images are decoded as the model's training pipeline decoded them (the course's helpers/photos.py and
helpers.pipeline.decode_image, copied in below): as a photo viewer shows them, upright (EXIF orientation),
in sRGB colours, transparency on white, resized as in training.
Needs TensorFlow, NumPy and Pillow (and pillow-heif for HEIC photos).

(In the course this file is ``helpers/predict_script.py``: chapter 09's ``export.export_model`` writes it next
to an exported model as ``predict.py``, with the course's decoding pasted between the two marker lines below,
so that it runs where only TensorFlow, Keras and Pillow are installed.)
"""

import contextlib
import json
import os
import sys
import warnings
from pathlib import Path


def _check_arguments(argv):
    """(model, labels.json, images) from the command line; exits with a message when a file is missing.

    Chapter 09 runs it through ``export.predict_in_subprocess``.
    """
    if len(argv) < 3:
        sys.exit(__doc__.split("\n(In the course")[0])
    model_path, images = Path(argv[1]), argv[2:]
    labels_path = model_path.parent / "labels.json"
    missing = [str(p) for p in (model_path, labels_path, *map(Path, images)) if not p.exists()]
    if missing:
        sys.exit("predict.py: not found: " + ", ".join(missing))
    return model_path, labels_path, images


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # quiet TensorFlow's start-up (read at its import)
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    ARGUMENTS = _check_arguments(sys.argv)  # at once, before the slow TensorFlow import below

# ---- the course's decoding: helpers/photos.py and helpers.pipeline.decode_image ----
from helpers.photos import PhotoError  # noqa: I001
from helpers.pipeline import decode_image
# ---- end of the course's decoding ----

import numpy as np  # noqa: I001
import tensorflow as tf


def _load_image(path, size):
    """Decode and resize as the training pipeline did (``pipeline.decode_image``): float32 ``(1, h, w, 3)``.

    Chapter 09's exported ``predict.py`` reads every image with it.
    """
    image = decode_image(tf.constant(str(path)), tuple(int(side) for side in size))
    return tf.cast(image, tf.float32)[None].numpy()


def load_predictor(path):
    """A function images -> class probabilities, for any of the three exported formats.

    Chapter 09 checks the three exported files with it (``export.load_predictor``).
    """
    path = Path(path)
    if path.is_dir():  # SavedModel from model.export(): its "serve" endpoint
        loaded = tf.saved_model.load(str(path))  # keep the object: its variables die with it
        return lambda x: loaded.serve(tf.constant(x)).numpy()
    if path.suffix == ".tflite":
        try:  # LiteRT, the new home of the TFLite interpreter, when it is installed
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            Interpreter = tf.lite.Interpreter
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice
            interpreter = Interpreter(model_path=str(path))
        inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]

        def run(x):
            interpreter.resize_tensor_input(inp["index"], x.shape)
            interpreter.allocate_tensors()
            interpreter.set_tensor(inp["index"], x.astype(np.float32))
            interpreter.invoke()
            return interpreter.get_tensor(out["index"])
        return run
    import keras

    with contextlib.suppress(ImportError):  # the course's models hold a layer that helpers.models registers
        import helpers.models  # noqa: F401
    model = keras.saving.load_model(path, safe_mode=True)
    return lambda x: np.asarray(model.predict_on_batch(x))


def _main(arguments):
    """Print one JSON line per image. Chapter 09's exported ``predict.py`` runs it."""
    model_path, labels_path, images = arguments
    labels = json.loads(labels_path.read_text())
    names, size = labels["class_names"], labels["image_size"]
    predict = load_predictor(model_path)
    for image in images:
        try:
            pixels = _load_image(image, size)
        except PhotoError as err:
            sys.exit(f"predict.py: {err}")
        probs = np.asarray(predict(pixels), dtype=np.float64).reshape(-1)
        best = int(probs.argmax())
        print(json.dumps({"image": str(image), "class": names[best], "probability": float(probs[best]),
                          "probabilities": {n: float(p) for n, p in zip(names, probs, strict=True)}}))


if __name__ == "__main__":
    _main(ARGUMENTS)
