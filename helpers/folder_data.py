"""Load ANY folder of images sorted into class sub-folders: your own photos, or a Kaggle download.

The course datasets each have a known layout (:mod:`helpers.datasets.layouts`). Your own data does
not, so this module finds it by looking::

    data = folder_data.load_folder("my_photos", image_size=(224, 224), batch_size=32, seed=SEED)

It accepts the two layouts people actually use, at any depth up to :data:`SEARCH_DEPTH` below the
folder you give (a Kaggle download often wraps the data in a folder or two):

- **class folders only**, ``my_photos/<class>/*.jpg``: the notebook makes a stratified
  train/validation/test split (every class keeps its share in every split);
- **split folders**, ``data/{train,val,test}/<class>/*.jpg`` or ``data/{train,test}/<class>/*.jpg``
  (also ``training``, ``validation``, ``valid``, ``testing``, and Kaggle's ``seg_train`` style; a
  split folder that only wraps one folder of the same name, ``seg_train/seg_train/``, is unwrapped):
  the given splits are kept, and a missing validation (or test) split is carved out of ``train``.

Class names are the class folder names in alphabetical order (as ``keras.utils.image_dataset_from_directory``
numbers them) unless you pass ``class_names`` to fix the order yourself. Files that are not usable
images (empty, truncated, not an image, a format TensorFlow cannot decode) and stray files or folders
are skipped, and **one** warning names them, via :mod:`helpers.datasets.files`. Phone photos in HEIC
(iPhones) or AVIF are used when Pillow can read them here (HEIC needs ``pip install pillow-heif``);
otherwise the warning says so, with the fix, next to their names. Every image is decoded as a photo
viewer shows it (:mod:`helpers.photos`: EXIF orientation, colour profiles, transparency on white).

:func:`make_example_folder` writes a small "my photos" folder from the Intel sample, for the offline
``smoke`` profile: class folders only, a few odd image sizes and two deliberately broken files.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .datasets import Loaded, data_home, is_sample, make_sample
from .datasets.files import Skipped, is_hidden, subfolders
from .datasets.layouts import LayoutError, drop_empty_classes, read_class_folders
from .datasets.samples import is_made, publish

#: How deep below the given folder the search for class or split folders goes.
SEARCH_DEPTH = 4
#: Folder names (lower case, or one ``_``/``-``/space-separated word of them) that mark each split.
SPLIT_WORDS = {
    "train": ("train", "training"),
    "val": ("val", "valid", "validation", "dev"),
    "test": ("test", "testing", "eval", "evaluation"),
}
SPLITS = ("train", "val", "test")


class FolderLayoutError(FileNotFoundError):
    """The folder holds no class sub-folders with images, at any depth the search looks at."""


@dataclass
class Scan:
    """What :func:`scan_folder` found, before any split is made.

    Attributes:
        root: The folder that holds the class folders (or the split folders).
        class_names: Class names in label order.
        files: Image paths per split found on disk: ``{"all": [...]}`` for class folders only,
            else ``{"train": [...], "test": [...], ...}``.
        labels: The label of every path, in the same structure.
        skipped: Files and folders left out, with the reason for each.
        ignored: Sub-folders of ``root`` that are neither a split nor a class (e.g. Intel's
            unlabelled ``seg_pred``).
    """

    root: Path
    class_names: list[str]
    files: dict[str, list[Path]]
    labels: dict[str, list[int]]
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)

    @property
    def given_splits(self) -> tuple[str, ...]:
        """The splits that came as folders on disk (empty when there are class folders only)."""
        return tuple(s for s in SPLITS if s in self.files)

    @property
    def num_images(self) -> int:
        return sum(len(f) for f in self.files.values())

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per class in each part found on disk: ``{part: {class_name: count}}``."""
        return {part: {name: Counter(labels)[i] for i, name in enumerate(self.class_names)}
                for part, labels in self.labels.items()}


def split_of(folder_name: str) -> str | None:
    """The split a folder name stands for (``"train"``, ``"val"``, ``"test"``), or ``None``.

    ``"Training"``, ``"seg_train"``, ``"train-set"`` give ``"train"``; ``"valid"`` gives ``"val"``;
    ``"pred"`` or a class name give ``None``.
    """
    words = [w for w in re.split(r"[^a-z0-9]+", folder_name.lower()) if w]
    found = {split for split, names in SPLIT_WORDS.items() if any(w in names for w in words)}
    return found.pop() if len(found) == 1 else None


def _unwrap(folder: Path) -> Path:
    """Follow wrappers such as Intel's ``seg_train/seg_train``: a lone sub-folder and no files."""
    for _ in range(SEARCH_DEPTH):
        inner = _visible_dirs(folder)
        if len(inner) != 1 or any(p.is_file() and not is_hidden(p) for p in folder.iterdir()):
            break
        folder = inner[0]
    return folder


