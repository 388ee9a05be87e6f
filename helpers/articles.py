"""What each source article did, as data: its recipe, the evidence for every value, its quirks, its figures.

Every chapter from 02 to 08 starts from a published article. This module is the single place that says
what those articles did, so that a chapter's "article vs ours" table, its ``RECIPE = "article"`` run and
its comparison of figures all come from the same facts, and a chapter can never claim that an article is
silent about a value it states (or invent one it does not state).

Conventions:

- ``Article.recipe`` holds the values the article gives. A value the article does **not** give is
  ``None``, never a guess; :meth:`Article.settings` fills such gaps for a run and says what it filled.
- ``Article.evidence`` says, for every recipe field that has a value, where in the article it comes from
  (section or code line, described in our own words). Fields that are ``None`` may also carry evidence,
  to say why the value is missing (a code listing that is not reproduced, a figure that is only an image).
- ``Article.quirks`` are the article's mistakes and surprises, each explained in one sentence. The
  article recipes reproduce them on purpose where they can, and :meth:`Article.announce` prints them.

Used by chapters 02 and 03 (``intel_scratch``, ``intel_augmentation``), 04 (``odonata``), 05 (``food5k``),
06 (``intel_zoo``), 07 (``fruits360``) and 08 (``mosquito``). The article texts themselves are not part of
the course; their addresses are in :attr:`Article.url`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

#: Fields every recipe has (more may follow). ``None`` means "the article does not say".
_RECIPE_FIELDS = (
    "image_size", "color", "batch_size", "epochs", "optimizer", "learning_rate", "momentum",
    "early_stopping_patience", "validation", "preprocessing", "augmentation", "trainable", "reported",
)

#: What the article-faithful run prints for a value the article does not give.
SILENT = "the article does not say"


@dataclass(frozen=True)
class _Quirk:
    """A mistake or surprise in an article.

    Attributes:
        key: Short identifier, e.g. ``"from_logits_on_softmax"``.
        what: What the article did, in one sentence.
        why: Why it matters (what it does to training or to the reported figure), in one sentence.
        reproduced: True when ``RECIPE = "article"`` does the same thing on purpose.
    """

    key: str
    what: str
    why: str
    reproduced: bool = False


@dataclass(frozen=True)
class Article:
    """One source article, as the chapters use it.

    Chapters 01 to 09 read these through get.

    Attributes:
        key: The name :func:`get` takes.
        title: The article's title (English original).
        author: Its author, as far as the text names them.
        url: Address of the English original.
        chapters: The course chapters that start from it.
        dataset: The catalogue name of its dataset (:mod:`helpers.datasets`).
        headline: The figure a chapter compares with: ``(metric, value, how the article wrote it)``.
        recipe: What the article did; ``None`` where it does not say (see :data:`_RECIPE_FIELDS`).
        evidence: For each recipe field, where in the article the value (or its absence) comes from.
        quirks: The article's mistakes and surprises.
        notes: Other facts from the article a chapter states (data counts, timings, run names, ...).
    """

    key: str
    title: str
    author: str
    url: str
    chapters: tuple[str, ...]
    dataset: str
    headline: tuple[str, float, str]
    recipe: Mapping[str, Any]
    evidence: Mapping[str, str]
    quirks: tuple[_Quirk, ...] = ()
    notes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "recipe", MappingProxyType(dict(self.recipe)))
        object.__setattr__(self, "evidence", MappingProxyType(dict(self.evidence)))
        object.__setattr__(self, "notes", MappingProxyType(dict(self.notes)))

    @property
    def accuracy(self) -> float:
        """The headline figure as a fraction (e.g. 0.7833), for tables and plots."""
        return self.headline[1]

    @property
    def figure(self) -> str:
        """The headline figure as the article wrote it, e.g. ``"78.33 %"`` or ``"about 90 %"``."""
        return self.headline[2]

    @property
    def silent(self) -> tuple[str, ...]:
        """The recipe fields the article does not give."""
        return tuple(name for name, value in self.recipe.items() if value is None)

    def says(self, name: str) -> str:
        """The article's value for one recipe field, as text, or :data:`SILENT`."""
        value = self.recipe[name]
        return SILENT if value is None else _text(value)

    def settings(self, fallbacks: Mapping[str, Any]) -> dict[str, Any]:
        """The values an article-faithful run uses: the article's, and ``fallbacks`` where it is silent.

        Only fields the article leaves ``None`` may be filled; a fallback for a field the article states
        raises ``ValueError``, so a chapter cannot override the article by accident.
        """
        stated = sorted(name for name in fallbacks if self.recipe.get(name) is not None)
        if stated:
            raise ValueError(f"The {self.key} article states {', '.join(stated)}: do not override it.")
        unknown = sorted(set(fallbacks) - set(self.recipe))
        if unknown:
            raise ValueError(f"{', '.join(unknown)} are not recipe fields of the {self.key} article.")
        return {name: fallbacks.get(name, value) if value is None else value for name, value in self.recipe.items()}

    def recipe_table(self, ours: Mapping[str, Any] | None = None,
                     fields: tuple[str, ...] | None = None) -> pd.DataFrame:
        """A table ``setting | the article | evidence [| ours]`` for a chapter's "article vs ours" cell.

        Args:
            ours: The course recipe's values for the same fields (missing ones are shown as ``-``).
            fields: The rows to show, in order; by default every recipe field but ``reported``.
        """
        names = fields or tuple(name for name in self.recipe if name != "reported")
        rows = []
        for name in names:
            row = {"setting": name, "the article": self.says(name),
                   "where the article says it": self.evidence.get(name, "")}
            if ours is not None:
                row["ours"] = _text(ours[name]) if name in ours else "-"
            rows.append(row)
        return pd.DataFrame(rows)

    def quirks_table(self) -> pd.DataFrame:
        """The article's quirks: what it did, why it matters, and whether the article recipe copies it."""
        return pd.DataFrame([{"what the article did": q.what, "why it matters": q.why,
                              "article recipe": "reproduced" if q.reproduced else "not reproduced"}
                             for q in self.quirks])

    def announce(self, filled: Mapping[str, Any] | None = None) -> None:
        """Print, for a ``RECIPE = "article"`` run, the quirks it copies on purpose and the gaps it filled."""
        print(f"RECIPE = 'article': reproducing {self.title!r} ({self.author}) as far as its text goes.")
        for quirk in self.quirks:
            if quirk.reproduced:
                print(f"  reproduced on purpose: {quirk.what} ({quirk.why})")
        for name, value in (filled or {}).items():
            if self.recipe.get(name) is None:
                print(f"  {name}: {SILENT}; this run uses {_text(value)}")


