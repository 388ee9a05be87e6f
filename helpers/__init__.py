"""Shared, tested code for the course notebooks.

Each module has one job:

- :mod:`helpers.runtime`     set-up: quiet TensorFlow, seeds, where we run (Colab, Kaggle, CI, local), GPUs.
- :mod:`helpers.datasets`    the five course datasets: catalogue, real download routes, offline samples, loading.
- :mod:`helpers.pipeline`    fast ``tf.data`` input pipelines (decode once, cache uint8, batch, prefetch).
- :mod:`helpers.models`      model builders (scratch CNNs, transfer models over ``keras.applications``).
- :mod:`helpers.training`    callbacks and the profile-dependent training budget.
- :mod:`helpers.evaluation`  metrics, classification report, confusion matrix.
- :mod:`helpers.plotting`    learning curves, image grids, confusion matrices, prediction grids.
- :mod:`helpers.results`     the per-notebook results JSON and the course results table.
- :mod:`helpers.exercises`   self-check cells for the exercises.
- :mod:`helpers.course`      the repository address the notebooks' badges are built from.
- :mod:`helpers.budget`      cache bytes per chapter and profile; Colab/Kaggle limits.
- :mod:`helpers.photos`      decoding as a photo viewer shows it (EXIF orientation, ICC profiles, transparency
  on white, HEIC/AVIF); copied into the exported predict.py.

Chapter-specific modules: :mod:`helpers.convolution` (01), :mod:`helpers.inspection` (02),
:mod:`helpers.augmentation` (03), :mod:`helpers.explain` (04: feature maps, Grad-CAM),
:mod:`helpers.features` and :mod:`helpers.predict` (05), :mod:`helpers.zoo` (06),
:mod:`helpers.finetune` (07), :mod:`helpers.duplicates` (08: near-duplicate finder),
:mod:`helpers.folder_data` and :mod:`helpers.export` (09).
"""

import os as _os

# Quiet TensorFlow's start-up, before any helpers module imports it (oneDNN also shifts losses in
# the 6th decimal, which would make smoke metrics differ between machines).
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__version__ = "0.1.0"
