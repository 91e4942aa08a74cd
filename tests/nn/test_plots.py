"""nn.plots: each function returns a Figure with the expected artists."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.collections import PathCollection
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure

from autograd_core import Value, no_grad
from nn.datasets import make_moons
from nn.layers import MLP
from nn.plots import (
    SURFACES,
    _optimizer,
    evaluate_on_grid,
    layer_grad_norms,
    optimizer_paths,
    plot_decision_boundary,
    plot_gradient_flow,
    plot_history,
    plot_optimizer_paths,
)


def moons(n=30):
    return make_moons(n, noise=0.1, seed=0)


def contour_sets(ax):
    return [c for c in ax.collections if isinstance(c, ContourSet)]


def scatters(ax):
    return [c for c in ax.collections if isinstance(c, PathCollection) and not isinstance(c, ContourSet)]


def test_importing_the_packages_never_imports_matplotlib():
    code = "import sys, autograd_core, nn, nn.plots, nn.draw_model; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_decision_boundary_has_regions_boundary_line_and_data():
    X, y = moons()
    fig = plot_decision_boundary(lambda x: x[0] - x[1], X, y, resolution=20)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    sets = contour_sets(ax)
    assert len(sets) == 2  # filled class regions and the line s = 0
    assert list(sets[1].levels) == [0.0]
    (points,) = scatters(ax)
    assert len(points.get_offsets()) == len(X)
    assert ax.get_title() == "decision boundary"


def test_decision_boundary_of_an_mlp_uses_its_scores():
    X, y = moons()
    model = MLP(2, [4, 1], rng=0)
    fig = plot_decision_boundary(model, X, y, resolution=12, title="moons")
    assert fig.axes[0].get_title() == "moons"
    assert contour_sets(fig.axes[0])


def test_batch_norm_model_is_plotted_in_eval_mode_and_left_training():
    X, y = moons()
    model = MLP(2, [4, 1], rng=0, batch_norm=True)
    plot_decision_boundary(model, X, y, resolution=10)
    assert all(m.training for m in model.modules())


def test_several_outputs_colour_by_argmax():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [-1.0, -1.0]])
    y = np.array([1, 0, 2])
    fig = plot_decision_boundary(lambda x: [x[0], x[1], -x[0] - x[1]], X, y, resolution=10)
    (filled,) = contour_sets(fig.axes[0])
    assert len(filled.levels) == 4


def test_decision_boundary_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        plot_decision_boundary(lambda x: x[0], np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="one label per sample"):
        plot_decision_boundary(lambda x: x[0], np.zeros((5, 2)), np.zeros(4))


def test_grid_evaluation_matches_the_eager_model():
    model = MLP(2, [5, 5, 1], activation="tanh", rng=3)
    points = np.random.default_rng(0).uniform(-2, 2, size=(20, 2))
    fast = evaluate_on_grid(model, points)
    with no_grad():
        eager = np.array([model(list(p)).data for p in points])
    np.testing.assert_allclose(fast, eager, rtol=1e-12, atol=1e-12)


def test_history_plot_has_loss_and_accuracy_axes_with_validation_dashed():
    history = {"step": [0, 1, 2, 3], "loss": [1.0, 0.6, 0.4, 0.3], "accuracy": [0.5, 0.7, 0.8, 0.9],
               "val_loss": [1.1, 0.5], "val_accuracy": [0.4, 0.8]}
    fig = plot_history(history)
    loss_ax, acc_ax = fig.axes
    assert [ln.get_label() for ln in loss_ax.get_lines()] == ["train loss", "validation loss"]
    assert loss_ax.get_lines()[1].get_linestyle() == "--"
    assert list(loss_ax.get_lines()[1].get_xdata()) == [0.0, 3.0]
    assert [ln.get_label() for ln in acc_ax.get_lines()] == ["train accuracy", "validation accuracy"]
    assert "accuracy" in acc_ax.get_title()


def test_history_without_accuracy_has_one_axis_and_empty_history_is_an_error():
    fig = plot_history({"loss": [3.0, 2.0, 1.0]}, log_loss=True)
    assert len(fig.axes) == 1 and fig.axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="no 'loss'"):
        plot_history({"loss": []})


def test_history_from_nn_fit():
    fit = pytest.importorskip("nn.train").fit
    X, y = moons(20)
    history = fit(MLP(2, [4, 4, 1], rng=0), X, y, steps=3, progress=False, track_grad_norms=True)
    fig = plot_history(history)
    assert len(fig.axes[0].get_lines()[0].get_xdata()) == 3
    fig = plot_gradient_flow({"relu": history})
    assert [ln.get_label() for ln in fig.axes[0].get_lines()] == ["layer 1", "layer 2", "layer 3 (output)"]


def _legend_texts(ax):
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def test_validation_measured_every_few_steps_is_drawn_at_the_measured_steps():
    nan = math.nan
    history = {"step": [0, 1, 2, 3, 4, 5], "loss": [1.0, 0.8, 0.6, 0.5, 0.4, 0.3],
               "accuracy": [0.5, 0.6, 0.7, 0.8, 0.9, 0.9],
               "val_loss": [1.2, nan, 0.7, nan, nan, 0.5], "val_accuracy": [0.4, nan, 0.6, nan, nan, 0.8]}
    loss_ax, acc_ax = plot_history(history).axes
    val = loss_ax.get_lines()[1]
    assert list(val.get_xdata()) == [0.0, 2.0, 5.0]
    assert list(val.get_ydata()) == [1.2, 0.7, 0.5]
    assert val.get_marker() == "o" and val.get_linestyle() == "--"
    val_acc = acc_ax.get_lines()[1]
    assert list(val_acc.get_xdata()) == [0.0, 2.0, 5.0]
    assert list(val_acc.get_ydata()) == [0.4, 0.6, 0.8]


def test_validation_from_fit_with_eval_every_shows_finite_points():
    fit = pytest.importorskip("nn.train").fit
    X, y = moons(20)
    Xv, yv = make_moons(10, noise=0.1, seed=1)
    history = fit(MLP(2, [4, 1], rng=0), X, y, X_val=Xv, y_val=yv, steps=7, eval_every=3, progress=False)
    loss_ax, acc_ax = plot_history(history).axes
    for ax in (loss_ax, acc_ax):
        line = ax.get_lines()[1]
        assert list(line.get_xdata()) == [0, 3, 6]
        assert np.isfinite(line.get_ydata()).all()


def test_history_without_validation_has_no_validation_lines_or_legend_entries():
    fit = pytest.importorskip("nn.train").fit
    X, y = moons(20)
    history = fit(MLP(2, [4, 1], rng=0), X, y, steps=3, progress=False)
    loss_ax, acc_ax = plot_history(history).axes
    assert [ln.get_label() for ln in loss_ax.get_lines()] == ["train loss"]
    assert _legend_texts(loss_ax) == ["train loss"]
    assert [ln.get_label() for ln in acc_ax.get_lines()] == ["train accuracy"]
    assert _legend_texts(acc_ax) == ["train accuracy"]


def test_accuracy_that_is_all_nan_gets_no_axis():
    nan = math.nan
    fig = plot_history({"loss": [2.0, 1.0], "accuracy": [nan, nan], "val_loss": [nan, nan],
                        "val_accuracy": [nan, nan]})
    (ax,) = fig.axes
    assert _legend_texts(ax) == ["train loss"]


def test_local_minimum_traps_sgd_while_momentum_reaches_the_global_one():
    s = SURFACES["local_minimum"]
    paths = optimizer_paths(s.f, s.start, {k: (lambda p, k=k: _optimizer(k, p, s.lr[k])) for k in s.lr}, steps=80)
    assert paths["sgd"][-1][0] == pytest.approx(0.96, abs=0.02)
    assert paths["momentum"][-1][0] == pytest.approx(-1.04, abs=0.1)
    assert all(len(p) == 81 for p in paths.values())


def test_optimizer_path_steps_are_gradient_descent():
    paths = optimizer_paths(lambda x, y: x * x + y * y, (1.0, -2.0),
                            {"sgd": lambda p: _optimizer("sgd", p, 0.1)}, steps=1)
    # w ← w − η·∂C/∂w with ∂C/∂w = 2w
    np.testing.assert_allclose(paths["sgd"][1], [1.0 - 0.1 * 2.0, -2.0 + 0.1 * 4.0])


def test_optimizer_plot_has_contours_and_one_path_per_optimizer():
    fig = plot_optimizer_paths("ravine", steps=10, resolution=30)
    ax = fig.axes[0]
    assert len(contour_sets(ax)) == 2
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert [lb.split(" ")[0] for lb in labels] == ["sgd", "momentum", "adam", "start"]
    assert all(len(ln.get_xdata()) == 11 for ln in ax.get_lines()[:3])
    assert "0.05x²" in ax.get_title()


def test_optimizer_plot_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown surface"):
        plot_optimizer_paths("volcano")
    with pytest.raises(ValueError, match="no learning rate"):
        plot_optimizer_paths("ravine", optimizers=("rmsprop",))


def test_layer_grad_norms_are_l2_norms_per_layer():
    model = MLP(2, [3, 1], rng=0)
    out = model([1.0, -2.0])
    (out * out).backward()
    norms = layer_grad_norms(model)
    assert list(norms) == ["layers.0", "layers.1"]
    expected = math.sqrt(sum(p.grad ** 2 for n, p in model.named_parameters() if n.startswith("layers.1.")))
    assert norms["layers.1"] == pytest.approx(expected)


def test_gradient_flow_has_one_log_panel_per_run_and_one_line_per_layer():
    runs = {
        "sigmoid": {"layers.0": [1e-6, 1e-6], "layers.1": [1e-3, 1e-3], "layers.2": [1e-1, 0.0]},
        "relu": {"layers.0": [0.5, 0.4], "layers.1": [0.6, 0.5], "layers.2": [0.7, 0.6]},
    }
    fig = plot_gradient_flow(runs)
    assert [ax.get_title() for ax in fig.axes] == ["sigmoid", "relu"]
    for ax in fig.axes:
        assert ax.get_yscale() == "log"
        assert [ln.get_label() for ln in ax.get_lines()] == ["layer 1", "layer 2", "layer 3 (output)"]
    # A zero gradient norm is a gap on the log axis, not an error.
    assert math.isnan(fig.axes[0].get_lines()[2].get_ydata()[1])


def test_gradient_flow_legend_sits_beside_the_panels_not_over_the_curves():
    layers = {"layers.0": [1.0, 0.5], "layers.1": [2.0, 1.0]}
    runs = {"a": layers, "b": dict(layers)}
    fig = plot_gradient_flow(runs)
    assert all(ax.get_legend() is None for ax in fig.axes)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["layer 1", "layer 2 (output)"]
    fig.draw_without_rendering()  # runs the constrained layout
    box = legend.get_window_extent()
    for ax in fig.axes:
        assert not box.overlaps(ax.get_window_extent())


def test_gradient_flow_numbers_batch_norm_layers_from_the_input():
    fit = pytest.importorskip("nn.train").fit
    X, y = moons(20)
    model = MLP(2, [3, 3, 1], rng=0, batch_norm=True)
    history = fit(model, X, y, steps=2, progress=False, track_grad_norms=True)
    assert list(history.grad_norms) == ["layers.0", "layers.3", "layers.6"]
    fig = plot_gradient_flow({"bn": history, "other": {"x": [1.0], "y": [2.0]}})
    assert [ln.get_label() for ln in fig.axes[0].get_lines()] == ["layer 1", "layer 2", "layer 3 (output)"]
    # Runs with different layers get a legend each, under their own panel.
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == ["x", "y"]


def test_gradient_flow_of_a_single_history_like_object():
    class Run:
        def __init__(self):
            self.grad_norms = {"layers.0": [1.0, 0.5]}

    fig = plot_gradient_flow(Run())
    assert len(fig.axes) == 1 and fig.axes[0].get_title() == "gradient flow"
    with pytest.raises(ValueError, match="grad_norms"):
        plot_gradient_flow(object())


def test_plots_accept_values_as_numbers():
    assert evaluate_on_grid(lambda x: x[0] * Value(2.0), np.array([[1.0, 0.0]]))[0] == 2.0


def test_figures_carry_a_png_repr_for_jupyter_and_pickle():
    import pickle

    from nn.plots import NotebookFigure

    fig = plot_history({"loss": [3.0, 2.0, 1.0]})
    assert isinstance(fig, NotebookFigure)
    assert fig._repr_png_().startswith(b"\x89PNG")
    again = pickle.loads(pickle.dumps(fig))
    assert type(again) is NotebookFigure and len(again.axes) == 1
