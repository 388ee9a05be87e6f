"""Set-up shared by every notebook: where we run, which devices we have, seeds and determinism.

Call :func:`setup` once, right after the parameters cell::

    rt = runtime.setup(PROFILE, seed=SEED)

It prints one short block (environment, versions, devices, what to do if there is no GPU) and
returns a :class:`Runtime` whose fields go into the notebook's results JSON.

It also applies the accelerator recipes, so no chapter has to:

- **mixed precision** (``mixed_float16``: float16 maths, float32 weights) on GPUs with tensor cores
  (compute capability 7.0 and up: T4, V100, A100, L4, H100), in the ``quick`` and ``full`` profiles.
  The course's models keep their last layer in float32 (``dtype="float32"``), which a softmax needs;
  Keras adds loss scaling to the optimizer by itself. Off on CPUs and older GPUs (a P100 gains little).
- **XLA**: Keras' ``compile(jit_compile="auto")`` (the default) already compiles a model with XLA on a GPU
  when every layer supports it; the augmentation layers don't, so augmented models run without it.
  The set-up reports that rule; nothing is forced.
- **several GPUs** (Kaggle's "GPU T4 x2"): a ``tf.distribute.MirroredStrategy`` over all of them is made
  the default strategy, so every model the notebook builds afterwards trains on all GPUs, each batch
  split between them, without a ``with strategy.scope():`` in the chapters.

It also keeps TensorFlow's start-up quiet (:data:`QUIET_TENSORFLOW`: ``TF_CPP_MIN_LOG_LEVEL=3``, and
``TF_ENABLE_ONEDNN_OPTS=0``, without which oneDNN shifts losses in the 6th decimal between machines). Both are read
once, when TensorFlow is imported, so the set-up cell's first lines (:func:`helpers.course.bootstrap_code`) set
them before ``from helpers import ...`` and :func:`setup` sets them again for a kernel that skipped those lines;
``import helpers`` itself changes nothing in the environment.

It also makes every ``fit`` trace its training step once instead of twice (:func:`build_before_first_trace`),
which takes a third off the first epoch of each training run.

``COURSE_MIXED_PRECISION=0`` and ``COURSE_STRATEGY=none`` switch the first and the last off.
To rehearse a GPU run's code paths on a laptop, ``COURSE_MIXED_PRECISION=1`` forces mixed precision (slow on
a CPU, but it runs) and ``COURSE_STRATEGY=cpu:2`` splits the CPU into two devices and mirrors over them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import sys
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TextIO

from . import results

if TYPE_CHECKING:
    import tensorflow as tf

# TensorFlow and Keras are imported inside the functions that need them: importing this module must not
# import TensorFlow (``helpers.progress`` asks :func:`someone_watching`, and :func:`setup` quiets TensorFlow's
# start-up only where nothing has imported it yet).

PROFILES = ("smoke", "quick", "full")


@dataclass(frozen=True)
class Runtime:
    """What the notebook runs on, as every chapter's set-up (:func:`setup`) found it; stored in every results JSON."""

    environment: str
    profile: str
    seed: int
    device: str
    gpus: tuple[str, ...]
    tensorflow: str
    keras: str
    python: str
    deterministic: bool
    precision: str = "float32"
    xla: str = "off (CPU)"
    strategy: str = "default (one device)"
    replicas: int = 1

    def as_dict(self) -> dict:
        return asdict(self)


#: "Are we on Colab or Kaggle?" as Python source over ``os`` and ``sys``: the set-up cell decides with it whether
#: to ``pip install`` the helpers (:func:`helpers.course.bootstrap_code` writes it in: that cell runs before the
#: helpers are importable). :func:`detect_environment` answers the same question; a test keeps them in step.
HOSTED_TEST = '"google.colab" in sys.modules or "KAGGLE_KERNEL_RUN_TYPE" in os.environ'

#: The environment the set-up makes TensorFlow start quietly in (read once, when TensorFlow is imported).
QUIET_TENSORFLOW = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}


