"""A folder of photos as phones and cameras write them: every way their files differ from tidy RGB JPEGs.

    folder = phone_photos.make_phone_photos()   # data_home()/samples/phone_photos/phone_photos
    phone_photos.PHOTOS                         # what each file is, and what a viewer shows of it

Every file, opened in a photo viewer, shows the same kind of synthetic scene: sky over grass, a **red
square in the top-left corner** (a photo decoded sideways, upside down or mirrored shows at once), and
the class's yellow shape in the middle (a ``ball`` or a ``box``), stamped SAMPLE. What differs is how
the file stores it, as phones, cameras, scanners and editors do:

- EXIF ``Orientation`` 2 to 8: the pixels stored turned or mirrored, and a tag saying how to show them
  (a phone held upright writes its sensor's landscape pixels with Orientation=6, the classic case);
- CMYK and YCCK JPEGs (saved for print), progressive JPEGs (the web), grayscale JPEG and PNG,
  16-bit grayscale and 16-bit RGB PNGs (scanners, raw converters);
- a Display P3 JPEG (iPhones): wide-gamut numbers and an ICC profile saying how to read them;
- a palette PNG and an RGBA PNG with a transparent background (stickers, cut-outs);
- WebP, HEIC (iPhones), AVIF (when this Pillow can write it);
- a 12-megapixel 4000x3000 phone photo, stored sideways, and a tiny 16x12 thumbnail;
- upper-case and mixed-case extensions (``.JPG``, ``.JPEG``, ``.Png``), a PNG named ``.jpg`` and a
  JPEG named ``.png``;
- what macOS leaves behind: ``.DS_Store`` and an AppleDouble ``._IMG_0006.JPG``.

The HEIC file is a real one, made once with pillow-heif 1.8.1 (libheif) from this module's own
scene and stored in :data:`_HEIC_BASE64`: writing HEIC needs that package, which the course does not
install. :func:`expected_view` gives what a colour-managed photo viewer shows of each file (the
scene, in grey for the grayscale files, on white for the transparent ones): ``tests/test_photos.py``
checks the course's decoding against it.
"""

from __future__ import annotations

import base64
import io
import shutil
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageDraw

from .samples import is_made, publish

_CLASSES = ("ball", "box")
#: (height, width) of the scene in most files: landscape, so a quarter turn changes the shape.
_SIZE = (96, 128)
#: The big phone photo: 4000 tall and 3000 wide as a viewer shows it (held upright), stored 3000x4000.
BIG_SIZE = (4000, 3000)
_TINY_SIZE = (12, 16)
SKY, GRASS, MARKER_RED, SHAPE_YELLOW = (110, 170, 235), (70, 150, 60), (220, 30, 30), (245, 200, 40)
#: How the pixels are stored for each EXIF orientation, so that a viewer applying it shows the scene.
_STORED_AS = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
             4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
             7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}
#: The chromaticities of Display P3 (DCI-P3 primaries, D65 white), x and y of red, green, blue.
_P3_PRIMARIES = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))
_D65 = (0.3127, 0.3290)


@dataclass(frozen=True)
class _PhonePhoto:
    """One file of the folder.

    Attributes:
        path: Relative to the folder: ``<class>/<file name>``.
        kind: A short name for a grid title (``"Orientation=6"``).
        story: What the file is and who writes such files.
        view: What a viewer shows: ``"colour"`` (the scene), ``"gray"`` (the scene in grey) or
            ``"cutout"`` (the red square and the shape on white, the rest being transparent).
        size: ``(height, width)`` a viewer shows.
        orientation: The EXIF orientation stored in the file (1: none).
        format: The real format of the content (whatever the extension says).
    """

    path: str
    kind: str
    story: str
    view: str = "colour"
    size: tuple[int, int] = _SIZE
    orientation: int = 1
    format: str = "JPEG"

    @property
    def label(self) -> int:
        return _CLASSES.index(self.path.split("/")[0])


_ORIENTATION_STORIES = {
    2: "mirrored left to right (a front camera that mirrors)", 3: "upside down (camera held upside down)",
    4: "mirrored upside down", 5: "mirrored and turned a quarter", 6: "stored a quarter turn to the left: a "
    "phone held upright (the classic)", 7: "mirrored and turned a quarter the other way",
    8: "stored a quarter turn to the right: a phone held upright the other way",
}

