"""Tests for helpers.zoo: the backbone extractors, the recipe for one backbone, rows, the table and the plot."""

from __future__ import annotations

import json
import math

import keras
import matplotlib
import numpy as np
import pytest
import tensorflow as tf

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from helpers import datasets, evaluation, features, models, training, zoo  # noqa: E402


def row(name="A", val=0.9, val_loss=0.3, test=0.8, params=1_000_000, ips=100.0, in_article=True) -> zoo.ZooRow:
    return zoo.ZooRow(backbone=name, in_article=in_article, image_size=224, preprocess="tf", params=params,
                      feature_dim=16, images=300, extract_seconds=300 / ips, images_per_second=ips,
                      train_images=200, val_images=50, head_epochs=10, head_seconds_per_epoch=0.1,
                      val_accuracy=val, val_loss=val_loss, test_accuracy=test, metrics={"accuracy": test})


def test_registry_names():
    assert len(zoo._ARTICLE_BACKBONES) == 13 and "ResNet101V2" in zoo._ARTICLE_BACKBONES
    assert set(zoo._ARTICLE_BACKBONES) - set(zoo._ARTICLE_TRAINED) == {"NASNetLarge"}
    assert len(zoo._ARTICLE_TRAINED) == 12
    added = tuple(b for b in models.BACKBONES if b not in zoo._ARTICLE_BACKBONES)
    assert added == ("ResNet50", "NASNetMobile", "EfficientNetB0", "EfficientNetV2B0", "ConvNeXtTiny")
    assert len(models.BACKBONES) == 13 + 5
    assert [zoo.article_status(n) for n in ("VGG16", "NASNetLarge", "ConvNeXtTiny")] == [
        "trained", "listed, not trained", "no (course)"]
    assert zoo.input_size("Xception") == 299 and zoo.input_size("NASNetLarge") == 331
    assert zoo.input_size("Xception", 64) == 64
    with pytest.raises(ValueError, match="MobileNetV2"):
        zoo.input_size("AlexNet")


def test_backbone_extractor_is_frozen_and_pooled():
    extractor = zoo.backbone_extractor("MobileNetV2", image_size=32, weights=None)
    assert extractor.input_shape == (None, 32, 32, 3)
    assert extractor.output_shape == (None, 1280)
    counts = models.count_params(extractor)
    assert counts["trainable"] == 0 and counts["total"] > 2_000_000
    assert any(isinstance(layer, models.BackbonePreprocess) for layer in extractor.layers)
    article = zoo.backbone_extractor("MobileNetV2", image_size=32, weights=None, preprocess="divide_255")
    scale = article.get_layer("preprocess")
    assert isinstance(scale, keras.layers.Rescaling) and scale.scale == pytest.approx(1 / 255)
    assert not any(isinstance(layer, models.BackbonePreprocess) for layer in article.layers)
    assert article.output_shape == (None, 1280) and models.count_params(article)["trainable"] == 0
    assert zoo.preprocess_mode("MobileNetV2") == "tf" and zoo.preprocess_mode("VGG16", "divide_255") == "divide_255"
    with pytest.raises(ValueError, match="divide_255"):
        zoo.backbone_extractor("MobileNetV2", image_size=32, weights=None, preprocess="scale")
    zoo.free_memory()


def test_free_memory_keeps_the_dtype_policy_and_the_default_strategy():
    """Issue #13: keras.backend.clear_session() resets both; free_memory must put back what set-up chose."""
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    keras.mixed_precision.set_global_policy("mixed_float16")
    tf.distribute.experimental_set_strategy(strategy)
    try:
        keras.backend.clear_session()  # the Keras behaviour behind the bug: both settings are gone
        assert keras.mixed_precision.global_policy().name == "float32" and not tf.distribute.has_strategy()
        keras.mixed_precision.set_global_policy("mixed_float16")
        tf.distribute.experimental_set_strategy(strategy)
        zoo.free_memory()
        assert keras.mixed_precision.global_policy().name == "mixed_float16"
        assert tf.distribute.get_strategy() is strategy
    finally:
        tf.distribute.experimental_set_strategy(None)
        keras.mixed_precision.set_global_policy("float32")


