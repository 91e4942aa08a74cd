"""Reverse mode: the chain rule applied once per node, in reverse topological order.

For every node ``out`` and each of its parents ``xᵢ``:

    ∂C/∂xᵢ += ∂C/∂out · ∂out/∂xᵢ

The local derivative ∂out/∂xᵢ was stored as a float when the node was recorded. With
``create_graph=True`` it is recomputed from the op's rule on Values instead, so the
gradients themselves become differentiable graphs (``grad`` of ``grad``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .anomaly import backward_nan_error
from .backends import VALUE
from .graph import consumer_counts, creation_order, cycle_error, topological_order
from .modes import STATE
from .value import Value, to_float

__all__ = ["backward", "gradients", "local_derivatives"]


def local_derivatives(node: Value, create_graph: bool = False) -> tuple[Any, ...]:
    """∂node/∂parentᵢ for each parent: stored floats, or Values when ``create_graph``."""
    if not create_graph:
        return node.local_grads
    fn = node._fn
    if fn is None:
        return ()
    return fn.derivative(VALUE, node.parents, node)


def backward(root: Value, grad: Any = 1.0, *, create_graph: bool = False) -> None:
    """Fill ``.grad`` with ∂root/∂node for every node ``root`` depends on.

    Leaves accumulate across calls (as PyTorch); interior grads are reset first. Nodes pass
    their gradient on newest first: every node that uses x is newer than x, so ∂C/∂x is
    complete when x's turn comes (see graph.py).
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward() needs a Value, got {type(root).__name__}")
    if not isinstance(grad, Value):
        grad = _seed(grad)
    if create_graph or not STATE.plain:
        order = topological_order(root)
        _reset_interior(order)
        root.grad = root.grad + grad
        _backward_general(order, create_graph)
        return
    interior = creation_order(root, leaves=False)
    if interior is None:
        _backward_kahn(root, grad)
        return
    for node in interior:  # their grads start afresh each call; leaves accumulate
        node.grad = 0.0
    root.grad += grad
    for node in reversed(interior):
        # The chain rule for up to two parents kept in slots (value.py), then any others.
        g = node.grad
        x0: Value = node._x0  # type: ignore[assignment]  # never None on an interior node
        x0.grad += node._d0 * g
        x1 = node._x1
        if x1 is not None:
            x1.grad += node._d1 * g
            if node._rest:
                for parent, local in node._rest:
                    parent.grad += local * g


def _backward_kahn(root: Value, grad: float) -> None:
    # For graphs whose parents were rewired by hand: creation order may not be an order.
    consumers = consumer_counts(root, leaves=False)
    _reset_interior(consumers)
    if consumers[root]:
        raise cycle_error(consumers)
    root.grad += grad
    ready = [root]
    pop, push = ready.pop, ready.append
    while ready:
        node = pop()
        g = node.grad
        for parent, local in zip(node.parents, node.local_grads):
            parent.grad += local * g
            if not parent.is_leaf:
                left = consumers[parent] - 1
                consumers[parent] = left
                if not left:
                    push(parent)
    if any(consumers.values()):
        raise cycle_error(consumers)


def _reset_interior(nodes: Iterable[Value]) -> None:
    for node in nodes:
        if node._x0 is not None:
            node.grad = 0.0


def _backward_general(order: Sequence[Value], create_graph: bool) -> None:
    # The same loop with the rarer options: Value-valued locals and NaN checks.
    anomaly = STATE.anomaly
    for node in reversed(order):
        if not node.parents:
            continue
        g = node.grad
        for i, (parent, local) in enumerate(zip(node.parents, local_derivatives(node, create_graph))):
            contribution = local * g
            if anomaly and _is_nan(contribution):
                raise backward_nan_error(node, i, g, local)
            parent.grad = _accumulate(parent.grad, contribution)
    if create_graph:
        # Only leaves keep differentiable grads (as PyTorch). An interior node's Value grad
        # can refer back to the node itself (tanh' = 1 − out²): a cycle refcounting can't free.
        for node in order:
            if node.parents and isinstance(node.grad, Value):
                node.grad = node.grad.data


def gradients(output: Value, inputs: Sequence[Value], grad_output: Any = 1.0, *,
              create_graph: bool = False) -> tuple[Any, ...]:
    """∂output/∂input for each input, as ``torch.autograd.grad``: no ``.grad`` is written.

    Inputs ``output`` does not depend on get 0.0. With ``create_graph=True`` the results are
    Values that can be differentiated again.
    """
    if not isinstance(output, Value):
        raise TypeError(f"gradients() needs a Value output, got {type(output).__name__}")
    for x in inputs:
        if not isinstance(x, Value):
            raise TypeError(f"gradients() inputs must be Values, got {type(x).__name__}")
    order = topological_order(output)
    # Only nodes on a path to some input need a gradient; the rest of the graph is skipped.
    leads_to_input = {id(x) for x in inputs}
    for node in order:
        if any(id(p) in leads_to_input for p in node.parents):
            leads_to_input.add(id(node))
    anomaly = STATE.anomaly
    grads: dict[int, Any] = {id(output): grad_output}
    for node in reversed(order):
        key = id(node)
        if not node.parents or key not in grads or key not in leads_to_input:
            continue
        g = grads[key]
        for i, (parent, local) in enumerate(zip(node.parents, local_derivatives(node, create_graph))):
            if id(parent) not in leads_to_input:
                continue
            contribution = local * g
            if anomaly and _is_nan(contribution):
                raise backward_nan_error(node, i, g, local)
            pkey = id(parent)
            grads[pkey] = _accumulate(grads[pkey], contribution) if pkey in grads else contribution
    return tuple(grads.get(id(x), 0.0) for x in inputs)


def _seed(grad: Any) -> float:
    try:
        return to_float(grad)
    except TypeError:
        raise TypeError(f"backward(grad=...): expected a real number or a Value (∂C/∂root), got {type(grad).__name__}: "
                        f"{grad!r:.40}") from None


def _accumulate(total: Any, contribution: Any) -> Any:
    # Starting a Value-valued sum from 0.0 would record a useless '+ 0' node.
    if type(total) is float and total == 0.0 and isinstance(contribution, Value):
        return contribution
    return total + contribution


def _is_nan(x: Any) -> bool:
    x = getattr(x, "data", x)
    return x != x
