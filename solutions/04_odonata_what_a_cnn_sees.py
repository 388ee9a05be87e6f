"""Solutions to the exercises of 04 · What a CNN sees. Try them yourself first.

Each ``# %% answer_N`` cell replaces the notebook's ``answer_N = None`` cell. The answers are computed
from the notebook's own settings and objects (``CFG``, ``SIZE``, ``y_true``, ``y_prob``, ``model``,
``right``, ``wrong``, ``test_ds``, ``split``), so they are right in every profile and with either ``RECIPE``;
the notebook's checks grade them with the answer key in ``helpers/answer_keys/ch04.py``.
``tools/check_solutions.py`` runs the notebook with these cells pasted in and requires every self-check
to print "correct".
"""
# ruff: noqa: F821  (the cells use the notebook's variables)

# %% answer_1
# Why: a kernel has height x width x input channels weights, one kernel per filter. The Grayscale layer
# hands the first convolution 1 channel, so 3 * 3 * 1 * filters (the colour model has 3 times as many).
answer_1 = 3 * 3 * 1 * CFG["filters"][0]
print("kernel shape:", tuple(nets["grayscale"].get_layer("block1_conv1").kernel.shape))

# %% answer_2
# Why: each 2x2 max pooling halves height and width; block1_pool and block2_pool come before
# block3_conv2 ("same" padding keeps the size through the convolutions), so the side is SIZE / 4.
answer_2 = (SIZE // 2 // 2, SIZE // 2 // 2)
print("block3_conv2 output:", model.get_layer("block3_conv2").output.shape)

# %% answer_3
# Why: the predicted class is the column with the highest probability; count where it differs from the
# true label. y_prob holds the explained model's test predictions, in the same order as y_true.
predicted_classes = np.argmax(y_prob, axis=1)
answer_3 = int(np.count_nonzero(predicted_classes != y_true))

# %% answer_4
# Why: with two classes the class the model did not choose is 1 minus the predicted one. Grad-CAM for it
# shows where the evidence for that class lies (for a wrong prediction, that is the true class). The
# notebook's grad_cam_by_hand always explains the predicted class; explain.grad_cam takes class_index=
# (in grad_cam_by_hand it would replace `predicted` in tf.gather).
case = wrong[0] if len(wrong) else right[0]
chosen = int(y_prob[case].argmax())
not_chosen = 1 - chosen
case_image, _ = explain.images_at(test_ds, [case])  # the test set of this run's recipe, in test order
both_maps = np.concatenate([explain.grad_cam(model, case_image, class_index=chosen),
                            explain.grad_cam(model, case_image, class_index=not_chosen)])
display(explain.plot_grad_cam(np.concatenate([case_image, case_image]), both_maps, ncols=2,
                              titles=[f"evidence for {data.class_names[chosen]} (predicted)",
                                      f"evidence for {data.class_names[not_chosen]}"]))
answer_4 = not_chosen

# %% answer_5
# Why: each test row (p, m) is photo p, mirrored (m = 1) or not (m = 0); its twin is (p, 1 - m). Put the
# training rows in a set, then count the test rows whose twin is in it. With the article's way of splitting
# (the doubled set, pairs ignored) about three test images in four have their twin in training.
in_training = {(int(p), int(m)) for p, m in split.train}
answer_5 = sum((int(p), 1 - int(m)) in in_training for p, m in split.test)
print(f"{answer_5} of {len(split.test)} test images ({answer_5 / len(split.test):.0%}) have their twin in training")

# %% [markdown] stretch 6
# **6 (stretch, no self-check): the other model's Grad-CAM.** With the notebook's objects:
#
# ```python
# other_variant = "colour" if best == "grayscale" else "grayscale"
# other_heat = explain.grad_cam(nets[other_variant], case_images)
# explain.plot_grad_cam(case_images, other_heat, titles=explain.case_titles(cases, y_true, y_prob, data.class_names),
#                       ncols=4, title=f"Grad-CAM of the {other_variant} model on the same photos")
# ```
#
# Note that `case_titles` and the colours refer to the explained model's predictions; the other model
# may predict differently. To compare the two maps photo by photo, look at where each heat map's
# strongest area sits: on the insect for both models, or on the background (leaves, water) for one of
# them? A colour model can pick up a colour shortcut (a green background) that the grayscale model cannot
# see. On the `smoke` sample the images are generated shapes, so only the code is tested. With
# `PROFILE="quick"`, go through the most confidently wrong photos (`wrong`) and look for two insects in
# one frame: the article's example of a mistake was a photo of mating dragonflies that its model called a
# damselfly. Whether such a photo is among your four depends on your run, so report what you actually see.
