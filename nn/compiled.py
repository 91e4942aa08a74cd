"""Compiled mode: a model's forward and backward on whole numpy batches, weights in one array.

A :class:`Program` reads the model's structure — ``Sequential``/``MLP`` of ``Layer``,
``Neuron``, ``BatchNorm1d`` and ``Activation`` — and runs each dense layer a = σ(z),
z = w·x + b, as one matrix product over the batch:

    Z = [A, 1] · Mᵀ        M = [W | b], one row (w₀ … w_{m−1}, b) per neuron

which is exactly how ``model.parameters()`` lists a layer's weights, so the flat parameter
vector θ (``θ[i] = parameters()[i].data``) *is* the matrices, with no gathering. Backward:
∂C/∂M = (∂C/∂Z)ᵀ·[A, 1] (written straight into the gradient vector), ∂C/∂A = ∂C/∂Z · W, and
∂C/∂Z = ∂C/∂A · σ'(Z) with the op table's derivative (relu's as a boolean mask). Batch norm
runs its batch statistics in numpy and keeps its running statistics in arrays (the stages are
in :mod:`nn.compiled_layers`). Buffers are allocated once per batch size. Any other module is traced instead
(:func:`autograd_core.compile`), which is slower to build and refuses batch norm.

The numbers are the eager engine's up to the order of additions inside a matrix product
(~1e-16 relative). :func:`compiled_loss` is the one-call form: mean loss C over the batch,
∂C/∂w added into every ``p.grad``.
"""

from __future__ import annotations

import weakref
from operator import attrgetter, is_
from typing import Any

import numpy as np

from autograd_core import Value
from autograd_core import compile as trace_compile

from .batchnorm import BatchNorm1d
from .compiled_layers import RELU, BatchNormStage, Dense, ElementwiseStage
from .layers import MLP, Activation, Layer, Neuron, Sequential
from .losses import LOSSES
from .module import Module

__all__ = ["Program", "compiled_loss", "predict_array", "batch_targets", "CompileNotSupported"]

_data = attrgetter("data")


class CompileNotSupported(ValueError):
    """The model has no compiled form (batch norm inside a module that can only be traced)."""


# -- reading a model's structure ---------------------------------------------------------------
def _leaves(module: Module, plain: list[bool] | None = None) -> list[Module] | None:
    """The modules a forward pass runs, in order, if every one is a built-in; else None.

    ``plain`` gets one False appended for every module with attributes beyond the built-in ones.
    """
    kind = type(module)
    if plain is not None and kind in _KNOWN and not _plain(module):
        plain.append(False)
    if kind in (Sequential, MLP):
        out: list[Module] = []
        for layer in module.layers:  # type: ignore[attr-defined]
            inner = _leaves(layer, plain)
            if inner is None:
                return None
            out.extend(inner)
        return out
    if kind in (Layer, Neuron, BatchNorm1d, Activation):
        return [module]
    return None


# The attributes each built-in module sets. A module with any other public attribute may hold
# extra parameters, so its parameter list is then checked against model.parameters() (slower).
_KNOWN = {
    Neuron: {"activation", "init", "w", "b"},
    Layer: {"neurons"},
    Sequential: {"layers"},
    MLP: {"layers", "nin", "nouts", "activation", "init", "bias", "batch_norm", "eps", "momentum"},
    BatchNorm1d: {"num_features", "eps", "momentum", "affine", "track_running_stats", "gamma", "beta",
                  "running_mean", "running_var", "num_batches_tracked", "buffer_names"},
    Activation: {"name"},
}


def _plain(module: Module) -> bool:
    known = _KNOWN[type(module)]
    return all(k in known or k.startswith("_") or k == "training" for k in vars(module))


def _neuron_op(neuron: Neuron) -> Any:
    if neuron.activation == "relu":
        return RELU
    return neuron._sigma(Value(1.0)).fn


def _dense(neurons: list[Neuron], start: int, plain: list[bool]) -> tuple[Dense, list[Value]] | None:
    first = neurons[0]
    m, bias, op = len(first.w), first.b is not None, _neuron_op(first)
    params: list[Value] = []
    for nrn in neurons:
        if type(nrn) is not Neuron or len(nrn.w) != m or (nrn.b is not None) != bias:
            return None
        if not _plain(nrn):
            plain.append(False)
        other = _neuron_op(nrn)
        if other is not op and (op is None or other is None or other.name != op.name):
            return None
        params.extend(nrn.w)
        if bias:
            params.append(nrn.b)  # type: ignore[arg-type]
    return Dense(start, len(neurons), m, bias, op), params


