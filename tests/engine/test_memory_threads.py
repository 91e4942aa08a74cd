"""Graphs are freed by reference counting alone; graphs in separate threads never interfere."""

from __future__ import annotations

import gc
import math
import pickle
import sys
import threading
import weakref
from collections.abc import Callable

import pytest

from autograd_core import Function, Value, detect_anomaly, gradients, is_grad_enabled, no_grad, topological_order
from tests.helpers import gc_off


def interior_refs(root: Value) -> list[weakref.ref]:
    return [weakref.ref(n) for n in topological_order(root) if n.parents]


def neuron(x1: Value, x2: Value, w1: Value, w2: Value, b: Value) -> Value:
    return (x1 * w1 + x2 * w2 + b).tanh()


def test_dropping_the_root_frees_the_whole_graph_without_the_collector():
    with gc_off():
        leaves = [Value(v) for v in (2.0, 0.0, -3.0, 1.0, 6.8813735870195432)]
        out = neuron(*leaves)
        refs = interior_refs(out)
        assert len(refs) == 5  # two products, two sums, tanh
        del out
        assert [r() for r in refs] == [None] * 5
        assert all(isinstance(leaf, Value) for leaf in leaves)


def test_graph_after_backward_is_freed_without_the_collector():
    with gc_off():
        x = Value(0.3)
        y = x
        for _ in range(1000):
            y = (y * 1.5).sin() + x
        y.backward()
        refs = interior_refs(y)
        del y
        assert all(r() is None for r in refs)
        assert x.grad != 0.0


def test_deep_chain_is_freed_without_the_collector_or_recursion_error():
    with gc_off():
        x = Value(1.0)
        y = x
        for _ in range(200_000):
            y = -y
        probe = weakref.ref(y.parents[0])
        first = weakref.ref(topological_order(y)[1])
        del y
        assert probe() is None and first() is None


def test_create_graph_gradients_keep_the_graph_until_the_grads_are_cleared():
    # As in PyTorch: a differentiable gradient references the graph it was built from.
    with gc_off():
        a, b, c = Value(3.0), Value(4.0), Value(5.0)
        p = (a * b) * c
        with pytest.warns(UserWarning, match="reference cycle between each leaf and its .grad"):
            p.backward(create_graph=True)
        refs = interior_refs(p)
        del p
        a.grad = b.grad = c.grad = 0.0
        assert all(r() is None for r in refs)


def test_create_graph_through_tanh_leaves_no_reference_cycle_once_the_grads_are_cleared():
    with gc_off():
        a, b = Value(3.0), Value(4.0)
        p = (a * b).tanh()
        with pytest.warns(UserWarning, match="x.grad = 0.0"):
            p.backward(create_graph=True)
        refs = interior_refs(p)
        del p
        a.grad = b.grad = 0.0
        assert all(r() is None for r in refs)


def test_gradients_call_keeps_no_reference_to_the_graph():
    with gc_off():
        x = Value(2.0)
        y = x.exp() * x
        refs = interior_refs(y)
        (g,) = gradients(y, [x])
        del y
        assert all(r() is None for r in refs)
        assert g == pytest.approx(3 * math.exp(2.0))


