"""Solutions to the exercises of 03 · Data augmentation. Try them yourself first.

Each ``# %% answer_N`` cell replaces the notebook's ``answer_N = None`` cell. Exercises 1 and 2 are
fixed facts of the layers' units; exercises 3 and 4 are read off the notebook's own objects (the
``augmented`` model, the ``runs`` table), so they are right in every profile. ``tools/check_solutions.py``
runs the notebook with these cells pasted in and requires every self-check to print "correct".
"""
# ruff: noqa: F821  (the cells use the notebook's variables)

# %% answer_1
# Why: ImageDataGenerator's rotation_range is in degrees, RandomRotation's factor is a fraction of a full
# turn (360 degrees): 30 degrees / 360 = 0.0833. Passing 30 would allow 30 full turns.
answer_1 = 30 / 360
print(f"RandomRotation({answer_1:.4f}) turns a line by {augmentation.measured_rotation(answer_1):.0f} degrees")

# %% answer_2
# Why: RandomZoom scales the field of view by 1 + factor. A negative factor shrinks the field of view,
# so the image looks larger: it zooms in. (-0.2, 0.0) zooms in by up to 20 % and never out.
answer_2 = (-0.2, 0.0)
print(f"factor -0.2: the square looks {augmentation.measured_zoom(-0.2):.2f}x as large (zoomed in)")

# %% answer_3
# Why: augmentation layers draw random numbers; they learn nothing, so they add no trainable weight.
# Check it: the layers `augmented` has and `plain` has not are the augmentation block; count their
# trainable weights.
plain_names = {layer.name for layer in plain.layers}
added = [layer for layer in augmented.layers if layer.name not in plain_names]
print("layers only in the augmented model:", [f"{layer.name} ({type(layer).__name__})" for layer in added])
answer_3 = sum(int(np.prod(weight.shape)) for layer in added for weight in layer.trainable_weights)

# %% answer_4
# Why: read the table under "Which recipe wins?": the run in the row with the highest test accuracy (the
# column holds formatted strings, so compare them as numbers). On a tie the first row listed wins.
best_row = runs["test accuracy"].astype(float).idxmax()
answer_4 = runs.loc[best_row, "run"]
print(runs.to_string(index=False))

# %% [markdown] stretch 5
# **5 (stretch, no self-check).** A sketch for the three experiments, with the notebook's objects (run
# with `PROFILE = "quick"`, on a GPU):
#
# ```python
# def train(block, epochs, filters=CFG["filters"]):
#     keras.utils.set_random_seed(SEED)
#     net = models.scratch_cnn(shape, data.num_classes, filters=filters, dense=CFG["dense"], augmentation=block)
#     net.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
#                 loss="sparse_categorical_crossentropy", metrics=["accuracy"])
#     run = training.timed_fit(net, data.train, validation_data=data.val, epochs=epochs,
#                              callbacks=training.standard_callbacks(patience=CFG["patience"]))
#     y_true, y_prob = evaluation.predict_dataset(net, data.test)
#     return run, evaluation.classification_metrics(y_true, y_prob)["accuracy"]
#
# # (a) the strong recipe with the long schedule
# strong_long = train(augmentation.article_augmentation(seed=SEED), CFG["better_epochs"])
# # (b) a wider network, with and without the mild recipe
# wide_plain = train(None, CFG["better_epochs"], filters=(64, 128, 256))
# wide_mild = train(augmentation.recommended_augmentation(seed=SEED), CFG["better_epochs"], filters=(64, 128, 256))
# # (c) the mild recipe plus vertical flips
# flipped = keras.Sequential([*augmentation.recommended_augmentation(seed=SEED).layers,
#                             keras.layers.RandomFlip("vertical", seed=SEED)])
# flip_run = train(flipped, CFG["better_epochs"])
# ```
#
# What to look at: (a) whether the strong recipe's validation curve is still rising when the long
# schedule ends (it learns more slowly, so it may close part of the gap without catching up); (b) the
# gap between `wide_mild` and `wide_plain` compared with the gap in the notebook's table (a wider network
# over-fits more, so it has more to gain from augmentation); (c) the per-class accuracy of glacier and
# mountain (`evaluation.per_class_accuracy`) with and without the vertical flip: upside-down skies are
# images no test photo looks like, so expect these classes not to gain. Write down your own figures;
# one run per setting moves by a point or so with the seed.
