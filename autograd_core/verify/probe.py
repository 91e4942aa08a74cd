"""Numeric derivatives of a function that builds a graph, and the pieces its graph runs through.

gradcheck samples f (or its gradient) at x ± h·eⱼ for a sweep of steps h. Each sample also records
its *piece*: the graph's structure (op names and edges in topological order) and, for every op
with a kink (``Op.kink``: relu, abs, leaky_relu), which side of the corner its argument is on.
Nodes are matched between samples by position and op name. A step whose samples lie on the
center's piece sees f smooth, so central differences and Richardson extrapolation apply; when even
the smallest step leaves it, x sits at a kink that xⱼ moves (or where the graph changes), and the
one-sided derivatives f'(x−), f'(x+) are estimated from secants on each side, each on the piece
nearest x.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..backward import gradients
from ..graph import topological_order
from ..value import Value, to_float
from .numdiff import CENTRAL, ONE_SIDED, Estimate, difference_noise, extrapolate

__all__ = ["Sample", "Numeric", "Sweep", "as_output", "sample_value", "sample_gradient", "walk", "crossing_label",
           "adaptive", "fixed"]


@dataclass(frozen=True)
class Sample:
    """Outputs at one point and the graph's piece: its structure and every kink's side."""

    values: tuple[float, ...]
    shape: tuple[str, ...] | None
    sides: tuple[int, ...]
    kink_names: tuple[str, ...]

    def same_piece(self, other: Sample) -> bool:
        return self.shape is not None and self.sides == other.sides and self.shape == other.shape

    def crossed_from(self, center: Sample) -> bool:
        """On another piece than ``center`` (a sample that raised is on none and crosses nothing)."""
        return self.shape is not None and not self.same_piece(center)


def _side(s: float) -> int:
    return 1 if s > 0 else -1 if s < 0 else 0 if s == 0 else 2


def _piece(out: Value) -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...]]:
    # Op names by position in topological order: two evaluations whose names agree are taken
    # to be the same graph, and a kinked op is identified by its position.
    shape, sides, names = [], [], []
    for node in topological_order(out):
        fn = node.fn
        if fn is None:
            shape.append("")
            continue
        shape.append(fn.name)
        if fn.kink is not None:
            sides.append(_side(fn.kink([p.data for p in node.parents])))
            names.append(fn.name)
    return tuple(shape), tuple(sides), tuple(names)


def as_output(out: Any) -> Value:
    """fn's result as a Value (a number becomes a constant), or a TypeError naming what it was."""
    if isinstance(out, Value):
        return out
    try:
        return Value(to_float(out))
    except TypeError:
        raise TypeError(f"gradcheck: fn must return a Value, got {type(out).__name__}") from None


def sample_value(fn: Callable[..., Any], xs: Sequence[float]) -> Sample:
    out = as_output(fn(*[Value(x) for x in xs]))
    return Sample((out.data,), *_piece(out))


def sample_gradient(fn: Callable[..., Any], xs: Sequence[float]) -> Sample:
    leaves = [Value(x) for x in xs]
    out = as_output(fn(*leaves))
    return Sample(tuple(to_float(g) for g in gradients(out, leaves)), *_piece(out))


def _failed_sample(width: int) -> Sample:
    return Sample((math.nan,) * width, None, (), ())


def _sample_or_nan(sample: Callable[..., Sample], fn: Callable[..., Any], xs: Sequence[float],
                   width: int) -> Sample:
    # A perturbed point may leave f's domain (a custom op raising there): that step is unusable.
    try:
        return sample(fn, xs)
    except (ArithmeticError, ValueError):
        return _failed_sample(width)


@dataclass(frozen=True)
class Numeric:
    """The numeric side of one row: a central estimate, or the one-sided pair at a kink."""

    central: Estimate | None = None
    left: Estimate | None = None
    right: Estimate | None = None
    method: str = ""


@dataclass(frozen=True)
class Sweep:
    """f sampled at x ± hₖ·eⱼ: the signed offsets actually taken and the samples there."""

    steps: list[float]
    plus: list[tuple[float, Sample]]
    minus: list[tuple[float, Sample]]


def walk(sample: Callable[..., Sample], fn: Callable[..., Any], xs: list[float], j: int,
         steps: Sequence[float], width: int) -> Sweep:
    """Sample ``fn`` at ``xs`` with xⱼ moved by ±h for every h in ``steps``."""
    plus: list[tuple[float, Sample]] = []
    minus: list[tuple[float, Sample]] = []
    for h in steps:
        for sign, side in ((1.0, plus), (-1.0, minus)):
            p = list(xs)
            p[j] = xs[j] + sign * h
            side.append((p[j] - xs[j], _sample_or_nan(sample, fn, p, width)))
    return Sweep(list(steps), plus, minus)


