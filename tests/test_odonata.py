"""Tests for helpers.datasets.odonata: building dragonflies-vs-damselflies from iNaturalist open data.

A local server (pytest-httpserver) plays the iNaturalist API and the photo hosts (small generated
JPEGs); the builder talks to it through ``requests``, as it talks to iNaturalist. Nothing here touches
the network. The server answers ``/v1/observations`` the way the real API does for the parameters the
builder sends: ``taxon_id``, ``year``, ``month`` (a comma-separated list), ``id_above``, ``per_page``
(at most 200), ``order_by=id&order=asc``. It serves one of two sets of observations:

- the recorded-style responses in ``tests/fixtures/inat/`` (a few observations of June 2019, with the
  awkward cases: no CC photo, a CC BY-ND photo, a broken photo, a missing photo);
- a generated "world" (:func:`make_world`) shaped like iNaturalist's Odonata: twelve years of
  observations, ids in upload order, three prolific early observers with many observations each and
  many casual ones, some observations with two near-identical photos. Taking the oldest observations by
  id, as the first builder did, gets one or two years and a handful of observers from it.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import random
import re
import time
from collections import Counter
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from PIL import Image
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from helpers.datasets.fetch import DataUnavailableError
from helpers.datasets.files import DataWarning
from helpers.datasets.odonata import build_odonata

odonata = importlib.import_module("helpers.datasets.odonata")

FIXTURES = Path(__file__).parent / "fixtures" / "inat"
ANISOPTERA, ZYGOPTERA = 910001, 910002  # the stand-in ids of the fixtures
PHOTO_HOSTS = ("https://inaturalist-open-data.s3.amazonaws.com", "https://static.inaturalist.org")
BROKEN_OBS, MISSING_OBS = 2001122, 2001117  # served as a non-image, and as HTTP 404
NO_CC_OBS = {2001107, 2001133}  # all rights reserved; CC BY-ND only
N = 6
WORLD_YEARS = (2013, 2024)
SPLITS = (0.7, 0.15, 0.15)


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def photo_id_of(obs_id: int) -> int:
    for name in ("observations_anisoptera.json", "observations_zygoptera.json"):
        for obs in load(name)["results"]:
            if obs["id"] == obs_id:
                return next(p["id"] for p in obs["photos"] if p["license_code"] in odonata._LICENSES)
    raise KeyError(obs_id)


def jpeg(seed: int) -> bytes:
    image = Image.new("RGB", (40, 30), ((seed * 37) % 256, (seed * 91) % 256, (seed * 13) % 256))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def make_world(seed: int = 0, per_class_and_year: int = 40) -> dict[int, list[dict]]:
    """Observations of both suborders, 2013-2024, in the shape of the API's answers.

    Ids follow the date observed (people upload soon after). Three prolific observers make 70 % of the
    observations before 2016 and 30 % after; 80 casual observers make the rest; some people observe both
    suborders. Every fifth observation has two photos of the same insect.
    """
    rng = random.Random(seed)
    prolific = [(1, "early_bird"), (2, "pond_pro"), (3, "macro_max")]
    casual = [(100 + i, f"walker{i}") for i in range(80)]
    species = {ANISOPTERA: ["Anax junius", "Pantala flavescens"], ZYGOPTERA: ["Ischnura verticalis", "Argia apicalis"]}
    drawn = []
    for year in range(WORLD_YEARS[0], WORLD_YEARS[1] + 1):
        for taxon in (ANISOPTERA, ZYGOPTERA):
            for _ in range(per_class_and_year):
                month = rng.choices(range(1, 13), weights=[1, 1, 2, 4, 8, 10, 10, 8, 5, 3, 1, 1])[0]
                user = rng.choice(prolific) if rng.random() < (0.7 if year < 2016 else 0.3) else rng.choice(casual)
                drawn.append((date(year, month, rng.randint(1, 28)), rng.random(), taxon, user))
    world: dict[int, list[dict]] = {ANISOPTERA: [], ZYGOPTERA: []}
    for i, (day, _, taxon, (user_id, login)) in enumerate(sorted(drawn)):
        obs_id = 3_000_000 + 7 * i
        photos = []
        for k in range(2 if i % 5 == 0 else 1):
            photo_id = 5_000_000 + 2 * i + k
            code = odonata._LICENSES[(i + k) % len(odonata._LICENSES)]
            photos.append({
                "id": photo_id,
                "license_code": code,
                "url": f"{PHOTO_HOSTS[0]}/photos/{photo_id}/square.jpg",
                "attribution": f"(c) {login}, some rights reserved ({code.upper()})",
                "original_dimensions": {"width": 2048, "height": 1536},
                "flags": [],
            })
        world[taxon].append({
            "id": obs_id,
            "uri": f"https://www.inaturalist.org/observations/{obs_id}",
            "quality_grade": "research",
            "observed_on": day.isoformat(),
            "observed_on_details": {"date": day.isoformat(), "year": day.year, "month": day.month, "day": day.day},
            "license_code": "cc-by",
            "taxon": {
                "id": 60000 + i % 2,
                "name": species[taxon][i % 2],
                "rank": "species",
                "ancestor_ids": [48460, 1, 47120, 372739, 47158, 184884, 47792, taxon, 60000 + i % 2],
                "iconic_taxon_name": "Insecta",
            },
            "user": {"id": user_id, "login": login, "name": login.replace("_", " ").title()},
            "photos": photos,
        })
    return world


class FakeINat:
    """Answers /v1/taxa, /v1/observations and /photos/<id>/<size>.<ext> like iNaturalist would."""

    def __init__(self, httpserver, observations: dict[int, list[dict]] | None = None) -> None:
        self.server = httpserver
        self.root = httpserver.url_for("").rstrip("/")
        self.observations = observations or {
            ANISOPTERA: load("observations_anisoptera.json")["results"],
            ZYGOPTERA: load("observations_zygoptera.json")["results"],
        }
        self.fail_api = False
        self.busy: set[int] = set()  # photo ids answered with 503
        self.missing: set[int] = set()  # photo ids answered with 404
        self.broken: set[int] = set()  # photo ids answered with a web page
        if observations is None:
            self.missing, self.broken = {photo_id_of(MISSING_OBS)}, {photo_id_of(BROKEN_OBS)}
        httpserver.expect_request("/v1/taxa").respond_with_handler(self.taxa)
        httpserver.expect_request("/v1/observations").respond_with_handler(self.observations_page)
        httpserver.expect_request(re.compile(r"^/photos/\d+/\w+\.jpe?g$")).respond_with_handler(self.photo)

    @property
    def api_url(self) -> str:
        return f"{self.root}/v1"

    def requests(self, prefix: str = "/") -> list[Request]:
        return [request for request, _ in self.server.log if request.path.startswith(prefix)]

    def taxa(self, request: Request) -> Response:
        name = request.args["q"].lower()
        return Response(json.dumps(load(f"taxa_{name}.json")), content_type="application/json")

    def observations_page(self, request: Request) -> Response:
        if self.fail_api:
            return Response("Service Unavailable", status=503)
        args = {key: values[0] for key, values in parse_qs(request.query_string.decode()).items()}
        if (args.get("order_by"), args.get("order")) != ("id", "asc") or "page" in args:
            return Response(json.dumps({"error": "this stand-in serves id order only"}), status=422)
        above = int(args.get("id_above", "0"))
        per_page = min(int(args.get("per_page", "30")), 200)  # the API's most
        months = {int(m) for m in args["month"].split(",")} if "month" in args else None

        def wanted(obs: dict) -> bool:
            day = obs.get("observed_on") or ""
            return (
                obs["id"] > above
                and ("year" not in args or day[:4] == args["year"])
                and (months is None or int(day[5:7]) in months)
            )

        matching = sorted((o for o in self.observations[int(args["taxon_id"])] if wanted(o)), key=lambda o: o["id"])
        page = json.loads(json.dumps(matching[:per_page]))
        for obs in page:
            for photo in obs["photos"]:
                for host in PHOTO_HOSTS:
                    photo["url"] = photo["url"].replace(host, self.root)
        body = {"total_results": len(matching), "page": 1, "per_page": per_page, "results": page}
        return Response(json.dumps(body), content_type="application/json")

    def photo(self, request: Request) -> Response:
        photo_id = int(request.path.split("/")[2])
        if photo_id in self.busy:
            return Response("Service Unavailable", status=503)
        if photo_id in self.missing:
            return Response("Not Found", status=404)
        if photo_id in self.broken:
            return Response("<html>Access denied</html>", content_type="image/jpeg")
        return Response(jpeg(photo_id), content_type="image/jpeg")


@pytest.fixture
def inat(httpserver) -> FakeINat:
    return FakeINat(httpserver)


@pytest.fixture(scope="module")
def world() -> dict[int, list[dict]]:
    return make_world()


@pytest.fixture
def world_inat(httpserver, world) -> FakeINat:
    return FakeINat(httpserver, world)


def build(inat: FakeINat, dest: Path, **kwargs) -> Path:
    """A build from the fixtures: June 2019 only, so the sample is the fixtures' first usable ones."""
    options = {
        "images_per_class": N,
        "api_url": inat.api_url,
        "request_delay": 0,
        "progress": False,
        "years": (2019, 2019),
    }
    return build_odonata(dest, **{**options, **kwargs})


