from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from helpers import explain, models

H, W = 16, 32  # synthetic images: a left half and a right half of 16 x 16 pixels each


def bars(left: str | None, right: str | None, value: float = 255.0) -> np.ndarray:
    """A black (H, W, 3) image with a vertical ('v') or horizontal ('h') bar in each half (or none)."""
    image = np.zeros((H, W, 3), dtype="float32")
    for half, kind in ((0, left), (1, right)):
        c = half * W // 2 + W // 4
        if kind == "v":
            image[4:12, c] = value
        elif kind == "h":
            image[H // 2, c - 4:c + 4] = value
    return image


def bar_detector_model(head_activation: str = "softmax") -> keras.Model:
    """Hand-set weights: filter 0 detects vertical bars, filter 1 horizontal ones; class 1 = 'more vertical'.

    Its class evidence is where the bars are, so Grad-CAM must point at the vertical bar for class 1 and at
    the horizontal bar for class 0, even in one image that holds both.
    """
    inputs = keras.Input((H, W, 3))
    x = layers.Conv2D(2, 3, padding="same", activation="relu", name="conv")(inputs)
    x = layers.GlobalAveragePooling2D()(x)
    units = 1 if head_activation == "sigmoid" else 2
    outputs = layers.Dense(units, activation=head_activation, name="predictions")(x)
    model = keras.Model(inputs, outputs)
    profile = np.array([-1.0, 2.0, -1.0], dtype="float32")
    vertical = np.tile(profile[None, :], (3, 1))  # the same column profile in every row
    kernel = np.zeros((3, 3, 3, 2), dtype="float32")
    kernel[..., 0] = vertical[..., None] / 3
    kernel[..., 1] = vertical.T[..., None] / 3
    model.get_layer("conv").set_weights([kernel, np.zeros(2, "float32")])
    dense = np.array([[-1.0, 1.0], [1.0, -1.0]], dtype="float32")
    if units == 1:
        dense = dense[:, 1:]
    model.get_layer("predictions").set_weights([dense / 10, np.zeros(units, "float32")])
    return model


def halves(heat: np.ndarray) -> tuple[float, float]:
    return float(heat[:, : W // 2].mean()), float(heat[:, W // 2:].mean())


def test_grayscale_layer_matches_tensorflow_and_keeps_the_range():
    x = np.random.default_rng(0).uniform(0, 255, (2, 5, 4, 3)).astype("float32")
    got = np.asarray(explain.Grayscale()(x))
    assert got.shape == (2, 5, 4, 1)
    np.testing.assert_allclose(got, tf.image.rgb_to_grayscale(x).numpy(), rtol=1e-4, atol=1e-3)
    white = np.full((1, 1, 1, 3), 255.0, "float32")
    assert float(np.asarray(explain.Grayscale()(white))[0, 0, 0, 0]) == pytest.approx(255.0, abs=0.05)


def test_grayscale_model_saves_and_loads_in_safe_mode(tmp_path):
    model = models.scratch_cnn((24, 24, 3), 2, filters=(4, 8), convs_per_block=2, dense=(8, 8),
                               preprocessing=explain.Grayscale(name="grayscale"))
    assert model.get_layer("block1_conv1").kernel.shape == (3, 3, 1, 4)  # the network sees one channel
    path = tmp_path / "gray.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe_mode=True by default: no Lambda layers allowed
    x = np.random.default_rng(1).uniform(0, 255, (3, 24, 24, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert isinstance(loaded.get_layer("grayscale"), explain.Grayscale)


def test_feature_maps_and_kernels_of_a_scratch_cnn():
    model = models.scratch_cnn((32, 32, 3), 2, filters=(4, 8), convs_per_block=2, dense=(8,))
    assert explain.conv_layer_names(model) == ["block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2"]
    assert explain.last_conv_layer(model) == "block2_conv2"
    x = np.random.default_rng(2).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    maps = explain.feature_maps(model, x, ["block1_conv1", "block2_conv2"])
    assert maps["block1_conv1"].shape == (2, 32, 32, 4) and maps["block2_conv2"].shape == (2, 16, 16, 8)
    assert (maps["block1_conv1"] >= 0).all()  # after ReLU
    assert list(explain.feature_maps(model, x[:1], ["block1_conv2"])) == ["block1_conv2"]
    assert explain.conv_kernels(model).shape == (4, 3, 3, 3)
    assert explain.conv_kernels(model, "block2_conv1").shape == (8, 3, 3, 4)
    with pytest.raises(ValueError, match="not a Conv2D"):
        explain.conv_kernels(model, "block1_pool")
    with pytest.raises(ValueError, match="nested backbone"):
        explain.feature_maps(model, x, ["Conv_1"])


def test_grad_cam_shape_and_range_on_a_scratch_cnn():
    model = models.scratch_cnn((32, 32, 3), 2, filters=(4, 8), convs_per_block=2, dense=(8, 8))
    x = np.random.default_rng(3).uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    heat = explain.grad_cam(model, x)
    assert heat.shape == (3, 32, 32) and heat.dtype == np.float32
    assert heat.min() >= 0.0 and heat.max() <= 1.0
    assert explain.grad_cam(model, x, layer_name="block1_conv2", class_index=[0, 1, 0]).shape == (3, 32, 32)


def plain_grad_cam(model: keras.Model, images: np.ndarray, conv_layer: str) -> np.ndarray:
    """Grad-CAM as chapter 04 writes it out (keras.io's recipe, for a batch): the reference for the helper."""
    head = model.get_layer("predictions")
    grad_model = keras.Model(model.input, [model.get_layer(conv_layer).output, head.input])
    with tf.GradientTape() as tape:
        conv_maps, features = grad_model(images, training=False)
        logits = tf.matmul(tf.cast(features, "float32"), head.kernel) + head.bias
        score = tf.gather(logits, tf.argmax(logits, axis=-1), batch_dims=1)
    grads = tape.gradient(score, conv_maps)
    conv_maps, grads = tf.cast(conv_maps, "float32"), tf.cast(grads, "float32")
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * conv_maps, axis=-1, keepdims=True))
    cam = tf.image.resize(cam, images.shape[1:3])[..., 0]
    return tf.math.divide_no_nan(cam, tf.reduce_max(cam, axis=(1, 2), keepdims=True)).numpy()


def test_grad_cam_equals_the_version_chapter_04_writes_out():
    """The helper computes what the notebook's ~15 lines compute, on a batch, for the last or an earlier layer."""
    keras.utils.set_random_seed(5)  # with these weights, 20 to 50 % of each weighted sum is negative: ReLU matters
    model = models.scratch_cnn((32, 32, 3), 2, filters=(8, 16), convs_per_block=2, dense=(16,))
    x = np.random.default_rng(5).uniform(0, 255, (6, 32, 32, 3)).astype("float32")
    for layer in ("block2_conv2", "block1_conv2"):
        expected = plain_grad_cam(model, x, layer)
        assert ((expected > 0.05) & (expected < 0.95)).any()  # maps with structure, not all 0 or all 1
        np.testing.assert_allclose(explain.grad_cam(model, x, layer_name=layer), expected, atol=1e-5)
    both = np.stack([bars("v", "h"), bars("h", "v"), bars("v", None)])  # evidence against the class, too
    np.testing.assert_allclose(explain.grad_cam(bar_detector_model(), both),
                               plain_grad_cam(bar_detector_model(), both, "conv"), atol=1e-5)


def test_grad_cam_in_mixed_precision_matches_float32(restore_policy):
    """Under mixed_float16 (chapter 04 on a tensor-core GPU) the maps are float16, the scores and sums float32:
    the heat maps are those of the same weights in float32, to float16's precision."""
    keras.utils.set_random_seed(6)
    full = models.scratch_cnn((32, 32, 3), 2, filters=(4, 8), convs_per_block=2, dense=(8, 8))
    keras.mixed_precision.set_global_policy("mixed_float16")
    mixed = models.scratch_cnn((32, 32, 3), 2, filters=(4, 8), convs_per_block=2, dense=(8, 8))
    mixed.set_weights(full.get_weights())
    assert mixed.get_layer("block2_conv2").compute_dtype == "float16"
    x = np.random.default_rng(6).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    heat = explain.grad_cam(mixed, x)
    assert heat.dtype == np.float32 and np.isfinite(heat).all()
    np.testing.assert_allclose(heat, explain.grad_cam(full, x), atol=0.03)
    np.testing.assert_allclose(plain_grad_cam(mixed, x, "block2_conv2"), heat, atol=1e-5)


@pytest.fixture
def restore_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("activation", ["softmax", "sigmoid"])
def test_grad_cam_points_at_the_class_evidence(activation):
    model = bar_detector_model(activation)
    vertical_left, horizontal_left = bars("v", None), bars("h", None)
    p = model.predict(np.stack([vertical_left, horizontal_left]), verbose=0)
    assert p.reshape(2, -1)[:, -1].tolist()[0] > 0.5 > p.reshape(2, -1)[:, -1].tolist()[1]  # the model works

    # One bar, on the left: the heat is on the left, and peaks on the bar.
    heat = explain.grad_cam(model, vertical_left[None])[0]
    left, right = halves(heat)
    assert heat.max() == pytest.approx(1.0) and left > 0.01 and right < 1e-3
    row, col = np.unravel_index(heat.argmax(), heat.shape)
    assert 3 <= row <= 12 and W // 4 - 2 <= col <= W // 4 + 2

    # The same bar on the right: the heat moves with it.
    left, right = halves(explain.grad_cam(model, bars(None, "v")[None])[0])
    assert right > 0.01 and left < 1e-3

    # Both kinds of evidence in one image: the map depends on the class asked about.
    both = bars("v", "h")[None]
    left, right = halves(explain.grad_cam(model, both, class_index=1)[0])  # "vertical" is on the left
    assert left > 5 * right
    left, right = halves(explain.grad_cam(model, both, class_index=0)[0])  # "horizontal" is on the right
    assert right > 5 * left


def shape_scene(label: int, side: int, rng: np.random.Generator) -> np.ndarray:
    """A vertical (0), horizontal (1) or diagonal (2) bar, near the middle of the left (0) or right (1) half."""
    image = np.zeros((H, W, 3), dtype="float32")
    r = H // 2 + rng.integers(-3, 4)
    c = side * W // 2 + W // 4 + rng.integers(-3, 4)
    for k in range(-4, 4):
        image[(r + k, r, r + k)[label], (c, c + k, c + k)[label]] = 255.0
    return image


def test_grad_cam_of_a_trained_model_follows_the_object():
    """A small scratch CNN trained to tell three bar shapes, each drawn on a random side of the image."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)

    def make(n):
        y, side = rng.integers(0, 3, n), rng.integers(0, 2, n)
        x = np.stack([shape_scene(label, s, rng) for label, s in zip(y, side, strict=True)])
        return x + rng.uniform(0, 30, x.shape).astype("float32"), y, side

    x_train, y_train, _ = make(240)
    x_test, y_test, side = make(30)
    model = models.scratch_cnn((H, W, 3), 3, filters=(8, 16), dense=(16,), dropout=0.0)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=12, batch_size=32, verbose=0)
    assert model.evaluate(x_test, y_test, verbose=0)[1] >= 0.9
    heat = explain.grad_cam(model, x_test)
    left, right = heat[:, :, : W // 2].mean(axis=(1, 2)), heat[:, :, W // 2:].mean(axis=(1, 2))
    on_object, elsewhere = np.where(side == 0, left, right), np.where(side == 0, right, left)
    assert (on_object > elsewhere).mean() >= 0.8
    assert on_object.mean() > 2 * elsewhere.mean()


def test_overlay_and_plots():
    images = np.stack([bars("v", "h"), bars("h", None), bars(None, "v")])
    heat = np.random.default_rng(4).uniform(0, 1, (3, H, W)).astype("float32")
    blended = explain._overlay(images[0], heat[0])
    assert blended.shape == (H, W, 3) and blended.min() >= 0 and blended.max() <= 1
    assert explain._overlay(images[0, ..., :1], heat[0]).shape == (H, W, 3)

    fig = explain.plot_grad_cam(images, heat, titles=["a", "b", "c"], correct=[True, False, True], ncols=2)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 6
    assert [ax.get_title() for ax in shown if ax.get_title() != "Grad-CAM"] == ["a", "b", "c"]
    assert shown[1].title.get_color() == "red"
    with pytest.raises(ValueError):
        explain.plot_grad_cam(images, heat[:2])

    maps = {"c1": np.random.default_rng(5).uniform(0, 1, (1, 8, 8, 5)), "c2": np.zeros((1, 4, 4, 3))}
    fig = explain.plot_feature_maps(maps, n_channels=4, ncols=4, title="maps")
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 4 + 3
    assert shown[-1].get_title() == "c2 #2 (zero)"

    rgb = explain.plot_filters(np.random.default_rng(6).normal(size=(10, 3, 3, 3)), ncols=4)
    assert len([ax for ax in rgb.axes if ax.images]) == 10
    assert rgb.axes[0].images[0].get_array().shape == (3, 3, 3)
    gray = explain.plot_filters(np.random.default_rng(7).normal(size=(4, 3, 3, 1)))
    assert gray.axes[0].images[0].get_array().shape == (3, 3)
    with pytest.raises(ValueError):
        explain.plot_filters(np.zeros((3, 3, 3)))

    before = np.random.default_rng(8).normal(size=(10, 3, 3, 1))
    change = explain.plot_filter_change(before, 2 * before, ncols=4, title="change")
    shown = [ax for ax in change.axes if ax.images]
    assert len(shown) == 20 and shown[0].get_ylabel() == "before" and shown[4].get_ylabel() == "after"
    # one scale per filter: the kernel that doubled looks different after training
    assert not np.allclose(shown[0].images[0].get_array(), shown[4].images[0].get_array())
    with pytest.raises(ValueError):
        explain.plot_filter_change(before, before[:5])


def test_confident_cases_and_titles():
    y_true = np.array([0, 1, 1, 0, 1])
    y_prob = np.array([[0.9, 0.1], [0.2, 0.8], [0.99, 0.01], [0.4, 0.6], [0.05, 0.95]])
    right, wrong = explain.confident_cases(y_true, y_prob, k=2)
    assert right.tolist() == [4, 0] and wrong.tolist() == [2, 3]
    none_wrong = explain.confident_cases(np.array([0, 1]), np.array([[0.7, 0.3], [0.1, 0.9]]))[1]
    assert none_wrong.size == 0
    titles = explain.case_titles([2], y_true, y_prob, ["damselflies", "dragonflies"])
    assert titles == ["damselflies p=0.99\ntrue: dragonflies"]


def test_images_at_picks_positions_of_an_unshuffled_dataset():
    x = np.arange(10, dtype="float32").reshape(10, 1, 1, 1)
    y = np.arange(10) % 2
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(3)
    images, labels = explain.images_at(ds, [7, 1, 7])
    assert images[:, 0, 0, 0].tolist() == [7, 1, 7] and labels.tolist() == [1, 1, 1]
    with pytest.raises(IndexError):
        explain.images_at(ds, [10])
    with pytest.raises(ValueError):
        explain.images_at(ds, [])


def test_a_lambda_layer_does_not_load_in_safe_mode(tmp_path):
    """Chapter 04's table: a Lambda grayscale saves, but its .keras file refuses to load in safe mode."""
    inputs = keras.Input((8, 8, 3))
    gray = layers.Lambda(lambda x: tf.reduce_mean(x, axis=-1, keepdims=True))(inputs)
    model = keras.Model(inputs, layers.Dense(2)(layers.Flatten()(gray)))
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ValueError, match="(?i)lambda"):
        keras.saving.load_model(path)  # safe_mode=True is the default


def test_random_flip_runs_only_while_training_and_saves(tmp_path):
    """Chapter 04's course recipe: a RandomFlip (augmentation) then Grayscale (preprocessing) in front of the
    network; inference never flips, and the grayscale conversion runs in training and inference alike."""
    keras.utils.set_random_seed(0)
    model = models.scratch_cnn((16, 16, 3), 2, filters=(4,), convs_per_block=2, dense=(8, 8),
                               augmentation=layers.RandomFlip("horizontal", name="mirror"),
                               preprocessing=explain.Grayscale(name="grayscale"))
    assert [lyr.name for lyr in model.layers[1:4]] == ["mirror", "grayscale", "rescale"]
    front = keras.Model(model.input, model.get_layer("grayscale").output)
    x = np.random.default_rng(4).uniform(0, 255, (6, 16, 16, 3)).astype("float32")
    plain = np.asarray(explain.Grayscale()(x))
    np.testing.assert_allclose(np.asarray(front(x, training=False)), plain, rtol=1e-6)
    flipped = np.asarray(front(x, training=True))
    assert any(np.allclose(f, p[:, ::-1]) and not np.allclose(f, p) for f, p in zip(flipped, plain, strict=True))
    path = tmp_path / "flip_gray.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert explain.feature_maps(loaded, x[:1], ["block1_conv1"])["block1_conv1"].shape == (1, 16, 16, 4)


def test_a_nested_backbones_layers_are_not_reachable_from_the_outer_model():
    """Chapter 04's note: a sub-model from the outer input to a layer inside a nested backbone does not work.
    Keras 3.14+ refuses to build it ("not connected"); 3.8-3.13 (Colab's) build it and calling it raises KeyError."""
    inner_in = keras.Input((8, 8, 3))
    base = keras.Model(inner_in, layers.Conv2D(2, 3, name="inner_conv")(inner_in), name="base")
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, layers.Dense(2)(layers.GlobalAveragePooling2D()(base(inputs))))
    with pytest.raises((ValueError, KeyError)):
        broken = keras.Model(model.inputs, [model.get_layer("base").get_layer("inner_conv").output, model.output])
        broken(np.zeros((1, 8, 8, 3), "float32"))
    works = keras.Model(base.inputs, [base.get_layer("inner_conv").output, base.output])  # the route that works
    assert len(works.outputs) == 2
