"""One activation table for all of ``nn``: layers, the CLI, save/load, compiled mode and the
PyTorch bridge accept every name in ``nn.activations.ACTIVATIONS``."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import autograd_core as ag
import nn
from autograd_core import Value
from nn import io
from nn.activations import ACTIVATIONS, activation_function, activation_spec, check_activation
from nn.app.cli import build_parser

X = [[0.3, -1.2], [2.5, 0.1], [-0.7, -3.5], [4.0, 3.0]]


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_activation_drives_a_neuron_layer_and_mlp(name):
    sigma = activation_function(name)
    z = Value(0.37)
    assert _neuron_output(name, z) == sigma(Value(0.37)).data
    model = nn.MLP(2, [3, 1], activation=name, rng=0)
    out = model(X[0])
    out.backward()
    assert isinstance(out, Value)
    title = activation_spec(name).title
    assert f"{title}Neuron(2)" in repr(model) or name == "linear"
    assert repr(nn.Activation(name)) == activation_spec(name).module_repr


def _neuron_output(name, z):
    n = nn.Neuron(1, activation=name, rng=0)
    n.w[0].data, n.b.data = 1.0, 0.0
    return n([z]).data


def test_unknown_activation_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown activation 'swish'; expected one of \['relu'.*'gelu'"):
        nn.MLP(2, [1], activation="swish")
    with pytest.raises(ValueError, match="unknown activation"):
        check_activation(3)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_models_with_every_activation_save_load_and_pickle(tmp_path, name):
    model = nn.MLP(2, [3, 2], activation=name, rng=1)
    io.save(model, tmp_path / "m.json")
    loaded = io.load(tmp_path / "m.json")
    restored = pickle.loads(pickle.dumps(model))
    for x in X:
        expected = [v.data for v in model(x)]
        assert [v.data for v in loaded(x)] == expected
        assert [v.data for v in restored(x)] == expected


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_compiled_model_equals_eager_for_every_activation(name):
    model = nn.MLP(2, [4, 1], activation=name, rng=2)
    f = ag.compile(model, n_inputs=2)
    eager = [model(x).data for x in X]
    np.testing.assert_allclose(f(np.array(X)), eager, rtol=1e-12, atol=1e-14)


def test_cli_accepts_every_hidden_activation():
    parser = build_parser()
    for name in ACTIVATIONS:
        if name == "linear":
            continue
        assert parser.parse_args(["train", "--activation", name]).activation == name


@pytest.mark.parametrize("name", [a for a in ACTIVATIONS if a != "linear"])
def test_torch_bridge_round_trips_every_activation(torch, name):
    model = nn.MLP(2, [3, 3, 1], activation=name, rng=3)
    t = nn.to_torch(model)
    with torch.no_grad():
        theirs = t(torch.tensor(X, dtype=torch.float64)).squeeze(1).tolist()
    ours = [model(x).data for x in X]
    # torch's Softplus returns x itself above x = 20 (ours is exact there); not reached here
    np.testing.assert_allclose(theirs, ours, rtol=1e-12, atol=1e-14)
    back = nn.from_torch(t)
    assert back.activation == name
    assert [back(x).data for x in X] == pytest.approx(ours, rel=1e-12, abs=1e-14)


def test_from_torch_refuses_an_activation_with_other_arguments(torch):
    seq = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ELU(alpha=2.0), torch.nn.Linear(2, 1))
    with pytest.raises(ValueError, match=r"supports ELU only as ELU\(alpha=1.0\)"):
        nn.from_torch(seq)
    gelu = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.GELU(approximate="tanh"), torch.nn.Linear(2, 1))
    assert nn.from_torch(gelu).activation == "gelu_tanh"
