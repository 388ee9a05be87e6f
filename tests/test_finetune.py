from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from helpers import finetune, models


def tiny_base() -> keras.Model:
    """Three Conv-BN-ReLU blocks: a stand-in for a pretrained backbone (fast to build and train)."""
    inputs = keras.Input((12, 12, 3), name="x")
    x = inputs
    for i, filters in enumerate((4, 6, 8), start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", name=f"c{i}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{i}")(x)
        x = keras.layers.ReLU(name=f"relu{i}")(x)
    return keras.Model(inputs, x, name="tiny_base")


def tiny_model(training: bool | None = False) -> tuple[keras.Model, keras.Model]:
    """A frozen base called like helpers.models.transfer_model does, with a small head."""
    keras.utils.set_random_seed(0)
    base = tiny_base()
    base.trainable = False
    inputs = keras.Input((12, 12, 3))
    x = base(inputs, training=training)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs), base


def data(n: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(2.0, 3.0, (n, 12, 12, 3)).astype("float32"), rng.integers(0, 3, n)


def values(weights) -> list[np.ndarray]:
    return finetune.snapshot(weights)


def test_unfreeze_top_changes_the_counts_and_keeps_bn_frozen():
    model, base = tiny_model()
    head_only = finetune.trainable_counts(model)
    assert head_only == {"weights": 2, "params": 8 * 3 + 3}
    info = finetune.unfreeze_top(base, from_layer_name="c2", model=model)
    assert base.trainable
    assert info["first_trainable"] == "c2" and info["cut_index"] == [la.name for la in base.layers].index("c2")
    assert info["trainable_weights_before"] == 2
    assert info["trainable_weights_after"] == 2 + 4  # kernel and bias of c2 and c3; no BN weight
    assert info["trainable_params_after"] == info["trainable_params_before"] + (3 * 3 * 4 * 6 + 6) + (3 * 3 * 6 * 8 + 8)
    assert info["trainable_layers"] == 2 and info["frozen_batchnorm"] == 2  # bn2, bn3 (bn1 is below the cut)
    assert all(not bn.trainable for bn in finetune.batchnorm_layers(base))
    assert not base.get_layer("c1").trainable
    assert base.get_layer("c2").trainable and base.get_layer("c3").trainable


def test_n_layers_counts_from_the_top():
    model, base = tiny_model()
    names = [layer.name for layer in base.layers]
    info = finetune.unfreeze_top(base, n_layers=len(names) - names.index("c3"), model=model)
    assert info["first_trainable"] == "c3"
    assert [layer.name for layer in base.layers if layer.trainable_weights] == ["c3"]


def test_counts_default_to_the_backbone():
    _, base = tiny_model()
    info = finetune.unfreeze_top(base, from_layer_name="c3")
    assert info["trainable_weights_before"] == 0 and info["trainable_weights_after"] == 2


def test_keep_bn_frozen_false_leaves_bn_above_the_cut_trainable():
    _, base = tiny_model()
    info = finetune.unfreeze_top(base, from_layer_name="c2", keep_bn_frozen=False)
    assert info["frozen_batchnorm"] == 0
    assert not base.get_layer("bn1").trainable
    assert base.get_layer("bn2").trainable and base.get_layer("bn3").trainable


@pytest.mark.parametrize("kwargs, match", [
    ({}, "exactly one"),
    ({"n_layers": 2, "from_layer_name": "c2"}, "exactly one"),
    ({"from_layer_name": "mixed8"}, "no layer 'mixed8'"),
    ({"n_layers": 0}, "between 1 and"),
    ({"n_layers": 99}, "between 1 and"),
])
def test_bad_arguments_are_refused(kwargs, match):
    _, base = tiny_model()
    with pytest.raises(ValueError, match=match):
        finetune.unfreeze_top(base, **kwargs)
    assert not base.trainable_weights


def test_a_cut_above_every_weight_is_refused_and_leaves_the_base_frozen():
    _, base = tiny_model()
    with pytest.raises(ValueError, match="makes no weight"):
        finetune.unfreeze_top(base, from_layer_name="relu3")  # only an activation above the cut
    assert not base.trainable and not base.trainable_weights
    assert all(not layer.trainable for layer in base.layers)


@pytest.mark.parametrize("training", [False, None])
def test_a_fit_step_keeps_bn_statistics_and_trains_only_above_the_cut(training):
    model, base = tiny_model(training=training)  # None: BN frozen alone keeps inference mode
    bns = finetune.batchnorm_layers(base)
    stats = values([w for bn in bns for w in (bn.moving_mean, bn.moving_variance)])
    bn_params = values([w for bn in bns for w in (bn.gamma, bn.beta)])
    below = values(base.get_layer("c1").weights)
    above = values(base.get_layer("c2").weights + base.get_layer("c3").weights)
    finetune.unfreeze_top(base, from_layer_name="c2", model=model)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="sparse_categorical_crossentropy")
    x, y = data()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert finetune.relative_change(stats, [w for bn in bns for w in (bn.moving_mean, bn.moving_variance)]) == 0
    assert finetune.relative_change(bn_params, [w for bn in bns for w in (bn.gamma, bn.beta)]) == 0
    assert finetune.relative_change(below, base.get_layer("c1").weights) == 0
    assert finetune.relative_change(above, base.get_layer("c2").weights + base.get_layer("c3").weights) > 1e-4


