"""Tests for helpers.predict_script: the stand-alone ``predict.py`` that chapter 09 writes next to an exported model.

The module is imported and run here as it is in the course, and the written script (with the course's decoding
pasted in) is run in a fresh process where ``helpers`` cannot be imported, as on a machine with only TensorFlow,
Keras and Pillow.
"""

from __future__ import annotations

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import export, pipeline, predict_script

CLASSES = ["blue", "green", "red"]
SIZE = (16, 16)

#: Runs predict.py as ``python predict.py ...`` would, with ``import helpers`` failing.
WITHOUT_HELPERS = ("import runpy, sys; sys.modules['helpers'] = None; sys.argv = sys.argv[1:]; "
                   "runpy.run_path(sys.argv[0], run_name='__main__')")


@pytest.fixture(scope="module")
def phone_folder(tmp_path_factory):
    from helpers.datasets import phone_photos

    return phone_photos.make_phone_photos(tmp_path_factory.mktemp("phone"))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A plain Keras model (no course layer, so even model.keras loads without helpers), exported."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((*SIZE, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(len(CLASSES), activation="softmax")(x))
    return model, export.export_model(model, tmp_path_factory.mktemp("export") / "best", CLASSES, SIZE)


def run_alone(folder, *args):
    """Run ``folder/predict.py`` in a fresh process from ``folder``, ``helpers`` not importable; its JSON lines."""
    env = {"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", WITHOUT_HELPERS, "predict.py", *map(str, args)], cwd=folder,
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    return done, [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_missing_files_are_named(tmp_path):
    with pytest.raises(SystemExit, match="not found: .*model.keras"):
        predict_script._check_arguments(["predict.py", str(tmp_path / "model.keras"), str(tmp_path / "x.jpg")])
    with pytest.raises(SystemExit, match="python predict.py MODEL IMAGE"):
        predict_script._check_arguments(["predict.py"])


def test_load_image_is_the_training_pipelines_decoding(phone_folder):
    for name in ("box/IMG_0006.JPG", "box/cutout_0018.Png", "ball/IMG_0001.JPG"):
        expected = pipeline.decode_image(tf.constant(str(phone_folder / name)), (20, 12)).numpy()
        np.testing.assert_array_equal(predict_script._load_image(phone_folder / name, [20, 12])[0], expected)


def test_the_written_script_carries_the_course_decoding_and_imports_nothing_of_it():
    text = export._write_predict_script(export.Path(pytest.importorskip("tempfile").mkdtemp())).read_text()
    assert "from helpers.photos import" not in text and "from helpers.pipeline import" not in text
    assert "def decode_photo(" in text and "def decode_image(" in text and "def _resize(" in text
    compile(text, "predict.py", "exec")


@pytest.mark.parametrize("fmt", ["model.keras", "saved_model", "model.tflite"])
def test_the_written_script_runs_alone_and_predicts_as_the_model(exported, phone_folder, fmt):
    model, files = exported
    photo = phone_folder / "box" / "IMG_0006.JPG"  # stored sideways: turned upright, as in training
    done, answers = run_alone(files.folder, fmt, photo)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = model.predict_on_batch(predict_script._load_image(photo, SIZE))[0]
    assert answers[0]["class"] == CLASSES[int(expected.argmax())]
    np.testing.assert_allclose([answers[0]["probabilities"][c] for c in CLASSES], expected, atol=1e-4)
