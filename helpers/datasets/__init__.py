"""The five course datasets: what they are, where to get them, and how to load them.

Notebooks call two functions::

    root = datasets.get("intel", profile=PROFILE, data_dir=DATA_DIR)   # find or fetch the data
    data = datasets.load("intel", root, image_size=(150, 150), batch_size=32, seed=SEED)

``get`` decides where the data comes from: an explicit ``data_dir`` always wins; the ``smoke``
profile uses a small generated sample (offline); ``quick`` and ``full`` use a Kaggle/Colab mount
under ``/kaggle/input`` when one is attached, else download by the dataset's real route.
``load`` finds the splits inside whatever folder it is given and returns ``tf.data`` pipelines.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..runtime import PROFILES, detect_environment
from .catalog import CATALOG, DatasetInfo, info
from .fetch import DataUnavailableError
from .files import DataWarning
from .layouts import LAYOUTS, LayoutError, locate
from .samples import is_sample, make_sample

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = [
    "CATALOG", "DataUnavailableError", "DataWarning", "DatasetInfo", "LAYOUTS", "LayoutError",
    "Loaded", "data_home", "download", "get", "info", "is_sample", "load", "make_sample",
]


@dataclass
class Loaded:
    """A loaded dataset: batched pipelines for each split plus what a notebook needs to describe it.

    Every chapter's data arrives as one: datasets.load returns it, and so does chapter 09's folder_data.load_folder.

    Attributes:
        train, val, test: ``tf.data.Dataset`` of ``(images, labels)`` batches; images float32 in
            [0, 255] with shape ``(batch, h, w, 3)``, labels int32 class indices.
        class_names: Class names in label order.
        files: The image paths of each split (same order as the unshuffled ``val``/``test`` batches).
        labels: The label of each path.
        layout: Which accepted layout was found.
        folder: The folder the splits were found in.
        sample: True when the data is a generated offline sample, not the real dataset.
    """

    name: str
    train: tf.data.Dataset
    val: tf.data.Dataset
    test: tf.data.Dataset
    class_names: list[str]
    files: dict[str, list[Path]] = field(repr=False)
    labels: dict[str, list[int]] = field(repr=False)
    layout: str = ""
    folder: Path | None = None
    sample: bool = False

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per class in each split: ``{split: {class_name: count}}``."""
        return {
            split: {name: Counter(self.labels[split])[i] for i, name in enumerate(self.class_names)}
            for split in ("train", "val", "test")
        }


def data_home() -> Path:
    """Where the course keeps downloaded data and samples: ``$COURSE_DATA_HOME``, else a default per platform.

    Every chapter's downloads and samples are kept there; chapter 07 puts its file cache there too.

    On Kaggle the writable folder is ``/kaggle/working``; elsewhere ``~/.cache/cnn-course``.
    """
    if os.environ.get("COURSE_DATA_HOME"):
        return Path(os.environ["COURSE_DATA_HOME"]).expanduser()
    if detect_environment() == "kaggle":
        return Path("/kaggle/working/cnn-course-data")
    return Path.home() / ".cache" / "cnn-course"


def get(name: str, profile: str = "quick", data_dir: str | os.PathLike | None = None) -> Path:
    """Return the folder holding dataset ``name`` for this ``profile``, fetching it if needed.

    Every chapter but 04 finds its data with it (chapter 04's Odonata comes from helpers.datasets.odonata.get).

    An explicit ``data_dir`` always wins (any profile). Otherwise ``smoke`` returns a generated
    sample (made on first use, offline), and ``quick``/``full`` return an attached Kaggle dataset if
    there is one, else the result of :func:`download`.
    """
    dataset = info(name)
    if profile not in PROFILES:
        raise ValueError(f"PROFILE must be one of {PROFILES}, not {profile!r}.")
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(
                f"DATA_DIR={str(data_dir)!r} is not a folder. Pass the folder that holds the {dataset.title} "
                f"data, or DATA_DIR=None to let the course find or download it."
            )
        return root
    if profile == "smoke":
        return make_sample(name, data_home() / "samples" / name)
    from .fetch import find_kaggle_mount

    mounted = find_kaggle_mount(list(dataset.kaggle)) if dataset.kaggle else None
    return mounted if mounted is not None else download(name)


