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

import ast
import importlib.resources
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

from . import predict_script

_LABELS_FILE = "labels.json"
_SCRIPT_FILE = "predict.py"

#: The lines of :mod:`helpers.predict_script` between which the written ``predict.py`` holds the course's decoding.
_DECODING_BEGIN = "# ---- the course's decoding: helpers/photos.py and helpers.pipeline.decode_image ----\n"
_DECODING_END = "# ---- end of the course's decoding ----\n"


def _package_source(name: str) -> str:
    """The source of ``helpers/<name>``, read from the installed package (a wheel ships it)."""
    return importlib.resources.files("helpers").joinpath(name).read_text(encoding="utf-8")


def _predict_script() -> str:
    """The stand-alone ``predict.py``: :mod:`helpers.predict_script` with the course's decoding pasted in.

    Between its two marker lines the module imports ``PhotoError`` and ``decode_image`` from the course; the
    written script holds instead the source of :mod:`helpers.photos` (which imports nothing from the course)
    and of ``pipeline.decode_image`` and the resizing it calls, taken from ``pipeline.py`` as they are, so a
    model in production decodes and resizes photos with the very code it was trained with, where only
    TensorFlow, Keras and Pillow are installed.
    """
    script = _package_source("predict_script.py")
    pipeline = _package_source("pipeline.py")
    functions = {node.name: ast.get_source_segment(pipeline, node) for node in ast.parse(pipeline).body
                 if isinstance(node, ast.FunctionDef) and node.name in ("decode_image", "_resize")}
    decoding = (f"{_DECODING_BEGIN}{_package_source('photos.py')}\n\n"
                f"# helpers/pipeline.py: decode_image and the resizing it calls\n"
                f"{functions['decode_image']}\n\n\n{functions['_resize']}\n{_DECODING_END}")
    head, rest = script.split(_DECODING_BEGIN)
    return head + decoding + rest.split(_DECODING_END, 1)[1]


@dataclass(frozen=True)
class _Exported:
    """The files :func:`export_model` wrote (``None`` for a format that was not asked for).

    Part of chapter 09's export.
    """

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
def _quiet_tensorflow_logs() -> Iterator[None]:
    """Hide TensorFlow's Python log lines (``INFO: Assets written to ...``, retracing warnings) inside the block.

    Part of chapter 09's export.
    """
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


def _is_augmentation(layer: keras.Layer) -> bool:
    """True for a random augmentation layer, or a ``Sequential`` made only of them (identity at inference).

    Part of chapter 09's export.
    """
    inner = layer.layers if isinstance(layer, keras.Sequential) else [layer]
    names = [type(lyr).__name__ for lyr in inner]
    return bool(names) and all((n.startswith("Random") and n != "RandomCrop") or n in _AUGMENTATION_LAYERS
                               for n in names)


def _is_mixed_precision(model: keras.Model) -> bool:
    """True when any layer of ``model`` (nested ones included) computes in float16 or bfloat16.

    Part of chapter 09's export.
    """
    return any(layer.dtype_policy.name.startswith("mixed") for layer in model._flatten_layers())


#: How far apart (largest absolute difference of class probabilities) two models with the same weights may be
#: and still agree, by the precision the less exact one computes in. float32 arithmetic in another order
#: (Keras, the TensorFlow runtime, the TFLite interpreter) differs around 1e-7; float16 keeps 11 bits
#: (a relative rounding of 4.9e-4 per operation) and ends around 1e-3 after a network's layers (measured in
#: ``tests/test_export.py``); bfloat16 keeps 8 bits, eight times coarser. Each bar is about ten times what
#: its arithmetic gives.
_AGREEMENT_TOLERANCE = {"float32": 1e-4, "float64": 1e-4, "float16": 1e-2, "bfloat16": 5e-2}


def compute_dtypes(model: keras.Model) -> set[str]:
    """The dtypes the layers of ``model`` (nested ones included) compute in: ``{"float32"}``, ``{"float16", ...}``.

    Part of chapter 09's export.
    """
    return {layer.dtype_policy.compute_dtype for layer in model._flatten_layers()}


