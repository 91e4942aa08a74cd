"""PyTorch (float64) as the oracle: every op, random expression graphs, second derivatives.

Every test takes the ``torch`` fixture, so each skips where torch is not installed.
"""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from autograd_core import Value, gradients
from tests.helpers import OP_SPECS, SPEC_IDS, OpSpec, close


def _t(torch, x: float):
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def _in_torch(torch, spec: OpSpec):
    """The spec's op as a function of tensors alone."""
    return lambda *ts: spec.torch(torch, *ts)


def _torch_value_and_grads(torch, f, xs):
    ts = [_t(torch, x) for x in xs]
    out = f(*ts)
    grads = torch.autograd.grad(out, ts, allow_unused=True)
    return out.item(), [0.0 if g is None else g.item() for g in grads]


def _ours_value_and_grads(f, xs):
    vs = [Value(x) for x in xs]
    out = f(*vs)
    out.backward()
    return out.data, [v.grad for v in vs]


@pytest.mark.parametrize("spec", OP_SPECS, ids=SPEC_IDS)
@given(data=st.data())
def test_every_op_matches_torch(torch, spec, data):
    xs = data.draw(spec.domain)
    value, grads = _ours_value_and_grads(spec.apply, xs)
    t_value, t_grads = _torch_value_and_grads(torch, _in_torch(torch, spec), xs)
    assert close(value, t_value, rel=1e-13, abs_=1e-300), f"{spec.name}{xs}: {value} vs torch {t_value}"
    for i, (g, tg) in enumerate(zip(grads, t_grads)):
        assert close(g, tg, rel=1e-12, abs_=1e-15), f"{spec.name}{xs}: ∂/∂x{i} {g} vs torch {tg}"


SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -8.0, 1000.0, -1000.0, 5e-324, math.inf, -math.inf, math.nan]


@pytest.mark.parametrize("spec", OP_SPECS, ids=SPEC_IDS)
def test_every_op_matches_torch_at_ieee_special_values(torch, spec):
    for xs in itertools.product(SPECIAL, repeat=spec.arity):
        value, grads = _ours_value_and_grads(spec.apply, xs)
        t_value, t_grads = _torch_value_and_grads(torch, _in_torch(torch, spec), xs)
        # abs 1e-300: PyTorch flushes some subnormal results to 0 (log1p(5e-324)); we keep them.
        assert close(value, t_value, rel=1e-12, abs_=1e-300), f"{spec.name}{xs}: {value} vs torch {t_value}"
        for i, (g, tg) in enumerate(zip(grads, t_grads)):
            assert close(g, tg, rel=1e-9, abs_=0.0), f"{spec.name}{xs}: ∂/∂x{i} {g} vs torch {tg}"


EDGE_SPECS = [s for s in OP_SPECS if s.edges]


@pytest.mark.parametrize("spec", EDGE_SPECS, ids=[s.name for s in EDGE_SPECS])
def test_value_and_first_and_second_derivatives_match_torch_at_domain_edges(torch, spec):
    # Poles, corners and the ends of domains (asin at ±1, acosh at 1, hardtanh at its bounds):
    # where one-sided choices are made, ours are PyTorch's.
    for xs in spec.edges:
        value, grads = _ours_value_and_grads(spec.apply, xs)
        t_value, t_grads = _torch_value_and_grads(torch, _in_torch(torch, spec), xs)
        assert close(value, t_value, rel=1e-12, abs_=0.0), f"{spec.name}{xs}: {value} vs torch {t_value}"
        for i, (g, tg) in enumerate(zip(grads, t_grads)):
            assert close(g, tg, rel=1e-12, abs_=0.0), f"{spec.name}{xs}: ∂/∂x{i} {g} vs torch {tg}"
        # atan2's derivative is 0 at the origin (PyTorch's choice), so its second derivative is 0
        # there too; PyTorch's reads nan (0·∞ inside its formula).
        if all(math.isfinite(g) for g in grads) and not (spec.table == "atan2" and xs[0] == xs[1] == 0):
            ours, theirs = _hessian_ours(spec.apply, xs), _hessian_torch(torch, _in_torch(torch, spec), xs)
            for i, j in itertools.product(range(len(xs)), repeat=2):
                assert close(ours[i][j], theirs[i][j], rel=1e-9, abs_=0.0), (
                    f"{spec.name}{xs}: ∂²/∂x{i}∂x{j} {ours[i][j]} vs torch {theirs[i][j]}")


def _hessian_ours(f, xs):
    vs = [Value(x) for x in xs]
    first = gradients(f(*vs), vs, create_graph=True)
    return [[float(h) for h in gradients(g, vs)] if isinstance(g, Value) else [0.0] * len(xs) for g in first]


def _hessian_torch(torch, f, xs):
    ts = [_t(torch, x) for x in xs]
    first = torch.autograd.grad(f(*ts), ts, create_graph=True, allow_unused=True)
    rows = []
    for g in first:
        if g is None or not g.requires_grad:
            rows.append([0.0] * len(xs))
            continue
        row = torch.autograd.grad(g, ts, retain_graph=True, allow_unused=True)
        rows.append([0.0 if h is None else h.item() for h in row])
    return rows


