"""``Value``: one real number and the op that produced it.

A Value holds ``data`` (a Python float), ``grad`` (∂C/∂value after ``backward()``), its
``parents`` in argument order and the :class:`~autograd_core.ops.Op` that made it. Every
operator only delegates to the op table; at forward time the node also keeps the op's local
derivatives as floats, so ``backward()`` is one loop of multiply-adds and no node holds a
closure (no reference cycles: a dropped graph is freed by reference counting alone).

Layout, chosen for speed: a node keeps its first two parents and their local derivatives in
slots of its own (``_x0``/``_d0``, ``_x1``/``_d1``), not in tuples. Every op in the table
has one or two inputs, so a node is one object for the garbage collector instead of three;
the collector's passes over big graphs were most of a training step's time. Custom ops with
more inputs keep the rest as ``(parent, ∂out/∂parent)`` pairs in ``_rest``. ``parents`` and
``local_grads`` read them back as tuples.
"""

from __future__ import annotations

import itertools
import numbers
from typing import Any, Union

import numpy as np

from .backends import FLOAT
from .elementary import ElementaryOps
from .modes import ACTIVE, STATE
from .ops import OPS, Op, leaky_relu_op, pow_const

__all__ = ["Value", "Number", "to_float"]

Number = Union[int, float, numbers.Real, np.number, np.bool_]

_ADD, _SUB, _MUL, _DIV, _POW = OPS["+"], OPS["-"], OPS["*"], OPS["/"], OPS["**"]
_NEG, _ABS, _EXP, _LOG, _SQRT = OPS["neg"], OPS["abs"], OPS["exp"], OPS["log"], OPS["sqrt"]
_SIN, _COS, _TANH, _SIGMOID = OPS["sin"], OPS["cos"], OPS["tanh"], OPS["sigmoid"]
_SOFTPLUS, _RELU = OPS["softplus"], OPS["relu"]


def to_float(x: Any) -> float:
    """``x`` as a Python float, or ``TypeError`` naming what was received.

    Accepts int, float, bool, ``fractions.Fraction``, numpy scalars; an int too large for a
    float becomes ±inf (IEEE overflow), as does any real whose float conversion overflows.
    """
    if type(x) is float:
        return x
    if isinstance(x, (numbers.Real, np.bool_)) and not isinstance(x, np.ndarray):
        try:
            return float(x)
        except OverflowError:
            return float("inf") if x > 0 else float("-inf")  # type: ignore[operator]
    if isinstance(x, Value):
        return x.data
    raise TypeError(_expected_number(x))


def _expected_number(x: Any) -> str:
    kind = type(x).__name__
    hint = ""
    if isinstance(x, np.ndarray):
        hint = f" (got an array of shape {x.shape}; a Value holds one number — use compile() for batches)"
    elif isinstance(x, complex):
        hint = " (complex numbers are not supported)"
    elif isinstance(x, (list, tuple)):
        hint = " (a Value holds one number; make one Value per element)"
    expected = "expected a real number (int, float, bool, Fraction or numpy scalar) or a Value"
    return f"{expected}, got {kind}: {x!r:.60}{hint}"


def _lift(x: Any) -> Value:
    """A number operand as a constant leaf, so it shows in drawings as micrograd does."""
    if isinstance(x, Value):
        return x
    return _leaf(to_float(x))


def _leaf(data: float) -> Value:
    v = _new_value(Value)
    v.data = data
    v.grad = 0.0
    v.label = ""
    v._fn = None
    v._seq = _next_seq()
    v._x0 = v._x1 = None
    v._d0 = v._d1 = 0.0
    v._rest = ()
    return v


def _node(data: float, parents: tuple[Value, ...], fn: Op | None, local: tuple[Any, ...]) -> Value:
    v = _leaf(data)
    v._fn = fn
    _set_edges(v, parents, local)
    return v


def _set_edges(v: Value, parents: tuple[Value, ...], local: tuple[Any, ...]) -> None:
    """Store ``parents`` and their local derivatives (0.0 where ``local`` has none) in ``v``."""
    local = tuple(local) + (0.0,) * (len(parents) - len(local))
    v._x0, v._d0 = (parents[0], local[0]) if parents else (None, 0.0)
    v._x1, v._d1 = (parents[1], local[1]) if len(parents) > 1 else (None, 0.0)
    v._rest = tuple(zip(parents[2:], local[2:]))


def record(fn: Op, parents: tuple[Value, ...]) -> Value:
    """Apply ``fn`` to ``parents`` eagerly and record the result as a new node.

    Inside ``no_grad`` the result is a leaf; under ``detect_anomaly`` a NaN output raises.
    """
    xs = tuple([p.data for p in parents])
    out = fn.forward(FLOAT, *xs)
    if ACTIVE[0] and not STATE.grad_enabled:
        return _leaf(out)  # no_grad: skip the derivative altogether
    return new_node(out, parents, fn, fn.derivative(FLOAT, xs, out))


