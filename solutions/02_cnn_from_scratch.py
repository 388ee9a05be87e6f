"""Solutions to the exercises of 02 · A CNN from scratch. Try them yourself first.

Each ``# %% answer_N`` cell replaces the notebook's ``answer_N = None`` cell. Exercises 1 and 2 are
arithmetic on the architecture; exercises 3 and 4 depend on the run, so they are read off the notebook's
own objects (``cm``, ``fit``) and are right in every profile. ``tools/check_solutions.py`` runs the
notebook with these cells pasted in and requires every self-check to print "correct".
"""
# ruff: noqa: F821  (the cells use the notebook's variables)

# %% answer_1
# Why: a Conv2D layer has (k * k * C + 1) * F parameters: per filter, one weight per kernel position and
# input channel (3x3 on RGB: 27) plus one bias. With 16 filters: 28 * 16 = 448, half of the 896 of 32.
answer_1 = (3 * 3 * 3 + 1) * 16

# %% answer_2
# Why: "same" padding keeps the side through each convolution and each pooling halves it, rounding down:
# 128 -> 64 -> 32 -> 16. Flatten then hands 16 * 16 * 128 numbers to dense1, which has one weight per
# input and unit plus one bias per unit: (32,768 + 1) * 128 = 4,194,432.
side_after_pools = 128
for _ in range(3):
    side_after_pools //= 2
flat_inputs = side_after_pools * side_after_pools * 128
answer_2 = (flat_inputs + 1) * 128

# %% answer_3
# Why: recall = correct glaciers / all true glaciers. Rows of cm are the true classes, so take the glacier
# row: its diagonal cell over the row's total.
glacier = data.class_names.index("glacier")
answer_3 = float(cm[glacier, glacier] / cm[glacier].sum())

# %% answer_4
# Why: early stopping restored the epoch with the lowest validation loss. list.index gives its 0-based
# position in the history; epochs are counted from 1.
val_losses = fit.history.history["val_loss"]
answer_4 = val_losses.index(min(val_losses)) + 1

# %% [markdown] stretch 5
# **5 (stretch, no self-check): dropout against over-fitting.** A sketch, with the notebook's objects:
#
# ```python
# keras.utils.set_random_seed(SEED)
# no_dropout = models.scratch_cnn((SIZE, SIZE, 3), data.num_classes, dropout=0.0)
# no_dropout.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
#                    loss="sparse_categorical_crossentropy", metrics=["accuracy"])
# fit_nd = training.timed_fit(no_dropout, data.train, validation_data=data.val, epochs=15, callbacks=[])
# display(plotting.plot_history([fit.history, fit_nd.history], title="dropout 0.25 vs no dropout"))
# y_true_nd, y_prob_nd = evaluation.predict_dataset(no_dropout, data.test)
# print(evaluation.classification_metrics(y_true_nd, y_prob_nd)["accuracy"], metrics["accuracy"])
# ```
#
# (`plot_history` with a list joins the runs end to end, with a dashed line between them; to overlay
# them instead, plot `fit_nd.history.history["val_loss"]` and `fit.history.history["val_loss"]` on one
# axis yourself.)
#
# What to look for, on the real data (`quick`): without dropout the training loss falls faster and keeps
# falling, while the validation loss reaches its minimum earlier and then rises: the gap between the
# two curves opens sooner and gets wider, which is over-fitting. Without early stopping, the model you
# evaluate is the one of the last epoch, usually past its best, so expect its test accuracy to be lower
# than the model above (how much lower depends on the run: measure it). With `dropout=0.4` the gap
# opens later and stays smaller, but training is slower and may need more epochs. On the `smoke` sample
# none of this can be judged: the task is easy and the validation set holds a few dozen images.
