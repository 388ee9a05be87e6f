"""Tests for the direct route (helpers.datasets.direct and the fallback in datasets.download).

Rehearsed with the real clients: Kaggle fails for real (kagglehub's own request goes through a proxy address
nobody listens on, kagglesdk's TEST environment on a closed port, a credentials file the course refuses, or
kagglehub not importable), and the direct archives come from a local HTTP server, through ``requests``, via
``COURSE_DOWNLOAD_MIRROR``. Each archive has its publisher's exact structure (a few images per class, made with
helpers.datasets.samples): Kaggle's zips of Intel and Food-5K, Mendeley Data's zip of the mosquito set and
GitHub's zip of the Fruits-360 100x100 repository. Nothing here reaches the internet.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import socket
import sys
import threading
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from helpers import datasets
from helpers.datasets import DataUnavailableError, direct, info
from helpers.datasets.layouts import locate
from helpers.datasets.samples import MARKER, make_sample

NAMES = ("intel", "food5k", "fruits360", "mosquito")
#: The archive each test serves per dataset: the first direct source in the catalogue.
ARCHIVE = {name: info(name).direct[0].archive_name for name in NAMES}
#: Where each split lives in the published archive: split -> folder prefix in the zip.
SPLITS = {
    "intel": {"train": "seg_train/seg_train/", "test": "seg_test/seg_test/"},
    "food5k": {"train": "training/", "val": "validation/", "test": "evaluation/"},
    "fruits360": {"train": "fruits-360-100x100-main/Training/", "test": "fruits-360-100x100-main/Test/"},
    "mosquito": {"train": "zw4p9kj6nt-2/data_splitting/Train/", "val": "zw4p9kj6nt-2/data_splitting/Pred/",
                 "test": "zw4p9kj6nt-2/data_splitting/Test/"},
}
GITHUB_COMMIT = "019ab6f4eec0f6b9bdae4efe8ee55f377bef8812"  # git archive writes the commit as the zip comment


# --------------------------------------------------------------------------------------------------
# Archives in each publisher's structure
# --------------------------------------------------------------------------------------------------


def _zip_tree(tree: Path, archive: Path, *, prefix: str = "", skip_top: tuple[str, ...] = (),
              with_folders: bool = False, comment: bytes = b"") -> None:
    """Zip every file under ``tree`` (never the sample marker) as ``prefix`` + its relative path."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.comment = comment
        for path in sorted(tree.rglob("*")):
            relative = path.relative_to(tree).as_posix()
            if path.name == MARKER or relative.split("/")[0] in skip_top:
                continue
            if path.is_dir() and with_folders:
                zf.writestr(f"{prefix}{relative}/", b"")
            elif path.is_file():
                zf.write(path, f"{prefix}{relative}")


def build_archive(name: str, folder: Path, images_per_class: int = 4) -> Path:
    """``name``'s first direct archive, in its publisher's structure, written under ``folder``."""
    tree = folder / f"{name}-tree"
    archive = folder / ARCHIVE[name]
    if name == "intel":  # Kaggle's zip: seg_train/seg_train/<class>/, seg_test/seg_test/<class>/, seg_pred/seg_pred/
        _zip_tree(make_sample(name, tree, images_per_class=images_per_class), archive)
    elif name == "food5k":  # Kaggle's zip: {training,validation,evaluation}/{food,non_food}/ at the top
        _zip_tree(make_sample(name, tree, images_per_class=images_per_class, layout="folders"), archive)
    elif name == "mosquito":  # Mendeley Data's Download All: zw4p9kj6nt-2/{raw class folders, data_splitting/}
        _zip_tree(make_sample(name, tree, images_per_class=images_per_class), archive)
    else:  # GitHub's zip of fruits-360/fruits-360-100x100: <repo>-<branch>/{Training,Test,README.md,LICENSE}
        branch = make_sample(name, tree, images_per_class=images_per_class) / "fruits-360_100x100" / "fruits-360"
        (branch / "README.md").write_text("# Fruits-360: A dataset of images containing fruits ...\n")
        (branch / "LICENSE").write_text("CC BY-SA 4.0\n")
        _zip_tree(branch, archive, prefix="fruits-360-100x100-main/", with_folders=True,
                  comment=GITHUB_COMMIT.encode())
    return archive


