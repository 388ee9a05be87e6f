"""Build the dragonflies-vs-damselflies dataset from iNaturalist open data.

The source article (chapter 04) does not say where its 8,462 damselfly and 9,197 dragonfly photos came
from; its figure 2 credits the FGVC6 (CVPR 2019) competitions page, home of the iNaturalist 2019
competition, whose archive (74 GB) may not be redistributed. The course builds a set of its own, legally,
instead: it asks the public iNaturalist API (v1) for research-grade observations of the suborders
Anisoptera (dragonflies) and Zygoptera (damselflies) that have a Creative Commons photo, downloads one
photo per observation, and writes::

    dest/
        train/{damselflies,dragonflies}/<observation_id>_<photo_id>.jpg
        validation/...
        test/...
        attribution.csv     who took each photo (observer id and login), when, under which licence
        dataset.json        written last: its presence means the build is complete

**Which observations.** The oldest observations by id come from a handful of early observers in one or two
years, and one person's photos of one pond look alike. So the sample is spread out
(:func:`_sample_observations`): the years :data:`_YEARS` are cut into windows (a quarter or a month of one
year, by date observed), each window gets an even share of the photos (the share of a window that runs
short goes to the others), and no observer gives more than ``max_per_observer`` photos per class.

**Which split.** Photos are split by observer (:func:`_assign_splits`): all photos of one observer, of both
classes, land in the same split, so the test set holds people (and their ponds, cameras and habits) the
model never saw, while each class still gets close to the requested fractions. An observer too big to
place without upsetting the fractions is split by observation instead, with a :class:`DataWarning` that
names them; the manifest lists them too.

The build is deterministic (the same API answers and ``seed`` give the same plan), resumable (photos
already on disk are kept; the plan is saved in ``.plan.json`` so a resumed build does not ask the API
again) and polite (a ``User-Agent`` naming the course and a pause between API requests, as iNaturalist
asks). A folder planned by the first version of this builder (oldest observations, random split) is
re-planned, never mixed with a new plan: the photos it already downloaded are moved to their new split
when the new plan keeps them, deleted otherwise.

The taxon ids are looked up by name through the API (``/v1/taxa``) rather than hard-coded: a wrong
id would silently mix the two classes. Every observation's ``ancestor_ids`` is checked against the
id as well.

How many photos are asked for depends on the course profile (:data:`PROFILE_BUILDS`, :func:`get`):
``quick`` takes 1,000 per class; ``full`` takes the article's 8,462 damselflies and 9,197 dragonflies and
splits them in the article's proportions (25 % test, 5 % of the rest for validation).

The API parameters used, as documented in iNaturalist's API v1 reference (``/v1/observations``):
``taxon_id`` (the taxon and its descendants), ``quality_grade=research``, ``photos=true``,
``photo_license`` (at least one photo under one of these licences), ``year`` and ``month`` (date
observed; ``month`` takes a comma-separated list), ``order_by=id&order=asc``, ``per_page`` (at most
200) and ``id_above``: the API refuses ``page`` x ``per_page`` beyond 10,000 results and asks large
reads to slide a window with ``id_above`` instead of ``page``.

The article's own data handling, which chapter 04 reproduces with ``RECIPE = "article"``, is here too:
:func:`mirror_split` adds a mirrored copy of every photo and splits the doubled set without keeping a photo
and its mirror together (as the article's counts show it did), and :func:`draw_chunks` draws its rounds of
training images.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import math
import os
import random
import re
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..articles import get as _article
from ..progress import track
from .fetch import USER_AGENT, DataUnavailableError, download_file
from .files import DataWarning, image_problem

_logger = logging.getLogger(__name__)

#: Base URL of the iNaturalist API v1 (``/observations`` and ``/taxa`` are appended).
_INAT_API = "https://api.inaturalist.org/v1"
#: Class folder -> scientific name of the iNaturalist taxon it holds.
_TAXA: dict[str, str] = {"damselflies": "Zygoptera", "dragonflies": "Anisoptera"}
_CLASS_NAMES: tuple[str, ...] = tuple(sorted(_TAXA))
_SPLITS: tuple[str, ...] = ("train", "validation", "test")
#: Photo licences the course accepts (all allow use in a course with attribution).
_LICENSES: tuple[str, ...] = ("cc0", "cc-by", "cc-by-nc", "cc-by-sa", "cc-by-nc-sa")
#: First and last year (date observed) the sample is spread over. Fixed, not "until today", so that a
#: build made next year picks the same observations (few are added to years long past).
_YEARS: tuple[int, int] = (2013, 2024)
#: Version of the plan (``.plan.json``). Version 1, the first builder, took the oldest observations and
#: split them at random; a folder it planned is re-planned (see :func:`build_odonata`).
_PLAN_VERSION = 2
#: How far (in photos) a split may overshoot its target in one class before an observer counts as too
#: big to keep in one split: 2 % of the target, rounded up (one photo for a small target, none for an empty one).
_SPLIT_SLACK = 0.02
_ATTRIBUTION_COLUMNS = (
    "split",
    "label",
    "file",
    "observation_id",
    "photo_id",
    "taxon_name",
    "user_id",
    "user_login",
    "observed_on",
    "license_code",
    "attribution",
    "photo_url",
    "observation_url",
)
_MANIFEST = "dataset.json"
_PLAN = ".plan.json"
_FIX = (
    "check the internet connection (on Kaggle: Settings > Internet on) and run this again: what is "
    "already downloaded is kept. Or, if you have Odonata photos (e.g. from the iNaturalist 2019 "
    "competition) arranged as {train,validation,test}/{damselflies,dragonflies}, pass that folder as DATA_DIR"
)


# --------------------------------------------------------------------------------------------------
# The API
# --------------------------------------------------------------------------------------------------


class _Throttle:
    """Keeps at least ``delay`` seconds between calls to :meth:`wait` (iNaturalist asks ~1 request/s)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._last = float("-inf")

    def wait(self) -> None:
        pause = self._last + self.delay - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        self._last = time.monotonic()