def comparison_table(article: Article, runs: Mapping[str, float | None], *, metric: str = "accuracy",
                     sample: bool = False) -> pd.DataFrame:
    """The honest comparison of a chapter: the article's figure, then each run's, with the gap.

    Args:
        article: The chapter's article.
        runs: ``{"article recipe (this run)": 0.71, "course recipe (this run)": 0.80, ...}``; ``None`` for a
            run that was not made in this execution (shown as "not run").
        metric: The metric the figures are (test accuracy for every chapter).
        sample: True on the generated sample: every gap is then marked as meaningless.
    """
    rows = [{"run": "the article (as published)", metric: article.figure, "gap to the article": ""}]
    for name, value in runs.items():
        if value is None:
            rows.append({"run": name, metric: "not run", "gap to the article": ""})
            continue
        gap = f"{100 * (value - article.accuracy):+.1f} points"
        rows.append({"run": name + (" (sample)" if sample else ""), metric: f"{100 * value:.2f} %",
                     "gap to the article": gap + (" (sample: meaningless)" if sample else "")})
    return pd.DataFrame(rows)


def get(key: str) -> Article:
    """The :class:`Article` for ``key`` (``"intel_scratch"``, ``"intel_augmentation"``, ``"intel_zoo"``,
    ``"odonata"``, ``"food5k"``, ``"fruits360"``, ``"mosquito"``).

    Chapters 01 to 09 look their articles up with it.
    """
    try:
        return ARTICLES[key]
    except KeyError:
        raise ValueError(f"Unknown article {key!r}. The course's articles are: {', '.join(ARTICLES)}.") from None


def for_chapter(chapter: str) -> tuple[Article, ...]:
    """The articles a chapter (``"02"`` ... ``"08"``) starts from.

    The notebook contract (tests/test_notebook_contract.py) checks with it that chapters 02 to 08 each name their
    articles and take a RECIPE parameter.
    """
    return tuple(a for a in ARTICLES.values() if chapter in a.chapters)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items()) if value else "none"
    return str(value)


# --------------------------------------------------------------------------------------------------------
# The Intel article: one text, three chapters (02 scratch CNN, 03 augmentation, 06 frozen model zoo)
# --------------------------------------------------------------------------------------------------------

_INTEL_TITLE = "What is Image Classification? Data Augmentation? Transfer Learning?"
_INTEL_AUTHOR = "Christophe Pere"
_INTEL_URL = ("https://towardsdatascience.com/what-is-image-classification-data-augmentation-transfer-learning-"
              "689389c3f6c8")
_INTEL_DATA_EVIDENCE = {
    "image_size": "Data section: its prepare_dataset function loads every file with target_size=(150,150).",
    "color": "Data section: images loaded with Keras' load_img defaults, i.e. three RGB channels.",
    "preprocessing": "Data section: prepare_dataset divides every image by 255.0 into [0, 1].",
    "validation": ("Data section: train_test_split(test_size=0.2, stratify=y, random_state=42) holds out 20 % "
                   "of seg_train; seg_test is the test set."),
}
_INTEL_NOTES = {
    "classes": ("buildings", "forest", "glacier", "mountain", "sea", "street"),
    "stated_split_sizes": "14k training, 3k validation and 7k test images (Data section)",
    "test_folder": "seg_test (3,000 labelled images); the 7k seg_pred images have no labels",
}
_INTEL_SPLIT_QUIRK = _Quirk(
    "split_sizes_misnamed",
    "The Data section describes 14k training, 3k validation and 7k test images, but its code tests on seg_test "
    "(3,000 images) and takes validation from 20 % of seg_train.",
    "The 7k folder (seg_pred) has no labels, so it cannot be a test set; the article's figures are on the "
    "3,000 seg_test images, the same test set as ours.",
)
_INTEL_WEIGHTED_QUIRK = _Quirk(
    "weighted_averages",
    "The metric table's recall matches its accuracy (up to a rounding slip), so its precision, recall and F1 "
    "are weighted averages over classes (weighted recall is accuracy by definition).",
    "The course reports macro averages, where every class counts the same and macro recall equals balanced "
    "accuracy; the two differ slightly, so compare like with like.",
    reproduced=True,
)

