"""The command line's expression parser: what it accepts, what it builds, what it refuses and how it says so."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_core import Value, gradcheck, topological_order
from nn.app.expr import FUNCTIONS, MAX_DEPTH, MAX_LENGTH, SIGNATURES, ExpressionError, parse_expression


def test_variables_are_listed_in_order_of_first_use():
    assert parse_expression("tanh(w*x + b)").variables == ("w", "x", "b")
    assert parse_expression("y*x + x*y + z").variables == ("y", "x", "z")


def test_the_seed_neuron_evaluates_and_backpropagates():
    a = parse_expression("tanh(w*x + b)").evaluate({"w": 0.5, "x": 2.0, "b": -1.0})
    a.backward()
    leaves = {v.label: v for v in topological_order(a) if v.is_leaf and v.label}
    assert a.data == 0.0
    assert (leaves["w"].grad, leaves["x"].grad, leaves["b"].grad) == (2.0, 0.5, 1.0)


def test_a_repeated_variable_is_one_leaf_whose_gradient_sums_every_use():
    out = parse_expression("x*x + x").evaluate({"x": 3.0})
    out.backward()
    (x,) = [v for v in topological_order(out) if v.label == "x"]
    assert out.data == 12.0
    assert x.grad == 7.0  # d(x² + x)/dx = 2x + 1


def test_micrograd_readme_example_inlined_gives_its_known_answers():
    # micrograd's README program, each statement substituted into the next.
    c0 = "(a + b)"
    d0 = "(a*b + b**3)"
    c1 = f"({c0} + {c0} + 1)"
    c2 = f"({c1} + 1 + {c1} + (-a))"
    d1 = f"({d0} + {d0}*2 + relu(b + a))"
    d2 = f"({d1} + 3*{d1} + relu(b - a))"
    f = f"({c2} - {d2})**2"
    a, b = Value(-4.0, "a"), Value(2.0, "b")
    g = parse_expression(f"{f} / 2.0 + 10.0 / {f}").evaluate({"a": a, "b": b})
    g.backward()
    assert g.data == pytest.approx(24.7041, abs=1e-4)
    assert a.grad == pytest.approx(138.8338, abs=1e-4)
    assert b.grad == pytest.approx(645.5773, abs=1e-4)


def test_method_call_syntax_suggests_the_function_form():
    with pytest.raises(ExpressionError, match=r"write relu\(\.\.\.\) instead of \.relu\(\)"):
        parse_expression("(x + 1).relu()")


@pytest.mark.parametrize(
    ("source", "point", "expected"),
    [
        ("exp(x) + log(y) + sqrt(z)", {"x": 0.5, "y": 2.0, "z": 9.0}, math.exp(0.5) + math.log(2.0) + 3.0),
        ("sin(x) * cos(x)", {"x": 0.7}, math.sin(0.7) * math.cos(0.7)),
        ("sigmoid(x) + softplus(x)", {"x": -1.5}, 1 / (1 + math.exp(1.5)) + math.log1p(math.exp(-1.5))),
        ("relu(x) + relu(-x) + abs(x)", {"x": -2.0}, 4.0),
        ("leaky_relu(x) + leaky_relu(x, 0.2) + leaky_relu(x, -0.5)", {"x": -2.0}, -0.02 - 0.4 + 1.0),
        ("2**x + x**-1 + x**0.5 + +x", {"x": 4.0}, 16.0 + 0.25 + 2.0 + 4.0),
        ("x**y", {"x": 2.0, "y": 3.0}, 8.0),
        ("1e400 * x", {"x": 1.0}, math.inf),
        ("-x**2", {"x": 3.0}, -9.0),  # ** binds tighter than unary minus, as in Python
    ],
)
def test_every_allowed_function_and_operator_computes_the_usual_value(source, point, expected):
    assert parse_expression(source).evaluate(point).data == pytest.approx(expected)


def test_every_listed_function_is_accepted():
    for name in FUNCTIONS:
        names = "xyz"[: len(SIGNATURES[name].inputs)]
        bound = ", 1" if name == "clamp" else ""  # clamp needs a bound
        assert parse_expression(f"{name}({', '.join(names)}{bound})").variables == tuple(names)


def test_a_constant_exponent_is_the_one_input_power_op():
    out = parse_expression("x**3").evaluate({"x": 2.0})
    assert out.op == "**3"
    assert len(out.parents) == 1


def test_a_variable_exponent_is_the_two_input_power_op():
    out = parse_expression("x**y").evaluate({"x": 2.0, "y": 3.0})
    assert out.op == "**"
    assert len(out.parents) == 2


def test_an_expression_without_variables_still_gives_a_value():
    out = parse_expression("2 * 3 + 1").evaluate({})
    assert isinstance(out, Value) and out.data == 7.0


def test_calling_positionally_follows_the_variable_order_so_gradcheck_works():
    expr = parse_expression("x**3 + sin(x*y)")
    assert expr(0.3, 2.0).data == pytest.approx(0.3**3 + math.sin(0.6))
    assert gradcheck(expr, [0.3, 2.0])
    with pytest.raises(TypeError, match=r"takes 2 values \(x, y\), got 1"):
        expr(1.0)


@settings(max_examples=50)
@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(-3, 3))
def test_parsed_graph_has_the_same_value_and_gradients_as_the_hand_written_one(w, x, b):
    parsed = parse_expression("tanh(w*x + b) * sigmoid(x) - exp(-w*w)")
    pw, px, pb = Value(w), Value(x), Value(b)
    out = parsed.evaluate({"w": pw, "x": px, "b": pb})
    out.backward()
    hw, hx, hb = Value(w), Value(x), Value(b)
    ref = (hw * hx + hb).tanh() * hx.sigmoid() - (-hw * hw).exp()
    ref.backward()
    assert out.data == ref.data
    assert (pw.grad, px.grad, pb.grad) == (hw.grad, hx.grad, hb.grad)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x.__class__", "attribute access is not allowed"),
        ("__import__('os').system('echo hi')", "only named functions can be called"),
        ("open('f')", "unknown function 'open'"),
        ("f(x)", "unknown function 'f'"),
        ("(x)(y)", "unknown function 'x'"),
        ("exp", "'exp' is a function; call it as exp"),
        ("x[0]", "indexing is not allowed"),
        ("x // 2", "operator '//' is not allowed"),
        ("x % 2", "operator '%' is not allowed"),
        ("x ^ 2", r"'\^' \(use \*\* for powers\)"),
        ("~x", "operator '~' is not allowed"),
        ("not x", "operator 'not' is not allowed"),
        ("x < 2", "a comparison is not allowed"),
        ("x and y", "'and'/'or' is not allowed"),
        ("lambda: 1", "a lambda is not allowed"),
        ("x if y else z", "an if-expression is not allowed"),
        ("x, y", "a tuple"),
        ("[x]", "a list is not allowed"),
        ("'text'", "str 'text' is not a real number"),
        ("True + x", "bool True is not a real number"),
        ("2j * x", "a complex number is not a real number"),
        ("f'{x}'", "an f-string is not allowed"),
        ("(y := 2)", r"an assignment \(:=\) is not allowed"),
        ("sin(x, y)", r"sin\(\) takes exactly 1 argument, got 2"),
        ("tanh()", r"tanh\(\) takes exactly 1 argument, got 0"),
        ("leaky_relu(x, y)", "the negative_slope of leaky_relu"),
        ("leaky_relu(x, 1, 2)", r"leaky_relu\(\) takes 1 or 2 arguments"),
        ("exp(x=1)", "takes no keyword arguments"),
        ("x +", "ends too early"),
        ("x y", "unexpected 'y' \\(a missing operator"),
        ("sin(x", "'\\(' was never closed"),
        ("2x", "invalid decimal literal"),
        ("", "it is empty"),
        ("   ", "it is empty"),
    ],
)
def test_refused_expressions_say_what_is_wrong(source, message):
    with pytest.raises(ExpressionError, match=message) as info:
        parse_expression(source)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("source", "column"),
    [
        ("x // 2", 3),
        ("w*x + b.y", 7),
        ("tanh(w) + foo(x)", 11),
        ("é + x // 2", 7),  # columns count characters, not UTF-8 bytes
        ("x y", 3),
        ("sin(x, y) + 1", 1),
    ],
)
def test_errors_point_at_the_offending_column(source, column):
    with pytest.raises(ExpressionError) as info:
        parse_expression(source)
    assert info.value.column == column
    assert f"at column {column}:" in str(info.value)


def test_nothing_is_executed_while_parsing_or_evaluating(tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises(ExpressionError):
        parse_expression(f"__import__('pathlib').Path({str(marker)!r}).touch()")
    assert not marker.exists()


def test_deep_nesting_is_refused_with_a_clear_error_not_a_recursion_error():
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse_expression("-" * (MAX_DEPTH + 5) + "x")
    deep_but_fine = "(" * 150 + "x" + ")" * 150  # brackets alone do not nest operations
    assert parse_expression(deep_but_fine).variables == ("x",)


def test_overlong_input_is_refused():
    with pytest.raises(ExpressionError, match=f"the limit is {MAX_LENGTH}"):
        parse_expression("x+" * MAX_LENGTH + "x")


def test_a_non_string_is_a_type_error():
    with pytest.raises(TypeError, match="must be a str, got int"):
        parse_expression(3)  # type: ignore[arg-type]


def test_evaluate_names_missing_and_unknown_variables():
    expr = parse_expression("w*x + b")
    with pytest.raises(ExpressionError, match="no value given for 'x' and 'b'"):
        expr.evaluate({"w": 1.0})
    with pytest.raises(ExpressionError, match=r"'z' not in the expression \(it uses 'w', 'x', 'b'\)"):
        expr.evaluate({"w": 1.0, "x": 1.0, "b": 1.0, "z": 2.0})


def test_domain_errors_follow_ieee_instead_of_raising():
    assert math.isnan(parse_expression("log(x)").evaluate({"x": -1.0}).data)
    assert parse_expression("log(x)").evaluate({"x": 0.0}).data == -math.inf
    assert parse_expression("1 / x").evaluate({"x": 0.0}).data == math.inf
