"""Learning-rate schedules η(k): call ``scheduler.step()`` after each ``optimizer.step()``.

Each sets ``optimizer.lr`` (every parameter group) from the group's initial rate η₀ and the
step count k, in closed form, matching ``torch.optim.lr_scheduler`` (to rounding):

* ``StepLR``: η₀ · γ^⌊k / step_size⌋ — drop by γ every ``step_size`` steps;
* ``LinearLR``: η₀ · (s + (e − s) · min(k, T)/T) — micrograd's demo rate 1.0 − 0.9·k/100 is
  ``LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=100)`` with η₀ = 1;
* ``CosineAnnealingLR``: η_min + (η₀ − η_min)·(1 + cos(π·k/T))/2 — fast early, gentle late.

A schedule changes only the number η in each group, so it serves eager and compiled training
alike: ``fit(..., compiled=True)`` updates its weight array with the optimizer's array form
(:class:`~nn.optim.FlatOptimizer`), which reads η from the groups on every step.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from .optim import Optimizer

__all__ = ["LRScheduler", "StepLR", "LinearLR", "CosineAnnealingLR"]


class LRScheduler:
    """Base class: remembers each group's ``initial_lr`` and sets ``lr`` for step ``last_epoch``."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} needs an nn.optim Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def factor(self, k: int) -> float:
        """η(k)/η₀ for the schedules that scale the initial rate."""
        raise NotImplementedError

    def get_lr(self) -> list[float]:
        return [base * self.factor(self.last_epoch) for base in self.base_lrs]

    def step(self) -> None:
        """Advance k by one and write the new rate into every parameter group."""
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The rates set by the latest ``step()``, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)


def _positive_int(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


class StepLR(LRScheduler):
    """η = η₀ · γ^⌊k / step_size⌋ (``torch.optim.lr_scheduler.StepLR``).

    Past the float range (γ > 1 for long enough) η is ±inf, as torch's schedule gives (it
    multiplies the rate by γ at each drop); η₀ = 0 stays 0 (signed as torch's is). The closed
    form here and torch's running product differ by rounding only (a few ulps after 1,000 drops).
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size = _positive_int("step_size", step_size)
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def factor(self, k: int) -> float:
        return _times_power(1.0, self.gamma, k // self.step_size)

    def get_lr(self) -> list[float]:
        n = self.last_epoch // self.step_size
        return [_times_power(base, self.gamma, n) for base in self.base_lrs]


def _times_power(x: float, g: float, n: int) -> float:
    """x·gⁿ as the product x·g·g·…·g would be in IEEE arithmetic, up to rounding: ±inf past the float
    range, never an ``OverflowError`` (Python's ``**`` raises one), and no 0·inf = nan or early
    underflow of gⁿ alone when x brings the product back into range."""
    if x == 0 or math.isinf(x) or math.isnan(x):
        return x * math.copysign(1.0, g) ** n if g != 0 or n == 0 else x * 0.0
    try:
        p = g**n
    except OverflowError:
        p = math.inf
    if n > 1 and math.isfinite(g) and g != 0 and not sys.float_info.min <= abs(p) < math.inf:
        half = n // 2
        return _times_power(_times_power(x, g, half), g, n - half)
    return x * p


class LinearLR(LRScheduler):
    """η = η₀ · (s + (e − s)·min(k, T)/T), s = ``start_factor``, e = ``end_factor``, T = ``total_iters``.

    ``torch.optim.lr_scheduler.LinearLR``'s schedule (same defaults); with η₀ = 1, s = 1,
    e = 0.1, T = 100 it is micrograd's 1.0 − 0.9·k/100, bit for bit.
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        if not 0 < start_factor <= 1:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
        if not 0 <= end_factor <= 1:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor = float(start_factor)
        self.end_factor = float(end_factor)
        self.total_iters = _positive_int("total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def factor(self, k: int) -> float:
        return self.start_factor + (self.end_factor - self.start_factor) * min(k, self.total_iters) / self.total_iters


class CosineAnnealingLR(LRScheduler):
    """η = η_min + (η₀ − η_min)·(1 + cos(π·k/T_max))/2 (``torch.optim.lr_scheduler.CosineAnnealingLR``)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        self.T_max = _positive_int("T_max", T_max)
        self.eta_min = float(eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        k = self.last_epoch
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * k / self.T_max)) / 2
                for base in self.base_lrs]
