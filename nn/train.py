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
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograd_core import Value, no_grad

from .layers import Layer, Neuron
from .losses import LOSSES
from .lr_scheduler import LinearLR, LRScheduler
from .module import Module
from .optim import SGD, FlatOptimizer, Optimizer
from .predict import accuracy_from_scores, outputs_to_array

__all__ = ["History", "fit", "LOSSES"]

@dataclass
class History:
    """What happened at each step: ``loss`` is the total C (data + L2), ``data_loss`` without L2.

    ``accuracy`` is measured on the step's batch before the update (as micrograd prints it);
    ``val_loss``/``val_accuracy`` on held-out data after the update (NaN when not given);
    ``grad_norms["layers.0"]`` is ‖∂C/∂W‖₂, the L2 norm of the gradient over that layer's
    weights W, per step (:func:`nn.plots.layer_grad_norms` is the same norm, over all of a
    layer's parameters, at one moment).
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


def _batches(n: int, batch_size: int | None, seed: int) -> Iterator[np.ndarray | None]:
    """Row indices of each step's batch; None means all rows (full batch, no copy)."""
    if batch_size is None or batch_size >= n:
        while True:
            yield None
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


@dataclass
class _Setup:
    """fit's arguments, checked and converted once."""

    X: np.ndarray
    y: np.ndarray
    targets: np.ndarray
    loss_name: str | None
    loss_fn: Callable[..., Any]
    steps: int
    batch_size: int | None
    seed: int
    alpha: float
    optimizer: Optimizer
    scheduler: LRScheduler | None
    val: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    eval_every: int
    classes: bool
    dtype: Any


