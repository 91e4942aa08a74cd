"""pickle and copy.deepcopy carry the extra attributes set on Values (micrograd's p.m, p.v, _vis_color)."""

import copy
import inspect
import pickle
import tracemalloc

import pytest

from autograd_core import Value, serialize


def pickled(v):
    return pickle.loads(pickle.dumps(v))


COPIERS = [pytest.param(pickled, id="pickle"), pytest.param(copy.deepcopy, id="deepcopy")]


def _graph():
    w, x, b = Value(-3.0, "w"), Value(2.0, "x"), Value(1.0, "b")
    w.m, w.v, w._vis_color = 0.25, 0.5, "red"  # AdamW moments and a drawing colour, as EurekaLabs' micrograd
    z = w * x + b
    z._vis_color = "blue"
    loss = z.tanh() ** 2
    return w, x, z, loss


@pytest.mark.parametrize("copier", COPIERS)
def test_a_copy_keeps_the_attributes_of_leaves_and_inner_nodes(copier):
    w, x, z, loss = _graph()
    w2, z2, loss2 = copier([w, z, loss])
    assert (w2.m, w2.v, w2._vis_color) == (0.25, 0.5, "red")
    assert z2._vis_color == "blue"
    assert not hasattr(x, "m") and not vars(loss2)
    w2.m = 9.0
    assert w.m == 0.25  # the copy's attributes are its own


@pytest.mark.parametrize("copier", COPIERS)
def test_the_copys_graph_backpropagates_into_the_copy(copier):
    w, _, _, loss = _graph()
    w2, loss2 = copier([w, loss])
    loss2.backward()
    loss.backward()
    assert w2.grad == w.grad != 0.0
    w.grad = 0.0
    loss2.backward()
    assert w.grad == 0.0 and w2.grad != 0.0
    assert w2.m == 0.25


@pytest.mark.parametrize("copier", COPIERS)
def test_an_attribute_may_refer_to_its_own_value_or_another_in_the_graph(copier):
    w, _, z, loss = _graph()
    w.me, z.result = w, loss
    w2, loss2 = copier([w, loss])
    assert w2.me is w2
    assert w2.me is not w
    z2 = loss2.parents[0].parents[0]
    assert z2.result is loss2


def test_deepcopy_copies_attribute_values_deeply_and_copy_shares_them():
    v = Value(1.0)
    v.history = [1.0, 2.0]
    deep, shallow = copy.deepcopy(v), copy.copy(v)
    assert deep.history == [1.0, 2.0] and deep.history is not v.history
    assert shallow.history is v.history


def test_copying_creates_no_attribute_dictionary_on_values_without_attributes():
    x = Value(0.5)
    y = x
    for _ in range(2000):
        y = y * 1.001 + 0.1
    tracemalloc.start()
    try:
        blob = pickle.dumps(y)
        copied = copy.deepcopy(y)
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    assert pickle.loads(blob).data == copied.data == y.data
    # What copying left allocated from serialize.py, with the copy alive: an empty dict on each
    # of the original's 4,001 nodes would be 256 KB.
    lines, start = inspect.getsourcelines(serialize.extra_attributes)
    reads = [start + i for i, line in enumerate(lines) if "v.__dict__" in line and "del" not in line]
    kept = snapshot.filter_traces([tracemalloc.Filter(True, serialize.__file__, lineno) for lineno in reads])
    assert reads and sum(stat.size for stat in kept.statistics("filename")) < 64 * 4001 / 10
