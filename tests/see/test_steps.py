"""backward_steps: one chain-rule step per node, ending exactly where backward() ends."""

from __future__ import annotations

import math
import random
import weakref

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_core import Value, detect_anomaly
from autograd_core.see.steps import BackwardStep, backward_steps
from tests.helpers import Cube, gc_off, neuron

UNARY = [lambda v: v.tanh(), lambda v: v.sigmoid(), lambda v: v.relu(), lambda v: v * v, lambda v: -v,
         lambda v: v.exp().log()]
BINARY = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b, lambda a, b: a * b + a]


def random_graph(seed: int, n_leaves: int, n_ops: int) -> tuple[Value, list[Value]]:
    """A random DAG with fan-out: each op takes earlier nodes, so nodes are reused."""
    rng = random.Random(seed)
    leaves = [Value(rng.uniform(-2, 2), f"x{i}") for i in range(n_leaves)]
    pool = list(leaves)
    for _ in range(n_ops):
        if rng.random() < 0.4:
            pool.append(rng.choice(UNARY)(rng.choice(pool)))
        else:
            pool.append(rng.choice(BINARY)(rng.choice(pool), rng.choice(pool)))
    root = pool[-1]
    for extra in pool[-4:-1]:
        root = root + extra
    return root, leaves


def all_nodes(root: Value) -> list[Value]:
    from autograd_core import topological_order

    return topological_order(root)


@settings(max_examples=80)
@given(st.integers(0, 10**6), st.integers(1, 5), st.integers(1, 30))
def test_exhausting_steps_gives_exactly_backwards_grads(seed, n_leaves, n_ops):
    root, _ = random_graph(seed, n_leaves, n_ops)
    nodes = all_nodes(root)
    root.backward()
    expected = [v.grad for v in nodes]
    for v in nodes:
        v.grad = 0.0
    steps = list(backward_steps(root))
    assert [v.grad for v in nodes] == expected
    assert len(steps) == len(nodes)
    assert [s.node for s in steps] == nodes[::-1]


@settings(max_examples=40)
@given(st.integers(0, 10**6))
def test_leaves_accumulate_and_interior_grads_reset_like_backward(seed):
    root, _ = random_graph(seed, 3, 12)
    root.backward()
    root.backward()
    expected = [v.grad for v in all_nodes(root)]
    for v in all_nodes(root):
        v.grad = 0.0
    root.backward()
    for _ in backward_steps(root):
        pass
    assert [v.grad for v in all_nodes(root)] == expected


@settings(max_examples=60)
@given(st.integers(0, 10**6))
def test_each_contribution_is_upstream_times_local_and_upstream_is_complete(seed):
    root, _ = random_graph(seed, 3, 15)
    root.backward()
    final = {id(v): v.grad for v in all_nodes(root)}
    for v in all_nodes(root):
        v.grad = 0.0
    for step in backward_steps(root):
        assert step.upstream == final[id(step.node)]
        assert step.local_grads == step.node.local_grads
        assert step.contributions == tuple(lg * step.upstream for lg in step.local_grads)
        assert step.parents == step.node.parents


def test_neuron_steps_follow_the_chain_rule():
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.8813735870195432, "b")
    z = x * w + b
    z.label = "z"
    a = z.tanh()
    a.label = "a"
    steps = list(backward_steps(a))
    assert steps[0].node is a and steps[0].upstream == 1.0
    assert steps[1].node is z
    assert steps[1].upstream == pytest.approx(1 - math.tanh(z.data) ** 2)
    assert steps[1].upstream == pytest.approx(0.5)
    assert w.grad == pytest.approx(0.5 * 2.0)
    assert x.grad == pytest.approx(0.5 * -3.0)
    assert [s.index for s in steps] == list(range(len(steps)))
    assert all(s.total == 6 for s in steps)


def test_each_step_is_applied_before_it_is_yielded():
    x = Value(3.0, "x")
    y = (x * 2.0).tanh()
    gen = backward_steps(y)
    first = next(gen)
    assert first.node is y
    assert y.parents[0].grad == first.contributions[0]
    assert x.grad == 0.0


def test_leaf_steps_have_no_parents_and_explain_says_so():
    x = Value(1.5, "x")
    y = x * x
    steps = list(backward_steps(y))
    leaf = steps[-1]
    assert leaf.node is x and leaf.parents == () and leaf.contributions == ()
    assert "leaf" in leaf.explain()
    text = steps[0].explain()
    assert "1 × 1.5 = 1.5" in text
    assert str(steps[0]) == text


def test_snapshot_tracks_fan_out_terms_and_completion():
    x = Value(3.0, "x")
    y = x * x + x
    steps = list(backward_steps(y))
    after_root = steps[0].snapshot()
    assert after_root.grad(x) is None
    assert after_root.terms[id(x)] == [1.0]
    after_mul = steps[1].snapshot()
    assert after_mul.terms[id(x)] == [1.0, 3.0, 3.0]
    assert after_mul.grad(x) == 7.0 == x.grad
    assert after_mul.edges[(id(y.parents[0]), 0)] == 3.0


