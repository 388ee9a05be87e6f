from __future__ import annotations

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


def test_device_name():
    assert runtime.device_name(()).startswith("CPU (")
    assert runtime.device_name(("Tesla T4",)) == "Tesla T4"
    assert runtime.device_name(("Tesla T4", "Tesla T4")) == "2 x Tesla T4"


@pytest.mark.parametrize("env", ["colab", "kaggle", "local", "ci"])
def test_no_gpu_advice_only_for_gpu_profiles(env):
    assert runtime.no_gpu_advice(env, "smoke") is None
    advice = runtime.no_gpu_advice(env, "quick")
    assert advice and "GPU" in advice


def test_colab_advice_names_the_menu():
    assert "Change runtime type" in runtime.no_gpu_advice("colab", "full")
    assert "Accelerator" in runtime.no_gpu_advice("kaggle", "full")


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
