"""summarise: a drawing of at most max_nodes boxes that still accounts for every Value."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_core import Value, topological_order
from autograd_core.see.graph_summary import summarise
from nn.layers import MLP


def random_net(seed: int, n_inputs: int, widths: list[int], samples: int, extra_ops: int) -> Value:
    """Neurons (z = Σ wᵢ·xᵢ + b, a = σ(z)) over a few samples, plus random ops and constants on top."""
    rng = random.Random(seed)
    layers = []
    nin = n_inputs
    for width in widths:
        layers.append([([Value(rng.uniform(-1, 1)) for _ in range(nin)], Value(0.0)) for _ in range(width)])
        nin = width
    outs = []
    for _ in range(samples):
        x = [Value(rng.uniform(-1, 1)) for _ in range(n_inputs)]
        for layer in layers:
            zs = []
            for w, b in layer:
                z = b
                for wi, xi in zip(w, x):
                    z = z + wi * xi
                zs.append(rng.choice([z.tanh, z.relu, lambda z=z: z])())
            x = zs
        outs.extend(x)
    pool = list(outs)
    for _ in range(extra_ops):
        a, b, kind = rng.choice(pool), rng.choice(pool), rng.randrange(4)
        pool.append([a * 2.0, a + b, 1 - a * b, (a * a).tanh()][kind])
    root = pool[-1]
    for v in pool[:-1]:
        root = root + v
    return root


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 3), st.lists(st.integers(1, 4), min_size=1, max_size=3),
       st.integers(1, 3), st.integers(0, 6), st.integers(1, 80), st.booleans())
def test_every_value_is_drawn_grouped_folded_or_hidden_exactly_once(seed, n_inputs, widths, samples, extra_ops,
                                                                    max_nodes, collapse):
    root = random_net(seed, n_inputs, widths, samples, extra_ops)
    order = topological_order(root)
    s = summarise(order, max_nodes, collapse)
    assert s.boxes <= max_nodes
    drawn = {id(v) for v in s.drawn}
    grouped = set(s.owner)
    parts = [drawn, grouped, s.folded, s.hidden]
    assert sum(map(len, parts)) == len(order) == s.total
    assert set().union(*parts) == {id(v) for v in order}
    assert id(root) in drawn | grouped
    for g in s.groups:
        assert all(s.owner[id(m)] == s.groups.index(g) for m in g.members)


def test_small_graph_is_drawn_whole():
    x = Value(2.0)
    y = x * 3.0 + 1.0
    s = summarise(topological_order(y), 60)
    assert s.drawn == topological_order(y) and not s.groups and not s.folded and not s.hidden


def test_one_neuron_becomes_one_box_with_its_inputs_drawn():
    w = [Value(0.5), Value(-1.0), Value(2.0)]
    x = [Value(1.0), Value(2.0), Value(3.0)]
    b = Value(0.1)
    z = b
    for wi, xi in zip(w, x):
        z = z + wi * xi
    a = z.tanh()
    s = summarise(topological_order(a), 5)
    (group,) = s.groups
    assert group.formula() == "tanh(w.x + b)" and group.outputs == [a] and group.terms == 3
    assert {id(v) for v in s.drawn} == set(map(id, x))
    assert s.folded == {id(v) for v in [*w, b]}


def test_neurons_of_a_layer_on_one_input_merge_into_one_box():
    model = MLP(2, [16, 16, 1], rng=0)
    xs = [[Value(0.5), Value(-0.5)], [Value(1.0), Value(0.0)]]
    loss = sum((model(x).relu() for x in xs), Value(0.0))
    params = {id(p) for p in model.parameters()}
    s = summarise(topological_order(loss), 40, params=params)
    formulas = sorted(g.formula() for g in s.groups)
    assert formulas == ["16 x relu(w.x + b)"] * 4 + ["relu(w.x + b)"] * 2
    assert not s.hidden and s.folded >= params
