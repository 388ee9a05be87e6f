from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers import models

# The module whose preprocess_input each registry mode must reproduce.
REFERENCE = {"caffe": "resnet50", "tf": "mobilenet_v2", "torch": "densenet", "none": "efficientnet"}
FAMILY = {  # constructor -> keras.applications module holding its preprocess_input
    "MobileNetV2": "mobilenet_v2", "ResNet50": "resnet50", "ResNet50V2": "resnet_v2", "ResNet101V2": "resnet_v2",
    "ResNet152V2": "resnet_v2", "VGG16": "vgg16", "VGG19": "vgg19", "Xception": "xception",
    "InceptionV3": "inception_v3", "InceptionResNetV2": "inception_resnet_v2", "NASNetMobile": "nasnet",
    "NASNetLarge": "nasnet", "DenseNet121": "densenet", "DenseNet169": "densenet", "DenseNet201": "densenet",
    "EfficientNetB0": "efficientnet", "EfficientNetV2B0": "efficientnet_v2", "ConvNeXtTiny": "convnext",
}


def images(n=2, size=8, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")


@pytest.mark.parametrize("mode", sorted(REFERENCE))
def test_preprocess_layer_matches_keras_applications(mode):
    x = images()
    expected = getattr(keras.applications, REFERENCE[mode]).preprocess_input(x.copy())
    got = models.BackbonePreprocess(mode)(x)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("name", sorted(models.BACKBONES))
def test_every_backbone_uses_its_familys_preprocessing(name):
    spec = models.BACKBONES[name]
    x = images(1, 4, seed=1)
    expected = getattr(keras.applications, FAMILY[spec.constructor]).preprocess_input(x.copy())
    np.testing.assert_allclose(np.asarray(models.BackbonePreprocess(spec.preprocess)(x)), expected,
                               rtol=1e-5, atol=1e-4)
    assert hasattr(keras.applications, spec.constructor)


def test_unknown_backbone_lists_choices():
    with pytest.raises(ValueError, match="MobileNetV2"):
        models.backbone("AlexNet")
    with pytest.raises(ValueError):
        models.BackbonePreprocess("caffé")


def test_scratch_cnn_structure():
    model = models.scratch_cnn((32, 32, 3), 6, filters=(8, 16), dense=(32,))
    assert model.output_shape == (None, 6)
    assert [layer.name for layer in model.layers if "conv" in layer.name] == ["block1_conv1", "block2_conv1"]
    vgg = models.scratch_cnn((32, 32, 3), 2, filters=(8, 16), convs_per_block=2, dense=(16, 16))
    assert sum("conv" in layer.name for layer in vgg.layers) == 4
    probs = model.predict(images(3, 32), verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    counts = models.count_params(model)
    assert counts["total"] == model.count_params() and counts["non_trainable"] == 0


@pytest.fixture(scope="module")
def tiny_transfer():
    return models.transfer_model("MobileNetV2", 3, image_size=32, weights=None, head_units=8)


def test_transfer_model_is_frozen_and_takes_0_255_images(tiny_transfer):
    model, base = tiny_transfer
    assert not base.trainable
    assert model.get_layer("preprocess").mode == "tf"
    counts = models.count_params(model)
    assert counts["trainable"] == (1280 * 8 + 8) + (8 * 3 + 3)
    assert model.output_shape == (None, 3)


def test_saved_model_loads_in_safe_mode_with_identical_predictions(tiny_transfer, tmp_path):
    model, _ = tiny_transfer
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = images(2, 32)
    np.testing.assert_allclose(model.predict(x, verbose=0), loaded.predict(x, verbose=0), rtol=1e-6)
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in loaded.layers)


def test_weights_can_come_from_a_file(tmp_path):
    """The route notebooks use for weights="imagenet", exercised offline with a weights file."""
    base = models.backbone("MobileNetV2").build((32, 32, 3), None)
    path = tmp_path / "mobilenet_v2_notop.weights.h5"
    base.save_weights(path)
    _, loaded_base = models.transfer_model("MobileNetV2", 2, image_size=32, weights=path)
    for a, b in zip(base.weights, loaded_base.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_intel_article_cnn_is_the_articles_network():
    """Three valid Conv2D(32, 3), dropout 0.5 and 0.3 after the first two blocks only, Dense(128)."""
    model = models.intel_article_cnn((150, 150, 3), 6)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.kernel_size, c.padding) for c in convs] == [(32, (3, 3), "valid")] * 3
    drops = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert drops == [0.5, 0.3]
    assert model.get_layer("flatten").output.shape[-1] == 17 * 17 * 32
    assert model.output_shape == (None, 6)


def test_all_layers_walks_nested_models_parents_first():
    """cache_blockers (chapter 05) and batchnorm_layers (chapters 07-09) must see inside a nested backbone."""
    inner = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization(name="inner_bn")], name="inner")
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1, name="top")(inner(inputs)))
    names = [layer.name for layer in models.all_layers(model)]
    assert "inner_bn" in names and "top" in names
    assert names.index("inner") < names.index("inner_bn")
