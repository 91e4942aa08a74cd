""""Export as code": the Playground's current run as a Python script that uses only ``nn``.

The script builds the same data (same seed), the same network (same weights), the same
optimizer and the same batch order, and takes the same number of steps with the same update
per step, so it ends at the loss the page shows (to rounding: the page scores the points in
batch mode, the script one by one).
"""

from __future__ import annotations

from typing import Any

from .settings import FEATURES, Settings

__all__ = ["export_code"]

_OPTIMIZERS = {
    "sgd": "nn.SGD(model.parameters(), lr={lr!r})",
    "momentum": "nn.SGD(model.parameters(), lr={lr!r}, momentum=0.9)",
    "nesterov": "nn.SGD(model.parameters(), lr={lr!r}, momentum=0.9, nesterov=True)",
    "adam": "nn.Adam(model.parameters(), lr={lr!r})",
    "adamw": "nn.AdamW(model.parameters(), lr={lr!r})",
    "rmsprop": "nn.RMSprop(model.parameters(), lr={lr!r})",
}
_LOSS_NUMPY = {
    "bce": "np.mean(np.logaddexp(0.0, s) - t * s)",
    "hinge": "np.mean(np.maximum(0.0, 1.0 - t * s))",
    "mse": "np.mean((s - t) ** 2)",
}
_REGRESSION = {
    "plane": "y = (X[:, 0] + X[:, 1]) / 2",
    "multigauss": (
        "centres = np.array([[-0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [0.5, -0.5], [0.0, 0.0]])\n"
        "signs = np.array([1.0, 1.0, -1.0, -1.0, 0.5])\n"
        "d2 = ((X[:, None, :] - centres[None]) ** 2).sum(axis=2)\n"
        "y = (signs * np.exp(-d2 / (2 * 0.25**2))).sum(axis=1)"
    ),
}
_COLUMNS = {"x1": "x1", "x2": "x2", "x1sq": "x1 * x1", "x2sq": "x2 * x2", "x1x2": "x1 * x2",
            "sinx1": "np.sin(x1)", "sinx2": "np.sin(x2)"}


def export_code(session: Any) -> str:
    """A runnable script reproducing ``session``'s run: data, network, ``session.steps`` steps."""
    s: Settings = session.settings
    n_train = len(session.X_train)
    lines = [
        f'"""A backprop-lab Playground run as code: {s.dataset}, {s.problem}, features '
        f'{", ".join(FEATURES[f][0] for f in s.features)},',
        f"hidden layers {list(s.hidden)} ({s.activation}{', batch norm' if s.batch_norm else ''}), "
        f"{s.optimizer} at lr {s.lr!r}, batch {s.batch_size}, {session.steps} steps from seed {s.seed}.",
    ]
    if session.changed_mid_run:
        lines.append("The settings were changed during the run on the page; this script uses the final ones "
                     "throughout, so its numbers differ from the page's.")
    lines += ['"""', "import numpy as np", "", "import nn"]
    lines.append("from nn.compiled import compiled_loss")
    lines += ["", f"SEED = {s.seed}", f"STEPS = {session.steps}", f"BATCH = {min(s.batch_size, n_train)}", ""]
    if s.problem == "classification":
        make = {"circles": "make_circles", "xor": "make_xor", "gaussians": "make_gaussians", "spiral": "make_spiral",
                "moons": "make_moons"}[s.dataset]
        lines += [f"X, y = nn.datasets.{make}({s.samples}, noise={s.noise!r}, seed=SEED)",
                  "X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)"]
    else:
        lines += ["gen = np.random.default_rng(SEED)", f"X = gen.uniform(-1.0, 1.0, ({s.samples}, 2))",
                  *_REGRESSION[s.dataset].splitlines(), f"y = y + gen.normal(0.0, {s.noise!r}, {s.samples})"]
    target = "2 * y - 1" if s.problem == "classification" and s.loss != "bce" else "y"
    columns = ", ".join(_COLUMNS[f] for f in s.features)
    lines += [
        f"t = {target}  # what the {s.loss} loss compares the output s with",
        f"n_train = {n_train}",
        "",
        "",
        "def features(X):",
        '    """The network\'s inputs: ' + ", ".join(FEATURES[f][0] for f in s.features) + '."""',
        "    x1, x2 = X[:, 0], X[:, 1]",
        f"    return np.column_stack([{columns}])",
        "",
        "",
        "F_train, F_test = features(X[:n_train]), features(X[n_train:])",
        "t_train, t_test = t[:n_train], t[n_train:]",
        f"model = nn.MLP({len(s.features)}, {[*s.hidden, 1]}, activation={s.activation!r}, init={s.init!r}, "
        f"rng=SEED{', batch_norm=True' if s.batch_norm else ''})",
        "optimizer = " + _OPTIMIZERS[s.optimizer].format(lr=s.lr),
        "rng = np.random.default_rng(SEED)",
        "order = []",
        "for step in range(STEPS):",
        "    if not order:  # a new epoch: a new permutation, cut into whole batches",
        "        perm = rng.permutation(n_train)",
        "        order = [perm[i:i + BATCH] for i in range(0, n_train - BATCH + 1, BATCH)][::-1]",
        "    idx = order.pop()",
        "    model.zero_grad()",
    ]
    lines.append(f"    compiled_loss(model, {s.loss!r}, F_train[idx], t_train[idx])  # adds ∂C/∂w to w.grad")
    if s.regularization != "none" and s.reg_rate:
        lines.insert(lines.index("rng = np.random.default_rng(SEED)"),
                     "weights = [w for layer in model.layers if isinstance(layer, nn.Layer) "
                     "for n in layer.neurons for w in n.w]")
    if s.regularization == "l2" and s.reg_rate:
        lines += ["    for w in weights:  # L2: ∂(λ·Σw²)/∂w = 2λ·w", f"        w.grad += 2 * {s.reg_rate!r} * w.data"]
    elif s.regularization == "l1" and s.reg_rate:
        lines += ["    for w in weights:  # L1: ∂(λ·Σ|w|)/∂w = λ·sign(w)",
                  f"        w.grad += {s.reg_rate!r} * float(np.sign(w.data))"]
    lines += [
        "    optimizer.step()",
        "",
        "model.eval()",
        "",
        "",
        "def loss(F, t):",
        "    s = nn.predict(model, F)",
        f"    return float({_LOSS_NUMPY[s.loss]})",
        "",
        "",
        'print(f"train loss {loss(F_train, t_train):.12g}")',
        'print(f"test loss {loss(F_test, t_test):.12g}")',
    ]
    if s.problem == "classification":
        lines += ['print(f"test accuracy {np.mean((nn.predict(model, F_test) > 0) == (y[n_train:] > 0.5)):.3f}")']
    return "\n".join(lines) + "\n"
