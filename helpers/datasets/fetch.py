"""Getting data onto the disk without leaving a mess: downloads, archives and Kaggle.

Everything here is written for the learner who runs a notebook on a flaky connection:

- :func:`download_file` streams to a ``.part`` file, resumes it with an HTTP ``Range`` request, retries
  what is worth retrying (connection errors, stalls, 5xx, truncated bodies), verifies size and
  checksum, and only then renames the ``.part`` file into place. A file at ``dest`` is therefore
  always complete.
- :func:`extract_archive` refuses archives that would write outside their folder and extracts into a
  temporary folder that is renamed into place at the end, so an interruption never leaves half a
  dataset behind.
- :func:`kaggle_download` and :func:`find_kaggle_mount` are the two Kaggle routes: an attached
  dataset (no download at all) and ``kagglehub``.

Whatever goes wrong, the learner sees one exception, :class:`DataUnavailableError`, whose message
says what was being fetched, why it failed and what to do about it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import stat
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from helpers import __version__

from .credentials import ADVICE, KaggleCredentialsError, ensure_kaggle_credentials, redact

_logger = logging.getLogger(__name__)

#: Sent with every request: servers (iNaturalist in particular) ask clients to say who they are.
USER_AGENT = (
    f"cnn-course-helpers/{__version__} "
    "(course: image classification with convolutional networks in TensorFlow/Keras)"
)
#: HTTP statuses that will not change by asking again.
_FATAL_STATUSES = frozenset({400, 401, 403, 404, 410, 451})
_CHUNK = 1 << 16


class DataUnavailableError(RuntimeError):
    """The data could not be obtained; the message says what, why and what to do.

    This is the one exception a learner sees when a dataset cannot be downloaded, found or
    unpacked. Its message is meant to be read, not debugged: the technical cause is kept on
    :attr:`cause` rather than chained into a long traceback. Every chapter's data can raise it; chapters 00
    and 01 catch it to carry on without the data.

    Attributes:
        dataset: What was being fetched (a dataset name or a file name).
        source: The URL or Kaggle handle it was fetched from.
        reason: Why it failed, in a few words.
        cause: The underlying exception, if any.
        transient: True when trying again later may work (network trouble), False when it will not
            (HTTP 404, checksum mismatch, unknown dataset).
    """

    def __init__(
        self,
        message: str,
        *,
        dataset: str = "",
        source: str = "",
        reason: str = "",
        cause: BaseException | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(message)
        self.dataset = dataset
        self.source = source
        self.reason = reason
        self.cause = cause
        self.transient = transient

    @classmethod
    def explained(cls, what: str, source: str, reason: str, fix: str, cause: BaseException | None = None, *,
                  transient: bool = False) -> DataUnavailableError:
        """The error with the course's standard message: what, from where, why, and what to do."""
        message = f"Could not get {what} from {source}: {reason}.\nWhat to do: {fix}"
        return cls(message, dataset=what, source=source, reason=reason, cause=cause, transient=transient)


class UnsafeArchiveError(ValueError):
    """An archive entry would be written outside the destination folder (or is a link or device).

    Raised by :func:`extract_archive`, part of :func:`helpers.datasets.download`, which every chapter uses to
    get its data.
    """

    def __init__(self, archive: Path, entry: str, why: str) -> None:
        super().__init__(f"Refusing to extract {archive.name}: entry {entry!r} {why}.")
        self.archive = archive
        self.entry = entry


# --------------------------------------------------------------------------------------------------
# download_file
# --------------------------------------------------------------------------------------------------


class _Retry(Exception):
    """An attempt failed in a way that may succeed if tried again."""


class _GiveUp(Exception):
    """An attempt failed in a way that asking again will not fix."""


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_matches(path: Path, expected_size: int | None, sha256: str | None) -> bool:
    """True when ``path`` is a file of the expected size and checksum (each checked only if given)."""
    if not path.is_file():
        return False
    if expected_size is not None and path.stat().st_size != expected_size:
        return False
    return sha256 is None or _sha256_of(path) == sha256.lower()


