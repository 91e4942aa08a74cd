"""One table: a training step in micrograd, our eager engine, our compiled mode and PyTorch.

Workloads (all measured in this one run, median of several repeats, ms per step):

* **micrograd demo step**: ``MLP(2, [16, 16, 1])`` on 100 moons samples (noise 0.1), hinge
  loss + 1e-4·Σw², one forward + backward + SGD update. micrograd and our eager engine run
  the very same demo code (only the import differs); compiled mode is
  ``nn.fit(..., compiled=True)`` (time of a 200-step call ÷ 200); PyTorch runs the same
  model batched in float64 on the CPU.
* **eager via nn.fit**: the same eager step taken by ``nn.fit(..., steps=N, progress=False)``
  (time of the call ÷ N); it also records the history, and pauses the cyclic garbage collector
  during forward + backward, which the plain eager row does not.
* The micrograd, eager and ``nn.fit`` demo steps take turns within every repeat, so a slow
  spell of a shared machine lands on all three and their ratios hold.
* **64-64-64 spiral step**: ``MLP(2, [64, 64, 64, 1])`` on 1,000 spiral samples, same loss and
  update (micrograd is left out: one step would take minutes).

Then the 100-step demo (SGD, lr 1.0 → 0.1 as micrograd's notebook) is trained eagerly and
compiled from the same initial weights, and the final training accuracies are compared.

Run ``benchmarks/setup.sh`` once (it installs micrograd 0.1.0 and torch from PyPI), then
``python benchmarks/compare.py``; ``--quick`` takes fewer repeats. If micrograd is missing the
script installs it with pip first; if torch is missing its rows say so.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

# Every engine on one thread: the matrices are small, and threads only add noise on a shared machine.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nn  # noqa: E402

ALPHA = 1e-4
LR = 1e-3  # for timing; the cost of a step does not depend on the learning rate


def ensure_micrograd() -> Any:
    """micrograd 0.1.0 from PyPI, installed with pip on first use (never vendored)."""
    try:
        return importlib.import_module("micrograd")
    except ImportError:
        print("micrograd is not installed; installing micrograd==0.1.0 from PyPI …", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "micrograd==0.1.0"], check=True)
        importlib.invalidate_caches()
        return importlib.import_module("micrograd")


def median_ms(step: Callable[[], Any], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def interleaved_median_ms(steps: list[Callable[[], Any]], repeats: int) -> list[float]:
    """Median ms of each step, the steps taking turns within every repeat.

    Taking turns keeps a slow spell of a shared machine from landing on one engine only, so
    the ratios between them hold even when the absolute times drift.
    """
    for step in steps:
        step()
    times: list[list[float]] = [[] for _ in steps]
    for _ in range(repeats):
        for step, bucket in zip(steps, times):
            gc.collect()
            t0 = time.perf_counter()
            step()
            bucket.append(time.perf_counter() - t0)
    return [statistics.median(bucket) * 1e3 for bucket in times]


def median_ms_per_call(step: Callable[[], Any], repeats: int, calls: int) -> float:
    """For fast steps: the median over ``repeats`` of the mean over ``calls`` back-to-back steps."""
    def many() -> None:
        for _ in range(calls):
            step()

    return median_ms(many, repeats) / calls


# -- the demo step, word for word as micrograd's notebook (works with either Value class) ----
def demo_step(model: Any, Xl: list[list[float]], yl: list[float], lr: float) -> float:
    Value = type(model.parameters()[0])  # micrograd's or ours: the code is the same
    inputs = [list(map(Value, xrow)) for xrow in Xl]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yl, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in model.parameters())
    total_loss = data_loss + reg_loss
    model.zero_grad()
    total_loss.backward()
    for p in model.parameters():
        p.data -= lr * p.grad
    return total_loss.data


def compiled_ms(model: nn.Module, X: np.ndarray, y01: np.ndarray, reps: int, steps: int) -> float:
    """ms per step of ``nn.fit(..., compiled=True)`` (SGD, hinge + L2), median over ``reps`` runs of ``steps``."""
    opt = nn.SGD(model.parameters(), lr=LR)
    return median_ms(lambda: nn.fit(model, X, y01, optimizer=opt, alpha=ALPHA, steps=steps, compiled=True,
                                    progress=False), reps) / steps


def fit_run(model: nn.Module, X: np.ndarray, y01: np.ndarray, steps: int) -> None:
    """``steps`` eager steps through ``nn.fit``: the same step plus its history, with the cyclic GC paused."""
    nn.fit(model, X, y01, loss="hinge", alpha=ALPHA, optimizer=nn.SGD(model.parameters(), lr=LR),
           steps=steps, progress=False)


def torch_setup(model: nn.Module, X: np.ndarray, y_pm1: np.ndarray) -> Callable[[float], float] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    sizes = [model.nin, *model.nouts]
    layers: list[Any] = []
    for i, (a, b) in enumerate(pairwise(sizes)):
        layers.append(torch.nn.Linear(a, b, dtype=torch.float64))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    Xt, yt = torch.tensor(X), torch.tensor(y_pm1)
    opt = torch.optim.SGD(net.parameters(), lr=LR)

    def step(lr: float = LR) -> float:
        opt.zero_grad()
        scores = net(Xt).squeeze(1)
        loss = torch.relu(1 - yt * scores).mean() + ALPHA * sum((p * p).sum() for p in net.parameters())
        loss.backward()
        opt.step()
        return loss.item()

    return step


def accuracy(model: nn.Module, X: np.ndarray, y01: np.ndarray) -> float:
    from autograd_core import compile

    scores = compile(model, X.shape[1])(X)
    return float(((scores > 0) == (y01 == 1)).mean())


def train_demo(X: np.ndarray, y01: np.ndarray, compiled: bool, steps: int = 100) -> tuple[float, list[float]]:
    model = nn.MLP(2, [16, 16, 1], rng=1337)
    y_pm1 = 2.0 * y01 - 1.0
    Xl, yl = X.tolist(), y_pm1.tolist()
    if compiled:
        # fit's defaults are the demo's: SGD with η = 1.0 − 0.9·k/steps.
        nn.fit(model, X, y01, alpha=ALPHA, steps=steps, compiled=True, progress=False)
    for k in range(0 if compiled else steps):
        demo_step(model, Xl, yl, 1.0 - 0.9 * k / steps)
    return accuracy(model, X, y01), [p.data for p in model.parameters()]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = [f"Python {platform.python_version()}", f"numpy {np.__version__}"]
    try:
        import torch

        threads = torch.get_num_threads()
        versions.append(f"torch {torch.__version__} ({threads} thread{'s' if threads != 1 else ''})")
    except ImportError:
        pass
    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores; {', '.join(versions)}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (noisier)")
    args = parser.parse_args(argv)
    reps = 3 if args.quick else 7
    micrograd = ensure_micrograd()
    from micrograd.nn import MLP as MicroMLP

    rows: list[tuple[str, str, float | None]] = []

    # micrograd demo step
    X, y01 = nn.make_moons(100, noise=0.1, seed=1337)
    y_pm1 = 2.0 * y01 - 1.0
    Xl, yl = X.tolist(), y_pm1.tolist()
    random.seed(1337)
    micro = MicroMLP(2, [16, 16, 1])
    ours = nn.MLP(2, [16, 16, 1], rng=1337)
    comp = nn.MLP(2, [16, 16, 1], rng=1337)
    fit_model = nn.MLP(2, [16, 16, 1], rng=1337)
    torch_step = torch_setup(ours, X, y_pm1)
    demo = "demo MLP(2,[16,16,1]), 100 moons"
    fit_steps = 3 if args.quick else 5
    micro_ms, demo_eager_ms, fit_ms = interleaved_median_ms(
        [lambda: demo_step(micro, Xl, yl, LR), lambda: demo_step(ours, Xl, yl, LR),
         lambda: fit_run(fit_model, X, y01, fit_steps)], reps)
    rows.append((demo, f"micrograd {getattr(micrograd, '__version__', '0.1.0')}", micro_ms))
    rows.append((demo, "eager (autograd_core)", demo_eager_ms))
    rows.append((demo, "eager via nn.fit", fit_ms / fit_steps))
    rows.append((demo, "compiled (nn.fit(compiled=True))", compiled_ms(comp, X, y01, reps, 200)))
    rows.append((demo, "PyTorch float64 CPU", median_ms_per_call(torch_step, reps, 50) if torch_step else None))

    # 64-64-64 on 1,000 spiral samples
    Xs, ys01 = nn.make_spiral(1000, noise=0.1, seed=1)
    ys = 2.0 * ys01 - 1.0
    big = "MLP(2,[64,64,64,1]), 1,000 spiral"
    eager_big = nn.MLP(2, [64, 64, 64, 1], rng=1)
    comp_big = nn.MLP(2, [64, 64, 64, 1], rng=1)
    torch_big = torch_setup(eager_big, Xs, ys)
    # One eager step on all 1,000 samples builds ~17 million nodes; graphs are per sample, so
    # the step is timed on a slice and scaled (the row says so).
    part = 20 if args.quick else 100
    Xp, yp = Xs[:part].tolist(), ys[:part].tolist()
    eager_ms = median_ms(lambda: demo_step(eager_big, Xp, yp, LR), 1, warmup=0) * (len(Xs) / part)
    rows.append((big, f"eager (autograd_core; {part} samples × {len(Xs) // part})", eager_ms))
    rows.append((big, "compiled (nn.fit(compiled=True))", compiled_ms(comp_big, Xs, ys01, reps, 20)))
    rows.append((big, "PyTorch float64 CPU", median_ms_per_call(torch_big, reps, 5) if torch_big else None))

    print(f"{datetime.date.today().isoformat()} — {machine()}")
    print("ms per training step (forward + backward + SGD update), median of repeats, one run\n")
    print(table(rows))

    acc_eager, w_eager = train_demo(X, y01, compiled=False)
    acc_comp, w_comp = train_demo(X, y01, compiled=True)
    diff = max(abs(a - b) for a, b in zip(w_eager, w_comp))
    print(f"\n100-step micrograd demo (hinge + 1e-4·L2, SGD lr 1.0→0.1, same initial weights): "
          f"final training accuracy eager {acc_eager:.0%}, compiled {acc_comp:.0%}; "
          f"largest weight difference after 100 steps {diff:.1e}")


def table(rows: list[tuple[str, str, float | None]]) -> str:
    torch_ms = {w: ms for w, e, ms in rows if e.startswith("PyTorch")}
    micro_ms = {w: ms for w, e, ms in rows if e.startswith("micrograd")}
    head = ("workload", "engine", "ms/step", "÷ PyTorch", "micrograd ÷")
    body = []
    for workload, engine, ms in rows:
        if ms is None:
            body.append((workload, engine, "not installed", "", ""))
            continue
        t, m = torch_ms.get(workload), micro_ms.get(workload)
        body.append((workload, engine, f"{ms:.3f}" if ms < 10 else f"{ms:,.1f}",
                     f"{ms / t:,.1f}×" if t else "", f"{m / ms:,.1f}×" if m else ""))
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    fmt = lambda r: "| " + " | ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in
                                      enumerate(zip(r, widths))) + " |"
    rule = "|" + "|".join("-" * (w + 1) + ("-" if i < 2 else ":") for i, w in enumerate(widths)) + "|"
    return "\n".join([fmt(head), rule, *map(fmt, body)])


if __name__ == "__main__":
    main()
