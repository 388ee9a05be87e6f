"""Tests for helpers.datasets.fetch: robust downloads, safe extraction and the Kaggle routes.

A local HTTP server (standard library, in a thread) plays every kind of bad server: one that
truncates, stalls, fails with 5xx, ignores ``Range``. Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import socket
import stat
import tarfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

dl = importlib.import_module("helpers.datasets.fetch")
from helpers.datasets.fetch import (
    DataUnavailableError,
    UnsafeArchiveError,
    download_file,
    extract_archive,
    find_kaggle_mount,
    kaggle_download,
)

DATA = bytes(range(256)) * 400  # 102,400 bytes, easy to spot when mangled
SHA = hashlib.sha256(DATA).hexdigest()

# --------------------------------------------------------------------------------------------------
# A tiny programmable server
# --------------------------------------------------------------------------------------------------

Behaviour = Callable[[BaseHTTPRequestHandler], None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        server: _Server = self.server  # type: ignore[assignment]
        server.requests.append((self.path, dict(self.headers)))
        behaviours = server.routes.get(self.path)
        if not behaviours:
            self.send_error(404)
            return
        count = sum(1 for p, _ in server.requests if p == self.path)
        behaviours[min(count, len(behaviours)) - 1](self)

    def log_message(self, *args) -> None:  # keep the test output clean
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, list[Behaviour]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []

    def route(self, path: str, *behaviours: Behaviour) -> str:
        """Serve ``path`` with the behaviours in turn (the last one repeats); return its URL."""
        self.routes[path] = list(behaviours)
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def count(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)

    def handle_error(self, request, client_address) -> None:
        pass  # the client hanging up on a stalled response is expected here


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def serve(data: bytes = DATA, *, honour_range: bool = True) -> Behaviour:
    """The whole file, or the asked range with 206 when ``honour_range``."""

    def behaviour(h: BaseHTTPRequestHandler) -> None:
        start = 0
        rng = h.headers.get("Range")
        if rng and honour_range:
            start = int(rng.split("=")[1].split("-")[0])
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            h.send_response(200)
        h.send_header("Content-Length", str(len(data) - start))
        h.end_headers()
        h.wfile.write(data[start:])

    return behaviour


def truncated(data: bytes = DATA, cut: int = 70_000) -> Behaviour:
    """Announce the full length (honouring Range), send ``cut`` bytes, hang up.

    The client keeps whole chunks only (``download._CHUNK``, 64 KiB): the piece of a chunk that was
    being read when the connection broke is fetched again.
    """

    def behaviour(h: BaseHTTPRequestHandler) -> None:
        start = 0
        rng = h.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            h.send_response(200)
        h.send_header("Content-Length", str(len(data) - start))
        h.end_headers()
        h.wfile.write(data[start : start + cut])
        h.wfile.flush()
        h.close_connection = True

    return behaviour


def status(code: int) -> Behaviour:
    def behaviour(h: BaseHTTPRequestHandler) -> None:
        body = f"error {code}".encode()
        h.send_response(code)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return behaviour


def stall(seconds: float, *, after_bytes: int | None = None) -> Behaviour:
    """Say nothing for ``seconds`` (before the headers, or after ``after_bytes`` of the body)."""

    def behaviour(h: BaseHTTPRequestHandler) -> None:
        if after_bytes is None:
            time.sleep(seconds)
            serve()(h)
            return
        h.send_response(200)
        h.send_header("Content-Length", str(len(DATA)))
        h.end_headers()
        h.wfile.write(DATA[:after_bytes])
        h.wfile.flush()
        time.sleep(seconds)
        h.close_connection = True

    return behaviour


def fast(**kwargs):
    """download_file settings that keep the tests quick."""
    return {"progress": False, "backoff": 0, "timeout": 2, **kwargs}


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------------------------------
# download_file
# --------------------------------------------------------------------------------------------------


def test_downloads_and_verifies(server, tmp_path):
    url = server.route("/f.bin", serve())
    dest = tmp_path / "sub" / "f.bin"
    assert download_file(url, dest, expected_size=len(DATA), sha256=SHA, **fast()) == dest
    assert dest.read_bytes() == DATA
    assert leftovers(dest.parent) == ["f.bin"]
    path, headers = server.requests[0]
    assert "cnn-course-helpers" in headers["User-Agent"]
    assert headers["Accept-Encoding"] == "identity"


def test_existing_dest_makes_no_request(server, tmp_path):
    url = server.route("/f.bin", serve())
    dest = tmp_path / "f.bin"
    dest.write_bytes(DATA)
    assert download_file(url, dest, **fast()) == dest
    assert download_file(url, dest, expected_size=len(DATA), sha256=SHA, **fast()) == dest
    assert server.requests == []


def test_existing_dest_that_does_not_match_is_replaced(server, tmp_path):
    url = server.route("/f.bin", serve())
    dest = tmp_path / "f.bin"
    dest.write_bytes(DATA[:100])
    download_file(url, dest, sha256=SHA, **fast())
    assert dest.read_bytes() == DATA and server.count("/f.bin") == 1


def test_truncated_transfer_is_resumed(server, tmp_path):
    url = server.route("/f.bin", truncated(), serve())
    dest = tmp_path / "f.bin"
    download_file(url, dest, sha256=SHA, **fast())
    assert dest.read_bytes() == DATA
    assert server.count("/f.bin") == 2
    assert server.requests[1][1]["Range"] == f"bytes={dl._CHUNK}-"  # resumed after the whole chunk
    assert leftovers(tmp_path) == ["f.bin"]


def test_always_truncated_gives_up_without_leaving_dest(server, tmp_path):
    big = DATA * 4
    url = server.route("/f.bin", truncated(big, cut=70_000))
    dest = tmp_path / "f.bin"
    with pytest.raises(DataUnavailableError) as info:
        download_file(url, dest, retries=2, **fast())
    assert server.count("/f.bin") == 3
    assert not dest.exists()
    message = str(info.value)
    assert url in message and "3 attempts" in message and "by hand" in message
    assert info.value.transient
    # The partial file is kept for the next call, which resumes it.
    assert (tmp_path / "f.bin.part").stat().st_size == 3 * dl._CHUNK  # each attempt added a chunk
    server.route("/f.bin", serve(big))
    download_file(url, dest, **fast())
    assert dest.read_bytes() == big
    assert server.requests[-1][1]["Range"] == f"bytes={3 * dl._CHUNK}-"


def test_resumes_existing_part_with_range(server, tmp_path):
    url = server.route("/f.bin", serve())
    dest = tmp_path / "f.bin"
    (tmp_path / "f.bin.part").write_bytes(DATA[:40_000])
    download_file(url, dest, expected_size=len(DATA), sha256=SHA, **fast())
    assert dest.read_bytes() == DATA
    assert server.count("/f.bin") == 1
    assert server.requests[0][1]["Range"] == "bytes=40000-"
    assert not (tmp_path / "f.bin.part").exists()


def test_complete_part_is_only_verified(server, tmp_path):
    url = server.route("/f.bin", serve())
    (tmp_path / "f.bin.part").write_bytes(DATA)  # interrupted between the last byte and the rename
    download_file(url, tmp_path / "f.bin", expected_size=len(DATA), sha256=SHA, **fast())
    assert (tmp_path / "f.bin").read_bytes() == DATA and server.requests == []


def test_complete_part_with_wrong_checksum_is_discarded(server, tmp_path):
    url = server.route("/f.bin", serve())
    (tmp_path / "f.bin.part").write_bytes(DATA[::-1])
    with pytest.raises(DataUnavailableError, match="checksum mismatch"):
        download_file(url, tmp_path / "f.bin", expected_size=len(DATA), sha256=SHA, **fast())
    assert leftovers(tmp_path) == []
    download_file(url, tmp_path / "f.bin", expected_size=len(DATA), sha256=SHA, **fast())  # then works
    assert (tmp_path / "f.bin").read_bytes() == DATA


def test_server_ignoring_range_starts_over(server, tmp_path):
    url = server.route("/f.bin", serve(honour_range=False))
    dest = tmp_path / "f.bin"
    (tmp_path / "f.bin.part").write_bytes(DATA[:40_000])
    download_file(url, dest, sha256=SHA, **fast())
    assert dest.read_bytes() == DATA  # not the first 40,000 bytes twice
    assert server.count("/f.bin") == 1


def test_part_longer_than_expected_is_discarded(server, tmp_path):
    url = server.route("/f.bin", serve())
    (tmp_path / "f.bin.part").write_bytes(DATA + b"junk")
    download_file(url, tmp_path / "f.bin", expected_size=len(DATA), **fast())
    assert (tmp_path / "f.bin").read_bytes() == DATA
    assert "Range" not in server.requests[0][1]


@pytest.mark.parametrize("code", [404, 403, 410])
def test_client_errors_are_not_retried(server, tmp_path, code):
    url = server.route("/f.bin", status(code))
    dest = tmp_path / "f.bin"
    with pytest.raises(DataUnavailableError) as info:
        download_file(url, dest, retries=3, what="Food-5K", **fast())
    assert server.count("/f.bin") == 1
    message = str(info.value)
    assert f"HTTP {code}" in message and url in message and "Food-5K" in message and "What to do" in message
    assert not info.value.transient
    assert leftovers(tmp_path) == []


def test_server_error_then_success_is_retried(server, tmp_path):
    url = server.route("/f.bin", status(500), status(503), serve())
    download_file(url, tmp_path / "f.bin", sha256=SHA, **fast())
    assert server.count("/f.bin") == 3
    assert (tmp_path / "f.bin").read_bytes() == DATA


def test_persistent_server_error_raises(server, tmp_path):
    url = server.route("/f.bin", status(502))
    with pytest.raises(DataUnavailableError, match="HTTP 502"):
        download_file(url, tmp_path / "f.bin", retries=2, **fast())
    assert server.count("/f.bin") == 3
    assert leftovers(tmp_path) == []


def test_backoff_between_retries(server, tmp_path, monkeypatch):
    pauses: list[float] = []
    monkeypatch.setattr(dl.time, "sleep", pauses.append)
    url = server.route("/f.bin", status(500))
    with pytest.raises(DataUnavailableError):
        download_file(url, tmp_path / "f.bin", retries=3, progress=False, backoff=0.5)
    assert pauses == [0.5, 1.0, 2.0]


def test_stalled_server_times_out_and_raises(server, tmp_path):
    url = server.route("/f.bin", stall(1.0))
    start = time.monotonic()
    with pytest.raises(DataUnavailableError) as info:
        download_file(url, tmp_path / "f.bin", retries=1, timeout=0.2, progress=False, backoff=0)
    assert time.monotonic() - start < 1.5
    assert server.count("/f.bin") == 2
    assert "did not answer within 0.2 s" in str(info.value)
    assert leftovers(tmp_path) == []


def test_stall_in_the_middle_is_retried_and_resumed(server, tmp_path):
    url = server.route("/f.bin", stall(1.0, after_bytes=70_000), serve())
    dest = tmp_path / "f.bin"
    download_file(url, dest, sha256=SHA, retries=2, timeout=0.2, progress=False, backoff=0)
    assert dest.read_bytes() == DATA
    assert server.requests[1][1]["Range"] == f"bytes={dl._CHUNK}-"


def test_checksum_mismatch_raises_and_leaves_nothing(server, tmp_path):
    url = server.route("/f.bin", serve())
    dest = tmp_path / "f.bin"
    with pytest.raises(DataUnavailableError, match="checksum mismatch"):
        download_file(url, dest, sha256="0" * 64, **fast())
    assert leftovers(tmp_path) == []


def test_size_mismatch_raises(server, tmp_path):
    url = server.route("/f.bin", serve())
    with pytest.raises(DataUnavailableError, match="expected"):
        download_file(url, tmp_path / "f.bin", expected_size=len(DATA) + 1, **fast())
    assert leftovers(tmp_path) == []


def test_no_server_means_clear_error(tmp_path):
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/f.bin"
    with pytest.raises(DataUnavailableError) as info:
        download_file(url, tmp_path / "f.bin", retries=1, **fast())
    message = str(info.value)
    assert "could not connect" in message and "Internet on" in message and url in message
    assert info.value.transient and isinstance(info.value.cause, requests.ConnectionError)
    assert leftovers(tmp_path) == []


def test_works_with_a_given_session(server, tmp_path):
    url = server.route("/f.bin", serve())
    with requests.Session() as session:
        download_file(url, tmp_path / "f.bin", session=session, **fast())
    assert (tmp_path / "f.bin").read_bytes() == DATA


# --------------------------------------------------------------------------------------------------
# extract_archive
# --------------------------------------------------------------------------------------------------

FILES = {"data/train/cat/1.jpg": b"cat one", "data/train/dog/2.jpg": b"dog two", "data/README.txt": b"hi"}


def make_zip(path: Path, entries: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in entries.items():
            zf.writestr(zipfile.ZipInfo(name), content)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def make_tar(path: Path, entries: dict[str, bytes], *, links: list[tuple[str, str, bytes]] = (), mode="w:gz"):
    """A tar with regular files and (name, target, type) links, type tarfile.SYMTYPE or LNKTYPE."""
    with tarfile.open(path, mode) as tf:
        for name, content in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tf.addfile(info, io.BytesIO(content))
        for name, target, kind in links:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            tf.addfile(info)
    return path


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture
def work(tmp_path) -> Path:
    """tmp_path/work holds the archives and the destination; tmp_path itself must stay clean."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def test_extracts_zip(work):
    archive = make_zip(work / "a.zip", FILES)
    dest = extract_archive(archive, work / "out")
    assert dest == work / "out" and tree(dest) == FILES
    assert leftovers(work) == ["a.zip", "out"]


