"""The elementary functions and activations as ``Value`` methods (``x.atan()``, ``x.gelu()``).

:class:`ElementaryOps` is a base class of :class:`~autograd_core.Value`: every method here
records one entry of the op table (:mod:`autograd_core.ops`), so its forward value and local
derivative ∂out/∂x are the table's, on floats, on Values (``create_graph``) and in compiled
batches alike. It holds no data (``__slots__ = ()``), so it costs a Value nothing.

It also decides what ``float(v)`` means next to ``math.sin(v)``: both call ``__float__``, but
only the second silently drops the graph, so a call from a ``math`` function raises a
``TypeError`` naming the method to use instead (see :meth:`ElementaryOps.__float__`).
"""

from __future__ import annotations

import ast
import linecache
import math
import sys
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

from . import value as _value
from .ops import OPS, Op, celu_op, clamp_op, elu_op, hardtanh_op

if TYPE_CHECKING:
    from .value import Number, Value

__all__ = ["ElementaryOps"]

_UNARY = (
    "tan", "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "log2", "log10", "log1p",
    "expm1", "exp2", "square", "reciprocal", "sign", "floor", "ceil", "erf", "silu", "selu", "softsign",
    "hardsigmoid", "hardswish", "mish", "logsigmoid",
)
_OP = {name: OPS[name] for name in (*_UNARY, "round", "atan2", "hypot", "%", "fmod", "maximum", "minimum",
                                     "logaddexp", "gelu", "gelu_tanh")}


def _apply(op: Op, *xs: Any) -> Value:
    # Numbers become constant leaves, as in Value's own operators.
    parents = tuple(x if isinstance(x, _value.Value) else _value.Value(_value.to_float(x)) for x in xs)
    return _value.record(op, parents)


