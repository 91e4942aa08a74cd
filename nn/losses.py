"""Loss functions C(prediction, target), built from Value ops so ``C.backward()`` gives ∂C/∂w.

Each matches ``torch.nn.functional`` (same name, arguments and ``reduction``) in value and
gradient. The softmax family subtracts the row maximum m first — a constant, so
∂/∂z of the result is unchanged — which keeps eᶻ⁻ᵐ ≤ 1 and the losses finite for any logits:

    log_softmax(z)ⱼ = (zⱼ − m) − log Σₖ e^(zₖ − m)

Predictions may be Values or numbers, one sample's list or a batch (list of lists, numpy
arrays); a shape mismatch or an impossible target is a ``ValueError`` naming it, and so is a
number beyond the float range (an int label like 10**400) and a ``cross_entropy`` with one
logit per row (it needs one output per class). Infinite inputs give torch's inf or nan.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass
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
    "Loss",
    "LOSSES",
]

_REDUCTIONS = ("mean", "sum", "none")


def _is_scalar(x: Any) -> bool:
    return isinstance(x, (Value, numbers.Real, np.number)) and not isinstance(x, np.ndarray)


def _describe(x: Any) -> str:
    """A short text for a number in an error message (a huge int is not printed in full)."""
    if isinstance(x, int) and not isinstance(x, bool) and x.bit_length() > 64:
        if x.bit_length() > 14_000:  # str() refuses ints over 4,300 digits
            return f"an int of {x.bit_length():,} bits"
        digits = str(abs(x))
        return f"{'-' if x < 0 else ''}{digits[:12]}… ({len(digits)} digits)"
    return f"{x!r:.60}"


def _real(x: Any, what: str) -> float:
    """The float of a Value or a number; a number beyond the float range is a ``ValueError`` naming it.

    torch cannot hold such a number in a tensor at all ("Overflow when unpacking long").
    """
    if isinstance(x, Value):
        return x.data
    try:
        return float(x)
    except OverflowError:
        raise ValueError(f"{what} {_describe(x)} is too large for a float (|x| ≤ 1.8e308)") from None


def _value(x: Any, what: str = "input element") -> Value:
    return x if isinstance(x, Value) else Value(_real(x, what))


def _flatten(x: Any, what: str) -> tuple[list[Any], tuple[int, ...]]:
    """Elements of a scalar, 1-D or 2-D input in row order, and its shape."""
    if isinstance(x, np.ndarray):
        if x.ndim > 2:
            raise ValueError(f"{what} must be at most 2-D, got an array of shape {x.shape}")
        try:
            return x.astype(np.float64).ravel().tolist(), x.shape
        except OverflowError:
            raise ValueError(f"{what} holds an integer too large for a float (|x| ≤ 1.8e308)") from None
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


def _reduce(terms: list[Value], reduction: str, denominator: float | None = None) -> Value | list[Value]:
    """"none": the terms; "sum": Σ terms; "mean": Σ terms / denominator (default: how many terms)."""
    if reduction == "none":
        return terms
    total = _sum(terms)
    if reduction == "sum":
        return total
    n = len(terms) if denominator is None else denominator
    # n = 0 (every sample ignored, or all their class weights 0) is 0/0: nan, as in torch.
    return total * (1.0 / n if n else math.nan)


def _sum(terms: Iterable[Value]) -> Value:
    # sum() starts from the int 0, so mypy sees Value | int; every caller sums at least one
    # Value (empty inputs are rejected first), and 0 + Value is a Value.
    return cast(Value, sum(terms))


def _check_reduction(reduction: Any) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {list(_REDUCTIONS)}, got {reduction!r}")


def _float_targets(target: Any, what: str) -> tuple[list[float], tuple[int, ...]]:
    flat, shape = _flatten(target, what)
    return [_real(t, f"{what} element") for t in flat], shape


def _squeeze(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(d for d in shape if d != 1)


def _pair(input: Any, target: Any, fname: str) -> tuple[list[Any], list[Any], tuple[int, ...]]:
    """Input and target elements in row order, and the input's shape."""
    pred, pshape = _flatten(input, f"{fname} input")
    targ, tshape = _flatten(target, f"{fname} target")
    if pshape != tshape and _squeeze(pshape) != _squeeze(tshape):
        raise ValueError(f"{fname}: input of shape {pshape} and target of shape {tshape} do not match")
    if not pred:
        raise ValueError(f"{fname}: got an empty input")
    return pred, targ, pshape


