"""Loss functions C(prediction, target), built from Value ops so ``C.backward()`` gives ∂C/∂w.

Each matches ``torch.nn.functional`` (same name, arguments and ``reduction``) in value and
gradient. The softmax family subtracts the row maximum m first — a constant, so
∂/∂z of the result is unchanged — which keeps eᶻ⁻ᵐ ≤ 1 and the losses finite for any logits:

    log_softmax(z)ⱼ = (zⱼ − m) − log Σₖ e^(zₖ − m)

Predictions may be Values or numbers, one sample's list or a batch (list of lists, numpy
arrays); a shape mismatch or an impossible target is a ``ValueError`` naming it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any, cast

import numpy as np

from autograd_core import Value

__all__ = [
    "mse_loss",
    "hinge_loss",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "softmax",
    "log_softmax",
]

_REDUCTIONS = ("mean", "sum", "none")


def _is_scalar(x: Any) -> bool:
    return isinstance(x, (Value, numbers.Real, np.number)) and not isinstance(x, np.ndarray)


def _value(x: Any) -> Value:
    return x if isinstance(x, Value) else Value(float(x))


def _flatten(x: Any, what: str) -> tuple[list[Any], tuple[int, ...]]:
    """Elements of a scalar, 1-D or 2-D input in row order, and its shape."""
    if isinstance(x, np.ndarray):
        if x.ndim > 2:
            raise ValueError(f"{what} must be at most 2-D, got an array of shape {x.shape}")
        return x.astype(np.float64).ravel().tolist(), x.shape
    if _is_scalar(x):
        return [x], ()
    if not isinstance(x, (list, tuple)):
        raise TypeError(f"{what} must be a Value, a number, a list of them or a numpy array, got {type(x).__name__}")
    if all(_is_scalar(v) for v in x):
        return list(x), (len(x),)
    rows = [_flatten(r, what) for r in x]
    widths = {shape for _, shape in rows}
    if len(widths) != 1 or len(next(iter(widths))) != 1:
        raise ValueError(f"{what} must be a rectangular list of rows of numbers, got rows of shapes {sorted(widths)}")
    return [v for flat, _ in rows for v in flat], (len(x), *next(iter(widths)))


def _reduce(terms: list[Value], reduction: str) -> Value | list[Value]:
    if reduction == "none":
        return terms
    total = _sum(terms)
    if reduction == "sum":
        return total
    return total * (1.0 / len(terms))


def _sum(terms: Iterable[Value]) -> Value:
    # sum() starts from the int 0, so mypy sees Value | int; every caller sums at least one
    # Value (empty inputs are rejected first), and 0 + Value is a Value.
    return cast(Value, sum(terms))


def _check_reduction(reduction: Any) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {list(_REDUCTIONS)}, got {reduction!r}")


def _float_targets(target: Any, what: str) -> tuple[list[float], tuple[int, ...]]:
    flat, shape = _flatten(target, what)
    values = [t.data if isinstance(t, Value) else float(t) for t in flat]
    return values, shape


def _pair(input: Any, target: Any, fname: str) -> tuple[list[Any], list[Any]]:
    pred, pshape = _flatten(input, f"{fname} input")
    targ, tshape = _flatten(target, f"{fname} target")
    squeeze = lambda s: tuple(d for d in s if d != 1)
    if pshape != tshape and squeeze(pshape) != squeeze(tshape):
        raise ValueError(f"{fname}: input of shape {pshape} and target of shape {tshape} do not match")
    if not pred:
        raise ValueError(f"{fname}: got an empty input")
    return pred, targ


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Any:
    """C = (1/n) Σᵢ (aᵢ − yᵢ)²; ∂C/∂aᵢ = 2(aᵢ − yᵢ)/n. ``reduction='sum'`` drops the 1/n."""
    _check_reduction(reduction)
    pred, targ = _pair(input, target, "mse_loss")
    return _reduce([(_value(p) - t) ** 2 for p, t in zip(pred, targ)], reduction)


def hinge_loss(scores: Any, targets: Any, reduction: str = "mean") -> Any:
    """micrograd's max-margin loss: C = (1/n) Σᵢ relu(1 − yᵢ·sᵢ) with targets yᵢ = ±1.

    A sample is free once its score has the right sign with margin 1; otherwise
    ∂C/∂sᵢ = −yᵢ/n. Computed as micrograd does, ``(1 + −yᵢ·sᵢ).relu()``, so the numbers agree.
    """
    _check_reduction(reduction)
    pred, targ = _pair(scores, targets, "hinge_loss")
    ys = [t.data if isinstance(t, Value) else float(t) for t in targ]
    bad = [y for y in ys if y not in (-1.0, 1.0)]
    if bad:
        raise ValueError(f"hinge_loss targets must be -1 or +1, got {bad[0]!r}; convert {{0, 1}} labels with "
                         "nn.to_pm1(y)")
    return _reduce([(1 + -y * _value(s)).relu() for y, s in zip(ys, pred)], reduction)


def binary_cross_entropy_with_logits(input: Any, target: Any, reduction: str = "mean") -> Any:
    """C = mean of −[y·log σ(z) + (1 − y)·log(1 − σ(z))] = softplus(z) − y·z, for y ∈ [0, 1].

    The softplus form never takes log of 0: logit −1000 with target 1 gives loss 1000 and
    ∂C/∂z = σ(z) − y = −1.
    """
    _check_reduction(reduction)
    pred, targ = _pair(input, target, "binary_cross_entropy_with_logits")
    ys = [t.data if isinstance(t, Value) else float(t) for t in targ]
    bad = [y for y in ys if not 0.0 <= y <= 1.0]
    if bad:
        raise ValueError(f"binary_cross_entropy_with_logits targets must be in [0, 1], got {bad[0]!r}")
    terms = []
    for z, y in zip(pred, ys):
        z = _value(z)
        terms.append(z.softplus() - z * y)
    return _reduce(terms, reduction)


def _rows(logits: Any, fname: str) -> tuple[list[list[Value]], bool]:
    flat, shape = _flatten(logits, f"{fname} input")
    if len(shape) == 1:
        rows, single = [flat], True
    elif len(shape) == 2:
        rows, single = [flat[i * shape[1]:(i + 1) * shape[1]] for i in range(shape[0])], False
    else:
        raise ValueError(f"{fname} expects a row of logits or an N×C batch of rows, got shape {shape}")
    if not rows or not rows[0]:
        raise ValueError(f"{fname}: got an empty input")
    return [[_value(z) for z in row] for row in rows], single


def _log_softmax_row(row: list[Value]) -> list[Value]:
    m = max(z.data for z in row)
    if math.isinf(m):
        m = 0.0
    shifted = [z - m for z in row]
    lse = _sum(s.exp() for s in shifted).log()
    return [s - lse for s in shifted]


def log_softmax(input: Any, dim: int = -1) -> list[Any]:
    """log σ(z)ⱼ = zⱼ − log Σₖ e^zₖ over each row (one row, or an N×C batch row by row)."""
    if dim not in (-1, 1) and not (dim == 0 and isinstance(input, list) and input and _is_scalar(input[0])):
        raise ValueError(f"log_softmax works over the last dimension (dim=-1), got dim={dim!r}")
    rows, single = _rows(input, "log_softmax")
    out = [_log_softmax_row(r) for r in rows]
    return out[0] if single else out


def softmax(input: Any, dim: int = -1) -> list[Any]:
    """σ(z)ⱼ = e^(zⱼ−m) / Σₖ e^(zₖ−m) over each row; rows sum to 1."""
    if dim not in (-1, 1) and not (dim == 0 and isinstance(input, list) and input and _is_scalar(input[0])):
        raise ValueError(f"softmax works over the last dimension (dim=-1), got dim={dim!r}")
    rows, single = _rows(input, "softmax")
    out = []
    for row in rows:
        m = max(z.data for z in row)
        if math.isinf(m):
            m = 0.0
        e = [(z - m).exp() for z in row]
        total = sum(e)
        out.append([ei / total for ei in e])
    return out[0] if single else out


def cross_entropy(input: Any, target: Any, reduction: str = "mean") -> Any:
    """C = mean over samples of −log softmax(zᵢ)[tᵢ] = log Σₖ e^(zᵢₖ − m) − (zᵢₜ − m).

    ``input`` is N×C logits (or one row of C), ``target`` N integer classes in [0, C) (or one
    int). ∂C/∂zᵢₖ = (softmax(zᵢ)ₖ − [k = tᵢ])/N, finite for any logits.
    """
    _check_reduction(reduction)
    rows, single = _rows(input, "cross_entropy")
    if single and _is_scalar(target):
        target = [target]
    tflat, tshape = _flatten(target, "cross_entropy target")
    if len(tshape) != 1 or tshape[0] != len(rows):
        raise ValueError(f"cross_entropy: {len(rows)} rows of logits need {len(rows)} integer class targets, got "
                         f"target of shape {tshape}")
    n_classes = len(rows[0])
    terms = []
    for row, t in zip(rows, tflat):
        t = t.data if isinstance(t, Value) else t
        tf = float(t)
        if isinstance(t, (bool, np.bool_)) or not tf.is_integer() or not 0 <= tf < n_classes:
            raise ValueError(f"cross_entropy targets must be integer classes in [0, {n_classes}), got {t!r}")
        m = max(z.data for z in row)
        if math.isinf(m):
            m = 0.0
        shifted = [z - m for z in row]
        terms.append(_sum(s.exp() for s in shifted).log() - shifted[int(tf)])
    return _reduce(terms, reduction)