def test_nasnetlarge_accepts_other_input_sizes_without_its_top():
    """The article skipped NASNetLarge for its 331x331 input; only include_top=True requires that size."""
    from keras.src.applications import imagenet_utils  # the check every keras.applications constructor runs

    shape = {"default_size": 331, "min_size": 32, "data_format": "channels_last", "weights": "imagenet"}
    assert imagenet_utils.obtain_input_shape((150, 150, 3), require_flatten=False, **shape) == (150, 150, 3)
    with pytest.raises(ValueError, match="331"):
        imagenet_utils.obtain_input_shape((150, 150, 3), require_flatten=True, **shape)


def test_heads():
    x = np.random.default_rng(0).normal(size=(20, 7)).astype("float32")
    dense = zoo._new_head("dense", x, 3)
    assert [type(layer).__name__ for layer in dense.layers] == ["InputLayer", "Dense"]
    assert models.count_params(dense)["trainable"] == 7 * 3 + 3
    course = zoo._new_head("course", x, 3)
    assert [layer.name for layer in course.layers] == ["features", "centre_scale", "head_dropout", "predictions"]
    with pytest.raises(ValueError, match="course"):
        zoo._new_head("mlp", x, 3)


def test_extraction_splits_read_files_in_order_at_the_requested_size(tmp_path):
    root = datasets.make_sample("intel", tmp_path / "intel", images_per_class=3)
    data = datasets.load("intel", root, image_size=(20, 20), batch_size=4, seed=0, cache=False)
    splits = zoo.extraction_splits(data, 16, batch_size=5)
    for split, ds in splits.items():
        images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in ds], strict=True)
        assert np.concatenate(images).shape[1:] == (16, 16, 3)
        assert list(np.concatenate(labels)) == list(data.labels[split])


def test_make_row_reads_the_best_epoch():
    feats = features.Features({"train": np.zeros((8, 4)), "val": np.zeros((2, 4)), "test": np.zeros((3, 4))},
                         {"train": np.zeros(8), "val": np.zeros(2), "test": np.zeros(3)},
                         {"train": 1.0, "val": 0.5, "test": 0.5}, image_size=96, params=1234)
    history = keras.callbacks.History()
    history.history = {"val_loss": [0.9, 0.4, 0.6], "val_accuracy": [0.5, 0.8, 0.9], "loss": [1, 0.5, 0.3]}
    r = zoo.make_row("ResNet101V2", feats, history, {"accuracy": 0.75}, seconds=0.3)
    assert (r.val_accuracy, r.val_loss, r.head_epochs) == (0.8, 0.4, 3)
    assert r.dtype_policy == "float32" and r.test_probabilities is None
    last = zoo.make_row("ResNet101V2", feats, history, {"accuracy": 0.75}, seconds=0.3,
                        preprocess="divide_255", restored=False, dtype_policy="mixed_float16")
    assert (last.val_accuracy, last.val_loss, last.preprocess, last.dtype_policy) == (0.9, 0.6, "divide_255",
                                                                                     "mixed_float16")
    assert r.in_article and r.preprocess == "tf" and r.image_size == 96 and r.params == 1234
    assert r.images == 13 and r.images_per_second == pytest.approx(6.5)
    assert r.head_seconds_per_epoch == pytest.approx(0.1) and r.test_accuracy == 0.75
    json.dumps(r.as_dict())
    assert not zoo.make_row("ConvNeXtTiny", feats, history, {"accuracy": 0.7}, seconds=0.3).in_article


def test_rows_keep_the_test_probabilities_for_the_gallery_but_not_in_the_results_file():
    """Chapter 06 shows the winner's most confidently wrong test images from its row's probabilities."""
    feats = features.Features({"train": np.zeros((4, 2)), "val": np.zeros((2, 2)), "test": np.zeros((3, 2))},
                         {"train": np.zeros(4), "val": np.zeros(2), "test": np.zeros(3)}, {"train": 1.0})
    history = keras.callbacks.History()
    history.history = {"val_loss": [0.5], "val_accuracy": [0.5], "loss": [0.7]}
    probabilities = [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]
    r = zoo.make_row("VGG16", feats, history, {"accuracy": 2 / 3}, seconds=0.1, test_probabilities=probabilities)
    np.testing.assert_array_equal(r.test_probabilities, probabilities)
    as_dict = r.as_dict()
    assert "test_probabilities" not in as_dict and as_dict["backbone"] == "VGG16"
    json.dumps(as_dict)
    assert "test_probabilities" not in repr(r)