def _weights(x: Any, fname: str, what: str, *, positive: bool = False) -> tuple[list[float], tuple[int, ...]]:
    """The floats of a weight argument and its shape; each must be finite and ≥ 0 (> 0 if ``positive``)."""
    values, shape = _float_targets(x, f"{fname} {what}")
    for w in values:
        if not (math.isfinite(w) and (w > 0 if positive else w >= 0)):
            raise ValueError(f"{fname} {what} must be finite and {'> 0' if positive else '≥ 0'}, got {w!r}")
    return values, shape


def _broadcast(x: Any, shape: tuple[int, ...], fname: str, what: str, *, positive: bool = False) -> list[float]:
    """A weight argument expanded to one float per input element (row order), by torch's broadcasting.

    Like input and target, shapes equal up to size-1 dimensions also match ((n,) for an n×1 input).
    """
    values, wshape = _weights(x, fname, what, positive=positive)
    arr = np.array(values, dtype=np.float64).reshape(wshape)
    if _squeeze(wshape) == _squeeze(shape):
        return arr.ravel().tolist()
    try:
        return np.broadcast_to(arr, shape).ravel().tolist()
    except ValueError:
        raise ValueError(f"{fname} {what} of shape {wshape} does not broadcast to the input's shape {shape}; "
                         "expected a number, one per column or one per element") from None


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Any:
    """C = (1/n) Σᵢ (aᵢ − yᵢ)²; ∂C/∂aᵢ = 2(aᵢ − yᵢ)/n. ``reduction='sum'`` drops the 1/n."""
    _check_reduction(reduction)
    pred, targ, _ = _pair(input, target, "mse_loss")
    ys = [t if isinstance(t, Value) else _real(t, "mse_loss target") for t in targ]
    return _reduce([(_value(p, "mse_loss input") - t) ** 2 for p, t in zip(pred, ys)], reduction)


def hinge_loss(scores: Any, targets: Any, reduction: str = "mean") -> Any:
    """micrograd's max-margin loss: C = (1/n) Σᵢ relu(1 − yᵢ·sᵢ) with targets yᵢ = ±1.

    A sample is free once its score has the right sign with margin 1; otherwise
    ∂C/∂sᵢ = −yᵢ/n. Computed as micrograd does, ``(1 + −yᵢ·sᵢ).relu()``, so the numbers agree.
    """
    _check_reduction(reduction)
    pred, targ, _ = _pair(scores, targets, "hinge_loss")
    ys = [_real(t, "hinge_loss target") for t in targ]
    bad = [y for y in ys if y not in (-1.0, 1.0)]
    if bad:
        raise ValueError(f"hinge_loss targets must be -1 or +1, got {bad[0]!r}; convert {{0, 1}} labels with "
                         "nn.to_pm1(y)")
    return _reduce([(1 + -y * _value(s, "hinge_loss score")).relu() for y, s in zip(ys, pred)], reduction)


