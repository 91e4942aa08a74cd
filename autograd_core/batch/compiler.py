"""Compiled batch mode: trace a scalar function once, run it over a whole batch with numpy.

    import numpy as np
    import autograd_core as ag

    f = ag.compile(model, n_inputs=2)          # traces model([x0, x1]) once
    scores = f(X)                              # X: (n, 2) → scores: (n,)
    f.backward(X, grad_outputs=np.full(len(X), 1 / len(X)))   # adds ∂(mean score)/∂p to p.grad

Compiling calls ``fn`` once on placeholder Values and keeps the graph it records (see
:mod:`autograd_core.batch.trace`), then schedules it into a few numpy steps (see
:mod:`autograd_core.batch.schedule`): dense layers become matrix products, other ops run once per
level on all rows at once. Every step uses the op table's own rules on the ``NUMPY`` backend,
so forward values and local derivatives are the eager engine's; only the order of additions
inside a matrix product differs (results agree to ~1e-15 relative).

Parameter gradients follow the eager engine exactly: ``backward`` adds
Σ_samples ∂(Σₖ gₖ·outₖ)/∂p into ``p.grad`` — what per-sample graphs with ``backward`` would
accumulate — and reads the parameters' current ``.data`` on every call, so an optimizer that
updates ``p.data`` in place needs no recompiling.

**What is traced is what runs.** Python control flow that depends on a Value's data (``if
x.data > 0``, a loop until convergence) is recorded for the trace sample only, as with
``torch.jit.trace`` and ``jax.jit``; ops such as ``relu`` are fine because their branch is part
of the op. Call :meth:`CompiledFunction.check` on a few samples to compare with eager.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from operator import attrgetter
from typing import Any, Literal

import numpy as np

from ..backends import NUMPY
from ..backward import gradients
from ..ops import Op
from ..value import Value
from .schedule import Plan, schedule
from .trace import CompileError, Trace, trace

__all__ = ["compile", "CompiledFunction", "CompileError", "CompileCheckError", "batch_rule"]

_data = attrgetter("data")


class CompileCheckError(AssertionError):
    """:meth:`CompiledFunction.check` found a sample where compiled and eager results differ."""


class CompiledFunction:
    """A traced scalar function that runs on numpy batches; made by :func:`compile`.

    ``f(X)`` evaluates every row of ``X`` (shape ``(n, n_inputs)``) and returns ``(n,)``
    when the function returns one Value, ``(n, k)`` when it returns a list of k.
    """

    def __init__(self, fn: Callable[[list[Value]], Any], n_inputs: int, params: Iterable[Value] | None = None,
                 *, example: Sequence[float] | None = None) -> None:
        if not callable(fn):
            raise CompileError(f"compile() needs a callable, got {type(fn).__name__}")
        if params is None:
            params = _default_params(fn)
        self.fn = fn
        self._trace: Trace = trace(fn, n_inputs, params, example)
        self._plan: Plan = schedule(self._trace)
        self.n_inputs: int = len(self._trace.inputs)
        self.n_outputs: int = len(self._trace.outputs)
        self.params: tuple[Value, ...] = self._trace.params

    def __repr__(self) -> str:
        name = getattr(self.fn, "__name__", type(self.fn).__name__)
        outs = "1 output" if self._trace.single else f"{self.n_outputs} outputs"
        return (f"CompiledFunction({name}: {self.n_inputs} inputs → {outs}, {len(self.params)} params; "
                f"{self._plan.n_traced} traced nodes in {len(self._plan.steps)} batched steps)")

    @property
    def steps(self) -> list[str]:
        """The batched steps, in order, in words (``'linear 16×2 (one matrix product + bias)'``)."""
        return [s.describe() for s in self._plan.steps]

    # -- running -----------------------------------------------------------------------
    def __call__(self, X: Any) -> np.ndarray:
        """Outputs for every row of ``X``: ``(n,)`` for one output, ``(n, k)`` for k."""
        X = self._batch(X)
        with np.errstate(all="ignore"):
            V, _, _ = self._forward(X)
        return self._outputs(V)

    def value_and_grad(self, X: Any, grad_outputs: Any = None, *,
                       wrt: Literal["params", "inputs"] = "params") -> tuple[np.ndarray, np.ndarray]:
        """``(outputs, gradient)`` without touching any ``.grad``.

        The gradient is of ``Σ_samples Σₖ gₖ·outₖ`` with ``g = grad_outputs`` (default ones,
        shaped like the outputs). ``wrt="params"`` gives a vector over :attr:`params` (summed
        over the batch); ``wrt="inputs"`` gives ``(n, n_inputs)``, row i being ∂/∂X[i].
        """
        if wrt not in ("params", "inputs"):
            raise ValueError(f"wrt must be 'params' or 'inputs', got {wrt!r}")
        X = self._batch(X)
        upstream = self._upstream(grad_outputs, X.shape[0])
        with np.errstate(all="ignore"):
            V, leaf, saved = self._forward(X)
            G, gleaf = self._backward(V, leaf, saved, upstream, wrt == "params")
        if wrt == "params":
            return self._outputs(V), gleaf[: self._plan.n_params].copy()
        return self._outputs(V), G[: self.n_inputs].T.copy()

    def vjp(self, X: Any, *, param_values: np.ndarray | None = None) -> tuple[np.ndarray, Callable[[Any], np.ndarray]]:
        """``(outputs, pullback)`` sharing one forward pass; ``pullback(g)`` is ∂(Σ g·out)/∂params.

        ``g`` has the outputs' shape (or is a number); the result is a vector over
        :attr:`params`, summed over the batch. ``param_values`` (a float vector, one entry per
        parameter) is used in place of the parameters' ``.data``, so a training loop can keep
        its weights in an array and never write them to the Values between steps.
        """
        X = self._batch(X)
        with np.errstate(all="ignore"):
            V, leaf, saved = self._forward(X, param_values)

        def pullback(grad_outputs: Any) -> np.ndarray:
            upstream = self._upstream(grad_outputs, X.shape[0])
            with np.errstate(all="ignore"):
                _, gleaf = self._backward(V, leaf, saved, upstream, True)
            grads: np.ndarray = gleaf[: self._plan.n_params].copy()
            return grads

        return self._outputs(V), pullback

    def backward(self, X: Any, grad_outputs: Any = None) -> np.ndarray:
        """Run forward and backward over the batch; ADD ∂/∂p into every parameter's ``.grad``.

        Equivalent to building the eager graph of every sample and calling
        ``(Σₖ gₖ·outₖ).backward()`` on each: leaves accumulate, as in PyTorch. Returns the
        outputs. For a mean loss pass ``grad_outputs = 1/n``.
        """
        out, grads = self.value_and_grad(X, grad_outputs)
        for p, g in zip(self.params, grads.tolist()):
            p.grad += g
        return out

    def check(self, X: Any, grad_outputs: Any = None, *, rtol: float = 1e-9, atol: float = 1e-12) -> None:
        """Compare compiled against eager on every row of ``X``; raise :class:`CompileCheckError`.

        For each sample, the eager function is called on fresh Values and its outputs and
        parameter gradients (of ``Σₖ gₖ·outₖ``, computed with :func:`gradients`, no ``.grad``
        written) must match the compiled ones within ``|a − b| ≤ atol + rtol·|b|``. A mismatch
        usually means Python control flow that depends on the data, which tracing fixes to the
        branch the trace sample took.
        """
        X = self._batch(X)
        upstream = self._upstream(grad_outputs, X.shape[0])
        for i in range(X.shape[0]):
            out_c, grad_c = self.value_and_grad(X[i : i + 1], upstream[i : i + 1])
            out_e, grad_e = self._eager(X[i], upstream[i])
            for k, (a, b) in enumerate(zip(np.ravel(out_c).tolist(), out_e)):
                if not _close(a, b, rtol, atol):
                    raise CompileCheckError(_mismatch(i, f"output {k}", a, b))
            for j, (a, b) in enumerate(zip(grad_c.tolist(), grad_e)):
                if not _close(a, b, rtol, atol):
                    label = self.params[j].label or f"params[{j}]"
                    raise CompileCheckError(_mismatch(i, f"the gradient of {label}", a, b))

    # -- internals ---------------------------------------------------------------------
    def _batch(self, X: Any) -> np.ndarray:
        try:
            batch: np.ndarray = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"expected a numeric array of shape (n, {self.n_inputs}), got {type(X).__name__}") from None
        if batch.ndim == 1 and self.n_inputs == 1:
            batch = batch[:, None]
        if batch.ndim != 2 or batch.shape[1] != self.n_inputs:
            raise ValueError(f"expected a batch of shape (n, {self.n_inputs}), got an array of shape {batch.shape}")
        return batch

    def _upstream(self, grad_outputs: Any, n: int) -> np.ndarray:
        k = self.n_outputs
        if grad_outputs is None:
            return np.ones((n, k))
        g = np.asarray(grad_outputs, dtype=np.float64)
        if g.ndim == 0:
            return np.full((n, k), float(g))
        if g.ndim == 1 and g.shape[0] == n and (self._trace.single or k == 1):
            return g[:, None]
        if g.shape != (n, k):
            want = f"({n},)" if self._trace.single else f"({n}, {k})"
            raise ValueError(f"grad_outputs must be a number or have the outputs' shape {want}, got {g.shape}")
        return g

    def _leaf_vector(self, param_values: np.ndarray | None = None) -> np.ndarray:
        plan = self._plan
        n = len(plan.leaves)
        leaf = np.fromiter(chain(map(_data, plan.leaves), (0.0, 1.0)), np.float64, n + 2)
        if param_values is not None:
            values = np.asarray(param_values, dtype=np.float64)
            if values.shape != (plan.n_params,):
                raise ValueError(f"param_values must hold one number per parameter ({plan.n_params}), "
                                 f"got shape {values.shape}")
            leaf[: plan.n_params] = values
        return leaf

    def _forward(self, X: np.ndarray,
                 param_values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        plan = self._plan
        V = np.empty((plan.n_rows, X.shape[0]))
        V[: plan.n_inputs] = X.T
        leaf = self._leaf_vector(param_values)
        V[plan.leaf_rows] = leaf[plan.leaf_src][:, None]
        saved = [step.forward(V, leaf) for step in plan.steps]
        return V, leaf, saved

    def _backward(self, V: np.ndarray, leaf: np.ndarray, saved: list[Any], upstream: np.ndarray,
                  wrt_params: bool) -> tuple[np.ndarray, np.ndarray]:
        plan = self._plan
        G = np.zeros_like(V)
        gleaf = np.zeros_like(leaf)
        if plan.out_unique:
            G[plan.out_rows] += upstream.T
        else:
            np.add.at(G, plan.out_rows, upstream.T)
        for step, s in zip(reversed(plan.steps), reversed(saved)):
            step.backward(V, G, gleaf, s, wrt_params)
        if wrt_params and plan.leaf_src.size:
            # Parameters read as whole rows: their gradient is the row summed over the batch.
            gleaf[plan.leaf_src] += G[plan.leaf_rows].sum(axis=1)
        return G, gleaf

    def _outputs(self, V: np.ndarray) -> np.ndarray:
        plan = self._plan
        out: np.ndarray = V[plan.out_rows[0]].copy() if self._trace.single else V[plan.out_rows].T.copy()
        return out

    def _eager(self, x: np.ndarray, g: np.ndarray) -> tuple[list[float], list[float]]:
        raw = self.fn([Value(v) for v in x.tolist()])
        outs = list(raw) if isinstance(raw, (list, tuple)) else [raw]
        values = [o.data if isinstance(o, Value) else float(o) for o in outs]
        total: Any = 0.0
        for o, gk in zip(outs, g.tolist()):
            total = total + o * gk
        if not isinstance(total, Value) or not self.params:
            return values, [0.0] * len(self.params)
        return values, [float(v) for v in gradients(total, list(self.params))]


def compile(fn: Callable[[list[Value]], Any], n_inputs: int, params: Iterable[Value] | None = None, *,
            example: Sequence[float] | None = None) -> CompiledFunction:
    """Trace ``fn`` once and return a :class:`CompiledFunction` that runs it on numpy batches.

    ``fn`` takes one sample as a list of ``n_inputs`` Values (as an ``nn.MLP`` does) and
    returns a Value, a number, or a list of them. ``params`` are the leaf Values to
    differentiate with respect to; by default ``fn.parameters()`` when ``fn`` has that
    method (a model), otherwise none. Other leaf Values the function touches are constants,
    their current ``.data`` read on every call. ``example`` is the sample the trace runs on
    (zeros by default); it matters only for data-dependent Python control flow.

    Raises :class:`CompileError` for a bad signature or output, and for ops without a numpy
    rule (custom :class:`~autograd_core.Function` subclasses run eagerly only).
    """
    return CompiledFunction(fn, n_inputs, params, example=example)


def batch_rule(op: Op) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """A one-input op's rules on numpy batches, from the op table: ``(forward, derivative)``.

    ``forward(x)`` is the op elementwise; ``derivative(x, out)`` is ∂out/∂x elementwise, given
    ``out = forward(x)``. (Get the op of an activation from a probe: ``Value(1.0).tanh().fn``.)
    Callers silence numpy's IEEE warnings (``np.errstate``) as the compiled steps do.
    """
    if not isinstance(op, Op) or op.arity != 1:
        raise CompileError(f"batch_rule needs a one-input Op, got {op!r}")

    def forward(x: np.ndarray) -> np.ndarray:
        y: np.ndarray = op.forward(NUMPY, x)
        return y

    def derivative(x: np.ndarray, out: np.ndarray) -> np.ndarray:
        dy: np.ndarray = op.derivative(NUMPY, (x,), out)[0]
        return dy

    return forward, derivative


def _default_params(fn: Any) -> list[Value]:
    parameters = getattr(fn, "parameters", None)
    if callable(parameters):
        return list(parameters())
    return []


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= atol + rtol * abs(b)


def _mismatch(i: int, what: str, compiled: float, eager: float) -> str:
    return (f"sample {i}: {what} is {compiled!r} compiled but {eager!r} eager. The function probably "
            "branches on a Value's data (Python control flow is fixed at trace time); keep it eager "
            "or express the branch with an op such as relu")
