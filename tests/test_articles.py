"""helpers.articles: the contract other checks rely on, evidence for every stated value, no guesses."""

from __future__ import annotations

import pytest

from helpers import articles, datasets

KEYS = ("intel_scratch", "intel_augmentation", "intel_zoo", "odonata", "food5k", "fruits360", "mosquito")


@pytest.mark.parametrize("key", KEYS)
def test_get_returns_every_contract_field(key: str) -> None:
    article = articles.get(key)
    assert article.key == key
    missing = [name for name in articles._RECIPE_FIELDS if name not in article.recipe]
    assert not missing, f"{key} lacks recipe fields {missing}"


@pytest.mark.parametrize("key", KEYS)
def test_every_stated_value_has_evidence(key: str) -> None:
    article = articles.get(key)
    unevidenced = [name for name, value in article.recipe.items()
                   if value is not None and not article.evidence.get(name, "").strip()]
    assert not unevidenced, f"{key}: values without evidence: {unevidenced}"
    strays = set(article.evidence) - set(article.recipe)
    assert not strays, f"{key}: evidence for fields the recipe does not have: {strays}"


@pytest.mark.parametrize("key", KEYS)
def test_recipe_types(key: str) -> None:
    r = articles.get(key).recipe
    assert r["image_size"] is None or isinstance(r["image_size"], int)
    assert r["color"] in (None, "rgb", "grayscale")
    assert r["optimizer"] in (None, "adam", "sgd")
    assert r["batch_size"] is None or isinstance(r["batch_size"], int)
    assert r["augmentation"] is None or isinstance(r["augmentation"], dict)
    assert isinstance(r["reported"], dict) and r["reported"]
    assert r["validation"] in (None, "train_split", "test", "validation_folder")


@pytest.mark.parametrize("key", KEYS)
def test_headline_figure_is_a_reported_one(key: str) -> None:
    article = articles.get(key)
    reported = article.recipe["reported"]
    values = [v for v in reported.values() if isinstance(v, float)]
    values += [v for sub in reported.values() if isinstance(sub, dict) for v in sub.values()]
    assert article.accuracy in values
    assert article.dataset in datasets.CATALOG
    assert article.quirks, f"{key} has no quirks listed"
    assert all(q.what.strip() and q.why.strip() for q in article.quirks)


def test_unknown_key_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="intel_scratch"):
        articles.get("intel")


def test_values_the_articles_state() -> None:
    """Spot checks against the article texts (the numbers a chapter prints)."""
    scratch = articles.get("intel_scratch").recipe
    assert (scratch["batch_size"], scratch["epochs"], scratch["early_stopping_patience"]) == (32, 30, 3)
    assert scratch["reported"]["recall"] == scratch["reported"]["accuracy"]  # weighted averages
    assert scratch["restore_best_weights"] is False
    fruits = articles.get("fruits360").recipe
    assert (fruits["optimizer"], fruits["learning_rate"], fruits["momentum"]) == ("sgd", 1e-4, 0.9)
    assert (fruits["validation"], fruits["preprocessing"], fruits["image_size"]) == ("test", "divide_255", 299)
    zoo = articles.get("intel_zoo").recipe
    assert zoo["early_stopping_patience"] == 1 and zoo["backbones_not_trained"] == ("NASNetLarge",)
    odonata = articles.get("odonata")
    assert (odonata.recipe["image_size"], odonata.recipe["color"]) == (256, "grayscale")
    assert odonata.notes["train_images"]["total"] + odonata.notes["test_images"] == 35318
    assert odonata.notes["after_mirroring"]["total"] == 2 * sum(odonata.notes["original_images"].values())
    food = articles.get("food5k")
    assert {"image_size", "optimizer", "epochs", "trainable", "preprocessing"} <= set(food.silent)


def test_settings_fill_only_silent_fields() -> None:
    food = articles.get("food5k")
    settings = food.settings({"image_size": 224, "optimizer": "adam"})
    assert settings["image_size"] == 224 and settings["optimizer"] == "adam"
    assert settings["reported"] == food.recipe["reported"]
    with pytest.raises(ValueError, match="states"):
        articles.get("intel_scratch").settings({"batch_size": 64})
    with pytest.raises(ValueError, match="not recipe fields"):
        food.settings({"colour": "rgb"})


def test_tables_and_announcement(capsys: pytest.CaptureFixture[str]) -> None:
    article = articles.get("fruits360")
    table = article.recipe_table(ours={"image_size": 224, "optimizer": "adam"})
    assert list(table.columns) == ["setting", "the article", "where the article says it", "ours"]
    assert table.set_index("setting").loc["learning_rate", "the article"] == "0.0001"
    assert table.set_index("setting").loc["batch_size", "ours"] == "-"
    food = articles.get("food5k").recipe_table()
    assert food.set_index("setting").loc["optimizer", "the article"] == articles.SILENT
    assert len(article.quirks_table()) == len(article.quirks)
    article.announce({"batch_size": 8})  # batch_size is stated, so it is not announced as filled
    out = capsys.readouterr().out
    assert "validation_data" in out and "batch_size" not in out
    articles.get("food5k").announce({"optimizer": "adam"})
    assert "optimizer: the article does not say; this run uses adam" in capsys.readouterr().out


def test_comparison_table_marks_sample_runs() -> None:
    article = articles.get("intel_scratch")
    table = articles.comparison_table(article, {"article recipe": 0.75, "course recipe": None}, sample=True)
    assert table.iloc[0]["accuracy"] == "78.33 %"
    assert table.iloc[1]["gap to the article"].startswith("-3.3 points") and "sample" in table.iloc[1]["run"]
    assert table.iloc[2]["accuracy"] == "not run"


def test_for_chapter() -> None:
    assert [a.key for a in articles.for_chapter("02")] == ["intel_scratch"]
    assert {a.key for a in articles.for_chapter("06")} == {"intel_zoo"}
    assert articles.for_chapter("01") == ()


def test_nasnetlarge_builds_headless_at_150px() -> None:
    """The zoo quirk says NASNetLarge could have been trained at 150 px without its top: check it."""
    import keras

    model = keras.applications.NASNetLarge(include_top=False, weights=None, input_shape=(150, 150, 3))
    assert model.output_shape[1:3] == (5, 5)
