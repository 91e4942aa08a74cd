"""Gradient checking: the engine's derivatives against central finite differences.

For each input xᵢ the numeric derivative is

    ∂f/∂xᵢ ≈ (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h,   h = ε·max(1, |xᵢ|)    (float64, error O(h²))

and it must agree with the analytic one within ``atol + rtol·|numeric|``. Following
CS231n's recipe, a pair that is exactly zero on both sides passes explicitly, and where a
kink (relu, abs, leaky_relu) lies within ±ε of the point the finite difference straddles
two pieces, so that input is reported as ``kink`` instead of as a wrong gradient.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .backward import gradients
from .graph import topological_order
from .value import Value, to_float

__all__ = [
    "GradcheckError",
    "GradcheckWarning",
    "GradcheckRow",
    "GradcheckReport",
    "check_gradients",
    "check_second_gradients",
    "gradcheck",
    "gradgradcheck",
]


class GradcheckError(AssertionError):
    """Analytic and numeric derivatives disagree; the message holds the full table."""

    def __init__(self, report: GradcheckReport) -> None:
        super().__init__(str(report))
        self.report = report


class GradcheckWarning(UserWarning):
    """A derivative could not be judged because a kink lies within ±eps of the point."""


@dataclass(frozen=True)
class GradcheckRow:
    """One compared derivative. ``name`` is ``x0`` (first order) or ``d²/dx0dx1`` (second)."""

    name: str
    analytic: float
    numeric: float
    rel_error: float
    status: str  # "ok", "both zero", "kink" or "MISMATCH"

    @property
    def ok(self) -> bool:
        return self.status != "MISMATCH"


@dataclass
class GradcheckReport:
    """The table of a check; ``passed`` is False when any row is a MISMATCH."""

    rows: list[GradcheckRow] = field(default_factory=list)
    title: str = "gradcheck"

    @property
    def passed(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def kinks(self) -> list[GradcheckRow]:
        return [r for r in self.rows if r.status == "kink"]

    def __str__(self) -> str:
        bad = sum(not r.ok for r in self.rows)
        verdict = "passed" if not bad else "failed"
        head = f"{self.title} {verdict}: {len(self.rows) - bad} of {len(self.rows)} derivatives agree"
        width = max([len(r.name) for r in self.rows] + [5])
        lines = [head, f"  {'input':<{width}}  {'analytic':>14}  {'numeric':>14}  {'rel.error':>9}  status"]
        for r in self.rows:
            lines.append(
                f"  {r.name:<{width}}  {r.analytic:>14.7g}  {r.numeric:>14.7g}  {r.rel_error:>9.2e}  {r.status}"
            )
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))


def _relative_error(a: float, n: float) -> float:
    if a == n:
        return 0.0
    scale = max(abs(a), abs(n))
    return abs(a - n) / scale if scale > 0 and math.isfinite(scale) else math.inf


def _judge(name: str, a: float, n: float, atol: float, rtol: float, kink: bool) -> GradcheckRow:
    rel = _relative_error(a, n)
    if a == 0.0 and n == 0.0:
        status = "both zero"
    elif abs(a - n) <= atol + rtol * abs(n):
        status = "ok"
    elif kink:
        status = "kink"
    else:
        status = "MISMATCH"
    return GradcheckRow(name, a, n, rel, status)


def _call(fn: Callable[..., Any], xs: Sequence[float]) -> Value:
    out = fn(*[Value(x) for x in xs])
    if not isinstance(out, Value):
        try:
            return Value(to_float(out))
        except TypeError:
            raise TypeError(f"gradcheck: fn must return a Value, got {type(out).__name__}") from None
    return out


def _kink_signature(out: Value) -> list[tuple[str, float]]:
    # Which side of each kink the graph is on: the sign of every kinked op's switch quantity.
    sig = []
    for node in topological_order(out):
        fn = node.fn
        if fn is not None and fn.kink is not None:
            s = fn.kink([p.data for p in node.parents])
            sig.append((fn.name, math.copysign(1.0, s) if s != 0 else 0.0))
    return sig


def _perturb(xs: Sequence[float], i: int, eps: float) -> tuple[list[float], list[float], float]:
    """``x ∓ h·eᵢ`` and the step actually taken, ``h = eps·max(1, |xᵢ|)``.

    Scaling by |xᵢ| keeps the step above float spacing for large inputs (1e8 + 1e-6 rounds to a
    different step; 1e12 + 1e-6 to none at all), and dividing by the step actually taken keeps
    the quotient honest after rounding.
    """
    if not math.isfinite(xs[i]):
        raise ValueError(f"gradcheck: input x{i} = {xs[i]!r} is not finite; finite differences need a finite point")
    h = eps * max(1.0, abs(xs[i]))
    lo, hi = list(xs), list(xs)
    lo[i] -= h
    hi[i] += h
    step = hi[i] - lo[i]
    if not step > 0.0:
        raise ValueError(f"gradcheck: eps={eps!r} gives no step at input x{i} = {xs[i]!r}; use a larger eps")
    return lo, hi, step


def _straddles_kink(fn: Callable[..., Any], xs: list[float], i: int, eps: float) -> bool:
    lo, hi, _ = _perturb(xs, i, eps)
    sigs = [_kink_signature(_call(fn, p)) for p in (lo, xs, hi)]
    if any(s == 0.0 for _, s in sigs[1]):
        return True
    return not (sigs[0] == sigs[1] == sigs[2])


def _as_floats(inputs: Sequence[Any]) -> list[float]:
    if isinstance(inputs, (int, float, Value)):
        inputs = [inputs]
    return [to_float(x) for x in inputs]


def _first_gradients(fn: Callable[..., Any], xs: Sequence[float]) -> tuple[float, ...]:
    leaves = [Value(x) for x in xs]
    out = fn(*leaves)
    if not isinstance(out, Value):
        return tuple(0.0 for _ in xs)
    return tuple(to_float(g) for g in gradients(out, leaves))


def check_gradients(fn: Callable[..., Any], inputs: Sequence[Any], *, eps: float = 1e-6,
                    atol: float = 1e-5, rtol: float = 1e-3) -> GradcheckReport:
    """The full first-order comparison table (``gradcheck`` without the verdict)."""
    xs = _as_floats(inputs)
    analytic = _first_gradients(fn, xs)
    report = GradcheckReport(title="gradcheck")
    for i in range(len(xs)):
        lo, hi, step = _perturb(xs, i, eps)
        numeric = (_call(fn, hi).data - _call(fn, lo).data) / step
        a = analytic[i]
        kink = not (abs(a - numeric) <= atol + rtol * abs(numeric)) and _straddles_kink(fn, xs, i, eps)
        report.rows.append(_judge(f"x{i}", a, numeric, atol, rtol, kink))
    return report


def check_second_gradients(fn: Callable[..., Any], inputs: Sequence[Any], *, eps: float = 1e-6,
                           atol: float = 1e-5, rtol: float = 1e-3) -> GradcheckReport:
    """Every ∂²f/∂xᵢ∂xⱼ from ``create_graph=True`` against finite differences of ∂f/∂xᵢ."""
    xs = _as_floats(inputs)
    leaves = [Value(x) for x in xs]
    out = fn(*leaves)
    first = gradients(out, leaves, create_graph=True) if isinstance(out, Value) else tuple(0.0 for _ in xs)
    hessian = []
    for g in first:
        hessian.append(gradients(g, leaves) if isinstance(g, Value) else tuple(0.0 for _ in xs))
    report = GradcheckReport(title="gradgradcheck")
    for j in range(len(xs)):
        lo, hi, step = _perturb(xs, j, eps)
        g_hi, g_lo = _first_gradients(fn, hi), _first_gradients(fn, lo)
        for i in range(len(xs)):
            numeric = (g_hi[i] - g_lo[i]) / step
            a = to_float(hessian[i][j])
            kink = not (abs(a - numeric) <= atol + rtol * abs(numeric)) and _straddles_kink(fn, xs, j, eps)
            report.rows.append(_judge(f"d2/dx{i}dx{j}", a, numeric, atol, rtol, kink))
    return report


def _verdict(report: GradcheckReport, raise_exception: bool) -> bool:
    if report.kinks:
        names = ", ".join(r.name for r in report.kinks)
        warnings.warn(f"{report.title}: a kink lies within ±eps of {names}; not judged there", GradcheckWarning,
                      stacklevel=3)
    if report.passed:
        return True
    if raise_exception:
        raise GradcheckError(report)
    return False


def gradcheck(fn: Callable[..., Any], inputs: Sequence[Any], *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Check ∂fn/∂xᵢ against central differences at ``inputs``; True when all agree.

    ``fn`` takes Values and returns a Value; ``inputs`` are numbers. On a mismatch raises
    :class:`GradcheckError` listing, per input, analytic, numeric and |a−n|/max(|a|,|n|)
    (or returns False with ``raise_exception=False``). Kinks within ±eps are reported with
    a :class:`GradcheckWarning`, not as failures.
    """
    return _verdict(check_gradients(fn, inputs, eps=eps, atol=atol, rtol=rtol), raise_exception)


def gradgradcheck(fn: Callable[..., Any], inputs: Sequence[Any], *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Like :func:`gradcheck`, for every second derivative ∂²fn/∂xᵢ∂xⱼ."""
    return _verdict(check_second_gradients(fn, inputs, eps=eps, atol=atol, rtol=rtol), raise_exception)
