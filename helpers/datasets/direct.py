"""The direct route: a dataset's public archive over plain HTTPS, for when Kaggle cannot serve it.

The catalogue lists, for each Kaggle dataset, the public archives that need neither ``kagglehub`` nor an
account (:class:`~helpers.datasets.catalog.DirectSource`: the publisher's own archive where there is one,
else Kaggle's zip). :func:`helpers.datasets.download` falls back to them when the Kaggle route fails, and
uses only them with ``COURSE_DATA_SOURCE=direct``. Each archive goes through the course's robust download
(:func:`~helpers.datasets.fetch.download_file`: resumed with HTTP ``Range``, retried, size-checked) and safe
extraction (:func:`~helpers.datasets.fetch.extract_archive`), into ``<dest>/<archive name without .zip>``;
the archive is deleted once unpacked. What happens is printed, one line per step, so the learner sees which
route was taken and why.

``COURSE_DOWNLOAD_MIRROR=<base URL>`` fetches the same archives, by file name, from a copy someone hosts (an
instructor's server, the tests' local one) instead of the publishers' addresses.
"""

from __future__ import annotations

import os
import re
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .catalog import DatasetInfo, DirectSource
from .fetch import DataUnavailableError, UnsafeArchiveError, download_file, extract_archive

#: Environment variable choosing the route: ``auto`` (Kaggle, then direct), ``kaggle`` or ``direct``.
_SOURCE_ENV = "COURSE_DATA_SOURCE"
#: Environment variable naming a base URL that serves the catalogue's archives by file name.
_MIRROR_ENV = "COURSE_DOWNLOAD_MIRROR"
_SOURCES = ("auto", "kaggle", "direct")
_ARCHIVE_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar")


@dataclass(frozen=True)
class _Candidate:
    """One address to try: a catalogue archive and the URL it is fetched from (the mirror's, when one is set)."""

    source: DirectSource
    url: str


def chosen_source(source: str | None = None) -> str:
    """The route to use: ``source`` if given, else ``$COURSE_DATA_SOURCE``, else ``"auto"``.

    Part of :func:`helpers.datasets.download`, which every chapter uses to get its data.

    Raises:
        ValueError: the value is not one of :data:`_SOURCES`.
    """
    raw = source if source is not None else os.environ.get(_SOURCE_ENV, "")
    value = raw.strip().lower() or "auto"
    if value not in _SOURCES:
        where = "source" if source is not None else _SOURCE_ENV
        raise ValueError(
            f"{where}={raw!r} is not a data source: use 'auto' (Kaggle, then the direct download), 'kaggle' "
            "(Kaggle only) or 'direct' (the direct download only)."
        )
    return value


def _candidates(dataset: DatasetInfo, mirror: str | None = None) -> list[_Candidate]:
    """The addresses to try for ``dataset``, in order, without repeats.

    With a mirror (``mirror``, else ``$COURSE_DOWNLOAD_MIRROR``) each archive is fetched from
    ``<mirror>/<archive_name>`` instead of its publisher's address.
    """
    mirror = (mirror if mirror is not None else os.environ.get(_MIRROR_ENV, "")).strip().rstrip("/")
    found: list[_Candidate] = []
    for source in dataset.direct:
        url = f"{mirror}/{source.archive_name}" if mirror else source.url
        if url not in (c.url for c in found):
            found.append(_Candidate(source, url))
    return found


def _unpacked_folder(dest: Path, source: DirectSource) -> Path:
    """Where ``source``'s archive is unpacked under ``dest``: its file name without the archive suffix."""
    name = source.archive_name
    for suffix in _ARCHIVE_SUFFIXES:
        if name.lower().endswith(suffix):
            return dest / name[: -len(suffix)]
    return dest / name


def _root(folder: Path, source: DirectSource) -> Path:
    """The archive's top folder inside ``folder`` when it has the expected one, else ``folder`` itself."""
    top = folder / source.root_hint if source.root_hint else folder
    return top if top.is_dir() else folder


