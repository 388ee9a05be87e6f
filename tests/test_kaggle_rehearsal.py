"""Rehearsal of the learner's real data path: the course's own ``datasets.get``/``download``/``load`` through
the real, unmodified kagglehub 1.0.2 client, against a local Kaggle (``tools/local_kaggle.py``) serving each
course dataset's archive in its published structure; and Kaggle's ``/kaggle/input`` mounts, on a fake root.

The local Kaggle is reached through ``HTTPS_PROXY`` and a throw-away certificate authority (kagglesdk's
production mode, any free port), or, without the ``openssl`` command, through kagglesdk's ``TEST``
environment on ``localhost:7777``. Nothing here reaches the internet: the proxy refuses every other host.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import shutil
import socket
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from helpers import datasets
from helpers.datasets import DataUnavailableError, LayoutError, info

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import local_kaggle  # noqa: E402

NAMES = ("intel", "food5k", "fruits360", "mosquito")
#: Where each loader split comes from in the published archive: split -> folder prefix in the zip.
#: Intel and Fruits-360 have no validation folder: the loader carves it out of the training folder.
SPLITS = {
    "intel": {"train": "seg_train/seg_train/", "test": "seg_test/seg_test/"},
    "food5k": {"train": "training/", "val": "validation/", "test": "evaluation/"},
    "fruits360": {"train": "fruits-360_100x100/fruits-360/Training/", "test": "fruits-360_100x100/fruits-360/Test/"},
    "mosquito": {"train": "zw4p9kj6nt-2/data_splitting/Train/", "val": "zw4p9kj6nt-2/data_splitting/Pred/",
                 "test": "zw4p9kj6nt-2/data_splitting/Test/"},
}
SECRET = "0123456789abcdef0123456789abcdef"
ROUTE = "proxy" if shutil.which("openssl") else "test"


@pytest.fixture(scope="module")
def archives(tmp_path_factory) -> dict[str, Path]:
    """The four course archives (built once for this module): catalogue name -> zip file."""
    folder = tmp_path_factory.mktemp("archives")
    by_handle = local_kaggle.course_archives(folder, images_per_class=4)
    return {name: by_handle[handle] for name, handle in local_kaggle.COURSE_HANDLES.items()}


def _start(tmp_path: Path, route: str, **kwargs) -> local_kaggle.LocalKaggle:
    try:
        return local_kaggle.LocalKaggle(tmp_path / f"certs-{route}", route=route, **kwargs).start()
    except OSError as err:
        if route == "test":
            pytest.skip(f"port {local_kaggle.TEST_PORT} (kagglesdk's TEST environment) is taken by another "
                        f"program ({err.strerror}); the proxy route needs the openssl command")
        raise


def _point_at(server: local_kaggle.LocalKaggle, monkeypatch, tmp_path: Path) -> None:
    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kagglehub"))
    monkeypatch.setenv("COURSE_KAGGLE_INPUT", str(tmp_path / "no-kaggle-input"))
    monkeypatch.setenv("COURSE_DATA_SOURCE", "kaggle")  # the Kaggle route alone; the fallback: see the end


@pytest.fixture
def kaggle(archives, tmp_path, monkeypatch):
    """A local Kaggle serving the four course datasets, with kagglehub (cache in tmp_path) pointed at it."""
    server = _start(tmp_path, ROUTE, credentials=(("learner", "right-key-456789"),))
    for name, archive in archives.items():
        server.add(local_kaggle.COURSE_HANDLES[name], archive)
    _point_at(server, monkeypatch, tmp_path)
    yield server
    server.stop()


def zip_counts(archive: Path, prefix: str) -> dict[str, int]:
    """Images per class folder directly under ``prefix`` in ``archive``."""
    with zipfile.ZipFile(archive) as zf:
        names = [n[len(prefix):] for n in zf.namelist() if n.startswith(prefix) and n.endswith(".jpg")]
    return dict(Counter(n.split("/")[0] for n in names if n.count("/") == 1))


def expected_classes(name: str, archive: Path) -> list[str]:
    known = info(name).class_names
    return list(known) if known else sorted(zip_counts(archive, SPLITS[name]["train"]))


def check_loaded(name: str, root: Path, archive: Path) -> None:
    """Load ``root`` as the course does (tiny images, batch 2) and compare with what the archive holds."""
    loaded = datasets.load(name, root, image_size=(16, 16), batch_size=2, cache=False)
    classes = expected_classes(name, archive)
    assert loaded.class_names == classes
    assert not loaded.sample, "a downloaded archive is real data, not a course sample"
    counts = loaded.counts()
    for split, prefix in SPLITS[name].items():
        want = zip_counts(archive, prefix)
        got = counts[split] if split != "train" or "val" in SPLITS[name] else {
            c: counts["train"][c] + counts["val"][c] for c in classes}
        assert got == {c: want[c] for c in classes}, f"{name} {split}"
    if name == "fruits360":  # only the 100x100 branch, never original-size, multi or 3-body-problem
        assert all("fruits-360_100x100" in p.parts for files in loaded.files.values() for p in files)
    images, labels = next(iter(loaded.train))
    assert tuple(images.shape) == (2, 16, 16, 3) and tuple(labels.shape) == (2,)


def storage_gets(server: local_kaggle.LocalKaggle) -> list[local_kaggle.Seen]:
    return [s for s in server.seen if s.method == "GET"]


def assert_clear_message(err: DataUnavailableError, name: str, *, says: tuple[str, ...], fix: tuple[str, ...],
                         transient: bool) -> str:
    """One readable message: the dataset, the handle and its page, the cause, what to do; nothing else."""
    dataset = info(name)
    message = str(err)
    assert message.startswith(
        f"Could not get the {dataset.title} dataset from Kaggle ({dataset.kaggle[0]}, {dataset.kaggle_url}): ")
    cause, _, todo = message.partition("\nWhat to do: ")
    for words in says:
        assert words in cause, f"{words!r} not in the cause: {cause}"
    for words in fix:
        assert words in todo, f"{words!r} not in what to do: {todo}"
    assert "DATA_DIR" in todo and "+ Add Input" in todo
    assert "Traceback" not in message and 'File "' not in message
    assert SECRET not in message and SECRET not in repr(err.args)
    assert err.__cause__ is None and err.__suppress_context__, "no chained traceback"
    assert err.transient is transient
    return message


def complete_markers(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "kagglehub").rglob("*.complete"))


# --------------------------------------------------------------------------------------------------
# The archives and the command line
# --------------------------------------------------------------------------------------------------

#: Folders each published archive holds (Kaggle's copies; Fruits-360 version 100 with all its branches).
PUBLISHED = {
    "intel": ["seg_pred/seg_pred/", "seg_test/seg_test/buildings/", "seg_train/seg_train/street/"],
    "food5k": [f"{split}/{cls}/" for split in ("training", "validation", "evaluation") for cls in ("food", "non_food")],
    "fruits360": ["fruits-360_100x100/fruits-360/Training/Banana/", "fruits-360_100x100/fruits-360/Test/Banana/",
                  *(f"fruits-360_original-size/fruits-360-original-size/{s}/Banana/"
                    for s in ("Training", "Validation", "Test")),
                  "fruits-360_multi/test-multiple_fruits/", "fruits-360_meta/",
                  "fruits-360_3-body-problem/fruits-360-3-body-problem/Training/Apple/"],
    "mosquito": [*(f"zw4p9kj6nt-2/data_splitting/{s}/culex_smashed/" for s in ("Train", "Pred", "Test")),
                 "zw4p9kj6nt-2/Aedes albopictus  smashed/", "zw4p9kj6nt-2/Culex quinquefasciatus landing/"],
}


@pytest.mark.parametrize("name", NAMES)
def test_archives_have_the_published_structure(archives, name):
    with zipfile.ZipFile(archives[name]) as zf:
        names = zf.namelist()
    for folder in PUBLISHED[name]:
        assert folder in names and any(n.startswith(folder) and not n.endswith("/") for n in names), folder
    assert not any("COURSE_SAMPLE" in n for n in names), "an archive from Kaggle carries no sample marker"


def test_command_line_help(capsys):
    with pytest.raises(SystemExit) as done:
        local_kaggle.main(["--help"])
    assert done.value.code == 0
    assert "kagglehub 1.0.2" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------------
# Every course dataset through the real client
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_course_dataset_downloads_through_kagglehub_and_loads(kaggle, archives, tmp_path, name):
    root = datasets.get(name, profile="quick")
    assert root.is_relative_to(tmp_path / "kagglehub"), "kagglehub's cache, as on Colab"
    check_loaded(name, root, archives[name])
    downloads = [s.body for s in kaggle.seen if s.path.endswith("/DownloadDataset")]
    assert len(downloads) == 1 and "fileName" not in downloads[0], "the whole archive, never a folder as a file"
    assert len(storage_gets(kaggle)) == 1
    assert [s for s in kaggle.seen if s.method == "CONNECT"] == [], "no other host was asked for"

    assert datasets.download(name) == root, "a second call returns the same folder"
    assert len(storage_gets(kaggle)) == 1, "and downloads nothing"


def test_fruits360_is_one_archive_and_the_100x100_branch(kaggle, archives, tmp_path):
    root = datasets.download("fruits360")
    assert root.name == "fruits-360_100x100" and (root / "fruits-360" / "Training").is_dir()
    version = root.parent
    assert version == tmp_path / "kagglehub" / "datasets" / "moltean" / "fruits" / "versions" / "100"
    for branch in ("fruits-360_original-size", "fruits-360_multi", "fruits-360_3-body-problem", "fruits-360_meta"):
        assert (version / branch).is_dir(), f"the whole archive is cached: {branch}"
    assert [s.body for s in kaggle.seen if s.method == "POST"] == [
        {"ownerSlug": "moltean", "datasetSlug": "fruits", "datasetVersionNumber": 100}]


def test_credentials_go_to_kaggle_and_never_to_the_storage_host(kaggle, archives, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "learner")
    monkeypatch.setenv("KAGGLE_KEY", "right-key-456789")
    check_loaded("intel", datasets.download("intel"), archives["intel"])
    api = [s for s in kaggle.seen if s.method == "POST"]
    assert api and all(s.auth == "basic" for s in api)
    assert storage_gets(kaggle) and all(s.auth is None for s in storage_gets(kaggle))


def cut_kaggle_off(kaggle, monkeypatch) -> None:
    """Make Kaggle unreachable: the proxy points at a port nobody listens on (the TEST route's server stops)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    for var in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(var, dead)
    if kaggle.route == "test":
        kaggle.stop()


def test_downloaded_dataset_is_used_when_kaggle_is_unreachable(kaggle, archives, monkeypatch):
    root = datasets.download("intel")
    cut_kaggle_off(kaggle, monkeypatch)
    assert datasets.download("intel") == root
    check_loaded("intel", root, archives["intel"])


# --------------------------------------------------------------------------------------------------
# Failure modes: one clear DataUnavailableError each
# --------------------------------------------------------------------------------------------------


def test_wrong_credentials(kaggle, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "learner")
    monkeypatch.setenv("KAGGLE_KEY", SECRET)
    with pytest.raises(DataUnavailableError) as err:
        datasets.download("mosquito")
    message = assert_clear_message(err.value, "mosquito", says=("HTTP 401", "credentials"),
                                   fix=("new API token", "Settings > API"), transient=False)
    assert "check the handle" not in message


def test_private_dataset_refused(kaggle, archives):
    kaggle.datasets["trolukovich/food5k-image-dataset"].private = True
    with pytest.raises(DataUnavailableError) as err:
        datasets.download("food5k")
    assert_clear_message(err.value, "food5k", says=("HTTP 403", "refused access"),
                         fix=("accept", "API token"), transient=False)


def test_unknown_handle(kaggle):
    del kaggle.datasets["puneet6060/intel-image-classification"]
    with pytest.raises(DataUnavailableError) as err:
        datasets.download("intel")
    assert_clear_message(err.value, "intel", says=("HTTP 404", "no dataset puneet6060/intel-image-classification"),
                         fix=("removed or renamed",), transient=False)


def test_missing_pinned_version_never_blames_the_handle(kaggle, archives):
    kaggle.datasets["moltean/fruits"].versions = {101: archives["fruits360"]}
    with pytest.raises(DataUnavailableError) as err:
        datasets.download("fruits360")
    message = assert_clear_message(err.value, "fruits360", says=("HTTP 404", "no version 100 of moltean/fruits"),
                                   fix=("version 100",), transient=False)
    assert "check the handle" not in message and "does not know this dataset" not in message


def test_transfer_cut_in_the_middle_leaves_nothing_trusted(kaggle, archives, tmp_path):
    big = tmp_path / "intel-big.zip"  # over 1 MiB kept before the cut (kagglehub writes 1 MiB chunks)
    shutil.copy(archives["intel"], big)
    with zipfile.ZipFile(big, "a") as zf:
        zf.writestr("seg_pred/seg_pred/99999.jpg", os.urandom(3 << 20), zipfile.ZIP_STORED)
    kaggle.add("puneet6060/intel-image-classification/versions/3", big)
    kaggle.fail_next("puneet6060/intel-image-classification", "cut")
    with pytest.raises(DataUnavailableError) as err:
        datasets.download("intel")
    assert_clear_message(err.value, "intel", says=("connection broke in the middle",), fix=("run this again",),
                         transient=True)
    assert complete_markers(tmp_path) == [], "nothing looks complete"
    assert not (tmp_path / "kagglehub" / "datasets" / "puneet6060" / "intel-image-classification" / "versions").exists()
    root = datasets.download("intel")  # the rerun resumes the partial archive; the whole is MD5-checked before use
    check_loaded("intel", root, archives["intel"])
    assert storage_gets(kaggle)[-1].range == f"bytes={1 << 20}-" and storage_gets(kaggle)[-1].status == 206


def test_truncated_body_is_caught_and_discarded(kaggle, archives, tmp_path):
    kaggle.fail_next("moltean/fruits", "truncate")
    with pytest.raises(DataUnavailableError) as err:
        datasets.download("fruits360")
    assert_clear_message(err.value, "fruits360", says=("damaged", "checksum"), fix=("run this again",),
                         transient=True)
    assert complete_markers(tmp_path) == []
    assert [p.name for p in (tmp_path / "kagglehub").rglob("*.archive")] == [], "the damaged archive was deleted"
    check_loaded("fruits360", datasets.download("fruits360").parent, archives["fruits360"])


def test_storage_server_error(kaggle):
    kaggle.fail_next("naiborhujosua/mosquito-on-human-skin", 503)
    with pytest.raises(DataUnavailableError) as err:
        datasets.download("mosquito")
    assert_clear_message(err.value, "mosquito", says=("HTTP 503", "server"), fix=("again later",), transient=True)


def test_no_network(kaggle, monkeypatch):
    cut_kaggle_off(kaggle, monkeypatch)
    with pytest.raises(DataUnavailableError) as err:
        datasets.download("food5k")
    assert_clear_message(err.value, "food5k", says=("no network connection",), fix=("Internet on",), transient=True)


def test_kagglesdk_test_environment_route(archives, tmp_path, monkeypatch, capfd):
    """The other route the issue names: kagglesdk's TEST environment, plain HTTP on localhost:7777."""
    server = _start(tmp_path, "test")
    try:
        server.add(local_kaggle.COURSE_HANDLES["intel"], archives["intel"])
        _point_at(server, monkeypatch, tmp_path)
        check_loaded("intel", datasets.download("intel"), archives["intel"])
    finally:
        server.stop()
    assert [s.host for s in server.seen] == ["localhost:7777"] * 3
    # In that mode kagglesdk prints every request and response, the whole archive included.
    assert "---------------------Response---------------------" in capfd.readouterr().out


# --------------------------------------------------------------------------------------------------
# The learner's default (COURSE_DATA_SOURCE unset): Kaggle, then the dataset's direct archives
# --------------------------------------------------------------------------------------------------


def test_default_route_falls_back_to_kaggles_zip_when_kagglehub_breaks(kaggle, archives, monkeypatch):
    monkeypatch.delenv("COURSE_DATA_SOURCE")
    monkeypatch.delenv("COURSE_DOWNLOAD_MIRROR")  # the publishers' own addresses, reached through the local proxy
    kaggle.fail_next("puneet6060/intel-image-classification", "cut")
    root = datasets.download("intel")
    check_loaded("intel", root, archives["intel"])
    web = [s for s in kaggle.seen if s.host == local_kaggle.WEB_HOST]
    assert [s.path for s in web] == ["/api/v1/datasets/download/puneet6060/intel-image-classification"]


def test_default_route_when_every_route_is_refused_names_the_kaggle_cause(kaggle, monkeypatch):
    monkeypatch.delenv("COURSE_DATA_SOURCE")
    monkeypatch.delenv("COURSE_DOWNLOAD_MIRROR")  # the publishers' own addresses, reached through the local proxy
    kaggle.datasets["trolukovich/food5k-image-dataset"].private = True
    with pytest.raises(DataUnavailableError) as err:
        datasets.download("food5k")
    message = str(err.value)
    assert message.startswith("Could not get the Food-5K (food vs non-food) dataset from Kaggle "
                              "(trolukovich/food5k-image-dataset, ")
    assert "Kaggle refused access (HTTP 403" in message and "DATA_DIR" in message
    assert err.value.__cause__ is None and "Traceback" not in message and not err.value.transient


# --------------------------------------------------------------------------------------------------
# Kaggle mounts: /kaggle/input/<slug> and /kaggle/input/datasets/<owner>/<slug>, on a fake root
# --------------------------------------------------------------------------------------------------


def mount(archive: Path, folder: Path) -> Path:
    """Unpack ``archive`` at ``folder`` as Kaggle does when the dataset is attached (read-only there)."""
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(folder)
    return folder


@pytest.fixture
def kaggle_input(kaggle, tmp_path, monkeypatch) -> Path:
    """A fake /kaggle/input (COURSE_KAGGLE_INPUT); the local Kaggle stays up to show nothing is downloaded."""
    root = tmp_path / "kaggle" / "input"
    root.mkdir(parents=True)
    monkeypatch.setenv("COURSE_KAGGLE_INPUT", str(root))
    return root


@pytest.mark.parametrize("place", ["slug", "datasets/owner/slug"])
@pytest.mark.parametrize("name", NAMES)
def test_attached_dataset_is_found_and_loaded(kaggle, kaggle_input, archives, name, place):
    owner, slug = info(name).kaggle_dataset.split("/")
    folder = mount(archives[name], kaggle_input / place.replace("owner", owner).replace("slug", slug))
    root = datasets.get(name, profile="quick")
    assert root == folder
    check_loaded(name, root, archives[name])
    assert kaggle.seen == [], "nothing downloaded"


def test_owner_qualified_mount_wins_over_a_same_named_one(kaggle, kaggle_input, archives):
    other = kaggle_input / "fruits"  # someone else's dataset called "fruits", attached the classic way
    (other / "images").mkdir(parents=True)
    ours = mount(archives["fruits360"], kaggle_input / "datasets" / "moltean" / "fruits")
    assert datasets.get("fruits360", profile="quick") == ours


def test_fruits360_attached_in_an_older_release_layout(kaggle, kaggle_input, archives, tmp_path):
    """Another version attached instead of the pinned one: the 2019-2023 releases' layout still loads."""
    unpacked = mount(archives["fruits360"], tmp_path / "unpacked")
    old = kaggle_input / "datasets" / "moltean" / "fruits" / "fruits-360_dataset"
    shutil.copytree(unpacked / "fruits-360_100x100" / "fruits-360", old / "fruits-360")
    root = datasets.get("fruits360", profile="quick")
    loaded = datasets.load("fruits360", root, image_size=(16, 16), batch_size=2, cache=False)
    assert loaded.class_names == expected_classes("fruits360", archives["fruits360"])
    assert all("fruits-360_dataset" in p.parts for p in loaded.files["train"])


def test_fruits360_attached_version_without_the_100x100_branch_is_refused(kaggle, kaggle_input, archives, tmp_path):
    """A version whose only Training/Test folders are other branches must not be trained on by mistake."""
    unpacked = mount(archives["fruits360"], tmp_path / "unpacked")
    attached = kaggle_input / "datasets" / "moltean" / "fruits"
    for branch in ("fruits-360_original-size", "fruits-360_3-body-problem"):
        shutil.copytree(unpacked / branch, attached / branch)
    root = datasets.get("fruits360", profile="quick")
    assert root == attached
    with pytest.raises(LayoutError, match="No Fruits-360 data found"):
        datasets.load("fruits360", root, image_size=(16, 16), batch_size=2, cache=False)
