"""The expression language knows every function of autograd_core.vmath, through check and graph."""

from __future__ import annotations

import math

import pytest

from autograd_core import vmath
from nn.app.expr import FUNCTIONS, SIGNATURES, ExpressionError, parse_expression
from tests.helpers import run_cli


def test_the_function_list_is_vmaths_own():
    assert set(FUNCTIONS) == {*vmath.__all__, "abs"}
    assert SIGNATURES["atan2"].inputs == ("a", "b") and SIGNATURES["hardtanh"].constants == ("min_val", "max_val")


@pytest.mark.parametrize(("source", "point", "expected"), [
    ("atan2(y, x)", {"y": 1.0, "x": -1.0}, 3 * math.pi / 4),
    ("hypot(a, b)", {"a": 3.0, "b": 4.0}, 5.0),
    ("maximum(x, y) - minimum(x, y)", {"x": 2.0, "y": -1.0}, 3.0),
    ("tan(x) + sinh(x) + cosh(x)", {"x": 0.3}, math.tan(0.3) + math.sinh(0.3) + math.cosh(0.3)),
    ("gelu(x) + silu(x)", {"x": 0.7}, 0.7 * (1 + math.erf(0.7 / math.sqrt(2))) / 2 + 0.7 / (1 + math.exp(-0.7))),
    ("hardtanh(x, -0.5, 0.5) + clamp(x, 0, 0.25) + elu(-x, 2)", {"x": 0.8}, 0.5 + 0.25 + 2 * math.expm1(-0.8)),
])
def test_new_functions_compute_the_usual_value(source, point, expected):
    assert parse_expression(source).evaluate(point).data == pytest.approx(expected, rel=1e-14)


def test_pow_with_a_number_exponent_is_the_one_input_power():
    out = parse_expression("pow(x, 3)").evaluate({"x": 2.0})
    assert out.data == 8.0 and out.op == "**3" and len(out.parents) == 1


@pytest.mark.parametrize(("source", "reason"), [
    ("atan2(y)", r"atan2\(\) takes exactly 2 arguments \(a, b\), got 1"),
    ("hypot(a, b, c)", r"hypot\(\) takes exactly 2 arguments"),
    ("hardtanh(x, 1, 2, 3)", r"hardtanh\(\) takes 1 to 3 arguments \(x, min_val, max_val\), got 4"),
    ("elu(x, y)", "the alpha of elu"),
    ("clamp(x)", "clamp needs at least one of min and max"),
    ("gelu(x, 1)", r"gelu\(\) takes exactly 1 argument, got 2"),
    ("vmath.sin(x)", "method calls are not allowed"),
    ("__import__('os')", "unknown function '__import__'"),
])
def test_wrong_calls_are_refused_with_a_reason(source, reason):
    with pytest.raises(ExpressionError, match=reason):
        parse_expression(source)


@pytest.mark.parametrize("source", ["atan2(y, x) * hypot(x, y)", "gelu(x) + silu(y) + tan(x*y)",
                                    "maximum(x, y) + logaddexp(x, y) + erf(x)"])
def test_backprop_check_passes_on_new_functions(capsys, source):
    code, out, err = run_cli(capsys, "check", source, "--at", "x=0.7", "y=-0.4")
    assert code == 0, err
    assert "gradcheck passed" in out


def test_backprop_graph_draws_a_new_function(capsys, tmp_path):
    target = tmp_path / "g.dot"
    code, _, err = run_cli(capsys, "graph", "atan2(y, x) + gelu(x)", "--at", "x=2", "y=1", "-o", str(target))
    assert code == 0, err
    dot = target.read_text()
    assert "atan2" in dot and "gelu" in dot
