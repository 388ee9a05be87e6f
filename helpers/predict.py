"""Predict the class of one image, given as a file path or a URL.

    label, probability = predict.predict_image(model, "photo.jpg", class_names, image_size=224)
    label, probability = predict.predict_image(model, "https://example.org/pizza.jpg", class_names, 224)

The image goes through exactly the same decoding and resizing as the training images
(:func:`helpers.pipeline.decode_image`), so the model sees what it was trained on, and what a photo
viewer shows: a phone photo stored sideways is turned upright, a Display P3 photo is converted to sRGB,
a transparent background becomes white (:mod:`helpers.photos`). URLs are
downloaded with a timeout into a temporary file that is deleted afterwards; any failure (no
network, a bad address, an HTTP error, something that is not an image) raises one clear error.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import tensorflow as tf

from .datasets.fetch import USER_AGENT  # image hosts (Wikimedia) refuse requests without one
from .pipeline import decode_image

#: Largest download accepted, in bytes: a photo is a few MB; anything bigger is not what you meant.
_MAX_BYTES = 50 * 1024**2


class ImageDownloadError(OSError):
    """An image URL could not be downloaded (no network, bad address, HTTP error, timeout, too large).

    Raised by :func:`predict_image`; chapter 05 catches it to carry on offline.
    """


def _is_url(path_or_url: str | os.PathLike) -> bool:
    """True for ``http://`` and ``https://`` addresses, False for file paths.

    Chapter 05 teaches it; chapter 09 reuses it.
    """
    return urlparse(str(path_or_url)).scheme.lower() in ("http", "https")


def _download_image(url: str, dest: str | os.PathLike, *, timeout: float = 10.0, max_bytes: int = _MAX_BYTES) -> Path:
    """Download ``url`` into the file ``dest``; return ``dest``.

    Raises:
        ImageDownloadError: with the URL and the reason (connection failed, timeout, HTTP status,
            more than ``max_bytes``) and what to do about it.
    Chapter 05 teaches it; chapter 09 reuses it.
    """
    import requests

    advice = "Check the address and your network connection, or download the image yourself and pass its path."
    try:
        with requests.get(url, stream=True, timeout=timeout, headers={"User-Agent": USER_AGENT}) as response:
            if response.status_code >= 400:
                raise ImageDownloadError(
                    f"Could not download {url}: the server answered HTTP {response.status_code} "
                    f"{response.reason or ''}".rstrip() + f". {advice}")
            size = 0
            with open(dest, "wb") as f:
                for chunk in response.iter_content(chunk_size=64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise ImageDownloadError(
                            f"Could not download {url}: it is larger than {max_bytes / 1024**2:.0f} MB, "
                            "which is not a photo. Pass the address of the image file itself.")
                    f.write(chunk)
    except requests.Timeout as err:
        raise ImageDownloadError(f"Could not download {url}: no answer within {timeout:g} s. {advice}") from err
    except requests.ConnectionError as err:
        raise ImageDownloadError(
            f"Could not download {url}: no connection to the server (no network, or a wrong address). "
            f"{advice}") from err
    except requests.RequestException as err:
        raise ImageDownloadError(f"Could not download {url}: {type(err).__name__}: {err}. {advice}") from err
    return Path(dest)


def _load_image(path: str | os.PathLike, image_size: int | Sequence[int]) -> np.ndarray:
    """Decode one image file as the training pipeline does: RGB, resized, float32 in [0, 255], ``(h, w, 3)``.

    Raises:
        FileNotFoundError: the file does not exist.
        helpers.photos.PhotoError: (a ``ValueError``) neither TensorFlow nor Pillow can read the file; the
            message names it and says what to do (a HEIC photo: install pillow-heif).
        ValueError: the file is damaged inside (TensorFlow's decoder stopped).
    Chapter 05 teaches it; chapter 09 reuses it.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"No image file at {path}.")
    size = _size(image_size)
    try:
        image = decode_image(tf.constant(str(path)), size)
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as err:
        raise ValueError(f"{path.name} is not an image that can be decoded: {err.message.splitlines()[0]}. "
                         "Open it in an image viewer to check it, and save it again as JPEG.") from err
    return image.numpy().astype(np.float32)


def predict_image(model, path_or_url: str | os.PathLike, class_names: Sequence[str],
                  image_size: int | Sequence[int], *, timeout: float = 10.0) -> tuple[str, float]:
    """Classify one image from a file path or an ``http(s)`` URL; return ``(class name, probability)``.

    Args:
        model: A Keras model taking float32 images in [0, 255] (every course model does) and
            returning class probabilities (softmax, or one sigmoid unit for class 1).
        path_or_url: A local file or an ``http://``/``https://`` address of an image.
        class_names: Class names in label order.
        image_size: The model's input size: an int for square images, or ``(height, width)``.
        timeout: Seconds to wait for the server (URLs only).

    Raises:
        ImageDownloadError: the URL could not be downloaded (the message says why).
        FileNotFoundError: a local path that does not exist.
        ValueError: the file is not a decodable image (:class:`helpers.photos.PhotoError` names it and the
            fix), or the model's outputs do not match ``class_names``.
    Chapter 05 teaches it; chapter 09 reuses it.
    """
    if _is_url(path_or_url):
        url = str(path_or_url)
        suffix = Path(urlparse(url).path).suffix[:8] or ".img"
        handle, tmp = tempfile.mkstemp(suffix=suffix, prefix="cnn-course-")
        os.close(handle)
        try:
            _download_image(url, tmp, timeout=timeout)
            image = _load_image(tmp, image_size)
        finally:
            Path(tmp).unlink(missing_ok=True)
    else:
        image = _load_image(path_or_url, image_size)
    probs = np.asarray(model(image[None], training=False), dtype=np.float64).reshape(-1)
    if probs.size == 1:  # a single sigmoid unit: probability of class 1
        probs = np.array([1.0 - probs[0], probs[0]])
    if probs.size != len(class_names):
        raise ValueError(f"The model gives {probs.size} probabilities but there are {len(class_names)} class names.")
    best = int(probs.argmax())
    return class_names[best], float(probs[best])


def _size(image_size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(image_size, int):
        return (image_size, image_size)
    height, width = image_size
    return (int(height), int(width))
