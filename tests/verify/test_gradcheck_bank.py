"""A bank of scalar functions with known-right and deliberately wrong derivatives.

Every case is written once, framework-neutrally: an expression over the methods Values and
torch tensors share (``x.sin()``, ``abs(x)``, ``x ** 3`` …) plus a namespace ``ns`` for the rest:
``ns.custom(spec)`` turns a :class:`Custom` (forward and local derivatives as float formulas)
into an ``autograd_core.Function`` or a ``torch.autograd.Function``, ``ns.detached(name)`` is a
first derivative that is right in value but wrong when differentiated again.

``truth`` is whether the analytic derivative is correct; ``None`` where the true derivative does
not exist (a kink the input moves). This gradcheck must match the truth on every other case;
``torch.autograd.gradcheck`` (float64, its defaults) is run on the same cases and its verdict
recorded. Run this file as a script to print the table and the cases where torch's verdict is
wrong: ``python -m tests.verify.test_gradcheck_bank``.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from autograd_core import Function, Op, Value, gradcheck, gradgradcheck


@dataclass(frozen=True)
class Custom:
    """A custom op as floats: ``forward(*xs) -> out`` and ``local(*xs) -> (∂out/∂x₀, …)``."""

    name: str
    forward: Callable[..., float]
    local: Callable[..., tuple[float, ...]]




SQUARE = Custom("Square", lambda x: x * x, lambda x: (2 * x,))
BAD_SQUARE = Custom("BadSquare", lambda x: x * x, lambda x: (3 * x,))
CUBE = Custom("Cube", lambda x: x**3, lambda x: (3 * x * x,))
SOFTSIGN = Custom("Softsign", lambda x: x / (1 + abs(x)), lambda x: (1 / (1 + abs(x)) ** 2,))
BAD_SOFTSIGN = Custom("BadSoftsign", lambda x: x / (1 + abs(x)), lambda x: (1 / (1 + abs(x)),))
SIN = Custom("Sin", math.sin, lambda x: (math.cos(x),))
SIN_1E4 = Custom("SinOff1e-4", math.sin, lambda x: (math.cos(x) * (1 + 1e-4),))
EXP_1E4 = Custom("ExpOff1e-4", math.exp, lambda x: (math.exp(x) * (1 + 1e-4),))
EXP_2E3 = Custom("ExpOff2e-3", math.exp, lambda x: (math.exp(x) * (1 + 2e-3),))
CUBE_1E4 = Custom("CubeOff1e-4", lambda x: x**3, lambda x: (3 * x * x * (1 + 1e-4),))
SQUARE_1E4 = Custom("SquareOff1e-4", lambda x: x * x, lambda x: (2 * x * (1 + 1e-4),))
COS_AT_ZERO = Custom("CosOff5e-6", math.cos, lambda x: (-math.sin(x) + 5e-6,))
SQUARE_AT_ZERO = Custom("SquareOff5e-6", lambda x: x * x, lambda x: (2 * x + 5e-6,))
LOG = Custom("Log", lambda x: math.log(x) if x > 0 else math.nan, lambda x: (1 / x,))
RECIP = Custom("Recip", lambda x: 1 / x if x else math.inf, lambda x: (-1 / (x * x),))
TWICE_BAD = Custom("TwiceSays3", lambda x: 2 * x, lambda x: (3.0,))
MUL = Custom("Mul", lambda x, y: x * y, lambda x, y: (y, x))
WRONG_MUL = Custom("WrongMul", lambda x, y: x * y, lambda x, y: (y, x + 1))
POLY3 = Custom("Poly3", lambda a, b, c: a * b * b + c**3, lambda a, b, c: (b * b, 2 * a * b, 3 * c * c))
POLY3_1E4 = Custom("Poly3Off1e-4", lambda a, b, c: a * b * b + c**3,
                   lambda a, b, c: (b * b, 2 * a * b * (1 + 1e-4), 3 * c * c))

_calls = {"flip": 0, "random": 0}
_rng = random.Random(11)


def _flipping(x: float) -> tuple[float, ...]:
    # 2 on even calls, one ulp above on odd ones: a race in an atomic add looks like this.
    _calls["flip"] += 1
    return (2.0 + 4.440892098500626e-16 * (_calls["flip"] % 2),)


def _noisy(x: float) -> tuple[float, ...]:
    _calls["random"] += 1
    return (math.cos(x) * (1 + 1e-9 * _rng.uniform(-1, 1)),)


FLIPPING = Custom("Flipping", lambda x: 2 * x, _flipping)
NOISY = Custom("NoisyCos", math.sin, _noisy)


class AutogradNS:
    """The bank's namespace over ``autograd_core`` Values."""

    name = "autograd_core"

    def __init__(self) -> None:
        self._functions: dict[str, type[Function]] = {}

    @staticmethod
    def leaky_relu(x: Value, slope: float) -> Value:
        return x.leaky_relu(slope)

    @staticmethod
    def softplus(x: Value) -> Value:
        return x.softplus()

    def custom(self, spec: Custom) -> Callable[..., Value]:
        if spec.name not in self._functions:
            def forward(ctx: Any, *xs: float) -> float:
                ctx.save_for_backward(*xs)
                return spec.forward(*xs)

            def backward(ctx: Any, g: Any) -> tuple[Any, ...]:
                local = spec.local(*[float(x) for x in ctx.saved_values])
                return tuple(d * g for d in local)

            self._functions[spec.name] = type(spec.name, (Function,), {
                "forward": staticmethod(forward), "backward": staticmethod(backward)})
        return self._functions[spec.name].apply

    @staticmethod
    def detached(name: str) -> Callable[[Value], Value]:
        # Recording a hand-made Op takes the engine's internal recorder; only these cases need it.
        from autograd_core.value import record

        return lambda x: record(_DETACHED[name], (x,))