_INTEL_SCRATCH = Article(
    key="intel_scratch", title=_INTEL_TITLE, author=_INTEL_AUTHOR, url=_INTEL_URL, chapters=("02",),
    dataset="intel", headline=("accuracy", 0.7833, "78.33 %"),
    recipe={
        "image_size": 150, "color": "rgb", "batch_size": 32, "epochs": 30, "optimizer": "adam",
        "learning_rate": 0.001, "momentum": None, "early_stopping_patience": 3, "validation": "train_split",
        "preprocessing": "divide_255", "augmentation": {}, "trainable": "all (trained from random weights)",
        "reported": {"accuracy": 0.7833, "balanced_accuracy": 0.7844, "precision": 0.7894, "recall": 0.7833,
                     "f1": 0.7831, "cohen_kappa": 0.7397, "mcc": 0.7410, "roc_auc": 0.9337},
        "architecture": ("Conv2D(32, 3, relu) > MaxPooling2D > Dropout(0.5) > Conv2D(32, 3, relu) > MaxPooling2D "
                         "> Dropout(0.3) > Conv2D(32, 3, relu) > MaxPooling2D > Flatten > Dense(128, relu) > "
                         "Dense(6, softmax); no padding argument, so 'valid' convolutions"),
        "loss": "SparseCategoricalCrossentropy(from_logits=True)",
        "early_stopping_monitor": "val_loss", "restore_best_weights": False, "epochs_run": 10,
    },
    evidence={
        **_INTEL_DATA_EVIDENCE,
        "batch_size": "Methods, scratch model: model.fit(..., batch_size=32, ...); the log's 351 steps per epoch "
                      "match 11,227 training images / 32.",
        "epochs": "Methods, scratch model: model.fit(..., epochs=30).",
        "optimizer": "Methods, scratch model: model.compile(optimizer='adam', ...).",
        "learning_rate": "Not written; compile(optimizer='adam') takes Keras' default Adam rate, 0.001.",
        "momentum": "Adam has no momentum setting.",
        "early_stopping_patience": "Methods, scratch model: EarlyStopping(patience=3), with the comment that "
                                   "training stops after 3 epochs without improvement.",
        "augmentation": "The scratch model is fitted on the NumPy arrays train_x, train_y: no augmentation.",
        "trainable": "Methods: a model built and trained from scratch.",
        "reported": "Results, from scratch: the metric block (accuracy 78.33 % ... roc_auc 93.37 %).",
        "architecture": "Methods, scratch model: the Sequential listing.",
        "loss": "Methods, scratch model: the compile call's loss argument.",
        "early_stopping_monitor": "EarlyStopping(patience=3) with no monitor argument: Keras' default, val_loss.",
        "restore_best_weights": "EarlyStopping(patience=3) with no restore_best_weights: Keras' default, False.",
        "epochs_run": "Results, from scratch: the log ends at Epoch 10/30 (train accuracy 0.9146, val 0.7887).",
    },
    quirks=(
        _Quirk("from_logits_on_softmax",
              "The loss is built with from_logits=True although the last layer already applies softmax.",
              "Keras 3 (TensorFlow backend) sees that the output comes from a softmax, computes the loss from "
              "its logits and only warns, so training is unaffected; on bare probabilities (a loss computed by "
              "hand on predict() output) the flag would apply a second softmax.", reproduced=True),
        _Quirk("no_restore_best_weights",
              "EarlyStopping(patience=3) monitors val_loss without restore_best_weights.",
              "Training stops 3 epochs after the best epoch and keeps the last epoch's weights, whose validation "
              "loss is worse.", reproduced=True),
        _Quirk("valid_padding_32_filters",
              "All three convolutions have 32 filters and no padding, and the third block has no dropout.",
              "Valid convolutions shrink each map by 2 pixels, and with constant width the first dense layer "
              "receives 17x17x32 = 9,248 features at 150 px.", reproduced=True),
        _Quirk("test_called_validation",
              "The Results text says the curves reach about 75 % on the test set after 3 epochs; the curves "
              "plot the validation split.",
              "Curves are read on validation data; the test set is used once, for the metric table."),
        _INTEL_SPLIT_QUIRK,
        _INTEL_WEIGHTED_QUIRK,
    ),
    notes={**_INTEL_NOTES, "epoch_seconds": "536 to 649 s per epoch (its log)"},
)

