"""Solutions to the exercises of 08 · Fine-tuning EfficientNetB0 on mosquitoes. Try them yourself first.

Each ``# %% answer_N`` cell replaces the notebook's ``answer_N = None`` cell. The answers are computed
from the notebook's own objects (``model``, ``hashes``, ``base``, ``bn_demo``, ``y_prob``, ``calibrated``,
``cluster_ids``), so they are right in every profile. The notebook's self-checks grade them with the
chapter's answer key, ``helpers/answer_keys/ch08.py``.
``tools/check_solutions.py`` runs the notebook with these cells pasted in and requires every self-check
to print "correct".
"""
# ruff: noqa: F821  (the cells use the notebook's variables)

# %% answer_1
# Why: count_params sums the shapes of the model's trainable weights. Nothing changed `trainable` since
# the unfreezing cell and its recompile, so counting now gives what fine-tuning trains: every unfrozen
# weight of the backbone's top blocks plus the head.
answer_1 = models.count_params(model)["trainable"]

# %% answer_2
# Why: XOR leaves a 1 where the bits differ:
#   10110010
#   10011011
#   00101001  -> three 1 bits.
answer_2 = bin(0b10110010 ^ 0b10011011).count("1")
print("by hand:", answer_2, "| duplicates.hamming:", duplicates.hamming(0b10110010, 0b10011011))

# %% answer_3
# Why: near_duplicates lists pairs (test index, train index, distance); one test image can have several
# identical-hash twins in training, so count the distinct test indices.
identical = duplicates.near_duplicates(hashes["test"], hashes["train"], max_distance=0)
answer_3 = len({test_index for test_index, _, _ in identical})
print(f"{len(identical)} pairs at distance 0, {answer_3} distinct test images")

# %% answer_4
# Why: none. The unfreezing cell's second loop sets trainable = False on every BatchNormalization layer
# of the backbone, including those in the unfrozen blocks. Counting them confirms it.
trainable_bn = [layer.name for layer in base.layers
                if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable]
answer_4 = len(trainable_bn)

# %% answer_5
# Why: two. The layer's own trainable flag decides: with bn.trainable = False the moving mean stays put
# however the backbone is called; with bn.trainable = True it moves even under base(x, training=False),
# because fit calls the model with training=True and that overrides the recorded training=False.
print(bn_demo)
answer_5 = int((~bn_demo["moving mean changed"]).sum())

# %% answer_6
# Why: none. Temperature scaling divides all the logits of an image by the same positive T; the largest
# stays the largest, so every predicted class, and the accuracy, stay as they were (the notebook asserts
# it). Only the probabilities move: closer together for T > 1, further apart for T < 1.
answer_6 = int((y_prob.argmax(axis=1) != calibrated.argmax(axis=1)).sum())

# %% answer_7
# Why: a validation image leaks when its cluster also holds a training image; the cluster ids are shared
# across splits, so it is a membership test of each validation id among the training ids. It is the
# number duplicates.cluster_leaks(cluster_ids)["val"] lists (validation is compared with training only).
answer_7 = int(np.isin(cluster_ids["val"], cluster_ids["train"]).sum())
print(answer_7, "==", len(duplicates.cluster_leaks(cluster_ids)["val"]))

# %% [markdown] stretch 8
# **8 (stretch, no self-check): five experiments with `PROFILE = "quick"` on a GPU.** Every choice below
# is made on the validation accuracy (the de-duplicated one where you have it); the test columns are read
# only for the model you keep.
#
# - *How much to unfreeze.* In the settings cell, set `unfreeze_from="block4a"` (or `"block1a"` for almost
#   the whole network) and run the notebook again. Compare the fine-tuned row of the table with the
#   `block6a` run: trainable parameters, `train s` and the validation accuracy. More unfrozen blocks cost
#   more time per epoch and give the few thousand training images more weights to over-fit; where the
#   validation accuracy stops improving is the point where it stops paying off, and it is your run that
#   shows it.
# - *Learning rate for fine-tuning.* Run the course recipe twice, with `finetune_lr=1e-4` (the article
#   recipe's) and `1e-5` (the course's), and keep the rate whose fine-tuned model has the better
#   `val accuracy` column. Look at the curves too: a rate too large for pretrained weights shows as a
#   validation loss that rises from the first fine-tuning epochs, and early stopping then restores an
#   early epoch.
# - *Both recipes.* Run the notebook with `RECIPE = "article"` in the same results folder: its last
#   section then shows both recipes next to the article. The article recipe augments the EfficientNet
#   model (flip and rotation): compare, for each recipe, `accuracy` with `accuracy, de-duplicated test`.
#   If the augmented model loses less on the de-duplicated test, it relies less on recognising
#   near-copies of training images. With few epochs, augmentation may also just slow learning down:
#   check the curves.
# - *Split by cluster.* Pool the three splits and deal out whole clusters, about the same share of each
#   class to each split (chapter 07's `splits.grouped_split`, with the cluster ids as the groups):
#
#   ```python
#   from helpers import splits
#
#   files = [f for split in SPLITS for f in data.files[split]]
#   labels = np.concatenate([data.labels[split] for split in SPLITS])
#   groups = np.concatenate([cluster_ids[split] for split in SPLITS])
#   rest, test_part = splits.grouped_split(labels, groups, fraction=0.2, seed=SEED)
#   fit_part, val_part = splits.grouped_split(labels[rest], groups[rest], fraction=0.25, seed=SEED)
#   parts = {"train": rest[fit_part], "val": rest[val_part], "test": test_part}
#   regrouped = {split: pipeline.make_dataset([files[i] for i in part], labels[part], image_size=IMAGE_SIZE,
#                                             batch_size=CFG["batch_size"], shuffle=split == "train", seed=SEED)
#                for split, part in parts.items()}
#   ```
#
#   Then build, train and fine-tune the model as above with these pipelines, and audit the new splits with
#   `duplicates.leakage_report({split: [files[i] for i in part] for split, part in parts.items()})`: no
#   image may have a near-twin in an earlier split. Expect the validation and test accuracies of the new
#   split to be closer to the de-duplicated figures than to the figures as given. A cluster larger than
#   a fifth of its class, or one that mixes classes, makes the shares uneven: look at the new counts.
# - *Leakage in Fruits-360.*
#
#   ```python
#   fruit = datasets.load("fruits360", datasets.get("fruits360", profile=PROFILE), image_size=(100, 100),
#                         batch_size=64, seed=SEED)
#   fruit_report = duplicates.leakage_report({split: fruit.files[split] for split in SPLITS},
#                                            max_distance=MAX_DISTANCE)
#   print(len(fruit_report["leaky"]["test"]) / fruit_report["images"]["test"])
#   duplicates.leakage_table(fruit_report)
#   ```
#
#   Its images are frames of a video of a rotating fruit, so many test frames have a training frame a few
#   degrees of rotation away; the share printed is this run's answer. As the notebook says for the sample,
#   check the distance histogram and a few pairs before trusting a count: at 9x8 pixels, frames of two
#   different fruits on white can also look alike.