def new_node(data: float, parents: tuple[Value, ...], fn: Op, local: tuple[Any, ...]) -> Value:
    """Record a node whose output and local derivatives were computed elsewhere (custom ops)."""
    if not ACTIVE[0] or STATE.plain:
        return _node(data, parents, fn, local)
    if not STATE.grad_enabled:
        return _leaf(data)
    if data != data:
        from .anomaly import forward_nan_error

        raise forward_nan_error(fn.name, parents)
    return _node(data, parents, fn, local)


# The two hot paths below are record() unrolled for one and two inputs: the same steps,
# with the node's slots filled directly (no parents tuple, no general _set_edges).
def _record1(fn: Op, x: Value) -> Value:
    if ACTIVE[0] and not STATE.plain:
        return record(fn, (x,))
    a = x.data
    out = fn.forward(FLOAT, a)
    v = _new_value(Value)
    v.data = out
    v.grad = 0.0
    v.label = ""
    v._fn = fn
    v._seq = _next_seq()
    v._x0 = x
    (v._d0,) = fn.derivative(FLOAT, (a,), out)
    v._x1 = None
    v._d1 = 0.0
    v._rest = ()
    return v


def _record2(fn: Op, x: Value, y: Value) -> Value:
    if ACTIVE[0] and not STATE.plain:
        return record(fn, (x, y))
    a = x.data
    b = y.data
    out = fn.forward(FLOAT, a, b)
    v = _new_value(Value)
    v.data = out
    v.grad = 0.0
    v.label = ""
    v._fn = fn
    v._seq = _next_seq()
    v._x0 = x
    v._x1 = y
    v._d0, v._d1 = fn.derivative(FLOAT, (a, b), out)
    v._rest = ()
    return v