_INTEL_AUGMENTATION = Article(
    key="intel_augmentation", title=_INTEL_TITLE, author=_INTEL_AUTHOR, url=_INTEL_URL, chapters=("03",),
    dataset="intel", headline=("accuracy", 0.686, "68.60 %"),
    recipe={
        "image_size": 150, "color": "rgb", "batch_size": None, "epochs": 50, "optimizer": None,
        "learning_rate": None, "momentum": None, "early_stopping_patience": None, "validation": "train_split",
        "preprocessing": "divide_255",
        "augmentation": {"rotation_range": 40, "width_shift_range": 0.2, "height_shift_range": 0.2,
                         "rescale": 1 / 255, "shear_range": 0.2, "zoom_range": 0.2, "horizontal_flip": True,
                         "fill_mode": "nearest"},
        "trainable": "all (trained from random weights)",
        "reported": {"accuracy": 0.6860, "balanced_accuracy": 0.6813, "precision": 0.7028, "recall": 0.6861,
                     "f1": 0.6754, "cohen_kappa": 0.6218, "mcc": 0.6276, "roc_auc": 0.9373},
        "architecture": None, "steps_per_epoch": 62, "epochs_run": 11,
    },
    evidence={
        **_INTEL_DATA_EVIDENCE,
        "batch_size": "Not given: the augmentation code is not shown; its log has 62 steps per epoch, which fits "
                      "no batch size the article names.",
        "epochs": "Results, data augmentation: the log reads Epoch 1/50 ... Epoch 11/50.",
        "optimizer": "Not given: the training code of the augmented run is not shown.",
        "learning_rate": "Not given: the training code of the augmented run is not shown.",
        "early_stopping_patience": "Not given: the run stops at epoch 11 of 50, so some early stopping was used, "
                                   "but its settings are not shown.",
        "augmentation": "Methods, data augmentation: the legacy image-generator listing, described as the "
                        "values used in the notebook; test_gen only rescales.",
        "trainable": "Methods: augmentation is applied to a CNN trained from scratch.",
        "reported": "Results, data augmentation: the metric table (accuracy 68.60 % ... roc_auc 93.73 %).",
        "architecture": "Not given: the article says it is a quick augmentation of a CNN, without its layers.",
        "steps_per_epoch": "Results, data augmentation: the log shows 62/62 steps per epoch.",
        "epochs_run": "Results, data augmentation: the log ends at Epoch 11/50 (val accuracy 0.5925).",
    },
    quirks=(
        _Quirk("augmented_worse",
              "The augmented run ends at 68.60 %, ten points below the same article's scratch CNN (78.33 %).",
              "The article says the model's complexity must be adjusted; its log also shows an epoch-1 accuracy of "
              "0.19 (chance is 0.17) and 11 epochs of 50 at 62 steps (682 updates against the scratch run's "
              "3,510), ending at training accuracy 0.64 against 0.91: under-fitted."),
        _Quirk("model_not_shown",
              "The article does not show which network, optimizer or batch size the augmented run used.",
              "The article recipe must fill those gaps; this course uses the article's scratch CNN and says so.",
              reproduced=False),
        _Quirk("recall_not_accuracy",
              "Its table gives recall 68.61 % next to accuracy 68.60 %, although weighted recall equals accuracy.",
              "A rounding slip in the article; it does not change the comparison."),
        _INTEL_SPLIT_QUIRK,
        _INTEL_WEIGHTED_QUIRK,
    ),
    notes={**_INTEL_NOTES, "epoch_seconds": "984 to 1,116 s per epoch (its log)"},
)