@pytest.mark.parametrize(
    "mode,suffix", [("w:gz", ".tar.gz"), ("w:bz2", ".tar.bz2"), ("w:xz", ".tar.xz"), ("w", ".tar")]
)
def test_extracts_tar(work, mode, suffix):
    archive = make_tar(work / f"a{suffix}", FILES, mode=mode)
    assert tree(extract_archive(archive, work / "out")) == FILES


def test_tar_links_inside_the_folder_are_fine(work):
    links = [
        ("data/link.jpg", "train/cat/1.jpg", tarfile.SYMTYPE),
        ("data/hard.jpg", "data/train/dog/2.jpg", tarfile.LNKTYPE),
    ]
    archive = make_tar(work / "a.tar.gz", FILES, links=links)
    dest = extract_archive(archive, work / "out")
    assert (dest / "data/link.jpg").read_bytes() == b"cat one"
    assert (dest / "data/hard.jpg").read_bytes() == b"dog two"


UNSAFE_ZIPS = {
    "dotdot": ({"../evil.txt": b"x"}, None, "../evil.txt"),
    "nested dotdot": ({"data/../../evil.txt": b"x"}, None, "data/../../evil.txt"),
    "absolute": ({"/tmp/evil.txt": b"x"}, None, "/tmp/evil.txt"),
    "drive letter": ({"C:/evil.txt": b"x"}, None, "C:/evil.txt"),
    "backslashes": ({"..\\evil.txt": b"x"}, None, "..\\evil.txt"),
    "symlink": ({}, {"data/link": "/etc/passwd"}, "data/link"),
}