# First derivatives that are right in value but built from the input's data, not the input:
# differentiated again, x² reads 1 instead of 2 and eˣ reads 0 instead of eˣ.
_DETACHED = {
    "square": Op("detached_square", 1, lambda B, x: x * x, lambda B, xs, out: (xs[0] + B.data(xs[0]),)),
    "exp": Op("detached_exp", 1, lambda B, x: B.exp(x), lambda B, xs, out: (B.data(out),)),
}


class TorchNS:
    """The same namespace over float64 torch tensors."""

    name = "torch"

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        self._functions: dict[str, Any] = {}

    def leaky_relu(self, x: Any, slope: float) -> Any:
        return self.torch.nn.functional.leaky_relu(x, slope)

    def softplus(self, x: Any) -> Any:
        return self.torch.log1p(self.torch.exp(x))

    def custom(self, spec: Custom) -> Callable[..., Any]:
        torch = self.torch
        if spec.name not in self._functions:
            def forward(ctx: Any, *ts: Any) -> Any:
                ctx.save_for_backward(*ts)
                return torch.tensor(spec.forward(*[t.item() for t in ts]), dtype=torch.float64)

            def backward(ctx: Any, g: Any) -> tuple[Any, ...]:
                local = spec.local(*[t.item() for t in ctx.saved_tensors])
                return tuple(g * d for d in local)

            self._functions[spec.name] = type(spec.name, (torch.autograd.Function,), {
                "forward": staticmethod(forward), "backward": staticmethod(backward)})
        return self._functions[spec.name].apply

    def detached(self, name: str) -> Callable[[Any], Any]:
        torch = self.torch
        key = "detached_" + name
        if key not in self._functions:
            if name == "square":
                def forward(ctx: Any, x: Any) -> Any:
                    ctx.save_for_backward(x)
                    return x * x

                def backward(ctx: Any, g: Any) -> Any:
                    (x,) = ctx.saved_tensors
                    return g * (x + x.detach())
            else:
                def forward(ctx: Any, x: Any) -> Any:
                    ctx.save_for_backward(x)
                    return torch.exp(x)

                def backward(ctx: Any, g: Any) -> Any:
                    (x,) = ctx.saved_tensors
                    return g * torch.exp(x).detach()
            self._functions[key] = type(key, (torch.autograd.Function,), {
                "forward": staticmethod(forward), "backward": staticmethod(backward)})
        return self._functions[key].apply


@dataclass(frozen=True)
class Case:
    """``build(ns)`` is the function; ``truth`` whether its analytic derivative is right."""

    name: str
    kind: str
    build: Callable[[Any], Callable[..., Any]]
    point: tuple[float, ...]
    truth: bool | None
    order: int = 1


def C(name: str, kind: str, build: Callable[[Any], Callable[..., Any]], point: Any, truth: bool | None,
      order: int = 1) -> Case:
    return Case(name, kind, build, tuple(point) if isinstance(point, (tuple, list)) else (point,), truth, order)