_INTEL_ZOO = Article(
    key="intel_zoo", title=_INTEL_TITLE, author=_INTEL_AUTHOR, url=_INTEL_URL, chapters=("06",),
    dataset="intel", headline=("accuracy", 0.9033, "90.33 % (ResNet101V2)"),
    recipe={
        "image_size": 150, "color": "rgb", "batch_size": None, "epochs": None, "optimizer": None,
        "learning_rate": None, "momentum": None, "early_stopping_patience": 1, "validation": "train_split",
        "preprocessing": "divide_255", "augmentation": None,
        "trainable": "only the top layer(s) of each pretrained model; the backbone frozen",
        "reported": {"ResNet101V2": {"accuracy": 0.9033, "precision": 0.9036}},
        "weights": "imagenet",
        "backbones_listed": ("Xception", "VGG16", "VGG19", "InceptionResNetV2", "MobileNetV2", "NASNetLarge",
                             "ResNet50V2", "ResNet101V2", "ResNet152V2", "DenseNet121", "DenseNet169",
                             "DenseNet201", "InceptionV3"),
        "backbones_not_trained": ("NASNetLarge",),
    },
    evidence={
        **_INTEL_DATA_EVIDENCE,
        "batch_size": "Not given: the zoo's training function is in a code listing the text does not reproduce.",
        "epochs": "Not given: the zoo's training function is not reproduced.",
        "optimizer": "Not given: the zoo's training function is not reproduced.",
        "learning_rate": "Not given: the zoo's training function is not reproduced.",
        "early_stopping_patience": "Transfer learning results: EarlyStopping(patience=1), chosen because testing "
                                   "every model takes long.",
        "preprocessing": "Data section: the one data preparation the article shows divides by 255; no "
                         "per-backbone preprocess_input is mentioned.",
        "augmentation": "Not said for the zoo.",
        "trainable": "Transfer learning results: only each model's top layers were tuned; more could be tuned "
                     "to do better.",
        "reported": "Conclusion: ResNet101V2 reached 90.33 % accuracy and 90.36 % precision on the test set; the "
                    "per-model table is an image, not text.",
        "weights": "Transfer learning: every listed model was trained on ImageNet.",
        "backbones_listed": "Transfer learning: the table of models tested (13 names).",
        "backbones_not_trained": "Transfer learning: a note says NASNetLarge was not tested because it expects "
                                 "331x331 inputs.",
    },
    quirks=(
        _Quirk("divide_255_into_backbones",
              "Every backbone gets images divided by 255, whatever preprocessing it was trained with.",
              "ResNetV2, Xception, Inception and MobileNetV2 expect [-1, 1], VGG expects mean-subtracted BGR and "
              "DenseNet ImageNet-normalised input: [0, 1] images cost each of them accuracy.", reproduced=True),
        _Quirk("patience_1",
              "EarlyStopping(patience=1) stops each model at its first epoch without improvement.",
              "One noisy epoch ends the run, so the ranking partly measures luck.", reproduced=True),
        _Quirk("small_inputs",
              "All backbones see the 150x150 images, not their native input sizes (224, 299, 331).",
              "Pretrained filters fit objects at the scale they were trained on; smaller inputs cost accuracy, "
              "differently for each backbone.", reproduced=True),
        _Quirk("nasnet_not_tested",
              "NASNetLarge is listed among the models but was not trained (it expects 331x331 inputs).",
              "A real limit then: the tf.keras of 2020 (most likely the article's) loaded NASNetLarge's ImageNet "
              "weights only at 331x331, even without its classification top. Keras 3 builds it at other sizes "
              "once the top is removed.",
              reproduced=True),
        _Quirk("winner_on_test",
              "The winner is named by its test-set accuracy.",
              "Picking the best of twelve on the test set makes the winning figure optimistic; choose on "
              "validation and test the winner once."),
        _INTEL_SPLIT_QUIRK,
    ),
    notes=_INTEL_NOTES,
)

# --------------------------------------------------------------------------------------------------------
# Odonata (chapter 04)
# --------------------------------------------------------------------------------------------------------

_ODONATA = Article(
    key="odonata", title="Introduction to Deep Learning (Part II): Dive into Image Classification",
    author="Gal Gilor", url="https://betterprogramming.pub/introduction-to-deep-learning-part-ii-f37f2794715a",
    chapters=("04",), dataset="odonata", headline=("accuracy", 0.857, "85.7 %"),
    recipe={
        "image_size": 256, "color": "grayscale", "batch_size": None, "epochs": 10, "optimizer": None,
        "learning_rate": None, "momentum": None, "early_stopping_patience": None, "validation": "train_split",
        "preprocessing": "divide_255", "augmentation": {"mirror_copy": True},
        "trainable": "all (trained from random weights)",
        "reported": {"accuracy": 0.857},
        "architecture": ("VGG16-like blocks of two convolutions and a pooling layer, a dropout layer after each "
                         "block, then two Dense(128) layers with dropout; the text gives no number of blocks, "
                         "filters or dropout rates (figure 10, which may, is not reproduced)"),
        "validation_fraction": 0.05, "chunks": 6, "chunk_images": 4000,
    },
    evidence={
        "image_size": "Linnaeus Bot section: images resized to 256 x 256 pixels.",
        "color": "Linnaeus Bot section: images converted to grayscale (figure 7 shows resize, grayscale, mirror).",
        "batch_size": "Not given: the article calls its 4,000-image loads 'batches', but each was trained for ten "
                      "epochs, so they are chunks; the fit call's batch size is not stated.",
        "epochs": "Training section: each chunk of images was trained for ten epochs.",
        "optimizer": ("Not given in the text; figure 10 (captioned 'model architecture') is not reproduced, "
                      "so whether it names one is unknown."),
        "learning_rate": "Not given.",
        "early_stopping_patience": "Not given: no early stopping is mentioned.",
        "validation": "Train/test section: 5 % of the training images were used for validation during training; "
                      "Training section: 5 % of each 4,000-image chunk.",
        "preprocessing": "Linnaeus Bot section: pixel values normalised by dividing by 255.",
        "augmentation": "Linnaeus Bot and figure 7: each image was also mirrored, stored as a second image (the "
                        "counts double from 17,659 to 35,318); the mirror's direction is not stated.",
        "trainable": "Training section: a VGG16-style CNN; Summary: trained from scratch.",
        "reported": "Results: test accuracy rose to 85.7 %.",
        "architecture": "Training section: two convolutions then pooling as in VGG16, dropout after each block, "
                        "two 128-unit dense layers with dropout; no sizes in the text (figure 10 is not reproduced).",
        "validation_fraction": "Train/test section: 5 % of the training images.",
        "chunks": "Training section: a new set of images was loaded six times (24,000 photos in all).",
        "chunk_images": "Training section: 4,000 images per round, 2,000 of each class.",
    },
    quirks=(
        _Quirk("mirror_before_split",
              "Mirrored copies were added before the train/test split, and the article does not say that an "
              "image and its mirror were kept in the same split.",
              "If they were not, many test images have their mirror image in the training set, which inflates "
              "test accuracy.", reproduced=True),
        _Quirk("chunks_leave_images_unused",
              "Training used six chunks of 4,000 images (24,000) of the 26,491 training images.",
              "About 2,500 training images were never used, and each chunk's 10 epochs can partly overwrite what "
              "earlier chunks taught.", reproduced=True),
        _Quirk("validation_changes_per_chunk",
              "Each chunk takes its own 5 % for validation.",
              "The validation images change every round, so the curves of different rounds are not comparable, "
              "and a validation image's mirror copy may be a training image of the same or another round.",
              reproduced=True),
        _Quirk("points_not_percent",
              "It calls 85.7 % '35.7 % better than random guessing'.",
              "That is 35.7 percentage points above the 50 % of a coin toss (71 % better in relative terms)."),
    ),
    notes={
        "original_images": {"damselflies": 8462, "dragonflies": 9197},
        "original_size": "up to 800 pixels, 3.48 GB in all",
        "after_mirroring": {"damselflies": 16924, "dragonflies": 18394, "total": 35318},
        "train_images": {"damselflies": 12694, "dragonflies": 13797, "total": 26491},
        "test_images": 8827,
        "data_source": ("not stated in the text; figure 2 credits the FGVC6 (CVPR 2019) competitions page, "
                        "home of the iNaturalist 2019 competition"),
        "feature_maps": "activation maps of the first four convolution layers",
        "storage": "four NumPy files (damselfly/dragonfly x train/test)",
    },
)

