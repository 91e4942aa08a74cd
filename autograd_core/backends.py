"""The three kinds of number an op rule can be evaluated on.

Every rule in :mod:`autograd_core.ops` is written once against a backend ``B``
(``B.exp(x)``, ``B.div(a, b)``, ``B.where(cond, a, b)`` …), so the same line serves

* ``FLOAT``  – plain Python floats: the eager engine and ordinary ``backward()``;
* ``VALUE``  – :class:`~autograd_core.Value` nodes: ``create_graph=True``, so a local
  derivative is itself recorded and can be differentiated again;
* ``NUMPY``  – float64 arrays: the compiled batch mode runs one rule over a whole batch.

``FLOAT`` follows IEEE 754 the way PyTorch does: overflow gives ``inf``, a domain error
gives ``nan``, division by zero gives a signed ``inf``; no ``math`` exception escapes.
Conditions (``B.data(x) > 0``) are taken on raw numbers: masks carry no gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

_INF = math.inf
_NAN = math.nan


def _float_exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return _INF


def _float_log(x: float) -> float:
    if x > 0.0:
        return math.log(x)
    if x == 0.0:
        return -_INF
    return _NAN  # negative or nan


def _float_sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0.0 or x != x else _NAN


def _float_sigmoid(x: float) -> float:
    # σ(x) = 1/(1+e^-x), evaluated so that e^t never overflows: t = -|x| ≤ 0.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x) if x == x else _NAN
    return e / (1.0 + e)


def _float_softplus(x: float) -> float:
    # log(1+e^x) = max(x, 0) + log1p(e^-|x|): exact for large |x|, never overflows.
    if x != x:
        return x
    return (x if x > 0.0 else 0.0) + math.log1p(math.exp(-abs(x)))


def _float_div(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0.0 or a != a:
            return _NAN
        return math.copysign(_INF, a) * math.copysign(1.0, b)


def _float_pow(a: float, b: float) -> float:
    try:
        return math.pow(a, b)
    except ValueError:
        # math.pow raises for 0**negative (IEEE: ±inf) and negative**fraction (IEEE: nan).
        if a == 0.0:
            odd = b.is_integer() and b % 2 == 1
            return math.copysign(_INF, a) if odd else _INF
        return _NAN
    except OverflowError:
        odd = b.is_integer() and b % 2 == 1
        return -_INF if (a < 0.0 and odd) else _INF


def _float_relu(x: float) -> float:
    return 0.0 if x <= 0.0 else x  # nan <= 0 is False, so nan passes through


def _float_step(x: float) -> float:
    # relu'(x): 0 at and below the kink; nan passes the upstream gradient, as torch's relu.
    return 0.0 if x <= 0.0 else 1.0


def _float_sign(x: float) -> float:
    # sign(0) = sign(nan) = 0, as torch.sign: |x|' at a kink or at nan is 0.
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


def _float_sin(x: float) -> float:
    return math.sin(x) if not math.isinf(x) else _NAN


def _float_cos(x: float) -> float:
    return math.cos(x) if not math.isinf(x) else _NAN


# -- elementary functions (IEEE at every edge: a domain error is nan, an overflow ±inf) --
def _domain(f: Callable[[float], float]) -> Callable[[float], float]:
    """``f`` with ``math``'s ValueError read as nan (a domain error) and OverflowError as inf."""

    def g(x: float) -> float:
        try:
            return f(x)
        except ValueError:
            return _NAN
        except OverflowError:
            return _INF

    g.__name__ = f.__name__
    return g


def _float_tan(x: float) -> float:
    return math.tan(x) if not math.isinf(x) else _NAN


def _float_sinh(x: float) -> float:
    try:
        return math.sinh(x)
    except OverflowError:
        return math.copysign(_INF, x)


def _float_atanh(x: float) -> float:
    if x == 1.0 or x == -1.0:
        return math.copysign(_INF, x)
    return math.atanh(x) if -1.0 < x < 1.0 else _NAN


def _float_log_base(log: Callable[[float], float]) -> Callable[[float], float]:
    def f(x: float) -> float:
        if x > 0.0:
            return log(x)
        return -_INF if x == 0.0 else _NAN

    f.__name__ = log.__name__
    return f


def _float_log1p(x: float) -> float:
    if x > -1.0:
        return math.log1p(x)
    return -_INF if x == -1.0 else _NAN


def _float_exp2(x: float) -> float:
    try:
        return math.pow(2.0, x)
    except OverflowError:
        return _INF


def _signed_zero(r: float, x: float) -> float:
    # floor(-0.5) is -1 but ceil(-0.5) and rint(-0.4) are -0.0 in IEEE; int() loses that sign.
    return math.copysign(0.0, x) if r == 0.0 else r


def _float_floor(x: float) -> float:
    return _signed_zero(float(math.floor(x)), x) if math.isfinite(x) else x


