"""Solutions to the exercises of 07 · Fine-tuning InceptionV3 on Fruits-360. Try them yourself first.

Each ``# %% answer_N`` cell replaces the notebook's ``answer_N = None`` cell. The answers are computed
from the notebook's own objects (``base``, ``tuned``, ``data``, ``sample_images``, ``to_backbone``,
``bn_demo``), so they are right in every profile, whatever the image size and the number of classes.
``tools/check_solutions.py`` runs the notebook (course recipe) with these cells pasted in and requires
every self-check to print "correct".
"""
# ruff: noqa: F821  (the cells use the notebook's variables)

# %% answer_1
# Why: before the cut only the head trained; the unfrozen blocks added their own trainable tensors. The
# backbone had none before unfreeze_top, so what it holds now is exactly what unfreezing added: the
# kernels of the convolutions after mixed8 (they have no bias, and BatchNormalization stays frozen).
# (With RECIPE = "article" nothing was frozen, so unfreezing added nothing: the answer there is 0.)
answer_1 = len(base.trainable_weights)
print(f"trainable tensors of the whole model: {tuned['trainable_weights_before']} -> "
      f"{tuned['trainable_weights_after']}; of the backbone now: {answer_1}")

# %% answer_2
# Why: the feature maps are what the base outputs, (batch, height, width, channels). Running one
# training image through the base shows them; InceptionV3 shrinks its input about 32-fold.
maps_of_one = base(to_backbone(sample_images[:1]), training=False)
answer_2 = tuple(int(side) for side in maps_of_one.shape[1:3])
print(f"{SIZE}x{SIZE} input -> feature maps {answer_2}; the notebook's text gives 8x8 at 299x299, "
      "3x3 at 150x150 (and 2x2 at 128x128)")

# %% answer_3
# Why: five different guesses out of num_classes classes contain the true class with probability
# 5 / num_classes (1 when there are five classes or fewer).
answer_3 = min(1.0, 5 / data.num_classes)

# %% answer_4
# Why: the unfrozen blocks are base.layers[cut_index:]; keep those that are BatchNormalization layers.
# unfreeze_top set trainable = False on each of them again, so they stay in inference mode under fit.
bn_in_top = [layer.name for layer in base.layers[tuned["cut_index"]:]
             if isinstance(layer, keras.layers.BatchNormalization)]
answer_4 = len(bn_in_top)
print(f"{answer_4} BatchNormalization layers in the unfrozen blocks, all frozen:",
      not any(base.get_layer(name).trainable for name in bn_in_top))

# %% answer_5
# Why: fit calls the model with training=True, and in Keras 3 that overrides the training=False recorded
# when the backbone was called; so the layer's own trainable flag alone decides. The two cases with a
# trainable BatchNormalization layer moved their moving mean (and trained gamma); the two frozen ones did not.
answer_5 = int(bn_demo["moving mean changed"].sum())
print(bn_demo.groupby("bn.trainable")["moving mean changed"].sum())