def test_cost_estimates():
    r = row(ips=100.0)  # 200 train, 50 val, 50 test images; 3 s extraction; 10 epochs of 0.1 s
    assert r.uncached_seconds() == pytest.approx(10 * 250 / 100 + 50 / 100)
    assert r.cached_seconds() == pytest.approx(3 + 10 * 0.1)
    assert r.uncached_seconds(1) == pytest.approx(3.0)


def test_run_backbone_on_the_sample(tmp_path):
    root = datasets.make_sample("intel", tmp_path / "intel", images_per_class=6)
    data = datasets.load("intel", root, image_size=(32, 32), batch_size=8, seed=0, cache=False)
    keras.mixed_precision.set_global_policy("mixed_float16")  # what runtime.setup chooses on a T4 or newer
    try:
        r = zoo.run_backbone("MobileNetV2", data, image_size=32, weights=None, epochs=2, batch_size=16, seed=1)
        assert keras.mixed_precision.global_policy().name == "mixed_float16"
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert r.dtype_policy == "mixed_float16"  # backbone and head alike (not "backbone ..., head float32")
    assert r.backbone == "MobileNetV2" and r.image_size == 32 and r.feature_dim == 1280
    assert r.params == 2_257_984 and r.preprocess == "tf" and r.in_article  # headless MobileNetV2, any input size
    assert r.train_images == len(data.files["train"]) and r.images == sum(len(f) for f in data.files.values())
    assert 1 <= r.head_epochs <= 2 and 0 <= r.test_accuracy <= 1 and "accuracy" in r.metrics
    assert r.extract_seconds > 0 and r.images_per_second > 0
    assert r.test_probabilities.shape == (len(data.files["test"]), data.num_classes)
    right = np.mean(r.test_probabilities.argmax(1) == np.asarray(data.labels["test"]))
    assert r.test_accuracy == pytest.approx(right, abs=1e-4)  # metrics are rounded to 4 decimals
    zoo.free_memory()


def small_extractor(name, *, image_size=None, weights=None, preprocess="family") -> keras.Model:
    """A stand-in for zoo.backbone_extractor: a tiny frozen random convolution, pooled (built in a blink)."""
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = keras.layers.Rescaling(1 / 255, name="preprocess")(inputs)
    x = keras.layers.Conv2D(8, 3, activation="relu", name="conv")(x)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D(name="pool")(x), name=f"{name}_features")
    model.trainable = False
    return model


