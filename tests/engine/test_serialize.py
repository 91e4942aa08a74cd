"""pickle and copy.deepcopy of Values copy the whole graph; grads land on the copy."""

from __future__ import annotations

import copy
import math
import pickle
import weakref

import pytest

from autograd_core import Function, Value, topological_order
from autograd_core.serialize import graph_closure
from tests.helpers import Cube, gc_off, neuron

PROTOCOLS = list(range(pickle.HIGHEST_PROTOCOL + 1))


def pickled(v, protocol=pickle.HIGHEST_PROTOCOL):
    return pickle.loads(pickle.dumps(v, protocol=protocol))


def deep(v):
    return copy.deepcopy(v)


COPIERS = [pytest.param(pickled, id="pickle"), pytest.param(deep, id="deepcopy")]


def leaves_of(root):
    return [n for n in topological_order(root) if n.is_leaf]


def signature(root):
    """Everything a node carries, in topological order: (data, grad, label, op, local grads, parent positions)."""
    order = topological_order(root)
    pos = {id(n): i for i, n in enumerate(order)}
    return [(n.data, n.grad, n.label, n.op, n.local_grads, tuple(pos[id(p)] for p in n.parents)) for n in order]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_pickle_round_trip_keeps_every_node_exactly(protocol):
    a, _ = neuron()
    assert signature(pickled(a, protocol)) == signature(a)


def test_deepcopy_keeps_every_node_exactly():
    a, _ = neuron()
    assert signature(deep(a)) == signature(a)


@pytest.mark.parametrize("copier", COPIERS)
def test_grads_land_on_the_copy_leaves_never_the_originals(copier):
    a, named = neuron()
    leaves = list(named.values())
    a2 = copier(a)
    a2.backward()
    assert all(leaf.grad == 0.0 for leaf in leaves)
    copies = {leaf.label: leaf for leaf in leaves_of(a2)}
    # ∂a/∂w1 = (1 - a²)·x1 with a = tanh(0.8813…) = 0.7071…: the classic micrograd numbers.
    assert copies["w1"].grad == pytest.approx(1.0, rel=1e-12)
    assert copies["x1"].grad == pytest.approx(-1.5, rel=1e-12)
    assert copies["w2"].grad == 0.0
    a.backward()
    assert [leaf.grad for leaf in leaves] == [copies[leaf.label].grad for leaf in leaves]


@pytest.mark.parametrize("copier", COPIERS)
def test_copy_keeps_existing_grads_and_later_backward_accumulates(copier):
    x = Value(3.0, "x")
    y = x * x
    y.backward()
    y2 = copier(y)
    (x2,) = set(y2.parents)
    assert x2.grad == 6.0
    y2.backward()
    assert (x.grad, x2.grad) == (6.0, 12.0)


@pytest.mark.parametrize("copier", COPIERS)
def test_reused_node_stays_one_node_with_two_edges(copier):
    x = Value(3.0)
    y = copier(x * x)
    assert y.parents[0] is y.parents[1]
    y.backward()
    assert y.parents[0].grad == 6.0


@pytest.mark.parametrize("copier", COPIERS)
def test_diamond_shares_the_middle_node(copier):
    x = Value(0.5, "x")
    m = x.exp()
    top = copier(m * m.sin() + m)
    order = topological_order(top)
    assert len(order) == len(topological_order(m * m.sin() + m))
    top.backward()
    (x2,) = [n for n in order if n.label == "x"]
    e = m.data
    assert x2.grad == pytest.approx(e * math.sin(e) + e * e * math.cos(e) + e, rel=1e-12)


def test_pickling_several_roots_together_keeps_shared_nodes_shared():
    w = Value(2.0, "w")
    h = w * 3.0
    loss1, loss2 = h + 1.0, h * h
    w2, h2, l1, l2 = pickled([w, h, loss1, loss2])
    assert l1.parents[0] is h2 and l2.parents == (h2, h2) and h2.parents[0] is w2
    l1.backward()
    l2.backward()
    assert w2.grad == 3.0 + 2 * 6.0 * 3.0
    assert w.grad == 0.0


def test_deepcopy_of_a_list_shares_nodes_through_the_memo():
    w = Value(2.0, "w")
    loss = (w * w).relu()
    w2, loss2 = copy.deepcopy([w, loss])
    loss2.backward()
    assert w2.grad == 4.0 and w.grad == 0.0
    assert loss2.parents[0].parents == (w2, w2)


