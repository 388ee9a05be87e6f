"""Tests for helpers.pipeline: decoding, batching, shuffling, caching, stratified split, cache choice.

Each image's colour encodes its label (red) and its index (green), so alignment of images and labels
can be checked after shuffling.
"""

import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

import re
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from layout_fixtures import class_colour, colour_labels, write_image
from PIL import Image

from helpers import pipeline
from helpers.datasets import phone_photos
from helpers.pipeline import cache_bytes, choose_cache, decode_image, make_dataset

N_FILES = 10
LABELS = [i % 3 for i in range(N_FILES)]


def write_files(folder: Path, labels=LABELS):
    """PNG files (lossless) whose red encodes the label and green the index."""
    files = []
    for i, label in enumerate(labels):
        red = class_colour(label)[0]
        files.append(write_image(folder / f"img{i:02d}.png", colour=(red, 10 + 20 * i, 160), size=(10, 14)))
    return files


@pytest.fixture
def files(tmp_path):
    return write_files(tmp_path / "images")


def epoch(ds):
    """(images, labels, indices decoded from green, batch sizes) of one full pass."""
    xs, ys, sizes = [], [], []
    for x, y in ds:
        assert x.dtype == tf.float32 and y.dtype == tf.int32
        xs.append(x.numpy())
        ys.append(y.numpy())
        sizes.append(int(x.shape[0]))
    images, labels = np.concatenate(xs), np.concatenate(ys)
    indices = [int(round((im[..., 1].mean() - 10) / 20)) for im in images]
    return images, labels, indices, sizes


def test_images_are_float32_of_the_requested_size(files):
    ds = make_dataset(files, LABELS, image_size=(12, 20), batch_size=4)
    images, labels, indices, sizes = epoch(ds)
    assert images.shape == (N_FILES, 12, 20, 3)
    assert images.min() >= 0 and images.max() <= 255
    assert images.max() > 1, "pixels stay in [0, 255], not rescaled to [0, 1]"
    assert ds.element_spec[0].shape.as_list() == [None, 12, 20, 3]
    assert ds.element_spec[1].dtype == tf.int32
    assert indices == list(range(N_FILES)), "unshuffled: file order"
    assert labels.tolist() == LABELS
    assert colour_labels(images) == LABELS


@pytest.mark.parametrize(
    "batch_size, expected", [(4, [4, 4, 2]), (5, [5, 5]), (10, [10]), (32, [10]), (1, [1] * 10)]
)
def test_batch_sizes_with_last_partial_batch(files, batch_size, expected):
    for shuffle in (False, True):
        _, _, _, sizes = epoch(make_dataset(files, LABELS, image_size=(8, 8), batch_size=batch_size,
                                            shuffle=shuffle))
        assert sizes == expected


def test_shuffled_labels_stay_with_their_images(files):
    ds = make_dataset(files, LABELS, image_size=(8, 8), batch_size=3, shuffle=True, seed=5)
    for _ in range(3):
        images, labels, indices, _ = epoch(ds)
        assert sorted(indices) == list(range(N_FILES)), "every image exactly once per epoch"
        assert colour_labels(images) == labels.tolist()
        assert labels.tolist() == [LABELS[i] for i in indices]


def test_shuffle_changes_every_epoch_and_is_reproducible(files):
    def orders(seed, epochs=3):
        ds = make_dataset(files, LABELS, image_size=(8, 8), batch_size=4, shuffle=True, seed=seed)
        return [epoch(ds)[2] for _ in range(epochs)]

    first = orders(seed=11)
    assert first[0] != list(range(N_FILES))
    assert len({tuple(o) for o in first}) == 3, "a fresh order every epoch"
    assert orders(seed=11) == first, "same seed, same orders"
    assert orders(seed=12) != first


def test_unshuffled_order_is_the_same_every_epoch(files):
    ds = make_dataset(files, LABELS, image_size=(8, 8), batch_size=4)
    assert epoch(ds)[2] == epoch(ds)[2] == list(range(N_FILES))


