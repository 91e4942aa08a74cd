"""``Value``: one real number and the op that produced it.

A Value holds ``data`` (a Python float), ``grad`` (∂C/∂value after ``backward()``), its
``parents`` in argument order and the :class:`~autograd_core.ops.Op` that made it. Every
operator only delegates to the op table; at forward time the node also keeps the op's local
derivatives as floats, so ``backward()`` is one loop of multiply-adds and no node holds a
closure (no reference cycles: a dropped graph is freed by reference counting alone).

Layout, chosen for speed: a node keeps its first two parents and their local derivatives in
slots of its own (``_x0``/``_d0``, ``_x1``/``_d1``), not in tuples. Every table op has one or
two inputs, so a node is one object for the garbage collector instead of three; the
collector's passes over big graphs were most of a training step's time. A node the fast
backward loop cannot handle (more than two inputs, or a custom :class:`Function` whose
backward runs at backward time) also keeps a :class:`Cold` record in ``_rest``; on every
other node ``_rest`` is ``None``.

Nodes are made in one place, :func:`init_node`; :func:`record` is the one general way to add
an op's result to the graph (modes, NaN checks, any number of inputs), and ``_record1`` /
``_record2`` are its labelled fast path for the ordinary one- and two-input case.
A recorded graph is immutable: ``parents`` cannot be reassigned, so every node is newer than
its parents and creation order is a topological order (see graph.py).
"""

from __future__ import annotations

import itertools
import numbers
from typing import Any, NamedTuple, Union

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
    """``x`` as a Python float (a Value's ``data``), or ``TypeError`` naming what was received.

    Accepts int, float, bool, ``fractions.Fraction``, numpy scalars and Values; an int too
    large for a float becomes ±inf (IEEE overflow), as does any real whose conversion overflows.
    """
    if type(x) is float:
        return x
    if isinstance(x, Value):
        return x.data
    if isinstance(x, (numbers.Real, np.bool_)) and not isinstance(x, np.ndarray):
        try:
            return float(x)
        except OverflowError:
            return float("inf") if x > 0 else float("-inf")  # type: ignore[operator]
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


class Cold(NamedTuple):
    """What a node outside the fast loop keeps: every parent, and either their stored local
    derivatives or (custom :class:`Function`) the ``ctx`` its backward will receive."""

    parents: tuple[Value, ...]
    local: tuple[Any, ...]
    ctx: Any = None


def init_node(v: Value, data: float, fn: Op | None = None, parents: tuple[Value, ...] = (),
              local: tuple[Any, ...] = (), ctx: Any = None) -> Value:
    """Fill every slot of ``v``: the one place a node is initialised.

    ``local`` holds ∂v/∂parentᵢ (0.0 where missing). A node with ``ctx`` (a custom
    Function's) or more than two parents gets a :class:`Cold` record.
    """
    v.data = data
    v.grad = 0.0
    v.label = ""
    v._fn = fn
    v._seq = _next_seq()
    v._rest = None
    if not parents:  # a leaf (a custom op without inputs is a constant: no backward to keep)
        v._x0 = v._x1 = None
        v._d0 = v._d1 = 0.0
        return v
    local = tuple(local) + (0.0,) * (len(parents) - len(local))
    v._x0, v._d0 = parents[0], local[0]
    v._x1, v._d1 = (parents[1], local[1]) if len(parents) > 1 else (None, 0.0)
    if ctx is not None or len(parents) > 2:
        v._rest = Cold(parents, local, ctx)
    return v


def leaf(data: float) -> Value:
    """A new leaf holding ``data`` (a float), with no checks."""
    return init_node(_new_value(Value), data)


def lift(x: Any) -> Value:
    """A number operand as a constant leaf, so it shows in drawings as micrograd does."""
    if isinstance(x, Value):
        return x
    # Made for every number in an expression: one call for the common float.
    return init_node(_new_value(Value), x if type(x) is float else to_float(x))


def record(fn: Op, parents: tuple[Value, ...], data: float | None = None, ctx: Any = None) -> Value:
    """Add ``fn`` applied to ``parents`` to the graph: the general, slower path.

    Computes the forward value and the local derivatives on floats, unless ``data`` is given
    (a custom Function ran its own forward; its ``ctx`` then replaces local derivatives).
    Inside ``no_grad`` the result is a leaf; under ``detect_anomaly`` a NaN output raises.
    """
    xs = tuple([p.data for p in parents])
    if data is None:
        data = fn.forward(FLOAT, *xs)
    if ACTIVE[0]:
        if not STATE.grad_enabled:
            return leaf(data)
        if STATE.anomaly and data != data:
            from .anomaly import forward_nan_error

            raise forward_nan_error(fn.name, parents)
    local = () if ctx is not None else fn.derivative(FLOAT, xs, data)
    return init_node(_new_value(Value), data, fn, parents, local, ctx)