@pytest.mark.parametrize("case", list(UNSAFE_ZIPS))
def test_unsafe_zip_is_refused(work, tmp_path, case):
    entries, symlinks, bad = UNSAFE_ZIPS[case]
    archive = make_zip(work / "a.zip", {**FILES, **entries}, symlinks=symlinks)
    with pytest.raises(UnsafeArchiveError) as info:
        extract_archive(archive, work / "out")
    assert info.value.entry == bad and repr(bad) in str(info.value)
    assert leftovers(work) == ["a.zip"]  # no dest, no temporary folder
    assert leftovers(tmp_path) == ["work"]  # nothing written outside
    assert not Path("/tmp/evil.txt").exists()


UNSAFE_TARS = {
    "dotdot": ({"../evil.txt": b"x"}, [], "../evil.txt"),
    "absolute": ({"/tmp/evil.txt": b"x"}, [], "/tmp/evil.txt"),
    "symlink outside": ({}, [("data/link", "../../outside", tarfile.SYMTYPE)], "data/link"),
    "absolute symlink": ({}, [("data/etc", "/etc", tarfile.SYMTYPE)], "data/etc"),
    "hard link outside": ({}, [("data/hard", "../outside.txt", tarfile.LNKTYPE)], "data/hard"),
    "absolute hard link": ({}, [("data/hard", "/etc/passwd", tarfile.LNKTYPE)], "data/hard"),
    "device": ({}, [("data/dev", "", tarfile.CHRTYPE)], "data/dev"),
}


