"""FlatOptimizer: every optimizer's array update gives its per-Value update, step by step."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from autograd_core import Value
from nn import lr_scheduler, optim
from nn.optim import FlatOptimizer

CONFIGS = [
    (optim.SGD, {"lr": 0.1}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05}),
    (optim.SGD, {"lr": 0.1, "maximize": True}),
    (optim.Adam, {"lr": 0.01}),
    (optim.Adam, {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    (optim.AdamW, {"lr": 0.01}),
    (optim.AdamW, {"lr": 0.01, "amsgrad": True, "maximize": True}),
    (optim.RMSprop, {"lr": 0.01}),
    (optim.RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.02}),
    (optim.RMSprop, {"lr": 0.01, "centered": True}),
]
SCHEDULES = [
    None,
    lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=0.5),
    lambda o: lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=5),
    lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=0.001),
]


def _pair(cls, kwargs, schedule, n=7, groups=False):
    rs = np.random.RandomState(0)
    start = rs.randn(n)
    values = [Value(float(v)) for v in start]
    if groups:
        params = [{"params": values[:3]}, {"params": values[3:], "lr": kwargs["lr"] / 2}]
    else:
        params = values
    scalar = cls(params, **kwargs)
    sched = schedule(scalar) if schedule else None
    return values, scalar, sched, start.copy()


@pytest.mark.parametrize("schedule", SCHEDULES, ids=["constant", "step", "linear", "cosine"])
@pytest.mark.parametrize(("cls", "kwargs"), CONFIGS, ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(CONFIGS)])
def test_array_update_equals_the_scalar_update_every_step(cls, kwargs, schedule):
    values, scalar, sched, theta = _pair(cls, kwargs, schedule, groups=cls is optim.Adam)
    # The array side steers the same optimizer's hyper-parameters, so its own copy of the
    # schedule runs on a twin optimizer over twin Values.
    twins = [Value(v.data) for v in values]
    twin_params = twins if len(scalar.param_groups) == 1 else [{"params": twins[:3]},
                                                              {"params": twins[3:], "lr": kwargs["lr"] / 2}]
    twin = cls(twin_params, **kwargs)
    twin_sched = schedule(twin) if schedule else None
    flat = FlatOptimizer(twin, twins)
    rs = np.random.RandomState(1)
    for _ in range(8):
        g = rs.randn(len(values))
        g[2] = 0.0
        for v, gi in zip(values, g):
            v.grad = float(gi)
        scalar.step()
        flat.step(theta, g)
        if sched:
            sched.step()
            twin_sched.step()
        np.testing.assert_allclose(theta, [v.data for v in values], rtol=1e-12, atol=1e-15)
    flat.write_state()
    saved, written = scalar.state_dict()["state"], twin.state_dict()["state"]
    assert saved.keys() == written.keys()
    for i, state in saved.items():
        assert state.keys() == written[i].keys()
        for key in state:
            assert written[i][key] == pytest.approx(state[key], rel=1e-12, abs=1e-15)


def test_state_saved_by_the_scalar_optimizer_is_continued_by_the_array_one():
    values, scalar, _, _ = _pair(optim.Adam, {"lr": 0.05}, None)
    for _ in range(3):
        for v in values:
            v.grad = v.data
        scalar.step()
    twins = [Value(v.data) for v in values]
    twin = optim.Adam(twins, lr=0.05)
    twin.load_state_dict(scalar.state_dict())
    flat = FlatOptimizer(twin, twins)
    theta = np.array([v.data for v in values])
    for v in values:
        v.grad = 1.0
    scalar.step()
    flat.step(theta, np.ones(len(values)))
    np.testing.assert_allclose(theta, [v.data for v in values], rtol=1e-12)


def test_parameters_outside_the_vector_and_custom_rules_are_refused():
    a, b = Value(1.0), Value(2.0)
    with pytest.raises(ValueError, match="not among the model's parameters"):
        FlatOptimizer(optim.SGD([a, b], lr=0.1), [a])

    class Clipped(optim.SGD):
        def _update(self, p, g, group, state):
            super()._update(p, max(-1.0, min(1.0, g)), group, state)

    with pytest.raises(TypeError, match="no array form"):
        FlatOptimizer(Clipped([a], lr=0.1), [a])


def test_a_permuted_group_gathers_and_scatters_its_rows():
    values = [Value(float(i)) for i in range(4)]
    opt = optim.SGD([values[2], values[0]], lr=0.5)
    flat = FlatOptimizer(opt, values)
    theta = np.arange(4.0)
    flat.step(theta, np.ones(4))
    assert theta.tolist() == [-0.5, 1.0, 1.5, 3.0]


def test_optimizer_names_resolve_case_insensitively():
    assert optim.optimizer_class("adamw") is nn.AdamW
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        optim.optimizer_class("lbfgs")