# --------------------------------------------------------------------------------------------------------
# Food-5K (chapter 05)
# --------------------------------------------------------------------------------------------------------

_FOOD5K = Article(
    key="food5k", title="Transfer Learning for Image Classification using Tensorflow", author="not named in the text",
    url="https://towardsdatascience.com/transfer-learning-for-image-classification-using-tensorflow-71c359b56673",
    chapters=("05",), dataset="food5k", headline=("accuracy", 0.95, "above 95 %"),
    recipe={
        "image_size": None, "color": None, "batch_size": None, "epochs": None, "optimizer": None,
        "learning_rate": None, "momentum": None, "early_stopping_patience": None, "validation": None,
        "preprocessing": None, "augmentation": None, "trainable": None,
        "reported": {"accuracy": 0.95},
        "backbone": "ResNet50", "head": "a new final linear layer with one unit per class",
        "augmentation_used": True, "input_pipeline": "the legacy image generator's flow_from_dataframe",
        "labels": "from the file names ({class}_{id}.jpg)", "tensorflow": "2.4.1",
    },
    evidence={
        "color": "Not given: the generator code is not reproduced (the Food-5K photos are colour, and "
                 "flow_from_dataframe's default colour mode is RGB).",
        "image_size": "Not given: the generator code is not reproduced in the text.",
        "batch_size": "Not given: the generator code is not reproduced.",
        "epochs": "Not given: the fit call is not reproduced.",
        "optimizer": "Not given: the compile call is not reproduced.",
        "learning_rate": "Not given.",
        "early_stopping_patience": "Not given.",
        "validation": "Not given: the data comes split into training, validation and evaluation folders, but "
                      "the fit call that would show which one validates is not reproduced.",
        "preprocessing": "Not given: no rescale or preprocess_input appears in the text.",
        "augmentation": "The text says the generator augments the images and sets augmentation parameters, "
                        "but the values are in a listing that is not reproduced.",
        "trainable": "Not given: the introduction speaks of training by fine-tuning, the model code is not "
                     "reproduced, and nothing says which layers were frozen.",
        "reported": ("Testing section: the model's performance reached above 95 % (after a classification_report); "
                     "the text names no metric, so the course compares it as accuracy."),
        "backbone": "Training section: ResNet-50 as the backbone.",
        "head": "Training section: ResNet-50's final linear layer replaced by a new one sized to the classes.",
        "augmentation_used": "Preparing the data: the legacy Keras image generator augments the images.",
        "input_pipeline": "Preparing the data: flow_from_dataframe on a DataFrame of file names and labels.",
        "labels": "Preparing the data: each file name holds its class and an identifier separated by '_'.",
        "tensorflow": "Import section: TensorFlow 2.4.1 (it advises CUDA 11.0 to readers who train on a GPU; "
                      "its own hardware is not stated).",
    },
    quirks=(
        _Quirk("code_not_in_text",
              "Every code listing of the article (data, model, fit, test) is missing from its text.",
              "Image size, optimizer, epochs, preprocessing and what was frozen are unknown; the article "
              "recipe fills them and says so."),
        _Quirk("augmentation_without_values",
              "It augments with the legacy Keras image generator but gives no augmentation values.",
              "Augmentation in the input pipeline also rules out caching the backbone's features (frozen or not: "
              "the text does not say), so every epoch runs all of ResNet50 again.", reproduced=True),
        _Quirk("approximate_figure",
              "It reports only that 'performance' reached 'above 95 %': no exact figure, no metric named, no table.",
              "A comparison can only say whether a run is above or below 95 %, and only by assuming the "
              "figure is accuracy."),
    ),
    notes={"splits": "training, validation and evaluation folders (5,000 images, food and non-food)"},
)

