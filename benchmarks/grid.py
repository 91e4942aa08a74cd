"""Compiled training against PyTorch and against a lean hand-written numpy step, on a grid.

Every cell is one training step of ``MLP(2, [h…, 1])`` (relu hidden layers, linear output) with
hinge loss + α·Σw² (α = 1e-4) and plain SGD, full batch, from the same initial weights:

* **fit**: ``nn.fit(model, X, y, compiled=True, optimizer=SGD(lr), alpha=α, steps=N,
  progress=False)`` — the API a learner calls; the time of the call ÷ N (building the program
  and syncing the Values at the end are included, spread over the N steps; N ≥ 50 unless a
  step takes over 50 ms). That once-per-call work is also reported on its own (``steps=0``).
* **lean**: the same step written by hand in numpy (:func:`lean_step`): the floor of this design
  (float64 arrays, one matrix product per layer). Checked equal to ``fit`` before timing.
* **torch**: the same model in ``torch.nn.Linear`` layers, the same loss, ``torch.optim.SGD``.

Models × samples: {2-16-16-1, 2-64-64-64-1, 2-256-256-1} × {1, 100, 1,000, 10,000}. The three
engines take turns inside every repeat (a slow spell of the shared machine lands on all of
them) and each cell reports the median over repeats. One thread by default (``--threads``);
``--dtype float32`` runs fit and torch in float32. Also printed: the time to build the compiled
program per model (``Program(model)``, what ``fit(compiled=True)`` does once) and, for the
arbitrary-function path, ``autograd_core.compile`` (trace + schedule).

    python benchmarks/grid.py [--threads 1] [--dtype float64] [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any


def _threads_from_argv() -> int:
    for i, a in enumerate(sys.argv):
        if a == "--threads" and i + 1 < len(sys.argv):
            return int(sys.argv[i + 1])
        if a.startswith("--threads="):
            return int(a.split("=", 1)[1])
    return 1


# Thread counts must be fixed before numpy loads its BLAS.
_THREADS = _threads_from_argv()
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(_THREADS)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nn  # noqa: E402
from nn.compiled import Program  # noqa: E402

ALPHA = 1e-4
LR = 1e-3  # the cost of a step does not depend on the learning rate
MODELS = {"2-16-16-1": [16, 16, 1], "2-64-64-64-1": [64, 64, 64, 1], "2-256-256-1": [256, 256, 1]}
SIZES = [1, 100, 1_000, 10_000]


def data(n: int) -> tuple[np.ndarray, np.ndarray]:
    X, y = nn.make_moons(max(n, 2), noise=0.1, seed=1337)
    return X[:n], y[:n]


def weights(model: nn.MLP) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W, b) per layer from the model's Values."""
    return [(np.array([[w.data for w in nrn.w] for nrn in layer.neurons]),
             np.array([nrn.b.data for nrn in layer.neurons])) for layer in model.layers]


def lean_step(layers: list[tuple[np.ndarray, np.ndarray]], X: np.ndarray, t: np.ndarray, lr: float) -> float:
    """One SGD step on hinge + α·Σw², written out by hand; updates ``layers`` in place."""
    acts = [X]
    for W, b in layers[:-1]:
        acts.append(np.maximum(acts[-1] @ W.T + b, 0.0))
    W, b = layers[-1]
    s = (acts[-1] @ W.T + b)[:, 0]
    margin = 1.0 - t * s
    n = len(t)
    loss = np.maximum(margin, 0.0).sum() / n + ALPHA * sum((W * W).sum() + (b * b).sum() for W, b in layers)
    g = np.where(margin > 0.0, -t / n, 0.0)[:, None]
    for i in range(len(layers) - 1, -1, -1):
        W, b = layers[i]
        gW, gb = g.T @ acts[i], g.sum(axis=0)
        if i:
            g = (g @ W) * (acts[i] > 0.0)
        W -= lr * (gW + 2 * ALPHA * W)
        b -= lr * (gb + 2 * ALPHA * b)
    return float(loss)


