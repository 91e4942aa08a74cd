"""Custom ops in PyTorch's style: ``Function`` with ``forward(ctx, …)`` and ``backward(ctx, g)``."""

from __future__ import annotations

import math
import weakref
from typing import ClassVar

import pytest

from autograd_core import Function, GradcheckError, Value, detect_anomaly, grad, gradcheck, gradients, no_grad
from tests.helpers import Cube, gc_off


class MulAdd(Function):
    """x·y + k, with k stored on ctx."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        ctx.k = 1.0
        return x * y + ctx.k

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        return y * grad_output, x * grad_output


class WrongCube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_values
        return (2 * x**2 * grad_output,)  # should be 3x²


def test_forward_and_backward_of_a_custom_op():
    x = Value(2.0)
    y = Cube.apply(x)
    assert y.data == 8.0 and y.op == "Cube" and y.parents == (x,)
    y.backward()
    assert x.grad == 12.0


def test_custom_op_takes_plain_numbers():
    y = Cube.apply(3)
    assert y.data == 27.0 and y.parents[0].is_leaf and y.parents[0].data == 3.0


def test_custom_op_mixes_numbers_and_values_and_ctx_attributes():
    y = Value(4.0)
    z = MulAdd.apply(2.0, y)
    z.backward()
    assert (z.data, y.grad, z.parents[0].grad) == (9.0, 2.0, 4.0)


def test_custom_op_composes_with_builtin_ops_by_the_chain_rule():
    x = Value(0.5)
    y = Cube.apply(x.tanh()) * 2
    y.backward()
    t = math.tanh(0.5)
    assert x.grad == pytest.approx(2 * 3 * t**2 * (1 - t**2), rel=1e-14)


def test_none_gradient_means_zero():
    class FirstOnly(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g, None

    a, b = Value(1.0), Value(2.0)
    FirstOnly.apply(a, b).backward()
    assert (a.grad, b.grad) == (1.0, 0.0)


def test_single_gradient_may_be_returned_without_a_tuple():
    class Twice(Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            return 2 * g

    x = Value(1.0)
    Twice.apply(x).backward()
    assert x.grad == 2.0


def test_wrong_number_of_gradients_is_a_clear_error():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return (g,)

    y = Bad.apply(1.0, 2.0)  # backward runs only when a backward pass needs it
    with pytest.raises(ValueError, match=r"Bad\.backward returned 1 gradients for 2 inputs"):
        y.backward()


def test_non_number_gradient_is_a_clear_error():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return ("one",)

    y = Bad.apply(1.0)
    with pytest.raises(TypeError, match=r"Bad\.backward returned str for input 0; expected a number or None"):
        y.backward()


def test_non_number_forward_is_a_clear_error():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return [x]

        @staticmethod
        def backward(ctx, g):
            return (g,)

    with pytest.raises(TypeError, match=r"Bad\.forward must return a real number, got list"):
        Bad.apply(1.0)


def test_non_number_input_is_a_clear_error():
    with pytest.raises(TypeError, match="real number"):
        Cube.apply("2")


def test_missing_forward_is_a_clear_error():
    class Empty(Function):
        pass

    with pytest.raises(NotImplementedError, match="must define forward"):
        Empty.apply(1.0)


def test_second_derivative_goes_through_a_backward_written_with_value_ops():
    x = Value(2.0)
    (g,) = gradients(Cube.apply(x), [x], create_graph=True)
    assert isinstance(g, Value) and g.data == 12.0  # 3x²
    (h,) = gradients(g, [x])
    assert h == 12.0  # 6x
    assert grad(grad(Cube.apply))(-1.5) == pytest.approx(-9.0, rel=1e-15)
    assert grad(grad(grad(Cube.apply)))(0.3) == pytest.approx(6.0, rel=1e-15)


class ExpSavingOutput(Function):
    @staticmethod
    def forward(ctx, x):
        out = math.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_values
        return (out * g,)


def test_a_saved_output_becomes_the_output_node_under_create_graph():
    # d²/dx² eˣ = eˣ only if the saved output is differentiated too (as torch's saved result).
    assert grad(grad(ExpSavingOutput.apply))(0.7) == pytest.approx(math.exp(0.7), rel=1e-15)


class Mul(Function):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_values
        return y * g, x * g


def test_saved_inputs_map_to_their_own_value_even_when_their_numbers_are_one_object():
    a, b = Value(2.0), Value(2.0)
    assert a.data is b.data  # one float constant: identity alone cannot tell them apart
    ga, gb = gradients(Mul.apply(a, b), [a, b], create_graph=True)
    assert gradients(ga, [a, b]) == (0.0, 1.0)  # ∂/∂a, ∂/∂b of ∂(ab)/∂a = b
    assert gradients(gb, [a, b]) == (1.0, 0.0)


def test_a_backward_that_values_cannot_run_is_a_clear_error_under_create_graph():
    class Rounding(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_values
            return (round(2 * x, 12) * g,)

    x = Value(1.5)
    Rounding.apply(x).backward()
    assert x.grad == 3.0
    with pytest.raises(TypeError, match=r"Rounding\.backward failed under create_graph=True"):
        gradients(Rounding.apply(x), [x], create_graph=True)


class Counted(Function):
    calls: ClassVar[list[float]] = []

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        Counted.calls.append(g)
        (x,) = ctx.saved_values
        return (2 * x * g,)


def test_backward_runs_only_in_a_backward_pass_once_per_pass():
    Counted.calls.clear()
    x = Value(3.0)
    y = Counted.apply(x) * 5.0
    with no_grad():
        z = Counted.apply(x)
    assert Counted.calls == [] and z.is_leaf and z.data == 9.0
    y.backward()
    y.backward()
    assert Counted.calls == [5.0, 5.0] and x.grad == 60.0  # called with ∂C/∂out, each pass
    z.backward()
    assert Counted.calls == [5.0, 5.0]


def test_an_exception_in_backward_does_not_break_forward():
    class Broken(Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            raise RuntimeError("backward not written yet")

    y = Broken.apply(Value(1.0)) + 1.0
    assert y.data == 3.0
    with no_grad():
        assert Broken.apply(4.0).data == 8.0
    with pytest.raises(RuntimeError, match="not written yet"):
        y.backward()


def test_a_custom_node_keeps_its_ctx_and_no_closure():
    y = Cube.apply(Value(2.0))
    assert y.local_grads == (12.0,)
    assert not any(isinstance(getattr(y, s), type(lambda: 0)) for s in ("_x0", "_d0", "_x1", "_d1"))
    with gc_off():
        ref = weakref.ref(y)
        y.backward()
        del y
        assert ref() is None


def test_forward_nan_in_a_custom_op_is_an_anomaly():
    class Log(Function):
        @staticmethod
        def forward(ctx, x):
            return math.log(x) if x > 0 else math.nan

        @staticmethod
        def backward(ctx, g):
            return (g,)

    with detect_anomaly(), pytest.raises(FloatingPointError, match="'Log'"):
        Log.apply(Value(-1.0, "x"))


def test_nodes_of_one_function_share_one_op():
    assert Cube.apply(1.0).fn is Cube.apply(2.0).fn
    assert MulAdd.apply(1.0, 2.0).fn.arity == 2


def test_gradcheck_passes_a_right_backward():
    assert gradcheck(Cube.apply, [1.3])
    assert gradcheck(MulAdd.apply, [0.7, -2.1])


def test_gradcheck_catches_a_wrong_backward():
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongCube.apply, [1.3])
    report = info.value.report
    assert not report.passed
    assert report.rows[0].analytic == pytest.approx(2 * 1.3**2, rel=1e-14)
    assert report.rows[0].numeric == pytest.approx(3 * 1.3**2, rel=1e-8)


class Poly5(Function):
    """a·b + c·d·e: five inputs, more than the two a node keeps in slots of its own."""

    @staticmethod
    def forward(ctx, a, b, c, d, e):
        ctx.save_for_backward(a, b, c, d, e)
        return a * b + c * d * e

    @staticmethod
    def backward(ctx, g):
        a, b, c, d, e = ctx.saved_values
        return b * g, a * g, d * e * g, c * e * g, c * d * g


def test_a_custom_op_with_five_inputs_keeps_every_parent_and_local_grad():
    xs = [Value(v, f"x{i}") for i, v in enumerate([2.0, 3.0, 5.0, 7.0, 11.0])]
    y = Poly5.apply(*xs)
    assert y.data == 2 * 3 + 5 * 7 * 11
    assert y.parents == tuple(xs)
    assert y.local_grads == (3.0, 2.0, 77.0, 55.0, 35.0)
    (y * 2.0).backward()
    assert [x.grad for x in xs] == [6.0, 4.0, 154.0, 110.0, 70.0]


def test_a_custom_op_may_take_the_same_value_in_every_position():
    x = Value(2.0)
    y = Poly5.apply(x, x, x, x, x)  # x² + x³
    y.backward()
    assert y.data == 12.0 and x.grad == 2 * 2.0 + 3 * 2.0**2


def test_gradcheck_passes_a_five_input_custom_op():
    assert gradcheck(lambda a, b, c, d, e: Poly5.apply(a, b, c, d, e) * a, [1.5, -2.0, 0.5, 3.0, -1.25])


def test_a_nan_from_a_custom_backward_is_an_anomaly_naming_the_op():
    class NanGrad(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return (math.nan,)

    y = NanGrad.apply(Value(1.0, "x")) * 2.0
    with detect_anomaly(), pytest.raises(FloatingPointError, match=r"op 'NanGrad'.*its backward returned nan"):
        y.backward()
