"""``Value``: construction, attributes, operators with numbers on either side, identity."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from autograd_core import Value


@pytest.mark.parametrize(("given", "expected"), [
    (3, 3.0),
    (-7, -7.0),
    (True, 1.0),
    (False, 0.0),
    (Fraction(1, 4), 0.25),
    (np.float64(2.5), 2.5),
    (np.float32(1.5), 1.5),
    (np.int64(4), 4.0),
    (np.int8(-3), -3.0),
    (np.bool_(True), 1.0),
    (2.0, 2.0),
])
def test_real_numbers_become_python_floats(given, expected):
    v = Value(given)
    assert type(v.data) is float
    assert v.data == expected


@pytest.mark.parametrize(("given", "expected"), [(10**400, math.inf), (-(10**400), -math.inf),
                                                 (Fraction(10**400, 3), math.inf)])
def test_too_large_for_a_float_becomes_inf(given, expected):
    assert Value(given).data == expected


@pytest.mark.parametrize(("given", "type_name"), [
    ("1.0", "str"),
    (None, "NoneType"),
    (1 + 2j, "complex"),
    ([1.0, 2.0], "list"),
    ((1.0,), "tuple"),
    (np.array([1.0, 2.0]), "ndarray"),
    (np.array(1.0), "ndarray"),
    ({"a": 1}, "dict"),
])
def test_non_real_input_raises_type_error_naming_the_type(given, type_name):
    with pytest.raises(TypeError, match="real number") as info:
        Value(given)
    assert type_name in str(info.value)


def test_array_error_names_its_shape():
    with pytest.raises(TypeError, match=r"shape \(2, 3\)"):
        Value(np.zeros((2, 3)))


def test_label_must_be_a_string():
    with pytest.raises(TypeError, match="label must be a str, got int"):
        Value(1.0, 3)  # type: ignore[arg-type]


def test_a_value_wraps_another_values_number():
    x = Value(2.0)
    y = Value(x)
    assert y.data == 2.0 and y is not x and y.is_leaf


def test_leaf_attributes():
    x = Value(2.0, "x")
    assert (x.data, x.grad, x.label, x.op, x.parents, x.fn, x.local_grads, x.is_leaf) == (
        2.0, 0.0, "x", "", (), None, (), True)
    assert Value(1.0).label == ""


def test_node_records_op_and_parents_in_argument_order():
    a, b = Value(2.0, "a"), Value(3.0, "b")
    c = a - b
    assert c.op == "-" and c.parents == (a, b) and c.local_grads == (1.0, -1.0)
    d = b - a
    assert d.parents == (b, a)
    assert not c.is_leaf and c.label == "" and c.fn is not None and c.fn.name == "-"


def test_square_by_multiplication_has_two_parents_both_x():
    x = Value(3.0)
    y = x * x
    assert len(y.parents) == 2
    assert y.parents[0] is x and y.parents[1] is x
    assert y.local_grads == (3.0, 3.0)


def test_number_operands_become_constant_leaves():
    x = Value(2.0)
    y = 3 * x
    assert y.parents[1] is x
    assert y.parents[0].is_leaf and y.parents[0].data == 3.0


@pytest.mark.parametrize(("expr", "value"), [
    (lambda x: 2 - x, -3.0),
    (lambda x: x - 2, 3.0),
    (lambda x: 2 + x, 7.0),
    (lambda x: 2 * x, 10.0),
    (lambda x: 2 / x, 0.4),
    (lambda x: x / 2, 2.5),
    (lambda x: 2**x, 32.0),
    (lambda x: x**2, 25.0),
    (lambda x: x**x, 3125.0),
    (lambda x: -x, -5.0),
    (lambda x: +x, 5.0),
    (lambda x: abs(-x), 5.0),
    (lambda x: Fraction(1, 2) * x, 2.5),
])
def test_numbers_on_either_side(expr, value):
    assert expr(Value(5.0)).data == value


def test_value_to_a_value_power():
    x, y = Value(2.0), Value(3.0)
    z = x**y
    z.backward()
    assert (z.data, x.grad, y.grad) == (8.0, 12.0, 8.0 * math.log(2.0))


def test_unary_plus_is_the_same_node():
    x = Value(1.0)
    assert +x is x


def test_in_place_add_builds_a_new_node_and_leaves_the_old_one_alone():
    x = Value(1.0)
    y = x * 2
    before = y
    y += 1
    assert y is not before
    assert before.data == 2.0 and before.op == "*"
    assert y.data == 3.0 and y.op == "+" and y.parents[0] is before
    z = x
    z *= 3
    assert x.data == 1.0 and z.data == 3.0 and z is not x


@pytest.mark.parametrize("scalar", [np.float64(2.0), np.float32(2.0), np.int64(2)])
def test_numpy_scalar_on_the_left_gives_a_value_with_python_float_data(scalar):
    x = Value(3.0)
    for y in (scalar * x, scalar + x, scalar - x, scalar / x, scalar**x):
        assert isinstance(y, Value)
        assert type(y.data) is float
    assert (scalar * x).data == 6.0


@pytest.mark.parametrize("expr", [
    lambda x, a: a * x,
    lambda x, a: x * a,
    lambda x, a: a + x,
    lambda x, a: x - a,
    lambda x, a: x**a,
    lambda x, a: a**x,
])
def test_numpy_arrays_mixed_with_a_value_raise_type_error(expr):
    with pytest.raises(TypeError, match="real number"):
        expr(Value(2.0), np.array([1.0, 2.0]))


@pytest.mark.parametrize("bad", ["a", None, [1.0], 1j])
def test_bad_operand_raises_type_error_not_a_wrong_number(bad):
    x = Value(1.0)
    for expr in (lambda: x + bad, lambda: bad + x, lambda: x * bad, lambda: x / bad, lambda: x**bad,
                 lambda: x.leaky_relu(bad)):
        with pytest.raises(TypeError, match="real number"):
            expr()


def test_comparisons_use_data_and_return_bool():
    a, b = Value(1.0), Value(2.0)
    results = [a < b, a <= b, a > b, a >= b, a < 1.5, a >= 1, 3 > a, b <= 2.0]
    assert results == [True, True, False, False, True, True, True, True]
    assert all(type(r) is bool for r in results)
    assert max([a, b], key=lambda v: v.data) is b
    assert sorted([b, a]) == [a, b]


def test_equality_and_hash_are_by_identity():
    a, b = Value(1.0), Value(1.0)
    assert a == a and a != b
    assert (a == 1.0) is False
    assert len({a, b, a}) == 2
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b"


def test_float_conversion():
    assert float(Value(2.5)) == 2.5
    assert math.isclose(math.sin(float(Value(1.0))), math.sin(1.0))
    with pytest.raises(TypeError, match=r"Use v.sin\(\)"):
        math.sin(Value(1.0))  # would drop the graph silently


def test_repr_shows_data_grad_and_label():
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"
    assert repr(Value(2.0, "x")) == "Value(data=2.0, grad=0.0, label='x')"


def test_zero_grad_resets_this_node():
    x = Value(2.0)
    (x * x).backward()
    assert x.grad == 4.0
    x.zero_grad()
    assert x.grad == 0.0


def test_micrograd_private_names_are_available():
    a, b = Value(2.0), Value(3.0)
    c = a * b
    assert c._op == "*" and c._prev == {a, b}
    assert (a * a)._prev == {a}


def test_values_keep_their_fields_in_slots_and_accept_extra_attributes():
    v = Value(1.0, "v")
    v.m = 0.5  # an optimizer's moment, as micrograd programs set on parameters
    assert v.m == 0.5 and v.__dict__ == {"m": 0.5}


def test_a_recorded_graph_is_immutable_parents_cannot_be_reassigned():
    x, y, z = Value(2.0), Value(3.0), Value(4.0)
    p = x * y
    for new in ((z, y), (p, y), ()):
        with pytest.raises(AttributeError, match="immutable: parents cannot be reassigned"):
            p.parents = new
    with pytest.raises(AttributeError, match="immutable"):
        x.parents = (z,)
    assert p.parents == (x, y) and p.local_grads == (3.0, 2.0) and x.is_leaf
    p.backward()
    assert (x.grad, y.grad, z.grad) == (3.0, 2.0, 0.0)
