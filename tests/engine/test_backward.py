"""``backward()``, ``gradients()`` and the graph walks they rest on."""

from __future__ import annotations

import math
import random
import sys
import weakref

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd_core import (
    OPS,
    Function,
    Value,
    backward_steps,
    detect_anomaly,
    edges,
    gradients,
    nodes,
    topological_order,
)
from autograd_core.backward import backward
from autograd_core.ops import pow_const
from autograd_core.value import to_float
from tests.helpers import gc_off


def test_million_node_chain_under_the_default_recursion_limit():
    limit = sys.getrecursionlimit()
    x = Value(0.5)
    y = x
    for _ in range(1_000_000):
        y = -y  # the cheapest op: one parent, local derivative -1
    y.backward()
    assert sys.getrecursionlimit() == limit
    assert (y.data, x.grad) == (0.5, 1.0)


def test_node_used_on_several_paths_gets_the_sum():
    x = Value(3.0)
    y = x * x + x  # dy/dx = 2x + 1
    y.backward()
    assert x.grad == 7.0


def test_interior_fan_out_sums_before_flowing_on():
    x = Value(2.0)
    z = x * 3.0  # z = 6
    y = z + z + z * z  # dy/dz = 2 + 2z = 14, dy/dx = 3·14
    y.backward()
    assert (z.grad, x.grad) == (14.0, 42.0)


def test_second_backward_doubles_leaf_grads():
    x = Value(3.0)
    y = x * x
    y.backward()
    assert x.grad == 6.0
    y.backward()
    assert x.grad == 12.0


def test_interior_grads_reset_each_backward():
    # micrograd accumulates interior grads too and gives 45 on the second call.
    x = Value(3.0)
    xx = x * x
    y = xx * x
    y.backward()
    assert (x.grad, xx.grad) == (27.0, 3.0)
    y.backward()
    assert (x.grad, xx.grad) == (54.0, 3.0)


def test_backward_seed_scales_every_gradient():
    x, w = Value(2.0), Value(-3.0)
    y = w * x
    y.backward(2.0)
    assert (x.grad, w.grad, y.grad) == (-6.0, 4.0, 2.0)


def test_backward_of_a_leaf_sets_its_own_grad():
    x = Value(5.0)
    x.backward()
    assert x.grad == 1.0


def test_zero_grad_between_backwards_gives_the_same_answer():
    x = Value(-1.5)
    y = (x * 2).tanh()
    y.backward()
    first = x.grad
    x.zero_grad()
    y.backward()
    assert x.grad == first


def test_backward_function_rejects_non_values():
    with pytest.raises(TypeError, match="backward\\(\\) needs a Value, got float"):
        backward(1.0)  # type: ignore[arg-type]


def test_a_cycle_cannot_be_made_so_backward_never_loops():
    a = Value(1.0, "a")
    b = a * 2.0
    with pytest.raises(AttributeError, match="immutable"):
        a.parents = (b,)
    b.backward()
    assert a.grad == 2.0 and topological_order(b)[-1] is b


def test_repr_does_not_walk_the_graph():
    a = Value(1.0, "a")
    b = a * 2.0
    assert repr(b) == "Value(data=2.0, grad=0.0)"
    assert repr(a) == "Value(data=1.0, grad=0.0, label='a')"


def test_repr_of_a_create_graph_gradient_shows_its_number():
    x = Value(2.0)
    with pytest.warns(UserWarning, match="reference cycle"):
        (x * x * x).backward(create_graph=True)
    assert repr(x) == "Value(data=2.0, grad=Value(12.0))"


def test_topological_order_puts_parents_first_and_root_last():
    a, b = Value(1.0, "a"), Value(2.0, "b")
    c = a * b
    d = c + a
    e = d * c
    order = topological_order(e)
    assert order[-1] is e
    assert len(order) == len({id(v) for v in order}) == 5
    position = {id(v): i for i, v in enumerate(order)}
    for node in order:
        for p in node.parents:
            assert position[id(p)] < position[id(node)]


def test_topological_order_is_deterministic():
    def build():
        xs = [Value(float(i)) for i in range(5)]
        out = (xs[0] * xs[1] + xs[2]) * (xs[3] - xs[4]) + xs[0]
        return topological_order(out)

    o1, o2 = build(), build()
    assert [v.data for v in o1] == [v.data for v in o2]
    assert [v.op for v in o1] == [v.op for v in o2]


