"""Progress bars for the slow loops a learner waits on: downloads, sample generation, image scans.

A bar shows only where a person watches (:func:`helpers.runtime.someone_watching`: Jupyter, Colab, Kaggle's
interactive sessions, a terminal; never in the course's batch runs or CI, where Keras' one line per epoch is all
a log needs), and only when the loop lasts more than a second (fast loops print nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from .runtime import someone_watching

_T = TypeVar("_T")

#: Seconds a loop must run before its bar appears.
_DELAY = 1.0


def bar(total: int | None = None, *, desc: str, unit: str = "it", show: bool = True, initial: int = 0) -> Any:
    """A ``tqdm`` bar to ``update()`` by hand (e.g. bytes of a download); a silent one where bars are off.

    ``unit="B"`` counts bytes (KiB, MiB). Used by every chapter's dataset download (``datasets.get``).
    """
    from tqdm.auto import tqdm

    byte_units = {"unit_scale": True, "unit_divisor": 1024} if unit == "B" else {}
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, disable=not (show and someone_watching()),
                delay=_DELAY, leave=False, **byte_units)


def track(items: Iterable[_T], *, desc: str, unit: str = "it", total: int | None = None,
          show: bool = True) -> Iterator[_T]:
    """Iterate ``items`` with a progress bar (see the module's rule); yields the items unchanged.

    Chapters 02 and 09 see it read image sizes (``inspection.read_sizes``), chapter 08 hash images
    (``duplicates``); chapter 04's dataset build uses it.
    """
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with bar(total, desc=desc, unit=unit, show=show) as progress:
        for item in items:
            yield item
            progress.update(1)
