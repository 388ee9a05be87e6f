"""Set-up shared by every notebook: where we run, which devices we have, seeds and determinism.

Call :func:`setup` once, right after the parameters cell::

    rt = runtime.setup(PROFILE, seed=SEED)

It prints one short block (environment, versions, devices, what to do if there is no GPU) and
returns a :class:`Runtime` whose fields go into the notebook's results JSON.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import asdict, dataclass

# Quiet TensorFlow's start-up: must be set before TensorFlow is imported anywhere.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

PROFILES = ("smoke", "quick", "full")


@dataclass(frozen=True)
class Runtime:
    """What the notebook runs on; stored in every results JSON."""

    environment: str
    profile: str
    seed: int
    device: str
    gpus: tuple[str, ...]
    tensorflow: str
    keras: str
    python: str
    deterministic: bool

    def as_dict(self) -> dict:
        return asdict(self)


def detect_environment(environ: dict[str, str] | None = None, modules: dict | None = None) -> str:
    """``"colab"``, ``"kaggle"``, ``"ci"`` or ``"local"``.

    Arguments default to ``os.environ`` and ``sys.modules``; tests pass their own to simulate each place.
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


def list_gpus() -> tuple[str, ...]:
    """Names of the visible GPUs (e.g. ``"Tesla T4"``), empty on a CPU-only machine."""
    names = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        names.append(details.get("device_name", gpu.name))
    return tuple(names)


def device_name(gpus: tuple[str, ...]) -> str:
    """A short description of the compute device, e.g. ``"2 x Tesla T4"`` or ``"CPU (2 cores)"``."""
    if gpus:
        return f"{len(gpus)} x {gpus[0]}" if len(gpus) > 1 else gpus[0]
    return f"CPU ({os.cpu_count()} cores)"


def no_gpu_advice(environment: str, profile: str) -> str | None:
    """What to tell a learner who runs a GPU profile without a GPU, or ``None`` if nothing is needed."""
    if profile == "smoke":
        return None
    if environment == "colab":
        return "No GPU attached: Runtime > Change runtime type > T4 GPU, then run all cells again."
    if environment == "kaggle":
        return "No GPU attached: Settings > Accelerator > GPU T4 x2 (phone verification needed), then run again."
    return (f"No GPU found: PROFILE={profile!r} will be slow on a CPU. "
            "Use PROFILE='smoke' to try the notebook quickly, or run it on Colab or Kaggle.")


def set_seed(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and TensorFlow; with ``deterministic``, make TensorFlow ops reproducible.

    Op determinism makes two CPU runs give identical losses. On a GPU some ops get slower and a
    few have no deterministic kernel, so GPU profiles switch it off.
    """
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def enable_inline_figures() -> bool:
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


def setup(profile: str, seed: int = 42, *, verbose: bool = True) -> Runtime:
    """Check the profile, seed everything, describe the machine; returns a :class:`Runtime`.

    Determinism is on for the ``smoke`` profile, whenever no GPU is present, and when the
    environment sets ``COURSE_DETERMINISTIC=1`` (the GPU workflow does, so that nbval's re-run of a
    notebook reproduces its metrics; it costs some GPU speed).
    """
    if profile not in PROFILES:
        raise ValueError(f"PROFILE must be one of {', '.join(PROFILES)}; got {profile!r}.")
    environment = detect_environment()
    gpus = list_gpus()
    deterministic = profile == "smoke" or not gpus or os.environ.get("COURSE_DETERMINISTIC") == "1"
    set_seed(seed, deterministic)
    enable_inline_figures()
    rt = Runtime(environment, profile, seed, device_name(gpus), gpus, tf.__version__, keras.__version__,
                 platform.python_version(), deterministic)
    if verbose:
        print(describe(rt))
    return rt


def describe(rt: Runtime) -> str:
    """The set-up block a notebook prints."""
    lines = [
        f"Environment : {rt.environment}",
        f"Profile     : {rt.profile} (seed {rt.seed}{', deterministic ops' if rt.deterministic else ''})",
        f"TensorFlow  : {rt.tensorflow}, Keras {rt.keras}, Python {rt.python}",
        f"Device      : {rt.device}",
    ]
    advice = None if rt.gpus else no_gpu_advice(rt.environment, rt.profile)
    if advice:
        lines.append(f"Note        : {advice}")
    return "\n".join(lines)