def _float_ceil(x: float) -> float:
    return _signed_zero(float(math.ceil(x)), x) if math.isfinite(x) else x


def _float_round(x: float) -> float:
    # Half to even, as torch.round, numpy.rint and Python's round.
    return _signed_zero(float(round(x)), x) if math.isfinite(x) else x


def _float_fmod(a: float, b: float) -> float:
    # C fmod: the sign of a; nan for b = 0 or a = ±inf.
    try:
        return math.fmod(a, b)
    except ValueError:
        return _NAN


def _float_remainder(a: float, b: float) -> float:
    # Python's a % b (the sign of b), computed as torch.remainder does, so also IEEE at b = 0.
    mod = _float_fmod(a, b)
    if mod != 0.0 and (b < 0.0) != (mod < 0.0):
        mod += b
    return mod


def _float_floordiv(a: float, b: float) -> float:
    # ⌊a/b⌋ consistent with remainder: a = b·⌊a/b⌋ + a % b (torch's div(rounding_mode="floor")).
    if b == 0.0:
        return _float_div(a, b)
    mod = _float_fmod(a, b)
    div = (a - mod) / b
    if mod != 0.0 and (b < 0.0) != (mod < 0.0):
        div -= 1.0
    if div != div or math.isinf(div):
        return div
    if div == 0.0:
        return math.copysign(0.0, a / b)
    q = float(math.floor(div))
    return q + 1.0 if div - q > 0.5 else q


def _float_truncdiv(a: float, b: float) -> float:
    q = _float_div(a, b)
    return float(math.trunc(q)) if math.isfinite(q) else q


def _float_maximum(a: float, b: float) -> float:
    if a != a or b != b:
        return _NAN
    return a if a >= b else b


def _float_minimum(a: float, b: float) -> float:
    if a != a or b != b:
        return _NAN
    return a if a <= b else b


def _float_logaddexp(a: float, b: float) -> float:
    # log(eᵃ + eᵇ) = max + log1p(e^-|a-b|); equal infinities are returned as they are.
    if math.isinf(a) and a == b:
        return a
    if a != a or b != b:
        return _NAN
    return (a if a >= b else b) + math.log1p(math.exp(-abs(a - b)))


def _where(cond: Any, a: Any, b: Any) -> Any:
    return a if cond else b


def _identity(x: Any) -> Any:
    return x


class FLOAT:
    """Python floats, IEEE semantics."""

    exp = staticmethod(_float_exp)
    log = staticmethod(_float_log)
    sqrt = staticmethod(_float_sqrt)
    tanh = staticmethod(math.tanh)
    sigmoid = staticmethod(_float_sigmoid)
    softplus = staticmethod(_float_softplus)
    relu = staticmethod(_float_relu)
    step = staticmethod(_float_step)
    sign = staticmethod(_float_sign)
    abs = staticmethod(abs)
    sin = staticmethod(_float_sin)
    cos = staticmethod(_float_cos)
    div = staticmethod(_float_div)
    pow = staticmethod(_float_pow)
    where = staticmethod(_where)
    data = staticmethod(_identity)
    tan = staticmethod(_float_tan)
    sinh = staticmethod(_float_sinh)
    cosh = staticmethod(_domain(math.cosh))
    asin = staticmethod(_domain(math.asin))
    acos = staticmethod(_domain(math.acos))
    atan = staticmethod(math.atan)
    asinh = staticmethod(math.asinh)
    acosh = staticmethod(_domain(math.acosh))
    atanh = staticmethod(_float_atanh)
    atan2 = staticmethod(math.atan2)
    hypot = staticmethod(math.hypot)
    log2 = staticmethod(_float_log_base(math.log2))
    log10 = staticmethod(_float_log_base(math.log10))
    log1p = staticmethod(_float_log1p)
    expm1 = staticmethod(_domain(math.expm1))
    exp2 = staticmethod(_float_exp2)
    erf = staticmethod(math.erf)
    floor = staticmethod(_float_floor)
    ceil = staticmethod(_float_ceil)
    round = staticmethod(_float_round)
    fmod = staticmethod(_float_fmod)
    remainder = staticmethod(_float_remainder)
    floordiv = staticmethod(_float_floordiv)
    truncdiv = staticmethod(_float_truncdiv)
    maximum = staticmethod(_float_maximum)
    minimum = staticmethod(_float_minimum)
    logaddexp = staticmethod(_float_logaddexp)


def _raw(x: Any) -> float:
    raw: float = x.data if hasattr(x, "data") else x
    return raw


