"""Small offline copies of the course datasets, in each real dataset's exact on-disk layout.

The real datasets cannot be downloaded everywhere (CI has no network), so every notebook can run
on a generated sample instead. A sample has the real folder nesting, class folder names, file
naming and image sizes, so the same loading code runs on it; its images are synthetic (a coloured,
striped shape per class on a noisy background, stamped "SAMPLE") so that a small CNN separates the
classes in seconds, and so that nobody mistakes them for real photos.
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .. import progress
from .catalog import info

#: Marker file written at the root of every sample; its presence means "complete, generated data".
MARKER = "COURSE_SAMPLE.json"

FRUIT_CLASSES = ("Apple Red 1", "Banana", "Cherry 1", "Lemon", "Pear 2", "Tomato 4")
MOSQUITO_CLASSES = (
    "aegypti_landing", "aegypti_smashed", "albopictus_landing",
    "albopictus_smashed", "culex_landing", "culex_smashed",
)
MOSQUITO_RAW_FOLDERS = (
    "Aedes aegypti landing", "Aedes aegypti smashed", "Aedes albopictus landing",
    "Aedes albopictus  smashed", "Culex quinquefasciatus landing", "Culex quinquefasciatus smashed",
)
DEFAULT_IMAGES_PER_CLASS = {"intel": 24, "food5k": 36, "fruits360": 20, "mosquito": 20, "odonata": 36}
#: Bumped when a dataset's generator writes other files for the same arguments, so that a sample made by the
#: older generator is regenerated instead of reused (fruits360 2: rotation series named as the real dataset;
#: odonata 2: its classes differ in brightness too, see ``ODONATA_VALUES``).
_GENERATOR_VERSION = {"fruits360": 2, "odonata": 2}
#: Brightness (HSV value) of the odonata sample's background per class. Chapter 04 trains a grayscale model on
#: it: with the same brightness for both classes (0.85), their hues (red, cyan) left 29 grey levels between
#: them, and its grayscale network sat at chance for 4 to 12 epochs or more, so an 8-epoch smoke run ended at
#: chance or not depending on the draw; with these, about 70 grey levels, it learns within 2 to 4 epochs.
_ODONATA_VALUES = (0.55, 0.95)


@dataclass(frozen=True)
class _View:
    """How every frame of one generated rotation series looks: the shape's centre and radius, and the light."""

    cx: float
    cy: float
    r: float
    hue_shift: float
    light: float


