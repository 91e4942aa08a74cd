"""Forward mode and the transforms built on both modes: jvp, vjp, jacrev, jacfwd, jacobian,
hessian, hvp — against each other on random graphs, against closed forms and against PyTorch."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_core as ag
import nn
from autograd_core import Value, grad, hessian, hvp, jacfwd, jacobian, jacrev, jvp, vjp

# Random programs: each step applies an op to earlier nodes (the inputs first). Every op here is
# smooth on the values it can meet, so forward and reverse must agree to rounding.
UNARY = {
    "tanh": lambda v: v.tanh(), "sin": lambda v: v.sin(), "atan": lambda v: v.atan(), "erf": lambda v: v.erf(),
    "gelu": lambda v: v.gelu(), "silu": lambda v: v.silu(), "mish": lambda v: v.mish(),
    "gelu_tanh": lambda v: v.gelu(approximate="tanh"), "asinh": lambda v: v.asinh(),
    "sinh_of_tanh": lambda v: v.tanh().sinh(), "cosh_of_tanh": lambda v: v.tanh().cosh(),
    "expm1_of_tanh": lambda v: v.tanh().expm1(), "square": lambda v: v.square(),
    "log1p_sq": lambda v: (v * v).log1p(), "logsigmoid": lambda v: v.logsigmoid(), "scale": lambda v: 0.5 * v - 1.5,
}
BINARY = {
    "add": lambda a, b: a + b, "mul": lambda a, b: a * b, "sub": lambda a, b: a - b,
    "logaddexp": lambda a, b: a.logaddexp(b),
    "hypot_1": lambda a, b: a.hypot(1.0 + b * b), "atan2_1": lambda a, b: a.atan2(1.0 + b * b),
    "div_1p_sq": lambda a, b: a / (1 + b * b),
}


def _torch_table(torch):
    """UNARY and BINARY on float64 tensors; torch.nn.functional where a tensor has no method."""
    F = torch.nn.functional
    return {
        "tanh": lambda t: t.tanh(), "sin": lambda t: t.sin(), "atan": lambda t: t.atan(), "erf": lambda t: t.erf(),
        "gelu": lambda t: F.gelu(t), "silu": lambda t: F.silu(t), "mish": lambda t: F.mish(t),
        "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"), "asinh": lambda t: t.asinh(),
        "sinh_of_tanh": lambda t: t.tanh().sinh(), "cosh_of_tanh": lambda t: t.tanh().cosh(),
        "expm1_of_tanh": lambda t: t.tanh().expm1(), "square": lambda t: t.square(),
        "log1p_sq": lambda t: (t * t).log1p(), "logsigmoid": lambda t: F.logsigmoid(t),
        "scale": lambda t: 0.5 * t - 1.5,
        "add": lambda a, b: a + b, "mul": lambda a, b: a * b, "sub": lambda a, b: a - b,
        "logaddexp": lambda a, b: a.logaddexp(b),
        "hypot_1": lambda a, b: a.hypot(1.0 + b * b), "atan2_1": lambda a, b: a.atan2(1.0 + b * b),
        "div_1p_sq": lambda a, b: a / (1 + b * b),
    }


STEP = st.one_of(
    st.tuples(st.just(1), st.sampled_from(sorted(UNARY)), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just(2), st.sampled_from(sorted(BINARY)), st.integers(0, 10**6), st.integers(0, 10**6)),
)
PROGRAM = st.lists(STEP, min_size=1, max_size=10)
INPUTS = st.lists(st.floats(-1.5, 1.5), min_size=3, max_size=3)


def _run(program, leaves, table_u=UNARY, table_b=BINARY, n_out=2):
    nodes = list(leaves)
    for arity, name, i, j in program:
        a = nodes[i % len(nodes)]
        fn = (table_u if arity == 1 else table_b)[name]
        nodes.append(fn(a) if arity == 1 else fn(a, nodes[j % len(nodes)]))
    return [nodes[-1 - k] * (1.0 + k) + nodes[k] for k in range(n_out)]


def _program_fn(program, n_out=2):
    return lambda xs: _run(program, xs, n_out=n_out)


def _allclose(a, b, rtol=1e-9, atol=1e-10):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=rtol, atol=atol)


@settings(max_examples=40)
@given(program=PROGRAM, xs=INPUTS, n_out=st.integers(1, 4), tangent=INPUTS, cot=st.lists(st.floats(-2, 2), min_size=4,
                                                                                           max_size=4))
def test_jvp_equals_the_jacobian_built_from_vjps_on_random_graphs(program, xs, n_out, tangent, cot):
    f = _program_fn(program, n_out)
    out, vjp_fn = vjp(f, xs)
    J = np.array([vjp_fn([1.0 if k == r else 0.0 for k in range(n_out)])[0] for r in range(n_out)])
    value, jv = jvp(f, (xs,), (tangent,))
    _allclose(value, out, rtol=0, atol=0)
    _allclose(jv, J @ np.array(tangent))
    # cᵀ(J·t) = (cᵀJ)·t: the two modes meet in one number
    c = cot[:n_out]
    assert math.isclose(float(np.dot(c, jv)), float(np.dot(vjp_fn(c)[0], tangent)), rel_tol=1e-9, abs_tol=1e-9)
    _allclose(jacfwd(f)(xs), J)
    _allclose(jacrev(f)(xs), J, rtol=0, atol=0)


def _torch_scalar(torch, program, t):
    table = _torch_table(torch)
    return sum(_run(program, list(t), table, table, n_out=2))


@settings(max_examples=30)
@given(program=PROGRAM, xs=INPUTS, v=INPUTS)
def test_hessian_and_hvp_equal_torchs(torch, program, xs, v):
    scalar = lambda ys: sum(_run(program, ys, n_out=2))
    H = hessian(scalar)(xs)
    t_xs = torch.tensor(xs, dtype=torch.float64)
    H_torch = torch.autograd.functional.hessian(lambda t: _torch_scalar(torch, program, t), t_xs).numpy()
    _allclose(H, H_torch, rtol=1e-8, atol=1e-9)
    value, (Hv,) = hvp(scalar, (xs,), (v,))
    _allclose(Hv, H @ np.array(v), rtol=1e-8, atol=1e-9)
    assert value == pytest.approx(float(_torch_scalar(torch, program, t_xs)), rel=1e-12)
    _allclose(jacrev(jacfwd(scalar))(xs), H, rtol=1e-9, atol=1e-10)
    _allclose(jacrev(jacrev(scalar))(xs), H, rtol=1e-9, atol=1e-10)


# -- closed forms --------------------------------------------------------------------------
def test_jvp_of_a_scalar_function_is_the_directional_derivative():
    out, t = jvp(lambda x, y: x * y + x.sin(), (2.0, 3.0), (1.0, 0.0))
    assert out == 6.0 + math.sin(2.0) and t == pytest.approx(3.0 + math.cos(2.0), rel=1e-15)
    _, t = jvp(lambda x, y: x * y + x.sin(), (2.0, 3.0), (0.0, 1.0))
    assert t == 2.0


def test_jacobian_of_polar_to_cartesian():
    f = lambda r, th: [r * th.cos(), r * th.sin()]
    Jr, Jth = jacobian(f, argnums=(0, 1))(2.0, 0.5)
    _allclose(Jr, [math.cos(0.5), math.sin(0.5)], rtol=1e-15, atol=0)
    _allclose(Jth, [-2 * math.sin(0.5), 2 * math.cos(0.5)], rtol=1e-15, atol=0)


def test_hessian_of_a_quadratic_form_is_its_symmetric_matrix():
    A = [[2.0, 1.0], [1.0, 3.0]]
    f = lambda x: sum(A[i][j] * x[i] * x[j] for i in range(2) for j in range(2)) / 2
    _allclose(hessian(f)([0.3, -0.7]), A, rtol=0, atol=1e-15)
    assert isinstance(hessian(lambda x: x**3)(2.0), float) and hessian(lambda x: x**3)(2.0) == 12.0


def test_jacobian_shapes_are_output_shape_then_input_shape():
    f = lambda x: [[x[0] * x[1], x[1]], [x[2], x[0]], [x[0], 1.0]]
    J = jacobian(f)([1.0, 2.0, 3.0])
    assert J.shape == (3, 2, 3)
    assert J[0, 0].tolist() == [2.0, 1.0, 0.0] and J[2, 1].tolist() == [0.0, 0.0, 0.0]
    assert jacrev(lambda x: x.tanh())(0.0) == 1.0


@pytest.mark.parametrize(("n_in", "n_out", "expected"), [(1, 5, "forward"), (5, 1, "reverse"), (3, 3, "reverse")])
def test_jacobian_sweeps_in_the_cheaper_direction(monkeypatch, n_in, n_out, expected):
    import autograd_core.transforms as tr

    calls = {"forward": 0, "reverse": 0}
    real_push, real_grads = tr.sweep_forward, tr.gradients

    def push(*a, **k):
        calls["forward"] += 1
        return real_push(*a, **k)

    def grads(*a, **k):
        calls["reverse"] += 1
        return real_grads(*a, **k)

    monkeypatch.setattr(tr, "sweep_forward", push)
    monkeypatch.setattr(tr, "gradients", grads)
    f = lambda x: [sum(x) * (k + 1) for k in range(n_out)]
    J = jacobian(f)([0.5] * n_in)
    _allclose(J, [[k + 1.0] * n_in for k in range(n_out)], rtol=0, atol=0)
    assert calls[expected] == (n_in if expected == "forward" else n_out)
    assert calls["forward" if expected == "reverse" else "reverse"] == 0


def test_jacobian_of_an_mlp_closes_over_its_parameters():
    model = nn.MLP(3, [4, 2], activation="tanh", rng=0)
    x = [0.1, -0.2, 0.3]
    J_fwd = jacfwd(lambda xs: model(xs))(x)
    J_rev = jacrev(lambda xs: model(xs))(x)
    assert J_fwd.shape == (2, 3)
    _allclose(J_fwd, J_rev, rtol=1e-12, atol=1e-15)
    assert all(p.grad == 0.0 for p in model.parameters())  # transforms never write .grad


def test_transforms_compose_with_grad():
    # d/dx of the directional derivative of f(x, y) = x²y along (1, 0) is ∂²f/∂x² = 2y
    g = grad(lambda x: jvp(lambda a, b: a * a * b, (x, 3.0), (1.0, 0.0))[1])
    assert float(g(2.0)) == 6.0
    h = grad(lambda x: hvp(lambda a: a**4, (x,), (1.0,))[1][0])  # d/dx 12x² = 24x
    assert float(h(0.5)) == 12.0


def test_vjp_fn_gives_one_gradient_per_primal_shaped_like_it():
    out, fn = vjp(lambda w, x: [w[0] * x, w[1] * x], [2.0, 3.0], 5.0)
    assert out == [10.0, 15.0]
    gw, gx = fn([1.0, 1.0])
    assert gw == [5.0, 5.0] and gx == 5.0
    assert fn([0.0, 2.0]) == ([0.0, 10.0], 6.0)  # callable again on the same graph


def test_values_in_give_values_out():
    x = Value(2.0)
    out, t = jvp(lambda a: a**3, (x,), (1.0,))
    assert isinstance(out, Value) and isinstance(t, Value) and t.data == 12.0
    (d2,) = ag.gradients(t, [x])
    assert d2 == 12.0  # d/dx 3x² = 6x


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: jvp(lambda x: x, 1.0, 1.0), TypeError, "must be tuples"),
    (lambda: jvp(lambda x: x, (1.0,), ()), ValueError, "1 primals but 0 tangents"),
    (lambda: jvp(lambda x: x[0], ([1.0, 2.0],), ([1.0],)), ValueError, r"shape \(1,\), its primal has shape \(2,\)"),
    (lambda: jacrev(lambda x: x, argnums=2)(1.0), ValueError, "argnums 2 does not fit"),
    (lambda: jacobian(lambda x: x, mode="sideways")(1.0), ValueError, "mode must be"),
    (lambda: hessian(lambda x, y: x * y, argnums=(0, 1)), TypeError, "one argnum"),
    (lambda: hvp(lambda x: [x, x], (1.0,), (1.0,)), ValueError, "scalar-valued"),
    (lambda: jacrev(lambda x: "nope")(1.0), TypeError, "the function's result must be a number"),
    (lambda: jvp(lambda x: x, ([[1.0], [2.0, 3.0]],), ([[1.0], [2.0, 3.0]],)), ValueError, "ragged"),
    (lambda: vjp(lambda x: [x, x], 1.0)[1](1.0), ValueError, r"cotangent has shape \(\)"),
])
def test_bad_arguments_name_the_problem(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_constant_outputs_have_zero_derivatives():
    assert jvp(lambda x: 3.0, (1.0,), (1.0,)) == (3.0, 0.0)
    _allclose(jacfwd(lambda x: [x, 2.0])(1.0), [1.0, 0.0], rtol=0, atol=0)
    assert list(itertools.chain(jacrev(lambda x: [x[0], 2.0])([1.0, 2.0]).ravel())) == [1.0, 0.0, 0.0, 0.0]


def test_transforms_record_their_graph_even_under_no_grad():
    with ag.no_grad():
        assert jvp(lambda x: x * x, (3.0,), (1.0,)) == (9.0, 6.0)
        assert jacrev(lambda x: [x * x, x.sin()])(0.0).tolist() == [0.0, 1.0]


def test_outputs_sharing_a_subgraph_are_walked_once():
    from autograd_core.forward import forward_order

    x = Value(0.3)
    h = x
    for _ in range(50):
        h = h.tanh()
    outs = [h * k for k in range(1, 6)]
    order = forward_order(outs, [x])
    assert len({id(n) for n in order}) == len(order)
    assert all(any(o is n for n in order) for o in outs) and order.index(h) < min(order.index(o) for o in outs)