SMOOTH, WRONG, TINY, ZERO, KINK_FAR, KINK_NEAR, KINK_AT, KINK_STILL, SEVERAL, NONDET, SECOND = (
    "smooth", "wrong", "tiny error", "zero derivative", "kink not moved", "kink near", "kink at point",
    "kink at point, not moved", "several inputs", "nondeterministic", "second order")

CASES = [
    # smooth built-in expressions at many magnitudes: analytic derivatives are right
    C("sin at 1e5", SMOOTH, lambda ns: lambda x: x.sin(), 1e5, True),
    C("cos at 2e5", SMOOTH, lambda ns: lambda x: x.cos(), 2e5, True),
    C("sin at 1e-8", SMOOTH, lambda ns: lambda x: x.sin(), 1e-8, True),
    C("exp at 30", SMOOTH, lambda ns: lambda x: x.exp(), 30.0, True),
    C("exp at -30", SMOOTH, lambda ns: lambda x: x.exp(), -30.0, True),
    C("log at 1e-8", SMOOTH, lambda ns: lambda x: x.log(), 1e-8, True),
    C("log at 1e12", SMOOTH, lambda ns: lambda x: x.log(), 1e12, True),
    C("sqrt at 1e-8", SMOOTH, lambda ns: lambda x: x.sqrt(), 1e-8, True),
    C("sqrt at 1e12", SMOOTH, lambda ns: lambda x: x.sqrt(), 1e12, True),
    C("x**3 at 1e-8", SMOOTH, lambda ns: lambda x: x**3, 1e-8, True),
    C("x*x at 1e12", SMOOTH, lambda ns: lambda x: x * x, 1e12, True),
    C("1/x at 1e-6", SMOOTH, lambda ns: lambda x: 1 / x, 1e-6, True),
    C("tanh at 10", SMOOTH, lambda ns: lambda x: x.tanh(), 10.0, True),
    C("sigmoid at -20", SMOOTH, lambda ns: lambda x: x.sigmoid(), -20.0, True),
    C("softplus at 3", SMOOTH, lambda ns: lambda x: ns.softplus(x), 3.0, True),
    C("x**2.5 at 1e6", SMOOTH, lambda ns: lambda x: x**2.5, 1e6, True),
    C("sin(x)/x at 1e6", SMOOTH, lambda ns: lambda x: x.sin() / x, 1e6, True),
    C("exp(sin x) at 1e3", SMOOTH, lambda ns: lambda x: x.sin().exp(), 1e3, True),
    C("log(1 + x²) at 1e10", SMOOTH, lambda ns: lambda x: (1 + x * x).log(), 1e10, True),
    C("tanh(xy) + e^y", SMOOTH, lambda ns: lambda x, y: (x * y).tanh() + y.exp(), (0.3, -1.2), True),
    C("(x + y)·z (CS231n)", SMOOTH, lambda ns: lambda x, y, z: (x + y) * z, (-2.0, 5.0, -4.0), True),
    C("lecture neuron tanh(x1w1 + x2w2 + b)", SMOOTH,
      lambda ns: lambda x1, x2, w1, w2, b: (x1 * w1 + x2 * w2 + b).tanh(), (2.0, 0.0, -3.0, 1.0, 6.8813735870195432),
      True),
    C("x·y at (1e12, 1e-12)", SMOOTH, lambda ns: lambda x, y: x * y, (1e12, 1e-12), True),
    C("x² + x at 1e-8", SMOOTH, lambda ns: lambda x: x * x + x, 1e-8, True),
    # custom ops, right and wrong, as float formulas
    C("Square at 1e12", SMOOTH, lambda ns: ns.custom(SQUARE), 1e12, True),
    C("Cube at 1.3", SMOOTH, lambda ns: ns.custom(CUBE), 1.3, True),
    C("Softsign at -0.5", SMOOTH, lambda ns: ns.custom(SOFTSIGN), -0.5, True),
    C("Sin at 1e5", SMOOTH, lambda ns: ns.custom(SIN), 1e5, True),
    C("Log at 1e-8", SMOOTH, lambda ns: ns.custom(LOG), 1e-8, True),
    C("Recip at 1e-7", SMOOTH, lambda ns: ns.custom(RECIP), 1e-7, True),
    C("BadSquare at 1", WRONG, lambda ns: ns.custom(BAD_SQUARE), 1.0, False),
    C("BadSquare at -1e6", WRONG, lambda ns: ns.custom(BAD_SQUARE), -1e6, False),
    C("softsign missing its square at 0.7", WRONG, lambda ns: ns.custom(BAD_SOFTSIGN), 0.7, False),
    C("exp off by 2e-3 at 5", WRONG, lambda ns: ns.custom(EXP_2E3), 5.0, False),
    C("TwiceSays3 at 1e-8", WRONG, lambda ns: ns.custom(TWICE_BAD), 1e-8, False),
    # tiny relative errors and zero true derivatives
    C("sin off 1e-4 at 1e5", TINY, lambda ns: ns.custom(SIN_1E4), 1e5, False),
    C("exp off 1e-4 at 1", TINY, lambda ns: ns.custom(EXP_1E4), 1.0, False),
    C("x³ off 1e-4 at 1e-8", TINY, lambda ns: ns.custom(CUBE_1E4), 1e-8, False),
    C("x² off 1e-4 at 1e12", TINY, lambda ns: ns.custom(SQUARE_1E4), 1e12, False),
    C("x² off 1e-4 at 1e-3", TINY, lambda ns: ns.custom(SQUARE_1E4), 1e-3, False),
    C("cos off 5e-6 at 0", ZERO, lambda ns: ns.custom(COS_AT_ZERO), 0.0, False),
    C("x² off 5e-6 at 0", ZERO, lambda ns: ns.custom(SQUARE_AT_ZERO), 0.0, False),
    C("cos at 0", ZERO, lambda ns: lambda x: x.cos(), 0.0, True),
    C("x·y in y at y = 0", ZERO, lambda ns: lambda x, y: x * y * y, (3.0, 0.0), True),
    C("relu below its kink", ZERO, lambda ns: lambda x: x.relu(), -1.0, True),
    # kinks the checked input does not reach, or does not move
    C("BadSquare(x) + relu(x - 1) far from the kink", KINK_FAR,
      lambda ns: lambda x: ns.custom(BAD_SQUARE)(x) + (x - 1).relu(), 0.5, False),
    C("BadSquare(x) + relu(0·x) (kink not moved)", KINK_STILL,
      lambda ns: lambda x: ns.custom(BAD_SQUARE)(x) + (x * 0.0).relu(), 1.0, False),
    C("Square(x) + relu(0·x) (kink not moved)", KINK_STILL,
      lambda ns: lambda x: ns.custom(SQUARE)(x) + (x * 0.0).relu(), 1.0, True),
    C("BadSquare(x) + relu(y) at y = 0", KINK_STILL,
      lambda ns: lambda x, y: ns.custom(BAD_SQUARE)(x) + y.relu(), (1.0, 0.0), False),
    C("zero-bias neuron relu(w·0 + 0) + BadSquare(c)", KINK_STILL,
      lambda ns: lambda w, c: (w * 0.0 + 0.0).relu() * c + ns.custom(BAD_SQUARE)(c), (0.5, 2.0), False),
    C("zero-bias neuron relu(w·0 + 0)·c + Square(c)", KINK_STILL,
      lambda ns: lambda w, c: (w * 0.0 + 0.0).relu() * c + ns.custom(SQUARE)(c), (0.5, 2.0), True),
    C("abs(y)·x, y = 0, in x", KINK_STILL, lambda ns: lambda x, y: abs(y * 0.0) * x + x * x, (2.0, 0.0), True),
    # kinks near the point: the derivative exists, the step must stay on one side
    C("abs at 1e-7", KINK_NEAR, lambda ns: lambda x: abs(x), 1e-7, True),
    C("relu at -5e-7", KINK_NEAR, lambda ns: lambda x: x.relu(), -5e-7, True),
    C("leaky_relu(0.1) at 3e-7", KINK_NEAR, lambda ns: lambda x: ns.leaky_relu(x, 0.1), 3e-7, True),
    C("abs(x - 2) at 2 + 5e-7", KINK_NEAR, lambda ns: lambda x: abs(x - 2.0), 2.0 + 5e-7, True),
    C("3·relu(x - 1e-9) + x at 0", KINK_NEAR, lambda ns: lambda x: (x - 1e-9).relu() * 3 + x, 0.0, True),
    C("abs(x) + TwiceSays3(x) at 1e-7", KINK_NEAR,
      lambda ns: lambda x: abs(x) + ns.custom(TWICE_BAD)(x), 1e-7, False),
    C("hinge relu(1 - x) at 1 - 2e-7", KINK_NEAR, lambda ns: lambda x: (1 - x).relu(), 1.0 - 2e-7, True),
    # kinks at the point that the input moves: the derivative exists only for some
    C("relu at 0", KINK_AT, lambda ns: lambda x: x.relu(), 0.0, None),
    C("abs at 0", KINK_AT, lambda ns: lambda x: abs(x), 0.0, None),
    C("leaky_relu(0.2) at 0", KINK_AT, lambda ns: lambda x: ns.leaky_relu(x, 0.2), 0.0, None),
    C("relu(x)·x at 0", KINK_AT, lambda ns: lambda x: x.relu() * x, 0.0, True),
    C("abs(x)·x at 0", KINK_AT, lambda ns: lambda x: abs(x) * x, 0.0, True),
    C("relu(x)**2 at 0", KINK_AT, lambda ns: lambda x: x.relu() ** 2, 0.0, True),
    C("relu(x) - relu(-x) at 0 (= x, chain rule reads 0)", KINK_AT,
      lambda ns: lambda x: x.relu() - (-x).relu(), 0.0, False),
    C("relu(x) + TwiceSays3(x) at 0", KINK_AT, lambda ns: lambda x: x.relu() + ns.custom(TWICE_BAD)(x), 0.0, None),
    # several inputs, one wrong
    C("a·b + BadSquare(c) + tanh(d)", SEVERAL,
      lambda ns: lambda a, b, c, d: a * b + ns.custom(BAD_SQUARE)(c) + d.tanh(), (0.5, -1.5, 2.0, 0.25), False),
    C("WrongMul(x, y)", SEVERAL, lambda ns: ns.custom(WRONG_MUL), (2.0, 3.0), False),
    C("Mul(x, y)", SEVERAL, lambda ns: ns.custom(MUL), (2.0, 3.0), True),
    C("Poly3 right", SEVERAL, lambda ns: ns.custom(POLY3), (1.5, -2.0, 0.5), True),
    C("Poly3 off 1e-4 in b only", SEVERAL, lambda ns: ns.custom(POLY3_1E4), (1.5, -2.0, 0.5), False),
    C("x·sin(y) + x² off 5e-6 at 0", SEVERAL,
      lambda ns: lambda x, y: x * y.sin() + ns.custom(SQUARE_AT_ZERO)(x), (0.0, 0.4), False),
    # a backward that gives a different value on each call
    C("Flipping 2x (one ulp per call)", NONDET, lambda ns: ns.custom(FLIPPING), 1.5, False),
    C("NoisyCos (1e-9 random)", NONDET, lambda ns: ns.custom(NOISY), 0.3, False),
    # second derivatives
    C("d²(x³y)", SECOND, lambda ns: lambda x, y: x**3 * y, (1.5, 2.0), True, 2),
    C("d²(tanh(xy) + σ(x)·y)", SECOND, lambda ns: lambda x, y: (x * y).tanh() + x.sigmoid() * y, (0.3, -1.2), True, 2),
    C("d² sin at 1e5", SECOND, lambda ns: lambda x: x.sin(), 1e5, True, 2),
    C("d² log at 1e-4", SECOND, lambda ns: lambda x: x.log(), 1e-4, True, 2),
    C("d² softsign at 0.7", SECOND, lambda ns: lambda x: x / (1 + abs(x)), 0.7, True, 2),
    C("d² detached square", SECOND, lambda ns: ns.detached("square"), 1.5, False, 2),
    C("d² detached exp", SECOND, lambda ns: ns.detached("exp"), 0.5, False, 2),
    C("d² y·detached square(x)", SECOND, lambda ns: lambda x, y: ns.detached("square")(x) * y, (1.5, 2.0), False, 2),
    C("d² relu(x)·x at 0", SECOND, lambda ns: lambda x: x.relu() * x, 0.0, None, 2),
    C("d² relu(x)·x³ at 0", SECOND, lambda ns: lambda x: x.relu() * x**3, 0.0, True, 2),
]


