"""Walking the graph: the one topological walk, iterative.

micrograd sorts recursively and dies near depth 1,000; here an explicit stack means any
depth works with the default recursion limit.

A recorded graph is immutable and every node is created after its parents, with a creation
number to prove it, so creation order is already a topological order: collecting the nodes
and sorting them by that number (in C) is all the chain rule needs (∂C/∂x is complete once
every consumer of x, all of them newer than x, has contributed).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from operator import attrgetter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .value import Value

__all__ = ["topological_order", "nodes", "edges"]

_SEQ = attrgetter("_seq")


def collect(roots: Iterable[Value], seen: set[Value], stop_at: Collection[Value] = (), *,
            leaves: bool = True) -> list[Value]:
    """Every node the ``roots`` depend on that is not in ``seen`` yet, roots included, in
    creation order (parents first); ``seen`` gains them.

    Nodes in ``stop_at`` are treated as leaves (their parents are not visited).
    ``leaves=False`` leaves out the leaves (backward never passes a gradient on from one).
    """
    found = []
    stack = []
    for root in roots:
        if root not in seen:
            seen.add(root)
            stack.append(root)
            if leaves or root._x0 is not None:
                found.append(root)
    stop = set(stop_at)
    pop, push, keep, mark = stack.pop, stack.append, found.append, seen.add
    while stack:
        node = pop()
        if stop and node in stop:
            continue
        rest = node._rest
        # Most nodes have at most two parents, kept in slots; None marks where they end.
        for parent in rest.parents if rest is not None else (node._x0, node._x1):
            if parent is None:
                break
            if (leaves or parent._x0 is not None) and parent not in seen:
                mark(parent)
                push(parent)
                keep(parent)
    found.sort(key=_SEQ)
    return found


def topological_order(root: Value, stop_at: Collection[Value] = ()) -> list[Value]:
    """Every node ``root`` depends on, each after all of its parents; ``root`` is last.

    Nodes in ``stop_at`` are treated as leaves (their parents are not visited).
    """
    return collect((root,), set(), stop_at)


def nodes(root: Value) -> Iterator[Value]:
    """Every node reachable from ``root``, parents before children."""
    return iter(topological_order(root))


def edges(root: Value) -> Iterator[tuple[Value, Value, int]]:
    """Every edge as ``(parent, child, argument_index)``: ``x*x`` yields two edges."""
    for child in topological_order(root):
        for i, parent in enumerate(child.parents):
            yield parent, child, i
