"""Losses against torch.nn.functional (float64, values and gradients to 1e-12), stability and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn
from autograd_core import Value

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(0)


def _vals(a):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        return [Value(float(v)) for v in a]
    return [[Value(float(v)) for v in row] for row in a]


def _grads(vs):
    if isinstance(vs[0], Value):
        return np.array([v.grad for v in vs])
    return np.array([[v.grad for v in row] for row in vs])


def _compare(ours_fn, torch_fn, inputs, *extra):
    values = _vals(inputs)
    out = ours_fn(values, *extra)
    out.backward()
    t = torch.tensor(inputs, dtype=torch.float64, requires_grad=True)
    ref = torch_fn(t)
    ref.backward()
    assert out.data == pytest.approx(ref.item(), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(_grads(values), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_loss_matches_torch(reduction):
    pred, target = RNG.normal(size=7), RNG.normal(size=7)
    _compare(lambda v: nn.mse_loss(v, target, reduction=reduction),
             lambda t: F.mse_loss(t, torch.tensor(target), reduction=reduction), pred)


def test_mse_loss_on_one_value_is_the_seeds_cost():
    a = Value(0.8)
    c = nn.mse_loss(a, 1.0)
    c.backward()
    assert c.data == pytest.approx(0.04) and a.grad == pytest.approx(2 * (0.8 - 1.0))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_hinge_loss_matches_torch_relu_of_one_minus_margin(reduction):
    scores, y = RNG.normal(size=9) * 2, RNG.choice([-1.0, 1.0], size=9)
    reduce = torch.mean if reduction == "mean" else torch.sum
    _compare(lambda v: nn.hinge_loss(v, y, reduction=reduction),
             lambda t: reduce(torch.relu(1 - torch.tensor(y) * t)), scores)


def test_hinge_loss_is_computed_like_micrograds_demo():
    scores = [Value(0.3), Value(-2.0), Value(1.5)]
    y = [1, -1, -1]
    expected = sum((1 + -yi * si).relu() for yi, si in zip(y, scores)) * (1.0 / 3)
    assert nn.hinge_loss(scores, y).data == expected.data


def test_hinge_loss_rejects_zero_one_labels_and_points_to_to_pm1():
    with pytest.raises(ValueError, match="to_pm1"):
        nn.hinge_loss([Value(1.0), Value(2.0)], [0, 1])


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_bce_with_logits_matches_torch(reduction):
    logits, y = RNG.normal(size=8) * 5, RNG.uniform(size=8)
    _compare(lambda v: nn.binary_cross_entropy_with_logits(v, y, reduction=reduction),
             lambda t: F.binary_cross_entropy_with_logits(t, torch.tensor(y), reduction=reduction), logits)


def test_bce_with_extreme_logit_is_finite_with_grad_minus_one():
    z = Value(-1000.0)
    loss = nn.binary_cross_entropy_with_logits(z, 1.0)
    loss.backward()
    assert loss.data == 1000.0 and z.grad == -1.0
    z = Value(1000.0)
    loss = nn.binary_cross_entropy_with_logits(z, 1.0)
    loss.backward()
    assert loss.data == 0.0 and z.grad == 0.0


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_matches_torch(reduction):
    logits, t = RNG.normal(size=(6, 4)) * 3, RNG.integers(0, 4, size=6)
    _compare(lambda v: nn.cross_entropy(v, t, reduction=reduction),
             lambda x: F.cross_entropy(x, torch.tensor(t), reduction=reduction), logits)


def test_cross_entropy_with_huge_logits_is_finite():
    for target, expected in ((0, 0.0), (1, 1000.0)):
        zs = [Value(1000.0), Value(0.0)]
        loss = nn.cross_entropy([zs], [target])
        loss.backward()
        assert loss.data == expected
        assert all(math.isfinite(z.grad) for z in zs)
        assert [z.grad for z in zs] == ([0.0, 0.0] if target == 0 else [1.0, -1.0])


def test_cross_entropy_accepts_one_row_and_an_int_target():
    row = [Value(1.0), Value(2.0), Value(0.5)]
    one = nn.cross_entropy(row, 1).data
    ref = F.cross_entropy(torch.tensor([[1.0, 2.0, 0.5]], dtype=torch.float64), torch.tensor([1])).item()
    assert one == pytest.approx(ref, rel=1e-14)


def test_softmax_and_log_softmax_match_torch_values_and_grads():
    logits = RNG.normal(size=(3, 5)) * 4
    weights = RNG.normal(size=(3, 5))
    for ours, theirs in ((nn.softmax, F.softmax), (nn.log_softmax, F.log_softmax)):
        values = _vals(logits)
        out = ours(values)
        sum(o * float(w) for ro, rw in zip(out, weights) for o, w in zip(ro, rw)).backward()
        t = torch.tensor(logits, requires_grad=True)
        ref = theirs(t, dim=-1)
        (ref * torch.tensor(weights)).sum().backward()
        np.testing.assert_allclose([[o.data for o in r] for r in out], ref.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(_grads(values), t.grad.numpy(), rtol=1e-11, atol=1e-12)


def test_softmax_of_huge_logits_is_finite_and_sums_to_one():
    out = nn.softmax([Value(1000.0), Value(999.0), Value(-1000.0)])
    assert sum(o.data for o in out) == pytest.approx(1.0)
    assert all(math.isfinite(o.data) for o in out)
    assert nn.log_softmax([Value(1000.0), Value(0.0)])[1].data == -1000.0


def test_reduction_none_returns_per_sample_losses():
    losses = nn.mse_loss([Value(1.0), Value(3.0)], [0.0, 1.0], reduction="none")
    assert [v.data for v in losses] == [1.0, 4.0]


def test_losses_accept_numpy_predictions_and_model_batch_outputs():
    model = nn.MLP(2, [3, 1], rng=0)
    X = np.array([[0.1, 0.2], [0.5, -0.3]])
    loss = nn.mse_loss(model(X), np.array([1.0, -1.0]))
    assert isinstance(loss, Value)
    assert nn.mse_loss(np.array([1.0, 2.0]), [1.0, 0.0]).data == 2.0


def test_shape_mismatch_and_bad_targets_are_clear_errors():
    with pytest.raises(ValueError, match=r"input of shape \(2,\) and target of shape \(3,\)"):
        nn.mse_loss([Value(1.0), Value(2.0)], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"integer classes in \[0, 2\)"):
        nn.cross_entropy([[Value(1.0), Value(2.0)]], [2])
    for bad in (0.5, float("nan"), -1, True):
        with pytest.raises(ValueError, match="integer classes"):
            nn.cross_entropy([[Value(1.0), Value(2.0)]], [bad])
    with pytest.raises(ValueError, match="2 rows of logits need 2"):
        nn.cross_entropy([[1.0, 2.0], [0.0, 1.0]], [0])
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        nn.binary_cross_entropy_with_logits([Value(0.0)], [2.0])
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.mse_loss([Value(0.0)], [0.0], reduction="avg")
    with pytest.raises(ValueError, match="empty"):
        nn.mse_loss([], [])
    with pytest.raises(ValueError, match="rectangular"):
        nn.cross_entropy([[1.0, 2.0], [1.0]], [0, 0])
