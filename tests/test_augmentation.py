"""Tests for helpers.augmentation: every unit conversion from the legacy generator's arguments is measured."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from matplotlib.figure import Figure

from helpers import augmentation as aug


def only_layer(block: keras.Sequential, kind: str) -> keras.Layer:
    """The single layer of type ``kind`` in ``block``."""
    found = [layer for layer in block.layers if type(layer).__name__ == kind]
    assert len(found) == 1, f"expected one {kind} in {[type(x).__name__ for x in block.layers]}"
    return found[0]


def kinds(block: keras.Sequential) -> list[str]:
    return [type(layer).__name__ for layer in block.layers]


def article_augmentation(seed: int | None = None, *, fused: bool = True) -> keras.Sequential:
    """The Intel article's recipe as chapter 03 ports it: its generator's arguments (``helpers.articles``) minus
    ``rescale``, which the course's models do in a Rescaling layer."""
    from helpers import articles

    listed = articles.get("intel_augmentation").recipe["augmentation"]
    args = {key: value for key, value in listed.items() if key != "rescale"}
    return aug.from_image_data_generator_args(**args, seed=seed, fused=fused, name="article_augmentation")


def port(**kwargs) -> keras.Sequential:
    """The layer-by-layer port (``fused=False``), whose layers carry the converted units."""
    return aug.from_image_data_generator_args(fused=False, **kwargs)


# --- rotation -------------------------------------------------------------------------------------------


def test_rotation_range_in_degrees_becomes_a_fraction_of_a_turn():
    layer = only_layer(port(rotation_range=20), "RandomRotation")
    assert layer.factor == pytest.approx((-20 / 360, 20 / 360))
    assert aug.rotation_factor(20) == pytest.approx(20 / 360)


@pytest.mark.parametrize("factor, degrees", [(20 / 360, 20.0), (-20 / 360, -20.0), (0.1, 36.0), (0.2, 72.0)])
def test_measured_rotation_shows_the_factor_is_a_fraction_of_a_turn(factor, degrees):
    assert aug.measured_rotation(factor) == pytest.approx(degrees, abs=0.5)


def test_the_classic_porting_bug_rotates_by_72_degrees():
    """RandomRotation(0.2), taken for "20 %" or "0.2 degrees", reaches 72 degrees."""
    assert aug.measured_rotation(0.2) > 70


# --- translation ----------------------------------------------------------------------------------------


def test_shift_ranges_as_fractions():
    layer = only_layer(port(width_shift_range=0.1, height_shift_range=0.2),
                       "RandomTranslation")
    assert (layer.height_lower, layer.height_upper) == pytest.approx((-0.2, 0.2))
    assert (layer.width_lower, layer.width_upper) == pytest.approx((-0.1, 0.1))


def test_shift_ranges_in_pixels_need_the_image_size():
    with pytest.raises(ValueError, match="image_size"):
        port(width_shift_range=15)
    layer = only_layer(port(width_shift_range=15, image_size=(100, 150)),
                       "RandomTranslation")
    assert layer.width_upper == pytest.approx(0.1)
    assert layer.height_upper == 0


def test_translation_factor_is_a_fraction_of_the_height():
    image = np.zeros((1, 100, 100, 1), np.float32)
    image[0, 40:60, 40:60] = 255
    layer = keras.layers.RandomTranslation((0.2, 0.2), (0.0, 0.0), fill_mode="constant", interpolation="nearest")
    out = np.asarray(layer(image, training=True))[0, :, 50, 0]
    assert np.flatnonzero(out > 127).min() == 60  # moved down by 20 % of 100 pixels


# --- zoom -----------------------------------------------------------------------------------------------


def test_zoom_range_maps_to_symmetric_independent_factors():
    layer = only_layer(port(zoom_range=0.2), "RandomZoom")
    assert (layer.height_lower, layer.height_upper) == pytest.approx((-0.2, 0.2))
    assert (layer.width_lower, layer.width_upper) == pytest.approx((-0.2, 0.2))


