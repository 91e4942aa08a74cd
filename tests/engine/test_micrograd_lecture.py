"""micrograd's lecture ("building micrograd", nn-zero-to-hero), its first half, with only the
import changed: manual gradients, per-node ``_backward()``, the learner's own topological sort
and the learner's own graphviz ``draw_dot`` rendered to SVG.

The cells are written here from the lecture, in its order; the only line that differs from
the lecture is ``from autograd_core import Value`` where the lecture defines its class.
"""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import textwrap

import pytest

from autograd_core import Value
from tests.helpers import ROOT

graphviz = pytest.importorskip("graphviz")


# The learner's drawing code, as in the lecture and micrograd's trace_graph.ipynb.
def trace(root):
    nodes, edges = set(), set()

    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)

    build(root)
    return nodes, edges


def draw_dot(root, format="svg", rankdir="LR"):
    from graphviz import Digraph

    nodes, edges = trace(root)
    dot = Digraph(format=format, graph_attr={"rankdir": rankdir})
    for n in nodes:
        uid = str(id(n))
        color = getattr(n, "_vis_color", "white")
        label = "{ %s | data %.4f | grad %.4f }" % (n.label, n.data, n.grad)  # noqa: UP031 (the lecture's)
        dot.node(name=uid, label=label, shape="record", style="filled", fillcolor=color)
        if n._op:
            dot.node(name=uid + n._op, label=n._op)
            dot.edge(uid + n._op, uid)
    for n1, n2 in edges:
        dot.edge(str(id(n1)), str(id(n2)) + n2._op)
    return dot


def neuron():
    # inputs x1,x2
    x1 = Value(2.0, label="x1")
    x2 = Value(0.0, label="x2")
    # weights w1,w2
    w1 = Value(-3.0, label="w1")
    w2 = Value(1.0, label="w2")
    # bias of the neuron
    b = Value(6.8813735870195432, label="b")
    # x1*w1 + x2*w2 + b
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return x1, x2, w1, w2, b, x1w1, x2w2, x1w1x2w2, n, o


def test_the_expression_and_its_gradients_by_hand():
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f
    L.label = "L"
    assert L.data == -8.0 and L._op == "*" and L._prev == {d, f}

    L.grad = 1.0
    f.grad = 4.0
    d.grad = -2.0
    c.grad = -2.0
    e.grad = -2.0
    a.grad = -2.0 * -3.0
    b.grad = -2.0 * 2.0
    svg = draw_dot(L).pipe(format="svg").decode()
    assert "<svg" in svg and "grad 6.0000" in svg

    # one step of nudging every leaf along its gradient increases L
    a.data += 0.01 * a.grad
    b.data += 0.01 * b.grad
    c.data += 0.01 * c.grad
    f.data += 0.01 * f.grad
    e = a * b
    d = e + c
    L = d * f
    assert L.data > -8.0


def test_the_neuron_backpropagated_one_node_at_a_time():
    x1, x2, w1, w2, b, x1w1, x2w2, x1w1x2w2, n, o = neuron()
    assert o.data == pytest.approx(0.7071, abs=1e-4)

    o.grad = 1.0
    o._backward()
    n._backward()
    b._backward()  # a leaf: nothing to do
    x1w1x2w2._backward()
    x2w2._backward()
    x1w1._backward()
    assert n.grad == pytest.approx(0.5)
    assert [x1.grad, w1.grad, x2.grad, w2.grad, b.grad] == pytest.approx([-1.5, 1.0, 0.5, 0.0, 0.5])


def test_the_neuron_backpropagated_in_the_learners_topological_order():
    x1, x2, w1, w2, b, *_, o = neuron()
    topo = []
    visited = set()

    def build_topo(v):
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                build_topo(child)
            topo.append(v)

    build_topo(o)
    assert topo[-1] is o and len(topo) == 10

    o.grad = 1.0
    for node in reversed(topo):
        node._backward()
    assert [x1.grad, w1.grad, x2.grad, w2.grad, b.grad] == pytest.approx([-1.5, 1.0, 0.5, 0.0, 0.5])


