"""Tests for helpers.photos: which decoder each kind of file gets, and that each comes out as a viewer shows it.

The files come from ``helpers.datasets.phone_photos`` (tested in tests/test_phone_photos.py) and from small
hand-made files here; what a viewer shows is checked against the scene the generator drew, or against Pillow.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import random
import re
import struct

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from helpers import photos
from helpers.datasets import phone_photos
from helpers.datasets.samples import make_sample

#: The decoder each generated file must get (the fast path for what TensorFlow shows right, Pillow for the rest).
ROUTES = {
    "tidy JPEG": photos.PLAIN_JPEG, "progressive JPEG": photos.PLAIN_JPEG, "grayscale JPEG": photos.PLAIN_JPEG,
    "CMYK JPEG": photos.PLAIN_JPEG, "YCCK JPEG": photos.PLAIN_JPEG, "tiny 16x12": photos.PLAIN_JPEG,
    "JPEG named .png": photos.PLAIN_JPEG, "Display P3 JPEG": photos.PILLOW,
    **{f"Orientation={o}": photos.PILLOW for o in range(2, 9)}, "12 MP, Orientation=6": photos.PILLOW,
    "grayscale PNG": photos.TENSORFLOW_OTHER, "16-bit gray PNG": photos.TENSORFLOW_OTHER,
    "16-bit RGB PNG": photos.TENSORFLOW_OTHER, "PNG named .jpg": photos.TENSORFLOW_OTHER,
    "WebP": photos.TENSORFLOW_OTHER, "palette PNG, transparent": photos.PILLOW,
    "RGBA PNG, transparent": photos.PILLOW, "HEIC": photos.PILLOW, "AVIF": photos.PILLOW,
}


def encoded(kind: str) -> bytes:
    item = next(p for p in phone_photos.PHOTOS if p.kind == kind)
    data = phone_photos._encode(item)
    if data is None:
        pytest.skip(f"this Pillow cannot write {kind}")
    return data


def image_bytes(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def decode(data: bytes, name: str = "photo") -> np.ndarray:
    return photos.decode_photo(tf.constant(data), name).numpy()


@pytest.mark.parametrize("kind", sorted(ROUTES))
def test_every_kind_of_file_gets_the_decoder_that_shows_it_right(kind):
    assert int(photos.route(tf.constant(encoded(kind)))) == ROUTES[kind]


def test_the_course_datasets_jpegs_take_the_fast_path(tmp_path):
    """The sample of every dataset is written like the real files (RGB JPEGs): none may leave TensorFlow's decoder."""
    root = make_sample("intel", tmp_path / "intel", images_per_class=2)
    files = sorted(root.rglob("*.jpg"))
    assert files
    assert {int(photos.route(tf.constant(f.read_bytes()))) for f in files} == {photos.PLAIN_JPEG}


def test_an_srgb_profile_keeps_a_jpeg_on_tensorflow():
    """Cameras embed an sRGB profile: nothing to convert, so TensorFlow's decoder stays (after a second look)."""
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = image_bytes(Image.fromarray(phone_photos._scene(0)), "JPEG", icc_profile=srgb, quality=95)
    assert int(photos.route(tf.constant(data))) == photos.SRGB_JPEG
    np.testing.assert_array_equal(decode(data), np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))


