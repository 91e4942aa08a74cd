"""Every save loads back: save mid-training, load, continue — bit-identical to never having saved.

For each kind of model (MLP with every activation, Sequential, with and without BatchNorm1d, with
and without running statistics) hypothesis draws an optimizer, a learning-rate schedule, a loss,
eager or compiled steps and how far ``nn.fit`` has gone. The run is saved, then both the
original and the reloaded copy train on: weights, buffers, optimizer state and schedule must
agree exactly (``==`` on floats, not approximately).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from nn.batchnorm import BatchNorm1d
from nn.initializers import ACTIVATIONS
from nn.io import load, load_optimizer, load_scheduler, save
from nn.layers import MLP, Activation, Layer, Sequential
from nn.lr_scheduler import CosineAnnealingLR, LinearLR, StepLR
from nn.optim import SGD, Adam, AdamW, RMSprop

X, Y = nn.make_moons(12, noise=0.2, seed=3)


def _sequential(batch_norm: BatchNorm1d | None, outputs: int) -> Sequential:
    middle = [batch_norm] if batch_norm is not None else []
    return Sequential(Layer(2, 3, activation="linear", rng=11), *middle, Activation("tanh"),
                      Layer(3, outputs, activation="linear", rng=12))


def _mlp(activation: str):
    return lambda k: MLP(2, [4, k], activation=activation, rng=1)


# kind → (make(outputs), whether the model can be compiled)
MODELS = {
    **{f"mlp_{a}": (_mlp(a), True) for a in ACTIVATIONS},
    "mlp_deep_nobias_xavier": (lambda k: MLP(2, [3, 3, k], activation="tanh", bias=False, init="xavier", rng=2),
                               True),
    "sequential": (lambda k: _sequential(None, k), True),
    "mlp_batch_norm": (lambda k: MLP(2, [4, k], batch_norm=True, rng=3), False),
    "mlp_batch_norm_cumulative": (lambda k: MLP(2, [3, 3, k], batch_norm=True, momentum=None, rng=4), False),
    "sequential_batch_norm_no_running_stats": (
        lambda k: _sequential(BatchNorm1d(3, track_running_stats=False), k), False),
    "sequential_batch_norm_no_affine": (lambda k: _sequential(BatchNorm1d(3, affine=False, momentum=0.3), k), False),
}

OPTIMIZERS = {
    "sgd": lambda ps: SGD(ps, lr=0.1),
    "sgd_momentum": lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.1),
    "sgd_nesterov": lambda ps: SGD(ps, lr=0.1, momentum=0.8, nesterov=True),
    "sgd_weight_decay": lambda ps: SGD(ps, lr=0.1, weight_decay=1e-2, momentum=0.5),
    "adam": lambda ps: Adam(ps, lr=0.05),
    "adam_amsgrad": lambda ps: Adam(ps, lr=0.05, amsgrad=True, weight_decay=1e-3),
    "adamw": lambda ps: AdamW(ps, lr=0.05),
    "rmsprop": lambda ps: RMSprop(ps, lr=0.01),
    "rmsprop_centered_momentum": lambda ps: RMSprop(ps, lr=0.01, momentum=0.9, centered=True),
}

SCHEDULERS = {
    "none": lambda opt: None,
    "step": lambda opt: StepLR(opt, step_size=2, gamma=0.5),
    "linear": lambda opt: LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=5),
    "cosine": lambda opt: CosineAnnealingLR(opt, T_max=4, eta_min=1e-3),
}


def _train(model, optimizer, scheduler, loss, steps, compiled, batch_size, alpha, seed):
    nn.fit(model, X, Y, loss=loss, optimizer=optimizer, scheduler=scheduler, steps=steps, compiled=compiled,
           batch_size=batch_size, alpha=alpha, seed=seed, progress=False)


@pytest.mark.parametrize("kind", MODELS)
@settings(max_examples=6)
@given(optimizer=st.sampled_from(sorted(OPTIMIZERS)), scheduler=st.sampled_from(sorted(SCHEDULERS)),
       loss=st.sampled_from(["hinge", "mse", "bce", "cross_entropy"]), compiled=st.booleans(),
       before=st.integers(0, 4), after=st.integers(1, 3), batch_size=st.sampled_from([None, 4]),
       alpha=st.sampled_from([0.0, 1e-3]))
def test_saved_run_continues_bit_identically(tmp_path_factory, kind, optimizer, scheduler, loss, compiled, before,
                                             after, batch_size, alpha):
    make, compilable = MODELS[kind]
    compiled = compiled and compilable
    model = make(2 if loss == "cross_entropy" else 1)
    opt = OPTIMIZERS[optimizer](model.parameters())
    sched = SCHEDULERS[scheduler](opt)
    _train(model, opt, sched, loss, before, compiled, batch_size, alpha, seed=0)
    path = tmp_path_factory.mktemp("roundtrip") / "run.json"
    save(model, path, opt, sched)

    _train(model, opt, sched, loss, after, compiled, batch_size, alpha, seed=1)
    model2 = load(path)
    opt2 = load_optimizer(path, model2)
    sched2 = load_scheduler(path, opt2) if sched is not None else None
    _train(model2, opt2, sched2, loss, after, compiled, batch_size, alpha, seed=1)

    assert model2.state_dict() == model.state_dict()
    assert opt2.state_dict() == opt.state_dict()
    if sched is not None:
        assert sched2.state_dict() == sched.state_dict()
        assert sched2.get_last_lr() == sched.get_last_lr()


def test_a_scheduler_saved_by_fit_is_in_the_file_and_loads(tmp_path):
    model = MLP(2, [3, 1], rng=0)
    opt = SGD(model.parameters(), lr=1.0)
    sched = LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=10)
    nn.fit(model, X, Y, optimizer=opt, scheduler=sched, steps=4, progress=False)
    save(model, tmp_path / "m.json", opt, sched)
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["scheduler"] == {"type": "LinearLR", "start_factor": 1.0, "end_factor": 0.1, "total_iters": 10,
                                "last_epoch": 4, "base_lrs": [1.0], "last_lr": sched.get_last_lr()}
    assert doc["optimizer"]["param_groups"][0]["initial_lr"] == 1.0
    opt2 = load_optimizer(tmp_path / "m.json", load(tmp_path / "m.json"))
    assert opt2.param_groups[0]["initial_lr"] == 1.0 and opt2.lr == opt.lr
    sched2 = load_scheduler(tmp_path / "m.json", opt2)
    sched.step()
    sched2.step()
    assert opt2.lr == opt.lr


def test_optimizer_saved_with_a_scheduler_but_without_it_still_loads(tmp_path):
    model = MLP(2, [2, 1], rng=0)
    opt = Adam(model.parameters(), lr=0.1)
    StepLR(opt, 1)
    save(model, tmp_path / "m.json", opt)
    opt2 = load_optimizer(tmp_path / "m.json", load(tmp_path / "m.json"))
    assert opt2.state_dict() == opt.state_dict()
    with pytest.raises(ValueError, match="the file holds no scheduler"):
        load_scheduler(tmp_path / "m.json", opt2)


def test_a_scheduler_needs_its_own_optimizer_to_be_saved(tmp_path):
    model = MLP(2, [2, 1], rng=0)
    opt = Adam(model.parameters())
    sched = StepLR(Adam(model.parameters()), 1)
    with pytest.raises(ValueError, match="save the scheduler together with the optimizer it drives"):
        save(model, tmp_path / "m.json", opt, sched)
    with pytest.raises(ValueError, match="save the scheduler together with the optimizer it drives"):
        save(model, tmp_path / "m.json", None, StepLR(opt, 1))
    assert not (tmp_path / "m.json").exists()
