"""Finding a dataset's splits inside whatever folder the learner has.

A learner may pass the folder kagglehub returned, the unzipped archive, a folder one level up or
down, or one of the split folders itself. Each layout names the split folders it expects; we look
for them in the given folder, its descendants (a few levels deep) and, failing that, its parents.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import progress
from .catalog import DatasetInfo
from .files import IMAGE_EXTENSIONS, DataWarning, Skipped, is_hidden, list_images, subfolders
from .samples import MARKER

#: How deep below the given root the search goes (Fruits-360 nests the splits three levels down).
SEARCH_DEPTH = 4
#: Fruits-360 branches that must never be mixed into the 100x100 data.
FRUITS_OTHER_BRANCHES = ("original-size", "original_size", "multi", "3-body-problem", "meta")
#: Food-5K's EPFL file names: ``{ClassID}_{ImageID}.jpg`` with 1 = food and 0 = non-food.
#: ASCII digits only (``\d`` matches every script's digits) and nothing after the extension (``$`` would
#: accept a trailing newline): use it with ``fullmatch``.
FOOD5K_FILE_NAME = re.compile(r"([01])_([0-9]+)\.jpe?g", re.IGNORECASE | re.ASCII)


class LayoutError(FileNotFoundError):
    """The folder holds no layout the loader recognises for this dataset."""


class _NoTrainingImages(LayoutError):
    """A layout matched, but its training split holds no usable image (``locate`` then looks further)."""


@dataclass(frozen=True)
class Layout:
    """One accepted on-disk layout.

    Attributes:
        name: Identifier used in the catalogue.
        splits: Course split name (``train``, ``val``, ``test``) to the folder name on disk.
        labels: ``"folders"`` (one sub-folder per class) or ``"food5k_names"`` (label in the file name).
        description: The layout as a learner would recognise it, for error messages and docs.
    """

    name: str
    splits: dict[str, str]
    labels: str = "folders"
    description: str = ""


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
               description="fruits-360[_100x100]/{Training,Test}/<class>/*.jpg (any release)"),
        Layout("mosquito", {"train": "Train", "val": "Pred", "test": "Test"},
               description="zw4p9kj6nt-2/data_splitting/{Train,Pred,Test}/<class>/*.jpg"),
        Layout("odonata", {"train": "train", "val": "validation", "test": "test"},
               description="[data/]{train,validation,test}/{damselflies,dragonflies}/*.jpg"),
    )
}


@dataclass
class Found:
    """The files of each split, as found on disk, before any train/validation split is made."""

    layout: str
    folder: Path
    class_names: list[str]
    files: dict[str, list[Path]] = field(default_factory=dict)
    labels: dict[str, list[int]] = field(default_factory=dict)


def locate(dataset: DatasetInfo, root: Path) -> Found:
    """Find ``dataset``'s splits under ``root`` and list their image files and labels.

    A layout whose training split holds no usable image does not count: the search goes on, and if
    nothing else is found the error is about that training split.

    Raises:
        FileNotFoundError: ``root`` does not exist.
        LayoutError: no accepted layout with training images was found; the message names the dataset,
            the folder (or the empty training split) and what was expected.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{dataset.title}: the folder {root} does not exist (DATA_DIR={str(root)!r}).")
    empty: _NoTrainingImages | None = None
    for folder in _candidates(root):
        if dataset.name == "fruits360" and _is_other_fruits_branch(folder, root):
            continue
        for layout in (LAYOUTS[n] for n in dataset.layouts):
            split_dirs = _split_dirs(folder, layout, dataset)
            if split_dirs is not None:
                try:
                    return _read(dataset, layout, folder, split_dirs)
                except _NoTrainingImages as err:
                    empty = empty or err  # the first (shallowest) one, should nothing better turn up
    if empty is not None:
        raise LayoutError(str(empty))
    expected = "\n".join(f"  - {LAYOUTS[n].description}" for n in dataset.layouts)
    raise LayoutError(
        f"No {dataset.title} data found in {root}.\nExpected one of these layouts (at any depth up to "
        f"{SEARCH_DEPTH}):\n{expected}\nPass the folder you downloaded or unzipped as DATA_DIR, "
        f"or see datasets.md for how to get '{dataset.name}'."
    )


def _candidates(root: Path) -> Iterator[Path]:
    """The root, its descendants breadth-first, then its parents (for a split folder passed as root)."""
    level = [root]
    for _ in range(SEARCH_DEPTH + 1):
        yield from level
        level = [child for folder in level for child in _visible_dirs(folder)]
    yield from list(root.parents)[:2]


