"""Memory per graph node, ours vs micrograd, measured with ``tracemalloc``.

The graph (the same for both engines, built from ops micrograd has):

    L = Σᵢ relu(xᵢ · w)      over n inputs, the sum taken as a balanced binary tree

n = 250,000 gives 1,000,000 nodes (n leaves xᵢ, n products, n relus, n − 1 sums, and w).
A tree keeps the depth near log₂ n, so micrograd's recursive topological sort survives it.

Reported per engine: bytes per node held by the built graph, the extra peak during
``backward()``, what stays after backward, and what is still allocated after dropping the
root with the cycle collector off (reference counting alone). micrograd keeps a closure per
node that refers to the node itself, so its graphs are only freed by ``gc``.

Run: ``python benchmarks/memory.py [--nodes 1000000]``.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograd_core import Value


@dataclass
class Measure:
    engine: str
    nodes: int
    build: int
    backward_peak: int
    after_backward: int
    after_drop: int

    def row(self) -> str:
        cells = [self.build, self.backward_peak, self.after_backward, self.after_drop]
        widths = [8, 14, 19, 19]
        per_node = " | ".join(f"{c / self.nodes:>{w}.1f}" for c, w in zip(cells, widths))
        return f"| {self.engine:<13} | {self.nodes:>9,} | {per_node} |"


def tree_sum(terms: list[Any]) -> Any:
    """Σ terms as a balanced binary tree of '+' nodes (depth ⌈log₂ n⌉)."""
    while len(terms) > 1:
        paired = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)]
        if len(terms) % 2:
            paired.append(terms[-1])
        terms = paired
    return terms[0]


def build_graph(value_cls: Callable[[float], Any], xs: list[float]) -> Any:
    w = value_cls(0.5)
    return tree_sum([(value_cls(x) * w).relu() for x in xs])


def measure(engine: str, value_cls: Callable[[float], Any], xs: list[float]) -> Measure:
    nodes = 4 * len(xs)  # xᵢ, xᵢ·w, relu, the n − 1 sums, and w
    gc.collect()
    gc.disable()
    try:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        root = build_graph(value_cls, xs)
        built = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        root.backward()
        after, peak = tracemalloc.get_traced_memory()
        del root
        dropped = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    finally:
        gc.enable()
        gc.collect()
    return Measure(engine, nodes, built - base, peak - built, after - base, dropped - base)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1_000_000, help="graph size (rounded to a multiple of 4)")
    args = parser.parse_args(argv)
    n = max(args.nodes // 4, 2)
    xs = [((i * 7919) % 1000) / 500.0 - 1.0 for i in range(n)]

    results = [measure("autograd_core", Value, xs)]
    try:
        from micrograd.engine import Value as MicrogradValue
    except ImportError:
        print("micrograd is not installed (pip install micrograd==0.1.0); measuring ours only")
    else:
        results.append(measure("micrograd", MicrogradValue, xs))

    print(f"Python {platform.python_version()} on {platform.machine()}; graph Σ relu(xᵢ·w), {4 * n:,} nodes")
    print("bytes per node:")
    print("| engine        |     nodes |    built | backward +peak | kept after backward | kept after del root |")
    print("|---------------|-----------|----------|----------------|---------------------|---------------------|")
    for r in results:
        print(r.row())


if __name__ == "__main__":
    main()