# --------------------------------------------------------------------------------------------------------
# Fruits-360 (chapter 07)
# --------------------------------------------------------------------------------------------------------

_FRUITS360 = Article(
    key="fruits360", title="Transfer Learning with Fruit Classification", author="James Nelson",
    url="https://towardsdatascience.com/transfer-learning-with-fruit-classification-a7a38e3f93b4",
    chapters=("07",), dataset="fruits360", headline=("accuracy", 0.99, "99 %"),
    recipe={
        "image_size": 299, "color": "rgb", "batch_size": 16, "epochs": 5, "optimizer": "sgd",
        "learning_rate": 1e-4, "momentum": 0.9, "early_stopping_patience": 5, "validation": "test",
        "preprocessing": "divide_255",
        "augmentation": {"rescale": 1 / 255, "shear_range": 0.2, "zoom_range": 0.2, "horizontal_flip": True},
        "trainable": "all layers, from the first epoch (nothing frozen)",
        "reported": {"accuracy": 0.99, "loss": 0.0187},
        "backbone": "InceptionV3", "weights": "imagenet",
        "head": "GlobalAveragePooling2D > Dense(512, relu) > Dense(120, softmax)",
        "loss": "categorical_crossentropy", "early_stopping_monitor": "val_accuracy", "restore_best_weights": True,
    },
    evidence={
        "image_size": "Loading the data: flow_from_directory(target_size=(299, 299)) for train and test.",
        "color": "flow_from_directory's default colour mode, RGB.",
        "batch_size": "Loading the data: batch_size=16; the results text confirms 3,781 steps of 16 images.",
        "epochs": "Training: the legacy fit-generator call with epochs=5.",
        "optimizer": "Compiling: optimizers.SGD(...).",
        "learning_rate": "Compiling: SGD with its lr argument set to 1e-4.",
        "momentum": "Compiling: SGD(..., momentum=0.9).",
        "early_stopping_patience": "Training: EarlyStopping(monitor='val_accuracy', patience=5, "
                                   "restore_best_weights=True).",
        "validation": "Training: validation_data=test_generator, the Test folder.",
        "preprocessing": "Loading the data: both generators use rescale=1./255.",
        "augmentation": "Loading the data: the training generator rescales and sets shear_range=0.2, "
                        "zoom_range=0.2 and horizontal_flip=True.",
        "trainable": "Model section: by trial and error the author chose not to freeze the weights.",
        "reported": "Training: 99 % validation accuracy and loss 0.0187 after the fit; Results: 'test accuracy "
                    "99 %, loss 1.8 %' (a loss written as a percentage; 0.0187 would round to 1.9 %).",
        "backbone": "Preparing InceptionV3: InceptionV3(weights='imagenet', include_top=False).",
        "weights": "Preparing InceptionV3: weights='imagenet'.",
        "head": "Functional API model: GlobalAveragePooling2D, Dense(512, relu), Dense(120, softmax).",
        "loss": "Compiling: loss='categorical_crossentropy'.",
        "early_stopping_monitor": "Training: EarlyStopping(monitor='val_accuracy', ...).",
        "restore_best_weights": "Training: EarlyStopping(..., restore_best_weights=True).",
    },
    quirks=(
        _Quirk("validated_on_test",
              "It passes the Test folder as validation_data and sets EarlyStopping(monitor='val_accuracy', "
              "restore_best_weights=True), so every epoch is scored on the test set.",
              "Every epoch is scored on the test set: Keras 3 then restores the best test epoch (the best of "
              "several looks), while the tf.keras of 2020 restored only when early stopping stopped the run, which "
              "never happens here; either way the test set was the only held-out data behind its choices.",
              reproduced=True),
        _Quirk("divide_255_into_inception",
              "InceptionV3 receives images divided by 255, in [0, 1].",
              "InceptionV3 was trained on [-1, 1] inputs (its preprocess_input); the shifted input distorts "
              "every pretrained feature until fine-tuning adapts the network to it.", reproduced=True),
        _Quirk("nothing_frozen",
              "All 21 million InceptionV3 weights train from the first step, next to a randomly initialised head.",
              "The head's large early gradients flow into the pretrained layers, and every BatchNormalization "
              "layer updates its statistics on fruit; the course's two phases avoid both.", reproduced=True),
        _Quirk("patience_equals_epochs",
              "EarlyStopping has patience 5 with 5 epochs in all.",
              "It can never stop the run; on 2020's tf.keras it therefore restored nothing, while Keras 3 restores "
              "the best epoch at the end of training, so the same code now picks the epoch on the test set.",
              reproduced=True),
        _Quirk("ten_or_120_outputs",
              "The prose says the output layer has 10 neurons, the code gives it 120.",
              "The code is right: one output per class (120 in the article's release)."),
        _Quirk("timing_contradiction",
              "It says training took about 20-25 minutes, and later that each of the 5 epochs took 20-25 minutes.",
              "Plan for the longer reading: five epochs of full fine-tuning at 299 px are hours of GPU time."),
        _Quirk("retired_apis",
              "It uses the legacy fit and evaluate generator calls, the old lr argument of SGD and the legacy image "
              "generator.",
              "All four are gone or deprecated in Keras 3: model.fit, model.evaluate, learning_rate= and "
              "tf.data pipelines replace them."),
    ),
    notes={"images": 81104, "classes": 120, "train_images": 60486, "test_images": 20618,
           "steps_per_epoch": 3781, "gpu": "a Kaggle notebook GPU"},
)