def test_topological_order_can_stop_at_given_nodes():
    x = Value(1.0)
    h = x * 2
    y = h + 1
    order = topological_order(y, stop_at=[h])
    assert x not in order and h in order and order[-1] is y


def test_nodes_lists_each_node_once():
    x = Value(3.0)
    y = x * x
    assert list(nodes(y)) == [x, y]


def test_edges_follow_argument_order_and_repeat_for_x_times_x():
    x = Value(3.0)
    y = x * x
    assert list(edges(y)) == [(x, y, 0), (x, y, 1)]
    a, b = Value(1.0), Value(2.0)
    c = a - b
    assert list(edges(c)) == [(a, c, 0), (b, c, 1)]


def test_a_dropped_graph_is_freed_without_the_garbage_collector():
    with gc_off():
        x = Value(1.0)
        y = (x * 2).tanh() + x
        y.backward()
        ref = weakref.ref(y.parents[0])
        del y
        assert ref() is None


def test_gradients_returns_derivatives_and_writes_no_grad():
    x, y = Value(2.0), Value(3.0)
    z = x * y + x
    gx, gy = gradients(z, [x, y])
    assert (gx, gy) == (4.0, 2.0)
    assert (x.grad, y.grad, z.grad) == (0.0, 0.0, 0.0)


def test_gradients_of_an_unused_input_is_zero():
    x, unused = Value(2.0), Value(7.0)
    assert gradients(x * x, [x, unused]) == (4.0, 0.0)


def test_gradients_with_respect_to_an_interior_node():
    x = Value(2.0)
    h = x * x
    y = h * 3 + x
    assert gradients(y, [h, x]) == (3.0, 13.0)


def test_gradients_with_respect_to_an_interior_node_alone():
    x = Value(2.0)
    h = x * x
    y = h * 3 + x
    assert gradients(y, [h]) == (3.0,)


def test_gradients_seed_scales():
    x = Value(2.0)
    assert gradients(x * x, [x], 0.5) == (2.0,)


def test_gradients_rejects_non_values():
    x = Value(1.0)
    with pytest.raises(TypeError, match="output"):
        gradients(1.0, [x])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="inputs must be Values, got float"):
        gradients(x * 2, [1.0])  # type: ignore[list-item]


def test_create_graph_makes_gradients_values_that_differentiate_again():
    x = Value(3.0)
    y = x * x * x
    with pytest.warns(UserWarning, match="reference cycle"):
        y.backward(create_graph=True)
    g = x.grad
    assert isinstance(g, Value) and g.data == 27.0
    (g2,) = gradients(g, [x])
    assert g2 == 18.0


def test_create_graph_second_backward_accumulates_values():
    x = Value(2.0)
    y = x * x
    with pytest.warns(UserWarning, match="reference cycle"):
        y.backward(create_graph=True)
        y.backward(create_graph=True)
    assert isinstance(x.grad, Value) and x.grad.data == 8.0


@pytest.mark.parametrize("seed", ["1.0", None, [1.0]])
def test_backward_seed_that_is_not_a_number_is_a_clear_error(seed):
    x = Value(3.0)
    y = x * x
    with pytest.raises(TypeError, match="real number"):
        y.backward(seed)


def test_backward_seed_may_be_a_value():
    x = Value(3.0)
    (x * x).backward(Value(2.0))
    assert isinstance(x.grad, Value) and x.grad.data == 12.0


def test_create_graph_through_a_chain_deeper_than_the_recursion_limit():
    def chain(x):
        y = x
        for _ in range(3_000):
            y = (y * 1.0001).sin()
        return y

    x = Value(0.3)
    (g,) = gradients(chain(x), [x], create_graph=True)
    (h,) = gradients(g, [x])

    def first(at: float) -> float:
        v = Value(at)
        return gradients(chain(v), [v])[0]

    assert g.data == first(0.3)
    step = 1e-5
    assert h == pytest.approx((first(0.3 + step) - first(0.3 - step)) / (2 * step), rel=1e-6)


# -- PyTorch's masks: where torch's backward uses `where`, an inf or nan ∂C/∂out does not leak --


def _value_op(v, name, *args):
    """``v.name(*args)``: a Value has every op as a method."""
    return getattr(v, name)(*args)


