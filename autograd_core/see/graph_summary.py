"""Which boxes a drawing shows: every Value, or a summary of bounded size.

A neuron computes z = Σᵢ wᵢ·xᵢ + b and a = σ(z): 2n + 1 nodes of ``*`` and ``+`` for n inputs,
which is what makes an MLP's graph unreadable. When a graph has more than ``max_nodes``
Values, :func:`summarise` folds each unnamed constant used once into its op (``* 1.0001``,
``+ 1``), then draws it in three ever coarser ways and keeps the first that fits:

1. each dot product (a tree of ``+`` over at least two products ``wᵢ*xᵢ``, every inner node
   used once), with the activation right after it, becomes one box ``tanh(w.x + b)``; its
   weights and bias (the left factors and the leaf addend, or the ``model``'s parameters)
   are folded into that box;
2. neuron boxes that read the same inputs with the same activation (one layer applied to one
   sample) merge into one box ``16 x tanh(w.x + b)``;
3. the boxes nearest the root (breadth-first through inputs) are kept and the rest collapse
   into one box ``... N more nodes``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..value import Value

__all__ = ["Group", "Summary", "summarise"]

_ACTIVATIONS = frozenset({"tanh", "relu", "sigmoid"})


@dataclass
class Group:
    """Several Values drawn as one box: a neuron's dot product, or a layer of them."""

    members: list[Value]
    outputs: list[Value]
    activation: str
    terms: int
    bias: bool
    inputs: tuple[int, ...]
    weights: list[Value] = field(default_factory=list)
    squares: bool = False

    def formula(self) -> str:
        """``tanh(w.x + b)``, ``16 x relu(w.x + b)``, ``w.x`` (ASCII: dot has no metrics for Σ)."""
        if self.squares:
            return f"sum of {self.terms} squares"
        z = "w.x + b" if self.bias else "w.x"
        z = f"{self.activation}({z})" if self.activation else z
        return f"{len(self.outputs)} x {z}" if len(self.outputs) > 1 else z


@dataclass
class Summary:
    """What to draw: Values in ``drawn`` get their own box, each ``groups[k]`` one box.

    ``owner[id(v)]`` is the index of the group holding ``v``; ids in ``folded`` are
    parameters shown only inside their groups, and constants shown inside their op;
    ``hidden`` Values are counted in the ``... N more nodes`` box.
    """

    drawn: list[Value]
    groups: list[Group]
    owner: dict[int, int]
    folded: set[int]
    hidden: set[int]
    total: int
    constants: set[int] = field(default_factory=set)

    @property
    def boxes(self) -> int:
        return len(self.drawn) + len(self.groups)


def summarise(order: list[Value], max_nodes: int, collapse: bool = True,
              params: set[int] | None = None, named: set[int] | None = None) -> Summary:
    """The boxes to draw for ``order`` (a topological order, root last), at most ``max_nodes``.

    ``params`` (ids of a model's parameters) says which leaves are weights; without it the
    left factor of each product ``wᵢ*xᵢ`` and a leaf addend (the bias) are taken as weights,
    as micrograd's ``Neuron`` writes them. Values in ``named`` (ids) are never folded.
    """
    full = Summary(list(order), [], {}, set(), set(), len(order))
    if len(order) <= max_nodes:
        return full
    summary = full
    if collapse:
        uses: dict[int, int] = {}
        consumer: dict[int, Value] = {}
        for v in order:
            for p in v.parents:
                uses[id(p)] = uses.get(id(p), 0) + 1
                consumer[id(p)] = v
        constants = {id(v) for v in order[:-1] if not v.parents and uses[id(v)] == 1
                     and not v.label and id(v) not in (named or ()) and id(v) not in (params or ())}
        summary = _summary(order, [], constants)
        if summary.boxes > max_nodes:
            groups = _neurons(order, uses, consumer, params)
            summary = _summary(order, groups, constants)
        if summary.boxes > max_nodes:
            summary = _summary(order, _layers(groups), constants)
    if summary.boxes > max_nodes:
        _keep_nearest(summary, order[-1], max_nodes)
    return summary


