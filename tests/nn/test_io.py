"""nn.io: JSON save/load is bit-exact, atomic and strict; pickling models round-trips."""

from __future__ import annotations

import copy
import json
import os
import pickle
import random

import pytest

from nn.batchnorm import BatchNorm1d
from nn.io import FORMAT_VERSION, MAX_PARAMETERS, load, load_optimizer, save
from nn.layers import MLP, Activation, Layer, Neuron, Sequential
from nn.optim import SGD, Adam, AdamW, RMSprop

X = [[1.0, 2.0], [0.5, -1.0], [0.3, 0.2], [-2.0, 0.7]]


def trained(model, optimizer=None, steps=2):
    """A few steps of training so weights, buffers and optimizer state are all non-trivial."""
    for _ in range(steps):
        model.zero_grad()
        out = model(X)
        loss = sum((o - 1.0) ** 2 for o in out)
        loss.backward()
        if optimizer is not None:
            optimizer.step()
    return model


def outputs(model):
    model.eval()
    return [o.data for o in model(X)]


@pytest.fixture
def path(tmp_path):
    return tmp_path / "model.json"


MODELS = {
    "mlp": lambda: MLP(2, [4, 3, 1], rng=1),
    "mlp_tanh_nobias": lambda: MLP(2, [3, 1], activation="tanh", bias=False, init="xavier", rng=2),
    "mlp_batch_norm": lambda: MLP(2, [4, 1], batch_norm=True, momentum=None, rng=3),
    "sequential": lambda: Sequential(Layer(2, 3, activation="linear", rng=4), BatchNorm1d(3),
                                     Activation("sigmoid"), Layer(3, 1, activation="leaky_relu", rng=5)),
    "layer": lambda: Layer(2, 1, activation="tanh", rng=6),
    "neuron": lambda: Neuron(2, activation="sigmoid", rng=7),
}


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_save_then_load_gives_bit_identical_weights_buffers_and_outputs(make, path):
    model = trained(make())
    save(model, path)
    loaded = load(path)
    assert type(loaded) is type(model)
    assert loaded.config() == model.config()
    assert loaded.state_dict() == model.state_dict()
    assert [p.data for p in loaded.parameters()] == [p.data for p in model.parameters()]
    assert outputs(loaded) == outputs(model)


def test_floats_are_written_with_repr_so_every_bit_survives(path):
    model = MLP(1, [1], rng=0)
    tricky = [0.1 + 0.2, 5e-324, -1.7976931348623157e308, 1 / 3, -0.0]
    model = Sequential(*[Layer(1, 1, rng=0) for _ in tricky])
    for layer, w in zip(model.layers, tricky):
        layer.neurons[0].w[0].data = w
    save(model, path)
    got = [layer.neurons[0].w[0].data for layer in load(path).layers]
    assert [x.hex() for x in got] == [x.hex() for x in tricky]
    assert "0.30000000000000004" in path.read_text()


def test_load_does_not_touch_the_global_random_state(path):
    save(MLP(2, [8, 1], rng=0), path)
    random.seed(5)
    expected = random.random()
    random.seed(5)
    load(path)
    assert random.random() == expected


OPTIMIZERS = {
    "sgd_momentum": lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    "sgd_plain": lambda ps: SGD(ps, lr=0.1),
    "adam_amsgrad": lambda ps: Adam(ps, lr=0.01, betas=(0.8, 0.99), amsgrad=True),
    "adamw": lambda ps: AdamW(ps, lr=0.01, weight_decay=0.1),
    "rmsprop_centered": lambda ps: RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
}


