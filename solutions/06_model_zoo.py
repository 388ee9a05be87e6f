"""Solutions to the exercises of 06 · A model zoo. Try them yourself first.

Each ``# %% answer_N`` cell replaces the notebook's ``answer_N = None`` cell. Exercises 1 and 3 are
read off the notebook's own rows of the zoo table (``rows``, ``best``), so they are right whatever
backbones and data the run used; exercises 2 and 4 are arithmetic. The self-checks grade them with the
chapter's answer key (``helpers/answer_keys/ch06.py``). ``tools/check_solutions.py`` runs the notebook
with these cells pasted in and requires every self-check to print "correct".
"""
# ruff: noqa: F821  (the cells use the notebook's variables)

# %% answer_1
# Why: in both recipes only one Dense softmax layer is trained, which has one weight per (feature, class)
# pair plus one bias per class: (feature_dim + 1) * classes. The course's head adds a Normalization layer
# (its mean and variance are measured on the training features, not trained) and dropout (no weights);
# the article recipe's head is the Dense layer alone.
first_row = rows[0]
print(f"{first_row.backbone}: {first_row.feature_dim} features, {data.num_classes} classes")
answer_1 = (first_row.feature_dim + 1) * data.num_classes

# %% answer_2
# Why: a correctly preprocessed ResNetV2 sees x / 127.5 - 1 for a pixel x in [0, 255]. That value is 0
# for x = 127.5 and 1 for x = 255, so the article's inputs in [0, 1] are what the network would see from
# pixels between 127.5 and 255 only: the brighter half of the range, with no dark pixel at all and half
# the usual contrast. Checked with the course's preprocessing layer:
lowest, highest = 127.5, 255.0
seen = np.asarray(models.BackbonePreprocess("tf")(np.array([[[[lowest] * 3, [highest] * 3]]], dtype="float32")))
print("tf mode maps", (lowest, highest), "to", np.round(seen[0, 0, :, 0], 3))
answer_2 = (lowest, highest)

# %% answer_3
# Why: one epoch of the usual recipe pushes every training and validation image through the backbone;
# at the measured throughput that takes images / (images per second) seconds.
images_per_epoch = best.train_images + best.val_images
answer_3 = images_per_epoch / best.images_per_second
print(f"{best.backbone}: {images_per_epoch} images at {best.images_per_second:.0f} images/s = {answer_3:.1f} s")

# %% answer_4
# Why: the standard error of an accuracy of 0.91 on 3,000 images is sqrt(0.91 * 0.09 / 3000) = 0.0052;
# two standard errors are 0.0104, larger than the 0.008 between the two backbones. So the difference is
# not larger than two standard errors: False, the two are not clearly different.
two_se = 2 * zoo.accuracy_standard_error(0.91, 3000)
gap = 0.918 - 0.910
answer_4 = bool(gap > two_se)
print(f"difference {gap:.4f}, two standard errors {two_se:.4f}")

# %% [markdown] stretch 5
# **5 (stretch, on a GPU): the native input size.** Run the notebook twice with `RECIPE = "course"` and
# `BACKBONES = ["ResNet101V2", "ConvNeXtTiny"]`: once as it is, once after setting `CFG["image_size"] = 150`
# right after the branch cell (every backbone then gets Intel's own 150x150, the article's size, while the
# preprocessing, head and stopping stay the course's, so only the size changes). Compare the two runs'
# rows of the table by their **validation** accuracy (`row.val_accuracy`; the test column is a report,
# not something to compare choices on) and, for each backbone, compare the drop with two standard errors,
# `2 * zoo.accuracy_standard_error(row.val_accuracy, len(data.files["val"]))` (about 1.1 points near 90 % on
# Intel's 2,800 validation images). Why a drop is expected at all: both networks shrink their input about
# 32-fold, so at 150 px they end with feature maps of 5x5 (ResNet101V2) and 4x4 (ConvNeXtTiny) instead of
# 7x7, and they see the scenes' objects smaller than the ImageNet objects their filters learned. Which of
# the two loses more, and whether its drop is larger than two standard errors, is what your two runs
# measure: report the figures, and call a difference below two standard errors "not clearly different".
# The article recipe's own gap to the course recipe also includes its division by 255, its head and its
# patience of 1: this exercise isolates the size.

# %% [markdown] stretch 6
# **6 (stretch): augmentation breaks the shortcut.** For the winner only, train the usual way (the course
# recipe's model: family preprocessing at the winner's input size):
#
# ```python
# from helpers import pipeline
#
# side = (best.image_size, best.image_size)
# train_images = pipeline.make_dataset(data.files["train"], data.labels["train"], image_size=side,
#                                      batch_size=CFG["batch_size"], shuffle=True, seed=SEED)
# val_images = pipeline.make_dataset(data.files["val"], data.labels["val"], image_size=side,
#                                    batch_size=CFG["batch_size"])
# keras.utils.set_random_seed(SEED)
# flip = keras.Sequential([keras.layers.RandomFlip("horizontal")], name="augmentation")
# flipped, _ = models.transfer_model(best.backbone, data.num_classes, image_size=best.image_size,
#                                    weights=CFG["weights"], augmentation=flip)
# flipped.compile(optimizer=keras.optimizers.Adam(learning_rate=CFG["learning_rate"]),
#                 loss="sparse_categorical_crossentropy", metrics=["accuracy"])
# flip_timer = training.Timer()
# flip_history = flipped.fit(train_images, validation_data=val_images, epochs=CFG["epochs"],
#                            callbacks=[*training.standard_callbacks(patience=CFG["patience"]), flip_timer],
#                            shuffle=False, verbose=training.fit_verbosity())
# print(f"{flip_timer.seconds / flip_timer.epochs:.1f} s per epoch, against "
#       f"{best.head_seconds_per_epoch:.2f} s for the head on cached features")
# ```
#
# Every epoch now runs the whole backbone over every training image, so an epoch costs about what one
# extraction pass over the training and validation images cost (`answer_3` above estimates it), plus
# the augmentation, instead of a fraction of a second. (The first epoch also decodes the JPEGs into the
# pipeline's cache.) Whether the flip helps a frozen backbone: it only adds mirrored versions of the
# training images, and the frozen features of a mirrored scene are close to the original's, so expect
# little change in accuracy; compare the validation accuracy with the winner's row, and remember the
# ±1 point of noise. (The test set is not used here: the question is answered on validation data.)