def build_world(inat: FakeINat, dest: Path, **kwargs) -> Path:
    """A build from the generated world: 48 photos per class over 2013-2024, at most 3 per observer."""
    options = {
        "images_per_class": 48,
        "api_url": inat.api_url,
        "request_delay": 0,
        "progress": False,
        "years": WORLD_YEARS,
        "windows_per_year": 4,
        "max_per_observer": 3,
        "splits": SPLITS,
    }
    return build_odonata(dest, **{**options, **kwargs})


def photo_path(root: Path, file: Path) -> str:
    """The URL path the photo saved as ``file`` was downloaded from (from the saved plan)."""
    plan = json.loads((root / ".plan.json").read_text())
    relative = file.relative_to(root).as_posix()
    record = next(r for r in plan["records"] if odonata._relative_file(r) == relative)
    return urlparse(record["photo_url"]).path


def image_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.parent.parent.parent == root)


def attribution(root: Path) -> list[dict]:
    with (root / "attribution.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def built(inat, tmp_path) -> Path:
    with pytest.warns(DataWarning, match="Skipped 2 of 12"):
        return build(inat, tmp_path / "odonata")


@pytest.fixture(scope="module")
def world_built(world, tmp_path_factory) -> Path:
    """One build from the generated world, for the tests that only read it (its own server, started once)."""
    server = HTTPServer()
    server.start()
    try:
        return build_world(FakeINat(server, world), tmp_path_factory.mktemp("world") / "odonata")
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------------
# Small functions
# --------------------------------------------------------------------------------------------------


def test_photo_url_sizes():
    assert odonata._photo_url("https://inaturalist-open-data.s3.amazonaws.com/photos/1/square.jpg") == (
        "https://inaturalist-open-data.s3.amazonaws.com/photos/1/medium.jpg"
    )
    assert odonata._photo_url("https://static.inaturalist.org/photos/2/square.jpeg?1563291234", "large") == (
        "https://static.inaturalist.org/photos/2/large.jpeg?1563291234"
    )
    assert odonata._photo_url("https://example.org/squareish/photos/3/square.JPG") == (
        "https://example.org/squareish/photos/3/medium.JPG"
    )


def test_photo_record_picks_the_first_cc_photo():
    observations = {o["id"]: o for o in load("observations_anisoptera.json")["results"]}
    record = odonata._photo_record(observations[2001130])
    assert record["photo_id"] == observations[2001130]["photos"][1]["id"]  # the first is all rights reserved
    assert record["license_code"] == "cc-by-sa"
    assert record["photo_url"].endswith("/medium.jpg")
    assert record["user_login"] == "pondlife" and record["taxon_name"] == "Erythemis simplicicollis"
    assert record["user_id"] == 505 and record["observed_on"] == "2019-06-08"
    assert record["observation_url"] == "https://www.inaturalist.org/observations/2001130"
    assert "CC BY-SA" in record["attribution"]
    assert odonata._photo_record(observations[2001107]) is None  # all rights reserved
    zygoptera = {o["id"]: o for o in load("observations_zygoptera.json")["results"]}
    assert odonata._photo_record(zygoptera[2001133]) is None  # CC BY-ND: no derivatives, not accepted
    assert odonata._photo_record({**observations[2001101], "quality_grade": "needs_id"}) is None
    assert odonata._photo_record({**observations[2001101], "photos": []}) is None
    assert odonata._photo_record({**observations[2001101], "observed_on": None})["observed_on"] == ""


def test_observer_of_records_and_observations():
    obs = load("observations_anisoptera.json")["results"][0]
    assert odonata._observer_of(obs) == odonata._observer_of(odonata._photo_record(obs)) == "user:101"
    assert odonata._observer_of({"observation_id": 7, "photo_id": 8, "user_login": "ann"}) == "login:ann"
    assert odonata._observer_of({"observation_id": 7, "photo_id": 8}) == "observation:7"


def test_observation_windows():
    quarters = odonata._observation_windows((2013, 2014), 4)
    assert quarters[:2] == [(2013, (1, 2, 3)), (2013, (4, 5, 6))] and len(quarters) == 8
    assert odonata._observation_windows((2020, 2020), 12)[-1] == (2020, (12,))
    assert odonata._observation_windows((2020, 2021), 1) == [(2020, tuple(range(1, 13))), (2021, tuple(range(1, 13)))]
    with pytest.raises(ValueError, match="divide 12"):
        odonata._observation_windows((2020, 2020), 5)
    with pytest.raises(ValueError, match="earlier"):
        odonata._observation_windows((2021, 2020), 4)


def test_iter_observations_pages_with_id_above(inat):
    found = list(
        odonata._iter_observations(ANISOPTERA, year=2019, months=(4, 5, 6), api_url=inat.api_url, request_delay=0,
                                   per_page=2)
    )
    assert [o["id"] for o in found] == [2001101, 2001115, 2001122, 2001130, 2001138, 2001145, 2001151, 2001160]
    pages = inat.requests("/v1/observations")  # 2001107 has no CC photo: skipped
    assert [r.args["id_above"] for r in pages] == ["0", "2001107", "2001122", "2001138", "2001151", "2001160"]
    query = pages[0].args
    assert query["taxon_id"] == str(ANISOPTERA) and query["year"] == "2019" and query["month"] == "4,5,6"
    assert query["quality_grade"] == "research" and query["photos"] == "true"
    assert query["order_by"] == "id" and query["order"] == "asc" and query["per_page"] == "2"
    assert "page" not in query  # the API refuses pages beyond 10,000 results: id_above slides instead
    assert set(query["photo_license"].split(",")) == {"cc0", "cc-by", "cc-by-nc", "cc-by-sa", "cc-by-nc-sa"}
    assert "cnn-course-helpers" in pages[0].headers["User-Agent"]


def test_iter_observations_asks_lazily(inat):
    stream = odonata._iter_observations(ANISOPTERA, api_url=inat.api_url, request_delay=0, per_page=2)
    assert next(stream)["id"] == 2001101
    assert len(inat.requests("/v1/observations")) == 1  # no page is asked for before it is needed


def test_iter_observations_stops_when_the_api_has_no_more(inat):
    found = list(odonata._iter_observations(ZYGOPTERA, api_url=inat.api_url, request_delay=0, per_page=200))
    assert len(found) == 7  # 8 observations, one with only a CC BY-ND photo
    assert len(inat.requests("/v1/observations")) == 2  # the second page is empty
    assert list(odonata._iter_observations(ZYGOPTERA, year=2018, api_url=inat.api_url, request_delay=0)) == []


def test_iter_observations_rejects_other_taxa(inat):
    stray = json.loads(json.dumps(inat.observations[ZYGOPTERA][0]))
    stray["id"] = 2001102
    inat.observations[ANISOPTERA].append(stray)  # a damselfly in the dragonfly answer
    found = [o["id"] for o in odonata._iter_observations(ANISOPTERA, api_url=inat.api_url, request_delay=0)]
    assert 2001102 not in found and 2001101 in found


def test_requests_are_spaced_by_request_delay(inat):
    start = time.monotonic()
    list(odonata._iter_observations(ANISOPTERA, api_url=inat.api_url, request_delay=0.15, per_page=2))
    assert len(inat.requests("/v1/observations")) == 6
    assert time.monotonic() - start >= 5 * 0.15


def test_taxa_are_looked_up_by_name(inat):
    throttle = odonata._Throttle(0)
    session = odonata._session(None)
    # The answer for "Anisoptera" also holds a plant genus and a family whose name starts alike.
    assert odonata._resolve_taxon_id(
        "Anisoptera", api_url=inat.api_url, session=session, throttle=throttle
    ) == (ANISOPTERA)
    assert odonata._resolve_taxon_id(
        "Zygoptera", api_url=inat.api_url, session=session, throttle=throttle
    ) == (ZYGOPTERA)


# --------------------------------------------------------------------------------------------------
# Sampling across years and observers
# --------------------------------------------------------------------------------------------------


def oldest_first(world: dict[int, list[dict]], taxon: int, n: int) -> list[dict]:
    """What the first builder took: the first ``n`` usable observations by id."""
    return sorted((o for o in world[taxon] if odonata._photo_record(o)), key=lambda o: o["id"])[:n]


def test_the_world_is_one_where_the_oldest_observations_mislead(world):
    """The generated world shows the problem: the oldest 48 come from few years and few observers."""
    oldest = oldest_first(world, ANISOPTERA, 48)
    assert len({o["observed_on"][:4] for o in oldest}) <= 2
    assert max(Counter(odonata._observer_of(o) for o in oldest).values()) >= 8
    assert len({odonata._observer_of(o) for o in world[ANISOPTERA]}) > 50


def sample(inat: FakeINat, n: int = 48, taxon: int = ANISOPTERA, **kwargs) -> list[dict]:
    options = {"years": WORLD_YEARS, "windows_per_year": 4, "max_per_observer": 3}
    return odonata._sample_observations(taxon, n, api_url=inat.api_url, request_delay=0, **{**options, **kwargs})


def test_sample_spreads_over_years_and_observers(world_inat, world):
    found = sample(world_inat)
    assert len(found) == len({o["id"] for o in found}) == 48
    per_observer = Counter(odonata._observer_of(o) for o in found)
    assert max(per_observer.values()) <= 3 and len(per_observer) >= 16
    per_year = Counter(o["observed_on"][:4] for o in found)
    assert sorted(per_year) == [str(y) for y in range(WORLD_YEARS[0], WORLD_YEARS[1] + 1)]
    assert max(per_year.values()) - min(per_year.values()) <= 2  # an even share per year
    quarters = Counter((o["observed_on"][:4], (int(o["observed_on"][5:7]) - 1) // 3) for o in found)
    assert len(quarters) >= 40  # most of the 48 quarters give one
    assert [o["id"] for o in found] != [o["id"] for o in oldest_first(world, ANISOPTERA, 48)]


def test_sample_passes_on_the_share_of_short_windows(world_inat):
    # 2011-2012 are empty in this world: their share goes to the other years.
    found = sample(world_inat, n=40, years=(2011, 2014), windows_per_year=1, max_per_observer=None)
    per_year = Counter(o["observed_on"][:4] for o in found)
    assert len(found) == 40 and set(per_year) == {"2013", "2014"} and per_year["2013"] == per_year["2014"]


def test_sample_returns_fewer_when_the_cap_runs_dry(world_inat, world):
    available = {odonata._observer_of(o) for o in world[ZYGOPTERA] if o["observed_on"].startswith("2015")}
    found = sample(world_inat, n=1000, taxon=ZYGOPTERA, years=(2015, 2015), max_per_observer=1)
    assert len(found) == len(available)  # one per observer, every observer of 2015
    assert max(Counter(odonata._observer_of(o) for o in found).values()) == 1


def test_sample_is_deterministic(world_inat):
    assert [o["id"] for o in sample(world_inat)] == [o["id"] for o in sample(world_inat)]


def test_sample_rejects_a_bad_cap(world_inat):
    with pytest.raises(ValueError, match="max_per_observer"):
        sample(world_inat, max_per_observer=0)


# --------------------------------------------------------------------------------------------------
# Splitting by observer
# --------------------------------------------------------------------------------------------------


def observer_records(seed: int = 0, n_observers: int = 300) -> list[dict]:
    """Photo records of observers with 1 to 10 photos each, of one class or both."""
    rng = random.Random(seed)
    records, obs_id = [], 0
    for user in range(n_observers):
        labels = rng.choice([("a",), ("b",), ("a", "b")])
        for _ in range(rng.choice([1, 1, 1, 2, 3, 5, 10])):
            obs_id += 1
            records.append({"label": rng.choice(labels), "observation_id": obs_id, "photo_id": obs_id, "user_id": user})
    return records


def split_counts(records: list[dict], label: str) -> tuple[int, ...]:
    splits = [r["split"] for r in records if r["label"] == label]
    return tuple(splits.count(s) for s in ("train", "validation", "test"))


@pytest.mark.parametrize("fractions", [(0.7, 0.15, 0.15), (0.7125, 0.0375, 0.25)])
def test_assign_splits_keeps_each_observer_in_one_split(fractions):
    records = observer_records()
    split = odonata._assign_splits(records, fractions, seed=1)
    assert sorted(r["observation_id"] for r in split) == sorted(r["observation_id"] for r in records)
    assert odonata._observers_in_several_splits(split) == {}
    for label in ("a", "b"):
        n = sum(r["label"] == label for r in records)
        target = odonata._split_counts(n, fractions)
        for got, want in zip(split_counts(split, label), target, strict=True):
            assert abs(got - want) <= max(2, 0.02 * want), (label, split_counts(split, label), target)


def test_assign_splits_is_deterministic_for_a_seed():
    records = observer_records()
    first = {r["observation_id"]: r["split"] for r in odonata._assign_splits(records, SPLITS, seed=3)}
    again = {r["observation_id"]: r["split"] for r in odonata._assign_splits(list(reversed(records)), SPLITS, seed=3)}
    other = {r["observation_id"]: r["split"] for r in odonata._assign_splits(records, SPLITS, seed=4)}
    assert first == again and first != other
    assert "split" not in records[0]  # the input is not modified


def test_assign_splits_without_observers_is_stratified_and_exact():
    records = [
        {"label": label, "observation_id": i, "photo_id": i} for label in ("a", "b") for i in range(1000)
    ]
    first = odonata._assign_splits(records, (0.7, 0.15, 0.15), seed=3)
    for label in ("a", "b"):
        assert split_counts(first, label) == (700, 150, 150)
    six = odonata._assign_splits(records[:6], (0.7, 0.15, 0.15), seed=0)
    assert sorted(r["split"] for r in six) == ["test", "train", "train", "train", "train", "validation"]


def test_assign_splits_divides_an_observer_too_big_to_place():
    records = observer_records(n_observers=100)
    big = [{"label": "a", "observation_id": 10_000 + i, "photo_id": 10_000 + i, "user_id": 999} for i in range(600)]
    split = odonata._assign_splits(records + big, SPLITS, seed=0)
    assert list(odonata._observers_in_several_splits(split)) == ["user:999"]  # only the one that does not fit
    n = sum(r["label"] == "a" for r in records + big)
    target = odonata._split_counts(n, SPLITS)
    assert all(abs(g - w) <= max(2, 0.02 * w) for g, w in zip(split_counts(split, "a"), target, strict=True))


@pytest.mark.parametrize("fractions", [(0.5, 0.5), (0.8, 0.3, 0.1), (1.2, -0.1, -0.1)])
def test_assign_splits_rejects_bad_fractions(fractions):
    with pytest.raises(ValueError, match="add up to 1"):
        odonata._assign_splits([], fractions, seed=0)


def test_an_empty_split_stays_empty():
    split = odonata._assign_splits(observer_records(), (0.8, 0.0, 0.2), seed=0)
    assert not [r for r in split if r["split"] == "validation"]
    assert odonata._observers_in_several_splits(split) == {}


# --------------------------------------------------------------------------------------------------
# build_odonata on the generated world: years, observers, splits
# --------------------------------------------------------------------------------------------------


def test_no_observer_is_in_two_splits(world_built):
    rows = attribution(world_built)
    splits_of: dict[str, set[str]] = {}
    for row in rows:
        splits_of.setdefault(row["user_login"], set()).add(row["split"])
    assert all(len(s) == 1 for s in splits_of.values()), {u: s for u, s in splits_of.items() if len(s) > 1}
    assert all(row["user_id"].isdigit() for row in rows)  # recorded, so the split can be audited
    assert len({row["observation_id"] for row in rows}) == len(rows)  # one photo per observation
    manifest = json.loads((world_built / "dataset.json").read_text())
    assert manifest["divided_observers"] == {}


def test_years_and_observers_are_spread(world_built):
    rows = attribution(world_built)
    for label in ("damselflies", "dragonflies"):
        mine = [row for row in rows if row["label"] == label]
        assert max(Counter(row["user_login"] for row in mine).values()) <= 3
        years = Counter(row["observed_on"][:4] for row in mine)
        assert len(years) == 12 and max(years.values()) <= 6
    sample = json.loads((world_built / "dataset.json").read_text())["sample"]
    assert sample["dragonflies"]["most_photos_from_one_observer"] <= 3
    assert sample["dragonflies"]["observers"] >= 16 and len(sample["dragonflies"]["photos_per_year"]) == 12


def test_split_fractions_are_respected(world_built):
    counts = json.loads((world_built / "dataset.json").read_text())["counts"]
    for label in ("damselflies", "dragonflies"):
        got = [counts[s][label] for s in ("train", "validation", "test")]
        assert sum(got) == 48
        for have, want in zip(got, odonata._split_counts(48, SPLITS), strict=True):
            assert abs(have - want) <= 2, (label, got)


def test_the_build_is_deterministic_for_a_seed(world_inat, world_built, tmp_path):
    """The same seed gives the same folder (from another server: only the answers matter)."""
    def files(root: Path) -> list[str]:
        return sorted(p.relative_to(root).as_posix() for p in image_files(root))

    again = build_world(world_inat, tmp_path / "again")
    assert files(again) == files(world_built)
    assert [r["file"] for r in attribution(again)] == [r["file"] for r in attribution(world_built)]
    other = build_world(world_inat, tmp_path / "other", seed=1)
    assert files(other) != files(world_built)  # another split...
    names = sorted(p.name for p in image_files(world_built))
    assert sorted(p.name for p in image_files(other)) == names  # ...of the same photos


def test_an_observer_too_big_to_place_is_named(httpserver, world, tmp_path):
    one_big = json.loads(json.dumps(world))
    for observations in one_big.values():
        for i, obs in enumerate(observations):
            if i % 5:  # four observations in five are the same person's
                obs["user"] = {"id": 1, "login": "early_bird", "name": "Early Bird"}
    inat = FakeINat(httpserver, {int(k): v for k, v in one_big.items()})
    with pytest.warns(DataWarning, match=r"1 observers have too many photos .* user:1 \(3\d photos"):
        root = build_world(inat, tmp_path / "odonata", images_per_class=20, years=(2013, 2014),
                           windows_per_year=1, max_per_observer=None)
    manifest = json.loads((root / "dataset.json").read_text())
    assert list(manifest["divided_observers"]) == ["user:1"]
    rows = attribution(root)
    others = {row["user_login"]: row["split"] for row in rows if row["user_login"] != "early_bird"}
    assert all(len({row["split"] for row in rows if row["user_login"] == who}) == 1 for who in others)


# --------------------------------------------------------------------------------------------------
# A folder planned by the first builder
# --------------------------------------------------------------------------------------------------


def first_builder_plan(world: dict[int, list[dict]], root: str, n: int = 12) -> dict:
    """A plan as the first builder saved it: the oldest observations, split at random, no observer ids."""
    records = []
    for label, taxon in (("damselflies", ZYGOPTERA), ("dragonflies", ANISOPTERA)):
        for i, obs in enumerate(oldest_first(world, taxon, n)):
            record = odonata._photo_record(obs)
            del record["user_id"], record["observed_on"]
            record["photo_url"] = record["photo_url"].replace(PHOTO_HOSTS[0], root)
            records.append({**record, "label": label, "split": ("train", "train", "validation", "test")[i % 4]})
    settings = {"images_per_class": 48, "splits": list(SPLITS), "seed": 0, "photo_size": "medium"}
    return {"settings": settings, "taxon_ids": {"damselflies": ZYGOPTERA, "dragonflies": ANISOPTERA},
            "records": records, "skipped": {}}


def write_first_builder_folder(dest: Path, plan: dict, downloaded: int) -> list[Path]:
    dest.mkdir(parents=True)
    (dest / ".plan.json").write_text(json.dumps(plan))
    written = []
    for record in plan["records"][:downloaded]:
        path = dest / odonata._relative_file(record)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(jpeg(record["photo_id"]))
        written.append(path)
    return written


def test_a_partial_first_builder_folder_is_planned_again(world_inat, world, tmp_path):
    dest = tmp_path / "odonata"
    old = first_builder_plan(world, world_inat.root)
    write_first_builder_folder(dest, old, downloaded=20)
    (dest / "notes.txt").write_text("mine")
    (dest / "train" / "dragonflies" / "my_photo.jpg").write_bytes(jpeg(1))
    with pytest.warns(DataWarning, match=r"older version .* already downloaded, \d+ stay") as record:
        build_world(world_inat, dest)
    found = re.search(r"(\d+) stay where they are, (\d+) were moved", str(record[0].message))
    reused_count = int(found.group(1)) + int(found.group(2))
    plan = json.loads((dest / ".plan.json").read_text())
    assert plan["settings"]["version"] == odonata._PLAN_VERSION
    planned = {odonata._relative_file(r) for r in plan["records"]}
    ours = {p.relative_to(dest).as_posix() for p in image_files(dest)} - {"train/dragonflies/my_photo.jpg"}
    assert ours == planned  # no photo of the old plan is left where the new one does not want it
    assert (dest / "notes.txt").read_text() == "mine" and (dest / "train" / "dragonflies" / "my_photo.jpg").exists()
    assert odonata._observers_in_several_splits(plan["records"]) == {}
    reused = {r["photo_id"] for r in old["records"][:20]} & {r["photo_id"] for r in plan["records"]}
    assert reused_count == len(reused) > 0  # the world's oldest observations include some the new plan keeps
    asked = {int(r.path.split("/")[2]) for r in world_inat.requests("/photos/")}
    assert not asked & reused  # photos already downloaded are not downloaded again


def test_a_complete_first_builder_folder_is_planned_again(world_inat, world, tmp_path):
    dest = tmp_path / "odonata"
    old = first_builder_plan(world, world_inat.root, n=4)
    write_first_builder_folder(dest, old, downloaded=8)
    (dest / "dataset.json").write_text(json.dumps({"name": "odonata", "settings": old["settings"]}))
    with pytest.warns(DataWarning, match="older version"):
        build_world(world_inat, dest)
    manifest = json.loads((dest / "dataset.json").read_text())
    assert manifest["settings"]["version"] == odonata._PLAN_VERSION and manifest["divided_observers"] == {}
    assert sum(len(list((dest / s / c).iterdir())) for s in ("train", "validation", "test")
               for c in ("damselflies", "dragonflies")) == 96


def test_a_complete_first_builder_folder_without_its_plan_is_refused(world_inat, world, tmp_path):
    dest = tmp_path / "odonata"
    old = first_builder_plan(world, world_inat.root, n=4)
    write_first_builder_folder(dest, old, downloaded=8)
    (dest / ".plan.json").unlink()
    (dest / "dataset.json").write_text(json.dumps({"name": "odonata", "settings": old["settings"]}))
    with pytest.raises(ValueError, match=r"older version.*Delete the folder"):
        build_world(world_inat, dest)
    assert len(image_files(dest)) == 8 and not world_inat.server.log  # nothing touched, nothing asked


# --------------------------------------------------------------------------------------------------
# build_odonata on the fixtures: layout, attribution, failures, resuming
# --------------------------------------------------------------------------------------------------


def test_layout_and_counts(built):
    assert sorted(p.name for p in built.iterdir()) == [
        ".plan.json",
        "attribution.csv",
        "dataset.json",
        "test",
        "train",
        "validation",
    ]
    for split in ("train", "validation", "test"):
        assert sorted(p.name for p in (built / split).iterdir()) == ["damselflies", "dragonflies"]
    files = image_files(built)
    assert len(files) == 2 * N - 2  # one broken and one missing photo skipped
    for path in files:
        assert re.fullmatch(r"\d+_\d+\.jpg", path.name)
        with Image.open(path) as im:
            assert im.format == "JPEG"
    manifest = json.loads((built / "dataset.json").read_text())
    counts = manifest["counts"]
    for split, per_class in counts.items():
        for label, count in per_class.items():
            assert count == len(list((built / split / label).iterdir()))
    plan = json.loads((built / ".plan.json").read_text())
    assert odonata._observers_in_several_splits(plan["records"]) == {}
    for label in ("damselflies", "dragonflies"):
        assert sum(r["label"] == label for r in plan["records"]) == N
        assert sum(counts[s][label] for s in counts) == N - 1
    assert manifest["class_names"] == ["damselflies", "dragonflies"]
    assert manifest["taxon_ids"] == {"damselflies": ZYGOPTERA, "dragonflies": ANISOPTERA}
    assert len(manifest["skipped"]) == 2


def test_attribution_csv(built):
    rows = attribution(built)
    with (built / "attribution.csv").open(newline="", encoding="utf-8") as f:
        assert tuple(csv.DictReader(f).fieldnames) == odonata._ATTRIBUTION_COLUMNS
    assert sorted(row["file"] for row in rows) == sorted(
        p.relative_to(built).as_posix() for p in image_files(built)
    )
    for row in rows:
        split, label, name = row["file"].split("/")
        assert (split, label) == (row["split"], row["label"])
        assert name == f"{row['observation_id']}_{row['photo_id']}.jpg"
        assert row["license_code"] in odonata._LICENSES
        assert row["attribution"] and row["user_login"] and row["taxon_name"]
        assert row["user_id"].isdigit() and re.fullmatch(r"2019-06-\d\d", row["observed_on"])
        assert row["observation_url"] == f"https://www.inaturalist.org/observations/{row['observation_id']}"
        assert re.search(r"/photos/\d+/medium\.jpe?g", row["photo_url"])
    observation_ids = {int(row["observation_id"]) for row in rows}
    assert not observation_ids & NO_CC_OBS
    assert BROKEN_OBS not in observation_ids and MISSING_OBS not in observation_ids
    by_obs = {int(row["observation_id"]): row for row in rows}
    assert by_obs[2001130]["license_code"] == "cc-by-sa"  # the second photo of that observation
    assert {row["label"] for row in rows if row["taxon_name"] == "Ischnura elegans"} == {"damselflies"}
    assert {row["label"] for row in rows if row["taxon_name"] == "Anax imperator"} == {"dragonflies"}


def test_broken_photos_are_named_in_one_warning(inat, tmp_path):
    with pytest.warns(DataWarning) as record:
        build(inat, tmp_path / "odonata")
    messages = [str(w.message) for w in record if issubclass(w.category, DataWarning)]
    assert len(messages) == 1
    assert f"/photos/{photo_id_of(BROKEN_OBS)}/medium.jpg (not a readable image)" in messages[0]
    assert f"/photos/{photo_id_of(MISSING_OBS)}/medium.jpg (HTTP 404" in messages[0]
    # The 404 was not retried.
    assert len(inat.requests(f"/photos/{photo_id_of(MISSING_OBS)}/")) == 1


def test_second_call_makes_no_request(inat, built):
    before = len(inat.server.log)
    assert build(inat, built) == built
    assert len(inat.server.log) == before


def test_resume_fetches_only_what_is_missing(inat, built):
    removed = image_files(built)[:3]
    for path in removed:
        path.unlink()
    (built / "dataset.json").unlink()
    before = len(inat.server.log)
    with pytest.warns(DataWarning, match="Skipped 2 of 12"):  # the two bad photos: remembered, not asked
        build(inat, built)
    new = sorted(request.path for request, _ in inat.server.log[before:])
    assert new == sorted(photo_path(built, p) for p in removed)
    assert all(path.exists() for path in removed)
    assert (built / "dataset.json").exists()


def test_interrupted_build_is_completed(inat, tmp_path, monkeypatch):
    dest = tmp_path / "odonata"
    real = odonata.download_file
    calls = []

    def interrupted(url, target, **kwargs):
        calls.append(url)
        if len(calls) == 5:
            raise KeyboardInterrupt  # the learner stops the cell
        return real(url, target, **kwargs)

    monkeypatch.setattr(odonata, "download_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(inat, dest)
    assert not (dest / "dataset.json").exists() and (dest / ".plan.json").exists()
    present = image_files(dest)
    remembered = json.loads((dest / ".plan.json").read_text()).get("skipped", {})
    assert len(present) + len(remembered) == 4  # the photos handled before the stop
    assert not [p for p in dest.rglob("*") if p.suffix in (".part", ".tmp")]
    monkeypatch.setattr(odonata, "download_file", real)
    before = len(inat.server.log)
    with pytest.warns(DataWarning, match="Skipped 2 of 12"):
        build(inat, dest)
    new = [request.path for request, _ in inat.server.log[before:]]
    assert all(path.startswith("/photos/") for path in new)  # the API is not asked again
    assert len(new) == 2 * N - 4  # those 4 are not asked for again
    assert len(image_files(dest)) == 2 * N - 2 and (dest / "dataset.json").exists()


@pytest.mark.parametrize("folder", ["built", "world_built"])
def test_layout_loads_by_folder_scanning(folder, request):
    """Any loader that lists split/class folders (e.g. image_dataset_from_directory) sees 2 classes."""
    built = request.getfixturevalue(folder)
    for split in ("train", "validation", "test"):
        classes = sorted(
            p.name for p in (built / split).iterdir() if p.is_dir() and not p.name.startswith(".")
        )
        assert classes == ["damselflies", "dragonflies"]
        for label in classes:
            names = [p.name for p in (built / split / label).iterdir()]
            assert all(name.endswith(".jpg") for name in names)
            # In the fixtures' 6 photos per class, a split's only photo of a class may be a skipped one.
            assert names or folder == "built"


def test_api_down_raises_a_clear_error(inat, tmp_path):
    inat.fail_api = True
    with pytest.raises(DataUnavailableError) as info:
        build(inat, tmp_path / "odonata")
    message = str(info.value)
    assert "HTTP 503" in message and inat.api_url in message and "DATA_DIR" in message
    assert info.value.transient
    assert not (tmp_path / "odonata" / "dataset.json").exists()
    assert len(inat.requests("/v1/observations")) == 4  # retried


def test_photo_network_failure_raises_and_keeps_what_was_downloaded(inat, tmp_path):
    flaky_id = photo_id_of(2001101)
    inat.busy.add(flaky_id)
    dest = tmp_path / "odonata"
    with pytest.raises(DataUnavailableError, match="network") as info:
        build(inat, dest)
    assert info.value.transient and f"/photos/{flaky_id}/" in str(info.value)
    assert not (dest / "dataset.json").exists()
    assert len(image_files(dest)) == 2 * N - 3
    assert len(inat.requests(f"/photos/{flaky_id}/")) == 3  # retried twice
    inat.busy.clear()
    before = len(inat.server.log)
    with pytest.warns(DataWarning, match="Skipped 2"):
        build(inat, dest)  # resumes: only the photo that failed is fetched
    assert [request.path for request, _ in inat.server.log[before:]] == [f"/photos/{flaky_id}/medium.jpg"]
    assert len(image_files(dest)) == 2 * N - 2


def test_complete_folder_with_other_settings_is_kept(inat, built):
    with pytest.warns(DataWarning, match="already holds"):
        build(inat, built, images_per_class=3)
    assert len(image_files(built)) == 2 * N - 2


def test_partial_folder_with_other_settings_is_refused(inat, tmp_path):
    dest = tmp_path / "odonata"
    inat.busy.add(photo_id_of(2001101))
    with pytest.raises(DataUnavailableError):
        build(inat, dest)
    with pytest.raises(ValueError, match="other settings"):
        build(inat, dest, max_per_observer=1)


def test_per_class_counts(inat, tmp_path):
    with pytest.warns(DataWarning, match="Skipped"):
        root = build(inat, tmp_path / "odonata", images_per_class={"damselflies": 3, "dragonflies": 5})
    plan = json.loads((root / ".plan.json").read_text())
    asked = {label: sum(r["label"] == label for r in plan["records"]) for label in ("damselflies", "dragonflies")}
    assert asked == {"damselflies": 3, "dragonflies": 5}
    assert plan["settings"]["images_per_class"] == {"damselflies": 3, "dragonflies": 5}
    with pytest.raises(ValueError, match="a count for each"):
        build(inat, tmp_path / "other", images_per_class={"dragonflies": 5})


def test_bad_sampling_settings_are_refused_before_any_request(inat, tmp_path):
    with pytest.raises(ValueError, match="divide 12"):
        build(inat, tmp_path / "odonata", windows_per_year=5)
    with pytest.raises(ValueError, match="max_per_observer"):
        build(inat, tmp_path / "odonata", max_per_observer=0)
    assert not inat.server.log


# --------------------------------------------------------------------------------------------------
# Profiles and the article's data handling (chapter 04)
# --------------------------------------------------------------------------------------------------


def test_full_profile_asks_for_the_articles_counts():
    from helpers import articles

    notes = articles.get("odonata").notes
    full = odonata.PROFILE_BUILDS["full"]
    assert full["images_per_class"] == {"damselflies": 8462, "dragonflies": 9197} == dict(notes["original_images"])
    train, val, test = full["splits"]
    assert test == 0.25 and val == pytest.approx(0.05 * (1 - test)) and sum(full["splits"]) == pytest.approx(1)
    assert odonata.PROFILE_BUILDS["quick"]["images_per_class"] == 1000
    assert odonata.PROFILE_BUILDS["quick"]["folder"] != full["folder"]


def test_get_builds_each_profile_into_its_own_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_HOME", str(tmp_path))
    calls = []
    monkeypatch.setattr(odonata, "build_odonata", lambda dest, **kw: calls.append((dest, kw)) or dest)
    assert odonata.get("full") == tmp_path / "odonata-full"
    assert calls[-1][1]["images_per_class"] == odonata._ARTICLE_IMAGES
    assert odonata.get("quick", progress=False) == tmp_path / "odonata"
    assert calls[-1][1] == {"images_per_class": 1000, "splits": (0.7, 0.15, 0.15), "windows_per_year": 4,
                            "max_per_observer": 5, "progress": False}
    odonata.get("quick", max_per_observer=2)
    assert calls[-1][1]["max_per_observer"] == 2  # an option wins over the profile's setting
    assert odonata.get("full", data_dir=tmp_path) == tmp_path and len(calls) == 3  # DATA_DIR wins


def test_mirror_split_gives_the_articles_counts():
    from helpers import articles

    notes = articles.get("odonata").notes
    labels = [0] * 8462 + [1] * 9197
    split = odonata.mirror_split(labels, ("damselflies", "dragonflies"), seed=42)
    assert (len(split.train), len(split.test)) == (notes["train_images"]["total"], notes["test_images"])
    assert np.bincount(split.train_labels).tolist() == [12694, 13797]
    assert np.bincount(split.test_labels).tolist() == [4230, 4597]
    rows = np.concatenate([split.train, split.test])
    assert len({tuple(r) for r in rows.tolist()}) == 2 * len(labels)  # every photo twice: as it is and mirrored
    leaked = split.test_leaked.mean()
    assert 0.72 < leaked < 0.78  # about three in four test images have their twin in training


def test_mirror_split_leak_and_determinism():
    labels = [0, 0, 1, 1, 1, 0]
    split = odonata.mirror_split(labels, ("a", "b"), seed=1, test_share=0.5)
    for row, leaked in zip(split.test.tolist(), split.test_leaked, strict=True):
        assert leaked == ([row[0], 1 - row[1]] in split.train.tolist())
    again = odonata.mirror_split(labels, ("a", "b"), seed=1, test_share=0.5)
    assert np.array_equal(split.test, again.test) and np.array_equal(split.train, again.train)
    assert (np.diff(split.test[:, 0]) >= 0).all()  # test rows in photo order
    hand = odonata._MirrorSplit(train=np.array([[0, 0], [1, 1]]), test=np.array([[0, 1], [1, 1], [2, 0]]),
                               labels=np.array([0, 1, 1]))
    assert hand.test_leaked.tolist() == [True, False, False]


def test_draw_chunks_like_the_article():
    labels = np.array([0] * 12694 + [1] * 13797)
    chunks = odonata.draw_chunks(labels, n_chunks=6, per_class=2000, seed=0)
    assert [(len(c.train), len(c.val)) for c in chunks] == [(3800, 200)] * 6
    used = np.concatenate([np.concatenate([c.train, c.val]) for c in chunks])
    assert len(used) == len(set(used.tolist())) == 24000  # no image in two chunks; 2,491 never used
    for c in chunks:
        assert np.bincount(labels[np.concatenate([c.train, c.val])]).tolist() == [2000, 2000]
        assert not set(c.train.tolist()) & set(c.val.tolist())
    with pytest.raises(ValueError, match="fewer than"):
        odonata.draw_chunks(labels[:100], n_chunks=6, per_class=20)