def _session(session: Any) -> Any:
    """The given session, or a new ``requests.Session`` that names the course in its User-Agent."""
    if session is not None:
        return session
    import requests

    new = requests.Session()
    new.headers["User-Agent"] = USER_AGENT
    return new


def _get_json(
    session: Any,
    url: str,
    params: dict[str, Any],
    *,
    throttle: _Throttle,
    what: str,
    retries: int = 3,
    timeout: float = 30,
) -> dict[str, Any]:
    """GET ``url`` and decode its JSON, retrying connection errors, 429 and 5xx with a backoff.

    Raises:
        DataUnavailableError: After the last attempt, or at once for other HTTP errors.
    """
    import requests

    reason, transient = "unknown error", True
    for attempt in range(retries + 1):
        throttle.wait()
        try:
            response = session.get(url, params=params, timeout=timeout, headers={"User-Agent": USER_AGENT})
        except (requests.ConnectionError, requests.Timeout) as err:
            reason = f"could not reach the iNaturalist API ({type(err).__name__})"
        else:
            with response:
                if response.status_code == 200:
                    try:
                        return response.json()
                    except ValueError:
                        reason = "the iNaturalist API answered with something that is not JSON"
                elif response.status_code == 429 or response.status_code >= 500:
                    reason = f"the iNaturalist API answered HTTP {response.status_code}"
                    retry_after = response.headers.get("Retry-After", "")
                    if retry_after.isdigit():
                        time.sleep(min(int(retry_after), 60))
                else:  # 4xx: asking again will not help
                    reason, transient = f"the iNaturalist API answered HTTP {response.status_code}", False
                    break
        _logger.info("iNaturalist request failed (attempt %d of %d): %s", attempt + 1, retries + 1, reason)
        if attempt < retries:
            time.sleep(throttle.delay * 2**attempt)
    raise DataUnavailableError(
        f"Could not get {what} from {url}: {reason}.\nWhat to do: {_FIX}.",
        dataset="odonata",
        source=url,
        reason=reason,
        transient=transient,
    )


def _resolve_taxon_id(name: str, *, api_url: str, session: Any, throttle: _Throttle) -> int:
    """The id of the active insect taxon called exactly ``name`` (e.g. ``"Anisoptera"``).

    ``q=Anisoptera`` also finds a plant genus of that name and taxa whose names merely contain the
    word, so the result is filtered on the exact name and on the iconic group (Insecta).
    """
    url = f"{api_url.rstrip('/')}/taxa"
    data = _get_json(
        session,
        url,
        {"q": name, "is_active": "true", "per_page": 30},
        throttle=throttle,
        what=f"the iNaturalist taxon {name}",
    )
    matches = [
        taxon
        for taxon in data.get("results", [])
        if taxon.get("name") == name and taxon.get("iconic_taxon_name", "Insecta") == "Insecta"
    ]
    matches.sort(key=lambda t: t.get("rank") not in ("suborder", "infraorder"))
    if not matches:
        raise DataUnavailableError(
            f"Could not get the iNaturalist taxon {name} from {url}: no active insect taxon has that name.\n"
            "What to do: look the taxon up on https://www.inaturalist.org and pass its id with "
            f"taxon_ids={{'{_label_of(name)}': ID, ...}}.",
            dataset="odonata",
            source=url,
            reason="unknown taxon",
        )
    return int(matches[0]["id"])


def _label_of(taxon_name: str) -> str:
    return next((label for label, name in _TAXA.items() if name == taxon_name), taxon_name)


def _photo_url(url: str, size: str = "medium") -> str:
    """The URL of the ``size`` version (square, small, medium, large, original) of an iNaturalist photo.

    The API gives the ``square`` (75x75) URL, e.g. ``.../photos/123/square.jpg?1545``.
    """
    return re.sub(r"/square(\.[A-Za-z0-9]+)?(?=$|\?)", lambda m: f"/{size}{m.group(1) or ''}", url, count=1)


def _observed_on(obs: dict[str, Any]) -> str:
    """The date ``obs`` was observed, ``YYYY-MM-DD``, or ``""`` when the API gives none."""
    for value in (obs.get("observed_on"), (obs.get("observed_on_details") or {}).get("date")):
        if isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}", value):
            return value[:10]
    return ""


def _photo_record(obs: dict[str, Any], *, size: str = "medium") -> dict[str, Any] | None:
    """What the dataset keeps of one observation: its first CC-licensed photo, or ``None``.

    ``None`` when the observation is not research grade or none of its photos has one of
    :data:`_LICENSES` (the API's ``photo_license`` filter only promises that *some* photo matches).
    The record names the observer (``user_id``, ``user_login``) and the date observed, so that splits
    can be grouped by observer and the spread over years checked.
    """
    if obs.get("quality_grade", "research") != "research" or not isinstance(obs.get("id"), int):
        return None
    for photo in obs.get("photos") or []:
        code = (photo.get("license_code") or "").lower()
        if code in _LICENSES and photo.get("url") and isinstance(photo.get("id"), int):
            taxon = obs.get("taxon") or {}
            user = obs.get("user") or {}
            return {
                "observation_id": obs["id"],
                "photo_id": photo["id"],
                "taxon_name": taxon.get("name", ""),
                "user_id": user["id"] if isinstance(user.get("id"), int) else None,
                "user_login": user.get("login", ""),
                "observed_on": _observed_on(obs),
                "license_code": code,
                "attribution": photo.get("attribution", ""),
                "photo_url": _photo_url(photo["url"], size),
                "observation_url": obs.get("uri") or f"https://www.inaturalist.org/observations/{obs['id']}",
            }
    return None


def _observer_of(item: Mapping[str, Any]) -> str:
    """Who took an observation or a photo record, as a group key: ``user:<id>``, else ``login:<login>``.

    Accepts an API observation (``{"id": ..., "user": {"id": ..., "login": ...}}``) or a
    :func:`_photo_record` (``user_id``, ``user_login``). Without any user, the observation is its own
    group (``observation:<id>``).
    """
    if "observation_id" in item:  # a photo record
        user_id, login, obs_id = item.get("user_id"), item.get("user_login"), item["observation_id"]
    else:  # an observation as the API gives it
        user = item.get("user") or {}
        user_id, login, obs_id = user.get("id"), user.get("login"), item.get("id")
    if isinstance(user_id, int):
        return f"user:{user_id}"
    return f"login:{login}" if login else f"observation:{obs_id}"


