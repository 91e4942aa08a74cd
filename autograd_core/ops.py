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
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Op", "OPS", "pow_const", "leaky_relu_op", "elu_op", "celu_op", "clamp_op", "hardtanh_op", "op_by_name"]


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


def _ALWAYS(xs: Sequence[float]) -> tuple[bool, ...]:
    return (True,)


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

# Elementary functions and PyTorch's activations. Edges follow PyTorch: the same IEEE
# infinities and nans, derivatives 0 for the piecewise-constant ops (sign, floor, ceil, round),
# 1/2 to each input of maximum/minimum at a tie, and torch's one-sided choices at kinks.
_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_HALF = math.sqrt(0.5)
_PDF_SCALE = 1.0 / math.sqrt(2.0 * math.pi)  # φ(x) = e^(-x²/2) / √(2π)
_GELU_K = math.sqrt(2.0 / math.pi)  # gelu_tanh: tanh(k·(x + c·x³))
_GELU_C = 0.044715
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _zero_derivative(B: Any, xs: Sequence[Any], out: Any) -> tuple[Any, ...]:
    return (0.0,) * len(xs)


def _atan2_derivative(B: Any, xs: Sequence[Any], out: Any) -> tuple[Any, Any]:
    # ∂atan2(y, x)/∂y = x/(x² + y²), ∂/∂x = -y/(x² + y²); 0 at the origin, as PyTorch.
    y, x = xs
    r2 = x * x + y * y
    inv = B.where(B.data(r2) == 0, 0.0, B.div(1.0, r2))
    return x * inv, -y * inv


def _gelu_derivative(B: Any, xs: Sequence[Any], out: Any) -> tuple[Any]:
    # d/dx x·Φ(x) = Φ(x) + x·φ(x)
    x = xs[0]
    return (0.5 * (1.0 + B.erf(x * _SQRT_HALF)) + x * (_PDF_SCALE * B.exp(-0.5 * (x * x))),)


def _gelu_tanh(B: Any, x: Any) -> Any:
    return 0.5 * x * (1.0 + B.tanh(_GELU_K * (x + _GELU_C * (x * x * x))))


def _gelu_tanh_derivative(B: Any, xs: Sequence[Any], out: Any) -> tuple[Any]:
    # u = k(x + c x³), t = tanh u: d/dx ½x(1 + t) = ½(1 + t) + ½x(1 − t²)·k(1 + 3c x²)
    x = xs[0]
    t = B.tanh(_GELU_K * (x + _GELU_C * (x * x * x)))
    return (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * (_GELU_K * (1.0 + 3.0 * _GELU_C * (x * x))),)


def _silu_derivative(B: Any, xs: Sequence[Any], out: Any) -> tuple[Any]:
    # d/dx x·σ(x) = σ(x)(1 + x(1 − σ(x)))
    s = B.sigmoid(xs[0])
    return (s * (1.0 + xs[0] * (1.0 - s)),)


def _mish_derivative(B: Any, xs: Sequence[Any], out: Any) -> tuple[Any]:
    # d/dx x·tanh(softplus x) = t + x·σ(x)(1 − t²), t = tanh(softplus x)
    x = xs[0]
    t = B.tanh(B.softplus(x))
    return (t + x * B.sigmoid(x) * (1.0 - t * t),)


def _softsign_derivative(B: Any, xs: Sequence[Any], out: Any) -> tuple[Any]:
    # d/dx x/(1 + |x|) = 1/(1 + |x|)²; nan where the output is (x = ±inf reads inf/inf, as PyTorch).
    s = 1.0 + B.abs(xs[0])
    return (B.where(B.data(out) != B.data(out), out, B.div(1.0, s * s)),)


def _max_derivative(B: Any, xs: Sequence[Any], out: Any) -> tuple[Any, Any]:
    a, b = B.data(xs[0]), B.data(xs[1])
    return (B.where(a < b, 0.0, B.where(a == b, 0.5, 1.0)), B.where(a > b, 0.0, B.where(a == b, 0.5, 1.0)))


def _min_derivative(B: Any, xs: Sequence[Any], out: Any) -> tuple[Any, Any]:
    a, b = B.data(xs[0]), B.data(xs[1])
    return (B.where(a > b, 0.0, B.where(a == b, 0.5, 1.0)), B.where(a < b, 0.0, B.where(a == b, 0.5, 1.0)))


def _elu_slope(B: Any, x: Any, scale: float, inv: float, positive: float) -> Any:
    # ∂/∂x of the elu family: scale·e^(x·inv) below 0, ``positive`` above. At exactly 0 PyTorch
    # takes the lower branch's value but a second derivative of 0: a constant there gives both.
    d = B.data(x)
    return B.where(d < 0, scale * B.exp(x * inv), B.where(d == 0, scale, positive))


