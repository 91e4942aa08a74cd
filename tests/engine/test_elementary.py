"""The elementary functions and activations: grids near domain edges, compiled batches, the
free functions of ``vmath``, parameterised ops, and ``math.*`` on a Value.

Every op of ``helpers.OP_SPECS`` is checked here against central differences on fixed points
near the edges of its smooth domain (first and second derivatives), and compiled against eager.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd_core as ag
from autograd_core import OPS, Value, gradients, vmath
from autograd_core.backends import FLOAT
from autograd_core.ops import celu_op, clamp_op, elu_op, hardtanh_op, op_by_name
from tests.helpers import OP_SPECS, SPEC_IDS, central_difference, close

GRID_SPECS = [s for s in OP_SPECS if s.grid]


def _value(spec, *xs):
    return spec.apply(*[Value(x) for x in xs]).data


def _first(spec, *xs):
    leaves = [Value(x) for x in xs]
    spec.apply(*leaves).backward()
    return [v.grad for v in leaves]


@pytest.mark.parametrize("spec", GRID_SPECS, ids=[s.name for s in GRID_SPECS])
def test_first_and_second_derivatives_match_central_differences_near_domain_edges(spec):
    for xs in spec.grid:
        grads = _first(spec, *xs)
        leaves = [Value(x) for x in xs]
        first = gradients(spec.apply(*leaves), leaves, create_graph=True)
        for i in range(len(xs)):
            numeric = central_difference(lambda *p: _value(spec, *p), xs, i)
            assert close(grads[i], numeric, rel=1e-5, abs_=1e-7), f"{spec.name}{xs}: ∂/∂x{i} {grads[i]} vs {numeric}"
            row = gradients(first[i], leaves) if isinstance(first[i], Value) else (0.0,) * len(xs)
            for j in range(len(xs)):
                numeric2 = central_difference(lambda *p, i=i: _first(spec, *p)[i], xs, j)
                assert close(float(row[j]), numeric2, rel=1e-4, abs_=1e-6), (
                    f"{spec.name}{xs}: ∂²/∂x{i}∂x{j} {row[j]} vs {numeric2}")


SPECIAL = [0.0, -0.0, 0.5, -2.5, 3.0, -3.0, 1.0, -1.0, 1e3, -1e3, math.inf, -math.inf, math.nan]


def _rows(spec, draws):
    fixed = [*spec.grid, *spec.edges]
    specials = [tuple([x] * spec.arity) for x in SPECIAL] + [tuple(SPECIAL[i:i + spec.arity]) for i in range(5)]
    return [r for r in fixed + specials + draws if len(r) == spec.arity]


@pytest.mark.parametrize("spec", OP_SPECS, ids=SPEC_IDS)
@given(data=st.data())
def test_compiled_batches_equal_eager_values_and_gradients(spec, data):
    draws = [data.draw(spec.domain) for _ in range(4)]
    X = np.array(_rows(spec, draws), dtype=np.float64)
    f = ag.compile(lambda xs: spec.apply(*xs), spec.arity)
    out, dX = f.value_and_grad(X, wrt="inputs")
    for row, o, d in zip(X.tolist(), out.tolist(), dX.tolist()):
        leaves = [Value(x) for x in row]
        y = spec.apply(*leaves)
        y.backward()
        # numpy's tanh/exp differ from libm's in the last bits, which 1 − tanh² near saturation
        # amplifies: an absolute 1e-14 besides the relative 1e-9
        assert close(o, y.data, rel=1e-9, abs_=1e-14), f"{spec.name}{row}: compiled {o} vs eager {y.data}"
        for i, v in enumerate(leaves):
            assert close(d[i], v.grad, rel=1e-9, abs_=1e-14), f"{spec.name}{row}: ∂/∂x{i} compiled {d[i]} vs {v.grad}"


# -- the rules users lean on ----------------------------------------------------------------
@pytest.mark.parametrize(("a", "b"), [(-5.0, 3.0), (5.0, -3.0), (5.5, 3.0), (-7.25, -2.0), (0.0, 3.0)])
def test_remainder_follows_pythons_sign_rule_and_torchs_derivative(a, b):
    x, y = Value(a), Value(b)
    r = x % y
    r.backward()
    assert r.data == a % b
    assert (x.grad, y.grad) == (1.0, -math.floor(a / b))
    assert (Value(a) % b).data == a % b and (a % Value(b)).data == a % b


@pytest.mark.parametrize("x", [-30.0, -40.0, -700.0])
def test_expm1_derivative_keeps_its_digits_far_below_zero(x):
    v = Value(x)
    v.expm1().backward()
    assert v.grad == pytest.approx(math.exp(x), rel=1e-15)


def test_fmod_keeps_the_sign_of_the_dividend():
    x, y = Value(-5.0), Value(3.0)
    r = x.fmod(y)
    r.backward()
    assert (r.data, x.grad, y.grad) == (math.fmod(-5.0, 3.0), 1.0, 1.0)  # −trunc(−5/3) = 1


@pytest.mark.parametrize("name", ["sign", "floor", "ceil", "round"])
def test_piecewise_constant_ops_have_zero_first_and_second_derivatives(name):
    x = Value(2.3)
    (g,) = gradients(getattr(x, name)(), [x], create_graph=True)
    assert g == 0.0 or float(g) == 0.0


def test_round_is_half_to_even_like_python_and_torch():
    assert [round(Value(x)).data for x in (0.5, 1.5, 2.5, -0.5, -1.5)] == [0.0, 2.0, 2.0, -0.0, -2.0]
    with pytest.raises(TypeError, match=r"round\(value.data, 2\)"):
        round(Value(1.234), 2)


def test_maximum_and_minimum_split_the_gradient_at_a_tie():
    a, b = Value(1.0), Value(1.0)
    (a.maximum(b) + a.minimum(b)).backward()
    assert (a.grad, b.grad) == (1.0, 1.0)


def test_clamp_with_one_bound_and_errors():
    assert Value(-3.0).clamp(min=0.0).data == 0.0
    assert Value(3.0).clamp(max=1.0).data == 1.0
    with pytest.raises(ValueError, match="at least one of min and max"):
        Value(1.0).clamp()
    with pytest.raises(ValueError, match="nan"):
        Value(1.0).clamp(math.nan, 1.0)
    with pytest.raises(ValueError, match="min_val <= max_val"):
        Value(1.0).hardtanh(2.0, 1.0)
    with pytest.raises(ValueError, match="nonzero"):
        Value(1.0).celu(0.0)
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        Value(1.0).gelu("erf")


@pytest.mark.parametrize("op", [elu_op(0.5), celu_op(2.0), clamp_op(-1.0, 2.0), clamp_op(-math.inf, 0.5),
                                hardtanh_op(0.0, 6.0)], ids=lambda op: op.name)
def test_parameterised_ops_are_rebuilt_by_name_and_pickle(op):
    assert op_by_name(op.name) is op
    assert pickle.loads(pickle.dumps(op)) is op


def test_graphs_using_new_ops_pickle_and_backpropagate_the_same():
    x = Value(0.3)
    y = (x.gelu() + x.atan2(0.5) + x.clamp(-1, 1) + x.elu(0.5) + (x % 0.2)).logaddexp(x.hardtanh(0, 6))
    y2 = pickle.loads(pickle.dumps(y))
    y.backward()
    y2.backward()
    (x2,) = [n for n in ag.nodes(y2) if n.is_leaf and n.data == 0.3]
    assert y2.data == y.data and x2.grad == x.grad


# -- vmath ----------------------------------------------------------------------------------
def test_vmath_on_numbers_returns_floats_with_ieee_semantics():
    assert vmath.atan2(1.0, -1.0) == math.atan2(1.0, -1.0)
    assert vmath.hypot(3, 4) == 5.0
    assert math.isnan(vmath.asin(2.0)) and vmath.log(0.0) == -math.inf and vmath.exp(1000.0) == math.inf
    assert vmath.remainder(-5, 3) == 1.0 and vmath.fmod(-5, 3) == -2.0
    assert vmath.clamp(5.0, max=1.0) == 1.0 and vmath.pow(2.0, 10) == 1024.0


def test_vmath_with_a_value_records_the_same_op_as_the_method():
    y, x = Value(1.0), Value(-2.0)
    a = vmath.atan2(y, x)
    b = y.atan2(x)
    assert a.op == b.op == "atan2" and a.data == b.data
    a.backward()
    assert (y.grad, x.grad) == pytest.approx((-2.0 / 5.0, -1.0 / 5.0))
    assert vmath.maximum(2.0, Value(1.0)).data == 2.0
    assert vmath.pow(Value(2.0), 3).op == "**3" and vmath.pow(2.0, Value(3.0)).op == "**"
    assert vmath.gelu(Value(1.0), approximate="tanh").op == "gelu_tanh"


@pytest.mark.parametrize("name", sorted(vmath.__all__))
def test_every_vmath_function_accepts_numbers_and_values(name):
    fn = getattr(vmath, name)
    nargs = 2 if name in ("atan2", "hypot", "fmod", "remainder", "maximum", "minimum", "logaddexp", "pow") else 1
    args = (0.5, 1.5)[:nargs]
    kwargs = {"min": 1.0} if name == "clamp" else {}
    plain = fn(*args, **kwargs)
    node = fn(*[Value(a) for a in args], **kwargs)
    assert isinstance(plain, float) and isinstance(node, Value)
    assert close(plain, node.data, rel=0.0, abs_=0.0)


def test_every_table_op_has_a_value_method_or_operator():
    spelled = {"+", "-", "*", "/", "**", "neg", "abs", "%", "gelu_tanh"}
    assert all(hasattr(Value, name) for name in OPS if name not in spelled)


# -- math.* on a Value ----------------------------------------------------------------------
def test_math_functions_on_a_value_raise_with_the_method_to_use():
    x = Value(0.5)
    with pytest.raises(TypeError, match=r"math.sin\(\) got a Value.*Use v.sin\(\)"):
        math.sin(x)
    with pytest.raises(TypeError, match=r"math.exp\(\) got a Value"):
        math.exp(x * 2)
    m = math
    with pytest.raises(TypeError, match=r"math.tanh\(\)"):
        m.tanh(x)
    from math import log as ln

    with pytest.raises(TypeError, match=r"math.log\(\)"):
        ln(x)


def test_float_and_math_predicates_still_work_on_a_value():
    x = Value(0.5)
    assert float(x) == 0.5
    assert math.isnan(Value(math.nan)) and not math.isinf(x) and math.isclose(x, 0.5)
    assert math.sin(float(x)) == math.sin(0.5) and math.sin(x.data) == math.sin(0.5)
    assert np.array([x, Value(1.5)], dtype=float).tolist() == [0.5, 1.5]
    assert f"{float(x):.2f}" == "0.50"


def test_float_table_functions_never_raise_on_any_float():
    for op in OPS.values():
        for xs in [(x,) * op.arity for x in SPECIAL]:
            assert isinstance(op.forward(FLOAT, *xs), float)


@pytest.mark.parametrize(("f", "xs"), [
    (lambda x: x.floor(), [1.0]), (lambda x: x.round(), [0.5]), (lambda x: x.sign(), [0.0]),
    (lambda x: x.clamp(-1, 1), [1.0]), (lambda x: x.hardtanh(), [-1.0]), (lambda x: x.hardswish(), [3.0]),
    (lambda a, b: a % b, [6.0, 3.0]), (lambda a, b: a.fmod(b), [-6.0, 3.0]),
])
def test_gradcheck_reports_the_jumps_and_corners_of_piecewise_ops_as_kinks(f, xs):
    report = ag.check_gradients(f, xs)
    assert report.passed and report.kinks, str(report)
    assert ag.gradcheck(f, xs)