def test_zoom_range_as_scale_bounds():
    layer = only_layer(port(zoom_range=[0.8, 1.0]), "RandomZoom")
    assert (layer.height_lower, layer.height_upper) == pytest.approx((-0.2, 0.0))


def test_negative_zoom_factor_zooms_in():
    assert aug.measured_zoom(-0.2) == pytest.approx(1.25, abs=0.05)
    assert aug.measured_zoom(0.2) == pytest.approx(1 / 1.2, abs=0.05)
    assert aug.measured_zoom(-0.5) == pytest.approx(2.0, abs=0.05)


# --- flips, brightness, shear, fill, rescale --------------------------------------------------------------


@pytest.mark.parametrize("kwargs, mode", [
    ({"horizontal_flip": True}, "horizontal"),
    ({"vertical_flip": True}, "vertical"),
    ({"horizontal_flip": True, "vertical_flip": True}, "horizontal_and_vertical"),
])
def test_flips(kwargs, mode):
    assert only_layer(port(**kwargs), "RandomFlip").mode == mode


def test_brightness_layer_adds_while_the_generator_multiplies():
    """RandomBrightness adds factor * 255; the mapping matches the generator's product on mid-grey."""
    block = port(brightness_range=(1.2, 1.2))
    grey = np.full((1, 4, 4, 3), 127.5, np.float32)
    assert float(np.asarray(block(grey, training=True)).mean()) == pytest.approx(127.5 * 1.2, abs=0.5)
    dark = np.full((1, 4, 4, 3), 50.0, np.float32)  # additive: a dark pixel gains as much as a grey one
    assert float(np.asarray(block(dark, training=True)).mean()) == pytest.approx(50.0 + 0.1 * 255, abs=0.5)


def test_shear_range_in_degrees_becomes_a_sheared_offset():
    layer = only_layer(port(shear_range=20), "RandomShear")
    s = math.sin(math.radians(20))
    assert max(abs(v) for v in layer.x_factor) == pytest.approx(s)
    assert max(abs(v) for v in layer.y_factor) == 0


def test_shear_factor_tilts_a_vertical_line_by_its_arctangent():
    image = np.zeros((1, 101, 101, 1), np.float32)
    image[0, 10:91, 50] = 255
    s = math.tan(math.radians(20))
    layer = keras.layers.RandomShear(x_factor=(s, s), y_factor=0.0, fill_mode="constant", interpolation="nearest",
                                     seed=0)
    ys, xs = np.nonzero(np.asarray(layer(image, training=True))[0, ..., 0] > 127)
    tilt = abs(math.degrees(math.atan(np.polyfit(ys, xs, 1)[0])))
    assert tilt == pytest.approx(20, abs=1)


def test_fill_mode_and_cval_reach_every_geometric_layer():
    block = port(rotation_range=10, width_shift_range=0.1, zoom_range=0.1,
                                               shear_range=5, fill_mode="constant", cval=7)
    for layer in block.layers:
        assert layer.fill_mode == "constant" and layer.fill_value == 7


def test_the_generators_default_fill_mode_is_kept():
    assert only_layer(port(rotation_range=10), "RandomRotation").fill_mode == "nearest"


def test_rescale_comes_last():
    block = port(rotation_range=10, brightness_range=(0.9, 1.1), rescale=1 / 255)
    assert kinds(block)[-1] == "Rescaling"
    assert block.layers[-1].scale == pytest.approx(1 / 255)


def test_order_follows_the_generator():
    block = port(
        rotation_range=10, width_shift_range=0.1, shear_range=5, zoom_range=0.1, horizontal_flip=True,
        brightness_range=(0.9, 1.1), rescale=1 / 255)
    assert kinds(block) == ["RandomRotation", "RandomTranslation", "RandomShear", "RandomZoom", "RandomFlip",
                            "RandomBrightness", "Rescaling"]