def test_backward_then_the_using_a_variable_twice_bug_is_fixed():
    *_, o = neuron()
    o.backward()
    a = Value(3.0, label="a")
    b = a + a
    b.label = "b"
    b.backward()
    assert a.grad == 2.0
    assert "<svg" in draw_dot(b).pipe(format="svg").decode()

    a = Value(-2.0, label="a")
    b = Value(3.0, label="b")
    d = a * b
    d.label = "d"
    e = a + b
    e.label = "e"
    f = d * e
    f.label = "f"
    f.backward()
    assert (a.grad, b.grad) == (-3.0, -8.0)


def test_tanh_written_with_exp_and_the_operators_the_lecture_adds():
    a = Value(2.0)
    b = Value(4.0)
    assert (a + 1).data == 3.0 and (1 + a).data == 3.0 and (2 * a).data == 4.0
    assert a.exp().data == math.exp(2.0) and (a / b).data == 0.5 and (a - b).data == -2.0

    x1, x2, w1, w2, b, *_ = neuron()
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    e = (2 * n).exp()
    o = (e - 1) / (e + 1)
    o.label = "o"
    o.backward()
    assert o.data == pytest.approx(0.7071, abs=1e-4)
    assert [x1.grad, w1.grad, x2.grad, w2.grad] == pytest.approx([-1.5, 1.0, 0.5, 0.0])
    assert "<svg" in draw_dot(o).pipe(format="svg").decode()


# The lecture's Neuron, Layer and MLP, as the learner types them.
class Neuron:
    def __init__(self, nin):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(random.uniform(-1, 1))

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.tanh()

    def parameters(self):
        return [*self.w, self.b]


class Layer:
    def __init__(self, nin, nout):
        self.neurons = [Neuron(nin) for _ in range(nout)]

    def __call__(self, x):
        outs = [n(x) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self):
        return [p for neuron in self.neurons for p in neuron.parameters()]


class MLP:
    def __init__(self, nin, nouts):
        sz = [nin, *nouts]
        self.layers = [Layer(sz[i], sz[i + 1]) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


def test_the_lectures_mlp_with_optimizer_state_and_colours_on_the_values():
    # The lecture's Neuron/Layer/MLP, plus what EurekaLabs' micrograd hangs on parameters
    # (AdamW moments p.m, p.v) and on nodes (a drawing colour).
    random.seed(1337)
    n = MLP(3, [4, 4, 1])
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    for p in n.parameters():
        p.m = 0.0
        p.v = 0.0
    losses = []
    for t in range(1, 21):
        ypred = [n(x) for x in xs]
        loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred))
        for p in n.parameters():
            p.grad = 0.0
        loss.backward()
        for p in n.parameters():  # AdamW, state kept on the parameters themselves
            p.m = 0.9 * p.m + 0.1 * p.grad
            p.v = 0.999 * p.v + 0.001 * p.grad**2
            m_hat, v_hat = p.m / (1 - 0.9**t), p.v / (1 - 0.999**t)
            p.data -= 0.05 * (m_hat / (v_hat**0.5 + 1e-8) + 1e-4 * p.data)
        losses.append(loss.data)
    assert losses[-1] < 0.1 * losses[0]
    loss._vis_color = "lightblue"
    assert 'fill="lightblue"' in draw_dot(loss).pipe(format="svg").decode()


def test_math_functions_on_a_value_are_refused_with_a_hint():
    *_, n, o = neuron()
    with pytest.raises(TypeError, match=r"Use v.tanh\(\)"):
        math.tanh(n)
    assert float(o) == o.data


def _import_in_subprocess(path_dirs: list[str]) -> str:
    code = textwrap.dedent("""
        import autograd_core
        from graphviz.backend import dot_command
        print(dot_command.DOT_BINARY)
    """)
    env = {**os.environ, "PATH": os.pathsep.join(path_dirs),
           "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_import_makes_graphviz_pure_the_dot_only_when_there_is_no_system_dot(tmp_path):
    from autograd_core.see.draw import graphviz_pure_binary

    pure = graphviz_pure_binary()
    if pure is None:
        pytest.skip("graphviz-pure is not installed")
    assert _import_in_subprocess([str(tmp_path)]) == str(pure)
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dot").write_text("#!/bin/sh\nexit 0\n")
    (fake / "dot").chmod(0o755)
    assert _import_in_subprocess([str(fake)]) == "dot"  # a system dot: nothing changes
