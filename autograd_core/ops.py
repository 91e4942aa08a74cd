"""The op table: every differentiable operation, defined once.

An :class:`Op` pairs a forward rule with its local derivatives ∂out/∂xᵢ. Both are written
against a backend ``B`` (see :mod:`autograd_core.backends`), so one rule serves plain
floats, recorded :class:`~autograd_core.Value` nodes (higher-order derivatives) and numpy
arrays (the batch mode). A derivative rule receives the inputs ``xs`` and the op's output
``out`` and returns one local derivative per input; the chain rule

    ∂C/∂xᵢ += ∂C/∂out · ∂out/∂xᵢ

is applied by the engine, never by an op. Read the table below as a table of derivatives.
Adding an op is one entry here (and a method on Value that calls it).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Op", "OPS", "pow_const", "leaky_relu_op", "op_by_name"]


@dataclass(frozen=True, slots=True, eq=False)
class Op:
    """One differentiable operation.

    ``forward(B, *xs) -> out`` and ``derivative(B, xs, out) -> (∂out/∂x₀, ∂out/∂x₁, …)``.
    ``kink(xs)`` (optional) is a quantity that crosses zero exactly where a derivative
    jumps (relu at x = 0, abs at x = 0); gradient checking uses it to tell a kink from a
    wrong derivative. ``params`` rebuild a parameterised op by name (``**2``,
    ``leaky_relu(0.01)``) so graphs can be copied and pickled.

    ``masks(xs)`` (optional) says, per input, where ∂C/∂xᵢ is exactly 0 whatever ∂C/∂out is:
    PyTorch computes those gradients with ``where``, so an inf or nan upstream gradient does
    not leak through (inactive relu, ``x**0``). The engine consults it only when ∂C/∂out is
    not finite; otherwise local derivative × upstream already gives that 0.
    ``vjp(node, grad_output, create_graph)`` (custom Functions only) returns the
    contributions ∂C/∂xᵢ at backward time, in place of stored local derivatives.
    """

    name: str
    arity: int
    forward: Callable[..., Any]
    derivative: Callable[..., tuple[Any, ...]]
    kink: Callable[[Sequence[float]], float] | None = None
    factory: str = ""
    params: tuple[float, ...] = ()
    masks: Callable[[Sequence[float]], tuple[bool, ...]] | None = None
    vjp: Callable[[Any, Any, bool], tuple[Any, ...]] | None = None

    def __repr__(self) -> str:
        return f"Op({self.name!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (op_by_name, (self.name,))


# Below this |a|, a⁻¹ overflows to inf.
_TINY = 1.0 / sys.float_info.max


def _op(name: str, arity: int, forward: Callable[..., Any], derivative: Callable[..., tuple[Any, ...]],
        kink: Callable[[Sequence[float]], float] | None = None,
        masks: Callable[[Sequence[float]], tuple[bool, ...]] | None = None) -> Op:
    return Op(name, arity, forward, derivative, kink, masks=masks)


# name            arity  forward: out = …                         local derivatives ∂out/∂xᵢ
_TABLE = [
    _op("+",    2, lambda B, a, b: a + b,       lambda B, xs, out: (1.0, 1.0)),
    _op("-",    2, lambda B, a, b: a - b,       lambda B, xs, out: (1.0, -1.0)),
    _op("*",    2, lambda B, a, b: a * b,       lambda B, xs, out: (xs[1], xs[0])),
    _op("/",    2, lambda B, a, b: B.div(a, b), lambda B, xs, out: (B.div(1.0, xs[1]), -B.div(out, xs[1]))),
    # ∂(aᵇ)/∂a = b·aᵇ⁻¹, ∂(aᵇ)/∂b = aᵇ·ln a; PyTorch's 0 where these read 0·∞ (b = 0 with a⁻¹
    # overflowing or nan; a = 0 with b ≥ 0). Elsewhere b = 0 is left to the formula, not masked,
    # so the second derivative ∂²/∂a∂b = aᵇ⁻¹(1 + b·ln a) stays right at b = 0. At b = 0,
    # ∂C/∂a is 0 even for an inf or nan ∂C/∂out (PyTorch's pow_backward_self); ∂C/∂b is not masked.
    _op("**",   2, lambda B, a, b: B.pow(a, b),
        lambda B, xs, out: (
            B.where((B.data(xs[1]) == 0) & ((abs(B.data(xs[0])) < _TINY) | (B.data(xs[0]) != B.data(xs[0]))),
                    0.0, xs[1] * B.pow(xs[0], xs[1] - 1.0)),
            B.where((B.data(xs[0]) == 0) & (B.data(xs[1]) >= 0), 0.0, out * B.log(xs[0])),
        ), masks=lambda xs: (xs[1] == 0.0, False)),
    _op("neg",  1, lambda B, x: -x,             lambda B, xs, out: (-1.0,)),
    _op("abs",  1, lambda B, x: B.abs(x),       lambda B, xs, out: (B.sign(xs[0]),), kink=lambda xs: xs[0]),
    _op("exp",  1, lambda B, x: B.exp(x),       lambda B, xs, out: (out,)),
    _op("log",  1, lambda B, x: B.log(x),       lambda B, xs, out: (B.div(1.0, xs[0]),)),
    _op("sqrt", 1, lambda B, x: B.sqrt(x),      lambda B, xs, out: (B.div(0.5, out),)),
    _op("sin",  1, lambda B, x: B.sin(x),       lambda B, xs, out: (B.cos(xs[0]),)),
    _op("cos",  1, lambda B, x: B.cos(x),       lambda B, xs, out: (-B.sin(xs[0]),)),
    # 1 − t² as (1 − t)(1 + t) when t nears ±1 (no cancellation), as 1 − t·t near 0 (so the
    # second derivative −2t(1 − t²) stays exact there): both as accurate as PyTorch's fused form.
    _op("tanh", 1, lambda B, x: B.tanh(x),
        lambda B, xs, out: (B.where(abs(B.data(out)) < 0.5, 1.0 - out * out, (1.0 - out) * (1.0 + out)),)),
    _op("sigmoid", 1, lambda B, x: B.sigmoid(x), lambda B, xs, out: (out * (1.0 - out),)),
    _op("softplus", 1, lambda B, x: B.softplus(x), lambda B, xs, out: (B.sigmoid(xs[0]),)),
    # An inactive relu passes back 0 even for an inf or nan ∂C/∂out (PyTorch's threshold_backward).
    _op("relu", 1, lambda B, x: B.relu(x),      lambda B, xs, out: (B.step(xs[0]),), kink=lambda xs: xs[0],
        masks=lambda xs: (xs[0] <= 0.0,)),
]

OPS: dict[str, Op] = {op.name: op for op in _TABLE}


def _number_text(p: float) -> str:
    return str(int(p)) if float(p).is_integer() and abs(p) < 1e15 else repr(float(p))


@functools.lru_cache(maxsize=1024)
def pow_const(p: float) -> Op:
    """``x ** p`` for a constant exponent p: ∂out/∂x = p·xᵖ⁻¹ (0 when p = 0, as PyTorch)."""
    p = float(p)
    if p == 0.0:
        # x⁰ = 1 is constant; building 0·x⁻¹ would read 0·∞ = nan at x = 0.
        derivative = lambda B, xs, out: (0.0,)
    else:
        derivative = lambda B, xs, out: (p * B.pow(xs[0], p - 1.0),)
    # x⁰: ∂C/∂x is 0 whatever ∂C/∂out is, as PyTorch's pow_backward.
    masks = (lambda xs: (True,)) if p == 0.0 else None
    return Op(f"**{_number_text(p)}", 1, lambda B, x: B.pow(x, p), derivative, factory="pow_const", params=(p,),
              masks=masks)


@functools.lru_cache(maxsize=1024)
def leaky_relu_op(slope: float) -> Op:
    """``leaky_relu(x) = x if x > 0 else slope·x``: ∂out/∂x = 1 or slope (slope at 0, as PyTorch)."""
    slope = float(slope)
    return Op(
        f"leaky_relu({_number_text(slope)})",
        1,
        lambda B, x: B.where(B.data(x) > 0, x, slope * x),
        lambda B, xs, out: (B.where(B.data(xs[0]) > 0, 1.0, slope),),
        kink=lambda xs: xs[0],
        factory="leaky_relu_op",
        params=(slope,),
    )


def op_by_name(name: str) -> Op:
    """The op recorded under ``name`` (``"tanh"``, ``"**2"``, ``"leaky_relu(0.01)"``)."""
    if name in OPS:
        return OPS[name]
    try:
        if name.startswith("**"):
            return pow_const(float(name[2:]))
        if name.startswith("leaky_relu(") and name.endswith(")"):
            return leaky_relu_op(float(name[len("leaky_relu("):-1]))
    except ValueError:
        pass
    raise KeyError(f"no op named {name!r}; known ops: {sorted(OPS)} plus '**p' and 'leaky_relu(s)'")
