"""Export a trained model for use outside the notebook, and prove that every copy predicts the same.

One call writes everything a deployment needs into one folder::

    exported = export.export_model(model, "results/export", class_names, image_size=(224, 224))
    exported.keras        # model.keras     Keras' own format: load_model(..., safe_mode=True), train on
    exported.saved_model  # saved_model/    TensorFlow SavedModel (model.export): TF Serving, TF.js, converters
    exported.tflite       # model.tflite    TensorFlow Lite / LiteRT: phones, Raspberry Pi, microcontrollers
    exported.labels       # labels.json     class names and input size: the model alone does not know them
    exported.script       # predict.py      a stand-alone script that classifies images with any of the three

and :func:`predict_in_subprocess` runs ``predict.py`` in a **fresh Python process**, the honest test
that the files hold everything needed (nothing from the notebook's memory leaks into the prediction).

Every course model takes float32 images in [0, 255] and does its own scaling inside, so the only
preprocessing outside the model is decoding and resizing, which ``predict.py`` does exactly as
:func:`helpers.pipeline.decode_image` does for training: it holds a copy of :mod:`helpers.photos`, so a
phone photo stored sideways, a Display P3 photo or a cut-out with a transparent background reaches the
exported model as it reached the model in training (as a photo viewer shows it).

How close "the same" is depends on the arithmetic: :func:`agreement_tolerance` reads the precision each
model actually computes in (its layers' dtype policies) and says how far two models with the same weights
may differ.

The SavedModel comes from ``model.export`` and the TFLite file is converted from it with
``tf.lite.TFLiteConverter.from_saved_model``: the route the Keras 3 documentation gives, checked on
TensorFlow 2.20 (Python 3.13, Keras 3.13, as on Colab) and 2.21 (Keras 3.15).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

LABELS_FILE = "labels.json"
SCRIPT_FILE = "predict.py"

#: The start of the stand-alone prediction script. It checks its arguments before the slow TensorFlow
#: import that the photo decoding below brings.
_SCRIPT_HEAD = '''"""Classify images with an exported model, in a process of its own.

    python predict.py MODEL IMAGE [IMAGE ...]

MODEL is model.keras, the saved_model folder or model.tflite; labels.json next to it gives the class
names and the input size. Prints one JSON line per image:
{"image": ..., "class": ..., "probability": ..., "probabilities": {class: probability, ...}}

Images are decoded as the model's training pipeline decoded them (helpers/photos.py, copied below):
as a photo viewer shows them, upright (EXIF orientation), in sRGB colours, transparency on white.
Needs TensorFlow, NumPy and Pillow (and pillow-heif for HEIC photos).
"""

import json
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def check_arguments(argv):
    """(model, labels.json, images) from the command line; exits with a message when a file is missing."""
    if len(argv) < 3:
        sys.exit(__doc__)
    model_path, images = Path(argv[1]), argv[2:]
    labels_path = model_path.parent / "labels.json"
    missing = [str(p) for p in (model_path, labels_path, *map(Path, images)) if not p.exists()]
    if missing:
        sys.exit("predict.py: not found: " + ", ".join(missing))
    return model_path, labels_path, images


if __name__ == "__main__":
    ARGUMENTS = check_arguments(sys.argv)  # at once, before the slow TensorFlow import below


# ---- helpers/photos.py of the course, as the model was trained with it ----
'''

#: The end of the script: decoding and resizing as ``helpers.pipeline.decode_image`` does, then predicting.
_SCRIPT_TAIL = '''
# ---- end of helpers/photos.py ----


def load_image(path, size):
    """Decode and resize as the training pipeline did (helpers.pipeline.decode_image): float32 (1, h, w, 3)."""
    size = [int(side) for side in size]
    image = decode_photo(tf.io.read_file(str(path)), str(path), size)
    if list(image.shape[:2]) != size:  # files already at the size are not resampled, as in training
        image = tf.image.resize(image, size, antialias=True)
        image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
    return tf.cast(image, tf.float32)[None].numpy()


def load_predictor(path):
    """A function images -> class probabilities, for any of the three exported formats."""
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
    try:  # the course's models hold a custom preprocessing layer, registered by helpers.models
        import helpers.models  # noqa: F401
    except ImportError:
        pass
    model = keras.saving.load_model(path, safe_mode=True)
    return lambda x: np.asarray(model.predict_on_batch(x))


def main(arguments):
    model_path, labels_path, images = arguments
    labels = json.loads(labels_path.read_text())
    names, size = labels["class_names"], labels["image_size"]
    predict = load_predictor(model_path)
    for image in images:
        try:
            pixels = load_image(image, size)
        except PhotoError as err:
            sys.exit(f"predict.py: {err}")
        probs = np.asarray(predict(pixels), dtype=np.float64).reshape(-1)
        best = int(probs.argmax())
        print(json.dumps({"image": str(image), "class": names[best], "probability": float(probs[best]),
                          "probabilities": {n: float(p) for n, p in zip(names, probs)}}))


if __name__ == "__main__":
    main(ARGUMENTS)
'''

#: The stand-alone prediction script written next to an exported model: :data:`_SCRIPT_HEAD`, the source of
#: :mod:`helpers.photos` (so that it decodes photos exactly as training did), :data:`_SCRIPT_TAIL`. It needs
#: TensorFlow, NumPy and Pillow (and, for a ``.keras`` file with the course's preprocessing layer, the
#: ``helpers`` package, which it imports when it is installed).
PREDICT_SCRIPT = _SCRIPT_HEAD + Path(__file__).with_name("photos.py").read_text() + _SCRIPT_TAIL


@dataclass(frozen=True)
class Exported:
    """The files :func:`export_model` wrote (``None`` for a format that was not asked for)."""

    folder: Path
    keras: Path
    saved_model: Path | None
    tflite: Path | None
    labels: Path
    script: Path

    def sizes(self) -> dict[str, int]:
        """Size on disk of each exported model, in bytes (a folder counts all its files)."""
        return {path.name: _size(path)
                for path in (self.keras, self.saved_model, self.tflite) if path is not None}


@contextmanager
def quiet_tensorflow_logs() -> Iterator[None]:
    """Hide TensorFlow's Python log lines (``INFO: Assets written to ...``, retracing warnings) inside the block."""
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


