"""Backward one node at a time: the chain rule made concrete, step by step.

``backward_steps(root)`` runs the engine's one chain-rule sweep (:func:`~autograd_core.backward.sweep`,
the loop ``backward()`` runs) but stops after each node and hands you what just happened. At
node ``out`` with parents ``xᵢ``:

    upstream     = ∂C/∂out                         (complete: every consumer of out came first)
    local[i]     = ∂out/∂xᵢ                        (stored when out was computed)
    contribution = upstream · local[i]            added to xᵢ.grad

so for the seed's neuron ``a = σ(z), z = w·x + b`` the steps read, in order,
∂C/∂a, then ∂C/∂z = ∂C/∂a · ∂a/∂z, then ∂C/∂w = ∂C/∂z · ∂z/∂w. A node used by several others
(a fan-out) receives one contribution per use; its gradient is their sum, which is why
backward adds (``+=``) and why it must visit the users of a node before the node itself.

Each yielded :class:`BackwardStep` can be drawn: ``draw_graph(root, highlight=step)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..backward import seed_gradient, sweep
from ..graph import topological_order
from ..value import Value, to_float

__all__ = ["backward_steps", "BackwardStep", "BackwardSnapshot"]


@dataclass(frozen=True, eq=False)
class BackwardStep:
    """What backward did at one node.

    ``node`` passed its gradient ``upstream`` (∂C/∂node for this pass) to each of ``parents``:
    ``contributions[i] = upstream · local_grads[i]`` was added to ``parents[i].grad``.
    A leaf's step has no parents: its gradient is final and there is nothing to pass on.
    ``index`` counts from 0 up to ``total - 1``.
    """

    index: int
    total: int
    node: Value
    upstream: Any
    parents: tuple[Value, ...]
    local_grads: tuple[Any, ...]
    contributions: tuple[Any, ...]
    trace: _PassRecord = field(repr=False, compare=False)

    def snapshot(self) -> BackwardSnapshot:
        """The state of every gradient of this pass right after this step (for drawing it)."""
        return self.trace.snapshot(self)

    def explain(self, labels: Mapping[int, str] | None = None) -> str:
        """This step as one line per parent: ``∂C/∂x += upstream × local = contribution``.

        Nodes are named by ``labels`` (``id(value) → name``, as made by
        :func:`autograd_core.see.draw.value_labels`), else by their ``label``, else by their op.
        """
        labels = labels or {}
        name = labels.get(id(self.node)) or _name(self.node)
        head = f"step {self.index + 1}/{self.total}: {name} = {_fmt(self.node.data)}"
        head += f", ∂C/∂{name} = {_fmt(self.upstream)}"
        if not self.parents:
            return head + " (a leaf: final, nothing to pass on)"
        lines = [head + f", op {self.node.op!r}"]
        for i, (parent, local, c) in enumerate(zip(self.parents, self.local_grads, self.contributions)):
            p = labels.get(id(parent)) or _name(parent, f"input {i}")
            lines.append(f"  ∂C/∂{p} += ∂C/∂{name} × ∂{name}/∂{p} = {_fmt(self.upstream)} × {_fmt(local)} = {_fmt(c)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.explain()


@dataclass(frozen=True)
class BackwardSnapshot:
    """Every gradient of this pass as it stands after a given step of :func:`backward_steps`.

    ``terms[id(node)]`` lists what ∂root/∂node has received so far in this pass, in order
    (the seed grad for the root, then one contribution per use); whatever ``.grad`` held
    before the pass plays no part. ``final`` holds the ids of nodes whose gradient is
    complete (all users have passed theirs on). ``edges[(id(child), i)]`` is the contribution
    that flowed to ``child``'s i-th parent. ``current`` is the step just taken.
    """

    current: BackwardStep
    terms: dict[int, list[Any]]
    final: frozenset[int]
    edges: dict[tuple[int, int], Any]

    def grad(self, node: Value) -> Any | None:
        """∂root/∂``node`` at this moment, or ``None`` when it is not complete yet."""
        if id(node) not in self.final:
            return None
        return _sum(self.terms.get(id(node), []))


class _PassRecord:
    """Shared by the steps of one run: the seed, the use counts and what each step passed on.

    It keeps plain records, never the steps themselves, so steps and trace form no
    reference cycle: a list of steps is freed by reference counting alone.
    """

    def __init__(self, root: Value, seed: Any, uses: dict[int, int]) -> None:
        self.start = {id(root): [seed]}
        self.uses = uses
        self.passed: list[tuple[int, tuple[Value, ...], tuple[Any, ...]]] = []

    def snapshot(self, current: BackwardStep) -> BackwardSnapshot:
        terms = {k: list(v) for k, v in self.start.items()}
        used = dict.fromkeys(self.uses, 0)
        edges: dict[tuple[int, int], Any] = {}
        for child, parents, contributions in self.passed[: current.index + 1]:
            for i, (parent, c) in enumerate(zip(parents, contributions)):
                key = id(parent)
                terms.setdefault(key, []).append(c)
                used[key] += 1
                edges[(child, i)] = c
        final = frozenset(k for k, n in self.uses.items() if used[k] == n)
        return BackwardSnapshot(current, terms, final, edges)


def backward_steps(root: Value, grad: Any = 1.0) -> Iterator[BackwardStep]:
    """Run ``root.backward(grad)`` one node at a time, yielding a :class:`BackwardStep` each.

    One step per node of the graph, leaves included, in reverse topological order (root
    first). Each step shows this pass's gradients: ``upstream`` is ∂root/∂node · grad
    whatever ``.grad`` held before (an earlier ``backward()`` does not show up as a doubled
    leaf gradient); the pass keeps its own table of them. ``.grad`` is updated exactly as
    ``backward()`` updates it, one step at a time: interior grads are reset to 0 when the
    generator starts, leaves accumulate, and after a step every parent's ``.grad`` already
    holds the new contribution, so exhausting the generator leaves exactly the gradients
    ``backward()`` gives. Under ``detect_anomaly`` a NaN contribution raises
    ``FloatingPointError``. Raises ``TypeError`` if ``root`` is not a Value.
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward_steps() needs a Value, got {type(root).__name__}")
    seed = grad if isinstance(grad, Value) else seed_gradient(grad, "backward_steps(grad=...)")
    order = topological_order(root)
    uses = dict.fromkeys(map(id, order), 0)
    for node in order:
        for parent in node.parents:
            uses[id(parent)] += 1
        if not node.is_leaf:
            node.grad = 0.0
    grads: dict[Value, Any] = dict.fromkeys(order, 0.0)
    grads[root] = seed
    root.grad = root.grad + seed
    trace = _PassRecord(root, seed, uses)
    total = len(order)
    for index, (node, g, local, added) in enumerate(sweep(order, grads)):
        parents = node.parents
        for parent, c in zip(parents, added):
            parent.grad = parent.grad + c
        trace.passed.append((id(node), parents, added))
        shown = node.local_grads if local is None else local
        yield BackwardStep(index, total, node, g, parents, tuple(shown), added, trace)


def _sum(terms: list[Any]) -> Any:
    total: Any = 0.0
    for t in terms:
        total = total + t
    return total


def _name(v: Value, default: str = "") -> str:
    return v.label or default or (v.op and f"({v.op})") or "leaf"


def _fmt(x: Any) -> str:
    return format_number(to_float(x))


def format_number(x: float) -> str:
    """``x`` in at most 4 significant digits: ``0.7071``, ``-3``, ``1.5e-08``, ``inf``."""
    return f"{x:.4g}"