def binary_cross_entropy_with_logits(input: Any, target: Any, reduction: str = "mean", *, weight: Any = None,
                                     pos_weight: Any = None) -> Any:
    """C = mean of wᵢ·ℓᵢ, ℓᵢ = −[pᵢ·yᵢ·log σ(zᵢ) + (1 − yᵢ)·log(1 − σ(zᵢ))], for yᵢ ∈ [0, 1].

    ``weight`` (wᵢ ≥ 0, default 1) rescales each element; ``pos_weight`` (pᵢ > 0, default 1)
    weighs the positive part, e.g. p = #negatives / #positives for rare positives. Either is a
    number, one per column of an N×C input, or one per element (torch's broadcasting).
    "mean" divides Σᵢ wᵢℓᵢ by the number of elements, not by Σᵢ wᵢ, as torch does.

    Written with log σ(z) = −softplus(−z) and log(1 − σ(z)) = −z − softplus(−z):

        ℓ = (1 − y)·z + (1 + (p − 1)·y)·softplus(−z),   ∂ℓ/∂z = (1 − y) − (1 + (p − 1)·y)·σ(−z)

    which for p = 1 is softplus(z) − y·z with ∂ℓ/∂z = σ(z) − y (the form used without
    ``pos_weight``). Neither takes log of 0 and σ ∈ [0, 1] bounds the gradient: logit −1000
    with target 1 gives loss 1000·p and ∂C/∂z = −p.
    """
    fname = "binary_cross_entropy_with_logits"
    _check_reduction(reduction)
    pred, targ, shape = _pair(input, target, fname)
    ys = [_real(t, f"{fname} target") for t in targ]
    bad = [y for y in ys if not 0.0 <= y <= 1.0]
    if bad:
        raise ValueError(f"binary_cross_entropy_with_logits targets must be in [0, 1], got {bad[0]!r}")
    ws = None if weight is None else _broadcast(weight, shape, fname, "weight")
    ps = None if pos_weight is None else _broadcast(pos_weight, shape, fname, "pos_weight", positive=True)
    terms = []
    for i, (z, y) in enumerate(zip(pred, ys)):
        z = _value(z, f"{fname} input")
        if ps is None:
            term = z.softplus() - z * y
        else:
            term = z * (1.0 - y) + (-z).softplus() * (1.0 + (ps[i] - 1.0) * y)
        terms.append(term if ws is None else term * ws[i])
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
    return [[_value(z, f"{fname} logit") for z in row] for row in rows], single


def _shift_lse(row: list[Value]) -> tuple[list[Value], Value]:
    """sₖ = zₖ − m and log Σₖ e^sₖ, so that log softmax(z)ₖ = sₖ − lse."""
    m = max(z.data for z in row)
    # A row of −inf only has no finite shift (its result is nan either way); a +inf logit is
    # kept, so that its row is nan, as in torch.
    if m == -math.inf:
        m = 0.0
    shifted = [z - m for z in row]
    return shifted, _sum(s.exp() for s in shifted).log()


def _log_softmax_row(row: list[Value]) -> list[Value]:
    shifted, lse = _shift_lse(row)
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
        if m == -math.inf:
            m = 0.0
        e = [(z - m).exp() for z in row]
        total = sum(e)
        out.append([ei / total for ei in e])
    return out[0] if single else out


def _soft_nll(shifted: list[Value], lse: Value, coeffs: list[float]) -> Value:
    """−Σₖ cₖ·log softmax(z)ₖ = Σₖ cₖ·(lse − sₖ) for one row."""
    return _sum((lse - s) * c for s, c in zip(shifted, coeffs))


def _class_target(t: Any, n_classes: int, ignore_index: int) -> int | None:
    """The class of one integer target, or None if it equals ``ignore_index``."""
    t = t.data if isinstance(t, Value) else t
    is_bool = isinstance(t, (bool, np.bool_))
    try:
        tf = float(t)
    except OverflowError:
        raise ValueError(f"cross_entropy targets must be integer classes in [0, {n_classes}), got {_describe(t)}, "
                         "too large even for a float") from None
    if tf == ignore_index and not is_bool:
        return None
    if is_bool or not tf.is_integer() or not 0 <= tf < n_classes:
        raise ValueError(f"cross_entropy targets must be integer classes in [0, {n_classes}), got {t!r}")
    return int(tf)