# --------------------------------------------------------------------------------------------------------
# Mosquito on human skin (chapter 08)
# --------------------------------------------------------------------------------------------------------

_MOSQUITO = Article(
    key="mosquito",
    title="You can get a better F1 score when carrying out transfer learning in your image data classification",
    author="Josua Naiborhu",
    url=("https://medium.com/geekculture/you-can-get-a-better-f1-score-when-carrying-out-transfer-learning-in-your-"
         "image-data-classification-bc46165766b3"),
    chapters=("08",), dataset="mosquito", headline=("accuracy", 0.90, "about 90 %"),
    recipe={
        "image_size": 224, "color": "rgb", "batch_size": 32, "epochs": None, "optimizer": "adam",
        "learning_rate": None, "momentum": None, "early_stopping_patience": None,
        "validation": "validation_folder", "preprocessing": None, "augmentation": None, "trainable": None,
        "reported": {"accuracy": 0.90, "scratch_cnn_accuracy": 0.70},
        "backbone": "EfficientNetB0", "head": "a 6-way softmax layer (include_top=False)",
        "input_pipeline": "tf.keras.preprocessing",
        "epochs_plotted": 10,
    },
    evidence={
        "image_size": "Image preprocessing: images resized to 224*224 with 3 colour channels.",
        "color": "Image preprocessing: 3 colour channels.",
        "batch_size": "Image preprocessing: a batch size of 32.",
        "epochs": "Not given: the text says that as the epochs reach 10 the loss falls and the accuracy rises to "
                  "about 90 % (its plots are images); epochs were among the tuned settings; the fit call is not "
                  "reproduced.",
        "optimizer": "Modelling: the model is compiled with Adam.",
        "learning_rate": "Not given: the learning rate was tuned, the value is not stated.",
        "momentum": "Adam has no momentum setting.",
        "early_stopping_patience": "Not given: early stopping was tried, its settings are not stated.",
        "validation": "Image preprocessing: Train, validation (Predict) and Test splits; the curves' caption "
                      "names TRAIN and validation (PRED).",
        "preprocessing": "Not given: no rescaling or preprocess_input is described.",
        "augmentation": "Not said for the final model; the Kaggle notebook it links tried augmentation, and the "
                        "TensorBoard run names include 'augment'.",
        "trainable": "Not given for the reported model; TensorBoard run names include 'fine_tune'.",
        "reported": "Modelling and Evaluation: EfficientNetB0 about 90 %, the CNN from scratch about 70 %.",
        "backbone": "Modelling: EfficientNetB0 from tf.keras.applications.",
        "head": "Modelling: include_top=False and a softmax layer with 6 classes.",
        "input_pipeline": "Image preprocessing: it prefers tf.keras.preprocessing over the legacy image generator.",
        "epochs_plotted": "Modelling: loss falls and accuracy rises to about 90 % by 10 epochs.",
    },
    quirks=(
        _Quirk("tuned_run_not_described",
              "The ~90 % model is described only as EfficientNetB0 with hyperparameter tuning.",
              "Its TensorBoard link names four runs: scratch_cnn, scratch_cnn_augment, "
              "transfer_learning_augment_fine_tune and transfer_learning_augment_fine_tune_model_plateau_LR, so "
              "the best figure may come from an augmented, fine-tuned run with a plateau learning-rate schedule."),
        _Quirk("tensorboard_dev_gone",
              "Its training curves are shared on TensorBoard.dev.",
              "TensorBoard.dev shut down at the start of 2024: the link is dead; log with "
              "keras.callbacks.TensorBoard and view locally."),
        _Quirk("softmax_called_hidden",
              "It calls the softmax output layer a hidden layer.",
              "The softmax layer is the output layer; a hidden layer sits between input and output."),
        _Quirk("adam_global_minimum",
              "It says Adam adapts the learning rate to converge to the global minimum.",
              "Adam adapts per-weight step sizes; nothing guarantees a global minimum of a neural network's loss."),
        _Quirk("f1_in_title",
              "Its original title (see its address) promises a better F1 score; the text reports accuracy only.",
              "On balanced splits the two are close, but the article gives no F1 figure to compare with."),
    ),
    notes={
        "classes": ("aegypti landing", "aegypti smashed", "albopictus landing", "albopictus smashed",
                    "culex landing", "culex smashed"),
        "source": "Mendeley Data, doi:10.17632/zw4p9kj6nt.2 (Song-Quan Ong)",
        "tensorboard_runs": ("scratch_cnn", "scratch_cnn_augment", "transfer_learning_augment_fine_tune",
                             "transfer_learning_augment_fine_tune_model_plateau_LR"),
    },
)

ARTICLES: dict[str, Article] = {a.key: a for a in (_INTEL_SCRATCH, _INTEL_AUGMENTATION, _INTEL_ZOO, _ODONATA, _FOOD5K,
                                                   _FRUITS360, _MOSQUITO)}