def agreement_tolerance(*models: keras.Model) -> float:
    """The largest difference of class probabilities at which ``models`` (the same weights) still agree.

    It follows the precision the models really compute in, read from their layers' dtype policies
    (:func:`compute_dtypes`), not from how the run was configured: a model trained under
    ``mixed_float16`` and its float32 export agree within 1e-2, two float32 copies within 1e-4
    (:data:`_AGREEMENT_TOLERANCE`). A dtype not in that table counts as float16.
    Part of chapter 09's export.
    """
    dtypes = {dtype for model in models for dtype in compute_dtypes(model)}
    return max(_AGREEMENT_TOLERANCE.get(dtype, _AGREEMENT_TOLERANCE["float16"]) for dtype in dtypes or {"float32"})


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


def _float32_model(model: keras.Model) -> keras.Model:
    """``model`` itself, or, after a mixed-precision run, a float32 copy with the same weights.

    A model trained under ``mixed_float16`` computes in float16, which only GPUs with tensor cores do
    fast; a phone, a CPU server or TensorFlow Lite (no float16 kernels for most layers: the conversion
    fails) want float32. The copy is rebuilt from the model's configuration with every dtype policy set to
    float32, and gets the trained weights (stored in float32 anyway), so predictions differ only by the
    rounding float16 arithmetic added.
    Part of chapter 09's export.
    """
    if not _is_mixed_precision(model):
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
    """``model`` as the exported files hold it: in float32 (:func:`_float32_model`), without augmentation layers.

    Augmentation layers return their input unchanged at inference, but their random ops still end
    up in an exported graph, and TensorFlow Lite has no kernels for them (the conversion fails with
    "ops are not supported by the native TFLite runtime"). Models without augmentation are returned
    as they are. Only augmentation layers called directly by ``model`` are removed; the others share
    every layer (and so every weight) with ``model``.
    Part of chapter 09's export.
    """
    model = _float32_model(model)
    if not any(_is_augmentation(layer) for layer in model.layers):
        return model

    def call(layer, *args, **kwargs):
        return args[0] if _is_augmentation(layer) else layer(*args, **kwargs)

    return keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)


def load_keras(path: str | os.PathLike) -> keras.Model:
    """Load a ``.keras`` file in safe mode (no arbitrary code runs), with the course's layers registered.

    Part of chapter 09's export.
    """
    from . import models  # noqa: F401  (registers BackbonePreprocess)

    return keras.saving.load_model(path, safe_mode=True)


def _export_saved_model(model: keras.Model, directory: str | os.PathLike) -> Path:
    """Write a TensorFlow SavedModel with one ``serve`` endpoint (``model.export``); returns the folder.

    Part of chapter 09's export.
    """
    directory = Path(directory)
    signature = None
    if len(model.inputs) == 1:  # one tensor, not a list of one: Keras 3.10 gives a reloaded model a list
        spec = model.inputs[0]
        signature = [tf.TensorSpec(spec.shape, spec.dtype, name=spec.name)]
    with _quiet_tensorflow_logs():
        model.export(str(directory), format="tf_saved_model", verbose=False, input_signature=signature)
    return directory