@pytest.mark.parametrize("case", list(UNSAFE_TARS))
def test_unsafe_tar_is_refused(work, tmp_path, case):
    entries, links, bad = UNSAFE_TARS[case]
    (tmp_path / "outside.txt").write_text("precious")
    archive = make_tar(work / "a.tar.gz", {**FILES, **entries}, links=links)
    with pytest.raises(UnsafeArchiveError) as info:
        extract_archive(archive, work / "out")
    assert info.value.entry == bad
    assert leftovers(work) == ["a.tar.gz"]
    assert leftovers(tmp_path) == ["outside.txt", "work"]
    assert (tmp_path / "outside.txt").read_text() == "precious"
    assert not Path("/tmp/evil.txt").exists()


def test_existing_non_empty_dest_is_untouched(work):
    archive = make_zip(work / "a.zip", FILES)
    dest = work / "out"
    dest.mkdir()
    (dest / "mine.txt").write_text("keep me")
    assert extract_archive(archive, dest) == dest
    assert tree(dest) == {"mine.txt": b"keep me"}
    assert leftovers(work) == ["a.zip", "out"]


def test_second_extraction_extracts_nothing(work, monkeypatch):
    archive = make_zip(work / "a.zip", FILES)
    extract_archive(archive, work / "out")
    monkeypatch.setattr(zipfile.ZipFile, "extract", lambda *a, **k: pytest.fail("extracted again"))
    assert tree(extract_archive(archive, work / "out")) == FILES


