"""How many bytes each chapter caches, per profile and recipe, and whether that fits free Colab and Kaggle.

The figures are computed, not measured: from the catalogue's split counts (``helpers.datasets.catalog``;
the offline samples' counts in ``smoke``; the odonata builds of :data:`helpers.datasets.odonata.PROFILE_BUILDS`),
each chapter's training size per profile, the course's cache rule (:func:`helpers.pipeline.cache_size`:
the smaller of the native and the training size) and the dtype of what is cached (uint8 images; one
float32 benchmark in chapter 03). Where a cache lives is decided as the pipeline decides it
(:func:`helpers.pipeline.in_memory`): in memory up to ``MEMORY_CACHE_LIMIT`` per split, else in a file
under the course's data folder, which on Kaggle is ``/kaggle/working``.

Each chapter's sizes are copied from its notebook; :attr:`_Chapter.evidence` holds the lines of the
notebook they come from, and ``tests/test_budget.py`` fails when a notebook no longer contains them.
The table in ``docs/instructors.md`` is generated from here::

    python -m helpers.budget        # rewrites the table in docs/instructors.md

The other half of a run's budget, its epochs and batch size, is each chapter's ``CFG``; :func:`override` applies
the notebooks' ``EPOCHS`` and ``BATCH_SIZE`` parameters to it, the same way in every chapter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import articles, pipeline
from .datasets import catalog, odonata, samples
from .results import RECIPES
from .runtime import PROFILES

#: One gigabyte as the limits below count it (10**9 bytes).
GB = 10**9
#: Free Colab's RAM, "12.7 GB" in its resource panel (read as decimal gigabytes, the smaller reading).
COLAB_RAM = int(12.7 * GB)
#: RAM that is not ours to fill: the OS and Colab's own services (about 1 GB), the Jupyter kernel with
#: TensorFlow, the CUDA libraries and the model (about 3 GB), tf.data's batches and prefetch buffers and
#: the notebook's arrays (about 1 GB).
_RAM_RESERVE = 5 * GB
#: Kaggle's ``/kaggle/working``, where the course writes its data folder and therefore its cache files.
KAGGLE_DISK = 20 * GB
#: Disk that is not ours to fill with caches: the data the course writes there (the odonata photos built
#: from iNaturalist, the samples), results, BackupAndRestore checkpoints and exported models.
_DISK_RESERVE = 3 * GB


#: A cache rule: ``(native size or None, training size) -> cached size``.
_Rule = Callable[[tuple[int, int] | None, tuple[int, int]], tuple[int, int]]


def _old_rule(native: tuple[int, int] | None, image_size: tuple[int, int]) -> tuple[int, int]:
    """The rule before issue 13: every image cached at the training size (Fruits-360 at 299x299 in 07 ``full``)."""
    return int(image_size[0]), int(image_size[1])


@dataclass(frozen=True)
class _Cache:
    """One cache that a chapter's run fills completely (a cache read only in part is dropped by tf.data).

    Attributes:
        what: Which data, in words (``"train"``, ``"whole Training folder"``, ...).
        images: How many images it holds.
        size: ``(height, width)`` the images are cached at.
        dtype: What each pixel value is stored as.
        place: ``"auto"`` when :func:`helpers.pipeline.choose_cache` decides (memory or file), ``"memory"``
            when the chapter caches in memory whatever the size (``make_dataset(cache=True)``, ``.cache()``).
        shuffled: Read through a shuffle buffer (training data).
    """

    what: str
    images: int
    size: tuple[int, int]
    dtype: str = "uint8"
    place: str = "auto"
    shuffled: bool = False

    @property
    def bytes(self) -> int:
        return pipeline.cache_bytes(self.images, self.size, self.dtype)

    @property
    def in_memory(self) -> bool:
        return self.place == "memory" or pipeline.in_memory(self.images, self.size)

    @property
    def ram(self) -> int:
        """RAM it takes: the cache itself when in memory; a file cache's shuffle buffer holds copies.

        Elements of a memory cache pass through the shuffle buffer by reference, so they count once.
        """
        if self.in_memory:
            return self.bytes
        if self.shuffled:
            return pipeline.cache_bytes(min(self.images, pipeline.SHUFFLE_BUFFER), self.size, self.dtype)
        return 0

    @property
    def disk(self) -> int:
        return 0 if self.in_memory else self.bytes


@dataclass(frozen=True)
class _Usage:
    """What one run of a chapter caches: its caches, and the RAM and disk they take."""

    chapter: str
    profile: str
    recipe: str
    caches: tuple[_Cache, ...]

    @property
    def ram(self) -> int:
        return sum(c.ram for c in self.caches)

    @property
    def disk(self) -> int:
        return sum(c.disk for c in self.caches)

    @property
    def sizes(self) -> list[tuple[int, int]]:
        """The distinct sizes the images are cached at, largest first."""
        return sorted({c.size for c in self.caches}, reverse=True)


# --------------------------------------------------------------------------------------------------
# The EPOCHS and BATCH_SIZE parameters
# --------------------------------------------------------------------------------------------------


def _is_epoch_key(key: str) -> bool:
    """``epochs`` (a chapter with one training phase) or ``<phase>_epochs`` (``head_epochs``, ``chunk_epochs``)."""
    return key == "epochs" or key.endswith("_epochs")


def override(cfg: dict, epochs: int | dict[str, int] | None = None, batch_size: int | None = None) -> dict:
    """A copy of a chapter's ``CFG`` with the ``EPOCHS`` and ``BATCH_SIZE`` parameters applied; prints what changed.

    Every chapter that trains (chapters 00 and 02 to 09) calls it right after choosing ``CFG``, so one
    parameter shortens or resizes any chapter the same way (``EPOCHS = 1`` for a dry run).

    Parameters
    ----------
    cfg : dict
        The profile's (and recipe's) settings. Its epoch counts are ``epochs`` (one training phase) or
        ``<phase>_epochs`` (several: ``cnn_epochs``, ``head_epochs``, ``finetune_epochs``, ...); a dict
        value (chapter 03's ``article_epochs``, one count per run) is overridden entry by entry.
    epochs : int or dict, optional
        An int replaces every epoch count; a dict replaces only the counts it names, by their ``CFG``
        key (``{"finetune_epochs": 3}``). A count of 0 or ``None`` stays: that phase does not run in this
        recipe (chapter 07's article recipe has no head phase).
    batch_size : int, optional
        Replaces ``cfg["batch_size"]``.

    Returns
    -------
    dict
        A new dict; ``cfg`` itself is left as it was (it may be a profile table's entry).
    """
    new = dict(cfg)
    changes = []
    if epochs is not None:
        keys = [key for key in cfg if _is_epoch_key(key)]
        wanted = epochs if isinstance(epochs, dict) else dict.fromkeys(keys, epochs)
        unknown = sorted(set(wanted) - set(keys))
        if unknown:
            raise ValueError(f"EPOCHS names {unknown}, which this chapter's CFG does not have; its epoch keys: {keys}")
        for key, n in wanted.items():
            if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                raise ValueError(f"EPOCHS must be a positive whole number of epochs, not {n!r} (for {key})")
            old = cfg[key]
            new[key] = {run: n if count else count for run, count in old.items()} if isinstance(old, dict) \
                else (n if old else old)
            if new[key] != old:
                changes.append(f"{key} {old} -> {new[key]}")
    if batch_size is not None:
        if "batch_size" not in cfg:
            raise ValueError("BATCH_SIZE is set but this CFG has no batch_size")
        new["batch_size"] = int(batch_size)
        if new["batch_size"] != cfg["batch_size"]:
            changes.append(f"batch_size {cfg['batch_size']} -> {new['batch_size']}")
    if changes:
        print("overridden by the parameters: " + ", ".join(changes))
    return new


# --------------------------------------------------------------------------------------------------
# Split counts
# --------------------------------------------------------------------------------------------------

#: Classes of each dataset's offline sample (``helpers.datasets.samples``).
_SAMPLE_CLASSES = {"intel": len(catalog.info("intel").class_names),
                   "food5k": len(catalog.info("food5k").class_names),
                   "fruits360": len(samples.FRUIT_CLASSES), "mosquito": len(samples.MOSQUITO_CLASSES),
                   "odonata": len(catalog.info("odonata").class_names)}
#: Share of the training folder that ``datasets.load`` holds out for validation when there is no validation split.
_LOAD_VAL_FRACTION = 0.2


def _carve(n: int, fraction: float) -> tuple[int, int]:
    """``(kept, held)`` when ``fraction`` of ``n`` images of one class is held out (as ``splits.stratified_split``)."""
    held = round(n * fraction)
    if n >= 2:
        held = min(max(held, 1), n - 1)
    return n - held, held


def catalogue_split(sizes: dict[str, int], split: str) -> int | None:
    """The count of ``split`` in catalogue ``sizes``, whose keys may carry a note: "train (131-class release)".

    The cache budget reads it here; ``tools/rehearse.py`` sizes its full-size copies of the datasets with it.
    """
    found = [n for key, n in sizes.items() if key.split()[0] == split]
    return found[0] if found else None


def classes(name: str, profile: str) -> int:
    """Classes of dataset ``name`` in ``profile`` (the sample's in ``smoke``; the catalogue's release otherwise).

    The cache budget counts with it; tools/rehearse.py sizes its stand-in datasets with it.
    """
    if profile == "smoke":
        return _SAMPLE_CLASSES[name]
    dataset = catalog.info(name)
    if dataset.class_names:
        return len(dataset.class_names)
    for key in dataset.sizes:
        match = re.search(r"(\d+)-class", key)
        if match:
            return int(match.group(1))
    raise ValueError(f"The catalogue does not say how many classes {name} has: add it to its sizes' note.")


def split_counts(name: str, profile: str, images_per_class: int | None = None) -> dict[str, int]:
    """Images in each split that ``datasets.load`` returns for dataset ``name`` in ``profile``.

    The cache budget counts with it; tools/rehearse.py sizes its stand-in odonata with it.

    ``smoke``: the generated sample's counts (``images_per_class`` as given to ``make_sample``; default
    the sample's own); ``quick``/``full``: the catalogue's, or for odonata the build of that profile.
    Datasets without a validation split lose ``_LOAD_VAL_FRACTION`` of their training images to it, as
    ``datasets.load`` does.
    """
    if profile == "smoke":
        n = images_per_class or samples.DEFAULT_IMAGES_PER_CLASS[name]
        held = max(4, n // 3)  # samples._split_sizes
        k = _SAMPLE_CLASSES[name]
        if name in ("intel", "fruits360"):  # no validation folder: carved out of each training class
            kept, carved = _carve(n, _LOAD_VAL_FRACTION)
            return {"train": k * kept, "val": k * carved, "test": k * held}
        return {"train": k * n, "val": k * held, "test": k * held}
    if name == "odonata" and profile in odonata.PROFILE_BUILDS:
        build = odonata.PROFILE_BUILDS[profile]
        wanted = build["images_per_class"]
        per_class = list(wanted.values()) if isinstance(wanted, dict) else [wanted] * classes(name, profile)
        shares = build["splits"]
        counts = {split: sum(round(n * share) for n in per_class) for split, share in zip(("train", "val", "test"),
                                                                                          shares, strict=True)}
        return counts
    sizes = catalog.info(name).sizes
    train, val, test = (catalogue_split(sizes, split) for split in ("train", "val", "test"))
    if train is None or test is None:
        raise ValueError(f"The catalogue gives no train/test counts for {name}: {sizes}")
    if val is None:
        train, val = _carve(train, _LOAD_VAL_FRACTION)
    return {"train": train, "val": val, "test": test}


# --------------------------------------------------------------------------------------------------
# The chapters
# --------------------------------------------------------------------------------------------------


def _square(side: int) -> tuple[int, int]:
    return int(side), int(side)


def _loaded(name: str, profile: str, side: int, rule: _Rule, counts: dict[str, int] | None = None,
            place: str = "auto") -> list[_Cache]:
    """The three caches of ``datasets.load(name, ..., image_size=(side, side))`` (or of the same files)."""
    counts = counts or split_counts(name, profile)
    size = rule(catalog.info(name).image_size, _square(side))
    return [_Cache(split, counts[split], size, place=place, shuffled=split == "train")
            for split in ("train", "val", "test")]


@dataclass(frozen=True)
class _Chapter:
    """What one chapter caches.

    Attributes:
        number: ``"00"`` ... ``"09"``.
        dataset: Catalogue name of the data it uses (09: the Intel scenes, its stand-in for your folder).
        sizes: Training side per recipe and profile (``{recipe: {profile: side}}``); one recipe for the
            chapters without ``RECIPE``.
        evidence: Lines of the notebook's code that hold those sizes (checked by the tests).
        caches: ``(profile, recipe, side, rule) -> [Cache, ...]``.
    """

    number: str
    dataset: str
    sizes: dict[str, dict[str, int]]
    evidence: tuple[str, ...]
    caches: Callable[[str, str, int, _Rule], list[_Cache]]

    @property
    def recipes(self) -> tuple[str, ...]:
        return tuple(self.sizes)


def _intel_03(profile: str, recipe: str, side: int, rule: _Rule) -> list[_Cache]:
    """Chapter 03: Intel, plus its augmentation benchmark's batches cached as float32 (``bench ... .cache()``)."""
    bench_batches = {"smoke": 4, "quick": 24, "full": 48}[profile]
    return [*_loaded("intel", profile, side, rule),
            _Cache("benchmark batches (float32)", bench_batches * 32, _square(side), dtype="float32", place="memory")]


def _odonata_photos(profile: str) -> dict[str, int]:
    """Photos per class in the odonata data of ``profile``, all splits together (the article recipe pools them)."""
    names = catalog.info("odonata").class_names
    if profile == "smoke":
        n = samples.DEFAULT_IMAGES_PER_CLASS["odonata"]
        return dict.fromkeys(names, n + 2 * max(4, n // 3))
    wanted = odonata.PROFILE_BUILDS[profile]["images_per_class"]
    return {name: int(wanted[name]) for name in names} if isinstance(wanted, dict) else dict.fromkeys(names, wanted)


def _odonata_04(profile: str, recipe: str, side: int, rule: _Rule) -> list[_Cache]:
    """Chapter 04: the odonata splits; the article recipe's stored mirror copies instead (``stored_images``).

    The article recipe doubles every photo with its mirror image and splits the doubled set
    (``odonata.mirror_split``), then caches in memory one chunk at a time (its training and validation
    images, ``odonata.draw_chunks``), the validation images of every chunk and the test rows; it also
    reads the loaded validation split.
    """
    loaded = _loaded("odonata", profile, side, rule)
    if recipe == "course":
        return loaded
    size = rule(catalog.info("odonata").image_size, _square(side))
    settings = articles.get("odonata").recipe
    n_chunks = 3 if profile == "smoke" else settings["chunks"]
    share = odonata.article_test_share()
    doubled = {name: 2 * n for name, n in _odonata_photos(profile).items()}
    test_rows = {name: round(share[name] * rows) for name, rows in doubled.items()}
    per_class = min(settings["chunk_images"] // 2, min(doubled[name] - test_rows[name] for name in doubled) // n_chunks)
    chunk = len(doubled) * per_class
    chunk_val = round(settings["validation_fraction"] * chunk)
    return [
        loaded[1],  # the loaded validation split, read to pick photos to explain
        _Cache("one chunk (training part)", chunk - chunk_val, size, place="memory", shuffled=True),
        _Cache("one chunk (validation part)", chunk_val, size, place="memory"),
        _Cache("every chunk's validation part", n_chunks * chunk_val, size, place="memory"),
        _Cache("mirrored test set", sum(test_rows.values()), size, place="memory"),
    ]


def _food5k_05(profile: str, recipe: str, side: int, rule: _Rule) -> list[_Cache]:
    """Chapter 05: its own ``make_dataset`` pipelines of the DataFrame's splits, cached in memory."""
    return _loaded("food5k", profile, side, rule, place="memory")


def _fruits_07(profile: str, recipe: str, side: int, rule: _Rule) -> list[_Cache]:
    """Chapter 07: capped training/validation splits (memory) in smoke and quick, the whole test split.

    The article recipe trains on the whole (capped) Training folder, one cache, and validates on the test split.
    """
    counts = split_counts("fruits360", profile)
    size = rule(catalog.info("fruits360").image_size, _square(side))
    caps = {"smoke": {"train": 14, "val": 4, "random_val": 4},
            "quick": {"train": 100, "val": 25, "random_val": 25}}.get(profile)
    k = classes("fruits360", profile)
    # The notebook holds out whole rotation series (about 20 %) and a random 20 % of the training series' frames
    # (random_val, to show what a random split reports): uncapped, the three are the whole Training folder.
    kept, random_part = _carve(counts["train"], 0.2)
    counts = {**counts, "train": kept, "random_val": random_part}
    split_sizes = {split: min(counts[split], k * caps[split]) if caps else counts[split]
                   for split in ("train", "val", "random_val")}
    place = "memory" if caps else "auto"  # the capping cell rebuilds with make_dataset(cache=True)
    test = _Cache("test", counts["test"], size)
    if recipe == "article":
        return [_Cache("whole Training folder", sum(split_sizes.values()), size, shuffled=True), test]
    return [_Cache("train", split_sizes["train"], size, place=place, shuffled=True),
            _Cache("val", split_sizes["val"], size, place=place),
            _Cache("random_val", split_sizes["random_val"], size, place=place), test]


def _folder_09(profile: str, recipe: str, side: int, rule: _Rule) -> list[_Cache]:
    """Chapter 09: ``folder_data.load_folder`` caches at the training size (a folder's image sizes are unknown).

    ``smoke`` loads the example folder (4 classes of the Intel sample's images, class folders only: 20 %
    test, then 20 % of the whole for validation); ``quick``/``full`` the Intel stand-in, whose
    ``seg_train``/``seg_test`` folders are kept and 15 % of ``seg_train`` validates.
    """
    size = rule(None, _square(side))
    if profile == "smoke":
        n = samples.DEFAULT_IMAGES_PER_CLASS["intel"]
        rest, test = _carve(n + max(4, n // 3), 0.2)
        train, val = _carve(rest, 0.2 / (1 - 0.2))
        counts = {"train": 4 * train, "val": 4 * val, "test": 4 * test}
    else:
        intel = split_counts("intel", profile)
        train, val = _carve(intel["train"] + intel["val"], 0.15)
        counts = {"train": train, "val": val, "test": intel["test"]}
    return [_Cache(split, counts[split], size, shuffled=split == "train") for split in ("train", "val", "test")]


def _nothing(profile: str, recipe: str, side: int, rule: _Rule) -> list[_Cache]:
    return []


_FRUITS_ARTICLE = articles.get("fruits360").recipe["image_size"]
_INTEL_ARTICLE = articles.get("intel_scratch").recipe["image_size"]
_MOSQUITO_ARTICLE = articles.get("mosquito").recipe["image_size"]

CHAPTERS: dict[str, _Chapter] = {c.number: c for c in (
    _Chapter("00", "intel", {"course": {"smoke": 96, "quick": 160, "full": 160}},
            ('"smoke": dict(image_size=96,', '"quick": dict(image_size=160,', '"full": dict(image_size=160,',
             'DATASETS = ["intel",',
             "history = model.fit(\n    data.train,"),
            lambda p, r, side, rule: _loaded("intel", p, side, rule)),
    _Chapter("01", "intel", {"course": {"smoke": 0, "quick": 0, "full": 0}},
            ("intel.files[\"test\"]",), _nothing),
    _Chapter("02", "intel", {"course": {"smoke": 64, "quick": 150, "full": 150},
                            "article": {"smoke": 64, "quick": _INTEL_ARTICLE, "full": _INTEL_ARTICLE}},
            ('"smoke": dict(image_size=64, batch_size=32', '"quick": dict(image_size=150, batch_size=64',
             "COURSE_FULL = dict(image_size=150,", '"smoke": dict(image_size=64, batch_size=SETTINGS["batch_size"]',
             '"full": dict(image_size=SETTINGS["image_size"]', '"quick": dict(image_size=SETTINGS["image_size"]'),
            lambda p, r, side, rule: _loaded("intel", p, side, rule)),
    _Chapter("03", "intel", {recipe: {"smoke": 64, "quick": 150, "full": 150} for recipe in RECIPES},
            ('"smoke": dict(image_size=64, batch_size=32,', '"quick": dict(image_size=150, batch_size=32,',
             '"full": dict(image_size=150, batch_size=32,', "bench_batches=4,", "bench_batches=24,",
             "bench_batches=48,",
             'bench = images_only.take(CFG["bench_batches"] * CFG["batch_size"]).batch(CFG["batch_size"]).cache()'),
            _intel_03),
    _Chapter("04", "odonata", {recipe: {"smoke": 64, "quick": 160, "full": 256} for recipe in RECIPES},
            ('"smoke": dict(image_size=64,', '"quick": dict(image_size=160,', '"full": dict(image_size=256,',
             "chunks=3, chunk_epochs=3",
             "ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE).cache()"),
            _odonata_04),
    _Chapter("05", "food5k", {recipe: {"smoke": 64, "quick": 224, "full": 224} for recipe in RECIPES},
            ('"smoke": dict(image_size=64,', '"quick": dict(image_size=224,', '"full": dict(image_size=224,',
             "pipeline.make_dataset(part.path, part.label, image_size=IMAGE_SIZE"),
            _food5k_05),
    _Chapter("06", "intel", {recipe: {"smoke": 0, "quick": 0, "full": 0} for recipe in RECIPES},
            ("seed=SEED, cache=False)",), _nothing),
    _Chapter("07", "fruits360", {"course": {"smoke": 128, "quick": 150, "full": 299},
                                "article": {"smoke": 75, "quick": 150, "full": _FRUITS_ARTICLE}},
            ('"smoke": dict(image_size=128,', '"quick": dict(image_size=150,', '"full": dict(image_size=299,',
             '"smoke": dict(image_size=75,', '"full": dict(image_size=S["image_size"]',
             "per_class=dict(train=14, val=4, random_val=4)", "per_class=dict(train=100, val=25, random_val=25)"),
            _fruits_07),
    _Chapter("08", "mosquito", {"course": {"smoke": 64, "quick": 224, "full": 224},
                               "article": {"smoke": 64, "quick": _MOSQUITO_ARTICLE, "full": _MOSQUITO_ARTICLE}},
            ('"smoke": dict(image_size=64,', '"quick": dict(image_size=224,', '"full": dict(image_size=224,',
             'CFG = dict(image_size=filled["image_size"]', "shrunk = dict(image_size=64,"),
            lambda p, r, side, rule: _loaded("mosquito", p, side, rule)),
    _Chapter("09", "intel", {"course": {"smoke": 64, "quick": 224, "full": 224}},
            ('"smoke": dict(image_size=64,', 'backbone="EfficientNetV2B0"', "val_fraction=0.15, test_fraction=0.15",
             "val_fraction=0.2, test_fraction=0.2", 'SIZE = CFG["image_size"] or models.backbone(BACKBONE_NAME).size'),
            _folder_09),
)}


def usage(chapter: str, profile: str, recipe: str = "course", rule: _Rule | None = None) -> _Usage:
    """The caches a run of ``chapter`` fills in ``profile`` with ``recipe``, under ``rule`` (default: the course's).

    The cache table of docs/instructors.md is made of these; tools/rehearse.py records it beside a
    rehearsal's measured caches.

    ``rule`` defaults to :func:`helpers.pipeline.cache_size` as it is when called, so these figures
    always follow the rule the pipeline really applies.
    """
    spec = CHAPTERS[chapter]
    if recipe not in spec.recipes:
        raise ValueError(f"Chapter {chapter} has no {recipe!r} recipe; it has {spec.recipes}.")
    side = spec.sizes[recipe][profile]
    caches = spec.caches(profile, recipe, side, rule or pipeline.cache_size)
    return _Usage(chapter, profile, recipe, tuple(caches))


def _all_usage(rule: _Rule | None = None) -> list[_Usage]:
    """:func:`usage` of every chapter, profile and recipe."""
    return [usage(number, profile, recipe, rule) for number, spec in CHAPTERS.items()
            for profile in PROFILES for recipe in spec.recipes]


def _problems(rule: _Rule | None = None) -> list[str]:
    """Every run whose caches do not fit, in words; empty when all fit.

    Limits: memory caches (with the shuffle buffers of file caches) within free Colab's RAM less
    :data:`_RAM_RESERVE`; cache files within Kaggle's ``/kaggle/working`` less :data:`_DISK_RESERVE`.
    """
    ram_room, disk_room = COLAB_RAM - _RAM_RESERVE, KAGGLE_DISK - _DISK_RESERVE
    found = []
    for u in _all_usage(rule):
        run = f"chapter {u.chapter} {u.profile} ({u.recipe} recipe)"
        if u.ram > ram_room:
            found.append(f"{run}: {_gb(u.ram)} of caches in RAM, more than the {_gb(ram_room)} free Colab leaves")
        if u.disk > disk_room:
            found.append(f"{run}: {_gb(u.disk)} of cache files, more than the {_gb(disk_room)} Kaggle's "
                         "/kaggle/working leaves")
    return found


# --------------------------------------------------------------------------------------------------
# The table in docs/instructors.md
# --------------------------------------------------------------------------------------------------

_DOC = Path(__file__).resolve().parent.parent / "docs" / "instructors.md"
_BEGIN = "<!-- cache-table: generated by `python -m helpers.budget`; do not edit by hand -->"
_END = "<!-- end of cache-table -->"


#: Dataset names as the chapter map of ``docs/instructors.md`` writes them.
_SHORT_NAMES = {"intel": "Intel scenes", "food5k": "Food-5K", "fruits360": "Fruits-360", "mosquito": "mosquitoes",
               "odonata": "odonata"}


def _gb(n: int) -> str:
    if n == 0:
        return "0"
    if n < 0.1 * GB:
        return f"{n / 10**6:.0f} MB" if n >= 10**6 else f"{n / 10**6:.1f} MB"
    return f"{n / GB:.2f} GB"


def _cell(u: _Usage) -> str:
    if not u.caches:
        return "nothing cached"
    parts = [f"{_gb(u.ram)} RAM"] + ([f"{_gb(u.disk)} disk"] if u.disk else [])
    return " + ".join(parts)


def _sizes(u: _Usage) -> str:
    return ", ".join(f"{h}x{w}" for h, w in u.sizes) or "-"


def _render_table(rule: _Rule | None = None) -> str:
    """The markdown table of every chapter's caches per profile (course and article recipe)."""
    lines = ["| # | dataset | profile | cached at | course recipe | article recipe |",
             "| --- | --- | --- | --- | --- | --- |"]
    for number, spec in CHAPTERS.items():
        dataset = _SHORT_NAMES[spec.dataset] + (" (stand-in for your folder)" if number == "09" else "")
        for profile in PROFILES:
            course = usage(number, profile, "course", rule)
            article = usage(number, profile, "article", rule) if "article" in spec.recipes else None
            sizes = _sizes(course)
            if article is not None and _sizes(article) != sizes:
                sizes += f" (article: {_sizes(article)})"
            lines.append(f"| {number} | {dataset} | {profile} | {sizes} | {_cell(course)} | "
                         f"{_cell(article) if article is not None else 'no article recipe'} |")
    return "\n".join(lines)


def _render_section(rule: _Rule | None = None) -> str:
    """The generated block of ``docs/instructors.md``: the limits, then :func:`_render_table`."""
    old, new = usage("07", "full", rule=_old_rule), usage("07", "full", rule=rule)
    return "\n".join([
        _BEGIN,
        f"Limits checked by `tests/test_budget.py`: caches in RAM (with the shuffle buffer of a file cache) "
        f"within {_gb(COLAB_RAM - _RAM_RESERVE)} (free Colab's {_gb(COLAB_RAM)} less {_gb(_RAM_RESERVE)} for the "
        f"system, TensorFlow and the model), cache files within {_gb(KAGGLE_DISK - _DISK_RESERVE)} (Kaggle's "
        f"{_gb(KAGGLE_DISK)} `/kaggle/working` less {_gb(_DISK_RESERVE)} for data, results and checkpoints). "
        f"A split is cached in RAM up to {_gb(pipeline.MEMORY_CACHE_LIMIT)}, else in a file. Chapter 07 `full`, "
        f"cached at its training size as before issue 13, took {_gb(old.disk)} of cache files and "
        f"{_gb(old.ram)} of RAM; at the images' own size it takes {_cell(new)}.",
        "",
        _render_table(rule),
        _END,
    ])


def _write_doc(path: str | Path = _DOC) -> bool:
    """Replace the generated block of ``path`` with :func:`_render_section`; ``True`` when the file changed."""
    path = Path(path)
    text = path.read_text()
    if _BEGIN not in text or _END not in text:
        raise ValueError(f"{path} has no generated cache table (markers {_BEGIN!r} ... {_END!r}).")
    start, stop = text.index(_BEGIN), text.index(_END) + len(_END)
    new = text[:start] + _render_section() + text[stop:]
    if new != text:
        path.write_text(new)
    return new != text


def _section_in_doc(path: str | Path = _DOC) -> str:
    """The generated block as it stands in ``path`` (to compare with :func:`_render_section`)."""
    text = Path(path).read_text()
    return text[text.index(_BEGIN):text.index(_END) + len(_END)]


if __name__ == "__main__":
    print(("rewrote the cache table in " if _write_doc() else "the cache table is up to date in ") + str(_DOC))