def test_without_recompiling_the_new_trainable_weights_do_not_train():
    """The pitfall the chapter warns about: a change of ``trainable`` takes effect at compile."""
    model, base = tiny_model()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="sparse_categorical_crossentropy")
    x, y = data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # builds the training step with the base frozen
    before = values(base.get_layer("c3").weights)
    finetune.unfreeze_top(base, from_layer_name="c2", model=model)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert finetune.relative_change(before, base.get_layer("c3").weights) == 0
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert finetune.relative_change(before, base.get_layer("c3").weights) > 1e-4


def test_unfreeze_top_on_a_keras_applications_backbone():
    model, base = models.transfer_model("MobileNetV2", 3, image_size=32, weights=None, head_units=8)
    n_bn = len(finetune.batchnorm_layers(base))
    info = finetune.unfreeze_top(base, n_layers=20, model=model)
    assert info["trainable_weights_after"] > info["trainable_weights_before"] == 4
    assert all(not bn.trainable for bn in finetune.batchnorm_layers(base))
    assert len(finetune.batchnorm_layers(base)) == n_bn
    cut = info["cut_index"]
    assert not any(layer.trainable_weights for layer in base.layers[:cut])
    assert all(not w.trainable for layer in base.layers[:cut] for w in layer.weights)


def test_estimate_batchnorm_statistics_stores_the_batch_statistics():
    _, base = tiny_model()
    bn1 = base.get_layer("bn1")
    momentum = bn1.momentum
    x, _ = data(32)
    assert finetune.estimate_batchnorm_statistics(base, x) == 3
    conv1 = np.asarray(base.get_layer("c1")(x))
    np.testing.assert_allclose(np.asarray(bn1.moving_mean), conv1.mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(bn1.moving_variance), conv1.var(axis=(0, 1, 2)), rtol=1e-3, atol=1e-5)
    assert bn1.momentum == momentum and not bn1.trainable and not base.trainable_weights
    normalised = np.asarray(base.get_layer("bn1")(conv1, training=False))
    assert abs(normalised.std() - 1) < 0.05


def test_pooled_features_and_cosine_similarity():
    _, base = tiny_model()
    x, _ = data(5)
    features = finetune.pooled_features(base, x)
    assert features.shape == (5, 8)
    assert finetune.mean_cosine_similarity(features, features) == pytest.approx(1.0)
    a, b = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[0.0, 3.0], [0.0, -1.0]])
    assert finetune.mean_cosine_similarity(a, b) == pytest.approx(-0.5)
    assert math.isnan(finetune.mean_cosine_similarity(a, np.array([[np.nan, 1.0], [1.0, 1.0]])))
    with pytest.raises(ValueError, match="Shapes differ"):
        finetune.mean_cosine_similarity(a, b[:1])


def test_relative_change():
    before = [np.ones((2, 2)), np.zeros(3)]
    assert finetune.relative_change(before, [np.ones((2, 2)), np.zeros(3)]) == 0
    assert finetune.relative_change(before, [np.ones((2, 2)) * 1.5, np.zeros(3)]) == pytest.approx(0.5)
    assert math.isnan(finetune.relative_change(before, [np.full((2, 2), np.inf), np.zeros(3)]))
    with pytest.raises(ValueError, match="tensors"):
        finetune.relative_change(before, before[:1])
    with pytest.raises(ValueError, match="zero"):
        finetune.relative_change([np.zeros(2)], [np.ones(2)])
    copies = finetune.snapshot(before)
    before[0][0, 0] = 5.0
    assert copies[0][0, 0] == 1.0


def test_undo_afterwards_restores_weights_and_optimizer_state():
    model, base = tiny_model()
    finetune.unfreeze_top(base, from_layer_name="c2", model=model)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
                  loss="sparse_categorical_crossentropy")
    x, y = data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # momentum buffers and step count are not zero
    weights = values(model.weights)
    state = values(model.optimizer.variables)
    with pytest.raises(RuntimeError), finetune.undo_afterwards(model):
        model.optimizer.learning_rate = 1e6
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        assert finetune.relative_change(weights, model.weights) != 0  # changed (or diverged to nan)
        raise RuntimeError("the experiment failed")
    assert finetune.relative_change(weights, model.weights) == 0
    assert all(np.array_equal(a, b) for a, b in zip(state, values(model.optimizer.variables), strict=True))
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