def ours(case: Case) -> bool:
    check = gradgradcheck if case.order == 2 else gradcheck
    return check(case.build(AutogradNS()), list(case.point), raise_exception=False)


def theirs(case: Case, ns: TorchNS) -> bool:
    torch = ns.torch
    check = torch.autograd.gradgradcheck if case.order == 2 else torch.autograd.gradcheck
    inputs = tuple(torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in case.point)
    try:
        return bool(check(case.build(ns), inputs, raise_exception=False))
    except (RuntimeError, ValueError):
        return False


def test_the_bank_is_large_and_covers_every_kind():
    assert len(CASES) >= 60 and len({c.name for c in CASES}) == len(CASES)
    kinds = {c.kind for c in CASES}
    assert kinds == {SMOOTH, WRONG, TINY, ZERO, KINK_FAR, KINK_NEAR, KINK_AT, KINK_STILL, SEVERAL, NONDET, SECOND}
    assert sum(c.truth is False for c in CASES) >= 25 and sum(c.truth is True for c in CASES) >= 25


@pytest.mark.parametrize("case", [c for c in CASES if c.truth is not None], ids=lambda c: c.name)
def test_gradcheck_verdict_is_the_truth(case):
    assert ours(case) is case.truth


@pytest.mark.parametrize("case", [c for c in CASES if c.truth is None], ids=lambda c: c.name)
def test_at_a_kink_the_verdict_is_a_plain_bool(case):
    # No true derivative exists here; the verdict only has to be given without an error.
    assert ours(case) in (True, False)


