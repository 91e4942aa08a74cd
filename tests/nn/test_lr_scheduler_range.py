"""StepLR beyond the float range: ±inf where torch gives it, never an exception."""

import math

import pytest

import nn
from autograd_core import Value

STEPS = 1200


def _ours(lr, gamma, step_size):
    opt = nn.SGD([Value(0.0)], lr=lr)
    schedule = nn.StepLR(opt, step_size=step_size, gamma=gamma)
    rates = []
    for _ in range(STEPS):
        opt.step()
        schedule.step()
        rates.append(opt.lr)
    return rates


def _torch(torch, lr, gamma, step_size):
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=lr)
    schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=step_size, gamma=gamma)
    rates = []
    for _ in range(STEPS):
        opt.step()
        schedule.step()
        rates.append(opt.param_groups[0]["lr"])
    return rates


def _same(a, b):
    if math.isinf(a) or a == 0:
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return math.isclose(a, b, rel_tol=1e-12)


@pytest.mark.parametrize(("lr", "gamma", "step_size"), [
    (0.1, 2.0, 1), (0.1, -2.0, 1), (3.0, 1.9, 1), (0.0, 2.0, 1), (0.0, -2.0, 1), (0.1, 2.0, 2),
    (0.1, 1.5, 1), (1.0, 0.5, 1), (1e300, 0.5, 1), (1e-300, 3.0, 1), (0.5, 0.0, 2),
])
def test_step_lr_matches_torch_past_the_float_range(torch, lr, gamma, step_size):
    ours, theirs = _ours(lr, gamma, step_size), _torch(torch, lr, gamma, step_size)
    bad = [(k, a, b) for k, (a, b) in enumerate(zip(ours, theirs)) if not _same(a, b)]
    assert not bad, bad[:3]


def test_step_lr_overflows_to_inf_without_torch():
    rates = _ours(0.1, 2.0, 1)
    assert rates[999] == pytest.approx(0.1 * 2.0**1000, rel=1e-12)
    assert rates[-1] == math.inf and all(not math.isnan(r) for r in rates)