@pytest.mark.parametrize("spec", OP_SPECS, ids=SPEC_IDS)
@given(data=st.data())
def test_second_derivatives_match_torch(torch, spec, data):
    xs = data.draw(spec.domain)
    if spec.table == "**":
        # torch masks ∂(aᵇ)/∂a to a constant 0 at b = 0, losing ∂²/∂a∂b = 1/a there; we keep it.
        assume(xs[1] != 0.0)
    ours, theirs = _hessian_ours(spec.apply, xs), _hessian_torch(torch, _in_torch(torch, spec), xs)
    # Near saturation (tanh, sigmoid at |x| ≫ 1) 1 − t carries t's rounding, amplified by
    # 1/(1 − t), and near 0 σ'' = σ(1 − σ)(1 − 2σ) cancels: there both engines are off the true
    # value by ~1e-16 absolute, each its own way.
    for i, j in itertools.product(range(len(xs)), repeat=2):
        assert close(ours[i][j], theirs[i][j], rel=1e-8, abs_=1e-12), (
            f"{spec.name}{xs}: ∂²/∂x{i}∂x{j} {ours[i][j]} vs torch {theirs[i][j]}"
        )


def test_pow_mixed_second_derivative_at_zero_exponent_is_the_calculus_answer_not_torchs(torch):
    # ∂²(aᵇ)/∂a∂b = aᵇ⁻¹(1 + b·ln a) = 1/a at b = 0; torch returns 0 there.
    f = lambda a, b: a**b
    assert _hessian_ours(f, (2.0, 0.0))[0][1] == 0.5
    assert _hessian_torch(torch, f, (2.0, 0.0))[0][1] == 0.0


# Random expression graphs: a program is a list of steps, each applying an op to earlier nodes
# (the three inputs first). Every op here is defined on all reals, so any program is valid.
UNARY = {
    "tanh": lambda v: v.tanh(),
    "sigmoid": lambda v: v.sigmoid(),
    "sin": lambda v: v.sin(),
    "cos": lambda v: v.cos(),
    "neg": lambda v: -v,
    "softplus": lambda v: v.softplus(),
    "square": lambda v: v**2,
    "relu": lambda v: v.relu(),
    "abs": lambda v: abs(v),
    "exp_tanh": lambda v: v.tanh().exp(),
    "log_1p_sq": lambda v: (1 + v * v).log(),
    "sqrt_1p_sq": lambda v: (1 + v * v).sqrt(),
    "scale": lambda v: 0.5 * v - 1.5,
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div_1p_sq": lambda a, b: a / (1 + b * b),
    # exponent in (0.25, 1.25), never 0, where torch's ∂²/∂a∂b departs from calculus (see above)
    "pow_pos": lambda a, b: (1 + a * a) ** (0.5 * b.tanh() + 0.75),
}

STEP = st.one_of(
    st.tuples(st.just(1), st.sampled_from(sorted(UNARY)), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just(2), st.sampled_from(sorted(BINARY)), st.integers(0, 10**6), st.integers(0, 10**6)),
)
PROGRAM = st.lists(STEP, min_size=1, max_size=12)
INPUTS = st.tuples(*[st.floats(-2.0, 2.0) for _ in range(3)])


def _torch_unary(torch):
    """UNARY for tensors: a tensor has no ``.softplus()`` method."""
    return {**UNARY, "softplus": torch.nn.functional.softplus}


def _run(program, leaves, unary=UNARY):
    nodes = list(leaves)
    for arity, name, i, j in program:
        a = nodes[i % len(nodes)]
        if arity == 1:
            nodes.append(unary[name](a))
        else:
            nodes.append(BINARY[name](a, nodes[j % len(nodes)]))
    return nodes[-1] + nodes[-2] * 0.5  # an output that depends on more than the last step


def _kink_free(program, xs):
    # relu/abs exactly at 0 give one-sided choices; keep random graphs off kinks so both agree.
    vs = [Value(x) for x in xs]
    nodes = list(vs)
    for arity, name, i, j in program:
        a = nodes[i % len(nodes)]
        if name in ("relu", "abs") and a.data == 0.0:
            return False
        nodes.append(UNARY[name](a) if arity == 1 else BINARY[name](a, nodes[j % len(nodes)]))
    return True


@settings(max_examples=100)
@given(program=PROGRAM, xs=INPUTS)
def test_random_expression_graphs_match_torch(torch, program, xs):
    assume(_kink_free(program, xs))
    value, grads = _ours_value_and_grads(lambda *v: _run(program, v), xs)
    t_value, t_grads = _torch_value_and_grads(torch, lambda *t: _run(program, t, _torch_unary(torch)), xs)
    assume(math.isfinite(t_value) and all(math.isfinite(g) for g in t_grads))
    assert close(value, t_value, rel=1e-12, abs_=1e-12)
    for g, tg in zip(grads, t_grads):
        assert close(g, tg, rel=1e-9, abs_=1e-9), f"{program} at {xs}: {grads} vs torch {t_grads}"


@settings(max_examples=100)
@given(program=PROGRAM, xs=INPUTS)
def test_random_expression_graph_second_derivatives_match_torch(torch, program, xs):
    assume(_kink_free(program, xs))
    ours = _hessian_ours(lambda *v: _run(program, v), xs)
    theirs = _hessian_torch(torch, lambda *t: _run(program, t, _torch_unary(torch)), xs)
    flat = [h for row in theirs for h in row]
    assume(all(math.isfinite(h) for h in flat))
    for i, j in itertools.product(range(3), repeat=2):
        assert close(ours[i][j], theirs[i][j], rel=1e-8, abs_=1e-8), (
            f"{program} at {xs}: ∂²/∂x{i}∂x{j} {ours[i][j]} vs torch {theirs[i][j]}"
        )
