"""Render ``datasets.md`` from the catalogue, so the learner's guide and the code never disagree.

``python tools/make_datasets_md.py`` writes the file; a test fails when it is out of date.
"""

from __future__ import annotations

from .. import articles
from .catalog import CATALOG, DatasetInfo
from .layouts import LAYOUTS

_INTRO = """# The course datasets

*This file is generated from `helpers/datasets/catalog.py` by `python tools/make_datasets_md.py`;
edit the catalogue, not this file.*

The course uses five real image datasets. Every notebook gets its data with

```python
root = datasets.get(NAME, profile=PROFILE, data_dir=DATA_DIR)
data = datasets.load(NAME, root, image_size=(H, W), batch_size=32, seed=SEED)
```

and `get` looks, in this order, for:

1. **`DATA_DIR`**, when you set it (in any profile): the folder you downloaded or unzipped yourself.
   It may be the archive's top folder, a folder above it, or the split folder itself: the loader
   searches a few levels down (and up) for the layouts listed below.
2. In the **`smoke`** profile, a small generated **sample** in the dataset's exact layout, made offline
   under `~/.cache/cnn-course/samples/` (or `$COURSE_DATA_HOME`). Its images are synthetic, stamped
   "SAMPLE", and only good for checking that code runs; results on it say `sample: true`.
3. On **Kaggle**, the dataset attached to your notebook under `/kaggle/input/` (*Add Input* in the
   right-hand panel, then search for the handle given below). Nothing is downloaded.
4. Otherwise it **downloads** the data by its real route: Kaggle datasets through `kagglehub` (public
   datasets need no account; files are cached, a second run downloads nothing), odonata from
   iNaturalist's open data. When the Kaggle route fails (`kagglehub` missing, access refused, the
   dataset gone, Kaggle down), it says why and fetches the dataset's **direct archive** instead (listed
   below: the publisher's own where there is one), resuming an interrupted download and unpacking it
   safely under `~/.cache/cnn-course/downloads/`. `COURSE_DATA_SOURCE=direct` skips Kaggle,
   `COURSE_DATA_SOURCE=kaggle` never falls back, and `COURSE_DOWNLOAD_MIRROR=<address>` fetches the same
   archives, by file name, from a copy you host. If nothing works you get one message naming each route,
   its cause and what to fetch by hand.

Files that are not usable images (`.DS_Store`, `Thumbs.db`, text files, empty or truncated JPEGs,
TIFFs) and stray folders are skipped with one warning that names them. PNG, grayscale, RGBA,
palette and CMYK images are converted to RGB.

| name | dataset | classes | native size | images | licence |
| --- | --- | --- | --- | --- | --- |
"""


def _row(d: DatasetInfo) -> str:
    classes = str(len(d.class_names)) if d.class_names else "from folders"
    images = ", ".join(f"{split} {n:,}" for split, n in d.sizes.items())
    size = f"{d.image_size[0]}x{d.image_size[1]}" if d.image_size else "varies"
    return f"| `{d.name}` | {d.title} | {classes} | {size} | {images} | {d.license} |"


def _how_to_get(d: DatasetInfo) -> list[str]:
    if d.kaggle:
        lines = [
            f"- **Kaggle**: attach [`{d.kaggle_dataset}`]({d.kaggle_url}) with *Add Input*; it appears under "
            f"`/kaggle/input/`.",
            f"- **Anywhere else**: `datasets.get('{d.name}', profile='quick')` calls "
            f"`kagglehub.dataset_download('{d.kaggle[0]}')`"
            + (f" (the whole archive, which kagglehub caches) and uses its `{d.kaggle_path}` folder"
               if d.kaggle_path else "") + ".",
            *_direct_lines(d),
            f"- **By hand**: download the archive from {d.kaggle_url}"
            + (f" (or {d.homepage})" if d.homepage != d.kaggle_url else "")
            + ", unzip it, and pass the folder as `DATA_DIR`.",
        ]
    else:
        lines = [
            f"- **Build it**: `datasets.download('{d.name}')` queries iNaturalist's public API for "
            "research-grade observations with CC-licensed photos and writes the layout below, with "
            "`attribution.csv` (author and licence of every photo). It resumes if interrupted.",
            f"- **By hand**: any folder in the layout below works as `DATA_DIR` (see {d.homepage}).",
        ]
    return lines


def _direct_lines(d: DatasetInfo) -> list[str]:
    """The direct archives of ``d``, in the order ``download`` tries them, and why the original is not among them."""
    lines = []
    if d.direct:
        lines.append("- **Without Kaggle** (when the Kaggle route fails, or with `COURSE_DATA_SOURCE=direct`), in "
                     "this order:")
        for i, s in enumerate(d.direct, 1):
            size = f", about {s.size_bytes / 1e6:,.0f} MB" if s.size_bytes else ""
            top = {None: "", "": ", no top folder"}.get(s.root_hint, f", unpacks to `{s.root_hint}/`")
            lines.append(f"  {i}. {s.publisher}: <{s.url}> (`{s.archive_name}`{top}{size}): {s.note}.")
    if d.direct_note:
        lines.append(f"- **The original archive**: {d.direct_note}")
    return lines


def _section(d: DatasetInfo) -> str:
    parts = [f"## {d.title} (`{d.name}`)", "", f"*Citation*: {d.citation}", "", f"*Licence*: {d.license}", ""]
    if d.class_names:
        parts += [f"*Classes, in label order*: {', '.join(f'`{c}`' for c in d.class_names)}", ""]
    else:
        parts += ["*Classes*: read from the training folders (sorted by name), never hard-coded.", ""]
    parts += ["### How to get it", "", *_how_to_get(d), "", "### Accepted layouts", ""]
    for name in d.layouts:
        layout = LAYOUTS[name]
        splits = ", ".join(f"{split} = `{folder}`" for split, folder in layout.splits.items())
        parts.append(f"- `{layout.description}` ({splits})")
    if "val" not in LAYOUTS[d.layouts[0]].splits:
        parts.append("- No validation folder: `load` holds out `val_fraction` of each training class (stratified).")
    parts += ["", "### Quirks", "", *(f"- {q}" for q in d.quirks), ""]
    parts += ["### Figures reported by the source articles", ""]
    parts += [f"- {a.key} (chapter {', '.join(a.chapters)}): {a.headline[0]} {a.figure} ({a.author}, "
              f"*{a.title}*)" for a in articles.ARTICLES.values() if a.dataset == d.name]
    return "\n".join(parts) + "\n"


def render() -> str:
    """The full text of ``datasets.md``.

    tools/make_datasets_md.py writes it to datasets.md; tests/test_hygiene.py checks that the file is up to date.
    """
    table = "\n".join(_row(d) for d in CATALOG.values())
    return _INTRO + table + "\n\n" + "\n".join(_section(d) for d in CATALOG.values())