# %% [markdown] stretch 6
# **6 (stretch, no self-check): how much to unfreeze.** Phase 2 changes the weights, so start each
# variant from the phase-1 weights: save them right after phase 1 (`model.save_weights("phase1.weights.h5")`),
# and before each variant load them back, unfreeze and compile again:
#
# ```python
# model.load_weights("phase1.weights.h5")
# base.trainable = False                     # back to the phase-1 state before a new cut
# cut = finetune.unfreeze_top(base, from_layer_name="mixed5", model=model)   # or "mixed9"
# model.compile(optimizer=keras.optimizers.SGD(learning_rate=TUNE_LR, momentum=0.9),
#               loss="sparse_categorical_crossentropy", metrics=["accuracy", top5()])
# variant = training.timed_fit(model, data.train, validation_data=data.val, epochs=tune_epochs,
#                              callbacks=training.standard_callbacks(patience=CFG["patience"]))
# plotting.plot_history([fit1.history, variant.history], metrics=("loss", "accuracy"))
# ```
#
# What to compare: `cut["trainable_params_after"]` (more blocks, more parameters), seconds per epoch
# (`variant.seconds / variant.epochs`: more unfrozen layers means more gradients to compute) and the
# validation accuracy. For the BatchNormalization experiment, `unfreeze_top(..., keep_bn_frozen=False)` is
# enough on its own: the `training=False` with which `transfer_model` calls the base does not protect the
# BatchNormalization layers in Keras 3 (`fit` passes `training=True` and it wins, as `bn_demo` showed), so
# every BatchNormalization layer above the cut now normalises each batch with its own statistics and moves
# its ImageNet moving averages towards those of small batches of fruit on white. The notebook's check
# `finetune.relative_change(bn_stats, bn_now) == 0` would fail (it asserts only when `keep_bn_frozen` is
# True, so print the change yourself), and on the real data the curves can jump at the phase line. Measure
# it on your run rather than take it on trust.
#
# **7 (stretch, no self-check): a fairer test.** Keep whole rotation groups apart:
#
# ```python
# def is_r2(path):
#     return Path(path).name.startswith("r2_")
#
# held_out = [(f, y) for split in ("train", "val") for f, y in zip(data.files[split], data.labels[split]) if is_r2(f)]
# for split in ("train", "val"):
#     kept = [(f, y) for f, y in zip(data.files[split], data.labels[split]) if not is_r2(f)]
#     data.files[split], data.labels[split] = [f for f, _ in kept], [y for _, y in kept]
# group_files, group_labels = [f for f, _ in held_out], [y for _, y in held_out]
# group_test = pipeline.make_dataset(group_files, group_labels, image_size=CACHED, batch_size=CFG["batch_size"])
# ```
#
# (`from pathlib import Path` first; `image_size=CACHED` because the model takes the images at the size they
# are cached at and enlarges them itself; rebuild `data.train` and `data.val` with `pipeline.make_dataset` as
# the capping cell does, retrain both phases, and evaluate on `group_test`; for the lookup, fit
# `KNeighborsClassifier` on `thumbnails(data.files["train"], ...)` and score it on
# `thumbnails(group_files, group_labels)`.) The original test folder's `r2_` files are dropped, as the
# exercise says. Check `len(group_files)` and which classes it covers (`set(group_labels)`) before reading
# the scores: classes without `r2_` frames are missing from this test, and no file of the generated
# sample starts with `r2_`, so try it on the real data. Expect both accuracies to fall
# compared with the notebook's test set; the pixel lookup should fall more, since it can no longer find a
# near-copy of the same video. How far each falls is what the exercise measures.
#
# **8 (stretch, no self-check): did /255 cost the article anything?** After the model cell (either recipe),
# train the article's single phase twice on the course's split, validating on `data.val` (never on the test
# set), once with the article's range and once with InceptionV3's:
#
# ```python
# geometry = {k: v for k, v in S["augmentation"].items() if k != "rescale"}  # shear, zoom, flip
# for name, scale in (("/255", keras.layers.Rescaling(1 / 255)),
#                     ("[-1, 1]", keras.layers.Rescaling(1 / 127.5, offset=-1))):
#     keras.utils.set_random_seed(SEED)
#     trial_base = keras.applications.InceptionV3(include_top=False, weights=CFG["weights"],
#                                                 input_shape=(SIZE, SIZE, 3))
#     inputs = keras.Input((SIZE, SIZE, 3))
#     x = trial_base(scale(augmentation.from_image_data_generator_args(**geometry, seed=SEED)(inputs)))
#     x = keras.layers.Dense(512, activation="relu")(keras.layers.GlobalAveragePooling2D()(x))
#     trial = keras.Model(inputs, keras.layers.Dense(data.num_classes, activation="softmax")(x))
#     trial = pipeline.resize_in_model(trial, CACHED)  # data.train delivers CACHED-size images, as for `model`
#     trial.compile(optimizer=keras.optimizers.SGD(learning_rate=TUNE_LR, momentum=MOMENTUM), loss=LOSS,
#                   metrics=["accuracy"])
#     fit = training.timed_fit(trial, data.train, validation_data=data.val, epochs=tune_epochs)
#     print(name, [round(v, 4) for v in fit.history.history["val_accuracy"]])
# ```
#
# For the second comparison, set `bn.trainable = False` on every layer of
# `finetune.batchnorm_layers(trial_base)` before `compile`: then the stored ImageNet statistics meet the
# [0, 1] input in every step, as in the inference-mode column of the notebook's measurement, and the gap
# between the two ranges should widen. If the measurement's training-mode column tells the whole story,
# the trainable-BatchNormalization pair ends close together and the frozen pair further apart; one run per
# setting is noisy, so repeat with another seed before you conclude.
