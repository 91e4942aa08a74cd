"""Compiled training steps: a model's loss and gradients over a whole batch, with numpy.

``compiled_loss(model, loss, X, y)`` gives the same mean loss C and the same ∂C/∂w as building
one graph per sample and calling ``backward()`` — the eager way — but traces the model once
(:func:`autograd_core.compile`) and then runs the recorded program on the whole batch: each
layer a = σ(W·x + b) becomes one matrix product and one elementwise call. The trace is cached
on the model and reused until its parameter list changes; parameters are read afresh on every
call, so optimizers that update ``p.data`` in place work unchanged.

Losses, as in :mod:`nn.losses` with ``reduction='mean'`` over all n·k elements:

* ``"hinge"``:  relu(1 − y·s) with y = ±1 (labels {0, 1} are mapped by y ↦ 2y − 1)
* ``"mse"``:    (a − y)²
* ``"bce"``:    softplus(z) − y·z  (binary cross-entropy with logits, y ∈ [0, 1])
* ``"cross_entropy"``: log Σₖ e^zₖ − z_t per sample, with integer classes t (mean over n)

The first three are traced together with the model, labels entering as extra inputs. Cross-
entropy needs each row's maximum m to stay finite (log Σ e^(z−m) + m), a data-dependent
choice a trace would freeze, so the model is traced alone and the softmax head runs in numpy:
∂C/∂zₖ = (softmax(z)ₖ − [k = t])/n.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from operator import is_
from typing import Any

import numpy as np

from autograd_core import Value
from autograd_core.compile import CompiledFunction, compile

from .batchnorm import BatchNorm1d
from .module import Module

__all__ = ["compiled_loss", "LOSSES"]

LOSSES = ("hinge", "mse", "bce", "cross_entropy")

# model -> {(loss, n_features, n_label_columns): (model snapshot at trace time, compiled function)}; weak, so a
# dropped model frees its traces, and nothing unpicklable is stored on the model itself.
_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], tuple[Any, CompiledFunction]]] = (
    weakref.WeakKeyDictionary()
)


def compiled_loss(model: Any, loss: str, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean loss over the batch; ADDS ∂loss/∂p into every parameter's ``.grad``.

    ``X`` is ``(n, n_features)``; ``y`` holds one target per output (``(n,)`` or ``(n, k)``),
    or integer classes ``(n,)`` for cross-entropy. Returns ``(loss, outputs)`` with outputs
    ``(n,)`` for a one-output model, else ``(n, k)``. Raises ``ValueError`` for an unknown loss,
    mismatched shapes, bad targets, and models with batch norm (batch statistics tie the
    samples together, so one sample's graph is not the program).
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {list(LOSSES)}, got {loss!r}")
    X = _features(X)
    n = X.shape[0]
    if n == 0:
        raise ValueError("compiled_loss needs at least one sample, got an empty batch")
    if loss == "cross_entropy":
        f = _compiled(model, loss, X.shape[1], 0)
        logits = f(X)
        if logits.ndim == 1:
            raise ValueError("cross_entropy needs a model with one output per class (at least 2), got 1 output")
        value, dlogits = _cross_entropy(logits, y)
        f.backward(X, dlogits)
        return value, logits
    targets = _targets(loss, y, n)
    k = targets.shape[1]
    f = _compiled(model, loss, X.shape[1], k)
    upstream = np.zeros((n, 1 + k))
    upstream[:, 0] = 1.0 / (n * k)
    out = f.backward(np.hstack([X, targets]), upstream)
    outputs = out[:, 1:]
    return float(out[:, 0].sum() / (n * k)), (outputs[:, 0] if k == 1 else outputs)


def _reject_batch_norm(model: Any) -> None:
    modules = model.modules() if isinstance(model, Module) else []
    if any(isinstance(m, BatchNorm1d) for m in modules):
        raise ValueError(
            "a model with BatchNorm1d cannot be compiled: its output for one sample depends on the whole "
            "batch (μ and σ² over the batch), so one sample's trace is not the program; train it eagerly "
            "(compiled=False)"
        )


def _features(X: Any) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be a batch of shape (n, n_features), got an array of shape {X.shape}")
    return X


def _targets(loss: str, y: Any, n: int) -> np.ndarray:
    t = np.asarray(y, dtype=np.float64)
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2 or t.shape[0] != n:
        raise ValueError(f"{loss}: {n} samples need targets of shape ({n},) or ({n}, k), got {np.shape(y)}")
    if loss == "hinge" and not ((t == 1.0) | (t == -1.0)).all():
        if not ((t == 0.0) | (t == 1.0)).all():
            raise ValueError(f"hinge targets must be ±1 or {{0, 1}} labels, got {sorted(set(t.ravel().tolist()))[:5]}")
        t = 2.0 * t - 1.0
    if loss == "bce" and not ((t >= 0.0) & (t <= 1.0)).all():
        raise ValueError("bce targets must be in [0, 1]")
    return t


def _per_sample(loss: str, k: int) -> Callable[[Any, list[Value]], Value]:
    # One sample's loss Σⱼ term(outⱼ, yⱼ), written with the same ops as nn.losses.
    def hinge(s: Any, y: Value) -> Value:
        return (1 + -y * s).relu()

    def mse(a: Any, y: Value) -> Value:
        return (a - y) ** 2

    def bce(z: Any, y: Value) -> Value:
        z = z if isinstance(z, Value) else Value(z)
        return z.softplus() - z * y

    term = {"hinge": hinge, "mse": mse, "bce": bce}[loss]

    def total(out: Any, ys: list[Value]) -> Value:
        outs = out if isinstance(out, list) else [out]
        if len(outs) != k:
            raise ValueError(f"{loss}: the model gives {len(outs)} outputs per sample but the targets have {k}")
        result = term(outs[0], ys[0])
        for o, t in zip(outs[1:], ys[1:]):
            result = result + term(o, t)
        return result

    return total


def _compiled(model: Any, loss: str, nin: int, k: int) -> CompiledFunction:
    key = (loss, nin, k)
    entry = _CACHE.setdefault(model, {}).get(key)
    if entry is not None and _unchanged(model, entry[0]):
        return entry[1]
    fingerprint: Any = _Snapshot(model) if isinstance(model, Module) else list(model.parameters())
    _reject_batch_norm(model)
    params = list(model.parameters())
    ref = weakref.ref(model)
    if loss == "cross_entropy":
        def fn(v: list[Value]) -> Any:
            return ref()(v)  # type: ignore[misc]

        f = compile(fn, nin, params)
    else:
        per_sample = _per_sample(loss, k)

        def fn(v: list[Value]) -> Any:
            out = ref()(v[:nin])  # type: ignore[misc]
            outs = out if isinstance(out, list) else [out]
            return [per_sample(out, v[nin:]), *outs]

        f = compile(fn, nin + k, params)
    _CACHE[model][key] = (fingerprint, f)
    return f


class _Snapshot:
    """The module tree's attributes at trace time, to tell cheaply whether it changed since.

    Holds, for every module, its attribute values and the items of its list attributes. If
    any of them is no longer the identical object (a parameter replaced, a layer appended,
    ``train()``/``eval()`` called), the model is traced again. Identity comparisons run in C,
    so this costs a fraction of ``parameters()``.
    """

    def __init__(self, model: Any) -> None:
        self.entries: list[tuple[Any, list[Any], list[tuple[list[Any], list[Any]]]]] = []
        self._add(model, root=True)

    def _add(self, module: Any, root: bool = False) -> None:
        values = list(vars(module).values())
        lists = [(v, list(v)) for v in values if type(v) is list]
        # The root is the cache's weak key: holding it here would keep the model alive forever.
        self.entries.append((None if root else module, values, lists))
        for v in values:
            for item in (v if type(v) in (list, tuple) else (v,)):
                if isinstance(item, Module):
                    self._add(item)

    def matches(self, model: Any) -> bool:
        for module, values, lists in self.entries:
            now = list(vars(model if module is None else module).values())
            if len(now) != len(values) or not all(map(is_, now, values)):
                return False
            for current, saved in lists:
                if len(current) != len(saved) or not all(map(is_, current, saved)):
                    return False
        return True


def _unchanged(model: Any, fingerprint: Any) -> bool:
    if isinstance(fingerprint, _Snapshot):
        return fingerprint.matches(model)
    params = list(model.parameters())
    return len(params) == len(fingerprint) and all(map(is_, params, fingerprint))


def _cross_entropy(logits: np.ndarray, y: Any) -> tuple[float, np.ndarray]:
    n, c = logits.shape
    t = np.asarray(y)
    if t.shape != (n,):
        raise ValueError(f"cross_entropy: {n} rows of logits need {n} integer class targets, got shape {t.shape}")
    tf = t.astype(np.float64)
    if not (np.isfinite(tf).all() and (tf == np.round(tf)).all() and (tf >= 0).all() and (tf < c).all()):
        raise ValueError(f"cross_entropy targets must be integer classes in [0, {c})")
    t = tf.astype(np.intp)
    with np.errstate(all="ignore"):
        m = logits.max(axis=1, keepdims=True)
        m = np.where(np.isinf(m), 0.0, m)
        e = np.exp(logits - m)
        sums = e.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        per_sample = np.log(sums[:, 0]) - (logits[rows, t] - m[:, 0])
        grad = e / sums
        grad[rows, t] -= 1.0
    return float(per_sample.mean()), grad / n
