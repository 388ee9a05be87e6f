"""Solutions to the exercises of 09 · Your own dataset. Try them yourself first.

Each ``# %% answer_N`` cell replaces the notebook's ``answer_N = None`` cell. The answers are read off
the notebook's own objects (``data``, ``majority``, ``base``, ``exported``, ``phone_scan``), so they are right for any
folder, any profile and any backbone. The notebook's self-checks grade them with the chapter's answer key,
``helpers/answer_keys/ch09.py``; ``tools/check_solutions.py`` runs the notebook with these cells pasted in
and requires every self-check to print "correct".
"""
# ruff: noqa: F821  (the cells use the notebook's variables)

# %% answer_1
# Why: counts() gives {split: {class: count}}; the test set's size is the sum over its classes.
answer_1 = sum(data.counts()["test"].values())

# %% answer_2
# Why: always answering the most common class is right exactly on the images of that class: its share
# of the test split. The notebook computed this reference point as `majority`, next to chance.
answer_2 = majority
print(f"majority class: {answer_2:.4f}, chance: {chance:.4f}")

# %% answer_3
# Why: before unfreeze_top the backbone was frozen and had no trainable tensor; afterwards the layers
# above the cut hold all the tensors fine-tuning added (BatchNormalization stays frozen), so the
# backbone's trainable tensors are the answer. `tuned` says the same as after minus before.
answer_3 = len(base.trainable_weights)
print(f"trainable tensors {tuned['trainable_weights_before']} -> {tuned['trainable_weights_after']}")

# %% answer_4
# Why: labels.json is a small JSON file; json.loads turns it into a dict whose "image_size" entry is a
# list [height, width]. It is the (SIZE, SIZE) the model was exported with.
import json

exported_labels = json.loads(exported.labels.read_text())
print(exported_labels)
answer_4 = tuple(exported_labels["image_size"])

# %% answer_5
# Why: a phone held upright stores its sensor's landscape pixels and the tag Orientation=6 (or 8 the other
# way round; 5 and 7 are the mirrored quarter turns). Pillow reads the EXIF tag without decoding the pixels;
# a viewer, and the course's decoding, turn such photos upright, tf.io.decode_image alone does not.
from PIL import Image

turned = []
for stored in phone_scan.files["all"]:
    with Image.open(stored) as image:
        if image.getexif().get(0x0112, 1) in (5, 6, 7, 8):
            turned.append(stored.name)
print("stored a quarter turn away:", turned)
answer_5 = len(turned)

# %% [markdown] stretch 6
# **6 (stretch, no self-check): your own photos.** The notebook needs only `DATA_DIR` (and `PROFILE =
# "quick"`); on Colab, after uploading `my_photos.zip`, `!unzip -q my_photos.zip` and `DATA_DIR =
# "my_photos"`. Read the scan first: the class names it found, the counts (a class with far fewer photos
# calls for the balanced accuracy) and the skipped files. Then the comparison: with a few dozen photos per
# class a pretrained backbone usually beats the CNN from scratch clearly; if it does not, suspect the
# labels or the folders. In the gallery of confident mistakes, look for what the wrong photos share
# (the same background, the same light, a class that only ever appears in one room): that is what the
# model learned instead of the object. Remember the test set is small: one photo can be several points.

# %% [markdown] stretch 7
# **7 (stretch, no self-check): a smaller phone model.**
#
# ```python
# import tensorflow as tf
#
# converter = tf.lite.TFLiteConverter.from_saved_model(str(exported.saved_model))
# converter.optimizations = [tf.lite.Optimize.DEFAULT]   # dynamic-range quantization: 8-bit weights
# small = exported.folder / "model_int8.tflite"
# small.write_bytes(converter.convert())
# print(f"{exported.tflite.stat().st_size / 1e6:.2f} MB -> {small.stat().st_size / 1e6:.2f} MB")
# print(export.compare_outputs(reference, {"model_int8.tflite": export.load_predictor(small)}, test_images.numpy()))
# ```
#
# The weights shrink from 32 to 8 bits, so most of the file shrinks about four times (the graph itself
# and small tensors do not). The comparison reports, for the batch of test images, the share with the
# same class and the largest probability difference: expect the differences well above the 1e-4 of the
# float32 exports, and check the class agreement, then the accuracy on the whole test split, before
# shipping the small file. On the smoke profile's random-weight model the numbers mean little.

# %% [markdown] stretch 8
# **8 (stretch, no self-check): another backbone.** Set `BACKBONE = "MobileNetV2"`, run, note the row of
# the comparison (validation accuracy, `parameters`, `train s`) and `exported.sizes()`; then the same with
# `"ResNet50V2"`. The `parameters` column shows ResNet50V2 several times larger than MobileNetV2, and the
# exported files grow with the parameter count (4 bytes per float32 weight), so for a phone the usual
# choice is the smallest model whose validation accuracy is close enough to the best. Decide on your own
# figures, and remember that a few points on a small validation set may be noise.