def test_bad_root_is_a_type_error():
    with pytest.raises(TypeError, match="needs a Value, got int"):
        next(backward_steps(3))


def test_seed_gradient_is_used_for_the_root():
    x = Value(2.0)
    y = x * 5.0
    steps = list(backward_steps(y, grad=2.0))
    assert steps[0].upstream == 2.0
    assert x.grad == 10.0


def test_anomaly_mode_names_the_nan_contribution():
    x = Value(0.0, "x")
    y = x.sqrt() * 0.0
    y.backward()  # 0 × inf gives nan in plain mode
    with detect_anomaly(), pytest.raises(FloatingPointError, match="nan"):
        list(backward_steps(y))


def test_step_is_a_dataclass_with_the_documented_fields():
    y = Value(1.0) + 1.0
    step = next(backward_steps(y))
    assert isinstance(step, BackwardStep)
    assert {"index", "total", "node", "upstream", "parents", "local_grads", "contributions"} <= set(
        step.__dataclass_fields__
    )


def test_explain_uses_given_labels_for_unlabelled_values():
    from autograd_core.see.draw import value_labels

    x = Value(2.0)
    y = x * 3.0
    text = next(backward_steps(y)).explain(value_labels({"x": x, "y": y}))
    assert "∂C/∂x += ∂C/∂y × ∂y/∂x = 1 × 3 = 3" in text


def test_stepper_widget_moves_forward_and_back_and_redraws():
    pytest.importorskip("ipywidgets")
    pytest.importorskip("graphviz")
    from autograd_core.see.widgets import step_through

    x = Value(3.0, "x")
    y = x * x + x
    y.label = "y"
    stepper = step_through(y)
    assert len(stepper.steps) == 3 and stepper.index == 0
    assert stepper.buttons["back"].disabled and not stepper.buttons["next"].disabled
    first_picture = stepper.picture.value
    assert "grad 1 + ?" in first_picture
    stepper.buttons["next"].click()
    assert stepper.index == 1
    assert "grad 1 + 3 + 3 = 7" in stepper.picture.value
    assert "∂C/∂x" in stepper.text.value
    stepper.buttons["last"].click()
    assert stepper.index == 2 and stepper.buttons["next"].disabled
    stepper.buttons["back"].click()
    stepper.buttons["first"].click()
    assert stepper.index == 0 and stepper.picture.value == first_picture
    stepper.go(99)
    assert stepper.index == 2
    assert x.grad == 7.0
    assert "application/vnd.jupyter.widget-view+json" in stepper._repr_mimebundle_()


def test_stepper_without_ipywidgets_names_the_extra_and_steps_still_work(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    from autograd_core.see.widgets import step_through

    y = Value(2.0) * 3.0
    with pytest.raises(ImportError, match=r"pip install backprop-lab\[viz\]"):
        step_through(y)
    assert len(list(backward_steps(y))) == 3


def test_stepping_after_an_earlier_backward_shows_the_true_derivatives():
    a, leaves = neuron()
    a.backward()
    true = {name: v.grad for name, v in leaves.items()}
    assert true["x1"] == pytest.approx(-1.5) and true["w1"] == pytest.approx(1.0)
    steps = list(backward_steps(a))
    last = steps[-1].snapshot()
    for name, v in leaves.items():
        (step,) = [s for s in steps if s.node is v]
        assert step.upstream == true[name]  # ∂a/∂leaf for this pass, not doubled
        assert last.grad(v) == true[name] and last.terms[id(v)] == [true[name]]
        assert v.grad == 2 * true[name]  # .grad itself accumulates exactly as backward() does
    assert "∂C/∂x1 = -1.5" in next(s for s in steps if s.node is leaves["x1"]).explain()


def test_step_drawing_after_an_earlier_backward_shows_the_true_derivatives():
    pytest.importorskip("graphviz")
    from autograd_core import draw_graph

    a, _ = neuron()
    a.backward()
    a.backward()  # x1.grad is now -3
    steps = list(backward_steps(a))
    source = draw_graph(a, highlight=steps[-1]).source
    assert "grad -1.5" in source and "grad -3" not in source and "grad -4.5" not in source


def test_seed_of_a_leaf_root_is_its_own_derivative():
    x = Value(2.0, "x")
    x.grad = 5.0
    (step,) = backward_steps(x, 3.0)
    assert step.upstream == 3.0 and step.snapshot().grad(x) == 3.0 and x.grad == 8.0


def test_a_list_of_steps_is_freed_by_reference_counting_alone():
    with gc_off():
        x = Value(0.5, "x")
        y = (x * x).tanh() + x
        steps = list(backward_steps(y))
        snapshots = [s.snapshot() for s in steps]
        refs = [weakref.ref(steps[0]), weakref.ref(y), weakref.ref(y.parents[0]), weakref.ref(snapshots[-1])]
        del steps, snapshots, y
        assert all(r() is None for r in refs)


def test_steps_through_a_custom_function_show_its_backward():
    x = Value(2.0, "x")
    y = Cube.apply(x)
    (step,) = [s for s in backward_steps(y * 2.0) if s.node is y]
    assert step.local_grads == (12.0,) and step.contributions == (24.0,) and x.grad == 24.0
