"""Tests for helpers.progress: where bars show, and that tracking changes nothing."""

from __future__ import annotations

from helpers import progress


def test_track_yields_every_item_in_order():
    items = [3, 1, 2]
    assert list(progress.track(items, desc="x")) == items
    assert list(progress.track((i for i in range(5)), desc="gen")) == [0, 1, 2, 3, 4]


def test_track_can_be_switched_off(monkeypatch, capsys):
    monkeypatch.delenv("COURSE_BATCH", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(progress, "_DELAY", 0.0)
    assert list(progress.track(range(3), desc="quiet", show=False)) == [0, 1, 2]
    assert "quiet" not in capsys.readouterr().err


def test_a_bar_writes_where_someone_watches(monkeypatch, capsys):
    monkeypatch.setattr(progress, "someone_watching", lambda: True)
    monkeypatch.setattr(progress, "_DELAY", 0.0)
    list(progress.track(range(3), desc="scanning images", unit="image"))
    assert "scanning images" in capsys.readouterr().err


def test_no_bar_where_nobody_watches(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_BATCH", "1")
    monkeypatch.setattr(progress, "_DELAY", 0.0)
    list(progress.track(range(3), desc="batch run"))
    assert "batch run" not in capsys.readouterr().err


def test_a_byte_bar_resumes_where_a_download_stopped(monkeypatch):
    monkeypatch.setattr(progress, "someone_watching", lambda: True)
    with progress.bar(2048, desc="f.zip", unit="B", initial=1024) as bar:
        assert bar.n == 1024 and bar.unit_divisor == 1024 and bar.unit_scale
