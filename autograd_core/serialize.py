"""Pickling and deep-copying Values: a whole graph, flattened without recursion.

A Value is only meaningful with its graph, so ``pickle`` and ``copy.deepcopy`` copy
everything a node reaches through ``parents`` (and through a ``grad`` that is itself a Value,
as after ``backward(create_graph=True)``). The copy is a new graph: ``loss2 = deepcopy(loss)``
then ``loss2.backward()`` fills the copy's leaves, never the original's.

Both walk the graph with an explicit stack and write it as a flat list in topological order,
parents before children, so a 100,000-deep chain copies with the default recursion limit
(a plain recursive ``__reduce__`` would recurse once per node). Each node is stored as plain
data: ``data``, ``grad``, ``label``, the op's *name* (rebuilt with
:func:`~autograd_core.ops.op_by_name`), its parents by reference, and its local derivatives
∂node/∂parentᵢ as floats. No code (lambda, closure) is ever pickled.

Identity is kept, as pickle and deepcopy always do: a leaf shared by two graphs, or a parameter
of a model pickled together with a loss built from it, is one object after loading.

Custom ops (:class:`~autograd_core.Function`) cannot be rebuilt by name, since their class may
not exist where the pickle is loaded. A pickled custom node keeps its name, its arity and its
local derivatives (its backward at ∂C/∂out = 1, evaluated when pickled), so ``backward()`` on
the copy gives exactly the original's gradients; it cannot be differentiated twice
(``create_graph=True`` raises ``NotImplementedError`` naming the op). ``copy.deepcopy``
shares the op and copies the node's ``ctx``, so nothing is lost there.
"""

from __future__ import annotations

import copy
import functools
import threading
import weakref
from typing import Any

from .function import custom_op
from .graph import collect
from .ops import OPS, Op
from .value import Value, creation_number, custom_ctx, init_node, leaf

__all__ = ["reduce_value", "set_state", "deepcopy_value", "graph_closure"]


def graph_closure(root: Value) -> list[Value]:
    """Every Value ``root`` reaches through ``parents`` or a Value-valued ``grad``.

    Nodes come in creation order (parents before children), so a copy is made in the same
    order as the original and walks its graph in the same order.
    """
    seen: set[Value] = set()
    order: list[Value] = []
    pending = [root]
    while pending:
        found = collect(pending, seen)
        order += found
        pending = [node.grad for node in found if isinstance(node.grad, Value) and node.grad not in seen]
    order.sort(key=creation_number)
    return order


def deepcopy_value(v: Value, memo: dict[int, Any]) -> Value:
    """``copy.deepcopy(v)``: a new graph with the same data, grads, labels, ops and local grads.

    Nodes already in ``memo`` (copied earlier in the same ``deepcopy`` call, e.g. the
    parameters of a model) are reused, so shared nodes stay shared. A custom Function's
    node gets a deep copy of its ``ctx``, so its backward runs on the copy as on the original.
    """
    fresh: list[Value] = []
    for node in graph_closure(v):
        if id(node) in memo:
            continue
        parents = tuple([memo[id(p)] for p in node.parents])
        ctx = custom_ctx(node)
        # Ops are immutable and hold no graph state: the copy shares them, custom ones included.
        if ctx is not None:
            twin = init_node(_blank(), node.data, node.fn, parents, (), copy.deepcopy(ctx, memo))
        else:
            twin = init_node(_blank(), node.data, node.fn, parents, node.local_grads)
        twin.label = node.label
        memo[id(node)] = twin
        fresh.append(node)
    for node in fresh:
        grad = node.grad
        memo[id(node)].grad = memo[id(grad)] if isinstance(grad, Value) else copy.deepcopy(grad, memo)
    twin_of_v: Value = memo[id(v)]
    return twin_of_v


def _blank() -> Value:
    return Value.__new__(Value)


class _Graph(list):  # type: ignore[type-arg]
    """The flat node list one pickle shares between all the nodes it holds.

    Pickled as an empty list, then its nodes one by one (each node's parents were appended
    before it, so nothing recurses), then the Value-valued grads, which may point anywhere.
    """

    __slots__ = ("__weakref__",)

    def __reduce__(self) -> tuple[Any, ...]:
        links = [(i, node.grad) for i, node in enumerate(self) if isinstance(node.grad, Value)]
        return (_Graph, (), links, iter(self), None, _set_value_grads)


def _set_value_grads(graph: _Graph, links: list[tuple[int, Value]]) -> None:
    for i, grad in links:
        graph[i].grad = grad


class _Live(threading.local):
    """Graphs being pickled in this thread, as (weak reference, ids of their nodes).

    Only weak references: a pickle never keeps a graph alive.
    """

    def __init__(self) -> None:
        self.graphs: list[tuple[weakref.ref[_Graph], frozenset[int]]] = []


_LIVE = _Live()


def _graph_holding(v: Value) -> _Graph | None:
    key = id(v)
    alive = []
    found = None
    for ref, ids in _LIVE.graphs:
        graph = ref()
        if graph is None:
            continue
        alive.append((ref, ids))
        if found is None and key in ids:
            found = graph
    _LIVE.graphs = alive
    return found


def reduce_value(v: Value) -> tuple[Any, ...]:
    """``Value.__reduce__``: a leaf as its numbers, any other node as a slot in a flat graph.

    The first node of a graph that pickle meets builds the graph's flat list; every node in it
    (pickled while that list is written) then refers to the same list, which pickle's memo
    writes once. ``copy.copy(v)`` gives a shallow copy: a new node with the same parents and a
    ``grad`` of 0.0 if the original's was a Value.
    """
    if v.is_leaf and not isinstance(v.grad, Value):
        return (_leaf, (v.data, v.label, v.grad))
    graph = _graph_holding(v)
    if graph is None:
        graph = _Graph(graph_closure(v))
        _LIVE.graphs.append((weakref.ref(graph), frozenset(map(id, graph))))
    grad = v.grad if not isinstance(v.grad, Value) else 0.0
    # A custom node is saved with its local derivatives (its ctx and class may not survive).
    state = (v.data, grad, v.label, _picklable_op(v.fn), v.parents, v.local_grads)
    return (_shell, (graph,), state)


def _leaf(data: float, label: str, grad: Any) -> Value:
    v = Value(data, label)
    v.grad = grad
    return v


def _shell(graph: _Graph) -> Value:
    # The graph argument only makes pickle write the flat list before this node.
    return leaf(0.0)


def set_state(v: Value, state: tuple[Any, ...]) -> None:
    """``Value.__setstate__``: fill a node made by :func:`reduce_value` from its saved state."""
    data, grad, label, fn, parents, local = state
    # Nodes are filled in graph order, parents first, so creation order stays topological.
    init_node(v, data, fn, parents, local)
    v.grad, v.label = grad, label


class _FunctionOp(Op):
    """A custom op as it survives pickling: its name and arity, no code.

    Nodes keep the local derivatives they were saved with, so first-order backward is
    unchanged; the forward and the second-order rule raise with a message saying why.
    """

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_function_op, (self.name, self.arity))


@functools.lru_cache(maxsize=256)
def _function_op(name: str, arity: int) -> Op:
    base = custom_op(name, arity)
    return _FunctionOp(name, arity, base.forward, base.derivative)


def _picklable_op(fn: Op | None) -> Op | None:
    # Table ops pickle by name (Op.__reduce__ → op_by_name); anything else, by name and arity.
    if fn is None or OPS.get(fn.name) is fn or fn.factory or isinstance(fn, _FunctionOp):
        return fn
    return _function_op(fn.name, fn.arity)