#: Every file :func:`make_phone_photos` writes (the AVIF file only when this Pillow can write AVIF).
PHOTOS: tuple[_PhonePhoto, ...] = (
    _PhonePhoto("ball/IMG_0001.JPG", "tidy JPEG", "an RGB JPEG as the course datasets have them, upper-case .JPG"),
    *(_PhonePhoto(f"{_CLASSES[o > 4]}/IMG_{o:04d}.JPG", f"Orientation={o}", f"EXIF Orientation={o}: the pixels "
                 f"{_ORIENTATION_STORIES[o]}", orientation=o) for o in range(2, 9)),
    _PhonePhoto("ball/IMG_0009.JPEG", "progressive JPEG", "a progressive JPEG (as web sites serve them), .JPEG"),
    _PhonePhoto("ball/IMG_0010.jpg", "grayscale JPEG", "a one-channel (L) JPEG: a black-and-white photo", "gray"),
    _PhonePhoto("ball/IMG_0011.jpg", "CMYK JPEG", "a four-channel CMYK JPEG, inverted as Adobe software saves it "
               "for print"),
    _PhonePhoto("box/IMG_0012.jpg", "YCCK JPEG", "a CMYK JPEG stored as YCCK (Adobe transform 2), as Photoshop "
               "saves print photos"),
    _PhonePhoto("box/IMG_0013.JPG", "Display P3 JPEG", "an iPhone-style JPEG in Display P3 colours, with the ICC "
               "profile that says so"),
    _PhonePhoto("ball/scan_0014.png", "grayscale PNG", "an 8-bit grayscale (L) PNG: a scanned page", "gray",
               format="PNG"),
    _PhonePhoto("box/scan_0015.png", "16-bit gray PNG", "a 16-bit grayscale PNG (Pillow mode I;16): a scanner's "
               "or a microscope's", "gray", format="PNG"),
    _PhonePhoto("box/IMG_0016.png", "16-bit RGB PNG", "a 48-bit RGB PNG: what raw converters export", format="PNG"),
    _PhonePhoto("ball/sticker_0017.png", "palette PNG, transparent", "a palette (P) PNG whose background is a "
               "transparent palette entry: a sticker", "cutout", format="PNG"),
    _PhonePhoto("box/cutout_0018.Png", "RGBA PNG, transparent", "an RGBA PNG with a transparent background (stored "
               "black under it): a cut-out from an editor, .Png", "cutout", format="PNG"),
    _PhonePhoto("ball/IMG_0019.webp", "WebP", "a lossy WebP, as browsers save images from the web", format="WEBP"),
    _PhonePhoto("box/IMG_0020.HEIC", "HEIC", "a HEIC photo, the format iPhones save by default", format="HEIF"),
    _PhonePhoto("ball/IMG_0021.avif", "AVIF", "an AVIF image (newer Android phones, the web)", format="AVIF"),
    _PhonePhoto("box/IMG_0022.JPG", "12 MP, Orientation=6", "a 4000x3000 phone photo held upright: 12 million "
               "pixels stored sideways with Orientation=6", size=BIG_SIZE, orientation=6),
    _PhonePhoto("ball/IMG_0023.jpg", "tiny 16x12", "a 16x12 thumbnail", size=_TINY_SIZE),
    _PhonePhoto("box/IMG_0024.jpg", "PNG named .jpg", "a PNG whose name says JPEG (renamed by hand)", format="PNG"),
    _PhonePhoto("ball/IMG_0025.png", "JPEG named .png", "a JPEG whose name says PNG"),
)
#: Files a viewer never shows, written too: macOS's folder settings and AppleDouble resource files.
_HIDDEN = (".DS_Store", "ball/.DS_Store", "box/._IMG_0006.JPG")

