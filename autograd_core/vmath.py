"""``math``'s functions for Values: ``vmath.atan2(y, x)``, ``vmath.hypot(a, b)``, ``vmath.sin(v)`` …

Each function is one entry of the op table (:mod:`autograd_core.ops`). Given a Value (or
several, or Values mixed with numbers) it records a node, so gradients flow through it; given
only numbers it returns a float with the same IEEE semantics (never a ``math`` exception):

    from autograd_core import Value, vmath
    y, x = Value(1.0), Value(-1.0)
    angle = vmath.atan2(y, x)        # 3π/4; ∂/∂y = x/(x² + y²), ∂/∂x = −y/(x² + y²)
    vmath.hypot(3.0, 4.0)            # 5.0, a float: no Value went in

Names follow Python's ``math`` and ``numpy`` (``atan2``, ``hypot``, ``log1p``, ``fmod``) and
PyTorch where those have none (``maximum``, ``clamp``, ``remainder``, ``gelu``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Union

from .backends import FLOAT
from .ops import OPS, Op, celu_op, clamp_op, elu_op, hardtanh_op, leaky_relu_op, pow_const
from .value import Number, Value, record, to_float

__all__ = [
    "sin", "cos", "tan", "sinh", "cosh", "tanh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "atan2",
    "hypot", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "square", "reciprocal", "pow",
    "fabs", "sign", "floor", "ceil", "round", "fmod", "remainder", "maximum", "minimum", "clamp", "erf",
    "logaddexp", "sigmoid", "softplus", "relu", "leaky_relu", "gelu", "silu", "elu", "selu", "celu", "softsign",
    "hardtanh", "hardsigmoid", "hardswish", "mish", "logsigmoid",
]

Scalar = Union[Number, Value]


def apply(op: Op, *xs: Scalar) -> Value | float:
    """``op`` on ``xs``: a recorded node if any input is a Value, else the float ``op`` gives."""
    if any(isinstance(x, Value) for x in xs):
        return record(op, tuple(x if isinstance(x, Value) else Value(to_float(x)) for x in xs))
    return float(op.forward(FLOAT, *[to_float(x) for x in xs]))


def _unary(name: str, rule: str) -> Callable[[Scalar], Value | float]:
    op = OPS[name]

    def f(x: Scalar) -> Value | float:
        return apply(op, x)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"{rule}; a Value in gives a recorded node, a number gives a float."
    return f


def _binary(name: str, rule: str) -> Callable[[Scalar, Scalar], Value | float]:
    op = OPS[name]

    def f(a: Scalar, b: Scalar) -> Value | float:
        return apply(op, a, b)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"{rule}; any Value in gives a recorded node, numbers give a float."
    return f


sin = _unary("sin", "sin x; ∂/∂x = cos x")
cos = _unary("cos", "cos x; ∂/∂x = −sin x")
tan = _unary("tan", "tan x; ∂/∂x = 1 + tan²x")
sinh = _unary("sinh", "sinh x; ∂/∂x = cosh x")
cosh = _unary("cosh", "cosh x; ∂/∂x = sinh x")
tanh = _unary("tanh", "tanh x; ∂/∂x = 1 − tanh²x")
asin = _unary("asin", "arcsin x; ∂/∂x = 1/√(1 − x²)")
acos = _unary("acos", "arccos x; ∂/∂x = −1/√(1 − x²)")
atan = _unary("atan", "arctan x; ∂/∂x = 1/(1 + x²)")
asinh = _unary("asinh", "arsinh x; ∂/∂x = 1/√(x² + 1)")
acosh = _unary("acosh", "arcosh x; ∂/∂x = 1/√(x² − 1)")
atanh = _unary("atanh", "artanh x; ∂/∂x = 1/(1 − x²)")
atan2 = _binary("atan2", "atan2(y, x), the angle of (x, y); ∂/∂y = x/(x² + y²), ∂/∂x = −y/(x² + y²)")
hypot = _binary("hypot", "√(a² + b²) without overflow; ∂/∂a = a/out, ∂/∂b = b/out")
exp = _unary("exp", "eˣ; ∂/∂x = eˣ")
exp2 = _unary("exp2", "2ˣ; ∂/∂x = 2ˣ ln 2")
expm1 = _unary("expm1", "eˣ − 1; ∂/∂x = eˣ")
log = _unary("log", "ln x; ∂/∂x = 1/x")
log2 = _unary("log2", "log₂ x; ∂/∂x = 1/(x ln 2)")
log10 = _unary("log10", "log₁₀ x; ∂/∂x = 1/(x ln 10)")
log1p = _unary("log1p", "ln(1 + x); ∂/∂x = 1/(1 + x)")
sqrt = _unary("sqrt", "√x; ∂/∂x = 1/(2√x)")
square = _unary("square", "x²; ∂/∂x = 2x")
reciprocal = _unary("reciprocal", "1/x; ∂/∂x = −1/x²")
fabs = _unary("abs", "|x|; ∂/∂x = sign x (0 at 0)")
sign = _unary("sign", "−1, 0 or 1; derivative 0")
floor = _unary("floor", "⌊x⌋; derivative 0")
ceil = _unary("ceil", "⌈x⌉; derivative 0")
round = _unary("round", "x rounded half to even; derivative 0")
fmod = _binary("fmod", "C's fmod(a, b), the sign of a; ∂/∂a = 1, ∂/∂b = −trunc(a/b)")
remainder = _binary("%", "a % b, the sign of b (Python's %); ∂/∂a = 1, ∂/∂b = −⌊a/b⌋")
maximum = _binary("maximum", "max(a, b), nan if either is; half the gradient to each at a tie")
minimum = _binary("minimum", "min(a, b), nan if either is; half the gradient to each at a tie")
erf = _unary("erf", "the error function; ∂/∂x = (2/√π) e^(−x²)")
logaddexp = _binary("logaddexp", "log(eᵃ + eᵇ); ∂/∂a = σ(a − b), ∂/∂b = σ(b − a)")
sigmoid = _unary("sigmoid", "σ(x) = 1/(1 + e⁻ˣ); ∂/∂x = σ(x)(1 − σ(x))")
softplus = _unary("softplus", "log(1 + eˣ); ∂/∂x = σ(x)")
relu = _unary("relu", "max(x, 0); ∂/∂x = 1 if x > 0 else 0")
silu = _unary("silu", "x·σ(x); ∂/∂x = σ(x)(1 + x(1 − σ(x)))")
selu = _unary("selu", "λ·elu(x, α), PyTorch's λ and α")
softsign = _unary("softsign", "x/(1 + |x|); ∂/∂x = 1/(1 + |x|)²")
hardsigmoid = _unary("hardsigmoid", "relu6(x + 3)/6; ∂/∂x = 1/6 on (−3, 3)")
hardswish = _unary("hardswish", "x·relu6(x + 3)/6; ∂/∂x = x/3 + 1/2 on [−3, 3]")
mish = _unary("mish", "x·tanh(softplus x)")
logsigmoid = _unary("logsigmoid", "log σ(x); ∂/∂x = σ(−x)")


def pow(x: Scalar, p: Scalar) -> Value | float:
    """xᵖ; ∂/∂x = p·xᵖ⁻¹, ∂/∂p = xᵖ ln x (a constant p records ``**p``, as ``x ** p`` does)."""
    if isinstance(p, Value) or not isinstance(x, Value):
        return apply(OPS["**"], x, p)
    return apply(pow_const(to_float(p)), x)


def clamp(x: Scalar, min: Number | None = None, max: Number | None = None) -> Value | float:
    """min(max(x, min), max) for constant bounds; ∂/∂x = 1 on [min, max], else 0."""
    if min is None and max is None:
        raise ValueError("clamp needs at least one of min and max")
    lo = -math.inf if min is None else to_float(min)
    hi = math.inf if max is None else to_float(max)
    return apply(clamp_op(lo, hi), x)


def leaky_relu(x: Scalar, negative_slope: float = 0.01) -> Value | float:
    """x if x > 0 else slope·x; ∂/∂x = 1 or slope."""
    return apply(leaky_relu_op(to_float(negative_slope)), x)


def gelu(x: Scalar, approximate: str = "none") -> Value | float:
    """x·Φ(x) (``approximate="tanh"``: PyTorch's tanh form); ∂/∂x = Φ(x) + x·φ(x)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu's approximate must be 'none' or 'tanh', got {approximate!r}")
    return apply(OPS["gelu" if approximate == "none" else "gelu_tanh"], x)


def elu(x: Scalar, alpha: float = 1.0) -> Value | float:
    """x if x > 0 else α(eˣ − 1); ∂/∂x = 1 or α·eˣ."""
    return apply(elu_op(to_float(alpha)), x)


def celu(x: Scalar, alpha: float = 1.0) -> Value | float:
    """x if x > 0 else α(e^(x/α) − 1); ∂/∂x = 1 or e^(x/α)."""
    return apply(celu_op(to_float(alpha)), x)


def hardtanh(x: Scalar, min_val: float = -1.0, max_val: float = 1.0) -> Value | float:
    """clamp(x, min_val, max_val); ∂/∂x = 1 strictly between the bounds."""
    return apply(hardtanh_op(to_float(min_val), to_float(max_val)), x)