def cross_entropy(input: Any, target: Any, reduction: str = "mean", *, weight: Any = None, ignore_index: int = -100,
                  label_smoothing: float = 0.0) -> Any:
    """C = mean over samples of −log softmax(zᵢ)[tᵢ] = log Σₖ e^(zᵢₖ − m) − (zᵢₜ − m).

    ``input`` is N×C logits (or one row of C), ``target`` N integer classes in [0, C) (or one
    int). ∂C/∂zᵢₖ = (softmax(zᵢ)ₖ − [k = tᵢ])/N, finite for any logits.

    Options, as in ``torch.nn.functional.cross_entropy``, with log pᵢₖ = log softmax(zᵢ)ₖ, ε the
    ``label_smoothing`` in [0, 1] and wₖ ≥ 0 the class ``weight`` (default 1):

        ℓᵢ = (1 − ε)·w_tᵢ·(−log pᵢₜᵢ) + (ε/C)·Σₖ wₖ·(−log pᵢₖ)

    (the one-hot target mixed with the uniform 1/C, each class term weighted by its wₖ), and
    "mean" is Σᵢ ℓᵢ / Σᵢ w_tᵢ — the weights of the samples' own classes, not N. A sample whose
    target equals ``ignore_index`` has ℓᵢ = 0 and leaves the denominator; if all are ignored
    "mean" is nan. With cᵢₖ the coefficient of −log pᵢₖ in ℓᵢ, ∂ℓᵢ/∂zᵢₖ = (Σⱼ cᵢⱼ)·pᵢₖ − cᵢₖ:
    still finite for any logits.

    Probability targets: a ``target`` of N×C class probabilities qᵢₖ ∈ [0, 1] (or one row of
    C for one row of logits) gives ℓᵢ = −Σₖ wₖ·q′ᵢₖ·log pᵢₖ with q′ = (1 − ε)·q + ε/C, and
    "mean" divides by N. ``ignore_index`` cannot name a class there, so it must be negative.
    """
    _check_reduction(reduction)
    rows, single = _rows(input, "cross_entropy")
    n, n_classes = len(rows), len(rows[0])
    eps, w = _cross_entropy_options(n, n_classes, weight, ignore_index, label_smoothing)
    if single and _is_scalar(target):
        target = [target]
    tflat, tshape = _flatten(target, "cross_entropy target")
    if tshape == (n, n_classes) or (single and tshape == (n_classes,)):
        if _integer_typed(target, tflat):
            raise ValueError(_integer_probabilities_message(tshape, n, n_classes, single))
        return _reduce(_probability_terms(rows, tflat, w, eps, ignore_index), reduction)
    if len(tshape) == 2 and tshape[0] == n and tshape[1] != 1:  # (n, 1) reads as a column of classes, below
        raise ValueError(f"cross_entropy: probability targets need one row of {n_classes} per row of logits "
                         f"(shape ({n}, {n_classes})), got target of shape {tshape}")
    if len(tshape) != 1 or tshape[0] != n:
        raise ValueError(f"cross_entropy: {n} rows of logits need {n} integer class targets, got "
                         f"target of shape {tshape}")
    terms, denominator = _class_terms(rows, tflat, w, weight is not None, eps, ignore_index)
    # Without weights or ignored samples the denominator is N: keep the plain mean, 1/N.
    plain = weight is None and denominator == n
    return _reduce(terms, reduction, None if plain else denominator)


def _cross_entropy_options(n: int, n_classes: int, weight: Any, ignore_index: int,
                           label_smoothing: float) -> tuple[float, list[float]]:
    """cross_entropy's checked ε (``label_smoothing``) and class weights wₖ (1 without ``weight``)."""
    if n_classes < 2:
        # torch returns 0 here (softmax of one logit is 1), which trains nothing: a one-output model
        # fed to cross_entropy is a mistake, the same one compiled mode reports.
        raise ValueError(f"cross_entropy needs logits for at least 2 classes (N×C with C ≥ 2, one output per class), "
                         f"got {n} row{'s' if n != 1 else ''} of 1 logit; for one output per sample use "
                         "binary_cross_entropy_with_logits ('bce') or hinge_loss")
    if isinstance(ignore_index, (bool, np.bool_)) or not isinstance(ignore_index, numbers.Integral):
        raise TypeError(f"cross_entropy ignore_index must be an int, got {ignore_index!r}")
    if isinstance(label_smoothing, (bool, np.bool_)) or not isinstance(label_smoothing, numbers.Real):
        raise TypeError(f"cross_entropy label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy label_smoothing must be in [0, 1], got {label_smoothing!r}")
    if weight is None:
        return float(label_smoothing), [1.0] * n_classes
    w, wshape = _weights(weight, "cross_entropy", "weight")
    if wshape != (n_classes,):
        raise ValueError(f"cross_entropy weight must have one entry per class ({n_classes}), got shape {wshape}")
    return float(label_smoothing), w