def _visible_dirs(folder: Path) -> list[Path]:
    try:
        return subfolders(folder)
    except OSError:
        return []


def _class_dirs(folder: Path) -> list[Path]:
    """Sub-folders of ``folder`` that hold at least one file directly (candidate classes)."""
    return [d for d in _visible_dirs(folder) if any(p.is_file() and not is_hidden(p) for p in d.iterdir())]


def _split_dirs(folder: Path) -> dict[str, Path] | None:
    """``{split: class-level folder}`` when ``folder`` holds a train split folder with classes inside."""
    dirs: dict[str, Path] = {}
    for child in _visible_dirs(folder):
        split = split_of(child.name)
        if split is not None and split not in dirs:
            dirs[split] = _unwrap(child)
    if "train" not in dirs or len(_class_dirs(dirs["train"])) < 2:
        return None
    return dirs


def _candidates(root: Path):
    """``root`` and its descendants, breadth-first, down to :data:`SEARCH_DEPTH`."""
    level = [root]
    for _ in range(SEARCH_DEPTH + 1):
        yield from level
        level = [child for folder in level for child in _visible_dirs(folder)]


def scan_folder(folder: str | os.PathLike, *, class_names: list[str] | None = None, warn: bool = True) -> Scan:
    """Find the class folders (and split folders, if any) under ``folder`` and list every usable image.

    The first folder, breadth-first, that holds split folders (with a ``train`` split of at least
    two classes) or at least two class folders with files wins. Nothing is decoded: each file's
    header and end are checked (:func:`helpers.datasets.files.image_problem`). Skipped items are
    collected in :attr:`Scan.skipped` and, with ``warn``, named in one
    :class:`helpers.datasets.DataWarning`.

    Args:
        folder: Your folder: the class folders' parent, the split folders' parent, or a folder above.
        class_names: The class order you want (label ``i`` is ``class_names[i]``); default: the class
            folders of the training data in alphabetical order.
        warn: Emit the warning about skipped files and folders.

    Raises:
        FileNotFoundError: ``folder`` does not exist.
        FolderLayoutError: no class folders were found; the message shows the layouts accepted.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"DATA_DIR={str(folder)!r} is not a folder. Point it at the folder that holds "
                                "one sub-folder of images per class.")
    for candidate in _candidates(root):
        split_dirs = _split_dirs(candidate)
        if split_dirs is not None:
            parts = {split: split_dirs[split] for split in SPLITS if split in split_dirs}
            ignored = [d for d in _visible_dirs(candidate) if split_of(d.name) is None]
            scan = _read(candidate, parts, class_names, ignored)
            break
        if len(_class_dirs(candidate)) >= 2:
            scan = _read(candidate, {"all": candidate}, class_names, [])
            break
    else:
        raise FolderLayoutError(
            f"No class folders found in {root} (searched {SEARCH_DEPTH} levels deep). Expected one of:\n"
            "  - <folder>/<class>/*.jpg            (one sub-folder of images per class, at least two classes)\n"
            "  - <folder>/{train,val,test}/<class>/*.jpg  or  <folder>/{train,test}/<class>/*.jpg\n"
            "Image files: .jpg, .jpeg, .png, .bmp, .gif, .webp (and .heic, .avif with their Pillow plugins)."
        )
    if warn:
        Skipped(list(scan.skipped)).warn(scan.root)  # one warning, pointing at the caller's line
    return scan


def _read(root: Path, parts: dict[str, Path], class_names: list[str] | None, ignored: list[Path]) -> Scan:
    first = parts.get("train", parts.get("all"))
    found = [d.name for d in _class_dirs(first)]
    names = list(class_names) if class_names is not None else sorted(found)
    missing = sorted(set(names) - set(found))
    if missing:
        raise FolderLayoutError(f"class_names lists {missing}, but {first} has no such folder with images "
                                f"(it has {found}).")
    if len(names) < 2:
        raise FolderLayoutError(f"{first} holds {len(names)} class folder(s) with images: a classifier needs two or "
                                "more.")
    skipped = Skipped()
    files: dict[str, list[Path]] = {}
    labels: dict[str, list[int]] = {}
    for part, folder in parts.items():
        files[part], labels[part] = read_class_folders(folder, names, skipped)
        _take_phone_formats(folder, names, files[part], labels[part], skipped)
    empty = [p for p in parts if not files[p]]
    if empty:
        raise FolderLayoutError(f"No usable images in the {', '.join(empty)} part(s) under {root}.")
    try:
        names = drop_empty_classes(names, files, labels, first, "train" if "train" in parts else "all")
    except LayoutError as err:
        raise FolderLayoutError(str(err)) from None
    return Scan(root, names, files, labels, skipped.items, ignored)


def phone_format(path: Path) -> tuple[str | None, str | None]:
    """``(kind, problem)`` of a file: ``kind`` is ``"HEIC"`` or ``"AVIF"`` (by content), else ``None``;
    ``problem`` is ``None`` when Pillow reads it here, else why not, with the fix. Only the header is read.
    """
    from .photos import _register_plugins, container_kind

    try:
        with path.open("rb") as f:
            kind = container_kind(f.read(256))
    except OSError:
        return None, None
    if kind is None:
        return None, None
    from PIL import Image, UnidentifiedImageError

    _register_plugins()
    try:
        with Image.open(path):
            return kind, None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        pass
    if kind == "HEIC":
        return kind, ("HEIC photo: TensorFlow cannot read it; `pip install pillow-heif`, restart, and run again "
                      "to use it, or save it as JPEG")
    return kind, "AVIF image: this Pillow cannot read it; `pip install -U pillow` (or pillow-avif-plugin) and run again"


def _take_phone_formats(folder: Path, names: list[str], files: list[Path], labels: list[int],
                        skipped: Skipped) -> None:
    """Move the HEIC and AVIF photos Pillow can read from ``skipped`` into ``files``; explain the others.

    :func:`helpers.datasets.files.image_problem` accepts only what TensorFlow decodes; the course's
    decoding (:mod:`helpers.photos`) reads these through Pillow. A photo counts when it lies directly
    in one of ``folder``'s class folders; ``files`` stays sorted by path, as ``read_class_folders`` gives it.
    """
    index = {name: i for i, name in enumerate(names)}
    kept = []
    for path, reason in skipped.items:
        in_class = path.parent.parent == folder and path.parent.name in index and path.is_file()
        kind, problem = phone_format(path) if in_class else (None, None)
        if kind is None:
            kept.append((path, reason))
        elif problem is None:
            files.append(path)
            labels.append(index[path.parent.name])
        else:
            kept.append((path, problem))
    if len(kept) < len(skipped.items):
        order = sorted(range(len(files)), key=lambda i: files[i])
        files[:], labels[:] = [files[i] for i in order], [labels[i] for i in order]
    skipped.items[:] = kept


def split_files(scan: Scan, *, val_fraction: float = 0.15, test_fraction: float = 0.15,
                seed: int = 0) -> tuple[dict[str, list[Path]], dict[str, list[int]], str]:
    """Train, validation and test files and labels; returns ``(files, labels, how)``.

    Split folders found on disk are kept as they are. What is missing is carved out, stratified by
    class with :func:`helpers.pipeline.stratified_split`: with class folders only, ``test_fraction``
    of every class goes to test and ``val_fraction`` to validation (fractions of the whole); with
    ``train`` and ``test`` folders, validation takes ``val_fraction`` of ``train``; with ``train`` and
    ``val``, test takes ``test_fraction`` of ``train``. ``how`` says in words what was done.
    """
    from .pipeline import stratified_split  # imports TensorFlow

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


def dataset_name(folder: str | os.PathLike) -> str:
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
    folder: str | os.PathLike | Scan,
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

    Returns the same :class:`helpers.datasets.Loaded` as ``datasets.load`` (images float32 in
    [0, 255], integer labels; ``counts()``, ``files``, ``labels`` ...). Its ``layout`` says how the
    splits were made; its ``sample`` is true for a generated folder (:func:`make_example_folder`).
    Skipped files and folders are reported in one :class:`helpers.datasets.DataWarning`.

    Args:
        folder: A folder (see :func:`scan_folder`), or the :class:`Scan` of one, to load what you
            inspected without scanning (and warning) again.
        image_size: ``(height, width)`` every image is resized to.
        batch_size: Images per batch.
        val_fraction, test_fraction: See :func:`split_files`.
        seed: Seed of the split and of shuffling.
        class_names: Fix the class order (default: alphabetical folder names).
        name: A name for the dataset (default: the folder's name).
        cache: Cache decoded images (in memory, or in a file under ``data_home()/cache`` for large data).
    """
    from .pipeline import choose_cache, make_dataset  # imports TensorFlow

    if isinstance(folder, Scan):
        scan = folder
    else:
        scan = scan_folder(folder, class_names=class_names, warn=False)
        Skipped(list(scan.skipped)).warn(scan.root)  # here, so that the warning points at the caller
    files, labels, how = split_files(scan, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    name = name or dataset_name(scan.root)
    splits = {}
    for split in SPLITS:
        split_cache: bool | str = False
        if cache:
            split_cache = choose_cache(files[split], image_size, data_home() / "cache", f"{name}-{split}") or True
        splits[split] = make_dataset(files[split], labels[split], image_size=image_size, batch_size=batch_size,
                                     shuffle=split == "train", seed=seed, cache=split_cache)
    return Loaded(name, splits["train"], splits["val"], splits["test"], scan.class_names, files, labels,
                  layout=how, folder=scan.root, sample=is_sample(scan.root))


def make_example_folder(dest: str | os.PathLike | None = None, *, classes: int = 4, seed: int = 0) -> Path:
    """Write a small "my photos" folder of class sub-folders, made from the generated Intel sample.

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