def test_defaults_give_the_identity():
    block = port(rotation_range=0, zoom_range=0.0, horizontal_flip=False,
                                               featurewise_center=False, validation_split=0.0)
    x = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype(np.float32)
    assert kinds(block) == ["Identity"]
    np.testing.assert_array_equal(np.asarray(block(x, training=True)), x)


@pytest.mark.parametrize("kwargs, advice", [
    ({"featurewise_center": True}, "Normalization"),
    ({"channel_shift_range": 20.0}, "RandomColorJitter"),
    ({"preprocessing_function": len}, "map"),
    ({"validation_split": 0.2}, "val_fraction"),
])
def test_arguments_without_a_layer_say_what_to_do(kwargs, advice):
    with pytest.raises(ValueError, match=advice):
        port(**kwargs)


def test_unknown_arguments_are_rejected():
    with pytest.raises(ValueError, match="Unknown argument 'rotation'"):
        port(rotation=20)


# --- the legacy generator itself, where this Keras still ships it --------------------------------------


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the legacy code imports a deprecated scipy namespace
def test_mapping_matches_the_legacy_generator_where_available():
    legacy = pytest.importorskip("keras.src.legacy.preprocessing.image")
    generator = legacy.ImageDataGenerator()
    line = np.zeros((101, 101, 1), np.float32)
    line[50, 10:91] = 255
    rotated = generator.apply_transform(line, {"theta": 20})
    ys, xs = np.nonzero(rotated[..., 0] > 127)
    assert math.degrees(math.atan(-np.polyfit(xs, ys, 1)[0])) == pytest.approx(aug.measured_rotation(20 / 360), abs=0.5)
    square = np.zeros((101, 101, 1), np.float32)
    square[30:71, 30:71] = 255
    zoomed = generator.apply_transform(square, {"zx": 0.8, "zy": 0.8})  # legacy scale 0.8 = Keras factor -0.2
    assert (zoomed[50, :, 0] > 127).sum() / 41 == pytest.approx(aug.measured_zoom(-0.2), abs=0.06)
    grey = np.full((4, 4, 3), 127.5, np.float32)
    brighter = generator.apply_transform(grey, {"brightness": 1.2})
    mapped = port(brightness_range=(1.2, 1.2))(grey[np.newaxis], training=True)
    assert float(np.asarray(mapped).mean()) == pytest.approx(float(brighter.mean()), abs=1.0)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_legacy_generators_shear_range_is_in_degrees():
    """shear_range=0.2 (the Intel article's) draws shear angles of at most 0.2 degrees.

    A shear angle of 20 (degrees) slides the rows of a vertical line by sin(20 deg) per row, the x_factor the
    port gives RandomShear (which tilts a line by the arctangent of its factor, tested above).
    """
    legacy = pytest.importorskip("keras.src.legacy.preprocessing.image")
    drawn = [legacy.ImageDataGenerator(shear_range=0.2).get_random_transform((101, 101, 1), seed=i)["shear"]
             for i in range(20)]
    assert max(abs(v) for v in drawn) <= 0.2
    line = np.zeros((101, 101, 1), np.float32)
    line[10:91, 50] = 255
    sheared = legacy.ImageDataGenerator().apply_transform(line, {"shear": 20})
    ys, xs = np.nonzero(sheared[..., 0] > 127)
    tilt = abs(math.degrees(math.atan(np.polyfit(ys, xs, 1)[0])))
    assert tilt == pytest.approx(math.degrees(math.atan(math.sin(math.radians(20)))), abs=0.5)  # 18.9 degrees


# --- the two recipes ------------------------------------------------------------------------------------


def test_article_recipe_is_the_classic_strong_setting():
    block = article_augmentation(seed=1, fused=False)
    assert only_layer(block, "RandomRotation").factor == pytest.approx((-40 / 360, 40 / 360))
    assert only_layer(block, "RandomFlip").mode == "horizontal"
    assert only_layer(block, "RandomZoom").fill_mode == "nearest"