def _class_terms(rows: list[list[Value]], tflat: list[Any], w: list[float], weighted: bool, eps: float,
                 ignore_index: int) -> tuple[list[Value], float]:
    """cross_entropy's ℓᵢ for integer class targets tᵢ (see there), and Σᵢ w_tᵢ over the samples kept.

    Without class weights (``weighted`` false, every wₖ = 1) no ·w_tᵢ node is recorded.
    """
    n_classes = len(rows[0])
    terms = []
    denominator = 0.0
    for row, t in zip(rows, tflat):
        k = _class_target(t, n_classes, ignore_index)
        if k is None:
            terms.append(Value(0.0))  # reduction="none" reports 0, the sum is unchanged
            continue
        shifted, lse = _shift_lse(row)
        term = lse - shifted[k]
        if weighted:
            term = term * w[k]
        if eps:
            term = term * (1.0 - eps) + _soft_nll(shifted, lse, w) * (eps / n_classes)
        terms.append(term)
        denominator += w[k]
    return terms, denominator


def _integer_typed(target: Any, flat: list[Any]) -> bool:
    """Whether a target is integers (an int array, or Python/numpy ints): torch's dtype for class indices."""
    if isinstance(target, np.ndarray):
        return target.dtype.kind in "iu"
    return all(isinstance(t, (int, np.integer)) and not isinstance(t, (bool, np.bool_)) for t in flat)


def _integer_probabilities_message(tshape: tuple[int, ...], n: int, n_classes: int, single: bool) -> str:
    what = f"one row of {n_classes} logits" if single else f"{n}×{n_classes} logits"
    hint = (f" (a model with one output per sample gives one row of {n_classes} logits for a batch of "
            f"{n_classes}: cross_entropy needs one output per class, at least 2; use 'bce' for one logit "
            "per sample)") if single else ""
    return (f"cross_entropy: an integer target of shape {tshape} for {what}; integer targets are class "
            "indices (one per row of logits) and class probabilities must be floats, as in torch" + hint)


def _probability_terms(rows: list[list[Value]], tflat: list[Any], w: list[float], eps: float,
                       ignore_index: int) -> list[Value]:
    """cross_entropy's ℓᵢ = −Σₖ wₖ·q′ᵢₖ·log pᵢₖ for rows of class probabilities qᵢ (see there)."""
    if ignore_index >= 0:
        raise ValueError(f"cross_entropy: ignore_index={ignore_index} is not supported with probability targets "
                         "(it would name a class); leave it at its default")
    n_classes = len(rows[0])
    q = [_real(t, "cross_entropy probability target") for t in tflat]
    bad = [x for x in q if not 0.0 <= x <= 1.0]
    if bad:
        raise ValueError(f"cross_entropy probability targets must be in [0, 1], got {bad[0]!r}")
    terms = []
    for i, row in enumerate(rows):
        smoothed = [(1.0 - eps) * qk + eps / n_classes for qk in q[i * n_classes:(i + 1) * n_classes]]
        shifted, lse = _shift_lse(row)
        terms.append(_soft_nll(shifted, lse, [wk * qk for wk, qk in zip(w, smoothed)]))
    return terms


# -- the loss table ------------------------------------------------------------------------
# One entry per named loss, read by fit (eager and compiled), nn.compiled and the CLI: the
# eager Value form, how class labels become targets, and the batch form on numpy arrays
# (outputs O of shape (n, k)) giving C and ∂C/∂O with the same formula.


def _pm1_targets(y: np.ndarray, name: str, strict: bool) -> np.ndarray:
    """{0, 1} labels → targets ±1; ±1 stay; anything else is refused (hinge) or kept (mse)."""
    t = np.asarray(y, dtype=np.float64)
    zero_one = bool(((t == 0.0) | (t == 1.0)).all())
    if zero_one:
        return 2.0 * t - 1.0
    if strict and not ((t == 1.0) | (t == -1.0)).all():
        values = sorted(set(np.unique(t).tolist()))[:5]
        raise ValueError(f"{name} loss needs labels in {{0, 1}} or {{-1, +1}}, got {values}")
    return t


