"""Gradient checking: ``gradcheck``, ``gradgradcheck`` and their report tables."""

from __future__ import annotations

import math
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd_core import (
    Function,
    GradcheckError,
    GradcheckWarning,
    Op,
    Value,
    check_gradients,
    check_second_gradients,
    gradcheck,
    gradgradcheck,
    no_grad,
)
from autograd_core.value import record


class WrongMul(Function):
    """x·y whose backward forgets the second input's derivative (returns x + 1 instead of x)."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_values
        return y * g, (x + 1) * g


class BadSquare(Function):
    """x² whose backward says 3x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_values
        return 3 * x * g


class Scaled(Function):
    """x·scale whose backward claims ``claim`` (a class attribute, set by each test)."""

    claim = 1.0

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, g):
        return Scaled.claim * g


class Jittery(Function):
    """2x whose backward is one ulp off on every other call (as an atomic-add race would be)."""

    calls = 0

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, g):
        Jittery.calls += 1
        return (2 + 4.440892098500626e-16 * (Jittery.calls % 2)) * g


# x², with a first derivative that is right in value but detached from x (B.data), so its
# second derivative comes out 1 instead of 2.
_DETACHED_SQUARE = Op("detached_square", 1, lambda B, x: x * x, lambda B, xs, out: (xs[0] + B.data(xs[0]),))


def _detached_square(x: Value) -> Value:
    return record(_DETACHED_SQUARE, (x,))


def test_gradcheck_passes_correct_builtin_ops():
    assert gradcheck(lambda x, y: (x * y + x.exp()).tanh() / (1 + y * y), [0.3, -1.2])
    assert gradcheck(lambda x: x.sigmoid() * x.softplus() - x.log(), [2.0])
    assert gradcheck(lambda x: x**2.5, 1.7)


def test_mismatch_raises_with_a_per_input_table():
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongMul.apply, [2.0, 3.0])
    message = str(info.value)
    lines = message.splitlines()
    assert lines[0] == "gradcheck failed: 1 of 2 derivatives agree"
    assert lines[1].split() == ["input", "analytic", "numeric", "rel.error", "est.error", "numeric", "derivative",
                                "status"]
    assert lines[2].split()[0] == "x0" and lines[2].split()[-1] == "ok"
    x1 = lines[3].split()
    assert x1[0] == "x1" and x1[1] == "3" and float(x1[2]) == pytest.approx(2.0) and x1[-1] == "MISMATCH"
    assert float(x1[3]) == pytest.approx(1 / 3, rel=1e-3)
    assert float(x1[4]) < 1e-9 and x1[5] == "richardson" and x1[6].startswith("h=")


def test_report_rows_hold_analytic_numeric_and_relative_error():
    report = check_gradients(WrongMul.apply, [2.0, 3.0])
    assert not report.passed
    row = report.rows[1]
    assert (row.name, row.analytic, row.status, row.ok) == ("x1", 3.0, "MISMATCH", False)
    assert row.numeric == pytest.approx(2.0, rel=1e-9)
    assert row.rel_error == pytest.approx(abs(row.analytic - row.numeric) / max(abs(row.analytic), abs(row.numeric)))


def test_raise_exception_false_returns_false():
    assert gradcheck(WrongMul.apply, [2.0, 3.0], raise_exception=False) is False


def test_gradcheck_error_carries_the_report_and_is_an_assertion_error():
    with pytest.raises(AssertionError) as info:
        gradcheck(WrongMul.apply, [2.0, 3.0])
    assert isinstance(info.value, GradcheckError) and info.value.report.rows[1].status == "MISMATCH"


def test_both_zero_passes_explicitly():
    report = check_gradients(lambda x, y: x.relu() + y * 0, [-1.0, 5.0])
    assert [r.status for r in report.rows] == ["both zero", "both zero"]
    assert report.passed and gradcheck(lambda x: x.relu(), [-1.0])


def test_input_the_output_ignores_has_both_zero():
    report = check_gradients(lambda x, y: x * 2, [1.0, 1.0])
    assert [r.status for r in report.rows] == ["ok", "both zero"]