def _count(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= sys.maxsize:
        raise ValueError(f"{name} must be an int from {low} to {sys.maxsize}, got {value!r}")
    return int(value)


def _check_arguments(model: Any, X: Any, y: Any, loss: Any, optimizer: Optimizer | None, steps: Any,
                     epochs: Any, batch_size: Any, alpha: Any, scheduler: LRScheduler | None, X_val: Any,
                     y_val: Any, eval_every: Any, compiled: bool, seed: int, dtype: Any) -> _Setup:
    if not isinstance(model, Module):
        raise TypeError(f"fit expects an nn.Module, got {type(model).__name__}")
    X, y = _data(X, y, "X")
    loss_name, loss_fn, convert = _loss_choice(loss, compiled)
    dtype = _compiled_dtype(dtype, compiled)
    steps, batch_size = _step_count(steps, epochs, batch_size, len(X))
    eval_every = _count("eval_every", eval_every, 1)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
        raise ValueError(f"alpha (L2 strength) must be a number ≥ 0, got {alpha!r}")
    val = None
    if X_val is not None or y_val is not None:
        if X_val is None or y_val is None:
            raise ValueError("give both X_val and y_val, or neither")
        Xv, yv = _data(X_val, y_val, "X_val")
        val = (Xv, convert(yv), yv)
    if optimizer is None:
        optimizer = SGD(model.parameters(), lr=1.0)
        if scheduler is None and steps > 0:
            scheduler = LinearLR(optimizer, start_factor=1.0, end_factor=0.1, total_iters=steps)
    return _Setup(X, y, convert(y), loss_name, loss_fn, steps, batch_size, seed, float(alpha), optimizer, scheduler,
                  val, eval_every, _is_classes(y), dtype)


def _loss_choice(loss: Any, compiled: bool) -> tuple[str | None, Callable[..., Any], Callable[[Any], np.ndarray]]:
    """``(name, eager loss, labels → targets)`` of a loss given by name (from ``LOSSES``) or as a callable."""
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; expected one of {list(LOSSES)} or a callable")
        return loss, LOSSES[loss].eager, LOSSES[loss].targets
    if not callable(loss):
        raise TypeError(f"loss must be a name or a callable, got {type(loss).__name__}")
    if compiled:
        raise ValueError(f"compiled=True needs a named loss (one of {list(LOSSES)})")
    return None, loss, np.asarray


def _compiled_dtype(dtype: Any, compiled: bool) -> np.dtype:
    """The float type of compiled training: float64 unless ``dtype`` says float32."""
    if dtype is None:
        return np.dtype(np.float64)
    if not compiled:
        raise ValueError("dtype applies to compiled training only (the eager engine computes in Python floats); "
                         "pass compiled=True or leave dtype=None")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype must be np.float64 or np.float32, got {dtype!r}") from None
    if dt not in (np.float64, np.float32):
        raise ValueError(f"dtype must be np.float64 or np.float32, got {dtype!r}")
    return dt


def _step_count(steps: Any, epochs: Any, batch_size: Any, n: int) -> tuple[int, int | None]:
    """``(steps, batch_size)`` checked; ``epochs`` (if given) counts ⌊n / batch_size⌋ steps each (at least 1)."""
    if batch_size is not None:
        batch_size = _count("batch_size (None for full batch)", batch_size, 1)
    if epochs is not None:
        per_epoch = max(1, n // batch_size) if batch_size else 1
        steps = _count("epochs", epochs, 0) * per_epoch
    return _count("steps", steps, 0), batch_size


class _EagerSteps:
    """One graph per sample and ``backward()``: the engine itself, every Value touched."""

    def __init__(self, model: Module, setup: _Setup, track_grad_norms: bool) -> None:
        self.model, self.setup = model, setup
        self.spec = LOSSES.get(setup.loss_name) if setup.loss_name else None
        self.params = model.parameters()
        self.layers = _weight_layers(model) if track_grad_norms else []

    def forward_backward(self, idx: np.ndarray | None) -> tuple[float, float, np.ndarray]:
        """Data loss, total loss (with α·Σw²) and scores of one batch; ∂C/∂w left in every ``.grad``."""
        s = self.setup
        Xb, tb = (s.X, s.targets) if idx is None else (s.X[idx], s.targets[idx])
        self.model.zero_grad()
        with _cyclic_gc_paused():
            out_values = self.model(Xb)
            if self.spec is not None:
                self.spec.check_outputs(len(out_values[0]) if isinstance(out_values[0], list) else 1)
            data_loss = s.loss_fn(out_values, tb)
            if not isinstance(data_loss, Value):
                raise TypeError(f"the loss must return a Value, got {type(data_loss).__name__}")
            total_loss = data_loss + s.alpha * sum(p * p for p in self.params) if s.alpha else data_loss
            total_loss.backward()
        return data_loss.data, total_loss.data, outputs_to_array(out_values)

    def grad_norms(self) -> list[float]:
        return [math.sqrt(sum(_grad_float(w) ** 2 for w in weights)) for _, weights in self.layers]

    def update(self) -> None:
        self.setup.optimizer.step()

    def evaluate(self) -> tuple[float, float]:
        return _evaluate(self.model, self.setup.loss_fn, *self.setup.val)  # type: ignore[misc]

    def sync(self) -> None:
        """Nothing to do: the Values are the weights."""

    def resume(self) -> None:
        self.params = self.model.parameters()


class _CompiledSteps:
    """The model as one :class:`~nn.compiled.Program` over a flat weight vector θ.

    θ and ∂C/∂θ are arrays (float64, or the ``dtype`` given); the optimizer runs on them
    (:class:`~nn.optim.FlatOptimizer`, or on the Values for an optimizer with no array form).
    :meth:`sync` writes θ, ∂C/∂θ, the optimizer's state and batch-norm statistics back into the
    Values and modules;
    :meth:`resume` reads everything again, structure included, so any change made meanwhile
    (a weight set by hand, a layer replaced, a parameter added) is used from the next step.
    """

    def __init__(self, model: Module, setup: _Setup, track_grad_norms: bool) -> None:
        from .compiled import Program, batch_targets

        self.model, self.setup, self.track = model, setup, track_grad_norms
        self._program, self._batch_targets = Program, batch_targets
        assert setup.loss_name is not None  # _check_arguments refuses compiled=True with a callable loss
        self.loss_name = setup.loss_name
        self.spec = LOSSES[setup.loss_name]
        self.resume()

    def resume(self) -> None:
        s = self.setup
        prog = self.program = self._program(self.model, s.X.shape[1], s.dtype)
        self.spec.check_outputs(prog.n_outputs)
        self.X = s.X.astype(s.dtype, copy=False)
        self.T = self._targets(s.targets, len(s.X))
        if s.val is not None:
            self.Xv = s.val[0].astype(s.dtype, copy=False)
            self.Tv = self._targets(s.val[1], len(s.val[0]))
        self.theta = prog.read_params().astype(s.dtype, copy=False)
        self.stepped = False  # whether θ moved since it was read: only then is there anything to write back
        self.grad = np.zeros_like(self.theta)
        self.scratch = np.empty_like(self.theta)
        prog.bind(self.theta, self.grad)
        try:
            self.flat: FlatOptimizer | None = FlatOptimizer(s.optimizer, prog.params)
        except (TypeError, ValueError):
            self.flat = None
        self.layers = []
        if self.track:
            position = {id(p): i for i, p in enumerate(prog.params)}
            self.layers = [np.array([position[id(w)] for w in ws], dtype=np.intp)
                           for _, ws in _weight_layers(self.model)]

    def _targets(self, targets: np.ndarray, n: int) -> np.ndarray:
        T = self._batch_targets(self.loss_name, targets, n, self.program.n_outputs)
        return T if self.spec.per_class else T.astype(self.setup.dtype, copy=False)

    def forward_backward(self, idx: np.ndarray | None) -> tuple[float, float, np.ndarray]:
        s = self.setup
        Xb, Tb = (self.X, self.T) if idx is None else (self.X[idx], self.T[idx])
        self.stepped = True
        with np.errstate(all="ignore"):
            out = self.program.forward(Xb)
            data, d_out = self.spec.batch(out, Tb)
            self.program.backward(d_out)
            total = data
            if s.alpha:
                # C += α·Σw², ∂C/∂w += 2α·w: folded into the vectors.
                theta = self.theta
                total = data + s.alpha * float(np.dot(theta, theta))
                np.multiply(theta, 2 * s.alpha, out=self.scratch)
                self.grad += self.scratch
        return data, total, out[:, 0] if self.program.single else out

    def grad_norms(self) -> list[float]:
        return [float(np.sqrt(np.dot(self.grad[idx], self.grad[idx]))) for idx in self.layers]

    def update(self) -> None:
        if self.flat is not None:
            with np.errstate(all="ignore"):
                self.flat.step(self.theta, self.grad)
            return
        self.sync()
        self.setup.optimizer.step()
        self.theta[:] = self.program.read_params()

    def evaluate(self) -> tuple[float, float]:
        yv = self.setup.val[2]  # type: ignore[index]
        with np.errstate(all="ignore"):
            out = self.program.forward(self.Xv, training=False, update_stats=False)
            value = self.spec.batch(out, self.Tv)[0]
        return value, accuracy_from_scores(self.program.outputs(out), yv)

    def sync(self) -> None:
        if not self.stepped:
            return
        self.stepped = False
        prog = self.program
        prog.write_params(self.theta)
        for p, g in zip(prog.params, self.grad.tolist()):
            p.grad = g
        prog.write_buffers()
        if self.flat is not None:
            self.flat.write_state()


def _accuracy(scores: np.ndarray, y: np.ndarray) -> float:
    if scores.ndim == 1:
        return float(np.count_nonzero((scores > 0) == (y > 0)) / len(y))
    return float(np.count_nonzero(np.argmax(scores, axis=1) == y) / len(y))


def _progress_bar(steps: int, enabled: bool) -> Any:
    # A widget in Jupyter, a bar on a terminal, a few summary lines when redirected.
    from .progress import progress_bar

    return progress_bar(range(steps), desc="fit", disable=not enabled)


def fit(model: Module, X: Any, y: Any, *, loss: str | Callable[..., Any] = "hinge",
        optimizer: Optimizer | None = None, steps: int = 100, epochs: int | None = None,
        batch_size: int | None = None, alpha: float = 0.0, scheduler: LRScheduler | None = None,
        X_val: Any = None, y_val: Any = None, eval_every: int = 1, progress: bool = True,
        track_grad_norms: bool = False, callback: Callable[[int, Module, History], Any] | None = None,
        compiled: bool = False, seed: int = 0, dtype: Any = None) -> History:
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
    tqdm bar with the loss. ``track_grad_norms`` records ‖∂C/∂W‖₂ per layer.
    ``callback(step, model, history)`` runs after each step; returning True stops training.

    ``compiled=True`` runs each step on whole numpy batches (:mod:`nn.compiled`): the weights
    live in one float64 array θ while training, the optimizer updates θ with its array form
    (the same numbers as on the Values) and L2 is folded into the vectors. The Values are
    brought up to date — ``.data``, ``.grad``, the optimizer's state and batch-norm running
    statistics — before every ``callback`` call and when ``fit`` returns or raises, so no code
    of yours ever sees a stale weight. After a callback everything is read back, so weights
    set by hand, replaced layers or added parameters take effect at the next step (a callback
    makes each step O(parameters) in Python). Results equal eager training up to the order of
    additions in matrix products (~1e-15 relative per step). ``dtype=np.float32`` computes the
    compiled steps in single precision: about twice as fast on large layers, at ~7 significant
    digits (weights drift from the float64 run by ~1e-6 relative per step, compounding; fine
    for training a classifier, not for checking gradients). The Values stay Python floats.

    Speed (eager): during each step's forward and backward pass Python's cyclic garbage
    collector is paused (``gc.disable()``, and afterwards it is re-enabled only if it was
    enabled before — also when the step raises). The engine's graphs are acyclic (a node
    points only to its parents), so reference counting alone frees each step's graph; the
    collector would only re-traverse the millions of live nodes, about half of a step's time.
    Cycles your own loss or model code creates during a step are still collected, by the
    first collection after the step. The pause is process-wide, so other threads allocating
    during a step skip cyclic collection for that long too.

    Raises ``TypeError``/``ValueError`` naming the argument for bad input (``steps`` must be an
    int from 0 to ``sys.maxsize``), and ``ValueError`` for a loss the model's outputs cannot
    take (cross-entropy on a one-output model).
    """
    setup = _check_arguments(model, X, y, loss, optimizer, steps, epochs, batch_size, alpha, scheduler, X_val,
                             y_val, eval_every, compiled, seed, dtype)
    strategy = (_CompiledSteps if compiled else _EagerSteps)(model, setup, track_grad_norms)
    try:
        return _loop(model, setup, strategy, progress, callback, track_grad_norms)
    finally:
        strategy.sync()


def _loop(model: Module, setup: _Setup, strategy: Any, progress: bool,
          callback: Callable[[int, Module, History], Any] | None, track_grad_norms: bool) -> History:
    names = [name for name, _ in _weight_layers(model)] if track_grad_norms else []
    history = History(grad_norms={name: [] for name in names})
    batches = _batches(len(setup.X), setup.batch_size, setup.seed)
    optimizer, scheduler, steps = setup.optimizer, setup.scheduler, setup.steps
    bar = _progress_bar(steps, progress)
    for k in bar:
        idx = next(batches)
        data_value, total, scores = strategy.forward_backward(idx)
        yb = setup.y if idx is None else setup.y[idx]
        history.step.append(k)
        history.loss.append(total)
        history.data_loss.append(data_value)
        history.accuracy.append(_accuracy(scores, yb) if setup.classes else math.nan)
        history.lr.append(optimizer.lr)
        if names:
            for name, norm in zip(names, strategy.grad_norms()):
                history.grad_norms[name].append(norm)
        strategy.update()
        if scheduler is not None:
            scheduler.step()
        if setup.val is not None and (k % setup.eval_every == 0 or k == steps - 1):
            vl, va = strategy.evaluate()
        else:
            vl, va = math.nan, math.nan
        history.val_loss.append(vl)
        history.val_accuracy.append(va)
        if progress:
            bar.set_postfix(loss=f"{total:.4f}", acc=f"{history.accuracy[-1]:.1%}")
        if callback is not None:
            strategy.sync()
            stop = callback(k, model, history) is True
            strategy.resume()
            if stop:
                break
    bar.close()
    return history


def _is_classes(y: np.ndarray) -> bool:
    try:
        return bool(np.all(np.equal(np.mod(y, 1), 0)))
    except TypeError:
        return False
