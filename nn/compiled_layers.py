"""The numpy form of each built-in layer, as the compiled :class:`~nn.compiled.Program` runs it.

Each stage reads its input rows ``x`` (samples × features) and writes its output into a buffer
allocated once per batch size (``alloc``); weights are views of the flat parameter vector θ and
gradients are written into views of ∂C/∂θ (``bind``):

* :class:`Dense` — a Layer or Neuron, a = σ([x, 1]·Mᵀ) with M = [W | b];
* :class:`BatchNormStage` — BatchNorm1d with batch or running statistics;
* :class:`ElementwiseStage` — an Activation module, a = σ(z).

``backward(dA, scratch, need_input)`` takes ∂C/∂(output) and returns ∂C/∂(input) (or None).
The activations' rules come from the op table (:func:`autograd_core.batch_rule`); relu's is
written with a boolean mask on preallocated buffers, the hot path of most models.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd_core import OPS, batch_rule

from .batchnorm import BatchNorm1d

__all__ = ["Dense", "BatchNormStage", "ElementwiseStage", "RELU"]

RELU = OPS["relu"]


class Dense:
    """a = σ([A, 1]·Mᵀ) for a Layer or a Neuron; M a (J, m + bias) view of θ."""

    def __init__(self, start: int, J: int, m: int, bias: bool, op: Any) -> None:
        self.start, self.J, self.m, self.bias = start, J, m, bias
        self.size = J * (m + bias)
        self.width_in, self.width_out, self.wants_ones = m, J, bias
        self.relu = op is RELU
        self.linear = op is None
        self.rule = None if op is None or self.relu else batch_rule(op)

    def bind(self, theta: np.ndarray, grad: np.ndarray) -> None:
        shape = (self.J, self.m + self.bias)
        self.M = theta[self.start:self.start + self.size].reshape(shape)
        self.W = self.M[:, :self.m]
        self.gM = grad[self.start:self.start + self.size].reshape(shape)

    def alloc(self, n: int, extra: int, dtype: Any) -> dict[str, Any]:
        out = np.empty((n, self.J + extra), dtype)
        if extra:
            out[:, self.J] = 1.0
        s = {"out": out, "dA": np.empty((n, self.m), dtype)}
        s["Z"] = out if self.linear and not extra else np.empty((n, self.J), dtype)
        if self.relu:
            s["mask"] = np.empty((n, self.J), dtype=bool)
        return s

    def forward(self, x: np.ndarray, s: dict[str, Any], training: bool, update: bool) -> None:
        s["x"] = x
        Z, out = s["Z"], s["out"]
        np.matmul(x, self.M.T, out=Z)
        if self.relu:
            np.maximum(Z, 0.0, out=out[:, :self.J])
        elif self.rule is not None:
            s["a"] = self.rule[0](Z)
            out[:, :self.J] = s["a"]
        elif Z is not out:
            out[:, :self.J] = Z

    def backward(self, dA: np.ndarray, s: dict[str, Any], need_input: bool) -> np.ndarray | None:
        if self.relu:
            # relu'(z) = 0 for z ≤ 0, else 1 (nan passes the gradient, as the eager rule).
            mask = s["mask"]
            np.less_equal(s["Z"], 0.0, out=mask)
            np.logical_not(mask, out=mask)
            np.multiply(dA, mask, out=dA)
        elif self.rule is not None:
            dA *= self.rule[1](s["Z"], s["a"])
        np.matmul(dA.T, s["x"], out=self.gM)
        if not need_input:
            return None
        return np.matmul(dA, self.W, out=s["dA"])


class BatchNormStage:
    """BatchNorm1d on a batch: batch statistics (training, or no running ones) or running ones."""

    def __init__(self, start: int, module: BatchNorm1d) -> None:
        F = module.num_features
        self.start, self.module, self.F = start, module, F
        self.affine = module.affine
        self.size = 2 * F if module.affine else 0
        self.width_in = self.width_out = F
        self.wants_ones = False
        self.eps = module.eps
        self.momentum = module.momentum
        self.training = module.training
        self.tracking = module.track_running_stats
        self.read_buffers()

    def read_buffers(self) -> None:
        m = self.module
        if self.tracking:
            self.running_mean = np.array(m.running_mean, dtype=np.float64)
            self.running_var = np.array(m.running_var, dtype=np.float64)
            self.tracked = int(m.num_batches_tracked or 0)

    def write_buffers(self) -> None:
        if self.tracking:
            self.module.running_mean = self.running_mean.tolist()
            self.module.running_var = self.running_var.tolist()
            self.module.num_batches_tracked = self.tracked

    def bind(self, theta: np.ndarray, grad: np.ndarray) -> None:
        F, a = self.F, self.start
        if self.affine:
            self.gamma, self.beta = theta[a:a + F], theta[a + F:a + 2 * F]
            self.dgamma, self.dbeta = grad[a:a + F], grad[a + F:a + 2 * F]

    def alloc(self, n: int, extra: int, dtype: Any) -> dict[str, Any]:
        out = np.empty((n, self.F + extra), dtype)
        if extra:
            out[:, self.F] = 1.0
        return {"out": out}

    def forward(self, x: np.ndarray, s: dict[str, Any], training: bool, update: bool) -> None:
        n = x.shape[0]
        batch_stats = not self.tracking or (self.training and training)
        if batch_stats:
            if n < 2:
                raise ValueError(f"BatchNorm1d({self.F}) expected more than 1 value per channel when using batch "
                                 f"statistics, got a batch of {n} sample; pass at least 2 samples or call .eval()")
            mean = x.mean(axis=0)
            centred = x - mean
            var = (centred * centred).mean(axis=0)
            inv_std = 1.0 / np.sqrt(var + self.eps)
            if update and self.tracking and self.training:
                m = self.momentum if self.momentum is not None else 1.0 / (self.tracked + 1)
                self.running_mean = (1.0 - m) * self.running_mean + m * mean
                self.running_var = (1.0 - m) * self.running_var + m * var * n / (n - 1)
                self.tracked += 1
        else:
            centred = x - self.running_mean
            inv_std = 1.0 / np.sqrt(self.running_var + self.eps)
        xhat = centred * inv_std
        s["xhat"], s["inv_std"], s["batch_stats"] = xhat, inv_std, batch_stats
        y = self.gamma * xhat + self.beta if self.affine else xhat
        s["out"][:, :self.F] = y

    def backward(self, dY: np.ndarray, s: dict[str, Any], need_input: bool) -> np.ndarray | None:
        xhat, inv_std = s["xhat"], s["inv_std"]
        if self.affine:
            self.dbeta[:] = dY.sum(axis=0)
            self.dgamma[:] = (dY * xhat).sum(axis=0)
            dxhat = dY * self.gamma
        else:
            dxhat = dY
        if not need_input:
            return None
        if not s["batch_stats"]:
            return dxhat * inv_std
        # ∂C/∂x = (1/σ)·(∂C/∂x̂ − mean(∂C/∂x̂) − x̂·mean(∂C/∂x̂ · x̂)): μ and σ² depend on every sample.
        return inv_std * (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0))


class ElementwiseStage:
    """a = σ(z) elementwise, for an Activation module."""

    def __init__(self, op: Any, width: int) -> None:
        self.size = 0
        self.width_in = self.width_out = width
        self.wants_ones = False
        self.op = op
        self.rule = batch_rule(op) if op is not None else None

    def bind(self, theta: np.ndarray, grad: np.ndarray) -> None:
        pass

    def alloc(self, n: int, extra: int, dtype: Any) -> dict[str, Any]:
        out = np.empty((n, self.width_out + extra), dtype)
        if extra:
            out[:, self.width_out] = 1.0
        return {"out": out}

    def forward(self, x: np.ndarray, s: dict[str, Any], training: bool, update: bool) -> None:
        s["x"] = x
        s["a"] = x if self.rule is None else self.rule[0](x)
        s["out"][:, :self.width_out] = s["a"]

    def backward(self, dA: np.ndarray, s: dict[str, Any], need_input: bool) -> np.ndarray | None:
        if not need_input:
            return None
        return dA if self.rule is None else dA * self.rule[1](s["x"], s["a"])
