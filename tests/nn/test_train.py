"""fit, History, predict and accuracy: the training loop end to end on small data."""

from __future__ import annotations

import gc
import math
import random
import weakref

import numpy as np
import pytest

import nn
from autograd_core import Value

X_SMALL, Y_SMALL = nn.make_moons(30, noise=0.1, seed=0)


def _model(**kw):
    return nn.MLP(2, [8, 1], rng=0, **kw)


def test_history_has_one_entry_per_step_and_loss_goes_down():
    h = nn.fit(_model(), X_SMALL, Y_SMALL, steps=15, alpha=1e-4, progress=False)
    assert isinstance(h, nn.History) and len(h) == 15
    for field in (h.step, h.loss, h.data_loss, h.accuracy, h.val_loss, h.val_accuracy, h.lr):
        assert len(field) == 15
    assert h.step == list(range(15))
    assert h.loss[-1] < h.loss[0]
    assert all(d <= t for d, t in zip(h.data_loss, h.loss))
    assert all(math.isnan(v) for v in h.val_loss)
    assert h.grad_norms == {}


def test_default_optimizer_is_sgd_with_micrograds_linear_decay():
    h = nn.fit(_model(), X_SMALL, Y_SMALL, steps=20, progress=False)
    assert h.lr == [1.0 - 0.9 * k / 20 for k in range(20)]


def test_loss_curve_equals_micrograds_demo_loop():
    mg_nn = pytest.importorskip("micrograd.nn")
    from micrograd.engine import Value as MValue

    X, y = nn.make_moons(24, noise=0.1, seed=1337)
    random.seed(1337)
    model = nn.MLP(2, [16, 16, 1])
    random.seed(1337)
    ref = mg_nn.MLP(2, [16, 16, 1])
    opt = nn.SGD(model.parameters(), lr=1.0)
    sched = nn.LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=100)
    h = nn.fit(model, X, y, loss="hinge", alpha=1e-4, steps=3, optimizer=opt, scheduler=sched, progress=False)
    yy = y * 2 - 1
    for k in range(3):
        scores = [ref(list(map(MValue, row))) for row in X]
        losses = [(1 + -yi * si).relu() for yi, si in zip(yy, scores)]
        total = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in ref.parameters())
        acc = sum((yi > 0) == (si.data > 0) for yi, si in zip(yy, scores)) / len(yy)
        ref.zero_grad()
        total.backward()
        for p in ref.parameters():
            p.data -= (1.0 - 0.9 * k / 100) * p.grad
        assert h.loss[k] == pytest.approx(total.data, rel=1e-12)
        assert h.accuracy[k] == acc
    for p, q in zip(model.parameters(), ref.parameters()):
        assert p.data == pytest.approx(q.data, rel=1e-9, abs=1e-12)


