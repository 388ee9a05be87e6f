from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from helpers import runtime


@pytest.mark.parametrize(
    ("environ", "modules", "expected"),
    [
        ({}, {"google.colab": object()}, "colab"),
        ({"COLAB_RELEASE_TAG": "release-colab_20261101"}, {}, "colab"),
        ({"KAGGLE_KERNEL_RUN_TYPE": "Interactive"}, {}, "kaggle"),
        ({"GITHUB_ACTIONS": "true"}, {}, "ci"),
        ({"CI": "1"}, {}, "ci"),
        ({}, {}, "local"),
        ({"KAGGLE_KERNEL_RUN_TYPE": "Batch", "CI": "1"}, {}, "kaggle"),
    ],
)
def test_detect_environment(environ, modules, expected):
    assert runtime.detect_environment(environ, modules) == expected


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


COLAB = {"google.colab": object()}


@pytest.mark.parametrize(
    ("environ", "modules", "stream", "expected"),
    [
        ({}, {}, io.StringIO(), False),  # a kernel no front end started (papermill, nbclient), output to a file
        ({}, {}, _Terminal(), True),  # a terminal
        ({"JPY_SESSION_NAME": "/home/me/01.ipynb"}, {}, io.StringIO(), True),  # JupyterLab, Notebook 7
        ({}, COLAB, io.StringIO(), True),
        ({"KAGGLE_KERNEL_RUN_TYPE": "Interactive"}, {}, io.StringIO(), True),
        ({"KAGGLE_KERNEL_RUN_TYPE": "Batch"}, {}, _Terminal(), False),  # Kaggle's "Save & Run All"
        ({"JPY_SESSION_NAME": "x", "COURSE_BATCH": "1"}, {}, _Terminal(), False),  # the course's run and test
        ({"CI": "true"}, COLAB, _Terminal(), False),
        ({"COURSE_INTERACTIVE": "1", "CI": "true"}, {}, io.StringIO(), True),  # forced either way
        ({"COURSE_INTERACTIVE": "0", "JPY_SESSION_NAME": "x"}, COLAB, _Terminal(), False),
    ],
)
def test_someone_watching(environ, modules, stream, expected):
    assert runtime.someone_watching(environ, modules, stream) is expected


@pytest.mark.parametrize(("environ", "modules"), [
    ({}, {}), ({}, COLAB), ({"KAGGLE_KERNEL_RUN_TYPE": "Batch"}, {}), ({"CI": "1"}, {}), ({"CI": "1"}, COLAB),
])
def test_the_set_up_cells_platform_test_agrees_with_detect_environment(environ, modules):
    names = {"os": SimpleNamespace(environ=environ), "sys": SimpleNamespace(modules=modules)}
    hosted = eval(runtime.HOSTED_TEST, names)
    assert hosted == (runtime.detect_environment(environ, modules) in ("colab", "kaggle"))


def test_import_leaves_tensorflow_unimported_and_setup_quiets_it():
    code = ("import os, sys; import helpers.runtime as r; assert 'tensorflow' not in sys.modules; "
            "assert 'TF_CPP_MIN_LOG_LEVEL' not in os.environ; r.setup('smoke', verbose=False); "
            "print(os.environ['TF_CPP_MIN_LOG_LEVEL'], os.environ['TF_ENABLE_ONEDNN_OPTS'])")
    env = {k: v for k, v in os.environ.items() if k not in runtime.QUIET_TENSORFLOW}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["3", "0"]
    assert "oneDNN custom operations" not in done.stderr  # set before TensorFlow's import: it listened


def test_device_name():
    assert runtime.device_name(()).startswith("CPU (")
    assert runtime.device_name(("Tesla T4",)) == "Tesla T4"
    assert runtime.device_name(("Tesla T4", "Tesla T4")) == "2 x Tesla T4"


@pytest.mark.parametrize("env", ["colab", "kaggle", "local", "ci"])
def test_no_gpu_advice_only_for_gpu_profiles(env):
    assert runtime._no_gpu_advice(env, "smoke") is None
    advice = runtime._no_gpu_advice(env, "quick")
    assert advice and "GPU" in advice


def test_colab_advice_names_the_menu():
    assert "Change runtime type" in runtime._no_gpu_advice("colab", "full")
    assert "Accelerator" in runtime._no_gpu_advice("kaggle", "full")


def test_setup_rejects_unknown_profile():
    with pytest.raises(ValueError, match="smoke, quick, full"):
        runtime.setup("fast")


def test_setup_reports_and_seeds(capsys):
    rt = runtime.setup("smoke", seed=7)
    out = capsys.readouterr().out
    assert "Profile     : smoke (seed 7, deterministic ops)" in out
    assert rt.deterministic and rt.profile == "smoke" and rt.tensorflow
    a = keras.random.uniform((3,)).numpy()
    runtime.setup("smoke", seed=7, verbose=False)
    b = keras.random.uniform((3,)).numpy()
    np.testing.assert_array_equal(a, b)
    assert rt.as_dict()["seed"] == 7