def _describe(err: BaseException, timeout: float) -> str:
    """A short, credential-free description of a network error."""
    import requests

    if isinstance(err, requests.Timeout):
        return f"the server did not answer within {timeout:g} s ({type(err).__name__})"
    if isinstance(err, requests.exceptions.ChunkedEncodingError):
        return "the connection broke in the middle of the transfer"
    if isinstance(err, requests.ConnectionError):
        if "timed out" in str(err).lower():
            return f"the server stopped sending data for {timeout:g} s"
        return "could not connect (no network connection, or the server is down)"
    return type(err).__name__


def _content_range_start(value: str | None) -> int | None:
    """The first byte of a ``Content-Range: bytes START-END/TOTAL`` header, or ``None``."""
    match = re.match(r"\s*bytes\s+(\d+)-", value or "")
    return int(match.group(1)) if match else None


def _one_attempt(
    url: str,
    part: Path,
    *,
    session: Any,
    timeout: float,
    expected_size: int | None,
    progress: bool,
    label: str,
) -> None:
    """Fetch ``url`` into ``part``, resuming from what is already there.

    Returns when ``part`` holds the whole body as announced by the server. Raises :class:`_Retry`
    for failures worth another attempt (the ``.part`` file is kept so the next attempt can resume)
    and :class:`_GiveUp` for the others.
    """
    import requests

    from ..progress import bar as progress_bar

    offset = part.stat().st_size if part.exists() else 0
    if expected_size is not None and offset == expected_size:
        return  # complete already (interrupted before the rename): only the checks remain
    if expected_size is not None and offset > expected_size:
        part.unlink()  # cannot be a prefix of the right file: start over
        offset = 0
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = session.get(url, stream=True, timeout=timeout, headers=headers)
    except (requests.ConnectionError, requests.Timeout) as err:
        raise _Retry(_describe(err, timeout)) from err
    except requests.RequestException as err:  # invalid URL, too many redirects, ...
        raise _GiveUp(type(err).__name__) from err
    with response:
        status = response.status_code
        if status == 416 and offset:  # our .part is longer than the file: start over
            part.unlink()
            raise _Retry("the partial download did not match the file on the server")
        if status in _FATAL_STATUSES or (400 <= status < 500 and status not in (408, 429)):
            raise _GiveUp(f"HTTP {status} {response.reason or ''}".strip())
        if status >= 400:
            raise _Retry(f"HTTP {status} {response.reason or ''}".strip())
        if status == 206 and offset and _content_range_start(response.headers.get("Content-Range")) == offset:
            mode = "ab"
        elif status == 206 and not offset:
            raise _GiveUp("the server sent part of the file without being asked to")
        elif status == 206:  # a range we did not ask for: throw it away and start over
            part.unlink()
            raise _Retry("the server resumed at the wrong position")
        else:  # 200: the server ignored our Range header, or there was nothing to resume
            mode, offset = "wb", 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else expected_size
        if expected_size is not None and total is not None and total != expected_size:
            raise _GiveUp(f"the server offers {total} bytes but {expected_size} were expected")
        bar = progress_bar(total, initial=offset, unit="B", desc=label, show=progress)
        try:
            with part.open(mode) as f, bar:
                for chunk in response.iter_content(_CHUNK):
                    f.write(chunk)
                    bar.update(len(chunk))
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as err:
            raise _Retry(_describe(err, timeout)) from err
    size = part.stat().st_size
    if total is not None and size < total:
        raise _Retry(f"the transfer stopped after {size} of {total} bytes")
    if total is not None and size > total:
        part.unlink()
        raise _Retry(f"received {size} bytes but {total} were announced")


