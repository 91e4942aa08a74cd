"""``BatchNorm1d``: normalise each feature over the batch, then scale and shift.

For feature j over a batch of N samples (training mode):

    μⱼ = (1/N) Σᵢ zᵢⱼ          σ²ⱼ = (1/N) Σᵢ (zᵢⱼ − μⱼ)²        (biased: used to normalise)
    ẑᵢⱼ = (zᵢⱼ − μⱼ) / √(σ²ⱼ + ε)          yᵢⱼ = γⱼ ẑᵢⱼ + βⱼ

μ and σ² are built from Value ops, so ∂C/∂z flows through them as well as through zᵢⱼ (every
sample's gradient depends on the whole batch). The running estimates used in eval mode are
updated as PyTorch does, with the unbiased variance N/(N−1)·σ²:

    running_mean ← (1 − m)·running_mean + m·μ        running_var ← (1 − m)·running_var + m·σ²·N/(N−1)

(``momentum=None`` means a cumulative average, m = 1/num_batches_tracked). Normalising keeps
the pre-activations of every layer near zero mean and unit variance whatever the weights do,
which fights vanishing and exploding gradients.
"""

from __future__ import annotations

import math
from typing import Any

from autograd_core import Value

from .module import Module

__all__ = ["BatchNorm1d"]


class BatchNorm1d(Module):
    """``torch.nn.BatchNorm1d`` for lists: call it on a batch (list of samples of ``num_features``).

    Learnable ``gamma`` (starts at 1) and ``beta`` (starts at 0) are lists of Values; the
    buffers ``running_mean``/``running_var`` are lists of floats and ``num_batches_tracked``
    an int. Training mode needs a batch of at least 2; eval mode uses the running statistics
    and also accepts a single sample.
    """

    buffer_names = ("running_mean", "running_var", "num_batches_tracked")

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True) -> None:
        if not isinstance(num_features, int) or isinstance(num_features, bool) or num_features < 1:
            raise ValueError(f"num_features must be a positive int, got {num_features!r}")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps!r}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1] or None, got {momentum!r}")
        self.num_features = num_features
        self.eps = float(eps)
        self.momentum = momentum
        self.affine = affine
        self.gamma = [Value(1.0, f"gamma{j}") for j in range(num_features)] if affine else []
        self.beta = [Value(0.0, f"beta{j}") for j in range(num_features)] if affine else []
        self.running_mean = [0.0] * num_features
        self.running_var = [1.0] * num_features
        self.num_batches_tracked = 0

    def reset_running_stats(self) -> None:
        self.running_mean = [0.0] * self.num_features
        self.running_var = [1.0] * self.num_features
        self.num_batches_tracked = 0

    def _check(self, X: list[list[Any]]) -> None:
        for i, x in enumerate(X):
            if len(x) != self.num_features:
                raise ValueError(f"BatchNorm1d({self.num_features}) expects samples of {self.num_features} "
                                 f"features, got {len(x)} in sample {i}")

    def forward(self, x: list[Any]) -> list[Any]:
        if self.training:
            raise ValueError(f"BatchNorm1d({self.num_features}) in training mode needs a batch (its statistics are "
                             "taken over the samples): call the model on a list of samples / a 2-D array, or call "
                             ".eval() first to use the running statistics")
        return self.forward_batch([x])[0]

    def forward_batch(self, X: list[list[Any]]) -> list[list[Any]]:
        self._check(X)
        n = len(X)
        if not self.training:
            return [self._affine([(v - rm) / math.sqrt(rv + self.eps)
                                  for v, rm, rv in zip(x, self.running_mean, self.running_var)]) for x in X]
        if n < 2:
            raise ValueError(f"BatchNorm1d in training mode expected more than 1 value per channel, got a batch of "
                             f"{n} sample; pass a batch of at least 2 samples or call .eval() first")
        columns = []
        for j in range(self.num_features):
            col = [x[j] for x in X]
            mean = sum(col) / n
            centred = [v - mean for v in col]
            var = sum(c * c for c in centred) / n
            inv_std = 1.0 / (var + self.eps).sqrt() if isinstance(var, Value) else 1.0 / math.sqrt(var + self.eps)
            columns.append([c * inv_std for c in centred])
            self._update_running(j, float(mean), float(var), n)
        self.num_batches_tracked += 1
        return [self._affine([col[i] for col in columns]) for i in range(n)]

    def _update_running(self, j: int, mean: float, var: float, n: int) -> None:
        m = self.momentum if self.momentum is not None else 1.0 / (self.num_batches_tracked + 1)
        self.running_mean[j] = (1.0 - m) * self.running_mean[j] + m * mean
        self.running_var[j] = (1.0 - m) * self.running_var[j] + m * var * n / (n - 1)

    def _affine(self, zhat: list[Any]) -> list[Any]:
        if not self.affine:
            return zhat
        return [g * z + b for g, z, b in zip(self.gamma, zhat, self.beta)]

    def config(self) -> dict[str, Any]:
        return {"type": "BatchNorm1d", "num_features": self.num_features, "eps": self.eps,
                "momentum": self.momentum, "affine": self.affine}

    def __repr__(self) -> str:
        return f"BatchNorm1d({self.num_features}, eps={self.eps}, momentum={self.momentum})"
