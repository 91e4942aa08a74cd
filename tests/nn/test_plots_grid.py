"""The decision-boundary grid: built-in models run batched, anything else is traced or called."""

import numpy as np
import pytest

import autograd_core
from autograd_core import Value, no_grad
from nn import MLP
from nn.plots import evaluate_on_grid

POINTS = np.random.default_rng(0).uniform(-2, 2, size=(30, 2))


def _eager(model, points):
    with no_grad():
        rows = [model([Value(float(a)) for a in p]) for p in points]
    return np.array([[v.data for v in r] if isinstance(r, list) else r.data for r in rows])


@pytest.fixture
def no_tracing(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a built-in model should not be traced")

    monkeypatch.setattr(autograd_core, "compile", refuse)


@pytest.mark.parametrize(("nouts", "batch_norm"), [([5, 1], False), ([4, 4, 3], False), ([4, 1], True)])
def test_built_in_models_run_batched_without_tracing(no_tracing, nouts, batch_norm):
    model = MLP(2, nouts, activation="tanh", rng=1, batch_norm=batch_norm)
    if batch_norm:
        model(np.random.default_rng(1).normal(size=(8, 2)))  # running statistics away from (0, 1)
        model.eval()
    fast = evaluate_on_grid(model, POINTS)
    eager = _eager(model, POINTS)
    assert fast.shape == eager.shape == ((30,) if nouts[-1] == 1 else (30, 3))
    np.testing.assert_allclose(fast, eager, rtol=1e-12, atol=1e-12)


def test_a_training_mode_batch_norm_model_is_not_run_as_one_batch(monkeypatch):
    model = MLP(2, [3, 1], rng=0, batch_norm=True)  # training mode: per-row means nothing batched
    calls = []
    monkeypatch.setattr("nn.compiled.predict_array", lambda *a: calls.append(a))
    with pytest.raises(Exception):  # noqa: B017 - a single training-mode sample is refused by BatchNorm1d
        evaluate_on_grid(model, POINTS[:3])
    assert calls == []


def test_an_arbitrary_function_is_still_traced():
    traced = evaluate_on_grid(lambda v: (v[0] * v[1]).tanh(), POINTS)
    np.testing.assert_allclose(traced, np.tanh(POINTS[:, 0] * POINTS[:, 1]), rtol=1e-14)


def test_a_function_with_python_branches_is_not_traced_into_wrong_values():
    # Tracing fixes `if x.data > 0` to the traced sample's branch; the spot check must catch it.
    f = lambda p: p[0] * 2.0 if p[0].data > 0 else p[1] * 3.0
    xs = np.linspace(-2.0, 2.0, 41)
    points = np.stack([xs, np.full_like(xs, 5.0)], axis=1)
    expected = [2.0 * x if x > 0 else 15.0 for x in xs]
    assert evaluate_on_grid(f, points).tolist() == expected