@pytest.mark.parametrize(("name", "f", "x", "left", "right"), [
    ("relu at its kink", lambda x: x.relu(), 0.0, 0.0, 1.0),
    ("abs at its kink", lambda x: abs(x), 0.0, -1.0, 1.0),
    ("leaky_relu at its kink", lambda x: x.leaky_relu(0.1), 0.0, 0.1, 1.0),
    ("hinge at its kink", lambda x: (1 - x).relu(), 1.0, -1.0, 0.0),
    ("max(x, 2) via relu at its kink", lambda x: (x - 2).relu() + 2, 2.0, 0.0, 1.0),
    ("relu of a square touches its kink", lambda x: (x * x).relu(), 0.0, 0.0, 0.0),
])
def test_at_a_kink_the_one_sided_derivatives_are_checked(name, f, x, left, right):
    report = check_gradients(f, [x])
    row = report.rows[0]
    assert row.status == "kink" and report.passed, str(report)
    assert row.left == pytest.approx(left, abs=1e-9) and row.right == pytest.approx(right, abs=1e-9)
    assert "one-sided at kink of" in row.method and report.kinks == [row]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gradcheck(f, [x]) is True


@pytest.mark.parametrize("x", [1e-7, -5e-7, 1e-12, 2.0 + 1e-6])
def test_a_kink_near_but_not_at_the_point_is_judged_by_the_smaller_steps(x):
    report = check_gradients(lambda v: abs(v) + 2 * abs(v - 2.0), [x])
    assert report.rows[0].status == "ok" and report.rows[0].method.startswith("richardson"), str(report)


def test_a_value_between_the_one_sided_derivatives_passes_and_one_outside_fails():
    # relu(x) + abs(x) at 0: left −1, right 2; the chain rule gives relu'(0) + sign(0) = 0
    report = check_gradients(lambda x: x.relu() + abs(x), [0.0])
    assert (report.rows[0].left, report.rows[0].right) == (pytest.approx(-1.0), pytest.approx(2.0))
    assert report.passed
    # x = relu(x) − relu(−x) has derivative 1 everywhere, but the chain rule reads 0 at the kinks
    report = check_gradients(lambda x: x.relu() - (-x).relu(), [0.0])
    assert report.rows[0].status == "MISMATCH" and report.rows[0].left == pytest.approx(1.0)


def test_a_kink_the_checked_input_cannot_move_excuses_nothing():
    # relu(y) sits at its kink, but moving x never moves it: x is checked as usual
    report = check_gradients(lambda x, y: BadSquare.apply(x) + y.relu(), [1.0, 0.0])
    assert [r.status for r in report.rows] == ["MISMATCH", "kink"]
    assert report.rows[0].method.startswith("richardson") and report.rows[0].numeric == pytest.approx(2.0)


def test_a_wrong_derivative_in_a_neuron_at_zero_bias_and_input_is_caught():
    # relu(w·x + b) at x = b = 0 sits on the kink; w cannot move it, so BadSquare(w) is judged
    f = lambda w, x, b: (BadSquare.apply(w) * x + b).relu() + BadSquare.apply(w)
    report = check_gradients(f, [0.5, 0.0, 0.0])
    assert [r.status for r in report.rows] == ["MISMATCH", "kink", "kink"], str(report)


def test_a_wrong_gradient_next_to_a_kinked_op_is_still_a_mismatch():
    assert gradcheck(lambda x, y: WrongMul.apply(x, y).relu(), [2.0, 3.0], raise_exception=False) is False


def test_eps_and_tolerances_are_respected():
    # sin at 1 with eps = 0.1: central difference error ≈ eps²/6·cos(1) ≈ 9e-4 relative.
    f = lambda x: x.sin()
    assert not gradcheck(f, [1.0], eps=0.1, atol=0.0, rtol=1e-4, raise_exception=False)
    assert gradcheck(f, [1.0], eps=0.1, atol=0.0, rtol=1e-2)


def test_fn_returning_a_number_has_zero_gradients():
    assert check_gradients(lambda x: 3.0, [1.0]).rows[0].status == "both zero"


def test_fn_returning_a_non_number_is_a_clear_error():
    with pytest.raises(TypeError, match="fn must return a Value, got str"):
        gradcheck(lambda x: "x", [1.0])


def test_non_number_inputs_are_a_clear_error():
    with pytest.raises(TypeError, match="real number"):
        gradcheck(lambda x: x, ["1.0"])


def test_gradgradcheck_passes_correct_second_derivatives():
    assert gradgradcheck(lambda x, y: x**3 * y + (x * y).sin(), [1.5, 2.0])
    assert gradgradcheck(lambda x: x.tanh().sigmoid(), [0.3])


def test_gradgradcheck_table_names_every_pair():
    report = check_second_gradients(lambda x, y: x**3 * y, [1.5, 2.0])
    assert [r.name for r in report.rows] == ["d2/dx0dx0", "d2/dx1dx0", "d2/dx0dx1", "d2/dx1dx1"]
    assert [r.analytic for r in report.rows] == [18.0, 6.75, 6.75, 0.0]
    assert report.rows[-1].status == "both zero"