def _torch_op(torch):
    """The same ops on a float64 tensor: torch's function, or torch.nn.functional's."""

    def op(t, name, *args):
        fn = getattr(torch, name, None) if name in ("floor", "ceil", "round", "sign", "clamp") else None
        return (fn or getattr(torch.nn.functional, name))(t, *args)

    return op


# name: (f, inputs); f(op, *xs) runs unchanged on Values (op = _value_op) and on float64 tensors.
MASK_CASES = {
    "floor_inf_upstream": (lambda op, x: op(x, "floor").sqrt(), [0.3]),
    "ceil_inf_upstream": (lambda op, x: op(x, "ceil").sqrt(), [-0.5]),
    "round_nan_upstream": (lambda op, x: op(x, "round").sqrt() * 0.0, [0.3]),
    "sign_inf_upstream": (lambda op, x: (op(x, "sign") + 1.0).sqrt(), [-2.0]),
    "clamp_outside_inf_upstream": (lambda op, x: (op(x, "clamp", -1.0, 1.0) - 1.0).sqrt(), [5.0]),
    "clamp_inside_inf_upstream": (lambda op, x: (op(x, "clamp", -1.0, 1.0) + 0.5).sqrt(), [-0.5]),
    "hardtanh_outside_inf_upstream": (lambda op, x: (op(x, "hardtanh") - 1.0).sqrt(), [5.0]),
    "hardtanh_at_bound_inf_upstream": (lambda op, x: (op(x, "hardtanh") - 1.0).sqrt(), [1.0]),
    "hardsigmoid_outside_inf_upstream": (lambda op, x: (op(x, "hardsigmoid") - 1.0).sqrt(), [5.0]),
    "hardswish_below_inf_upstream": (lambda op, x: op(x, "hardswish").sqrt(), [-5.0]),
    "hardswish_at_minus_3_inf_upstream": (lambda op, x: op(x, "hardswish").sqrt(), [-3.0]),
    "inactive_relu_inf_upstream": (lambda op, x: x.relu().sqrt(), [-1.0]),
    "relu_at_kink_inf_upstream": (lambda op, x: x.relu().sqrt(), [0.0]),
    "inactive_relu_nan_upstream": (lambda op, x: x.relu().sqrt() * 0.0, [-2.0]),
    "active_relu_inf_upstream": (lambda op, x: (x.relu() - 1.0).sqrt(), [1.0]),
    "inactive_leaky_relu_inf_upstream": (lambda op, x: (op(x, "leaky_relu", 0.01) + 0.01).sqrt(), [-1.0]),
    "leaky_relu_slope_0_inf_upstream": (lambda op, x: op(x, "leaky_relu", 0.0).sqrt(), [-1.0]),
    "pow_0_inf_upstream": (lambda op, x: (x**0 - 1.0).sqrt(), [2.0]),
    "pow_0_at_0_inf_upstream": (lambda op, x: (x**0 - 1.0).sqrt(), [0.0]),
    "pow_0_nan_upstream": (lambda op, x: (x**0 - 1.0).sqrt() * 0.0, [3.0]),
    "pow_y_0_inf_upstream": (lambda op, x, y: (x**y - 1.0).sqrt(), [2.0, 0.0]),
    "pow_y_0_base_1_inf_upstream": (lambda op, x, y: (x**y - 1.0).sqrt(), [1.0, 0.0]),
    "pow_y_0_base_0": (lambda op, x, y: x**y * 3.0, [0.0, 0.0]),
    "pow_base_0_y_positive": (lambda op, x, y: x**y * 3.0, [0.0, 2.0]),
    "pow_base_0_y_positive_inf_upstream": (lambda op, x, y: (x**y).sqrt(), [0.0, 2.0]),
    "pow_base_0_y_0_inf_upstream": (lambda op, x, y: (x**y - 1.0).sqrt(), [0.0, 0.0]),
}


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _ours(f, inputs, how):
    xs = [Value(v) for v in inputs]
    y = f(_value_op, *xs)
    if how == "gradients":
        return list(gradients(y, xs))
    if how == "create_graph":
        return [to_float(g) for g in gradients(y, xs, create_graph=True)]
    if how == "steps":
        for _ in backward_steps(y):
            pass
    else:
        y.backward()
    return [x.grad for x in xs]