def torch_setup(model: nn.MLP, X: np.ndarray, t: np.ndarray, lr: float, dtype: Any) -> Any:
    import torch

    layers: list[Any] = []
    for (W, b), layer in zip(weights(model), model.layers):
        lin = torch.nn.Linear(W.shape[1], W.shape[0], dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.copy_(torch.from_numpy(b))
        layers += [lin, torch.nn.ReLU()] if layer.activation == "relu" else [lin]
    net = torch.nn.Sequential(*layers)
    Xt, tt = torch.from_numpy(X).to(dtype), torch.from_numpy(t).to(dtype)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    params = list(net.parameters())

    def step() -> float:
        opt.zero_grad()
        s = net(Xt)[:, 0]
        loss = torch.relu(1.0 - tt * s).mean() + ALPHA * sum((p * p).sum() for p in params)
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step


def check_equal() -> None:
    """fit(compiled=True) and the lean step give the same weights after 5 steps (to 1e-12)."""
    X, y = data(100)
    t = 2.0 * y - 1.0
    model = nn.MLP(2, [16, 16, 1], rng=0)
    layers = weights(model)
    for _ in range(5):
        lean_step(layers, X, t, 0.1)
    nn.fit(model, X, y, optimizer=nn.SGD(model.parameters(), lr=0.1), alpha=ALPHA, steps=5, compiled=True,
           progress=False)
    for (W, b), (W2, b2) in zip(layers, weights(model)):
        np.testing.assert_allclose(W2, W, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(b2, b, rtol=1e-12, atol=1e-14)


def per_step(fn: Any, steps: int) -> float:
    t0 = time.perf_counter()
    fn(steps)
    return (time.perf_counter() - t0) / steps * 1e3


def cell(name: str, n: int, dtype: str, has_torch: bool) -> dict[str, Any]:
    X, y = data(n)
    t = 2.0 * y - 1.0
    model = nn.MLP(2, MODELS[name], rng=0)
    npdtype = np.float32 if dtype == "float32" else np.float64
    layers = weights(model)
    opt = nn.SGD(model.parameters(), lr=LR)

    def run_fit(k: int) -> None:
        nn.fit(model, X, y, optimizer=opt, alpha=ALPHA, steps=k, compiled=True, progress=False,
               **({"dtype": npdtype} if dtype == "float32" else {}))

    def run_lean(k: int) -> None:
        for _ in range(k):
            lean_step(layers, X, t, LR)

    runs = {"fit": run_fit, "lean": run_lean}
    if has_torch:
        import torch

        step = torch_setup(model, X, t, LR, torch.float32 if dtype == "float32" else torch.float64)

        def run_torch(k: int) -> None:
            for _ in range(k):
                step()

        runs["torch"] = run_torch
    # Steps per timing: about 200 ms of the lean step's work, and at least 50 steps (micrograd's
    # demo runs 100) unless a step takes over 50 ms, so fit's once-per-call work (reading the
    # structure, syncing the Values at the end; its own column) is spread as in a real run.
    probe = per_step(run_lean, 3)
    steps = int(min(4000, max(5 if probe > 50.0 else 50, 200.0 / max(probe, 1e-4))))
    for run in runs.values():
        run(2)
    def run_setup(k: int) -> None:
        nn.fit(model, X, y, optimizer=opt, alpha=ALPHA, steps=0, compiled=True, progress=False)

    return {"runs": runs, "steps": steps, "setup": run_setup}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 repeats, sizes up to 1,000")
    args = parser.parse_args()
    try:
        import torch

        torch.set_num_threads(args.threads)
        has_torch = True
    except ImportError:
        has_torch = False
    check_equal()
    repeats = 2 if args.quick else args.repeats
    sizes = SIZES[:3] if args.quick else SIZES
    cells = {(m, n): cell(m, n, args.dtype, has_torch) for m in MODELS for n in sizes}
    times: dict[tuple[str, int], dict[str, list[float]]] = {key: {} for key in cells}
    for r in range(repeats):
        for key, c in cells.items():
            names = list(c["runs"])
            names = names[r % len(names):] + names[:r % len(names)]  # rotate who goes first
            for name in names:
                times[key].setdefault(name, []).append(per_step(c["runs"][name], c["steps"]))
            times[key].setdefault("setup", []).append(per_step(c["setup"], 1))
    print(f"# {datetime.date.today()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, numpy {np.__version__}"
          f"{', torch ' + torch.__version__ if has_torch else ''}; {args.threads} thread(s), {args.dtype}, "
          f"median of {repeats} interleaved repeats")
    print()
    print("| model | samples | steps/call | fit(compiled) ms/step | lean numpy ms | torch ms | fit ÷ torch | "
          "fit ÷ lean | fit's setup + sync per call, ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (m, n), t in times.items():
        med = {k: statistics.median(v) for k, v in t.items()}
        tr = med.get("torch", float("nan"))
        print(f"| {m} | {n:,} | {cells[(m, n)]['steps']} | {med['fit']:.3f} | {med['lean']:.3f} | {tr:.3f} | "
              f"{med['fit'] / tr:.2f}× | {med['fit'] / med['lean']:.2f}× | {med['setup']:.1f} |")
    print()
    print("| model | Program(model) (fit's compile) ms | autograd_core.compile (trace) ms |")
    print("|---|---:|---:|")
    import autograd_core as ag

    for m, sizes_ in MODELS.items():
        model = nn.MLP(2, sizes_, rng=0)
        t0 = time.perf_counter()
        Program(model, 2)
        t_prog = (time.perf_counter() - t0) * 1e3
        t0 = time.perf_counter()
        ag.compile(model, 2)
        t_trace = (time.perf_counter() - t0) * 1e3
        print(f"| {m} | {t_prog:.1f} | {t_trace:.0f} |")


if __name__ == "__main__":
    main()