def test_article_recipe_is_the_intel_articles_generator_without_rescale():
    """The article's listing, as helpers.articles records it: the classic strong setting, plus rescale (which the
    port leaves to the models)."""
    from helpers import articles

    listed = dict(articles.get("intel_augmentation").recipe["augmentation"])
    assert listed.pop("rescale") == pytest.approx(1 / 255)
    assert listed == dict(rotation_range=40, width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2,
                          zoom_range=0.2, horizontal_flip=True, fill_mode="nearest")
    assert "Rescaling" not in kinds(article_augmentation(seed=1, fused=False))


def test_the_articles_shear_range_is_a_fifth_of_a_degree():
    """shear_range=0.2 is in degrees: the ported shear moves the bottom row by sin(0.2 deg) of the height."""
    block = port(shear_range=0.2)
    assert max(abs(v) for v in only_layer(block, "RandomShear").x_factor) == pytest.approx(0.00349, abs=1e-5)


def test_recommended_recipe_is_mild_and_scene_safe():
    block = aug.recommended_augmentation(seed=1, fused=False)
    assert only_layer(block, "RandomFlip").mode == "horizontal"  # never vertical for scenes
    assert max(abs(v) for v in only_layer(block, "RandomRotation").factor) * 360 <= 10
    zoom = only_layer(block, "RandomZoom")
    assert zoom.height_upper == 0 and zoom.height_lower < 0  # zooms in only
    assert only_layer(block, "RandomContrast").factor == pytest.approx((0.1, 0.1))  # symmetric, see module doc


def test_recommended_strength_scales_the_ranges():
    strong = aug.recommended_augmentation(strength=2.0, fused=False)
    assert only_layer(strong, "RandomZoom").height_lower == pytest.approx(-0.3)
    with pytest.raises(ValueError):
        aug.recommended_augmentation(strength=0)


def test_single_number_contrast_only_raises_contrast_in_this_keras():
    """Why the module passes pairs: RandomContrast(0.5) never lowers contrast (checked on Keras 3.15)."""
    images = np.random.default_rng(0).uniform(50, 200, (64, 8, 8, 3)).astype(np.float32)
    single = np.asarray(keras.layers.RandomContrast(0.5, seed=1)(images, training=True))
    paired = np.asarray(keras.layers.RandomContrast((0.5, 0.5), seed=1)(images, training=True))
    ratio = lambda out: out.std(axis=(1, 2, 3)) / images.std(axis=(1, 2, 3))  # noqa: E731
    assert ratio(single).min() >= 0.99
    assert ratio(paired).min() < 0.8


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("build", [article_augmentation, aug.recommended_augmentation])
def test_recipes_are_the_identity_at_inference_and_change_images_in_training(build, fused):
    block = build(seed=3, fused=fused)
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(block(x, training=False)), x)
    assert np.abs(np.asarray(block(x, training=True)) - x).max() > 1
    assert not block.trainable_weights


def test_seeded_recipes_are_reproducible():
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
    a = aug.recommended_augmentation(seed=5)(x, training=True)
    b = aug.recommended_augmentation(seed=5)(x, training=True)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b))


def test_seeded_recipes_leave_the_initial_weights_alone():
    """Building a seeded block does not draw from Keras' global seed, so all runs start from the same weights."""
    def first_kernel(with_block: bool) -> np.ndarray:
        keras.utils.set_random_seed(11)
        if with_block:
            article_augmentation(seed=11)
        dense = keras.layers.Dense(3)
        dense.build((None, 4))
        return dense.kernel.numpy()

    np.testing.assert_array_equal(first_kernel(False), first_kernel(True))


def test_every_layer_used_exists_in_keras_3_8_and_later():
    """The layers the module builds (Colab has Keras 3.13; RandomShear arrived in 3.8)."""
    used = {"RandomRotation", "RandomTranslation", "RandomZoom", "RandomShear", "RandomFlip", "RandomBrightness",
            "RandomContrast", "Rescaling", "Identity"}
    assert all(hasattr(keras.layers, name) for name in used)