@dataclass(frozen=True)
class _Writer:
    """Writes class-separable synthetic images with a seeded generator."""

    rng: np.random.Generator
    n_classes: int
    #: Brightness (HSV value) of each class's background; empty: 0.85 for every class.
    values: tuple[float, ...] = ()

    def image(self, label: int, size: tuple[int, int], view: _View | None = None) -> Image.Image:
        """A ``size`` = (height, width) RGB image whose colour, stripes and shape depend on ``label``.

        ``view`` fixes the shape's place and size and the light (one rotation series of Fruits-360, whose
        frames are near-copies); without it they are drawn at random for every image.
        """
        h, w = size
        hue = label / self.n_classes + (view.hue_shift if view else 0.0)
        value = self.values[label] if self.values else 0.85
        base = np.array(_hsv_to_rgb(hue % 1, 0.65, value * (view.light if view else 1.0))) * 255
        yy, xx = np.mgrid[0:h, 0:w]
        angle = np.pi * label / self.n_classes
        stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / max(8, min(h, w) / 6))
        pixels = base * (0.75 + 0.25 * stripes[..., None]) + self.rng.normal(0, 18, (h, w, 3))
        im = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        self._shape(ImageDraw.Draw(im), label, h, w, view)
        ImageDraw.Draw(im).text((3, 2), "SAMPLE", fill=(255, 255, 255))
        return im

    def view(self, size: tuple[int, int]) -> _View:
        """A random view for a series of ``size`` images: where the shape sits, how large, which light."""
        h, w = size
        r = min(h, w) * self.rng.uniform(0.16, 0.25)
        return _View(cx=self.rng.uniform(r + 3, w - r - 3), cy=self.rng.uniform(r + 3, h - r - 3), r=r,
                     hue_shift=self.rng.uniform(-0.015, 0.015), light=self.rng.uniform(0.94, 1.06))

    def _shape(self, draw: ImageDraw.ImageDraw, label: int, h: int, w: int, view: _View | None = None) -> None:
        if view is None:
            r = int(min(h, w) * self.rng.uniform(0.15, 0.25))
            cx, cy = (int(self.rng.uniform(r, d - r)) for d in (w, h))
        else:  # a frame of the series: the shape moves by a pixel or two, as a turning fruit would
            r = int(view.r)
            cx, cy = (int(round(c + self.rng.uniform(-2, 2))) for c in (view.cx, view.cy))
        fill = tuple(int(255 * c) for c in _hsv_to_rgb((label / self.n_classes + 0.5) % 1, 0.9, 0.95))
        box = (cx - r, cy - r, cx + r, cy + r)
        if label % 3 == 0:
            draw.ellipse(box, fill=fill)
        elif label % 3 == 1:
            draw.rectangle(box, fill=fill)
        else:
            draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fill)

    def save(self, path: Path, label: int, size: tuple[int, int], view: _View | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.image(label, size, view).save(path, quality=90)
        if _bar is not None:
            _bar.update(1)


#: The progress bar of the sample being written (set by :func:`make_sample` while it writes).
_bar = None


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[float, float, float]:
    import colorsys

    return colorsys.hsv_to_rgb(h, s, v)


def make_sample(name: str, dest: str | Path, *, images_per_class: int | None = None, seed: int = 0,
                layout: str | None = None, held_per_class: int | None = None) -> Path:
    """Write a small offline copy of dataset ``name`` in its real layout under ``dest``; return ``dest``.

    Every chapter's smoke profile runs on one (datasets.get); tools/local_kaggle.py and tools/rehearse.py build them
    too.

    Args:
        name: One of the catalogue names (``intel``, ``food5k``, ``fruits360``, ``mosquito``, ``odonata``).
        dest: Folder to create. If it already holds a sample made with the same arguments, it is
            returned untouched; a sample made with other arguments is replaced; a folder holding
            anything else is never overwritten.
        images_per_class: Training images per class (validation and test get about a third as many).
        seed: Seed for the image generator: the same arguments always give the same files.
        layout: For ``food5k`` only: ``"epfl"`` (default, labels in file names) or ``"folders"`` (Kaggle).
        held_per_class: Images per class of each held-out split (validation, test, Intel's ``seg_pred``);
            default about a third of ``images_per_class``. ``tools/rehearse.py`` sets both to write a
            copy with the real dataset's file counts.

    Raises:
        FileExistsError: ``dest`` exists, is not empty and is not a course sample.
    """
    info(name)
    dest = Path(dest).expanduser()
    n = images_per_class or DEFAULT_IMAGES_PER_CLASS[name]
    if name == "food5k":
        layout = layout or "epfl"  # so that None and "epfl" name the same sample
    elif layout is not None:
        raise ValueError(f"Only food5k has alternative sample layouts; got layout={layout!r} for {name}.")
    spec = {"dataset": name, "images_per_class": n, "seed": seed, "layout": layout, "synthetic": True}
    if name in _GENERATOR_VERSION:  # only then, so that the other datasets' samples made before stay valid
        spec["generator"] = _GENERATOR_VERSION[name]
    if held_per_class is not None:  # only then, so that samples made before this option stay valid
        spec["held_per_class"] = held_per_class
    held = held_per_class or _split_sizes(n)[1]
    existing = _existing_sample(dest)
    if existing == spec:
        return dest
    if existing is None and dest.exists() and any(dest.iterdir()):
        raise FileExistsError(
            f"{dest} already exists and is not a course sample; "
            "choose another folder (the course never overwrites your files)."
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}-"))
    global _bar
    try:  # build beside dest, then rename: an interrupted run never leaves a half sample at dest
        with progress.bar(desc=f"Writing the {name} sample", unit="image") as _bar:
            _BUILDERS[name](work, n, held, np.random.default_rng(seed), layout)
        publish(work, dest, spec)
    finally:
        _bar = None
        shutil.rmtree(work, ignore_errors=True)
    return dest


def publish(work: Path, dest: Path, spec: dict) -> None:
    """Mark the folder built in ``work`` with ``spec`` and move it to ``dest`` in one rename.

    Chapter 09's example folders (phone_photos, folder_data) and every chapter's smoke samples are written through it.

    Generated folders are built beside ``dest`` and renamed into place, so an interrupted run never leaves
    half a folder at ``dest``; a folder generated before (it has the marker) is replaced. Used by
    :func:`make_sample` and chapter 09's example folders (``phone_photos``, ``folder_data``).
    """
    (work / MARKER).write_text(json.dumps(spec, indent=2) + "\n")
    _move_into_place(work, dest, spec)


def _move_into_place(work: Path, dest: Path, spec: dict) -> None:
    """Rename ``work`` to ``dest``; if a parallel run got there first with the same sample, keep theirs.

    Theirs is never moved aside, not even for a moment: the run that made it may already be reading it
    (parallel notebook runs and graded submissions share one data folder).
    """
    if _existing_sample(dest) == spec:
        return  # the caller removes ``work``
    old = None
    try:
        if (dest / MARKER).is_file():  # a folder generated with other settings: safe to replace
            old = dest.rename(dest.with_name(f".{dest.name}-old-{work.name}"))
        elif dest.exists():
            dest.rmdir()
        work.rename(dest)
    except OSError:
        if _existing_sample(dest) != spec:
            raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def is_sample(root: str | Path) -> bool:
    """True when ``root`` (or a folder above it) is a generated sample rather than real data.

    In every chapter, datasets.load sets Loaded.sample with it, so a notebook can say it ran on generated data.
    """
    root = Path(root).resolve()
    return any((p / MARKER).is_file() for p in (root, *root.parents))


def is_made(dest: Path, spec: dict, what: str = "course sample") -> bool:
    """True when ``dest`` already holds the generated folder described by ``spec`` (so it can be reused).

    Chapter 09's example folders (phone_photos, folder_data) are reused when it says so.

    False when it is missing, empty or was generated with other settings (safe to rebuild). A folder
    holding anything else is never overwritten: :class:`FileExistsError` naming ``what`` was expected.
    Used by the generators of chapter 09's example folders.
    """
    if _existing_sample(dest) == spec:
        return True
    if dest.exists() and any(dest.iterdir()) and not (dest / MARKER).is_file():
        raise FileExistsError(f"{dest} exists and is not a {what} folder; choose another folder.")
    return False


def _existing_sample(dest: Path) -> dict | None:
    try:
        return json.loads((dest / MARKER).read_text())
    except (OSError, ValueError):
        return None


def _split_sizes(n: int) -> tuple[int, int]:
    """Train and held-out counts per class for a sample with ``n`` training images per class."""
    return n, max(4, n // 3)


def _shares(total: int, parts: int) -> list[int]:
    """``total`` spread over ``parts`` as evenly as possible, larger shares first: 20 over 3 is 7, 7, 6."""
    return [total // parts + (i < total % parts) for i in range(parts)]


def _classes(root: Path, writer: _Writer, classes: tuple[str, ...], count: int,
             size: Callable[[int], tuple[int, int]], name: Callable[[int], str]) -> None:
    for label, cls in enumerate(classes):
        for i in range(count):
            writer.save(root / cls / name(i), label, size(i))


def _intel(root: Path, n: int, held: int, rng: np.random.Generator, _layout: str | None) -> None:
    classes = info("intel").class_names
    w = _Writer(rng, len(classes))
    train = n
    # Real quirks: a few shorter images and one large 500x374 image in the training set.
    odd = {3: (113, 150), 7: (136, 150), 11: (374, 500)}
    counter = iter(range(10**6))
    _classes(root / "seg_train" / "seg_train", w, classes, train,
             lambda i: odd.get(i, (150, 150)), lambda i: f"{next(counter)}.jpg")
    _classes(root / "seg_test" / "seg_test", w, classes, held, lambda i: (150, 150), lambda i: f"{next(counter)}.jpg")
    for i in range(held):
        w.save(root / "seg_pred" / "seg_pred" / f"{next(counter)}.jpg", i % len(classes), (150, 150))


def _food5k(root: Path, n: int, held: int, rng: np.random.Generator, layout: str | None) -> None:
    if layout not in ("epfl", "folders"):
        raise ValueError(f"food5k sample layout must be 'epfl' or 'folders', not {layout!r}")
    w = _Writer(rng, 2)
    train = n
    sizes = [(384, 512), (512, 384), (300, 300), (512, 512), (375, 500)]
    base = root / "Food-5K" if layout == "epfl" else root
    for split, count in (("training", train), ("validation", held), ("evaluation", held)):
        for label, cls in enumerate(info("food5k").class_names):
            for i in range(count):
                file = f"{label}_{i}.jpg"
                path = base / split / file if base != root else base / split / cls / file
                w.save(path, label, sizes[i % len(sizes)])


#: The file-name prefixes of each sample fruit's rotation series, as the real dataset names them (its README:
#: ``<frame>_100.jpg``, ``r_<frame>_100.jpg``, ``r2_<frame>_100.jpg``; recent classes ``r0_``, ``r1_``, ``r2_``).
_FRUIT_SERIES = {"Apple Red 1": ("", "r_", "r2_"), "Banana": ("", "r_"), "Cherry 1": ("", "r_", "r2_"),
                "Lemon": ("r0_", "r1_"), "Pear 2": ("r0_", "r1_", "r2_"), "Tomato 4": ("", "r_", "r2_", "r3_")}


def _fruits360(root: Path, n: int, held: int, rng: np.random.Generator, _layout: str | None) -> None:
    """Fruits-360's 2025 layout; each class is a few rotation series whose frames are near-copies.

    As in the real 100x100 branch (``Apple 10``: ``r0_0``, ``r0_1``, ``r0_2`` in Training, ``r0_3`` in Test),
    a series' frames are numbered in order, every fourth goes to Test and the rest to Training, so Training
    and Test share every series (chapter 07's grouped validation split needs several series per class).
    """
    w = _Writer(rng, len(FRUIT_CLASSES))
    branch = root / "fruits-360_100x100" / "fruits-360"
    for label, cls in enumerate(FRUIT_CLASSES):
        prefixes = _FRUIT_SERIES[cls][: max(1, min(n, held))]  # tiny samples: at most one series per image
        for prefix, n_train, n_test in zip(prefixes, _shares(n, len(prefixes)), _shares(held, len(prefixes)),
                                           strict=True):
            view = w.view((100, 100))
            frames = range(max(n_test * 4, (n_train * 4 + 2) // 3) + 4)  # Test: frames 3, 7, 11 ...
            train_frames = [f for f in frames if f % 4 != 3][:n_train]
            test_frames = [f for f in frames if f % 4 == 3][:n_test]
            for split, numbers in (("Training", train_frames), ("Test", test_frames)):
                for frame in numbers:
                    w.save(branch / split / cls / f"{prefix}{frame}_100.jpg", label, (100, 100), view)
    # The 2025 archive has other branches beside the 100x100 one; the loader must ignore them.
    other = root / "fruits-360_original-size" / "fruits-360-original-size"
    _classes(other / "Training", w, FRUIT_CLASSES[:2], 2, lambda i: (320, 240), lambda i: f"r0_{i}.jpg")
    _classes(other / "Test", w, FRUIT_CLASSES[:2], 1, lambda i: (320, 240), lambda i: f"r1_{i}.jpg")
    (root / "fruits-360_meta").mkdir(parents=True)
    (root / "fruits-360_meta" / "README.md").write_text("Sample of the Fruits-360 metadata branch.\n")


def _mosquito(root: Path, n: int, held: int, rng: np.random.Generator, _layout: str | None) -> None:
    w = _Writer(rng, len(MOSQUITO_CLASSES))
    train = n
    top = root / "zw4p9kj6nt-2"
    _classes(top, w, MOSQUITO_RAW_FOLDERS, 2, lambda i: (224, 224), lambda i: f"IMG_{i:04d}.jpg")
    splits = top / "data_splitting"
    for split, count in (("Train", train), ("Pred", held), ("Test", held)):
        _classes(splits / split, w, MOSQUITO_CLASSES, count, lambda i: (224, 224),
                 lambda i, s=split: f"{s.lower()}_{i:04d}.jpg")


def _odonata(root: Path, n: int, held: int, rng: np.random.Generator, _layout: str | None) -> None:
    classes = info("odonata").class_names
    w = _Writer(rng, len(classes), values=_ODONATA_VALUES)  # apart in grayscale too (chapter 04)
    train = n
    rows = []
    obs = iter(range(1000, 10**7))
    for split, count in (("train", train), ("validation", held), ("test", held)):
        for label, cls in enumerate(classes):
            for i in range(count):
                o = next(obs)
                file = f"{o}_{o + 5000}.jpg"
                w.save(root / split / cls / file, label, (375, 500) if i % 2 else (500, 375))
                rows.append({"split": split, "label": cls, "file": f"{split}/{cls}/{file}",
                             "license_code": "synthetic", "attribution": "generated by the course (not a photo)"})
    with (root / "attribution.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


_BUILDERS = {"intel": _intel, "food5k": _food5k, "fruits360": _fruits360, "mosquito": _mosquito, "odonata": _odonata}
