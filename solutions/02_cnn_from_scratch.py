"""Solutions to the exercises of 02 · A CNN from scratch. Try them yourself first.

Each ``# %% answer_N`` cell replaces the notebook's ``answer_N = None`` cell. Exercises 1 to 3 are
arithmetic on the two architectures; exercises 4 and 5 depend on the run, so they are read off the
notebook's own objects (``cm``, ``fit``, ``early_stopping``) and are right in every profile and with either
``RECIPE``. ``tools/check_solutions.py`` runs the notebook with these cells pasted in and requires every
self-check to print "correct".
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
side = 128
for _ in range(3):
    side //= 2
answer_2 = (side * side * 128 + 1) * 128

# %% answer_3
# Why: a 3x3 convolution without padding ("valid") only visits positions where the filter fits, so it
# takes one pixel off each border (2 off the side); then the pooling halves the side, rounding down:
# 128 -> 126 -> 63, 63 -> 61 -> 30, 30 -> 28 -> 14. The last block has 32 filters, so Flatten hands
# 14 * 14 * 32 = 6,272 numbers to the dense layer: (6,272 + 1) * 128 = 802,944, a fifth of answer_2.
side = 128
for _ in range(3):
    side = (side - 2) // 2
answer_3 = (side * side * 32 + 1) * 128

# %% answer_4
# Why: recall = correct glaciers / all true glaciers. Rows of cm are the true classes, so take the glacier
# row: its diagonal cell over the row's total.
glacier = data.class_names.index("glacier")
answer_4 = float(cm[glacier, glacier] / cm[glacier].sum())

# %% answer_5
# Why: with restore_best_weights=True (the course recipe) early stopping put back the weights of the
# epoch with the lowest validation loss; list.index gives its 0-based position, epochs count from 1.
# With restore_best_weights=False (the article recipe) nothing is put back: the model holds the weights
# of the last epoch it trained, `patience` epochs after its best one when early stopping ended the run.
val_losses = history.history["val_loss"]
best_epoch, last_epoch = val_losses.index(min(val_losses)) + 1, len(val_losses)
answer_5 = best_epoch if early_stopping.restore_best_weights else last_epoch

# %% [markdown] stretch 6
# **6 (stretch, no self-check): dropout against over-fitting.** A sketch, with the notebook's objects:
#
# ```python
# keras.utils.set_random_seed(SEED)
# no_dropout = models.scratch_cnn((SIZE, SIZE, 3), data.num_classes, dropout=0.0)
# no_dropout.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
#                    loss="sparse_categorical_crossentropy", metrics=["accuracy"])
# history_nd = no_dropout.fit(data.train, validation_data=data.val, epochs=15, verbose=training.fit_verbosity())
# display(plotting.plot_history([history, history_nd], title="this run vs no dropout"))
# ```
#
# (`plot_history` with a list joins the runs end to end, with a dashed line between them; to overlay
# them instead, plot `history_nd.history["val_loss"]` and `history.history["val_loss"]` on one
# axis yourself.)
#
# What to look for, on the real data (`quick`), on the validation curves (the test set is for the final
# figure of a model you have already chosen, not for comparing candidates): without dropout the training
# loss falls faster and keeps falling, while the validation loss reaches its minimum earlier and then
# rises: the gap between the two curves opens sooner and gets wider, which is over-fitting. Without early
# stopping the run goes on past that minimum, and its last-epoch validation loss shows how much worse the
# last weights are than the best ones (how much depends on the run: measure it). With `dropout=0.4` the
# gap opens later and stays smaller, but training is slower and may need more epochs. On the `smoke`
# sample none of this can be judged: the task is easy and the validation set holds a few dozen images.