def test_gradgradcheck_catches_a_wrong_second_derivative():
    f = lambda x: _detached_square(x)
    assert gradcheck(f, [1.5])
    with pytest.raises(GradcheckError, match="gradgradcheck failed") as info:
        gradgradcheck(f, [1.5])
    row = info.value.report.rows[0]
    assert (row.analytic, row.status) == (1.0, "MISMATCH") and row.numeric == pytest.approx(2.0)
    assert gradgradcheck(f, [1.5], raise_exception=False) is False


def test_gradgradcheck_judges_a_kink_by_one_sided_derivatives():
    # ∂f/∂x = 2·relu(x): left slope 0, right 2; the rule's second derivative reads 0
    report = check_second_gradients(lambda x: x.relu() * x, [0.0])
    row = report.rows[0]
    assert row.status == "kink" and (row.left, row.right) == (pytest.approx(0.0, abs=1e-9), pytest.approx(2.0))
    assert gradgradcheck(lambda x: x.relu() * x, [0.0])


def test_report_pretty_prints_in_ipython():
    class Printer:
        def __init__(self):
            self.out = ""

        def text(self, s):
            self.out += s

    p = Printer()
    report = check_gradients(lambda x: x * x, [2.0])
    report._repr_pretty_(p, False)
    assert p.out == str(report) and p.out.startswith("gradcheck passed: 1 of 1 derivatives agree")


def test_infinite_derivative_is_not_a_silent_pass():
    # sqrt'(0) = inf analytically; the one-sided numbers around 0 read nan: never "ok".
    report = check_gradients(lambda x: x.sqrt(), [0.0])
    assert math.isinf(report.rows[0].analytic)
    assert not report.passed


@pytest.mark.parametrize("x", [1e8, 1e12, -3e15, 1e20])
def test_large_inputs_get_a_step_that_survives_rounding(x):
    # an absolute step of 1e-6 is rounded away (or distorted) at these magnitudes
    assert gradcheck(lambda v: v * 2, [x])
    assert gradcheck(lambda v: v * v, [x])
    assert gradgradcheck(lambda v: v * v, [x])


def test_fixed_eps_is_pytorchs_absolute_step():
    # with eps the window is ±eps whatever |x|, so a kink 1e-6 away from 2 is inside it
    assert "one-sided" in check_gradients(lambda v: abs(v - 2.0), [2.0 + 1e-6], eps=1e-5).rows[0].method
    row = check_gradients(lambda v: abs(v - 2.0), [2.0 + 3e-6], eps=1e-6).rows[0]
    assert row.status == "ok" and row.method == "fixed eps=1e-06"


@pytest.mark.parametrize("x", [math.inf, -math.inf, math.nan])
def test_non_finite_input_is_a_clear_error(x):
    with pytest.raises(ValueError, match="is not finite"):
        gradcheck(lambda v: v * 2, [x])


def test_eps_too_small_for_the_input_is_a_clear_error():
    with pytest.raises(ValueError, match="gives no step at input x0"):
        gradcheck(lambda v: v * 2, [1.0], eps=1e-20)


@pytest.mark.parametrize(("f", "x"), [
    (lambda v: v.sin(), 1e5), (lambda v: v.cos(), 2e5), (lambda v: v.sin(), 1e12),
    (lambda v: v.log(), 1e-8), (lambda v: v**3, 1e-8), (lambda v: 1 / v, 3e-8),
    (lambda v: v.exp(), 30.0), (lambda v: v.tanh(), 10.0), (lambda v: (v * v + 1).sqrt(), -1e12),
])
def test_smooth_functions_pass_at_every_magnitude(f, x):
    report = check_gradients(f, [x])
    assert report.passed, str(report)
    assert report.rows[0].error < 1e-8 * max(abs(report.rows[0].analytic), 1e-300) or report.rows[0].error < 1e-12


@pytest.mark.parametrize(("inner", "x"), [
    (lambda v: v.log(), 1e-8), (lambda v: v.sin() + v * v, 0.3), (lambda v: v.sin(), 1e5),
    (lambda v: v.cos(), 2e5), (lambda v: v * v, 1e12),
])
def test_a_derivative_off_by_1e_4_relative_fails(inner, x):
    f = lambda v: Scaled.apply(inner(v))
    try:
        Scaled.claim = 1.0 + 1e-4
        assert not gradcheck(f, [x], raise_exception=False)
        Scaled.claim = 1.0
        assert gradcheck(f, [x])
    finally:
        Scaled.claim = 1.0


def test_a_derivative_5e_6_off_where_the_true_one_is_zero_fails():
    Scaled.claim = 1.0 + 5e-6
    report = check_gradients(lambda v: Scaled.apply(v) - v + v.cos(), [0.0])
    Scaled.claim = 1.0
    assert report.rows[0].status == "MISMATCH" and report.rows[0].numeric == 0.0


