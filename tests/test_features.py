from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import features, models

SIZE = 32


@pytest.fixture(scope="module")
def transfer():
    """A small frozen transfer model (random weights, offline) and its backbone."""
    keras.utils.set_random_seed(0)
    return models.transfer_model("MobileNetV2", 2, image_size=SIZE, weights=None)


def images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (n, SIZE, SIZE, 3)).astype("float32")


def test_feature_extractor_is_the_frozen_part_up_to_the_pooling(transfer):
    model, base = transfer
    extractor = features.feature_extractor(model)
    assert extractor.output_shape == (None, base.output_shape[-1])
    model_ids = {id(w) for w in model.weights}
    assert all(id(w) in model_ids for w in extractor.weights), "the extractor must share the model's weights"
    assert features.cache_blockers(extractor) == []
    with pytest.raises(ValueError, match="pool"):
        features.feature_extractor(model, "no_such_layer")


@pytest.mark.parametrize("name, family", [("ResNet50", keras.applications.resnet50),
                                          ("ResNet50V2", keras.applications.resnet_v2)])
def test_transfer_model_and_its_extractor_are_the_keras_recipe_chapter_05_writes_out(name, family):
    """Chapter 05 writes the model with keras.applications (include_top=False, pooling="avg"), the family's own
    preprocess_input and base.trainable = False, then asserts that models.transfer_model is the same model;
    its feature extractor must give the written-out backbone's pooled features. At 64 px both backbones end
    on 2x2 maps, so the pooling is tested too (at 32 px it would see a single position)."""
    size = 64
    base = getattr(keras.applications, name)(include_top=False, weights=None, input_shape=(size, size, 3),
                                             pooling="avg")
    base.trainable = False
    inputs = keras.Input(shape=(size, size, 3))
    x = base(family.preprocess_input(inputs), training=False)
    outputs = keras.layers.Dense(2, activation="softmax", dtype="float32")(keras.layers.Dropout(0.2)(x))
    written = keras.Model(inputs, outputs)
    model, helper_base = models.transfer_model(name, 2, image_size=size, weights=None)
    model.set_weights(written.get_weights())  # the same numbers: both were built with random weights
    x = np.random.default_rng(3).uniform(0, 255, (4, size, size, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(model(x, training=False)), np.asarray(written(x, training=False)),
                               rtol=1e-5, atol=1e-6)
    assert models.count_params(model) == models.count_params(written) and not helper_base.trainable
    pooled = np.asarray(base(family.preprocess_input(x.copy()), training=False))
    assert np.abs(pooled).mean() > 1e-3, "random features of a usable size (MobileNetV2's are about 1e-12)"
    np.testing.assert_allclose(np.asarray(features.feature_extractor(model)(x, training=False)), pooled,
                               rtol=1e-4, atol=1e-4)


def test_extract_features_keeps_labels_paired_on_a_reshuffling_dataset(transfer):
    model, _ = transfer
    extractor = features.feature_extractor(model)
    x = images(10)
    index = np.arange(10, dtype=np.int32)  # the label of each image is its own index
    ds = tf.data.Dataset.from_tensor_slices((x, index))
    splits = {"train": ds.shuffle(10, seed=1, reshuffle_each_iteration=True).batch(4), "val": ds.take(3).batch(2)}
    feats = features.extract_features(extractor, splits)
    train, labels = feats.x["train"], feats.y["train"]
    assert train.shape == (10, extractor.output_shape[-1]) and train.dtype == np.float32
    assert labels.dtype == np.int32 and sorted(labels.tolist()) == list(range(10))
    expected = np.asarray(extractor(x[labels], training=False))
    np.testing.assert_allclose(train, expected, rtol=1e-4, atol=1e-4)
    assert feats.y["val"].tolist() == [0, 1, 2] and feats.dim == extractor.output_shape[-1] and feats.images == 13
    assert set(feats.seconds) == {"train", "val"} and feats.images_per_second > 0
    assert feats.image_size == SIZE and feats.params == models.count_params(extractor)["total"]


def test_extract_features_names_the_empty_split(transfer):
    extractor = features.feature_extractor(transfer[0])
    ds = tf.data.Dataset.from_tensor_slices((images(2), np.zeros(2, np.int32)))
    with pytest.raises(ValueError, match="'val' split is empty"):
        features.extract_features(extractor, {"train": ds.batch(2), "val": ds.take(0).batch(2)})


def test_features_dataset_batches_and_shuffles():
    x = np.arange(20, dtype=np.float64).reshape(10, 2)
    y = np.arange(10)
    feats = features.Features({"train": x}, {"train": y})
    batches = list(feats.dataset("train", 4))
    assert [int(b[0].shape[0]) for b in batches] == [4, 4, 2]
    assert batches[0][0].dtype == tf.float32 and batches[0][1].dtype == tf.int32
    shuffled = feats.dataset("train", 10, shuffle=True, seed=3)
    first, second = (next(iter(shuffled)) for _ in range(2))
    np.testing.assert_array_equal(first[0].numpy()[:, 0] / 2, first[1].numpy())  # rows stay paired
    assert sorted(first[1].numpy().tolist()) == list(range(10))
    assert first[1].numpy().tolist() != second[1].numpy().tolist(), "a new order every epoch"
    with pytest.raises(ValueError, match="labels"):
        features.Features({"train": x}, {"train": y[:3]})


@pytest.mark.parametrize("head_units", [None, 16])
def test_head_model_is_the_transfer_models_head(head_units):
    model, _ = models.transfer_model("MobileNetV2", 3, image_size=SIZE, weights=None, head_units=head_units)
    head = features.head_model(1280, 3, head_units=head_units)
    head_layers = [lyr.name for lyr in head.layers if lyr.weights]
    assert head_layers == [lyr.name for lyr in model.layers if lyr.name in head_layers]
    assert models.count_params(head)["trainable"] == models.count_params(model)["trainable"]
    assert head.output_shape == (None, 3)


def test_a_standardised_head_scales_once_and_trains_only_the_last_layer():
    """Chapter 06's course head: features centred and divided by one common spread measured on the training
    features; a feature constant in training must stay small on a new image (no per-feature blow-up)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    x = (rng.normal(0, 1, (300, 10)) + 3 * np.eye(3)[y] @ rng.normal(0, 1, (3, 10))) * 1e-6  # tiny features
    x[:, -1] = 5e-7  # constant in training
    head = features.head_model(10, 3, standardize=x)
    assert [lyr.name for lyr in head.layers] == ["features", "centre_scale", "head_dropout", "predictions"]
    scaled = np.asarray(head.get_layer("centre_scale")(x.astype("float32")))
    np.testing.assert_allclose(scaled.mean(axis=0), 0, atol=1e-3)
    assert abs(float((scaled**2).mean()) - 1) < 1e-2
    odd = x[:1].copy()
    odd[0, -1] = 1e-6  # the constant feature moves a little on an unseen image: it must stay small
    assert abs(float(np.asarray(head.get_layer("centre_scale")(odd.astype("float32")))[0, -1])) < 10
    assert models.count_params(head)["trainable"] == 10 * 3 + 3
    head.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2), loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    head.fit(x.astype("float32"), y, epochs=30, batch_size=32, verbose=0)
    assert head.evaluate(x.astype("float32"), y, verbose=0)[1] > 0.9
    plain = features.head_model(10, 3, dropout=None)
    assert [lyr.name for lyr in plain.layers] == ["features", "predictions"]


def test_attach_head_gives_the_same_predictions_as_the_transfer_model(transfer, tmp_path):
    model, _ = transfer
    extractor = features.feature_extractor(model)
    head = features.head_model(extractor.output_shape[-1], 2)
    head.get_layer("predictions").set_weights(model.get_layer("predictions").get_weights())
    fast = features.attach_head(extractor, head)
    x = images(3, seed=2)
    expected = np.asarray(model(x, training=False))
    np.testing.assert_allclose(np.asarray(fast(x, training=False)), expected, rtol=1e-5, atol=1e-6)
    # head(features) is the same computation, which is why training the head on cached features works
    np.testing.assert_allclose(np.asarray(head(extractor(x, training=False))), expected, rtol=1e-5, atol=1e-6)
    path = tmp_path / "fast.keras"
    fast.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="expects"):
        features.attach_head(extractor, features.head_model(7, 2))


def test_cache_blockers_name_augmentation_fine_tuning_and_dropout():
    augment = keras.Sequential([keras.layers.RandomFlip("horizontal", name="flip")], name="augment")
    model, base = models.transfer_model("MobileNetV2", 2, image_size=SIZE, weights=None, augmentation=augment)
    blockers = features.cache_blockers(features.feature_extractor(model))
    assert len(blockers) == 1 and "flip" in blockers[0] and "augmentation" in blockers[0]

    model, base = models.transfer_model("MobileNetV2", 2, image_size=SIZE, weights=None)
    base.trainable = True
    blockers = features.cache_blockers(features.feature_extractor(model))
    assert len(blockers) == 1 and "trainable" in blockers[0]

    inputs = keras.Input((4,))
    noisy = keras.Model(inputs, keras.layers.Dense(2, trainable=False)(keras.layers.Dropout(0.5, name="drop")(inputs)))
    blockers = features.cache_blockers(noisy)
    assert len(blockers) == 1 and "drop" in blockers[0]


def test_extracted_features_skip_the_augmentation():
    """Chapter 05, article recipe: extract_features runs in inference mode, where augmentation layers do nothing,
    so the features of a model with augmentation are those of the plain images (what caching trades away)."""
    keras.utils.set_random_seed(0)
    base = keras.Sequential([keras.Input((SIZE, SIZE, 3)), keras.layers.Conv2D(8, 3, activation="relu")], name="base")
    base.trainable = False

    def model_on(x, inputs):
        pooled = keras.layers.GlobalAveragePooling2D(name="pool")(base(x))
        return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(pooled))

    augment = keras.Sequential([keras.layers.RandomFlip("horizontal", seed=0), keras.layers.RandomRotation(0.1, seed=0),
                                keras.layers.RandomZoom(0.1, seed=0)], name="augmentation")
    inputs, plain_inputs = keras.Input((SIZE, SIZE, 3)), keras.Input((SIZE, SIZE, 3))
    augmented, plain = model_on(augment(inputs), inputs), model_on(plain_inputs, plain_inputs)
    ds = tf.data.Dataset.from_tensor_slices((images(6), np.arange(6))).batch(3)
    with_aug = features.extract_features(features.feature_extractor(augmented), {"train": ds}).x["train"]
    without = features.extract_features(features.feature_extractor(plain), {"train": ds}).x["train"]
    assert np.abs(without).mean() > 1, "features of a usable size, so that the comparison means something"
    np.testing.assert_allclose(with_aug, without, rtol=1e-6)
    extractor = features.feature_extractor(augmented)
    trained = np.asarray(extractor(images(6), training=True))  # what fit would see: augmented images
    assert np.abs(trained - without).max() > 1e-2 * np.abs(without).max()


def test_a_head_learns_from_cached_features():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 64).astype(np.int32)
    x = rng.normal(0, 1, (64, 8)).astype(np.float32) + 3 * y[:, None]  # two well separated clusters
    keras.utils.set_random_seed(0)
    head = features.head_model(8, 2, dropout=0.0)
    head.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    timer = features.EpochTimer()
    head.fit(features.Features({"train": x}, {"train": y}).dataset("train", 16, shuffle=True), epochs=8, verbose=0,
             callbacks=[timer], shuffle=False)
    assert head.evaluate(x, y, verbose=0)[1] > 0.95
    assert len(timer.seconds) == 8 and all(s > 0 for s in timer.seconds)
    assert timer.first == timer.seconds[0]
    assert timer.steady() == pytest.approx(float(np.median(timer.seconds[1:])))


def test_epoch_timer_before_and_after_one_epoch():
    timer = features.EpochTimer()
    assert math.isnan(timer.first) and math.isnan(timer.steady())
    timer.on_epoch_begin(0)
    timer.on_epoch_end(0)
    assert timer.steady() == timer.first >= 0
