"""Inference helpers: model outputs as numpy arrays, and classification accuracy."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from autograd_core import no_grad, to_float

from .module import Module, as_batch, is_batch

__all__ = ["predict", "accuracy", "outputs_to_array", "accuracy_from_scores"]


def outputs_to_array(outputs: list[Any]) -> np.ndarray:
    """A batch of outputs (Values, or lists of Values) as floats: shape (n,) or (n, k)."""
    rows = [[to_float(v) for v in o] if isinstance(o, (list, tuple)) else to_float(o) for o in outputs]
    return np.asarray(rows, dtype=np.float64)


def _numeric_batch(X: Any) -> np.ndarray | None:
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if arr.ndim == 1:
        arr = arr[None, :]
    return arr if arr.ndim == 2 and arr.shape[0] > 0 else None


def predict(model: Module, X: Any) -> np.ndarray:
    """The model's outputs on a batch ``X`` as floats: shape (n,) for one output, (n, k) for k.

    Runs in the model's current mode and leaves the model as it found it: a training-mode
    batch norm normalises with the batch's statistics and its running statistics stay as they
    were. A single sample (1-D) is treated as a batch of one (which a training-mode batch-norm
    model rejects with an error saying to call ``.eval()``).

    Models made of the built-in layers (``MLP``, ``Sequential`` of ``Layer``, ``Neuron``,
    ``BatchNorm1d``, ``Activation``) run batched, each layer one matrix product
    (:mod:`nn.compiled`), agreeing with the per-sample graphs to ~1e-16 relative; any other
    module runs one graph per sample under ``no_grad``.
    """
    if not isinstance(model, Module):
        raise TypeError(f"predict expects an nn.Module, got {type(model).__name__}")
    arr = _numeric_batch(X)
    if arr is not None:
        from .compiled import predict_array

        out = predict_array(model, arr)
        if out is not None:
            return out
    batch = as_batch(X) if is_batch(X) else [X]
    saved = [(m, {name: copy.deepcopy(getattr(m, name)) for name in m.buffer_names})
             for m in model.modules() if m.buffer_names]
    try:
        with no_grad():
            outputs = model(batch)
    finally:
        for m, buffers in saved:
            for name, value in buffers.items():
                setattr(m, name, value)
    return outputs_to_array(outputs)


def accuracy_from_scores(scores: np.ndarray, y: Any) -> float:
    """Fraction classified right: sign of the score for one output (label > 0 means the positive
    class, so {0, 1} and {−1, +1} labels both work), argmax for several outputs."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(scores):
        raise ValueError(f"labels must be 1-D with one label per sample ({len(scores)}), got shape {y.shape}")
    if not len(y):
        return float("nan")
    if scores.ndim == 1:
        return float(np.mean((scores > 0) == (y > 0)))
    return float(np.mean(np.argmax(scores, axis=1) == y))


def accuracy(model: Module, X: Any, y: Any) -> float:
    """Classification accuracy of ``model`` on ``X`` against labels ``y`` (see :func:`accuracy_from_scores`)."""
    return accuracy_from_scores(predict(model, X), y)


