"""Progress bars for the slow loops a learner waits on: downloads, sample generation, image scans.

One rule for the whole course, so that a person watching sees progress and a log stays readable:

- in Jupyter (Colab, Kaggle, JupyterLab) and on a terminal, a ``tqdm`` bar, shown only when the loop
  lasts more than a second (fast loops print nothing);
- in batch runs (``COURSE_BATCH=1``, set by the course's run and test commands, or ``CI``) and when the
  output is not a terminal, nothing: Keras' one line per epoch is all a log needs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

#: Seconds a loop must run before its bar appears.
DELAY = 1.0


def enabled(environ: dict[str, str] | None = None, modules: dict[str, Any] | None = None,
            stream: Any = None) -> bool:
    """Whether bars are shown here: a person is watching and this is not a batch run.

    Arguments default to ``os.environ``, ``sys.modules`` and ``sys.stderr``; tests pass their own.
    """
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    stream = sys.stderr if stream is None else stream
    if environ.get("COURSE_BATCH") or environ.get("CI"):
        return False
    if "ipykernel" in modules:
        return True
    return bool(getattr(stream, "isatty", lambda: False)())


def bar(total: int | None = None, *, desc: str, unit: str = "it", show: bool = True) -> Any:
    """A ``tqdm`` bar to ``update()`` by hand (e.g. bytes of a download); a silent one where bars are off."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not (show and enabled()), delay=DELAY,
                unit_scale=unit == "B", leave=False)


def track(items: Iterable[T], *, desc: str, unit: str = "it", total: int | None = None,
          show: bool = True) -> Iterator[T]:
    """Iterate ``items`` with a progress bar (see the module's rule); yields the items unchanged."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with bar(total, desc=desc, unit=unit, show=show) as progress:
        for item in items:
            yield item
            progress.update(1)
