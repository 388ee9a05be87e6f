"""The one folder reader: a dataset's split and class folders, found inside whatever folder the learner gives.

The course's five datasets (``datasets.load``, every chapter) and a learner's own folder of photos
(:mod:`helpers.folder_data`, chapter 09) are read by the same rules. A :class:`Layout` preset only says
what the data looks like on disk (:data:`LAYOUTS`, the catalogue's, and :data:`OWN_FOLDER`); the rules:

- **Search.** The given folder, then its sub-folders breadth-first, down to four levels (a download often
  wraps the data in a folder or two; Fruits-360 nests its splits three levels down), then, for the
  catalogue's presets, two parents up (a learner may pass a split folder itself). Hidden folders
  (dot-folders, ``__MACOSX`` ...) are never entered, nor the branches a preset avoids (Fruits-360's
  other image sizes). The first folder that matches a preset wins.
- **Split folders.** A catalogue preset names its split folders exactly (Intel: ``seg_train`` and
  ``seg_test``) and needs all of them. :data:`OWN_FOLDER` takes any sub-folder whose name is a split word
  (``train``/``training``/``seg_train``, ``val``/``valid``/``validation``/``dev``,
  ``test``/``testing``/``eval``/``evaluation``, in any case, alone or as one word of the name), needs only
  ``train``, and also accepts class folders with no split folders at all (split ``"all"``).
- **Unwrap.** A split folder is a wrapper, looked inside of as deep as wrappers go, when its only visible
  sub-folder has its own name (Kaggle's ``seg_train/seg_train``, files beside it ignored), or when it
  holds nothing but one sub-folder that holds no file itself (``train/images/<class>/``). A lone class
  folder (``test/cats/*.jpg``) holds files, so it is never taken for a wrapper.
- **Class folders.** The visible sub-folders of a split that hold a visible file (or, when the catalogue
  knows the class names, the sub-folders of those names). A split folder set matches when its training
  split holds at least ``min_classes`` class folders (two for a learner's folder, which has no names to be
  recognised by) or, for Food-5K's EPFL layout, a file named ``{ClassID}_{ImageID}.jpg``.
- **Reading.** Every file is checked (:func:`helpers.datasets.files.image_problem`), not decoded; HEIC
  and AVIF photos count when Pillow reads them here. What is left out is kept with its reason; a match
  whose training split holds no usable image does not count (the search goes on); a class with no usable
  training image is left out with one warning.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import progress
from .catalog import DatasetInfo
from .files import IMAGE_EXTENSIONS, DataWarning, Skipped, is_hidden, list_images, subfolders
from .samples import MARKER

#: How deep below the given folder the search goes (Fruits-360 nests the splits three levels down).
_SEARCH_DEPTH = 4
#: The course's three splits, in this order everywhere.
SPLITS = ("train", "val", "test")
#: Folder names (lower case, or one ``_``/``-``/space-separated word of them) that mark each split.
_SPLIT_WORDS = {
    "train": ("train", "training"),
    "val": ("val", "valid", "validation", "dev"),
    "test": ("test", "testing", "eval", "evaluation"),
}
#: Fruits-360 branches that must never be mixed into the 100x100 data.
FRUITS_OTHER_BRANCHES = ("original-size", "original_size", "multi", "3-body-problem", "meta")
#: Food-5K's EPFL file names: ``{ClassID}_{ImageID}.jpg`` with 1 = food and 0 = non-food.
#: ASCII digits only (``\d`` matches every script's digits) and nothing after the extension (``$`` would
#: accept a trailing newline): use it with ``fullmatch``.
FOOD5K_FILE_NAME = re.compile(r"([01])_([0-9]+)\.jpe?g", re.IGNORECASE | re.ASCII)


class LayoutError(FileNotFoundError):
    """No accepted layout (with usable training images) was found; the message says what was expected.

    Raised by ``datasets.load`` in every chapter (chapter 00 shows it) and by chapter 09's folder scan.
    """


class _NoTrainingImages(LayoutError):
    """A layout matched, but its training split holds no usable image (the search then looks further)."""


@dataclass(frozen=True)
class Layout:
    """One accepted on-disk layout: a preset of the folder reader (see the module's rules).

    Every chapter's dataset is found through the catalogue's presets (:data:`LAYOUTS`, listed in
    datasets.md); chapter 09 reads a learner's folder with :data:`OWN_FOLDER`.

    Attributes:
        name: Identifier used in the catalogue.
        splits: Course split name (``train``, ``val``, ``test``) to the folder name on disk; ``None``: any
            folder named by a split word, ``train`` required, or class folders with no split folders.
        labels: ``"folders"`` (one sub-folder per class) or ``"food5k_names"`` (label in the file name).
        description: The layout as a learner would recognise it, for error messages and docs.
        min_classes: Class folders (with a file) the training split needs for the layout to match.
        avoid: Words of folder names (below the given folder) the search never goes into.
    """

    name: str
    splits: dict[str, str] | None
    labels: str = "folders"
    description: str = ""
    min_classes: int = 1
    avoid: tuple[str, ...] = ()


LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout("intel", {"train": "seg_train", "test": "seg_test"},
               description="seg_train/seg_train/<class>/*.jpg and seg_test/seg_test/<class>/*.jpg"),
        Layout("food5k_epfl", {"train": "training", "val": "validation", "test": "evaluation"},
               labels="food5k_names",
               description="Food-5K/{training,validation,evaluation}/{ClassID}_{ImageID}.jpg (1 = food)"),
        Layout("food5k_folders", {"train": "training", "val": "validation", "test": "evaluation"},
               description="{training,validation,evaluation}/{food,non_food}/*.jpg"),
        Layout("fruits360", {"train": "Training", "test": "Test"},
               description="fruits-360[_100x100]/{Training,Test}/<class>/*.jpg (any release)",
               avoid=FRUITS_OTHER_BRANCHES),
        Layout("mosquito", {"train": "Train", "val": "Pred", "test": "Test"},
               description="zw4p9kj6nt-2/data_splitting/{Train,Pred,Test}/<class>/*.jpg"),
        Layout("odonata", {"train": "train", "val": "validation", "test": "test"},
               description="[data/]{train,validation,test}/{damselflies,dragonflies}/*.jpg"),
    )
}
#: A learner's own folder (chapter 09): class folders, with or without split folders, at least two classes.
OWN_FOLDER = Layout(
    "own_folder", None, min_classes=2,
    description="<folder>/<class>/*.jpg (one sub-folder of images per class, at least two classes)\n"
                "  - <folder>/{train,val,test}/<class>/*.jpg  or  <folder>/{train,test}/<class>/*.jpg")


@dataclass
class Found:
    """What the folder reader found: the files of each split on disk, before any split is made.

    ``datasets.load`` (every chapter) turns it into pipelines; chapter 09 shows it (``folder_data.scan_folder``).

    Attributes:
        layout: The name of the preset that matched.
        folder: The folder that holds the split folders (or the class folders).
        class_names: Class names in label order.
        files: Image paths per split found on disk: ``{"all": [...]}`` for class folders only,
            else ``{"train": [...], "test": [...], ...}``.
        labels: The label of every path, in the same structure.
        skipped: Files and folders left out, with the reason for each.
        ignored: Sub-folders of ``folder`` that are neither a split nor a class (e.g. Intel's
            unlabelled ``seg_pred``).
    """

    layout: str
    folder: Path
    class_names: list[str]
    files: dict[str, list[Path]] = field(default_factory=dict)
    labels: dict[str, list[int]] = field(default_factory=dict)
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


def locate(dataset: DatasetInfo, root: Path) -> Found:
    """Find ``dataset``'s splits under ``root`` with the catalogue's presets; used by ``datasets.load``.

    ``datasets.load`` calls it in every chapter. Skipped files are named in one warning per split.

    Raises:
        FileNotFoundError: ``root`` does not exist.
        LayoutError: no accepted layout with training images was found; the message names the dataset,
            the folder (or the empty training split) and what was expected.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{dataset.title}: the folder {root} does not exist (DATA_DIR={str(root)!r}).")
    return find(root, [LAYOUTS[n] for n in dataset.layouts], known=dataset.class_names, parents=2,
                title=dataset.title, what=f"{dataset.title} data", warn_each_split=True,
                fix=f"pass the folder that holds the complete dataset as DATA_DIR (see datasets.md for how to "
                    f"get '{dataset.name}').")


def find(root: Path, layouts: Sequence[Layout], *, title: str, what: str, fix: str,
         known: Sequence[str] | None = None, class_names: Sequence[str] | None = None, parents: int = 0,
         warn_each_split: bool = False) -> Found:
    """The folder reader: the first match of ``layouts`` under ``root`` (see the module's rules), read.

    Every chapter's ``datasets.load`` reaches it through :func:`locate`; chapter 09's
    ``folder_data.scan_folder`` calls it with :data:`OWN_FOLDER`.

    Args:
        root: The folder to search (it exists).
        layouts: The presets to try at each folder, in order.
        title, what, fix: For the messages: who is speaking ("Intel"), what was looked for ("Intel data"),
            and what to do about it ("pass the folder that holds ... as DATA_DIR").
        known: Class names the catalogue knows: class folders are recognised by them, and one missing is
            just absent (a class with no training image is left out).
        class_names: The class order a learner asks for: each one must be a class folder.
        parents: How many parents of ``root`` to try after its descendants.
        warn_each_split: Emit one warning per split naming what was skipped (else the caller warns).

    Raises:
        LayoutError: nothing matched, or the first match had no usable training image, or fewer than two
            classes hold a usable training image.
    """
    empty: _NoTrainingImages | None = None
    for folder in _candidates(root, parents):
        for layout in layouts:
            if _inside(folder, root, layout.avoid):
                continue
            dirs = _split_dirs(folder, layout, known)
            if dirs is None:
                continue
            try:
                return _read(layout, folder, dirs, list(class_names or known or ()) or None,
                             strict=class_names is not None, warn_each_split=warn_each_split, title=title, fix=fix)
            except _NoTrainingImages as err:
                empty = empty or err  # the first (shallowest) one, should nothing better turn up
    if empty is not None:
        raise LayoutError(str(empty))
    expected = "\n".join(f"  - {layout.description}" for layout in layouts)
    raise LayoutError(
        f"No {what} found in {root} (searched {_SEARCH_DEPTH} levels deep{' and two up' if parents else ''}). "
        f"Expected one of these layouts:\n{expected}\nImage files: {', '.join(sorted(IMAGE_EXTENSIONS))} (and "
        f".heic, .avif with their Pillow plugins).\n{fix[0].upper()}{fix[1:]}"
    )


def _candidates(root: Path, parents: int) -> Iterator[Path]:
    """``root``, its descendants breadth-first down to :data:`_SEARCH_DEPTH`, then ``parents`` of its parents."""
    level = [root]
    for _ in range(_SEARCH_DEPTH + 1):
        yield from level
        level = [child for folder in level for child in _visible_dirs(folder)]
    yield from list(root.parents)[:parents]


def _visible_dirs(folder: Path) -> list[Path]:
    try:
        return subfolders(folder)
    except OSError:
        return []


def _holds_a_file(folder: Path) -> bool:
    """True when ``folder`` holds a visible file directly."""
    try:
        return any(p.is_file() and not is_hidden(p) for p in folder.iterdir())
    except OSError:
        return False


def _class_dirs(folder: Path, known: Sequence[str] | None = None) -> list[Path]:
    """Visible sub-folders of ``folder`` that hold a visible file, or, with ``known`` names, those so named."""
    if known:
        return [d for d in _visible_dirs(folder) if d.name in known]
    return [d for d in _visible_dirs(folder) if _holds_a_file(d)]


def _split_of(folder_name: str) -> str | None:
    """The split a folder name stands for (``"train"``, ``"val"``, ``"test"``), or ``None``.

    ``"Training"``, ``"seg_train"``, ``"train-set"`` give ``"train"``; ``"valid"`` gives ``"val"``;
    ``"pred"``, ``"train_test"`` or a class name give ``None``.
    """
    words = [w for w in re.split(r"[^a-z0-9]+", folder_name.lower()) if w]
    found = {split for split, names in _SPLIT_WORDS.items() if any(w in names for w in words)}
    return found.pop() if len(found) == 1 else None


def _unwrap(folder: Path) -> Path:
    """Look inside wrappers: a lone sub-folder of the same name, or a lone one without files and nothing beside it.

    A link is never a wrapper (a link to its own folder would be followed round and round).
    """
    for _ in range(_SEARCH_DEPTH):
        inner = _visible_dirs(folder)
        if len(inner) != 1 or inner[0].is_symlink():
            break
        if inner[0].name != folder.name and (_holds_a_file(folder) or _holds_a_file(inner[0])):
            break
        folder = inner[0]
    return folder


def _split_dirs(folder: Path, layout: Layout, known: Sequence[str] | None) -> dict[str, Path] | None:
    """``{split: folder holding its classes}`` when ``folder`` holds ``layout``'s split folders, else ``None``."""
    if layout.splits is None:
        named: dict[str, Path] = {}
        for child in _visible_dirs(folder):
            split = _split_of(child.name)
            if split is not None and split not in named:
                named[split] = child
    else:
        named = {split: folder / name for split, name in layout.splits.items()}
        if not all(path.is_dir() for path in named.values()):
            return None
    dirs = {split: _unwrap(named[split]) for split in SPLITS if split in named}
    if "train" in dirs:
        train = dirs["train"]
        if layout.labels == "food5k_names":
            if any(FOOD5K_FILE_NAME.fullmatch(p.name) for p in train.iterdir()):
                return dirs
        elif len(_class_dirs(train, known)) >= layout.min_classes:
            return dirs
    if layout.splits is None and len(_class_dirs(folder, known)) >= layout.min_classes:
        return {"all": folder}
    return None


def _inside(folder: Path, root: Path, avoid: tuple[str, ...]) -> bool:
    """True for folders inside a branch named in ``avoid``, judged below ``root`` only.

    Folder names above the learner's root ("metadata-course/...") say nothing about the branch.
    """
    try:
        parts = folder.relative_to(root).parts
    except ValueError:  # a parent of root, tried when root is a split folder
        parts = ()
    return any(branch in part.lower() for part in parts for branch in avoid)


def _read(layout: Layout, folder: Path, dirs: dict[str, Path], class_names: list[str] | None, *, strict: bool,
          warn_each_split: bool, title: str, fix: str) -> Found:
    """List every split's files and integer labels.

    Raises:
        _NoTrainingImages: the training split (read first) holds no usable image; nothing is reported.
        LayoutError: with ``strict``, a class name is not a class folder of the training split; or fewer
            than two classes hold a usable training image.
    """
    first = "train" if "train" in dirs else "all"
    if strict:
        _check_class_names(class_names or [], dirs[first])
    names = class_names or [d.name for d in _class_dirs(dirs[first])]
    reader = _read_named_files if layout.labels == "food5k_names" else _read_class_folders
    found = Found(layout.name, folder, names)
    if first == "train":
        found.ignored = [d for d in _visible_dirs(folder) if not any(p.is_relative_to(d) for p in dirs.values())]
    for split, path in dirs.items():
        skipped = Skipped()
        what = "" if split == "all" else f" {split}"
        with progress.bar(desc=f"Checking the{what} images", unit="file") as bar:
            files, labels = reader(path, names, skipped, bar)
        if split == first and not files:  # nothing to train on: say so now, not as a tf.data error later
            raise _NoTrainingImages(_no_training_images(layout, path, names, skipped, title, fix))
        if warn_each_split:
            skipped.warn(path)
        found.files[split], found.labels[split] = files, labels
        found.skipped += skipped.items
    try:
        found.class_names = _drop_empty_classes(names, found.files, found.labels, dirs[first], first)
    except LayoutError as err:
        raise LayoutError(f"{title}: {err} Or {fix}") from None
    return found


def _check_class_names(class_names: list[str], split_dir: Path) -> None:
    """Class names a learner passes must each be a class folder of ``split_dir``, and two at least."""
    there = [d.name for d in _class_dirs(split_dir)]
    missing = sorted(set(class_names) - set(there))
    if missing:
        raise LayoutError(f"class_names lists {missing}, but {split_dir} has no such folder with images "
                          f"(it has {there}).")
    if len(class_names) < 2:
        raise LayoutError(f"class_names lists {len(class_names)} class(es): a classifier needs two or more.")


def _drop_empty_classes(class_names: list[str], files: dict[str, list[Path]], labels: dict[str, list[int]],
                        where: Path, first: str) -> list[str]:
    """Leave out the classes with no usable image in the ``first`` split; return the remaining class names.

    A class folder whose files are all unreadable would otherwise become an output the model can never
    learn, silently. Its label is removed, the other labels are renumbered in place (in ``labels``, and
    the class's images in the other splits are dropped from ``files``), and one :class:`DataWarning`
    names it.

    Raises:
        LayoutError: fewer than two classes have a usable image in the ``first`` split.
    """
    present = set(labels[first])
    empty = [name for i, name in enumerate(class_names) if i not in present]
    if not empty:
        return class_names
    kept = [name for i, name in enumerate(class_names) if i in present]
    if len(kept) < 2:
        raise LayoutError(
            f"Under {where}, only {len(kept)} class(es) hold a usable image ({', '.join(kept) or 'none'}); "
            f"the class folder(s) {', '.join(empty)} have none. A classifier needs two or more classes: "
            "add readable images (JPEG, PNG, BMP or GIF) to those folders, or remove them.")
    new_index = {class_names.index(name): i for i, name in enumerate(kept)}
    for split in labels:
        pairs = [(f, new_index[label]) for f, label in zip(files[split], labels[split], strict=True)
                 if label in new_index]
        files[split] = [f for f, _ in pairs]
        labels[split] = [label for _, label in pairs]
    warnings.warn(f"Under {where}, the class folder(s) {', '.join(empty)} hold no usable image in the {first} "
                  f"split: left out, so the model has {len(kept)} classes ({', '.join(kept)}).",
                  DataWarning, stacklevel=4)
    return kept


def _no_training_images(layout: Layout, path: Path, class_names: list[str], skipped: Skipped, title: str,
                        fix: str) -> str:
    """The message for a layout whose training split holds no usable image: where, and what was expected."""
    extensions = ", ".join(sorted(IMAGE_EXTENSIONS))
    if layout.labels == "food5k_names":
        expected = "image files named {ClassID}_{ImageID}.jpg (1 = food, 0 = non-food) directly in it"
    elif class_names:
        shown = ", ".join(class_names[:6]) + (", ..." if len(class_names) > 6 else "")
        expected = f"image files ({extensions}) in its class folders ({shown})"
    else:
        expected = f"one sub-folder per class holding image files ({extensions})"
    seen = f"\n{skipped.describe(path)}" if skipped.items else ""
    return (f"{title}: the training split {path} holds no usable image.{seen}\nExpected {expected}, as in the "
            f"layout {layout.description}.\nPut the images there, or {fix}")


def _read_class_folders(split_dir: Path, class_names: list[str], skipped: Skipped,
                        bar: Any = None) -> tuple[list[Path], list[int]]:
    """Images and labels of ``split_dir``'s class folders named in ``class_names``; the rest goes to ``skipped``.

    ``bar`` (optional) advances by one per file checked.
    """
    index = {name: i for i, name in enumerate(class_names)}
    files: list[Path] = []
    labels: list[int] = []
    for path in sorted(split_dir.iterdir()):
        if (is_hidden(path) and path.is_dir()) or path.name == MARKER:
            continue
        if not path.is_dir():
            skipped.add(path, "file outside the class folders")
        elif path.name not in index:
            skipped.add(path, "folder is not one of the classes")
        else:
            images = _with_phone_photos(path, list_images(path, skipped, bar), skipped)
            files += images
            labels += [index[path.name]] * len(images)
    return files, labels


def _with_phone_photos(folder: Path, images: list[Path], skipped: Skipped) -> list[Path]:
    """``images`` plus the HEIC and AVIF photos of ``folder`` that Pillow reads here, in file order.

    :func:`helpers.datasets.files.image_problem` accepts only what TensorFlow decodes; the course's decoding
    (:mod:`helpers.photos`) reads these through Pillow. The ones Pillow cannot read stay in ``skipped``,
    with the fix as the reason.
    """
    kept, taken = [], []
    for path, reason in skipped.items:
        kind, problem = _phone_format(path) if path.parent == folder and path.is_file() else (None, None)
        if kind is None:
            kept.append((path, reason))
        elif problem is None:
            taken.append(path)
        else:
            kept.append((path, problem))
    skipped.items[:] = kept
    return sorted(images + taken) if taken else images


def _phone_format(path: Path) -> tuple[str | None, str | None]:
    """``(kind, problem)`` of a file: ``kind`` is ``"HEIC"`` or ``"AVIF"`` (by content), else ``None``;
    ``problem`` is ``None`` when Pillow reads it here, else why not, with the fix. Only the header is read.
    """
    from ..photos import container_kind, register_plugins

    try:
        with path.open("rb") as f:
            kind = container_kind(f.read(256))
    except OSError:
        return None, None
    if kind is None:
        return None, None
    from PIL import Image, UnidentifiedImageError

    register_plugins()
    try:
        with Image.open(path):
            return kind, None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        pass
    if kind == "HEIC":
        return kind, ("HEIC photo: TensorFlow cannot read it; `pip install pillow-heif`, restart, and run again "
                      "to use it, or save it as JPEG")
    return kind, "AVIF image: this Pillow cannot read it; `pip install -U pillow` (or pillow-avif-plugin) and run again"


def _read_named_files(split_dir: Path, class_names: list[str], skipped: Skipped,
                      bar: Any = None) -> tuple[list[Path], list[int]]:
    files: list[Path] = []
    labels: list[int] = []
    for path in list_images(split_dir, skipped, bar):
        match = FOOD5K_FILE_NAME.fullmatch(path.name)
        if match is None:
            skipped.add(path, "file name is not {ClassID}_{ImageID}.jpg")
            continue
        files.append(path)
        labels.append(int(match.group(1)))
    return files, labels