@pytest.mark.parametrize("how", ["backward", "gradients", "create_graph", "steps"])
@pytest.mark.parametrize("name", sorted(MASK_CASES))
def test_masked_gradients_equal_torch(torch, name, how):
    f, inputs = MASK_CASES[name]
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in inputs]
    f(_torch_op(torch), *ts).backward()
    expected = [t.grad.item() for t in ts]
    got = _ours(f, inputs, how)
    assert all(_same(a, b) for a, b in zip(got, expected)), (got, expected)


def test_inactive_relu_passes_back_zero_through_an_infinite_gradient():
    x = Value(-1.0)
    x.relu().sqrt().backward()
    assert x.grad == 0.0  # torch: 0; inf · 0 would read nan
    x = Value(4.0)
    (x**0 - 1.0).sqrt().backward()
    assert x.grad == 0.0


def test_detect_anomaly_stays_quiet_where_torch_masks():
    with detect_anomaly():
        x = Value(-1.0)
        x.relu().sqrt().backward()
        y, p = Value(2.0), Value(0.0)
        (y**p - 1.0).sqrt().backward()
    assert x.grad == 0.0 and y.grad == 0.0 and p.grad == math.inf


def test_masks_are_only_consulted_for_a_non_finite_upstream():
    relu, pow0, power = OPS["relu"], pow_const(0.0), OPS["**"]
    assert relu.masks([-1.0]) == (True,) and relu.masks([0.0]) == (True,) and relu.masks([2.0]) == (False,)
    assert relu.masks([math.nan]) == (False,)  # nan passes through relu, so does its gradient
    assert pow0.masks([5.0]) == (True,) and power.masks([2.0, 0.0]) == (True, False)
    assert OPS["abs"].masks is None and pow_const(2.0).masks is None
    x = Value(-3.0)
    (x.relu() * 5.0).backward()
    assert x.grad == 0.0


def test_gradients_runs_only_the_chain_rule_on_paths_that_reach_the_inputs():
    from autograd_core import Function

    calls = []

    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            calls.append(g)
            (x,) = ctx.saved_values
            return (2 * x * g,)

    w, side = Value(3.0), Value(4.0)
    h = Square.apply(w)  # below the input h: never needed for ∂y/∂h
    y = h * Square.apply(side) + h
    assert gradients(y, [h]) == (16.0 + 1.0,) and calls == []
    assert gradients(y, [w]) == (17.0 * 6.0,) and calls == [17.0]


class _Poly3(Function):
    """a·b·c through a custom backward: a node outside the fast loop (three inputs, a ctx)."""

    @staticmethod
    def forward(ctx, a, b, c):
        ctx.save_for_backward(a, b, c)
        return a * b * c

    @staticmethod
    def backward(ctx, g):
        a, b, c = ctx.saved_values
        return b * c * g, a * c * g, a * b * g


def _random_graph(seed: int) -> tuple[Value, list[Value]]:
    rng = random.Random(seed)
    leaves = [Value(rng.uniform(-1.5, 1.5)) for _ in range(3)]
    pool = list(leaves)
    for _ in range(rng.randint(1, 25)):
        pick = rng.choice
        kind = rng.random()
        if kind < 0.3:
            pool.append(rng.choice([Value.tanh, Value.sigmoid, Value.relu, Value.sin])(pick(pool)))
        elif kind < 0.85:
            pool.append(rng.choice([Value.__add__, Value.__mul__, Value.__sub__])(pick(pool), pick(pool)))
        else:
            pool.append(_Poly3.apply(pick(pool), pick(pool), pick(pool)))
    return pool[-1] + pool[len(pool) // 2], leaves


@given(st.integers(0, 10**6))
def test_every_entry_point_of_the_one_sweep_agrees(seed):
    # backward's fast path, its general path, gradients() (pruned) and create_graph give one answer.
    root, leaves = _random_graph(seed)
    root.backward()
    fast = [x.grad for x in leaves]
    for x in leaves:
        x.grad = 0.0
    with detect_anomaly():  # forces backward's general path
        root.backward()
    assert [x.grad for x in leaves] == fast
    assert list(gradients(root, leaves)) == fast
    second = [to_float(g) for g in gradients(root, leaves, create_graph=True)]
    assert second == pytest.approx(fast, rel=1e-12, abs=1e-15)