@pytest.mark.parametrize("make_opt", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_resumed_training_matches_uninterrupted_training_exactly(make_opt, path):
    model = MLP(2, [3, 1], rng=0)
    opt = make_opt(model.parameters())
    trained(model, opt, steps=3)
    save(model, path, optimizer=opt)
    model2 = load(path)
    opt2 = load_optimizer(path, model2)
    assert type(opt2) is type(opt)
    trained(model, opt, steps=3)
    trained(model2, opt2, steps=3)
    assert model2.state_dict() == model.state_dict()


def test_optimizer_with_two_param_groups_round_trips(path):
    model = MLP(2, [3, 1], rng=0)
    ps = model.parameters()
    opt = SGD([{"params": ps[:5], "lr": 0.5}, {"params": ps[5:], "momentum": 0.9}], lr=0.1)
    trained(model, opt)
    save(model, path, opt)
    opt2 = load_optimizer(path, load(path))
    assert [g["lr"] for g in opt2.param_groups] == [0.5, 0.1]
    assert [len(g["params"]) for g in opt2.param_groups] == [5, len(ps) - 5]


def test_load_optimizer_without_a_saved_optimizer_names_the_problem(path):
    model = MLP(2, [1], rng=0)
    save(model, path)
    with pytest.raises(ValueError, match="holds no optimizer"):
        load_optimizer(path, model)


def test_load_optimizer_on_a_different_architecture_is_refused(path):
    model = MLP(2, [1], rng=0)
    save(model, path, SGD(model.parameters()))
    with pytest.raises(ValueError, match="does not have the saved architecture"):
        load_optimizer(path, MLP(2, [2, 1], rng=0))


def test_saving_an_optimizer_of_other_values_is_refused(path):
    model = MLP(2, [1], rng=0)
    other = MLP(2, [1], rng=0)
    with pytest.raises(ValueError, match="not parameters of the model"):
        save(model, path, SGD(other.parameters()))
    assert not path.exists()


def test_saving_nan_weights_is_refused_and_writes_nothing(path):
    model = MLP(2, [1], rng=0)
    model.layers[0].neurons[0].b.data = float("nan")
    with pytest.raises(ValueError, match=r"layers\.0\.neurons\.0\.b.*NaN and ±inf are not allowed"):
        save(model, path)
    assert not path.exists()


# -- atomic writes ---------------------------------------------------------------------


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_a_failure_mid_write_leaves_the_previous_file_intact(path, monkeypatch):
    save(MLP(2, [1], rng=0), path)
    before = path.read_bytes()

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        save(MLP(2, [5, 1], rng=1), path)
    assert path.read_bytes() == before
    assert leftovers(path.parent) == []
    assert load(path).config()["nouts"] == [1]


def test_an_interrupt_before_the_rename_leaves_the_previous_file_intact(path, monkeypatch):
    save(MLP(2, [1], rng=0), path)
    before = path.read_bytes()

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save(MLP(2, [5, 1], rng=1), path)
    assert path.read_bytes() == before and leftovers(path.parent) == []


def test_save_writes_a_new_file_with_umask_permissions(path):
    save(MLP(2, [1], rng=0), path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_save_is_plain_json_with_version_config_and_state(path):
    save(MLP(2, [1], rng=0), path)
    doc = json.loads(path.read_text())
    assert doc["format_version"] == FORMAT_VERSION
    assert doc["config"]["type"] == "MLP" and doc["optimizer"] is None
    assert set(doc["state"]) == {"layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.b"}


# -- strict loading ----------------------------------------------------------------------


def saved_doc(path, model=None, optimizer=None):
    model = model or MLP(2, [2, 1], batch_norm=True, rng=0)
    if optimizer is not None:
        optimizer = optimizer(model.parameters())
        trained(model, optimizer)
    save(model, path, optimizer)
    return json.loads(path.read_text())


def corrupt(path, edit, model=None, optimizer=None):
    doc = saved_doc(path, model, optimizer)
    edit(doc)
    path.write_text(json.dumps(doc))


def first_weight(doc):
    return "layers.0.neurons.0.w.0"


CORRUPTIONS = {
    "wrong_version": (lambda d: d.update(format_version=3), "reads format_version 1 to 2"),
    "version_as_string": (lambda d: d.update(format_version="1"), "format_version '1'"),
    "version_as_bool": (lambda d: d.update(format_version=True), "format_version True"),
    "not_our_format": (lambda d: d.update(format="something else"), "is not a 'backprop-lab model' file"),
    "missing_top_key": (lambda d: d.pop("state"), r"missing keys \['state'\] at the top level"),
    "extra_top_key": (lambda d: d.update(code="import os"), r"unexpected keys \['code'\] at the top level"),
    "missing_weight": (lambda d: d["state"].pop(first_weight(d)), r"missing keys \['layers.0.neurons.0.w.0'\]"),
    "extra_weight": (lambda d: d["state"].update({"layers.0.neurons.0.w.9": 1.0}),
                     r"unexpected keys \['layers.0.neurons.0.w.9'\]"),
    "weight_as_list": (lambda d: d["state"].update({"layers.0.neurons.0.w.0": [1.0, 2.0]}), "wrong shape"),
    "weight_as_string": (lambda d: d["state"].update({"layers.0.neurons.0.w.0": "0.5"}), "must be a number, got str"),
    "weight_as_bool": (lambda d: d["state"].update({"layers.0.neurons.0.w.0": True}), "must be a number, got bool"),
    "weight_as_null": (lambda d: d["state"].update({"layers.0.neurons.0.w.0": None}), "got NoneType"),
    "huge_int_weight": (lambda d: d["state"].update({"layers.0.neurons.0.w.0": 10**400}), "too large for a float"),
    "negative_running_var": (lambda d: d["state"].update({"layers.1.running_var.0": -1.0}), "cannot be negative"),
    "fractional_batch_count": (lambda d: d["state"].update({"layers.1.num_batches_tracked": 1.5}),
                               "must be a non-negative int"),
    "absurd_width": (lambda d: d["config"].update(nouts=[10**9, 1]), r"nouts\[0\] must be an int in \[1, 1,000,000\]"),
    "too_many_parameters": (lambda d: d["config"].update(nin=900_000, nouts=[900_000, 1]),
                            f"more than the limit of {MAX_PARAMETERS:,}"),
    "zero_width": (lambda d: d["config"].update(nouts=[0, 1]), r"nouts\[0\] must be an int"),
    "float_width": (lambda d: d["config"].update(nin=2.0), r"config\.nin must be an int"),
    "unknown_activation": (lambda d: d["config"].update(activation="swish"), "activation must be one of"),
    "unknown_module": (lambda d: d["config"].update(type="Conv2d"), "unknown module type 'Conv2d'"),
    "extra_config_key": (lambda d: d["config"].update(dropout=0.5), r"unexpected keys \['dropout'\]"),
    "negative_eps": (lambda d: d["config"].update(eps=-1.0), "eps must be a positive number"),
    "config_not_object": (lambda d: d.update(config=[1, 2]), "config must be an object, got list"),
    "state_not_object": (lambda d: d.update(state=[1.0]), "state must be an object"),
    "not_an_object": (lambda d: (d.clear(), d.update(x=1)), "missing keys"),
}


@pytest.mark.parametrize(("edit", "message"), CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_corrupted_file_raises_one_clear_value_error(path, edit, message):
    corrupt(path, edit)
    with pytest.raises(ValueError, match=message):
        load(path)


RAW_CORRUPTIONS = {
    "truncated": (lambda t: t[: len(t) // 2], "is not valid JSON"),
    "empty": (lambda t: "", "is not valid JSON"),
    "nan_weight": (lambda t: t.replace('"layers.0.neurons.0.w.0": ', '"layers.0.neurons.0.w.0": NaN, "x": ', 1),
                   "NaN is not allowed"),
    "infinity_weight": (lambda t: t.replace('"momentum": 0.1', '"momentum": -Infinity'), "Infinity is not allowed"),
    "overflowing_literal": (lambda t: t.replace('"eps": 1e-05', '"eps": 1e999'), r"eps = inf is not finite"),
    "duplicate_key": (lambda t: t.replace('"state": {', '"state": {"layers.0.neurons.0.b": 1.0, ', 1),
                      "duplicate key 'layers.0.neurons.0.b'"),
    "top_level_list": (lambda t: "[" + t + "]", "must hold a JSON object, got list"),
    "deep_nesting": (lambda t: "[" * 100_000 + "]" * 100_000, "nests JSON too deeply|must hold a JSON object"),
    "long_integer": (lambda t: t.replace('"nin": 2', '"nin": ' + "9" * 5000), "not a valid model file"),
    "not_utf8": (lambda t: "\udcff", "not UTF-8"),
}


@pytest.mark.parametrize(("edit", "message"), RAW_CORRUPTIONS.values(), ids=RAW_CORRUPTIONS.keys())
def test_malformed_text_raises_one_clear_value_error(path, edit, message):
    saved_doc(path)
    text = edit(path.read_text())
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ValueError, match=message):
        load(path)


OPTIMIZER_CORRUPTIONS = {
    "unknown_type": (lambda o: o.update(type="LBFGS"), "unknown type 'LBFGS'"),
    "negative_lr": (lambda o: o["param_groups"][0].update(lr=-1.0), "Invalid learning rate"),
    "lr_as_string": (lambda o: o["param_groups"][0].update(lr="0.1"), r"lr must be a number"),
    "beta_out_of_range": (lambda o: o["param_groups"][0].update(betas=[1.5, 0.9]), "Invalid beta parameter"),
    "missing_hyper": (lambda o: o["param_groups"][0].pop("eps"), r"missing keys \['eps'\]"),
    "index_out_of_range": (lambda o: o["param_groups"][0]["params"].append(99), "has 99"),
    "duplicate_index": (lambda o: o["param_groups"][0]["params"].append(0), "at most once"),
    "state_for_unknown_param": (lambda o: o["state"].update({"99": {}}), "must be the index of a parameter"),
    "state_missing_moment": (lambda o: o["state"]["0"].pop("exp_avg_sq"), r"missing keys \['exp_avg_sq'\]"),
    "state_negative_square": (lambda o: o["state"]["0"].update(exp_avg_sq=-1.0), "cannot be negative"),
}


@pytest.mark.parametrize(("edit", "message"), OPTIMIZER_CORRUPTIONS.values(), ids=OPTIMIZER_CORRUPTIONS.keys())
def test_corrupted_optimizer_raises_one_clear_value_error(path, edit, message):
    corrupt(path, lambda d: edit(d["optimizer"]), model=MLP(2, [2, 1], rng=0), optimizer=Adam)
    model = load(path)
    with pytest.raises(ValueError, match=message):
        load_optimizer(path, model)


def test_a_failed_load_changes_nothing_and_the_good_file_still_loads(path, tmp_path):
    good = tmp_path / "good.json"
    model = MLP(2, [2, 1], rng=0)
    save(model, good)
    corrupt(path, lambda d: d["state"].update({"layers.1.neurons.0.b": "oops"}))
    with pytest.raises(ValueError, match=r"layers\.1\.neurons\.0\.b"):
        load(path)
    assert load(good).state_dict() == model.state_dict()


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.json")


def test_saving_something_that_is_not_a_module_is_a_type_error(path):
    with pytest.raises(TypeError, match=r"needs an nn\.Module, got list"):
        save([1.0], path)


# -- pickle and deepcopy of models -----------------------------------------------------


def pickled(model):
    return pickle.loads(pickle.dumps(model))


MODEL_COPIERS = [
    pytest.param(pickled, id="pickle"),
    pytest.param(copy.deepcopy, id="deepcopy"),
]


@pytest.mark.parametrize("copier", MODEL_COPIERS)
def test_copied_model_trains_on_its_own_parameters(copier):
    model = trained(MLP(2, [3, 1], batch_norm=True, rng=0))
    twin = copier(model)
    assert twin.state_dict() == model.state_dict()
    assert all(a is not b for a, b in zip(twin.parameters(), model.parameters()))
    before = model.state_dict()
    opt = SGD(twin.parameters(), lr=0.1)
    trained(twin, opt)
    assert model.state_dict() == before
    assert twin.state_dict() != before


@pytest.mark.parametrize("copier", [pickled, copy.deepcopy], ids=["pickle", "deepcopy"])
def test_copied_model_with_a_loss_graph_keeps_parameters_shared_with_the_graph(copier):
    model = Sequential(Layer(2, 2, activation="tanh", rng=0), Layer(2, 1, activation="sigmoid", rng=1))
    loss = (model([1.0, -1.0]) - 1.0) ** 2
    twin, twin_loss = copier((model, loss))
    twin_loss.backward()
    assert all(p.grad == 0.0 for p in model.parameters())
    assert all(p.grad != 0.0 for p in twin.parameters())
    loss.backward()
    assert [p.grad for p in twin.parameters()] == [p.grad for p in model.parameters()]