def _structure(model: Module, n_inputs: int) -> tuple[list[Any], list[Value]] | None:
    """Stages and the parameters they read (in θ's order), or None for a model to trace.

    The parameters are checked to be exactly ``model.parameters()``: directly when every
    module carries only its own attributes, else by building that list and comparing.
    """
    plain: list[bool] = []
    leaves = _leaves(model, plain)
    if not leaves:
        return None
    stages: list[Any] = []
    params: list[Value] = []
    width = n_inputs
    for leaf in leaves:
        stage: Dense | BatchNormStage | ElementwiseStage
        if isinstance(leaf, (Layer, Neuron)):
            found = _dense(leaf.neurons if isinstance(leaf, Layer) else [leaf], len(params), plain)
            if found is None:
                return None
            stage, ps = found
            params.extend(ps)
        elif isinstance(leaf, BatchNorm1d):
            stage = BatchNormStage(len(params), leaf)
            params.extend([*leaf.gamma, *leaf.beta])
        else:
            probe = leaf._sigma(Value(1.0))  # type: ignore[attr-defined]
            stage = ElementwiseStage(probe.fn, width)
        if stage.width_in != width:
            raise ValueError(f"{leaf!r} expects samples of {stage.width_in} features, got {width}")
        width = stage.width_out
        stages.append(stage)
    if plain:
        expected = model.parameters()
        if len(expected) != len(params) or not all(map(is_, expected, params)):
            return None
    elif len(set(map(id, params))) != len(params):
        return None  # one Value in two places: θ would hold it twice
    return stages, params


