"""Scheduling a trace into a few batched numpy steps.

The traced graph of one sample has one node per scalar op: an ``MLP(2, [16, 16, 1])`` with
its loss is about a thousand nodes. Running them one numpy call each over a batch would be
a thousand calls; two rewrites bring it down to about a dozen.

* **Sums of products become matrix products.** A neuron's pre-activation is a chain of
  additions ``z = b + w₀·a₀ + w₁·a₁ + …`` with each ``wᵢ`` a parameter. Every ``+`` node of
  the chain that feeds only the next ``+`` is folded into one *linear* node
  ``z = Σᵢ wᵢ·aᵢ + b``. All linear nodes that read the same activations ``a`` form a layer,
  computed for the whole batch as one product ``Z = W·A + b`` (``W[j, i]`` the weight of
  neuron j on input i). A term with no parameter factor (``z = a + c``) gets weight 1.
* **Levels.** Every other node is placed one level above its deepest parent. Nodes of the
  same op on the same level do not depend on each other, so they run as one call of the op's
  numpy rule on the stacked rows (``relu`` of all 16 neurons of a layer at once).

Values live in one array ``V`` with a row per scheduled node and a column per sample.
Backward walks the steps in reverse, applying ∂C/∂xᵢ += ∂C/∂out · ∂out/∂xᵢ row-wise with the
op's own derivative rule, and for a layer ∂C/∂W = G·Aᵀ, ∂C/∂b = Σ_samples G, ∂C/∂A = Wᵀ·G.
Parameter gradients are summed over the batch into a vector indexed like the leaves.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from ..backends import NUMPY
from ..ops import OPS, Op
from ..value import Value
from .trace import Trace

__all__ = ["Elementwise", "Linear", "Plan", "schedule"]

Index = Any  # a slice when the rows are contiguous, else an integer array

_ADD, _MUL = OPS["+"], OPS["*"]


def _index(rows: list[int]) -> Index:
    if rows and rows[-1] - rows[0] == len(rows) - 1 and all(b - a == 1 for a, b in pairwise(rows)):
        return slice(rows[0], rows[-1] + 1)
    return np.array(rows, dtype=np.intp)


def _add_rows(target: np.ndarray, rows: Index, values: Any, unique: bool) -> None:
    # Fancy-index += drops repeated indices; np.add.at sums them, at some cost.
    if unique:
        target[rows] += values
    else:
        np.add.at(target, rows, values)


@dataclass(eq=False)
class Elementwise:
    """``out[k] = op(args[0][k], args[1][k], …)`` for every row k, one numpy call per rule."""

    op: Op
    out: Index
    args: tuple[Index, ...]
    unique: tuple[bool, ...]
    needs_param: tuple[bool, ...]
    needs_input: tuple[bool, ...]
    size: int

    def forward(self, V: np.ndarray, leaf: np.ndarray) -> Any:
        xs = tuple(V[a] for a in self.args)
        V[self.out] = self.op.forward(NUMPY, *xs)
        return xs

    def backward(self, V: np.ndarray, G: np.ndarray, gleaf: np.ndarray, saved: Any, wrt_params: bool) -> None:
        needs = self.needs_param if wrt_params else self.needs_input
        if not any(needs):
            return
        g = G[self.out]
        local = self.op.derivative(NUMPY, saved, V[self.out])
        for arg, unique, need, d in zip(self.args, self.unique, needs, local):
            if need:
                _add_rows(G, arg, d * g, unique)

    def describe(self) -> str:
        return f"{self.op.name} on {self.size} row{'s' * (self.size != 1)}"


@dataclass(eq=False)
class Linear:
    """A layer: ``out = W·A + b`` with ``W = leaf[w]`` (J×m) and ``b = Σₜ leaf[bias[:, t]]``.

    ``w`` and ``bias`` hold indices into the leaf vector (parameters, constants, then the
    fixed slots 0.0 and 1.0), so missing terms read 0 and parameter-free terms read 1.
    """

    out: Index
    z: Index
    w: np.ndarray
    bias: np.ndarray | None
    w_grad: tuple[Any, np.ndarray, bool] | None
    b_grad: tuple[Any, np.ndarray, bool] | None
    z_needs_param: bool
    z_needs_input: bool

    def forward(self, V: np.ndarray, leaf: np.ndarray) -> Any:
        W = leaf[self.w]
        A = V[self.z]
        out = W @ A
        if self.bias is not None:
            b = leaf[self.bias]
            out += b if b.shape[1] == 1 else b.sum(axis=1, keepdims=True)
        V[self.out] = out
        return W, A

    def backward(self, V: np.ndarray, G: np.ndarray, gleaf: np.ndarray, saved: Any, wrt_params: bool) -> None:
        W, A = saved
        g = G[self.out]
        if wrt_params and self.w_grad is not None:
            _add_masked(gleaf, self.w_grad, g @ A.T)
        if wrt_params and self.b_grad is not None:
            db = g.sum(axis=1, keepdims=True)
            shape = self.bias.shape  # type: ignore[union-attr]
            _add_masked(gleaf, self.b_grad, db if shape[1] == 1 else np.broadcast_to(db, shape))
        if self.z_needs_param if wrt_params else self.z_needs_input:
            G[self.z] += W.T @ g

    def describe(self) -> str:
        J, m = self.w.shape
        return f"linear {J}×{m} (one matrix product{' + bias' if self.bias is not None else ''})"


def _add_masked(gleaf: np.ndarray, target: tuple[Any, np.ndarray, bool], values: np.ndarray) -> None:
    mask, dst, unique = target
    _add_rows(gleaf, dst, values if mask is None else values[mask], unique)


@dataclass(eq=False)
class Plan:
    """Everything the executor needs: row counts, the leaf vector's Values, the steps.

    Rows ``0 … n_inputs-1`` hold the inputs; ``leaf_rows`` hold parameters and constants
    that some elementwise step reads (``leaf_src`` says which leaf each row copies).
    """

    n_rows: int
    n_inputs: int
    leaves: tuple[Value, ...]
    n_params: int
    leaf_rows: Index
    leaf_src: np.ndarray
    steps: list[Elementwise | Linear]
    out_rows: np.ndarray
    out_unique: bool
    n_traced: int


def schedule(tr: Trace) -> Plan:
    """Turn a trace into batched steps (see the module docstring)."""
    g = _Scheduler(tr)
    g.choose_nodes()
    return g.plan()


class _Scheduler:
    """One trace being scheduled: which nodes become matrix products, which run per level."""

    def __init__(self, tr: Trace) -> None:
        self.tr = tr
        self.input_of = {id(x): i for i, x in enumerate(tr.inputs)}
        self.leaf_of = {id(p): j for j, p in enumerate(tr.params)}
        leaves = list(tr.params)
        for node in tr.order:
            key = id(node)
            if not node.parents and key not in self.input_of and key not in self.leaf_of:
                self.leaf_of[key] = len(leaves)
                leaves.append(node)
        self.leaves = tuple(leaves)
        self.zero, self.one = len(leaves), len(leaves) + 1
        self.uses = Counter(id(p) for node in tr.order for p in node.parents)
        self.out_ids = {id(o) for o in tr.outputs}
        self.materialized: set[int] = set(self.out_ids)
        self.linear: dict[int, tuple[list[tuple[int, int]], list[int]]] = {}

    def choose_nodes(self) -> None:
        # Walk from the outputs back: a node needs its own row if a scheduled node reads it
        # as a whole; a `+` or `*` read only by the next `+` of a sum is folded instead.
        for node in reversed(self.tr.order):
            key = id(node)
            if key not in self.materialized or not node.parents:
                continue
            if node.fn is _ADD:
                found = self._linear_terms(node)
                if found is not None:
                    self.linear[key] = found
                    self.materialized.update(z for _, z in found[0])
                    continue
            self.materialized.update(id(p) for p in node.parents)

    def _foldable(self, node: Value) -> bool:
        key = id(node)
        return bool(node.parents) and self.uses[key] == 1 and key not in self.out_ids

    def _linear_terms(self, root: Value) -> tuple[list[tuple[int, int]], list[int]] | None:
        """``root`` as Σ wₖ·zₖ + Σ biases: ([(leaf index of w, id of z)], [leaf index])."""
        terms: list[tuple[int, int]] = []
        bias: list[int] = []
        seen: set[int] = set()
        stack = [root]
        while stack:
            s = stack.pop()
            for p in s.parents:
                key = id(p)
                if key in self.leaf_of:
                    bias.append(self.leaf_of[key])
                    continue
                if self._foldable(p) and p.fn is _ADD:
                    stack.append(p)
                    continue
                if self._foldable(p) and p.fn is _MUL:
                    split = self._split(p)
                    if split is not None and split[1] not in seen:
                        terms.append(split)
                        seen.add(split[1])
                        continue
                if key in seen:
                    return None  # the same row twice in one sum: leave it to an elementwise '+'
                terms.append((self.one, key))
                seen.add(key)
        return terms, bias

    def _split(self, product: Value) -> tuple[int, int] | None:
        a, b = product.parents
        a_leaf, b_leaf = id(a) in self.leaf_of, id(b) in self.leaf_of
        if a_leaf and not b_leaf:
            return self.leaf_of[id(a)], id(b)
        if b_leaf and not a_leaf:
            return self.leaf_of[id(b)], id(a)
        return None

    def plan(self) -> Plan:
        tr = self.tr
        level: dict[int, int] = {}
        groups: dict[tuple[Any, ...], list[Value]] = {}
        for node in tr.order:
            key = id(node)
            if not node.parents:
                level[key] = 0
                continue
            if key not in self.materialized:
                continue
            if key in self.linear:
                zs = [z for _, z in self.linear[key][0]]
                level[key] = 1 + max((level[z] for z in zs), default=0)
                gkey: tuple[Any, ...] = (level[key], 1, frozenset(zs))
            else:
                level[key] = 1 + max(level[id(p)] for p in node.parents)
                gkey = (level[key], 0, id(node.fn))
            groups.setdefault(gkey, []).append(node)

        n_params = len(tr.params)
        row: dict[int, int] = dict(self.input_of)
        dep_param = [False] * len(tr.inputs)
        dep_input = [True] * len(tr.inputs)
        leaf_used = sorted(self.leaf_of[k] for k in self.materialized if k in self.leaf_of)
        for j in leaf_used:
            row[id(self.leaves[j])] = len(dep_param)
            dep_param.append(j < n_params)
            dep_input.append(False)
        leaf_rows = _index(list(range(len(tr.inputs), len(dep_param))))

        steps: list[Elementwise | Linear] = []
        for gkey in sorted(groups, key=lambda k: k[0]):
            members = groups[gkey]
            if gkey[1] == 0:
                # Sorting by the parents' rows lets the gathers be slices (views) most of the time.
                members.sort(key=lambda m: tuple(row[id(p)] for p in m.parents))
                steps.append(self._elementwise(members, row, dep_param, dep_input))
            else:
                steps.append(self._layer(members, row, dep_param, dep_input, n_params))

        out_rows = [row[id(o)] for o in tr.outputs]
        return Plan(
            n_rows=len(dep_param),
            n_inputs=len(tr.inputs),
            leaves=self.leaves,
            n_params=n_params,
            leaf_rows=leaf_rows,
            leaf_src=np.array(leaf_used, dtype=np.intp),
            steps=steps,
            out_rows=np.array(out_rows, dtype=np.intp),
            out_unique=len(set(out_rows)) == len(out_rows),
            n_traced=len(tr.order),
        )

    @staticmethod
    def _assign(members: list[Value], row: dict[int, int], dep_param: list[bool], dep_input: list[bool],
                flags: list[tuple[bool, bool]]) -> Index:
        start = len(dep_param)
        for m, (p, i) in zip(members, flags):
            row[id(m)] = len(dep_param)
            dep_param.append(p)
            dep_input.append(i)
        return _index(list(range(start, len(dep_param))))

    def _elementwise(self, members: list[Value], row: dict[int, int], dep_param: list[bool],
                     dep_input: list[bool]) -> Elementwise:
        arity = len(members[0].parents)
        args = [[row[id(m.parents[i])] for m in members] for i in range(arity)]
        flags = [(any(dep_param[row[id(p)]] for p in m.parents), any(dep_input[row[id(p)]] for p in m.parents))
                 for m in members]
        out = self._assign(members, row, dep_param, dep_input, flags)
        return Elementwise(
            op=members[0].fn,  # type: ignore[arg-type]
            out=out,
            args=tuple(_index(a) for a in args),
            unique=tuple(len(set(a)) == len(a) for a in args),
            needs_param=tuple(any(dep_param[r] for r in a) for a in args),
            needs_input=tuple(any(dep_input[r] for r in a) for a in args),
            size=len(members),
        )

    def _layer(self, members: list[Value], row: dict[int, int], dep_param: list[bool], dep_input: list[bool],
               n_params: int) -> Linear:
        z_rows = sorted(row[z] for _, z in self.linear[id(members[0])][0])
        col = {r: c for c, r in enumerate(z_rows)}
        W = np.full((len(members), len(z_rows)), self.zero, dtype=np.intp)
        n_bias = max(len(self.linear[id(m)][1]) for m in members)
        B = np.full((len(members), n_bias), self.zero, dtype=np.intp)
        for j, m in enumerate(members):
            terms, bias = self.linear[id(m)]
            for w, z in terms:
                W[j, col[row[z]]] = w
            B[j, : len(bias)] = bias
        z_param = any(dep_param[r] for r in z_rows)
        z_input = any(dep_input[r] for r in z_rows)
        flags = [(z_param or bool((W[j] < n_params).any()) or bool((B[j] < n_params).any()), z_input)
                 for j in range(len(members))]
        out = self._assign(members, row, dep_param, dep_input, flags)
        return Linear(
            out=out,
            z=_index(z_rows),
            w=W,
            bias=B if n_bias else None,
            w_grad=_param_target(W, n_params),
            b_grad=_param_target(B, n_params) if n_bias else None,
            z_needs_param=z_param,
            z_needs_input=z_input,
        )


def _param_target(idx: np.ndarray, n_params: int) -> tuple[Any, np.ndarray, bool] | None:
    # Where a layer's gradient goes: only entries that are parameters (constants and the
    # fixed 0/1 slots receive nothing), with a flag for the fast path of distinct indices.
    mask = idx < n_params
    if not mask.any():
        return None
    dst = idx if mask.all() else idx[mask]
    return (None if mask.all() else mask), dst, len(np.unique(dst)) == dst.size