def stem_base() -> keras.Model:
    """Like InceptionV3's stem: a bias-free 'valid' convolution, then BatchNormalization without scale."""
    inputs = keras.Input((12, 12, 3), name="x")
    x = keras.layers.Conv2D(6, 3, padding="valid", use_bias=False, name="c1")(inputs)
    x = keras.layers.BatchNormalization(scale=False, name="bn1")(x)
    x = keras.layers.ReLU(name="relu1")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", use_bias=False, name="c2")(x)
    x = keras.layers.BatchNormalization(scale=False, name="bn2")(x)
    return keras.Model(inputs, keras.layers.ReLU(name="relu2")(x), name="stem")


@pytest.mark.parametrize("frozen", [False, True])
def test_input_shift_training_mode_cancels_a_rescaled_input_and_changes_nothing(frozen):
    """The chapter's claim: with batch statistics, [0, 1] instead of [-1, 1] reaches the layers after the first
    BatchNormalization unchanged (up to its epsilon); with moving statistics from [-1, 1], it does not."""
    keras.utils.set_random_seed(0)
    base = stem_base()
    x, _ = data(16)
    pixels = np.clip(x * 40 + 128, 0, 255)
    reference, other = pixels / 127.5 - 1, pixels / 255  # InceptionV3's range and the article's
    finetune.estimate_batchnorm_statistics(base, reference)
    base.trainable = not frozen
    for bn in finetune.batchnorm_layers(base):
        bn.epsilon = 1e-9  # the exact algebra; Keras' default 1e-3 adds a small difference
    before = values(base.weights)
    table = finetune.input_shift(base, reference, other, ["bn1", "relu1"]).set_index("layer")
    assert list(table.index) == ["bn1", "relu1", "pooled output"]
    assert (table["training mode: cosine"] > 0.9999).all()
    assert np.allclose(table["training mode: size ratio"], 1, atol=1e-3)
    assert table.loc["bn1", "inference mode: cosine"] < 0.99  # moving statistics from [-1, 1] do not fit [0, 1]
    assert all(np.array_equal(a, b) for a, b in zip(before, values(base.weights), strict=True))
    assert all(bn.trainable is (not frozen) for bn in finetune.batchnorm_layers(base))


def test_early_stopping_restores_the_best_epoch_even_when_it_never_stops():
    """Chapter 07: in Keras 3, restore_best_weights acts at the end of training too (patience >= epochs).
    The tf.keras of 2020 restored only when early stopping stopped the run (tensorflow/tensorflow#35634)."""
    keras.utils.set_random_seed(0)
    start = keras.initializers.Constant(-0.5)  # the model starts at -0.5 and learns towards y = 0 ...
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="zeros",
                                                                    bias_initializer=start)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(finetune.snapshot(self.model.weights))

    val = (x, np.full((8, 1), -0.5, "float32"))  # ... so it moves away from these targets: epoch 1 is the best
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    history = model.fit(x, y, validation_data=val, epochs=3, verbose=0, callbacks=[Record(), stop])
    assert stop.stopped_epoch == 0  # it never stopped the run
    assert int(np.argmin(history.history["val_loss"])) == 0
    assert finetune.relative_change(seen[0], model.weights) == 0  # the weights of epoch 1 are back
    assert finetune.relative_change(seen[-1], model.weights) > 0


@pytest.mark.parametrize("keep_bn_frozen", [True, False])
@pytest.mark.parametrize("n_top", [3, 5, 10])
def test_unfreeze_top_sets_the_flags_of_chapter_07s_written_out_loop(n_top, keep_bn_frozen):
    """Chapter 07 writes the unfreezing out (trainable = True, a loop over the lower layers, a loop over the
    BatchNormalization layers) and asserts it equals the helper on a fresh copy; this pins the same equality."""
    model, base = tiny_model()
    base.trainable = True
    for layer in base.layers[: len(base.layers) - n_top]:
        layer.trainable = False
    if keep_bn_frozen:
        for layer in base.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
    _, fresh = tiny_model()
    info = finetune.unfreeze_top(fresh, n_layers=n_top, keep_bn_frozen=keep_bn_frozen)
    assert [layer.trainable for layer in fresh.layers] == [layer.trainable for layer in base.layers]
    assert info["cut_index"] == len(base.layers) - n_top
    assert [w.name for w in fresh.trainable_weights] == [w.name for w in base.trainable_weights]