class VALUE:
    """Value nodes: every function records an op, so derivatives are differentiable."""

    exp = staticmethod(lambda x: x.exp())
    log = staticmethod(lambda x: x.log())
    sqrt = staticmethod(lambda x: x.sqrt())
    tanh = staticmethod(lambda x: x.tanh())
    sigmoid = staticmethod(lambda x: x.sigmoid())
    softplus = staticmethod(lambda x: x.softplus())
    relu = staticmethod(lambda x: x.relu())
    abs = staticmethod(lambda x: abs(x))
    sin = staticmethod(lambda x: x.sin())
    cos = staticmethod(lambda x: x.cos())
    # step and sign are piecewise constant: their derivative is 0, so a float suffices.
    step = staticmethod(lambda x: _float_step(_raw(x)))
    sign = staticmethod(lambda x: _float_sign(_raw(x)))
    div = staticmethod(lambda a, b: a / b)
    pow = staticmethod(lambda a, b: a**b)
    where = staticmethod(_where)
    data = staticmethod(_raw)
    sinh = staticmethod(lambda x: x.sinh())
    cosh = staticmethod(lambda x: x.cosh())
    erf = staticmethod(lambda x: x.erf())
    # Piecewise constant: zero derivative, so the raw float is the whole story.
    floordiv = staticmethod(lambda a, b: _float_floordiv(_raw(a), _raw(b)))
    truncdiv = staticmethod(lambda a, b: _float_truncdiv(_raw(a), _raw(b)))


def _np_sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    out: np.ndarray = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out


def _np_softplus(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))
    return out


def _np_pow(a: np.ndarray, b: Any) -> np.ndarray:
    # numpy evaluates x**0.5 as sqrt(x), reading (-inf)**0.5 as nan and (-0)**0.5 as -0;
    # C99 pow (the FLOAT backend) says +inf and +0.
    out = np.power(a, b)
    half = b == 0.5
    return np.where(half & (a == -np.inf), np.inf, np.where(half & (a == 0.0), 0.0, out))


def _np_remainder(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    mod = np.fmod(a, b)
    out: np.ndarray = np.where((mod != 0) & ((b < 0) != (mod < 0)), mod + b, mod)
    return out


def _np_floordiv(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # _float_floordiv, elementwise.
    mod = np.fmod(a, b)
    div = (a - mod) / b - ((mod != 0) & ((b < 0) != (mod < 0)))
    q = np.floor(div)
    q = np.where(div - q > 0.5, q + 1.0, q)
    q = np.where(div == 0, np.copysign(0.0, np.divide(a, b)), q)
    out: np.ndarray = np.where(b == 0, np.divide(a, b), q)
    return out


def _np_signed_zero(r: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.where(r == 0, np.copysign(0.0, x), r)


_np_erf = np.vectorize(math.erf, otypes=[np.float64])


class NUMPY:
    """float64 arrays, elementwise; callers silence numpy's IEEE warnings (np.errstate)."""

    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sqrt = staticmethod(np.sqrt)
    tanh = staticmethod(np.tanh)
    sigmoid = staticmethod(_np_sigmoid)
    softplus = staticmethod(_np_softplus)
    relu = staticmethod(lambda x: np.maximum(x, 0.0))
    step = staticmethod(lambda x: np.where(x <= 0, 0.0, 1.0))
    sign = staticmethod(lambda x: np.where(x > 0, 1.0, np.where(x < 0, -1.0, 0.0)))
    abs = staticmethod(np.abs)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    div = staticmethod(np.divide)
    pow = staticmethod(_np_pow)
    where = staticmethod(np.where)
    data = staticmethod(_identity)
    tan = staticmethod(np.tan)
    sinh = staticmethod(np.sinh)
    cosh = staticmethod(np.cosh)
    asin = staticmethod(np.arcsin)
    acos = staticmethod(np.arccos)
    atan = staticmethod(np.arctan)
    asinh = staticmethod(np.arcsinh)
    acosh = staticmethod(np.arccosh)
    atanh = staticmethod(np.arctanh)
    atan2 = staticmethod(np.arctan2)
    hypot = staticmethod(np.hypot)
    log2 = staticmethod(np.log2)
    log10 = staticmethod(np.log10)
    log1p = staticmethod(np.log1p)
    expm1 = staticmethod(np.expm1)
    exp2 = staticmethod(np.exp2)
    erf = staticmethod(_np_erf)
    floor = staticmethod(lambda x: _np_signed_zero(np.floor(x), x))
    ceil = staticmethod(lambda x: _np_signed_zero(np.ceil(x), x))
    round = staticmethod(lambda x: _np_signed_zero(np.rint(x), x))
    fmod = staticmethod(np.fmod)
    remainder = staticmethod(_np_remainder)
    floordiv = staticmethod(_np_floordiv)
    truncdiv = staticmethod(lambda a, b: np.trunc(np.divide(a, b)))
    maximum = staticmethod(np.maximum)
    minimum = staticmethod(np.minimum)
    logaddexp = staticmethod(np.logaddexp)