def crossing_label(center: Sample, sweep: Sweep) -> tuple[str, bool]:
    """Which corner the smallest step crosses: op names, or a change of graph structure."""
    for _, s in (sweep.plus[-1], sweep.minus[-1]):
        if s.shape is not None and s.shape != center.shape:
            return "a change of graph structure", True
    names = []
    for _, s in (sweep.plus[-1], sweep.minus[-1]):
        if s.shape is None:
            continue
        for name, a, b in zip(center.kink_names, center.sides, s.sides):
            if a != b and name not in names:
                names.append(name)
    return ("kink of " + ", ".join(names)) if names else "a kink", False


def _steps_text(e: Estimate) -> str:
    return f"h={e.h_max:.0e}..{e.h_min:.0e}"


def _central(center: Sample, sweep: Sweep, m: int, rounding: float) -> Estimate | None:
    # The trailing run of steps that stay on the center's piece with finite values.
    diffs: list[float] = []
    noise: list[float] = []
    steps: list[float] = []
    for h, (a, hi), (b, lo) in zip(sweep.steps, sweep.plus, sweep.minus):
        g_hi, g_lo = hi.values[m], lo.values[m]
        usable = hi.same_piece(center) and lo.same_piece(center) and math.isfinite(g_hi) and math.isfinite(g_lo)
        if not usable:
            diffs, noise, steps = [], [], []
            continue
        diffs.append((g_hi - g_lo) / (a - b))
        noise.append(difference_noise((g_hi, g_lo), a - b, rounding))
        steps.append(h)
    return extrapolate(diffs, steps, noise, CENTRAL)


def _one_sided(side: list[tuple[float, Sample]], steps: Sequence[float], m: int,
               rounding: float) -> Estimate | None:
    """f'(x±) from secants between neighbouring steps on one side, on the piece nearest x."""
    runs: list[tuple[list[float], list[float], list[float]]] = []
    run: tuple[list[float], list[float], list[float]] = ([], [], [])
    for k in range(1, len(side)):
        (t0, s0), (t1, s1) = side[k - 1], side[k]
        g0, g1 = s0.values[m], s1.values[m]
        if not (s0.same_piece(s1) and math.isfinite(g0) and math.isfinite(g1)):
            if run[0]:
                runs.append(run)
            run = ([], [], [])
            continue
        run[0].append((g0 - g1) / (t0 - t1))
        run[1].append(difference_noise((g0, g1), t0 - t1, rounding))
        run[2].append(steps[k])
    if run[0]:
        runs.append(run)
    for diffs, noise, hs in reversed(runs):
        estimate = extrapolate(diffs, hs, noise, ONE_SIDED)
        if estimate is not None:
            return estimate
    return None


def adaptive(center: Sample, sweep: Sweep, m: int, rounding: float) -> Numeric:
    """∂outputₘ/∂xⱼ by Richardson over the steps that stay on x's piece, or one-sided at a kink.

    ``rounding`` bounds the error of computing outputₘ itself.
    """
    if not (sweep.plus[-1][1].crossed_from(center) or sweep.minus[-1][1].crossed_from(center)):
        estimate = _central(center, sweep, m, rounding)
        if estimate is not None:
            return Numeric(central=estimate, method=f"richardson {_steps_text(estimate)}")
        if not any(p.crossed_from(center) or q.crossed_from(center) for (_, p), (_, q) in zip(sweep.plus, sweep.minus)):
            return Numeric(method="none: f is not finite (or raises) near the point")
    label, _ = crossing_label(center, sweep)
    left = _one_sided(sweep.minus, sweep.steps, m, rounding)
    right = _one_sided(sweep.plus, sweep.steps, m, rounding)
    return Numeric(left=left, right=right, method=f"one-sided at {label}")


def fixed(center: Sample, sweep: Sweep, m: int, rounding: float) -> Numeric:
    """PyTorch's rule: one central difference with step eps (the sweep's last step), or the two
    one-sided ones when that step crosses a kink; the step 2·eps only estimates the error."""
    (a, hi), (b, lo) = sweep.plus[-1], sweep.minus[-1]
    g0, g_hi, g_lo = center.values[m], hi.values[m], lo.values[m]
    eps = sweep.steps[-1]
    if hi.same_piece(center) and lo.same_piece(center):
        value = (g_hi - g_lo) / (a - b)
        noise = difference_noise((g_hi, g_lo), a - b, rounding)
        (a2, hi2), (b2, lo2) = sweep.plus[0], sweep.minus[0]
        truncation = abs(value - (hi2.values[m] - lo2.values[m]) / (a2 - b2)) / 3.0
        error = truncation + noise if math.isfinite(truncation) else math.inf
        return Numeric(central=Estimate(value, error, eps, eps), method=f"fixed eps={eps:.0e}")
    label, _ = crossing_label(center, sweep)
    right = Estimate((g_hi - g0) / a, difference_noise((g_hi, g0), a, rounding), eps, eps)
    left = Estimate((g0 - g_lo) / -b, difference_noise((g0, g_lo), b, rounding), eps, eps)
    return Numeric(left=left, right=right, method=f"fixed eps={eps:.0e}, one-sided at {label}")