class Value(ElementaryOps):
    """A scalar in the computation graph: ``data``, ``grad``, ``parents``, ``op``, ``label``.

    ``Value(data, label="")`` makes a leaf. Arithmetic with numbers or Values records a new
    node; ``backward()`` fills ``grad`` with ∂root/∂node by the chain rule
    ∂C/∂w = ∂C/∂a · ∂a/∂z · ∂z/∂w. Comparisons compare ``data``; equality and hashing are by
    identity, so Values can be keys of dicts and members of sets.
    """

    # "__dict__" lets code written for micrograd hang its own attributes on a node (an optimizer's
    # p.m, a drawing's colour); the dict is only created when one is set, so unused it costs one
    # pointer per node.
    __slots__ = ("data", "grad", "label", "_fn", "_seq", "_x0", "_d0", "_x1", "_d1", "_rest", "__weakref__",
                 "__dict__")
    # Let numpy hand mixed expressions back to Value's reflected operators
    # (np.float64(2) * x is a Value, np.array([...]) * x a clear TypeError).
    __array_ufunc__ = None

    data: float
    grad: Any
    label: str

    def __init__(self, data: Number | Value, label: str = "") -> None:
        self.data = data if type(data) is float else to_float(data)
        self.grad = 0.0
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        self.label = label
        self._fn: Op | None = None
        self._seq = _next_seq()
        self._x0: Value | None = None
        self._x1: Value | None = None
        self._d0: Any = 0.0
        self._d1: Any = 0.0
        self._rest: tuple[tuple[Value, Any], ...] = ()

    # -- graph facts -------------------------------------------------------------------
    @property
    def op(self) -> str:
        """Name of the op that produced this node (``"*"``, ``"tanh"``, ``"**2"``), ``""`` for a leaf."""
        return self._fn.name if self._fn is not None else ""

    @property
    def fn(self) -> Op | None:
        """The :class:`Op` that produced this node, ``None`` for a leaf."""
        return self._fn

    @property
    def parents(self) -> tuple[Value, ...]:
        """The inputs of the op that made this node, in argument order (``()`` for a leaf)."""
        x0 = self._x0
        if x0 is None:
            return ()
        x1 = self._x1
        if x1 is None:
            return (x0,)
        return (x0, x1, *[p for p, _ in self._rest])

    @parents.setter
    def parents(self, parents: tuple[Value, ...]) -> None:
        # Rewiring by hand (experiments, tests): each position keeps its local derivative.
        parents = tuple(parents)
        for p in parents:
            if not isinstance(p, Value):
                raise TypeError(f"parents must be Values, got {type(p).__name__}")
        _set_edges(self, parents, self.local_grads[: len(parents)])

    @property
    def local_grads(self) -> tuple[Any, ...]:
        """∂self/∂parentᵢ for each parent, evaluated at forward time."""
        if self._x0 is None:
            return ()
        if self._x1 is None:
            return (self._d0,)
        return (self._d0, self._d1, *[d for _, d in self._rest])

    @property
    def is_leaf(self) -> bool:
        return self._x0 is None

    @property
    def _prev(self) -> set[Value]:
        # micrograd's name, for code written against it.
        return set(self.parents)

    @property
    def _op(self) -> str:
        return self.op

    # -- arithmetic: every method delegates to the op table ---------------------------
    def __add__(self, other: Number | Value) -> Value:
        return _record2(_ADD, self, other if type(other) is Value else _lift(other))

    def __radd__(self, other: Number) -> Value:
        return _record2(_ADD, _lift(other), self)

    def __sub__(self, other: Number | Value) -> Value:
        return _record2(_SUB, self, other if type(other) is Value else _lift(other))

    def __rsub__(self, other: Number) -> Value:
        return _record2(_SUB, _lift(other), self)

    def __mul__(self, other: Number | Value) -> Value:
        return _record2(_MUL, self, other if type(other) is Value else _lift(other))

    def __rmul__(self, other: Number) -> Value:
        return _record2(_MUL, _lift(other), self)

    def __truediv__(self, other: Number | Value) -> Value:
        return _record2(_DIV, self, other if type(other) is Value else _lift(other))

    def __rtruediv__(self, other: Number) -> Value:
        return _record2(_DIV, _lift(other), self)

    def __pow__(self, other: Number | Value) -> Value:
        if isinstance(other, Value):
            return _record2(_POW, self, other)
        return _record1(pow_const(to_float(other)), self)

    def __rpow__(self, other: Number) -> Value:
        return _record2(_POW, _lift(other), self)

    def __neg__(self) -> Value:
        return _record1(_NEG, self)

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        return _record1(_ABS, self)

    def exp(self) -> Value:
        """eˣ; ∂/∂x = eˣ. Overflow gives inf."""
        return _record1(_EXP, self)

    def log(self) -> Value:
        """ln x; ∂/∂x = 1/x. log(0) = -inf, log(x<0) = nan."""
        return _record1(_LOG, self)

    def sqrt(self) -> Value:
        """√x; ∂/∂x = 1/(2√x) (inf at 0). sqrt(x<0) = nan."""
        return _record1(_SQRT, self)

    def sin(self) -> Value:
        """sin x; ∂/∂x = cos x."""
        return _record1(_SIN, self)

    def cos(self) -> Value:
        """cos x; ∂/∂x = -sin x."""
        return _record1(_COS, self)

    def tanh(self) -> Value:
        """tanh x; ∂/∂x = 1 - tanh²x."""
        return _record1(_TANH, self)

    def sigmoid(self) -> Value:
        """σ(x) = 1/(1+e⁻ˣ), stable for any x; ∂/∂x = σ(x)(1 - σ(x))."""
        return _record1(_SIGMOID, self)

    def relu(self) -> Value:
        """max(x, 0); ∂/∂x = 1 if x > 0 else 0 (0 at the kink, as PyTorch). NaN propagates."""
        return _record1(_RELU, self)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """x if x > 0 else slope·x; ∂/∂x = 1 or slope."""
        return _record1(leaky_relu_op(to_float(slope)), self)

    def softplus(self) -> Value:
        """log(1 + eˣ), stable for any x; ∂/∂x = σ(x)."""
        return _record1(_SOFTPLUS, self)

    # -- comparisons use data; equality and hash stay by identity ---------------------
    def __lt__(self, other: Number | Value) -> bool:
        return self.data < to_float(other)

    def __le__(self, other: Number | Value) -> bool:
        return self.data <= to_float(other)

    def __gt__(self, other: Number | Value) -> bool:
        return self.data > to_float(other)

    def __ge__(self, other: Number | Value) -> bool:
        return self.data >= to_float(other)

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    # -- backward ----------------------------------------------------------------------
    def backward(self, grad: Any = 1.0, *, create_graph: bool = False) -> None:
        """Fill ``.grad`` of every node with ∂self/∂node, in reverse topological order.

        Leaves accumulate (a second call without ``zero_grad`` adds again, as in PyTorch);
        interior nodes are reset first. With ``create_graph=True`` the gradients are Values,
        so they can be differentiated again. Iterative: any depth works.
        """
        from .backward import backward

        backward(self, grad, create_graph=create_graph)

    def _backward(self) -> None:
        """This node's own chain-rule step, as micrograd's: ∂C/∂xᵢ += ∂self/∂xᵢ · ∂C/∂self.

        ``o.grad = 1.0; o._backward(); n._backward()`` … walks backprop by hand, one node at a
        time; on a leaf it does nothing. ``backward()`` applies the same step to every node.
        """
        g = self.grad
        for parent, local in zip(self.parents, self.local_grads):
            parent.grad += local * g

    def zero_grad(self) -> None:
        """Set this node's ``grad`` to 0.0."""
        self.grad = 0.0

    # -- copying and pickling: a whole graph, flattened iteratively (see serialize.py) ---
    def __reduce__(self) -> tuple[Any, ...]:
        from .serialize import reduce_value

        return reduce_value(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> Value:
        from .serialize import deepcopy_value

        return deepcopy_value(self, memo)

    def __repr__(self) -> str:
        grad = self.grad if not isinstance(self.grad, Value) else f"Value({self.grad.data})"
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data}, grad={grad}{label})"


_new_value = object.__new__
# Creation order: a node is always made after its parents, so newer-first is a valid
# backward order (graph.newest_first) as long as nobody rewires ``parents`` by hand.
_next_seq = itertools.count().__next__
