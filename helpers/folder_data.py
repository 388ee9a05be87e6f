"""Load ANY folder of images sorted into class sub-folders: your own photos, or a Kaggle download (chapter 09).

The course datasets each have a known layout; your own data does not, so chapter 09 finds it by looking::

    data = folder_data.load_folder("my_photos", image_size=(224, 224), batch_size=32, seed=SEED)

The looking is done by the course's one folder reader, :mod:`helpers.datasets.layouts` (its docstring
has the rules), with the preset for a learner's folder. It accepts the two layouts people actually use, a
few levels below the folder you give (a Kaggle download often wraps the data in a folder or two):

- **class folders only**, ``my_photos/<class>/*.jpg``: a stratified train/validation/test split is made
  (every class keeps its share in every split);
- **split folders**, ``data/{train,val,test}/<class>/*.jpg`` or ``data/{train,test}/<class>/*.jpg``
  (``training``, ``valid``, ``testing``, Kaggle's ``seg_train/seg_train`` ... too): the given splits are
  kept, and a missing validation (or test) split is carved out of ``train``.

Class names are the class folder names in alphabetical order (as ``keras.utils.image_dataset_from_directory``
numbers them) unless you pass ``class_names``. Files that are not usable images and stray files or folders
are skipped, and **one** warning names them; phone photos in HEIC or AVIF are used when Pillow reads them
here. Every image is decoded as a photo viewer shows it (:mod:`helpers.photos`).

:func:`make_example_folder` writes a small "my photos" folder from the Intel sample, for the offline
``smoke`` profile: class folders only, a few odd image sizes and two deliberately broken files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .datasets import Loaded, data_home, is_sample, make_sample
from .datasets.files import Skipped, subfolders
from .datasets.layouts import OWN_FOLDER, SPLITS, Found, LayoutError, find
from .datasets.samples import is_made, publish


def scan_folder(folder: str | os.PathLike, *, class_names: list[str] | None = None, warn: bool = True) -> Found:
    """Find the class folders (and split folders, if any) under ``folder`` and list every usable image.

    Chapter 09 shows the result before loading it. The first folder, breadth-first, that holds split
    folders (with a ``train`` split of at least two classes) or at least two class folders with files wins
    (the rules: :mod:`helpers.datasets.layouts`). Nothing is decoded: each file's header and end are
    checked. Skipped items are collected in :attr:`~helpers.datasets.layouts.Found.skipped` and, with
    ``warn``, named in one :class:`helpers.datasets.DataWarning`.

    Args:
        folder: Your folder: the class folders' parent, the split folders' parent, or a folder above.
        class_names: The class order you want (label ``i`` is ``class_names[i]``); default: the class
            folders of the training data in alphabetical order.
        warn: Emit the warning about skipped files and folders.

    Raises:
        FileNotFoundError: ``folder`` does not exist.
        LayoutError: no class folders were found (the message shows the layouts accepted), a name in
            ``class_names`` is not a class folder, or a part found on disk holds no usable image.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"DATA_DIR={str(folder)!r} is not a folder. Point it at the folder that holds "
                                "one sub-folder of images per class.")
    found = find(root, [OWN_FOLDER], class_names=class_names, title="Your folder", what="class folders",
                 fix="point DATA_DIR at the folder that holds one sub-folder of images per class.")
    empty = [part for part, files in found.files.items() if not files]
    if empty:
        raise LayoutError(f"No usable images in the {', '.join(empty)} part(s) under {found.folder}.")
    if warn:
        Skipped(list(found.skipped)).warn(found.folder)  # one warning, pointing at the caller's line
    return found


def _split_files(scan: Found, *, val_fraction: float = 0.15, test_fraction: float = 0.15,
                seed: int = 0) -> tuple[dict[str, list[Path]], dict[str, list[int]], str]:
    """Train, validation and test files and labels; returns ``(files, labels, how)``.

    Split folders found on disk are kept as they are. What is missing is carved out, stratified by
    class with :func:`helpers.splits.stratified_split`: with class folders only, ``test_fraction``
    of every class goes to test and ``val_fraction`` to validation (fractions of the whole); with
    ``train`` and ``test`` folders, validation takes ``val_fraction`` of ``train``; with ``train`` and
    ``val``, test takes ``test_fraction`` of ``train``. ``how`` says in words what was done.
    """
    from .splits import stratified_split

    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(f"val_fraction and test_fraction must be between 0 and 1 and leave some data to train on; "
                         f"got {val_fraction} and {test_fraction}.")

    files = {k: list(v) for k, v in scan.files.items()}
    labels = {k: list(v) for k, v in scan.labels.items()}

    def carve(source: str, fraction: float, kept: str, held: str) -> None:
        """Move a stratified ``fraction`` of ``source`` to ``held``; the rest becomes ``kept``."""
        keep, out = stratified_split(labels[source], fraction, seed)
        f, y = files.pop(source), labels.pop(source)
        files[kept], labels[kept] = [f[i] for i in keep], [y[i] for i in keep]
        files[held], labels[held] = [f[i] for i in out], [y[i] for i in out]

    shares = (f"{1 - val_fraction - test_fraction:.0%} train, {val_fraction:.0%} validation, "
              f"{test_fraction:.0%} test")
    given = scan.given_splits
    if given in ((), ("train",)):
        carve("all" if not given else "train", test_fraction, "rest", "test")
        carve("rest", val_fraction / (1 - test_fraction), "train", "val")  # val_fraction of the whole
        how = ("class folders only" if not given else "a train folder only") + f": stratified split, {shares}"
    elif "val" in given and "test" in given:
        how = "train, validation and test folders, used as they are"
    elif "test" in given:
        carve("train", val_fraction, "train", "val")
        how = f"train and test folders; validation = a stratified {val_fraction:.0%} of train"
    else:
        carve("train", test_fraction, "train", "test")
        how = f"train and validation folders; test = a stratified {test_fraction:.0%} of train"
    return ({s: files[s] for s in SPLITS}, {s: labels[s] for s in SPLITS}, how)


