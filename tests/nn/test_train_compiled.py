"""fit(compiled=True): the eager trajectory, on arrays, with the Values right at every sync point.

Compiled steps keep the weights in one float64 vector θ. The Values are written at the sync
points — before every callback, when fit returns or raises — and everything is read back after
a callback, so edits made there (a weight by hand, a replaced layer, an added parameter) count.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd_core import Value
from nn import lr_scheduler, optim

# 25 samples, 13 of one class: no gradient is exactly 0 by symmetry, where Adam's m/√v would
# turn the last bit of a summation order into a full ±η step.
X, Y = nn.make_moons(25, noise=0.1, seed=3)
Y3 = (np.arange(25) % 3)


def _weights(model: nn.Module) -> np.ndarray:
    return np.array([p.data for p in model.parameters()])


def _grads(model: nn.Module) -> np.ndarray:
    return np.array([float(p.grad) for p in model.parameters()])


OPTIMIZERS = [
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
    (optim.Adam, {"lr": 0.01, "amsgrad": True}),
    (optim.AdamW, {"lr": 0.01}),
    (optim.RMSprop, {"lr": 0.01, "momentum": 0.3, "centered": True}),
]
SCHEDULES = [
    None,
    lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=0.5),
    lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=5),
]


def _run(compiled: bool, cls=optim.SGD, kwargs=None, schedule=None, **model_kw):
    model = nn.MLP(2, [6, 5, 1], rng=4, **model_kw)
    opt = cls(model.parameters(), **(kwargs or {"lr": 0.2}))
    sched = schedule(opt) if schedule else None
    h = nn.fit(model, X, Y, optimizer=opt, scheduler=sched, steps=6, alpha=1e-3, progress=False,
               compiled=compiled, track_grad_norms=True)
    return model, opt, h


@pytest.mark.parametrize("schedule", SCHEDULES, ids=["constant", "step", "cosine"])
@pytest.mark.parametrize(("cls", "kwargs"), OPTIMIZERS, ids=[c.__name__ for c, _ in OPTIMIZERS])
def test_compiled_fit_equals_eager_fit_for_every_optimizer_and_schedule(cls, kwargs, schedule):
    m_e, o_e, h_e = _run(False, cls, kwargs, schedule)
    m_c, o_c, h_c = _run(True, cls, kwargs, schedule)
    np.testing.assert_allclose(_weights(m_c), _weights(m_e), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(_grads(m_c), _grads(m_e), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(h_c.loss, h_e.loss, rtol=1e-12)
    assert h_c.lr == h_e.lr and h_c.accuracy == h_e.accuracy
    np.testing.assert_allclose(h_c.grad_norms["layers.0"], h_e.grad_norms["layers.0"], rtol=1e-10)
    s_e, s_c = o_e.state_dict(), o_c.state_dict()
    assert s_c["param_groups"] == s_e["param_groups"]
    assert s_c["state"].keys() == s_e["state"].keys()
    for i, state in s_e["state"].items():
        for key, value in state.items():
            assert s_c["state"][i][key] == pytest.approx(value, rel=1e-9, abs=1e-13)


@pytest.mark.parametrize("track", [True, False])
def test_compiled_fit_equals_eager_fit_with_batch_norm(track):
    def run(compiled):
        model = nn.MLP(2, [6, 5, 1], rng=4, batch_norm=True)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d) and not track:
                m.track_running_stats, m.buffer_names = False, ()
                m.running_mean = m.running_var = m.num_batches_tracked = None
        opt = optim.Adam(model.parameters(), lr=0.02)
        h = nn.fit(model, X, Y, optimizer=opt, steps=6, batch_size=8, progress=False, compiled=compiled,
                   X_val=X[:10], y_val=Y[:10])
        return model, h

    (m_e, h_e), (m_c, h_c) = run(False), run(True)
    # A bias feeding batch norm has ∂C/∂b = 0 exactly (the mean is subtracted): its value is
    # rounding noise of the cancelling sums (~1e-10 after 6 steps), the same size both ways.
    before_bn = {id(n.b) for layer in m_c.layers[:-1] if isinstance(layer, nn.Layer) for n in layer.neurons}
    noise = np.array([id(p) in before_bn for p in m_c.parameters()])
    w_c, w_e = _weights(m_c), _weights(m_e)
    np.testing.assert_allclose(w_c[~noise], w_e[~noise], rtol=1e-12, atol=1e-13)
    assert np.abs(w_c[noise]).max() < 1e-8 and np.abs(w_e[noise]).max() < 1e-8
    np.testing.assert_allclose(h_c.val_loss, h_e.val_loss, rtol=1e-9)  # running μ carries that noise
    buffers_e, buffers_c = dict(m_e.named_buffers()), dict(m_c.named_buffers())
    assert buffers_c.keys() == buffers_e.keys() and (len(buffers_e) > 0) == track
    for name, value in buffers_e.items():  # running μ includes those biases' noise
        assert buffers_c[name] == pytest.approx(value, rel=1e-12, abs=1e-9)


def test_compiled_fit_trains_cross_entropy_mse_and_bce_like_eager():
    for loss, nout, y in [("cross_entropy", 3, Y3), ("mse", 1, Y), ("bce", 1, Y)]:
        results = []
        for compiled in (False, True):
            model = nn.MLP(2, [5, nout], activation="tanh", rng=1)
            h = nn.fit(model, X, y, loss=loss, optimizer=optim.SGD(model.parameters(), lr=0.3), steps=4,
                       progress=False, compiled=compiled)
            results.append((_weights(model), h.loss))
        np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12)


def test_values_are_synced_before_every_callback():
    model = nn.MLP(2, [4, 1], rng=0)
    twin = nn.MLP(2, [4, 1], rng=0)
    seen = []
    nn.fit(model, X, Y, steps=3, progress=False, compiled=True,
           callback=lambda k, m, h: seen.append((_weights(m), _grads(m))))
    eager_seen = []
    nn.fit(twin, X, Y, steps=3, progress=False, callback=lambda k, m, h: eager_seen.append((_weights(m), _grads(m))))
    for (w_c, g_c), (w_e, g_e) in zip(seen, eager_seen):
        np.testing.assert_allclose(w_c, w_e, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g_c, g_e, rtol=1e-10, atol=1e-14)


def test_state_dict_and_save_in_a_callback_see_the_current_weights(tmp_path):
    model = nn.MLP(2, [4, 1], rng=0, batch_norm=True)
    opt = optim.Adam(model.parameters(), lr=0.05)
    saved = []

    def callback(k, m, h):
        saved.append(m.state_dict())
        nn.save(m, tmp_path / f"step{k}.json", optimizer=opt)

    nn.fit(model, X, Y, optimizer=opt, steps=2, progress=False, compiled=True, callback=callback)
    assert saved[-1] == model.state_dict()
    assert saved[0] != saved[1]
    loaded = nn.load(tmp_path / "step1.json")
    assert loaded.state_dict() == pytest.approx(model.state_dict())
    fresh = nn.load_optimizer(tmp_path / "step1.json", loaded)
    assert fresh.state_dict()["state"][0]["step"] == 2.0
    assert fresh.state_dict()["state"][0] == pytest.approx(opt.state_dict()["state"][0])


def test_values_are_synced_when_fit_raises():
    model = nn.MLP(2, [4, 1], rng=0)
    twin = nn.MLP(2, [4, 1], rng=0)

    def stop(k, m, h):
        if k == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        nn.fit(model, X, Y, steps=10, progress=False, compiled=True, callback=stop)
    nn.fit(twin, X, Y, steps=10, progress=False, callback=lambda k, m, h: k == 2)
    np.testing.assert_allclose(_weights(model), _weights(twin), rtol=1e-12, atol=1e-14)


def test_a_weight_set_by_hand_in_a_callback_is_used_from_the_next_step():
    def run(compiled):
        model = nn.MLP(2, [4, 1], rng=0)

        def edit(k, m, h):
            if k == 1:
                m.layers[0].neurons[0].w[0].data = 5.0
                m.layers[1].neurons[0].b.data = -1.0

        nn.fit(model, X, Y, steps=4, progress=False, compiled=compiled, callback=edit)
        return _weights(model)

    np.testing.assert_allclose(run(True), run(False), rtol=1e-12, atol=1e-14)


def test_a_replaced_layer_and_an_added_parameter_are_seen():
    def run(compiled):
        model = nn.MLP(2, [4, 1], rng=0)
        opt = optim.SGD(model.parameters(), lr=0.1)

        def edit(k, m, h):
            if k == 1:
                m.layers[1] = nn.Layer(4, 1, activation="linear", rng=9)
                opt.add_param_group({"params": m.layers[1].parameters()})
            if k == 2:
                m.layers[0].neurons[1].w[1] = Value(0.5)
                opt.add_param_group({"params": [m.layers[0].neurons[1].w[1]]})

        nn.fit(model, X, Y, optimizer=opt, steps=5, progress=False, compiled=compiled, callback=edit)
        return model

    m_e, m_c = run(False), run(True)
    np.testing.assert_allclose(_weights(m_c), _weights(m_e), rtol=1e-12, atol=1e-14)
    assert m_c.layers[0].neurons[1].w[1].data != 0.5


def test_an_extra_value_attribute_counts_as_a_parameter():
    model = nn.MLP(2, [3, 1], rng=0)
    model.layers[0].scale = Value(2.0)  # a parameter the forward pass never reads
    from nn.compiled import Program

    prog = Program(model, 2)
    assert len(prog.params) == len(model.parameters())
    assert prog.params[-1] is model.layers[0].scale or model.layers[0].scale in prog.params


def test_tied_weights_fall_back_to_the_traced_program():
    model = nn.MLP(2, [3, 1], rng=0)
    model.layers[0].neurons[1].w[0] = model.layers[0].neurons[0].w[0]
    from nn.compiled import Program

    assert Program(model, 2).stages is None


def test_a_custom_optimizer_runs_on_the_values():
    class Halved(optim.SGD):
        def _update(self, p, g, group, state):
            super()._update(p, g / 2, group, state)

    def run(compiled):
        model = nn.MLP(2, [4, 1], rng=0)
        nn.fit(model, X, Y, optimizer=Halved(model.parameters(), lr=0.2), steps=3, progress=False,
               compiled=compiled)
        return _weights(model)

    np.testing.assert_allclose(run(True), run(False), rtol=1e-12, atol=1e-14)


def test_a_custom_module_is_traced_and_trains_like_eager():
    class Twice(nn.Module):
        def __init__(self):
            self.inner = nn.MLP(2, [3, 1], rng=0)

        def forward(self, x):
            return self.inner(x) * 2

    results = []
    for compiled in (False, True):
        model = Twice()
        nn.fit(model, X, Y, steps=3, progress=False, compiled=compiled)
        results.append(_weights(model))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12, atol=1e-14)


def test_predict_and_accuracy_run_batched_and_equal_eager():
    model = nn.MLP(2, [5, 3], rng=2, batch_norm=True, activation="sigmoid")
    nn.fit(model, X, Y3, loss="cross_entropy", steps=3, progress=False, compiled=True)
    model.eval()
    eager = np.array([[v.data for v in row] for row in model(X)])
    np.testing.assert_allclose(nn.predict(model, X), eager, rtol=1e-12, atol=1e-15)
    model.train()
    eager = np.array([[v.data for v in row] for row in model(X)])
    before = model.state_dict()
    np.testing.assert_allclose(nn.predict(model, X), eager, rtol=1e-12, atol=1e-15)
    assert model.state_dict() == before
    assert nn.accuracy(model, X, Y3) == pytest.approx(np.mean(np.argmax(eager, axis=1) == Y3))


def test_float32_training_is_close_to_float64():
    results = []
    for dtype in (np.float64, np.float32):
        model = nn.MLP(2, [8, 1], rng=0)
        h = nn.fit(model, X, Y, steps=20, progress=False, compiled=True, dtype=dtype)
        results.append((_weights(model), h.loss))
        assert all(isinstance(p.data, float) for p in model.parameters())
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-3, atol=1e-4)
    with pytest.raises(ValueError, match="dtype"):
        nn.fit(nn.MLP(2, [2, 1], rng=0), X, Y, steps=1, progress=False, compiled=True, dtype=np.int32)
    with pytest.raises(ValueError, match="dtype"):
        nn.fit(nn.MLP(2, [2, 1], rng=0), X, Y, steps=1, progress=False, dtype=np.float32)


def test_saving_after_compiled_fit_writes_the_trained_weights(tmp_path):
    model = nn.MLP(2, [4, 1], rng=0, batch_norm=True)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = _weights(model)
    nn.fit(model, X, Y, optimizer=opt, steps=3, progress=False, compiled=True)
    assert not np.allclose(_weights(model), before)
    nn.save(model, tmp_path / "m.json", optimizer=opt)
    loaded = nn.load(tmp_path / "m.json")
    np.testing.assert_array_equal(_weights(loaded), _weights(model))
    assert dict(loaded.named_buffers()) == dict(model.named_buffers())
    assert dict(model.named_buffers())["layers.1.num_batches_tracked"] == 3
    restored = nn.load_optimizer(tmp_path / "m.json", loaded)
    assert restored.state_dict()["state"] == opt.state_dict()["state"]


@pytest.mark.parametrize("make", [
    lambda: nn.Neuron(2, activation="tanh", rng=1),
    lambda: nn.Layer(2, 3, activation="leaky_relu", rng=1),
    lambda: nn.Layer(2, 1, activation="sigmoid", bias=False, rng=1),
    lambda: nn.Sequential(nn.Layer(2, 3, activation="linear", rng=1), nn.Activation("relu")),
    lambda: nn.Sequential(nn.Layer(2, 3, activation="linear", rng=1), nn.BatchNorm1d(3, affine=False)),
    lambda: nn.MLP(2, [4, 4, 2], activation="tanh", rng=1),
], ids=["neuron", "layer", "no-bias", "activation-last", "batch-norm-last", "mlp"])
def test_every_built_in_shape_predicts_like_eager(make):
    model = make()
    from nn.compiled import Program

    assert Program(model, 2).stages is not None
    outs = model(X)
    eager = np.array([[v.data for v in o] if isinstance(o, list) else o.data for o in outs])
    got = nn.predict(model, X)
    assert got.shape == eager.shape
    np.testing.assert_allclose(got, eager, rtol=1e-12, atol=1e-15)


def test_zero_steps_leave_weights_and_grads_as_they_were():
    model = nn.MLP(2, [3, 1], rng=0)
    for p in model.parameters():
        p.grad = 0.5
    before = _weights(model)
    h = nn.fit(model, X, Y, steps=0, progress=False, compiled=True)
    assert len(h) == 0
    np.testing.assert_array_equal(_weights(model), before)
    assert all(p.grad == 0.5 for p in model.parameters())


@settings(max_examples=25, deadline=None)
@given(widths=st.lists(st.integers(1, 5), min_size=1, max_size=3), activation=st.sampled_from(
    ["relu", "tanh", "sigmoid", "leaky_relu", "linear"]), bias=st.booleans(), batch_norm=st.booleans(),
    n=st.integers(2, 6), seed=st.integers(0, 10_000))
def test_any_built_in_mlp_gives_the_eager_loss_outputs_and_gradients(widths, activation, bias, batch_norm, n, seed):
    from nn.compiled import compiled_loss

    rs = np.random.RandomState(seed)
    Xr, yr = rs.randn(n, 3), rs.randn(n)
    eager, fast = (nn.MLP(3, [*widths, 1], activation=activation, bias=bias, batch_norm=batch_norm, rng=seed)
                   for _ in range(2))
    outs = eager(Xr)
    C = nn.mse_loss(outs, yr.tolist())
    C.backward()
    C_c, out_c = compiled_loss(fast, "mse", Xr, yr)
    assert C_c == pytest.approx(C.data, rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(out_c, [o.data for o in outs], rtol=1e-12, atol=1e-14)
    g_e = _grads(eager)
    np.testing.assert_allclose(_grads(fast), g_e, rtol=1e-9, atol=1e-12 * max(1.0, np.abs(g_e).max()))
    assert dict(fast.named_buffers()) == pytest.approx(dict(eager.named_buffers()), rel=1e-12, abs=1e-15)