def _bce_targets(y: np.ndarray) -> np.ndarray:
    t = np.asarray(y, dtype=np.float64)
    if not ((t >= 0.0) & (t <= 1.0)).all():
        raise ValueError("bce targets must be in [0, 1]")
    return t


def _class_targets(y: np.ndarray) -> np.ndarray:
    t = np.asarray(y)
    with np.errstate(all="ignore"):
        tf = t.astype(np.float64)
        ok = bool(np.isfinite(tf).all() and (tf == np.round(tf)).all() and (tf >= 0).all())
    if t.dtype == object or not ok or not (tf < 2.0**62).all():
        raise ValueError("cross_entropy needs integer class labels ≥ 0")
    return tf.astype(np.int64)


def _hinge_batch(O: np.ndarray, T: np.ndarray) -> tuple[float, np.ndarray]:
    """C = mean relu(1 − t·s); ∂C/∂s = −t/N where the margin 1 − t·s > 0 (N = n·k)."""
    margin = 1.0 - T * O
    N = O.size
    d = -T / N
    d[margin <= 0.0] = 0.0
    return float(np.maximum(margin, 0.0).sum() / N), d


def _mse_batch(O: np.ndarray, T: np.ndarray) -> tuple[float, np.ndarray]:
    """C = mean (a − y)²; ∂C/∂a = 2(a − y)/N."""
    diff = O - T
    N = O.size
    return float((diff * diff).sum() / N), diff * (2.0 / N)


def _bce_batch(O: np.ndarray, T: np.ndarray) -> tuple[float, np.ndarray]:
    """C = mean softplus(z) − y·z; ∂C/∂z = (σ(z) − y)/N, both computed without overflow."""
    e = np.exp(-np.abs(O))
    softplus = np.maximum(O, 0.0) + np.log1p(e)
    sigmoid = np.where(O >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))
    N = O.size
    return float((softplus - O * T).sum() / N), (sigmoid - T) / N


def _cross_entropy_batch(O: np.ndarray, T: np.ndarray) -> tuple[float, np.ndarray]:
    """C = mean over rows of log Σₖ e^(zₖ − m) − (z_t − m); ∂C/∂zₖ = (softmax(z)ₖ − [k = t])/n."""
    n, c = O.shape
    if T.shape != (n,):
        raise ValueError(f"cross_entropy: {n} rows of logits need {n} integer class targets, got shape {T.shape}")
    if n and not ((T >= 0).all() and (T < c).all()):
        raise ValueError(f"cross_entropy targets must be integer classes in [0, {c})")
    m = O.max(axis=1, keepdims=True)
    m[np.isinf(m)] = 0.0
    e = np.exp(O - m)
    sums = e.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    per_sample = np.log(sums[:, 0]) - (O[rows, T] - m[:, 0])
    grad = e / sums
    grad[rows, T] -= 1.0
    return float(per_sample.mean()), grad / n


@dataclass(frozen=True)
class Loss:
    """A named loss: ``eager(outputs, targets)`` gives a Value, ``batch(O, T)`` gives ``(C, ∂C/∂O)``.

    ``targets(labels)`` turns class labels into what both forms take (hinge: {0, 1} → ±1).
    ``per_class`` losses need one output per class (at least 2 columns).
    """

    name: str
    eager: Callable[..., Any]
    targets: Callable[[np.ndarray], np.ndarray]
    batch: Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]
    per_class: bool = False

    def check_outputs(self, n_outputs: int) -> None:
        """Raise ``ValueError`` if a model with ``n_outputs`` outputs per sample cannot use this loss."""
        if self.per_class and n_outputs < 2:
            raise ValueError(f"{self.name} needs a model with one output per class (at least 2), "
                             f"got {n_outputs} output")


LOSSES: dict[str, Loss] = {
    "hinge": Loss("hinge", hinge_loss, lambda y: _pm1_targets(y, "hinge", True), _hinge_batch),
    "mse": Loss("mse", mse_loss, lambda y: _pm1_targets(y, "mse", False), _mse_batch),
    "bce": Loss("bce", binary_cross_entropy_with_logits, _bce_targets, _bce_batch),
    "cross_entropy": Loss("cross_entropy", cross_entropy, _class_targets, _cross_entropy_batch, per_class=True),
}