# Fast path: record() for one and two inputs with the node's slots filled inline (no tuples,
# no call to init_node). Same result, measured faster on the engine benchmark.
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
    v._rest = None
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
    v._rest = None
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
    _fn: Op | None
    _seq: int
    _x0: Value | None
    _x1: Value | None
    _d0: Any
    _d1: Any
    _rest: Cold | None

    def __init__(self, data: Number | Value, label: str = "") -> None:
        data = data if type(data) is float else to_float(data)
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        init_node(self, data)
        self.label = label

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
        if self._rest is not None:
            return self._rest.parents
        x0 = self._x0
        if x0 is None:
            return ()
        x1 = self._x1
        return (x0,) if x1 is None else (x0, x1)

    @parents.setter
    def parents(self, parents: Any) -> None:
        raise AttributeError(
            "a recorded graph is immutable: parents cannot be reassigned (every node must stay newer "
            "than its parents); build a new node instead"
        )

    @property
    def local_grads(self) -> tuple[Any, ...]:
        """∂self/∂parentᵢ for each parent, evaluated at forward time.

        A custom Function's node computes them on demand, as its ``backward(ctx, 1.0)``.
        """
        rest = self._rest
        if rest is not None:
            if rest.ctx is not None:
                return self._fn.vjp(self, 1.0, False)  # type: ignore[union-attr,misc]
            return rest.local
        if self._x0 is None:
            return ()
        return (self._d0,) if self._x1 is None else (self._d0, self._d1)

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
        return _record2(_ADD, self, other if type(other) is Value else lift(other))

    def __radd__(self, other: Number) -> Value:
        return _record2(_ADD, lift(other), self)

    def __sub__(self, other: Number | Value) -> Value:
        return _record2(_SUB, self, other if type(other) is Value else lift(other))

    def __rsub__(self, other: Number) -> Value:
        return _record2(_SUB, lift(other), self)

    def __mul__(self, other: Number | Value) -> Value:
        return _record2(_MUL, self, other if type(other) is Value else lift(other))

    def __rmul__(self, other: Number) -> Value:
        return _record2(_MUL, lift(other), self)

    def __truediv__(self, other: Number | Value) -> Value:
        return _record2(_DIV, self, other if type(other) is Value else lift(other))

    def __rtruediv__(self, other: Number) -> Value:
        return _record2(_DIV, lift(other), self)

    def __pow__(self, other: Number | Value) -> Value:
        if isinstance(other, Value):
            return _record2(_POW, self, other)
        return _record1(pow_const(to_float(other)), self)

    def __rpow__(self, other: Number) -> Value:
        return _record2(_POW, lift(other), self)

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
        """max(x, 0); ∂/∂x = 1 if x > 0 else 0 (0 at the kink, as PyTorch). NaN propagates.

        As in PyTorch, an inactive relu (x ≤ 0) passes back exactly 0, even when ∂C/∂out is
        inf or nan: ``Value(-1.0).relu().sqrt()`` gives x.grad = 0.
        """
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
        interior nodes are reset first. With ``create_graph=True`` the leaves' gradients are
        Values, so they can be differentiated again (see :func:`autograd_core.backward.backward`
        for the reference cycle this makes). Iterative: any depth works.
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

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        from .serialize import set_state

        set_state(self, state)

    def __deepcopy__(self, memo: dict[int, Any]) -> Value:
        from .serialize import deepcopy_value

        return deepcopy_value(self, memo)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data}, grad={_grad_repr(self.grad)}{label})"


def _grad_repr(grad: Any) -> str:
    return f"Value({grad.data})" if isinstance(grad, Value) else repr(grad)


def creation_number(v: Value) -> int:
    """How many nodes were made before ``v``: every node's is larger than its parents'."""
    return v._seq


def custom_ctx(v: Value) -> Any:
    """The ``ctx`` a custom Function's node keeps for its backward, else ``None``."""
    return v._rest.ctx if v._rest is not None else None


_new_value = object.__new__
_next_seq = itertools.count().__next__
