"""The functional API: ``grad`` and ``value_and_grad``, nested to any order."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd_core import Value, grad, gradients, is_grad_enabled, no_grad, value_and_grad


def test_grad_of_cube():
    g = grad(lambda x: x**3)(3.0)
    assert g == 27.0 and type(g) is float


def test_grad_of_grad_of_cube_is_18_at_3():
    assert grad(grad(lambda x: x**3))(3.0) == 18.0


def test_third_and_fourth_derivatives_of_cube():
    assert grad(grad(grad(lambda x: x**3)))(3.0) == 6.0
    assert grad(grad(grad(grad(lambda x: x**3))))(3.0) == 0.0


@given(x=st.floats(-5.0, 5.0))
def test_derivatives_of_sin_cycle(x):
    d1 = grad(lambda v: v.sin())
    d2 = grad(d1)
    d3 = grad(d2)
    d4 = grad(d3)
    assert math.isclose(d1(x), math.cos(x), abs_tol=1e-15)
    assert math.isclose(d2(x), -math.sin(x), abs_tol=1e-15)
    assert math.isclose(d3(x), -math.cos(x), abs_tol=1e-15)
    assert math.isclose(d4(x), math.sin(x), abs_tol=1e-15)


def test_third_derivative_of_exp_times_polynomial():
    # f = x²eˣ, f''' = eˣ(x² + 6x + 6)
    f = lambda x: x * x * x.exp()
    assert grad(grad(grad(f)))(1.0) == pytest.approx(math.e * 13, rel=1e-14)


def test_value_and_grad_returns_value_and_gradient():
    value, g = value_and_grad(lambda x: x * x + 1)(3.0)
    assert (value, g) == (10.0, 6.0)
    assert type(value) is float and type(g) is float


def test_argnums_selects_one_argument():
    f = lambda x, y: x * y * y
    assert grad(f, argnums=1)(2.0, 3.0) == 12.0
    assert grad(f, argnums=-1)(2.0, 3.0) == 12.0


def test_argnums_tuple_gives_a_tuple_of_gradients():
    f = lambda x, y, z: x * y + z
    assert grad(f, argnums=(0, 2))(2.0, 3.0, 4.0) == (3.0, 1.0)
    assert value_and_grad(f, argnums=(0, 1))(2.0, 3.0, 4.0) == (10.0, (3.0, 2.0))
    assert grad(f, argnums=(1,))(2.0, 3.0, 4.0) == (2.0,)


def test_argnums_out_of_range_is_a_clear_error():
    with pytest.raises(ValueError, match="argnums 2 does not fit a call with 2 positional arguments"):
        grad(lambda x, y: x * y, argnums=2)(1.0, 2.0)
    with pytest.raises(ValueError, match="argnums"):
        grad(lambda x: x, argnums=(0, "a"))(1.0)  # type: ignore[arg-type]


def test_keyword_arguments_pass_through_undifferentiated():
    f = lambda x, scale=1.0: x * x * scale
    assert grad(f)(3.0, scale=2.0) == 12.0


def test_mixed_second_derivative():
    # ∂/∂x ∂/∂y (x·y²) = 2y
    f = lambda x, y: x * y * y
    d2 = grad(lambda x, y: grad(f, argnums=1)(x, y), argnums=0)
    assert d2(5.0, 3.0) == 6.0


def test_inner_grad_closing_over_the_outer_variable():
    # d/dx [d/dy (x·y²) at y = 2] = d/dx (4x) = 4: the inner call gets a number, yet must stay
    # connected to the outer x.
    assert grad(lambda x: grad(lambda y: x * y * y)(2.0))(3.0) == 4.0
    assert grad(lambda x: grad(lambda y: x * y)(2.0))(3.0) == 1.0


def test_grad_on_a_value_returns_a_differentiable_value_and_writes_no_grad():
    x = Value(3.0)
    g = grad(lambda v: v**3)(x)
    assert isinstance(g, Value) and g.data == 27.0
    assert x.grad == 0.0
    g.backward()
    assert x.grad == 18.0


def test_constant_function_has_zero_gradient():
    assert grad(lambda x: 5.0)(2.0) == 0.0
    assert value_and_grad(lambda x, y: 1, argnums=(0, 1))(2.0, 3.0) == (1.0, (0.0, 0.0))
    assert grad(lambda x: Value(5.0))(2.0) == 0.0


def test_function_returning_a_non_number_is_a_clear_error():
    with pytest.raises(TypeError, match="must return a Value or a number, got str"):
        grad(lambda x: "nope")(1.0)


def test_non_number_argument_is_a_clear_error():
    with pytest.raises(TypeError, match="real number"):
        grad(lambda x: x)("a")


def test_grad_keeps_the_function_name():
    def energy(x):
        return x * x

    assert grad(energy).__name__ == "energy"
    assert value_and_grad(energy).__name__ == "energy"


def test_nesting_depth_is_restored_after_an_exception():
    def boom(x):
        raise RuntimeError("inside f")

    with pytest.raises(RuntimeError):
        grad(boom)(1.0)
    assert type(grad(lambda x: x * x)(2.0)) is float


# -- function transforms: the same answer whatever the ambient mode (torch.func, JAX) --------


def test_every_functional_entry_point_gives_the_right_answer_inside_no_grad():
    f = lambda x, y: x * x * y + x.sin()  # ∂f/∂x = 2xy + cos x, ∂f/∂y = x²
    dx, d2x = 3.0 + math.cos(3.0), 1.0 - math.sin(3.0)
    outside = (grad(f)(3.0, 0.5), value_and_grad(f, (0, 1))(3.0, 0.5), grad(grad(f))(3.0, 0.5))
    assert outside[0] == dx and outside[1][1] == (dx, 9.0) and outside[2] == d2x
    x, y = Value(3.0), Value(0.5)
    z = f(x, y)
    with no_grad():
        assert grad(f)(3.0, 0.5) == outside[0]
        assert value_and_grad(f, (0, 1))(3.0, 0.5) == outside[1]
        assert grad(grad(f))(3.0, 0.5) == outside[2]
        assert grad(grad(lambda t: t.tanh()))(0.4) == pytest.approx(-2 * math.tanh(0.4) * (1 - math.tanh(0.4) ** 2))
        assert gradients(z, [x, y]) == (dx, 9.0)
        gx, _ = gradients(z, [x, y], create_graph=True)
        assert isinstance(gx, Value) and not gx.is_leaf  # recorded although no_grad is on
        assert gradients(gx, [x, y]) == (d2x, 6.0)
        z.backward()
        assert (x.grad, y.grad) == (dx, 9.0)
        assert not is_grad_enabled()  # and the ambient mode is untouched
        assert (Value(1.0) * 2.0).is_leaf


def test_no_grad_inside_the_function_still_applies():
    def f(x):
        with no_grad():
            c = x * 2.0  # a constant to the derivative
        return x * c

    assert grad(f)(3.0) == 6.0
    with no_grad():
        assert grad(f)(3.0) == 6.0


def test_backward_with_create_graph_records_inside_no_grad():
    x = Value(2.0)
    y = x * x * x
    with no_grad(), pytest.warns(UserWarning, match="reference cycle"):
        y.backward(create_graph=True)
    assert isinstance(x.grad, Value) and gradients(x.grad, [x]) == (12.0,)


def test_repeated_argnums_give_each_position_its_gradient_as_jax():
    f = lambda x, y: x * x * y
    assert grad(f, argnums=(0, 0))(2.0, 3.0) == (12.0, 12.0)
    assert grad(f, argnums=(1, 0, 1))(2.0, 3.0) == (4.0, 12.0, 4.0)
    assert grad(f, argnums=(0, -2))(2.0, 3.0) == (12.0, 12.0)
    assert value_and_grad(f, argnums=(0, 0))(2.0, 3.0) == (12.0, (12.0, 12.0))
    x = Value(2.0)
    assert gradients(f(x, 3.0), [x, x]) == (12.0, 12.0)