# Where torch.autograd.gradcheck (2.x, its defaults: eps = 1e-6, atol = 1e-5, rtol = 1e-3) gives the
# wrong verdict: steps that leave the domain or step over a nearby kink, steps rounded away at
# 1e12, and errors below its fixed tolerances.
TORCH_WRONG = {
    "log at 1e-8", "sqrt at 1e-8", "x*x at 1e12", "1/x at 1e-6", "Square at 1e12", "Log at 1e-8", "Recip at 1e-7",
    "sin off 1e-4 at 1e5", "exp off 1e-4 at 1", "x³ off 1e-4 at 1e-8", "x² off 1e-4 at 1e-3", "cos off 5e-6 at 0",
    "x² off 5e-6 at 0", "abs at 1e-7", "relu at -5e-7", "leaky_relu(0.1) at 3e-7", "abs(x - 2) at 2 + 5e-7",
    "3·relu(x - 1e-9) + x at 0", "hinge relu(1 - x) at 1 - 2e-7", "Poly3 off 1e-4 in b only",
    "x·sin(y) + x² off 5e-6 at 0",
}


def bank_table(ns: TorchNS) -> list[tuple[Case, bool, bool]]:
    return [(case, ours(case), theirs(case, ns)) for case in CASES]


def test_torch_gradcheck_is_recorded_on_every_case(torch):
    ns = TorchNS(torch)
    rows = bank_table(ns)
    torch_wrong = {c.name for c, _, t in rows if c.truth is not None and t is not c.truth}
    ours_wrong = {c.name for c, o, _ in rows if c.truth is not None and o is not c.truth}
    assert not ours_wrong
    assert torch_wrong == TORCH_WRONG