def test_mini_batches_are_seeded_and_epochs_set_the_step_count():
    a = nn.fit(_model(), X_SMALL, Y_SMALL, batch_size=8, epochs=3, seed=5, progress=False)
    b = nn.fit(_model(), X_SMALL, Y_SMALL, batch_size=8, epochs=3, seed=5, progress=False)
    c = nn.fit(_model(), X_SMALL, Y_SMALL, batch_size=8, epochs=3, seed=6, progress=False)
    assert len(a) == 3 * (30 // 8)
    assert a.loss == b.loss and a.loss != c.loss


def test_mini_batch_accuracy_is_measured_on_the_batch():
    seen = []

    def loss(outputs, targets):
        seen.append(len(outputs))
        return nn.mse_loss(outputs, targets)

    nn.fit(_model(), X_SMALL, nn.to_pm1(Y_SMALL), loss=loss, batch_size=7, steps=5, progress=False)
    assert seen == [7] * 5


def test_validation_data_is_scored_every_eval_every_steps():
    Xv, yv = nn.make_moons(20, noise=0.1, seed=1)
    h = nn.fit(_model(), X_SMALL, Y_SMALL, X_val=Xv, y_val=yv, steps=6, eval_every=2, progress=False)
    assert [math.isnan(v) for v in h.val_loss] == [False, True, False, True, False, False]
    assert 0.0 <= h.val_accuracy[-1] <= 1.0
    model = _model()
    nn.fit(model, X_SMALL, Y_SMALL, steps=6, progress=False)
    assert h.val_accuracy[-1] == nn.accuracy(model, Xv, yv)


def test_grad_norms_are_l2_norms_of_each_layers_weight_gradients():
    recorded = {}

    def callback(step, model, history):
        # After optimizer.step() the grads of this step are still in place.
        for name in ("layers.0", "layers.1"):
            layer = dict(model.named_modules())[name]
            ws = [w for n in layer.neurons for w in n.w]
            recorded.setdefault(name, []).append(math.sqrt(sum(w.grad ** 2 for w in ws)))

    h = nn.fit(_model(), X_SMALL, Y_SMALL, steps=3, track_grad_norms=True, callback=callback, progress=False)
    assert set(h.grad_norms) == {"layers.0", "layers.1"}
    assert h.grad_norms == recorded


def test_callback_returning_true_stops_training():
    h = nn.fit(_model(), X_SMALL, Y_SMALL, steps=50, progress=False, callback=lambda k, m, hist: k == 3)
    assert len(h) == 4


def test_progress_bar_shows_the_loss_and_progress_false_is_silent(capsys):
    nn.fit(_model(), X_SMALL, Y_SMALL, steps=2, progress=False)
    assert capsys.readouterr().err == ""
    nn.fit(_model(), X_SMALL, Y_SMALL, steps=2, progress=True)
    assert "loss=" in capsys.readouterr().err


@pytest.mark.parametrize("loss, nout, labels", [("mse", 1, "01"), ("bce", 1, "01"), ("cross_entropy", 2, "01"),
                                                ("hinge", 1, "pm1")])
def test_every_named_loss_trains(loss, nout, labels):
    y = Y_SMALL if labels == "01" else nn.to_pm1(Y_SMALL)
    model = nn.MLP(2, [8, nout], rng=1)
    opt = nn.SGD(model.parameters(), lr=0.1, momentum=0.9)
    h = nn.fit(model, X_SMALL, y, loss=loss, optimizer=opt, steps=25, progress=False)
    assert h.loss[-1] < h.loss[0]
    assert h.accuracy[-1] > 0.7


def test_adam_and_batch_norm_model_train_together():
    model = nn.MLP(2, [6, 6, 1], batch_norm=True, rng=2)
    opt = nn.Adam(model.parameters(), lr=0.05)
    h = nn.fit(model, X_SMALL, Y_SMALL, optimizer=opt, steps=20, progress=False)
    assert h.loss[-1] < h.loss[0] and h.accuracy[-1] >= 0.8
    assert model.training
    assert model.layers[1].num_batches_tracked == 20


def test_compiled_fit_matches_eager_fit():
    pytest.importorskip("nn.compiled")
    eager = nn.fit(_model(), X_SMALL, Y_SMALL, steps=5, alpha=1e-3, progress=False, track_grad_norms=True)
    fast = nn.fit(_model(), X_SMALL, Y_SMALL, steps=5, alpha=1e-3, progress=False, track_grad_norms=True,
                  compiled=True)
    np.testing.assert_allclose(fast.loss, eager.loss, rtol=1e-10)
    assert fast.accuracy == eager.accuracy
    np.testing.assert_allclose(fast.grad_norms["layers.0"], eager.grad_norms["layers.0"], rtol=1e-9)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="unknown loss 'l1'"):
        nn.fit(_model(), X_SMALL, Y_SMALL, loss="l1", progress=False)
    with pytest.raises(ValueError, match="hinge loss needs labels"):
        nn.fit(_model(), X_SMALL, Y_SMALL + 3, progress=False)
    with pytest.raises(ValueError, match="1-D with 30 entries"):
        nn.fit(_model(), X_SMALL, Y_SMALL[:10], progress=False)
    with pytest.raises(ValueError, match="2-D"):
        nn.fit(_model(), X_SMALL[0], Y_SMALL, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        nn.fit(_model(), X_SMALL, Y_SMALL, batch_size=0, progress=False)
    with pytest.raises(ValueError, match="both X_val and y_val"):
        nn.fit(_model(), X_SMALL, Y_SMALL, X_val=X_SMALL, progress=False)
    with pytest.raises(ValueError, match="compiled=True needs a named loss"):
        nn.fit(_model(), X_SMALL, Y_SMALL, loss=nn.hinge_loss, compiled=True, progress=False)
    with pytest.raises(TypeError, match=r"nn\.Module"):
        nn.fit(lambda x: x, X_SMALL, Y_SMALL, progress=False)
    with pytest.raises(ValueError, match="steps must be an int from 0 to"):
        nn.fit(_model(), X_SMALL, Y_SMALL, steps=10**20, progress=False)
    with pytest.raises(ValueError, match="epochs must be an int from 0 to"):
        nn.fit(_model(), X_SMALL, Y_SMALL, epochs=-1, progress=False)


@pytest.mark.parametrize("compiled", [False, True])
def test_cross_entropy_on_a_one_output_model_is_refused_in_both_modes(compiled):
    with pytest.raises(ValueError, match="one output per class"):
        nn.fit(_model(), X_SMALL, Y_SMALL, loss="cross_entropy", steps=1, progress=False, compiled=compiled)


def test_predict_returns_floats_shaped_by_the_number_of_outputs():
    single = nn.predict(_model(), X_SMALL)
    assert single.shape == (30,) and single.dtype == np.float64
    multi = nn.predict(nn.MLP(2, [4, 3], rng=0), X_SMALL)
    assert multi.shape == (30, 3)
    model = _model()
    assert single[0] == model(X_SMALL[0]).data


def test_predict_records_no_graph_and_leaves_batch_norm_state_alone():
    model = nn.MLP(2, [4, 1], batch_norm=True, rng=0)
    before = model.state_dict()
    out = nn.predict(model, X_SMALL)
    assert out.shape == (30,)
    assert model.state_dict() == before and model.training
    with pytest.raises(ValueError, match="eval"):
        nn.predict(model, X_SMALL[:1])
    model.eval()
    assert nn.predict(model, X_SMALL[:1]).shape == (1,)
    assert not model.training


def test_accuracy_uses_score_sign_or_argmax():
    class Fixed(nn.Module):
        def __init__(self, outputs):
            self.outputs = outputs

        def forward(self, x):
            return self.outputs[int(x[0])]

    single = Fixed([Value(2.0), Value(-1.0), Value(0.5)])
    X = np.array([[0.0], [1.0], [2.0]])
    assert nn.accuracy(single, X, [1, 0, 0]) == pytest.approx(2 / 3)
    assert nn.accuracy(single, X, [1, -1, 1]) == 1.0
    multi = Fixed([[Value(0.0), Value(1.0)], [Value(3.0), Value(1.0)], [Value(0.0), Value(-1.0)]])
    assert nn.accuracy(multi, X, [1, 0, 1]) == pytest.approx(2 / 3)


def _gc_state_during_steps():
    seen = []

    def loss(outputs, targets):
        seen.append(gc.isenabled())
        return nn.mse_loss(outputs, targets)

    return seen, loss


def test_fit_pauses_the_cyclic_gc_during_steps_and_reenables_it_after():
    seen, loss = _gc_state_during_steps()
    assert gc.isenabled()
    nn.fit(_model(), X_SMALL, Y_SMALL, steps=2, loss=loss, progress=False)
    assert seen == [False, False]
    assert gc.isenabled()


def test_fit_leaves_a_disabled_gc_disabled():
    seen, loss = _gc_state_during_steps()
    gc.disable()
    try:
        nn.fit(_model(), X_SMALL, Y_SMALL, steps=2, loss=loss, progress=False)
        assert seen == [False, False]
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize("enabled", [True, False])
def test_fit_restores_the_gc_state_when_a_step_raises(enabled):
    def broken_loss(outputs, targets):
        raise ZeroDivisionError("bad loss")

    if not enabled:
        gc.disable()
    try:
        with pytest.raises(ZeroDivisionError, match="bad loss"):
            nn.fit(_model(), X_SMALL, Y_SMALL, steps=2, loss=broken_loss, progress=False)
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


def test_cycles_made_during_a_step_are_still_collected():
    collected = []

    class Cycle:
        def __init__(self):
            self.me = self

    def loss(outputs, targets):
        c = Cycle()
        weakref.finalize(c, collected.append, True)
        return nn.mse_loss(outputs, targets)

    nn.fit(_model(), X_SMALL, Y_SMALL, steps=1, loss=loss, progress=False)
    gc.collect()
    assert collected == [True]
