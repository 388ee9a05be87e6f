"""Tests for helpers.datasets.odonata: building dragonflies-vs-damselflies from iNaturalist open data.

A local server (pytest-httpserver) plays the iNaturalist API with the recorded-style responses in
``tests/fixtures/inat/`` (served page by page, as the API does with ``id_above``) and the photo
hosts (small generated JPEGs). Nothing here touches the network.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from PIL import Image
from werkzeug import Request, Response

from helpers.datasets.fetch import DataUnavailableError
from helpers.datasets.files import DataWarning
from helpers.datasets.odonata import (
    ATTRIBUTION_COLUMNS,
    LICENSES,
    assign_splits,
    build_odonata,
    fetch_observations,
    photo_record,
    photo_url,
)

odonata = importlib.import_module("helpers.datasets.odonata")

FIXTURES = Path(__file__).parent / "fixtures" / "inat"
ANISOPTERA, ZYGOPTERA = 910001, 910002  # the stand-in ids of the fixtures
PHOTO_HOSTS = ("https://inaturalist-open-data.s3.amazonaws.com", "https://static.inaturalist.org")
BROKEN_OBS, MISSING_OBS = 2001122, 2001117  # served as a non-image, and as HTTP 404
NO_CC_OBS = {2001107, 2001133}  # all rights reserved; CC BY-ND only
N = 6


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def photo_id_of(obs_id: int) -> int:
    for name in ("observations_anisoptera.json", "observations_zygoptera.json"):
        for obs in load(name)["results"]:
            if obs["id"] == obs_id:
                return next(p["id"] for p in obs["photos"] if p["license_code"] in LICENSES)
    raise KeyError(obs_id)


def jpeg(seed: int) -> bytes:
    image = Image.new("RGB", (40, 30), ((seed * 37) % 256, (seed * 91) % 256, (seed * 13) % 256))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


class FakeINat:
    """Answers /v1/taxa, /v1/observations and /photos/<id>/<size>.<ext> like iNaturalist would."""

    def __init__(self, httpserver) -> None:
        self.server = httpserver
        self.root = httpserver.url_for("").rstrip("/")
        self.observations = {
            ANISOPTERA: load("observations_anisoptera.json")["results"],
            ZYGOPTERA: load("observations_zygoptera.json")["results"],
        }
        self.fail_api = False
        self.busy: set[int] = set()  # photo ids answered with 503
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
        args = parse_qs(request.query_string.decode())
        taxon = int(args["taxon_id"][0])
        above = int(args.get("id_above", ["0"])[0])
        per_page = int(args["per_page"][0])
        matching = sorted((o for o in self.observations[taxon] if o["id"] > above), key=lambda o: o["id"])
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
        if photo_id == photo_id_of(MISSING_OBS):
            return Response("Not Found", status=404)
        if photo_id == photo_id_of(BROKEN_OBS):
            return Response("<html>Access denied</html>", content_type="image/jpeg")
        return Response(jpeg(photo_id), content_type="image/jpeg")


@pytest.fixture
def inat(httpserver) -> FakeINat:
    return FakeINat(httpserver)


def build(inat: FakeINat, dest: Path, **kwargs) -> Path:
    options = {"images_per_class": N, "api_url": inat.api_url, "request_delay": 0, "progress": False}
    return build_odonata(dest, **{**options, **kwargs})


def photo_path(root: Path, file: Path) -> str:
    """The URL path the photo saved as ``file`` was downloaded from (from the saved plan)."""
    plan = json.loads((root / ".plan.json").read_text())
    relative = file.relative_to(root).as_posix()
    record = next(r for r in plan["records"] if odonata._relative_file(r) == relative)
    return urlparse(record["photo_url"]).path


def image_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.parent.parent.parent == root)


@pytest.fixture
def built(inat, tmp_path) -> Path:
    with pytest.warns(DataWarning, match="Skipped 2 of 12"):
        return build(inat, tmp_path / "odonata")


# --------------------------------------------------------------------------------------------------
# Small functions
# --------------------------------------------------------------------------------------------------


def test_photo_url_sizes():
    assert photo_url("https://inaturalist-open-data.s3.amazonaws.com/photos/1/square.jpg") == (
        "https://inaturalist-open-data.s3.amazonaws.com/photos/1/medium.jpg"
    )
    assert photo_url("https://static.inaturalist.org/photos/2/square.jpeg?1563291234", "large") == (
        "https://static.inaturalist.org/photos/2/large.jpeg?1563291234"
    )
    assert photo_url("https://example.org/squareish/photos/3/square.JPG") == (
        "https://example.org/squareish/photos/3/medium.JPG"
    )


def test_photo_record_picks_the_first_cc_photo():
    observations = {o["id"]: o for o in load("observations_anisoptera.json")["results"]}
    record = photo_record(observations[2001130])
    assert record["photo_id"] == observations[2001130]["photos"][1]["id"]  # the first is all rights reserved
    assert record["license_code"] == "cc-by-sa"
    assert record["photo_url"].endswith("/medium.jpg")
    assert record["user_login"] == "pondlife" and record["taxon_name"] == "Erythemis simplicicollis"
    assert record["observation_url"] == "https://www.inaturalist.org/observations/2001130"
    assert "CC BY-SA" in record["attribution"]
    assert photo_record(observations[2001107]) is None  # all rights reserved
    zygoptera = {o["id"]: o for o in load("observations_zygoptera.json")["results"]}
    assert photo_record(zygoptera[2001133]) is None  # CC BY-ND: no derivatives, not accepted
    assert photo_record({**observations[2001101], "quality_grade": "needs_id"}) is None
    assert photo_record({**observations[2001101], "photos": []}) is None


def test_assign_splits_is_stratified_and_deterministic():
    records = [
        {"label": label, "observation_id": i, "photo_id": i} for label in ("a", "b") for i in range(1000)
    ]
    first = assign_splits(records, (0.7, 0.15, 0.15), seed=3)
    again = assign_splits(list(reversed(records)), (0.7, 0.15, 0.15), seed=3)
    key = {(r["label"], r["observation_id"]): r["split"] for r in first}
    assert key == {(r["label"], r["observation_id"]): r["split"] for r in again}
    for label in ("a", "b"):
        splits = [r["split"] for r in first if r["label"] == label]
        assert (splits.count("train"), splits.count("validation"), splits.count("test")) == (700, 150, 150)
    other = assign_splits(records, (0.7, 0.15, 0.15), seed=4)
    assert key != {(r["label"], r["observation_id"]): r["split"] for r in other}
    six = assign_splits(records[:6], (0.7, 0.15, 0.15), seed=0)
    assert sorted(r["split"] for r in six) == ["test", "train", "train", "train", "train", "validation"]
    assert "split" not in records[0]  # the input is not modified


@pytest.mark.parametrize("fractions", [(0.5, 0.5), (0.8, 0.3, 0.1), (1.2, -0.1, -0.1)])
def test_assign_splits_rejects_bad_fractions(fractions):
    with pytest.raises(ValueError, match="add up to 1"):
        assign_splits([], fractions, seed=0)


def test_fetch_observations_pages_with_id_above(inat):
    found = fetch_observations(ANISOPTERA, 5, api_url=inat.api_url, request_delay=0, per_page=2)
    assert [o["id"] for o in found] == [
        2001101,
        2001115,
        2001122,
        2001130,
        2001138,
    ]  # 2001107 has no CC photo
    pages = inat.requests("/v1/observations")
    assert [r.args["id_above"] for r in pages] == ["0", "2001107", "2001122"]
    query = pages[0].args
    assert query["taxon_id"] == str(ANISOPTERA)
    assert query["quality_grade"] == "research" and query["photos"] == "true"
    assert query["order_by"] == "id" and query["order"] == "asc" and query["per_page"] == "2"
    assert set(query["photo_license"].split(",")) == {"cc0", "cc-by", "cc-by-nc", "cc-by-sa", "cc-by-nc-sa"}
    assert "cnn-course-helpers" in pages[0].headers["User-Agent"]


def test_fetch_observations_stops_when_the_api_has_no_more(inat):
    found = fetch_observations(ZYGOPTERA, 100, api_url=inat.api_url, request_delay=0, per_page=200)
    assert len(found) == 7  # 8 observations, one with only a CC BY-ND photo
    assert len(inat.requests("/v1/observations")) == 2  # the second page is empty


def test_fetch_observations_rejects_other_taxa(inat):
    stray = json.loads(json.dumps(inat.observations[ZYGOPTERA][0]))
    stray["id"] = 2001102
    inat.observations[ANISOPTERA].append(stray)  # a damselfly in the dragonfly answer
    found = fetch_observations(ANISOPTERA, 3, api_url=inat.api_url, request_delay=0)
    assert 2001102 not in [o["id"] for o in found]


def test_requests_are_spaced_by_request_delay(inat):
    start = time.monotonic()
    fetch_observations(ANISOPTERA, 8, api_url=inat.api_url, request_delay=0.15, per_page=2)
    assert len(inat.requests("/v1/observations")) == 5
    assert time.monotonic() - start >= 4 * 0.15


def test_taxa_are_looked_up_by_name(inat):
    throttle = odonata._Throttle(0)
    session = odonata._session(None)
    # The answer for "Anisoptera" also holds a plant genus and a family whose name starts alike.
    assert odonata.resolve_taxon_id(
        "Anisoptera", api_url=inat.api_url, session=session, throttle=throttle
    ) == (ANISOPTERA)
    assert odonata.resolve_taxon_id(
        "Zygoptera", api_url=inat.api_url, session=session, throttle=throttle
    ) == (ZYGOPTERA)


# --------------------------------------------------------------------------------------------------
# build_odonata
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
    for label in ("damselflies", "dragonflies"):
        planned = [r["split"] for r in plan["records"] if r["label"] == label]
        assert (planned.count("train"), planned.count("validation"), planned.count("test")) == (4, 1, 1)
        assert sum(counts[s][label] for s in counts) == N - 1
    assert manifest["class_names"] == ["damselflies", "dragonflies"]
    assert manifest["taxon_ids"] == {"damselflies": ZYGOPTERA, "dragonflies": ANISOPTERA}
    assert len(manifest["skipped"]) == 2


def test_attribution_csv(built):
    with (built / "attribution.csv").open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == ATTRIBUTION_COLUMNS
        rows = list(reader)
    assert sorted(row["file"] for row in rows) == sorted(
        p.relative_to(built).as_posix() for p in image_files(built)
    )
    for row in rows:
        split, label, name = row["file"].split("/")
        assert (split, label) == (row["split"], row["label"])
        assert name == f"{row['observation_id']}_{row['photo_id']}.jpg"
        assert row["license_code"] in LICENSES
        assert row["attribution"] and row["user_login"] and row["taxon_name"]
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


def test_layout_loads_by_folder_scanning(built):
    """Any loader that lists split/class folders (e.g. image_dataset_from_directory) sees 2 classes."""
    for split in ("train", "validation", "test"):
        classes = sorted(
            p.name for p in (built / split).iterdir() if p.is_dir() and not p.name.startswith(".")
        )
        assert classes == ["damselflies", "dragonflies"]
        for label in classes:
            names = [p.name for p in (built / split / label).iterdir()]
            assert names and all(name.endswith(".jpg") for name in names)


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


def test_per_class_counts(inat, tmp_path):
    with pytest.warns(DataWarning, match="Skipped"):
        root = build(inat, tmp_path / "odonata", images_per_class={"damselflies": 3, "dragonflies": 5})
    plan = json.loads((root / ".plan.json").read_text())
    asked = {label: sum(r["label"] == label for r in plan["records"]) for label in ("damselflies", "dragonflies")}
    assert asked == {"damselflies": 3, "dragonflies": 5}
    assert plan["settings"]["images_per_class"] == {"damselflies": 3, "dragonflies": 5}
    with pytest.raises(ValueError, match="a count for each"):
        build(inat, tmp_path / "other", images_per_class={"dragonflies": 5})


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
    assert calls[-1][1]["images_per_class"] == odonata.ARTICLE_IMAGES
    assert odonata.get("quick", progress=False) == tmp_path / "odonata"
    assert calls[-1][1] == {"images_per_class": 1000, "splits": (0.7, 0.15, 0.15), "progress": False}
    assert odonata.get("full", data_dir=tmp_path) == tmp_path and len(calls) == 2  # DATA_DIR wins


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
    hand = odonata.MirrorSplit(train=np.array([[0, 0], [1, 1]]), test=np.array([[0, 1], [1, 1], [2, 0]]),
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
