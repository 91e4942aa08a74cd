"""Walking the graph: topological order, nodes and edges, all iterative.

micrograd sorts recursively and dies near depth 1,000; here an explicit stack means any
depth works with the default recursion limit.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .value import Value

__all__ = ["topological_order", "nodes", "edges"]


def topological_order(root: Value, stop_at: Collection[Value] = ()) -> list[Value]:
    """Every node ``root`` depends on, each after all of its parents; ``root`` is last.

    Nodes in ``stop_at`` are treated as leaves (their parents are not visited). Raises
    ``ValueError`` if the graph has a cycle (only possible by editing ``parents`` by hand).
    """
    order: list[Value] = []
    done: set[int] = set()
    open_: set[int] = set()
    stop = {id(v) for v in stop_at}
    # Each entry is (node, expanded?): a node is emitted after all entries pushed above it.
    stack: list[tuple[Value, bool]] = [(root, False)]
    push = stack.append
    pop = stack.pop
    while stack:
        node, expanded = pop()
        key = id(node)
        if expanded:
            open_.discard(key)
            done.add(key)
            order.append(node)
            continue
        if key in done:
            continue
        if key in open_:
            raise ValueError(f"the graph has a cycle through {node!r}; parents must only point to earlier nodes")
        open_.add(key)
        push((node, True))
        if key not in stop:
            for parent in node.parents:
                if id(parent) not in done:
                    push((parent, False))
    return order


def nodes(root: Value) -> Iterator[Value]:
    """Every node reachable from ``root``, parents before children."""
    return iter(topological_order(root))


def edges(root: Value) -> Iterator[tuple[Value, Value, int]]:
    """Every edge as ``(parent, child, argument_index)``: ``x*x`` yields two edges."""
    for child in topological_order(root):
        for i, parent in enumerate(child.parents):
            yield parent, child, i
