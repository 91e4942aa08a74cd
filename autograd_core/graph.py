"""Walking the graph: topological order, nodes and edges, all iterative.

micrograd sorts recursively and dies near depth 1,000; here an explicit stack means any
depth works with the default recursion limit.

Every node is created after its parents, and each Value carries a creation number, so
creation order is already a topological order: collecting the nodes and sorting them by it
(in C) is all that the chain rule needs (∂C/∂x is complete once every consumer of x, all of
them newer than x, has contributed).

Only a graph whose ``parents`` were edited by hand can break that. Such graphs get Kahn's
algorithm, run from the root downwards: first count, for every node, how many of its
consumers lie in the graph; then release a node once all of its consumers have been
released. Nodes never released lie on a cycle.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from operator import attrgetter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .value import Value

__all__ = ["topological_order", "nodes", "edges"]


def creation_order(root: Value, stop_at: Collection[Value] = (), *, leaves: bool = True) -> list[Value] | None:
    """Every node ``root`` depends on, oldest first; ``None`` if creation order is not an order.

    A node is always created after its parents, so sorting by creation (in C) gives a
    topological order without Kahn's counting. Only ``parents`` edited by hand can break
    that; then this returns ``None`` and callers fall back to Kahn's algorithm. Nodes in
    ``stop_at`` are treated as leaves; ``leaves=False`` leaves out the leaves.
    """
    stop = set(map(id, stop_at))
    found = [root] if leaves or root._x0 is not None else []
    seen = {root}
    stack = [root]
    pop, push, keep, mark = stack.pop, stack.append, found.append, seen.add
    while stack:
        node = pop()
        if stop and id(node) in stop:
            continue
        seq = node._seq
        # Most nodes have at most two parents, kept in slots; None marks where they end.
        for parent in node.parents if node._rest else (node._x0, node._x1):
            if parent is None:
                break
            if parent._seq >= seq:
                return None
            if (leaves or parent._x0 is not None) and parent not in seen:
                mark(parent)
                push(parent)
                keep(parent)
    found.sort(key=_SEQ)
    return found


_SEQ = attrgetter("_seq")


def consumer_counts(root: Value, stop_at: Collection[Value] = (), *, leaves: bool = True) -> dict[Value, int]:
    """For every node ``root`` depends on, how many times it is used by nodes in the graph.

    Nodes in ``stop_at`` are treated as leaves (their parents are not visited). With
    ``leaves=False`` leaves are left out: backward never has to wait on a leaf.
    """
    stop = set(map(id, stop_at))
    consumers: dict[Value, int] = {root: 0}
    stack = [root]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        if stop and id(node) in stop:
            continue
        for parent in node.parents:
            if parent in consumers:
                consumers[parent] += 1
            elif leaves or not parent.is_leaf:
                consumers[parent] = 1
                push(parent)
    return consumers


def cycle_error(consumers: dict[Value, int]) -> ValueError:
    """The error for a graph in which some node was never released (it lies on a cycle)."""
    stuck = next((v for v, n in consumers.items() if n > 0), None)
    return ValueError(f"the graph has a cycle through {stuck!r}; parents must only point to earlier nodes")


def topological_order(root: Value, stop_at: Collection[Value] = ()) -> list[Value]:
    """Every node ``root`` depends on, each after all of its parents; ``root`` is last.

    Nodes in ``stop_at`` are treated as leaves (their parents are not visited). Raises
    ``ValueError`` if the graph has a cycle (only possible by editing ``parents`` by hand).
    """
    order = creation_order(root, stop_at)
    if order is not None:
        return order
    consumers = consumer_counts(root, stop_at)
    stop = set(map(id, stop_at))
    released: list[Value] = []
    ready = [root] if consumers[root] == 0 else []
    pop, push, emit = ready.pop, ready.append, released.append
    while ready:
        node = pop()
        emit(node)
        if stop and id(node) in stop:
            continue
        for parent in node.parents:
            left = consumers[parent] - 1
            consumers[parent] = left
            if left == 0:
                push(parent)
    if len(released) != len(consumers):
        raise cycle_error(consumers)
    released.reverse()
    return released


def nodes(root: Value) -> Iterator[Value]:
    """Every node reachable from ``root``, parents before children."""
    return iter(topological_order(root))


def edges(root: Value) -> Iterator[tuple[Value, Value, int]]:
    """Every edge as ``(parent, child, argument_index)``: ``x*x`` yields two edges."""
    for child in topological_order(root):
        for i, parent in enumerate(child.parents):
            yield parent, child, i