def _observation_windows(years: Sequence[int], windows_per_year: int) -> list[tuple[int, tuple[int, ...]]]:
    """The sampling windows: each year from ``years[0]`` to ``years[-1]`` cut into ``windows_per_year`` parts.

    A window is ``(year, months)``, e.g. ``(2015, (4, 5, 6))`` for the second quarter of 2015 with
    ``windows_per_year=4``. ``windows_per_year`` must divide 12 (1, 2, 3, 4, 6 or 12).
    """
    if windows_per_year not in (1, 2, 3, 4, 6, 12):
        raise ValueError(f"windows_per_year must divide 12 (1, 2, 3, 4, 6 or 12), not {windows_per_year}.")
    first, last = int(years[0]), int(years[-1])
    if first > last:
        raise ValueError(f"years must run from an earlier to a later year, not {first} to {last}.")
    size = 12 // windows_per_year
    return [
        (year, tuple(range(start, start + size)))
        for year in range(first, last + 1)
        for start in range(1, 13, size)
    ]


def _iter_observations(
    taxon_id: int,
    *,
    year: int | None = None,
    months: Sequence[int] | None = None,
    api_url: str = _INAT_API,
    session: Any = None,
    request_delay: float = 1.0,
    per_page: int = 200,
    throttle: _Throttle | None = None,
) -> Iterator[dict[str, Any]]:
    """The usable observations of ``taxon_id`` observed in ``year`` (and ``months``), by increasing id.

    Usable: research grade, with a CC-licensed photo (:func:`_photo_record` is not ``None``) and,
    as a guard against a wrong id, ``taxon_id`` among the observation's ``ancestor_ids``. Pages are
    asked for lazily, as the iterator is consumed, with ``id_above`` (the API refuses to page deeper
    than 10,000 results), ``request_delay`` seconds apart. The iterator ends when the API has no more.
    """
    session = _session(session)
    throttle = throttle or _Throttle(request_delay)
    url = f"{api_url.rstrip('/')}/observations"
    params: dict[str, Any] = {
        "taxon_id": taxon_id,
        "quality_grade": "research",
        "photos": "true",
        "photo_license": ",".join(_LICENSES),
        "order_by": "id",
        "order": "asc",
        "per_page": max(1, min(per_page, 200)),
    }
    where = ""
    if year is not None:
        params["year"] = int(year)
        where = f" observed in {year}"
    if months:
        params["month"] = ",".join(str(int(m)) for m in months)
        where += f" (months {params['month']})"
    last_id = 0
    while True:
        page = _get_json(
            session,
            url,
            {**params, "id_above": last_id},
            throttle=throttle,
            what=f"iNaturalist observations of taxon {taxon_id}{where}",
        )
        results = [obs for obs in page.get("results") or [] if isinstance(obs.get("id"), int)]
        results = sorted((obs for obs in results if obs["id"] > last_id), key=lambda o: o["id"])
        if not results:  # also guards against a server that ignores id_above
            return
        for obs in results:
            ancestors = (obs.get("taxon") or {}).get("ancestor_ids")
            if ancestors is not None and taxon_id not in ancestors:
                continue
            if _photo_record(obs) is not None:
                yield obs
        last_id = results[-1]["id"]


def _sample_observations(
    taxon_id: int,
    n: int,
    *,
    years: Sequence[int] = _YEARS,
    windows_per_year: int = 4,
    max_per_observer: int | None = 5,
    api_url: str = _INAT_API,
    session: Any = None,
    request_delay: float = 1.0,
    throttle: _Throttle | None = None,
) -> list[dict[str, Any]]:
    """``n`` usable observations of ``taxon_id``, spread over years and observers.

    The years are cut into windows (:func:`_observation_windows`); each window gets an even share of
    ``n`` and fills it with its observations in id order (:func:`_iter_observations`), skipping those of
    an observer who already gave ``max_per_observer`` (``None``: no cap). When a window runs out, what it
    lacks is shared evenly among the windows that have more, until ``n`` are found or every window is
    exhausted (then fewer are returned). Shares that differ by one are spread evenly over the windows.
    Deterministic for the same API answers.

    Returns:
        The observations (raw API dicts), window after window, by id within a window.
    """
    if max_per_observer is not None and max_per_observer < 1:
        raise ValueError(f"max_per_observer must be at least 1 (or None for no cap), not {max_per_observer}.")
    session = _session(session)
    throttle = throttle or _Throttle(request_delay)
    windows = _observation_windows(years, windows_per_year)
    quotas = _even_shares(n, len(windows))
    per_page = min(200, max(30, 3 * max(quotas, default=0)))
    streams = [
        _iter_observations(
            taxon_id, year=year, months=months, api_url=api_url, session=session, per_page=per_page, throttle=throttle
        )
        for year, months in windows
    ]
    taken: list[list[dict[str, Any]]] = [[] for _ in windows]
    exhausted = [False] * len(windows)
    given: Counter[str] = Counter()
    while True:
        for w, stream in enumerate(streams):
            while len(taken[w]) < quotas[w] and not exhausted[w]:
                obs = next(stream, None)
                if obs is None:
                    exhausted[w] = True
                elif max_per_observer is None or given[_observer_of(obs)] < max_per_observer:
                    given[_observer_of(obs)] += 1
                    taken[w].append(obs)
        missing = n - sum(map(len, taken))
        still = [w for w in range(len(windows)) if not exhausted[w]]
        if missing <= 0 or not still:
            break
        for w, extra in zip(still, _even_shares(missing, len(still)), strict=True):
            quotas[w] += extra
    return [obs for window in taken for obs in window]