#: Keras layers that change images only while training, besides the ``Random*`` family (``RandomCrop``
#: is not one of them: at inference it crops the centre, so it is kept).
_AUGMENTATION_LAYERS = frozenset({"AugMix", "RandAugment", "CutMix", "MixUp", "Solarization"})


def is_augmentation(layer: keras.Layer) -> bool:
    """True for a random augmentation layer, or a ``Sequential`` made only of them (identity at inference)."""
    inner = layer.layers if isinstance(layer, keras.Sequential) else [layer]
    names = [type(lyr).__name__ for lyr in inner]
    return bool(names) and all((n.startswith("Random") and n != "RandomCrop") or n in _AUGMENTATION_LAYERS
                               for n in names)


def is_mixed_precision(model: keras.Model) -> bool:
    """True when any layer of ``model`` (nested ones included) computes in float16 or bfloat16."""
    return any(layer.dtype_policy.name.startswith("mixed") for layer in model._flatten_layers())


#: How far apart (largest absolute difference of class probabilities) two models with the same weights may be
#: and still agree, by the precision the less exact one computes in. float32 arithmetic in another order
#: (Keras, the TensorFlow runtime, the TFLite interpreter) differs around 1e-7; float16 keeps 11 bits
#: (a relative rounding of 4.9e-4 per operation) and ends around 1e-3 after a network's layers (measured in
#: ``tests/test_export.py``); bfloat16 keeps 8 bits, eight times coarser. Each bar is about ten times what
#: its arithmetic gives.
AGREEMENT_TOLERANCE = {"float32": 1e-4, "float64": 1e-4, "float16": 1e-2, "bfloat16": 5e-2}


def compute_dtypes(model: keras.Model) -> set[str]:
    """The dtypes the layers of ``model`` (nested ones included) compute in: ``{"float32"}``, ``{"float16", ...}``."""
    return {layer.dtype_policy.compute_dtype for layer in model._flatten_layers()}


def agreement_tolerance(*models: keras.Model) -> float:
    """The largest difference of class probabilities at which ``models`` (the same weights) still agree.

    It follows the precision the models really compute in, read from their layers' dtype policies
    (:func:`compute_dtypes`), not from how the run was configured: a model trained under
    ``mixed_float16`` and its float32 export agree within 1e-2, two float32 copies within 1e-4
    (:data:`AGREEMENT_TOLERANCE`). A dtype not in that table counts as float16.
    """
    dtypes = {dtype for model in models for dtype in compute_dtypes(model)}
    return max(AGREEMENT_TOLERANCE.get(dtype, AGREEMENT_TOLERANCE["float16"]) for dtype in dtypes or {"float32"})