# --- display and measurement helpers --------------------------------------------------------------------


def test_augment_examples_returns_n_distinct_copies():
    image = np.random.default_rng(0).uniform(0, 255, (32, 32, 3)).astype(np.float32)
    out = aug.augment_examples(image, article_augmentation(seed=2), n=5)
    assert out.shape == (5, 32, 32, 3) and out.min() >= 0 and out.max() <= 255
    assert len({out[i].tobytes() for i in range(5)}) == 5


def test_single_layer_examples_include_the_two_mistakes():
    examples = aug.single_layer_examples(seed=0)
    assert any("vertical" in title for title in examples)
    assert aug.describe([examples["RandomRotation(0.2) ±72°"]])[0].startswith("RandomRotation     ±72.0°")


def test_describe_speaks_human_units():
    lines = aug.describe(port(
        rotation_range=20, width_shift_range=0.1, height_shift_range=0.1, zoom_range=0.15,
        brightness_range=(0.8, 1.2), horizontal_flip=True))
    assert lines[0] == "RandomRotation     ±20.0° (factor 0.0556 of a turn), fill nearest"
    assert "height ±10%, width ±10%" in lines[1]
    assert "negative = zoom in" in lines[2]
    assert lines[3] == "RandomFlip         horizontal"
    assert "adds -25.5 to +25.5" in lines[4]


def test_images_per_second():
    ds = tf.data.Dataset.from_tensor_slices(np.zeros((40, 8, 8, 3), np.float32)).batch(8)
    assert aug.images_per_second(ds, tf.function(lambda x: x * 2), repeats=2) > 0
    assert aug.images_per_second(ds) > 0
    with pytest.raises(ValueError):
        aug.images_per_second(ds.take(0))


def test_plot_runs():
    histories = {"a": {"accuracy": [0.1, 0.2], "val_accuracy": [0.2, 0.3]},
                 "b": {"accuracy": [0.1, 0.3, 0.5], "val_accuracy": [0.2, 0.3, 0.4]}}
    fig = aug.plot_runs(histories, title="runs")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert [line.get_label() for line in fig.axes[1].get_lines()] == ["a", "b"]
    assert fig.axes[0].get_title() == "training accuracy"
    with pytest.raises(ValueError, match="did not log"):
        aug.plot_runs({"a": {"loss": [1.0]}})


# --- RandomAffine: the fused warp the recipes use ----------------------------------------------------------


