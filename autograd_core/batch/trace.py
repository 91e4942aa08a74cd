"""Tracing: run a scalar function once on placeholder inputs and keep the graph it records.

The function is called on one sample, ``fn([x₀, x₁, …])`` with each ``xᵢ`` a fresh leaf
:class:`~autograd_core.Value`. Everything it does with Values is recorded as usual, so the
graph from the placeholders (and the captured parameters) to the outputs *is* the program.
Python control flow is not recorded: an ``if`` on a Value's data takes the branch the trace
sample took, for every later sample (as ``torch.jit.trace`` and ``jax.jit`` do).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backends import NUMPY
from ..graph import topological_order
from ..modes import enable_grad
from ..ops import Op
from ..value import Value, to_float

__all__ = ["CompileError", "Trace", "trace"]


class CompileError(ValueError):
    """A function cannot be compiled: a wrong signature, a bad output or an op with no batch rule."""


@dataclass(frozen=True)
class Trace:
    """The recorded program of one sample.

    ``order`` lists every node the outputs depend on, parents before children; the walk
    stops at ``inputs`` and ``params``. Leaves in ``order`` that are neither are constants.
    ``single`` is True when the function returned one number rather than a list.
    """

    inputs: tuple[Value, ...]
    params: tuple[Value, ...]
    outputs: tuple[Value, ...]
    order: tuple[Value, ...]
    single: bool


def trace(fn: Callable[[list[Value]], Any], n_inputs: int, params: Iterable[Value],
          example: Sequence[float] | None = None) -> Trace:
    """Call ``fn`` on ``n_inputs`` placeholder Values (data from ``example``, zeros by default).

    Raises :class:`CompileError` if ``fn`` returns something other than a Value, a number or
    a non-empty list of them, or uses an op that has no numpy rule (a custom ``Function``).
    """
    if isinstance(n_inputs, bool) or not isinstance(n_inputs, (int, np.integer)) or n_inputs < 1:
        raise CompileError(f"n_inputs must be a positive int (the width of one sample), got {n_inputs!r}")
    n_inputs = int(n_inputs)
    data = _example(example, n_inputs)
    params = _check_params(params)
    inputs = tuple(Value(x, f"x{i}") for i, x in enumerate(data))
    with enable_grad():
        raw = fn(list(inputs))
    outputs, single = _outputs(raw)
    order = _order(outputs)
    _check_ops(order)
    return Trace(inputs, params, outputs, order, single)


def _example(example: Sequence[float] | None, n_inputs: int) -> list[float]:
    if example is None:
        return [0.0] * n_inputs
    row = np.asarray(example, dtype=object).ravel()
    if row.shape[0] != n_inputs:
        raise CompileError(f"example must hold one sample of {n_inputs} numbers, got {row.shape[0]}")
    return [to_float(x) for x in row]


def _check_params(params: Iterable[Value]) -> tuple[Value, ...]:
    if isinstance(params, Value):
        params = [params]
    try:
        params = list(params)
    except TypeError:
        raise CompileError(f"params must be an iterable of Values, got {type(params).__name__}") from None
    unique: dict[int, Value] = {}
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise CompileError(f"params[{i}] must be a Value, got {type(p).__name__}")
        if p.parents:
            raise CompileError(
                f"params[{i}] is an interior node (made by op {p.op!r}); parameters must be leaf Values"
            )
        unique.setdefault(id(p), p)
    return tuple(unique.values())


def _outputs(raw: Any) -> tuple[tuple[Value, ...], bool]:
    if isinstance(raw, (list, tuple)):
        if not raw:
            raise CompileError("the function returned an empty list; it must return a Value or a list of Values")
        return tuple(_as_value(x, i) for i, x in enumerate(raw)), False
    return (_as_value(raw, None),), True


def _as_value(x: Any, i: int | None) -> Value:
    if isinstance(x, Value):
        return x
    try:
        return Value(to_float(x))
    except TypeError:
        where = "the function" if i is None else f"output {i}"
        raise CompileError(f"{where} returned {type(x).__name__}; expected a Value or a number") from None


def _order(outputs: tuple[Value, ...]) -> tuple[Value, ...]:
    # Each per-output order is topological; merging them first-seen keeps parents first.
    seen: set[int] = set()
    order: list[Value] = []
    for out in outputs:
        for node in topological_order(out):
            if id(node) not in seen:
                seen.add(id(node))
                order.append(node)
    return tuple(order)


def _check_ops(order: tuple[Value, ...]) -> None:
    # Run each distinct op's rules once on a one-element batch, so a missing numpy rule
    # fails here, at compile time, with the op's name, rather than midway through training.
    checked: set[int] = set()
    for node in order:
        op = node.fn
        if op is None or id(op) in checked:
            continue
        checked.add(id(op))
        _check_op(op, node)


def _check_op(op: Op, node: Value) -> None:
    xs = tuple(np.array([p.data]) for p in node.parents)
    try:
        with np.errstate(all="ignore"):
            out = op.forward(NUMPY, *xs)
            op.derivative(NUMPY, xs, out)
    except NotImplementedError:
        raise CompileError(
            f"op {op.name!r} has no numpy rule (a custom Function runs eagerly only); "
            "write it from built-in Value ops to compile it"
        ) from None
    except Exception as exc:
        raise CompileError(f"op {op.name!r} failed on a numpy batch: {type(exc).__name__}: {exc}") from exc