def _convert_to_tflite(saved_model_dir: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Convert a SavedModel to a float32 TensorFlow Lite file; returns its path. Part of chapter 09's export."""
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    path = Path(path)
    with _quiet_tensorflow_logs():
        path.write_bytes(converter.convert())
    return path


def load_predictor(path: str | os.PathLike) -> Callable[[np.ndarray], np.ndarray]:
    """A function ``images -> probabilities`` for a ``.keras`` file, a SavedModel folder or a ``.tflite`` file.

    ``images`` is a float32 batch ``(n, height, width, 3)`` in [0, 255], as the course's pipelines give.
    It is the very function ``predict.py`` uses (:func:`helpers.predict_script.load_predictor`), so what is
    checked here is what the script does. Chapter 09 compares the three exported files with it.
    """
    with _outside_strategy():
        predict = predict_script.load_predictor(Path(path))

    def run(images: np.ndarray) -> np.ndarray:
        with _outside_strategy():
            return predict(images)

    return run


@contextmanager
def _outside_strategy() -> Iterator[None]:
    """Run the block without the default ``MirroredStrategy`` that ``runtime.setup`` sets on several GPUs.

    The exported files are meant for a plain process (``predict.py``, a server, a phone); loading and
    calling a SavedModel while a multi-device strategy is the default fails ("executing a graph generated
    from the cross-replica context in an in-replica context"), so the check does what the script does.
    Part of chapter 09's export.
    """
    strategy = tf.distribute.get_strategy() if tf.distribute.has_strategy() else None
    if strategy is not None:
        tf.distribute.experimental_set_strategy(None)
    try:
        yield
    finally:
        if strategy is not None:
            tf.distribute.experimental_set_strategy(strategy)


def _write_labels(folder: str | os.PathLike, class_names: Sequence[str], image_size: tuple[int, int]) -> Path:
    """Write ``labels.json``: the class names in label order and the ``[height, width]`` the model expects.

    Part of chapter 09's export.
    """
    path = Path(folder) / _LABELS_FILE
    path.write_text(json.dumps({"class_names": list(class_names), "image_size": list(image_size)}, indent=2) + "\n")
    return path


def _write_predict_script(folder: str | os.PathLike) -> Path:
    """Write the stand-alone ``predict.py`` (:mod:`helpers.predict_script`, decoding included) into ``folder``.

    Part of chapter 09's export.
    """
    path = Path(folder) / _SCRIPT_FILE
    path.write_text(_predict_script())
    return path


def export_model(model: keras.Model, folder: str | os.PathLike, class_names: Sequence[str],
                 image_size: tuple[int, int], *, saved_model: bool = True, tflite: bool = True) -> _Exported:
    """Export ``model`` to ``folder`` as ``model.keras``, a SavedModel and a TFLite file, plus labels and script.

    ``model.keras`` holds the whole model, augmentation included, so that it can be trained further;
    the SavedModel and the TFLite file hold :func:`inference_model` (the same predictions, without
    the augmentation layers). All three are float32: after a mixed-precision GPU run they hold
    :func:`_float32_model`'s copy (``model.keras`` then without the optimizer's state).

    Args:
        model: A trained model taking float32 images in [0, 255] and returning class probabilities.
        folder: Where to write (created; files of an earlier export are replaced).
        class_names: Class names in label order.
        image_size: ``(height, width)`` of the model's input.
        saved_model: Write ``saved_model/`` (``model.export``).
        tflite: Write ``model.tflite`` (converted from the SavedModel, so this implies writing it).
    Part of chapter 09's export.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    keras_path = folder / "model.keras"
    _float32_model(model).save(keras_path)
    sm_path = tfl_path = None
    if saved_model or tflite:
        sm_path = _export_saved_model(inference_model(model), folder / "saved_model")
    if tflite:
        tfl_path = _convert_to_tflite(sm_path, folder / "model.tflite")
    return _Exported(folder, keras_path, sm_path, tfl_path, _write_labels(folder, class_names, image_size),
                     _write_predict_script(folder))


def compare_outputs(reference: np.ndarray, predictors: dict[str, Callable[[np.ndarray], np.ndarray]],
                    images: np.ndarray) -> dict[str, dict[str, float]]:
    """For each predictor: the largest absolute difference from ``reference`` and the share of equal classes.

    Returns ``{name: {"max_abs_diff": ..., "same_class": ...}}``.
    Part of chapter 09's export.
    """
    reference = np.asarray(reference)
    table = {}
    for name, predict in predictors.items():
        with _quiet_tensorflow_logs():
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
    Part of chapter 09's export.
    """
    model_path = Path(model_path)
    script = Path(script) if script is not None else model_path.parent / _SCRIPT_FILE
    if not script.is_file():
        _write_predict_script(script.parent)
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
