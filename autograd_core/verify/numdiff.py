"""Numeric derivatives with an error estimate: Richardson extrapolation over a step sweep.

A central difference of a smooth g has an error series in even powers of the step h,

    D(h) = (g(x + h) − g(x − h)) / 2h = g'(x) + c₂h² + c₄h⁴ + …

so differences at h and h/2 combine into (4·D(h/2) − D(h)) / 3 = g'(x) + O(h⁴), and those
again into an O(h⁶) value (Richardson extrapolation). One-sided secants (g(x + 2h) − g(x + h)) / h
have a series in all powers of h and are extrapolated the same way with factors 2, 4, 8.

Nobody knows in advance which h suits g: too large and truncation dominates, too small and the
rounding of g (about u·|g|/h, u = 2⁻⁵³) does. So the step is swept geometrically over many
decades, h = 2ᵏ, and every extrapolated value gets an error estimate: how far it lies from its
neighbour in the sweep and from the next lower order, plus the rounding bound. The estimate
with the smallest error wins, as in numdifftools. The error estimate is what a gradient check
compares against: a tolerance that follows the numeric derivative's own accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["U", "Estimate", "step_sweep", "difference_noise", "extrapolate", "CENTRAL", "ONE_SIDED"]

U = 2.0**-53
"""Unit roundoff of float64: a correctly rounded result is within a factor 1 ± U of the truth."""

CENTRAL = (2, 4)
"""Error powers a central difference's extrapolation removes (leaving O(h⁶))."""

ONE_SIDED = (1, 2, 3)
"""Error powers a one-sided secant's extrapolation removes (leaving O(h⁴))."""

# How many times the rounding of g (in units of U·|g|) a difference is assumed to carry: g is
# usually a few operations deep, each rounding once.
_ROUNDING_ULPS = 4.0


@dataclass(frozen=True)
class Estimate:
    """A numeric derivative, its estimated absolute error and the steps it was built from."""

    value: float
    error: float
    h_max: float
    h_min: float


def step_sweep(x: float, count: int = 46) -> list[float]:
    """Steps 2ᵏ from about max(|x|, 1)/8 down by halves, ``count`` of them.

    Powers of two keep ``x ± h`` exact (short of a binade change). Starting at the scale of
    max(|x|, 1), 46 halvings end about 16 ulps of x above the spacing of floats: the whole range
    where a derivative can be read, for sin at 1e5 as for x² at 1e12.
    """
    top = math.frexp(max(abs(x), 1.0))[1] - 3
    return [math.ldexp(1.0, top - k) for k in range(count)]


def difference_noise(g_values: Sequence[float], step: float, rounding: float = 0.0) -> float:
    """The rounding bound of a difference quotient of ``g_values`` over ``step``.

    ``rounding`` bounds the error with which g itself is computed, when known: it can far
    exceed u·|g| (log(1 + z²) at z = 1e-6 rounds 1 + z² to 1 before taking the log).
    """
    return (_ROUNDING_ULPS * U * sum(abs(v) for v in g_values) + 2.0 * rounding) / abs(step)