class ElementaryOps:
    """Value methods for the elementary functions beyond micrograd's (mixed into ``Value``)."""

    __slots__ = ()

    # -- trigonometric and hyperbolic ---------------------------------------------------
    def tan(self) -> Value:
        """tan x; ∂/∂x = 1 + tan²x."""
        return _apply(_OP["tan"], self)

    def sinh(self) -> Value:
        """sinh x; ∂/∂x = cosh x."""
        return _apply(_OP["sinh"], self)

    def cosh(self) -> Value:
        """cosh x; ∂/∂x = sinh x."""
        return _apply(_OP["cosh"], self)

    def asin(self) -> Value:
        """arcsin x (nan outside [−1, 1]); ∂/∂x = 1/√(1 − x²) (inf at ±1)."""
        return _apply(_OP["asin"], self)

    def acos(self) -> Value:
        """arccos x (nan outside [−1, 1]); ∂/∂x = −1/√(1 − x²)."""
        return _apply(_OP["acos"], self)

    def atan(self) -> Value:
        """arctan x; ∂/∂x = 1/(1 + x²)."""
        return _apply(_OP["atan"], self)

    def asinh(self) -> Value:
        """arsinh x; ∂/∂x = 1/√(x² + 1)."""
        return _apply(_OP["asinh"], self)

    def acosh(self) -> Value:
        """arcosh x (nan below 1); ∂/∂x = 1/√(x² − 1) (inf at 1)."""
        return _apply(_OP["acosh"], self)

    def atanh(self) -> Value:
        """artanh x (±inf at ±1, nan beyond); ∂/∂x = 1/(1 − x²)."""
        return _apply(_OP["atanh"], self)

    def atan2(self, x: Number | Value) -> Value:
        """The angle of the point (x, y) with y = self, in (−π, π]; ∂/∂y = x/(x² + y²), ∂/∂x = −y/(x² + y²)."""
        return _apply(_OP["atan2"], self, x)

    def hypot(self, other: Number | Value) -> Value:
        """√(a² + b²) without overflow; ∂/∂a = a/out, ∂/∂b = b/out (nan at the origin, as PyTorch)."""
        return _apply(_OP["hypot"], self, other)

    # -- logarithms and exponentials ----------------------------------------------------
    def log2(self) -> Value:
        """log₂ x; ∂/∂x = 1/(x ln 2)."""
        return _apply(_OP["log2"], self)

    def log10(self) -> Value:
        """log₁₀ x; ∂/∂x = 1/(x ln 10)."""
        return _apply(_OP["log10"], self)

    def log1p(self) -> Value:
        """ln(1 + x), accurate for tiny x; ∂/∂x = 1/(1 + x)."""
        return _apply(_OP["log1p"], self)

    def expm1(self) -> Value:
        """eˣ − 1, accurate for tiny x; ∂/∂x = eˣ."""
        return _apply(_OP["expm1"], self)

    def exp2(self) -> Value:
        """2ˣ; ∂/∂x = 2ˣ ln 2."""
        return _apply(_OP["exp2"], self)

    def logaddexp(self, other: Number | Value) -> Value:
        """log(eᵃ + eᵇ) without overflow; ∂/∂a = σ(a − b), ∂/∂b = σ(b − a)."""
        return _apply(_OP["logaddexp"], self, other)

    def erf(self) -> Value:
        """The error function; ∂/∂x = (2/√π) e^(−x²)."""
        return _apply(_OP["erf"], self)

    # -- powers ---------------------------------------------------------------------------
    def square(self) -> Value:
        """x²; ∂/∂x = 2x."""
        return _apply(_OP["square"], self)

    def reciprocal(self) -> Value:
        """1/x as one op; ∂/∂x = −1/x²."""
        return _apply(_OP["reciprocal"], self)

    # -- piecewise: zero or one-sided derivatives, as PyTorch -----------------------------
    def sign(self) -> Value:
        """−1, 0 or 1 (0 for nan, as torch.sign); derivative 0."""
        return _apply(_OP["sign"], self)

    def floor(self) -> Value:
        """⌊x⌋; derivative 0."""
        return _apply(_OP["floor"], self)

    def ceil(self) -> Value:
        """⌈x⌉; derivative 0."""
        return _apply(_OP["ceil"], self)

    def round(self) -> Value:
        """x rounded half to even (2.5 → 2, as torch.round and Python); derivative 0."""
        return _apply(_OP["round"], self)

    def __round__(self, ndigits: int | None = None) -> Value:
        if ndigits is not None:
            raise TypeError(f"round(value, {ndigits!r}) is not an op; use round(value.data, {ndigits!r}) "
                            "for a rounded float, or round(value) for the op")
        return self.round()

    def fmod(self, other: Number | Value) -> Value:
        """C's fmod(a, b) with the sign of a; ∂/∂a = 1, ∂/∂b = −trunc(a/b)."""
        return _apply(_OP["fmod"], self, other)

    def __mod__(self, other: Number | Value) -> Value:
        """a % b with the sign of b (Python, torch.remainder); ∂/∂a = 1, ∂/∂b = −⌊a/b⌋."""
        return _apply(_OP["%"], self, other)

    def __rmod__(self, other: Number) -> Value:
        return _apply(_OP["%"], other, self)

    def maximum(self, other: Number | Value) -> Value:
        """max(a, b), nan if either is; the gradient goes to the larger, half to each at a tie."""
        return _apply(_OP["maximum"], self, other)

    def minimum(self, other: Number | Value) -> Value:
        """min(a, b), nan if either is; the gradient goes to the smaller, half to each at a tie."""
        return _apply(_OP["minimum"], self, other)

    def clamp(self, min: Number | None = None, max: Number | None = None) -> Value:
        """min(max(x, min), max) for constant bounds (None: unbounded); ∂/∂x = 1 on [min, max], else 0."""
        if min is None and max is None:
            raise ValueError("clamp needs at least one of min and max")
        lo = -math.inf if min is None else _value.to_float(min)
        hi = math.inf if max is None else _value.to_float(max)
        return _apply(clamp_op(lo, hi), self)

    # -- activations, named as in torch.nn.functional ------------------------------------
    def gelu(self, approximate: str = "none") -> Value:
        """x·Φ(x), Φ the standard normal CDF; ∂/∂x = Φ(x) + x·φ(x).

        ``approximate="tanh"`` is ½x(1 + tanh(√(2/π)(x + 0.044715x³))), as PyTorch.
        """
        if approximate == "none":
            return _apply(_OP["gelu"], self)
        if approximate == "tanh":
            return _apply(_OP["gelu_tanh"], self)
        raise ValueError(f"gelu's approximate must be 'none' or 'tanh', got {approximate!r}")

    def silu(self) -> Value:
        """x·σ(x) (swish); ∂/∂x = σ(x)(1 + x(1 − σ(x)))."""
        return _apply(_OP["silu"], self)

    def elu(self, alpha: float = 1.0) -> Value:
        """x if x > 0 else α(eˣ − 1); ∂/∂x = 1 or α·eˣ."""
        return _apply(elu_op(_value.to_float(alpha)), self)

    def selu(self) -> Value:
        """λ·elu(x, α) with PyTorch's fixed λ ≈ 1.0507, α ≈ 1.6733 (self-normalising)."""
        return _apply(_OP["selu"], self)

    def celu(self, alpha: float = 1.0) -> Value:
        """x if x > 0 else α(e^(x/α) − 1); ∂/∂x = 1 or e^(x/α)."""
        return _apply(celu_op(_value.to_float(alpha)), self)

    def softsign(self) -> Value:
        """x/(1 + |x|); ∂/∂x = 1/(1 + |x|)²."""
        return _apply(_OP["softsign"], self)

    def hardtanh(self, min_val: float = -1.0, max_val: float = 1.0) -> Value:
        """clamp(x, min_val, max_val); ∂/∂x = 1 strictly between the bounds, else 0 (PyTorch)."""
        return _apply(hardtanh_op(_value.to_float(min_val), _value.to_float(max_val)), self)

    def hardsigmoid(self) -> Value:
        """relu6(x + 3)/6; ∂/∂x = 1/6 on (−3, 3), else 0."""
        return _apply(_OP["hardsigmoid"], self)

    def hardswish(self) -> Value:
        """x·relu6(x + 3)/6; ∂/∂x = x/3 + 1/2 on [−3, 3], 0 below, 1 above."""
        return _apply(_OP["hardswish"], self)

    def mish(self) -> Value:
        """x·tanh(softplus x); ∂/∂x = t + x·σ(x)(1 − t²), t = tanh(softplus x)."""
        return _apply(_OP["mish"], self)

    def logsigmoid(self) -> Value:
        """log σ(x) = −softplus(−x), stable for any x; ∂/∂x = σ(−x)."""
        return _apply(_OP["logsigmoid"], self)

    # -- float(v) and math.*(v) ----------------------------------------------------------
    def __float__(self) -> float:
        """``float(v)`` is ``v.data``. Called by a ``math`` function, it raises ``TypeError``.

        ``math.sin(v)`` would compute sin of the number and drop the graph: no gradient flows
        back through it, and nothing tells the learner. So when the caller's expression is a
        call of a ``math`` function (other than the predicates ``isnan``, ``isinf``,
        ``isfinite``, ``isclose``), the error names the Value method to use instead.
        """
        name = _math_caller(sys._getframe(1))
        if name is not None:
            raise TypeError(_math_hint(name))
        return self.data  # type: ignore[attr-defined, no-any-return]


