"""Pickling and deep-copying Values (implemented in issue 7)."""

from __future__ import annotations

from typing import Any


def reduce_value(v: Any) -> tuple[Any, ...]:
    raise TypeError("pickling a Value is not supported yet")


def deepcopy_value(v: Any, memo: dict[int, Any]) -> Any:
    raise TypeError("copy.deepcopy of a Value is not supported yet")