def _line_angles(layer: keras.Layer, n: int = 64, size: int = 101) -> np.ndarray:
    """Angle, in degrees, of a horizontal line after ``layer``, for ``n`` random draws."""
    image = np.zeros((n, size, size, 1), np.float32)
    image[:, size // 2, 10:size - 10] = 255
    out = np.asarray(layer(image, training=True))[..., 0]
    angles = []
    for picture in out:
        ys, xs = np.nonzero(picture > 127)
        angles.append(math.degrees(math.atan(-np.polyfit(xs, ys, 1)[0])))
    return np.array(angles)


def test_affine_rotation_is_in_degrees_and_covers_the_range():
    angles = _line_angles(aug.RandomAffine(rotation=20, fill_mode="constant", seed=0))
    assert np.abs(angles).max() <= 20.5
    assert angles.min() < -12 and angles.max() > 12  # both directions, most of the range


def test_affine_zoom_below_one_zooms_in_like_the_generator():
    """Legacy convention: scale 0.5 samples half the field of view, so a centred square looks twice as big."""
    image = np.zeros((1, 101, 101, 1), np.float32)
    image[0, 40:61, 40:61] = 255
    out = np.asarray(aug.RandomAffine(zoom=(0.5, 0.5), fill_mode="constant", interpolation="nearest")(
        image, training=True))[0, ..., 0]
    assert (out[50] > 127).sum() / 21 == pytest.approx(2.0, abs=0.1)
    assert (out[:, 50] > 127).sum() / 21 == pytest.approx(2.0, abs=0.1)


def test_affine_keep_aspect_draws_one_scale_for_both_axes():
    rows = np.asarray(aug.RandomAffine(zoom=(0.6, 1.0), keep_aspect=True, seed=1).transforms(256, 50.0, 50.0))
    np.testing.assert_allclose(rows[:, 0], rows[:, 4], rtol=1e-6)  # no rotation: a0 = zx, b1 = zy
    free = np.asarray(aug.RandomAffine(zoom=(0.6, 1.0), seed=1).transforms(256, 50.0, 50.0))
    assert np.abs(free[:, 0] - free[:, 4]).max() > 0.1
    assert free[:, [0, 4]].min() >= 0.6 and free[:, [0, 4]].max() <= 1.0


def test_affine_shifts_are_fractions_of_height_and_width():
    rows = np.asarray(aug.RandomAffine(height_shift=0.2, width_shift=0.1, seed=2).transforms(512, 100.0, 50.0))
    dx, dy = rows[:, 2], rows[:, 5]  # no rotation or zoom: offsets are the shifts in pixels
    assert np.abs(dx).max() <= 0.1 * 50 + 1e-4 and np.abs(dx).max() > 0.08 * 50
    assert np.abs(dy).max() <= 0.2 * 100 + 1e-4 and np.abs(dy).max() > 0.16 * 100


def test_affine_shear_tilts_a_vertical_line_by_at_most_the_angle():
    image = np.zeros((64, 101, 101, 1), np.float32)
    image[:, 10:91, 50] = 255
    out = np.asarray(aug.RandomAffine(shear=20, fill_mode="constant", seed=4)(image, training=True))[..., 0]
    tilts = []
    for picture in out:
        ys, xs = np.nonzero(picture > 127)
        tilts.append(math.degrees(math.atan(np.polyfit(ys, xs, 1)[0])))
    assert np.abs(tilts).max() <= 21 and np.abs(tilts).max() > 12


def test_affine_flips_are_exact_mirror_images_half_of_the_time():
    x = np.random.default_rng(0).uniform(0, 255, (64, 5, 7, 3)).astype(np.float32)
    y = np.asarray(aug.RandomAffine(horizontal_flip=True, seed=3)(x, training=True))
    same = [np.allclose(y[i], x[i], atol=1e-3) for i in range(64)]
    mirrored = [np.allclose(y[i], x[i, :, ::-1], atol=1e-3) for i in range(64)]
    assert all(a != b for a, b in zip(same, mirrored, strict=True))  # each image: one or the other, exactly
    assert 16 <= sum(mirrored) <= 48
    y = np.asarray(aug.RandomAffine(vertical_flip=True, seed=3)(x, training=True))
    assert any(np.allclose(y[i], x[i, ::-1], atol=1e-3) for i in range(64))


def test_affine_is_the_identity_at_inference_and_holds_no_weights():
    layer = aug.RandomAffine(rotation=30, zoom=(0.8, 1.2), horizontal_flip=True)
    x = np.random.default_rng(0).uniform(0, 255, (2, 16, 16, 3)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    assert not layer.weights or not layer.trainable_weights


def test_affine_with_nothing_to_do_changes_nothing_and_single_images_work():
    x = np.random.default_rng(0).uniform(0, 255, (16, 16, 3)).astype(np.float32)
    out = np.asarray(aug.RandomAffine()(x, training=True))
    assert out.shape == x.shape
    np.testing.assert_allclose(out, x, atol=1e-3)


@pytest.mark.parametrize("kwargs, match", [
    ({"zoom": (1.2, 0.8)}, "zoom"), ({"zoom": (0, 1)}, "zoom"), ({"height_shift": 2}, "fraction"),
    ({"fill_mode": "mirror"}, "fill_mode"), ({"interpolation": "bicubic"}, "interpolation"),
])
def test_affine_bad_arguments_say_what_is_allowed(kwargs, match):
    with pytest.raises(ValueError, match=match):
        aug.RandomAffine(**kwargs)


def test_affine_saves_and_loads_in_safe_mode(tmp_path):
    model = keras.Sequential([keras.Input((12, 12, 3)), aug.RandomAffine(rotation=10, horizontal_flip=True, seed=1),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])
    path = tmp_path / "affine.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = np.random.default_rng(0).uniform(0, 255, (3, 12, 12, 3)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    restored = loaded.layers[0]
    assert isinstance(restored, aug.RandomAffine)
    assert restored.get_config() == model.layers[0].get_config()


def test_fused_port_is_one_warp_with_the_same_ranges():
    block = aug.from_image_data_generator_args(rotation_range=20, width_shift_range=0.1, height_shift_range=0.2,
                                               shear_range=5, zoom_range=0.1, horizontal_flip=True,
                                               brightness_range=(0.9, 1.1), rescale=1 / 255, seed=0)
    assert kinds(block) == ["RandomAffine", "RandomBrightness", "Rescaling"]
    affine = block.layers[0]
    assert (affine.rotation, affine.shear, affine.height_shift, affine.width_shift) == (20, 5, 0.2, 0.1)
    assert affine.zoom == pytest.approx((0.9, 1.1)) and not affine.keep_aspect  # legacy: x and y apart
    assert affine.horizontal_flip and not affine.vertical_flip and affine.fill_mode == "nearest"


def test_fused_recipes_match_the_separate_layers_ranges():
    fused = aug.recommended_augmentation(seed=1).layers[0]
    assert fused.rotation == 5 and fused.zoom == (0.85, 1.0) and fused.keep_aspect
    assert fused.horizontal_flip and not fused.vertical_flip and fused.fill_mode == "reflect"
    article = article_augmentation(seed=1).layers[0]
    assert article.rotation == 40 and article.zoom == pytest.approx((0.8, 1.2))


def test_fused_warp_is_sharper_than_three_warps():
    """One interpolation instead of three: with rotation only, a fused and a separate block agree in
    distribution, but the separate one resamples three times when zoom and shift are on too."""
    x = np.random.default_rng(0).uniform(0, 255, (8, 48, 48, 3)).astype(np.float32)
    tiny = dict(rotation_range=0.5, width_shift_range=0.01, height_shift_range=0.01, zoom_range=0.01)
    fused = np.asarray(aug.from_image_data_generator_args(**tiny, seed=0)(x, training=True))
    separate = np.asarray(port(**tiny, seed=0)(x, training=True))
    centre = (slice(None), slice(8, 40), slice(8, 40))
    assert fused[centre].std() > separate[centre].std()  # less smoothing: more of the noise survives


# --- ranges and measured draws: the written-out recipe against the fused one (chapter 03) ------------------


def keras_io_style_recipe() -> keras.Sequential:
    """Chapter 03's recipe as its cells write it: Random* layers, no seeds, no names."""
    layers = keras.layers
    return keras.Sequential([
        layers.RandomFlip("horizontal"),
        layers.RandomRotation(5 / 360, fill_mode="reflect"),
        layers.RandomZoom((-0.15, 0.0), fill_mode="reflect"),
        layers.RandomTranslation(0.1, 0.1, fill_mode="reflect"),
        layers.RandomContrast((0.1, 0.1), value_range=(0, 255)),
    ])


def settings(block: keras.Sequential) -> list[tuple[str, dict]]:
    return [(type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "name"})
            for layer in block.layers]


def test_the_recipe_written_as_keras_io_does_is_the_unfused_recommended_block():
    """Same layer classes, order and every setting but the name: chapter 03's assert, held here too."""
    assert settings(keras_io_style_recipe()) == settings(aug.recommended_augmentation(fused=False))
    assert settings(keras_io_style_recipe()) != settings(aug.recommended_augmentation(strength=1.5, fused=False))


def test_ranges_speak_the_fused_layers_units():
    r = aug.ranges(keras_io_style_recipe())
    assert r["rotation"] == (-5.0, 5.0)  # 5/360 of a turn, in degrees, rounded exactly
    assert r["zoom_height"] == r["zoom_width"] == (0.85, 1.0) and r["keep_aspect"]  # factor + 1, one draw
    assert r["height_shift"] == r["width_shift"] == (-0.1, 0.1)
    assert r["horizontal_flip"] and not r["vertical_flip"] and r["shear"] == (0.0, 0.0)
    assert (r["fill_mode"], r["interpolation"]) == ("reflect", "bilinear")
    assert r["others"] == [("RandomContrast", {"factor": (0.1, 0.1), "value_range": (0, 255)})]
    sheared = aug.ranges(port(shear_range=20))
    assert sheared["shear"] == pytest.approx((-20.0, 20.0), abs=1e-5)  # sin(20 deg) back to degrees
    assert aug.ranges(keras.layers.RandomZoom(0.2, 0.2))["keep_aspect"] is False  # x and y drawn apart


@pytest.mark.parametrize("build", [aug.recommended_augmentation, article_augmentation])
def test_fused_and_unfused_recipes_draw_the_same_ranges(build):
    assert aug.ranges(build(seed=1)) == aug.ranges(build(seed=1, fused=False))
    assert aug.ranges(build(seed=1)) == aug.ranges(build(fused=False))  # seeds are not ranges


@pytest.mark.parametrize("fused, written", [
    (aug.RandomAffine(rotation=20), keras.layers.RandomRotation(0.2)),  # the porting bug: 72 degrees
    (aug.RandomAffine(zoom=(0.8, 1.2)), keras.layers.RandomZoom(0.2)),  # independent axes vs one draw
    (aug.RandomAffine(zoom=(0.8, 1.0), keep_aspect=True), keras.layers.RandomZoom((0.0, 0.2))),  # out, not in
    (aug.RandomAffine(horizontal_flip=True, fill_mode="nearest"), keras.layers.RandomFlip("horizontal_and_vertical")),
])
def test_ranges_tell_different_recipes_apart(fused, written):
    assert aug.ranges(fused) != aug.ranges(written)


def test_ranges_refuse_what_one_range_cannot_describe():
    with pytest.raises(ValueError, match="two layers"):
        aug.ranges([keras.layers.RandomRotation(0.1), aug.RandomAffine(rotation=10)])
    with pytest.raises(ValueError, match="rows only"):
        aug.ranges(keras.layers.RandomShear(x_factor=0.1, y_factor=0.1))


def test_measured_draws_read_rotation_and_zoom_and_ignore_shifts_and_flips():
    fixed = aug.measured_draws(keras.Sequential([keras.layers.RandomRotation((20 / 360, 20 / 360)),
                                                 keras.layers.RandomZoom((-0.2, -0.2))]), n=4)
    np.testing.assert_allclose(fixed["rotation"], 20, atol=0.5)  # counter-clockwise is positive
    np.testing.assert_allclose(fixed["zoom"], 1.25, atol=0.03)  # a field of view of 0.8: 1.25x as large
    moved = aug.measured_draws(keras.Sequential([keras.layers.RandomTranslation(0.2, 0.2, seed=0),
                                                 keras.layers.RandomFlip("horizontal_and_vertical", seed=1)]), n=16)
    np.testing.assert_allclose(moved["rotation"], 0, atol=0.5)
    np.testing.assert_allclose(moved["zoom"], 1, atol=0.02)


def test_measured_draws_of_the_written_and_fused_recipes_cover_the_same_ranges():
    """The notebook's measured check: both blocks rotate up to 5 degrees either way and zoom in up to 1/0.85."""
    for block in (keras_io_style_recipe(), aug.recommended_augmentation(seed=2)):
        drawn = aug.measured_draws(block, n=96)
        assert 4 < -drawn["rotation"].min() <= 5.4 and 4 < drawn["rotation"].max() <= 5.4
        assert drawn["zoom"].min() >= 0.97 and 1.12 < drawn["zoom"].max() <= 1 / 0.85 + 0.03
