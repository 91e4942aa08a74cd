"""The micrograd demo loop as a notebook runs it: consecutive steps, no ``gc.collect()`` between.

``compare.py`` collects garbage before every timed step so that each engine starts from the
same heap. A notebook does not: micrograd's graphs are freed only by the cyclic garbage
collector (each node's closure refers back to the node), so its garbage piles up between
collections, while ours is freed by reference counting at the end of each step. And a
notebook session holds many other objects (IPython, numpy, matplotlib), which every full
collection walks too; ``--heap N`` keeps N extra small objects alive to stand in for them.

Blocks of consecutive steps of each engine take turns; each block starts after one
``gc.collect()``. Reported: the median step of each engine and their ratio.

Run: ``python benchmarks/loop.py [--heap 300000] [--steps 8] [--blocks 2]``.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from compare import LR, demo_step, ensure_micrograd

import nn


def block_ms(model: object, Xl: list[list[float]], yl: list[float], steps: int) -> list[float]:
    gc.collect()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        demo_step(model, Xl, yl, LR)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heap", type=int, default=0, help="extra objects kept alive (a notebook's)")
    parser.add_argument("--steps", type=int, default=8, help="consecutive steps per block")
    parser.add_argument("--blocks", type=int, default=2, help="blocks per engine, taking turns")
    args = parser.parse_args(argv)
    ensure_micrograd()
    from micrograd.nn import MLP as MicroMLP

    heap = [[i] for i in range(args.heap)]
    X, y01 = nn.make_moons(100, noise=0.1, seed=1337)
    Xl, yl = X.tolist(), (2.0 * y01 - 1.0).tolist()
    random.seed(1337)
    micro = MicroMLP(2, [16, 16, 1])
    ours = nn.MLP(2, [16, 16, 1], rng=1337)
    micro_ms: list[float] = []
    ours_ms: list[float] = []
    for _ in range(args.blocks):
        micro_ms += block_ms(micro, Xl, yl, args.steps)
        ours_ms += block_ms(ours, Xl, yl, args.steps)
    m, o = statistics.median(micro_ms), statistics.median(ours_ms)
    print(f"micrograd demo loop, {args.blocks} blocks of {args.steps} consecutive steps per engine, "
          f"{len(heap):,} extra objects alive")
    print(f"micrograd 0.1.0        {m:9.1f} ms/step (median)")
    print(f"eager (autograd_core)  {o:9.1f} ms/step (median)   {m / o:.1f}× faster")


if __name__ == "__main__":
    main()