# --- accelerator recipes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("profile", "capabilities", "environ", "expected"), [
    ("quick", ((7, 5),), {}, True),  # T4
    ("full", ((9, 0), (9, 0)), {}, True),  # two H100
    ("quick", ((6, 0),), {}, False),  # P100: no tensor cores
    ("quick", ((7, 5), (6, 0)), {}, False),  # mixed machine: the slow one decides
    ("smoke", ((8, 0),), {}, False),  # smoke runs stay float32 and deterministic
    ("quick", (), {}, False),  # CPU
    ("quick", ((8, 0),), {"COURSE_MIXED_PRECISION": "0"}, False),
    ("smoke", (), {"COURSE_MIXED_PRECISION": "1"}, True),  # forced, to rehearse on a CPU
])
def test_mixed_precision_only_on_gpu_profiles_with_tensor_cores(profile, capabilities, environ, expected):
    assert runtime.wants_mixed_precision(profile, capabilities, environ) is expected


def test_several_gpus_train_in_float32():
    """Mixed precision with MirroredStrategy gave NaN weights in the rehearsal: float32 on two T4s."""
    assert not runtime.wants_mixed_precision("quick", ((7, 5), (7, 5)), {}, replicas=2)
    assert runtime.wants_mixed_precision("quick", ((7, 5), (7, 5)), {}, replicas=1)