def detect_environment(environ: Mapping[str, str] | None = None, modules: Mapping | None = None) -> str:
    """``"colab"``, ``"kaggle"``, ``"ci"`` or ``"local"``: the one place the course asks where it runs.

    The set-up of every chapter (:func:`setup`) reports it; the datasets' default folder and the search for Kaggle
    credentials ask it too. The arguments default to ``os.environ`` and ``sys.modules``; tests pass their own
    to simulate each place.
    """
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    if "google.colab" in modules or "COLAB_RELEASE_TAG" in environ:
        return "colab"
    if "KAGGLE_KERNEL_RUN_TYPE" in environ:
        return "kaggle"
    if environ.get("CI") or environ.get("GITHUB_ACTIONS"):
        return "ci"
    return "local"


def someone_watching(environ: Mapping[str, str] | None = None, modules: Mapping | None = None,
                     stream: TextIO | Any = None) -> bool:
    """Whether a person is watching the output live: the course's one answer to that question.

    Nobody in batch runs: ``COURSE_BATCH`` (the course's run and test commands set it for the notebooks they
    execute) or ``CI`` set, a Kaggle batch run ("Save & Run All"), and any other kernel that no front end
    started (papermill, nbclient). Someone on Colab, in a Kaggle interactive session, in a kernel that
    Jupyter Server started (JupyterLab and Notebook 7 set ``JPY_SESSION_NAME``), and at a terminal
    (``stream``, default ``sys.stderr``, is a TTY). ``COURSE_INTERACTIVE=1`` (or ``0``) forces the answer,
    for a front end the rule does not know.

    What follows from it: progress bars (:mod:`helpers.progress`), Keras' live progress bar in every chapter's
    ``model.fit`` (:func:`helpers.training.fit_verbosity`), and chapter 01's kernel editor widget.
    Arguments default to ``os.environ``, ``sys.modules`` and ``sys.stderr``; tests pass their own.
    """
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    stream = sys.stderr if stream is None else stream
    if environ.get("COURSE_INTERACTIVE") in ("0", "1"):
        return environ["COURSE_INTERACTIVE"] == "1"
    environment = detect_environment(environ, modules)
    if environ.get("COURSE_BATCH") or environ.get("CI") or environ.get("KAGGLE_KERNEL_RUN_TYPE") == "Batch":
        return False
    if environment == "colab" or environ.get("KAGGLE_KERNEL_RUN_TYPE") == "Interactive":
        return True
    return bool(environ.get("JPY_SESSION_NAME")) or bool(getattr(stream, "isatty", lambda: False)())


def _list_gpus() -> tuple[str, ...]:
    """Names of the visible GPUs (e.g. ``"Tesla T4"``), empty on a CPU-only machine."""
    import tensorflow as tf

    names = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        names.append(details.get("device_name", gpu.name))
    return tuple(names)


def device_name(gpus: tuple[str, ...]) -> str:
    """A short description of the compute device, e.g. ``"2 x Tesla T4"`` or ``"CPU (2 cores)"``.

    every chapter's set-up prints it (:func:`setup`); the benchmarks record it with their figures.
    Part of every chapter's set-up.
    """
    if gpus:
        return f"{len(gpus)} x {gpus[0]}" if len(gpus) > 1 else gpus[0]
    return f"CPU ({os.cpu_count()} cores)"


def _no_gpu_advice(environment: str, profile: str) -> str | None:
    """What to tell a learner who runs a GPU profile without a GPU, or ``None`` if nothing is needed."""
    if profile == "smoke":
        return None
    if environment == "colab":
        return "No GPU attached: Runtime > Change runtime type > T4 GPU, then run all cells again."
    if environment == "kaggle":
        return "No GPU attached: Settings > Accelerator > GPU T4 x2 (phone verification needed), then run again."
    return (f"No GPU found: PROFILE={profile!r} will be slow on a CPU. "
            "Use PROFILE='smoke' to try the notebook quickly, or run it on Colab or Kaggle.")