def test_run_backbone_equals_the_steps_chapter_06_writes_out(tmp_path, monkeypatch):
    """Chapter 06 trains its first backbone by hand (seed, extractor, predict per split, head, fit), then checks
    that run_backbone gives the same row; on a CPU with the same seed it must, to the last rounded digit."""
    monkeypatch.setattr(zoo, "backbone_extractor", small_extractor)
    root = datasets.make_sample("intel", tmp_path / "intel", images_per_class=6)
    data = datasets.load("intel", root, image_size=(32, 32), batch_size=8, seed=0, cache=False)
    settings = dict(image_size=32, weights=None, epochs=3, batch_size=16, learning_rate=1e-2, patience=3,
                    restore_best_weights=True, preprocess="divide_255", head="course", seed=1)
    keras.utils.set_random_seed(1)
    extractor = zoo.backbone_extractor("MobileNetV2", image_size=32, weights=None, preprocess="divide_255")
    splits = zoo.extraction_splits(data, 32, 16)
    x = {split: extractor.predict(ds, verbose=0).astype("float32") for split, ds in splits.items()}
    y = {split: np.asarray(data.labels[split], dtype="int32") for split in splits}
    feats = features.Features(x, y, {split: 1.0 for split in splits}, image_size=32, params=0)
    mean = x["train"].mean(axis=0, dtype="float64")
    spread = ((x["train"] - mean) ** 2).mean()
    head = keras.Sequential([
        keras.Input(shape=(feats.dim,), name="features"),
        keras.layers.Normalization(mean=mean, variance=np.full_like(mean, spread), name="centre_scale"),
        keras.layers.Dropout(0.2, name="head_dropout"),
        keras.layers.Dense(data.num_classes, activation="softmax", dtype="float32", name="predictions"),
    ], name="head")
    head.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2), loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    timer = training.Timer()
    history = head.fit(feats.dataset("train", 16, shuffle=True, seed=1), validation_data=feats.dataset("val", 16),
                       epochs=3, callbacks=[keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True),
                                            timer], shuffle=False, verbose=0)
    y_prob = head.predict(x["test"], verbose=0)
    ours = zoo.make_row("MobileNetV2", feats, history, evaluation.classification_metrics(y["test"], y_prob),
                        seconds=timer.seconds, preprocess="divide_255", test_probabilities=y_prob)
    del extractor, head
    zoo.free_memory()
    helper = zoo.run_backbone("MobileNetV2", data, **settings)
    for name in ("head_epochs", "val_accuracy", "val_loss", "test_accuracy", "feature_dim", "preprocess"):
        assert getattr(ours, name) == getattr(helper, name), name
    np.testing.assert_allclose(ours.test_probabilities, helper.test_probabilities, rtol=1e-5, atol=1e-6)
    zoo.free_memory()


def test_best_row_is_chosen_on_validation_not_test():
    rows = [row("A", val=0.90, test=0.95), row("B", val=0.92, test=0.85), row("C", val=0.92, val_loss=0.1, test=0.8)]
    assert zoo.best_row(rows).backbone == "C"
    with pytest.raises(ValueError):
        zoo.best_row([])


def test_zoo_table():
    table = zoo.zoo_table([row("VGG16", val=0.8), row("B", val=0.9, in_article=False, params=25_600_000)])
    assert list(table["backbone"]) == ["B", "VGG16"]
    assert list(table["in the article"]) == ["no (course)", "trained"]
    assert table.loc[0, "params (M)"] == 25.6
    for column in ("images/s", "extract s", "head s/epoch", "dtype policy", "val accuracy", "test accuracy"):
        assert column in table.columns


def test_accuracy_standard_error():
    assert zoo.accuracy_standard_error(0.9, 3000) == pytest.approx(math.sqrt(0.09 / 3000))
    assert zoo.accuracy_standard_error(1.0, 48) == 0
    with pytest.raises(ValueError):
        zoo.accuracy_standard_error(0.5, 0)


def test_plot_zoo_labels_every_backbone():
    rows = [row("VGG16", params=2e6, ips=900, val=0.7), row("DenseNet121", params=40e6, ips=150),
            row("C", params=5e6, in_article=False)]
    fig = zoo.plot_zoo(rows, reference=0.9033, reference_label="article", title="Zoo")
    assert isinstance(fig, Figure) and fig._suptitle.get_text() == "Zoo"
    left, right = fig.axes
    for ax in (left, right):
        assert ax.get_xscale() == "log"
        assert sorted(t.get_text() for t in ax.texts) == ["C", "DenseNet121", "VGG16"]
        assert sorted(float(y) for c in ax.collections for _, y in c.get_offsets()) == pytest.approx([70, 90, 90])
        assert any(line.get_linestyle() == "--" and line.get_ydata()[0] == pytest.approx(90.33)
                   for line in ax.get_lines())
        assert len(ax.collections) == 2  # article and added backbones
    assert "parameters" in left.get_xlabel() and "per image" in right.get_xlabel()
    assert left.get_ylabel() == "validation accuracy (%)"
    assert [t.get_text() for t in left.get_legend().get_texts()] == [
        "trained in the article", "not trained in the article", "article"]
    assert zoo.plot_zoo(rows, metric="test_accuracy").axes[0].get_ylabel() == "test accuracy (%)"
    with pytest.raises(ValueError):
        zoo.plot_zoo([])
    with pytest.raises(ValueError):
        zoo.plot_zoo(rows, metric="loss")
