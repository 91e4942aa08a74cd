"""Every op in the table: value, derivative, the three backends, and IEEE numerics.

One rule per op serves floats (ordinary backward), Values (``create_graph``) and numpy arrays;
these tests check each of the three against the others and against central differences.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd_core import OPS, Value, gradients
from autograd_core.backends import FLOAT, NUMPY
from autograd_core.ops import celu_op, clamp_op, elu_op, hardtanh_op, leaky_relu_op, op_by_name, pow_const
from tests.helpers import OP_SPECS, SPEC_IDS, OpSpec, central_difference, close

E = math.e
LN2 = math.log(2.0)


def _forward(spec: OpSpec, xs: tuple[float, ...]) -> float:
    return spec.apply(*[Value(x) for x in xs]).data


def _value_and_grads(spec: OpSpec, xs: tuple[float, ...]) -> tuple[float, tuple[float, ...]]:
    leaves = [Value(x) for x in xs]
    out = spec.apply(*leaves)
    out.backward()
    return out.data, tuple(v.grad for v in leaves)


def test_every_op_in_the_table_has_a_spec():
    covered = {s.table for s in OP_SPECS}
    missing = [name for name in OPS if name not in covered]
    assert not missing, f"ops without a test spec in helpers.OP_SPECS: {missing}"
    assert {"**p", "leaky_relu", "elu", "celu", "clamp", "hardtanh"} <= covered


# name, function of Values, inputs, expected value, expected ∂out/∂inputs (closed forms)
CLOSED_FORMS = [
    ("add", lambda a, b: a + b, (2.0, 3.0), 5.0, (1.0, 1.0)),
    ("sub", lambda a, b: a - b, (2.0, 3.0), -1.0, (1.0, -1.0)),
    ("rsub", lambda a: 2 - a, (5.0,), -3.0, (-1.0,)),
    ("mul", lambda a, b: a * b, (2.0, 3.0), 6.0, (3.0, 2.0)),
    ("square by mul", lambda a: a * a, (3.0,), 9.0, (6.0,)),
    ("div", lambda a, b: a / b, (3.0, 2.0), 1.5, (0.5, -0.75)),
    ("rdiv", lambda a: 2 / a, (4.0,), 0.5, (-0.125,)),
    ("pow", lambda a, b: a**b, (2.0, 3.0), 8.0, (12.0, 8.0 * LN2)),
    ("rpow", lambda a: 2**a, (3.0,), 8.0, (8.0 * LN2,)),
    ("pow_const 2.5", lambda a: a**2.5, (4.0,), 32.0, (20.0,)),
    ("pow_const 3 at negative", lambda a: a**3, (-2.0,), -8.0, (12.0,)),
    ("pow_const -1.5", lambda a: a**-1.5, (4.0,), 0.125, (-0.046875,)),
    ("pow_const 0", lambda a: a**0, (5.0,), 1.0, (0.0,)),
    ("neg", lambda a: -a, (3.0,), -3.0, (-1.0,)),
    ("abs negative", lambda a: abs(a), (-2.0,), 2.0, (-1.0,)),
    ("abs positive", lambda a: abs(a), (2.0,), 2.0, (1.0,)),
    ("exp 0", lambda a: a.exp(), (0.0,), 1.0, (1.0,)),
    ("exp 1", lambda a: a.exp(), (1.0,), E, (E,)),
    ("log 1", lambda a: a.log(), (1.0,), 0.0, (1.0,)),
    ("log 2", lambda a: a.log(), (2.0,), LN2, (0.5,)),
    ("log e", lambda a: a.log(), (E,), 1.0, (1 / E,)),
    ("sqrt 4", lambda a: a.sqrt(), (4.0,), 2.0, (0.25,)),
    ("sin 0", lambda a: a.sin(), (0.0,), 0.0, (1.0,)),
    ("sin pi/2", lambda a: a.sin(), (math.pi / 2,), 1.0, (math.cos(math.pi / 2),)),
    ("cos 0", lambda a: a.cos(), (0.0,), 1.0, (0.0,)),
    ("cos pi/2", lambda a: a.cos(), (math.pi / 2,), math.cos(math.pi / 2), (-1.0,)),
    ("tanh 0", lambda a: a.tanh(), (0.0,), 0.0, (1.0,)),
    ("tanh 0.5", lambda a: a.tanh(), (0.5,), math.tanh(0.5), (1 - math.tanh(0.5) ** 2,)),
    ("sigmoid 0", lambda a: a.sigmoid(), (0.0,), 0.5, (0.25,)),
    ("sigmoid 1", lambda a: a.sigmoid(), (1.0,), 1 / (1 + math.exp(-1)),
     (math.exp(-1) / (1 + math.exp(-1)) ** 2,)),
    ("softplus 0", lambda a: a.softplus(), (0.0,), LN2, (0.5,)),
    ("softplus 1", lambda a: a.softplus(), (1.0,), math.log(1 + E), (1 / (1 + math.exp(-1)),)),
    ("relu positive", lambda a: a.relu(), (3.0,), 3.0, (1.0,)),
    ("relu negative", lambda a: a.relu(), (-3.0,), 0.0, (0.0,)),
    ("leaky_relu default slope", lambda a: a.leaky_relu(), (-2.0,), -0.02, (0.01,)),
    ("leaky_relu slope 0.2", lambda a: a.leaky_relu(0.2), (-2.0,), -0.4, (0.2,)),
    ("leaky_relu positive", lambda a: a.leaky_relu(0.2), (2.0,), 2.0, (1.0,)),
    ("neuron tanh(w·x + b)", lambda w, x, b: (w * x + b).tanh(), (-3.0, 2.0, 6.8813735870195432), 0.7071067811865476,
     (2.0 * 0.5, -3.0 * 0.5, 0.5)),
    ("CS231n (x + y)·z", lambda x, y, z: (x + y) * z, (-2.0, 5.0, -4.0), -12.0, (-4.0, -4.0, 3.0)),
]


@pytest.mark.parametrize(("name", "f", "xs", "value", "grads"), CLOSED_FORMS, ids=[c[0] for c in CLOSED_FORMS])
def test_closed_form_value_and_derivatives(name, f, xs, value, grads):
    leaves = [Value(x) for x in xs]
    out = f(*leaves)
    out.backward()
    assert out.data == pytest.approx(value, rel=1e-14, abs=1e-15)
    assert [v.grad for v in leaves] == pytest.approx(list(grads), rel=1e-14, abs=1e-15)


@pytest.mark.parametrize("spec", OP_SPECS, ids=SPEC_IDS)
@given(data=st.data())
def test_derivative_matches_central_difference(spec, data):
    xs = data.draw(spec.domain)
    _, grads = _value_and_grads(spec, xs)
    for i in range(len(xs)):
        numeric = central_difference(lambda *p: _forward(spec, p), xs, i)
        assert close(grads[i], numeric), f"{spec.name} at {xs}: ∂/∂x{i} analytic {grads[i]} numeric {numeric}"


def _first_derivatives(spec: OpSpec, *xs: float) -> tuple[float, ...]:
    return _value_and_grads(spec, xs)[1]


@pytest.mark.parametrize("spec", OP_SPECS, ids=SPEC_IDS)
@given(data=st.data())
def test_value_backend_gives_second_derivatives(spec, data):
    xs = data.draw(spec.domain)
    leaves = [Value(x) for x in xs]
    out = spec.apply(*leaves)
    first = gradients(out, leaves, create_graph=True)
    plain = _first_derivatives(spec, *xs)
    for i, g in enumerate(first):
        assert close(float(g), plain[i], rel=1e-12, abs_=1e-14), "create_graph changed a first derivative"
        row = gradients(g, leaves) if isinstance(g, Value) else (0.0,) * len(xs)
        for j in range(len(xs)):
            numeric = central_difference(lambda *p, i=i: _first_derivatives(spec, *p)[i], xs, j)
            assert close(float(row[j]), numeric, rel=1e-4, abs_=1e-5), (
                f"{spec.name} at {xs}: ∂²/∂x{i}∂x{j} analytic {row[j]} numeric {numeric}"
            )


# Every op in the table plus representatives of the parameterised families.
ALL_OPS = [*OPS.values(), pow_const(2.5), pow_const(3.0), pow_const(-1.0), pow_const(0.0), pow_const(0.5),
           leaky_relu_op(0.01), leaky_relu_op(0.3), elu_op(1.0), elu_op(0.5), celu_op(2.0), clamp_op(-1.0, 2.0),
           clamp_op(2.0, 1.0), clamp_op(-math.inf, 0.5), hardtanh_op(-1.0, 1.0), hardtanh_op(0.0, 6.0)]
ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True, width=64)
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -8.0, 1000.0, -1000.0, math.inf, -math.inf, math.nan, 5e-324, 1e308]


def _equal_elementwise(actual: np.ndarray, expected: np.ndarray) -> bool:
    actual, expected = np.broadcast_arrays(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float))
    same_nan = np.isnan(actual) == np.isnan(expected)
    both_inf = np.isinf(actual) & np.isinf(expected)
    with np.errstate(all="ignore"):
        near = np.isclose(actual, expected, rtol=1e-13, atol=0.0) | (both_inf & (actual == expected))
    return bool(np.all(same_nan & (near | np.isnan(actual))))


def _check_backends_agree(op, columns: list[list[float]]) -> None:
    floats = [op.forward(FLOAT, *row) for row in zip(*columns)]
    dfloats = [op.derivative(FLOAT, row, out) for row, out in zip(zip(*columns), floats)]
    arrays = [np.array(c, dtype=np.float64) for c in columns]
    with np.errstate(all="ignore"):
        out = op.forward(NUMPY, *arrays)
        douts = op.derivative(NUMPY, tuple(arrays), out)
    assert _equal_elementwise(out, np.array(floats)), f"{op.name}: forward {out} vs {floats} at {columns}"
    for i in range(op.arity):
        expected = np.array([d[i] for d in dfloats])
        assert _equal_elementwise(douts[i], expected), f"{op.name}: ∂/∂x{i} {douts[i]} vs {expected} at {columns}"


@pytest.mark.parametrize("op", ALL_OPS, ids=[op.name for op in ALL_OPS])
@given(data=st.data())
def test_numpy_backend_matches_float_backend_elementwise(op, data):
    n = data.draw(st.integers(1, 8))
    columns = [data.draw(st.lists(ANY_FLOAT, min_size=n, max_size=n)) for _ in range(op.arity)]
    _check_backends_agree(op, columns)


@pytest.mark.parametrize("op", ALL_OPS, ids=[op.name for op in ALL_OPS])
def test_numpy_backend_matches_float_backend_on_special_values(op):
    if op.arity == 1:
        columns = [SPECIAL]
    else:
        columns = [[a for a in SPECIAL for _ in SPECIAL], [b for _ in SPECIAL for b in SPECIAL]]
    _check_backends_agree(op, columns)


def test_op_by_name_rebuilds_parameterised_ops():
    assert op_by_name("tanh") is OPS["tanh"]
    assert op_by_name("**2") is pow_const(2.0)
    assert op_by_name("**-0.5").params == (-0.5,)
    assert op_by_name("leaky_relu(0.2)") is leaky_relu_op(0.2)
    assert op_by_name("elu(0.5)") is elu_op(0.5)
    assert op_by_name("clamp(-inf,1)") is clamp_op(-math.inf, 1.0)
    assert op_by_name("hardtanh(0,6)").params == (0.0, 6.0)
    with pytest.raises(KeyError):
        op_by_name("clamp(1)")
    with pytest.raises(KeyError, match="no op named 'nope'"):
        op_by_name("nope")


def test_recorded_op_names():
    x = Value(2.0)
    assert (x**2).op == "**2"
    assert (x**0.5).op == "**0.5"
    assert (x ** Value(2.0)).op == "**"
    assert x.leaky_relu().op == "leaky_relu(0.01)"
    assert (-x).op == "neg"
    assert abs(x).op == "abs"
    assert x.op == ""


def _grad1(f, x: float) -> tuple[float, float]:
    v = Value(x)
    out = f(v)
    out.backward()
    return out.data, v.grad


def test_exp_overflow_is_inf():
    assert _grad1(lambda x: x.exp(), 1000.0) == (math.inf, math.inf)


def test_log_of_zero_is_minus_inf_and_of_negative_is_nan():
    assert Value(0.0).log().data == -math.inf
    assert math.isnan(Value(-1.0).log().data)


def test_division_by_zero_is_signed_inf():
    assert (1 / Value(0.0)).data == math.inf
    assert (-1 / Value(0.0)).data == -math.inf
    assert (1 / Value(-0.0)).data == -math.inf
    assert math.isnan((0 / Value(0.0)).data)


def test_negative_base_fractional_power_is_nan_not_complex():
    y = Value(-8.0) ** (1 / 3)
    assert isinstance(y.data, float) and math.isnan(y.data)
    z = Value(-8.0) ** Value(1 / 3)
    assert isinstance(z.data, float) and math.isnan(z.data)


def test_pow_overflow_is_signed_inf():
    assert (Value(1e300) ** 2).data == math.inf
    assert (Value(-1e300) ** 3).data == -math.inf
    assert (Value(0.0) ** -1).data == math.inf
    assert (Value(-0.0) ** -1).data == -math.inf


@pytest.mark.parametrize(("op", "x", "value"), [
    ("sigmoid", 1000.0, 1.0), ("sigmoid", -1000.0, 0.0),
    ("tanh", 1000.0, 1.0), ("tanh", -1000.0, -1.0),
])
def test_saturating_ops_are_exact_with_zero_grad(op, x, value):
    assert _grad1(lambda v: getattr(v, op)(), x) == (value, 0.0)


def test_softplus_of_large_input_is_the_input():
    assert _grad1(lambda v: v.softplus(), 1000.0) == (1000.0, 1.0)
    assert _grad1(lambda v: v.softplus(), -1000.0) == (0.0, 0.0)


@pytest.mark.parametrize(("name", "f", "grad"), [
    ("relu", lambda v: v.relu(), 0.0),
    ("abs", lambda v: abs(v), 0.0),
    ("leaky_relu", lambda v: v.leaky_relu(0.1), 0.1),
    ("sqrt", lambda v: v.sqrt(), math.inf),
    ("**0", lambda v: v**0, 0.0),
])
def test_derivative_at_zero_follows_pytorch(name, f, grad):
    assert _grad1(f, 0.0)[1] == grad


def test_zero_to_the_zero_has_zero_grads_for_both_inputs():
    a, b = Value(0.0), Value(0.0)
    y = a**b
    y.backward()
    assert (y.data, a.grad, b.grad) == (1.0, 0.0, 0.0)


def test_zero_to_a_positive_power_has_zero_exponent_grad():
    a, b = Value(0.0), Value(2.0)
    y = a**b
    y.backward()
    assert (y.data, a.grad, b.grad) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("f", [lambda v: v.relu(), lambda v: v.leaky_relu(), lambda v: abs(v), lambda v: v.exp(),
                               lambda v: v.sigmoid(), lambda v: v.tanh(), lambda v: v.softplus(), lambda v: -v])
def test_nan_input_propagates(f):
    assert math.isnan(f(Value(math.nan)).data)


# Every op over any float, infinities and NaN included: an IEEE result, never an exception.
@pytest.mark.parametrize("spec", OP_SPECS, ids=SPEC_IDS)
@given(data=st.data())
def test_no_math_exception_escapes_any_op(spec, data):
    xs = [data.draw(ANY_FLOAT) for _ in range(spec.arity)]
    leaves = [Value(x) for x in xs]
    out = spec.apply(*leaves)
    assert isinstance(out.data, float)
    out.backward()
    assert all(isinstance(v.grad, float) for v in leaves)
    gradients(spec.apply(*leaves), leaves, create_graph=True)


@given(x=ANY_FLOAT, p=ANY_FLOAT, slope=ANY_FLOAT)
def test_no_math_exception_escapes_parameterised_ops(x, p, slope):
    for make in (lambda v: v**p, lambda v: p**v, lambda v: v.leaky_relu(slope), lambda v: v / p, lambda v: p / v):
        v = Value(x)
        out = make(v)
        assert isinstance(out.data, float)
        out.backward()
        assert isinstance(v.grad, float)
        gradients(make(v), [v], create_graph=True)


def test_pow_mixed_second_derivative_is_right_at_zero_exponent():
    # ∂²(aᵇ)/∂a∂b = aᵇ⁻¹(1 + b·ln a) = 1/a at b = 0: masking ∂/∂a to a constant 0 there would lose it.
    a, b = Value(2.0), Value(0.0)
    da, db = gradients(a**b, [a, b], create_graph=True)
    assert (float(da), float(db)) == (0.0, LN2)
    assert gradients(da, [a, b]) == (0.0, 0.5)


def test_power_zero_records_no_derivative_graph_that_reads_nan():
    from autograd_core import detect_anomaly

    x = Value(0.0)
    with detect_anomaly():
        (g,) = gradients(x**0, [x], create_graph=True)
    assert float(g) == 0.0


def test_relu_derivative_at_nan_passes_the_gradient_as_torch():
    assert _grad1(lambda v: v.relu(), math.nan)[1] == 1.0
    assert _grad1(lambda v: abs(v), math.nan)[1] == 0.0


@pytest.mark.parametrize("x", [-8.0, 3.0, 10.0, -5.5, 15.0])
def test_tanh_derivative_has_no_cancellation_near_saturation(x):
    from fractions import Fraction

    t = math.tanh(x)
    exact = float(1 - Fraction(t) ** 2)  # 1 − t² for the stored t, rounded once
    # within a few ulps; the naive 1 − t·t is off by up to 1e-9 relative here
    assert _grad1(lambda v: v.tanh(), x)[1] == pytest.approx(exact, rel=1e-15, abs=0.0)


@pytest.mark.parametrize("a", [5e-324, 1e-310, 0.0, math.nan])
def test_pow_base_derivative_at_zero_exponent_is_zero_even_where_a_inverse_overflows(a):
    base, b = Value(a), Value(0.0)
    (base**b).backward()
    assert base.grad == 0.0