def _compute_capabilities() -> tuple[tuple[int, int], ...]:
    """``(major, minor)`` compute capability of each visible GPU, e.g. ``(7, 5)`` for a T4."""
    import tensorflow as tf

    found = []
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        found.append(tuple(capability) if capability else (0, 0))
    return tuple(found)


#: Why mixed precision stays off when several devices train together (see :func:`wants_mixed_precision`).
_MULTI_DEVICE_NOTE = ("off with several GPUs: under MirroredStrategy, Keras 3.15's loss scaling let a non-finite "
                     "update through in the course's rehearsal (NaN weights in chapter 04)")


def wants_mixed_precision(profile: str, capabilities: tuple[tuple[int, int], ...],
                          environ: dict[str, str] | None = None, replicas: int = 1) -> bool:
    """Whether to train in ``mixed_float16``: a GPU profile on one GPU with tensor cores (7.0+).

    With several GPUs (``replicas`` > 1) the course trains in float32 (:data:`_MULTI_DEVICE_NOTE`): the
    rehearsal of a two-device run with mixed precision (``COURSE_MIXED_PRECISION=1 COURSE_STRATEGY=cpu:2``)
    ended with NaN weights in chapter 04, while each recipe alone trained normally.
    ``COURSE_MIXED_PRECISION=0`` in the environment turns it off (for a float32 comparison), ``=1`` forces
    it on anywhere (to rehearse a GPU run's code on a CPU). Every chapter's set-up asks it; the GPU rehearsal
    settings of ``tools/run_notebooks.py`` are checked against it.
    """
    environ = os.environ if environ is None else environ
    if environ.get("COURSE_MIXED_PRECISION") == "1":
        return True
    if profile == "smoke" or not capabilities or environ.get("COURSE_MIXED_PRECISION") == "0" or replicas > 1:
        return False
    return all(major >= 7 for major, _ in capabilities)


def _set_precision(mixed: bool) -> str:
    """Set Keras' global dtype policy; returns its name (``"mixed_float16"`` or ``"float32"``).

    Models built after this call use the policy. Setting ``float32`` explicitly also undoes an earlier
    mixed set-up in the same kernel (re-running the set-up cell with another profile).
    """
    import keras

    name = "mixed_float16" if mixed else "float32"
    keras.mixed_precision.set_global_policy(name)
    return name


def _xla_rule(gpus: tuple[str, ...]) -> str:
    """What Keras' default ``jit_compile="auto"`` will do here, in words."""
    if not gpus:
        return "off (CPU)"
    return "auto (Keras compiles each model with XLA unless a layer cannot be, e.g. augmentation)"


def _use_strategy(devices: list[str] | None, environ: dict[str, str] | None = None) -> tf.distribute.Strategy | None:
    """Make a ``MirroredStrategy`` over ``devices`` the default strategy when there are two or more.

    Returns the strategy, or ``None`` (one device, or ``COURSE_STRATEGY=none``), in which case the
    default strategy is left as it was. Must run before the first model is built: Keras attaches a model
    to the strategy that is current when the model is created.
    """
    import tensorflow as tf

    environ = os.environ if environ is None else environ
    if not devices or len(devices) < 2 or environ.get("COURSE_STRATEGY", "").lower() == "none":
        return None
    current = tf.distribute.get_strategy()
    if isinstance(current, tf.distribute.MirroredStrategy) and current.num_replicas_in_sync == len(devices):
        return current  # re-running the set-up cell: keep the strategy the models were built with
    strategy = tf.distribute.MirroredStrategy(devices)
    tf.distribute.experimental_set_strategy(None)
    tf.distribute.experimental_set_strategy(strategy)
    return strategy


