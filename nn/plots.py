"""Training pictures with matplotlib: decision boundaries, curves, optimizer paths, gradient flow.

Every function returns the ``matplotlib.figure.Figure`` it drew (``fig.savefig("x.png")``
saves it). matplotlib is imported inside the functions, so ``import nn`` never needs it, and
figures are made directly (no pyplot state), so they work under any backend, Agg included.
Each is a ``NotebookFigure`` — a ``Figure`` with ``_repr_png_`` — so Jupyter shows it as a
picture in a fresh kernel too, before any ``%matplotlib inline`` or pyplot import.

* :func:`plot_decision_boundary`: where a 2-D classifier says class 1 (score > 0) or 0.
* :func:`plot_history`: loss and accuracy over training steps.
* :func:`plot_optimizer_paths`: SGD, momentum and Adam descending a 2-D loss surface — the
  seed's "gradient descent moves towards the minimum", and how a local minimum can catch it.
* :func:`plot_gradient_flow`: ‖∂C/∂W‖ per layer over training, on a log scale, so vanishing
  (sigmoid's σ' ≤ ¼ multiplied layer after layer) or exploding gradients are visible.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from autograd_core import Value, no_grad, to_float

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "plot_decision_boundary",
    "plot_history",
    "plot_optimizer_paths",
    "optimizer_paths",
    "SURFACES",
    "Surface",
    "plot_gradient_flow",
    "layer_grad_norms",
    "evaluate_on_grid",
]


def _matplotlib() -> Any:
    try:
        import matplotlib.figure
    except ImportError as e:
        raise ImportError("plotting needs matplotlib: pip install backprop-lab[viz]") from e
    return matplotlib.figure


_NOTEBOOK_FIGURE: Any = None


def _notebook_figure_class() -> Any:
    """``NotebookFigure``: matplotlib's ``Figure`` plus ``_repr_png_``, made on first use.

    Jupyter shows a bare ``Figure`` as an image only after ``%matplotlib inline`` or a pyplot
    import has registered matplotlib's display hook; until then it prints
    ``<Figure size 900x350 with 2 Axes>``. ``_repr_png_`` is IPython's own protocol, so the
    figures these functions return show as pictures in a fresh kernel too (where the hook is
    registered, IPython uses the hook and shows one picture, not two).
    """
    global _NOTEBOOK_FIGURE
    if _NOTEBOOK_FIGURE is None:
        base = _matplotlib().Figure

        def _repr_png_(self: Any) -> bytes:
            import io

            buffer = io.BytesIO()
            self.savefig(buffer, format="png", bbox_inches="tight")
            return buffer.getvalue()

        # Defined here because matplotlib is imported only when a picture is drawn; the module
        # name and __getattr__ below let pickle find the class again.
        _NOTEBOOK_FIGURE = type("NotebookFigure", (base,), {
            "__module__": __name__, "__qualname__": "NotebookFigure", "_repr_png_": _repr_png_,
            "__doc__": "A matplotlib Figure that Jupyter displays as a PNG without %matplotlib inline."})
    return _NOTEBOOK_FIGURE


def __getattr__(name: str) -> Any:
    if name == "NotebookFigure":
        return _notebook_figure_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _new_figure(**kwargs: Any) -> Figure:
    """A new figure (see :func:`_notebook_figure_class`), outside pyplot's state."""
    return cast("Figure", _notebook_figure_class()(**kwargs))


