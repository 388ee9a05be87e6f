from __future__ import annotations

import io
import socket
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image
from werkzeug import Response

from helpers import predict

CLASSES = ["blue", "red"]


@pytest.fixture(scope="module")
def model():
    """Average colour -> softmax: class 1 ("red") when red outweighs blue, class 0 ("blue") otherwise."""
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    dense = keras.layers.Dense(2, activation="softmax")
    outputs = dense(x)
    w = np.array([[-0.05, 0.05], [0.0, 0.0], [0.05, -0.05]], dtype="float32")
    dense.set_weights([w, np.zeros(2, "float32")])
    return keras.Model(inputs, outputs)


def image_bytes(colour: tuple[int, int, int], fmt: str = "JPEG", size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def red_file(tmp_path) -> Path:
    path = tmp_path / "red.jpg"
    path.write_bytes(image_bytes((230, 20, 20)))
    return path


@pytest.fixture
def clean_tmp(tmp_path, monkeypatch) -> Path:
    """A private temporary folder, to check that downloads leave nothing behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(predict.tempfile, "tempdir", str(folder))
    return folder


def test_is_url():
    assert predict._is_url("https://example.org/a.jpg") and predict._is_url("HTTP://example.org/a.jpg")
    assert not predict._is_url("/data/a.jpg") and not predict._is_url(Path("a.jpg"))
    assert not predict._is_url("C:\\photos\\a.jpg")


def test_predict_from_a_path(model, red_file, tmp_path):
    label, p = predict.predict_image(model, red_file, CLASSES, image_size=8)
    assert label == "red" and 0.9 < p <= 1.0
    expected = np.asarray(model.predict(predict._load_image(red_file, 8)[None], verbose=0))[0]
    assert p == pytest.approx(float(expected.max()), rel=1e-5)
    blue = tmp_path / "blue.png"
    blue.write_bytes(image_bytes((10, 20, 240), fmt="PNG"))
    assert predict.predict_image(model, str(blue), CLASSES, image_size=(8, 8))[0] == "blue"


def test_load_image_decodes_like_the_training_pipeline(red_file):
    from helpers.pipeline import decode_image

    image = predict._load_image(red_file, (6, 10))
    assert image.shape == (6, 10, 3) and image.dtype == np.float32 and 0 <= image.min() <= image.max() <= 255
    np.testing.assert_array_equal(image, decode_image(str(red_file), (6, 10)).numpy().astype("float32"))


def test_clear_errors_for_missing_and_non_image_files(model, tmp_path):
    with pytest.raises(FileNotFoundError, match="No image file"):
        predict.predict_image(model, tmp_path / "missing.jpg", CLASSES, 8)
    text = tmp_path / "notes.jpg"
    text.write_text("this is not an image")
    with pytest.raises(ValueError, match="not an image"):
        predict.predict_image(model, text, CLASSES, 8)
    with pytest.raises(ValueError, match="class names"):
        red = tmp_path / "red.png"
        red.write_bytes(image_bytes((255, 0, 0), fmt="PNG"))
        predict.predict_image(model, red, ["only one"], 8)


def test_predict_from_a_url(model, httpserver, red_file, clean_tmp):
    httpserver.expect_request("/photos/red.jpg").respond_with_data(red_file.read_bytes(), content_type="image/jpeg")
    label, p = predict.predict_image(model, httpserver.url_for("/photos/red.jpg"), CLASSES, 8)
    assert (label, p) == predict.predict_image(model, red_file, CLASSES, 8)
    assert list(clean_tmp.iterdir()) == [], "the downloaded file must be deleted"
    assert "cnn-course" in httpserver.log[0][0].headers["User-Agent"]


def test_http_error_is_clear_and_leaves_no_file(model, httpserver, clean_tmp):
    httpserver.expect_request("/gone.jpg").respond_with_data("not here", status=404)
    url = httpserver.url_for("/gone.jpg")
    with pytest.raises(predict.ImageDownloadError, match="HTTP 404") as err:
        predict.predict_image(model, url, CLASSES, 8)
    assert url in str(err.value) and "pass its path" in str(err.value)
    assert list(clean_tmp.iterdir()) == []


def test_a_url_that_is_not_an_image(model, httpserver, clean_tmp):
    httpserver.expect_request("/page.html").respond_with_data("<html>hello</html>", content_type="text/html")
    with pytest.raises(ValueError, match="not an image"):
        predict.predict_image(model, httpserver.url_for("/page.html"), CLASSES, 8)
    assert list(clean_tmp.iterdir()) == []


def test_no_server_no_network(model, clean_tmp):
    with socket.socket() as s:  # a port nobody listens on once the socket is closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/pizza.jpg"
    with pytest.raises(predict.ImageDownloadError, match="no connection") as err:
        predict.predict_image(model, url, CLASSES, 8, timeout=2)
    assert url in str(err.value)
    assert list(clean_tmp.iterdir()) == []


def test_a_stalled_server_times_out(model, httpserver, red_file):
    def slow(_request):
        time.sleep(2.0)
        return Response(red_file.read_bytes(), content_type="image/jpeg")

    httpserver.expect_request("/slow.jpg").respond_with_handler(slow)
    start = time.perf_counter()
    with pytest.raises(predict.ImageDownloadError, match="no answer within 0.2 s"):
        predict.predict_image(model, httpserver.url_for("/slow.jpg"), CLASSES, 8, timeout=0.2)
    assert time.perf_counter() - start < 1.8, "it must give up long before the server answers"


def test_download_refuses_huge_files(httpserver, tmp_path):
    httpserver.expect_request("/big.jpg").respond_with_data(b"x" * 5000)
    with pytest.raises(predict.ImageDownloadError, match="larger than"):
        predict._download_image(httpserver.url_for("/big.jpg"), tmp_path / "big.jpg", max_bytes=1000)
    assert predict._download_image(httpserver.url_for("/big.jpg"), tmp_path / "ok.jpg").stat().st_size == 5000


def test_a_sigmoid_model_is_read_as_the_probability_of_class_1(red_file):
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    dense = keras.layers.Dense(1, activation="sigmoid")
    outputs = dense(x)
    dense.set_weights([np.array([[0.05], [0.0], [-0.05]], "float32"), np.zeros(1, "float32")])
    label, p = predict.predict_image(keras.Model(inputs, outputs), red_file, CLASSES, 8)
    assert label == "red" and p > 0.9


# --------------------------------------------------------------------------------------------------
# Photos as phones write them: predicted as the training pipeline saw them, and as a viewer shows them
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def phone_folder(tmp_path_factory):
    from helpers.datasets import phone_photos

    return phone_photos.make_phone_photos(tmp_path_factory.mktemp("phone"))


@pytest.mark.parametrize("name", ["box/IMG_0006.JPG", "box/IMG_0013.JPG", "box/cutout_0018.Png"])
def test_a_phone_photo_reaches_the_model_as_a_viewer_shows_it(phone_folder, name):
    """Sideways (Orientation=6), Display P3, transparent: load_image gives the upright sRGB scene on white."""
    from helpers.datasets import phone_photos
    from helpers.pipeline import decode_image

    item = phone_photos.photo(name)
    image = predict._load_image(phone_folder / name, item.size)
    np.testing.assert_array_equal(image, decode_image(str(phone_folder / name), item.size).numpy())  # as trained
    assert np.abs(image - phone_photos.expected_view(item)).mean() < 4


def test_a_heic_photo_without_pillow_heif_says_what_to_do(model, phone_folder):
    import importlib.util

    from helpers.photos import PhotoError

    if importlib.util.find_spec("pillow_heif") is not None:
        pytest.skip("pillow-heif is installed here: HEIC photos are read")
    with pytest.raises(PhotoError, match=r"IMG_0020\.HEIC is a HEIC photo.*pip install pillow-heif"):
        predict.predict_image(model, phone_folder / "box" / "IMG_0020.HEIC", CLASSES, 8)
