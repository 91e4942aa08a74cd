"""Reverse mode: the chain rule applied once per node, in reverse topological order.

For every node ``out`` and each of its parents ``xᵢ``:

    ∂C/∂xᵢ += ∂C/∂out · ∂out/∂xᵢ

The local derivative ∂out/∂xᵢ was stored as a float when the node was recorded. With
``create_graph=True`` it is recomputed from the op's rule on Values instead, so the
gradients themselves become differentiable graphs (``grad`` of ``grad``).

:func:`sweep` is that loop, written once: ``backward`` (its general path), ``gradients`` and
``backward_steps`` all run it. ``backward`` on plain floats has one fast path, a loop over
the nodes' slots that leaves every unusual node (custom op, more than two inputs, an inf or
nan gradient) to :func:`contributions`, the same per-node rule the sweep uses.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from .anomaly import backward_nan_error
from .backends import VALUE
from .graph import collect, topological_order
from .modes import ACTIVE, STATE, enable_grad
from .ops import Op
from .value import Value, to_float

__all__ = ["backward", "gradients", "sweep", "contributions", "seed_gradient"]


def contributions(node: Value, g: Any, create_graph: bool = False) -> tuple[tuple[Any, ...] | None, tuple[Any, ...]]:
    """``(local, contributions)`` of one interior node: ∂out/∂xᵢ and ∂C/∂out · ∂out/∂xᵢ.

    ``local`` is ``None`` for a custom Function, whose backward gives the contributions
    directly. Where ∂C/∂out is inf or nan, inputs the op masks (``Op.masks``: inactive relu,
    ``x**0``) get exactly 0, as in PyTorch.
    """
    fn: Op = node.fn  # type: ignore[assignment]  # never None on an interior node
    if fn.vjp is not None:
        return None, fn.vjp(node, g, create_graph)
    local = fn.derivative(VALUE, node.parents, node) if create_graph else node.local_grads
    out = tuple([d * g for d in local])
    if fn.masks is not None:
        x = to_float(g)
        if x - x != 0.0:
            masked = fn.masks([p.data for p in node.parents])
            out = tuple([0.0 if m else c for m, c in zip(masked, out)])
    return local, out


def sweep(order: Sequence[Value], grads: dict[Value, Any], create_graph: bool = False
          ) -> Iterator[tuple[Value, Any, tuple[Any, ...] | None, tuple[Any, ...]]]:
    """The chain rule once per node of ``order`` (parents first), newest node first.

    ``grads`` holds this pass's ∂C/∂node: the root's seed and 0.0 for every other node whose
    gradient is wanted; a parent missing from it is skipped (pruned). Each node's
    contributions are added to ``grads`` before ``(node, ∂C/∂node, local, contributions)`` is
    yielded (leaves, and nodes none of whose parents are in ``grads``, with empty tuples).
    No ``.grad`` is touched. Under ``detect_anomaly`` a NaN contribution raises
    ``FloatingPointError``.
    """
    anomaly = STATE.anomaly
    for node in reversed(order):
        g = grads[node]
        parents = node.parents
        if not any(p in grads for p in parents):  # a leaf, or an input whose parents were pruned
            yield node, g, (), ()
            continue
        local, added = contributions(node, g, create_graph)
        for i, (parent, c) in enumerate(zip(parents, added)):
            if parent in grads:
                if anomaly and _is_nan(c):
                    raise backward_nan_error(node, i, g, None if local is None else local[i])
                grads[parent] = _accumulate(grads[parent], c)
        yield node, g, local, added


def backward(root: Value, grad: Any = 1.0, *, create_graph: bool = False) -> None:
    """Fill ``.grad`` with ∂root/∂node for every node ``root`` depends on.

    Leaves accumulate across calls (as PyTorch); interior grads are reset first. Nodes pass
    their gradient on newest first: every node that uses x is newer than x, so ∂C/∂x is
    complete when x's turn comes (see graph.py).

    With ``create_graph=True`` the leaves' ``.grad`` become Values whose graphs refer back
    to the leaves themselves (∂(x·x)/∂x = 2·x): a reference cycle leaf → grad → … → leaf that
    only the garbage collector frees. As PyTorch, this warns; free it by setting
    ``x.grad = 0.0`` (``zero_grad()``) after use, or use :func:`gradients` / ``grad()``,
    which write no ``.grad``. Interior nodes always keep float grads.
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward() needs a Value, got {type(root).__name__}")
    if not isinstance(grad, Value):
        grad = seed_gradient(grad)
    if create_graph or type(grad) is not float or (ACTIVE[0] and STATE.anomaly):
        _backward_general(root, grad, create_graph)
        return
    # Fast path: plain floats through the nodes' slots (value.py); unusual nodes go to
    # _cold_step. `g - g` is 0.0 exactly when g is finite.
    interior = collect((root,), set(), leaves=False)
    for node in interior:  # their grads start afresh each call; leaves accumulate
        node.grad = 0.0
    root.grad += grad
    for node in reversed(interior):
        g = node.grad
        if node._rest is not None or g - g:
            _cold_step(node, g)
            continue
        node._x0.grad += node._d0 * g  # type: ignore[union-attr]  # never None on an interior node
        x1 = node._x1
        if x1 is not None:
            x1.grad += node._d1 * g


