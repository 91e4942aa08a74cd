"""``fit``: the training loop of the seed's gradient descent, with a history to plot.

One step on a batch (X_b, y_b):

    C = data_loss(model(X_b), y_b) + α·Σ w²        (L2 penalty, as micrograd's demo)
    zero every grad;  C.backward()                  (∂C/∂w for every parameter)
    optimizer.step()                                (w ← w − η·∂C/∂w, or momentum, Adam, …)
    scheduler.step()                                (η for the next step)

With the defaults (hinge loss, SGD with η = 1.0 decaying linearly to 0.1, full batch) and
``alpha=1e-4`` it is micrograd's demo, number for number.
"""

from __future__ import annotations

import contextlib
import gc
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograd_core import Value, no_grad

from .layers import Layer, Neuron
from .losses import binary_cross_entropy_with_logits, cross_entropy, hinge_loss, mse_loss
from .lr_scheduler import LinearLR, LRScheduler
from .module import Module
from .optim import SGD, Optimizer
from .predict import accuracy_from_scores, outputs_to_array

__all__ = ["History", "fit", "LOSSES"]

LOSSES: dict[str, Callable[..., Any]] = {
    "hinge": hinge_loss,
    "mse": mse_loss,
    "bce": binary_cross_entropy_with_logits,
    "cross_entropy": cross_entropy,
}


@dataclass
class History:
    """What happened at each step: ``loss`` is the total C (data + L2), ``data_loss`` without L2.

    ``accuracy`` is measured on the step's batch before the update (as micrograd prints it);
    ``val_loss``/``val_accuracy`` on held-out data after the update (NaN when not given);
    ``grad_norms["layers.0"]`` is the mean |∂C/∂w| over that layer's weights, per step.
    """

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    data_loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    grad_norms: dict[str, list[float]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.step)


def _targets(loss: Any, y: np.ndarray) -> np.ndarray:
    """The targets the named loss wants, from class labels."""
    if loss in ("hinge", "mse"):
        values = set(np.unique(y).tolist())
        if values <= {0, 1}:
            return (2 * y - 1).astype(np.float64)
        if loss == "hinge" and not values <= {-1, 1}:
            raise ValueError(f"hinge loss needs labels in {{0, 1}} or {{-1, +1}}, got {sorted(values)[:5]}")
        return y.astype(np.float64)
    if loss == "bce":
        return y.astype(np.float64)
    if loss == "cross_entropy":
        if not np.all(np.equal(np.mod(y, 1), 0)):
            raise ValueError("cross_entropy needs integer class labels")
        return y.astype(np.int64)
    return y


def _data(X: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"{what} must be 2-D (n samples × features), got shape {X.shape}")
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"labels for {what} must be 1-D with {len(X)} entries, got shape {y.shape}")
    if len(X) == 0:
        raise ValueError(f"{what} is empty")
    return X, y


def _weight_layers(model: Module) -> list[tuple[str, list[Value]]]:
    layers = []
    for name, m in model.named_modules():
        if isinstance(m, Layer):
            layers.append((name or "layer", [w for n in m.neurons for w in n.w]))
    if not layers and isinstance(model, Neuron):
        layers.append(("neuron", list(model.w)))
    return layers


def _grad_float(p: Value) -> float:
    return p.grad.data if isinstance(p.grad, Value) else float(p.grad)


def _evaluate(model: Module, loss_fn: Callable[..., Any], X: np.ndarray, t: np.ndarray,
              y: np.ndarray) -> tuple[float, float]:
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            outputs = model(X)
            value = loss_fn(outputs, t)
    finally:
        model.train(was_training)
    return float(value), accuracy_from_scores(outputs_to_array(outputs), y)


def _batches(n: int, batch_size: int | None, seed: int) -> Any:
    if batch_size is None or batch_size >= n:
        while True:
            yield np.arange(n)
    rng = np.random.default_rng(seed)
    while True:
        perm = rng.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):
            yield perm[start:start + batch_size]


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    # The graph of one step holds millions of nodes that are freed by reference counting alone;
    # the cyclic collector would otherwise keep traversing all of them for nothing.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load_compiled() -> Callable[..., Any]:
    try:
        from .compiled import compiled_loss
    except ModuleNotFoundError as e:
        if e.name not in ("nn.compiled", f"{__package__}.compiled"):
            raise
        raise RuntimeError("fit(compiled=True) needs nn/compiled.py (the batch-mode loss), which is not installed "
                           "in this copy of nn; use compiled=False") from None
    return compiled_loss


