"""Shared test set-up: quiet TensorFlow, headless matplotlib, data written only to temporary folders, and no
access to the developer's own Kaggle credentials."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _data_home(tmp_path_factory, monkeypatch):
    """Every test gets its own COURSE_DATA_HOME, so no test reads or writes a learner's data folder."""
    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path_factory.mktemp("data_home")))


@pytest.fixture(autouse=True)
def _no_kaggle_credentials(tmp_path_factory, monkeypatch):
    """Every test runs as someone with no Kaggle credentials, in an empty home folder of its own.

    The developer's ``~/.kaggle`` files and ``KAGGLE_*`` variables would otherwise change what the credential
    and download tests find, and a test could send the real key somewhere. ``HOME`` points at an empty
    temporary folder; ``KAGGLE_CONFIG_DIR`` and ``KAGGLEHUB_CACHE`` too, because kagglehub works out its
    default folders from the real home when it is imported; every other ``KAGGLE*`` variable (``KAGGLE_KEY``,
    ``KAGGLE_API_TOKEN``, ``KAGGLE_KERNEL_RUN_TYPE``, ...) is removed. A test that needs any of them sets it
    with ``monkeypatch``, which runs after this fixture; all are restored after each test.
    """
    home = tmp_path_factory.mktemp("home")
    for name in [name for name in os.environ if name.startswith("KAGGLE")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(home / ".kaggle"))
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(home / ".cache" / "kagglehub"))


@pytest.fixture(autouse=True)
def _no_direct_downloads_from_the_internet(monkeypatch):
    """The direct route falls back to COURSE_DOWNLOAD_MIRROR when set: a local port nobody listens on, so a test
    whose Kaggle route fails never downloads a real dataset (tests that serve archives set their own mirror)."""
    monkeypatch.setenv("COURSE_DOWNLOAD_MIRROR", "http://127.0.0.1:9")
