"""Progress output that suits the place it is shown in.

:func:`progress_bar` wraps the loop over training steps and picks one of three displays:

* ``"notebook"`` — inside a Jupyter kernel with ipywidgets installed: a tqdm widget bar;
* ``"terminal"`` — when the stream is a terminal: tqdm's text bar, redrawn in place;
* ``"log"`` — when the stream is redirected to a file or a pipe: a few summary lines (after
  25 %, 50 %, 75 % and 100 % of the steps, or where the loop stops), never one line per step,
  so a log of a long run stays readable.

Every display has tqdm's small interface: iterate over it, ``set_postfix(loss=…, acc=…)``
after a step, ``close()`` at the end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any, Literal

__all__ = ["progress_bar", "progress_kind", "SummaryLines", "format_seconds"]

Kind = Literal["notebook", "terminal", "log"]


def _in_jupyter_kernel() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()
    except Exception:  # an IPython too old or half-imported to answer: not a kernel we can draw in
        return False
    return ip is not None and hasattr(ip, "kernel")


def _has_ipywidgets() -> bool:
    try:
        import ipywidgets  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


def progress_kind(file: IO[str] | None = None) -> Kind:
    """Which display :func:`progress_bar` would use for ``file`` (default ``sys.stderr``)."""
    if _in_jupyter_kernel() and _has_ipywidgets():
        return "notebook"
    stream = sys.stderr if file is None else file
    try:
        is_tty = bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        is_tty = False
    return "terminal" if is_tty else "log"



def format_seconds(seconds: float) -> str:
    """A duration as a person reads it: ``0.0193``, ``12.3``, ``1234``."""
    return f"{seconds:.3g}" if seconds < 100 else f"{seconds:.0f}"

class SummaryLines:
    """A progress display for logs: one line at each quarter of ``total`` and one where it stops.

    A line reads ``fit: 50/100 steps (50%), 1.2 s, loss=0.1234, acc=96.0%`` — the postfix is
    the last one given with :meth:`set_postfix`.
    """

    def __init__(self, iterable: Iterable[Any], *, total: int | None = None, desc: str = "",
                 file: IO[str] | None = None) -> None:
        self.iterable = iterable
        if total is None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.total = total
        self.desc = desc
        self.file = file
        self.n = 0
        self.postfix: dict[str, str] = {}
        self._start = time.perf_counter()
        self._printed_at = 0
        self._started = 0
        self._closed = False
        self._marks = sorted({max(1, (total * q) // 4) for q in (1, 2, 3, 4)}) if total else []

    def __iter__(self) -> Iterator[Any]:
        for item in self.iterable:
            self._started += 1
            yield item
            # The caller asked for the next item, so the step it was given is finished.
            self.n += 1
            if self._marks and self.n >= self._marks[0]:
                while self._marks and self.n >= self._marks[0]:
                    self._marks.pop(0)
                self._line()

    def __len__(self) -> int:
        return self.total or 0

    def set_postfix(self, **values: Any) -> None:
        """Values shown after the count, e.g. ``loss="0.1234"``."""
        self.postfix = {k: str(v) for k, v in values.items()}

    def close(self) -> None:
        """Print the line for the last step if it has not been printed (a loop that stopped early).

        A loop that breaks out did so after working on the item it was given, so that item counts.
        """
        self.n = max(self.n, self._started)
        if not self._closed and self.n and self._printed_at != self.n:
            self._line(stopped=self.total is not None and self.n < self.total)
        self._closed = True

    def _line(self, stopped: bool = False) -> None:
        self._printed_at = self.n
        head = f"{self.desc}: " if self.desc else ""
        if self.total:
            count = f"{self.n}/{self.total} steps ({self.n / self.total:.0%})"
        else:
            count = f"{self.n} steps"
        parts = [count + (" — stopped" if stopped else ""), f"{format_seconds(time.perf_counter() - self._start)} s"]
        parts += [f"{k}={v}" for k, v in self.postfix.items()]
        print(head + ", ".join(parts), file=sys.stderr if self.file is None else self.file, flush=True)


class _Silent:
    def __init__(self, iterable: Iterable[Any]) -> None:
        self.iterable = iterable

    def __iter__(self) -> Iterator[Any]:
        return iter(self.iterable)

    def set_postfix(self, **values: Any) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(iterable: Iterable[Any], *, total: int | None = None, desc: str = "", disable: bool = False,
                 file: IO[str] | None = None) -> Any:
    """``iterable`` wrapped in the progress display for this place (see :func:`progress_kind`).

    ``disable=True`` gives a wrapper that shows nothing. ``file`` defaults to ``sys.stderr``,
    looked up when the display is made (so redirecting it, as pytest does, is followed).
    """
    if disable:
        return _Silent(iterable)
    kind = progress_kind(file)
    if kind == "notebook":
        from tqdm.notebook import tqdm as notebook_tqdm  # type: ignore[import-untyped]

        return notebook_tqdm(iterable, total=total, desc=desc, leave=True)
    if kind == "terminal":
        from tqdm.std import tqdm as text_tqdm  # type: ignore[import-untyped]

        return text_tqdm(iterable, total=total, desc=desc, leave=True, file=file)
    return SummaryLines(iterable, total=total, desc=desc, file=file)