def _neurons(order: list[Value], uses: dict[int, int], consumer: dict[int, Value],
             params: set[int] | None) -> list[Group]:
    taken: set[int] = set()
    groups: list[Group] = []
    root = order[-1]
    for top in reversed(order):
        if top.op != "+" or id(top) in taken:
            continue
        members, products, addends = [top], [], []
        stack = [top]
        while stack:
            for p in stack.pop().parents:
                if p is root or uses[id(p)] != 1 or id(p) in taken:
                    addends.append(p)
                elif p.op == "+":
                    members.append(p)
                    stack.append(p)
                elif p.op == "*" and len(p.parents) == 2:
                    members.append(p)
                    products.append(p)
                else:
                    addends.append(p)
        if len(products) < 2:
            continue
        out, activation = top, ""
        after = consumer.get(id(top))
        if top is not root and uses[id(top)] == 1 and after is not None and after.op in _ACTIVATIONS:
            out, activation = after, after.op
            members.append(after)
        if params is None:
            weights = [p.parents[0] for p in products if not p.parents[0].parents]
            weights += [a for a in addends if not a.parents]
        else:
            weights = [x for p in products for x in p.parents if id(x) in params]
            weights += [a for a in addends if id(a) in params]
        weight_ids = set(map(id, weights))
        if not all(any(id(x) in weight_ids for x in p.parents) for p in products):
            continue  # a sum of products such as C = L·(1/n) + λ·R, not a neuron
        inputs = tuple(id(x) for p in products for x in p.parents if id(x) not in weight_ids)
        inputs += tuple(id(a) for a in addends if id(a) not in weight_ids)
        bias = any(id(a) in weight_ids for a in addends)
        taken.update(map(id, members))
        squares = all(p.parents[0] is p.parents[1] for p in products)
        groups.append(Group(members, [out], activation, len(products), bias, inputs, weights, squares))
    return groups


def _layers(neurons: list[Group]) -> list[Group]:
    by_key: dict[tuple[Any, ...], Group] = {}
    for g in neurons:
        key = (g.inputs, g.activation, g.terms, g.bias, g.squares)
        if key in by_key:
            layer = by_key[key]
            layer.members += g.members
            layer.outputs += g.outputs
            layer.weights += g.weights
        else:
            by_key[key] = Group(list(g.members), list(g.outputs), g.activation, g.terms, g.bias, g.inputs,
                                list(g.weights), g.squares)
    return list(by_key.values())


def _summary(order: list[Value], groups: list[Group], constants: set[int]) -> Summary:
    owner = {id(m): k for k, g in enumerate(groups) for m in g.members}
    # A weight is folded into its boxes only if nothing outside a group reads it.
    candidates = {id(w) for g in groups for w in g.weights}
    for v in order:
        if id(v) not in owner:
            candidates.difference_update(id(p) for p in v.parents)
    # A neuron's inputs are drawn even when they are unnamed numbers used once.
    factors = {id(x) for g in groups for m in g.members if m.op == "*" for x in m.parents}
    constants = constants - candidates - factors
    folded = candidates | constants
    drawn = [v for v in order if id(v) not in owner and id(v) not in folded]
    return Summary(drawn, groups, owner, folded, set(), len(order), constants)


def _keep_nearest(summary: Summary, root: Value, limit: int) -> None:
    """Keep the ``limit`` boxes closest to ``root``; every other Value becomes hidden."""
    members = {}
    for k, g in enumerate(summary.groups):
        members[k] = [p for m in g.members for p in m.parents]

    def unit(v: Value) -> Any:
        k = summary.owner.get(id(v))
        return ("g", k) if k is not None else ("v", id(v))

    start = unit(root)
    seen = {start}
    queue = deque([(start, root)])
    while queue and len(seen) < limit:
        key, v = queue.popleft()
        parents = members[key[1]] if key[0] == "g" else v.parents
        for p in parents:
            if id(p) in summary.folded:
                continue
            u = unit(p)
            if u not in seen:
                seen.add(u)
                queue.append((u, p))
                if len(seen) >= limit:
                    break
    kept_groups = [k for k in range(len(summary.groups)) if ("g", k) in seen]
    renumber = {old: new for new, old in enumerate(kept_groups)}
    for k, g in enumerate(summary.groups):
        if k not in renumber:
            summary.hidden.update(id(m) for m in g.members)
    summary.hidden.update(id(v) for v in summary.drawn if ("v", id(v)) not in seen)
    summary.drawn = [v for v in summary.drawn if ("v", id(v)) in seen]
    summary.groups = [summary.groups[k] for k in kept_groups]
    summary.owner = {i: renumber[k] for i, k in summary.owner.items() if k in renumber}
