"""A local Kaggle for rehearsals: the part of Kaggle's API that kagglehub 1.0.2 calls to download a dataset.

The real, unmodified ``kagglehub`` client talks to this server through one of two routes kagglehub and
its ``kagglesdk`` already support, so nothing in the client is patched:

``proxy`` (default)
    ``HTTPS_PROXY`` points at this server, which answers ``CONNECT`` for ``api.kaggle.com``,
    ``www.kaggle.com`` and ``storage.googleapis.com`` with certificates signed by a throw-away
    certificate authority made for the run (trusted through ``REQUESTS_CA_BUNDLE``). kagglesdk runs in
    its ``PROD`` mode, exactly as for a learner; any other host is refused and logged, so nothing
    reaches the internet.
    Needs the ``openssl`` command to make the certificates. Any free port.
``test``
    ``KAGGLE_API_ENVIRONMENT=TEST``: kagglesdk talks plain HTTP to ``http://localhost:7777`` (a fixed
    port) and, in that mode, prints every request and response (headers and bodies) to stdout.

What kagglehub 1.0.2 asks for a dataset (``kagglehub/http_resolver.py``, ``DatasetHttpResolver``;
``kagglesdk/datasets/services/dataset_api_service.py``), all ``POST`` with a JSON body:

1. ``/v1/datasets.DatasetApiService/GetDataset`` ``{"ownerSlug", "datasetSlug"}``, only for a handle
   without ``/versions/N``: the answer's ``currentVersionNumber`` picks the version.
2. ``/v1/datasets.DatasetApiService/DownloadDataset`` ``{"ownerSlug", "datasetSlug",
   "datasetVersionNumber"}`` plus ``"fileName"`` when ``path=`` was given: answered with a redirect
   to a signed storage URL (requests follows it, as a ``GET``, dropping the ``Authorization`` header).
3. ``GET`` on the storage URL: the whole archive (zip), or the one file ``fileName`` names. The answer
   carries ``Content-Length``, ``Accept-Ranges: bytes`` and ``x-goog-hash: md5=...`` like Google Cloud
   Storage; kagglehub checks the MD5 and, when a partial archive is left from an earlier attempt,
   resumes it with a ``Range`` request. A ``fileName`` that is a folder is answered 404, as Kaggle does
   (Kaggle serves one file or the whole archive, never a folder).

Also served, for the course's direct route (no kagglehub): ``GET https://www.kaggle.com/api/v1/datasets/
download/<owner>/<slug>[?datasetVersionNumber=N]``, the address of a dataset page's *Download > curl*, which
redirects to the same storage URL.

Errors are JSON ``{"code": N, "message": "..."}`` with HTTP status ``N``, which kagglesdk turns into
``requests.HTTPError`` and kagglehub into ``KaggleApiHTTPError``. Failure modes, per dataset: a
private dataset (403 without the right credentials), wrong credentials (401, any dataset), an
unknown handle or version (404), and, on the storage host, a transfer cut in the middle (``"cut"``:
``Content-Length`` announced, the connection closed half-way), a short body without a length
(``"truncate"``: the MD5 then does not match), or an HTTP error status (answered in XML, as Cloud Storage
does). :attr:`LocalKaggle.seen` records every request (the kind of credentials sent, never the secret).

Archives: :func:`build_course_archive` writes each course dataset in its published structure (small:
a few images per class), reusing :func:`helpers.datasets.samples.make_sample` and adding what the
published archives hold beyond it (the other Fruits-360 branches).

Command line (``python3 tools/local_kaggle.py --help``)::

    python3 tools/local_kaggle.py build build/local-kaggle             # the four course archives
    python3 tools/local_kaggle.py serve --course build/local-kaggle    # serve them; prints the variables to set
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import http.server
import json
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]

#: Hosts the proxy route answers for; everything else is refused (and logged).
API_HOST = "api.kaggle.com"
WEB_HOST = "www.kaggle.com"
STORAGE_HOST = "storage.googleapis.com"
#: The fixed address of kagglesdk's ``TEST`` environment (``kagglesdk/kaggle_env.py``).
TEST_PORT = 7777
#: The Kaggle handles of the course datasets and the version each archive is served as. Only Fruits-360's
#: version (100) is the course's own pin; the others stand for "the current version" (the real numbers are
#: not known offline and do not matter: the catalogue's handles for them carry no version).
COURSE_HANDLES = {
    "intel": "puneet6060/intel-image-classification/versions/2",
    "food5k": "trolukovich/food5k-image-dataset/versions/1",
    "fruits360": "moltean/fruits/versions/100",
    "mosquito": "naiborhujosua/mosquito-on-human-skin/versions/1",
}


# --------------------------------------------------------------------------------------------------
# Archives in the published structure
# --------------------------------------------------------------------------------------------------


def build_course_archive(name: str, dest: Path, *, images_per_class: int = 4, seed: int = 0) -> Path:
    """Write dataset ``name``'s Kaggle archive, in its published structure, as the zip file ``dest``.

    The tree comes from :func:`helpers.datasets.samples.make_sample` (the course's own generator, in the
    layout of the Kaggle copy: Food-5K with ``food``/``non_food`` folders), without the sample marker
    file (a downloaded archive has none), plus what the published archive holds beyond the sample: for
    Fruits-360 the ``Validation`` split of the original-size branch and the ``multi`` and
    ``3-body-problem`` branches. Images are synthetic (each stamped "SAMPLE").

    Returns:
        ``dest``.
    """
    sys.path.insert(0, str(ROOT))
    from helpers.datasets.samples import MARKER, make_sample

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{name}-tree-") as tmp:
        tree = Path(tmp) / "tree"
        layout = "folders" if name == "food5k" else None
        make_sample(name, tree, images_per_class=images_per_class, seed=seed, layout=layout)
        (tree / MARKER).unlink()
        if name == "fruits360":
            _add_fruits_branches(tree, seed)
        write_zip(tree, dest)
    return dest


def _add_fruits_branches(tree: Path, seed: int) -> None:
    """The parts of the Fruits-360 archive (2025 releases) that the course sample does not write.

    From the branches' own READMEs (github.com/fruits-360): original-size has Training, Validation and
    Test; multi holds photos of several fruits, flat; 3-body-problem has its own Training and Test.
    """
    from PIL import Image

    def image(path: Path, size: tuple[int, int], shade: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, (shade, 255 - shade, (shade * 7 + seed) % 256)).save(path, quality=90)

    original = tree / "fruits-360_original-size" / "fruits-360-original-size"
    for i, cls in enumerate(sorted(p.name for p in (original / "Training").iterdir())):
        image(original / "Validation" / cls / f"r0_{i * 4 + 1}.jpg", (320, 240), 40 + i)
    for i in range(2):
        image(tree / "fruits-360_multi" / "test-multiple_fruits" / f"apple_banana_{i}.jpg", (640, 480), 90 + i)
    body = tree / "fruits-360_3-body-problem" / "fruits-360-3-body-problem"
    for split in ("Training", "Test"):
        for i, cls in enumerate(("Apple", "Cherry", "Tomato")):
            image(body / split / cls / f"r0_{i}_100.jpg", (100, 100), 150 + i)


def write_zip(tree: Path, dest: Path) -> Path:
    """Zip the contents of folder ``tree`` (paths relative to it, folders included, sorted) into ``dest``."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for path in sorted(tree.rglob("*")):
            zf.write(path, path.relative_to(tree).as_posix() + ("/" if path.is_dir() else ""))
    return dest


