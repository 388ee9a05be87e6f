"""Solutions to the exercises of 07 · Fine-tuning InceptionV3 on Fruits-360. Try them yourself first.

Each ``# %% answer_N`` cell replaces the notebook's ``answer_N = None`` cell. The answers are computed
from the notebook's own objects (``base``, ``tuned``, ``data``, ``sample_images``, ``to_backbone``,
``bn_demo``, ``fruits360_series``), so they are right in every profile, whatever the image size and the
number of classes.
``tools/check_solutions.py`` runs the notebook (course recipe) with these cells pasted in and requires
every self-check to print "correct".
"""
# ruff: noqa: F821  (the cells use the notebook's variables)

# %% answer_1
# Why: before the cut only the head trained; the unfrozen blocks added their own trainable tensors, the
# kernels of the convolutions after mixed8 (they have no bias, and BatchNormalization stays frozen).
# `tuned` holds the model's counts from before and after the loop; the difference is what unfreezing
# added. Cross-check: the backbone had no trainable tensor before the loop, so it now holds exactly those.
# (With RECIPE = "article" nothing was frozen, so unfreezing added nothing: the answer there is 0.)
answer_1 = tuned["trainable_weights_after"] - tuned["trainable_weights_before"]
print(f"trainable tensors of the whole model: {tuned['trainable_weights_before']} -> "
      f"{tuned['trainable_weights_after']}; of the backbone now: {len(base.trainable_weights)}")

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

# %% answer_6
# Why: a series is a class folder plus the prefix of the file names (`fruits360_series`). Collect the
# series of each split and count those in both. Every test series of the sample (and of `Apple 10` in the
# real 100x100 branch) has frames in training: the test folder's frames interleave with the training
# folder's, film by film. (Compare: the held-out validation series share none with training.)
train_series_set = {fruits360_series(path) for path in data.files["train"]}
test_series_set = {fruits360_series(path) for path in data.files["test"]}
answer_6 = len(train_series_set & test_series_set)
print(f"{answer_6} of the test set's {len(test_series_set)} series also have frames in training")

# %% [markdown] stretch 7
# **7 (stretch, no self-check): how much to unfreeze.** Phase 2 changes the weights, so start each
# variant from the phase-1 weights: save them right after phase 1 (`model.save_weights("phase1.weights.h5")`),
# and before each variant load them back, unfreeze with the helper (it does what the notebook's loop did,
# whatever was unfrozen before) and compile again:
#
# ```python
# model.load_weights("phase1.weights.h5")
# cut = finetune.unfreeze_top(base, from_layer_name="mixed5", model=model)   # or "mixed9"
# model.compile(optimizer=keras.optimizers.SGD(learning_rate=CFG["finetune_lr"], momentum=0.9),
#               loss="sparse_categorical_crossentropy", metrics=["accuracy", top5()])
# variant_callbacks = training.standard_callbacks(patience=CFG["patience"])
# timer = training.Timer()
# variant = model.fit(data.train, validation_data=data.val, initial_epoch=start, epochs=start + CFG["finetune_epochs"],
#                     callbacks=[*variant_callbacks, timer], verbose=training.fit_verbosity())
# plotting.plot_history([history1, variant], metrics=("loss", "accuracy"))
# ```
#
# What to compare: `cut["trainable_params_after"]` (more blocks, more parameters), seconds per epoch
# (`timer.seconds / timer.epochs`: more unfrozen layers means more gradients to compute) and the
# validation accuracy. For the BatchNormalization experiment, `unfreeze_top(..., keep_bn_frozen=False)` is
# enough on its own: the `training=False` with which `transfer_model` calls the base does not protect the
# BatchNormalization layers in Keras 3 (`fit` passes `training=True` and it wins, as `bn_demo` showed), so
# every BatchNormalization layer above the cut now normalises each batch with its own statistics and moves
# its ImageNet moving averages towards those of small batches of fruit on white. The notebook's check
# `finetune.relative_change(bn_stats, bn_now) == 0` would fail (it asserts only when `keep_bn_frozen` is
# True, so print the change yourself), and on the real data the curves can jump at the phase line. Measure
# it on your run rather than take it on trust.
#
# **8 (stretch, no self-check): a test of unseen series.** After the capping cell, split the training
# series once more and keep the second held-out part aside as a test nobody looks at while choosing:
#
# ```python
# train_files, train_labels = data.files["train"], np.asarray(data.labels["train"])
# rest, unseen = splits.grouped_split(train_labels, [fruits360_series(f) for f in train_files], 0.2, seed=SEED + 1)
# unseen_files, unseen_labels = [train_files[i] for i in unseen], train_labels[unseen].tolist()
# unseen_test = pipeline.make_dataset(unseen_files, unseen_labels, image_size=CACHED, batch_size=CFG["batch_size"])
# data.files["train"], data.labels["train"] = [train_files[i] for i in rest], train_labels[rest].tolist()
# data.train = pipeline.make_dataset(data.files["train"], data.labels["train"], image_size=CACHED,
#                                    batch_size=CFG["batch_size"], shuffle=True, seed=SEED)
# ```
#
# (`image_size=CACHED` because the model takes the images at the size they are cached at and enlarges
# them itself.) Then run the notebook on from the model cell, so both phases train on `data.train` and
# validate on `data.val` as before, and score the final model once: `model.evaluate(unseen_test)`. For
# the lookup, fit `KNeighborsClassifier(n_neighbors=1)` on `thumbnails(data.files["train"], data.labels["train"])`
# and score it on `thumbnails(unseen_files, unseen_labels)`. Check which classes the unseen test covers
# (`set(unseen_labels)`): a class with only one series left in training cannot give one away. Expect both
# accuracies to fall compared with the test folder; the pixel lookup should fall more, since no frame of
# those films is left to copy. How far each falls is what the exercise measures; on the generated sample
# the sets are a handful of images, so try it on the real data.
#
# **9 (stretch, no self-check): did /255 cost the article anything?** After the model cell (either recipe),
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
#     trial.compile(optimizer=keras.optimizers.SGD(learning_rate=CFG["finetune_lr"], momentum=MOMENTUM), loss=LOSS,
#                   metrics=["accuracy"])
#     timer = training.Timer()
#     trial_history = trial.fit(data.train, validation_data=data.val, epochs=CFG["finetune_epochs"], callbacks=[timer],
#                               verbose=training.fit_verbosity())
#     print(name, [round(v, 4) for v in trial_history.history["val_accuracy"]], f"{timer.seconds:.0f} s")
# ```
#
# For the second comparison, set `bn.trainable = False` on every layer of
# `finetune.batchnorm_layers(trial_base)` before `compile`: then the stored ImageNet statistics meet the
# [0, 1] input in every step, as in the inference-mode column of the notebook's measurement, and the gap
# between the two ranges should widen. If the measurement's training-mode column tells the whole story,
# the trainable-BatchNormalization pair ends close together and the frozen pair further apart; one run per
# setting is noisy, so repeat with another seed before you conclude.
