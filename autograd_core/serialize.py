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
not exist where the pickle is loaded. A pickled custom node keeps its name, its arity and the
local derivatives stored at forward time, so ``backward()`` on the copy gives exactly the
original's gradients; like the original, it cannot be differentiated twice
(``create_graph=True`` raises ``NotImplementedError`` naming the op). ``copy.deepcopy``
shares the op itself, so nothing is lost there.
"""

from __future__ import annotations

import copy
import functools
import threading
import weakref
from operator import attrgetter
from typing import Any

from .function import _forward_unavailable, _no_second_order
from .ops import OPS, Op
from .value import Value, _set_edges
from .value import _leaf as _fresh_leaf

__all__ = ["reduce_value", "deepcopy_value", "graph_closure"]


def graph_closure(root: Value) -> list[Value]:
    """Every Value ``root`` reaches through ``parents`` or a Value-valued ``grad``.

    Nodes come in creation order, so a copy is made in the same order as the original (and
    walks its graph in the same order). Only if ``parents`` were edited by hand does the order
    stay depth-first post-order: parents before children, ``root`` after all its ancestors; a
    hand-made cycle is tolerated and copies reproduce it faithfully.
    """
    order: list[Value] = []
    seen: set[int] = set()
    pending = [root]
    while pending:
        # Entries are (node, expanded?): a node is emitted once everything pushed above it is.
        stack: list[tuple[Value, bool]] = [(pending.pop(), False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                grad = node.grad
                if isinstance(grad, Value) and id(grad) not in seen:
                    pending.append(grad)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for parent in reversed(node.parents):
                if id(parent) not in seen:
                    stack.append((parent, False))
    if all(parent._seq < node._seq for node in order for parent in node.parents):
        order.sort(key=attrgetter("_seq"))
    return order


def _blank() -> Value:
    return _fresh_leaf(0.0)


def deepcopy_value(v: Value, memo: dict[int, Any]) -> Value:
    """``copy.deepcopy(v)``: a new graph with the same data, grads, labels, ops and local grads.

    Nodes already in ``memo`` (copied earlier in the same ``deepcopy`` call, e.g. the
    parameters of a model) are reused, so shared nodes stay shared.
    """
    fresh: list[tuple[Value, Value]] = []
    for node in graph_closure(v):
        if id(node) not in memo:
            twin = _blank()
            memo[id(node)] = twin
            fresh.append((node, twin))
    for node, twin in fresh:
        twin.data = node.data
        twin.label = node.label
        # Ops are immutable and hold no graph state: the copy shares them, custom ones included.
        twin._fn = node._fn
        _set_edges(twin, tuple([memo[id(p)] for p in node.parents]), node.local_grads)
        grad = node.grad
        twin.grad = memo[id(grad)] if isinstance(grad, Value) else copy.deepcopy(grad, memo)
    return memo[id(v)]


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
    slots = {"data": v.data, "grad": grad, "label": v.label, "_fn": _picklable_op(v._fn),
             "_x0": v._x0, "_d0": v._d0, "_x1": v._x1, "_d1": v._d1, "_rest": v._rest}
    return (_shell, (graph,), (None, slots))


def _leaf(data: float, label: str, grad: Any) -> Value:
    v = Value(data, label)
    v.grad = grad
    return v


def _shell(graph: _Graph) -> Value:
    # The graph argument only makes pickle write the flat list before this node.
    return _blank()


class _FunctionOp(Op):
    """A custom op as it survives pickling: its name and arity, no code.

    Nodes keep their stored local derivatives, so first-order backward is unchanged; the
    forward and the second-order rule raise, exactly as a :class:`Function`'s own op does.
    """

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_function_op, (self.name, self.arity))


@functools.lru_cache(maxsize=256)
def _function_op(name: str, arity: int) -> Op:
    return _FunctionOp(name, arity, _forward_unavailable(name), _no_second_order(name))


def _picklable_op(fn: Op | None) -> Op | None:
    # Table ops pickle by name (Op.__reduce__ → op_by_name); anything else, by name and arity.
    if fn is None or OPS.get(fn.name) is fn or fn.factory or isinstance(fn, _FunctionOp):
        return fn
    return _function_op(fn.name, fn.arity)
