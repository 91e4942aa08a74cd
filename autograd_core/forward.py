"""Forward mode: push tangents from the inputs to the outputs with the op table's derivatives.

Reverse mode (:mod:`autograd_core.backward`) pulls ∂C/∂node from one output back to every
input. Forward mode pushes a *tangent* ẋ — a direction in input space — the other way. Each
node's tangent is the chain rule read forwards:

    ṫ(out) = Σᵢ ∂out/∂xᵢ · ṫ(xᵢ)          (the same local derivatives ∂out/∂xᵢ as backward)

so one sweep gives J·ẋ, the directional derivative of every output at once. A full Jacobian
takes one forward sweep per input (columns) or one reverse sweep per output (rows): forward
mode wins when there are fewer inputs than outputs. This is the arithmetic of dual numbers
x + ẋε (ε² = 0), run over the recorded graph: the local derivatives were stored when each
node was made, so no op needs a second rule.

    from autograd_core import jvp
    out, tangent = jvp(lambda x, y: x * y + x.sin(), (2.0, 3.0), (1.0, 0.0))   # ∂/∂x = y + cos x
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .backends import VALUE
from .functional import _NESTING
from .graph import topological_order
from .modes import enable_grad
from .value import Value, to_float

__all__ = ["jvp", "push_forward", "sweep_forward", "forward_order"]


def push_forward(outputs: Sequence[Value], inputs: Sequence[Value], tangents: Sequence[Any], *,
                 create_graph: bool = False) -> tuple[Any, ...]:
    """Forward-mode sweep: ṫ(out) = Σᵢ ∂out/∂xᵢ · ṫ(xᵢ) for every node, inputs first.

    Returns J·ẋ, one tangent per output (0.0 for an output that does not depend on the
    inputs). ``inputs`` are treated as leaves: the sweep starts at them. With
    ``create_graph=True`` the local derivatives are recorded Values, so the tangents are
    differentiable again (forward-over-reverse, ``jvp`` inside ``grad``).
    """
    return sweep_forward(forward_order(outputs, inputs), outputs, inputs, tangents, create_graph=create_graph)


def sweep_forward(order: Sequence[Value], outputs: Sequence[Value], inputs: Sequence[Value],
                  tangents: Sequence[Any], *, create_graph: bool = False) -> tuple[Any, ...]:
    """:func:`push_forward` over an ``order`` from :func:`forward_order` (reused for many tangents)."""
    if len(inputs) != len(tangents):
        raise ValueError(f"push_forward: {len(inputs)} inputs but {len(tangents)} tangents")
    dot: dict[int, Any] = {}
    for x, t in zip(inputs, tangents):
        if not isinstance(x, Value):
            raise TypeError(f"push_forward: inputs must be Values, got {type(x).__name__}")
        dot[id(x)] = dot[id(x)] + t if id(x) in dot else t
    seeded = set(dot)
    for node in order:
        if id(node) in seeded or node.fn is None:
            continue
        parents = node.parents
        local = node.fn.derivative(VALUE, parents, node) if create_graph else node.local_grads
        total: Any = None
        for parent, d in zip(parents, local):
            t = dot.get(id(parent))
            if t is not None:
                total = d * t if total is None else total + d * t
        if total is not None:
            dot[id(node)] = total
    return tuple(dot.get(id(out), 0.0) for out in outputs)


def forward_order(outputs: Sequence[Value], inputs: Sequence[Value]) -> list[Value]:
    """Every node the outputs depend on, parents first, walked once however many outputs share it.

    The walk starts from one root that reaches every output (their sum, recorded here), so a
    subgraph shared by m outputs is visited once, not m times; ``inputs`` are not walked past.
    """
    if len(outputs) == 1:
        return topological_order(outputs[0], stop_at=inputs)
    with enable_grad():
        root = outputs[0]
        for out in outputs[1:]:
            root = root + out
    return topological_order(root, stop_at=inputs)


# -- arguments and results as nested lists of scalars ---------------------------------------
def flatten(x: Any, what: str) -> tuple[list[Any], tuple[int, ...]]:
    """A scalar or a rectangular nest of sequences of scalars → (flat list, shape)."""
    if isinstance(x, Value) or _is_number(x):
        return [x], ()
    if isinstance(x, np.ndarray):
        x = x.tolist() if x.ndim else x.item()
        return flatten(x, what)
    if isinstance(x, (list, tuple)):
        if not x:
            return [], (0,)
        parts = [flatten(item, what) for item in x]
        inner = parts[0][1]
        if any(shape != inner for _, shape in parts):
            raise ValueError(f"{what} must be a scalar or a rectangular list of scalars, got ragged nesting")
        return [v for flat, _ in parts for v in flat], (len(x), *inner)
    raise TypeError(f"{what} must be a number, a Value or a (nested) list of them, got {type(x).__name__}")


def unflatten(flat: Sequence[Any], shape: tuple[int, ...], as_array: bool) -> Any:
    """The inverse of :func:`flatten`: a float/Value, or nested lists (a float ndarray if ``as_array``)."""
    if as_array:
        arr = np.array([to_float(v) for v in flat], dtype=np.float64).reshape(shape)
        return arr.item() if not shape else arr
    if not shape:
        return flat[0]
    step = len(flat) // shape[0] if shape[0] else 0
    return [unflatten(flat[i * step:(i + 1) * step], shape[1:], False) for i in range(shape[0])]


def _is_number(x: Any) -> bool:
    try:
        to_float(x)
    except TypeError:
        return False
    return True


def as_leaves(x: Any, what: str) -> tuple[Any, list[Value], tuple[int, ...]]:
    """An argument as fresh leaves in its own structure (a Value passed in is used as it is)."""
    flat, shape = flatten(x, what)
    leaves = [v if isinstance(v, Value) else Value(to_float(v)) for v in flat]
    return unflatten(leaves, shape, False), leaves, shape


def output_values(out: Any) -> tuple[list[Value], tuple[int, ...]]:
    """``f``'s result as a flat list of Values (numbers become constants) and its shape."""
    flat, shape = flatten(out, "the function's result")
    return [v if isinstance(v, Value) else Value(to_float(v)) for v in flat], shape