def test_atol_and_rtol_widen_the_adaptive_tolerance():
    Scaled.claim = 1.0 + 1e-4
    f = lambda v: Scaled.apply(v)
    try:
        assert not gradcheck(f, [1.0], raise_exception=False)
        assert gradcheck(f, [1.0], rtol=2e-4) and gradcheck(f, [1.0], atol=2e-4)
    finally:
        Scaled.claim = 1.0


def test_only_the_wrong_input_of_several_fails():
    report = check_gradients(lambda a, b, c, d: a * b + BadSquare.apply(c) + d.tanh(), [0.5, -1.5, 2.0, 0.25])
    assert [r.status for r in report.rows] == ["ok", "ok", "MISMATCH", "ok"]


def test_nondeterministic_backward_fails_like_pytorchs():
    report = check_gradients(Jittery.apply, [1.0])
    row = report.rows[0]
    assert row.status == "NONDETERMINISTIC" and "backward differs by" in row.method and not report.passed
    assert gradcheck(Jittery.apply, [1.0], nondet_tol=1e-9)


def test_checks_inside_no_grad_give_the_same_answer():
    f = lambda x, y: (x * y).tanh() + y.exp()
    with no_grad():
        assert gradcheck(f, [0.3, -0.7]) and gradgradcheck(f, [0.3, -0.7])
        assert gradcheck(WrongMul.apply, [2.0, 3.0], raise_exception=False) is False
        assert check_gradients(f, [0.3, -0.7]).rows[0].analytic != 0.0


def test_a_graph_that_changes_structure_warns_and_is_judged_one_sided():
    branchy = lambda x: x * x if x.data > 0 else x * 0.5
    with pytest.warns(GradcheckWarning, match="changes structure when x0 moves"):
        report = check_gradients(branchy, [0.0])
    row = report.rows[0]
    assert (row.left, row.right) == (pytest.approx(0.5), pytest.approx(0.0, abs=1e-9)) and row.status == "kink"
    assert "graph structure" in row.method and report.notes
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gradcheck(branchy, [1.0])


@pytest.mark.parametrize("eps", [0.0, -1e-6, math.nan, math.inf])
def test_unusable_eps_is_a_clear_error(eps):
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        gradcheck(lambda v: v * 2, [1.0], eps=eps)


def test_negative_tolerance_is_a_clear_error():
    with pytest.raises(ValueError, match="rtol must be a finite number ≥ 0, got -1"):
        gradcheck(lambda v: v * 2, [1.0], rtol=-1)


def test_a_step_that_leaves_the_domain_is_skipped():
    # log near 0: the large steps reach negative x (nan); the small ones decide
    assert gradcheck(lambda v: v.log(), [1e-3]) and gradcheck(lambda v: v.sqrt(), [1e-6])


_UNARY = [lambda v: v.sin(), lambda v: v.tanh(), lambda v: v.sigmoid(), lambda v: (v * v + 1).log(),
          lambda v: (v * v + 1).sqrt(), lambda v: v**3, lambda v: 1 / (1 + v * v), lambda v: v.softplus(),
          lambda v: (v * 0.01).exp()]


@st.composite
def _smooth_functions(draw):
    """A random composition of smooth ops in x, y and a point of random magnitude."""
    steps = draw(st.lists(st.tuples(st.integers(0, len(_UNARY) - 1), st.integers(0, 2), st.integers(0, 1)),
                          min_size=1, max_size=5))

    def f(x, y):
        acc = x
        for op, mix, _ in steps:
            acc = _UNARY[op](acc)
            acc = acc + y if mix == 1 else acc * y if mix == 2 else acc
        return acc

    scale = 10.0 ** draw(st.floats(-6, 3))
    point = [scale * draw(st.floats(0.5, 2.0)) * draw(st.sampled_from([-1, 1])) for _ in range(2)]
    return f, point


@given(_smooth_functions())
def test_random_smooth_functions_pass_and_fail_when_1e_4_off(case):
    f, point = case
    Scaled.claim = 1.0
    report = check_gradients(lambda x, y: Scaled.apply(f(x, y)), point)
    assert report.passed, str(report)
    resolvable = [r for r in report.rows if r.analytic != 0 and r.tolerance < 1e-5 * abs(r.analytic)]
    try:
        Scaled.claim = 1.0 + 1e-4
        wrong = check_gradients(lambda x, y: Scaled.apply(f(x, y)), point)
    finally:
        Scaled.claim = 1.0
    for row in resolvable:
        assert not wrong.rows[int(row.name[1:])].ok, str(wrong)