def _kink_at_integers(xs: Sequence[float]) -> float:
    return math.sin(math.pi * xs[0]) if math.isfinite(xs[0]) else 1.0


def _kink_at_half_integers(xs: Sequence[float]) -> float:
    return math.cos(math.pi * xs[0]) if math.isfinite(xs[0]) else 1.0


def _kink_of_quotient(xs: Sequence[float]) -> float:
    # a mod b jumps where a/b crosses an integer.
    q = xs[0] / xs[1] if xs[1] != 0 else math.inf
    return math.sin(math.pi * q) if math.isfinite(q) else 1.0


def _kink_at_three(xs: Sequence[float]) -> float:
    return (xs[0] + 3.0) * (xs[0] - 3.0)


# name             arity  forward: out = …                     local derivatives ∂out/∂xᵢ
_TABLE += [
    _op("tan",      1, lambda B, x: B.tan(x),       lambda B, xs, out: (1.0 + out * out,)),
    _op("sinh",     1, lambda B, x: B.sinh(x),      lambda B, xs, out: (B.cosh(xs[0]),)),
    _op("cosh",     1, lambda B, x: B.cosh(x),      lambda B, xs, out: (B.sinh(xs[0]),)),
    # (1 − x)(1 + x) rather than 1 − x²: no cancellation as |x| → 1.
    _op("asin",     1, lambda B, x: B.asin(x),
        lambda B, xs, out: (B.div(1.0, B.sqrt((1.0 - xs[0]) * (1.0 + xs[0]))),)),
    _op("acos",     1, lambda B, x: B.acos(x),
        lambda B, xs, out: (-B.div(1.0, B.sqrt((1.0 - xs[0]) * (1.0 + xs[0]))),)),
    _op("atan",     1, lambda B, x: B.atan(x),      lambda B, xs, out: (B.div(1.0, 1.0 + xs[0] * xs[0]),)),
    _op("asinh",    1, lambda B, x: B.asinh(x),     lambda B, xs, out: (B.div(1.0, B.sqrt(xs[0] * xs[0] + 1.0)),)),
    # + 0.0 turns the −0 that (x − 1)(x + 1) reads at x = −1 into +0 (PyTorch: +inf there).
    _op("acosh",    1, lambda B, x: B.acosh(x),
        lambda B, xs, out: (B.div(1.0, B.sqrt((xs[0] - 1.0) * (xs[0] + 1.0) + 0.0)),)),
    _op("atanh",    1, lambda B, x: B.atanh(x),     lambda B, xs, out: (B.div(1.0, (1.0 - xs[0]) * (1.0 + xs[0])),)),
    _op("atan2",    2, lambda B, y, x: B.atan2(y, x), _atan2_derivative),
    _op("hypot",    2, lambda B, a, b: B.hypot(a, b), lambda B, xs, out: (B.div(xs[0], out), B.div(xs[1], out))),
    _op("log2",     1, lambda B, x: B.log2(x),      lambda B, xs, out: (B.div(1.0, xs[0] * _LN2),)),
    _op("log10",    1, lambda B, x: B.log10(x),     lambda B, xs, out: (B.div(1.0, xs[0] * _LN10),)),
    _op("log1p",    1, lambda B, x: B.log1p(x),     lambda B, xs, out: (B.div(1.0, 1.0 + xs[0]),)),
    # eˣ itself, not PyTorch's 1 + expm1(x), which keeps no correct digit below x ≈ −36.
    _op("expm1",    1, lambda B, x: B.expm1(x),     lambda B, xs, out: (B.exp(xs[0]),)),
    _op("exp2",     1, lambda B, x: B.exp2(x),      lambda B, xs, out: (out * _LN2,)),
    _op("square",   1, lambda B, x: x * x,          lambda B, xs, out: (2.0 * xs[0],)),
    _op("reciprocal", 1, lambda B, x: B.div(1.0, x), lambda B, xs, out: (-(out * out),)),
    # Piecewise constant: PyTorch's backward is zeros, so even an inf/nan upstream passes back 0.
    _op("sign",     1, lambda B, x: B.sign(x),      _zero_derivative, kink=lambda xs: xs[0], masks=_ALWAYS),
    _op("floor",    1, lambda B, x: B.floor(x),     _zero_derivative, kink=_kink_at_integers, masks=_ALWAYS),
    _op("ceil",     1, lambda B, x: B.ceil(x),      _zero_derivative, kink=_kink_at_integers, masks=_ALWAYS),
    _op("round",    1, lambda B, x: B.round(x),     _zero_derivative, kink=_kink_at_half_integers, masks=_ALWAYS),
    # a % b with the sign of b (Python, torch.remainder): ∂/∂a = 1, ∂/∂b = −⌊a/b⌋.
    _op("%",        2, lambda B, a, b: B.remainder(a, b),
        lambda B, xs, out: (1.0, -B.floordiv(xs[0], xs[1])), kink=_kink_of_quotient),
    # C's fmod, the sign of a (math.fmod, torch.fmod): ∂/∂a = 1, ∂/∂b = −trunc(a/b).
    _op("fmod",     2, lambda B, a, b: B.fmod(a, b),
        lambda B, xs, out: (1.0, -B.truncdiv(xs[0], xs[1])), kink=_kink_of_quotient),
    _op("maximum",  2, lambda B, a, b: B.maximum(a, b), _max_derivative, kink=lambda xs: xs[0] - xs[1]),
    _op("minimum",  2, lambda B, a, b: B.minimum(a, b), _min_derivative, kink=lambda xs: xs[0] - xs[1]),
    _op("erf",      1, lambda B, x: B.erf(x),
        lambda B, xs, out: (_TWO_OVER_SQRT_PI * B.exp(-(xs[0] * xs[0])),)),
    # ∂/∂a log(eᵃ + eᵇ) = eᵃ/(eᵃ + eᵇ) = σ(a − b)
    _op("logaddexp", 2, lambda B, a, b: B.logaddexp(a, b),
        lambda B, xs, out: (B.sigmoid(xs[0] - xs[1]), B.sigmoid(xs[1] - xs[0]))),
    # gelu(x) = x·Φ(x), Φ the standard normal CDF; gelu_tanh is PyTorch's approximate="tanh".
    _op("gelu",     1, lambda B, x: x * (0.5 * (1.0 + B.erf(x * _SQRT_HALF))), _gelu_derivative),
    _op("gelu_tanh", 1, _gelu_tanh, _gelu_tanh_derivative),
    _op("silu",     1, lambda B, x: x * B.sigmoid(x), _silu_derivative),
    _op("selu",     1, lambda B, x: SELU_SCALE * B.where(B.data(x) <= 0, SELU_ALPHA * B.expm1(x), x),
        lambda B, xs, out: (_elu_slope(B, xs[0], SELU_SCALE * SELU_ALPHA, 1.0, SELU_SCALE),),
        kink=lambda xs: xs[0]),
    _op("softsign", 1, lambda B, x: B.div(x, 1.0 + B.abs(x)), _softsign_derivative),
    # relu6(x + 3)/6: slope 1/6 strictly inside (−3, 3), 0 on and outside the corners (PyTorch).
    _op("hardsigmoid", 1,
        lambda B, x: B.where(B.data(x) <= -3.0, 0.0, B.where(B.data(x) >= 3.0, 1.0, x / 6.0 + 0.5)),
        lambda B, xs, out: (B.where((B.data(xs[0]) > -3.0) & (B.data(xs[0]) < 3.0), 1.0 / 6.0, 0.0),),
        kink=_kink_at_three, masks=lambda xs: (not -3.0 < xs[0] < 3.0,)),
    # x·relu6(x + 3)/6: x/3 + 1/2 strictly inside (−3, 3), 0 from −3 down, 1 from 3 up (nan: 1),
    # as PyTorch; 0·x below −3 so that x = −inf reads nan, as PyTorch's x·0.
    _op("hardswish", 1,
        lambda B, x: B.where(B.data(x) <= -3.0, 0.0 * x, B.where(B.data(x) >= 3.0, x, x * (x + 3.0) / 6.0)),
        lambda B, xs, out: (B.where(B.data(xs[0]) <= -3.0, 0.0, B.where(B.data(xs[0]) < 3.0, xs[0] / 3.0 + 0.5, 1.0)),),
        kink=_kink_at_three, masks=lambda xs: (xs[0] <= -3.0,)),
    _op("mish",     1, lambda B, x: x * B.tanh(B.softplus(x)), _mish_derivative),
    # log σ(x) = −softplus(−x); ∂/∂x = σ(−x)
    _op("logsigmoid", 1, lambda B, x: -B.softplus(-x), lambda B, xs, out: (B.sigmoid(-xs[0]),)),
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


def _check_finite(name: str, value: float) -> float:
    value = float(value)
    if value != value:
        raise ValueError(f"{name} must be a number, got nan")
    return value


@functools.lru_cache(maxsize=1024)
def elu_op(alpha: float = 1.0) -> Op:
    """``elu(x) = x if x > 0 else α(eˣ − 1)``: ∂out/∂x = 1 or α·eˣ (α at 0, as PyTorch)."""
    alpha = _check_finite("elu's alpha", alpha)
    return Op(
        f"elu({_number_text(alpha)})",
        1,
        lambda B, x: B.where(B.data(x) <= 0, alpha * B.expm1(x), x),
        lambda B, xs, out: (_elu_slope(B, xs[0], alpha, 1.0, 1.0),),
        kink=lambda xs: xs[0],
        factory="elu_op",
        params=(alpha,),
    )


@functools.lru_cache(maxsize=1024)
def celu_op(alpha: float = 1.0) -> Op:
    """``celu(x) = x if x > 0 else α(e^(x/α) − 1)``: ∂out/∂x = 1 or e^(x/α), continuous at 0."""
    alpha = _check_finite("celu's alpha", alpha)
    if alpha == 0.0:
        raise ValueError("celu's alpha must be nonzero (celu divides x by alpha)")
    inv = 1.0 / alpha
    return Op(
        f"celu({_number_text(alpha)})",
        1,
        lambda B, x: B.where(B.data(x) <= 0, alpha * B.expm1(x * inv), x),
        lambda B, xs, out: (_elu_slope(B, xs[0], 1.0, inv, 1.0),),
        kink=lambda xs: xs[0],
        factory="celu_op",
        params=(alpha,),
    )


def _bounds(name: str, lo: float, hi: float) -> tuple[float, float]:
    return _check_finite(f"{name}'s lower bound", lo), _check_finite(f"{name}'s upper bound", hi)


@functools.lru_cache(maxsize=1024)
def clamp_op(lo: float = -math.inf, hi: float = math.inf) -> Op:
    """``clamp(x, lo, hi) = min(max(x, lo), hi)``: ∂out/∂x = 1 on [lo, hi] (bounds included), else 0.

    As ``torch.clamp``: ``lo > hi`` gives ``hi`` everywhere (and derivative 0); nan stays nan.
    """
    lo, hi = _bounds("clamp", lo, hi)
    return Op(
        f"clamp({_number_text(lo)},{_number_text(hi)})",
        1,
        lambda B, x: B.minimum(B.maximum(x, lo), hi),
        lambda B, xs, out: (B.where((B.data(xs[0]) >= lo) & (B.data(xs[0]) <= hi), 1.0, 0.0),),
        kink=lambda xs: (xs[0] - lo) * (xs[0] - hi),
        masks=lambda xs: (not lo <= xs[0] <= hi,),
        factory="clamp_op",
        params=(lo, hi),
    )


@functools.lru_cache(maxsize=1024)
def hardtanh_op(lo: float = -1.0, hi: float = 1.0) -> Op:
    """``hardtanh(x) = clamp(x, lo, hi)`` with PyTorch's derivative: 1 strictly inside (lo, hi), 0 on the bounds."""
    lo, hi = _bounds("hardtanh", lo, hi)
    if lo > hi:
        raise ValueError(f"hardtanh needs min_val <= max_val, got {lo} > {hi}")
    return Op(
        f"hardtanh({_number_text(lo)},{_number_text(hi)})",
        1,
        lambda B, x: B.minimum(B.maximum(x, lo), hi),
        lambda B, xs, out: (B.where((B.data(xs[0]) <= lo) | (B.data(xs[0]) >= hi), 0.0, 1.0),),
        kink=lambda xs: (xs[0] - lo) * (xs[0] - hi),
        masks=lambda xs: (xs[0] <= lo or xs[0] >= hi,),
        factory="hardtanh_op",
        params=(lo, hi),
    )


_FACTORIES: dict[str, Callable[..., Op]] = {
    "leaky_relu": leaky_relu_op, "elu": elu_op, "celu": celu_op, "clamp": clamp_op, "hardtanh": hardtanh_op,
}


def _from_factory_name(name: str) -> Op | None:
    """``"clamp(-1,1)"`` → ``clamp_op(-1.0, 1.0)``; None if ``name`` is not of that form."""
    head, paren, rest = name.partition("(")
    if not paren or not rest.endswith(")") or head not in _FACTORIES:
        return None
    try:
        params = [float(p) for p in rest[:-1].split(",")]
        made = _FACTORIES[head](*params)
    except (TypeError, ValueError):
        return None
    return made if len(made.params) == len(params) else None


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
    made = _from_factory_name(name)
    if made is not None:
        return made
    raise KeyError(f"no op named {name!r}; known ops: {sorted(OPS)} plus '**p' and 'leaky_relu(s)'")
