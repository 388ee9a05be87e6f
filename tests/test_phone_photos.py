"""Tests for helpers.datasets.phone_photos: each generated file really is the kind of file it claims to be.

How the course decodes them is tested in tests/test_photos.py and tests/test_pipeline.py; here only the files
themselves are checked, with Pillow (and by hand for what Pillow does not report).
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image, ImageCms

from helpers.datasets import is_sample, phone_photos
from helpers.datasets.samples import MARKER


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return phone_photos.make_phone_photos(tmp_path_factory.mktemp("phone"))


def opened(folder, name):
    return Image.open(folder / phone_photos.photo(name).path)


def test_every_file_is_written_with_the_hidden_ones_and_a_marker(folder):
    written = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    expected = [p.path for p in phone_photos.PHOTOS if p.kind != "AVIF" or phone_photos.avif_supported()]
    assert written == sorted([*expected, *phone_photos._HIDDEN])
    assert is_sample(folder) and json.loads((folder.parent / MARKER).read_text())["files"] == expected
    assert {p.name.split(".")[-1] for p in folder.rglob("*")} >= {"JPG", "JPEG", "jpg", "png", "Png", "webp", "HEIC"}


def test_a_second_call_reuses_the_folder_and_a_foreign_folder_is_refused(folder, tmp_path):
    stamp = (folder / "ball" / "IMG_0001.JPG").stat().st_mtime_ns
    assert phone_photos.make_phone_photos(folder.parent) == folder
    assert (folder / "ball" / "IMG_0001.JPG").stat().st_mtime_ns == stamp
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "holiday.jpg").write_bytes(b"my photo")
    with pytest.raises(FileExistsError, match="not a course sample"):
        phone_photos.make_phone_photos(tmp_path / "mine")


@pytest.mark.parametrize("orientation", range(2, 9))
def test_orientation_files_store_the_scene_turned_with_the_tag(folder, orientation):
    image = opened(folder, f"IMG_{orientation:04d}.JPG")
    assert image.getexif()[0x0112] == orientation
    stored = (128, 96) if orientation >= 5 else (96, 128)
    assert (image.height, image.width) == stored


def test_the_big_photo_is_12_megapixels_stored_sideways(folder):
    image = opened(folder, "IMG_0022.JPG")
    assert image.size == (4000, 3000) and image.getexif()[0x0112] == 6  # 4000 wide as stored, upright 3000 wide
    assert opened(folder, "IMG_0023.jpg").size == (16, 12)


def test_colour_formats_are_what_they_claim(folder):
    assert opened(folder, "IMG_0010.jpg").mode == "L"
    assert opened(folder, "IMG_0011.jpg").mode == "CMYK"
    ycck = opened(folder, "IMG_0012.jpg")
    assert ycck.mode == "CMYK" and ycck.info["adobe_transform"] == 2  # YCCK
    assert opened(folder, "IMG_0009.JPEG").info.get("progressive") == 1
    assert opened(folder, "scan_0014.png").mode == "L"
    assert opened(folder, "scan_0015.png").mode == "I;16"
    deep = (folder / phone_photos.photo("IMG_0016.png").path).read_bytes()
    assert deep[24:26] == b"\x10\x02"  # IHDR: 16 bits per sample, colour type 2 (RGB)
    sticker = opened(folder, "sticker_0017.png")
    assert sticker.mode == "P" and "transparency" in sticker.info
    assert opened(folder, "cutout_0018.Png").mode == "RGBA"
    assert opened(folder, "IMG_0019.webp").format == "WEBP"
    assert (folder / "box" / "IMG_0020.HEIC").read_bytes()[4:12] == b"ftypheic"
    assert opened(folder, "IMG_0024.jpg").format == "PNG" and opened(folder, "IMG_0025.png").format == "JPEG"
    assert (folder / "box" / "._IMG_0006.JPG").read_bytes()[:4] == b"\x00\x05\x16\x07"  # AppleDouble magic


def test_the_display_p3_photo_carries_a_real_display_p3_profile(folder):
    image = opened(folder, "IMG_0013.JPG")
    profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
    assert ImageCms.getProfileDescription(profile).strip() == "Display P3"
    red = Image.new("RGB", (1, 1), (255, 0, 0))
    in_p3 = ImageCms.profileToProfile(red, ImageCms.createProfile("sRGB"), profile, outputMode="RGB")
    assert in_p3.getpixel((0, 0)) == (234, 51, 35)  # sRGB red in Display P3, as published (0.9175, 0.2003, 0.1386)
    stored = np.asarray(image.convert("RGB"))[2, 2].astype(int)
    assert np.abs(stored - (201, 53, 43)).max() < 6, "the stored numbers are P3's, not the scene's"


def test_scenes_mark_their_top_left_corner_and_cutouts_show_on_white():
    scene = phone_photos._scene(0)
    assert tuple(scene[2, 2]) == phone_photos.MARKER_RED and tuple(scene[48, 64]) == phone_photos.SHAPE_YELLOW
    assert tuple(scene[-2, -2]) != phone_photos.MARKER_RED
    np.testing.assert_array_equal(phone_photos._scene(1), phone_photos._scene(1))
    view = phone_photos.expected_view(phone_photos.photo("cutout_0018.Png"))
    assert tuple(view[-2, -2]) == (255, 255, 255) and tuple(view[2, 2]) == phone_photos.MARKER_RED
