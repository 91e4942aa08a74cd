"""What the tests share: op specifications, float comparisons, the lecture neuron, a custom op, Chromium.

Each :class:`OpSpec` says how to apply one op to Values, over which domain its derivative is
smooth (so central differences are valid there), and, for the PyTorch cross-check, how the
same op reads in torch. The op tests walk ``OP_SPECS`` so that adding an op to
``autograd_core.ops`` without adding its spec makes ``test_every_op_has_a_spec`` fail.

Nothing here imports torch: a torch callable receives the module from the ``torch`` fixture
(tests/conftest.py), so the suite collects and runs without torch installed.
"""

from __future__ import annotations

import gc
import math
import shutil
import socket
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from autograd_core import Function, Value
from nn.app.cli import main

ROOT = Path(__file__).resolve().parents[1]
"""The repository's root folder (README.md, notebooks/, docs/)."""
DOCS = ROOT / "docs"
"""Where the browser tests leave their screenshots for the README."""


def reals(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def away_from_zero(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Reals in [-hi, -lo] ∪ [lo, hi]: keeps finite differences off a kink or a pole."""
    return st.one_of(reals(lo, hi), reals(-hi, -lo))


@dataclass(frozen=True)
class OpSpec:
    """One op as the tests see it.

    ``apply(*values)`` records the op; ``domain`` draws tuples of inputs where the op is smooth;
    ``torch(torch, *tensors)`` is the same op in PyTorch, given the torch module; ``table`` names
    the entry (or family of
    entries) in ``autograd_core.OPS`` it exercises. ``grid`` lists fixed points inside the smooth
    domain, near its edges (checked against central differences); ``edges`` the domain edges
    themselves (poles, corners, ends of the domain), checked against PyTorch.
    """

    name: str
    table: str
    apply: Callable[..., Value]
    domain: st.SearchStrategy[tuple[float, ...]]
    torch: Callable[..., Any]
    grid: tuple[tuple[float, ...], ...] = ()
    edges: tuple[tuple[float, ...], ...] = ()

    @property
    def arity(self) -> int:
        return self.apply.__code__.co_argcount


def _tuple(*strategies: st.SearchStrategy[float]) -> st.SearchStrategy[tuple[float, ...]]:
    return st.tuples(*strategies)


def _torch_softplus(torch: Any, t: Any) -> Any:
    # log(1 + eˣ) exactly; torch's softplus switches to x above 20 (an approximation).
    return torch.logaddexp(t, torch.zeros_like(t))


def _torch_leaky(slope: float) -> Callable[..., Any]:
    def f(torch: Any, t: Any) -> Any:
        return torch.nn.functional.leaky_relu(t, slope)

    return f


OP_SPECS: list[OpSpec] = [
    OpSpec("add", "+", lambda a, b: a + b, _tuple(reals(-1e3, 1e3), reals(-1e3, 1e3)), lambda _, a, b: a + b),
    OpSpec("sub", "-", lambda a, b: a - b, _tuple(reals(-1e3, 1e3), reals(-1e3, 1e3)), lambda _, a, b: a - b),
    OpSpec("mul", "*", lambda a, b: a * b, _tuple(reals(-1e3, 1e3), reals(-1e3, 1e3)), lambda _, a, b: a * b),
    OpSpec("div", "/", lambda a, b: a / b, _tuple(reals(-1e3, 1e3), away_from_zero(1e-1, 1e3)), lambda _, a, b: a / b),
    OpSpec("pow", "**", lambda a, b: a**b, _tuple(reals(1e-1, 10.0), reals(-3.0, 3.0)), lambda _, a, b: a**b),
    OpSpec("pow_const", "**p", lambda a: a**2.5, _tuple(reals(1e-1, 10.0)), lambda _, a: a**2.5),
    OpSpec("pow_int", "**p", lambda a: a**3, _tuple(reals(-10.0, 10.0)), lambda _, a: a**3),
    OpSpec("pow_neg", "**p", lambda a: a**-1.5, _tuple(reals(1e-1, 10.0)), lambda _, a: a**-1.5),
    OpSpec("neg", "neg", lambda a: -a, _tuple(reals(-1e3, 1e3)), lambda _, a: -a),
    OpSpec("abs", "abs", lambda a: abs(a), _tuple(away_from_zero(1e-3, 1e3)), lambda _, a: a.abs()),
    OpSpec("exp", "exp", lambda a: a.exp(), _tuple(reals(-30.0, 30.0)), lambda _, a: a.exp()),
    OpSpec("log", "log", lambda a: a.log(), _tuple(reals(1e-2, 1e3)), lambda _, a: a.log()),
    OpSpec("sqrt", "sqrt", lambda a: a.sqrt(), _tuple(reals(1e-2, 1e3)), lambda _, a: a.sqrt()),
    OpSpec("sin", "sin", lambda a: a.sin(), _tuple(reals(-20.0, 20.0)), lambda _, a: a.sin()),
    OpSpec("cos", "cos", lambda a: a.cos(), _tuple(reals(-20.0, 20.0)), lambda _, a: a.cos()),
    OpSpec("tanh", "tanh", lambda a: a.tanh(), _tuple(reals(-20.0, 20.0)), lambda _, a: a.tanh()),
    OpSpec("sigmoid", "sigmoid", lambda a: a.sigmoid(), _tuple(reals(-30.0, 30.0)), lambda _, a: a.sigmoid()),
    OpSpec("softplus", "softplus", lambda a: a.softplus(), _tuple(reals(-30.0, 30.0)), _torch_softplus),
    OpSpec("relu", "relu", lambda a: a.relu(), _tuple(away_from_zero(1e-3, 1e3)), lambda _, a: a.relu()),
    OpSpec("leaky_relu", "leaky_relu", lambda a: a.leaky_relu(), _tuple(away_from_zero(1e-3, 1e3)),
           _torch_leaky(0.01)),
    OpSpec("leaky_relu_0.2", "leaky_relu", lambda a: a.leaky_relu(0.2), _tuple(away_from_zero(1e-3, 1e3)),
           _torch_leaky(0.2)),
]


def _torch_fn(name: str, **kwargs: Any) -> Callable[..., Any]:
    """``torch.<name>`` (or ``torch.nn.functional.<name>``) of the torch module it is given."""

    def f(torch: Any, *ts: Any) -> Any:
        fn = getattr(torch, name, None) if name not in ("gelu", "silu", "elu", "selu", "celu", "softsign",
                                                        "hardtanh", "hardsigmoid", "hardswish", "mish",
                                                        "logsigmoid") else None
        fn = fn or getattr(torch.nn.functional, name)
        return fn(*ts, **kwargs)

    f.__name__ = name
    return f


def _torch_hardsigmoid(torch: Any, t: Any) -> Any:
    # PyTorch's backward of hardsigmoid uses 1/6 rounded to float32 (0.1666666716) and has no
    # second derivative; this is the same function with the float64 slope 1/6 on (−3, 3).
    slope = torch.where((t > -3) & (t < 3), (t - t.detach()) / 6.0, torch.zeros_like(t))
    return torch.nn.functional.hardsigmoid(t).detach() + slope


def away_from(points: tuple[float, ...], lo: float, hi: float, gap: float = 1e-3) -> st.SearchStrategy[float]:
    """Reals in [lo, hi] at least ``gap`` from each of ``points`` (corners of piecewise ops)."""
    return reals(lo, hi).filter(lambda x: all(abs(x - p) > gap for p in points))


def _off_integers(shift: float = 0.0) -> st.SearchStrategy[tuple[float]]:
    # n + f with f ∈ [0.01, 0.99]: never within 0.01 of an integer (shift = 0.5: of a half-integer).
    return st.tuples(st.builds(lambda n, f: n + f + shift, st.integers(-50, 50), reals(0.01, 0.99)))


def _quotient_off_integers() -> st.SearchStrategy[tuple[float, float]]:
    # (a, b) with a/b at least 0.01 from an integer, so a mod b is smooth around (a, b).
    return st.builds(lambda b, n, f: (b * (n + f), b), away_from_zero(0.5, 10.0), st.integers(-20, 20),
                     reals(0.01, 0.99))


def _apart() -> st.SearchStrategy[tuple[float, float]]:
    return st.builds(lambda a, d: (a, a + d), reals(-100.0, 100.0), away_from_zero(1e-2, 10.0))


def _unary_spec(name: str, domain: st.SearchStrategy[float], grid: tuple[float, ...] = (),
                edges: tuple[float, ...] = (), **torch_kwargs: Any) -> OpSpec:
    return OpSpec(name, name, lambda a: getattr(a, name)(), st.tuples(domain), _torch_fn(name, **torch_kwargs),
                  tuple((x,) for x in grid), tuple((x,) for x in edges))


OP_SPECS += [
    _unary_spec("tan", reals(-1.4, 1.4), grid=(1.5, -1.5, 0.0), edges=(math.pi / 2,)),
    _unary_spec("sinh", reals(-20.0, 20.0), grid=(0.0, 700.0), edges=(711.0, -711.0)),
    _unary_spec("cosh", reals(-20.0, 20.0), grid=(0.0, -700.0), edges=(711.0, -711.0)),
    _unary_spec("asin", reals(-0.95, 0.95), grid=(0.999, -0.999, 0.0), edges=(1.0, -1.0, 1.5, -1.5)),
    _unary_spec("acos", reals(-0.95, 0.95), grid=(0.999, -0.999, 0.0), edges=(1.0, -1.0, 1.5, -1.5)),
    _unary_spec("atan", reals(-100.0, 100.0), grid=(0.0, 1e6, -1e6)),
    _unary_spec("asinh", reals(-100.0, 100.0), grid=(0.0, 1e6, -1e6)),
    _unary_spec("acosh", reals(1.05, 100.0), grid=(1.001, 1e6), edges=(1.0, 0.5, 0.0, -2.0)),
    _unary_spec("atanh", reals(-0.95, 0.95), grid=(0.999, -0.999, 0.0), edges=(1.0, -1.0, 1.5, -1.5)),
    OpSpec("atan2", "atan2", lambda y, x: y.atan2(x), st.tuples(away_from_zero(0.1, 10.0), reals(-10.0, 10.0)),
           _torch_fn("atan2"), grid=((1e-3, -1.0), (-1e-3, -1.0), (1.0, 0.0), (0.3, 0.3)),
           edges=((0.0, 0.0), (0.0, -1.0), (-0.0, -1.0), (0.0, 1.0))),
    OpSpec("hypot", "hypot", lambda a, b: a.hypot(b), st.tuples(reals(-100.0, 100.0), away_from_zero(0.1, 100.0)),
           _torch_fn("hypot"), grid=((1e-3, 1e-3), (1e200, 1e200), (3.0, 4.0)), edges=((0.0, 0.0), (0.0, 1.0))),
    _unary_spec("log2", reals(1e-2, 1e3), grid=(1e-3, 1.0, 1e300), edges=(0.0, -1.0)),
    _unary_spec("log10", reals(1e-2, 1e3), grid=(1e-3, 1.0, 1e300), edges=(0.0, -1.0)),
    _unary_spec("log1p", reals(-0.99, 1e3), grid=(-0.999, 1e-10, 0.0), edges=(-1.0, -2.0)),
    # above −5: PyTorch's derivative 1 + expm1(x) loses digits further down (ours is eˣ)
    _unary_spec("expm1", reals(-5.0, 30.0), grid=(1e-10, 0.0, -700.0), edges=(710.0,)),
    _unary_spec("exp2", reals(-30.0, 30.0), grid=(0.0, 1000.0, -1000.0), edges=(1024.0,)),
    _unary_spec("square", reals(-1e3, 1e3), grid=(0.0, 1e150), edges=(1e200,)),
    _unary_spec("reciprocal", away_from_zero(0.1, 1e3), grid=(1e-3, -1e-3), edges=(0.0, -0.0)),
    _unary_spec("sign", away_from_zero(1e-3, 1e3), grid=(2.0, -2.0), edges=(0.0, 1e-300, -1e-300)),
    OpSpec("floor", "floor", lambda a: a.floor(), _off_integers(), _torch_fn("floor"), grid=((0.5,), (-0.5,)),
           edges=((1.0,), (-1.0,), (0.0,))),
    OpSpec("ceil", "ceil", lambda a: a.ceil(), _off_integers(), _torch_fn("ceil"), grid=((0.5,), (-0.5,)),
           edges=((1.0,), (-1.0,), (0.0,))),
    OpSpec("round", "round", lambda a: a.round(), _off_integers(0.5), _torch_fn("round"), grid=((0.0,), (2.0,)),
           edges=((0.5,), (1.5,), (2.5,), (-0.5,))),
    OpSpec("remainder", "%", lambda a, b: a % b, _quotient_off_integers(), _torch_fn("remainder"),
           grid=((5.5, 3.0), (-5.5, 3.0), (5.5, -3.0), (-5.5, -3.0)),
           edges=((6.0, 3.0), (-6.0, 3.0), (5.0, 0.0), (0.0, 3.0))),
    OpSpec("fmod", "fmod", lambda a, b: a.fmod(b), _quotient_off_integers(), _torch_fn("fmod"),
           grid=((5.5, 3.0), (-5.5, 3.0), (5.5, -3.0), (-5.5, -3.0)),
           edges=((6.0, 3.0), (-6.0, 3.0), (5.0, 0.0), (0.0, 3.0))),
    OpSpec("maximum", "maximum", lambda a, b: a.maximum(b), _apart(), _torch_fn("maximum"),
           grid=((1.0, 1.1), (1.1, 1.0)), edges=((1.0, 1.0), (0.0, -0.0))),
    OpSpec("minimum", "minimum", lambda a, b: a.minimum(b), _apart(), _torch_fn("minimum"),
           grid=((1.0, 1.1), (1.1, 1.0)), edges=((1.0, 1.0), (0.0, -0.0))),
    OpSpec("clamp", "clamp", lambda a: a.clamp(-1.0, 2.0), st.tuples(away_from((-1.0, 2.0), -10.0, 10.0)),
           _torch_fn("clamp", min=-1.0, max=2.0), grid=((-0.99,), (1.99,), (0.0,)), edges=((-1.0,), (2.0,))),
    OpSpec("clamp_min", "clamp", lambda a: a.clamp(min=0.5), st.tuples(away_from((0.5,), -10.0, 10.0)),
           _torch_fn("clamp", min=0.5), edges=((0.5,),)),
    OpSpec("clamp_empty", "clamp", lambda a: a.clamp(2.0, 1.0), st.tuples(reals(-10.0, 10.0)),
           _torch_fn("clamp", min=2.0, max=1.0), edges=((1.0,), (2.0,), (1.5,))),
    _unary_spec("erf", reals(-5.0, 5.0), grid=(0.0, 6.0, -6.0), edges=(27.0,)),
    OpSpec("logaddexp", "logaddexp", lambda a, b: a.logaddexp(b), st.tuples(reals(-50.0, 50.0), reals(-50.0, 50.0)),
           _torch_fn("logaddexp"), grid=((0.0, 0.0), (700.0, 700.0), (-700.0, 10.0)),
           edges=((1000.0, 1000.0), (-1000.0, -1000.0))),
    _unary_spec("gelu", reals(-5.0, 8.0), grid=(0.0, 10.0, -5.0)),
    OpSpec("gelu_tanh", "gelu_tanh", lambda a: a.gelu(approximate="tanh"), st.tuples(reals(-5.0, 8.0)),
           _torch_fn("gelu", approximate="tanh"), grid=((0.0,), (10.0,), (-5.0,))),
    _unary_spec("silu", reals(-30.0, 30.0), grid=(0.0, 700.0, -700.0)),
    OpSpec("elu", "elu", lambda a: a.elu(), st.tuples(away_from_zero(1e-3, 30.0)), _torch_fn("elu"),
           grid=((1e-3,), (-1e-3,)), edges=((0.0,),)),
    OpSpec("elu_0.5", "elu", lambda a: a.elu(0.5), st.tuples(away_from_zero(1e-3, 30.0)), _torch_fn("elu", alpha=0.5),
           edges=((0.0,),)),
    _unary_spec("selu", away_from_zero(1e-3, 30.0), grid=(1e-3, -1e-3), edges=(0.0,)),
    OpSpec("celu", "celu", lambda a: a.celu(), st.tuples(away_from_zero(1e-3, 30.0)), _torch_fn("celu"),
           edges=((0.0,),)),
    OpSpec("celu_2", "celu", lambda a: a.celu(2.0), st.tuples(away_from_zero(1e-3, 30.0)),
           _torch_fn("celu", alpha=2.0), grid=((1e-3,), (-1e-3,)), edges=((0.0,),)),
    _unary_spec("softsign", away_from_zero(1e-3, 50.0), grid=(1e-3, -1e-3, 1e6), edges=(0.0,)),
    OpSpec("hardtanh", "hardtanh", lambda a: a.hardtanh(), st.tuples(away_from((-1.0, 1.0), -5.0, 5.0)),
           _torch_fn("hardtanh"), grid=((0.999,), (-0.999,)), edges=((1.0,), (-1.0,))),
    OpSpec("hardtanh_0_6", "hardtanh", lambda a: a.hardtanh(0.0, 6.0), st.tuples(away_from((0.0, 6.0), -10.0, 10.0)),
           _torch_fn("hardtanh", min_val=0.0, max_val=6.0), edges=((0.0,), (6.0,))),
    OpSpec("hardsigmoid", "hardsigmoid", lambda a: a.hardsigmoid(), st.tuples(away_from((-3.0, 3.0), -6.0, 6.0)),
           _torch_hardsigmoid, grid=((2.999,), (-2.999,)), edges=((3.0,), (-3.0,))),
    _unary_spec("hardswish", away_from((-3.0, 3.0), -6.0, 6.0), grid=(2.999, -2.999), edges=(3.0, -3.0)),
    _unary_spec("mish", reals(-30.0, 30.0), grid=(0.0, 700.0, -700.0)),
    _unary_spec("logsigmoid", reals(-30.0, 30.0), grid=(0.0, 700.0, -700.0)),
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


class Cube(Function):
    """x³ as a custom op: ∂(x³)/∂x = 3x², from the input saved on ``ctx``."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_values
        return (3 * x**2 * grad_output,)


def neuron() -> tuple[Value, dict[str, Value]]:
    """The lecture neuron a = tanh(x1·w1 + x2·w2 + b), b chosen so that a = √½; labelled.

    Returns ``(a, leaves)`` with the leaves by label.
    """
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    a = (x1 * w1 + x2 * w2 + b).tanh()
    a.label = "a"
    return a, {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b}


@contextmanager
def gc_off() -> Iterator[None]:
    """No cycle collector: only reference counting may free anything inside."""
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int | str | None, str, str]:
    """``backprop`` with ``argv``, in-process: (exit status, stdout, stderr)."""
    try:
        code: int | str | None = main(list(argv))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


# Browsers: headless Chromium through Selenium, for tests/browser.


def _find(*names: str) -> str | None:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium_paths() -> tuple[str, str]:
    """(browser, driver) executables, or a pytest skip naming what is missing."""
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[dev]')")
    browser = _find("chromium", "chromium-browser", "google-chrome")
    driver = _find("chromedriver")
    if browser is None or driver is None:
        missing = " and ".join(n for n, p in (("chromium", browser), ("chromedriver", driver)) if p is None)
        pytest.skip(f"no {missing} on PATH (apt-get install chromium chromium-driver)")
    return browser, driver


def new_driver(width: int = 1400, height: int = 1000) -> Any:
    """A headless Chromium WebDriver with a fresh profile and no background networking."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--window-size={width},{height}"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-profile-')}")
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except Exception as e:  # not up yet
            last = e
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {timeout} s (last error: {last})")