# -- the program -------------------------------------------------------------------------------
class Program:
    """A model's batched forward and backward over a flat parameter vector θ.

    ``dtype`` (float64, or float32 for speed at ~7 significant digits) is that of θ, the
    gradient and every buffer.

    ``Program(model, n_inputs)`` reads the structure (see the module docstring); ``params`` is
    ``model.parameters()`` and fixes θ's layout. :meth:`bind` attaches θ and its gradient
    vector; :meth:`forward` gives the outputs ``(n, k)``; :meth:`backward` writes ∂C/∂θ
    (overwriting, not adding) from ∂C/∂outputs. BatchNorm running statistics live in the
    program while it trains; :meth:`write_buffers` copies them into the modules.
    """

    def __init__(self, model: Module, n_inputs: int, dtype: Any = np.float64) -> None:
        if not isinstance(model, Module):
            raise TypeError(f"a Program is made from an nn.Module, got {type(model).__name__}")
        self.n_inputs = n_inputs
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float64, np.float32):
            raise ValueError(f"dtype must be np.float64 or np.float32, got {dtype!r}")
        found = _structure(model, n_inputs)
        if found is not None:
            self.stages: list[Any] | None = found[0]
            self.params: list[Value] = found[1]
            self.traced = None
            last = self.stages[-1]
            self.n_outputs = last.width_out
            self.single = isinstance(last, Dense) and last.J == 1
        else:
            if any(isinstance(m, BatchNorm1d) for m in model.modules()):
                raise CompileNotSupported(
                    f"{type(model).__name__} contains BatchNorm1d inside a module that compiled mode cannot read "
                    "(only Sequential/MLP of Layer, Neuron, BatchNorm1d and Activation); train it eagerly "
                    "(compiled=False)")
            self.stages = None
            self.params = model.parameters()
            ref = weakref.ref(model)
            self.traced = trace_compile(lambda v: ref()(v), n_inputs, self.params)  # type: ignore[misc]
            self.n_outputs = self.traced.n_outputs
            self.single = self.traced(np.zeros((1, n_inputs))).ndim == 1
        self._scratch: dict[int, list[dict[str, Any]]] = {}
        self.theta = self.grad = np.empty(0)

    def read_params(self) -> np.ndarray:
        """θ from the parameters' ``.data`` (a new float64 vector)."""
        return np.fromiter(map(_data, self.params), np.float64, len(self.params))

    def write_params(self, theta: np.ndarray) -> None:
        """Every parameter's ``.data`` from θ."""
        for p, v in zip(self.params, theta.tolist()):
            p.data = v

    def write_buffers(self) -> None:
        """BatchNorm running statistics from the program into the modules."""
        for stage in self.stages or ():
            if isinstance(stage, BatchNormStage):
                stage.write_buffers()

    def read_buffers(self) -> None:
        for stage in self.stages or ():
            if isinstance(stage, BatchNormStage):
                stage.read_buffers()

    def bind(self, theta: np.ndarray, grad: np.ndarray) -> None:
        """Use θ (read by forward) and ``grad`` (written by backward), both ``(len(params),)``."""
        self.theta, self.grad = theta, grad
        for stage in self.stages or ():
            stage.bind(theta, grad)

    def _buffers(self, n: int) -> list[dict[str, Any]]:
        scratch = self._scratch.get(n)
        if scratch is None:
            stages = self.stages or []
            extras = [int(s.wants_ones) for s in stages[1:]] + [0]
            first = stages[0]
            x = np.empty((n, self.n_inputs + first.wants_ones), self.dtype)
            if first.wants_ones:
                x[:, self.n_inputs] = 1.0
            scratch = [{"out": x}] + [s.alloc(n, e, self.dtype) for s, e in zip(stages, extras)]
            if len(self._scratch) > 4:
                self._scratch.clear()
            self._scratch[n] = scratch
        return scratch

    def forward(self, X: np.ndarray, *, training: bool = True, update_stats: bool = True) -> np.ndarray:
        """Outputs ``(n, k)`` for the rows of X (a view of a buffer: copy it to keep it).

        Like every numpy step here it follows IEEE (inf, nan); wrap calls in
        ``np.errstate(all="ignore")`` to silence numpy's warnings about them.

        ``training=False`` makes batch norm use its running statistics (as ``model.eval()``);
        ``update_stats`` lets a training-mode batch norm update them.
        """
        if self.traced is not None:
            out, self._pullback = self.traced.vjp(X, param_values=self.theta.astype(np.float64))
            return out.reshape(len(X), -1)
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(f"expected a batch of shape (n, {self.n_inputs}), got an array of shape {X.shape}")
        scratch = self._buffers(X.shape[0])
        scratch[0]["out"][:, :self.n_inputs] = X
        for stage, before, s in zip(self.stages, scratch, scratch[1:]):  # type: ignore[arg-type]
            stage.forward(before["out"], s, training, update_stats)
        return scratch[-1]["out"]

    def backward(self, d_outputs: np.ndarray) -> None:
        """∂C/∂θ into ``grad`` given ∂C/∂outputs ``(n, k)`` (after :meth:`forward` on the same batch)."""
        if self.traced is not None:
            self.grad[:] = self._pullback(d_outputs if not self.single else d_outputs[:, 0])
            return
        scratch = self._scratch[d_outputs.shape[0]]
        d: np.ndarray | None = d_outputs
        for i in range(len(self.stages) - 1, -1, -1):  # type: ignore[arg-type]
            d = self.stages[i].backward(d, scratch[i + 1], i > 0)  # type: ignore[index]

    def outputs(self, out: np.ndarray) -> np.ndarray:
        """A copy shaped as the eager model answers: ``(n,)`` for one output Value, else ``(n, k)``."""
        return out[:, 0].copy() if self.single else out.copy()


def predict_array(model: Module, X: np.ndarray) -> np.ndarray | None:
    """The model's outputs on X with the compiled forward, or None if it has no structural form.

    Training-mode batch norm uses the batch's statistics and leaves the running ones alone.
    """
    if _leaves(model) is None:
        return None
    try:
        prog = Program(model, X.shape[1])
    except ValueError:
        return None
    if prog.traced is not None:
        return None
    theta = prog.read_params()
    prog.bind(theta, np.empty_like(theta))
    try:
        with np.errstate(all="ignore"):
            out = prog.forward(X, training=True, update_stats=False)
    except ValueError:
        return None  # a batch the eager model refuses, with its own message
    return prog.outputs(out)


# -- one-call form -------------------------------------------------------------------------------
# model -> {n_features: (snapshot of the module tree, Program)}; weak, so a dropped model frees it.
_CACHE: weakref.WeakKeyDictionary[Any, dict[int, tuple[Any, Program]]] = weakref.WeakKeyDictionary()


def _cached_program(model: Module, nin: int) -> Program:
    entry = _CACHE.setdefault(model, {}).get(nin)
    if entry is not None and entry[0].matches(model):
        return entry[1]
    prog = Program(model, nin)
    _CACHE[model][nin] = (_Snapshot(model), prog)
    return prog


