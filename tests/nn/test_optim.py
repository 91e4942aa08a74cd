"""Optimizers and learning-rate schedules against torch.optim (float64 trajectories to 1e-12)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn
from autograd_core import Value

A = np.array([[3.0, 0.5, 0.0], [0.5, 1.0, -0.2], [0.0, -0.2, 0.1]])
B = np.array([0.3, -1.0, 0.7])


def _gradient(x: np.ndarray) -> np.ndarray:
    # ∇ of ½xᵀAx + b·x + 0.1·Σ sin xᵢ: a non-quadratic surface, so updates feed back into gradients.
    return A @ x + B + 0.1 * np.cos(x)


def _trajectories(torch, make_ours, make_torch, steps=60, lr_change=None):
    x0 = np.array([1.0, -2.0, 0.5])
    ours_params = [Value(v) for v in x0]
    ref_params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in x0]
    ours, ref = make_ours(ours_params), make_torch(torch, ref_params)
    for k in range(steps):
        g_ours = _gradient(np.array([p.data for p in ours_params]))
        g_ref = _gradient(np.array([p.item() for p in ref_params]))
        for p, g in zip(ours_params, g_ours):
            p.grad = float(g)
        for p, g in zip(ref_params, g_ref):
            p.grad = torch.tensor(float(g), dtype=torch.float64)
        if lr_change is not None and k == steps // 2:
            ours.lr = lr_change
            for group in ref.param_groups:
                group["lr"] = lr_change
        ours.step()
        ref.step()
        np.testing.assert_allclose([p.data for p in ours_params], [p.item() for p in ref_params],
                                   rtol=1e-12, atol=1e-12, err_msg=f"step {k}")


SGD_CONFIGS = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.8, nesterov=True),
    dict(lr=0.1, momentum=0.5, weight_decay=0.1),
    dict(lr=0.01, maximize=True),
]


@pytest.mark.parametrize("config", SGD_CONFIGS)
def test_sgd_trajectory_matches_torch(torch, config):
    _trajectories(torch, lambda ps: nn.SGD(ps, **config), lambda torch, ps: torch.optim.SGD(ps, **config))


ADAM_CONFIGS = [
    dict(lr=0.05),
    dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.05, weight_decay=0.1),
    dict(lr=0.05, amsgrad=True),
]


@pytest.mark.parametrize("config", ADAM_CONFIGS)
def test_adam_trajectory_matches_torch(torch, config):
    _trajectories(torch, lambda ps: nn.Adam(ps, **config), lambda torch, ps: torch.optim.Adam(ps, **config))


@pytest.mark.parametrize("config", [dict(lr=0.05), dict(lr=0.05, weight_decay=0.2, amsgrad=True), dict()])
def test_adamw_trajectory_matches_torch(torch, config):
    _trajectories(torch, lambda ps: nn.AdamW(ps, **config), lambda torch, ps: torch.optim.AdamW(ps, **config))


@pytest.mark.parametrize("config", [dict(), dict(lr=0.01, momentum=0.5), dict(lr=0.01, centered=True),
                                    dict(lr=0.01, alpha=0.9, weight_decay=0.1, momentum=0.3, centered=True)])
def test_rmsprop_trajectory_matches_torch(torch, config):
    _trajectories(torch, lambda ps: nn.RMSprop(ps, **config), lambda torch, ps: torch.optim.RMSprop(ps, **config))


@pytest.mark.parametrize("make", [
    lambda ps, torch=None: (torch.optim if torch else nn).SGD(ps, lr=0.1, momentum=0.9),
    lambda ps, torch=None: (torch.optim if torch else nn).Adam(ps, lr=0.05),
    lambda ps, torch=None: (torch.optim if torch else nn).RMSprop(ps, lr=0.01),
])
def test_learning_rate_changed_between_steps_matches_torch(torch, make):
    _trajectories(torch, lambda ps: make(ps), lambda torch, ps: make(ps, torch), lr_change=0.003)


def test_defaults_follow_pytorch():
    p = [Value(1.0)]
    assert nn.SGD(p).lr == 1e-3
    adam = nn.Adam(p)
    assert (adam.lr, adam.param_groups[0]["betas"], adam.param_groups[0]["eps"]) == (1e-3, (0.9, 0.999), 1e-8)
    assert nn.AdamW(p).param_groups[0]["weight_decay"] == 0.01
    rms = nn.RMSprop(p)
    assert (rms.lr, rms.param_groups[0]["alpha"], rms.param_groups[0]["eps"]) == (1e-2, 0.99, 1e-8)


def test_plain_sgd_leaves_a_parameter_without_gradient_unchanged():
    used, unused = Value(2.0), Value(-3.0)
    opt = nn.SGD([used, unused], lr=0.5)
    loss = used * used
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert unused.data == -3.0 and used.data == 2.0 - 0.5 * 4.0


def test_zero_grad_resets_grads_and_step_takes_a_closure():
    w = Value(1.0)
    opt = nn.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = w * w
        loss.backward()
        return loss

    assert opt.step(closure).data == 1.0
    assert w.data == pytest.approx(0.8)
    opt.zero_grad()
    assert w.grad == 0.0


def test_optimizer_accepts_a_module_and_param_groups():
    model = nn.MLP(2, [2, 1], rng=0)
    assert nn.SGD(model, lr=0.1).parameters() == model.parameters()
    first, second = model.layers[0].parameters(), model.layers[1].parameters()
    opt = nn.SGD([{"params": first}, {"params": second, "lr": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    opt.lr = 0.2
    assert [g["lr"] for g in opt.param_groups] == [0.2, 0.2]


def test_state_dict_round_trip_continues_the_same_trajectory():
    def run(opt, ps, steps):
        for _ in range(steps):
            for p, g in zip(ps, _gradient(np.array([p.data for p in ps]))):
                p.grad = float(g)
            opt.step()

    for cls, kw in ((nn.Adam, dict(lr=0.05, amsgrad=True)), (nn.SGD, dict(lr=0.1, momentum=0.9)),
                    (nn.RMSprop, dict(momentum=0.5, centered=True))):
        ps = [Value(v) for v in (1.0, -2.0, 0.5)]
        opt = cls(ps, **kw)
        run(opt, ps, 5)
        saved, snapshot = opt.state_dict(), [p.data for p in ps]
        run(opt, ps, 5)
        ps2 = [Value(v) for v in snapshot]
        opt2 = cls(ps2, lr=123.0)
        opt2.load_state_dict(saved)
        run(opt2, ps2, 5)
        assert [p.data for p in ps2] == [p.data for p in ps]


def test_load_state_dict_with_wrong_parameter_count_is_an_error():
    saved = nn.SGD([Value(1.0), Value(2.0)], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="2 parameters in the state dict but 1 here"):
        nn.SGD([Value(1.0)], lr=0.1).load_state_dict(saved)


@pytest.mark.parametrize("make, message", [
    (lambda p: nn.SGD(p, lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda p: nn.SGD(p, lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda p: nn.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    (lambda p: nn.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov momentum requires"),
    (lambda p: nn.SGD(p, lr=0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda p: nn.Adam(p, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda p: nn.Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (lambda p: nn.Adam(p, eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (lambda p: nn.AdamW(p, lr=-1), "Invalid learning rate: -1"),
    (lambda p: nn.RMSprop(p, alpha=-0.1), "Invalid alpha value: -0.1"),
    (lambda p: nn.SGD([], lr=0.1), "empty parameter list"),
])
def test_bad_hyper_parameters_raise_value_error_like_pytorch(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make([Value(1.0)])


def test_non_number_lr_and_non_value_params_are_type_errors():
    with pytest.raises(TypeError, match="lr must be a real number"):
        nn.SGD([Value(1.0)], lr="0.1")
    with pytest.raises(TypeError, match="only optimize Values"):
        nn.SGD([1.0], lr=0.1)
    opt = nn.SGD([Value(1.0)], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        opt.lr = -1.0


def _quadratic_steps(momentum: float) -> int:
    # C = ½(x² + 100·y²): condition number 100, the valley where plain descent zigzags.
    x, y = Value(1.0), Value(1.0)
    opt = nn.SGD([x, y], lr=0.018, momentum=momentum)
    for k in range(5000):
        loss = 0.5 * (x * x + 100 * y * y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if max(abs(x.data), abs(y.data)) < 1e-6:
            return k + 1
    return 5000


def test_momentum_beats_plain_sgd_on_an_ill_conditioned_quadratic():
    plain, heavy = _quadratic_steps(0.0), _quadratic_steps(0.9)
    assert heavy < plain / 2
    assert (plain, heavy) == (761, 257)


def test_adam_reaches_the_rosenbrock_minimum():
    x, y = Value(-1.5), Value(2.0)
    opt = nn.Adam([x, y], lr=0.02)
    first_hit = None
    for k in range(5000):
        loss = (1 - x) ** 2 + 100 * (y - x * x) ** 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        if first_hit is None and abs(x.data - 1) < 1e-3 and abs(y.data - 1) < 1e-3:
            first_hit = k + 1
    assert abs(x.data - 1) < 1e-3 and abs(y.data - 1) < 1e-3
    assert first_hit == 2401


SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=10)),
    ("LinearLR", dict()),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.01)),
]


@pytest.mark.parametrize("name, kwargs", SCHEDULES)
def test_schedules_match_torch(torch, name, kwargs):
    ours_opt = nn.SGD([Value(1.0)], lr=0.5)
    ref_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    ours = getattr(nn.lr_scheduler, name)(ours_opt, **kwargs)
    ref = getattr(torch.optim.lr_scheduler, name)(ref_opt, **kwargs)
    for _ in range(25):
        assert ours_opt.lr == pytest.approx(ref_opt.param_groups[0]["lr"], rel=1e-12, abs=1e-15)
        assert ours.get_last_lr() == pytest.approx(ref.get_last_lr(), rel=1e-12, abs=1e-15)
        ours_opt.step()
        ref_opt.step()
        ours.step()
        ref.step()


def test_linear_schedule_is_micrograds_decay_bit_for_bit():
    opt = nn.SGD([Value(1.0)], lr=1.0)
    sched = nn.LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=100)
    for k in range(100):
        assert opt.lr == 1.0 - 0.9 * k / 100
        sched.step()


def test_step_and_cosine_closed_forms():
    opt = nn.SGD([Value(1.0)], lr=1.0)
    step = nn.StepLR(opt, step_size=2, gamma=0.1)
    lrs = []
    for _ in range(5):
        lrs.append(opt.lr)
        step.step()
    assert lrs == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01])
    opt = nn.SGD([Value(1.0)], lr=1.0)
    cos = nn.CosineAnnealingLR(opt, T_max=4)
    for _ in range(2):
        cos.step()
    assert opt.lr == pytest.approx(0.5) and not math.isnan(opt.lr)


def test_scheduler_rejects_bad_arguments():
    opt = nn.SGD([Value(1.0)], lr=1.0)
    with pytest.raises(ValueError, match="step_size"):
        nn.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        nn.LinearLR(opt, start_factor=0.0)
    with pytest.raises(TypeError, match="Optimizer"):
        nn.StepLR("sgd", step_size=1)
