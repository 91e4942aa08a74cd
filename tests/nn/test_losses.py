"""Losses against torch.nn.functional (float64, values and gradients to 1e-12), stability and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn
from autograd_core import Value

RNG = np.random.default_rng(0)


def _vals(a):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        return [Value(float(v)) for v in a]
    return [[Value(float(v)) for v in row] for row in a]


def _grads(vs):
    if isinstance(vs[0], Value):
        return np.array([v.grad for v in vs])
    return np.array([[v.grad for v in row] for row in vs])


def _compare(torch, ours_fn, torch_fn, inputs, *extra):
    values = _vals(inputs)
    out = ours_fn(values, *extra)
    out.backward()
    t = torch.tensor(inputs, dtype=torch.float64, requires_grad=True)
    ref = torch_fn(t)
    ref.backward()
    assert out.data == pytest.approx(ref.item(), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(_grads(values), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_loss_matches_torch(torch, reduction):
    F = torch.nn.functional
    pred, target = RNG.normal(size=7), RNG.normal(size=7)
    _compare(torch, lambda v: nn.mse_loss(v, target, reduction=reduction),
             lambda t: F.mse_loss(t, torch.tensor(target), reduction=reduction), pred)


def test_mse_loss_on_one_value_is_the_seeds_cost():
    a = Value(0.8)
    c = nn.mse_loss(a, 1.0)
    c.backward()
    assert c.data == pytest.approx(0.04) and a.grad == pytest.approx(2 * (0.8 - 1.0))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_hinge_loss_matches_torch_relu_of_one_minus_margin(torch, reduction):
    scores, y = RNG.normal(size=9) * 2, RNG.choice([-1.0, 1.0], size=9)
    reduce = torch.mean if reduction == "mean" else torch.sum
    _compare(torch, lambda v: nn.hinge_loss(v, y, reduction=reduction),
             lambda t: reduce(torch.relu(1 - torch.tensor(y) * t)), scores)


def test_hinge_loss_is_computed_like_micrograds_demo():
    scores = [Value(0.3), Value(-2.0), Value(1.5)]
    y = [1, -1, -1]
    expected = sum((1 + -yi * si).relu() for yi, si in zip(y, scores)) * (1.0 / 3)
    assert nn.hinge_loss(scores, y).data == expected.data


def test_hinge_loss_rejects_zero_one_labels_and_points_to_to_pm1():
    with pytest.raises(ValueError, match="to_pm1"):
        nn.hinge_loss([Value(1.0), Value(2.0)], [0, 1])


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_bce_with_logits_matches_torch(torch, reduction):
    F = torch.nn.functional
    logits, y = RNG.normal(size=8) * 5, RNG.uniform(size=8)
    _compare(torch, lambda v: nn.binary_cross_entropy_with_logits(v, y, reduction=reduction),
             lambda t: F.binary_cross_entropy_with_logits(t, torch.tensor(y), reduction=reduction), logits)


def test_bce_with_extreme_logit_is_finite_with_grad_minus_one():
    z = Value(-1000.0)
    loss = nn.binary_cross_entropy_with_logits(z, 1.0)
    loss.backward()
    assert loss.data == 1000.0 and z.grad == -1.0
    z = Value(1000.0)
    loss = nn.binary_cross_entropy_with_logits(z, 1.0)
    loss.backward()
    assert loss.data == 0.0 and z.grad == 0.0


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_matches_torch(torch, reduction):
    F = torch.nn.functional
    logits, t = RNG.normal(size=(6, 4)) * 3, RNG.integers(0, 4, size=6)
    _compare(torch, lambda v: nn.cross_entropy(v, t, reduction=reduction),
             lambda x: F.cross_entropy(x, torch.tensor(t), reduction=reduction), logits)


def test_cross_entropy_with_huge_logits_is_finite():
    for target, expected in ((0, 0.0), (1, 1000.0)):
        zs = [Value(1000.0), Value(0.0)]
        loss = nn.cross_entropy([zs], [target])
        loss.backward()
        assert loss.data == expected
        assert all(math.isfinite(z.grad) for z in zs)
        assert [z.grad for z in zs] == ([0.0, 0.0] if target == 0 else [1.0, -1.0])


def test_cross_entropy_accepts_one_row_and_an_int_target(torch):
    F = torch.nn.functional
    row = [Value(1.0), Value(2.0), Value(0.5)]
    one = nn.cross_entropy(row, 1).data
    ref = F.cross_entropy(torch.tensor([[1.0, 2.0, 0.5]], dtype=torch.float64), torch.tensor([1])).item()
    assert one == pytest.approx(ref, rel=1e-14)


def test_softmax_and_log_softmax_match_torch_values_and_grads(torch):
    F = torch.nn.functional
    logits = RNG.normal(size=(3, 5)) * 4
    weights = RNG.normal(size=(3, 5))
    for ours, theirs in ((nn.softmax, F.softmax), (nn.log_softmax, F.log_softmax)):
        values = _vals(logits)
        out = ours(values)
        sum(o * float(w) for ro, rw in zip(out, weights) for o, w in zip(ro, rw)).backward()
        t = torch.tensor(logits, requires_grad=True)
        ref = theirs(t, dim=-1)
        (ref * torch.tensor(weights)).sum().backward()
        np.testing.assert_allclose([[o.data for o in r] for r in out], ref.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(_grads(values), t.grad.numpy(), rtol=1e-11, atol=1e-12)


def test_softmax_of_huge_logits_is_finite_and_sums_to_one():
    out = nn.softmax([Value(1000.0), Value(999.0), Value(-1000.0)])
    assert sum(o.data for o in out) == pytest.approx(1.0)
    assert all(math.isfinite(o.data) for o in out)
    assert nn.log_softmax([Value(1000.0), Value(0.0)])[1].data == -1000.0


def test_reduction_none_returns_per_sample_losses():
    losses = nn.mse_loss([Value(1.0), Value(3.0)], [0.0, 1.0], reduction="none")
    assert [v.data for v in losses] == [1.0, 4.0]


def test_losses_accept_numpy_predictions_and_model_batch_outputs():
    model = nn.MLP(2, [3, 1], rng=0)
    X = np.array([[0.1, 0.2], [0.5, -0.3]])
    loss = nn.mse_loss(model(X), np.array([1.0, -1.0]))
    assert isinstance(loss, Value)
    assert nn.mse_loss(np.array([1.0, 2.0]), [1.0, 0.0]).data == 2.0


def test_shape_mismatch_and_bad_targets_are_clear_errors():
    with pytest.raises(ValueError, match=r"input of shape \(2,\) and target of shape \(3,\)"):
        nn.mse_loss([Value(1.0), Value(2.0)], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"integer classes in \[0, 2\)"):
        nn.cross_entropy([[Value(1.0), Value(2.0)]], [2])
    for bad in (0.5, float("nan"), -1, True):
        with pytest.raises(ValueError, match="integer classes"):
            nn.cross_entropy([[Value(1.0), Value(2.0)]], [bad])
    with pytest.raises(ValueError, match="2 rows of logits need 2"):
        nn.cross_entropy([[1.0, 2.0], [0.0, 1.0]], [0])
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        nn.binary_cross_entropy_with_logits([Value(0.0)], [2.0])
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.mse_loss([Value(0.0)], [0.0], reduction="avg")
    with pytest.raises(ValueError, match="empty"):
        nn.mse_loss([], [])
    with pytest.raises(ValueError, match="rectangular"):
        nn.cross_entropy([[1.0, 2.0], [1.0]], [0, 0])


# --- cross_entropy(weight=, ignore_index=, label_smoothing=, probability targets) and
# --- binary_cross_entropy_with_logits(weight=, pos_weight=) ---------------------------------

def _check_against_torch(torch, ours_fn, torch_fn, inputs):
    """Values and ∂/∂input to 1e-12; reduction="none" is checked through Σᵢ (i + 1)·ℓᵢ so that
    every per-sample loss has its own gradient coefficient."""
    values = _vals(inputs)
    out = ours_fn(values)
    t = torch.tensor(inputs, dtype=torch.float64, requires_grad=True)
    ref = torch_fn(t)
    if isinstance(out, list):
        ref = ref.reshape(-1)  # ours lists per-element losses in row order
        assert len(out) == ref.numel()
        np.testing.assert_allclose([o.data for o in out], ref.detach().numpy(), rtol=1e-12, atol=1e-12)
        sum(o * float(i + 1) for i, o in enumerate(out)).backward()
        (ref * torch.arange(1, len(out) + 1, dtype=torch.float64)).sum().backward()
    else:
        np.testing.assert_allclose(out.data, ref.item(), rtol=1e-12, atol=1e-12)
        out.backward()
        ref.backward()
    np.testing.assert_allclose(_grads(values), t.grad.numpy(), rtol=1e-12, atol=1e-12)


def _float64(torch):
    """x ↦ x as a float64 tensor; None (an omitted weight) stays None."""
    return lambda x: None if x is None else torch.tensor(x, dtype=torch.float64)


# Its own generator, so the draws above stay what they were before these tests existed.
OPTIONS_RNG = np.random.default_rng(1)
LOGITS = OPTIONS_RNG.normal(size=(7, 4)) * 3
CLASSES = OPTIONS_RNG.integers(0, 4, size=7)
CLASS_WEIGHTS = OPTIONS_RNG.uniform(0.1, 2.0, size=4)
PROBS = OPTIONS_RNG.dirichlet(np.ones(4), size=7)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_class_weight_matches_torch(torch, reduction):
    F, t64 = torch.nn.functional, _float64(torch)
    _check_against_torch(torch, lambda v: nn.cross_entropy(v, CLASSES, reduction, weight=CLASS_WEIGHTS),
                         lambda t: F.cross_entropy(t, torch.tensor(CLASSES), weight=t64(CLASS_WEIGHTS),
                                                   reduction=reduction), LOGITS)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", [None, CLASS_WEIGHTS], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("ignore_index", [-100, 2])
def test_cross_entropy_ignore_index_matches_torch(torch, reduction, weight, ignore_index):
    F, t64 = torch.nn.functional, _float64(torch)
    targets = CLASSES.copy()
    targets[[1, 4]] = ignore_index  # -100 is out of range: an ignored target need not be a class
    _check_against_torch(torch,
                         lambda v: nn.cross_entropy(v, targets, reduction, weight=weight, ignore_index=ignore_index),
                         lambda t: F.cross_entropy(t, torch.tensor(targets), weight=t64(weight),
                                                   ignore_index=ignore_index, reduction=reduction), LOGITS)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", [None, CLASS_WEIGHTS], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("eps", [0.1, 1.0])
def test_cross_entropy_label_smoothing_matches_torch(torch, reduction, weight, eps):
    F, t64 = torch.nn.functional, _float64(torch)
    targets = CLASSES.copy()
    targets[3] = -100  # smoothing leaves ignored samples out too
    _check_against_torch(torch, lambda v: nn.cross_entropy(v, targets, reduction, weight=weight, label_smoothing=eps),
                         lambda t: F.cross_entropy(t, torch.tensor(targets), weight=t64(weight),
                                                   label_smoothing=eps, reduction=reduction), LOGITS)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", [None, CLASS_WEIGHTS], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("eps", [0.0, 0.25])
def test_cross_entropy_probability_targets_match_torch(torch, reduction, weight, eps):
    F, t64 = torch.nn.functional, _float64(torch)
    _check_against_torch(torch, lambda v: nn.cross_entropy(v, PROBS, reduction, weight=weight, label_smoothing=eps),
                         lambda t: F.cross_entropy(t, t64(PROBS), weight=t64(weight), label_smoothing=eps,
                                                   reduction=reduction), LOGITS)


def test_cross_entropy_one_row_of_probabilities_matches_torch_unbatched(torch):
    F, t64 = torch.nn.functional, _float64(torch)
    _check_against_torch(torch, lambda v: nn.cross_entropy(v, PROBS[0], weight=CLASS_WEIGHTS, label_smoothing=0.1),
                         lambda t: F.cross_entropy(t, t64(PROBS[0]), weight=t64(CLASS_WEIGHTS), label_smoothing=0.1),
                         LOGITS[0])


@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_cross_entropy_degenerate_means_are_nan_like_torch(torch, eps):
    F, t64 = torch.nn.functional, _float64(torch)
    # Every sample ignored: 0/0, and no gradient reaches the logits.
    _check_against_torch(torch, lambda v: nn.cross_entropy(v, [-100, -100], label_smoothing=eps),
                         lambda t: F.cross_entropy(t, torch.tensor([-100, -100]), label_smoothing=eps), LOGITS[:2])
    # The samples' own classes all weigh 0: torch's mean is 0/0 too, with nan gradients.
    values = _vals(LOGITS[:2])
    out = nn.cross_entropy(values, [0, 0], weight=[0.0, 1.0, 1.0, 1.0], label_smoothing=eps)
    out.backward()
    t = torch.tensor(LOGITS[:2], requires_grad=True)
    ref = F.cross_entropy(t, torch.tensor([0, 0]), weight=t64([0.0, 1.0, 1.0, 1.0]), label_smoothing=eps)
    ref.backward()
    assert math.isnan(out.data) and math.isnan(ref.item())
    assert np.isnan(_grads(values)).all() and t.grad.isnan().all()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", [None, "element", "column", "number"])
@pytest.mark.parametrize("pos_weight", [None, "number", "column", "element", "row"])
def test_bce_with_logits_weight_and_pos_weight_match_torch(torch, reduction, weight, pos_weight):
    F, t64 = torch.nn.functional, _float64(torch)
    rng = np.random.default_rng(1)
    logits, y = rng.normal(size=(5, 3)) * 4, rng.uniform(size=(5, 3))
    logits[0, 0], y[0, 0] = 1000.0, 0.0
    logits[1, 1], y[1, 1] = -1000.0, 1.0
    shapes = {None: None, "number": (), "column": (3,), "element": (5, 3), "row": (5, 1)}
    w = None if weight is None else rng.uniform(0.0, 2.0, size=shapes[weight])
    p = None if pos_weight is None else rng.uniform(0.1, 5.0, size=shapes[pos_weight])
    if weight == "number":
        w = float(w)
    _check_against_torch(torch, lambda v: nn.binary_cross_entropy_with_logits(v, y, reduction, weight=w, pos_weight=p),
                         lambda t: F.binary_cross_entropy_with_logits(t, t64(y), weight=t64(w), pos_weight=t64(p),
                                                                      reduction=reduction), logits)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_pos_weight_on_a_1d_batch_matches_torch(torch, reduction):
    F, t64 = torch.nn.functional, _float64(torch)
    logits, y = OPTIONS_RNG.normal(size=6) * 5, OPTIONS_RNG.integers(0, 2, size=6).astype(np.float64)
    p, w = OPTIONS_RNG.uniform(0.5, 4.0, size=6), OPTIONS_RNG.uniform(0.0, 2.0, size=6)
    _check_against_torch(torch, lambda v: nn.binary_cross_entropy_with_logits(v, y, reduction, weight=w, pos_weight=p),
                         lambda t: F.binary_cross_entropy_with_logits(t, t64(y), weight=t64(w), pos_weight=t64(p),
                                                                      reduction=reduction), logits)


# Hand-checked cases: no torch needed.

def test_cross_entropy_class_weight_by_hand():
    # Equal logits: −log p = log 2 for either class. Weights (1, 3) scale the two samples, and
    # "mean" divides by 1 + 3; ∂C/∂zᵢ = w_tᵢ·(softmax(zᵢ) − onehot(tᵢ)) / Σ w.
    for reduction, expected in (("mean", math.log(2)), ("sum", 4 * math.log(2))):
        zs = [[Value(0.0), Value(0.0)], [Value(0.0), Value(0.0)]]
        loss = nn.cross_entropy(zs, [0, 1], reduction, weight=[1.0, 3.0])
        loss.backward()
        assert loss.data == pytest.approx(expected, rel=1e-15)
        scale = 1.0 if reduction == "sum" else 0.25
        assert _grads(zs) == pytest.approx(np.array([[-0.5, 0.5], [1.5, -1.5]]) * scale, rel=1e-15)
    losses = nn.cross_entropy([[0.0, 0.0], [0.0, 0.0]], [0, 1], "none", weight=(1, 3))
    assert [v.data for v in losses] == pytest.approx([math.log(2), 3 * math.log(2)], rel=1e-15)


def test_cross_entropy_ignore_index_by_hand():
    zs = [[Value(0.0), Value(0.0)], [Value(5.0), Value(1.0)]]
    loss = nn.cross_entropy(zs, [0, -100])
    loss.backward()
    assert loss.data == pytest.approx(math.log(2), rel=1e-15)  # the mean is over the one kept sample
    assert _grads(zs).tolist() == [[-0.5, 0.5], [0.0, 0.0]]
    losses = nn.cross_entropy([[0.0, 0.0], [5.0, 1.0]], [1, 1], "none", ignore_index=1)
    assert [v.data for v in losses] == [0.0, 0.0]
    assert nn.cross_entropy([[0.0, 0.0], [5.0, 1.0]], [0, 1], ignore_index=1).data == pytest.approx(math.log(2))


def test_cross_entropy_with_every_sample_ignored():
    zs = [[Value(1.0), Value(2.0)]]
    mean = nn.cross_entropy(zs, [-100])
    mean.backward()
    assert math.isnan(mean.data) and _grads(zs).tolist() == [[0.0, 0.0]]
    assert nn.cross_entropy(zs, [-100], "sum").data == 0.0


def test_cross_entropy_label_smoothing_by_hand():
    # Equal logits over C = 3: every −log pₖ = log 3, so ℓ = (1 − ε)·log 3 + (ε/3)·3·log 3 = log 3,
    # and ∂ℓ/∂z = softmax(z) − q′ with q′ = (1 − ε)·onehot + ε/3 = (0.8, 0.1, 0.1) for ε = 0.3.
    zs = [Value(0.0), Value(0.0), Value(0.0)]
    loss = nn.cross_entropy(zs, 0, label_smoothing=0.3)
    loss.backward()
    assert loss.data == pytest.approx(math.log(3), rel=1e-15)
    assert [z.grad for z in zs] == pytest.approx([1 / 3 - 0.8, 1 / 3 - 0.1, 1 / 3 - 0.1], rel=1e-14)
    # ε = 1 ignores the target: the loss is the mean −log p over the classes.
    row = [0.0, math.log(2.0), math.log(5.0)]  # softmax = (1/8, 2/8, 5/8)
    expected = -sum(math.log(p) for p in (1 / 8, 2 / 8, 5 / 8)) / 3
    for t in range(3):
        assert nn.cross_entropy(row, t, label_smoothing=1.0).data == pytest.approx(expected, rel=1e-14)


def test_cross_entropy_probability_targets_by_hand():
    # softmax(0, log 3) = (1/4, 3/4); with q = (1/2, 1/2): ℓ = −½·log ¼ − ½·log ¾ and ∂ℓ/∂z = p − q.
    zs = [[Value(0.0), Value(math.log(3.0))]]
    loss = nn.cross_entropy(zs, [[0.5, 0.5]])
    loss.backward()
    assert loss.data == pytest.approx(-0.5 * math.log(0.25) - 0.5 * math.log(0.75), rel=1e-15)
    assert _grads(zs) == pytest.approx(np.array([[-0.25, 0.25]]), rel=1e-14)
    # Class weights (2, 1): cₖ = wₖ·qₖ = (1, ½), ∂ℓ/∂z = (Σc)·p − c = (−0.625, 0.625); "mean"
    # divides by N = 2 rows, not by the weights.
    zs = [[Value(0.0), Value(math.log(3.0))] for _ in range(2)]
    loss = nn.cross_entropy(zs, np.full((2, 2), 0.5), weight=[2.0, 1.0])
    loss.backward()
    assert loss.data == pytest.approx(-math.log(0.25) - 0.5 * math.log(0.75), rel=1e-15)
    assert _grads(zs) == pytest.approx(np.full((2, 2), 0.5) * [-0.625, 0.625], rel=1e-14)


def test_cross_entropy_one_hot_probabilities_equal_class_targets():
    logits = OPTIONS_RNG.normal(size=(4, 3)) * 2
    classes = [2, 0, 1, 1]
    one_hot = np.eye(3)[classes]
    w = [0.5, 2.0, 1.5]
    for kwargs in ({}, {"label_smoothing": 0.3}, {"weight": w, "label_smoothing": 0.3}):
        for reduction in ("sum", "none"):
            a = nn.cross_entropy(logits, classes, reduction, **kwargs)
            b = nn.cross_entropy(logits, one_hot, reduction, **kwargs)
            assert np.allclose(np.array([v.data for v in a] if reduction == "none" else a.data),
                               np.array([v.data for v in b] if reduction == "none" else b.data), rtol=1e-14)
    # ...but a weighted "mean" divides by Σ w_tᵢ for classes and by N for probabilities.
    by_class = nn.cross_entropy(logits, classes, weight=w).data
    by_probability = nn.cross_entropy(logits, one_hot, weight=w).data
    assert by_class * sum(w[c] for c in classes) == pytest.approx(by_probability * 4, rel=1e-14)


def test_cross_entropy_explicit_defaults_equal_the_plain_call():
    # The defaults take the pre-options path: bit-identical values and gradients.
    logits, classes = OPTIONS_RNG.normal(size=(5, 3)) * 3, [0, 2, 1, 1, 0]
    a, b = _vals(logits), _vals(logits)
    plain = nn.cross_entropy(a, classes)
    explicit = nn.cross_entropy(b, classes, weight=None, ignore_index=-100, label_smoothing=0.0)
    expected = sum(math.log(sum(math.exp(z - max(r)) for z in r)) - (r[c] - max(r))
                   for r, c in zip(logits, classes)) / 5
    plain.backward()
    explicit.backward()
    assert plain.data == explicit.data == pytest.approx(expected, rel=1e-14)
    assert (_grads(a) == _grads(b)).all()


def test_bce_with_logits_pos_weight_and_weight_by_hand():
    # z = 0: σ = ½. y = 1: ℓ = p·log 2, ∂ℓ/∂z = −p·σ(0) = −p/2; y = 0: ℓ = log 2, ∂ℓ/∂z = ½.
    zs = [Value(0.0), Value(0.0)]
    loss = nn.binary_cross_entropy_with_logits(zs, [1.0, 0.0], "sum", pos_weight=3.0)
    loss.backward()
    assert loss.data == pytest.approx(4 * math.log(2), rel=1e-15)
    assert [z.grad for z in zs] == pytest.approx([-1.5, 0.5], rel=1e-15)
    # weight multiplies each element; "mean" still divides by the 2 elements.
    zs = [Value(0.0), Value(0.0)]
    loss = nn.binary_cross_entropy_with_logits(zs, [1.0, 0.0], weight=[2.0, 0.0], pos_weight=[3.0, 5.0])
    loss.backward()
    assert loss.data == pytest.approx(3 * math.log(2), rel=1e-15)
    assert [z.grad for z in zs] == pytest.approx([-1.5, 0.0], rel=1e-15)
    # p = 1 is the plain loss; a per-column pos_weight applies to every row of an N×C batch.
    z, y = OPTIONS_RNG.normal(size=(3, 2)) * 3, OPTIONS_RNG.uniform(size=(3, 2))
    plain = nn.binary_cross_entropy_with_logits(z, y, "none")
    ones = nn.binary_cross_entropy_with_logits(z, y, "none", pos_weight=[1.0, 1.0])
    assert [v.data for v in ones] == pytest.approx([v.data for v in plain], rel=1e-14, abs=1e-15)
    per_column = nn.binary_cross_entropy_with_logits(z, y, "none", pos_weight=[2.0, 3.0])
    per_element = nn.binary_cross_entropy_with_logits(z, y, "none", pos_weight=[[2.0, 3.0]] * 3)
    assert [v.data for v in per_column] == [v.data for v in per_element]


@pytest.mark.parametrize(("z", "y", "loss", "grad"), [
    (-1000.0, 1.0, 2000.0, -2.0),   # ℓ = p·softplus(1000), ∂ℓ/∂z = −p·σ(1000)
    (1000.0, 1.0, 0.0, 0.0),
    (1000.0, 0.0, 1000.0, 1.0),     # ℓ = z + softplus(−z), ∂ℓ/∂z = 1 − σ(−z)
    (-1000.0, 0.0, 0.0, 0.0),
])
def test_bce_with_pos_weight_is_finite_for_extreme_logits(z, y, loss, grad):
    zv = Value(z)
    out = nn.binary_cross_entropy_with_logits(zv, y, pos_weight=2.0, weight=1.0)
    out.backward()
    assert math.isfinite(out.data) and math.isfinite(zv.grad)
    assert out.data == pytest.approx(loss, abs=1e-12) and zv.grad == pytest.approx(grad, abs=1e-12)


def test_new_loss_options_reject_bad_input_with_clear_errors():
    logits = [[1.0, 2.0, 0.5], [0.0, 1.0, -1.0]]
    with pytest.raises(ValueError, match=r"weight must have one entry per class \(3\), got shape \(2,\)"):
        nn.cross_entropy(logits, [0, 1], weight=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"one entry per class \(3\), got shape \(\)"):
        nn.cross_entropy(logits, [0, 1], weight=2.0)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"cross_entropy weight must be finite and ≥ 0, got"):
            nn.cross_entropy(logits, [0, 1], weight=[1.0, bad, 1.0])
    with pytest.raises(TypeError, match="cross_entropy weight must be a Value, a number"):
        nn.cross_entropy(logits, [0, 1], weight="balanced")
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\], got"):
            nn.cross_entropy(logits, [0, 1], label_smoothing=bad)
    for bad in ("0.1", None, True):
        with pytest.raises(TypeError, match=r"label_smoothing must be a number in \[0, 1\]"):
            nn.cross_entropy(logits, [0, 1], label_smoothing=bad)
    for bad in (0.5, "-100", None, True):
        with pytest.raises(TypeError, match="ignore_index must be an int"):
            nn.cross_entropy(logits, [0, 1], ignore_index=bad)
    with pytest.raises(ValueError, match=r"integer classes in \[0, 3\), got -1"):
        nn.cross_entropy(logits, [0, -1])  # only the ignore_index itself may be out of range
    with pytest.raises(ValueError, match=r"probability targets need one row of 3 per row of logits \(shape \(2, 3\)\), "
                                         r"got target of shape \(2, 4\)"):
        nn.cross_entropy(logits, [[0.25] * 4, [0.25] * 4])
    with pytest.raises(ValueError, match="ignore_index=0 is not supported with probability targets"):
        nn.cross_entropy(logits, [[1.0, 0.0, 0.0]] * 2, ignore_index=0)
    for bad in (-0.5, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"probability targets must be in \[0, 1\]"):
            nn.cross_entropy(logits, [[bad, 0.0, 0.0]] * 2)
    z, y = [Value(0.0), Value(1.0)], [0.0, 1.0]
    for bad in (0.0, -2.0, float("nan"), float("inf"), [1.0, 0.0]):
        with pytest.raises(ValueError, match="binary_cross_entropy_with_logits pos_weight must be finite and > 0"):
            nn.binary_cross_entropy_with_logits(z, y, pos_weight=bad)
    for bad in (-1.0, float("nan"), [1.0, float("inf")]):
        with pytest.raises(ValueError, match="binary_cross_entropy_with_logits weight must be finite and ≥ 0"):
            nn.binary_cross_entropy_with_logits(z, y, weight=bad)
    with pytest.raises(ValueError, match=r"pos_weight of shape \(3,\) does not broadcast to the input's shape \(2,\)"):
        nn.binary_cross_entropy_with_logits(z, y, pos_weight=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"weight of shape \(2,\) does not broadcast to the input's shape \(2, 3\)"):
        nn.binary_cross_entropy_with_logits(np.zeros((2, 3)), np.zeros((2, 3)), weight=[1.0, 2.0])
    with pytest.raises(TypeError, match="pos_weight must be a Value, a number"):
        nn.binary_cross_entropy_with_logits(z, y, pos_weight={"a": 1})
    with pytest.raises(TypeError):
        nn.binary_cross_entropy_with_logits(z, y, "mean", None)  # the options are keyword-only