class Square(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_values
        return (2 * x * grad_output,)


def test_custom_op_graph_is_freed_without_the_collector():
    with gc_off():
        x = Value(3.0)
        y = Square.apply(x) + 1.0
        y.backward()
        refs = interior_refs(y)
        del y
        assert all(r() is None for r in refs)
        assert x.grad == 6.0


def test_model_loss_graph_is_freed_and_parameters_survive():
    nn_layers = pytest.importorskip("nn.layers")
    with gc_off():
        model = nn_layers.MLP(3, [4, 4, 1], rng=0)
        loss = (model([1.0, -2.0, 0.5]) - 1.0) ** 2
        loss.backward()
        refs = interior_refs(loss)
        params = [weakref.ref(p) for p in model.parameters()]
        del loss
        assert all(r() is None for r in refs)
        assert all(p() is not None for p in params)


def test_pickling_and_copying_keep_no_reference_to_the_graph():
    import copy

    with gc_off():
        x = Value(1.0)
        y = (x * 2.0).exp() + x
        refs = interior_refs(y)
        blob = pickle.dumps(y)
        twin = copy.deepcopy(y)
        del y
        assert all(r() is None for r in refs)
        assert pickle.loads(blob).data == twin.data


# -- threads -------------------------------------------------------------------------


def run_threads(target: Callable[[int], object], n: int = 8) -> list[object]:
    """Run ``target(i)`` in n threads started together; re-raise the first failure."""
    results: list[object] = [None] * n
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def body(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except BaseException as e:  # a failed thread must fail the test
            errors.append(e)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible to provoke races
    try:
        threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    if errors:
        raise errors[0]
    return results


def polynomial_grads(seed: int, steps: int = 400) -> tuple[float, float, float]:
    """f = Σₖ tanh(w·xₖ + b)·xₖ over a fixed sequence; returns (f, ∂f/∂w, ∂f/∂b)."""
    w, b = Value(0.1 * seed - 0.3), Value(0.05 * seed)
    f = Value(0.0)
    for k in range(steps):
        xk = math.sin(k + seed)
        f = f + (w * xk + b).tanh() * xk
    f.backward()
    return f.data, w.grad, b.grad


def test_eight_threads_backpropagate_independent_graphs_exactly():
    expected = [polynomial_grads(i) for i in range(8)]
    for _ in range(3):
        assert run_threads(polynomial_grads) == expected


def test_eight_threads_reusing_one_shared_leaf_each_get_their_own_graph_right():
    shared = Value(0.7)

    def work(i: int) -> tuple[float, ...]:
        return gradients((shared * (i + 1)).sin() * shared, [shared])

    expected = [work(i) for i in range(8)]
    assert run_threads(work) == expected
    assert shared.grad == 0.0


def test_no_grad_in_one_thread_does_not_stop_recording_in_another():
    inside = threading.Event()
    recorded = threading.Event()
    seen: dict[str, object] = {}

    def quiet() -> None:
        with no_grad():
            inside.set()
            recorded.wait(5)
            seen["quiet_enabled"] = is_grad_enabled()
            seen["quiet_leaf"] = (Value(2.0) * 3.0).is_leaf

    def busy() -> None:
        inside.wait(5)
        seen["busy_enabled"] = is_grad_enabled()
        seen["busy_leaf"] = (Value(2.0) * 3.0).is_leaf
        recorded.set()

    threads = [threading.Thread(target=quiet), threading.Thread(target=busy)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"quiet_enabled": False, "quiet_leaf": True, "busy_enabled": True, "busy_leaf": False}
    assert is_grad_enabled()


def test_eight_threads_half_in_no_grad_each_see_only_their_own_mode():
    def work(i: int) -> list[bool]:
        leafs = []
        for _ in range(300):
            if i % 2:
                with no_grad():
                    leafs.append((Value(1.0) + 1.0).is_leaf)
            else:
                leafs.append((Value(1.0) + 1.0).is_leaf)
        return leafs

    results = run_threads(work)
    for i, leafs in enumerate(results):
        assert leafs == [bool(i % 2)] * 300


def test_detect_anomaly_in_one_thread_does_not_raise_in_another():
    def work(i: int) -> str:
        if i % 2:
            with detect_anomaly():
                try:
                    Value(-1.0).log()
                except FloatingPointError:
                    return "raised"
                return "silent"
        v = Value(-1.0).log()
        return "nan" if math.isnan(v.data) else "?"

    assert run_threads(work) == ["nan", "raised"] * 4


def test_eight_threads_pickle_their_own_graphs_concurrently():
    def work(i: int) -> tuple[float, float]:
        x = Value(float(i))
        y = x
        for _ in range(300):
            y = (y * 0.5).sin() + x
        y2 = pickle.loads(pickle.dumps(y))
        y2.backward()
        leaf = topological_order(y2)[0]
        y.backward()
        return leaf.grad, x.grad

    for a, b in run_threads(work):
        assert a == b


def test_graph_memory_stays_within_budget_and_is_returned_on_drop():
    # benchmarks/memory.py measures ~160 bytes per node on CPython 3.11 (micrograd: ~616);
    # the budget leaves room for other versions while catching a closure or dict per node.
    import tracemalloc

    xs = [((i * 7919) % 1000) / 500.0 - 1.0 for i in range(25_000)]
    with gc_off():
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            w = Value(0.5)
            terms = [(Value(x) * w).relu() for x in xs]
            while len(terms) > 1:  # a balanced sum tree: Σ relu(xᵢ·w), as in benchmarks/memory.py
                odd = terms[-1:] if len(terms) % 2 else []
                terms = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)] + odd
            root = terms[0]
            del terms
            root.backward()
            used = tracemalloc.get_traced_memory()[0] - base
            del root
            left = tracemalloc.get_traced_memory()[0] - base
        finally:
            tracemalloc.stop()
    nodes = 4 * len(xs)
    assert used / nodes < 300
    # What stays is CPython's tuple and float free lists (a few hundred kB whatever the graph size).
    assert left < 512 * 1024


def test_backward_with_create_graph_warns_about_the_leaf_grad_cycle_and_zero_grad_frees_it():
    # As PyTorch: x.grad's graph refers back to x. The warning says how to break the cycle.
    with gc_off():
        x = Value(0.5)
        y = (x * x).tanh()
        with pytest.warns(UserWarning, match=r"reference cycle between each leaf and its \.grad"):
            y.backward(create_graph=True)
        grad_graph = weakref.ref(x.grad)
        assert x in set(topological_order(x.grad))  # the cycle x → x.grad → … → x
        refs = interior_refs(y)
        del y
        x.zero_grad()
        assert grad_graph() is None and all(r() is None for r in refs)


def test_gradients_and_grad_with_create_graph_leave_no_cycle():
    from autograd_core import grad

    with gc_off():
        x = Value(0.5)
        y = (x * x).tanh()
        (g,) = gradients(y, [x], create_graph=True)
        assert x.grad == 0.0  # nothing written: no leaf ↔ grad cycle
        refs = interior_refs(y) + interior_refs(g)
        del y, g
        assert all(r() is None for r in refs)
        f2 = grad(grad(lambda t: (t * t).tanh() * t))
        probe = Value(0.3)
        before = len(gc.get_objects())
        for _ in range(3):
            f2(probe)
        assert len(gc.get_objects()) <= before + 50  # nothing piles up for the collector


def test_backward_without_create_graph_does_not_warn():
    import warnings

    x = Value(2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x * x).backward()
        x.backward(create_graph=True)  # a leaf root: its grad is a number, no cycle