def _new_axes(ax: Axes | None, ncols: int = 1, width: float = 5.0, height: float = 4.0,
              sharey: bool = False) -> tuple[Figure, list[Axes]]:
    if ax is not None:
        # Typed Figure | SubFigure: an ax placed in a subfigure gives that SubFigure, which is returned.
        return cast("Figure", ax.figure), [ax]
    fig = _new_figure(figsize=(width * ncols, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False, sharey=sharey)[0]
    return fig, list(axes)


@contextlib.contextmanager
def _eval_mode(model: Any) -> Iterator[None]:
    # Batch norm answers one sample only with its running statistics; put every mode back after.
    modules = model.modules() if callable(getattr(model, "modules", None)) else []
    saved = [(m, m.training) for m in modules if hasattr(m, "training")]
    if callable(getattr(model, "eval", None)):
        model.eval()
    try:
        yield
    finally:
        for m, mode in saved:
            m.training = mode


def evaluate_on_grid(fn: Callable[[list[Value]], Any], points: np.ndarray) -> np.ndarray:
    """``fn`` (one sample as a list of Values → a Value or a list of Values) on every row.

    Returns floats of shape ``(n,)`` or ``(n, k)``. A model made of the built-in layers runs
    batched, each layer one matrix product over all rows (as :func:`nn.predict`). Any other
    function is traced once and run on the whole grid with numpy (:func:`autograd_core.compile`),
    after a spot check against eager calls on up to 256 rows spread over the grid (tracing fixes
    Python branches such as ``if x.data > 0`` to the traced sample's); if it cannot be traced,
    or the spot check disagrees, it is called sample by sample under ``no_grad``.
    """
    from autograd_core import CompileCheckError, CompileError, compile

    points = np.asarray(points, dtype=np.float64)
    batched = _batched_outputs(fn, points)
    if batched is not None:
        return batched
    try:
        traced = compile(fn, points.shape[1], params=[])
        traced.check(points[np.linspace(0, len(points) - 1, min(len(points), 256)).astype(int)])
        return np.asarray(traced(points), dtype=np.float64)
    except (CompileError, CompileCheckError):
        pass
    rows = []
    with no_grad():
        for p in points:
            out = fn([Value(float(a)) for a in p])
            rows.append([to_float(v) for v in out] if isinstance(out, (list, tuple)) else to_float(out))
    return np.asarray(rows, dtype=np.float64)


def _batched_outputs(fn: Any, points: np.ndarray) -> np.ndarray | None:
    """The batched forward of a built-in model on ``points``, or None where it would not be ``fn`` per row.

    A training-mode batch norm normalises with the batch's statistics, so the rows would not be
    independent samples: that model (and every non-built-in one) takes the per-sample route.
    """
    from .batchnorm import BatchNorm1d
    from .compiled import predict_array
    from .module import Module

    if not isinstance(fn, Module) or points.ndim != 2 or not len(points):
        return None
    if any(isinstance(m, BatchNorm1d) and m.training for m in fn.modules()):
        return None
    out = predict_array(fn, points)
    return None if out is None else np.asarray(out, dtype=np.float64)


def _check_2d(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2) (two input features), got {X.shape}")
    if y.shape != (len(X),):
        raise ValueError(f"y must have one label per sample, shape ({len(X)},), got {y.shape}")
    return X, y


def _grid(X: np.ndarray, padding: float, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an int ≥ 2, got {resolution!r}")
    lo, hi = X.min(axis=0) - padding, X.max(axis=0) + padding
    return np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))


def plot_decision_boundary(model: Any, X: Any, y: Any, *, ax: Axes | None = None, resolution: int = 80,
                           padding: float = 0.5, title: str = "decision boundary") -> Figure:
    """The classes a 2-D classifier assigns over the plane, with the data on top.

    ``model`` is called on one sample (a list of 2 Values), as ``nn.MLP`` is. One output s:
    class 1 where s > 0 (labels {0, 1} or {−1, +1}), and the line s = 0 is drawn; several
    outputs: the argmax. Batch-norm models are evaluated in eval mode and left in their mode.
    Raises ``ValueError`` if ``X`` is not ``(n, 2)`` or ``y`` not ``(n,)``.
    """
    X, y = _check_2d(X, y)
    xx, yy = _grid(X, padding, resolution)
    with _eval_mode(model):
        scores = evaluate_on_grid(model, np.column_stack([xx.ravel(), yy.ravel()]))
    fig, (ax,) = _new_axes(ax)
    if scores.ndim == 1:
        zz = scores.reshape(xx.shape)
        ax.contourf(xx, yy, (zz > 0).astype(float), levels=[-0.5, 0.5, 1.5], cmap="coolwarm", alpha=0.35)
        if zz.min() < 0 < zz.max():
            ax.contour(xx, yy, zz, levels=[0.0], colors="k", linewidths=1.0)
        colours = (y > 0).astype(float)
    else:
        k = scores.shape[1]
        zz = scores.argmax(axis=1).reshape(xx.shape)
        ax.contourf(xx, yy, zz, levels=np.arange(k + 1) - 0.5, cmap="viridis", alpha=0.35)
        colours = y.astype(float)
    ax.scatter(X[:, 0], X[:, 1], c=colours, cmap="coolwarm" if scores.ndim == 1 else "viridis",
               edgecolors="k", s=20)
    ax.set(xlim=(xx.min(), xx.max()), ylim=(yy.min(), yy.max()), xlabel="x₀", ylabel="x₁", title=title)
    return fig