def main() -> None:
    import torch

    ns = TorchNS(torch)
    start = time.perf_counter()
    rows = [(case, ours(case)) for case in CASES]
    ours_time = time.perf_counter() - start
    start = time.perf_counter()
    table = [(case, mine, theirs(case, ns)) for case, mine in rows]
    torch_time = time.perf_counter() - start
    width = max(len(c.name) for c in CASES)
    print(f"{'case':<{width}}  {'kind':<24}  truth  ours   torch")
    for case, mine, t in table:
        truth = "-" if case.truth is None else str(case.truth)
        print(f"{case.name:<{width}}  {case.kind:<24}  {truth:<5}  {mine!s:<5}  {t!s:<5}")
    judged = [(c, o, t) for c, o, t in table if c.truth is not None]
    print(f"\n{len(CASES)} cases, {len(judged)} with a true derivative: ours right on "
          f"{sum(o is c.truth for c, o, _ in judged)}, torch right on {sum(t is c.truth for c, _, t in judged)}")
    print(f"ours {ours_time:.2f} s, torch {torch_time:.2f} s")
    print("\ntorch wrong, ours right:")
    for c, o, t in judged:
        if t is not c.truth and o is c.truth:
            print(f"  {c.name}  (truth {c.truth}, torch {t})")


if __name__ == "__main__":
    main()