@pytest.mark.parametrize("cache", [False, True, "file"])
def test_cache_options_give_the_same_content(files, tmp_path, cache):
    plain = make_dataset(files, LABELS, image_size=(9, 7), batch_size=4, cache=False)
    reference, ref_labels, _, _ = epoch(plain)
    if cache == "file":
        cache = str(tmp_path / "cache" / "images")
        (tmp_path / "cache").mkdir()
    ds = make_dataset(files, LABELS, image_size=(9, 7), batch_size=4, cache=cache)
    for _ in range(2):  # the second epoch reads the cache
        images, labels, _, _ = epoch(ds)
        np.testing.assert_array_equal(images, reference)
        np.testing.assert_array_equal(labels, ref_labels)
    if isinstance(cache, str):
        assert list((tmp_path / "cache").glob("images*.index"))


@pytest.mark.parametrize("cache", [True, "file"])
def test_cached_epochs_do_not_read_the_files_again(files, tmp_path, cache):
    cache = str(tmp_path / "c") if cache == "file" else cache
    ds = make_dataset(files, LABELS, image_size=(8, 8), batch_size=4, shuffle=True, cache=cache)
    first = epoch(ds)
    for f in files:
        f.unlink()
    second = epoch(ds)
    assert sorted(second[2]) == sorted(first[2]) == list(range(N_FILES))


def test_without_cache_files_are_read_every_epoch(files):
    ds = make_dataset(files, LABELS, image_size=(8, 8), batch_size=4, cache=False)
    epoch(ds)
    files[0].unlink()
    with pytest.raises(tf.errors.NotFoundError):
        epoch(ds)


def test_files_and_labels_must_have_the_same_length(files):
    with pytest.raises(ValueError, match="10 files but 9 labels"):
        make_dataset(files, LABELS[:-1], image_size=(8, 8), batch_size=4)


def test_accepts_str_and_path(files):
    a = epoch(make_dataset([str(f) for f in files], LABELS, image_size=(8, 8), batch_size=4))
    b = epoch(make_dataset(files, np.array(LABELS), image_size=(8, 8), batch_size=4))
    np.testing.assert_array_equal(a[0], b[0])


# --------------------------------------------------------------------------------------------------
# decode_image
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P", "CMYK"])
def test_decode_image_gives_uint8_rgb_of_the_requested_size(tmp_path, mode):
    ext = ".jpg" if mode in ("L", "CMYK") else ".png"
    path = write_image(tmp_path / f"x{ext}", 4, size=(30, 20), mode=mode)
    image = decode_image(tf.constant(str(path)), (6, 11))
    assert image.dtype == tf.uint8
    assert image.shape == (6, 11, 3)


def test_decode_image_keeps_a_solid_colour(tmp_path):
    path = write_image(tmp_path / "x.png", colour=(200, 30, 7), size=(50, 31))
    image = decode_image(tf.constant(str(path)), (8, 8)).numpy()
    assert (image == np.array([200, 30, 7], np.uint8)).all()



# --------------------------------------------------------------------------------------------------
# choose_cache
# --------------------------------------------------------------------------------------------------


def test_cache_bytes():
    assert cache_bytes(10, (150, 150)) == 10 * 150 * 150 * 3


def fake_files(n, prefix="img"):
    return [f"/data/{prefix}{i}.jpg" for i in range(n)]


def test_choose_cache_memory_below_the_limit(tmp_path):
    assert choose_cache(fake_files(14034), (150, 150), tmp_path, "intel-train") == ""
    at_limit = pipeline.MEMORY_CACHE_LIMIT // (100 * 100 * 3)
    assert cache_bytes(at_limit, (100, 100)) <= pipeline.MEMORY_CACHE_LIMIT
    assert choose_cache(fake_files(at_limit), (100, 100), tmp_path, "x") == ""
    assert list(tmp_path.iterdir()) == [], "nothing is created for a memory cache"


def test_choose_cache_file_above_the_limit(tmp_path):
    n = pipeline.MEMORY_CACHE_LIMIT // (224 * 224 * 3) + 1
    cache_dir = tmp_path / "new" / "caches"
    path = choose_cache(fake_files(n), (224, 224), cache_dir, "food5k-train")
    assert path
    assert Path(path).parent == cache_dir and cache_dir.is_dir()
    assert Path(path).name.startswith("food5k-train")
    assert "224x224" in Path(path).name and str(n) in Path(path).name