def _cold_step(node: Value, g: float) -> None:
    # A custom or n-ary node, or an inf/nan ∂C/∂node (masks may apply): the general rule.
    for parent, c in zip(node.parents, contributions(node, g)[1]):
        parent.grad += c


def _backward_general(root: Value, grad: Any, create_graph: bool) -> None:
    order = topological_order(root)
    grads = dict.fromkeys(order, 0.0)
    grads[root] = grad
    with _recording(create_graph):
        for _ in sweep(order, grads, create_graph):
            pass
    cycle = False
    for node in order:
        g = grads[node]
        if not node.is_leaf:
            # An interior node's Value grad can refer back to the node (tanh' = 1 − out²).
            node.grad = to_float(g)
        else:
            node.grad = _accumulate(node.grad, g)
            cycle = cycle or (isinstance(node.grad, Value) and not node.grad.is_leaf)
    if cycle and create_graph:
        warnings.warn(
            "backward(create_graph=True) makes a reference cycle between each leaf and its .grad "
            "(the gradient's graph refers back to the leaf), so the graph is freed only by the "
            "garbage collector. Set x.grad = 0.0 (or zero_grad()) after use to break it, or use "
            "gradients(out, inputs, create_graph=True) / grad(f), which write no .grad.",
            UserWarning,
            stacklevel=_caller_level(),
        )


def _caller_level() -> int:
    # The first frame outside autograd_core: the line of user code that asked for backward.
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("autograd_core."):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level


def gradients(output: Value, inputs: Sequence[Value], grad_output: Any = 1.0, *,
              create_graph: bool = False) -> tuple[Any, ...]:
    """∂output/∂input for each input, as ``torch.autograd.grad``: no ``.grad`` is written.

    Only nodes on a path from ``output`` to some input are visited (as tinygrad's
    ``compute_gradient``); inputs ``output`` does not depend on get 0.0. With
    ``create_graph=True`` the results are Values that can be differentiated again (recorded
    even inside ``no_grad``).
    """
    if not isinstance(output, Value):
        raise TypeError(f"gradients() needs a Value output, got {type(output).__name__}")
    for x in inputs:
        if not isinstance(x, Value):
            raise TypeError(f"gradients() inputs must be Values, got {type(x).__name__}")
    seed = grad_output if isinstance(grad_output, Value) else seed_gradient(grad_output, "gradients(grad_output=...)")
    order = _reaching(topological_order(output), inputs)
    grads: dict[Value, Any] = dict.fromkeys(order, 0.0)
    if order:
        grads[output] = seed
    with _recording(create_graph):
        for _ in sweep(order, grads, create_graph):
            pass
    return tuple(grads.get(x, 0.0) for x in inputs)


def _reaching(order: list[Value], inputs: Sequence[Value]) -> list[Value]:
    # The nodes of `order` (parents first) that are inputs or have a parent that reaches one.
    reach = set(inputs)
    for node in order:
        if node not in reach and any(p in reach for p in node.parents):
            reach.add(node)
    return [node for node in order if node in reach]


def _recording(create_graph: bool) -> contextlib.AbstractContextManager[None]:
    # A differentiable gradient must be recorded even when called inside no_grad.
    return enable_grad() if create_graph else contextlib.nullcontext()


def seed_gradient(grad: Any, where: str = "backward(grad=...)") -> float:
    """∂C/∂root as a float, or a ``TypeError`` that names the call (``where``) and what came instead."""
    try:
        return to_float(grad)
    except TypeError:
        raise TypeError(f"{where}: expected a real number or a Value (∂C/∂root), got {type(grad).__name__}: "
                        f"{grad!r:.40}") from None


def _accumulate(total: Any, contribution: Any) -> Any:
    # Adding to or from an exact 0.0 would record a useless '+ 0' node on Values.
    if type(contribution) is float and contribution == 0.0 and isinstance(total, Value):
        return total
    if type(total) is float and total == 0.0 and isinstance(contribution, Value):
        return contribution
    return total + contribution


def _is_nan(x: Any) -> bool:
    f = to_float(x)
    return f != f