@pytest.mark.parametrize("copier", COPIERS)
def test_parameterised_ops_keep_their_parameters_bit_exactly(copier):
    x = Value(0.7)
    p = 0.1 + 0.2  # 0.30000000000000004: repr must survive, not "0.3"
    y = copier(x**p + x.leaky_relu(0.2) + (-x).leaky_relu(p) + x**-1.5 + x**1e20)
    names = sorted(n.op for n in topological_order(y) if n.op)
    assert "**0.30000000000000004" in names and "leaky_relu(0.30000000000000004)" in names
    assert "leaky_relu(0.2)" in names and "**-1.5" in names and "**1e+20" in names
    leaf = next(n for n in topological_order(y) if n.is_leaf and n.data == 0.7)
    y.backward()
    expected = p * 0.7 ** (p - 1) + 1.0 - p * 1.0 - 1.5 * 0.7**-2.5 + 0.0
    assert leaf.grad == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("copier", COPIERS)
def test_a_100000_deep_chain_copies_without_recursion(copier):
    x = Value(0.5, "x")
    y = x
    for _ in range(100_000):
        y = -y
    y2 = copier(y)
    y2.backward()
    x2 = topological_order(y2)[0]
    assert (x2.label, x2.grad, x.grad) == ("x", 1.0, 0.0)
    assert y2.data == 0.5


@pytest.mark.parametrize("copier", COPIERS)
def test_create_graph_grads_are_copied_into_the_new_graph(copier):
    a, b = Value(3.0, "a"), Value(4.0, "b")
    p = a * b
    with pytest.warns(UserWarning, match="reference cycle"):
        p.backward(create_graph=True)
    a2, b2, _ = copier([a, b, p])
    assert isinstance(a2.grad, Value) and a2.grad.data == 4.0
    assert b2 in set(topological_order(a2.grad)) and b not in set(topological_order(a2.grad))
    # ∂(∂p/∂a)/∂b = 1: the copied gradient graph is differentiable and touches only copies.
    a2.grad.backward()
    assert b2.grad.data == 3.0 + 1.0
    assert b.grad.data == 3.0


def test_pickled_custom_op_keeps_its_local_grads_and_name():
    x = Value(2.0, "x")
    y = pickled(Cube.apply(x) * 2.0)
    cube = y.parents[0]
    assert (cube.op, cube.data, cube.local_grads) == ("Cube", 8.0, (12.0,))
    y.backward()
    assert cube.parents[0].grad == 24.0 and x.grad == 0.0


def test_pickled_custom_op_cannot_be_differentiated_twice_like_the_original():
    y = pickled(Cube.apply(Value(2.0)))
    with pytest.raises(NotImplementedError, match=r"Cube was restored from a pickle.*cannot be differentiated twice"):
        y.backward(create_graph=True)


def test_pickled_custom_op_pickles_again():
    y = pickled(pickled(Cube.apply(Value(2.0)) + 1.0))
    y.backward()
    assert y.parents[0].parents[0].grad == 12.0


def test_deepcopy_shares_the_custom_op_itself():
    y = Cube.apply(Value(2.0))
    assert copy.deepcopy(y).fn is y.fn


def test_copy_copy_is_shallow_new_node_same_parents():
    x = Value(2.0)
    y = x * 3.0
    y.label = "y"
    z = copy.copy(y)
    assert z is not y and z.parents == y.parents and (z.data, z.op, z.label) == (6.0, "*", "y")


def test_graph_closure_lists_parents_before_children():
    a, _ = neuron()
    order = graph_closure(a)
    pos = {id(n): i for i, n in enumerate(order)}
    assert order[-1] is a and len(order) == len(topological_order(a))
    assert all(pos[id(p)] < pos[id(n)] for n in order for p in n.parents)


def test_pickling_keeps_no_reference_to_the_graph():
    with gc_off():
        x = Value(1.0)
        y = (x * 2.0).tanh()
        probe = weakref.ref(y.parents[0])
        pickle.dumps(y)
        del y
        assert probe() is None


def test_pickle_holds_no_code():
    a, _ = neuron()
    text = pickle.dumps(a, protocol=0)
    assert b"lambda" not in text and b"<locals>" not in text
    assert b"op_by_name" in text


class Sum3(Function):
    @staticmethod
    def forward(ctx, a, b, c):
        return a + 2.0 * b + 3.0 * c

    @staticmethod
    def backward(ctx, g):
        return g, 2.0 * g, 3.0 * g


@pytest.mark.parametrize("copier", COPIERS)
def test_copied_custom_op_with_three_inputs_keeps_all_three_edges(copier):
    xs = [Value(1.0, "a"), Value(2.0, "b"), Value(4.0, "c")]
    y = Sum3.apply(*xs) * xs[2]
    y2 = copier(y)
    assert signature(y2) == signature(y)
    y2.backward()
    copied = {n.label: n for n in topological_order(y2) if n.is_leaf and n.label}
    assert [copied[k].grad for k in "abc"] == [4.0, 8.0, 12.0 + 17.0]
    assert [x.grad for x in xs] == [0.0, 0.0, 0.0]
