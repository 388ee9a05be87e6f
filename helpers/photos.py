"""Decode an image file into what a photo viewer shows: upright, in sRGB colours, transparency on white.

Phones and cameras do not write the tidy RGB JPEGs of the course datasets, and ``tf.io.decode_image``
reads some of their files differently from every photo viewer (measured on TensorFlow 2.21, Pillow 13;
``tests/test_photos.py`` holds each case):

- **EXIF Orientation 2 to 8** (a phone held upright stores the photo sideways, with Orientation=6):
  a viewer turns the photo upright; TensorFlow gave the pixels as stored, sideways or mirrored.
- **An ICC profile other than sRGB** (Display P3 on iPhones, Adobe RGB on cameras): a viewer converts
  the colours to the screen's (sRGB); TensorFlow gave the stored numbers as if they were sRGB.
- **Transparency** (RGBA or LA PNG, a palette PNG with a transparent colour, WebP or GIF with alpha):
  a viewer shows the page behind it, white; TensorFlow gave whatever colour the transparent pixels
  store, often black.
- **HEIC/HEIF** (iPhones) and **AVIF**: a viewer shows the photo; TensorFlow raised an error.
- **Any JPEG**: libjpeg's accurate decoding in Pillow and viewers built on libjpeg; TensorFlow's default
  is its fast one (``INTEGER_FAST``), up to 6 levels off at sharp edges (a mean of 1).

and where they agree already: grayscale, CMYK and YCCK JPEGs, progressive JPEGs, 8- and 16-bit PNGs,
palette PNGs without transparency, WebP, BMP, and files whose extension lies about their format.

**Transparency becomes white.** A viewer or a web page shows a transparent area over its background,
white by default, and cut-out product photos and logos are made to be seen on white. The colour stored
under a fully transparent pixel is arbitrary (black in most editors, leftovers in others), so it must
not be what the model sees; black would also swallow dark objects (hair, a black mug) into the
background. Edges are blended in sRGB, as browsers do.

**How, and why the course datasets' JPEGs stay fast.** :func:`decode_photo` decides in the graph,
from the file's first bytes, whether TensorFlow shows it as a viewer does: a JPEG whose header holds
no EXIF Orientation other than 1 and no ICC profile other than sRGB, a PNG without alpha, transparency
or colour profile, a GIF without transparency, a BMP, a simple WebP. Those, the course datasets' files
among them, are decoded by TensorFlow (JPEGs with ``dct_method="INTEGER_ACCURATE"``: as fast as the
default, and bit-identical to Pillow). The header is searched in its base64 form with one regular
expression (TensorFlow's string search ops are slow, and its regular expressions need text). Every
other file is decoded by Pillow as a viewer shows it (``ImageOps.exif_transpose``, ``ImageCms``,
white background), through one ``tf.numpy_function`` call; a JPEG that is much larger than the size
asked for is decoded at a half, a quarter or an eighth of its size there (libjpeg's DCT scaling, as
``Image.thumbnail`` does), never below twice that size. A file neither can read raises
:class:`PhotoError` with a message that names it and says what to do (HEIC: install ``pillow-heif``).

This module imports nothing from the course: the ``predict.py`` that :mod:`helpers.export` writes
next to an exported model holds a copy of this very source, so a model in production decodes photos
exactly as it was trained on them.
"""

import contextlib
import io

import numpy as np
import tensorflow as tf

#: Bytes at the start of a file searched for what decides the decoder (EXIF, ICC profile, PNG chunks).
#: A JPEG's EXIF block holds at most 64 KiB and comes first, and its ICC profile soon after.
_HEADER_BYTES = 128 * 1024
#: What a transparent pixel becomes (see the module's docstring for why white).
_BACKGROUND = (255, 255, 255)
#: ISO base media file brands (bytes 8 to 12 and the compatible brands after them) of HEIF and AVIF files.
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
#: Pillow modes of 16- and 32-bit grayscale images (PNG, TIFF): their high byte is kept, not clipped.
_DEEP_GRAY_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})
#: Pillow modes whose alpha channel makes parts of the image transparent.
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
#: File signatures of JPEG, PNG, GIF and BMP files.
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF8", b"BM")
_JPEG, _PNG, _GIF, _BMP = range(4)
#: Which decoder :func:`route` chose: TensorFlow's JPEG decoder straight away (no EXIF Orientation
#: other than 1, no ICC profile), the same after a second look (an sRGB profile), ``tf.io.decode_image``
#: (PNG, GIF, BMP, WebP that TensorFlow shows right), or Pillow.
PLAIN_JPEG, SRGB_JPEG, TENSORFLOW_OTHER, PILLOW = range(4)