def _even_shares(n: int, k: int) -> list[int]:
    """``n`` in ``k`` whole shares that differ by at most one, the larger ones evenly spaced (not all first).

    Spacing them keeps the sample even over time when ``n`` is not a multiple of ``k``.
    """
    return [(i + 1) * n // k - i * n // k for i in range(k)]


# --------------------------------------------------------------------------------------------------
# Splitting by observer
# --------------------------------------------------------------------------------------------------


def _assign_splits(
    records: Sequence[dict[str, Any]], fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 0
) -> list[dict[str, Any]]:
    """Copies of ``records`` with a ``"split"`` key; all records of one observer land in one split.

    The targets are the ``fractions`` of each ``"label"`` (class), rounded by largest remainder so they
    add up. Observers (:func:`_observer_of`: ``user_id``, else ``user_login``, else the observation) are
    placed largest first (ties in an order drawn with ``seed``), each in a split that still has room for
    all their photos, drawn at random with weights proportional to that room; the small observers placed
    last fill the remaining gaps, so each class ends close to its targets. An observer that fits nowhere
    without overshooting a target by more than :data:`_SPLIT_SLACK` (2 %, rounded up) is too big
    to keep together: their observations are placed one by one (:func:`_observers_in_several_splits`
    finds them afterwards). A last pass (:func:`_improve_splits`) moves whole observers between splits
    where that brings the counts nearer the targets, so that no class is left out of a split.

    Deterministic: the same records (in any order), fractions and seed give the same splits.
    """
    if len(fractions) != len(_SPLITS) or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(
            f"splits must be {len(_SPLITS)} non-negative fractions that add up to 1, not {fractions}."
        )
    labels = sorted({r["label"] for r in records})
    targets = {label: _split_counts(sum(r["label"] == label for r in records), fractions) for label in labels}
    filled = {label: [0] * len(_SPLITS) for label in labels}
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r["label"], r["observation_id"], r["photo_id"])):
        groups[_observer_of(record)].append(record)
    rng = random.Random(f"odonata-{seed}")
    order = sorted(groups)
    rng.shuffle(order)
    order.sort(key=lambda key: -len(groups[key]))  # stable: the shuffled order breaks ties

    def place(members: list[dict[str, Any]], *, whole: bool) -> int | None:
        """Put ``members`` in one split and return its index; ``None`` if ``whole`` and they fit nowhere."""
        need = Counter(r["label"] for r in members)
        over = [{lb: filled[lb][s] + k - targets[lb][s] for lb, k in need.items()} for s in range(len(_SPLITS))]
        room = [sum(max(0, targets[lb][s] - filled[lb][s]) for lb in need) for s in range(len(_SPLITS))]
        fits = [s for s in range(len(_SPLITS)) if all(o <= 0 for o in over[s].values())]
        if fits:
            chosen = rng.choices(fits, weights=[room[s] for s in fits])[0]
        else:
            within = [
                s
                for s in range(len(_SPLITS))
                if all(o <= math.ceil(_SPLIT_SLACK * targets[lb][s]) for lb, o in over[s].items())
            ]
            if whole and not within:
                return None
            overshoot = [sum(max(0, o) for o in over[s].values()) for s in range(len(_SPLITS))]
            chosen = min(within or range(len(_SPLITS)), key=lambda s: (overshoot[s], -room[s], s))
        for lb, k in need.items():
            filled[lb][chosen] += k
        return chosen

    units: list[tuple[list[dict[str, Any]], int]] = []  # what moves together, and its split
    for key in order:
        members = groups[key]
        split = place(members, whole=True)
        if split is not None:
            units.append((members, split))
            continue
        for record in members:  # too big to keep together: one observation at a time
            single = place([record], whole=False)
            assert single is not None  # one observation is never refused
            units.append(([record], single))
    units = _improve_splits(units, targets, filled)
    return [{**r, "split": _SPLITS[split]} for members, split in units for r in members]


def _improve_splits(
    units: list[tuple[list[dict[str, Any]], int]], targets: dict[str, list[int]], filled: dict[str, list[int]]
) -> list[tuple[list[dict[str, Any]], int]]:
    """Move units (an observer, or one observation) to another split while that brings the counts nearer the targets.

    The greedy placement of :func:`_assign_splits` cannot look ahead: with few observers it may, say,
    leave the test set without dragonflies. Each pass tries every unit in every other split and keeps a
    move that lowers, first, the number of (class, split) pairs left empty although their target is not,
    then the total distance to the targets. Deterministic; stops when a pass moves nothing.
    """

    def cost() -> tuple[int, int]:
        cells = [(lb, s) for lb in targets for s in range(len(_SPLITS))]
        empty = sum(targets[lb][s] > 0 and filled[lb][s] == 0 for lb, s in cells)
        return empty, sum(abs(filled[lb][s] - targets[lb][s]) for lb, s in cells)

    def shift(need: Counter[str], source: int, target: int) -> None:
        for lb, k in need.items():
            filled[lb][source] -= k
            filled[lb][target] += k

    units = list(units)
    for _ in range(20):  # a bound for safety; a pass that moves nothing ends it sooner
        moved = False
        for i, (members, split) in enumerate(units):
            need = Counter(r["label"] for r in members)
            best, best_split = cost(), split
            for other in range(len(_SPLITS)):
                if other == split:
                    continue
                shift(need, split, other)
                if cost() < best:
                    best, best_split = cost(), other
                shift(need, other, split)
            if best_split != split:
                shift(need, split, best_split)
                units[i] = (members, best_split)
                moved = True
        if not moved:
            break
    return units


