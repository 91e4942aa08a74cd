"""Compiled batch mode: the same numbers as the eager engine, sample by sample and summed.

Every comparison is against per-sample eager graphs and ``backward()``. Gradients are summed
over a batch, so when the exact sum is ~0 the two summation orders may differ in the last
bits of the largest term: tolerances are 1e-9 relative plus 1e-12 of the largest gradient.
"""

from __future__ import annotations

import math
import warnings
import zlib

import numpy as np
import pytest

import nn
from autograd_core import CompileCheckError, CompiledFunction, CompileError, Value, compile, gradients
from nn import losses
from nn.compiled import _CACHE, compiled_loss
from tests.helpers import Cube

ACTIVATIONS = ["relu", "tanh", "sigmoid", "leaky_relu", "linear"]
LOSSES = ["hinge", "mse", "bce", "cross_entropy"]


def assert_grads_close(compiled: np.ndarray, eager: np.ndarray, rtol: float = 1e-9) -> None:
    compiled, eager = np.asarray(compiled, dtype=float), np.asarray(eager, dtype=float)
    scale = max(float(np.abs(eager).max(initial=0.0)), 1e-300)
    np.testing.assert_allclose(compiled, eager, rtol=rtol, atol=1e-12 * scale)


def eager_loss(model: nn.Module, loss: str, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Loss, outputs and parameter grads the eager way: one graph per sample, backward()."""
    model.zero_grad()
    outs = model(X)
    if loss == "hinge":
        C = losses.hinge_loss(outs, (2 * y - 1).tolist())
    elif loss == "mse":
        C = losses.mse_loss(outs, y.tolist())
    elif loss == "bce":
        C = losses.binary_cross_entropy_with_logits(outs, y.tolist())
    else:
        C = losses.cross_entropy(outs, y.tolist())
    C.backward()
    values = np.array([[o.data for o in row] if isinstance(row, list) else row.data for row in outs])
    grads = np.array([p.grad for p in model.parameters()])
    model.zero_grad()
    return C.data, values, grads


def make_data(loss: str, n: int, k: int, rs: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    X = rs.randn(n, 3)
    if loss == "hinge":
        return X, rs.randint(0, 2, n).astype(float)
    if loss == "mse":
        return X, rs.randn(n, k) if k > 1 else rs.randn(n)
    if loss == "bce":
        return X, rs.rand(n)
    return X, rs.randint(0, k, n)


@pytest.mark.parametrize("n", [1, 257])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_compiled_loss_matches_eager_outputs_loss_and_every_grad(activation: str, loss: str, n: int) -> None:
    k = {"hinge": 1, "mse": 2, "bce": 1, "cross_entropy": 3}[loss]
    rs = np.random.RandomState(zlib.crc32(f"{activation}-{loss}-{n}".encode()))
    model = nn.MLP(3, [6, 5, k], activation=activation, rng=7)
    X, y = make_data(loss, n, k, rs)
    C_e, out_e, grad_e = eager_loss(model, loss, X, y)
    C_c, out_c = compiled_loss(model, loss, X, y)
    grad_c = np.array([p.grad for p in model.parameters()])
    assert math.isclose(C_c, C_e, rel_tol=1e-9, abs_tol=1e-15)
    np.testing.assert_allclose(out_c, out_e if k > 1 else out_e.ravel(), rtol=1e-9, atol=1e-12)
    assert_grads_close(grad_c, grad_e)


def test_compiled_loss_adds_into_existing_grads() -> None:
    model = nn.MLP(2, [4, 1], rng=3)
    X, y = np.random.RandomState(0).randn(20, 2), np.arange(20) % 2
    compiled_loss(model, "hinge", X, y)
    once = [p.grad for p in model.parameters()]
    compiled_loss(model, "hinge", X, y)
    assert_grads_close([p.grad for p in model.parameters()], [2 * g for g in once])


def test_hinge_accepts_pm1_labels_like_01_labels() -> None:
    model = nn.MLP(2, [4, 1], rng=3)
    X, y = np.random.RandomState(1).randn(10, 2), np.arange(10) % 2
    assert compiled_loss(model, "hinge", X, y)[0] == compiled_loss(model, "hinge", X, 2 * y - 1)[0]


def test_training_steps_follow_the_eager_trajectory() -> None:
    rs = np.random.RandomState(2)
    X, y = rs.randn(40, 2), (rs.rand(40) > 0.5).astype(float)
    eager, compiled = nn.MLP(2, [8, 8, 1], rng=5), nn.MLP(2, [8, 8, 1], rng=5)
    for step in range(10):
        lr = 1.0 - 0.9 * step / 10
        _, _, grads = eager_loss(eager, "hinge", X, y)
        for p, g in zip(eager.parameters(), grads):
            p.data -= lr * g
        compiled.zero_grad()
        compiled_loss(compiled, "hinge", X, y)
        for p in compiled.parameters():
            p.data -= lr * p.grad
    np.testing.assert_allclose([p.data for p in compiled.parameters()], [p.data for p in eager.parameters()],
                               rtol=1e-9, atol=1e-12)


def test_trace_is_cached_per_model_and_redone_when_parameters_change() -> None:
    model = nn.MLP(2, [3, 1], rng=1)
    X, y = np.random.RandomState(0).randn(5, 2), np.array([0, 1, 0, 1, 1])
    compiled_loss(model, "mse", X, y)
    first = _CACHE[model][2][1]
    compiled_loss(model, "mse", X, y)
    assert _CACHE[model][2][1] is first
    fresh = Value(0.25)
    model.layers[0].neurons[0].w[0] = fresh
    _, _, grads = eager_loss(model, "mse", X, y.astype(float))
    compiled_loss(model, "mse", X, y)
    assert _CACHE[model][2][1] is not first
    assert fresh.grad != 0.0
    assert_grads_close([p.grad for p in model.parameters()], grads)


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("loss", ["hinge", "mse", "cross_entropy"])
def test_batch_norm_models_compile_with_batch_statistics_and_running_ones(loss: str, momentum) -> None:
    rs = np.random.RandomState(3)
    k = 3 if loss == "cross_entropy" else 1
    X, y = make_data(loss, 9, k, rs)
    eager = nn.MLP(3, [5, 4, k], batch_norm=True, momentum=momentum, activation="tanh", rng=2)
    fast = nn.MLP(3, [5, 4, k], batch_norm=True, momentum=momentum, activation="tanh", rng=2)
    for _ in range(2):
        C_e, out_e, grads_e = eager_loss(eager, loss, X, y)
        fast.zero_grad()
        C_c, out_c = compiled_loss(fast, loss, X, y)
        assert C_c == pytest.approx(C_e, rel=1e-12)
        np.testing.assert_allclose(out_c, out_e, rtol=1e-9, atol=1e-12)
        assert_grads_close([p.grad for p in fast.parameters()], grads_e)
    for name, value in eager.named_buffers():
        assert dict(fast.named_buffers())[name] == pytest.approx(value, rel=1e-12, abs=1e-15)


def test_batch_norm_inside_a_custom_module_is_refused_with_a_reason() -> None:
    class Wrapped(nn.Module):
        def __init__(self) -> None:
            self.inner = nn.MLP(2, [4, 1], batch_norm=True, rng=0)

        def forward(self, x):
            return self.inner.forward(x)

    with pytest.raises(ValueError, match="BatchNorm1d inside a module that compiled mode cannot read"):
        compiled_loss(Wrapped(), "mse", np.zeros((4, 2)), np.zeros(4))


@pytest.mark.parametrize(
    ("loss", "y", "message"),
    [
        ("hinge", np.array([0.0, 2.0, 1.0]), "hinge targets"),
        ("mse", np.zeros((3, 2)), "the model gives 1 outputs per sample but the targets have 2"),
        ("bce", np.array([0.0, 1.5, 1.0]), r"bce targets must be in \[0, 1\]"),
        ("mse", np.zeros(4), r"need targets of shape \(3,\)"),
        ("l1", np.zeros(3), "loss must be one of"),
    ],
)
def test_compiled_loss_rejects_bad_targets_and_losses(loss: str, y: np.ndarray, message: str) -> None:
    model = nn.MLP(2, [2, 1], rng=0)
    with pytest.raises(ValueError, match=message):
        compiled_loss(model, loss, np.zeros((3, 2)), y)


def test_cross_entropy_rejects_fractional_classes_and_one_output_models() -> None:
    with pytest.raises(ValueError, match="integer classes"):
        compiled_loss(nn.MLP(2, [3], rng=0), "cross_entropy", np.zeros((2, 2)), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="one output per class"):
        compiled_loss(nn.MLP(2, [1], rng=0), "cross_entropy", np.zeros((2, 2)), np.array([0, 0]))


def test_cross_entropy_stays_finite_for_huge_logits() -> None:
    model = nn.MLP(1, [2], activation="linear", rng=0)
    model.layers[0].neurons[0].w[0].data = 1000.0
    model.layers[0].neurons[1].w[0].data = -1000.0
    C, _ = compiled_loss(model, "cross_entropy", np.array([[1.0], [1.0]]), np.array([0, 1]))
    assert math.isclose(C, 1000.0, rel_tol=1e-12)
    assert all(math.isfinite(p.grad) for p in model.parameters())


def test_dense_layers_become_matrix_products() -> None:
    model = nn.MLP(2, [16, 16, 1], rng=0)
    f = compile(model, 2)
    assert f.steps == [
        "linear 16×2 (one matrix product + bias)",
        "relu on 16 rows",
        "linear 16×16 (one matrix product + bias)",
        "relu on 16 rows",
        "linear 1×16 (one matrix product + bias)",
    ]
    assert "5 batched steps" in repr(f)


def test_model_parameters_are_the_default_params() -> None:
    model = nn.MLP(2, [3, 1], rng=0)
    assert compile(model, 2).params == tuple(model.parameters())


# -- plain functions, every op ------------------------------------------------------------
def every_op(x: list[Value]) -> list[Value]:
    a, b, c = x
    return [
        a + b, a - b, a * b, a / b, abs(a) ** b, -a, abs(a), a.exp(), abs(b).log(), abs(c).sqrt(),
        a.sin(), b.cos(), c.tanh(), a.sigmoid(), b.softplus(), c.relu(), a.leaky_relu(0.2), b ** 3,
        abs(c) ** -1.5, 2 ** a, 3 - b, 1 / c, (a * b + c * a).tanh() * (b - c).sigmoid(),
    ]


def eager_outputs_and_input_grads(fn, X: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    outs, grads = [], []
    for row, gi in zip(X.tolist(), g):
        xs = [Value(v) for v in row]
        ys = fn(xs)
        outs.append([y.data for y in ys])
        total = sum((y * float(w) for y, w in zip(ys, gi)), Value(0.0))
        grads.append([float(d) for d in gradients(total, xs)])
    return np.array(outs), np.array(grads)


def test_every_op_matches_eager_values_and_input_gradients() -> None:
    rs = np.random.RandomState(4)
    X = rs.uniform(0.3, 2.0, (31, 3)) * rs.choice([-1.0, 1.0], (31, 3))
    f = compile(every_op, 3)
    g = rs.randn(31, f.n_outputs)
    out, dX = f.value_and_grad(X, g, wrt="inputs")
    out_e, dX_e = eager_outputs_and_input_grads(every_op, X, g)
    np.testing.assert_allclose(out, out_e, rtol=1e-12, atol=1e-14)
    assert_grads_close(dX, dX_e)


def test_captured_parameters_of_a_plain_function_get_summed_grads() -> None:
    w, b = Value(0.7, "w"), Value(-0.2, "b")

    def neuron(x: list[Value]) -> Value:
        return (w * x[0] + w * w * x[1] + b).tanh()

    X = np.random.RandomState(5).randn(12, 2)
    f = compile(neuron, 2, [w, b])
    f.backward(X)
    compiled = [w.grad, b.grad]
    w.grad = b.grad = 0.0
    for row in X.tolist():
        neuron([Value(v) for v in row]).backward()
    assert_grads_close(compiled, [w.grad, b.grad])


def random_program(seed: int):
    """A random DAG over 3 inputs and 4 parameters with shared nodes, repeats and sums."""
    rs = np.random.RandomState(seed)
    params = [Value(float(v), f"p{i}") for i, v in enumerate(rs.uniform(-1, 1, 4))]
    recipe = [(rs.randint(9), rs.randint(10**6), rs.randint(10**6)) for _ in range(25)]

    def fn(x: list[Value]) -> list[Value]:
        pool = [*x, *params]
        for kind, i, j in recipe:
            a, b = pool[i % len(pool)], pool[j % len(pool)]
            pool.append([a + b, a * b, a - b, (a * 0.5).tanh(), a.sigmoid() * b, a + a, a * a + b,
                         params[i % 4] * a + params[j % 4] * b + params[0], abs(a) ** 0.5][kind])
        return [pool[-1], pool[-7], pool[-1], pool[3], pool[5], Value(2.0)]

    return fn, params


@pytest.mark.parametrize("seed", range(12))
def test_random_graphs_with_sharing_match_eager(seed: int) -> None:
    fn, params = random_program(seed)
    X = np.random.RandomState(100 + seed).uniform(-1, 1, (9, 3))
    f = compile(fn, 3, params)
    out, grads = f.value_and_grad(X)
    eager_out, eager_grads = [], np.zeros(len(params))
    for row in X.tolist():
        ys = fn([Value(v) for v in row])
        eager_out.append([y.data for y in ys])
        total = ys[0]
        for y in ys[1:]:
            total = total + y
        eager_grads += np.array([float(d) for d in gradients(total, params)])
    np.testing.assert_allclose(out, np.array(eager_out), rtol=1e-9, atol=1e-12)
    assert_grads_close(grads, eager_grads)
    f.check(X[:3])


def test_single_output_gives_a_vector_and_a_list_gives_columns() -> None:
    assert compile(lambda x: x[0] * 2, 1)(np.arange(4.0)).shape == (4,)
    assert compile(lambda x: [x[0] * 2], 1)(np.arange(4.0)).shape == (4, 1)
    assert compile(lambda x: [x[0], x[0] * 3], 1)(np.arange(4.0)).tolist() == [[0, 0], [1, 3], [2, 6], [3, 9]]


def test_constant_output_broadcasts_over_the_batch() -> None:
    np.testing.assert_array_equal(compile(lambda x: 5, 2)(np.zeros((3, 2))), [5.0, 5.0, 5.0])


def test_constants_are_read_when_called_so_a_changed_value_is_used() -> None:
    c = Value(2.0)
    f = compile(lambda x: x[0] * c, 1)
    c.data = 3.0
    assert f(np.array([[1.0]])).tolist() == [3.0]


def test_ieee_results_without_numpy_warnings() -> None:
    f = compile(lambda x: [x[0].log(), x[0].sqrt(), 1 / x[0], x[0].exp()], 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, dX = f.value_and_grad(np.array([[-1.0], [0.0], [1000.0]]), wrt="inputs")
    assert np.isnan(out[0, 0]) and out[1, 0] == -np.inf and out[1, 2] == np.inf and out[2, 3] == np.inf
    assert np.isnan(dX[0, 0])


def test_backward_without_params_writes_nothing_and_empty_batch_works() -> None:
    f = compile(lambda x: x[0] * x[1], 2)
    assert f.params == ()
    out, grads = f.value_and_grad(np.zeros((0, 2)))
    assert out.shape == (0,) and grads.shape == (0,)


# -- check() -------------------------------------------------------------------------------
def test_check_passes_on_a_model() -> None:
    model = nn.MLP(2, [5, 2], activation="tanh", rng=0)
    compile(model, 2).check(np.random.RandomState(0).randn(6, 2))


def test_check_catches_data_dependent_python_control_flow() -> None:
    w = Value(1.5)

    def branchy(x: list[Value]) -> Value:
        return w * x[0] if x[0].data > 0 else w * x[0] * x[0]

    f = compile(branchy, 1, [w], example=[1.0])
    f.check(np.array([[2.0], [3.0]]))
    with pytest.raises(CompileCheckError, match=r"sample 1: output 0 .*control flow"):
        f.check(np.array([[2.0], [-3.0]]))


# -- errors --------------------------------------------------------------------------------
def test_custom_function_ops_are_refused_at_compile_time() -> None:
    with pytest.raises(CompileError, match="'Cube' has no numpy rule"):
        compile(lambda x: Cube.apply(x[0]) + 1, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fn": lambda x: x[0], "n_inputs": 0}, "n_inputs must be a positive int"),
        ({"fn": lambda x: x[0], "n_inputs": 2.0}, "n_inputs must be a positive int"),
        ({"fn": lambda x: "s", "n_inputs": 1}, "returned str"),
        ({"fn": lambda x: [], "n_inputs": 1}, "empty list"),
        ({"fn": lambda x: x[0], "n_inputs": 1, "params": [1.0]}, r"params\[0\] must be a Value"),
        ({"fn": lambda x: x[0], "n_inputs": 1, "params": [Value(1.0) * 2]}, "interior node"),
        ({"fn": lambda x: x[0], "n_inputs": 2, "example": [1.0]}, "one sample of 2 numbers"),
        ({"fn": 3, "n_inputs": 1}, "needs a callable"),
    ],
)
def test_bad_compile_arguments_raise_compile_error(kwargs: dict, message: str) -> None:
    fn = kwargs.pop("fn")
    with pytest.raises(CompileError, match=message):
        compile(fn, **kwargs)


def test_bad_batches_and_grad_outputs_name_the_expected_shape() -> None:
    f: CompiledFunction = compile(lambda x: [x[0], x[1]], 2)
    with pytest.raises(ValueError, match=r"shape \(n, 2\), got an array of shape \(3, 3\)"):
        f(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"outputs' shape \(3, 2\)"):
        f.value_and_grad(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(TypeError, match="numeric array"):
        f([["a", "b"]])
    with pytest.raises(ValueError, match="wrt must be"):
        f.value_and_grad(np.zeros((1, 2)), wrt="weights")  # type: ignore[arg-type]


def test_cached_trace_does_not_keep_a_dropped_model_alive() -> None:
    import gc
    import weakref

    model = nn.MLP(2, [3, 1], rng=0)
    compiled_loss(model, "mse", np.zeros((2, 2)), np.zeros(2))
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None
