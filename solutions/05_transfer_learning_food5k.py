"""Solutions to the exercises of 05 · Transfer learning on Food-5K. Try them yourself first.

Each ``# %% answer_N`` cell replaces the notebook's ``answer_N = None`` cell. The answers use the
notebook's own objects (``base``, ``CLASS_NAMES``, ``train_x``, ``bn_demo``), so they are right in every
profile; the self-checks grade them with the chapter's answer key (``helpers/answer_keys/ch05.py``).
``tools/check_solutions.py`` runs the notebook with these cells pasted in and requires every self-check
to print "correct".
"""
# ruff: noqa: F821  (the cells use the notebook's variables)

# %% answer_1
# Why: global average pooling turns each of the backbone's last feature maps into one number, so a
# feature vector has as many numbers as the backbone's last layer has channels (2,048 for ResNet50).
answer_1 = int(base.output.shape[-1])
print("cached features:", train_x.shape, "-> one vector of", answer_1, "numbers per image")

# %% answer_2
# Why: alphabetical order sorts the folder names as Python sorts strings: "food" < "non_food", so food
# would be 0, the opposite of EPFL's file names (1 = food).
answer_2 = sorted(["food", "non_food"]).index("food")

# %% answer_3
# Why: caching is allowed when the same image gives the same backbone output in every epoch.
# (a) yes: frozen backbone, nothing random before it.
# (b) no: the random flips and zooms change the image every epoch, before the backbone.
# (c) no: the unfrozen block's weights change at every step, so the features change.
# (d) yes: dropout and extra Dense layers come after the backbone; the head trains on fixed features.
answer_3 = "ad"

# %% answer_4
# Why: the head is Dense(256) on the features, dropout (no weights), then Dense(2). A Dense layer has
# (inputs + 1) * units parameters: (2048 + 1) * 256 + (256 + 1) * 2 for ResNet50's 2,048 features.
feature_dim = train_x.shape[1]
answer_4 = (feature_dim + 1) * 256 + (256 + 1) * 2
# Then train it on the cached features for 20 epochs (seconds) and compare it with the one-layer head on
# the VALIDATION split: that is where a choice between models is made; the test split only gives the
# final figure of the model you keep. The extra capacity is worth it only if it clearly beats the
# one-layer head there; pretrained features that already separate food from non-food with a linear
# layer leave it little to add.
big_head = features.head_model(feature_dim, 2, head_units=256)
big_head.compile(optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
                 loss="sparse_categorical_crossentropy", metrics=["accuracy"])
big_timer = training.Timer()
big_head.fit(train_f, validation_data=val_f, epochs=20, callbacks=[big_timer], shuffle=False,  # train_f shuffles
             verbose=0)
big_val = big_head.evaluate(val_f, verbose=0, return_dict=True)["accuracy"]
small_val = head.evaluate(val_f, verbose=0, return_dict=True)["accuracy"]
print(f"20 epochs in {big_timer.seconds:.1f} s; validation accuracy: Dense 256 head {big_val:.4f}, "
      f"one-layer head {small_val:.4f}")

# %% answer_5
# Why: in Keras 3, fit calls the model with training=True, and that overrides the training=False recorded
# when the backbone was called, so a trainable BatchNormalization layer updates its moving mean either
# way. Only the layer's own trainable = False keeps it still (the two bn.trainable = False rows).
trainable_rows = bn_demo[bn_demo["bn.trainable"]]
print(trainable_rows)
kept_still = trainable_rows.loc[~trainable_rows["moving mean changed"], "backbone called with"].tolist()
answer_5 = kept_still[0] if len(kept_still) == 1 else "neither"

# %% [markdown] stretch 6
# **6 (stretch, no self-check): your photo.**
#
# ```python
# url = "https://..."   # the address of a JPEG or PNG, e.g. "Copy image address" in a browser
# print(predict.predict_image(reloaded, url, CLASS_NAMES, IMAGE_SIZE))   # ('food', 0.97) or similar
# predict.predict_image(reloaded, "https://example.com/no-such-photo.jpg", CLASS_NAMES, IMAGE_SIZE)
# ```
#
# The first call downloads the image into a temporary file, decodes and resizes it exactly as the
# training images were, and returns the class and its probability. The second raises
# `predict.ImageDownloadError` with one message that names the address, the reason (the server's HTTP
# status, or no connection at all) and what to do: check the address and the network, or download the
# image yourself and pass its path. The address of a web page instead of an image raises a `ValueError`:
# the downloaded HTML is not an image TensorFlow can decode.
# With the `smoke` profile the model has random backbone weights and its answer on a real photo means
# nothing; with `quick` it should say "food" for your lunch with a high probability, and "non_food" for
# your desk.
