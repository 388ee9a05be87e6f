"""Tests for helpers.progress: where bars show, and that tracking changes nothing."""

from __future__ import annotations

import io

import pytest

from helpers import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("environ", "modules", "stream", "expected"), [
    ({}, {"ipykernel": object()}, io.StringIO(), True),  # Jupyter, Colab, Kaggle
    ({}, {}, Terminal(), True),  # a terminal
    ({}, {}, io.StringIO(), False),  # output piped to a file
    ({"COURSE_BATCH": "1"}, {"ipykernel": object()}, Terminal(), False),  # papermill runs of the course
    ({"CI": "true"}, {}, Terminal(), False),  # CI logs
])
def test_bars_show_only_where_someone_watches(environ, modules, stream, expected):
    assert progress.enabled(environ, modules, stream) is expected


def test_track_yields_every_item_in_order():
    items = [3, 1, 2]
    assert list(progress.track(items, desc="x")) == items
    assert list(progress.track((i for i in range(5)), desc="gen")) == [0, 1, 2, 3, 4]


def test_track_can_be_switched_off(monkeypatch, capsys):
    monkeypatch.delenv("COURSE_BATCH", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(progress, "DELAY", 0.0)
    assert list(progress.track(range(3), desc="quiet", show=False)) == [0, 1, 2]
    assert "quiet" not in capsys.readouterr().err


def test_a_bar_writes_when_enabled(monkeypatch, capsys):
    monkeypatch.setattr(progress, "enabled", lambda: True)
    monkeypatch.setattr(progress, "DELAY", 0.0)
    list(progress.track(range(3), desc="scanning images", unit="image"))
    assert "scanning images" in capsys.readouterr().err
