"""BatchNorm1d against torch.nn.BatchNorm1d (float64): outputs, gradients, running statistics, modes."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from autograd_core import Value


def _values(X):
    return [[Value(float(v)) for v in row] for row in X]


def _data(rows):
    return np.array([[v.data for v in row] for row in rows])


def _grads(rows):
    return np.array([[v.grad for v in row] for row in rows])


def test_training_output_has_zero_mean_unit_biased_variance_per_feature():
    X = np.random.default_rng(0).normal(3.0, 2.0, size=(8, 3))
    out = _data(nn.BatchNorm1d(3)(_values(X)))
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=0), 1.0, rtol=1e-5)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_matches_torch_outputs_grads_and_running_stats_over_several_batches(momentum):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    ours = nn.BatchNorm1d(3, eps=1e-5, momentum=momentum)
    ref = torch.nn.BatchNorm1d(3, eps=1e-5, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor([1.5, -0.5, 2.0], dtype=torch.float64))
        ref.bias.copy_(torch.tensor([0.1, 0.2, -0.3], dtype=torch.float64))
    for j, (g, b) in enumerate(zip([1.5, -0.5, 2.0], [0.1, 0.2, -0.3])):
        ours.gamma[j].data, ours.beta[j].data = g, b
    for batch in range(4):
        X = rng.normal(batch, 1.0 + batch, size=(5 + batch, 3))
        upstream = rng.normal(size=X.shape)
        rows = _values(X)
        out = ours(rows)
        loss = sum(o * float(u) for row_o, row_u in zip(out, upstream) for o, u in zip(row_o, row_u))
        ours.zero_grad()
        loss.backward()
        tx = torch.tensor(X, requires_grad=True)
        ref.zero_grad()
        tout = ref(tx)
        (tout * torch.tensor(upstream)).sum().backward()
        np.testing.assert_allclose(_data(out), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(_grads(rows), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose([g.grad for g in ours.gamma], ref.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose([b.grad for b in ours.beta], ref.bias.grad.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours.running_mean, ref.running_mean.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ours.running_var, ref.running_var.numpy(), rtol=1e-12, atol=1e-14)
        assert ours.num_batches_tracked == int(ref.num_batches_tracked)
    ours.eval()
    ref.eval()
    X = rng.normal(size=(3, 3))
    rows = _values(X)
    out = ours(rows)
    sum(o for row in out for o in row).backward()
    tx = torch.tensor(X, requires_grad=True)
    ref(tx).sum().backward()
    np.testing.assert_allclose(_data(out), ref(tx).detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_grads(rows), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_eval_mode_uses_running_statistics_and_accepts_one_sample():
    bn = nn.BatchNorm1d(2)
    bn.running_mean = [1.0, -1.0]
    bn.running_var = [4.0, 0.25]
    bn.eval()
    out = bn([3.0, 0.0])
    assert out[0].data == pytest.approx(2.0 / np.sqrt(4.0 + 1e-5), rel=1e-15)
    assert out[1].data == pytest.approx(1.0 / np.sqrt(0.25 + 1e-5), rel=1e-15)
    assert bn.num_batches_tracked == 0


def test_eval_mode_does_not_change_running_statistics():
    bn = nn.BatchNorm1d(2).eval()
    bn([[1.0, 2.0], [3.0, 5.0]])
    assert bn.running_mean == [0.0, 0.0] and bn.running_var == [1.0, 1.0]


def test_training_mode_batch_of_one_is_a_clear_error():
    bn = nn.BatchNorm1d(2)
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*eval"):
        bn([[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"needs a batch.*\.eval\(\)"):
        bn([1.0, 2.0])


def test_wrong_feature_count_names_the_sample():
    with pytest.raises(ValueError, match="expects samples of 2 features, got 3 in sample 1"):
        nn.BatchNorm1d(2)([[1.0, 2.0], [1.0, 2.0, 3.0]])


def test_bad_hyper_parameters_are_rejected():
    with pytest.raises(ValueError, match="num_features"):
        nn.BatchNorm1d(0)
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm1d(2, momentum=1.5)
    with pytest.raises(ValueError, match="eps"):
        nn.BatchNorm1d(2, eps=0.0)


def test_constant_feature_normalises_to_beta_without_nan():
    bn = nn.BatchNorm1d(1)
    bn.beta[0].data = 0.7
    out = bn([[2.0], [2.0], [2.0]])
    assert [o[0].data for o in out] == [0.7, 0.7, 0.7]


def test_unaffine_batch_norm_has_no_parameters():
    bn = nn.BatchNorm1d(3, affine=False)
    assert bn.parameters() == []
    out = bn(_values(np.arange(6.0).reshape(2, 3)))
    assert [v.data for v in out[0]] == pytest.approx([-1.0, -1.0, -1.0], rel=1e-5)


def test_state_dict_round_trip_restores_running_statistics():
    bn = nn.BatchNorm1d(2)
    bn([[1.0, 2.0], [3.0, 7.0]])
    fresh = nn.BatchNorm1d(2)
    fresh.load_state_dict(bn.state_dict())
    assert fresh.running_mean == bn.running_mean and fresh.running_var == bn.running_var
    assert fresh.num_batches_tracked == 1 and isinstance(fresh.num_batches_tracked, int)