# Functions of math that only ask about a number: no graph is lost by calling them on v.data.
_MATH_QUERIES = frozenset({"isnan", "isinf", "isfinite", "isclose"})
# (code object, instruction offset) → the math function called there, or None: the source of a
# call site is parsed once, later float() calls from the same place cost one dict lookup.
_CALL_SITES: dict[tuple[CodeType, int], str | None] = {}


def _math_caller(frame: FrameType) -> str | None:
    key = (frame.f_code, frame.f_lasti)
    try:
        return _CALL_SITES[key]
    except KeyError:
        pass
    name = _resolve_math_call(frame)
    if len(_CALL_SITES) < 4096:
        _CALL_SITES[key] = name
    return name


def _resolve_math_call(frame: FrameType) -> str | None:
    # The call being executed spans the columns of the current instruction (Python ≥ 3.11);
    # without a source line (exec'd strings, older Pythons) nothing is decided.
    code, lasti = frame.f_code, frame.f_lasti
    positions = getattr(code, "co_positions", None)
    if positions is None:
        return None
    try:
        line, end_line, col, end_col = list(positions())[lasti // 2]
    except (IndexError, ValueError):
        return None
    if line is None or line != end_line or col is None or end_col is None:
        return None
    text = linecache.getline(code.co_filename, line, frame.f_globals)[col:end_col]
    try:
        call = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(call, ast.Call):
        return None
    func = _lookup(call.func, frame)
    if getattr(func, "__self__", None) is math or getattr(func, "__module__", None) == "math":
        name = getattr(func, "__name__", "")
        return None if name in _MATH_QUERIES else name
    return None


def _lookup(node: ast.expr, frame: FrameType) -> Any:
    # Names and attribute chains only (math.sin, m.sin, sin): never evaluates a call.
    if isinstance(node, ast.Name):
        for scope in (frame.f_locals, frame.f_globals, frame.f_builtins):
            if node.id in scope:
                return scope[node.id]
        return None
    if isinstance(node, ast.Attribute):
        base = _lookup(node.value, frame)
        return getattr(base, node.attr, None) if isinstance(base, type(math)) else None
    return None


def _math_hint(name: str) -> str:
    method = {"pow": "v ** p", "fabs": "abs(v)", "fmod": "v.fmod(b)", "remainder": "v % b",
              "dist": "(a - b).abs()", "ldexp": "v * 2 ** i", "sqrt": "v.sqrt()"}.get(name)
    if method is None:
        method = f"v.{name}()" if name in _KNOWN_METHODS else "the Value methods (v.exp(), v.tanh(), …)"
    return (f"math.{name}() got a Value: it would return a plain float and drop the graph, so no gradient "
            f"flows back through it. Use {method} (or autograd_core.vmath.{name}), or math.{name}(v.data) "
            "if you mean to leave the graph")


_KNOWN_METHODS = frozenset({*_UNARY, "exp", "log", "sin", "cos", "tanh", "atan2", "hypot", "floor", "ceil",
                            "erf", "log1p", "expm1"})
