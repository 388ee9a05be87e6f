"""Solutions to the exercises of 03 · Data augmentation. Try them yourself first.

Each ``# %% answer_N`` cell replaces the notebook's ``answer_N = None`` cell. Exercises 1 and 2 are
fixed facts of the layers' units; exercises 3 and 4 are read off the notebook's own objects (the
``augmented`` model, the ``runs`` table), so they are right in every profile and with either ``RECIPE``.
``tools/check_solutions.py`` runs the notebook with these cells pasted in and requires every self-check to
print "correct".
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
# Why: a choice between runs is made on the validation set, never on the test set (a run picked for its
# test accuracy would make that figure the best of several looks at the test images, no longer an honest
# estimate). Read the table under "Which run is best?": the row with the highest validation accuracy of
# the weights each run kept (the column holds formatted strings, so compare them as numbers). On a tie the
# first row listed wins, as in the notebook. The test columns play no part.
best_row = runs["validation accuracy"].astype(float).idxmax()
answer_4 = runs.loc[best_row, "run"]
print(runs[["run", "epoch kept", "validation accuracy"]].to_string(index=False))

# %% [markdown] stretch 5
# **5 (stretch, no self-check).** A sketch for the three experiments, with the notebook's objects (run
# with `PROFILE = "quick"` and `RECIPE = "course"`, on a GPU). Every variant is scored on the
# **validation** set; the test set is read once, at the end, for the one variant you decide to keep.
#
# ```python
# def train(block, epochs, filters=CFG["filters"]):
#     keras.utils.set_random_seed(SEED)
#     net = models.scratch_cnn(shape, data.num_classes, filters=filters, dense=CFG["dense"], augmentation=block)
#     net.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
#                 loss="sparse_categorical_crossentropy", metrics=["accuracy"])
#     timer = training.Timer()
#     history = net.fit(data.train, validation_data=data.val, epochs=epochs,
#                       callbacks=[*training.standard_callbacks(patience=CFG["patience"]), timer],
#                       verbose=training.fit_verbosity())
#     y_val, p_val = evaluation.predict_dataset(net, data.val)  # validation, not test
#     return net, history, evaluation.classification_metrics(y_val, p_val)["accuracy"]
#
# # (a) the article's transformations with the long schedule
# strong_long = train(article_block(), CFG["better_epochs"])
# # (b) a wider network, with and without the mild recipe
# wide_plain = train(None, CFG["better_epochs"], filters=(64, 128, 256))
# wide_mild = train(augmentation.recommended_augmentation(seed=SEED), CFG["better_epochs"], filters=(64, 128, 256))
# # (c) the mild recipe plus vertical flips
# flipped = keras.Sequential([*augmentation.recommended_augmentation(seed=SEED).layers,
#                             keras.layers.RandomFlip("vertical", seed=SEED)])
# flip_run = train(flipped, CFG["better_epochs"])
#
# # only now, and only for the variant you keep: its single look at the test set
# kept_net = wide_mild[0]  # for example, if it had the best validation accuracy
# print(evaluation.classification_metrics(*evaluation.predict_dataset(kept_net, data.test))["accuracy"])
# ```
#
# What to look at: (a) whether the article's transformations still improve the validation loss when the long
# schedule ends (it learns more slowly, so it may close part of the gap without catching up); (b) the
# validation gap between `wide_mild` and `wide_plain` compared with the gap in the notebook's validation
# table (a wider network over-fits more, so it has more to gain from augmentation); (c) the per-class
# validation accuracy of glacier and mountain (`evaluation.per_class_accuracy` on a confusion matrix of the
# validation predictions) with and without the vertical flip: upside-down skies are images no real photo
# looks like, so expect these classes not to gain. Write down your own figures;
# one run per setting moves by a point or so with the seed.