def download_file(
    url: str,
    dest: Path,
    *,
    expected_size: int | None = None,
    sha256: str | None = None,
    retries: int = 3,
    timeout: float = 30,
    progress: bool = True,
    session: Any = None,
    backoff: float = 1.0,
    what: str = "",
) -> Path:
    """Download ``url`` to ``dest`` robustly and return ``dest``.

    The body is streamed to ``dest`` + ``.part``. An existing ``.part`` file is resumed with an HTTP
    ``Range`` request (if the server answers ``200`` instead of ``206`` the download starts over).
    Connection errors, timeouts (a stalled server), HTTP 5xx/429 and truncated bodies are retried
    ``retries`` times with a short exponential backoff; 403, 404 and other client errors are not.
    The size (``Content-Length`` and ``expected_size``) and ``sha256`` are checked before the
    ``.part`` file is renamed to ``dest`` in one atomic step: a file at ``dest`` is always complete.
    Part of :func:`helpers.datasets.download`, which every chapter uses to get its data (the direct route,
    and the Odonata photos).

    Args:
        url: What to download.
        dest: Where to put it. Its folder is created if needed.
        expected_size: Size in bytes, if known.
        sha256: Hex SHA-256 of the file, if known.
        retries: How many times to try again after a failure worth retrying.
        timeout: Seconds to wait for the connection and for each piece of data.
        progress: Show a progress bar (in Jupyter and on terminals).
        session: A ``requests.Session`` (or anything with its ``get``); one is made if ``None``.
        backoff: Seconds before the first retry; doubled each time, at most 30 s.
        what: Name used in messages (for example the dataset's name); defaults to the file name.

    Returns:
        ``dest``. If it already exists (and matches ``expected_size``/``sha256`` when given) no
        request is made at all.

    Raises:
        DataUnavailableError: When the file cannot be obtained; the message gives the cause.
    """
    dest = Path(dest)
    what = what or dest.name
    if dest.is_file():
        if _file_matches(dest, expected_size, sha256):
            return dest
        _logger.warning("%s exists but does not match the expected size/checksum: downloading again.", dest)
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    with contextlib.ExitStack() as stack:
        if session is None:
            import requests

            session = stack.enter_context(requests.Session())
        by_hand = (
            f"download {url} by hand, save it as {dest} and run this again (or pass its folder as DATA_DIR)"
        )
        reason, last_error = "unknown error", None
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(min(backoff * 2 ** (attempt - 1), 30.0))
            try:
                _one_attempt(
                    url,
                    part,
                    session=session,
                    timeout=timeout,
                    expected_size=expected_size,
                    progress=progress,
                    label=dest.name,
                )
            except _Retry as err:
                reason, last_error = str(err), err.__cause__
                _logger.info(
                    "Download of %s failed (attempt %d of %d): %s", url, attempt + 1, retries + 1, reason
                )
                continue
            except _GiveUp as err:
                _discard(part)
                fix = by_hand
                if "404" in str(err) or "410" in str(err):
                    fix = (
                        f"the file has moved or been removed; look for it on the dataset's page, or {by_hand}"
                    )
                raise DataUnavailableError.explained(what, url, str(err), fix, err.__cause__) from None
            except OSError as err:  # writing failed: disk full, read-only folder, ...
                _discard(part)
                raise DataUnavailableError.explained(
                    what,
                    url,
                    f"could not write {part} ({err.strerror or err})",
                    "free some disk space or choose another folder, then run this again",
                    err,
                ) from None
            if sha256 is not None and _sha256_of(part) != sha256.lower():
                _discard(part)
                raise DataUnavailableError.explained(
                    what,
                    url,
                    "checksum mismatch (the downloaded file is not the one expected: corrupted or changed)",
                    f"run this again; if it keeps failing, {by_hand}",
                ) from None
            os.replace(part, dest)
            return dest
        kept = "; the partial download is kept and will be resumed" if part.exists() else ""
        raise DataUnavailableError.explained(
            what,
            url,
            f"{reason} (gave up after {retries + 1} attempts)",
            f"check the internet connection (on Kaggle: Settings > Internet on) and run this again{kept}. "
            f"Or {by_hand}",
            last_error,
            transient=True,
        ) from None