def _field(history: Any, name: str) -> list[float]:
    value = history.get(name) if isinstance(history, Mapping) else getattr(history, name, None)
    return [float("nan") if v is None else float(v) for v in value] if value else []


def _x_for(values: list[float], steps: list[float]) -> np.ndarray:
    # Validation may be measured less often than training: spread it over the same steps.
    if len(values) == len(steps):
        return np.asarray(steps)
    if not steps:
        return np.arange(len(values))
    return np.linspace(steps[0], steps[-1], len(values))


def _finite(values: list[float], steps: list[float]) -> tuple[np.ndarray, np.ndarray]:
    # nn.fit writes NaN on the steps where validation was not measured (eval_every > 1, or no
    # validation data at all): keep only the measured points, so a line can join them.
    x, v = _x_for(values, steps), np.asarray(values, dtype=np.float64)
    keep = np.isfinite(v)
    return x[keep], v[keep]


def plot_history(history: Any, *, log_loss: bool = False, title: str = "training") -> Figure:
    """Loss (and accuracy, when recorded) against step, train solid and validation dashed.

    ``history`` is an ``nn.History`` or a mapping with lists ``step``, ``loss`` and optionally
    ``accuracy``, ``val_loss``, ``val_accuracy``. Validation is drawn as markers joined by a
    dashed line at the steps where it is finite (``nn.fit`` records NaN between evaluations);
    a series with no finite value (no validation data, no class labels) gets no line and no
    legend entry. Raises ``ValueError`` when there is no loss.
    """
    steps = _field(history, "step")
    loss = _field(history, "loss")
    if not loss:
        raise ValueError("history has no 'loss' values to plot")
    if not steps:
        steps = list(range(len(loss)))
    val_loss = _finite(_field(history, "val_loss"), steps)
    acc, val_acc = (_finite(_field(history, name), steps) for name in ("accuracy", "val_accuracy"))
    has_acc = bool(acc[1].size or val_acc[1].size)
    fig, axes = _new_axes(None, 2 if has_acc else 1, width=4.5, height=3.5)
    ax = axes[0]
    ax.plot(_x_for(loss, steps), loss, label="train loss")
    if val_loss[1].size:
        ax.plot(*val_loss, "o--", markersize=3, label="validation loss")
    ax.set(xlabel="step", ylabel="loss C", title=f"{title}: loss")
    if log_loss:
        ax.set_yscale("log")
    ax.legend()
    if has_acc:
        ax = axes[1]
        if acc[1].size:
            ax.plot(*acc, label="train accuracy")
        if val_acc[1].size:
            ax.plot(*val_acc, "o--", markersize=3, label="validation accuracy")
        ax.set(xlabel="step", ylabel="accuracy", ylim=(0, 1.02), title=f"{title}: accuracy")
        ax.legend()
    return fig


class Surface:
    """A 2-D loss surface C(x, y) with a view window and a starting point for the optimizers."""

    def __init__(self, f: Callable[[Any, Any], Any], xlim: tuple[float, float], ylim: tuple[float, float],
                 start: tuple[float, float], lr: Mapping[str, float], note: str = "") -> None:
        self.f, self.xlim, self.ylim, self.start, self.lr, self.note = f, xlim, ylim, start, dict(lr), note


SURFACES: dict[str, Surface] = {
    # A long narrow valley: plain gradient descent zigzags across it, momentum builds speed along it.
    "ravine": Surface(lambda x, y: 0.05 * x * x + 1.0 * y * y, (-5.5, 1.5), (-2.0, 2.0), (-5.0, 1.5),
                      {"sgd": 0.9, "momentum": 0.08, "adam": 0.3}, "C = 0.05x² + y²"),
    # Two valleys: a local minimum near x ≈ +0.96 (C ≈ 0.29) and the global one near x ≈ −1.04 (C ≈ −0.31).
    "local_minimum": Surface(lambda x, y: (x * x - 1.0) ** 2 + 0.3 * x + 0.5 * y * y, (-1.8, 2.2), (-1.5, 1.5),
                             (2.0, 1.2), {"sgd": 0.02, "momentum": 0.02, "adam": 0.08},
                             "C = (x² − 1)² + 0.3x + 0.5y²"),
}


def _optimizer(name: str, params: list[Value], lr: float) -> Any:
    from .optim import SGD, Adam

    if name == "sgd":
        return SGD(params, lr=lr)
    if name == "momentum":
        return SGD(params, lr=lr, momentum=0.9)
    if name == "adam":
        return Adam(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}; use 'sgd', 'momentum', 'adam' or a factory params -> optimizer")


def optimizer_paths(f: Callable[[Value, Value], Value], start: tuple[float, float],
                    optimizers: Mapping[str, Callable[[list[Value]], Any]], *,
                    steps: int = 60) -> dict[str, np.ndarray]:
    """Run each optimizer on C = f(x, y) from ``start``; each path is an array ``(steps + 1, 2)``.

    ``optimizers`` maps a name to a factory ``params -> optimizer`` (``nn.optim`` style:
    ``zero_grad()``, then ``C.backward()`` fills ∂C/∂x, ∂C/∂y, then ``step()``). A path stops
    early if it leaves the finite numbers (a diverging learning rate).
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    paths = {}
    for name, make in optimizers.items():
        x, y = Value(float(start[0]), "x"), Value(float(start[1]), "y")
        opt = make([x, y])
        path = [(x.data, y.data)]
        for _ in range(steps):
            opt.zero_grad()
            f(x, y).backward()
            opt.step()
            if not (math.isfinite(x.data) and math.isfinite(y.data)):
                break
            path.append((x.data, y.data))
        paths[name] = np.asarray(path)
    return paths


def plot_optimizer_paths(surface: str | Surface = "ravine", *, optimizers: Sequence[str] = ("sgd", "momentum", "adam"),
                         lr: Mapping[str, float] | None = None, steps: int = 60, ax: Axes | None = None,
                         resolution: int = 120) -> Figure:
    """Contours of a loss surface and the path each optimizer takes down it.

    ``surface`` is a name in :data:`SURFACES` (``"ravine"``, ``"local_minimum"``) or a
    :class:`Surface`. ``optimizers`` are names among ``sgd``, ``momentum`` (μ = 0.9) and
    ``adam``, run with ``nn.optim``; ``lr`` overrides the surface's learning rates by name.
    Each step is w ← w − η·∂C/∂w for SGD; momentum and Adam as in :mod:`nn.optim`.
    """
    if isinstance(surface, str):
        if surface not in SURFACES:
            raise ValueError(f"unknown surface {surface!r}; known: {sorted(SURFACES)} (or pass a Surface)")
        surface = SURFACES[surface]
    rates = {**surface.lr, **(lr or {})}
    factories = {}
    for name in optimizers:
        if name not in rates:
            raise ValueError(f"no learning rate for optimizer {name!r}; pass lr={{{name!r}: ...}}")
        factories[name] = lambda params, name=name: _optimizer(name, params, rates[name])
    paths = optimizer_paths(surface.f, surface.start, factories, steps=steps)

    xx, yy = np.meshgrid(np.linspace(*surface.xlim, resolution), np.linspace(*surface.ylim, resolution))
    zz = evaluate_on_grid(lambda v: surface.f(v[0], v[1]), np.column_stack([xx.ravel(), yy.ravel()]))
    # Levels at quantiles of C: every part of the window gets contours, not just the steep rim.
    finite = zz[np.isfinite(zz)]
    levels = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, 25))) if finite.size else 10
    fig, (ax,) = _new_axes(ax, width=6.0, height=4.5)
    ax.contourf(xx, yy, zz.reshape(xx.shape), levels=levels, cmap="Greys_r", alpha=0.6)
    ax.contour(xx, yy, zz.reshape(xx.shape), levels=levels, colors="grey", linewidths=0.5)
    for name, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], "o-", markersize=2.5, linewidth=1.2, label=f"{name} (η = {rates[name]:g})")
    ax.plot(*surface.start, "k*", markersize=12, label="start")
    ax.set(xlim=surface.xlim, ylim=surface.ylim, xlabel="x", ylabel="y",
           title=f"optimizers on {surface.note or 'C(x, y)'}")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def _layer_key(name: str) -> str:
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == "layers" and len(parts) > 2 else parts[0]


def layer_grad_norms(model: Any) -> dict[str, float]:
    """‖∂C/∂θ‖₂ over the parameters θ of each layer, keyed ``"layers.0"``, ``"layers.1"``, ….

    Read after ``backward()``; layers are grouped by the first two parts of the dotted
    parameter names (``model.named_parameters()``).
    """
    squares: dict[str, float] = {}
    for name, p in model.named_parameters():
        g = p.grad.data if isinstance(p.grad, Value) else float(p.grad)
        key = _layer_key(name)
        squares[key] = squares.get(key, 0.0) + g * g
    return {k: math.sqrt(v) for k, v in squares.items()}


def _grad_norms(run: Any) -> Mapping[str, Sequence[float]]:
    norms = run.get("grad_norms", run) if isinstance(run, Mapping) else getattr(run, "grad_norms", None)
    if not isinstance(norms, Mapping) or not norms:
        raise ValueError("expected an nn.History with grad_norms, or a mapping layer name -> list of gradient norms")
    return norms


def _layer_labels(names: Sequence[str]) -> list[str]:
    """Legend labels: ``layers.0, layers.3, …`` (an MLP with batch norm, or any ``Sequential``)
    become ``layer 1``, ``layer 2``, … numbered from the input, the last marked ``(output)``.
    Other names are kept as given."""
    import re

    if not names or not all(re.fullmatch(r"layers\.\d+", n) for n in names):
        return list(names)
    ordered = sorted(names, key=lambda n: int(n.split(".")[1]))
    number = {n: k for k, n in enumerate(ordered, start=1)}
    last = ordered[-1]
    return [f"layer {number[n]}" + (" (output)" if n == last else "") for n in names]


def plot_gradient_flow(runs: Any, *, title: str = "gradient flow") -> Figure:
    """Per-layer gradient magnitude over training (``History.grad_norms``), log scale, one panel per run.

    ``runs`` is one ``nn.History`` (or a mapping ``layer → list of norms``), or a mapping
    ``run name → History`` to compare, e.g. deep sigmoid vs ReLU vs batch norm. Layers are
    coloured from the input (dark) to the output (light): in a deep sigmoid net the early
    layers' lines sit orders of magnitude below the last one — the vanishing gradient.

    Layers of weights named ``layers.i`` (``nn.MLP``; with batch norm every third module is a
    layer of weights, hence ``layers.0, layers.3, …``) are labelled ``layer 1 … layer L``
    from the input, so runs with and without batch norm read alike. The legend sits beside the panels,
    never over the curves; it is shared when the runs have the same layers.
    """
    is_one = not isinstance(runs, Mapping) or "grad_norms" in runs or all(
        isinstance(v, (list, tuple, np.ndarray)) for v in runs.values())
    named = {"": runs} if is_one else dict(runs)
    fig, axes = _new_axes(None, len(named), width=4.2, height=3.5, sharey=True)
    cmap = _matplotlib_colormap("viridis")
    legends: list[tuple[Any, list[Any], list[str]]] = []
    for ax, (name, run) in zip(axes, named.items()):
        norms = _grad_norms(run)
        n = len(norms)
        labels = _layer_labels(list(norms))
        for i, (label, values) in enumerate(zip(labels, norms.values())):
            arr = np.asarray(values, dtype=np.float64)
            # A zero norm has no place on a log axis; show it as a gap, not a crash.
            ax.plot(np.where(arr > 0, arr, np.nan), color=cmap(i / max(1, n - 1) * 0.9), label=label)
        ax.set_yscale("log")
        ax.set(xlabel="step", ylabel="gradient magnitude per layer" if ax is axes[0] else "", title=name or title)
        handles, texts = ax.get_legend_handles_labels()
        legends.append((ax, handles, texts))
    if all(texts == legends[0][2] for _, _, texts in legends):
        _, handles, texts = max(legends, key=lambda e: len(e[2]))
        fig.legend(handles, texts, loc="outside right upper", fontsize=7, title="input (dark) → output")
    else:
        # Different layers per run: one legend per panel, under its panel.
        for ax, handles, texts in legends:
            ax.legend(handles, texts, fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2)
    if not is_one:
        fig.suptitle(title)
    return fig


def _matplotlib_colormap(name: str) -> Any:
    _matplotlib()
    import matplotlib

    return matplotlib.colormaps[name]