def _observers_in_several_splits(records: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """``{observer: [splits]}`` for each observer (:func:`_observer_of`) whose records are in more than one split."""
    splits: dict[str, set[str]] = defaultdict(set)
    for record in records:
        splits[_observer_of(record)].add(record["split"])
    return {key: [s for s in _SPLITS if s in found] for key, found in sorted(splits.items()) if len(found) > 1}


def _split_counts(n: int, fractions: Sequence[float]) -> list[int]:
    """``n`` divided by ``fractions`` into whole numbers by largest remainder (ties: earlier split)."""
    exact = [n * f for f in fractions]
    counts = [int(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


# --------------------------------------------------------------------------------------------------
# Building the folder
# --------------------------------------------------------------------------------------------------


def _relative_file(record: dict[str, Any]) -> str:
    return f"{record['split']}/{record['label']}/{record['observation_id']}_{record['photo_id']}.jpg"


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file so a reader never sees half of it."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_first_version(settings: Any) -> bool:
    """Whether saved ``settings`` come from a plan made before :data:`_PLAN_VERSION` (no ``version`` key)."""
    return isinstance(settings, Mapping) and int(settings.get("version", 1)) < _PLAN_VERSION


_OLD_BUILDER = (
    "was planned by an older version of the course's builder, which took the oldest observations "
    "(a few observers, a few years) and split them at random, so near-identical photos of one observer "
    "were in training and test"
)


def _plan(
    dest: Path,
    settings: dict[str, Any],
    *,
    api_url: str,
    session: Any,
    throttle: _Throttle,
    taxon_ids: dict[str, int] | None,
) -> dict[str, Any]:
    """The list of photos to build, from ``.plan.json`` when it was made with the same settings.

    Otherwise the API is asked (taxon ids, then observations of each class) and the plan saved, so
    that a resumed build neither asks again nor picks different observations. A plan of the first
    builder (:func:`_is_first_version`) is replaced: the photos it downloaded are moved to where the new
    plan wants them, or deleted (:func:`_adopt_old_photos`), before the new plan is saved.
    """
    saved = _read_json(dest / _PLAN)
    if saved is not None and saved.get("settings") == settings:
        return saved
    old = saved if saved is not None and _is_first_version(saved.get("settings")) else None
    if saved is not None and old is None and any((dest / s).exists() for s in _SPLITS):
        raise ValueError(
            f"{dest} holds a partly built Odonata dataset made with other settings "
            f"({saved.get('settings')}). Call build_odonata again with those settings to finish it, "
            "or delete the folder to start over."
        )
    ids = dict(taxon_ids or {})
    for label, name in _TAXA.items():
        if label not in ids:
            ids[label] = _resolve_taxon_id(name, api_url=api_url, session=session, throttle=throttle)
    records = []
    for label in _CLASS_NAMES:
        n = _per_class(settings["images_per_class"], label)
        observations = _sample_observations(
            ids[label],
            n,
            years=settings["years"],
            windows_per_year=settings["windows_per_year"],
            max_per_observer=settings["max_per_observer"],
            api_url=api_url,
            session=session,
            throttle=throttle,
        )
        if len(observations) < n:
            cap = settings["max_per_observer"]
            warnings.warn(
                f"iNaturalist has only {len(observations)} usable {label} observations in "
                f"{settings['years'][0]}-{settings['years'][-1]}"
                + (f" with at most {cap} per observer" if cap is not None else "")
                + f" (asked for {n}).",
                DataWarning,
                stacklevel=3,
            )
        size = settings["photo_size"]
        records += [{**_photo_record(obs, size=size), "label": label} for obs in observations]
    records = _assign_splits(records, settings["splits"], settings["seed"])
    plan = {
        "settings": settings,
        "taxon_ids": ids,
        "divided_observers": _observers_in_several_splits(records),
        "records": records,
    }
    _warn_divided(plan)
    dest.mkdir(parents=True, exist_ok=True)
    if old is not None:
        _adopt_old_photos(dest, old, plan)
    _write_atomically(dest / _PLAN, json.dumps(plan, indent=1))
    return plan


def _adopt_old_photos(dest: Path, old: dict[str, Any], plan: dict[str, Any]) -> None:
    """Move the old plan's downloaded photos to their place in the new ``plan``; delete those it drops.

    Only the files the old plan lists are touched. Runs before the new plan is saved: if it is
    interrupted, the old plan is still there and the next build does this again.
    """
    same_size = (old.get("settings") or {}).get("photo_size") == plan["settings"]["photo_size"]
    wanted = {(r["label"], r["observation_id"], r["photo_id"]): r for r in plan["records"]}
    kept = moved = deleted = 0
    for record in old.get("records") or []:
        try:
            source = dest / _relative_file(record)
            key = (record["label"], record["observation_id"], record["photo_id"])
        except (KeyError, TypeError):
            continue
        if not source.is_file():
            continue
        new = wanted.get(key) if same_size else None
        target = dest / _relative_file(new) if new is not None else None
        if target == source:
            kept += 1
        elif target is None or target.exists():
            source.unlink()
            deleted += 1
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            moved += 1
    warnings.warn(
        f"{dest} {_OLD_BUILDER}. It has been planned again, spread over years and observers and split by "
        f"observer. Of the photos already downloaded, {kept} stay where they are, {moved} were moved to their new "
        f"split and {deleted} that the new plan does not use were deleted; the rest will be downloaded now.",
        DataWarning,
        stacklevel=4,
    )


def _warn_divided(plan: dict[str, Any]) -> None:
    """One :class:`DataWarning` naming the observers too big to keep in one split, if any."""
    divided: dict[str, list[str]] = plan.get("divided_observers") or {}
    if not divided:
        return
    counts = Counter(_observer_of(r) for r in plan["records"])
    shown = "; ".join(f"{key} ({counts[key]} photos: {', '.join(s)})" for key, s in list(divided.items())[:5])
    more = f"; and {len(divided) - 5} more" if len(divided) > 5 else ""
    warnings.warn(
        f"{len(divided)} observers have too many photos to keep each in one split without upsetting the "
        f"split fractions, so their photos are split by observation instead: {shown}{more}. Their photos in "
        "the test set may look like their photos in training; a lower max_per_observer avoids this.",
        DataWarning,
        stacklevel=4,
    )


def _per_class(images_per_class: int | Mapping[str, int], label: str) -> int:
    """How many observations of class ``label`` to ask for."""
    return int(images_per_class[label] if isinstance(images_per_class, Mapping) else images_per_class)


def _valid_image(path: Path) -> str | None:
    """Why ``path`` is not a usable photo, or ``None`` (the course's cheap check plus a PIL verify)."""
    problem = image_problem(path)
    if problem:
        return problem
    try:
        with Image.open(path) as im:
            im.verify()
    except Exception as err:  # PIL raises many kinds of errors for damaged files
        return f"damaged image ({type(err).__name__})"
    return None


def _fetch_photo(
    record: dict[str, Any], target: Path, session: Any, backoff: float
) -> tuple[str | None, bool]:
    """Make sure ``target`` holds the record's photo. Returns (problem or ``None``, transient?).

    A photo already on disk is kept if it is a valid image (no request); a downloaded one that is not
    a valid image is deleted.
    """
    if target.is_file() and _valid_image(target) is None:
        return None, False
    target.unlink(missing_ok=True)
    try:
        download_file(
            record["photo_url"],
            target,
            retries=2,
            timeout=30,
            progress=False,
            session=session,
            backoff=backoff,
        )
    except DataUnavailableError as err:
        return err.reason, err.transient
    problem = _valid_image(target)
    if problem:
        target.unlink(missing_ok=True)
        return problem, False
    return None, False


def _write_attribution(dest: Path, records: list[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=_ATTRIBUTION_COLUMNS, extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for record in records:
        writer.writerow({**record, "file": _relative_file(record)})
    _write_atomically(dest / "attribution.csv", buffer.getvalue())


def _fetch_photos(
    dest: Path, plan: dict[str, Any], *, session: Any, backoff: float, progress: bool, api_url: str
) -> list[dict[str, Any]]:
    """Download the plan's photos that are not on disk yet; return the records whose photo is there.

    Photos that fail for good (HTTP 404, not an image) are recorded in the plan's ``skipped`` at once
    (and saved), so a resumed build does not ask for them again. If any failed because of the
    network, :class:`DataUnavailableError` is raised after trying all the others.
    """
    kept: list[dict[str, Any]] = []
    skipped: dict[str, str] = plan.setdefault("skipped", {})  # file -> reason
    transient, last_problem = 0, ""
    for record in track(plan["records"], desc="Odonata photos", unit="photo", show=progress):
        relative = _relative_file(record)
        if relative in skipped:
            continue
        problem, is_transient = _fetch_photo(record, dest / relative, session, backoff=backoff)
        if problem is None:
            kept.append(record)
        elif is_transient:
            transient += 1
            last_problem = f"{record['photo_url']}: {problem}"
        else:
            skipped[relative] = problem
            _write_atomically(dest / _PLAN, json.dumps(plan, indent=1))
    if transient:
        raise DataUnavailableError(
            f"Could not get {transient} of {len(plan['records'])} Odonata photos from iNaturalist: the "
            f"network failed ({last_problem}).\nWhat to do: {_FIX}.",
            dataset="odonata",
            source=api_url,
            reason="network failure while downloading photos",
            transient=True,
        )
    return kept


def _warn_skipped(plan: dict[str, Any]) -> None:
    """One :class:`DataWarning` naming the photos left out (the first five), if any."""
    skipped: dict[str, str] = plan.get("skipped", {})
    if not skipped:
        return
    urls = {_relative_file(r): r["photo_url"] for r in plan["records"]}
    shown = "; ".join(f"{urls.get(f, f)} ({why})" for f, why in list(skipped.items())[:5])
    more = f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
    warnings.warn(
        f"Skipped {len(skipped)} of {len(plan['records'])} Odonata photos that could not be "
        f"downloaded or are not valid images: {shown}{more}.",
        DataWarning,
        stacklevel=3,
    )


def _summary(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per class: how many observers, the most photos from one observer, and photos per year observed."""
    out: dict[str, Any] = {}
    for label in _CLASS_NAMES:
        mine = [r for r in records if r["label"] == label]
        per_observer = Counter(_observer_of(r) for r in mine)
        years = Counter(r.get("observed_on", "")[:4] or "unknown" for r in mine)
        out[label] = {
            "observers": len(per_observer),
            "most_photos_from_one_observer": max(per_observer.values(), default=0),
            "photos_per_year": dict(sorted(years.items())),
        }
    return out


def _old_manifest(dest: Path, manifest: dict[str, Any]) -> None:
    """Prepare a complete folder of the first builder for re-planning, or refuse it with a clear message.

    Its plan is needed to tell the builder's files from others; with it, the manifest and
    attribution are removed (the folder is then an unfinished build that :func:`_plan` re-plans).
    """
    if not _is_first_version((_read_json(dest / _PLAN) or {}).get("settings")):
        raise ValueError(
            f"{dest} holds an Odonata dataset that {_OLD_BUILDER}, and its plan ({_PLAN}) is gone, so the "
            "builder cannot tell its photos from other files. Delete the folder (or choose another) and run "
            "this again to build the dataset anew."
        )
    (dest / _MANIFEST).unlink()
    (dest / "attribution.csv").unlink(missing_ok=True)


def build_odonata(
    dest: Path,
    *,
    images_per_class: int | Mapping[str, int] = 1000,
    splits: Sequence[float] = (0.7, 0.15, 0.15),
    seed: int = 0,
    years: Sequence[int] = _YEARS,
    windows_per_year: int = 4,
    max_per_observer: int | None = 5,
    api_url: str = _INAT_API,
    request_delay: float = 1.0,
    session: Any = None,
    progress: bool = True,
    photo_size: str = "medium",
    taxon_ids: dict[str, int] | None = None,
) -> Path:
    """Build (or finish building) the Odonata dataset in ``dest`` and return ``dest``.

    Chapter 04's data (through :func:`get`); ``datasets.download("odonata")`` calls it too.

    Args:
        dest: The dataset folder (created if needed).
        images_per_class: Observations to take per class (one photo each), or ``{label: count}`` for
            counts that differ by class (the ``full`` profile asks for the article's 8,462 and 9,197).
        splits: Fractions for train, validation and test, per class; met approximately, since all
            photos of one observer go to the same split (:func:`_assign_splits`).
        seed: Seed of the split assignment.
        years: First and last year (date observed) to sample from (:data:`_YEARS`).
        windows_per_year: Windows each year is cut into, each with an even share of the photos (4:
            quarters, 12: months); see :func:`_sample_observations`.
        max_per_observer: The most photos one observer may give per class (``None``: no cap).
        api_url: Base URL of the iNaturalist API v1.
        request_delay: Seconds between API requests (iNaturalist asks for about one per second); also
            the first pause before retrying a failed request. Photos are not throttled.
        session: A ``requests.Session`` to use; one naming the course in its User-Agent is made if ``None``.
        progress: Show a progress bar over the photos.
        photo_size: Which size of each photo to download (``medium`` is at most 500 px).
        taxon_ids: ``{"dragonflies": id, "damselflies": id}`` to skip looking the taxa up by name.

    Returns:
        ``dest``, holding ``{train,validation,test}/{damselflies,dragonflies}/*.jpg``,
        ``attribution.csv`` and ``dataset.json``.

    A complete folder (``dataset.json`` present) is returned at once, without any request. A partly
    built one is completed: photos already there are kept. Photos that cannot be downloaded for good
    (HTTP 404, not an image) are skipped with one :class:`DataWarning`; if some failed because of the
    network, :class:`DataUnavailableError` is raised instead and the next call resumes. A folder
    planned by the first version of this builder (oldest observations, random split), complete or not,
    is planned again with a :class:`DataWarning`; the photos it downloaded are reused where the new plan
    keeps them.
    """
    dest = Path(dest).expanduser()
    if isinstance(images_per_class, Mapping):
        unknown = sorted(set(images_per_class) ^ set(_CLASS_NAMES))
        if unknown:
            raise ValueError(f"images_per_class must give a count for each of {_CLASS_NAMES}, not {unknown}.")
        count: int | dict[str, int] = {label: int(images_per_class[label]) for label in _CLASS_NAMES}
    else:
        count = int(images_per_class)
    settings = {
        "version": _PLAN_VERSION,
        "images_per_class": count,
        "splits": [float(f) for f in splits],
        "seed": int(seed),
        "years": [int(years[0]), int(years[-1])],
        "windows_per_year": int(windows_per_year),
        "max_per_observer": None if max_per_observer is None else int(max_per_observer),
        "photo_size": photo_size,
    }
    # Check the arguments before any request.
    _assign_splits([], settings["splits"])
    _observation_windows(settings["years"], settings["windows_per_year"])
    if max_per_observer is not None and max_per_observer < 1:
        raise ValueError(f"max_per_observer must be at least 1 (or None for no cap), not {max_per_observer}.")
    manifest = _read_json(dest / _MANIFEST)
    if manifest is not None and _is_first_version(manifest.get("settings")):
        _old_manifest(dest, manifest)
    elif manifest is not None:
        if manifest.get("settings") != settings:
            warnings.warn(
                f"{dest} already holds an Odonata dataset built with {manifest.get('settings')}; using it as "
                "it is. Delete the folder (or choose another) to build one with other settings.",
                DataWarning,
                stacklevel=2,
            )
        return dest
    with contextlib.ExitStack() as stack:
        if session is None:
            session = stack.enter_context(_session(None))
        throttle = _Throttle(request_delay)
        plan = _plan(dest, settings, api_url=api_url, session=session, throttle=throttle, taxon_ids=taxon_ids)
        kept = _fetch_photos(
            dest, plan, session=session, backoff=request_delay, progress=progress, api_url=api_url
        )
    _warn_skipped(plan)
    counts = {
        s: {c: sum(r["split"] == s and r["label"] == c for r in kept) for c in _CLASS_NAMES} for s in _SPLITS
    }
    empty = [c for c in _CLASS_NAMES if not any(counts[s][c] for s in _SPLITS)]
    if empty:
        raise DataUnavailableError(
            f"Could not get any {', '.join(empty)} photos from iNaturalist ({api_url}).\nWhat to do: {_FIX}.",
            dataset="odonata",
            source=api_url,
            reason="no photos",
        )
    _write_attribution(dest, kept)
    manifest = {
        "name": "odonata",
        "title": "Odonata: dragonflies vs damselflies (iNaturalist research-grade observations)",
        "source": api_url,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": settings,
        "taxon_ids": plan["taxon_ids"],
        "taxa": _TAXA,
        "class_names": list(_CLASS_NAMES),
        "splits": list(_SPLITS),
        "counts": counts,
        "grouped_by": "observer: all photos of one observer are in one split, except divided_observers",
        "divided_observers": plan.get("divided_observers", {}),
        "sample": _summary(kept),
        "skipped": plan.get("skipped", {}),
        "licenses": "Per photo, see attribution.csv (CC0, CC BY, CC BY-NC, CC BY-SA, CC BY-NC-SA).",
    }
    _write_atomically(dest / _MANIFEST, json.dumps(manifest, indent=1))
    return dest


# --------------------------------------------------------------------------------------------------
# How much each course profile asks for
# --------------------------------------------------------------------------------------------------

#: The article's photos per class before mirroring (from :mod:`helpers.articles`, the single source).
_ARTICLE_IMAGES: dict[str, int] = dict(_article("odonata").notes["original_images"])

#: What :func:`get` builds for each profile that downloads (``smoke`` uses the offline sample): the
#: folder under :func:`~helpers.datasets.data_home`, and :func:`build_odonata`'s arguments.
#: ``quick`` keeps the course's 1,000 photos per class and 70/15/15 split, sampled by quarter (48 windows
#: from 2013 to 2024) with at most 5 photos per observer and class; ``full`` asks for the article's counts,
#: sampled by month (144 windows) with at most 20 per observer, and splits them in the article's
#: proportions: 25 % test, and 5 % of the rest for validation (0.75 x 0.05 = 0.0375), leaving 71.25 % for
#: training.
PROFILE_BUILDS: dict[str, dict[str, Any]] = {
    "quick": {
        "folder": "odonata",
        "images_per_class": 1000,
        "splits": (0.7, 0.15, 0.15),
        "windows_per_year": 4,
        "max_per_observer": 5,
    },
    "full": {
        "folder": "odonata-full",
        "images_per_class": _ARTICLE_IMAGES,
        "splits": (0.7125, 0.0375, 0.25),
        "windows_per_year": 12,
        "max_per_observer": 20,
    },
}


def get(profile: str = "quick", data_dir: str | os.PathLike | None = None, **build_options: Any) -> Path:
    """:func:`helpers.datasets.get` for Odonata, with the number of photos the profile asks for.

    ``data_dir`` (any profile) and ``smoke`` (the offline sample) behave exactly as in
    ``datasets.get``. ``quick`` and ``full`` build from iNaturalist (:func:`build_odonata`) with the
    settings of :data:`PROFILE_BUILDS` into their own folders under the course's data home, so a
    ``quick`` build is never mistaken for a ``full`` one. ``build_options`` go to :func:`build_odonata`
    (and win over the profile's settings). Chapter 04 loads its photos with it.
    """
    from . import data_home
    from . import get as get_dataset

    if data_dir is not None or profile not in PROFILE_BUILDS:
        return get_dataset("odonata", profile=profile, data_dir=data_dir)
    settings = dict(PROFILE_BUILDS[profile])
    folder = settings.pop("folder")
    return build_odonata(data_home() / folder, **{**settings, **build_options})


# --------------------------------------------------------------------------------------------------
# The article's data handling (chapter 04, RECIPE = "article")
# --------------------------------------------------------------------------------------------------


def article_test_share() -> dict[str, float]:
    """The article's test share per class, after mirroring: 4,230 of 16,924 damselflies, 4,597 of 18,394 dragonflies.

    The article gives the doubled counts and the training counts (12,694 and 13,797); the test images
    are the rest (8,827 in all). Both shares are 25 % to within 0.01 percentage point. The default of
    :func:`mirror_split` in chapter 04; :mod:`helpers.budget` sizes chapter 04's article recipe with it.
    """
    notes = _article("odonata").notes
    return {label: 1 - notes["train_images"][label] / notes["after_mirroring"][label] for label in _CLASS_NAMES}


@dataclass(frozen=True)
class _MirrorSplit:
    """A train/test split of photos *and* their mirror images, made as the article made it.

    Every row of ``train`` and ``test`` is one stored image: ``(photo, mirrored)``, where ``photo`` indexes
    the list of original photos and ``mirrored`` is 1 for the left-right mirrored copy, 0 for the photo.
    """

    train: np.ndarray
    test: np.ndarray
    labels: np.ndarray

    @property
    def train_labels(self) -> np.ndarray:
        return self.labels[self.train[:, 0]]

    @property
    def test_labels(self) -> np.ndarray:
        return self.labels[self.test[:, 0]]

    @property
    def test_leaked(self) -> np.ndarray:
        """For each test image: is its twin (the same photo, mirrored the other way) in the training set?"""
        in_train = {(int(p), int(m)) for p, m in self.train}
        return np.array([(int(p), 1 - int(m)) in in_train for p, m in self.test], dtype=bool)


def mirror_split(labels: Sequence[int], class_names: Sequence[str], *, seed: int = 0,
                 test_share: Mapping[str, float] | float | None = None) -> _MirrorSplit:
    """Double a set of photos with their mirror images, then split the doubled set per class, as the article did.

    Each photo ``i`` becomes two images, ``(i, 0)`` and ``(i, 1)``; the ``2 n`` images of each class are
    shuffled with ``seed`` and the first ``round(share x 2 n)`` go to the test set. A photo and its mirror
    are **not** kept together, so about three in four test images have their twin in the training set:
    the article's leak, reproduced on purpose (its 13,797 dragonfly training images, an odd number, show
    that it did not keep the pairs together either). Chapter 04's article recipe.

    Args:
        labels: The class index of each original photo.
        class_names: Class names in label order (to look up the share per class).
        seed: Seed of the shuffle.
        test_share: The test share per class name, or one share for all; default
            :func:`article_test_share`, which gives the article's 26,491 / 8,827 on its 17,659 photos.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if test_share is None:
        test_share = article_test_share()
    rng = np.random.default_rng(seed)
    train, test = [], []
    for cls in np.unique(labels):
        share = test_share if isinstance(test_share, float | int) else test_share[class_names[cls]]
        photos = np.flatnonzero(labels == cls)
        rows = np.array([(p, m) for p in photos for m in (0, 1)], dtype=np.int64).reshape(-1, 2)
        rows = rows[rng.permutation(len(rows))]
        n_test = int(round(share * len(rows)))
        test.append(rows[:n_test])
        train.append(rows[n_test:])
    empty = np.zeros((0, 2), dtype=np.int64)
    train_rows = np.concatenate(train) if train else empty
    test_rows = np.concatenate(test) if test else empty
    order = np.lexsort((test_rows[:, 1], test_rows[:, 0]))  # the test set in photo order, twins side by side
    return _MirrorSplit(train_rows, test_rows[order], labels)


@dataclass(frozen=True)
class _Chunk:
    """One round of the article's training: positions in ``_MirrorSplit.train`` to train on and to validate on."""

    train: np.ndarray
    val: np.ndarray


def draw_chunks(train_labels: Sequence[int], *, n_chunks: int, per_class: int, val_fraction: float = 0.05,
                seed: int = 0) -> list[_Chunk]:
    """The article's rounds: ``n_chunks`` chunks of ``per_class`` images of every class, none drawn twice.

    The article trained on chunks of 4,000 training images (2,000 per class), each loaded after the last,
    six times (24,000 of its 26,491), and used 5 % of each chunk for validation; which 5 % it does not say,
    so a random 5 % of the chunk is taken here. Images left over after the last chunk are never trained on,
    as in the article. Chapter 04's article recipe.

    Raises:
        ValueError: a class has fewer than ``n_chunks x per_class`` training images.
    """
    train_labels = np.asarray(train_labels)
    rng = np.random.default_rng(seed)
    drawn = []
    for cls in np.unique(train_labels):
        positions = rng.permutation(np.flatnonzero(train_labels == cls))
        if len(positions) < n_chunks * per_class:
            raise ValueError(f"Class {cls} has {len(positions)} training images, fewer than {n_chunks} chunks x "
                             f"{per_class}.")
        drawn.append(positions[: n_chunks * per_class].reshape(n_chunks, per_class))
    chunks = []
    for k in range(n_chunks):
        members = rng.permutation(np.concatenate([d[k] for d in drawn]))
        n_val = int(round(val_fraction * len(members)))
        chunks.append(_Chunk(train=np.sort(members[n_val:]), val=np.sort(members[:n_val])))
    return chunks