# --------------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------------


@dataclass
class FakeDataset:
    """One dataset on the local Kaggle.

    Attributes:
        owner, slug: The handle ``owner/slug``.
        versions: Version number to the archive (a zip file) served for it.
        private: When True, only the accepted credentials may download it (others get 403).
    """

    owner: str
    slug: str
    versions: dict[int, Path]
    private: bool = False

    @property
    def current(self) -> int:
        return max(self.versions)


@dataclass
class Seen:
    """One request the server received (never the credentials themselves, only their kind).

    Attributes:
        host: The host it was for (``api.kaggle.com``, ``storage.googleapis.com``, ``localhost:7777``...).
        method, path: The request line.
        body: The JSON body of an API call, else ``None``.
        auth: ``"basic"``, ``"bearer"``, another scheme's name, or ``None`` without ``Authorization``.
        range: The ``Range`` header, if any.
        status: The status answered (0 for a refused tunnel).
    """

    host: str
    method: str
    path: str
    body: dict | None = None
    auth: str | None = None
    range: str | None = None
    status: int = 0


class LocalKaggle:
    """A local Kaggle serving :class:`FakeDataset` archives to the real kagglehub client.

    Use as a context manager; :meth:`environment` gives the variables that point kagglehub at it::

        with LocalKaggle(workdir) as kaggle:
            kaggle.add("moltean/fruits/versions/100", archive)
            os.environ.update(kaggle.environment())
            kagglehub.dataset_download("moltean/fruits/versions/100")

    Args:
        workdir: A folder for the certificates of the ``proxy`` route.
        route: ``"proxy"`` (any free port, TLS through a throw-away CA) or ``"test"`` (kagglesdk's
            ``TEST`` environment on ``localhost:7777``).
        port: The port to listen on (``proxy`` route; 0 picks a free one).
        credentials: Accepted ``(username, key)`` pairs; a request with other credentials gets 401.
        tokens: Accepted API tokens (``Authorization: Bearer``).

    Attributes:
        seen: Every request received, in order.
        faults: Per ``owner/slug``, the failures still to inject into its next storage downloads
            (``"cut"``, ``"truncate"``, or an HTTP status such as ``500``); see :meth:`fail_next`.
    """

    def __init__(self, workdir: Path, *, route: str = "proxy", port: int = 0,
                 credentials: tuple[tuple[str, str], ...] = (), tokens: tuple[str, ...] = ()) -> None:
        if route not in ("proxy", "test"):
            raise ValueError(f"route must be 'proxy' or 'test', not {route!r}")
        self.workdir = Path(workdir)
        self.route = route
        self.datasets: dict[str, FakeDataset] = {}
        self.seen: list[Seen] = []
        self.faults: dict[str, list[str | int]] = {}
        self._basic = {base64.b64encode(f"{u}:{k}".encode()).decode() for u, k in credentials}
        self._tokens = set(tokens)
        self._downloads: dict[str, tuple[Path, str | None, str]] = {}
        self._lock = threading.Lock()
        self.ca_file: Path | None = None
        self._tls: ssl.SSLContext | None = None
        if route == "proxy":
            self.ca_file, cert, key = make_certificates(self.workdir, [API_HOST, WEB_HOST, STORAGE_HOST])
            self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._tls.load_cert_chain(cert, key)
        address = ("127.0.0.1", port if route == "proxy" else TEST_PORT)
        self._server = _Server(address, _Handler, self)
        self._thread: threading.Thread | None = None

    # -- set-up ------------------------------------------------------------------------------------

    def add(self, handle: str, archive: Path, *, private: bool = False) -> FakeDataset:
        """Serve ``archive`` as ``handle`` (``owner/slug/versions/N``; without a version it becomes version 1)."""
        owner, slug, version = _parse_handle(handle)
        dataset = self.datasets.setdefault(f"{owner}/{slug}", FakeDataset(owner, slug, {}, private))
        dataset.versions[version or 1] = Path(archive)
        dataset.private = dataset.private or private
        return dataset

    def fail_next(self, handle: str, fault: str | int, times: int = 1) -> None:
        """Make the next ``times`` storage downloads of ``handle`` fail with ``fault``.

        ``"cut"``: ``Content-Length`` is announced and half the body sent, then the connection is closed.
        ``"truncate"``: half the body without a ``Content-Length``, then a clean close (the MD5 cannot match).
        An ``int``: that HTTP status with an empty body.
        """
        owner, slug, _ = _parse_handle(handle)
        with self._lock:
            self.faults.setdefault(f"{owner}/{slug}", []).extend([fault] * times)

    def environment(self) -> dict[str, str]:
        """The environment variables that send kagglehub (and requests) here and nowhere else."""
        if self.route == "test":
            return {"KAGGLE_API_ENVIRONMENT": "TEST", "NO_PROXY": "localhost,127.0.0.1",
                    "no_proxy": "localhost,127.0.0.1"}
        proxy = f"http://127.0.0.1:{self.port}"
        return {"KAGGLE_API_ENVIRONMENT": "PROD", "HTTPS_PROXY": proxy, "https_proxy": proxy,
                "HTTP_PROXY": proxy, "http_proxy": proxy, "NO_PROXY": "", "no_proxy": "",
                "REQUESTS_CA_BUNDLE": str(self.ca_file)}

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    # -- running -----------------------------------------------------------------------------------

    def start(self) -> LocalKaggle:
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-kaggle", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port (again: nothing happens)."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> LocalKaggle:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what the handler asks ---------------------------------------------------------------------

    def _record(self, seen: Seen) -> Seen:
        with self._lock:
            self.seen.append(seen)
        return seen

    def _next_fault(self, key: str) -> str | int | None:
        with self._lock:
            queue = self.faults.get(key) or []
            return queue.pop(0) if queue else None

    def _auth_problem(self, header: str | None, dataset: FakeDataset | None) -> tuple[int, str] | None:
        """``(status, message)`` when the credentials are refused, else ``None``."""
        if header:
            scheme, _, value = header.partition(" ")
            ok = (scheme.lower() == "basic" and value in self._basic) or (
                scheme.lower() == "bearer" and value in self._tokens)
            if not ok:
                return 401, "Unauthenticated: the credentials were not accepted"
            return None
        if dataset is not None and dataset.private:
            return 403, "Permission 'datasets.get' was denied"
        return None

    def _storage_url(self, host: str, token: str, name: str) -> str:
        path = f"/kaggle-data-sets/{token}/{quote(name)}?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature={token}"
        return f"https://{STORAGE_HOST}{path}" if self.route == "proxy" else f"http://{host}/storage{path}"

    def _register_download(self, archive: Path, member: str | None, key: str) -> str:
        token = hashlib.sha256(f"{archive}|{member}|{len(self._downloads)}".encode()).hexdigest()[:32]
        with self._lock:
            self._downloads[token] = (archive, member, key)
        return token


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, kaggle: LocalKaggle) -> None:
        self.kaggle = kaggle
        super().__init__(address, handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "local-kaggle"
    timeout = 30
    server: _Server
    tls_host: str | None = None

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass  # quiet: what matters is in LocalKaggle.seen

    # -- the proxy's tunnel ------------------------------------------------------------------------

    def do_CONNECT(self) -> None:
        kaggle = self.server.kaggle
        host = self.path.rsplit(":", 1)[0]
        if kaggle.route != "proxy" or host not in (API_HOST, WEB_HOST, STORAGE_HOST):
            kaggle._record(Seen(host, "CONNECT", self.path, status=403))
            self.send_response(403, "Not served by the local Kaggle")
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.close_connection = True
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        try:
            tls = kaggle._tls.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        self.connection, self.tls_host = tls, host
        self.rfile = tls.makefile("rb")
        self.wfile = tls.makefile("wb")
        self.close_connection = False

    # -- requests ----------------------------------------------------------------------------------

    def _host(self) -> str:
        return self.tls_host or self.headers.get("Host", "")

    def do_POST(self) -> None:
        kaggle = self.server.kaggle
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        seen = kaggle._record(Seen(self._host(), "POST", self.path, body, _auth_kind(self.headers),
                                   self.headers.get("Range")))
        prefix = "/v1/" if kaggle.route == "proxy" else "/api/v1/"
        if (kaggle.route == "proxy" and self.tls_host != API_HOST) or not self.path.startswith(prefix):
            return self._json(seen, 404, {"code": 404, "message": "Not found"})
        if not isinstance(body, dict):
            return self._json(seen, 400, {"code": 400, "message": "The request body is not JSON"})
        method = self.path[len(prefix):]
        if method == "datasets.DatasetApiService/GetDataset":
            return self._get_dataset(seen, body)
        if method == "datasets.DatasetApiService/DownloadDataset":
            return self._download_dataset(seen, body)
        return self._json(seen, 501, {"code": 501, "message": f"{method} is not served by the local Kaggle"})

    def _dataset(self, body: dict) -> FakeDataset | None:
        return self.server.kaggle.datasets.get(f"{body.get('ownerSlug')}/{body.get('datasetSlug')}")

    def _get_dataset(self, seen: Seen, body: dict) -> None:
        dataset = self._dataset(body)
        refused = self.server.kaggle._auth_problem(self.headers.get("Authorization"), dataset)
        if refused:
            return self._json(seen, refused[0], {"code": refused[0], "message": refused[1]})
        if dataset is None:
            return self._json(seen, 404, {"code": 404, "message": "Not found"})
        ref = f"{dataset.owner}/{dataset.slug}"
        return self._json(seen, 200, {
            "ref": ref, "title": dataset.slug, "url": f"https://www.kaggle.com/datasets/{ref}",
            "ownerRef": dataset.owner, "isPrivate": dataset.private, "currentVersionNumber": dataset.current,
            "totalBytes": dataset.versions[dataset.current].stat().st_size,
        })

    def _download_dataset(self, seen: Seen, body: dict) -> None:
        kaggle = self.server.kaggle
        dataset = self._dataset(body)
        refused = kaggle._auth_problem(self.headers.get("Authorization"), dataset)
        if refused:
            return self._json(seen, refused[0], {"code": refused[0], "message": refused[1]})
        version = body.get("datasetVersionNumber")
        if dataset is None or version not in dataset.versions:
            return self._json(seen, 404, {"code": 404, "message": "Not found"})
        archive, member = dataset.versions[version], body.get("fileName") or None
        if member is not None:
            with zipfile.ZipFile(archive) as zf:
                files = {i.filename for i in zf.infolist() if not i.is_dir()}
            if member not in files:  # a folder, or no such file: Kaggle serves one file or the archive
                return self._json(seen, 404, {"code": 404, "message": "Not found"})
        token = kaggle._register_download(archive, member, f"{dataset.owner}/{dataset.slug}")
        name = member.rsplit("/", 1)[-1] if member else f"{version}/bundle/archive.zip"
        seen.status = 302
        self.send_response(302)
        self.send_header("Location", kaggle._storage_url(self._host(), token, name))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        kaggle = self.server.kaggle
        seen = kaggle._record(Seen(self._host(), "GET", self.path, None, _auth_kind(self.headers),
                                   self.headers.get("Range")))
        path = urlsplit(self.path).path
        if self.path.startswith("http://"):  # plain HTTP through the proxy: nothing is served that way
            return self._json(seen, 403, {"code": 403, "message": "Not served by the local Kaggle"})
        if path.startswith("/api/v1/datasets/download/") and (self.tls_host == WEB_HOST or kaggle.route == "test"):
            return self._web_download(seen, path, parse_qs(urlsplit(self.path).query))
        storage = (self.tls_host == STORAGE_HOST) if kaggle.route == "proxy" else path.startswith("/storage/")
        pieces = path.split("/")
        token = pieces[3] if kaggle.route == "test" and len(pieces) > 3 else pieces[2] if len(pieces) > 2 else ""
        if not storage or token not in kaggle._downloads:
            return self._json(seen, 404, {"code": 404, "message": "Not found"})
        archive, member, key = kaggle._downloads[token]
        if member is None:
            data = archive.read_bytes()
        else:
            with zipfile.ZipFile(archive) as zf:
                data = zf.read(unquote(member))
        self._send_file(seen, data, kaggle._next_fault(key))

    def _web_download(self, seen: Seen, path: str, query: dict[str, list[str]]) -> None:
        """``GET /api/v1/datasets/download/<owner>/<slug>[?datasetVersionNumber=N]``: Kaggle's zip without kagglehub.

        The address a dataset page's *Download > curl* shows (the course's direct route falls back to it):
        a redirect to the same signed storage URL as ``DownloadDataset``.
        """
        kaggle = self.server.kaggle
        owner, _, slug = path[len("/api/v1/datasets/download/"):].strip("/").partition("/")
        dataset = kaggle.datasets.get(f"{owner}/{slug}")
        refused = kaggle._auth_problem(self.headers.get("Authorization"), dataset)
        if refused:
            return self._json(seen, refused[0], {"code": refused[0], "message": refused[1]})
        wanted = query.get("datasetVersionNumber", [""])[0]
        version = int(wanted) if wanted.isdigit() else dataset.current if dataset else None
        if dataset is None or version not in dataset.versions:
            return self._json(seen, 404, {"code": 404, "message": "Not found"})
        token = kaggle._register_download(dataset.versions[version], None, f"{owner}/{slug}")
        seen.status = 302
        self.send_response(302)
        self.send_header("Location", kaggle._storage_url(self._host(), token, f"{version}/bundle/archive.zip"))
        self.send_header("Content-Length", "0")
        self.end_headers()
        return None

    def _send_file(self, seen: Seen, data: bytes, fault: str | int | None) -> None:
        """Answer like Google Cloud Storage: length, MD5 in ``x-goog-hash``, ranges; or inject ``fault``."""
        if isinstance(fault, int):  # Cloud Storage answers errors in XML, not in Kaggle's JSON
            data = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>Injected</Code>"
                    f"<Message>Injected failure {fault}</Message></Error>").encode()
            seen.status = fault
            self.send_response(fault)
            self.send_header("Content-Type", "application/xml; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return None
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
        start = _range_start(self.headers.get("Range"), len(data))
        status = 200 if start is None else 206
        start = start or 0
        seen.status = status
        self.send_response(status)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("x-goog-hash", f"md5={md5}")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        body = data[start:]
        if fault == "truncate":
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if fault == "cut":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(body)

    def do_HEAD(self) -> None:
        seen = self.server.kaggle._record(Seen(self._host(), "HEAD", self.path, auth=_auth_kind(self.headers)))
        seen.status = 404
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _json(self, seen: Seen, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        seen.status = status
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _auth_kind(headers: object) -> str | None:
    value = headers.get("Authorization")  # type: ignore[attr-defined]
    return value.split(" ", 1)[0].lower() if value else None


def _range_start(header: str | None, size: int) -> int | None:
    """The first byte of a ``Range: bytes=N-`` header within ``size`` bytes, else ``None`` (send the whole file)."""
    if header and header.startswith("bytes=") and header.endswith("-") and header[6:-1].isdigit():
        start = int(header[6:-1])
        return start if start < size else None
    return None


def _parse_handle(handle: str) -> tuple[str, str, int | None]:
    pieces = handle.strip("/").split("/")
    if len(pieces) == 2:
        return pieces[0], pieces[1], None
    if len(pieces) == 4 and pieces[2] == "versions" and pieces[3].isdigit():
        return pieces[0], pieces[1], int(pieces[3])
    raise ValueError(f"A Kaggle dataset handle is owner/slug or owner/slug/versions/N, not {handle!r}")


# --------------------------------------------------------------------------------------------------
# A throw-away certificate authority (the proxy route)
# --------------------------------------------------------------------------------------------------


def make_certificates(folder: Path, hosts: list[str]) -> tuple[Path, Path, Path]:
    """Make a throw-away CA and one server certificate for ``hosts`` in ``folder`` with the ``openssl`` command.

    Returns:
        ``(ca_certificate, server_certificate, server_key)``. The CA's key is deleted once it has signed.

    Raises:
        FileNotFoundError: There is no ``openssl`` command.
        subprocess.CalledProcessError: openssl failed (its stderr is in the exception).
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("the proxy route needs the openssl command to make its certificates")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key, cert, key, csr = (folder / n for n in ("ca.pem", "ca.key", "server.pem", "server.key", "server.csr"))
    ext = folder / "server.ext"
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n"
        f"subjectAltName={','.join('DNS:' + h for h in hosts)}\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, text=True)

    run("req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
        "-subj", "/CN=local Kaggle rehearsal CA (throw-away)",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={hosts[0]}")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-days", "2", "-extfile", str(ext))
    ca_key.unlink()
    return ca, cert, key


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def serving(archives: dict[str, Path], workdir: Path, **kwargs: object) -> Iterator[LocalKaggle]:
    """A started :class:`LocalKaggle` serving ``archives`` (handle to zip file); stopped on exit."""
    with LocalKaggle(workdir, **kwargs) as kaggle:  # type: ignore[arg-type]
        for handle, archive in archives.items():
            kaggle.add(handle, archive)
        yield kaggle


def course_archives(folder: Path, images_per_class: int = 4) -> dict[str, Path]:
    """Build (once) the four course archives in ``folder``; return handle to archive."""
    out = {}
    for name, handle in COURSE_HANDLES.items():
        dest = Path(folder) / f"{name}.zip"
        if not dest.is_file():
            build_course_archive(name, dest, images_per_class=images_per_class)
        out[handle] = dest
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="write the four course archives (published structure, few images)")
    build.add_argument("folder", type=Path)
    build.add_argument("--images-per-class", type=int, default=4)
    serve = sub.add_parser("serve", help="serve archives until Ctrl-C; prints the variables to set")
    serve.add_argument("--course", type=Path, metavar="FOLDER",
                       help="serve the course archives of FOLDER (built there first if missing)")
    serve.add_argument("--dataset", action="append", default=[], metavar="HANDLE=ZIP",
                       help="serve ZIP as HANDLE (owner/slug[/versions/N]); repeatable")
    serve.add_argument("--route", choices=("proxy", "test"), default="proxy")
    serve.add_argument("--port", type=int, default=0, help="proxy route only (default: a free port)")
    serve.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "local-kaggle")
    args = parser.parse_args(argv)
    if args.command == "build":
        for handle, path in course_archives(args.folder, args.images_per_class).items():
            print(f"{handle}: {path} ({path.stat().st_size:,} bytes)")
        return 0
    archives = course_archives(args.course) if args.course else {}
    for item in args.dataset:
        handle, _, path = item.partition("=")
        archives[handle] = Path(path)
    if not archives:
        parser.error("nothing to serve: give --course FOLDER and/or --dataset HANDLE=ZIP")
    with serving(archives, args.workdir, route=args.route, port=args.port) as kaggle:
        lines = ["Serving: " + ", ".join(archives),
                 "Set these in the shell that runs kagglehub (and KAGGLEHUB_CACHE to a scratch folder):",
                 *(f"  export {name}={value}" for name, value in kaggle.environment().items())]
        print("\n".join(lines), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