@pytest.fixture(scope="module")
def archives(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("archives")
    return {name: build_archive(name, folder) for name in NAMES}


def zip_counts(archive: Path, prefix: str) -> Counter:
    """Images per class folder directly under ``prefix``."""
    with zipfile.ZipFile(archive) as zf:
        names = [n[len(prefix):] for n in zf.namelist() if n.startswith(prefix) and n.endswith(".jpg")]
    return Counter(n.split("/")[0] for n in names if n.count("/") == 1)


# --------------------------------------------------------------------------------------------------
# A local HTTP server playing the publishers
# --------------------------------------------------------------------------------------------------


@dataclass
class Route:
    """What the server answers for one path. ``cut_at``: close the connection once that byte is reached."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/zip"
    cut_at: int | None = None


@dataclass
class Seen:
    path: str
    range: str | None
    status: int


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        server: Publisher = self.server  # type: ignore[assignment]
        route = server.routes.get(self.path)
        asked = self.headers.get("Range")
        if route is None or route.status >= 400:
            status = route.status if route else 404
            body = f"<html><body>Error {status}</body></html>".encode()
            server.seen.append(Seen(self.path, asked, status))
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        start = int(asked.split("=")[1].split("-")[0]) if asked else 0
        status = 206 if asked else 200
        server.seen.append(Seen(self.path, asked, status))
        self.send_response(status)
        if asked:
            self.send_header("Content-Range", f"bytes {start}-{len(route.body) - 1}/{len(route.body)}")
        self.send_header("Content-Type", route.content_type)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(route.body) - start))
        self.end_headers()
        end = len(route.body) if route.cut_at is None else max(start, route.cut_at)
        self.wfile.write(route.body[start:end])
        self.wfile.flush()
        if end < len(route.body):
            self.close_connection = True  # the length was announced: the client sees a broken transfer

    def log_message(self, *args) -> None:
        pass


class Publisher(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/mirror"

    def serve(self, archive_name: str, route: Route) -> Route:
        self.routes[f"/mirror/{archive_name}"] = route
        return route

    def handle_error(self, request, client_address) -> None:
        pass  # a client hanging up on a cut transfer is expected


@pytest.fixture
def publisher(monkeypatch) -> Iterator[Publisher]:
    """The local server, set as ``COURSE_DOWNLOAD_MIRROR`` (it serves nothing until a test says so)."""
    server = Publisher()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv(direct._MIRROR_ENV, server.url)
    yield server
    server.shutdown()
    server.server_close()


def _dead_address() -> str:
    """An address on this machine where nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Kaggle's API host (and any other HTTPS host) is reached through a proxy address nobody listens on;
    the local server is reached directly. The data source is the default one unless a test sets it."""
    dead = _dead_address()
    for name in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, dead)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", direct._SOURCE_ENV, "KAGGLE_API_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


def _port_is_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(params=["api unreachable", "test environment, closed port", "kagglehub missing",
                        "credentials refused"])
def kaggle_fails(request, monkeypatch, tmp_path) -> str:
    """Kaggle fails for real, four ways; returns words the Kaggle part of the message says."""
    if request.param == "api unreachable":  # the PROD host, through the dead proxy set by no_internet
        return "no network connection"
    if request.param == "test environment, closed port":  # kagglesdk's TEST environment: http://localhost:7777
        if _port_is_open(7777):
            pytest.skip("port 7777 is in use (a local Kaggle rehearsal may be running): cannot be the closed port")
        monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "TEST")
        return "no network connection"
    if request.param == "kagglehub missing":  # what the import system does for a package that is not there
        monkeypatch.setitem(sys.modules, "kagglehub", None)
        return "kagglehub package is not installed"
    config = Path(os.environ["KAGGLE_CONFIG_DIR"])  # conftest points it at an empty folder of this test
    config.mkdir(parents=True, exist_ok=True)
    (config / "kaggle.json").write_text("this is not the file kaggle.com gives")
    config.joinpath("kaggle.json").chmod(0o600)
    return "credentials cannot be used"


def check_found(name: str, root: Path, archive: Path) -> None:
    """The loader's layout search (no TensorFlow) finds every class and image of the archive's training split."""
    found = locate(info(name), root)
    train = zip_counts(archive, SPLITS[name]["train"])
    assert found.class_names == (list(info(name).class_names or ()) or sorted(train))
    assert Counter(found.class_names[i] for i in found.labels["train"]) == train


def check_loaded(name: str, root: Path, archive: Path) -> None:
    """``datasets.load`` finds the splits under ``root`` with the classes and images the archive holds."""
    loaded = datasets.load(name, root, image_size=(16, 16), batch_size=2, cache=False)
    known = info(name).class_names
    train = zip_counts(archive, SPLITS[name]["train"])
    assert loaded.class_names == (list(known) if known else sorted(train))
    assert not loaded.sample, "a downloaded archive is real data, not a course sample"
    counts = loaded.counts()
    got_train = {c: counts["train"][c] + (counts["val"][c] if "val" not in SPLITS[name] else 0)
                 for c in loaded.class_names}
    assert got_train == {c: train[c] for c in loaded.class_names}
    for split in ("val", "test"):
        if split in SPLITS[name]:
            want = zip_counts(archive, SPLITS[name][split])
            assert counts[split] == {c: want[c] for c in loaded.class_names}, split
    images, labels = next(iter(loaded.train))
    assert tuple(images.shape) == (2, 16, 16, 3) and tuple(labels.shape) == (2,)


# --------------------------------------------------------------------------------------------------
# The fallback: Kaggle fails, the direct archive is downloaded, unpacked and loads
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_kaggle_fails_and_the_direct_archive_loads(publisher, archives, name, capsys):
    publisher.serve(ARCHIVE[name], Route(archives[name].read_bytes()))
    root = datasets.get(name, profile="quick")
    out = capsys.readouterr().out
    assert f"Kaggle could not serve the {info(name).title}: no network connection" in out, "says why"
    assert f"{publisher.url}/{ARCHIVE[name]}" in out, "says where from"
    assert info(name).direct[0].publisher in out
    check_loaded(name, root, archives[name])
    hint = info(name).direct[0].root_hint
    assert root.name == (hint or Path(ARCHIVE[name]).stem)
    folder = datasets.data_home() / "downloads" / name
    assert [p.name for p in folder.iterdir()] == [Path(ARCHIVE[name]).stem], "the archive is gone once unpacked"

    assert datasets.get(name, profile="quick") == root, "a second call returns the same folder"
    assert len(publisher.seen) == 1, "and downloads nothing"
    assert "downloaded earlier without Kaggle" in capsys.readouterr().out


def test_every_way_kaggle_fails_falls_back(publisher, archives, kaggle_fails, capsys):
    publisher.serve(ARCHIVE["intel"], Route(archives["intel"].read_bytes()))
    root = datasets.download("intel")
    out = capsys.readouterr().out
    assert "Kaggle could not serve the Intel" in out and kaggle_fails in out
    assert [s.status for s in publisher.seen] == [200]
    check_found("intel", root, archives["intel"])


def test_source_direct_skips_kaggle(publisher, archives, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "kagglehub", None)  # any use of the Kaggle route would now fail
    monkeypatch.setenv(direct._SOURCE_ENV, "direct")
    publisher.serve(ARCHIVE["mosquito"], Route(archives["mosquito"].read_bytes()))
    root = datasets.download("mosquito")
    out = capsys.readouterr().out
    assert "Data source 'direct'" in out and "Kaggle could not" not in out and "Kaggle credentials" not in out
    check_found("mosquito", root, archives["mosquito"])


def test_source_kaggle_never_falls_back(publisher, archives):
    publisher.serve(ARCHIVE["intel"], Route(archives["intel"].read_bytes()))
    with pytest.raises(DataUnavailableError) as err:
        datasets.download("intel", source="kaggle")
    assert "direct download" not in str(err.value)
    assert publisher.seen == []


@pytest.mark.parametrize("value", ["mirror", "KAGGLEHUB"])
def test_unknown_source_is_refused(monkeypatch, value):
    monkeypatch.setenv(direct._SOURCE_ENV, value)
    with pytest.raises(ValueError, match="'auto'.*'kaggle'.*'direct'"):
        datasets.download("intel")


def test_a_later_address_is_tried_when_an_earlier_one_fails(publisher, archives, monkeypatch, capsys):
    """Mosquito: Mendeley's archive answers 503 every time, Kaggle's zip of the same data works."""
    monkeypatch.setenv(direct._SOURCE_ENV, "direct")
    publisher.serve("zw4p9kj6nt-2.zip", Route(status=503))
    kaggle_copy = info("mosquito").direct[-1].archive_name
    publisher.serve(kaggle_copy, Route(archives["mosquito"].read_bytes()))
    root = direct.fetch_direct(info("mosquito"), datasets.data_home() / "downloads" / "mosquito", backoff=0,
                               progress=False)
    assert [(s.path.rsplit("/", 1)[1], s.status) for s in publisher.seen] == [
        ("zw4p9kj6nt-2.zip", 503)] * (1 + 4) + [(kaggle_copy, 200)], "a quick try, 3 retries, the next address"
    assert "HTTP 503" in capsys.readouterr().out
    check_found("mosquito", root, archives["mosquito"])


# --------------------------------------------------------------------------------------------------
# A broken transfer is resumed by the next call
# --------------------------------------------------------------------------------------------------


def test_broken_transfer_resumes_with_range_on_the_next_call(publisher, archives, tmp_path):
    data = archives["intel"].read_bytes()
    assert len(data) > 4 * 65536, "big enough for whole 64 KiB chunks to arrive before the cut"
    route = publisher.serve(ARCHIVE["intel"], Route(data, cut_at=len(data) // 2))
    dest = tmp_path / "downloads"
    part = dest / (ARCHIVE["intel"] + ".part")

    with pytest.raises(DataUnavailableError) as err:  # every attempt of this call is cut at the same byte
        direct.fetch_direct(info("intel"), dest, retries=1, backoff=0, progress=False)
    assert err.value.transient and "partial download is resumed" in str(err.value)
    kept = part.stat().st_size
    assert 0 < kept < len(data) and data.startswith(part.read_bytes())
    assert not (dest / "intel-image-classification").exists(), "nothing unpacked from half an archive"

    route.cut_at = None  # the connection is fine again: the next call asks for the rest only
    before = len(publisher.seen)
    root = datasets.download("intel", dest=dest, source="direct")
    assert [(s.range, s.status) for s in publisher.seen[before:]] == [(f"bytes={kept}-", 206)]
    assert not part.exists() and not (dest / ARCHIVE["intel"]).exists()
    check_loaded("intel", root, archives["intel"])


# --------------------------------------------------------------------------------------------------
# One clear message when it cannot be done
# --------------------------------------------------------------------------------------------------


def test_404_everywhere_gives_one_message_naming_both_routes(publisher):
    with pytest.raises(DataUnavailableError) as err:
        datasets.download("intel")  # Kaggle unreachable; the mirror has no such archive
    message = str(err.value)
    dataset = info("intel")
    assert message.startswith(f"Could not get the {dataset.title} dataset from Kaggle ({dataset.kaggle[0]}, "
                              f"{dataset.kaggle_url}): no network connection")
    assert f"The direct download failed too: HTTP 404 Not Found ({publisher.url}/{ARCHIVE['intel']})" in message
    cause, _, todo = message.partition("\nWhat to do: ")
    assert "+ Add Input" in todo and f"Without Kaggle: download {dataset.direct[0].url} in a browser" in todo
    assert "DATA_DIR" in todo and "Traceback" not in message
    assert err.value.__cause__ is None and err.value.__suppress_context__, "no chained traceback"
    assert err.value.transient is False, "a 404 will not go away by waiting"
    assert [s.status for s in publisher.seen] == [404], "a 404 is not retried"


def test_server_error_gives_one_message(publisher):
    publisher.serve(ARCHIVE["food5k"], Route(status=500))
    with pytest.raises(DataUnavailableError) as err:
        direct.fetch_direct(info("food5k"), datasets.data_home() / "downloads" / "food5k", retries=2, backoff=0,
                            progress=False)
    message = str(err.value)
    assert message == (
        f"Could not get the {info('food5k').title} dataset by direct download: HTTP 500 Internal Server Error "
        f"({publisher.url}/{ARCHIVE['food5k']}).\nWhat to do: Check the internet connection (on Kaggle: Settings > "
        "Internet on) and run this again: a partial download is resumed. Or download "
        f"{info('food5k').direct[0].url} in a browser, unzip it and pass its folder as DATA_DIR (datasets.md lists "
        "every source).")
    assert err.value.transient
    assert len(publisher.seen) == 1 + 3, "one quick attempt, then the retries"


def test_html_page_instead_of_the_archive_is_refused(publisher, monkeypatch):
    monkeypatch.setenv(direct._SOURCE_ENV, "direct")
    page = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Please sign in</body></html>\n"
    publisher.serve("zw4p9kj6nt-2.zip", Route(page, content_type="text/html; charset=utf-8"))
    with pytest.raises(DataUnavailableError) as err:
        datasets.download("mosquito")
    message = str(err.value)
    assert "web page (HTML) instead of the archive" in message and "sign-in or consent page" in message
    assert err.value.transient is False
    folder = datasets.data_home() / "downloads" / "mosquito"
    assert list(folder.iterdir()) == [], "the page is deleted, nothing is unpacked"


def test_damaged_archive_is_deleted_and_fetched_again_next_time(publisher, archives, monkeypatch):
    monkeypatch.setenv(direct._SOURCE_ENV, "direct")
    data = archives["food5k"].read_bytes()
    route = publisher.serve(ARCHIVE["food5k"], Route(data[: len(data) // 2]))  # complete as announced, yet cut
    with pytest.raises(DataUnavailableError, match="not a zip or tar archive, or it is damaged") as err:
        datasets.download("food5k")
    assert err.value.transient
    folder = datasets.data_home() / "downloads" / "food5k"
    assert list(folder.iterdir()) == []
    route.body = data
    check_found("food5k", datasets.download("food5k"), archives["food5k"])


def test_unsafe_archive_is_refused(publisher, tmp_path, monkeypatch):
    monkeypatch.setenv(direct._SOURCE_ENV, "direct")
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("training/food/1_0.jpg", b"not really")
        zf.writestr("../../outside.txt", b"gotcha")
    publisher.serve(ARCHIVE["food5k"], Route(evil.read_bytes()))
    with pytest.raises(DataUnavailableError, match="the archive is unsafe"):
        datasets.download("food5k")
    home = datasets.data_home()
    assert not (home / "outside.txt").exists() and not (home / "downloads" / "outside.txt").exists()
    assert list((home / "downloads" / "food5k").iterdir()) == []


# --------------------------------------------------------------------------------------------------
# The catalogue's direct routes
# --------------------------------------------------------------------------------------------------


def test_every_kaggle_dataset_has_a_direct_route():
    for name in NAMES:
        sources = info(name).direct
        assert sources, name
        assert all(s.url.startswith("https://") and s.archive_name.endswith(".zip") and s.publisher
                   for s in sources), name
    assert info("odonata").direct == ()


def test_publishers_own_archives_come_first():
    mosquito, fruits = info("mosquito").direct, info("fruits360").direct
    assert mosquito[0].url == "https://data.mendeley.com/public-api/zip/zw4p9kj6nt/download/2"
    assert (mosquito[0].archive_name, mosquito[0].root_hint) == ("zw4p9kj6nt-2.zip", "zw4p9kj6nt-2")
    assert fruits[0].url == "https://github.com/fruits-360/fruits-360-100x100/archive/refs/heads/main.zip"
    assert fruits[0].root_hint == "fruits-360-100x100-main"
    assert info("intel").direct[0].url == (
        "https://www.kaggle.com/api/v1/datasets/download/puneet6060/intel-image-classification")
    assert fruits[1].url.endswith("/moltean/fruits?datasetVersionNumber=100"), "the same version kagglehub pins"
    assert "FTP" in info("food5k").direct_note and "sign" in info("intel").direct_note


def test_mirror_replaces_every_address_once():
    found = direct._candidates(info("mosquito"), mirror="http://example.org/course/")
    assert [c.url for c in found] == ["http://example.org/course/zw4p9kj6nt-2.zip",
                                      "http://example.org/course/mosquito-on-human-skin.zip"]
    assert [c.url for c in direct._candidates(info("mosquito"), mirror="")] == [s.url for s in info("mosquito").direct]