class PhotoError(ValueError):
    """An image file neither TensorFlow nor Pillow can read; the message names the file and the fix.

    Raised to chapter 09 when a file in your folder cannot be read (HEIC without pillow-heif, a broken file); every
    chapter's image decoding can raise it.
    """


def register_plugins() -> None:
    """Let Pillow read HEIC/HEIF (``pillow-heif``) and AVIF (``pillow-avif-plugin``) when they are installed.

    Chapter 09 relies on it twice: the folder scan (:mod:`helpers.datasets.layouts`) asks Pillow whether a
    phone photo is readable here, and :func:`decode_photo` then decodes it. Registering twice is harmless.
    """
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:
        pass
    with contextlib.suppress(ImportError):
        import pillow_avif  # noqa: F401  (importing it registers the plugin, for Pillow without AVIF)


def container_kind(data: bytes) -> str | None:
    """``"HEIC"`` or ``"AVIF"`` for an ISO base media file of those kinds (whatever its extension), else ``None``.

    Chapter 09's folder scan (helpers.folder_data) uses it to name HEIC and AVIF files whatever their extension.
    """
    if len(data) < 16 or data[4:8] != b"ftyp":
        return None
    size = int.from_bytes(data[:4], "big")
    brands = {data[i:i + 4] for i in range(8, min(max(size, 16), len(data), 256), 4)} - {data[12:16]}  # no version
    if brands & _AVIF_BRANDS:
        return "AVIF"
    if brands & _HEIF_BRANDS:
        return "HEIC"
    return None


def _unreadable_message(name: str, data: bytes) -> str:
    """Why the file ``name`` (content ``data``) cannot be read, and what to do; used in :class:`PhotoError`."""
    import PIL

    kind = container_kind(data)
    if kind == "HEIC":
        return (f"{name} is a HEIC photo (the format iPhones save by default). TensorFlow cannot decode HEIC, "
                "and Pillow needs the pillow-heif package for it: run `pip install pillow-heif` (in a notebook "
                "`%pip install pillow-heif`, then restart the kernel) and run again, or save the photos as JPEG "
                "(iPhone: Settings > Camera > Formats > Most Compatible).")
    if kind == "AVIF":
        return (f"{name} is an AVIF image. TensorFlow cannot decode AVIF, and Pillow {PIL.__version__} here was "
                "built without it: run `pip install -U pillow` (recent Pillow reads AVIF) or "
                "`pip install pillow-avif-plugin`, restart, and run again, or convert the file to JPEG.")
    return (f"{name} is not an image TensorFlow or Pillow can read (JPEG, PNG, GIF, BMP, WebP, and HEIC or "
            "AVIF with their Pillow plugins). Open it in an image viewer to check it, and save it again as JPEG.")


def _is_srgb(icc: bytes) -> bool:
    """True for an sRGB ICC profile (its description names sRGB): the numbers already are what a screen shows."""
    return b"sRGB" in icc or "sRGB".encode("utf-16-be") in icc


