"""nn.Module: dotted parameter names, modes, state_dict round trips and their errors, config/build."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd_core import Value


def test_named_parameters_use_dotted_names_in_micrograd_order():
    model = nn.MLP(2, [3, 1], rng=0)
    names = [name for name, _ in model.named_parameters()]
    assert names[:3] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.b"]
    assert "layers.0.neurons.2.w.1" in names
    assert names[-1] == "layers.1.neurons.0.b"
    assert [p for _, p in model.named_parameters()] == model.parameters()
    assert len(names) == len(set(names)) == 3 * 3 + 4


def test_named_modules_lists_self_and_every_submodule():
    model = nn.MLP(2, [3, 1], rng=0)
    names = [name for name, _ in model.named_modules()]
    assert names[0] == "" and "layers.0" in names and "layers.1.neurons.0" in names
    assert len(names) == 1 + 2 + 3 + 1


def test_zero_grad_resets_every_parameter_grad():
    model = nn.MLP(2, [3, 1], rng=0)
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_train_and_eval_set_the_mode_of_every_submodule():
    model = nn.MLP(2, [3, 3, 1], batch_norm=True, rng=0)
    assert model.eval() is model
    assert all(not m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(TypeError, match="bool"):
        model.train("no")


def test_state_dict_holds_plain_floats_and_batchnorm_buffers():
    model = nn.MLP(2, [4, 1], batch_norm=True, rng=0)
    state = model.state_dict()
    assert all(type(v) is float for v in state.values())
    assert "layers.1.running_mean.0" in state and state["layers.1.running_var.3"] == 1.0
    assert "layers.1.gamma.0" in state and "layers.2.neurons.0.b" not in state
    assert "layers.3.neurons.0.b" in state
    json.dumps(state)


def test_load_state_dict_round_trip_gives_identical_outputs():
    a = nn.MLP(2, [5, 5, 1], batch_norm=True, rng=1)
    a([[0.1, 0.2], [0.3, -1.0], [2.0, 1.0]])  # moves the running statistics
    b = nn.build(a.config(), rng=99)
    assert a.state_dict() != b.state_dict()
    b.load_state_dict(a.state_dict())
    assert b.state_dict() == a.state_dict()
    a.eval()
    b.eval()
    assert a([0.5, -0.5]).data == b([0.5, -0.5]).data


def test_load_state_dict_missing_key_names_it_and_changes_nothing():
    model = nn.MLP(2, [2, 1], rng=0)
    before = model.state_dict()
    state = {k: 0.0 for k in before}
    del state["layers.0.neurons.1.w.0"]
    with pytest.raises(KeyError, match=r"missing keys \['layers.0.neurons.1.w.0'\]"):
        model.load_state_dict(state)
    assert model.state_dict() == before


def test_load_state_dict_unexpected_key_from_a_wider_model_names_it():
    small = nn.MLP(2, [2, 1], rng=0)
    wide = nn.MLP(3, [2, 1], rng=0)
    with pytest.raises(KeyError, match=r"unexpected keys \['layers.0.neurons.0.w.2'"):
        small.load_state_dict(wide.state_dict())


def test_load_state_dict_non_number_names_the_key():
    model = nn.Neuron(2, rng=0)
    state = model.state_dict()
    state["w.1"] = [1.0, 2.0]
    with pytest.raises(TypeError, match=r"state_dict\['w.1'\].*wrong shape"):
        model.load_state_dict(state)


def test_load_state_dict_non_strict_reports_missing_and_unexpected():
    model = nn.Neuron(2, rng=0)
    missing, unexpected = model.load_state_dict({"w.0": 5.0, "extra": 1.0}, strict=False)
    assert model.w[0].data == 5.0
    assert missing == ["w.1", "b"] and unexpected == ["extra"]


def test_config_is_json_and_build_rebuilds_the_same_architecture():
    for model in (nn.MLP(2, [16, 16, 1]), nn.MLP(3, [4, 2], activation="tanh", batch_norm=True, bias=False),
                  nn.Layer(3, 2, activation="sigmoid"), nn.Neuron(4, nonlin=False), nn.BatchNorm1d(3, momentum=None),
                  nn.Sequential(nn.Layer(2, 3), nn.Activation("tanh"), nn.Layer(3, 1))):
        config = json.loads(json.dumps(model.config()))
        rebuilt = nn.build(config)
        assert type(rebuilt) is type(model)
        assert repr(rebuilt) == repr(model)
        assert list(rebuilt.state_dict()) == list(model.state_dict())
        assert rebuilt.config() == model.config()


def test_build_rejects_unknown_types_and_bad_configs():
    with pytest.raises(ValueError, match="unknown module type 'Conv2d'"):
        nn.build({"type": "Conv2d"})
    with pytest.raises(ValueError, match="missing the key 'nouts'"):
        nn.build({"type": "MLP", "nin": 2})
    with pytest.raises(ValueError, match="'type' key"):
        nn.build([1, 2])


def test_parameters_are_values_and_buffers_are_not_parameters():
    bn = nn.BatchNorm1d(2)
    assert all(isinstance(p, Value) for p in bn.parameters())
    assert [n for n, _ in bn.named_parameters()] == ["gamma.0", "gamma.1", "beta.0", "beta.1"]
    assert [n for n, _ in bn.named_buffers()] == ["running_mean.0", "running_mean.1", "running_var.0",
                                                  "running_var.1", "num_batches_tracked"]


def test_module_without_forward_says_so():
    class Empty(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="Empty does not implement forward"):
        Empty()([1.0])


@pytest.mark.parametrize("bad", [[], "abc", 3 + 0j, [{"a": 1}], __import__("numpy").zeros((2, 2, 2))])
def test_bad_inputs_get_a_clear_error(bad):
    with pytest.raises((TypeError, ValueError), match=r"expected|sample|batch|empty"):
        nn.MLP(2, [1], rng=0)(bad)


def test_save_load_and_torch_bridge_are_reachable_from_nn():
    for name in ("save", "load", "load_optimizer", "to_torch", "from_torch"):
        assert callable(getattr(nn, name))
    with pytest.raises(AttributeError, match="no attribute 'Conv2d'"):
        nn.Conv2d


@settings(max_examples=25)
@given(nin=st.integers(1, 4), nouts=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       activation=st.sampled_from(["relu", "tanh", "sigmoid", "leaky_relu", "linear"]),
       batch_norm=st.booleans(), bias=st.booleans(), seed=st.integers(0, 1000))
def test_build_plus_state_dict_reproduces_any_mlp(nin, nouts, activation, batch_norm, bias, seed):
    model = nn.MLP(nin, nouts, activation=activation, batch_norm=batch_norm, bias=bias, rng=seed)
    X = np.random.default_rng(seed).normal(size=(3, nin))
    model(X)
    copy = nn.build(json.loads(json.dumps(model.config())), rng=seed + 1)
    copy.load_state_dict(model.state_dict())
    model.eval()
    copy.eval()
    assert nn.predict(copy, X).tolist() == nn.predict(model, X).tolist()
