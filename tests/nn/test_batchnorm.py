"""BatchNorm1d against torch.nn.BatchNorm1d (float64): outputs, gradients, running statistics, modes."""

from __future__ import annotations

import json

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


def _assert_same_forward_and_backward(torch, ours, ref, X, upstream):
    """Outputs, input grads and (if affine) gamma/beta grads of ``ours`` and torch's ``ref``
    on batch ``X``, with ∂C/∂out = ``upstream``; returns our outputs."""
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
    if ours.affine:
        np.testing.assert_allclose([g.grad for g in ours.gamma], ref.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose([b.grad for b in ours.beta], ref.bias.grad.numpy(), rtol=1e-12, atol=1e-12)
    return out


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_matches_torch_outputs_grads_and_running_stats_over_several_batches(torch, momentum):
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
        _assert_same_forward_and_backward(torch, ours, ref, X, rng.normal(size=X.shape))
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


# -- track_running_stats=False: no buffers, batch statistics in both modes -----------------


def _seeded_pair(torch, affine=True, **kwargs):
    ours = nn.BatchNorm1d(3, affine=affine, track_running_stats=False, **kwargs)
    ref = torch.nn.BatchNorm1d(3, affine=affine, track_running_stats=False, dtype=torch.float64, **kwargs)
    if affine:
        gamma, beta = [1.5, -0.5, 2.0], [0.1, 0.2, -0.3]
        with torch.no_grad():
            ref.weight.copy_(torch.tensor(gamma, dtype=torch.float64))
            ref.bias.copy_(torch.tensor(beta, dtype=torch.float64))
        for j, (g, b) in enumerate(zip(gamma, beta)):
            ours.gamma[j].data, ours.beta[j].data = g, b
    return ours, ref


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_without_running_stats_matches_torch_outputs_and_grads_in_both_modes(torch, mode, affine):
    rng = np.random.default_rng(2)
    ours, ref = _seeded_pair(torch, affine=affine, momentum=None)
    ours.train(mode == "train")
    ref.train(mode == "train")
    for batch in range(3):
        X = rng.normal(batch, 1.0 + batch, size=(4 + batch, 3))
        out = _assert_same_forward_and_backward(torch, ours, ref, X, rng.normal(size=X.shape))
        # The batch's own statistics, in eval mode too: every feature comes out with mean β.
        np.testing.assert_allclose(_data(out).mean(axis=0), [0.1, 0.2, -0.3] if affine else 0.0, atol=1e-12)
    assert ours.running_mean is ours.running_var is ours.num_batches_tracked is None
    assert ref.running_mean is ref.running_var is ref.num_batches_tracked is None


def test_without_running_stats_there_are_no_buffers_and_reset_is_a_no_op():
    bn = nn.BatchNorm1d(2, track_running_stats=False)
    assert bn.running_mean is None and bn.running_var is None and bn.num_batches_tracked is None
    assert bn.named_buffers() == []
    assert list(bn.state_dict()) == ["gamma.0", "gamma.1", "beta.0", "beta.1"]
    bn([[1.0, 2.0], [3.0, 7.0]])
    bn.reset_running_stats()
    assert bn.running_mean is None and bn.num_batches_tracked is None
    fresh = nn.BatchNorm1d(2, track_running_stats=False)
    fresh.load_state_dict(bn.state_dict())
    with pytest.raises(KeyError, match="unexpected keys"):
        fresh.load_state_dict(nn.BatchNorm1d(2).state_dict())


def test_reset_running_stats_with_stats_matches_torch(torch):
    ours = nn.BatchNorm1d(2)
    ref = torch.nn.BatchNorm1d(2, dtype=torch.float64)
    X = [[1.0, 2.0], [3.0, 7.0], [-1.0, 0.5]]
    ours(X)
    ref(torch.tensor(X, dtype=torch.float64))
    ours.reset_running_stats()
    ref.reset_running_stats()
    assert ours.running_mean == ref.running_mean.tolist() == [0.0, 0.0]
    assert ours.running_var == ref.running_var.tolist() == [1.0, 1.0]
    assert ours.num_batches_tracked == int(ref.num_batches_tracked) == 0


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_without_running_stats_a_single_sample_is_a_clear_error_in_both_modes(torch, mode):
    bn = nn.BatchNorm1d(2, track_running_stats=False).train(mode == "train")
    word = "training" if mode == "train" else "eval"
    with pytest.raises(ValueError, match=rf"track_running_stats=False\) in {word} mode expected more than 1 "
                                         r"value per channel.*at least 2 samples"):
        bn([[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"track_running_stats=False\) needs a batch in training and eval mode"):
        bn([1.0, 2.0])
    ref = torch.nn.BatchNorm1d(2, track_running_stats=False).train(mode == "train")
    with pytest.raises(ValueError, match="more than 1 value per channel"):  # torch refuses it too
        ref(torch.ones(1, 2))


@pytest.mark.parametrize("flag", [1, 0, "False", None, np.bool_(True)])
def test_track_running_stats_must_be_a_bool(flag):
    with pytest.raises(TypeError, match=r"track_running_stats must be a bool \(True or False\), got "):
        nn.BatchNorm1d(2, track_running_stats=flag)


def test_repr_and_config_carry_the_flag_and_build_rebuilds_it():
    assert repr(nn.BatchNorm1d(4)) == "BatchNorm1d(4, eps=1e-05, momentum=0.1)"
    bn = nn.BatchNorm1d(4, momentum=None, affine=False, track_running_stats=False)
    assert repr(bn) == "BatchNorm1d(4, eps=1e-05, momentum=None, affine=False, track_running_stats=False)"
    assert bn.config() == {"type": "BatchNorm1d", "num_features": 4, "eps": 1e-5, "momentum": None,
                           "affine": False, "track_running_stats": False}
    assert nn.BatchNorm1d(4).config()["track_running_stats"] is True
    rebuilt = nn.build(bn.config())
    assert rebuilt.config() == bn.config() and rebuilt.running_mean is None


def _model_with(bn):
    return nn.Sequential(nn.Layer(2, 3, activation="linear", rng=4), bn, nn.Activation("tanh"),
                         nn.Layer(3, 1, activation="linear", rng=5))


_X = [[0.5, -1.0], [1.5, 2.0], [-0.3, 0.7], [2.0, -2.0]]


def test_save_load_round_trips_a_batch_norm_without_running_stats(tmp_path):
    model = _model_with(nn.BatchNorm1d(3, track_running_stats=False))
    opt = nn.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(2):
        model.zero_grad()
        sum(o * o for o in model(_X)).backward()
        opt.step()
    path = tmp_path / "model.json"
    nn.save(model, path, opt)
    saved = json.loads(path.read_text())
    assert saved["config"]["layers"][1]["track_running_stats"] is False
    assert not any("running" in k or "batches" in k for k in saved["state"])
    loaded = nn.load(path)
    assert loaded.config() == model.config() and loaded.state_dict() == model.state_dict()
    assert loaded.layers[1].running_mean is None
    nn.load_optimizer(path, loaded)
    for m in (model, loaded):
        m.eval()
    assert [o.data for o in loaded(_X)] == [o.data for o in model(_X)]


def test_a_file_written_before_the_flag_existed_loads_with_running_stats(tmp_path):
    model = _model_with(nn.BatchNorm1d(3, momentum=None))
    opt = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.zero_grad()
    sum(model(_X)).backward()
    opt.step()
    path = tmp_path / "old.json"
    nn.save(model, path, opt)
    document = json.loads(path.read_text())
    del document["config"]["layers"][1]["track_running_stats"]  # what files looked like before
    path.write_text(json.dumps(document))
    loaded = nn.load(path)
    assert loaded.layers[1].track_running_stats is True
    assert loaded.config() == model.config() and loaded.state_dict() == model.state_dict()
    assert loaded.layers[1].num_batches_tracked == 1
    nn.load_optimizer(path, loaded)  # the architecture check reads the old config the same way


@pytest.mark.parametrize("value", ["yes", None, 1])
def test_a_file_with_a_bad_flag_names_it(tmp_path, value):
    path = tmp_path / "bad.json"
    nn.save(_model_with(nn.BatchNorm1d(3)), path)
    document = json.loads(path.read_text())
    document["config"]["layers"][1]["track_running_stats"] = value
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"config\.layers\[1\]\.track_running_stats must be true or false"):
        nn.load(path)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_to_torch_and_from_torch_carry_the_flag(torch, mode):
    model = _model_with(nn.BatchNorm1d(3, track_running_stats=False)).train(mode == "train")
    theirs = nn.to_torch(model)
    tbn = theirs[1]
    assert tbn.track_running_stats is False and tbn.running_mean is None and tbn.num_batches_tracked is None
    expected = theirs(torch.tensor(_X, dtype=torch.float64)).detach().numpy().ravel()
    np.testing.assert_allclose([o.data for o in model(_X)], expected, rtol=1e-12, atol=1e-12)
    back = nn.from_torch(theirs)
    assert back.config() == model.config() and back.state_dict() == model.state_dict()
    assert back.training == (mode == "train") and back.layers[1].running_mean is None
    with_stats = nn.from_torch(nn.to_torch(_model_with(nn.BatchNorm1d(3))))
    assert with_stats.layers[1].track_running_stats is True and with_stats.layers[1].running_var == [1.0] * 3


def test_from_torch_refuses_a_flag_changed_after_construction(torch):
    t = torch.nn.BatchNorm1d(2)
    t.track_running_stats = False  # buffers stay, so torch's eval mode would still use them
    with pytest.raises(ValueError, match=r"track_running_stats=False but its running_mean is set"):
        nn.from_torch(t)


def test_compiled_mode_trains_batch_norm_without_running_stats_like_eager():
    from autograd_core import compile
    X, y = np.array(_X), np.array([0.0, 1.0, 1.0, 0.0])
    eager, fast = (_model_with(nn.BatchNorm1d(3, track_running_stats=False)) for _ in range(2))
    nn.fit(eager, X, y, steps=3, progress=False)
    nn.fit(fast, X, y, steps=3, compiled=True, progress=False)
    np.testing.assert_allclose([p.data for p in fast.parameters()], [p.data for p in eager.parameters()],
                               rtol=1e-12, atol=1e-9)
    model = fast
    # Tracing one sample cannot work: even in eval mode it needs a batch.
    with pytest.raises(ValueError, match="needs a batch in training and eval mode"):
        compile(lambda x: model.eval()(x), 2)
