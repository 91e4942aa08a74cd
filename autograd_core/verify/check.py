"""Gradient checking: the engine's derivatives against numeric ones that know their own error.

For each input xᵢ, ∂f/∂xᵢ from ``backward()`` (the *analytic* value a) is compared with a
*numeric* value n read off f alone. By default n comes from central differences

    D(h) = (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h

over a sweep of steps h = 2ᵏ, refined by Richardson extrapolation (:mod:`numdiff`; the sampling
and the kink bookkeeping below are in :mod:`probe`), which also estimates n's error e. The check passes when

    |a − n| ≤ 10·e + 16·u·max(|a|, |n|, s) + atol + rtol·|n|        (u = 2⁻⁵³, atol = rtol = 0)

so the tolerance follows the accuracy the numeric derivative actually reached: about 1e-10
relative for most functions, which is why a derivative 1e-4 off fails at every magnitude. e
includes the rounding of f itself, bounded by u·Σ|v|·|∂f/∂v| over f's nodes (log(1 + z²) at
z = 1e-6 loses the z² to rounding long before the log). s, the chain rule with every local
derivative made positive, allows for rounding in a's own sum when paths cancel (z − z).

Kinks. relu, abs and leaky_relu have a corner where their derivative jumps; an op marks it
with ``Op.kink``. A kink matters to input xᵢ only when moving xᵢ by the step moves that op's
argument across, onto or off its corner (nodes are matched between evaluations by their place
in topological order and their op name). Steps that do so are left out; when even the smallest
one does, xᵢ sits at the kink and the one-sided derivatives f'(x−) and f'(x+) are estimated
instead, each by extrapolated one-sided secants. Any value between them passes: the chain rule
through a kink yields a mix of them (PyTorch's relu'(0) = 0 is the left one, abs'(0) = 0 the
middle), and no finite difference can tell which mix is "right". A wrong derivative that falls
between them goes unnoticed there, so check a point off the corner too. A graph whose structure
changes between evaluations (Python branching on a value) is treated the same way, with a
:class:`GradcheckWarning`.

With ``eps=`` the check is PyTorch's instead: one central difference with step eps (one-sided
ones at a kink) and ``|a − n| ≤ atol + rtol·|n|``, atol = 1e-5 and rtol = 1e-3 by default.

Like ``torch.autograd.gradcheck``, the analytic gradient is computed twice on one graph and once
on a fresh one; values further apart than ``nondet_tol`` (default 0) fail as NONDETERMINISTIC.
Everything runs under ``enable_grad()``, so a check inside ``no_grad()`` gives the same answer.

Cost: the sweep evaluates f 92 times per input (forward only), the fixed-eps rule 4 times.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..backward import gradients
from ..graph import topological_order
from ..modes import enable_grad
from ..value import Value, to_float
from .numdiff import U, step_sweep
from .probe import Numeric, Sample, adaptive, as_output, crossing_label, fixed, sample_gradient, sample_value, walk

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

SAFETY = 10.0
"""How many estimated errors of the numeric derivative a correct analytic one may be off."""

ANALYTIC_ULPS = 16.0
"""Rounding allowed in the analytic derivative, in units of u·|derivative|."""

_PASSING = ("ok", "both zero", "kink")


class GradcheckError(AssertionError):
    """Analytic and numeric derivatives disagree; the message holds the full table."""

    def __init__(self, report: GradcheckReport) -> None:
        super().__init__(str(report))
        self.report = report


class GradcheckWarning(UserWarning):
    """The graph of the checked function changes structure with an input (Python branching)."""


@dataclass(frozen=True)
class GradcheckRow:
    """One compared derivative. ``name`` is ``x0`` (first order) or ``d2/dx0dx1`` (second).

    ``status`` is "ok", "both zero", "kink" (judged by one-sided derivatives and passed),
    "MISMATCH" or "NONDETERMINISTIC". ``error`` is the numeric value's estimated error,
    ``tolerance`` the allowed |analytic − numeric|, ``method`` how the numeric value was found.
    At a kink ``numeric`` is the one-sided derivative nearest the analytic one and ``left`` /
    ``right`` hold both.
    """

    name: str
    analytic: float
    numeric: float
    rel_error: float
    status: str
    error: float = 0.0
    tolerance: float = 0.0
    method: str = ""
    left: float | None = None
    right: float | None = None

    @property
    def ok(self) -> bool:
        return self.status in _PASSING


@dataclass
class GradcheckReport:
    """The table of a check; ``passed`` is False when any row fails."""

    rows: list[GradcheckRow] = field(default_factory=list)
    title: str = "gradcheck"
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def kinks(self) -> list[GradcheckRow]:
        """Rows judged by one-sided derivatives at a kink."""
        return [r for r in self.rows if r.left is not None or r.right is not None]

    def __str__(self) -> str:
        bad = sum(not r.ok for r in self.rows)
        verdict = "passed" if not bad else "failed"
        head = f"{self.title} {verdict}: {len(self.rows) - bad} of {len(self.rows)} derivatives agree"
        width = max([len(r.name) for r in self.rows] + [5])
        how = max([len(r.method) for r in self.rows] + [len("numeric derivative")])
        lines = [head, f"  {'input':<{width}}  {'analytic':>14}  {'numeric':>14}  {'rel.error':>9}  "
                       f"{'est.error':>9}  {'numeric derivative':<{how}}  status"]
        for r in self.rows:
            lines.append(f"  {r.name:<{width}}  {r.analytic:>14.7g}  {r.numeric:>14.7g}  {r.rel_error:>9.2e}  "
                         f"{r.error:>9.1e}  {r.method:<{how}}  {r.status}")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))


def _relative_error(a: float, n: float) -> float:
    if a == n:
        return 0.0
    scale = max(abs(a), abs(n))
    return abs(a - n) / scale if scale > 0 and math.isfinite(scale) else math.inf


def _gap(a: float, b: float) -> float:
    """|a − b|, 0 for two equal non-finite values and inf when only one is nan."""
    if a == b or (a != a and b != b):
        return 0.0
    return abs(a - b) if a == a and b == b else math.inf


@dataclass(frozen=True)
class _Rule:
    eps: float | None
    atol: float
    rtol: float
    nondet_tol: float


def _allowed(a: float, n: float, error: float, scale: float, rule: _Rule) -> float:
    if rule.eps is not None:
        return rule.atol + rule.rtol * abs(n)
    return SAFETY * error + ANALYTIC_ULPS * U * max(scale, abs(a), abs(n)) + rule.atol + rule.rtol * abs(n)


def _judge(name: str, a: float, spread: float, scale: float, numeric: Numeric, rule: _Rule) -> GradcheckRow:
    if numeric.central is not None:
        n, error = numeric.central.value, numeric.central.error
        tol = _allowed(a, n, error, scale, rule)
        status = "both zero" if a == 0.0 and n == 0.0 else "ok" if abs(a - n) <= tol else "MISMATCH"
        row = GradcheckRow(name, a, n, _relative_error(a, n), status, error, tol, numeric.method)
    elif numeric.left is None and numeric.right is None:
        row = GradcheckRow(name, a, math.nan, math.inf, "MISMATCH", math.inf, 0.0, numeric.method)
    else:
        sides = [e for e in (numeric.left, numeric.right) if e is not None]
        lo, hi = min(e.value for e in sides), max(e.value for e in sides)
        nearest = min(sides, key=lambda e: _gap(a, e.value))
        error = max(e.error for e in sides)
        tol = _allowed(a, nearest.value, error, scale, rule)
        inside = lo - tol <= a <= hi + tol
        n = min(max(a, lo), hi) if inside else nearest.value
        left = numeric.left.value if numeric.left is not None else math.nan
        right = numeric.right.value if numeric.right is not None else math.nan
        method = f"{numeric.method}: left {left:.6g}, right {right:.6g}"
        row = GradcheckRow(name, a, n, _relative_error(a, n), "kink" if inside else "MISMATCH", error, tol,
                           method, left, right)
    if spread > rule.nondet_tol:
        return GradcheckRow(row.name, a, row.numeric, row.rel_error, "NONDETERMINISTIC", row.error, row.tolerance,
                            f"backward differs by {spread:.2e} between calls; {row.method}", row.left, row.right)
    return row


@dataclass(frozen=True)
class _Analytic:
    """∂outputₘ/∂xⱼ from backward as ``values[m][j]``, with what judging them needs.

    ``spread``: how far repeated backward passes disagreed. ``scale``: Σ over chain-rule paths
    of |product of local derivatives|, so that u·scale bounds the rounding of the sum (paths
    that cancel, such as z − z, add rounding without adding value). ``rounding[m]``: a bound on
    the rounding error of outputₘ itself, for the numeric side.
    """

    values: list[list[float]]
    spread: list[list[float]]
    scale: list[list[float]]
    rounding: list[float]


def _compare(report: GradcheckReport, sample: Callable[..., Sample], fn: Callable[..., Any], xs: list[float],
             analytic: _Analytic, names: Callable[[int, int], str], rule: _Rule) -> None:
    """Rows ``names(m, j)`` comparing ∂outputₘ/∂xⱼ from backward with numeric values."""
    width = len(analytic.values)
    center = sample(fn, xs)
    for j in range(len(xs)):
        steps = [2 * rule.eps, rule.eps] if rule.eps is not None else step_sweep(xs[j])
        sweep = walk(sample, fn, xs, j, steps, width)
        if crossing_label(center, sweep)[1]:
            note = (f"the graph changes structure when x{j} moves (Python branching on a value?); "
                    f"x{j} is judged by one-sided derivatives there")
            report.notes.append(note)
            warnings.warn(f"{report.title}: {note}", GradcheckWarning, stacklevel=4)
        for m in range(width):
            rounding = analytic.rounding[m]
            if rule.eps is not None:
                numeric = fixed(center, sweep, m, rounding)
            else:
                numeric = adaptive(center, sweep, m, rounding)
            row = _judge(names(m, j), analytic.values[m][j], analytic.spread[m][j], analytic.scale[m][j], numeric,
                         rule)
            report.rows.append(row)


def _float_gradients(out: Any, leaves: list[Value]) -> list[float]:
    if not isinstance(out, Value):
        return [0.0] * len(leaves)
    return [to_float(g) for g in gradients(out, leaves)]


def _rounding(out: Any) -> float:
    """A bound on the rounding error of ``out.data``: u·Σ |v|·|∂out/∂v| over its op nodes.

    Each op rounds its result v by at most a relative u; that error reaches the output
    multiplied by ∂out/∂v (first order), which ``backward()`` has just put in ``v.grad``.
    """
    if not isinstance(out, Value) or not out.parents:
        return 0.0
    out.backward()
    total = 0.0
    for node in topological_order(out):
        if node.parents:
            term = abs(node.data * to_float(node.grad))
            if math.isfinite(term):
                total += term
    return U * total


def _path_scale(out: Any, leaves: list[Value]) -> list[float]:
    """Σ over paths out → leaf of Π |∂child/∂parent|: the chain rule with every term made positive."""
    if not isinstance(out, Value):
        return [0.0] * len(leaves)
    scale = {id(out): 1.0}
    for node in reversed(topological_order(out)):
        s = scale.get(id(node), 0.0)
        if not s or not node.parents:
            continue
        try:
            local = node.local_grads
        except (AttributeError, NotImplementedError, TypeError, ValueError):
            continue  # an op that cannot say: the analytic value's own size stands in
        for parent, d in zip(node.parents, local):
            term = abs(to_float(d)) * s
            if math.isfinite(term):
                scale[id(parent)] = scale.get(id(parent), 0.0) + term
    return [scale.get(id(x), 0.0) for x in leaves]


def _first_order(fn: Callable[..., Any], xs: list[float]) -> _Analytic:
    """∇f by backward, run twice on one graph and once on a new one to expose nondeterminism."""
    leaves = [Value(x) for x in xs]
    out = as_output(fn(*leaves))
    runs = [_float_gradients(out, leaves), _float_gradients(out, leaves)]
    fresh = [Value(x) for x in xs]
    runs.append(_float_gradients(as_output(fn(*fresh)), fresh))
    spread = [max(_gap(runs[0][i], r[i]) for r in runs[1:]) for i in range(len(xs))]
    return _Analytic([runs[0]], [spread], [_path_scale(out, leaves)], [_rounding(out)])


def _second_order(fn: Callable[..., Any], xs: list[float]) -> _Analytic:
    """H[i][j] = ∂(∂f/∂xᵢ)/∂xⱼ by differentiating the create_graph gradient, with its spread."""
    def build() -> tuple[list[Value], list[Any]]:
        leaves = [Value(x) for x in xs]
        return leaves, list(gradients(as_output(fn(*leaves)), leaves, create_graph=True))

    leaves, first = build()
    runs = [[_float_gradients(g, leaves) for g in first] for _ in range(2)]
    fresh, again = build()
    runs.append([_float_gradients(g, fresh) for g in again])
    n = len(xs)
    spread = [[max(_gap(runs[0][i][j], r[i][j]) for r in runs[1:]) for j in range(n)] for i in range(n)]
    scale = [_path_scale(g, leaves) for g in first]
    return _Analytic(runs[0], spread, scale, [_rounding(g) for g in first])


def _as_floats(inputs: Any) -> list[float]:
    if isinstance(inputs, (int, float, Value)):
        inputs = [inputs]
    xs = [to_float(x) for x in inputs]
    for i, x in enumerate(xs):
        if not math.isfinite(x):
            raise ValueError(f"gradcheck: input x{i} = {x!r} is not finite; finite differences need a finite point")
    return xs


def _rule(xs: list[float], eps: float | None, atol: float | None, rtol: float | None, nondet_tol: float) -> _Rule:
    for name, v in (("atol", atol), ("rtol", rtol), ("nondet_tol", nondet_tol)):
        if v is not None and not (isinstance(v, (int, float)) and v >= 0 and math.isfinite(v)):
            raise ValueError(f"gradcheck: {name} must be a finite number ≥ 0, got {v!r}")
    if eps is None:
        return _Rule(None, atol or 0.0, rtol or 0.0, nondet_tol)
    if not (isinstance(eps, (int, float)) and eps > 0 and math.isfinite(eps)):
        raise ValueError(f"gradcheck: eps must be a finite number > 0, got {eps!r}")
    for i, x in enumerate(xs):
        if x + eps == x or x - eps == x:
            raise ValueError(f"gradcheck: eps={eps!r} gives no step at input x{i} = {x!r}; use a larger eps")
    return _Rule(float(eps), 1e-5 if atol is None else atol, 1e-3 if rtol is None else rtol, nondet_tol)


def check_gradients(fn: Callable[..., Any], inputs: Sequence[Any], *, eps: float | None = None,
                    atol: float | None = None, rtol: float | None = None,
                    nondet_tol: float = 0.0) -> GradcheckReport:
    """The full first-order table of :func:`gradcheck`: one row per input, without the verdict."""
    xs = _as_floats(inputs)
    rule = _rule(xs, eps, atol, rtol, nondet_tol)
    report = GradcheckReport(title="gradcheck")
    with enable_grad():
        _compare(report, sample_value, fn, xs, _first_order(fn, xs), lambda m, j: f"x{j}", rule)
    return report


def check_second_gradients(fn: Callable[..., Any], inputs: Sequence[Any], *, eps: float | None = None,
                           atol: float | None = None, rtol: float | None = None,
                           nondet_tol: float = 0.0) -> GradcheckReport:
    """Every ∂²f/∂xᵢ∂xⱼ from ``create_graph=True`` against numeric derivatives of ∂f/∂xᵢ.

    The same check as :func:`check_gradients`, applied to the gradient: row ``d2/dxᵢdxⱼ``
    compares the derivative of ∂f/∂xᵢ along xⱼ. Kinks are read from f's own graph.
    """
    xs = _as_floats(inputs)
    rule = _rule(xs, eps, atol, rtol, nondet_tol)
    report = GradcheckReport(title="gradgradcheck")
    with enable_grad():
        _compare(report, sample_gradient, fn, xs, _second_order(fn, xs), lambda m, j: f"d2/dx{m}dx{j}", rule)
    return report


def _verdict(report: GradcheckReport, raise_exception: bool) -> bool:
    if report.passed:
        return True
    if raise_exception:
        raise GradcheckError(report)
    return False


def gradcheck(fn: Callable[..., Any], inputs: Sequence[Any], *, eps: float | None = None,
              atol: float | None = None, rtol: float | None = None, nondet_tol: float = 0.0,
              raise_exception: bool = True) -> bool:
    """Check ∂fn/∂xᵢ from ``backward()`` against numeric derivatives at ``inputs``; True when all agree.

    ``fn`` takes Values and returns a Value; ``inputs`` are numbers. By default the numeric
    derivative is Richardson-extrapolated over a sweep of steps and the tolerance is its own
    estimated error (plus ``atol + rtol·|numeric|``, both 0 unless given); with ``eps=`` it is
    PyTorch's fixed-step central difference with atol = 1e-5, rtol = 1e-3. At a kink that the
    input moves, any value between the one-sided derivatives passes. A backward that gives
    different values on repeated calls (beyond ``nondet_tol``) fails. On failure raises
    :class:`GradcheckError` with the table (or returns False with ``raise_exception=False``).
    Raises ``ValueError`` for a non-finite input or an eps too small to move it.
    """
    return _verdict(check_gradients(fn, inputs, eps=eps, atol=atol, rtol=rtol, nondet_tol=nondet_tol),
                    raise_exception)


def gradgradcheck(fn: Callable[..., Any], inputs: Sequence[Any], *, eps: float | None = None,
                  atol: float | None = None, rtol: float | None = None, nondet_tol: float = 0.0,
                  raise_exception: bool = True) -> bool:
    """:func:`gradcheck` for every second derivative ∂²fn/∂xᵢ∂xⱼ (the gradient, checked again)."""
    return _verdict(check_second_gradients(fn, inputs, eps=eps, atol=atol, rtol=rtol, nondet_tol=nondet_tol),
                    raise_exception)