def test_choose_cache_file_name_depends_on_files_size_and_tag(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "MEMORY_CACHE_LIMIT", 1000)
    files = fake_files(5)
    path = choose_cache(files, (32, 32), tmp_path, "t")
    assert path and choose_cache(list(files), (32, 32), tmp_path, "t") == path, "same inputs, same file"
    others = {
        choose_cache(fake_files(5, "other"), (32, 32), tmp_path, "t"),
        choose_cache(files, (32, 48), tmp_path, "t"),
        choose_cache(files, (32, 32), tmp_path, "u"),
        choose_cache(files[::-1], (32, 32), tmp_path, "t"),
    }
    assert path not in others and len(others) == 4


def test_choose_cache_removes_an_unfinished_cache_and_keeps_a_finished_one(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "MEMORY_CACHE_LIMIT", 1000)
    files = fake_files(5)
    path = choose_cache(files, (32, 32), tmp_path, "t")
    left = [Path(path + ".data-00000-of-00001"), Path(path + ".lockfile")]
    for piece in left:
        piece.write_bytes(b"partial")
    assert choose_cache(files, (32, 32), tmp_path, "t") == path
    assert not [p for p in left if p.exists()], "an interrupted first epoch must not block the next run"
    done = [Path(path + ".data-00000-of-00001"), Path(path + ".index")]
    for piece in done:
        piece.write_bytes(b"complete")
    choose_cache(files, (32, 32), tmp_path, "t")
    assert all(p.exists() for p in done)


def test_file_cache_chosen_by_choose_cache_works_end_to_end(files, tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "MEMORY_CACHE_LIMIT", 100)
    path = choose_cache(files, (8, 8), tmp_path / "cache", "demo")
    assert path
    ds = make_dataset(files, LABELS, image_size=(8, 8), batch_size=4, cache=path)
    first = epoch(ds)
    assert Path(path + ".index").exists()
    again = make_dataset(files, LABELS, image_size=(8, 8), batch_size=4,
                         cache=choose_cache(files, (8, 8), tmp_path / "cache", "demo"))
    np.testing.assert_array_equal(epoch(again)[0], first[0])


def test_choose_cache_without_a_folder_falls_back_to_memory():
    assert choose_cache(fake_files(10**5), (224, 224), None, "big") == ""