def test_empty_existing_dest_is_filled(work):
    (work / "out").mkdir()
    assert tree(extract_archive(make_zip(work / "a.zip", FILES), work / "out")) == FILES


def test_interrupted_zip_extraction_leaves_nothing(work, monkeypatch):
    archive = make_zip(work / "a.zip", FILES)
    real = zipfile.ZipFile.extract
    calls = []

    def flaky(self, member, path=None, pwd=None):
        calls.append(member)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the learner pressed stop
        return real(self, member, path, pwd)

    monkeypatch.setattr(zipfile.ZipFile, "extract", flaky)
    with pytest.raises(KeyboardInterrupt):
        extract_archive(archive, work / "out")
    assert leftovers(work) == ["a.zip"]
    monkeypatch.setattr(zipfile.ZipFile, "extract", real)
    assert tree(extract_archive(archive, work / "out")) == FILES


def test_interrupted_tar_extraction_leaves_nothing(work, monkeypatch):
    archive = make_tar(work / "a.tar.gz", FILES)

    def half(self, path, members=None, **kwargs):
        (Path(path) / "data").mkdir()
        (Path(path) / "data" / "README.txt").write_bytes(b"hi")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tarfile.TarFile, "extractall", half)
    with pytest.raises(OSError):
        extract_archive(archive, work / "out")
    assert leftovers(work) == ["a.tar.gz"]


def test_not_an_archive(work):
    page = work / "a.zip"
    page.write_text("<html>Please sign in</html>")
    with pytest.raises(DataUnavailableError, match="not a zip or tar archive"):
        extract_archive(page, work / "out")
    assert leftovers(work) == ["a.zip"]


def test_damaged_archive(work):
    archive = make_tar(work / "a.tar.gz", FILES)
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataUnavailableError, match="damaged"):
        extract_archive(archive, work / "out")
    assert leftovers(work) == ["a.tar.gz"]


