"""``BatchNorm1d``: normalise each feature over the batch, then scale and shift.

For feature j over a batch B of N samples, with the batch mean μ_B and biased variance σ²_B:

    μ_B = (1/N) Σᵢ xᵢⱼ          σ²_B = (1/N) Σᵢ (xᵢⱼ − μ_B)²        (biased: used to normalise)
    x̂ᵢⱼ = (xᵢⱼ − μ_B) / √(σ²_B + ε)          yᵢⱼ = γⱼ·x̂ᵢⱼ + βⱼ

μ_B and σ²_B are built from Value ops, so ∂C/∂x flows through them as well as through xᵢⱼ (every
sample's gradient depends on the whole batch). With ``track_running_stats=True`` (default)
training mode also updates running estimates, as PyTorch does with the unbiased variance
N/(N−1)·σ²_B, and eval mode normalises with them instead of μ_B and σ²_B:

    running_mean ← (1 − m)·running_mean + m·μ_B        running_var ← (1 − m)·running_var + m·σ²_B·N/(N−1)

(``momentum=None`` means a cumulative average, m = 1/num_batches_tracked). With
``track_running_stats=False`` there are no running estimates (the buffers are ``None``, as in
PyTorch) and every call, in training and eval mode alike, uses the batch's own μ_B and σ²_B.
Normalising keeps the pre-activations of every layer near zero mean and unit variance whatever
the weights do, which fights vanishing and exploding gradients.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from autograd_core import Value

from .config_schema import ConfigCheck, ConfigCost, flag, momentum, positive, width
from .module import Module

__all__ = ["BatchNorm1d"]

_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


def _normalise(v: Any, mean: float, var_eps: float) -> Any:
    """(v − μ)/√(σ² + ε) with torch's IEEE results when σ² + ε ≤ 0 (a running variance set by hand).

    torch multiplies by 1/√(σ² + ε): inf at 0 (so 0·inf = nan at v = μ) and nan below 0; a raw
    ``math.sqrt`` would raise "math domain error" and a division by 0 ZeroDivisionError instead.
    """
    if var_eps > 0.0 or math.isnan(var_eps):
        return (v - mean) / math.sqrt(var_eps)
    return (v - mean) * (math.inf if var_eps == 0.0 else math.nan)


class BatchNorm1d(Module):
    """``torch.nn.BatchNorm1d`` for lists: call it on a batch (list of samples of ``num_features``).

    Learnable ``gamma`` (γ, starts at 1) and ``beta`` (β, starts at 0) are lists of Values
    (empty with ``affine=False``). With ``track_running_stats=True`` the buffers
    ``running_mean``/``running_var`` are lists of floats and ``num_batches_tracked`` an int;
    training mode needs a batch of at least 2 and eval mode uses the running statistics, so it
    also accepts a single sample. With ``track_running_stats=False`` the three buffers are
    ``None`` and both modes normalise with the batch's statistics, so both need a batch of ≥ 2.
    """

    config_schema: ClassVar[dict[str, ConfigCheck]] = {
        "num_features": width,
        "eps": positive,
        "momentum": momentum,
        "affine": flag,
        "track_running_stats": flag,
    }
    # Files written before track_running_stats existed always tracked running statistics.
    config_added_keys: ClassVar[dict[str, Any]] = {"track_running_stats": True}

    @classmethod
    def config_cost(cls, config: dict[str, Any]) -> ConfigCost:
        n = config["num_features"]
        # γ and β; running mean and variance (one number per feature) and the batch count.
        return ConfigCost(parameters=2 * n if config["affine"] else 0,
                          buffers=2 * n + 1 if config["track_running_stats"] else 0)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True) -> None:
        if not isinstance(num_features, int) or isinstance(num_features, bool) or num_features < 1:
            raise ValueError(f"num_features must be a positive int, got {num_features!r}")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps!r}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1] or None, got {momentum!r}")
        if not isinstance(track_running_stats, bool):
            raise TypeError(f"track_running_stats must be a bool (True or False), got "
                            f"{type(track_running_stats).__name__} {track_running_stats!r:.40}")
        self.num_features = num_features
        self.eps = float(eps)
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self.gamma = [Value(1.0, f"gamma{j}") for j in range(num_features)] if affine else []
        self.beta = [Value(0.0, f"beta{j}") for j in range(num_features)] if affine else []
        self.running_mean: list[float] | None = None
        self.running_var: list[float] | None = None
        self.num_batches_tracked: int | None = None
        # No buffers without running statistics, so state_dict() and saved files hold none (as torch).
        self.buffer_names = _BUFFERS if track_running_stats else ()
        self.reset_running_stats()

    def reset_running_stats(self) -> None:
        """Running mean 0, variance 1, no batches seen; nothing to reset without running statistics."""
        if self.track_running_stats:
            self.running_mean = [0.0] * self.num_features
            self.running_var = [1.0] * self.num_features
            self.num_batches_tracked = 0

    def _check(self, X: list[list[Any]]) -> None:
        for i, x in enumerate(X):
            if len(x) != self.num_features:
                raise ValueError(f"BatchNorm1d({self.num_features}) expects samples of {self.num_features} "
                                 f"features, got {len(x)} in sample {i}")

    def forward(self, x: list[Any]) -> list[Any]:
        if not self.track_running_stats:
            raise ValueError(f"BatchNorm1d({self.num_features}, track_running_stats=False) needs a batch in training "
                             "and eval mode alike (with no running statistics it always normalises with the batch's "
                             "own μ and σ²): call the model on a list of at least 2 samples / a 2-D array")
        if self.training:
            raise ValueError(f"BatchNorm1d({self.num_features}) in training mode needs a batch (its statistics are "
                             "taken over the samples): call the model on a list of samples / a 2-D array, or call "
                             ".eval() first to use the running statistics")
        return self.forward_batch([x])[0]

    def forward_batch(self, X: list[list[Any]]) -> list[list[Any]]:
        self._check(X)
        n = len(X)
        if not self.training and self.running_mean is not None and self.running_var is not None:
            return [self._affine([_normalise(v, rm, rv + self.eps)
                                  for v, rm, rv in zip(x, self.running_mean, self.running_var)]) for x in X]
        if n < 2:
            raise ValueError(self._small_batch_message(n))
        # Only training mode with running statistics updates them; eval mode without them just normalises.
        update = self.training and self.track_running_stats
        columns = []
        for j in range(self.num_features):
            col = [x[j] for x in X]
            mean = sum(col) / n
            centred = [v - mean for v in col]
            var = sum(c * c for c in centred) / n
            inv_std = 1.0 / (var + self.eps).sqrt() if isinstance(var, Value) else 1.0 / math.sqrt(var + self.eps)
            columns.append([c * inv_std for c in centred])
            if update:
                self._update_running(j, float(mean), float(var), n)
        if update and self.num_batches_tracked is not None:
            self.num_batches_tracked += 1
        return [self._affine([col[i] for col in columns]) for i in range(n)]

    def _small_batch_message(self, n: int) -> str:
        # PyTorch's wording ("more than 1 value per channel"), then what to do about it.
        if self.track_running_stats:
            return (f"BatchNorm1d in training mode expected more than 1 value per channel, got a batch of {n} "
                    "sample; pass a batch of at least 2 samples or call .eval() first")
        mode = "training" if self.training else "eval"
        return (f"BatchNorm1d(track_running_stats=False) in {mode} mode expected more than 1 value per channel, "
                f"got a batch of {n} sample; with no running statistics it normalises with the batch's own μ and "
                "σ² in both modes, so pass a batch of at least 2 samples (or build it with "
                "track_running_stats=True to normalise single samples in eval mode)")

    def _update_running(self, j: int, mean: float, var: float, n: int) -> None:
        assert self.running_mean is not None and self.running_var is not None  # only called when tracking
        tracked = self.num_batches_tracked or 0
        m = self.momentum if self.momentum is not None else 1.0 / (tracked + 1)
        self.running_mean[j] = (1.0 - m) * self.running_mean[j] + m * mean
        self.running_var[j] = (1.0 - m) * self.running_var[j] + m * var * n / (n - 1)

    def _affine(self, zhat: list[Any]) -> list[Any]:
        if not self.affine:
            return zhat
        return [g * z + b for g, z, b in zip(self.gamma, zhat, self.beta)]

    def config(self) -> dict[str, Any]:
        return {"type": "BatchNorm1d", "num_features": self.num_features, "eps": self.eps,
                "momentum": self.momentum, "affine": self.affine, "track_running_stats": self.track_running_stats}

    def __repr__(self) -> str:
        # Flags only when not the default, so the common case reads like torch's BatchNorm1d(n).
        flags = "".join(f", {name}=False" for name in ("affine", "track_running_stats") if not getattr(self, name))
        return f"BatchNorm1d({self.num_features}, eps={self.eps}, momentum={self.momentum}{flags})"
