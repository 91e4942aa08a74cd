"""Adversarial cases: every one has the exact expected value or the exact error.

Graph semantics (reuse, diamonds, repeated backward, disconnected leaves, refused cycles), bad inputs
(every wrong type, numpy on either side, huge ints), numerics at kinks and domain edges,
losses at extreme logits, optimizers with bad hyper-parameters or no gradients, batch norm
with a batch of one or constant features, corrupted model files; then a property test that
random expression graphs agree with PyTorch in value and gradient (float64).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd_core import Value, gradients, no_grad
from nn.batchnorm import BatchNorm1d
from nn.io import load, save
from nn.layers import MLP
from nn.losses import binary_cross_entropy_with_logits, cross_entropy, hinge_loss, mse_loss, softmax
from nn.optim import SGD, Adam, RMSprop

INF, NAN = math.inf, math.nan


class Raises:
    """The expected outcome of a case that must fail: exception type and message pattern."""

    def __init__(self, exc: type[BaseException], match: str) -> None:
        self.exc, self.match = exc, match


def same(actual: Any, expected: Any) -> bool:
    """Exact equality, element by element, where NaN equals NaN."""
    if isinstance(expected, (tuple, list)):
        return (isinstance(actual, (tuple, list)) and len(actual) == len(expected)
                and all(same(a, e) for a, e in zip(actual, expected)))
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    return type(actual) is type(expected) and actual == expected


def value_and_grads(f: Callable[..., Value], *xs: float) -> tuple[float, ...]:
    """(f(xs), ∂f/∂x₀, ∂f/∂x₁, …) by backward()."""
    leaves = [Value(x) for x in xs]
    out = f(*leaves)
    out.backward()
    return (out.data, *[leaf.grad for leaf in leaves])


def backward_twice(f: Callable[[Value], Value], x: float) -> tuple[float, float]:
    leaf = Value(x)
    out = f(leaf)
    out.backward()
    first = leaf.grad
    out.backward()
    return first, leaf.grad


def interior_grad_after_two_backwards() -> float:
    x = Value(3.0)
    h = x * 2.0
    y = h * h
    y.backward()
    y.backward()
    return h.grad  # interior grads are reset each call: ∂y/∂h = 2h = 12, not 24


def disconnected() -> tuple[float, float, tuple[float, ...]]:
    x, z = Value(2.0), Value(5.0)
    y = x * 3.0
    y.backward()
    return x.grad, z.grad, gradients(y, [z])


def cycle(kind: str) -> None:
    x = Value(1.0)
    y = x + 1.0
    if kind == "self":
        y.parents = (y, y.parents[1])  # refused: a recorded graph is immutable
    else:
        z = y * 2.0
        y.parents = (z, y.parents[1])
    y.backward()


def leaf_backward() -> float:
    x = Value(4.0)
    x.backward()
    return x.grad


def second_order_cube() -> float:
    x = Value(3.0)
    y = x * x * x
    (g,) = gradients(y, [x], create_graph=True)
    (gg,) = gradients(g, [x])
    return gg


def no_grad_result() -> tuple[bool, float]:
    x = Value(2.0)
    with no_grad():
        y = x * x
    y.backward()
    return y.is_leaf, x.grad


def mixed(expr: Callable[[Value], Any]) -> tuple[str, float]:
    out = expr(Value(2.0))
    return type(out).__name__, out.data


def loss_and_grads(loss: Callable[[list[Value]], Value], zs: list[float]) -> tuple[float, ...]:
    leaves = [Value(z) for z in zs]
    out = loss(leaves)
    out.backward()
    return (out.data, *[leaf.grad for leaf in leaves])


def sgd_without_grads() -> list[float]:
    model = MLP(2, [2, 1], rng=0)
    before = [p.data for p in model.parameters()]
    SGD(model.parameters(), lr=0.1, momentum=0.9).step()
    return [a - b for a, b in zip([p.data for p in model.parameters()], before)]


def adam_without_grads() -> list[float]:
    model = MLP(2, [1], rng=0)
    before = [p.data for p in model.parameters()]
    opt = Adam(model.parameters(), lr=0.1)
    opt.step()
    opt.step()
    return [a - b for a, b in zip([p.data for p in model.parameters()], before)]


def batch_norm_constant_feature() -> tuple[list[float], float, float, float]:
    bn = BatchNorm1d(1)
    xs = [Value(2.0), Value(2.0), Value(2.0)]
    out = bn([[x] for x in xs])
    loss = sum(o[0] * (i + 1.0) for i, o in enumerate(out))
    loss.backward()
    # x̂ = 0/√ε = 0, yet ∂C/∂xₖ = γ/√(σ²+ε)·(cₖ − mean c − x̂ₖ·mean(c·x̂)) = (1 − 2)/√ε, as PyTorch.
    return [o[0].data for o in out], bn.gamma[0].grad, bn.beta[0].grad, round(xs[0].grad, 9)


def batch_norm_single_sample_eval() -> list[float]:
    bn = BatchNorm1d(2).eval()
    return [v.data for v in bn([3.0, -1.0])]


def corrupted_file(tmp_text: str) -> Callable[[], Any]:
    def run() -> Any:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "m.json"
            path.write_text(tmp_text)
            return load(path)

    return run


def save_to_missing_directory() -> None:
    save(MLP(2, [1], rng=0), "/nonexistent-dir-for-test/m.json")


NUMBER_TYPE = "expected a real number"

CASES: dict[str, tuple[Callable[[], Any], Any]] = {
    # graph semantics
    "reuse_x_times_x": (lambda: value_and_grads(lambda x: x * x, 3.0), (9.0, 6.0)),
    "reuse_x_plus_x_plus_x": (lambda: value_and_grads(lambda x: x + x + x, 3.0), (9.0, 3.0)),
    "diamond": (lambda: value_and_grads(lambda x: (x + 1.0) * (x * 2.0), 3.0), (24.0, 14.0)),
    "repeated_backward_accumulates_leaves": (lambda: backward_twice(lambda x: x * x, 3.0), (6.0, 12.0)),
    "repeated_backward_resets_interior": (interior_grad_after_two_backwards, 12.0),
    "disconnected_leaf_gets_zero": (disconnected, (3.0, 0.0, (0.0,))),
    "backward_on_a_leaf": (leaf_backward, 1.0),
    "second_derivative_of_cube": (second_order_cube, 18.0),
    "no_grad_result_is_a_leaf": (no_grad_result, (True, 0.0)),
    "two_node_cycle_is_refused": (lambda: cycle("two"), Raises(AttributeError, "immutable")),
    "self_cycle_is_refused": (lambda: cycle("self"), Raises(AttributeError, "immutable")),
    "backward_on_a_float": (lambda: gradients(3.0, []), Raises(TypeError, "needs a Value output, got float")),
    "gradients_of_a_number_input": (lambda: gradients(Value(1.0), [1.0]), Raises(TypeError, "must be Values")),
    # inputs
    "str_data": (lambda: Value("1"), Raises(TypeError, f"{NUMBER_TYPE}.*got str")),
    "none_data": (lambda: Value(None), Raises(TypeError, f"{NUMBER_TYPE}.*got NoneType")),
    "list_data": (lambda: Value([1.0]), Raises(TypeError, "make one Value per element")),
    "complex_data": (lambda: Value(1 + 2j), Raises(TypeError, "complex numbers are not supported")),
    "array_data": (lambda: Value(np.array([1.0, 2.0])), Raises(TypeError, r"shape \(2,\)")),
    "label_not_str": (lambda: Value(1.0, label=3), Raises(TypeError, "label must be a str, got int")),
    "value_plus_str": (lambda: Value(1.0) + "a", Raises(TypeError, f"{NUMBER_TYPE}.*got str")),
    "str_plus_value": (lambda: "a" + Value(1.0), Raises(TypeError, f"{NUMBER_TYPE}.*got str")),
    "value_pow_str": (lambda: Value(1.0) ** "2", Raises(TypeError, f"{NUMBER_TYPE}.*got str")),
    "value_times_none": (lambda: Value(1.0) * None, Raises(TypeError, "got NoneType")),
    "numpy_scalar_left": (lambda: mixed(lambda x: np.float64(3.0) * x), ("Value", 6.0)),
    "numpy_scalar_right": (lambda: mixed(lambda x: x - np.int64(5)), ("Value", -3.0)),
    "numpy_float32_exact": (lambda: Value(np.float32(0.1)).data, float(np.float32(0.1))),
    "numpy_bool": (lambda: Value(np.bool_(True)).data, 1.0),
    "numpy_array_left": (lambda: np.array([1.0, 2.0]) * Value(2.0), Raises(TypeError, r"shape \(2,\)")),
    "numpy_array_right": (lambda: Value(2.0) + np.array([1.0]), Raises(TypeError, r"shape \(1,\)")),
    "huge_int_is_inf": (lambda: Value(10**400).data, INF),
    "huge_negative_int_is_minus_inf": (lambda: Value(-(10**400)).data, -INF),
    "huge_int_operand": (lambda: (Value(-2.0) * 10**400).data, -INF),
    "fraction": (lambda: Value(Fraction(1, 4)).data, 0.25),
    "bool_data": (lambda: Value(True).data, 1.0),
    # numerics at kinks and domain edges (PyTorch's conventions)
    "relu_at_zero": (lambda: value_and_grads(lambda x: x.relu(), 0.0), (0.0, 0.0)),
    "abs_at_zero": (lambda: value_and_grads(lambda x: abs(x), 0.0), (0.0, 0.0)),
    "leaky_relu_at_zero": (lambda: value_and_grads(lambda x: x.leaky_relu(0.2), 0.0), (0.0, 0.2)),
    "sqrt_at_zero": (lambda: value_and_grads(lambda x: x.sqrt(), 0.0), (0.0, INF)),
    "sqrt_negative": (lambda: value_and_grads(lambda x: x.sqrt(), -1.0), (NAN, NAN)),
    "log_at_zero": (lambda: value_and_grads(lambda x: x.log(), 0.0), (-INF, INF)),
    "log_negative": (lambda: value_and_grads(lambda x: x.log(), -1.0), (NAN, -1.0)),
    "zero_pow_zero": (lambda: value_and_grads(lambda x: x**0, 0.0), (1.0, 0.0)),
    "zero_pow_value_zero": (lambda: value_and_grads(lambda x, p: x**p, 0.0, 0.0), (1.0, 0.0, 0.0)),
    "zero_pow_minus_one": (lambda: value_and_grads(lambda x: x**-1, 0.0), (INF, -INF)),
    "cube_root_of_negative": (lambda: value_and_grads(lambda x: x ** (1 / 3), -8.0)[0], NAN),
    "divide_by_zero": (lambda: value_and_grads(lambda x, y: x / y, 1.0, 0.0)[0], INF),
    "zero_over_zero": (lambda: value_and_grads(lambda x, y: x / y, 0.0, 0.0)[0], NAN),
    "tanh_saturated": (lambda: value_and_grads(lambda x: x.tanh(), 1000.0), (1.0, 0.0)),
    "sigmoid_far_left": (lambda: value_and_grads(lambda x: x.sigmoid(), -1000.0), (0.0, 0.0)),
    "sigmoid_far_right": (lambda: value_and_grads(lambda x: x.sigmoid(), 1000.0), (1.0, 0.0)),
    "exp_overflow": (lambda: value_and_grads(lambda x: x.exp(), 1000.0), (INF, INF)),
    "softplus_large": (lambda: value_and_grads(lambda x: x.softplus(), 1000.0), (1000.0, 1.0)),
    "softplus_very_negative": (lambda: value_and_grads(lambda x: x.softplus(), -1000.0), (0.0, 0.0)),
    "sin_of_inf": (lambda: value_and_grads(lambda x: x.sin(), INF)[0], NAN),
    "relu_of_nan": (lambda: value_and_grads(lambda x: x.relu(), NAN)[0], NAN),
    # losses at extreme logits
    "bce_logit_minus_1000_target_1": (
        lambda: loss_and_grads(lambda z: binary_cross_entropy_with_logits(z, [1.0]), [-1000.0]), (1000.0, -1.0)),
    "bce_logit_1000_target_0": (
        lambda: loss_and_grads(lambda z: binary_cross_entropy_with_logits(z, [0.0]), [1000.0]), (1000.0, 1.0)),
    "bce_logit_1000_target_1": (
        lambda: loss_and_grads(lambda z: binary_cross_entropy_with_logits(z, [1.0]), [1000.0]), (0.0, 0.0)),
    "cross_entropy_1000_wrong_class": (
        lambda: loss_and_grads(lambda z: cross_entropy(z, 1), [1000.0, 0.0]), (1000.0, 1.0, -1.0)),
    "cross_entropy_1000_right_class": (
        lambda: loss_and_grads(lambda z: cross_entropy(z, 0), [1000.0, 0.0]), (0.0, 0.0, 0.0)),
    "cross_entropy_opposite_extremes": (
        lambda: loss_and_grads(lambda z: cross_entropy(z, 0), [1e308, -1e308])[0], 0.0),
    "softmax_of_equal_huge_logits": (lambda: [v.data for v in softmax([Value(1e300), Value(1e300)])], [0.5, 0.5]),
    "cross_entropy_class_out_of_range": (lambda: cross_entropy([1.0, 2.0], 2), Raises(ValueError, r"in \[0, 2\)")),
    "cross_entropy_bool_class": (lambda: cross_entropy([1.0, 2.0], True), Raises(ValueError, "integer classes")),
    "hinge_target_zero": (lambda: hinge_loss([Value(0.5)], [0]), Raises(ValueError, "must be -1 or \\+1")),
    "mse_shape_mismatch": (lambda: mse_loss([1.0, 2.0], [1.0]), Raises(ValueError, "do not match")),
    "bce_target_out_of_range": (lambda: binary_cross_entropy_with_logits([0.0], [2.0]),
                                Raises(ValueError, r"in \[0, 1\]")),
    # optimizers
    "sgd_negative_lr": (lambda: SGD([Value(1.0)], lr=-0.1), Raises(ValueError, "Invalid learning rate: -0.1")),
    "sgd_nan_lr": (lambda: SGD([Value(1.0)], lr=NAN), Raises(ValueError, "Invalid learning rate: nan")),
    "sgd_string_lr": (lambda: SGD([Value(1.0)], lr="0.1"), Raises(TypeError, "lr must be a real number")),
    "sgd_bool_lr": (lambda: SGD([Value(1.0)], lr=True), Raises(TypeError, "lr must be a real number")),
    "sgd_nesterov_without_momentum": (lambda: SGD([Value(1.0)], lr=0.1, nesterov=True),
                                      Raises(ValueError, "Nesterov momentum requires")),
    "adam_beta_one": (lambda: Adam([Value(1.0)], betas=(1.0, 0.9)),
                      Raises(ValueError, "Invalid beta parameter at index 0")),
    "adam_negative_eps": (lambda: Adam([Value(1.0)], eps=-1e-8), Raises(ValueError, "Invalid epsilon value")),
    "rmsprop_negative_alpha": (lambda: RMSprop([Value(1.0)], alpha=-0.5), Raises(ValueError, "Invalid alpha value")),
    "optimizer_empty_params": (lambda: SGD([], lr=0.1), Raises(ValueError, "empty parameter list")),
    "optimizer_single_value": (lambda: SGD(Value(1.0), lr=0.1), Raises(TypeError, "got a single Value")),
    "optimizer_of_floats": (lambda: SGD([1.0], lr=0.1), Raises(TypeError, "can only optimize Values, got float")),
    "sgd_step_without_grads_changes_nothing": (sgd_without_grads, [0.0] * 9),
    "adam_step_without_grads_changes_nothing": (adam_without_grads, [0.0] * 3),
    # batch norm
    "batch_norm_batch_of_one": (lambda: BatchNorm1d(2)([[1.0, 2.0]]), Raises(ValueError, "more than 1 value")),
    "batch_norm_constant_feature": (batch_norm_constant_feature,
                                    ([0.0, 0.0, 0.0], 0.0, 6.0, round(-1.0 / math.sqrt(1e-5), 9))),
    "batch_norm_eval_single_sample": (batch_norm_single_sample_eval,
                                      [3.0 / math.sqrt(1.0 + 1e-5), -1.0 / math.sqrt(1.0 + 1e-5)]),
    "batch_norm_zero_features": (lambda: BatchNorm1d(0), Raises(ValueError, "num_features must be a positive int")),
    "batch_norm_wrong_width": (lambda: BatchNorm1d(2)([[1.0], [2.0]]), Raises(ValueError, "expects samples of 2")),
    # corrupted model files
    "file_empty": (corrupted_file(""), Raises(ValueError, "not valid JSON")),
    "file_number": (corrupted_file("42"), Raises(ValueError, "must hold a JSON object, got int")),
    "file_garbage": (corrupted_file("\x00\x01PK\x03\x04"), Raises(ValueError, "not valid JSON")),
    "file_pickle_opcodes": (corrupted_file("cos\nsystem\n(S'echo hacked'\ntR."), Raises(ValueError, "not valid JSON")),
    "file_empty_object": (corrupted_file("{}"), Raises(ValueError, "missing keys")),
    "save_into_missing_directory": (save_to_missing_directory, Raises(FileNotFoundError, "nonexistent-dir")),
}


@pytest.mark.parametrize(("case", "expected"), CASES.values(), ids=CASES.keys())
def test_adversarial_case_gives_the_exact_expected_result(case, expected):
    if isinstance(expected, Raises):
        with pytest.raises(expected.exc, match=expected.match):
            case()
    else:
        actual = case()
        assert same(actual, expected), f"got {actual!r}, expected {expected!r}"


def test_there_are_at_least_fifty_cases():
    assert len(CASES) >= 50


# -- random expression graphs vs PyTorch ----------------------------------------------

UNARY: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "tanh": (lambda a: a.tanh(), lambda a: a.tanh()),
    "sigmoid": (lambda a: a.sigmoid(), lambda a: a.sigmoid()),
    "sin": (lambda a: a.sin(), lambda a: a.sin()),
    "cos": (lambda a: a.cos(), lambda a: a.cos()),
    "relu": (lambda a: a.relu(), lambda a: a.relu()),
    "neg": (lambda a: -a, lambda a: -a),
    "abs": (lambda a: abs(a), lambda a: a.abs()),
    "square": (lambda a: a**2, lambda a: a**2),
    "softplus": (lambda a: a.softplus(), None),
    "leaky_relu": (lambda a: a.leaky_relu(0.1), None),
    "log1p_sq": (lambda a: (1.0 + a * a).log(), lambda a: (1.0 + a * a).log()),
    "exp_tanh": (lambda a: a.tanh().exp(), lambda a: a.tanh().exp()),
}
BINARY: dict[str, tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any]]] = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "safe_div": (lambda a, b: a / (1.0 + b * b), lambda a, b: a / (1.0 + b * b)),
}


def _torch_unary(torch: Any) -> Callable[[str], Callable[[Any], Any]]:
    """name ↦ the unary op on tensors (torch.nn.functional where a tensor has no method)."""

    def unary(name: str) -> Callable[[Any], Any]:
        if name == "softplus":
            return torch.nn.functional.softplus
        if name == "leaky_relu":
            return lambda a: torch.nn.functional.leaky_relu(a, 0.1)
        return UNARY[name][1]

    return unary


steps = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(sorted(UNARY)), st.integers(0, 1000)),
        st.tuples(st.sampled_from(sorted(BINARY)), st.integers(0, 1000), st.integers(0, 1000)),
    ),
    min_size=1,
    max_size=14,
)
inputs = st.lists(st.floats(-3.0, 3.0, allow_nan=False), min_size=3, max_size=3)


def evaluate(program: list[tuple[Any, ...]], leaves: list[Any], unary: Callable[[str], Any],
             binary: Callable[[str], Any]) -> Any:
    """Run a program of ops whose operands index earlier nodes (so nodes are reused: a DAG)."""
    nodes = list(leaves)
    for step in program:
        if len(step) == 2:
            name, i = step
            nodes.append(unary(name)(nodes[i % len(nodes)]))
        else:
            name, i, j = step
            nodes.append(binary(name)(nodes[i % len(nodes)], nodes[j % len(nodes)]))
    out = nodes[-1]
    for node in nodes[len(leaves):-1]:
        out = out + 0.5 * node  # every intermediate node reaches the output
    return out


@given(program=steps, xs=inputs)
def test_random_expression_graphs_agree_with_pytorch(torch, program, xs):
    leaves = [Value(x) for x in xs]
    out = evaluate(program, leaves, lambda n: UNARY[n][0], lambda n: BINARY[n][0])
    out.backward()
    t_leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    t_out = evaluate(program, t_leaves, _torch_unary(torch), lambda n: BINARY[n][1])
    t_out.backward()
    assert out.data == pytest.approx(t_out.item(), rel=1e-9, abs=1e-12)
    for leaf, t_leaf in zip(leaves, t_leaves):
        expected = t_leaf.grad.item() if t_leaf.grad is not None else 0.0
        assert leaf.grad == pytest.approx(expected, rel=1e-9, abs=1e-12)