# --------------------------------------------------------------------------------------------------
# Kaggle
# --------------------------------------------------------------------------------------------------

SECRET = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def secret_env(monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "learner")
    monkeypatch.setenv("KAGGLE_KEY", SECRET)


def test_kaggle_without_network(monkeypatch, secret_env):
    import kagglehub

    def offline(handle, path=None, **kwargs):
        raise requests.ConnectionError(f"HTTPSConnectionPool(host='www.kaggle.com'): failed (key={SECRET})")

    monkeypatch.setattr(kagglehub, "dataset_download", offline)
    with pytest.raises(DataUnavailableError) as info:
        kaggle_download("puneet6060/intel-image-classification", dataset="Intel Image Classification")
    message = str(info.value)
    assert "puneet6060/intel-image-classification" in message
    assert "https://www.kaggle.com/datasets/puneet6060/intel-image-classification" in message
    assert "Intel Image Classification" in message
    assert "no network" in message and "+ Add Input" in message and "DATA_DIR" in message
    assert SECRET not in message and SECRET not in repr(info.value.args)
    assert info.value.transient
    assert info.value.__cause__ is None and info.value.__suppress_context__  # a short traceback


def test_kaggle_secret_in_error_text_is_redacted(monkeypatch, secret_env):
    import kagglehub

    def leaky(handle, path=None, **kwargs):
        raise RuntimeError(f"request failed with token {SECRET}")

    monkeypatch.setattr(kagglehub, "dataset_download", leaky)
    with pytest.raises(DataUnavailableError) as info:
        kaggle_download("owner/slug")
    assert SECRET not in str(info.value) and "***" in str(info.value)


def test_kaggle_access_refused(monkeypatch, secret_env):
    import kagglehub
    from kagglehub.exceptions import KaggleApiHTTPError

    response = requests.Response()
    response.status_code = 403

    def refused(handle, path=None, **kwargs):
        raise KaggleApiHTTPError("403 Client Error", response=response)

    monkeypatch.setattr(kagglehub, "dataset_download", refused)
    with pytest.raises(DataUnavailableError, match="refused access") as info:
        kaggle_download("owner/slug/versions/3", dataset="Fruits-360")
    assert "https://www.kaggle.com/datasets/owner/slug" in str(info.value)
    assert "datasets/owner/slug/versions" not in str(info.value)
    assert not info.value.transient


def test_kaggle_download_fetches_the_whole_dataset_and_returns_the_folder(monkeypatch, tmp_path, caplog):
    """kagglehub 1.0.2 sends ``path=`` as one file name and Kaggle refuses folders (404): never pass a folder on.

    The real client against a local Kaggle is rehearsed in tests/test_kaggle_rehearsal.py.
    """
    import kagglehub

    calls = []
    (tmp_path / "fruits-360_100x100").mkdir()

    def fake(handle, path=None, **kwargs):
        calls.append((handle, path))
        return str(tmp_path)

    monkeypatch.setattr(kagglehub, "dataset_download", fake)
    assert kaggle_download("moltean/fruits/versions/100", path="fruits-360_100x100") == tmp_path / "fruits-360_100x100"
    assert kaggle_download("moltean/fruits") == tmp_path
    assert calls == [("moltean/fruits/versions/100", None), ("moltean/fruits", None)]
    with caplog.at_level("WARNING"):
        assert kaggle_download("moltean/fruits", path="fruits-360_other") == tmp_path  # another release's layout
    assert "no folder fruits-360_other" in caplog.text


@pytest.mark.parametrize(
    ("error", "reason", "transient"),
    [
        (OSError(28, "No space left on device"), "the disk is full", False),
        (requests.exceptions.ReadTimeout("Read timed out. (read timeout=15)"), "did not answer in time", True),
        (requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead(10 bytes read, 90 more expected)"),
         "connection broke in the middle of the download (ChunkedEncodingError: 10 bytes received, 90 more", True),
        (ValueError("Unsupported archive type."), "archive is incomplete or damaged", True),
        (zipfile.BadZipFile("File is not a zip file"), "archive is incomplete or damaged", True),
    ],
)
def test_kaggle_reason_names_the_cause(error, reason, transient):
    said, fix, again = dl._kaggle_reason(error, "owner/slug")
    assert reason in said and again is transient and fix