def compiled_loss(model: Any, loss: str, X: Any, y: Any) -> tuple[float, np.ndarray]:
    """Mean loss C over the batch; ADDS ∂C/∂p into every parameter's ``.grad``.

    ``X`` is ``(n, n_features)``; ``y`` holds targets as the named loss takes them (``(n,)`` or
    ``(n, k)``; hinge also accepts {0, 1} labels; integer classes ``(n,)`` for cross-entropy).
    Returns ``(C, outputs)`` with outputs ``(n,)`` for a one-output model, else ``(n, k)``.
    A training-mode batch norm updates its running statistics, as one eager call would.
    Raises ``ValueError`` for an unknown loss, mismatched shapes and bad targets.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {list(LOSSES)}, got {loss!r}")
    spec = LOSSES[loss]
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be a batch of shape (n, n_features), got an array of shape {X.shape}")
    n = X.shape[0]
    if n == 0:
        raise ValueError("compiled_loss needs at least one sample, got an empty batch")
    prog = _cached_program(model, X.shape[1])
    spec.check_outputs(prog.n_outputs)
    targets = batch_targets(loss, y, n, prog.n_outputs)
    theta = prog.read_params()
    grad = np.zeros_like(theta)
    prog.bind(theta, grad)
    prog.read_buffers()
    with np.errstate(all="ignore"):
        out = prog.forward(X, training=True)
        value, d_out = spec.batch(out, targets)
        prog.backward(d_out)
    prog.write_buffers()
    for p, g in zip(prog.params, grad.tolist()):
        p.grad += g
    return value, prog.outputs(out)


def batch_targets(loss: str, y: Any, n: int, k: int) -> np.ndarray:
    """Targets for the batch form of ``loss``: ``(n, k)`` floats, or ``(n,)`` classes for cross-entropy."""
    spec = LOSSES[loss]
    if spec.per_class:
        t = np.asarray(y)
        if t.shape != (n,):
            raise ValueError(f"cross_entropy: {n} rows of logits need {n} integer class targets, got shape {t.shape}")
        try:
            return spec.targets(t)
        except ValueError:
            raise ValueError(f"cross_entropy targets must be integer classes in [0, {k})") from None
    t = np.asarray(y, dtype=np.float64)
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2 or t.shape[0] != n:
        raise ValueError(f"{loss}: {n} samples need targets of shape ({n},) or ({n}, k), got {np.shape(y)}")
    if t.shape[1] != k:
        raise ValueError(f"{loss}: the model gives {k} outputs per sample but the targets have {t.shape[1]}")
    if loss == "hinge":
        try:
            return spec.targets(t)
        except ValueError:
            raise ValueError(f"hinge targets must be ±1 or {{0, 1}} labels, got "
                             f"{sorted(set(t.ravel().tolist()))[:5]}") from None
    return spec.targets(t) if loss == "bce" else t


class _Snapshot:
    """The module tree's attributes when a program was built, to tell cheaply whether it changed.

    Holds, for every module, its attribute values and the items of its list attributes. If
    any of them is no longer the identical object (a parameter replaced, a layer appended,
    ``train()``/``eval()`` called), the program is built again. Identity comparisons run in C.
    """

    def __init__(self, model: Any) -> None:
        self.entries: list[tuple[Any, list[Any], list[tuple[list[Any], list[Any]]]]] = []
        self._add(model, root=True)

    def _add(self, module: Any, root: bool = False) -> None:
        # Running statistics change on every training call; they are data, not structure.
        values = [v for k, v in vars(module).items() if k not in module.buffer_names]
        lists = [(v, list(v)) for v in values if type(v) is list]
        # The root is the cache's weak key: holding it here would keep the model alive forever.
        self.entries.append((None if root else module, values, lists))
        for v in values:
            for item in (v if type(v) in (list, tuple) else (v,)):
                if isinstance(item, Module):
                    self._add(item)

    def matches(self, model: Any) -> bool:
        for module, values, lists in self.entries:
            target = model if module is None else module
            now = [v for k, v in vars(target).items() if k not in target.buffer_names]
            if len(now) != len(values) or not all(map(is_, now, values)):
                return False
            for current, saved in lists:
                if len(current) != len(saved) or not all(map(is_, current, saved)):
                    return False
        return True
