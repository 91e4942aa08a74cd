"""Pictures of a network itself, in the style of TensorFlow Playground (matplotlib).

* :func:`draw_architecture`: one column per layer, one circle per neuron, one line per
  weight — blue for w > 0, orange for w < 0, thicker for larger |w|. With ``heatmaps=True``
  (2 inputs) every neuron is drawn as a small picture of its output over the input plane.
* :func:`neuron_heatmaps`: the same pictures as a grid, one row per layer: what each neuron
  a = σ(w·x + b) computes as a function of the two inputs, and how later layers combine the
  simple pictures of earlier ones.

Both return a ``matplotlib.figure.Figure``; matplotlib is imported only when they are called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from autograd_core import Value

from .plots import _eval_mode, _new_axes, evaluate_on_grid

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["DenseLayer", "dense_layers", "draw_architecture", "neuron_heatmaps", "neuron_outputs"]

_POSITIVE = "#1f77b4"
_NEGATIVE = "#f28e2b"


@dataclass(frozen=True)
class DenseLayer:
    """One layer of neurons as numbers: ``W[j, i]`` is neuron j's weight on input i.

    ``after`` names the parameter-free or normalising modules that follow it
    (``BatchNorm1d``, an activation), which the neurons' outputs pass through.
    """

    name: str
    W: np.ndarray
    b: np.ndarray | None
    activation: str
    after: tuple[str, ...] = ()


def _modules(model: Any) -> list[tuple[str, Any]]:
    if hasattr(model, "layers"):
        return [(f"layers.{i}", m) for i, m in enumerate(model.layers)]
    return [("", model)]


def _neurons(module: Any) -> list[Any] | None:
    if hasattr(module, "neurons"):
        return list(module.neurons)
    if hasattr(module, "w") and isinstance(getattr(module, "w", None), list):
        return [module]
    return None


def _short_name(module: Any) -> str:
    text = repr(module)
    return text if len(text) <= 16 else type(module).__name__


def dense_layers(model: Any) -> list[DenseLayer]:
    """The layers of ``model`` (an ``nn.MLP``, ``Sequential``, ``Layer`` or ``Neuron``) as weight arrays.

    Raises ``TypeError`` when the model has no layer of neurons (``.neurons`` with ``.w``/``.b``).
    """
    layers: list[DenseLayer] = []
    for name, module in _modules(model):
        neurons = _neurons(module)
        if neurons is None:
            if layers:
                last = layers[-1]
                layers[-1] = DenseLayer(last.name, last.W, last.b, last.activation,
                                        (*last.after, _short_name(module)))
            continue
        W = np.array([[w.data for w in n.w] for n in neurons])
        b = None if neurons[0].b is None else np.array([n.b.data for n in neurons])
        layers.append(DenseLayer(name, W, b, str(getattr(neurons[0], "activation", "")), ()))
    if not layers:
        raise TypeError(f"{type(model).__name__} has no layer of neurons to draw (expected .layers with .neurons)")
    return layers


def neuron_outputs(model: Any, points: Any) -> list[np.ndarray]:
    """Every neuron's output at each point: one array ``(n, neurons in layer)`` per dense layer.

    A neuron's output is taken after the modules that follow its layer (batch norm, the
    activation), i.e. what the next layer reads. Batch norm is evaluated in eval mode.
    """
    modules = [m for _, m in _modules(model)]
    sizes = [len(layer.W) for layer in dense_layers(model)]

    def all_outputs(x: list[Value]) -> list[Value]:
        groups: list[list[Value]] = []
        h: Any = x
        for m in modules:
            h = m.forward(h)
            if not isinstance(h, list):
                h = [h]
            if _neurons(m) is not None:
                groups.append(h)
            elif groups:
                groups[-1] = h
        return [v for g in groups for v in g]

    points = np.asarray(points, dtype=np.float64)
    with _eval_mode(model):
        values = evaluate_on_grid(all_outputs, points).reshape(len(points), -1)
    return np.split(values, np.cumsum(sizes)[:-1], axis=1)


def _plane(xlim: tuple[float, float], ylim: tuple[float, float], resolution: int) -> np.ndarray:
    if not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an int ≥ 2, got {resolution!r}")
    xx, yy = np.meshgrid(np.linspace(*xlim, resolution), np.linspace(*ylim, resolution))
    return np.column_stack([xx.ravel(), yy.ravel()])


def _limits(X: Any, xlim: Any, ylim: Any) -> tuple[tuple[float, float], tuple[float, float]]:
    if X is not None:
        X = np.asarray(X, dtype=np.float64)
        lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
        return (xlim or (lo[0], hi[0])), (ylim or (lo[1], hi[1]))
    return xlim or (-2.0, 2.0), ylim or (-2.0, 2.0)


def _picture(values: np.ndarray, resolution: int) -> np.ndarray:
    return values.reshape(resolution, resolution)


def draw_architecture(model: Any, *, heatmaps: bool = False, X: Any = None, xlim: tuple[float, float] | None = None,
                      ylim: tuple[float, float] | None = None, resolution: int = 24, ax: Axes | None = None) -> Figure:
    """Layers as columns of neurons, weights as lines (colour = sign, width ∝ |w|).

    Blue lines are positive weights, orange negative; the widest line is the largest |w| in
    the network. With ``heatmaps=True`` (a 2-input model) each neuron is drawn as its output
    over the input plane (``xlim``/``ylim``, or ``X``'s range, default [−2, 2]²), blue for
    positive and orange for negative outputs. Readable up to a few dozen neurons per layer,
    e.g. ``MLP(2, [16, 16, 1])``.
    """
    layers = dense_layers(model)
    nin = layers[0].W.shape[1]
    if heatmaps and nin != 2:
        raise ValueError(f"heatmaps need a model with 2 inputs, got {nin}")
    sizes = [nin] + [len(layer.W) for layer in layers]
    tallest = max(sizes)
    # Columns further apart than neurons, so the weight lines stay visible between them.
    dx = 3.0
    fig, (ax,) = _new_axes(ax, width=max(4.0, 1.8 * len(sizes)), height=max(3.0, 0.42 * tallest + 1.2))
    ys = [np.arange(n)[::-1] - (n - 1) / 2 for n in sizes]
    biggest = max(float(np.abs(layer.W).max()) for layer in layers) or 1.0

    from matplotlib.collections import LineCollection

    for k, layer in enumerate(layers):
        segments, colours, widths = [], [], []
        for j in range(layer.W.shape[0]):
            for i in range(layer.W.shape[1]):
                w = layer.W[j, i]
                segments.append([(k * dx, ys[k][i]), ((k + 1) * dx, ys[k + 1][j])])
                colours.append(_POSITIVE if w > 0 else _NEGATIVE)
                widths.append(0.2 + 3.0 * abs(w) / biggest)
        ax.add_collection(LineCollection(segments, colors=colours, linewidths=widths, alpha=0.7, zorder=1))

    radius = 0.36
    if heatmaps:
        (x_lim, y_lim) = _limits(X, xlim, ylim)
        plane = _plane(x_lim, y_lim, resolution)
        pictures = [plane[:, :1], plane[:, 1:], *neuron_outputs(model, plane)]
        columns = [np.concatenate(pictures[:2], axis=1), *pictures[2:]]
        for k, values in enumerate(columns):
            scale = float(np.abs(values).max()) or 1.0
            for j in range(values.shape[1]):
                x0, y0 = k * dx, ys[k][j]
                ax.imshow(_picture(values[:, j], resolution), extent=(x0 - radius, x0 + radius, y0 - radius,
                          y0 + radius), origin="lower", cmap="PuOr", vmin=-scale, vmax=scale, zorder=2)
    else:
        for k, n in enumerate(sizes):
            ax.scatter(np.full(n, k * dx), ys[k], s=160, c="white", edgecolors="k", zorder=2)

    titles = [f"input\n{nin}"] + [
        f"{layer.name or 'neuron'}\n{len(layer.W)} {layer.activation}" + "".join(f"\n+ {a}" for a in layer.after)
        for layer in layers
    ]
    for k, text in enumerate(titles):
        ax.text(k * dx, (tallest - 1) / 2 + 0.7, text, ha="center", va="bottom", fontsize=8)
    ax.set_xlim(-1.0, (len(sizes) - 1) * dx + 1.0)
    ax.set_ylim(-(tallest - 1) / 2 - 0.7, (tallest - 1) / 2 + 1.9)
    ax.set_aspect("equal" if heatmaps else "auto")
    ax.axis("off")
    ax.set_title(f"{type(model).__name__}: blue w > 0, orange w < 0, width ∝ |w|", fontsize=9)
    return fig


def neuron_heatmaps(model: Any, *, X: Any = None, y: Any = None, xlim: tuple[float, float] | None = None,
                    ylim: tuple[float, float] | None = None, resolution: int = 40) -> Figure:
    """Each neuron's output over the input plane, one row per layer (a 2-input model).

    Colours are centred at 0 per layer (orange negative, purple positive). With ``X`` (and
    ``y``) the data are drawn over the last layer's pictures. Raises ``ValueError`` for a
    model whose first layer does not take 2 inputs.
    """
    layers = dense_layers(model)
    if layers[0].W.shape[1] != 2:
        raise ValueError(f"neuron heatmaps need a model with 2 inputs, got {layers[0].W.shape[1]}")
    x_lim, y_lim = _limits(X, xlim, ylim)
    outputs = neuron_outputs(model, _plane(x_lim, y_lim, resolution))
    cols = max(o.shape[1] for o in outputs)
    from .plots import _new_figure

    fig = _new_figure(figsize=(1.1 * cols + 0.6, 1.2 * len(outputs) + 0.4), layout="constrained")
    grid = fig.subplots(len(outputs), cols, squeeze=False)
    extent = (*x_lim, *y_lim)
    for r, (layer, values) in enumerate(zip(layers, outputs)):
        scale = float(np.abs(values).max()) or 1.0
        for c in range(cols):
            ax = grid[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= values.shape[1]:
                ax.axis("off")
                continue
            ax.imshow(_picture(values[:, c], resolution), extent=extent, origin="lower", cmap="PuOr",
                      vmin=-scale, vmax=scale, aspect="auto")
            ax.set_title(f"{layer.name}.{c}" if layer.name else f"neuron {c}", fontsize=6)
            if X is not None and r == len(outputs) - 1:
                Xa = np.asarray(X, dtype=np.float64)
                colours = None if y is None else (np.asarray(y) > 0).astype(float)
                ax.scatter(Xa[:, 0], Xa[:, 1], c=colours, cmap="coolwarm", s=4, edgecolors="none")
    fig.suptitle("each neuron's output over the input plane (x₀ →, x₁ ↑)", fontsize=9)
    return fig
