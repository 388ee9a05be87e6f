"""The catalogue: every fact the course relies on about its five datasets, in one place.

``datasets.md`` and the notebooks read these entries; nothing else should hard-code a class
name or a Kaggle handle (what the source articles did is in :mod:`helpers.articles`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class DirectSource:
    """One public archive of a dataset that plain HTTPS fetches, without ``kagglehub`` or an account.

    In every chapter, download falls back to these when the Kaggle route fails (helpers.datasets.direct).

    :func:`helpers.datasets.download` falls back to these, in order, when the Kaggle route fails (and uses
    only them with ``COURSE_DATA_SOURCE=direct``); each address and layout was checked against its
    publisher's documentation (see ``note``).

    Attributes:
        url: The archive's address.
        archive_name: The file it is saved as, and the name a mirror serves it under (``COURSE_DOWNLOAD_MIRROR``).
        root_hint: The archive's top folder (where the loader's layout starts); ``""`` when its entries sit at the
            top; ``None`` when no source documents it (the loader searches a few levels down anyway).
        publisher: Who serves it, in a few words (shown on screen and in error messages).
        size_bytes: The archive's size when a source states it (shown, never enforced: a new release changes it).
        note: What the archive holds and where that was checked.
    """

    url: str
    archive_name: str
    root_hint: str | None = ""
    publisher: str = ""
    size_bytes: int | None = None
    note: str = ""


def _kaggle_zip(handle: str, archive_name: str, root_hint: str | None = "", *, size_bytes: int | None = None,
                note: str = "") -> DirectSource:
    """Kaggle's own zip of a public dataset (``handle`` = ``owner/slug[/versions/N]``), fetched without kagglehub.

    Kaggle's API documents ``GET /api/v1/datasets/download/{ownerSlug}/{datasetSlug}`` (with
    ``datasetVersionNumber``); a dataset page's *Download > curl* offers the same address, and public
    datasets download from it without an account. It cures a missing or broken ``kagglehub`` and refused
    credentials, not Kaggle itself being down.
    """
    owner, slug, *rest = handle.split("/")
    version = f"?datasetVersionNumber={rest[1]}" if len(rest) == 2 and rest[0] == "versions" else ""
    return DirectSource(
        url=f"https://www.kaggle.com/api/v1/datasets/download/{owner}/{slug}{version}",
        archive_name=archive_name, root_hint=root_hint, publisher="Kaggle (its zip, without kagglehub)",
        size_bytes=size_bytes, note=note,
    )


@dataclass(frozen=True)
class DatasetInfo:
    """Facts about one dataset.

    Chapters 00, 02 and 07 read entries (datasets.info); every chapter's get and load are driven by them.

    Attributes:
        name: The key used by :func:`helpers.datasets.load` and friends.
        title: Human-readable name.
        citation: How to cite the data.
        license: The license as far as known (check the source before redistributing).
        homepage: Where a learner can read about the data and download it by hand.
        kaggle: Kaggle dataset handles (``owner/slug`` or ``owner/slug/versions/N``), preferred first.
        kaggle_path: The folder of the Kaggle dataset the course uses, if only part is needed. The whole dataset
            is downloaded all the same: kagglehub's ``path=`` fetches one file, and Kaggle refuses a folder.
        direct: Public archives fetched over plain HTTPS when the Kaggle route fails, preferred first.
        direct_note: Why a publisher's own archive is not among ``direct`` (a form, an account, another layout).
        image_size: Native ``(height, width)`` of most images; ``None`` when sizes vary.
        class_names: The classes in label order, when fixed by the dataset; ``None`` when read from folders.
        layouts: Names of the on-disk layouts the loader accepts (see :mod:`helpers.datasets.layouts`).
        sizes: Number of images per split in the real dataset.
        quirks: Things that trip learners up.
    """

    name: str
    title: str
    citation: str
    license: str
    homepage: str
    kaggle: tuple[str, ...] = ()
    kaggle_path: str | None = None
    direct: tuple[DirectSource, ...] = ()
    direct_note: str = ""
    image_size: tuple[int, int] | None = None
    class_names: tuple[str, ...] | None = None
    layouts: tuple[str, ...] = ()
    sizes: dict[str, int] = field(default_factory=dict)
    quirks: tuple[str, ...] = ()

    @property
    def kaggle_dataset(self) -> str | None:
        """The preferred Kaggle dataset as ``owner/slug`` (without a pinned version), or ``None``."""
        return "/".join(self.kaggle[0].split("/")[:2]) if self.kaggle else None

    @property
    def kaggle_url(self) -> str | None:
        """The Kaggle page of the preferred handle, or ``None``."""
        return f"https://www.kaggle.com/datasets/{self.kaggle_dataset}" if self.kaggle else None


_INTEL = DatasetInfo(
    name="intel",
    title="Intel Image Classification (natural scenes)",
    citation="Intel Scene Classification Challenge (Analytics Vidhya, 2018), published on Kaggle by Puneet Bansal.",
    license="Not stated by the publisher; shared on Kaggle for research and education.",
    homepage="https://www.kaggle.com/datasets/puneet6060/intel-image-classification",
    kaggle=("puneet6060/intel-image-classification",),
    image_size=(150, 150),
    class_names=("buildings", "forest", "glacier", "mountain", "sea", "street"),
    layouts=("intel",),
    sizes={"train": 14034, "test": 3000, "pred (unlabelled)": 7301},
    direct=(
        _kaggle_zip("puneet6060/intel-image-classification", "intel-image-classification.zip",
                    size_bytes=363_152_213,
                    note="seg_train/seg_train/<class>/, seg_test/seg_test/<class>/ and seg_pred/seg_pred/ at the top "
                         "(24,335 images; size as a user of Kaggle's command line measured it in 2026)"),
    ),
    direct_note=(
        "The Intel Scene Classification Challenge (Analytics Vidhya, 2018) gave its data only to signed-in "
        "participants, as train.zip with a train.csv of labels (another layout): Kaggle's own zip is the only "
        "public archive in this layout."
    ),
    quirks=(
        "Each split folder is nested twice: seg_train/seg_train/<class>/.",
        "Most images are 150x150, but some are shorter and one is 500x374: resize, never assume.",
        "seg_pred has no labels; the course uses it only for showing predictions.",
        "Glacier vs mountain and buildings vs street are genuinely ambiguous in many images.",
    ),
)

_FOOD5K = DatasetInfo(
    name="food5k",
    title="Food-5K (food vs non-food)",
    citation=(
        "A. Singla, L. Yuan, T. Ebrahimi, 'Food/Non-food Image Classification and Food Categorization "
        "using Pre-Trained GoogLeNet Model', MADiMa 2016, EPFL MMSPG."
    ),
    license="Research use; see EPFL MMSPG's Food-5K page.",
    homepage="https://www.epfl.ch/labs/mmspg/downloads/food-image-datasets/",
    kaggle=("trolukovich/food5k-image-dataset",),
    image_size=None,
    class_names=("non_food", "food"),
    layouts=("food5k_epfl", "food5k_folders"),
    sizes={"train": 3000, "val": 1000, "test": 1000},
    direct=(
        _kaggle_zip("trolukovich/food5k-image-dataset", "food5k-image-dataset.zip",
                    note="training/, validation/ and evaluation/, each with food/ and non_food/, at the top"),
    ),
    direct_note=(
        "EPFL MMSPG serves the original Food-5K.zip (flat folders, labels in the file names) over FTP, with an "
        "account its page gives for research use: the course does not fetch it for you. Download it by hand "
        "from the homepage and pass the unzipped folder as DATA_DIR."
    ),
    quirks=(
        "Two layouts exist: EPFL's flat folders with labels in the file name ({ClassID}_{ImageID}.jpg, "
        "1 = food), and Kaggle's food/ and non_food/ folders.",
        "Alphabetical folder order would make food = 0 and silently invert the labels: the course always "
        "uses class_names = ['non_food', 'food'] (food = 1).",
        "Image sizes vary widely (from thumbnails to several megapixels).",
    ),
)

_FRUITS360 = DatasetInfo(
    name="fruits360",
    title="Fruits-360",
    citation=(
        "H. Mureșan, M. Oltean, 'Fruit recognition from images using deep learning', "
        "Acta Univ. Sapientiae, Informatica 10(1), 2018."
    ),
    license="CC BY-SA 4.0",
    homepage="https://github.com/fruits-360",
    # Pinned: the archive's layout changes between versions. The whole archive is downloaded (Kaggle serves
    # one file or the whole archive, never a folder) and the course uses its 100x100 branch only.
    kaggle=("moltean/fruits/versions/100",),
    kaggle_path="fruits-360_100x100",
    image_size=(100, 100),
    class_names=None,
    layouts=("fruits360",),
    sizes={"train (131-class release)": 67692, "test (131-class release)": 22688},
    direct=(
        DirectSource(
            url="https://github.com/fruits-360/fruits-360-100x100/archive/refs/heads/main.zip",
            archive_name="fruits-360-100x100-main.zip",
            root_hint="fruits-360-100x100-main",
            publisher="the author's GitHub repository fruits-360/fruits-360-100x100",
            note="the 100x100 branch alone, latest release (155 classes, 102,639 images in 2025.03.09.0): "
                 "Training/, Test/, README.md and LICENSE under fruits-360-100x100-main/; GitHub builds the zip "
                 "on request and states no size",
        ),
        _kaggle_zip("moltean/fruits/versions/100", "fruits-v100.zip",
                    note="Kaggle's whole archive, every branch (the loader reads fruits-360_100x100/ only)"),
    ),
    quirks=(
        "The folder layout changed across releases (fruits-360/, fruits-360_dataset/fruits-360/, "
        "fruits-360_100x100/fruits-360/); the loader finds Training/ and Test/ wherever they are.",
        "Since 2025 the archive also holds other branches (original-size, multi, 3-body-problem, meta) "
        "that must not be mixed into training: the loader uses the 100x100 branch only.",
        "Class names contain spaces and digits ('Apple Red 1') and the class count grows with each "
        "release (131, 141, 155, ...): it is counted from the folders, never hard-coded.",
        "Images are consecutive video frames of a rotating fruit: train and test frames are near-duplicates, "
        "which makes accuracy look better than it would be on new photos.",
    ),
)

#: A Fruits-360 frame's file name: ``<frame>_100.jpg``, ``r_<frame>_100.jpg``, ``r2_<frame>_100.jpg`` ... (README of
#: the 100x100 branch, release 2025.03.09.0: "r" marks a rotated fruit, "r2" a fruit rotated around the third
#: axis, 100 the image size); recent classes use ``r0_``, ``r1_``, ``r2_``. ``series`` is that prefix.
_FRUITS360_FRAME = re.compile(r"^(?:(?P<series>r\d*)_)?(?P<frame>\d+)(?:_(?P<size>\d+))?$")


def fruits360_series(path: str | os.PathLike) -> str:
    """The rotation series of a Fruits-360 frame: ``"<class folder>/<prefix>"``, e.g. ``"Apple 10/r1"``.

    Used in chapter 07.

    Each fruit was filmed turning on a motor (3 rpm, about 20 seconds), and the frames of one filming
    share the prefix of their file names (``r_``, ``r2_``, ``r0_`` ..., none for the first filming of
    older classes: ``"Apple Red 1/no prefix"``). That one prefix within one class folder is one series is
    an assumption, drawn from the README's file-name format; the frame numbers of the Training and Test
    files of one series interleave (in the 100x100 branch, ``Apple 10`` has ``r0_0``, ``r0_1``, ``r0_2``
    in Training and ``r0_3`` in Test). A file whose name does not follow the format is a group of its
    own. Chapter 07 splits validation by these series (:func:`helpers.splits.grouped_split`).
    """
    path = Path(path)
    frame = _FRUITS360_FRAME.match(path.stem)
    series = (frame.group("series") or "no prefix") if frame else path.name
    return f"{path.parent.name}/{series}"


_MOSQUITO = DatasetInfo(
    name="mosquito",
    title="Mosquito on human skin",
    citation=(
        "S.-Q. Ong, H. Ahmad, 'An annotated image dataset of medically and entomologically important "
        "mosquito species on human skin', Scientific Data 9, 557 (2022); Mendeley Data "
        "doi:10.17632/zw4p9kj6nt.2."
    ),
    license="CC BY 4.0",
    homepage="https://data.mendeley.com/datasets/zw4p9kj6nt/2",
    kaggle=("naiborhujosua/mosquito-on-human-skin",),
    image_size=(224, 224),
    class_names=None,
    layouts=("mosquito",),
    sizes={"train": 4200, "val": 3600, "test": 1799},
    direct=(
        DirectSource(
            url="https://data.mendeley.com/public-api/zip/zw4p9kj6nt/download/2",
            archive_name="zw4p9kj6nt-2.zip",
            root_hint="zw4p9kj6nt-2",
            publisher="Mendeley Data (the article's own source, version 2)",
            note="the dataset page's Download All: zw4p9kj6nt-2/ with the six raw class folders and "
                 "data_splitting/{Train,Pred,Test}/",
        ),
        DirectSource(
            url="https://prod-dcd-datasets-cache-zipfiles.s3.eu-west-1.amazonaws.com/zw4p9kj6nt-2.zip",
            archive_name="zw4p9kj6nt-2.zip",
            root_hint="zw4p9kj6nt-2",
            publisher="Mendeley Data's archive cache",
            note="the same archive, where Mendeley Data keeps its Download All zips",
        ),
        _kaggle_zip("naiborhujosua/mosquito-on-human-skin", "mosquito-on-human-skin.zip", None,
                    note="a copy of the Mendeley Data archive on Kaggle (its layout is not documented)"),
    ),
    quirks=(
        "The archive unpacks to zw4p9kj6nt-2/ with six raw class folders (long names, one with a double "
        "space) and data_splitting/{Train,Pred,Test}/: the course uses data_splitting only.",
        "Pred is the validation split (3,600 images), not unlabelled data.",
        "Six classes: three species (Aedes aegypti, Aedes albopictus, Culex quinquefasciatus), each landing "
        "or smashed. Class names are read from the folders.",
    ),
)

_ODONATA = DatasetInfo(
    name="odonata",
    title="Odonata: dragonflies vs damselflies",
    citation=(
        "iNaturalist contributors, research-grade observations of Anisoptera and Zygoptera "
        "(https://www.inaturalist.org); each photo's author and licence are listed in attribution.csv."
    ),
    license="Per photo (CC0, CC BY, CC BY-NC, CC BY-SA, CC BY-NC-SA); see attribution.csv.",
    homepage="https://www.inaturalist.org/taxa/47792",
    image_size=None,
    class_names=("damselflies", "dragonflies"),
    layouts=("odonata",),
    sizes={"train": 1400, "val": 300, "test": 300},
    quirks=(
        "The article does not say where its 17,659 photos came from (its figure 2 credits the FGVC6 "
        "competitions page of CVPR 2019, home of the iNaturalist 2019 competition, whose terms forbid "
        "redistribution), and it stored them as NumPy arrays, not folders: the course builds an equivalent "
        "set from iNaturalist open data instead.",
        "The builder spreads the photos over years and observers (an even share of each quarter of 2013-2024, "
        "of each month in the full profile; at most 5 photos per observer and class, 20 in full) and puts all "
        "photos of one observer in the same split: one person's shots of one pond look alike, and in both "
        "training and test they would flatter the test score. attribution.csv names each photo's observer.",
        "A folder of your own photos in the layout {train,validation,test}/{damselflies,dragonflies} loads "
        "as DATA_DIR.",
        "Photos are citizen-science snapshots: backgrounds vary, the insect is often small.",
    ),
)

CATALOG: dict[str, DatasetInfo] = {d.name: d for d in (_INTEL, _FOOD5K, _FRUITS360, _MOSQUITO, _ODONATA)}


def info(name: str) -> DatasetInfo:
    """Return the catalogue entry for ``name``, with a helpful error for unknown names.

    Chapters 00, 02 and 07 call it (as datasets.info); every chapter's get and load look datasets up with it.
    """
    try:
        return CATALOG[name]
    except KeyError:
        raise ValueError(f"Unknown dataset {name!r}. The course datasets are: {', '.join(CATALOG)}.") from None