@pytest.fixture
def restore_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_course_models_train_in_mixed_precision_with_float32_outputs(restore_policy):
    """Under mixed_float16 the convolutions compute in float16, the weights and the softmax stay float32,
    and compile() adds loss scaling: one epoch gives a finite loss."""
    from helpers import models

    assert runtime._set_precision(True) == "mixed_float16"
    model = models.scratch_cnn((16, 16, 3), 3, filters=(4,), dense=(8,))
    conv = model.get_layer("block1_conv1")
    assert conv.compute_dtype == "float16" and conv.kernel.dtype == "float32"
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert type(model.optimizer).__name__ == "LossScaleOptimizer"
    x = np.random.default_rng(0).uniform(0, 255, (8, 16, 16, 3)).astype("float32")
    y = np.arange(8) % 3
    history = model.fit(x, y, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.predict(x, verbose=0).dtype == np.float32
    assert runtime._set_precision(False) == "float32"
    assert models.scratch_cnn((16, 16, 3), 3, filters=(4,), dense=(8,)).get_layer("block1_conv1").compute_dtype \
        == "float32"


def test_one_device_keeps_the_default_strategy():
    assert runtime._use_strategy(None) is None
    assert runtime._use_strategy(["/gpu:0"]) is None
    assert runtime._use_strategy(["/gpu:0", "/gpu:1"], environ={"COURSE_STRATEGY": "none"}) is None


def test_splitting_the_cpu_too_late_says_what_to_do():
    import tensorflow as tf

    tf.constant(1.0) + 1  # TensorFlow has run an operation: devices are fixed now
    with pytest.raises(RuntimeError, match="restart the kernel"):
        runtime._strategy_devices((), {"COURSE_STRATEGY": "cpu:3"})
    assert runtime._strategy_devices(("T4", "T4"), {}) == ["/gpu:0", "/gpu:1"]


def test_xla_rule_in_words():
    assert runtime._xla_rule(()) == "off (CPU)"
    assert runtime._xla_rule(("Tesla T4",)).startswith("auto")


def test_setup_reports_precision_and_xla(capsys):
    rt = runtime.setup("smoke", seed=1)
    out = capsys.readouterr().out
    assert "Precision   : float32" in out and "XLA         : off (CPU)" in out
    assert rt.as_dict()["precision"] == "float32" and rt.replicas == 1
    assert keras.mixed_precision.global_policy().name == "float32"


TWO_DEVICES = r'''
import numpy as np, tensorflow as tf
from helpers import evaluation, explain, features, models, runtime, training
rt = runtime.setup("smoke", seed=1)  # with COURSE_STRATEGY=cpu:2
assert rt.replicas == 2 and rt.strategy == "MirroredStrategy over 2 CPU devices", rt
assert rt.precision == "float32"
strategy = tf.distribute.get_strategy()
assert strategy.num_replicas_in_sync == 2
assert runtime._use_strategy(["/cpu:0", "/cpu:1"]) is strategy  # re-running the set-up cell keeps it
x = np.random.default_rng(0).uniform(0, 255, (32, 16, 16, 3)).astype("float32")
y = (np.arange(32) % 2).astype("int32")
ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
model = models.scratch_cnn((16, 16, 3), 2, filters=(4,), dense=(8,))
assert model.distribute_strategy is strategy
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(ds, validation_data=ds, epochs=2, verbose=0, callbacks=[training.Timer()])
assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
y_true, y_prob = evaluation.predict_dataset(model, ds)
assert y_prob.shape == (32, 2) and (y_true == y).all()
heat = explain.grad_cam(model, x[:2])
assert heat.shape[0] == 2 and np.isfinite(heat).all()
extractor = features.feature_extractor(model, "flatten")
feats = features.extract_features(extractor, {"test": ds})
assert feats.x["test"].shape[0] == 32 and (feats.y["test"] == y).all()
from helpers import export
exported = export.export_model(model, "export", ["a", "b"], (16, 16))
for path in (exported.keras, exported.saved_model, exported.tflite):
    np.testing.assert_allclose(export.load_predictor(path)(x[:4]), y_prob[:4], atol=1e-4)
assert tf.distribute.get_strategy() is strategy  # the strategy is back after the check
# A Keras loss object called by hand (outside fit) divides by the number of replicas, because fit sums the
# replicas' shares; the loss function does not. Chapters 02 and 03 call the function for that reason.
import keras
half = np.array([[0.5, 0.5]], "float32")
whole = float(keras.ops.mean(keras.losses.sparse_categorical_crossentropy(np.array([0]), half)))
assert abs(whole - np.log(2)) < 1e-6
assert abs(float(keras.losses.SparseCategoricalCrossentropy()(np.array([0]), half)) - whole / 2) < 1e-6
print("TWO DEVICES OK")
'''


def test_two_devices_train_with_a_mirrored_strategy(tmp_path):
    """Two logical CPU devices stand in for Kaggle's two T4s: every course routine works under the strategy."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", TWO_DEVICES], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3",
                                             "COURSE_STRATEGY": "cpu:2"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "TWO DEVICES OK" in done.stdout


def test_fit_on_a_dataset_does_not_warn_about_shuffle_after_setup(recwarn):
    import keras
    import numpy as np
    import tensorflow as tf

    from helpers import runtime

    runtime._quiet_dataset_shuffle_warning()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    data = tf.data.Dataset.from_tensor_slices((np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32"))).batch(2)
    model.fit(data, epochs=1, verbose=0)
    assert not [w for w in recwarn if "shuffle" in str(w.message)]


RETRACING = """
import logging, sys
import keras, numpy as np, tensorflow as tf
from helpers import runtime
if sys.argv[1] == "quiet":
    runtime._quiet_keras_step_retracing_warning()
seen = []
handler = logging.Handler()
handler.emit = lambda record: seen.append(record.getMessage())
logging.getLogger("tensorflow").addHandler(handler)
data = tf.data.Dataset.from_tensor_slices((np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32"))).batch(2)
for _ in range(8):  # eight models in a row, as a chapter trains them: each compile makes a new step function
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(data, epochs=1, verbose=0)
for _ in range(8):  # a function of one's own, re-created in a loop: the mistake the warning is for
    own = tf.function(lambda x: x + 1)
    own(tf.constant(1.0))
retracing = [m for m in seen if "triggered tf.function retracing" in m]
print("keras", sum("TensorFlowTrainer" in m for m in retracing), "own", sum("lambda" in m for m in retracing))
"""


@pytest.mark.parametrize(("mode", "keras_warnings"), [("default", "keras [12]"), ("quiet", "keras 0")])
def test_only_keras_own_step_functions_lose_the_retracing_warning(mode, keras_warnings):
    done = subprocess.run([sys.executable, "-c", RETRACING, mode], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(rf"^{keras_warnings} own [12]$", done.stdout.strip(), re.M), done.stdout


# --- an image that cannot be decoded, in a notebook ------------------------------------------------------------

UNREADABLE = """
import sys
from pathlib import Path
import numpy as np
from IPython.core.interactiveshell import InteractiveShell
from PIL import Image
shell = InteractiveShell.instance()
folder = Path(sys.argv[1])
for i in range(3):
    Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(folder / f"{i}.png")
data = bytearray((folder / "2.png").read_bytes())
data[len(data) // 2] ^= 0x10  # inside the pixel data: the header is fine, decoding fails
(folder / "2.png").write_bytes(bytes(data))
shell.run_cell("from helpers import runtime; rt = runtime.setup('smoke', verbose=False)")
print("handler installed:", len(shell.custom_exceptions))
shell.run_cell("from helpers.pipeline import make_dataset")
shell.run_cell("from pathlib import Path")
shell.run_cell(f"files = sorted(Path({str(folder)!r}).glob('*.png'))")
print("=== epoch")
stopped = shell.run_cell("for batch in make_dataset(files, [0, 1, 0], image_size=(8, 8), batch_size=2): pass")
print("=== other")
other = shell.run_cell("import tensorflow as tf; tf.reshape(tf.zeros(3), (2, 2))")
print("=== errors", type(stopped.error_in_exec).__name__, type(other.error_in_exec).__name__)
"""


def test_in_a_notebook_a_damaged_image_stops_the_cell_with_a_message_naming_it(tmp_path):
    """A real IPython shell after ``setup``: the epoch's error is shown as the file and what to do, the cell still
    fails (so "Run all" stops there), and any other TensorFlow error keeps its usual traceback."""
    done = subprocess.run([sys.executable, "-c", UNREADABLE, str(tmp_path)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "handler installed: 3" in out
    epoch = out[out.index("=== epoch"):out.index("=== other")]
    assert f"1 of the 3 image files of this notebook's datasets cannot be read:\n  {tmp_path / '2.png'}: Invalid PNG" \
        in epoch
    assert "What to do: open them in an image viewer" in epoch
    assert "Traceback" not in epoch and "IteratorGetNext" not in epoch and "function_node" not in epoch
    other = out[out.index("=== other"):out.index("=== errors")]
    assert "InvalidArgumentError" in other and "Traceback" in other and "cannot be read" not in other
    assert "=== errors InvalidArgumentError InvalidArgumentError" in out  # both cells failed


# --- one trace per fit ---------------------------------------------------------------------------------------


def _small_classifier(extra: keras.layers.Layer | None = None) -> keras.Model:
    layers = [keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.BatchNormalization()]
    layers += [extra] if extra is not None else []
    layers += [keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")]
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _shuffled_batches():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x, y = rng.random((20, 8, 8, 3), dtype="float32"), rng.integers(0, 3, 20)
    return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(20, seed=1).batch(6)  # reshuffled every epoch


def _count_train_step_traces(model: keras.Model) -> list[int]:
    traces = []
    step = model.train_step

    def counted(data):
        traces.append(1)  # runs once per trace, never per step
        return step(data)

    model.train_step = counted
    return traces


@pytest.fixture
def keras_own_build():
    """Keras' ``_maybe_symbolic_build`` as it was before the course's version; put back afterwards."""
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    runtime.build_before_first_trace()
    course = TensorFlowTrainer._maybe_symbolic_build
    yield course.__wrapped__
    TensorFlowTrainer._maybe_symbolic_build = course


def test_fit_traces_its_training_step_once_after_setup(keras_own_build):
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    counts = {}
    for name, build in {"keras": keras_own_build, "course": TensorFlowTrainer._maybe_symbolic_build}.items():
        TensorFlowTrainer._maybe_symbolic_build = build
        model = _small_classifier()
        traces = _count_train_step_traces(model)
        model.fit(_shuffled_batches(), epochs=2, verbose=0)
        counts[name] = len(traces)
    assert counts == {"keras": 2, "course": 1}  # Keras alone traces twice (variables created in the first step)


def test_building_first_changes_no_result(keras_own_build):
    """Same seed, same shuffled data: the weights after two epochs are identical, bit for bit."""
    import tensorflow as tf
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    weights = {}
    for name, build in {"keras": keras_own_build, "course": TensorFlowTrainer._maybe_symbolic_build}.items():
        TensorFlowTrainer._maybe_symbolic_build = build
        keras.utils.set_random_seed(3)
        tf.config.experimental.enable_op_determinism()
        model = _small_classifier()
        model.fit(_shuffled_batches(), validation_data=_shuffled_batches(), epochs=2, verbose=0)
        weights[name] = model.get_weights()
    for a, b in zip(weights["keras"], weights["course"], strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_model_keras_cannot_build_from_shapes_still_trains():
    class NoShapes(keras.layers.Layer):
        refuse = False  # set once the model is built: from then on, shapes alone cannot go through this layer

        def call(self, x):
            from keras.src.backend.common.symbolic_scope import in_symbolic_scope

            if self.refuse and in_symbolic_scope():
                raise RuntimeError("no symbolic build for this layer")
            return x

    assert runtime.build_before_first_trace()
    assert runtime.build_before_first_trace()  # a second call changes nothing
    odd = NoShapes()
    model = _small_classifier(odd)
    odd.refuse = True
    traces = _count_train_step_traces(model)
    history = model.fit(_shuffled_batches(), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and len(traces) == 2  # Keras' own way: two traces


def test_arrays_are_left_to_keras():
    runtime.build_before_first_trace()
    model = _small_classifier()
    x, y = np.zeros((6, 8, 8, 3), "float32"), np.zeros(6, "int64")
    assert np.isfinite(model.fit(x, y, epochs=1, verbose=0).history["loss"][0])
    assert np.isfinite(model.train_on_batch(x, y, return_dict=True)["loss"])


def test_setup_says_how_fit_traces(capsys):
    runtime.setup("smoke", seed=1)
    assert "Tracing     : once per fit" in capsys.readouterr().out