def _dataset_name(folder: str | os.PathLike) -> str:
    """A readable name for the data in ``folder``: its name, or that of the first parent with a real name.

    kagglehub stores downloads as ``.../datasets/<owner>/<slug>/versions/<n>``: for those the
    ``<slug>`` is returned, not ``"2"``.
    """
    path = Path(folder).expanduser().resolve()
    for part in (path, *path.parents):
        if part.name and not part.name.isdigit() and part.name.lower() != "versions":
            return part.name
    return "custom"


def load_folder(
    folder: str | os.PathLike | Found,
    *,
    image_size: tuple[int, int],
    batch_size: int,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
    class_names: list[str] | None = None,
    name: str | None = None,
    cache: bool = True,
) -> Loaded:
    """Find, split and load a folder of class sub-folders as train/validation/test ``tf.data`` pipelines.

    Chapter 09 loads a learner's own folder with it (chapter 00 points there).
    Returns the same :class:`helpers.datasets.Loaded` as ``datasets.load`` (images float32 in
    [0, 255], integer labels; ``counts()``, ``files``, ``labels`` ...). Its ``layout`` says how the
    splits were made; its ``sample`` is true for a generated folder (:func:`make_example_folder`).
    Skipped files and folders are reported in one :class:`helpers.datasets.DataWarning`.

    Args:
        folder: A folder (see :func:`scan_folder`), or what :func:`scan_folder` found in it, to load
            what you inspected without scanning (and warning) again.
        image_size: ``(height, width)`` every image is resized to.
        batch_size: Images per batch.
        val_fraction, test_fraction: See :func:`_split_files`.
        seed: Seed of the split and of shuffling.
        class_names: Fix the class order (default: alphabetical folder names).
        name: A name for the dataset (default: the folder's name).
        cache: Cache decoded images (in memory, or in a file under ``data_home()/cache`` for large data).
    """
    from .pipeline import choose_cache, make_dataset  # imports TensorFlow

    if isinstance(folder, Found):
        scan = folder
    else:
        scan = scan_folder(folder, class_names=class_names, warn=False)
        Skipped(list(scan.skipped)).warn(scan.folder)  # here, so that the warning points at the caller
    files, labels, how = _split_files(scan, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    name = name or _dataset_name(scan.folder)
    splits = {}
    for split in SPLITS:
        split_cache: bool | str = False
        if cache:
            split_cache = choose_cache(files[split], image_size, data_home() / "cache", f"{name}-{split}") or True
        splits[split] = make_dataset(files[split], labels[split], image_size=image_size, batch_size=batch_size,
                                     shuffle=split == "train", seed=seed, cache=split_cache)
    return Loaded(name, splits["train"], splits["val"], splits["test"], scan.class_names, files, labels,
                  layout=how, folder=scan.folder, sample=is_sample(scan.folder))


def make_example_folder(dest: str | os.PathLike | None = None, *, classes: int = 4, seed: int = 0) -> Path:
    """Write a small "my photos" folder of class sub-folders, made from the generated Intel sample.

    Chapter 09 uses it when no folder of your own is given (the offline ``smoke`` profile).

    The layout is what a learner's own folder usually looks like: ``my_photos/<class>/IMG_0001.jpg``,
    no split folders, images of a few different sizes, and two files that are not usable images (an
    interrupted copy, ``IMG_9999.jpg``, truncated, and a ``notes.txt``) to show how they are skipped.
    The images are synthetic (the course's offline sample): a ``COURSE_SAMPLE.json`` marker in the
    folder above marks the data as a sample.

    Args:
        dest: Folder to create the example in (default ``data_home()/samples/my_photos_example``);
            the photos go to ``dest/my_photos``, which is returned. Made once; later calls reuse it.
        classes: How many of the Intel sample's six classes to use (2 to 6).
        seed: Seed of the Intel sample the images come from.
    """
    if not 2 <= classes <= 6:
        raise ValueError(f"classes must be between 2 and 6, not {classes}")
    dest = Path(dest).expanduser() if dest is not None else data_home() / "samples" / "my_photos_example"
    spec = {"dataset": "my_photos (made from the intel sample)", "classes": classes, "seed": seed, "synthetic": True}
    photos = dest / "my_photos"
    if is_made(dest, spec, what="course example"):
        return photos
    intel = make_sample("intel", data_home() / "samples" / "intel", seed=seed)
    splits = [intel / "seg_train" / "seg_train", intel / "seg_test" / "seg_test"]
    names = sorted(p.name for p in subfolders(splits[0]))[:classes]
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}-"))
    try:
        for name in names:
            target = work / "my_photos" / name
            target.mkdir(parents=True)
            sources = [p for split in splits for p in sorted((split / name).iterdir(), key=lambda p: int(p.stem))]
            for i, source in enumerate(sources, start=1):
                shutil.copyfile(source, target / f"IMG_{i:04d}.jpg")
        first = work / "my_photos" / names[0]
        good = (first / "IMG_0001.jpg").read_bytes()
        (first / "IMG_9999.jpg").write_bytes(good[: len(good) // 2])  # an interrupted copy
        (work / "my_photos" / names[-1] / "notes.txt").write_text("Photos taken in the park, May.\n")
        publish(work, dest, spec)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return photos
