"""Shared, tested code for the course notebooks: one job per module, and the chapter that uses it.

``import helpers`` only defines ``__version__``: it imports no module, starts no TensorFlow and changes
nothing in the environment. A notebook imports the modules it needs (``from helpers import datasets, ...``);
quieting TensorFlow's start-up is the set-up cell's job (:mod:`helpers.runtime`).

Every chapter:

- :mod:`helpers.runtime`       set-up: where we run (Colab, Kaggle, CI, local), GPUs, seeds, precision, strategy.
- :mod:`helpers.datasets`      the five course datasets: catalogue, real download routes, offline samples, loading;
  :mod:`helpers.datasets.odonata` builds chapter 04's dataset, :mod:`helpers.datasets.phone_photos` writes
  chapter 09's phone photos.
- :mod:`helpers.pipeline`      ``tf.data`` input pipelines (decode once, cache uint8, batch, prefetch); chapter 07
  teaches its cache rule.
- :mod:`helpers.photos`        decoding as a photo viewer shows it (EXIF orientation, ICC profiles, transparency
  on white, HEIC/AVIF), under every pipeline; chapter 09 shows it.
- :mod:`helpers.models`        model builders (scratch CNNs, transfer models over ``keras.applications``).
- :mod:`helpers.training`      callbacks, the run's timer and log, resuming after a disconnect.
- :mod:`helpers.evaluation`    metrics, classification report, confusion matrix.
- :mod:`helpers.plotting`      learning curves, image grids, confusion matrices, prediction grids.
- :mod:`helpers.results`       the per-notebook results JSON and the course results table.
- :mod:`helpers.exercises`     the self-check cells: ``checker("NN")`` grades with the chapter's answer key.
- :mod:`helpers.answer_keys`   the exercises' answer keys, one module per chapter (``ch00.py`` ... ``ch09.py``).
- :mod:`helpers.articles`      what each source article did (recipe, evidence, quirks, figures): chapters 01-09.
- :mod:`helpers.budget`        the ``EPOCHS``/``BATCH_SIZE`` overrides of every chapter's ``CFG``, and the cache
  bytes per chapter and profile, checked against Colab/Kaggle limits.
- :mod:`helpers.progress`      progress bars for downloads, sample generation and image scans.
- :mod:`helpers.course`        the repository address the badges and the set-up cell are built from
  (``course.py``, ``tools/sync_notebooks.py``).

One or a few chapters:

- :mod:`helpers.convolution`   01: convolution, pooling and receptive fields by hand in NumPy.
- :mod:`helpers.inspection`    02: native image sizes, odd files, images picked from a pipeline (also 05-07, 09).
- :mod:`helpers.augmentation`  03: augmentation recipes, ``RandomAffine`` (one warp), the generator port (also 07).
- :mod:`helpers.explain`       04: grayscale inside the model, feature maps, filters, Grad-CAM.
- :mod:`helpers.features`      05: a frozen backbone's features computed once, a head trained on them (also 06).
- :mod:`helpers.predict`       05 and 09: predict one image from a file path or a URL.
- :mod:`helpers.zoo`           06: many frozen backbones, one recipe, a fair comparison.
- :mod:`helpers.finetune`      07: unfreeze the top of a backbone, BatchNormalization kept frozen (also 05, 08, 09).
- :mod:`helpers.splits`        train/validation splits: stratified at random (every chapter), or by group (07:
  a Fruits-360 rotation series stays together).
- :mod:`helpers.duplicates`    08: near-duplicate images across splits (perceptual hashes).
- :mod:`helpers.calibration`   08: reliability diagrams, expected calibration error, temperature scaling.
- :mod:`helpers.folder_data`   09: your own folder of photos as a dataset.
- :mod:`helpers.export`        09: export a trained model (Keras, SavedModel, TFLite) with its predict script.
- :mod:`helpers.predict_script` 09: the stand-alone ``predict.py`` that :mod:`helpers.export` writes beside a model.
"""

__version__ = "0.1.0"