def _viewer_rgb(image) -> np.ndarray:
    """What a viewer shows of an opened, upright Pillow image: uint8 sRGB ``(height, width, 3)``.

    16-bit grayscale keeps its high byte (``Image.convert`` would clip it to white), colours with an
    ICC profile other than sRGB are converted to sRGB (LittleCMS, through ``PIL.ImageCms``), and
    transparent pixels are blended over white.
    """
    from PIL import Image, ImageCms

    if image.mode in _DEEP_GRAY_MODES:
        high_byte = np.asarray(image, dtype=np.int64) >> 8  # as TensorFlow (libpng's strip_16) and Pillow's RGB do
        image = Image.fromarray(np.clip(high_byte, 0, 255).astype(np.uint8), "L")
    if image.mode in ("P", "1", "RGBa", "La", "PA") or "transparency" in image.info:
        image = image.convert("RGBA" if image.mode in _ALPHA_MODES or "transparency" in image.info else "RGB")
    alpha = image.getchannel("A") if image.mode in ("RGBA", "LA") else None
    if alpha is not None:
        image = image.convert("RGB" if image.mode == "RGBA" else "L")
    icc = image.info.get("icc_profile")
    if icc and not _is_srgb(icc) and image.mode in ("RGB", "L", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            image = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except (ImageCms.PyCMSError, OSError):
            pass  # a broken profile: viewers show the stored numbers, and so do we
    image = image.convert("RGB")
    if alpha is not None:
        image = Image.composite(image, Image.new("RGB", image.size, _BACKGROUND), alpha)
    return np.asarray(image, dtype=np.uint8)


def _pillow_rgb(data: bytes, name: str = "image", size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode ``data`` with Pillow as a viewer shows it: EXIF orientation applied, then :func:`_viewer_rgb`.

    ``size`` (height, width), when given, lets a large JPEG be decoded at a fraction of its size
    (``Image.draft``: libjpeg's DCT scaling), never below twice ``size`` on either side, since the
    image is going to be resized to ``size`` anyway.

    Raises:
        PhotoError: Pillow cannot read it (the message names ``name`` and what to do).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    register_plugins()
    try:
        with Image.open(io.BytesIO(data)) as image:
            if size is not None and min(size) > 0:
                side = 2 * max(size)  # the photo may be stored turned a quarter: ask for both sides
                image.draft(None, (side, side))
            upright = ImageOps.exif_transpose(image)  # a loaded copy, turned upright, with the same info
    except UnidentifiedImageError:
        raise PhotoError(_unreadable_message(name, data)) from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise PhotoError(f"{name} could not be decoded ({type(err).__name__}: {err}). Open it in an image "
                         "viewer to check it, and save it again as JPEG.") from None
    return _viewer_rgb(upright)


def _pillow_array(data, name, size) -> np.ndarray:
    """:func:`_pillow_rgb` for ``tf.numpy_function`` (its string arguments arrive as bytes or 0-d arrays)."""
    data = data.item() if isinstance(data, np.ndarray) else data
    name = name.item() if isinstance(name, np.ndarray) else name
    height, width = (int(v) for v in np.asarray(size).reshape(2))
    return _pillow_rgb(data, name.decode("utf-8", "replace"), (height, width) if height > 0 else None)


#: The web-safe base64 alphabet of ``tf.io.encode_base64``.
_BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _base64_regex(pattern: bytes, mask: bytes | None = None) -> str:
    """An RE2 pattern matching the web-safe base64 form of any text holding the bytes ``pattern``.

    TensorFlow's regular expressions (RE2) need UTF-8 text and image files are bytes, so a file's
    header is searched in its base64 form (``tf.io.encode_base64``: fast, and plain ASCII). Bytes
    starting at offset ``i`` encode to characters that depend on ``i % 3``; for each of the three
    shifts, every character that holds bits of ``pattern`` becomes the character class of the values
    its known bits allow. ``mask`` (default: all bits) says which bits of each byte are required.
    """
    mask = mask if mask is not None else b"\xff" * len(pattern)
    shifts = []
    for shift in range(3):
        start, end = 8 * shift, 8 * (shift + len(pattern))
        pieces = []
        for char in range(start // 6, -(-end // 6)):
            allowed = [letter for value, letter in enumerate(_BASE64_ALPHABET)
                       if _fits(value, char, start, end, pattern, mask)]
            pieces.append("." if len(allowed) == 64 else
                          allowed[0].replace("-", r"\-") if len(allowed) == 1 else
                          "[" + "".join(allowed).replace("-", r"\-") + "]")
        shifts.append("".join(pieces))
    return "|".join(shifts)


def _fits(value: int, char: int, start: int, end: int, pattern: bytes, mask: bytes) -> bool:
    """Whether base64 digit ``value`` at character ``char`` agrees with the known bits of ``pattern``."""
    for bit in range(6):
        position = 6 * char + bit
        if start <= position < end:
            byte, offset = divmod(position - start, 8)
            weight = 1 << (7 - offset)
            if mask[byte] & weight and bool(pattern[byte] & weight) != bool(value & (1 << (5 - bit))):
                return False
    return True


def _alternatives(patterns) -> str:
    return "(?:" + "|".join(_base64_regex(*p) if isinstance(p, tuple) else _base64_regex(p) for p in patterns) + ")"


def _contains_regex(*patterns: bytes | tuple[bytes, bytes]) -> str:
    """An RE2 pattern matching the base64 form of a header holding any of ``patterns`` (bytes, or (bytes, mask))."""
    return f"(?s).*{_alternatives(patterns)}.*"


def _through_regex(*patterns: bytes) -> str:
    """An RE2 pattern matching the start of a header's base64 form through the first of ``patterns``."""
    return f"(?s)^.*?{_alternatives(patterns)}"


def _orientation_entries(value: int) -> tuple[bytes, bytes]:
    """The 10 bytes of an EXIF Orientation entry (tag 0x0112, SHORT, count 1) of ``value``, in "II" and "MM" order."""
    return (b"\x12\x01\x03\x00\x01\x00\x00\x00" + bytes([value, 0]),
            b"\x01\x12\x00\x03\x00\x00\x00\x01\x00" + bytes([value]))


#: The base64 searches (:func:`base64_regex`) that route a file.
_TURNED = _contains_regex(*(entry for value in range(2, 9) for entry in _orientation_entries(value)))
_TURNED_OR_PROFILED = _contains_regex(*(e for v in range(2, 9) for e in _orientation_entries(v)), b"ICC_PROFILE\0")
_THROUGH_PROFILE = _through_regex(b"ICC_PROFILE\0")
_SRGB_NAME = _contains_regex(b"sRGB", "sRGB".encode("utf-16-be"))
#: Base64 characters after "ICC_PROFILE" searched for the profile's name (its header and tag table come first).
_PROFILE_WINDOW = 2800
_FROM_PIXELS = f"(?s){_alternatives([b'IDAT'])}.*"
_TRANSPARENT_OR_EXIF = _contains_regex(b"tRNS", b"eXIf")
_THROUGH_ICCP = _through_regex(b"iCCP")
_GIF_TRANSPARENT = _contains_regex((b"\x21\xf9\x04\x01", b"\xff\xff\xff\x01"))  # bit 0 of the flags


def _starts(head: tf.Tensor, pattern: bytes, at: int = 0) -> tf.Tensor:
    return tf.equal(tf.strings.substr(head, at, len(pattern)), pattern)


def _jpeg_colours_are_srgb(text: tf.Tensor) -> tf.Tensor:
    """Whether a JPEG header (in base64: ``text``) has no ICC profile, or one that names itself sRGB."""
    rest = tf.strings.regex_replace(text, _THROUGH_PROFILE, "", replace_global=False)
    no_profile = tf.equal(tf.strings.length(rest), tf.strings.length(text))
    return no_profile | tf.strings.regex_full_match(tf.strings.substr(rest, 0, _PROFILE_WINDOW), _SRGB_NAME)


def _others_tensorflow_shows(head: tf.Tensor, text: tf.Tensor) -> tf.Tensor:
    """Whether TensorFlow decodes a non-JPEG file (first bytes ``head``, in base64 ``text``) as a viewer shows it.

    True for PNGs without alpha, transparency (``tRNS``), ``eXIf`` block or ICC profile other than
    sRGB (``iCCP``, whose data starts with the profile's name) before their pixels, GIFs without
    transparency, BMPs (TensorFlow's reading on purpose: ``files.image_problem`` rejects the BMPs it
    gets wrong) and simple WebPs (``VP8 ``, or ``VP8L`` without alpha). Pillow decodes the rest.
    """
    chunks = tf.strings.regex_replace(text, _FROM_PIXELS, "", replace_global=False)  # a PNG's chunks before IDAT
    iccp = tf.strings.regex_replace(chunks, _THROUGH_ICCP, "", replace_global=False)
    no_iccp = tf.equal(tf.strings.length(iccp), tf.strings.length(chunks))
    colour_type = tf.strings.substr(head, 25, 1)
    alpha = tf.equal(colour_type, b"\x04") | tf.equal(colour_type, b"\x06")  # gray + alpha, RGBA
    png = (_starts(head, _SIGNATURES[_PNG]) & tf.logical_not(alpha)
           & tf.logical_not(tf.strings.regex_full_match(chunks, _TRANSPARENT_OR_EXIF))
           & (no_iccp | tf.strings.regex_full_match(tf.strings.substr(iccp, 0, 110), _SRGB_NAME)))
    gif = _starts(head, _SIGNATURES[_GIF]) & tf.logical_not(tf.strings.regex_full_match(text, _GIF_TRANSPARENT))
    vp8l_flags = tf.io.decode_raw(tf.strings.join([tf.strings.substr(head, 24, 1), b"\0"]), tf.uint8)[0]
    webp = (_starts(head, b"RIFF") & _starts(head, b"WEBP", 8)
            & (_starts(head, b"VP8 ", 12) | (_starts(head, b"VP8L", 12) & tf.equal(vp8l_flags & 16, 0))))
    return png | gif | _starts(head, _SIGNATURES[_BMP]) | webp


def _second_look(head: tf.Tensor, text: tf.Tensor) -> tf.Tensor:
    """:data:`SRGB_JPEG`, :data:`TENSORFLOW_OTHER` or :data:`PILLOW` for a file that is not a plain JPEG."""
    is_jpeg = _starts(head, _SIGNATURES[_JPEG])
    upright_srgb = tf.logical_not(tf.strings.regex_full_match(text, _TURNED)) & _jpeg_colours_are_srgb(text)
    other = tf.logical_not(is_jpeg) & _others_tensorflow_shows(head, text)
    return tf.where(is_jpeg & upright_srgb, SRGB_JPEG, tf.where(other, TENSORFLOW_OTHER, PILLOW))


def _is_plain_jpeg(head: tf.Tensor, text: tf.Tensor) -> tf.Tensor:
    return _starts(head, _SIGNATURES[_JPEG]) & tf.logical_not(tf.strings.regex_full_match(text, _TURNED_OR_PROFILED))


def route(data: tf.Tensor) -> tf.Tensor:
    """Which decoder :func:`decode_photo` uses for the bytes ``data``: :data:`PLAIN_JPEG`, :data:`SRGB_JPEG`,
    :data:`TENSORFLOW_OTHER` or :data:`PILLOW` (int32).

    Chapter 09 shows which decoder each phone photo takes with it.
    """
    head = tf.strings.substr(data, 0, _HEADER_BYTES)
    text = tf.io.encode_base64(head)
    return tf.where(_is_plain_jpeg(head, text), PLAIN_JPEG, _second_look(head, text))


def decode_photo(data: tf.Tensor, name: tf.Tensor | str = "image", size=None) -> tf.Tensor:
    """Decode the bytes of an image file as a photo viewer shows it; returns uint8 RGB ``(height, width, 3)``.

    Every chapter decodes its images with it, through helpers.pipeline.decode_image; chapter 09 teaches why.

    Works eagerly and inside ``tf.data``. ``name`` (the file's path) only appears in error messages.
    ``size`` (height, width), the size the image is going to be resized to, lets Pillow decode a large
    JPEG at a fraction of its size (:func:`_pillow_rgb`); TensorFlow's decoders ignore it.

    A plain JPEG (no EXIF Orientation other than 1, no ICC profile: the course datasets' files) costs
    one base64 encoding and one regular-expression search of its first 128 KiB more than
    ``tf.io.decode_jpeg``; the decision for every other file (:func:`route`) sits in a branch of its
    own, so that the plain path never pays for it.

    Raises:
        PhotoError: eagerly, for a file neither TensorFlow nor Pillow can read (inside ``tf.data`` the
            same message arrives in a ``tf.errors.InvalidArgumentError``).
    """
    name = tf.convert_to_tensor(name, dtype=tf.string)
    size = tf.zeros([2], tf.int32) if size is None else tf.cast(tf.reshape(size, [2]), tf.int32)
    head = tf.strings.substr(data, 0, _HEADER_BYTES)
    text = tf.io.encode_base64(head)

    def jpeg():
        return tf.io.decode_jpeg(data, channels=3, dct_method="INTEGER_ACCURATE")

    def other():
        image = tf.io.decode_image(data, channels=3, expand_animations=False)
        image.set_shape([None, None, 3])
        return image

    def pillow():
        pixels = tf.numpy_function(_pillow_array, [data, name, size], tf.uint8, stateful=False)
        pixels.set_shape([None, None, 3])
        return pixels

    def second_look():
        return tf.switch_case(_second_look(head, text) - 1, [jpeg, other, pillow])

    image = tf.cond(_is_plain_jpeg(head, text), jpeg, second_look)
    image.set_shape([None, None, 3])
    return image