def is_nested(*trees: Any) -> bool:
    """Whether results must stay differentiable: a Value came in, or an outer transform is running."""
    return _NESTING.depth > 0 or any(_has_value(t) for t in trees)


def _has_value(x: Any) -> bool:
    if isinstance(x, Value):
        return True
    if isinstance(x, (list, tuple)):
        return any(_has_value(v) for v in x)
    return False


def call(f: Callable[..., Any], args: Sequence[Any]) -> Any:
    """``f(*args)`` counted as a nested call, so transforms inside ``f`` keep their graphs."""
    _NESTING.depth += 1
    try:
        with enable_grad():  # the transforms need f's graph, even when called under no_grad
            return f(*args)
    finally:
        _NESTING.depth -= 1


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``(f(*primals), J·tangents)``: the Jacobian-vector product by forward mode, as ``torch.func.jvp``.

    ``primals`` and ``tangents`` are tuples with one entry per argument of ``f``, each a number
    (or Value) or a (nested) list of them; a tangent has its primal's shape. ``f`` returns a
    Value, a number or a (nested) list of them; both results have that shape (floats, or
    Values when called on Values or inside another transform, so they can be differentiated).
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp(f, primals, tangents): primals and tangents must be tuples (one entry per argument)")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    nested = is_nested(primals, tangents)
    args: list[Any] = []
    leaves: list[Value] = []
    seeds: list[Any] = []
    for i, (p, t) in enumerate(zip(primals, tangents)):
        arg, xs, shape = as_leaves(p, f"primals[{i}]")
        ts, tshape = flatten(t, f"tangents[{i}]")
        if tshape != shape:
            raise ValueError(f"jvp: tangents[{i}] has shape {tshape}, its primal has shape {shape}")
        args.append(arg)
        leaves += xs
        seeds += ts if nested else [to_float(v) for v in ts]
    outs, shape = output_values(call(f, args))
    dots = push_forward(outs, leaves, seeds, create_graph=nested)
    values: list[Any] = list(outs) if nested else [o.data for o in outs]
    return unflatten(values, shape, False), unflatten(list(dots), shape, False)
