"""Messages for ``detect_anomaly``: name the op, its inputs' values and labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _describe(inputs: Sequence[Any]) -> str:
    parts = []
    for i, v in enumerate(inputs):
        label = f" {v.label!r}" if v.label else ""
        parts.append(f"input {i}{label} = {v.data!r}")
    return ", ".join(parts) if parts else "no inputs"


def forward_nan_error(op_name: str, inputs: Sequence[Any]) -> FloatingPointError:
    """The error for an op whose forward value is NaN."""
    return FloatingPointError(f"anomaly: op {op_name!r} produced nan in forward ({_describe(inputs)})")


def backward_nan_error(node: Any, parent_index: int, upstream: Any, local: Any) -> FloatingPointError:
    """The error for a NaN gradient contribution ∂C/∂out · ∂out/∂xᵢ flowing into input i."""
    label = f" {node.label!r}" if node.label else ""
    return FloatingPointError(
        f"anomaly: backward of op {node.op!r}{label} (output {node.data!r}) gave nan for input "
        f"{parent_index}: upstream grad {_num(upstream)!r} × local derivative {_num(local)!r} "
        f"({_describe(node.parents)})"
    )


def _num(x: Any) -> Any:
    return getattr(x, "data", x)