def extrapolate(diffs: Sequence[float], steps: Sequence[float], noise: Sequence[float],
                powers: Sequence[int]) -> Estimate | None:
    """The best Richardson value of ``diffs`` (taken at ``steps`` halving each time).

    ``diffs[k] ≈ d + Σⱼ cⱼ·steps[k]^powers[j]``; ``noise[k]`` bounds each one's rounding.
    Level j removes the hᵖʲ term: Tⱼ[k] = Tⱼ₋₁[k] + (Tⱼ₋₁[k] − Tⱼ₋₁[k−1]) / (2ᵖʲ − 1). The
    error of T_J[k] is estimated as |T_J[k] − T_J[k−1]| + |T_J[k] − T_{J−1}[k]| (truncation
    and noise as seen from neighbours), its largest value over the window k−1..k+1 (so that two
    estimates agreeing by chance do not claim a tiny error), plus the propagated rounding
    bound. Returns ``None`` when there are too few differences for a guarded estimate.
    """
    levels = len(powers)
    n = len(diffs)
    if n < levels + 2:
        return None
    table = [list(diffs)]
    spread = [list(noise)]
    for j, p in enumerate(powers, start=1):
        factor = 2.0**p - 1.0
        prev, prev_noise = table[j - 1], spread[j - 1]
        row = [math.nan] * n
        row_noise = [math.nan] * n
        for k in range(j, n):
            row[k] = prev[k] + (prev[k] - prev[k - 1]) / factor
            row_noise[k] = ((factor + 1.0) * prev_noise[k] + prev_noise[k - 1]) / factor
        table.append(row)
        spread.append(row_noise)
    top, below, top_noise = table[levels], table[levels - 1], spread[levels]
    first = levels + 1
    raw = {k: abs(top[k] - top[k - 1]) + abs(top[k] - below[k]) for k in range(first, n)}
    candidates: list[Estimate] = []
    bands = (*powers, 2 * powers[-1] - powers[-2] if levels > 1 else powers[-1] + 1)
    for k in range(first, n):
        window = max(raw[i] for i in (k - 1, k, k + 1) if i in raw)
        error = window + top_noise[k]
        if not _asymptotic(diffs, noise, k, bands):
            # Extrapolation assumes the error series already dominates; where it does not,
            # only the plain difference's own change is an honest error.
            error = max(error, abs(diffs[k] - diffs[k - 1]))
        if not math.isfinite(top[k]) or not math.isfinite(error):
            continue
        candidates.append(Estimate(top[k], error, steps[k - levels - 1], steps[k]))
    # The derivative is the limit h → 0, so smaller steps have the last word: walking up from
    # them, a larger step's estimate counts only if it agrees with the best one so far within
    # both errors. Far beyond g's own scale, powers-of-two steps can alias (sin(2a) = 2·sin a·cos a
    # makes sin(2ᵏ)/2ᵏ look convergent), and only this comparison exposes it.
    # A distance to the best so far that the best's own error does not explain is error too.
    best: Estimate | None = None
    for candidate in reversed(candidates):
        if best is None:
            best = candidate
            continue
        gap = abs(candidate.value - best.value)
        if gap > 2.0 * (candidate.error + best.error):
            continue
        candidate = Estimate(candidate.value, max(candidate.error, gap - best.error), candidate.h_max,
                             candidate.h_min)
        if _better(candidate, best):
            best = candidate
    return best


def _asymptotic(diffs: Sequence[float], noise: Sequence[float], k: int, bands: Sequence[int]) -> bool:
    """Whether the differences around k shrink as a power series says: by about 2ᵖ per halving.

    Far beyond g's own scale (sin(x ± h) for h ≫ 1), differences wander at random yet can agree
    by chance; the ratio of successive changes tells the two regimes apart. Changes within the
    rounding noise say nothing and are skipped.
    """
    for i in range(max(k - 2, 2), min(k + 1, len(diffs) - 1) + 1):
        before, after = diffs[i - 1] - diffs[i - 2], diffs[i] - diffs[i - 1]
        floor = 8.0 * (noise[i] + noise[i - 1] + noise[i - 2])
        if abs(before) <= floor or abs(after) <= floor:
            continue
        ratio = before / after
        if not any(0.6 * 2.0**p <= ratio <= 1.6 * 2.0**p for p in bands):
            return False
    return True


def _better(a: Estimate, b: Estimate) -> bool:
    # An estimate whose error exceeds its size does not even know its sign. Steps far beyond g's
    # own scale give such values, consistently small (sin(x ± h) averages out: D(h) ~ 1/h), so
    # they could win on absolute error alone; any estimate that pins down a digit beats them.
    a_informs, b_informs = a.error < abs(a.value), b.error < abs(b.value)
    if a_informs != b_informs:
        return a_informs
    return a.error < b.error