@pytest.mark.parametrize(("status", "reason", "transient"),
                         [(401, "did not accept the credentials", False), (403, "refused access", False),
                          (429, "limiting the number of downloads", True), (502, "server failed (HTTP 502", True)])
def test_kaggle_reason_for_http_statuses(status, reason, transient):
    from kagglehub.exceptions import KaggleApiHTTPError

    response = requests.Response()
    response.status_code = status
    said, _, again = dl._kaggle_reason(KaggleApiHTTPError(f"{status} Error", response=response), "owner/slug")
    assert reason in said and f"HTTP {status}" in said and again is transient


def test_kaggle_reason_for_404_blames_a_missing_version_not_the_handle():
    from kagglehub.exceptions import KaggleApiHTTPError

    response = requests.Response()
    response.status_code = 404
    err = KaggleApiHTTPError("404 Client Error.", response=response)
    said, fix, _ = dl._kaggle_reason(err, "moltean/fruits/versions/100")
    assert "no version 100 of moltean/fruits" in said and "check" not in fix
    said, fix, _ = dl._kaggle_reason(err, "owner/slug")
    assert "no dataset owner/slug" in said and "removed or renamed" in fix


def test_kaggle_reason_hides_signed_urls():
    err = requests.HTTPError("503 Server Error: for url: https://storage.googleapis.com/a/b.zip?X-Goog-Signature=abc")
    said, _, _ = dl._kaggle_reason(err, "owner/slug")
    assert "X-Goog-Signature" not in said and "https://storage.googleapis.com/a/b.zip?..." in said


def test_find_kaggle_mount(tmp_path):
    base = tmp_path / "input"
    assert find_kaggle_mount(["owner/slug"], base) is None
    (base / "slug").mkdir(parents=True)
    assert find_kaggle_mount(["owner/slug"], base) == base / "slug"  # the classic mount
    (base / "owner" / "slug").mkdir(parents=True)
    assert find_kaggle_mount(["owner/slug"], base) == base / "owner" / "slug"
    (base / "datasets" / "owner" / "slug").mkdir(parents=True)
    # The places naming the owner first: /kaggle/input/slug may be another owner's dataset of the same name.
    assert find_kaggle_mount(["owner/slug/versions/3"], base) == base / "datasets" / "owner" / "slug"
    (base / "thing").mkdir()
    assert find_kaggle_mount(["other/thing", "owner/slug"], base) == base / "thing"  # order of slugs wins
    assert find_kaggle_mount(["slug"], base) == base / "slug"
    assert find_kaggle_mount([], base) is None


def test_find_kaggle_mount_base_from_the_environment(tmp_path, monkeypatch):
    (tmp_path / "datasets" / "owner" / "slug").mkdir(parents=True)
    assert find_kaggle_mount(["owner/slug"]) is None  # /kaggle/input does not exist here
    monkeypatch.setenv("COURSE_KAGGLE_INPUT", str(tmp_path))
    assert find_kaggle_mount(["owner/slug"]) == tmp_path / "datasets" / "owner" / "slug"
    assert find_kaggle_mount(["owner/slug"], tmp_path / "elsewhere") is None  # an explicit base wins


def test_find_kaggle_mount_ignores_files(tmp_path):
    (tmp_path / "slug").write_text("not a folder")
    assert find_kaggle_mount(["owner/slug"], tmp_path) is None


def test_error_message_shape():
    err = dl.DataUnavailableError.explained("Food-5K", "https://example.org/f.zip", "HTTP 404", "download it by hand")
    assert str(err) == (
        "Could not get Food-5K from https://example.org/f.zip: HTTP 404.\nWhat to do: download it by hand"
    )
    assert isinstance(err, RuntimeError) and err.reason == "HTTP 404"
    assert issubclass(UnsafeArchiveError, ValueError)