def test_decode_skips_the_resize_for_images_already_at_size(tmp_path):
    """Files already at the training size come out pixel for pixel as decoded (no resampling)."""
    import numpy as np
    import tensorflow as tf
    from PIL import Image

    from helpers.pipeline import decode_image

    pixels = np.random.default_rng(0).integers(0, 256, (12, 10, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    same = decode_image(tf.constant(str(tmp_path / "a.png")), (12, 10)).numpy()
    np.testing.assert_array_equal(same, pixels)
    other = decode_image(tf.constant(str(tmp_path / "a.png")), (6, 5)).numpy()
    assert other.shape == (6, 5, 3) and other.dtype == np.uint8


# --------------------------------------------------------------------------------------------------
# cache_size: cache at the smaller of the native and the training size, enlarge after the cache
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("native, image_size, expected", [
    ((100, 100), (299, 299), (100, 100)),  # Fruits-360 in 07 full: cached at its own size
    ((100, 100), (96, 96), (96, 96)),      # smaller training size: cached at the training size
    ((150, 150), (150, 150), (150, 150)),  # native = training: nothing changes
    ((100, 200), (150, 150), (100, 150)),  # side by side
    (None, (224, 224), (224, 224)),        # sizes vary (Food-5K, odonata, a folder): one size to batch
])
def test_cache_size_is_the_smaller_of_native_and_training_size(native, image_size, expected):
    assert pipeline.cache_size(native, image_size) == expected


def textured_files(folder: Path, n: int = 6, size: tuple[int, int] = (10, 14)) -> list[Path]:
    """Lossless PNGs of random pixels: any resampling difference would show."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    files = []
    for i in range(n):
        path = folder / f"t{i}.png"
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
        files.append(path)
    return files


@pytest.mark.parametrize("shuffle", [False, True])
def test_enlarging_after_the_cache_gives_the_batches_of_a_cache_at_the_training_size(tmp_path, shuffle):
    files = textured_files(tmp_path / "img")
    labels = [0, 1, 2, 0, 1, 2]
    before = make_dataset(files, labels, image_size=(25, 31), batch_size=4, shuffle=shuffle, seed=3)
    after = make_dataset(files, labels, image_size=(25, 31), batch_size=4, shuffle=shuffle, seed=3,
                         cache_size=(10, 14))
    assert after.element_spec[0].shape.as_list() == [None, 25, 31, 3]
    for _ in range(2):  # the second epoch reads the cache
        (x0, y0), (x1, y1) = [tuple(np.concatenate(part) for part in zip(*[(x.numpy(), y.numpy()) for x, y in ds],
                                                                          strict=True)) for ds in (before, after)]
        np.testing.assert_array_equal(x1, x0)  # bit for bit: same resampling, same rounding
        np.testing.assert_array_equal(y1, y0)


def test_the_cache_holds_images_at_the_cache_size(tmp_path):
    """A file cache at the native 10x14 takes about 10*14/(40*56) of one at the 40x56 training size."""
    files = textured_files(tmp_path / "img", n=8)
    labels = [0] * 8
    written = {}
    for name, cache_size in (("native", (10, 14)), ("training", None)):
        prefix = tmp_path / "caches" / name / "c"
        prefix.parent.mkdir(parents=True)
        ds = make_dataset(files, labels, image_size=(40, 56), batch_size=4, cache=str(prefix), cache_size=cache_size)
        assert epoch(ds)[0].shape == (8, 40, 56, 3)
        written[name] = sum(p.stat().st_size for p in prefix.parent.glob("c*.data*"))
    assert written["native"] < 8 * 10 * 14 * 3 * 1.5 < 8 * 40 * 56 * 3 <= written["training"]


def test_a_cache_larger_than_the_batches_is_refused(files):
    with pytest.raises(ValueError, match=r"cache_size \(12, 12\) is larger than image_size \(8, 8\)"):
        make_dataset(files, LABELS, image_size=(8, 8), batch_size=4, cache_size=(12, 12))


def test_choose_cache_names_the_file_after_the_cached_size(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "MEMORY_CACHE_LIMIT", 1000)
    cached = pipeline.cache_size((100, 100), (299, 299))
    path = choose_cache(fake_files(5), cached, tmp_path, "fruits360-train")
    assert "-100x100-" in Path(path).name
    assert pipeline.in_memory(10, (5, 5)) and not pipeline.in_memory(10, (6, 6)), "1000 bytes: 750 fit, 1080 do not"


def test_cache_bytes_counts_the_dtype():
    assert cache_bytes(2, (10, 10), "float32") == 4 * cache_bytes(2, (10, 10)) == 4 * 2 * 10 * 10 * 3


# --------------------------------------------------------------------------------------------------
# resize_in_model: enlarge on the accelerator
# --------------------------------------------------------------------------------------------------


def tiny_model(size: int = 12):
    import keras

    inputs = keras.Input((size, size, 3))
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(keras.layers.Rescaling(1 / 255)(inputs)))
    return keras.Model(inputs, outputs, name="tiny")


def test_resize_in_model_enlarges_the_cached_images_first(tmp_path):
    import keras

    inner = tiny_model(12)
    model = pipeline.resize_in_model(inner, (5, 7))
    assert model.input_shape == (None, 5, 7, 3) and isinstance(model.get_layer("resize"), keras.layers.Resizing)
    x = np.random.default_rng(0).uniform(0, 255, (3, 5, 7, 3)).astype("float32")
    expected = inner(tf.image.resize(x, (12, 12), method="bilinear")).numpy()
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-6, atol=1e-6)
    assert model.count_params() == inner.count_params(), "the resize adds no weight; the weights are shared"
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(again(x).numpy(), model(x).numpy(), rtol=1e-6, atol=1e-6)


def test_resize_in_model_is_the_identity_when_the_sizes_agree():
    import keras

    inner = tiny_model(6)
    model = pipeline.resize_in_model(inner, (6, 6))
    assert isinstance(model.get_layer("resize"), keras.layers.Identity)
    x = np.random.default_rng(1).uniform(0, 255, (2, 6, 6, 3)).astype("float32")
    np.testing.assert_array_equal(model(x).numpy(), inner(x).numpy())


def test_resize_in_model_refuses_to_shrink():
    with pytest.raises(ValueError, match=r"cached_size \(20, 20\) is larger than the model's input \(12, 12\)"):
        pipeline.resize_in_model(tiny_model(12), (20, 20))


# --------------------------------------------------------------------------------------------------
# decode_image on photos as phones and cameras write them (helpers.photos, helpers.datasets.phone_photos)
# --------------------------------------------------------------------------------------------------

PHONE_KINDS = [p for p in phone_photos.PHOTOS if p.kind not in ("HEIC", "12 MP, Orientation=6")]


@pytest.fixture(scope="module")
def phone_folder(tmp_path_factory):
    return phone_photos.make_phone_photos(tmp_path_factory.mktemp("phone"))


@pytest.mark.parametrize("item", PHONE_KINDS, ids=[p.kind for p in PHONE_KINDS])
def test_decode_image_gives_what_a_photo_viewer_shows(phone_folder, item):
    """The model receives the upright scene in sRGB colours, transparency on white, within JPEG's loss.

    Checked against the scene the generator drew (what a colour-managed viewer shows) and the red marker in
    the top-left corner, and every JPEG to the bit against Pillow + ``ImageOps.exif_transpose``.
    tf.io.decode_image got the orientations, the Display P3 colours, the transparent backgrounds and the
    AVIF file wrong, and decoded every JPEG with libjpeg's fast, less exact IDCT.
    """
    path = phone_folder / item.path
    if not path.exists():
        pytest.skip(f"this Pillow cannot write {item.kind}")
    expected = phone_photos.expected_view(item).astype(int)
    image = decode_image(tf.constant(str(path)), item.size).numpy().astype(int)
    assert image.shape == expected.shape
    assert np.abs(image - expected).mean() < 4, item.kind
    assert np.abs(image[1, 1] - expected[1, 1]).max() < 40, f"{item.kind}: the top-left marker"
    if item.format == "JPEG" and item.kind != "Display P3 JPEG":  # and to the bit, as Pillow decodes it
        from PIL import ImageOps

        with Image.open(path) as opened:
            np.testing.assert_array_equal(image, np.asarray(ImageOps.exif_transpose(opened).convert("RGB")))


def test_decode_image_turns_a_12_megapixel_phone_photo_upright(phone_folder):
    item = phone_photos.photo("IMG_0022.JPG")
    image = decode_image(tf.constant(str(phone_folder / item.path)), (400, 300)).numpy().astype(int)
    expected = np.asarray(Image.fromarray(phone_photos.expected_view(item)).resize((300, 400), Image.BILINEAR,
                                                                                    reducing_gap=None), int)
    assert np.abs(image - expected).mean() < 4
    assert np.abs(image[5, 5] - phone_photos.MARKER_RED).max() < 25


@pytest.mark.parametrize("name", ["box/IMG_0020.HEIC", "box/._IMG_0006.JPG"])
def test_an_unreadable_photo_gives_one_message_naming_it_and_the_fix(phone_folder, name):
    """Eagerly a PhotoError; in tf.data the same words in TensorFlow's error (before: "Unknown image file format")."""
    import importlib.util

    from helpers.photos import PhotoError

    if name.endswith("HEIC") and importlib.util.find_spec("pillow_heif") is not None:
        pytest.skip("pillow-heif is installed here: HEIC photos are read")
    path = phone_folder / name
    fix = "pip install pillow-heif" if name.endswith("HEIC") else "save it again as JPEG"
    with pytest.raises(PhotoError, match=re.escape(str(path)) + ".*" + re.escape(fix)):
        decode_image(tf.constant(str(path)), (8, 8))
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(str(path)) + ".*" + re.escape(fix)):
        epoch(make_dataset([path], [0], image_size=(8, 8), batch_size=1))


# --- files that cannot be decoded: which, and a message that names them --------------------------------------


def damaged_inside(folder: Path) -> dict[str, Path]:
    """A PNG with a flipped bit in its pixel data and a JPEG with a broken Huffman table: their first bytes are
    fine (``files.image_problem`` lets both through), decoding fails."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (16, 20, 3), dtype=np.uint8)
    written = {}
    for fmt, name in (("PNG", "flipped.png"), ("JPEG", "bad_table.jpg")):
        Image.fromarray(pixels).save(folder / name, fmt)
        data = bytearray((folder / name).read_bytes())
        if fmt == "PNG":
            data[len(data) // 2] ^= 0x10  # the IDAT chunk's CRC no longer matches
        else:
            table = data.index(b"\xff\xc4")  # the first Huffman table: its 16 code counts, all 255
            data[table + 5:table + 21] = b"\xff" * 16
        (folder / name).write_bytes(bytes(data))
        written[fmt] = folder / name
    return written


@pytest.fixture
def fresh_registry():
    """Forget the datasets other tests made in this process, as a fresh kernel has none."""
    pipeline._RECENT_FILES.clear()
    yield
    pipeline._RECENT_FILES.clear()


def test_undecodable_names_damaged_and_missing_files_and_nothing_else(files, tmp_path):
    bad = damaged_inside(tmp_path / "bad")
    gone = tmp_path / "images" / "deleted.png"
    found = pipeline.undecodable([*files, bad["PNG"], gone, bad["JPEG"], files[0]])
    assert list(found) == [str(bad["PNG"]), str(gone), str(bad["JPEG"])]  # each once, in the order given
    assert found[str(bad["PNG"])] == "Invalid PNG data, size " + str(bad["PNG"].stat().st_size)
    assert "Invalid JPEG data" in found[str(bad["JPEG"])] and "function_node" not in found[str(bad["JPEG"])]
    assert found[str(gone)].startswith("the file is gone")
    assert pipeline.undecodable(files) == {} and pipeline.undecodable([]) == {}


def test_an_epoch_stopped_by_a_damaged_file_is_explained_by_naming_it(files, tmp_path, fresh_registry, capsys):
    bad = damaged_inside(tmp_path / "bad")
    make_dataset(files[:3], LABELS[:3], image_size=(8, 8), batch_size=2)  # an earlier dataset of the notebook
    ds = make_dataset([*files[3:], bad["JPEG"]], [*LABELS[3:], 0], image_size=(8, 8), batch_size=4, shuffle=True)
    with pytest.raises(tf.errors.InvalidArgumentError) as stopped:
        epoch(ds)
    explained = pipeline.unreadable_images_error(stopped.value)
    assert isinstance(explained, pipeline.UnreadableImagesError)
    lines = explained._render_traceback_()  # what IPython shows instead of the traceback
    assert lines[0] == f"1 of the {N_FILES + 1} image files of this notebook's datasets cannot be read:"
    assert lines[1].startswith(f"  {bad['JPEG']}: ") and "Invalid JPEG data" in lines[1]
    assert "damaged inside" in lines[2] and lines[3].startswith("What to do: open them in an image viewer")
    assert "the cell that loads the data" in lines[3] and len(lines) == 4
    assert f"among {N_FILES + 1:,}" in capsys.readouterr().out  # the learner is told why the cell still runs


def test_a_file_deleted_after_loading_is_explained_without_advice_about_damage(files, fresh_registry):
    ds = make_dataset(files, LABELS, image_size=(8, 8), batch_size=4)
    files[4].unlink()
    with pytest.raises(tf.errors.NotFoundError) as stopped:
        epoch(ds)
    lines = pipeline.unreadable_images_error(stopped.value)._render_traceback_()
    assert lines == [f"1 of the {N_FILES} image files of this notebook's datasets cannot be read:",
                     f"  {files[4]}: the file is gone (deleted or moved after its dataset was made)",
                     "What to do: run the notebook again from the cell that loads the data (it lists the files again)."]


def test_other_errors_are_left_to_the_usual_traceback(files, tmp_path, fresh_registry):
    make_dataset(files, LABELS, image_size=(8, 8), batch_size=4)
    with pytest.raises(tf.errors.InvalidArgumentError) as shape_error:
        tf.reshape(tf.zeros(3), (2, 2))
    with pytest.raises(tf.errors.NotFoundError) as eager_read:  # not while a dataset was read
        tf.io.read_file(str(tmp_path / "nothing.png"))
    assert pipeline.unreadable_images_error(shape_error.value) is None
    assert pipeline.unreadable_images_error(eager_read.value) is None
    assert pipeline.unreadable_images_error(ValueError("Invalid PNG data in Iterator")) is None
