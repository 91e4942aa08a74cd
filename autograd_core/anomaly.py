"""Messages for ``detect_anomaly``: name the op, its inputs' values and labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .value import to_float


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
    """The error for a NaN gradient contribution ∂C/∂out · ∂out/∂xᵢ flowing into input i.

    ``local`` is ``None`` for a custom Function, whose backward returned the contribution.
    """
    label = f" {node.label!r}" if node.label else ""
    up = to_float(upstream)
    how = f"upstream grad {up!r} × local derivative {to_float(local)!r}" if local is not None else \
        f"its backward returned nan for upstream grad {up!r}"
    return FloatingPointError(
        f"anomaly: backward of op {node.op!r}{label} (output {node.data!r}) gave nan for input "
        f"{parent_index}: {how} ({_describe(node.parents)})"
    )
