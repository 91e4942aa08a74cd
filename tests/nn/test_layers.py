"""Neuron, Layer, MLP: micrograd drop-in behaviour, calling convention and keyword extensions."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

import nn
from autograd_core import Value

micrograd_nn = pytest.importorskip("micrograd.nn")


def test_seeded_mlp_has_exactly_micrograds_weights_and_repr():
    random.seed(1337)
    ours = nn.MLP(2, [16, 16, 1])
    random.seed(1337)
    theirs = micrograd_nn.MLP(2, [16, 16, 1])
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    assert repr(ours) == repr(theirs)
    assert repr(nn.Layer(2, 2, nonlin=False)) == "Layer of [LinearNeuron(2), LinearNeuron(2)]"


def test_mlp_output_equals_micrograds_bit_for_bit():
    random.seed(7)
    ours = nn.MLP(3, [4, 4, 1])
    random.seed(7)
    theirs = micrograd_nn.MLP(3, [4, 4, 1])
    for x in ([0.5, -1.5, 2.0], [1.0, 1.0, 1.0], [-3.0, 0.25, 0.0]):
        out = ours(x)
        assert isinstance(out, Value)
        assert out.data == theirs(x).data


def test_mlp_gradients_equal_micrograds():
    random.seed(3)
    ours = nn.MLP(2, [5, 1])
    random.seed(3)
    theirs = micrograd_nn.MLP(2, [5, 1])
    ours([0.3, -0.7]).backward()
    theirs([0.3, -0.7]).backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert p.grad == pytest.approx(q.grad, abs=1e-15)


def test_neuron_computes_relu_of_w_dot_x_plus_b():
    n = nn.Neuron(2, rng=0)
    n.w[0].data, n.w[1].data, n.b.data = 2.0, -3.0, 0.5
    assert n([1.0, 0.5]).data == 1.0
    assert n([-1.0, 0.5]).data == 0.0
    assert nn.Neuron(2, nonlin=False, rng=0).nonlin is False


def test_neuron_sums_in_micrograds_order():
    n = nn.Neuron(3, rng=0)
    x = [0.1, 0.2, 0.3]
    expected = sum((wi * xi for wi, xi in zip(n.w, x)), n.b).relu().data
    assert n(x).data == expected
    assert n(x).op == "relu"


def test_layer_returns_one_value_for_one_output_and_a_list_otherwise():
    assert isinstance(nn.Layer(2, 1, rng=0)([1.0, 2.0]), Value)
    out = nn.Layer(2, 3, rng=0)([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 3


def test_batch_call_returns_one_output_per_sample_for_lists_and_arrays():
    model = nn.MLP(2, [4, 1], rng=0)
    X = [[0.1, 0.2], [0.3, 0.4], [-1.0, 2.0]]
    singles = [model(x).data for x in X]
    assert [o.data for o in model(X)] == singles
    assert [o.data for o in model(np.array(X))] == singles
    assert model(np.array(X[0])).data == singles[0]
    multi = nn.MLP(2, [4, 3], rng=0)(np.array(X))
    assert len(multi) == 3 and all(len(o) == 3 for o in multi)


def test_values_as_inputs_receive_gradients():
    model = nn.MLP(2, [3, 1], rng=0)
    x = [Value(0.5), Value(-0.5)]
    model(x).backward()
    assert any(xi.grad != 0.0 for xi in x)


def test_wrong_number_of_features_is_a_clear_error():
    with pytest.raises(ValueError, match="expects samples of 2 features, got a sample of 3"):
        nn.MLP(2, [3, 1], rng=0)([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="2 features"):
        nn.Neuron(2, rng=0)([1.0])


@pytest.mark.parametrize("activation, fn", [
    ("relu", lambda z: max(z, 0.0)),
    ("tanh", math.tanh),
    ("sigmoid", lambda z: 1 / (1 + math.exp(-z))),
    ("leaky_relu", lambda z: z if z > 0 else 0.01 * z),
    ("linear", lambda z: z),
])
def test_activation_option_applies_sigma_to_z(activation, fn):
    n = nn.Neuron(2, activation=activation, rng=1)
    for x in ([1.0, -2.0], [-1.0, 2.0]):
        z = n.b.data + n.w[0].data * x[0] + n.w[1].data * x[1]
        assert n(x).data == pytest.approx(fn(z), rel=1e-15, abs=1e-15)


def test_unknown_activation_and_init_are_rejected_with_the_choices():
    with pytest.raises(ValueError, match=r"unknown activation 'swish'.*relu"):
        nn.Neuron(2, activation="swish")
    with pytest.raises(ValueError, match=r"unknown init 'zeros'.*xavier"):
        nn.MLP(2, [2], init="zeros")
    with pytest.raises(ValueError, match="nin must be a positive int"):
        nn.Layer(0, 2)
    with pytest.raises(ValueError, match="nouts"):
        nn.MLP(2, [])


def test_rng_seed_reproduces_weights_without_touching_global_random():
    random.seed(5)
    before = random.getstate()
    a = nn.MLP(2, [8, 8, 1], rng=42)
    assert random.getstate() == before
    b = nn.MLP(2, [8, 8, 1], rng=random.Random(42))
    assert [p.data for p in a.parameters()] == [p.data for p in b.parameters()]
    random.seed(42)
    c = nn.MLP(2, [8, 8, 1])
    assert [p.data for p in a.parameters()] == [p.data for p in c.parameters()]


def test_xavier_and_he_init_stay_within_their_bounds():
    xavier = nn.Layer(50, 30, init="xavier", rng=0)
    bound = math.sqrt(6 / (50 + 30))
    ws = [w.data for n in xavier.neurons for w in n.w]
    assert max(abs(w) for w in ws) <= bound and max(abs(w) for w in ws) > 0.9 * bound
    he = nn.Layer(50, 30, init="he", rng=0)
    ws = [w.data for n in he.neurons for w in n.w]
    assert max(abs(w) for w in ws) <= math.sqrt(6 / 50)
    normal = nn.Layer(200, 100, init="he_normal", rng=0)
    ws = np.array([w.data for n in normal.neurons for w in n.w])
    assert ws.std() == pytest.approx(math.sqrt(2 / 200), rel=0.05)


def test_bias_false_drops_b_from_parameters_and_output():
    n = nn.Neuron(2, nonlin=False, bias=False, rng=0)
    assert n.b is None and len(n.parameters()) == 2
    assert n([1.0, 1.0]).data == n.w[0].data + n.w[1].data
    model = nn.MLP(2, [3, 1], bias=False, rng=0)
    assert not any(name.endswith(".b") for name, _ in model.named_parameters())


def test_mlp_hidden_layers_use_activation_and_last_layer_is_linear():
    model = nn.MLP(2, [3, 3, 2], activation="tanh", rng=0)
    assert [layer.activation for layer in model.layers] == ["tanh", "tanh", "linear"]
    assert repr(model.layers[0]).startswith("Layer of [TanhNeuron(2)")


def test_batch_norm_mlp_puts_bn_between_linear_part_and_activation():
    model = nn.MLP(2, [4, 4, 1], batch_norm=True, rng=0)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Layer", "BatchNorm1d", "Activation", "Layer", "BatchNorm1d", "Activation", "Layer"]
    assert model.layers[0].activation == "linear"
    assert "BatchNorm1d(4, eps=1e-05, momentum=0.1), ReLU()" in repr(model)


def test_batch_norm_mlp_on_one_sample_in_training_mode_says_pass_a_batch():
    model = nn.MLP(2, [4, 1], batch_norm=True, rng=0)
    with pytest.raises(ValueError, match=r"needs a batch.*\.eval\(\)"):
        model([1.0, 2.0])
    out = model([[1.0, 2.0], [0.0, 1.0]])
    assert len(out) == 2 and all(isinstance(o, Value) for o in out)
    model.eval()
    assert isinstance(model([1.0, 2.0]), Value)


def test_sequential_chains_modules_and_rejects_non_modules():
    seq = nn.Sequential(nn.Layer(2, 3, nonlin=False, rng=0), nn.Activation("tanh"), nn.Layer(3, 1, rng=1))
    x = [0.2, -0.4]
    h = [math.tanh(v.data) for v in seq.layers[0](x)]
    assert seq(x).data == pytest.approx(seq.layers[2](h).data, rel=1e-15)
    with pytest.raises(TypeError, match="Sequential takes Modules"):
        nn.Sequential(lambda x: x)


def test_models_survive_pickle_and_deepcopy_with_identical_outputs():
    import copy
    import pickle

    model = nn.MLP(2, [4, 4, 1], batch_norm=True, activation="tanh", rng=0)
    model([[0.1, 0.2], [0.3, -0.1]])
    model.eval()
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert clone.state_dict() == model.state_dict()
        assert clone.parameters()[0] is not model.parameters()[0]
        assert [o.data for o in clone([[1.0, 2.0], [0.0, 1.0]])] == [o.data for o in model([[1.0, 2.0], [0.0, 1.0]])]