def fit(model: Module, X: Any, y: Any, *, loss: str | Callable[..., Any] = "hinge",
        optimizer: Optimizer | None = None, steps: int = 100, epochs: int | None = None,
        batch_size: int | None = None, alpha: float = 0.0, scheduler: LRScheduler | None = None,
        X_val: Any = None, y_val: Any = None, eval_every: int = 1, progress: bool = True,
        track_grad_norms: bool = False, callback: Callable[[int, Module, History], Any] | None = None,
        compiled: bool = False, seed: int = 0) -> History:
    """Train ``model`` on ``(X, y)`` and return a :class:`History`.

    ``loss``: ``"hinge"`` (labels {0,1} or ±1 → targets ±1), ``"mse"`` ({0,1} labels → ±1
    targets, other values used as they are), ``"bce"`` (logits vs {0,1}), ``"cross_entropy"``
    (N×C logits vs integer classes) or a callable ``loss(outputs, y_batch) -> Value``.
    ``optimizer`` defaults to ``SGD(lr=1.0)`` and then, unless ``scheduler`` is given, to
    micrograd's linear decay ``LinearLR(1.0 → 0.1 over the run)``. ``steps`` counts updates;
    ``epochs`` (with ``batch_size``) sets steps = epochs·⌊n / batch_size⌋ instead.
    ``batch_size=None`` is full batch; an int draws shuffled mini-batches seeded by ``seed``.
    ``alpha`` adds α·Σw² to C. Accuracy is the sign of the score (one output) or the argmax.
    ``X_val``/``y_val`` are scored in eval mode every ``eval_every`` steps. ``progress`` shows a
    tqdm bar with the loss. ``track_grad_norms`` records mean |∂C/∂w| per layer.
    ``callback(step, model, history)`` runs after each step; returning True stops training.
    ``compiled=True`` uses ``nn.compiled.compiled_loss(model, loss_name, X_b, targets_b)`` for the
    data loss and its gradients (the targets passed are the converted ones listed above).

    Speed: during each eager step's forward and backward pass Python's cyclic garbage
    collector is paused (``gc.disable()``, and afterwards it is re-enabled only if it was
    enabled before — also when the step raises). The engine's graphs are acyclic (a node
    points only to its parents), so reference counting alone frees each step's graph; the
    collector would only re-traverse the millions of live nodes, about half of a step's time.
    Cycles your own loss or model code creates during a step are still collected, by the
    first collection after the step. The pause is process-wide, so other threads allocating
    during a step skip cyclic collection for that long too.
    """
    if not isinstance(model, Module):
        raise TypeError(f"fit expects an nn.Module, got {type(model).__name__}")
    X, y = _data(X, y, "X")
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; expected one of {list(LOSSES)} or a callable")
        loss_fn = LOSSES[loss]
    elif callable(loss):
        loss_fn = loss
    else:
        raise TypeError(f"loss must be a name or a callable, got {type(loss).__name__}")
    if compiled and not isinstance(loss, str):
        raise ValueError("compiled=True needs a named loss ('hinge', 'mse', 'bce' or 'cross_entropy')")
    compiled_loss = _load_compiled() if compiled else None
    if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1):
        raise ValueError(f"batch_size must be None or a positive int, got {batch_size!r}")
    if epochs is not None:
        per_epoch = max(1, len(X) // batch_size) if batch_size else 1
        steps = epochs * per_epoch
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise ValueError(f"steps must be an int ≥ 0, got {steps!r}")
    if not isinstance(eval_every, int) or isinstance(eval_every, bool) or eval_every < 1:
        raise ValueError(f"eval_every must be a positive int, got {eval_every!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
        raise ValueError(f"alpha (L2 strength) must be a number ≥ 0, got {alpha!r}")
    targets = _targets(loss, y)
    val = None
    if X_val is not None or y_val is not None:
        if X_val is None or y_val is None:
            raise ValueError("give both X_val and y_val, or neither")
        Xv, yv = _data(X_val, y_val, "X_val")
        val = (Xv, _targets(loss, yv), yv)
    params = model.parameters()
    if optimizer is None:
        optimizer = SGD(params, lr=1.0)
        if scheduler is None and steps > 0:
            scheduler = LinearLR(optimizer, start_factor=1.0, end_factor=0.1, total_iters=steps)
    layers = _weight_layers(model) if track_grad_norms else []
    history = History(grad_norms={name: [] for name, _ in layers})
    from .progress import progress_bar

    batches = _batches(len(X), batch_size, seed)
    bar = progress_bar(range(steps), desc="fit", disable=not progress)
    for k in bar:
        idx = next(batches)
        Xb, tb, yb = X[idx], targets[idx], y[idx]
        model.zero_grad()
        if compiled_loss is not None:
            data_value, outputs = compiled_loss(model, loss, Xb, tb)
            data_value = float(data_value)
            scores = np.asarray(outputs, dtype=np.float64)
            total = data_value
            if alpha:
                total += alpha * sum(p.data * p.data for p in params)
                for p in params:
                    p.grad = p.grad + 2 * alpha * p.data
        else:
            with _cyclic_gc_paused():
                out_values = model(Xb)
                data_loss = loss_fn(out_values, tb)
                if not isinstance(data_loss, Value):
                    raise TypeError(f"the loss must return a Value, got {type(data_loss).__name__}")
                total_loss = data_loss + alpha * sum(p * p for p in params) if alpha else data_loss
                total_loss.backward()
            data_value, total = data_loss.data, total_loss.data
            scores = outputs_to_array(out_values)
        history.step.append(k)
        history.loss.append(total)
        history.data_loss.append(data_value)
        history.accuracy.append(accuracy_from_scores(scores, yb) if _is_classes(yb) else math.nan)
        history.lr.append(optimizer.lr)
        for name, weights in layers:
            history.grad_norms[name].append(sum(abs(_grad_float(w)) for w in weights) / len(weights))
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if val is not None and (k % eval_every == 0 or k == steps - 1):
            vl, va = _evaluate(model, loss_fn, *val)
        else:
            vl, va = math.nan, math.nan
        history.val_loss.append(vl)
        history.val_accuracy.append(va)
        if progress:
            bar.set_postfix(loss=f"{total:.4f}", acc=f"{history.accuracy[-1]:.1%}")
        if callback is not None and callback(k, model, history) is True:
            break
    bar.close()
    return history


def _is_classes(y: np.ndarray) -> bool:
    return bool(np.all(np.equal(np.mod(y, 1), 0)))
