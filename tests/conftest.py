"""Shared test set-up: quiet TensorFlow, headless matplotlib, data written only to temporary folders."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _data_home(tmp_path_factory, monkeypatch):
    """Every test gets its own COURSE_DATA_HOME, so no test reads or writes a learner's data folder."""
    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path_factory.mktemp("data_home")))
