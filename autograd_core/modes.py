"""Per-thread recording switches: ``no_grad`` and ``detect_anomaly``.

Each thread has its own switches (``threading.local``), so a thread inside ``no_grad`` never
stops another thread from recording, as in PyTorch.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

__all__ = ["no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly", "is_anomaly_enabled"]

F = TypeVar("F", bound=Callable[..., Any])


class _State(threading.local):
    # Class attributes are each new thread's defaults.
    grad_enabled = True
    anomaly = False
    # True when neither switch needs checking: the engine's hot path reads only this.
    plain = True

    def refresh(self) -> None:
        self.plain = self.grad_enabled and not self.anomaly


STATE = _State()

# How many switch blocks are open in any thread. While it is 0 (almost always) the engine's
# hot path skips the thread-local lookup, which costs several times more than this one.
ACTIVE = [0]
_active_lock = threading.Lock()


def _count_active(delta: int) -> None:
    with _active_lock:
        ACTIVE[0] += delta


class _Switch:
    """A context manager that is also a decorator, restoring the previous setting on exit."""

    _attr = ""
    _value = False

    def __init__(self) -> None:
        # One instance may be entered from several threads (a module-level ``NO_GRAD = no_grad()``),
        # so the settings to restore are kept per thread too.
        self._saved = threading.local()

    def _stack(self) -> list[bool]:
        stack: list[bool] | None = getattr(self._saved, "stack", None)
        if stack is None:
            stack = self._saved.stack = []
        return stack

    def __enter__(self) -> None:
        self._stack().append(getattr(STATE, self._attr))
        setattr(STATE, self._attr, self._value)
        STATE.refresh()
        _count_active(1)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        setattr(STATE, self._attr, self._stack().pop())
        STATE.refresh()
        _count_active(-1)

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_Switch):
    """Record nothing inside: ops return leaf Values (no parents), as ``torch.no_grad``.

    Use as ``with no_grad(): ...`` or as a decorator ``@no_grad()``.
    """

    _attr = "grad_enabled"
    _value = False


class enable_grad(_Switch):
    """Record again inside a ``no_grad`` block."""

    _attr = "grad_enabled"
    _value = True


class detect_anomaly(_Switch):
    """Raise ``FloatingPointError`` at the first op whose forward value or backward gradient is NaN.

    The message names the op, its input values and their labels. Slower; for debugging.
    """

    _attr = "anomaly"
    _value = True


def is_grad_enabled() -> bool:
    """Whether ops record into the graph in this thread."""
    return STATE.grad_enabled


def is_anomaly_enabled() -> bool:
    """Whether NaN checks are on in this thread."""
    return STATE.anomaly
