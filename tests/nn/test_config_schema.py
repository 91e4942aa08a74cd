"""nn.config_schema: each class's schema accepts its own configs and predicts exactly what building costs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nn.batchnorm import BatchNorm1d
from nn.config_schema import MODULE_TYPES, ConfigCost, check_config, config_cost, with_added_keys
from nn.initializers import ACTIVATIONS
from nn.layers import MLP, Activation, Layer, Neuron, Sequential, build
from nn.module import Module


def _actual_cost(model: Module) -> ConfigCost:
    return ConfigCost(len(model.parameters()), len(model.named_buffers()), len(model.modules()))


def test_every_saveable_class_is_registered_under_its_name():
    assert MODULE_TYPES == {"Neuron": Neuron, "Layer": Layer, "Activation": Activation, "Sequential": Sequential,
                            "MLP": MLP, "BatchNorm1d": BatchNorm1d}


def test_a_user_subclass_with_a_schema_does_not_replace_an_nn_type():
    mine = type("MLP", (Module,), {"config_schema": {}, "__module__": "user_code"})
    assert MODULE_TYPES["MLP"] is MLP and mine is not MLP


_mlps = st.builds(
    lambda nin, nouts, activation, bias, batch_norm: MLP(nin, nouts, activation=activation, bias=bias,
                                                         batch_norm=batch_norm, rng=0),
    st.integers(1, 4), st.lists(st.integers(1, 4), min_size=1, max_size=4), st.sampled_from(ACTIVATIONS),
    st.booleans(), st.booleans())
_leaves = st.one_of(
    st.builds(lambda n, o, b: Layer(n, o, bias=b, rng=0), st.integers(1, 4), st.integers(1, 4), st.booleans()),
    st.builds(lambda n, b: Neuron(n, bias=b, rng=0), st.integers(1, 4), st.booleans()),
    st.builds(lambda n, a, t: BatchNorm1d(n, affine=a, track_running_stats=t), st.integers(1, 4), st.booleans(),
              st.booleans()),
    st.builds(Activation, st.sampled_from(ACTIVATIONS)),
    _mlps,
)
_models = st.recursive(_leaves, lambda inner: st.lists(inner, max_size=3).map(lambda ms: Sequential(*ms)),
                       max_leaves=6)


@settings(max_examples=40)
@given(_models)
def test_config_cost_is_exactly_what_build_makes(model):
    config = model.config()
    check_config(config)
    assert config_cost(config) == _actual_cost(model) == _actual_cost(build(config, rng=0))


def test_older_batch_norm_configs_get_the_key_they_lacked():
    old = {"type": "Sequential", "layers": [{"type": "BatchNorm1d", "num_features": 2, "eps": 1e-5,
                                             "momentum": 0.1, "affine": True}]}
    assert with_added_keys(old)["layers"][0]["track_running_stats"] is True
    check_config(with_added_keys(old))
    with pytest.raises(ValueError, match=r"config.layers\[0\] \(BatchNorm1d\): missing keys \['track_running_stats'\]"):
        check_config(old)


@pytest.mark.parametrize(("config", "fragment"), [
    ({"type": ["MLP"]}, "config.type: unknown module type ['MLP']"),
    ({"type": {"a": 1}}, "config.type: unknown module type {'a': 1}"),
    ({"type": "Sequential", "layers": [{"type": "Activation", "name": "swish_beta"}]},
     "config.layers[0].name must be one of"),
    ({"type": "Sequential", "layers": {}}, "config.layers must be a list of module configs, got dict"),
    ({"type": "Layer", "nin": 2, "nout": 0, "activation": "relu", "init": "he", "bias": True},
     "config.nout must be an int in [1, 1,000,000], got 0"),
    ([], "config must be an object, got list"),
], ids=["type_list", "type_dict", "nested_field", "layers_not_list", "zero_width", "not_object"])
def test_a_bad_config_is_one_value_error_naming_the_field(config, fragment):
    with pytest.raises(ValueError) as info:
        check_config(config)
    assert fragment in str(info.value)