def download(name: str, dest: str | os.PathLike | None = None, *, source: str | None = None) -> Path:
    """Fetch the real dataset ``name`` by its real route and return its root folder.

    In every chapter, :func:`get` calls it in the quick and full profiles; ``datasets.md`` builds odonata with it.

    Kaggle datasets go through ``kagglehub`` first (public datasets need no credentials; files land in
    kagglehub's cache and a second call downloads nothing). When that route fails, whatever the reason
    (kagglehub missing, credentials refused, the dataset or its version gone, Kaggle down), the dataset's
    direct archives (``DatasetInfo.direct``: the publisher's own archive where there is one, else
    Kaggle's zip) are fetched over plain HTTPS instead: resumed if interrupted, checked, unpacked safely
    under ``dest`` (default ``data_home()/downloads/<name>``). The screen says which route was taken and
    why; a second call reuses what an earlier one unpacked. Odonata is built from iNaturalist open data
    into ``dest`` (default: under :func:`data_home`).

    Args:
        name: The catalogue name.
        dest: Odonata: the folder to build. Direct downloads: the folder archives are unpacked in.
        source: ``"auto"`` (Kaggle, then the direct download), ``"kaggle"`` (never fall back) or
            ``"direct"`` (skip Kaggle). Default: ``$COURSE_DATA_SOURCE``, else ``"auto"``.

    Environment:
        ``COURSE_DATA_SOURCE``: the default for ``source``.
        ``COURSE_DOWNLOAD_MIRROR``: a base URL serving the same archives by file name
        (``<mirror>/<archive_name>``), used instead of the publishers' addresses (a copy an instructor
        hosts; the tests' local server).

    Raises:
        DataUnavailableError: Every route tried failed. One message names each route, its cause and how
            to get the data by hand; never any credentials.
        ValueError: Unknown dataset or source.
    """
    dataset = info(name)
    from . import direct

    route = direct.chosen_source(source)
    if name == "odonata":
        from .odonata import build_odonata

        return build_odonata(Path(dest) if dest else data_home() / "odonata")
    from .fetch import kaggle_download

    folder = Path(dest).expanduser() if dest else data_home() / "downloads" / name
    earlier = direct.earlier_download(dataset, folder) if route != "kaggle" else None
    if earlier is not None:
        print(f"Using the {dataset.title} downloaded earlier without Kaggle: {earlier}")
        return earlier
    if route == "direct":
        print(f"Data source 'direct' (not Kaggle): downloading the {dataset.title} from its direct address.")
        return direct.fetch_direct(dataset, folder)
    try:
        return kaggle_download(dataset.kaggle[0], path=dataset.kaggle_path, dataset=dataset.title)
    except DataUnavailableError as kaggle_error:
        if route == "kaggle" or not dataset.direct:
            raise
        print(direct.why_falling_back(dataset, kaggle_error))
        try:
            return direct.fetch_direct(dataset, folder)
        except DataUnavailableError as direct_error:
            raise direct.both_failed(dataset, kaggle_error, direct_error) from None


def load(
    name: str,
    root: str | os.PathLike,
    *,
    image_size: tuple[int, int],
    batch_size: int,
    val_fraction: float = 0.2,
    seed: int = 0,
    cache: bool | str = True,
    cache_dir: str | os.PathLike | None = None,
) -> Loaded:
    """Load dataset ``name`` from ``root`` as batched train/validation/test pipelines.

    Chapters 00 to 08 load their data with it (chapter 09 uses folder_data.load_folder).

    Args:
        name: Catalogue name.
        root: The folder kagglehub returned, the unzipped archive, or the split folder itself.
        image_size: ``(height, width)`` of the images in every batch. Images are cached at the
            smaller of their native size (the catalogue's ``image_size``) and this size
            (:func:`helpers.pipeline.cache_size`), and enlarged after the cache when it is smaller:
            Fruits-360 loaded at 299x299 is cached at its own 100x100, 8.9 times fewer bytes.
        batch_size: Images per batch.
        val_fraction: Share of each class moved from train to validation, for datasets that have no
            validation split of their own (Intel, Fruits-360). Ignored when the dataset has one.
        seed: Seed for the validation split and shuffling.
        cache: ``True`` for the automatic choice (memory, or a file under ``cache_dir`` for large
            splits), ``False`` for no cache, or a path prefix for a file cache.
        cache_dir: Where file caches go when ``cache`` is ``True`` and a split is too large for memory
            (default: ``data_home()/cache``).

    Bad files (empty, truncated, not images) and stray folders are skipped with one
    :class:`DataWarning` per split that names them.
    """
    from ..pipeline import cache_size, choose_cache, make_dataset  # imports TensorFlow
    from ..splits import stratified_split

    dataset = info(name)
    stored = cache_size(dataset.image_size, image_size)
    found = locate(dataset, Path(root))
    files, labels = dict(found.files), dict(found.labels)
    if "val" not in files:
        keep, held = stratified_split(labels["train"], val_fraction, seed)
        all_files, all_labels = files["train"], labels["train"]
        files["train"], labels["train"] = [all_files[i] for i in keep], [all_labels[i] for i in keep]
        files["val"], labels["val"] = [all_files[i] for i in held], [all_labels[i] for i in held]
    splits = {}
    for split in ("train", "val", "test"):
        split_cache = cache
        if cache is True:
            folder = cache_dir if cache_dir is not None else data_home() / "cache"
            split_cache = choose_cache(files[split], stored, folder, f"{name}-{split}") or True
        elif isinstance(cache, str):
            split_cache = f"{cache}-{split}"
        splits[split] = make_dataset(files[split], labels[split], image_size=image_size, batch_size=batch_size,
                                     shuffle=split == "train", seed=seed, cache=split_cache, cache_size=stored)
    return Loaded(name, splits["train"], splits["val"], splits["test"], found.class_names, files, labels,
                  layout=found.layout, folder=found.folder, sample=is_sample(found.folder))
