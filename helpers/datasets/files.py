"""Finding image files and rejecting the ones that would crash an epoch.

A dataset downloaded from the internet holds more than images: ``.DS_Store`` and ``Thumbs.db`` files,
text files, an empty or truncated JPEG from a broken copy, a TIFF that TensorFlow cannot decode. We
check every file cheaply (its header and its last bytes, no full decode) before it reaches
``tf.data``, skip the bad ones and say so once, naming them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

#: Extensions the course reads (case-insensitive). TensorFlow's ``decode_image`` handles all of them.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"})
#: Image formats (as Pillow names them) that ``tf.io.decode_image`` decodes.
DECODABLE_FORMATS = frozenset({"JPEG", "MPO", "PNG", "BMP", "GIF", "WEBP"})
#: Folders that archives and operating systems add and that never hold data.
IGNORED_DIRS = frozenset({"__MACOSX", ".ipynb_checkpoints", "@eaDir"})


class DataWarning(UserWarning):
    """A problem in a dataset folder that the loader worked around (skipped files or folders)."""


@dataclass
class Skipped:
    """Files and folders left out of a scan, with the reason for each."""

    items: list[tuple[Path, str]] = field(default_factory=list)

    def add(self, path: Path, reason: str) -> None:
        self.items.append((path, reason))

    def warn(self, where: Path, limit: int = 8) -> None:
        """Emit one :class:`DataWarning` that names the skipped items (nothing if none were skipped)."""
        if not self.items:
            return
        shown = "; ".join(f"{_short(p, where)} ({why})" for p, why in self.items[:limit])
        more = f"; and {len(self.items) - limit} more" if len(self.items) > limit else ""
        warnings.warn(
            f"Skipped {len(self.items)} item(s) under {where} that are not usable images: {shown}{more}.",
            DataWarning,
            stacklevel=3,
        )


def _short(path: Path, where: Path) -> str:
    try:
        return str(path.relative_to(where))
    except ValueError:
        return str(path)


def is_hidden(path: Path) -> bool:
    """True for dot-files, dot-folders and the junk folders archives add."""
    return path.name.startswith(".") or path.name in IGNORED_DIRS


def image_problem(path: Path) -> str | None:
    """Return why ``path`` cannot be used as an image, or ``None`` when it is fine.

    The check is cheap for JPEG and PNG, the formats of every course dataset (header and tail only,
    so it can run over tens of thousands of files): empty files, unknown formats, formats TensorFlow
    cannot decode, and files whose end marker is missing (the usual result of an interrupted copy).
    The rare BMP, GIF and WebP files are decoded in full, since they have no end marker to check.
    """
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        return "not an image file"
    try:
        size = path.stat().st_size
        if size == 0:
            return "empty file"
        with Image.open(path) as im:
            fmt, mode = im.format, im.mode
            if fmt not in DECODABLE_FORMATS:
                return f"{fmt} images are not supported"
            if fmt == "BMP" and mode == "1":
                return "1-bit BMP images are not supported"
            if fmt in {"BMP", "GIF", "WEBP"}:
                im.load()  # no end marker to look for: decode it
        with path.open("rb") as f:
            f.seek(max(0, size - 1024))
            tail = f.read()
    except UnidentifiedImageError:
        return "not a readable image"
    except OSError as err:
        return f"unreadable ({err.__class__.__name__})"
    if fmt in {"JPEG", "MPO"} and b"\xff\xd9" not in tail:
        return "truncated JPEG"
    if fmt == "PNG" and b"IEND" not in tail:
        return "truncated PNG"
    return None


def list_images(folder: Path, skipped: Skipped, bar: Any = None) -> list[Path]:
    """Usable images directly inside ``folder``, sorted by name; everything else goes to ``skipped``.

    Sub-folders are reported as skipped too: images are expected at this level only. ``bar``, a
    :func:`helpers.progress.bar`, advances by one per file checked.
    """
    found: list[Path] = []
    for path in sorted(folder.iterdir()):
        if bar is not None:
            bar.update(1)
        if path.is_dir():
            if not is_hidden(path):
                skipped.add(path, "unexpected folder")
            continue
        problem = image_problem(path)
        if problem is None:
            found.append(path)
        else:
            skipped.add(path, problem)
    return found


def subfolders(folder: Path) -> list[Path]:
    """Visible sub-folders of ``folder`` sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_dir() and not is_hidden(p))
