"""Gradient checking: ``gradcheck``, ``gradgradcheck`` and their report tables."""

from __future__ import annotations

import math
import warnings

import pytest

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
    assert lines[1].split() == ["input", "analytic", "numeric", "rel.error", "status"]
    assert lines[2].split()[0] == "x0" and lines[2].split()[-1] == "ok"
    x1 = lines[3].split()
    assert x1[0] == "x1" and x1[1] == "3" and float(x1[2]) == pytest.approx(2.0) and x1[-1] == "MISMATCH"
    assert float(x1[3]) == pytest.approx(1 / 3, rel=1e-3)


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


@pytest.mark.parametrize(("name", "f", "x"), [
    ("relu at its kink", lambda x: x.relu(), 0.0),
    ("abs just off its kink", lambda x: abs(x), 1e-7),
    ("leaky_relu at its kink", lambda x: x.leaky_relu(0.1), -5e-7),
    ("hinge at its kink", lambda x: (1 - x).relu(), 1.0),
    ("max(x, 2) via relu at its kink", lambda x: (x - 2).relu() + 2, 2.0),
])
def test_kink_within_eps_is_reported_as_kink_not_failure(name, f, x):
    report = check_gradients(f, [x])
    assert report.rows[0].status == "kink", str(report)
    assert report.passed
    with pytest.warns(GradcheckWarning, match="kink lies within ±eps of x0"):
        assert gradcheck(f, [x]) is True


def test_kink_farther_than_eps_is_judged_normally():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gradcheck(lambda x: abs(x), [1e-3])


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


def test_gradgradcheck_reports_a_kink():
    with pytest.warns(GradcheckWarning):
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


def test_step_is_relative_to_the_input_only_above_one():
    # at |x| ≤ 1 the window is ±eps, so a kink 5e-7 away is still inside it
    assert check_gradients(lambda v: abs(v), [5e-7]).rows[0].status == "kink"
    assert check_gradients(lambda v: abs(v - 2.0), [2.0 + 1e-6]).rows[0].status == "kink"  # h = 2e-6 here
    assert check_gradients(lambda v: abs(v - 2.0), [2.0 + 3e-6]).rows[0].status == "ok"


@pytest.mark.parametrize("x", [math.inf, -math.inf, math.nan])
def test_non_finite_input_is_a_clear_error(x):
    with pytest.raises(ValueError, match="is not finite"):
        gradcheck(lambda v: v * 2, [x])


def test_eps_too_small_for_the_input_is_a_clear_error():
    with pytest.raises(ValueError, match="gives no step at input x0"):
        gradcheck(lambda v: v * 2, [1.0], eps=1e-20)