def _visible_dirs(folder: Path) -> list[Path]:
    try:
        return subfolders(folder)
    except OSError:
        return []


def _split_dirs(folder: Path, layout: Layout, dataset: DatasetInfo) -> dict[str, Path] | None:
    """The split folders of ``layout`` inside ``folder``, or ``None`` if it does not match."""
    dirs = {}
    for split, name in layout.splits.items():
        path = folder / name
        if not path.is_dir():
            return None
        dirs[split] = _unwrap(path)
    first = dirs["train"]
    if layout.labels == "food5k_names":
        return dirs if any(FOOD5K_FILE_NAME.fullmatch(p.name) for p in first.iterdir()) else None
    if not _visible_dirs(first):
        return None
    if dataset.class_names and not set(dataset.class_names) & {p.name for p in _visible_dirs(first)}:
        return None
    return dirs


def _unwrap(path: Path) -> Path:
    """Follow Intel's ``seg_train/seg_train`` style nesting: a lone sub-folder with the same name."""
    inner = path / path.name
    only = _visible_dirs(path)
    return inner if inner.is_dir() and only == [inner] else path


def _is_other_fruits_branch(folder: Path, root: Path) -> bool:
    """True for folders inside a Fruits-360 branch other than 100x100, judged below ``root`` only.

    Folder names above the learner's root ("metadata-course/...") say nothing about the branch.
    """
    try:
        parts = folder.relative_to(root).parts
    except ValueError:  # a parent of root, tried when root is a split folder
        parts = ()
    return any(branch in part.lower() for part in parts for branch in FRUITS_OTHER_BRANCHES)


def _read(dataset: DatasetInfo, layout: Layout, folder: Path, dirs: dict[str, Path]) -> Found:
    """List every split's files and integer labels; skipped items are reported once per split.

    Raises:
        _NoTrainingImages: the training split (read first) holds no usable image; nothing is reported.
    """
    if layout.labels == "food5k_names":
        class_names = list(dataset.class_names or ())
    elif dataset.class_names:
        class_names = list(dataset.class_names)
    else:
        class_names = [p.name for p in _visible_dirs(dirs["train"]) if _has_files(p)]
    found = Found(layout.name, folder, class_names)
    for split, path in dirs.items():
        skipped = Skipped()
        reader = _read_named_files if layout.labels == "food5k_names" else read_class_folders
        with progress.bar(desc=f"Checking the {split} images", unit="file") as bar:
            files, labels = reader(path, class_names, skipped, bar)
        if split == "train" and not files:  # nothing to train on: say so now, not as a tf.data error later
            raise _NoTrainingImages(_no_training_images(dataset, layout, folder, path, class_names, skipped))
        skipped.warn(path)
        found.files[split], found.labels[split] = files, labels
    try:
        found.class_names = drop_empty_classes(found.class_names, found.files, found.labels, dirs["train"])
    except LayoutError as err:
        raise LayoutError(f"{dataset.title}: {err} Or pass the folder that holds the complete dataset as "
                          f"DATA_DIR (see datasets.md for how to get '{dataset.name}').") from None
    return found


def drop_empty_classes(class_names: list[str], files: dict[str, list[Path]], labels: dict[str, list[int]],
                       where: Path, first: str = "train") -> list[str]:
    """Leave out the classes with no usable image in the ``first`` split; return the remaining class names.

    A class folder whose files are all unreadable would otherwise become an output the model can never
    learn, silently. Its label is removed, the other labels are renumbered in place (in ``labels``, and
    the class's images in the other splits are dropped from ``files``), and one :class:`DataWarning`
    names it. Used by :func:`locate` and by :mod:`helpers.folder_data` (chapter 09).

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
                  DataWarning, stacklevel=3)
    return kept


def _no_training_images(dataset: DatasetInfo, layout: Layout, folder: Path, path: Path, class_names: list[str],
                        skipped: Skipped) -> str:
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
    return (
        f"{dataset.title}: the training split {path} holds no usable image.{seen}\nExpected {expected}, "
        f"as in the layout {layout.description}.\nPut the images there, or pass the folder that holds the "
        f"complete dataset as DATA_DIR (see datasets.md for how to get '{dataset.name}')."
    )


def _has_files(folder: Path) -> bool:
    return any(p.is_file() for p in folder.iterdir())


def read_class_folders(split_dir: Path, class_names: list[str], skipped: Skipped,
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
            images = list_images(path, skipped, bar)
            files += images
            labels += [index[path.name]] * len(images)
    return files, labels


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
