"""Finding image files and rejecting the ones that would crash an epoch.

A dataset downloaded from the internet holds more than images: ``.DS_Store`` and ``Thumbs.db`` files,
text files, an empty or truncated JPEG from a broken copy, a TIFF that TensorFlow cannot decode. We
check every file cheaply (its header and its last bytes, no full decode) before it reaches
``tf.data``, skip the bad ones and say so once, naming them.
"""

from __future__ import annotations

import re
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

#: Extensions the course reads (case-insensitive). TensorFlow's ``decode_image`` handles all of them.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"})
#: Image formats (as Pillow names them) that ``tf.io.decode_image`` decodes.
_DECODABLE_FORMATS = frozenset({"JPEG", "MPO", "PNG", "BMP", "GIF", "WEBP"})
#: Folders that archives and operating systems add and that never hold data.
IGNORED_DIRS = frozenset({"__MACOSX", ".ipynb_checkpoints", "@eaDir"})
#: Bytes read from the end of a file to look for its end marker.
_TAIL_BYTES = 1024
#: A PNG's last chunk: length 0, type ``IEND``, CRC.
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
#: A GIF's last bytes: the block terminator of its last block, then the trailer ``;``.
_GIF_END = b"\x00;"
#: The BMP header bytes TensorFlow reads (pixel offset, width, height, bits per pixel).
_BMP_HEADER_BYTES = 32
#: TensorFlow decodes BMPs of fewer pixels than this only.
_BMP_MAX_PIXELS = (2**31 - 1) // 8


class DataWarning(UserWarning):
    """A problem in a dataset folder that the loader worked around (skipped files or folders).

    Every chapter's datasets.load, and chapter 09's folder_data.load_folder, issue it for the files they skip.
    """


@dataclass
class Skipped:
    """Files and folders left out of a scan, with the reason for each.

    Every chapter's data loading (datasets.load) and chapter 09's folder scan collect what they leave out in it.
    """

    items: list[tuple[Path, str]] = field(default_factory=list)

    def add(self, path: Path, reason: str) -> None:
        self.items.append((path, reason))

    def describe(self, where: Path, limit: int = 8) -> str:
        """One sentence naming the skipped items, relative to ``where`` (the first ``limit`` of them)."""
        shown = "; ".join(f"{_short(p, where)} ({why})" for p, why in self.items[:limit])
        more = f"; and {len(self.items) - limit} more" if len(self.items) > limit else ""
        return f"Skipped {len(self.items)} item(s) under {where} that are not usable images: {shown}{more}."

    def warn(self, where: Path, limit: int = 8) -> None:
        """Emit one :class:`DataWarning` that names the skipped items (nothing if none were skipped)."""
        if self.items:
            warnings.warn(self.describe(where, limit), DataWarning, stacklevel=3)


def _short(path: Path, where: Path) -> str:
    try:
        return str(path.relative_to(where))
    except ValueError:
        return str(path)


def is_hidden(path: Path) -> bool:
    """True for dot-files, dot-folders and the junk folders archives add.

    Every chapter's data loading (datasets.load) and chapter 09's folder scan skip what it flags.
    """
    return path.name.startswith(".") or path.name in IGNORED_DIRS


def image_problem(path: Path) -> str | None:
    """Return why ``path`` cannot be used as an image, or ``None`` when it is fine.

    Every chapter's data loading (datasets.load) and chapter 09's folder scan check each file with it.

    The check is cheap (it reads the header and the last bytes, no full decode), so it can run over
    tens of thousands of files. It catches empty files, unknown formats, formats TensorFlow cannot
    decode, images too large to open safely, and files cut short (the usual result of an interrupted
    copy): a JPEG without its end marker, a PNG without its whole ``IEND`` chunk, a GIF without its
    trailer, a BMP shorter or longer than its header says. The rare GIF and WebP files are also
    decoded in full. Damage in the middle of a JPEG or PNG is not looked for: that needs a full read
    or decode of every file.
    """
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        return "not an image file"
    try:
        size = path.stat().st_size
        if size == 0:
            return "empty file"
        with Image.open(path) as im:
            fmt, mode = im.format, im.mode
            if fmt not in _DECODABLE_FORMATS:
                return f"{fmt} images are not supported"
            if fmt in {"GIF", "WEBP"}:
                im.load()  # rare formats: decode them in full
        with path.open("rb") as f:
            head = f.read(_BMP_HEADER_BYTES) if fmt == "BMP" else b""
            f.seek(max(0, size - _TAIL_BYTES))
            tail = f.read()
    except Image.DecompressionBombError as err:  # not an OSError: Pillow refuses to open it
        return _too_large(err)
    except UnidentifiedImageError:
        return "not a readable image"
    except OSError as err:
        return f"unreadable ({err.__class__.__name__})"
    if fmt in {"JPEG", "MPO"} and b"\xff\xd9" not in tail:
        return "truncated JPEG"
    if fmt == "PNG" and _PNG_END not in tail:  # the whole chunk: a cut CRC leaves "IEND" in place
        return "truncated PNG"
    if fmt == "GIF" and not tail.endswith(_GIF_END):
        return "truncated GIF"
    if fmt == "BMP":
        return _bmp_problem(head, size, mode)
    return None


def _too_large(err: Exception) -> str:
    """The reason for an image Pillow refuses to open (more pixels than its decompression-bomb limit)."""
    pixels = re.search(r"\((\d+) pixels\)", str(err))
    return f"image too large ({int(pixels.group(1)):,} pixels)" if pixels else "image too large"


def _bmp_problem(head: bytes, size: int, mode: str) -> str | None:
    """Why TensorFlow's BMP decoder would reject a BMP with this header and file size, or ``None``.

    TensorFlow reads the pixel-data offset, width, height and bits per pixel from the header, accepts
    8, 24 and 32 bits per pixel only, and requires the file to hold exactly the offset plus every row
    (padded to a multiple of 4 bytes): a byte missing or a byte too many fails the decode.
    """
    if len(head) < _BMP_HEADER_BYTES:
        return "truncated BMP"
    (offset,) = struct.unpack_from("<i", head, 10)
    width, height = struct.unpack_from("<ii", head, 18)
    (bits,) = struct.unpack_from("<h", head, 28)
    if bits not in (8, 24, 32):
        return f"{bits}-bit BMP images are not supported"
    if mode == "P":
        return "palette BMP images are not supported (TensorFlow would read them as grey)"
    if width <= 0 or height == 0 or offset < 0:
        return "damaged BMP header"
    if width * abs(height) >= _BMP_MAX_PIXELS:
        return f"image too large ({width} x {abs(height)} pixels)"
    expected = offset + (bits // 8 * width + 3) // 4 * 4 * abs(height)
    if size < expected:
        return "truncated BMP"
    if size > expected:
        return f"BMP with {size - expected} byte(s) after its pixels"
    return None


def list_images(folder: Path, skipped: Skipped, bar: Any = None) -> list[Path]:
    """Usable images directly inside ``folder``, sorted by name; everything else goes to ``skipped``.

    In every chapter, datasets.load reads class folders with it.

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
    """Visible sub-folders of ``folder`` sorted by name.

    Every chapter's data loading (datasets.load) and chapter 09's folder scan list folders with it.
    """
    return sorted(p for p in folder.iterdir() if p.is_dir() and not is_hidden(p))