def _strategy_devices(gpus: tuple[str, ...], environ: dict[str, str] | None = None) -> list[str]:
    """The devices to mirror over: every GPU, or ``COURSE_STRATEGY=cpu:N`` logical CPU devices.

    ``cpu:N`` splits the CPU into N logical devices (possible only before TensorFlow first runs an op),
    so multi-GPU code can be rehearsed, slowly, on any machine.
    """
    environ = os.environ if environ is None else environ
    spec = environ.get("COURSE_STRATEGY", "").lower()
    if not spec.startswith("cpu:"):
        return [f"/gpu:{i}" for i in range(len(gpus))]
    import tensorflow as tf

    count = int(spec.removeprefix("cpu:"))
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:  # (listing the logical devices would fix them, so try first)
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:  # already initialised: fine if it was split the same way (set-up cell run again)
        if len(tf.config.list_logical_devices("CPU")) != count:
            raise RuntimeError(f"COURSE_STRATEGY={spec} must be set before TensorFlow runs its first operation: "
                               "restart the kernel and run the set-up cell first.") from None
    return [f"/cpu:{i}" for i in range(count)]


def set_seed(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and TensorFlow; with ``deterministic``, make TensorFlow ops reproducible.

    Op determinism makes two CPU runs give identical losses. On a GPU some ops get slower and a
    few have no deterministic kernel, so GPU profiles switch it off. Every chapter's set-up calls it
    (:func:`setup`); ``tools/rehearse.py`` seeds its generated data with it.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def _enable_inline_figures() -> bool:
    """In a Jupyter kernel, show returned matplotlib figures as images; returns True if it did.

    The course's plotting functions build figures without pyplot (so each is shown exactly once);
    this registers the inline image formatter that pyplot would otherwise set up.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return False
    shell.run_line_magic("matplotlib", "inline")
    return True


def _quiet_dataset_shuffle_warning() -> None:
    """Hide Keras' "``shuffle=True`` was passed, but will be ignored" warning for ``tf.data`` datasets.

    ``model.fit`` defaults to ``shuffle=True`` and Keras 3 warns whenever it gets a ``tf.data.Dataset``,
    which it cannot shuffle. The course's datasets shuffle themselves every epoch
    (``pipeline.make_dataset``), so the warning would only teach learners to write ``shuffle=False`` in
    every ``fit`` of every chapter. Called by :func:`setup`.
    """
    warnings.filterwarnings("ignore", message=r"`shuffle=True` was passed, but will be ignored", category=UserWarning)


def _not_keras_step_retracing(record: logging.LogRecord) -> bool:
    """False for TensorFlow's retracing warning about one of Keras' own step functions (a ``logging`` filter)."""
    message = record.getMessage()
    return not ("triggered tf.function retracing" in message and "<function TensorFlowTrainer." in message)


def _quiet_keras_step_retracing_warning() -> None:
    """Hide TensorFlow's "N out of the last M calls to ... triggered tf.function retracing" for Keras' own steps.

    TensorFlow counts traces per piece of *code*, not per function object. Every new model that Keras trains,
    evaluates or predicts with gets a new step function built from the same code in Keras' trainer, so a
    chapter that uses several models in a row crosses TensorFlow's threshold (05, 07 and 08 did; 07 and 08
    right after the batch-normalization demonstration's four toy models) and gets a 600-character warning about
    "creating @tf.function repeatedly in a loop", which is what a new model is meant to do. Only that case is
    hidden: a learner's own ``tf.function`` that retraces still warns. Called by :func:`setup`.
    """
    logger = logging.getLogger("tensorflow")
    if _not_keras_step_retracing not in logger.filters:
        logger.addFilter(_not_keras_step_retracing)


def _show_unreadable_images(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None
                            ) -> None:
    """IPython's handler for TensorFlow's errors (:func:`_explain_unreadable_images`): a decoding failure is shown
    as ``pipeline.unreadable_images_error``'s message, naming the files; anything else as usual."""
    from .pipeline import unreadable_images_error

    explained = unreadable_images_error(value)
    if explained is None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    else:
        shell.showtraceback((type(explained), explained, None))  # shown through its _render_traceback_


def _explain_unreadable_images() -> bool:
    """In a Jupyter kernel, show an epoch stopped by an image file that cannot be decoded as a short message
    that names the file and says what to do, instead of TensorFlow's traceback; returns True if it did.

    TensorFlow's error names the decoder's node, not the file, and comes some forty lines deep. Only the
    exception types TensorFlow uses for it are routed here (``InvalidArgumentError``, ``NotFoundError``,
    ``UnknownError``), and :func:`helpers.pipeline.unreadable_images_error` leaves every other error of those
    types to IPython's usual traceback. A kernel whose front-end already installed handlers of its own keeps
    them. Called by :func:`setup`.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    import tensorflow as tf

    types = (tf.errors.InvalidArgumentError, tf.errors.NotFoundError, tf.errors.UnknownError)
    if shell.custom_exceptions and shell.custom_exceptions != types:
        return False
    shell.set_custom_exc(types, _show_unreadable_images)
    return True


def build_before_first_trace() -> bool:
    """Make ``fit`` and ``evaluate`` build the optimizer and the metrics before tracing; True when it applies.

    With the TensorFlow backend and no distribution strategy, Keras 3 creates a compiled model's optimizer
    variables (Adam's moments, SGD's momentum) and its metrics' counters inside the first training step.
    A ``tf.function`` that creates variables on its first call is traced a second time for the calls after
    it (`tensorflow#48851 <https://github.com/tensorflow/tensorflow/issues/48851>`_), so the first epoch after
    every ``compile`` builds the whole training graph twice: for InceptionV3 trained whole at 96 px on a
    2-core CPU, 10 s more (``benchmarks/first_epoch.py``); the chapters' small smoke models gain nothing
    measurable. On a GPU with XLA the second trace is compiled again. Under a distribution strategy Keras builds them
    beforehand, from the shapes of the data; this does the same without one, from the ``tf.data`` dataset's
    ``element_spec``. No batch is read, so the data order, and therefore every result, is unchanged
    (``tests/test_runtime.py`` trains the same model both ways and compares the weights).

    When that is not possible (another backend, a Keras without this hook, data that is not a ``tf.data``
    dataset, a layer Keras cannot build from shapes), Keras builds them in the first step, as it would
    without the course. Applied by :func:`setup`, so every chapter's ``fit`` gets it; running it twice
    changes nothing.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return False
    from keras.src.backend.tensorflow import trainer as tf_trainer

    trainer = getattr(tf_trainer, "TensorFlowTrainer", None)
    keras_build = getattr(trainer, "_maybe_symbolic_build", None)
    if keras_build is None or not hasattr(trainer, "_symbolic_build"):
        return False
    if getattr(keras_build, "builds_first", False):
        return True

    def maybe_symbolic_build(self, iterator=None, data_batch=None):  # noqa: ANN001, ANN202 (Keras' signature)
        if getattr(self, "_distribute_strategy", None) is None:
            batch = data_batch if data_batch is not None else _symbolic_batch(iterator)
            if batch is not None:  # if it cannot be built from shapes, Keras builds in the first step, as usual
                with contextlib.suppress(Exception):
                    self._symbolic_build(data_batch=batch)
        return keras_build(self, iterator=iterator, data_batch=data_batch)

    maybe_symbolic_build.builds_first = True
    maybe_symbolic_build.__wrapped__ = keras_build
    trainer._maybe_symbolic_build = maybe_symbolic_build
    return True


def _symbolic_batch(iterator: Any) -> Any:
    """Symbolic tensors shaped like one batch of the ``tf.data`` dataset behind Keras' epoch iterator, or None."""
    import keras
    import tensorflow as tf

    adapter = getattr(iterator, "data_adapter", None)
    if type(adapter).__name__ != "TFDatasetAdapter":  # arrays and generators: left to Keras
        return None
    structure = adapter.get_tf_dataset().element_spec
    specs = tf.nest.flatten(structure)
    if not all(isinstance(spec, tf.TensorSpec) and spec.shape.rank is not None for spec in specs):
        return None
    return tf.nest.pack_sequence_as(structure, [keras.KerasTensor(tuple(spec.shape.as_list()), spec.dtype.name)
                                                for spec in specs])


def setup(profile: str, seed: int = 42, *, verbose: bool = True) -> Runtime:
    """Check the profile, seed everything, describe the machine; returns a :class:`Runtime`. Every chapter calls it.

    First it sets :data:`QUIET_TENSORFLOW` in the environment where a variable is not set yet; TensorFlow reads
    them once, when it is imported, so for the notebooks the set-up cell's first lines have already set them
    (before ``from helpers import ...`` imports TensorFlow), and here they serve a kernel that skipped those lines
    and the processes a chapter starts (``export.predict_in_subprocess``).

    Determinism is on for the ``smoke`` profile, whenever no GPU is present, and when the
    environment sets ``COURSE_DETERMINISTIC=1`` (the GPU workflow does, so that nbval's re-run of a
    notebook reproduces its metrics; it costs some GPU speed).

    It also starts the run log of trained models (``results.trained_models``), which the results cell
    writes out with what each model actually ran under, and hides two warnings that only mislead here:
    Keras' ``shuffle=True`` one for ``tf.data`` datasets, and TensorFlow's retracing one for Keras' own
    step functions (a learner's own ``tf.function`` still gets it). In a notebook, an image file that cannot
    be decoded stops an epoch with a message that names the file and says what to do
    (:func:`_explain_unreadable_images`), not with TensorFlow's traceback.
    Part of every chapter's set-up.
    """
    for name, value in QUIET_TENSORFLOW.items():
        os.environ.setdefault(name, value)
    if profile not in PROFILES:
        raise ValueError(f"PROFILE must be one of {', '.join(PROFILES)}; got {profile!r}.")
    import keras
    import tensorflow as tf

    results.clear_trained()  # the run log of trained models starts here (running the notebook again restarts it)
    _quiet_dataset_shuffle_warning()
    _quiet_keras_step_retracing_warning()
    _explain_unreadable_images()
    traces_once = build_before_first_trace()
    environment = detect_environment()
    gpus = _list_gpus()
    deterministic = profile == "smoke" or not gpus or os.environ.get("COURSE_DETERMINISTIC") == "1"
    devices = _strategy_devices(gpus)  # first: splitting the CPU must precede TensorFlow's first operation
    set_seed(seed, deterministic)
    _enable_inline_figures()
    strategy = _use_strategy(devices)
    replicas = strategy.num_replicas_in_sync if strategy else 1
    precision = _set_precision(wants_mixed_precision(profile, _compute_capabilities(), replicas=replicas))
    kind = "GPUs" if devices and devices[0].startswith("/gpu") else "CPU devices"
    strategy_name = f"MirroredStrategy over {replicas} {kind}" if strategy else "default (one device)"
    rt = Runtime(environment, profile, seed, device_name(gpus), gpus, tf.__version__, keras.__version__,
                 platform.python_version(), deterministic, precision, _xla_rule(gpus), strategy_name, replicas)
    if verbose:
        print(_describe(rt))
        print("Tracing     :", "once per fit (optimizer and metrics built first)" if traces_once
              else "Keras' default (the first epoch traces the training step twice)")
    return rt


def _describe(rt: Runtime) -> str:
    """The set-up block a notebook prints."""
    lines = [
        f"Environment : {rt.environment}",
        f"Profile     : {rt.profile} (seed {rt.seed}{', deterministic ops' if rt.deterministic else ''})",
        f"TensorFlow  : {rt.tensorflow}, Keras {rt.keras}, Python {rt.python}",
        f"Device      : {rt.device}",
        f"Precision   : {rt.precision}" + (" (float16 maths on tensor cores, float32 outputs)"
                                           if rt.precision == "mixed_float16" else
                                           f" (mixed precision {_MULTI_DEVICE_NOTE})" if rt.replicas > 1 else ""),
        f"XLA         : {rt.xla}",
    ]
    if rt.replicas > 1:
        lines.append(f"Strategy    : {rt.strategy}: each batch is split between them")
    advice = None if rt.gpus else _no_gpu_advice(rt.environment, rt.profile)
    if advice:
        lines.append(f"Note        : {advice}")
    return "\n".join(lines)