def _as_float32(config: Any) -> Any:
    """A serialized Keras config with every ``mixed_*`` dtype policy replaced by ``float32``."""
    if isinstance(config, dict):
        if config.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and \
                str(config.get("config", {}).get("name", "")).startswith("mixed"):
            return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: _as_float32(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_as_float32(value) for value in config]
    return config


def float32_model(model: keras.Model) -> keras.Model:
    """``model`` itself, or, after a mixed-precision run, a float32 copy with the same weights.

    A model trained under ``mixed_float16`` computes in float16, which only GPUs with tensor cores do
    fast; a phone, a CPU server or TensorFlow Lite (no float16 kernels for most layers: the conversion
    fails) want float32. The copy is rebuilt from the model's configuration with every dtype policy set to
    float32, and gets the trained weights (stored in float32 anyway), so predictions differ only by the
    rounding float16 arithmetic added.
    """
    if not is_mixed_precision(model):
        return model
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")  # layers whose config names no policy take the global one
    try:
        copy = keras.saving.deserialize_keras_object(_as_float32(keras.saving.serialize_keras_object(model)))
    finally:
        keras.config.set_dtype_policy(previous)
    copy.set_weights(model.get_weights())
    return copy


def inference_model(model: keras.Model) -> keras.Model:
    """``model`` as the exported files hold it: in float32 (:func:`float32_model`), without augmentation layers.

    Augmentation layers return their input unchanged at inference, but their random ops still end
    up in an exported graph, and TensorFlow Lite has no kernels for them (the conversion fails with
    "ops are not supported by the native TFLite runtime"). Models without augmentation are returned
    as they are. Only augmentation layers called directly by ``model`` are removed; the others share
    every layer (and so every weight) with ``model``.
    """
    model = float32_model(model)
    if not any(is_augmentation(layer) for layer in model.layers):
        return model

    def call(layer, *args, **kwargs):
        return args[0] if is_augmentation(layer) else layer(*args, **kwargs)

    return keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)


def load_keras(path: str | os.PathLike) -> keras.Model:
    """Load a ``.keras`` file in safe mode (no arbitrary code runs), with the course's layers registered."""
    from . import models  # noqa: F401  (registers BackbonePreprocess)

    return keras.saving.load_model(path, safe_mode=True)


def export_saved_model(model: keras.Model, directory: str | os.PathLike) -> Path:
    """Write a TensorFlow SavedModel with one ``serve`` endpoint (``model.export``); returns the folder."""
    directory = Path(directory)
    signature = None
    if len(model.inputs) == 1:  # one tensor, not a list of one: Keras 3.10 gives a reloaded model a list
        spec = model.inputs[0]
        signature = [tf.TensorSpec(spec.shape, spec.dtype, name=spec.name)]
    with quiet_tensorflow_logs():
        model.export(str(directory), format="tf_saved_model", verbose=False, input_signature=signature)
    return directory