@pytest.mark.parametrize("order", ["II", "MM"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_read_in_either_byte_order(order, orientation):
    """Pillow writes EXIF in Motorola order; many cameras write Intel order: both must be turned upright."""
    scene = phone_photos._scene(0)
    stored = Image.fromarray(scene)
    if orientation != 1:
        stored = stored.transpose(phone_photos._STORED_AS[orientation])
    pack = "<" if order == "II" else ">"
    tiff = (order.encode() + struct.pack(pack + "HI", 42, 8) + struct.pack(pack + "H", 1)
            + struct.pack(pack + "HHI", 0x0112, 3, 1) + struct.pack(pack + "H", orientation) + b"\0\0"
            + struct.pack(pack + "I", 0))
    data = image_bytes(stored, "JPEG", exif=b"Exif\0\0" + tiff, quality=95)
    assert Image.open(io.BytesIO(data)).getexif()[0x0112] == orientation  # what Pillow (and viewers) read
    route = int(photos.route(tf.constant(data)))
    assert route == (photos.PLAIN_JPEG if orientation == 1 else photos.PILLOW)
    image = decode(data)
    assert image.shape == scene.shape
    assert np.abs(image.astype(int) - scene).mean() < 4
    assert np.abs(image[2, 2].astype(int) - phone_photos.MARKER_RED).max() < 25, "the red corner is top-left"


def test_transparent_gif_lossless_webp_and_colour_key_png_show_on_white():
    """Every way a file can be transparent, besides the generator's RGBA and palette PNGs."""
    rgba = phone_photos._cutout(1)
    expected = phone_photos.expected_view(phone_photos.photo("cutout_0018.Png"))
    image = Image.fromarray(rgba, "RGBA")
    palette = image.convert("RGB").quantize(colors=4)
    index = np.asarray(palette).copy()
    index[rgba[..., 3] == 0] = 3
    gif = Image.fromarray(index, "P")
    gif.putpalette(palette.getpalette()[:9] + [0, 0, 0])
    key = Image.fromarray(rgba[..., :3])  # RGB with black as the transparent colour (a tRNS colour key)
    files = {"GIF": image_bytes(gif, "GIF", transparency=3), "WebP": image_bytes(image, "WEBP", lossless=True),
             "PNG colour key": image_bytes(key, "PNG", transparency=(0, 0, 0)),
             "LA PNG": image_bytes(Image.fromarray(rgba).convert("LA"), "PNG")}
    for name, data in files.items():
        assert int(photos.route(tf.constant(data))) == photos.PILLOW, name
        out = decode(data).astype(int)
        target = expected if name != "LA PNG" else np.asarray(Image.fromarray(expected).convert("L").convert("RGB"))
        assert np.abs(out - target).max() <= 2, name


def test_a_png_with_a_display_p3_profile_is_converted():
    p3 = phone_photos._display_p3_profile()
    from PIL import ImageCms

    wide = ImageCms.profileToProfile(Image.fromarray(phone_photos._scene(0)), ImageCms.createProfile("sRGB"),
                                     ImageCms.ImageCmsProfile(io.BytesIO(p3)), outputMode="RGB")
    data = image_bytes(wide, "PNG", icc_profile=p3)
    assert int(photos.route(tf.constant(data))) == photos.PILLOW
    assert np.abs(decode(data).astype(int) - phone_photos._scene(0)).max() <= 2


def test_sixteen_bit_gray_keeps_its_high_byte_where_pillow_convert_clips():
    """Pillow's own I;16 -> RGB conversion clips every value above 255 to white; viewers (and TensorFlow) scale."""
    values = (np.arange(96 * 128, dtype=np.uint32).reshape(96, 128) * 5 % 65536).astype(np.uint16)
    image = Image.fromarray(values)
    assert image.mode == "I;16"
    assert (np.asarray(image.convert("RGB"))[..., 0] == 255).mean() > 0.9  # the trap
    out = photos._viewer_rgb(image)
    np.testing.assert_array_equal(out[..., 0], (values >> 8).astype(np.uint8))


def test_jpegs_are_decoded_bit_for_bit_as_pillow_does():
    """dct_method="INTEGER_ACCURATE": the fast path gives the very pixels Pillow (libjpeg's accurate IDCT) gives."""
    for kind in ("tidy JPEG", "progressive JPEG", "grayscale JPEG", "CMYK JPEG", "YCCK JPEG", "tiny 16x12"):
        data = encoded(kind)
        np.testing.assert_array_equal(decode(data), np.asarray(Image.open(io.BytesIO(data)).convert("RGB")),
                                      err_msg=kind)


def test_a_large_jpeg_decoded_by_pillow_is_reduced_but_never_below_twice_the_size_asked():
    data = encoded("12 MP, Orientation=6")
    small = photos.decode_photo(tf.constant(data), "big", (224, 168)).numpy()
    assert small.shape[0] >= 2 * 224 and small.shape[1] >= 2 * 168 and small.shape[0] > small.shape[1]
    assert small.shape[0] < phone_photos.BIG_SIZE[0], "decoded at a fraction of 4000x3000"
    assert np.abs(small[5, 5].astype(int) - phone_photos.MARKER_RED).max() < 25


def test_heic_without_pillow_heif_says_what_to_do():
    if importlib.util.find_spec("pillow_heif") is not None:
        pytest.skip("pillow-heif is installed here: HEIC photos are read (test_heic_is_read_with_pillow_heif)")
    data = encoded("HEIC")
    assert photos.container_kind(data) == "HEIC"
    with pytest.raises(photos.PhotoError, match=r"IMG_0020\.HEIC is a HEIC photo.*pip install pillow-heif"):
        decode(data, "IMG_0020.HEIC")


def test_heic_is_read_with_pillow_heif():
    pytest.importorskip("pillow_heif")
    image = decode(encoded("HEIC"))
    assert np.abs(image.astype(int) - phone_photos._scene(1)).mean() < 4


def test_unreadable_files_name_themselves_and_the_fix():
    avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf" + bytes(40)
    assert photos.container_kind(avif) == "AVIF"
    assert "pip install -U pillow" in photos._unreadable_message("x.avif", avif)
    apple_double = (b"\x00\x05\x16\x07" + bytes(60)) * 4
    with pytest.raises(photos.PhotoError, match=r"\._IMG_0001\.JPG is not an image TensorFlow or Pillow can read"):
        decode(apple_double, "._IMG_0001.JPG")
    assert photos.container_kind(b"\xff\xd8\xff" + bytes(40)) is None


def test_base64_search_finds_bytes_at_every_offset_and_only_them():
    """The header search works on base64 text: check it against Python's re on random bytes, every shift."""
    rng = random.Random(0)
    for _ in range(200):
        pattern = bytes(rng.randrange(256) for _ in range(rng.randrange(3, 13)))
        for before in range(4):
            context = bytes(rng.randrange(256) for _ in range(before)), bytes(rng.randrange(256) for _ in range(5))
            text = base64.urlsafe_b64encode(context[0] + pattern + context[1]).decode().rstrip("=")
            assert re.search(photos._base64_regex(pattern), text), (pattern, before)
            changed = bytearray(pattern)
            changed[rng.randrange(len(pattern))] ^= 1 << rng.randrange(8)
            other = base64.urlsafe_b64encode(context[0] + bytes(changed) + context[1]).decode().rstrip("=")
            assert not re.search(photos._base64_regex(pattern), other), (pattern, before)
    masked = photos._contains_regex((b"\x21\xf9\x04\x01", b"\xff\xff\xff\x01"))
    for flags, transparent in ((0x01, True), (0x05, True), (0x04, False), (0x00, False)):
        text = tf.io.encode_base64(tf.constant(b"GIF89a" + b"\x21\xf9\x04" + bytes([flags]) + bytes(8)))
        assert bool(tf.strings.regex_full_match(text, masked)) == transparent, flags