#: A real HEIC file (2,583 bytes) of ``_scene(1, _SIZE)``, made with pillow-heif 1.8.1 (libheif 1.23.6, x265 4.3)
#: at quality 90: ``Image.fromarray(_scene(1)).save(buffer, format="HEIF", quality=90)``.
_HEIC_BASE64 = (
    "AAAAHGZ0eXBoZWljAAAAAG1pZjFoZWljbWlhZgAAAVZtZXRhAAAAAAAAACFoZGxyAAAAAAAAAABwaWN0AAAAAAAAAAAAAAAAAAAA"
    "ACJpbG9jAAAAAERAAAEAAQAAAAABegABAAAAAAAACJ0AAAAjaWluZgAAAAAAAQAAABVpbmZlAgAAAAABAABodmMxAAAAAA5waXRt"
    "AAAAAAABAAAA1mlwcnAAAAC3aXBjbwAAAHhodmNDAQNwAAAAkAAAAAAAHvAA/P34+AAADwNgAAEAGEABDAH//wNwAAADAJAAAAMA"
    "AAMAHroCQGEAAQArQgEBA3AAAAMAkAAAAwAAAwAeoBAgYWW6kkprm4CGgwIAAAMAMgAAAwACEGIAAQAHRAHBcrAiQAAAABNjb2xy"
    "bmNseAABAA0ABoAAAAAUaXNwZQAAAAAAAACAAAAAYAAAABBwaXhpAAAAAAMICAgAAAAXaXBtYQAAAAAAAAABAAEEgQIDBAAACKVt"
    "ZGF0AAAImSgBrwY4PC6Tfpl///8Xc9l+n0MgatlAnAEiuEVmxJwFsJHdRd93jf2STvtBFjN25DmJnX0OudOw/bcEPalLr//szQi+"
    "VrwGTNFJ5VbVSt/7477WlTmpLY/Hf8BudnaiqUi90xYvGqUdUoM/zlD3te6iSrmW4kH8X6vDHHnvJk2Gtf+hrVY6MBXDX/aT1orR"
    "MJnd3fnW7R36yoD9Q1pgDVUgAkV0xSV2z5xB+ssL5kfatyul6NHffdcz12e/ZjCeg3f/8SnTkCVQIeVebZ94X9/kgn+VWa6tlgZp"
    "hIHz9MzvgpGMTPBhZyon8XgIRWKA3LfAMD7uUY7XdeumhqFlmRNIFdlPnrIorn9+z6wsmuhG3rEG8+98yU5oAyXvT8yXHjdOao3N"
    "31ADMRyVFvb9tiAVApl3TFvZIDh6LDaU86tHT53x9G1UUsX9g15T9zpTzfaqKMTeknfgs8o9gAHb/VMV4VDtVUnIYX+NSwpEWyFO"
    "Fa87uRZueokWFPfgUxEujRX3on0RIROJ7V52x5kyO37FoKEa0ouU+d61e/WX2DuuA6TkPwXjtYLEADnry/NWZGoIEKNLxH3ZflbY"
    "eKuFOLxSwmSgO5JK1a7J729vY6ezvQJ1n1yY9+iOG4sTXN0jHxy4hvbnC7iXee6ehbur1EAugo/t/jUWezT76O42lDy0TOAWchxj"
    "Bc+t1WJPV5HjMgjldHcdH32O5+ACWxy2w4VZ8YpkQxNwGwmaW8fZDYWfRMkf8B/qzUVEBolLLOKsKL5OwVzrOyQXQEWVAMA83uOL"
    "TslgZEGjNFSiNSXA3JOSKmw/tCdnovGMHqrszPb1sFBkSWu4Pd0NjjQ+HTtOSYPOs/AOq8CgXQzS3XxZ7SLzfhqSOHJMVTjsJr/h"
    "z64A7RJPQWxCeuhj4bqjxK7cTLcnyDgz8GOp0y47/xNvQDATaUbxl1CBgFXZr2Szm5ZyCPPCbmd86ovCM9xxh7MLABwDLa5+XYHD"
    "1fQtmIUDOIRgjWK+ESc8xGJfJt6RR1RorldUQAhaML8roJ8tS9dS1+xL4nieC8XoPB72EvMvJkxVKMfVv67/5k9+UmXyxymLAvgD"
    "Oc+/N+JyfQkBI8DHqLJINKAwcdcYYfzF3icCTdC9egAq6X6rdxKe7n9jCOZxjo3WdbEw5ZLOJL78BGWvgDEtL4uK/+1t76UCAVwp"
    "MHf1hBMBxBas6LY6necdyJRMq20PlWfqUhRaR+rq2cNrDCZJMKjpRvI5yHtUHctUpaaDN0+SLQIUAF+IVzycIwJnhmOTz5ErgHXt"
    "m44so9ywZae/SFgmACmsJt72U7y4aGMzELIu605rYadwY8CjJjXVPO88D6b46RQPbcWaApNTAw2fNh64vWju2GO1Ztuwffk9zHct"
    "VxxR5DWMGZMAQ1vCM7OC5LaIMlzzWMpzQeZTxmAiI7UAEcqcQbbmTyhk/i35cZTrxHGkkjHGUN08Xci08lavNZoWxlYBBsu8pwOx"
    "JnlaZc9wzawpvvOORaMixsT5H09BXUVLSfiUIws5TUwdB89bjQFiAuK5r5Ucfu05b5P7zHR9TwN0E6u/tcXAQf9bKQJtUBLKKa16"
    "fr5hPmGfHeo4w3l01kTQTIJx/Vg8fufVlG/ktH+17Qj/zFv6zXEp+V5jMCxEreKH3G8ClK0INtSaY2+i4uex60cox4NpvyNHAFLD"
    "IyK4RojJquCYNrg790kiBvmHRRbh1t2k0HbZXL06xczyvCV7thVOp6meDVl7zgcQTTKoP0INRAiPpk/msy0ix9KsHddx7hPqQHYS"
    "zbZDjkHC3IY8SYZnBrVMTdmWu/kMxJEo80C9tSMfLCrcTo+yIW3pE0D7eSQ4kh2oUnKD7rzxpfbdJkA8yphVW0KHBgNwftN9ReO4"
    "GaMQ/ltkB9KLEBBCL38ElLYsN2zEz4223Dvi67bhWXTKNAHML5137oCoHEWioTOU29odHNfUt0QFpzWu/CDxI8+uKRazGEjUVrHP"
    "6dPlqXAWvVt3d2rdHC/8ejQaoElcP3n7havvAB2HwfzpfKa6icmLY0HmNUnFDxvJ6rWYaXNydmAlu8wv9tgAB/4Vr3HiruUl0DGr"
    "5jB4ohAg2Rs/Z7FRVrJpR1RnYKQjZMIUTxMcyd28WMlW8nJyYf20XHQLkRrlJ3Krpbrrkb7xtAtW04rfOySSGFLXb2SwSgeRHLnd"
    "VGgDg3BnwNprpRK42pdNTLbrBipwheZTsz6tD4l2ne1l2WU1oCkHNgjUNi/70eLQeElyRNy/jglhs1pOGU1YheAbbM6LkN9kfnux"
    "nYkRxhBlFSW+ToYwdILiR9tClfy0Jn7s7KjirKxi2YALO1BXFRe97BFXkvwMS7eGlYyNMQEH7pCAnEN0Gf1v+C7RZgwDcus0zPQe"
    "26uIFO1+sA1YsreofdMbLkStHhIjH5+B68o+ImHmT5L7x3CdhXUsbZQ3afJ8/C2xv4uvdHxF/E0+xlbK92Ea3uJ+JLRuWEzyb/pJ"
    "5aT3NvYsi57n0KT8lQcl3dRTpo1HaLvrJC7AbDgTW4fSj+oGhcJ2H/2EgXWOSQigQjeLR9dNQNct9mDMMI3Q2ongkyiGQFU0UduZ"
    "son1kYm/1SpO+NA8aE34wnBh7pKnFt+Ww57Xbapl4mVFT17z2BLCJ6DTGhyHEVzbwROLczD+JLdpM6h8BUf4brX+C6YDPGLBtP53"
    "PD0FV67GRXqSyeE9dtu3zjm8HcUjvHhqKg8n89XK5hk7+los2X17/FrKAZyBFJ5iDGYoldJn0Lx1zNcBo6G1FUNFpVaT3hm+pLYq"
    "fVdyWRz6lqdXBj1tnakcGwsfnB/bbWka1N/nx6sKn6HhuVL8k0FEFVvZeoWR4fnIL3ZYTpvv0ZDRpZGkovoKnkYo6jEtyPS1qwxC"
    "qRYu2OAY5eXRVRtYtYxEs4/8hbtiHvz7y3X97ITIV5K+"
)