def convert_to_tflite(saved_model_dir: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Convert a SavedModel to a float32 TensorFlow Lite file; returns its path."""
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    path = Path(path)
    with quiet_tensorflow_logs():
        path.write_bytes(converter.convert())
    return path


def load_predictor(path: str | os.PathLike) -> Callable[[np.ndarray], np.ndarray]:
    """A function ``images -> probabilities`` for a ``.keras`` file, a SavedModel folder or a ``.tflite`` file.

    ``images`` is a float32 batch ``(n, height, width, 3)`` in [0, 255], as the course's pipelines give.
    It is the very function ``predict.py`` uses (taken from :data:`PREDICT_SCRIPT`), so what is
    checked here is what the script does.
    """
    namespace: dict = {"__name__": "predict_script"}
    exec(compile(PREDICT_SCRIPT, SCRIPT_FILE, "exec"), namespace)  # our own constant, not user input
    with outside_strategy():
        predict = namespace["load_predictor"](Path(path))

    def run(images: np.ndarray) -> np.ndarray:
        with outside_strategy():
            return predict(images)

    return run


@contextmanager
def outside_strategy() -> Iterator[None]:
    """Run the block without the default ``MirroredStrategy`` that ``runtime.setup`` sets on several GPUs.

    The exported files are meant for a plain process (``predict.py``, a server, a phone); loading and
    calling a SavedModel while a multi-device strategy is the default fails ("executing a graph generated
    from the cross-replica context in an in-replica context"), so the check does what the script does.
    """
    strategy = tf.distribute.get_strategy() if tf.distribute.has_strategy() else None
    if strategy is not None:
        tf.distribute.experimental_set_strategy(None)
    try:
        yield
    finally:
        if strategy is not None:
            tf.distribute.experimental_set_strategy(strategy)


def write_labels(folder: str | os.PathLike, class_names: Sequence[str], image_size: tuple[int, int]) -> Path:
    """Write ``labels.json``: the class names in label order and the ``[height, width]`` the model expects."""
    path = Path(folder) / LABELS_FILE
    path.write_text(json.dumps({"class_names": list(class_names), "image_size": list(image_size)}, indent=2) + "\n")
    return path


def write_predict_script(folder: str | os.PathLike) -> Path:
    """Write the stand-alone ``predict.py`` (:data:`PREDICT_SCRIPT`) into ``folder``; returns its path."""
    path = Path(folder) / SCRIPT_FILE
    path.write_text(PREDICT_SCRIPT)
    return path


def export_model(model: keras.Model, folder: str | os.PathLike, class_names: Sequence[str],
                 image_size: tuple[int, int], *, saved_model: bool = True, tflite: bool = True) -> Exported:
    """Export ``model`` to ``folder`` as ``model.keras``, a SavedModel and a TFLite file, plus labels and script.

    ``model.keras`` holds the whole model, augmentation included, so that it can be trained further;
    the SavedModel and the TFLite file hold :func:`inference_model` (the same predictions, without
    the augmentation layers). All three are float32: after a mixed-precision GPU run they hold
    :func:`float32_model`'s copy (``model.keras`` then without the optimizer's state).

    Args:
        model: A trained model taking float32 images in [0, 255] and returning class probabilities.
        folder: Where to write (created; files of an earlier export are replaced).
        class_names: Class names in label order.
        image_size: ``(height, width)`` of the model's input.
        saved_model: Write ``saved_model/`` (``model.export``).
        tflite: Write ``model.tflite`` (converted from the SavedModel, so this implies writing it).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    keras_path = folder / "model.keras"
    float32_model(model).save(keras_path)
    sm_path = tfl_path = None
    if saved_model or tflite:
        sm_path = export_saved_model(inference_model(model), folder / "saved_model")
    if tflite:
        tfl_path = convert_to_tflite(sm_path, folder / "model.tflite")
    return Exported(folder, keras_path, sm_path, tfl_path, write_labels(folder, class_names, image_size),
                    write_predict_script(folder))


def compare_outputs(reference: np.ndarray, predictors: dict[str, Callable[[np.ndarray], np.ndarray]],
                    images: np.ndarray) -> dict[str, dict[str, float]]:
    """For each predictor: the largest absolute difference from ``reference`` and the share of equal classes.

    Returns ``{name: {"max_abs_diff": ..., "same_class": ...}}``.
    """
    reference = np.asarray(reference)
    table = {}
    for name, predict in predictors.items():
        with quiet_tensorflow_logs():
            out = np.asarray(predict(images))
        table[name] = {"max_abs_diff": float(np.abs(out - reference).max()),
                       "same_class": float(np.mean(out.argmax(-1) == reference.argmax(-1)))}
    return table


def predict_in_subprocess(model_path: str | os.PathLike, image_path: str | os.PathLike, *,
                          script: str | os.PathLike | None = None, timeout: float = 600) -> dict:
    """Classify one image with ``predict.py`` in a fresh Python process; returns its JSON answer as a dict.

    The child process is started with ``subprocess.run([sys.executable, predict.py, model, image])``:
    it shares nothing with the caller but the files. ``labels.json`` must lie next to the model.

    Args:
        model_path: ``model.keras``, the ``saved_model`` folder or ``model.tflite`` of an export.
        image_path: The image to classify.
        script: The script to run (default: ``predict.py`` next to the model, written if missing).
        timeout: Seconds before the child is stopped.

    Returns:
        ``{"image", "class", "probability", "probabilities": {class: probability}}``.

    Raises:
        RuntimeError: the child failed; the message holds the end of its error output.
    """
    model_path = Path(model_path)
    script = Path(script) if script is not None else model_path.parent / SCRIPT_FILE
    if not script.is_file():
        write_predict_script(script.parent)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    package_root = str(Path(__file__).resolve().parents[1])  # so the child imports these same helpers
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    done = subprocess.run([sys.executable, str(script), str(model_path), str(image_path)], capture_output=True,
                          text=True, timeout=timeout, env=env, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"predict.py failed (exit code {done.returncode}):\n{tail}")
    return json.loads(lines[-1])