def _filled(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


def earlier_download(dataset: DatasetInfo, dest: Path, mirror: str | None = None) -> Path | None:
    """The root of an archive of ``dataset`` unpacked under ``dest`` by an earlier call, or ``None``.

    Unpacking is atomic (:func:`~helpers.datasets.fetch.extract_archive`), so a folder that exists is complete.
    Part of :func:`helpers.datasets.download`, which every chapter uses to get its data.
    """
    for candidate in _candidates(dataset, mirror):
        folder = _unpacked_folder(Path(dest), candidate.source)
        if _filled(folder):
            return _root(folder, candidate.source)
    return None


def _size(source: DirectSource) -> str:
    return f", about {source.size_bytes / 1e6:,.0f} MB" if source.size_bytes else ""


def fetch_direct(
    dataset: DatasetInfo,
    dest: str | os.PathLike,
    *,
    mirror: str | None = None,
    retries: int = 3,
    timeout: float = 30.0,
    backoff: float = 1.0,
    progress: bool = True,
) -> Path:
    """Download and unpack the first of ``dataset``'s direct archives that works; return its root folder.

    Each address gets one quick attempt first: a host that cannot be reached at all (no answer, no byte) is
    left for the next address at once, while a server that answered (an HTTP error worth retrying, a transfer
    cut half-way) gets ``retries`` more attempts, resuming the partial file with a ``Range`` request. A
    partial file left by an interrupted call is resumed by the next call. An archive already unpacked under
    ``dest`` is returned without any request.
    Part of :func:`helpers.datasets.download`, which every chapter uses to get its data.

    Args:
        dataset: The catalogue entry.
        dest: The folder that receives the archive and the unpacked folder.
        mirror: Base URL serving the archives by file name (default ``$COURSE_DOWNLOAD_MIRROR``).
        retries, timeout, backoff, progress: As for :func:`~helpers.datasets.fetch.download_file`.

    Raises:
        DataUnavailableError: no address gave a usable archive; the message lists each address and its cause.
    """
    dest = Path(dest).expanduser()
    tried = _candidates(dataset, mirror)
    if not tried:
        raise DataUnavailableError.explained(
            f"the {dataset.title} dataset", "a direct download", "the catalogue lists no direct archive for it",
            f"use the Kaggle route (unset {_SOURCE_ENV}) or get it by hand (see datasets.md) and pass its folder "
            "as DATA_DIR.",
        )
    earlier = earlier_download(dataset, dest, mirror)
    if earlier is not None:
        return earlier
    failures: list[tuple[_Candidate, DataUnavailableError]] = []
    for candidate in tried:
        source = candidate.source
        print(f"Downloading the {dataset.title} from {source.publisher or 'its publisher'}: {candidate.url}"
              f"{_size(source)}")
        try:
            root = _fetch_one(dataset, candidate, dest, retries=retries, timeout=timeout, backoff=backoff,
                              progress=progress)
        except DataUnavailableError as err:
            print(f"  That failed: {_short(err.reason)}.")
            failures.append((candidate, err))
            continue
        print(f"The {dataset.title} is in {root} (direct download from {source.publisher or candidate.url}).")
        return root
    raise _direct_failed(dataset, failures)


def _fetch_one(dataset: DatasetInfo, candidate: _Candidate, dest: Path, *, retries: int, timeout: float,
               backoff: float, progress: bool) -> Path:
    """Download one archive (quick first attempt, then the retries), check it, unpack it, delete it."""
    archive = dest / candidate.source.archive_name
    part = archive.with_name(archive.name + ".part")  # download_file's partial file
    what = f"the {dataset.title} archive"
    settings = {"timeout": timeout, "backoff": backoff, "progress": progress, "what": what}
    try:
        download_file(candidate.url, archive, retries=0, **settings)
    except DataUnavailableError as err:
        if not err.transient or _unreachable(err, part):
            raise
        download_file(candidate.url, archive, retries=retries, **settings)
    _refuse_web_page(archive, candidate.url, what)
    folder = _unpacked_folder(dest, candidate.source)
    try:
        extract_archive(archive, folder)
    except UnsafeArchiveError as err:
        archive.unlink(missing_ok=True)
        raise DataUnavailableError.explained(
            what, candidate.url, f"the archive is unsafe ({str(err).rstrip('.')}); it was deleted",
            "get the data from another source (see datasets.md)") from None
    except DataUnavailableError as err:  # not an archive, or a damaged one: never keep it for the next call
        archive.unlink(missing_ok=True)
        raise DataUnavailableError.explained(what, candidate.url, f"{err.reason}; it was deleted", "run this again",
                                             transient=True) from None
    archive.unlink(missing_ok=True)  # unpacked: the archive would only take disk space
    return _root(folder, candidate.source)


def _unreachable(err: DataUnavailableError, part: Path) -> bool:
    """True when no byte came back because the host could not be reached (nothing to resume, no retry)."""
    import requests

    return not part.exists() and isinstance(err.cause, requests.ConnectionError | requests.Timeout)


def _looks_like_archive(path: Path) -> bool:
    try:
        return zipfile.is_zipfile(path) or tarfile.is_tarfile(path)
    except (OSError, EOFError, tarfile.TarError):
        return False


def _refuse_web_page(archive: Path, url: str, what: str) -> None:
    """Delete ``archive`` and raise when the server sent a web page (sign-in, consent, error) in its place."""
    if _looks_like_archive(archive):
        return
    with archive.open("rb") as f:
        head = f.read(1024).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<") or b"<html" in head:
        archive.unlink(missing_ok=True)
        raise DataUnavailableError.explained(
            what, url,
            "the server sent a web page (HTML) instead of the archive: a sign-in, consent or error page; it was "
            "deleted",
            f"open {url} in a browser: if it asks you to sign in or accept terms, do so, save the archive, unzip "
            "it and pass its folder as DATA_DIR",
        )


def _direct_failed(dataset: DatasetInfo, failures: list[tuple[_Candidate, DataUnavailableError]]) -> \
        DataUnavailableError:
    """One error for every address tried: each cause with its addresses, then what to do."""
    reasons = _grouped(failures)
    transient = all(err.transient for _, err in failures)
    if any(err.transient for _, err in failures):
        fix = ("Check the internet connection (on Kaggle: Settings > Internet on) and run this again: a partial "
               f"download is resumed. {_by_hand(dataset, reasons, 'Or download')}")
    else:
        fix = _by_hand(dataset, reasons, "Download")
    return DataUnavailableError(
        f"Could not get the {dataset.title} dataset by direct download: {reasons}.\nWhat to do: {fix}",
        dataset=f"the {dataset.title} dataset", source=", ".join(c.url for c, _ in failures), reason=reasons,
        cause=failures[-1][1].cause, transient=transient,
    )


def _grouped(failures: list[tuple[_Candidate, DataUnavailableError]]) -> str:
    """``cause (address, address); other cause (address)``: each cause once, with the addresses it hit."""
    by_reason: dict[str, list[str]] = {}
    for candidate, err in failures:
        by_reason.setdefault(_short(err.reason), []).append(candidate.url)
    return "; ".join(f"{reason} ({', '.join(urls)})" for reason, urls in by_reason.items())


def _short(reason: str) -> str:
    """A download's reason without its attempt count (the count says nothing to the learner here)."""
    return re.sub(r" \(gave up after \d+ attempts?\)$", "", reason)


def _by_hand(dataset: DatasetInfo, reasons: str, start: str) -> str:
    """How to get the data without the course's help: ``start`` (e.g. "Download") + the first address + ..."""
    page = (" If it opens a sign-in or consent page, follow it there (a script cannot)."
            if "web page" in reasons else "")
    return (f"{start} {dataset.direct[0].url} in a browser, unzip it and pass its folder as DATA_DIR "
            f"(datasets.md lists every source).{page}")


def why_falling_back(dataset: DatasetInfo, kaggle_error: DataUnavailableError) -> str:
    """The line printed when the Kaggle route failed and the direct one is tried.

    Part of :func:`helpers.datasets.download`, which every chapter uses to get its data.
    """
    count = len(_candidates(dataset))
    return (f"Kaggle could not serve the {dataset.title}: {kaggle_error.reason}.\nTrying its direct download "
            f"instead ({count} address{'es' if count > 1 else ''}; {_SOURCE_ENV}=kaggle turns this off).")


def both_failed(dataset: DatasetInfo, kaggle_error: DataUnavailableError,
                direct_error: DataUnavailableError) -> DataUnavailableError:
    """One error naming both routes: Kaggle's cause, each direct address's cause, and what to do for each.

    The message starts with the Kaggle route's own message, so it reads the same as before for the route
    tried first. ``transient`` is true only when both routes failed for reasons that may pass by themselves.
    Part of :func:`helpers.datasets.download`, which every chapter uses to get its data.
    """
    kaggle_head, _, kaggle_fix = str(kaggle_error).partition("\nWhat to do: ")
    message = (f"{kaggle_head}\nThe direct download failed too: {direct_error.reason}.\nWhat to do: {kaggle_fix}\n"
               f"Without Kaggle: {_by_hand(dataset, direct_error.reason, 'download')}")
    return DataUnavailableError(
        message, dataset=kaggle_error.dataset, source=f"{kaggle_error.source}; {direct_error.source}",
        reason=f"Kaggle: {kaggle_error.reason}; direct download: {direct_error.reason}",
        cause=kaggle_error.cause or direct_error.cause,
        transient=kaggle_error.transient and direct_error.transient,
    )