def avif_supported() -> bool:
    """Whether this Pillow writes AVIF (built in from Pillow 11.3 on; older ones need pillow-avif-plugin).

    Chapter 09 writes the AVIF phone photo only where it returns True (make_phone_photos).
    """
    Image.init()
    return "AVIF" in Image.SAVE


def photo(name: str) -> _PhonePhoto:
    """The :class:`_PhonePhoto` whose file name (or ``class/name`` path) is ``name``.

    Chapter 09 looks its phone photos up with it.
    """
    for p in PHOTOS:
        if name in (p.path, p.path.split("/")[1]):
            return p
    raise KeyError(f"No phone photo named {name!r}; the names are {[p.path for p in PHOTOS]}.")


def _scene(label: int, size: tuple[int, int] = _SIZE) -> np.ndarray:
    """The picture every file shows: uint8 RGB ``(height, width, 3)``, the same for the same arguments."""
    h, w = size
    rows = np.where((np.arange(h) < h * 0.55)[:, None], SKY, GRASS).astype(np.float32)  # sky over grass
    rows += 8 * np.cos(np.arange(h, dtype=np.float32) / max(h, 1) * 5.0)[:, None]  # soft texture, down
    across = 12 * np.sin(np.arange(w, dtype=np.float32) / max(w, 1) * 6.0)  # and across
    pixels = np.clip(rows[:, None, :] + across[None, :, None], 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    side = max(2, min(h, w) // 4)
    draw.rectangle((0, 0, side - 1, side - 1), fill=MARKER_RED)
    _shape(draw, label, h, w)
    if min(h, w) >= 48:
        draw.text((side + 3, 3), "SAMPLE", fill=(255, 255, 255))
    return np.asarray(image)


def _shape(draw: ImageDraw.ImageDraw, label: int, h: int, w: int) -> None:
    r = max(1, min(h, w) // 5)
    box = (w // 2 - r, h // 2 - r, w // 2 + r, h // 2 + r)
    if label == 0:
        draw.ellipse(box, fill=SHAPE_YELLOW)
    else:
        draw.rectangle(box, fill=SHAPE_YELLOW)


def _cutout(label: int, size: tuple[int, int] = _SIZE) -> np.ndarray:
    """The scene's red square and shape on a transparent background: uint8 RGBA, black under the transparency."""
    h, w = size
    rgba = np.zeros((h, w, 4), np.uint8)
    image = Image.fromarray(rgba, "RGBA")
    draw = ImageDraw.Draw(image)
    side = max(2, min(h, w) // 4)
    draw.rectangle((0, 0, side - 1, side - 1), fill=(*MARKER_RED, 255))
    r = max(1, min(h, w) // 5)
    box = (w // 2 - r, h // 2 - r, w // 2 + r, h // 2 + r)
    fill = (*SHAPE_YELLOW, 255)
    (draw.ellipse if label == 0 else draw.rectangle)(box, fill=fill)
    return np.asarray(image)


def expected_view(item: _PhonePhoto) -> np.ndarray:
    """What a colour-managed photo viewer shows of ``item``: uint8 RGB, transparency over white.

    The reference the tests of chapter 09's decoding compare with (tests/test_photos.py, test_pipeline.py,
    test_export.py, test_predict.py).
    """
    if item.view == "cutout":
        rgba = _cutout(item.label, item.size).astype(np.float32)
        alpha = rgba[..., 3:] / 255
        return np.round(rgba[..., :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
    rgb = _scene(item.label, item.size)
    if item.view == "gray":
        return np.asarray(Image.fromarray(rgb).convert("L").convert("RGB"))
    return rgb


def _display_p3_profile() -> bytes:
    """An ICC profile of Display P3 (the colour space of iPhone photos): DCI-P3 primaries, D65 white, sRGB curve.

    Built from LittleCMS's own sRGB profile (``ImageCms.createProfile("sRGB")``), which has the same
    white point and tone curve: only the description, the primaries (``chrm``) and the colorants
    (``rXYZ``, ``gXYZ``, ``bXYZ``, adapted to the D50 connection space with the profile's own ``chad``
    matrix) change.
    """
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tags = _icc_tags(srgb)
    chad = np.array(struct.unpack(">9i", tags[b"chad"][8:44]), np.float64).reshape(3, 3) / 65536
    colorants = chad @ _rgb_to_xyz(_P3_PRIMARIES, _D65)
    for i, sig in enumerate((b"rXYZ", b"gXYZ", b"bXYZ")):
        tags[sig] = b"XYZ \0\0\0\0" + struct.pack(">3i", *(round(v * 65536) for v in colorants[:, i]))
    tags[b"chrm"] = (b"chrm\0\0\0\0" + struct.pack(">HH", 3, 0)
                     + b"".join(struct.pack(">2I", round(x * 65536), round(y * 65536)) for x, y in _P3_PRIMARIES))
    tags[b"desc"] = _mluc("Display P3")
    tags[b"cprt"] = _mluc("No copyright, use freely")
    return _icc_bytes(srgb[:128], tags)


def _rgb_to_xyz(primaries, white) -> np.ndarray:
    """The RGB -> XYZ matrix of an RGB space given by its primaries' and white's chromaticities (x, y)."""
    xyz = np.array([[x / y, 1.0, (1 - x - y) / y] for x, y in primaries]).T
    wx, wy = white
    scale = np.linalg.solve(xyz, np.array([wx / wy, 1.0, (1 - wx - wy) / wy]))
    return xyz * scale


def _icc_tags(profile: bytes) -> dict[bytes, bytes]:
    (count,) = struct.unpack(">I", profile[128:132])
    tags = {}
    for i in range(count):
        sig, offset, size = struct.unpack(">4sII", profile[132 + 12 * i:144 + 12 * i])
        tags[sig] = profile[offset:offset + size]
    return tags


def _mluc(text: str) -> bytes:
    encoded = text.encode("utf-16-be")
    return b"mluc\0\0\0\0" + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(encoded), 28) + encoded


def _icc_bytes(header: bytes, tags: dict[bytes, bytes]) -> bytes:
    """Serialise an ICC profile: the 128-byte header (size and ID fixed), the tag table, the 4-byte aligned data."""
    offset = 128 + 4 + 12 * len(tags)
    table, data = [], b""
    for sig, body in tags.items():
        table.append(struct.pack(">4sII", sig, offset + len(data), len(body)))
        data += body + b"\0" * (-len(body) % 4)
    head = bytearray(header)
    head[0:4] = struct.pack(">I", offset + len(data))
    head[84:100] = bytes(16)  # profile ID: zero means "not computed"
    return bytes(head) + struct.pack(">I", len(tags)) + b"".join(table) + data


def _jpeg(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=kwargs.pop("quality", 92), **kwargs)
    return buffer.getvalue()


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Course phone"  # Make
    return exif.tobytes()


def _ycck_jpeg(rgb: np.ndarray) -> bytes:
    """A YCCK JPEG of ``rgb``: Pillow cannot write one, so its components are computed here.

    Adobe software stores CMYK inverted; with transform 2 (YCCK) a decoder turns the first three
    components from YCbCr into RGB and takes ``255 - R``, ``255 - G``, ``255 - B`` as the stored
    (inverted) C, M, Y, keeping K. So the components are the YCbCr of the ink values C, M, Y, and
    the inverted K. Pillow writes CMYK inverted, hence the ``255 -`` of what is handed to it.
    """
    ink = np.asarray(Image.fromarray(rgb).convert("CMYK"), np.float64)
    c, m, y = ink[..., 0], ink[..., 1], ink[..., 2]
    luma = 0.299 * c + 0.587 * m + 0.114 * y
    cb = -0.168736 * c - 0.331264 * m + 0.5 * y + 128
    cr = 0.5 * c - 0.418688 * m - 0.081312 * y + 128
    stored = np.stack([luma, cb, cr], -1)
    handed = np.concatenate([255 - stored, ink[..., 3:]], -1)
    data = bytearray(_jpeg(Image.fromarray(np.clip(np.round(handed), 0, 255).astype(np.uint8), "CMYK")))
    adobe = data.index(b"Adobe")
    data[adobe + 11] = 2  # the APP14 transform byte: 0 = CMYK, 2 = YCCK
    return bytes(data)


def _png16(values: np.ndarray) -> bytes:
    """A 16-bit PNG of ``values`` (uint16, ``(h, w)`` gray or ``(h, w, 3)`` RGB), written by hand (Pillow cannot)."""
    h, w = values.shape[:2]
    colour_type = 0 if values.ndim == 2 else 2
    raw = b"".join(b"\0" + values[row].astype(">u2").tobytes() for row in range(h))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _save(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _encode(item: _PhonePhoto) -> bytes | None:
    """The bytes of ``item``'s file, or ``None`` when this Pillow cannot write its format (AVIF)."""
    rgb = _scene(item.label, item.size)
    image = Image.fromarray(rgb)
    name = item.path.split("/")[1]
    if item.orientation != 1:
        return _jpeg(image.transpose(_STORED_AS[item.orientation]), exif=_exif(item.orientation), quality=90)
    if item.kind == "progressive JPEG":
        return _jpeg(image, progressive=True)
    if item.kind == "grayscale JPEG":
        return _jpeg(image.convert("L"))
    if item.kind == "CMYK JPEG":
        return _jpeg(image.convert("CMYK"))
    if item.kind == "YCCK JPEG":
        return _ycck_jpeg(rgb)
    if item.kind == "Display P3 JPEG":
        p3 = ImageCms.ImageCmsProfile(io.BytesIO(_display_p3_profile()))
        wide = ImageCms.profileToProfile(image, ImageCms.createProfile("sRGB"), p3, outputMode="RGB")
        return _jpeg(wide, icc_profile=_display_p3_profile(), exif=_exif(1))
    if item.kind == "grayscale PNG":
        return _save(image.convert("L"), "PNG")
    if item.kind == "16-bit gray PNG":
        return _png16(np.asarray(image.convert("L"), np.uint16) * 257)
    if item.kind == "16-bit RGB PNG":
        return _png16(rgb.astype(np.uint16) * 257)
    if item.kind == "palette PNG, transparent":
        rgba = _cutout(item.label, item.size)
        index = np.zeros(rgba.shape[:2], np.uint8)  # entry 0: the background, black and transparent
        index[(rgba[..., :3] == MARKER_RED).all(-1) & (rgba[..., 3] > 0)] = 1
        index[(rgba[..., :3] == SHAPE_YELLOW).all(-1) & (rgba[..., 3] > 0)] = 2
        out = Image.fromarray(index, "P")
        out.putpalette([0, 0, 0, *MARKER_RED, *SHAPE_YELLOW])
        return _save(out, "PNG", transparency=0)
    if item.kind == "RGBA PNG, transparent":
        return _save(Image.fromarray(_cutout(item.label, item.size), "RGBA"), "PNG")
    if item.kind == "WebP":
        return _save(image, "WEBP", quality=92)
    if item.kind == "HEIC":
        return base64.b64decode(_HEIC_BASE64)
    if item.kind == "AVIF":
        return _save(image, "AVIF", quality=90) if avif_supported() else None
    if item.kind == "PNG named .jpg":
        return _save(image, "PNG")
    if item.kind.startswith("tiny"):
        return _jpeg(image, quality=95, subsampling=0)  # full colour resolution: 2x2 chroma would blur 3 pixels
    if name.lower().endswith((".jpg", ".jpeg", ".png")):
        return _jpeg(image)
    raise ValueError(f"No writer for {item.path}")


def _apple_double() -> bytes:
    """An AppleDouble file (``._name``) as macOS writes beside a file it copies to a non-Mac disk."""
    header = struct.pack(">II16sH", 0x00051607, 0x00020000, b"Mac OS X        ", 2)
    entries = struct.pack(">III", 9, 50, 32) + struct.pack(">III", 2, 82, 4096 - 82)
    return (header + entries + b"TEXTttxt" + bytes(24)).ljust(4096, b"\0")


def _ds_store() -> bytes:
    return b"\x00\x00\x00\x01Bud1" + bytes(6144 - 8)


def make_phone_photos(dest: str | Path | None = None) -> Path:
    """Write the folder of :data:`PHOTOS` (and :data:`_HIDDEN`) under ``dest``; return the photo folder.

    Chapter 09 teaches with it.

    The layout is a learner's: ``dest/phone_photos/<class>/<file>``, two classes (``ball``, ``box``),
    no split folders. A ``COURSE_SAMPLE.json`` marker in ``dest`` marks it as generated data; made once,
    later calls reuse it (a folder that is not a course sample is never overwritten).

    Args:
        dest: Folder to create (default ``data_home()/samples/phone_photos``).

    Raises:
        FileExistsError: ``dest`` exists, is not empty, and is not a course sample.
    """
    from . import data_home

    dest = Path(dest).expanduser() if dest is not None else data_home() / "samples" / "phone_photos"
    written = [p.path for p in PHOTOS if p.kind != "AVIF" or avif_supported()]
    spec = {"dataset": "phone photos (synthetic scenes in phone and camera file formats)", "files": written,
            "synthetic": True}
    folder = dest / "phone_photos"
    if is_made(dest, spec):
        return folder
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}-"))
    try:  # build beside dest, then rename: an interrupted run never leaves half a folder
        for item in PHOTOS:
            data = _encode(item)
            if data is not None:
                path = work / "phone_photos" / item.path
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        for hidden in _HIDDEN:
            path = work / "phone_photos" / hidden
            path.write_bytes(_apple_double() if Path(hidden).name.startswith("._") else _ds_store())
        publish(work, dest, spec)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder
