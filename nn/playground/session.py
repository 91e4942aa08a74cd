"""The Playground's model object: data, network, optimizer and training, independent of any page.

A :class:`Session` holds one run. The page sends it messages (``{"type": "tick"}``,
``{"type": "set", "settings": {...}}``, …) through :meth:`Session.handle` and draws the
replies; both hosts (the standalone server and the Jupyter widget) only move these JSON
messages. Training runs here, on the compiled mode (``nn.compiled.compiled_loss``: the layers
read once, then numpy over the batch; batch norm with the batch's statistics, as eagerly).

One step on a batch B of training points, as the seed writes it:

    C = (1/|B|) Σ_{i∈B} ℓ(s(xᵢ), yᵢ) + λ·R(w)     s = the network's output, R = Σ|w| or Σw²
    ∂C/∂w by backpropagation, then the optimizer moves w (w ← w − η·∂C/∂w for plain SGD).
"""

from __future__ import annotations

import base64
import itertools
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import nn
from autograd_core import compile as compile_function
from nn.compiled import compiled_loss
from nn.losses import LOSSES

from .data import data_loss, feature_matrix, make_data, targets
from .settings import FEATURES, Settings, SettingsError, validate

__all__ = ["Session", "GRID", "EAGER_LOSSES", "make_optimizer", "weight_layers", "unit_outputs", "apply_penalty"]

GRID = 32
# How long one "tick" may train before the page gets its picture: short enough for ≥ 20
# pictures a second including drawing, long enough that the trace/copy overhead is amortised.
TICK_SECONDS = 0.008
MAX_STEPS_PER_TICK = 500
HISTORY = 400
FLOW_HISTORY = 120
# The page's losses as eager functions (one sample's graph); the compiled mode takes the names.
EAGER_LOSSES: dict[str, Callable[..., Any]] = {name: LOSSES[name].eager for name in ("bce", "hinge", "mse")}
MESSAGE_TYPES = {"hello": (), "frame": (), "tick": (), "step": (), "reset": (), "set": ("settings",),
                 "point": ("index",), "export": ()}


def make_optimizer(name: str, params: list[Any], lr: float) -> Any:
    """The optimizer a name on the page stands for (momentum and Nesterov use μ = 0.9)."""
    if name == "sgd":
        return nn.SGD(params, lr=lr)
    if name == "momentum":
        return nn.SGD(params, lr=lr, momentum=0.9)
    if name == "nesterov":
        return nn.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    return {"adam": nn.Adam, "adamw": nn.AdamW, "rmsprop": nn.RMSprop}[name](params, lr=lr)


def weight_layers(model: Any) -> list[Any]:
    """The model's dense layers (``nn.Layer``), input side first."""
    return [m for m in model.layers if isinstance(m, nn.Layer)]


def unit_outputs(model: Any, x: list[Any]) -> list[list[Any]]:
    """Each layer's neuron outputs a = σ(z) for one input (after batch norm, when there is one)."""
    groups: list[list[Any]] = []
    layers = model.layers
    for i, m in enumerate(layers):
        x = m.forward(x)
        last = i == len(layers) - 1
        if isinstance(m, nn.Activation) or (isinstance(m, nn.Layer) and (last or not isinstance(
                layers[i + 1], nn.BatchNorm1d))):
            groups.append(list(x))
    return groups


def apply_penalty(s: Settings, model: Any) -> None:
    """Add ∂(λ·R)/∂w to every weight's grad: λ·sign(w) for L1, 2λ·w for L2 (biases are not penalised)."""
    if s.regularization == "none" or s.reg_rate == 0:
        return
    rate = s.reg_rate
    for layer in weight_layers(model):
        for neuron in layer.neurons:
            for w in neuron.w:
                if s.regularization == "l2":
                    w.grad += 2 * rate * w.data
                else:
                    w.grad += rate * float(np.sign(w.data))


class Session:
    """One Playground run: :meth:`handle` takes a message from the page, returns the replies."""

    def __init__(self, settings: Settings | dict[str, Any] | None = None) -> None:
        self.settings = settings if isinstance(settings, Settings) else validate(settings or {})
        self.reset()

    # -- the run ---------------------------------------------------------------------------
    def reset(self) -> None:
        """New data and new weights from the settings' seed; step and epoch back to 0."""
        s = self.settings
        X, y = make_data(s)
        n_train = max(1, min(len(X) - 1, round(len(X) * s.train_ratio)))
        self.X_train, self.y_train = X[:n_train], y[:n_train]
        self.X_test, self.y_test = X[n_train:], y[n_train:]
        self.F_train = feature_matrix(self.X_train, s.features)
        self.F_test = feature_matrix(self.X_test, s.features)
        self.T_train, self.T_test = targets(s, self.y_train), targets(s, self.y_test)
        self.model = nn.MLP(len(s.features), [*s.hidden, 1], activation=s.activation, init=s.init, rng=s.seed,
                            batch_norm=s.batch_norm)
        self.optimizer = make_optimizer(s.optimizer, self.model.parameters(), s.lr)
        self.rng = np.random.default_rng(s.seed)
        self.order: list[np.ndarray] = []
        self.steps = 0
        self.changed_mid_run = False
        self.history: list[tuple[int, float, float]] = []
        self.flow: list[list[float]] = []
        self._probe: Any = None
        half = max(np.abs(X - X.mean(axis=0)).max() * 1.15, 1e-3)
        cx, cy = X.mean(axis=0)
        self.extent = (float(cx - half), float(cx + half), float(cy - half), float(cy + half))
        g = np.linspace(0.0, 1.0, GRID)
        gx, gy = np.meshgrid(self.extent[0] + g * 2 * half, self.extent[3] - g * 2 * half)
        self.grid_points = np.column_stack([gx.ravel(), gy.ravel()])
        self.F_grid = feature_matrix(self.grid_points, s.features)
        every_feature = feature_matrix(self.grid_points, tuple(FEATURES))
        # What does not change while training is encoded once per data set.
        self._fixed = {"points": self.points(),
                       "feature_pictures": {f: _bytes(every_feature[:, j], 1.0) for j, f in enumerate(FEATURES)}}
        self._record()

    @property
    def batches_per_epoch(self) -> int:
        return max(1, len(self.X_train) // min(self.settings.batch_size, len(self.X_train)))

    @property
    def epoch(self) -> int:
        return self.steps // self.batches_per_epoch

    def next_batch(self) -> np.ndarray:
        """The next batch's indices: a fresh permutation each epoch, cut into whole batches."""
        if not self.order:
            size = min(self.settings.batch_size, len(self.X_train))
            perm = self.rng.permutation(len(self.X_train))
            self.order = [perm[i:i + size] for i in range(0, len(perm) - size + 1, size)][::-1]
        return self.order.pop()

    def train_step(self) -> None:
        """One optimizer step on the next batch (see the module docstring for C)."""
        s, model = self.settings, self.model
        idx = self.next_batch()
        model.zero_grad()
        # A learning rate of 10 may well diverge; the page shows the inf/nan rather than warn.
        with np.errstate(all="ignore"):
            compiled_loss(model, s.loss, self.F_train[idx], self.T_train[idx])
        apply_penalty(s, model)
        self.flow.append([
            math.fsum(abs(w.grad) for n in layer.neurons for w in n.w) / sum(len(n.w) for n in layer.neurons)
            for layer in weight_layers(model)])
        del self.flow[:-FLOW_HISTORY]
        self.optimizer.step()
        self.steps += 1

    def train_for(self, seconds: float, max_steps: int = MAX_STEPS_PER_TICK) -> int:
        """Train until ``seconds`` have passed (at least one step); returns the steps taken."""
        start, taken = time.perf_counter(), 0
        while taken < max_steps:
            self.train_step()
            taken += 1
            if time.perf_counter() - start >= seconds:
                break
        self._record()
        return taken

    def train_epochs(self, epochs: int = 1) -> None:
        for _ in range(epochs * self.batches_per_epoch):
            self.train_step()
        self._record()

    def update(self, changes: dict[str, Any]) -> None:
        """Apply settings from the page: a new network if the setup changed, else keep training."""
        new = validate(changes, self.settings)
        old, self.settings = self.settings, new
        if new.architecture != old.architecture:
            self.reset()
            return
        if new.lr != old.lr:
            self.optimizer.lr = new.lr
        if new.batch_size != old.batch_size:
            self.order = []
        if self.steps and (new.lr, new.batch_size, new.regularization, new.reg_rate) != (
                old.lr, old.batch_size, old.regularization, old.reg_rate):
            self.changed_mid_run = True

    # -- what the page draws ------------------------------------------------------------------
    def probe(self, F: np.ndarray) -> list[np.ndarray]:
        """Every layer's neuron outputs for each row of ``F``: a list of ``(n, width)`` arrays."""
        model = self.model
        # Batch norm in eval mode reads its running statistics as constants of the trace, so
        # that network is traced again for every picture; any other one is traced once.
        if self._probe is None or self.settings.batch_norm:
            n_in = len(self.settings.features)
            was_training = model.training
            model.eval()
            try:
                widths = [len(g) for g in unit_outputs(model, [0.0] * n_in)]
                f = compile_function(lambda v: [a for g in unit_outputs(model, v) for a in g], n_in,
                                     model.parameters())
            finally:
                model.train(was_training)
            self._probe = (f, widths)
        f, widths = self._probe
        out = f(F)
        out = out.reshape(len(F), -1)
        cuts = np.cumsum([0, *widths])
        return [out[:, a:b] for a, b in itertools.pairwise(cuts)]

    def scores(self, F: np.ndarray) -> np.ndarray:
        return self.probe(F)[-1][:, 0]

    def metrics(self) -> dict[str, float]:
        """Train and test data loss (no penalty) and accuracy, over all their points."""
        return self._metrics_from(self.scores(self.F_train), self.scores(self.F_test))

    def _metrics_from(self, st: np.ndarray, sv: np.ndarray) -> dict[str, float]:
        s = self.settings
        out = {"train_loss": data_loss(s.loss, st, self.T_train), "test_loss": data_loss(s.loss, sv, self.T_test)}
        if s.problem == "classification":
            out["train_accuracy"] = float(np.mean((st > 0) == (self.y_train > 0.5)))
            out["test_accuracy"] = float(np.mean((sv > 0) == (self.y_test > 0.5)))
        return out

    def _record(self) -> None:
        # One batched pass over the grid and all the points: the pictures and the metrics of this moment.
        n_grid, n_train = len(self.F_grid), len(self.F_train)
        groups = self.probe(np.vstack([self.F_grid, self.F_train, self.F_test]))
        scores = groups[-1][:, 0]
        m = self._metrics_from(scores[n_grid:n_grid + n_train], scores[n_grid + n_train:])
        self._grid_groups = [g[:n_grid] for g in groups]
        self.history.append((self.steps, m["train_loss"], m["test_loss"]))
        if len(self.history) > HISTORY:
            self.history = self.history[:1] + self.history[1::2]
        self._metrics = m

    def frame(self) -> dict[str, Any]:
        """Everything the page draws, as JSON: metrics, curve, weights, gradients, pictures."""
        s = self.settings
        groups = self._grid_groups
        pictures = [[_bytes(g[:, j], 1.0) for j in range(g.shape[1])] for g in groups[:-1]]
        out = groups[-1][:, 0]
        if s.problem == "regression":
            scale = max(float(np.abs(np.concatenate([self.y_train, self.y_test])).max()), 1e-9)
            boundary = np.clip(out / scale, -1, 1)
        elif s.loss == "bce":
            boundary = np.tanh(out / 2)  # 2σ(s) − 1: the probability of class 1, mapped to [−1, 1]
        else:
            boundary = np.clip(out, -1, 1)
        layers = weight_layers(self.model)
        return jsonable({
            "type": "frame",
            "step": self.steps,
            "epoch": self.epoch,
            "metrics": self._metrics,
            "history": self.history,
            "changed_mid_run": self.changed_mid_run,
            "extent": self.extent,
            "grid": GRID,
            "features": [[f, FEATURES[f][0]] for f in s.features],
            "pictures": pictures,
            "output": _bytes(boundary, None),
            "weights": [[[w.data for w in n.w] for n in layer.neurons] for layer in layers],
            "biases": [[n.b.data if n.b is not None else 0.0 for n in layer.neurons] for layer in layers],
            "grads": [[[float(w.grad) for w in n.w] for n in layer.neurons] for layer in layers],
            "flow": self.flow,
        }) | self._fixed

    def points(self) -> dict[str, list[list[float]]]:
        """Train and test points as ``[x₁, x₂, label]`` rows."""
        def rows(X: np.ndarray, y: np.ndarray) -> list[list[float]]:
            return np.column_stack([X, y]).round(5).tolist()

        return {"train": rows(self.X_train, self.y_train), "test": rows(self.X_test, self.y_test)}

    def point(self, index: int) -> tuple[np.ndarray, float, float]:
        """Features, label and target of point ``index`` (train points first, then test)."""
        n = len(self.X_train)
        if index < n:
            return self.F_train[index], float(self.y_train[index]), float(self.T_train[index])
        return self.F_test[index - n], float(self.y_test[index - n]), float(self.T_test[index - n])

    # -- messages -----------------------------------------------------------------------------
    def handle(self, message: Any) -> list[dict[str, Any]]:
        """The replies to one message from the page; a malformed message gets an error reply."""
        try:
            kind = _check_message(message)
            return self._dispatch(kind, message)
        except SettingsError as e:
            return [{"type": "error", "message": str(e)}]

    def _dispatch(self, kind: str, message: dict[str, Any]) -> list[dict[str, Any]]:
        from .sample_graph import sample_graph

        if kind == "hello":
            return [self.describe(), self.frame()]
        if kind == "tick":
            self.train_for(TICK_SECONDS)
        elif kind == "step":
            self.train_epochs(1)
        elif kind == "reset":
            self.reset()
        elif kind == "set":
            self.update(message["settings"])
            return [self.describe(), self.frame()]
        elif kind == "point":
            index = message["index"]
            total = len(self.X_train) + len(self.X_test)
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < total:
                raise SettingsError(f"index must be a point number from 0 to {total - 1}, got {index!r}")
            return [sample_graph(self, index)]
        elif kind == "export":
            return [{"type": "code", "code": self.export_code()}]
        return [self.frame()]

    def export_code(self) -> str:
        """This run as a runnable Python script (see :mod:`nn.playground.export`)."""
        from .export import export_code

        return export_code(self)

    def describe(self) -> dict[str, Any]:
        """The settings and the choices the page may offer for them."""
        from . import settings as table

        return {"type": "settings", "settings": self.settings.to_json(),
                "options": {"datasets": table.DATASETS, "features": {k: v[0] for k, v in table.FEATURES.items()},
                            "activations": table.ACTIVATIONS, "optimizers": table.OPTIMIZERS,
                            "losses": table.LOSSES, "inits": table.INITS, "regularizations": table.REGULARIZATIONS,
                            "max_layers": table.MAX_LAYERS, "max_neurons": table.MAX_NEURONS}}


def _check_message(message: Any) -> str:
    if not isinstance(message, dict):
        raise SettingsError(f"a message must be a JSON object, got {type(message).__name__}")
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in MESSAGE_TYPES:
        raise SettingsError(f"unknown message type {kind!r}; expected one of {sorted(MESSAGE_TYPES)}")
    wanted = set(MESSAGE_TYPES[kind])
    extra = sorted(set(message) - wanted - {"type"})
    missing = sorted(wanted - set(message))
    if extra or missing:
        raise SettingsError(f"message {kind!r} takes the fields {sorted(wanted) or 'none'}; "
                            + (f"unexpected {extra}" if extra else f"missing {missing}"))
    return kind


def _bytes(values: np.ndarray, floor: float | None) -> str:
    """A picture as base64 bytes: v ↦ 0…255 over [−m, m], m = max(floor, max|v|) (or [−1, 1])."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=1e300, neginf=-1e300)
    m = 1.0 if floor is None else max(floor, float(np.abs(v).max()) if v.size else 0.0)
    q = np.round((np.clip(v / m, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def jsonable(x: Any) -> Any:
    """``x`` with every non-finite float replaced by None (JSON has no NaN or infinity)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    return x
