"""Solutions to the exercises of 00 · Start here. Try them yourself first.

Each ``# %% answer_N`` cell replaces the notebook's ``answer_N = None`` cell and uses the notebook's own
variables (``loaded``, ``first``, ``datasets``, ``SEED``), so it gives the right answer on the generated
samples and on the real data alike. ``tools/check_solutions.py`` runs the notebook with these cells
pasted in and requires every self-check to print "correct".
"""
# ruff: noqa: F821  (the cells use the notebook's variables)

# %% answer_1
# Why: counts() gives {split: {class: count}}; the test split's total is the sum over its classes.
test_counts = loaded[first].counts()["test"]
answer_1 = sum(test_counts.values())

# %% answer_2
# Why: a label is the position of the class name in the catalogue's class_names, which the course
# fixes as ["non_food", "food"] (EPFL's file names say 1 = food); alphabetical folder order would
# have made food 0 and silently inverted every label.
answer_2 = datasets.info("food5k").class_names.index("food")

# %% answer_3
# Why: a batch is (batch, height, width, channels); image_size is (height, width) and every image is
# decoded to 3 channels, so batch_size=8 and image_size=(64, 48) give (8, 64, 48, 3).
answer_3 = (8, 64, 48, 3)
# Check it by loading the first dataset that way. `folder` is where its splits were found; the test split
# is not shuffled and cache=False decodes only the 8 images of the first batch.
small = datasets.load(first, loaded[first].folder, image_size=(64, 48), batch_size=8, seed=SEED, cache=False)
batch_images, _ = next(iter(small.test))
print("one batch loaded with image_size=(64, 48), batch_size=8:", tuple(batch_images.shape))

# %% [markdown] stretch 4
# **4 (stretch, no self-check): your own folder as `DATA_DIR`.** Two things to notice first: the
# notebook only passes `DATA_DIR` on when it loads a single dataset (`data_dir=DATA_DIR if
# len(DATASETS) == 1 else None`), so set `DATASETS = ["odonata"]` too; and the odonata layout has
# fixed class names, so your class folders must be called `damselflies` and `dragonflies`.
#
# ```python
# DATASETS = ["odonata"]
# DATA_DIR = "my_data"   # my_data/train/<class>/*.jpg and my_data/test/<class>/*.jpg
# root = datasets.get("odonata", profile=PROFILE, data_dir=DATA_DIR)   # DATA_DIR always wins
# data = datasets.load("odonata", root, image_size=(SIZE, SIZE), batch_size=32, seed=SEED)
# ```
#
# With other class folders (say `mugs/` and `glasses/`), `datasets.load` raises
# `datasets.LayoutError`. Its message names the dataset and the folder it searched, prints the layout it
# expected, `[data/]{train,validation,test}/{damselflies,dragonflies}/*.jpg` (searched up to 4 levels
# deep), and says what to do: pass the folder you downloaded or unzipped as `DATA_DIR`, or read
# `datasets.md`. So yes, it tells you what to do, as a course error should: one message, what was expected,
# where to look. For a folder of your own classes, chapter 09 (`folder_data.load_folder`) accepts any
# class names, with or without split folders.
