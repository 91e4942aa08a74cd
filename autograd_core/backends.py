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


def _raw(x: Any) -> float:
    return x.data if hasattr(x, "data") else x


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


def _np_sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _np_softplus(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _np_pow(a: np.ndarray, b: Any) -> np.ndarray:
    # numpy evaluates x**0.5 as sqrt(x), reading (-inf)**0.5 as nan and (-0)**0.5 as -0;
    # C99 pow (the FLOAT backend) says +inf and +0.
    out = np.power(a, b)
    half = b == 0.5
    return np.where(half & (a == -np.inf), np.inf, np.where(half & (a == 0.0), 0.0, out))


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