def _discard(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


# --------------------------------------------------------------------------------------------------
# extract_archive
# --------------------------------------------------------------------------------------------------


def _unsafe_name_reason(name: str) -> str | None:
    """Why the archive member name ``name`` could escape the destination, or ``None`` if it cannot."""
    if not name:
        return "has an empty name"
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or PurePosixPath(normalised).is_absolute():
        return "is an absolute path"
    windows = PureWindowsPath(name)
    if windows.drive or windows.root or re.match(r"^[A-Za-z]:", normalised):
        return "has a drive letter or an absolute Windows path"
    if ".." in PurePosixPath(normalised).parts:
        return "contains a '..' component"
    return None


def _stays_inside(relative: str) -> bool:
    """True when the relative path ``relative``, resolved lexically (``..`` included), stays in its root."""
    depth = 0
    for piece in PurePosixPath(relative.replace("\\", "/")).parts:
        if piece == "..":
            depth -= 1
            if depth < 0:
                return False
        elif piece not in ("", "."):
            depth += 1
    return True


def _check_zip(archive: Path, infos: Iterable[zipfile.ZipInfo]) -> None:
    """Raise :class:`UnsafeArchiveError` for the first zip entry that is unsafe."""
    for info in infos:
        why = _unsafe_name_reason(info.filename)
        if why:
            raise UnsafeArchiveError(archive, info.filename, why)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UnsafeArchiveError(archive, info.filename, "is a symbolic link")


def _check_tar(archive: Path, members: Iterable[tarfile.TarInfo]) -> None:
    """Raise :class:`UnsafeArchiveError` for the first tar entry that is unsafe."""
    for member in members:
        why = _unsafe_name_reason(member.name)
        if why:
            raise UnsafeArchiveError(archive, member.name, why)
        if member.issym() or member.islnk():
            kind = "symbolic" if member.issym() else "hard"
            target = member.linkname.replace("\\", "/")
            # A symlink's target is relative to the link's folder, a hard link's to the archive root.
            base = str(PurePosixPath(member.name.replace("\\", "/")).parent) if member.issym() else "."
            absolute = _unsafe_name_reason(target) not in (None, "contains a '..' component")
            if absolute or not _stays_inside(f"{base}/{target}"):
                why = f"is a {kind} link to {member.linkname!r}, outside the folder"
                raise UnsafeArchiveError(archive, member.name, why)
        elif not (member.isfile() or member.isdir()):
            raise UnsafeArchiveError(archive, member.name, "is a device or special file")


def _extract_zip(archive: Path, into: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        _check_zip(archive, infos)
        for info in infos:
            zf.extract(info, into)


def _extract_tar(archive: Path, into: Path) -> None:
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        _check_tar(archive, members)
        filter_error = getattr(tarfile, "FilterError", ())
        try:
            if hasattr(tarfile, "data_filter"):
                tf.extractall(into, members=members, filter="data")
            else:  # pragma: no cover - Python < 3.11.4; our own checks above still apply
                tf.extractall(into, members=members)
        except filter_error as err:  # a second line of defence behind _check_tar
            raise UnsafeArchiveError(archive, err.tarinfo.name, str(err)) from err


def _extractor(archive: Path):
    """The function that extracts ``archive`` (zip or tar), or ``None`` if it is neither or unreadable."""
    try:
        if zipfile.is_zipfile(archive):
            return _extract_zip
        if tarfile.is_tarfile(archive):
            return _extract_tar
    except (OSError, EOFError, zlib.error, tarfile.TarError):  # a damaged compressed stream
        pass
    return None


def extract_archive(archive: Path, dest: Path) -> Path:
    """Extract a zip or tar(.gz/.bz2/.xz) ``archive`` into the folder ``dest`` and return ``dest``.

    Safe: entries with absolute paths, ``..`` components, drive letters, zip symlinks, tar links
    pointing outside the folder and device files are refused with :class:`UnsafeArchiveError`
    before anything is written. Atomic: everything is extracted into a temporary folder beside
    ``dest`` (same file system) that is renamed to ``dest`` at the end, so an interruption leaves
    either nothing or the whole archive. Idempotent: if ``dest`` exists and is not empty it is
    returned untouched. Part of :func:`helpers.datasets.download` (its direct route), which every chapter
    uses to get its data.

    Raises:
        UnsafeArchiveError: An entry could write outside ``dest``.
        DataUnavailableError: ``archive`` is missing or is not a readable zip/tar archive.
    """
    archive, dest = Path(archive), Path(dest)
    if dest.is_dir() and any(dest.iterdir()):
        return dest
    if dest.exists() and not dest.is_dir():
        raise FileExistsError(f"Cannot extract {archive.name} into {dest}: a file of that name exists.")
    if not archive.is_file():
        raise DataUnavailableError.explained(archive.name, str(archive), "the archive does not exist",
                                             "download it first")
    extract = _extractor(archive)
    if extract is None:
        raise DataUnavailableError.explained(
            archive.name,
            str(archive),
            "it is not a zip or tar archive, or it is damaged (perhaps an error page was saved instead)",
            f"delete {archive} and download it again",
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.extracting-", dir=dest.parent))
    try:
        try:
            extract(archive, tmp)
        except (zipfile.BadZipFile, tarfile.ReadError, EOFError, zlib.error) as err:
            raise DataUnavailableError.explained(
                archive.name,
                str(archive),
                f"the archive is damaged ({type(err).__name__})",
                f"delete {archive} and download it again",
                err,
            ) from None
        if dest.is_dir():
            try:
                dest.rmdir()  # empty (checked above); os.replace cannot replace a folder on Windows
            except OSError:  # someone else filled it meanwhile: theirs wins
                if any(dest.iterdir()):
                    shutil.rmtree(tmp, ignore_errors=True)
                    return dest
                raise
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


# --------------------------------------------------------------------------------------------------
# Kaggle
# --------------------------------------------------------------------------------------------------

def _kaggle_url(handle: str) -> str:
    """The web page of a Kaggle dataset handle ``owner/slug`` (a ``/versions/N`` suffix is dropped)."""
    owner_slug = "/".join(handle.strip("/").split("/")[:2])
    return f"https://www.kaggle.com/datasets/{owner_slug}"


def _kaggle_reason(err: BaseException, handle: str = "") -> tuple[str, str, bool]:
    """Classify a kagglehub failure: ``(reason, what to do, transient)``.

    ``reason`` names the real cause in words (the HTTP status, a broken transfer, a damaged archive, ...)
    followed by the exception's type and first line, with secrets and signed-URL queries removed.
    ``transient`` is True when running the same call again later may work. A 404 for a pinned version
    says the version is missing, never that the handle is wrong; only an unversioned handle that Kaggle
    does not know is said to be removed, renamed or mistyped.
    """
    import requests

    name = type(err).__name__
    status = getattr(getattr(err, "response", None), "status_code", None) or getattr(err, "error_code", None)
    text = redact(str(err)).strip().splitlines()[0][:200] if str(err).strip() else ""
    text = re.sub(r"(https?://[^\s?'\"]+)\?[^\s'\")]*", r"\1?...", text)  # signed storage URLs carry a signature
    detail = f"{name}: {text}" if text else name
    pieces = handle.strip("/").split("/")
    owner_slug, version = "/".join(pieces[:2]), pieces[3] if len(pieces) == 4 else None
    page = _kaggle_url(handle) if handle else "the dataset's page"
    again = "run this again (an incomplete download is never used: kagglehub fetches it again or resumes it)"
    if isinstance(err, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        short = re.search(r"IncompleteRead\((\d+) bytes read, (\d+) more expected\)", text)
        if short:
            detail = f"{name}: {int(short.group(1)):,} bytes received, {int(short.group(2)):,} more expected"
        return f"the connection broke in the middle of the download ({detail})", again, True
    if isinstance(err, requests.Timeout) or (isinstance(err, requests.ConnectionError) and "timed out" in text):
        return (f"Kaggle did not answer in time ({name})",
                "check the internet connection (on Kaggle: Settings > Internet on) and run this again", True)
    if isinstance(err, requests.ConnectionError | ConnectionError | TimeoutError):
        host = re.search(r"host='([^']+)'", text)
        where = f" while contacting {host.group(1)}" if host else ""
        return (f"no network connection ({name}{where})",
                "check the internet connection (on Kaggle: Settings > Internet on) and run this again", True)
    if name == "DataCorruptionError":
        return ("the downloaded archive was damaged on the way (its MD5 checksum did not match; kagglehub deleted it)",
                again, True)
    if isinstance(err, zipfile.BadZipFile | tarfile.TarError | EOFError | zlib.error) or (
            isinstance(err, ValueError) and "archive" in text.lower()):
        return f"the downloaded archive is incomplete or damaged ({detail})", again, True
    if isinstance(err, OSError) and err.errno in (28, 122):  # ENOSPC, EDQUOT
        return (f"the disk is full ({detail})",
                "free some disk space (kagglehub unpacks datasets under $KAGGLEHUB_CACHE, by default "
                "~/.cache/kagglehub), or set KAGGLEHUB_CACHE to a folder on a bigger disk, then run this again", False)
    if status == 401:
        return (f"Kaggle refused access: it did not accept the credentials (HTTP 401, {detail})",
                "the Kaggle API token or key the course found (named on the line printed above) is wrong, expired "
                "or revoked: create a new API token on kaggle.com > Settings > API and put it in place of the old "
                f"one, or remove it (public datasets download without credentials).\n{ADVICE}", False)
    if status == 403 or name in ("UnauthenticatedError", "CredentialError"):
        what = f"HTTP 403, {detail}" if status == 403 else detail
        return (f"Kaggle refused access ({what})",
                f"sign in on kaggle.com, open {page} and accept the dataset's terms if it asks, then set up an API "
                f"token of that account.\n{ADVICE}", False)
    if status == 404 or name == "NotFoundError":
        if version is not None:
            return (f"Kaggle has no version {version} of {owner_slug} (HTTP 404, {detail})",
                    f"open {page} to see whether the dataset and its version {version} are still published (the "
                    f"course pins version {version}; if it was withdrawn, please tell the course's maintainers)",
                    False)
        return (f"Kaggle has no dataset {owner_slug} (HTTP 404, {detail})",
                f"open {page}: if the page is missing, the dataset was removed or renamed; if you typed the handle "
                "yourself, check it against the page's address (owner/slug)", False)
    if status == 429:
        return (f"Kaggle is limiting the number of downloads (HTTP 429, {detail})",
                "wait a few minutes and run this again; an API token (see datasets.md) lifts the anonymous limit", True)
    if isinstance(status, int) and status >= 500:
        return f"Kaggle's server failed (HTTP {status}, {detail})", "run this again later", True
    return detail, "run this again later", False


def _cached_kaggle_version(handle: str) -> str | None:
    """The newest version of the unversioned ``handle`` that kagglehub has completely downloaded, as a handle.

    kagglehub 1.0.2 asks Kaggle for the current version of a handle without ``/versions/N`` on every call,
    before it looks in its cache, so without a network a dataset already on disk cannot be reached by that
    handle; the versioned handle returned here is served from the cache without any request. ``None`` for
    a versioned handle or when nothing complete is cached (kagglehub marks a download complete with
    ``<cache>/datasets/<owner>/<slug>/<version>.complete``).
    """
    pieces = handle.strip("/").split("/")
    if len(pieces) != 2:
        return None
    try:
        from kagglehub.config import get_cache_folder
    except ImportError:
        return None
    folder = Path(get_cache_folder()) / "datasets" / pieces[0] / pieces[1]
    versions = [int(p.stem) for p in folder.glob("*.complete")
                if p.stem.isdigit() and (folder / "versions" / p.stem).is_dir()]
    return f"{pieces[0]}/{pieces[1]}/versions/{max(versions)}" if versions else None


def kaggle_download(handle: str, *, path: str | None = None, dataset: str = "") -> Path:
    """Download a Kaggle dataset with ``kagglehub`` and return its folder, or its sub-folder ``path``.

    The whole dataset (one version) is fetched as one archive, which ``kagglehub`` caches: a second call
    downloads nothing. ``path`` is a folder inside the dataset (Fruits-360's ``fruits-360_100x100``) and
    is never passed on as kagglehub's ``path=``: kagglehub 1.0.2 sends that as one *file* name, and
    Kaggle answers 404 for a folder (it serves one file or the whole archive); fetching a folder file by
    file would be one request per image. When the dataset has no ``path`` folder (another release's
    layout), its root is returned and :func:`helpers.datasets.load` finds the splits there. Without a
    network, a dataset kagglehub downloaded completely before is used from its cache.

    On Kaggle an attached dataset needs no download at all: try :func:`find_kaggle_mount` first.

    Chapter 09 calls it for a learner's own Kaggle dataset; :func:`helpers.datasets.download` (every chapter)
    for the course's.

    Returns:
        The local folder.

    Raises:
        DataUnavailableError: For any failure (no network, authentication, unknown handle or version, a
            broken or damaged download); the message names the dataset, the handle and its Kaggle page,
            the cause and what to do, and never any credentials.
    """
    url = _kaggle_url(handle)
    what = f"the {dataset} dataset" if dataset else f"Kaggle dataset {handle}"
    source = f"Kaggle ({handle}, {url})"
    general = (
        f'on Kaggle, attach it to the notebook with "+ Add Input" and search for {"/".join(handle.split("/")[:2])}; '
        f"elsewhere, download the zip by hand from {url}, unzip it and pass its folder as DATA_DIR"
    )
    try:
        import kagglehub
    except ImportError as err:
        reason = "the kagglehub package is not installed"
        raise DataUnavailableError.explained(what, source, reason, f"pip install kagglehub; or {general}.",
                                             err) from None
    try:
        print(ensure_kaggle_credentials().splitlines()[0])  # where the credentials come from; never the secret
    except KaggleCredentialsError as err:
        raise DataUnavailableError.explained(what, source, "the Kaggle credentials cannot be used",
                                             f"{err} Or {general}.") from None
    try:
        result = Path(kagglehub.dataset_download(handle))
    except KeyboardInterrupt:
        raise
    except Exception as err:  # every failure becomes one readable error
        reason, fix, transient = _kaggle_reason(err, handle)
        cached = _cached_kaggle_version(handle) if reason.startswith(("no network", "Kaggle did not answer")) else None
        try:  # a versioned handle is served from kagglehub's cache without any request
            earlier = Path(kagglehub.dataset_download(cached)) if cached else None
        except Exception:  # the cache cannot serve it after all: the original failure is the one to report
            earlier = None
        if earlier is None:
            fix = f"{fix}\nOr {general}." if "\n" in fix else f"{fix}; or {general}."
            raise DataUnavailableError.explained(what, source, reason, fix, err, transient=transient) from None
        print(f"Kaggle cannot be reached: {reason}. Using {cached}, downloaded earlier, from {earlier}.")
        result = earlier
    if path:
        if (result / path).is_dir():
            return result / path
        _logger.warning("%s has no folder %s: using the whole dataset at %s.", handle, path, result)
    return result


def find_kaggle_mount(slugs: list[str], base: Path = Path("/kaggle/input")) -> Path | None:
    """The folder of the first of ``slugs`` attached to this Kaggle notebook, or ``None``.

    Kaggle mounts an attached dataset at ``/kaggle/input/datasets/<owner>/<slug>`` (notebooks since
    2025) or ``/kaggle/input/<slug>`` (older notebooks; some also ``/kaggle/input/<owner>/<slug>``),
    with no version in the path: whichever version was attached is there, and
    :func:`helpers.datasets.load` accepts every release's layout. Each entry of ``slugs`` is a slug or
    a handle ``owner/slug[/versions/N]``; the places that name the owner are tried first, so that
    another owner's dataset with the same slug (``/kaggle/input/fruits``) is not taken for ours.

    ``base`` is ``$COURSE_KAGGLE_INPUT`` when that variable is set and ``base`` is left at its default
    (for rehearsals on a fake ``/kaggle/input``, see ``tests/test_kaggle_rehearsal.py``).

    Chapter 09 calls it for a learner's own Kaggle dataset; :func:`helpers.datasets.download` (every chapter)
    for the course's.
    """
    if Path(base) == Path("/kaggle/input") and os.environ.get("COURSE_KAGGLE_INPUT"):
        base = Path(os.environ["COURSE_KAGGLE_INPUT"]).expanduser()
    base = Path(base)
    for entry in slugs:
        pieces = entry.strip("/").split("/")
        if len(pieces) >= 2:
            owner, slug = pieces[0], pieces[1]
            candidates = [base / "datasets" / owner / slug, base / owner / slug, base / slug]
        else:
            candidates = [base / pieces[0], *sorted((base / "datasets").glob(f"*/{pieces[0]}"))]
        for candidate in candidates:
            if candidate.is_dir():
                return candidate
    return None
