"""Shared test settings and the op specifications every op test walks through.

Each :class:`OpSpec` says how to apply one op to Values, over which domain its derivative is
smooth (so central differences are valid there), and, for the PyTorch cross-check, how the
same op reads in torch. A test module imports ``OP_SPECS`` from here so that adding an op to
``autograd_core.ops`` without adding its spec makes ``test_every_op_has_a_spec`` fail.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from autograd_core import Value
from autograd_core.modes import STATE

settings.register_profile(
    "autograd",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.load_profile("autograd")


@pytest.fixture(autouse=True)
def _fresh_modes():
    """Every test starts recording, with anomaly detection off, whatever a failed test left."""
    STATE.grad_enabled = True
    STATE.anomaly = False
    STATE.refresh()
    yield
    STATE.grad_enabled = True
    STATE.anomaly = False
    STATE.refresh()


def reals(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def away_from_zero(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Reals in [-hi, -lo] ∪ [lo, hi]: keeps finite differences off a kink or a pole."""
    return st.one_of(reals(lo, hi), reals(-hi, -lo))


@dataclass(frozen=True)
class OpSpec:
    """One op as the tests see it.

    ``apply(*values)`` records the op; ``domain`` draws tuples of inputs where the op is smooth;
    ``torch(*tensors)`` is the same op in PyTorch; ``table`` names the entry (or family of
    entries) in ``autograd_core.OPS`` it exercises.
    """

    name: str
    table: str
    apply: Callable[..., Value]
    domain: st.SearchStrategy[tuple[float, ...]]
    torch: Callable[..., Any]

    @property
    def arity(self) -> int:
        return self.apply.__code__.co_argcount


def _tuple(*strategies: st.SearchStrategy[float]) -> st.SearchStrategy[tuple[float, ...]]:
    return st.tuples(*strategies)


def _torch_softplus(t: Any) -> Any:
    # log(1 + eˣ) exactly; torch's softplus switches to x above 20 (an approximation).
    import torch

    return torch.logaddexp(t, torch.zeros_like(t))


def _torch_leaky(slope: float) -> Callable[[Any], Any]:
    def f(t: Any) -> Any:
        import torch

        return torch.nn.functional.leaky_relu(t, slope)

    return f


OP_SPECS: list[OpSpec] = [
    OpSpec("add", "+", lambda a, b: a + b, _tuple(reals(-1e3, 1e3), reals(-1e3, 1e3)), lambda a, b: a + b),
    OpSpec("sub", "-", lambda a, b: a - b, _tuple(reals(-1e3, 1e3), reals(-1e3, 1e3)), lambda a, b: a - b),
    OpSpec("mul", "*", lambda a, b: a * b, _tuple(reals(-1e3, 1e3), reals(-1e3, 1e3)), lambda a, b: a * b),
    OpSpec("div", "/", lambda a, b: a / b, _tuple(reals(-1e3, 1e3), away_from_zero(1e-1, 1e3)), lambda a, b: a / b),
    OpSpec("pow", "**", lambda a, b: a**b, _tuple(reals(1e-1, 10.0), reals(-3.0, 3.0)), lambda a, b: a**b),
    OpSpec("pow_const", "**p", lambda a: a**2.5, _tuple(reals(1e-1, 10.0)), lambda a: a**2.5),
    OpSpec("pow_int", "**p", lambda a: a**3, _tuple(reals(-10.0, 10.0)), lambda a: a**3),
    OpSpec("pow_neg", "**p", lambda a: a**-1.5, _tuple(reals(1e-1, 10.0)), lambda a: a**-1.5),
    OpSpec("neg", "neg", lambda a: -a, _tuple(reals(-1e3, 1e3)), lambda a: -a),
    OpSpec("abs", "abs", lambda a: abs(a), _tuple(away_from_zero(1e-3, 1e3)), lambda a: a.abs()),
    OpSpec("exp", "exp", lambda a: a.exp(), _tuple(reals(-30.0, 30.0)), lambda a: a.exp()),
    OpSpec("log", "log", lambda a: a.log(), _tuple(reals(1e-2, 1e3)), lambda a: a.log()),
    OpSpec("sqrt", "sqrt", lambda a: a.sqrt(), _tuple(reals(1e-2, 1e3)), lambda a: a.sqrt()),
    OpSpec("sin", "sin", lambda a: a.sin(), _tuple(reals(-20.0, 20.0)), lambda a: a.sin()),
    OpSpec("cos", "cos", lambda a: a.cos(), _tuple(reals(-20.0, 20.0)), lambda a: a.cos()),
    OpSpec("tanh", "tanh", lambda a: a.tanh(), _tuple(reals(-20.0, 20.0)), lambda a: a.tanh()),
    OpSpec("sigmoid", "sigmoid", lambda a: a.sigmoid(), _tuple(reals(-30.0, 30.0)), lambda a: a.sigmoid()),
    OpSpec("softplus", "softplus", lambda a: a.softplus(), _tuple(reals(-30.0, 30.0)), _torch_softplus),
    OpSpec("relu", "relu", lambda a: a.relu(), _tuple(away_from_zero(1e-3, 1e3)), lambda a: a.relu()),
    OpSpec("leaky_relu", "leaky_relu", lambda a: a.leaky_relu(), _tuple(away_from_zero(1e-3, 1e3)),
           _torch_leaky(0.01)),
    OpSpec("leaky_relu_0.2", "leaky_relu", lambda a: a.leaky_relu(0.2), _tuple(away_from_zero(1e-3, 1e3)),
           _torch_leaky(0.2)),
]

SPEC_IDS = [s.name for s in OP_SPECS]


def central_difference(f: Callable[..., float], xs: tuple[float, ...], i: int) -> float:
    """(f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h in float64, h scaled to |xᵢ| so the step is never lost."""
    h = 1e-6 * max(1.0, abs(xs[i]))
    hi, lo = list(xs), list(xs)
    hi[i] += h
    lo[i] -= h
    return (f(*hi) - f(*lo)) / (hi[i] - lo[i])


def close(a: float, b: float, rel: float = 1e-5, abs_: float = 1e-6) -> bool:
    """Equal within tolerance; two NaNs or two equal infinities count as equal."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)
