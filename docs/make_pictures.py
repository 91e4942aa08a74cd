"""Regenerate the pictures under docs/: ``python docs/make_pictures.py``.

Writes, next to this file:

* ``neuron_graph.png``     the lecture neuron a = tanh(x1·w1 + x2·w2 + b) after backward
* ``backward_step.png``    one step of ``backward_steps`` drawn with ``highlight=step``
* ``fan_out_step.png``     a node used three times: its grad as the sum of its paths
* ``demo_loss_graph.png``  micrograd's demo loss (MLP(2, [16, 16, 1]), hinge, 5 points), summarised
* ``decision_boundary.png``  MLP(2, [16, 16, 1]) trained on two moons
* ``gradient_flow.png``    per-layer gradient magnitudes: deep sigmoid vs ReLU vs batch norm
* ``optimizers.png``       SGD, momentum and Adam on a surface with a local minimum
* ``architecture.png``     MLP(2, [16, 16, 1]) with per-neuron heatmaps (Playground style)

``step_through_*.png`` are screenshots of the stepper in JupyterLab, written by
``pytest tests/browser/test_step_through.py``. Figures are built without pyplot, so no
display is needed. Everything is seeded, so running
it twice gives the same pictures (up to the renderer).
"""

from __future__ import annotations

from pathlib import Path

from autograd_core import Value
from autograd_core.see.draw import draw_graph
from autograd_core.see.steps import backward_steps
from nn.datasets import make_moons
from nn.draw_model import draw_architecture
from nn.layers import MLP
from nn.optim import SGD
from nn.plots import plot_decision_boundary, plot_gradient_flow, plot_optimizer_paths
from nn.train import fit

HERE = Path(__file__).resolve().parent
DPI = 90


def neuron() -> dict[str, Value]:
    """The lecture neuron, with b chosen so that a = tanh(n) = √½ and ∂a/∂n = ½."""
    x1, x2 = Value(2.0), Value(0.0)
    w1, w2 = Value(-3.0), Value(1.0)
    b = Value(6.8813735870195432)
    x1w1 = x1 * w1
    x2w2 = x2 * w2
    n = x1w1 + x2w2 + b
    a = n.tanh()
    return dict(locals())


def save_graph(dot, name: str) -> None:
    (HERE / name).write_bytes(dot.pipe(format="png"))


def graphs() -> None:
    v = neuron()
    v["a"].backward()
    save_graph(draw_graph(v["a"], names=v), "neuron_graph.png")

    v = neuron()
    steps = list(backward_steps(v["a"]))
    n_step = next(s for s in steps if s.node is v["n"])
    save_graph(draw_graph(v["a"], names=v, highlight=n_step), "backward_step.png")

    x = Value(3.0)
    sq = x * x
    y = sq + x
    steps = list(backward_steps(y))
    save_graph(draw_graph(y, names={"x": x, "sq": sq, "y": y}, highlight=steps[1]), "fan_out_step.png")

    total, model = demo_loss(5)
    save_graph(draw_graph(total, model=model), "demo_loss_graph.png")


def demo_loss(points: int) -> tuple[Value, MLP]:
    """micrograd's demo loss: mean hinge loss of MLP(2, [16, 16, 1]) plus 1e-4 · Σ p²."""
    X, y = make_moons(points, noise=0.1, seed=1)
    y = [2 * yi - 1 for yi in y]
    model = MLP(2, [16, 16, 1], rng=1337)
    scores = [model(list(map(Value, x))) for x in X]
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    total = data_loss + reg_loss
    total.backward()
    return total, model


def training_pictures() -> None:
    X, y = make_moons(100, noise=0.1, seed=1337)
    model = MLP(2, [16, 16, 1], rng=1337)
    fit(model, X, y, loss="hinge", alpha=1e-4, steps=100, progress=False, compiled=True)
    plot_decision_boundary(model, X, y, title="MLP(2, [16, 16, 1]) on two moons").savefig(
        HERE / "decision_boundary.png", dpi=DPI)
    draw_architecture(model, heatmaps=True, X=X).savefig(HERE / "architecture.png", dpi=70)

    # MSE keeps ∂C/∂a from cancelling across the two classes, so the picture shows only depth.
    Xs, ys = make_moons(48, noise=0.1, seed=0)
    runs = {}
    for title, kwargs in (("deep sigmoid", {"activation": "sigmoid", "init": "xavier"}),
                          ("deep ReLU", {"activation": "relu", "init": "xavier"}),
                          ("sigmoid + batch norm", {"activation": "sigmoid", "init": "xavier", "batch_norm": True})):
        deep = MLP(2, [8] * 9 + [1], rng=0, **kwargs)
        runs[title] = fit(deep, Xs, ys, loss="mse", optimizer=SGD(deep.parameters(), lr=0.05), steps=25,
                          progress=False, track_grad_norms=True, compiled=not kwargs.get("batch_norm", False))
    plot_gradient_flow(runs, title="‖∂C/∂W‖ per layer of a 10-layer network").savefig(
        HERE / "gradient_flow.png", dpi=DPI)

    plot_optimizer_paths("local_minimum", steps=80).savefig(HERE / "optimizers.png", dpi=DPI)


def main() -> None:
    graphs()
    training_pictures()
    for png in sorted(HERE.glob("*.png")):
        print(f"{png.name:24s} {png.stat().st_size / 1024:6.1f} KB")


if __name__ == "__main__":
    main()
