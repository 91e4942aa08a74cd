"""Eager engine cost per node, as a ratio to a bare-Python floor measured in the same run.

The floor is the least any Python scalar engine can do: one ``__slots__`` object per node
holding data, parents and local grads, then one reverse loop of multiply-adds over a list
already in creation order (no topological sort, no op dispatch, no checks). That is the
floor issue #2 defines, and the ratio its targets refer to.

A second, stricter floor keeps each node's (at most two) parents and local grads in slots of
its own instead of tuples, the layout autograd_core itself uses: one object per node for the
garbage collector instead of three. Both are reported. Two workloads:

* chain:     z ← z · c, 1,000,000 times (depth 1,000,000)
* pairwise:  Σ xᵢ·yᵢ over 100,000 products, summed as a balanced binary tree

Run: ``python benchmarks/engine.py [--quick]``. Reports the median of several repeats.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograd_core import Value


class FloorNode:
    __slots__ = ("data", "grad", "local", "parents")

    def __init__(self, data: float, parents: tuple, local: tuple) -> None:
        self.data = data
        self.grad = 0.0
        self.parents = parents
        self.local = local


def floor_backward(nodes: list[FloorNode]) -> None:
    nodes[-1].grad = 1.0
    for node in reversed(nodes):
        g = node.grad
        for p, l in zip(node.parents, node.local):
            p.grad += l * g


def floor_chain(n: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    nodes = []
    c = FloorNode(1.0000001, (), ())
    z = FloorNode(1.0, (), ())
    nodes.append(z)
    for _ in range(n):
        z = FloorNode(z.data * c.data, (z, c), (c.data, z.data))
        nodes.append(z)
    t1 = time.perf_counter()
    floor_backward(nodes)
    return t1 - t0, time.perf_counter() - t1


def floor_pairwise(n: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    nodes = []
    level = []
    for i in range(n):
        x = FloorNode(i * 1e-3, (), ())
        y = FloorNode(1.0 - i * 1e-4, (), ())
        p = FloorNode(x.data * y.data, (x, y), (y.data, x.data))
        nodes += (x, y, p)
        level.append(p)
    while len(level) > 1:
        nxt = []
        for a, b in zip(level[::2], level[1::2]):
            s = FloorNode(a.data + b.data, (a, b), (1.0, 1.0))
            nodes.append(s)
            nxt.append(s)
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    t1 = time.perf_counter()
    floor_backward(nodes)
    return t1 - t0, time.perf_counter() - t1


# The slot floor's code repeats the floor's line for line on purpose: a floor takes no
# indirection (a shared builder would add a call per node to what it measures).
class SlotFloorNode:
    __slots__ = ("data", "grad", "x0", "d0", "x1", "d1")

    def __init__(self, data: float, x0: SlotFloorNode | None = None, d0: float = 0.0,
                 x1: SlotFloorNode | None = None, d1: float = 0.0) -> None:
        self.data = data
        self.grad = 0.0
        self.x0 = x0
        self.d0 = d0
        self.x1 = x1
        self.d1 = d1


def slot_floor_backward(nodes: list[SlotFloorNode]) -> None:
    nodes[-1].grad = 1.0
    for node in reversed(nodes):
        if node.x0 is not None:  # both workloads are binary: x1 is set whenever x0 is
            g = node.grad
            node.x0.grad += node.d0 * g
            node.x1.grad += node.d1 * g


def slot_floor_chain(n: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    nodes = []
    c = SlotFloorNode(1.0000001)
    z = SlotFloorNode(1.0)
    nodes.append(z)
    for _ in range(n):
        z = SlotFloorNode(z.data * c.data, z, c.data, c, z.data)
        nodes.append(z)
    t1 = time.perf_counter()
    slot_floor_backward(nodes)
    return t1 - t0, time.perf_counter() - t1


def slot_floor_pairwise(n: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    nodes = []
    level = []
    for i in range(n):
        x = SlotFloorNode(i * 1e-3)
        y = SlotFloorNode(1.0 - i * 1e-4)
        p = SlotFloorNode(x.data * y.data, x, y.data, y, x.data)
        nodes += (x, y, p)
        level.append(p)
    while len(level) > 1:
        nxt = []
        for a, b in zip(level[::2], level[1::2]):
            s = SlotFloorNode(a.data + b.data, a, 1.0, b, 1.0)
            nodes.append(s)
            nxt.append(s)
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    t1 = time.perf_counter()
    slot_floor_backward(nodes)
    return t1 - t0, time.perf_counter() - t1


def engine_chain(n: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    c = Value(1.0000001)
    z = Value(1.0)
    for _ in range(n):
        z = z * c
    t1 = time.perf_counter()
    z.backward()
    return t1 - t0, time.perf_counter() - t1


def engine_pairwise(n: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    level = [Value(i * 1e-3) * Value(1.0 - i * 1e-4) for i in range(n)]
    while len(level) > 1:
        nxt = [a + b for a, b in zip(level[::2], level[1::2])]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    t1 = time.perf_counter()
    level[0].backward()
    return t1 - t0, time.perf_counter() - t1


def measure(fn: Callable[[int], tuple[float, float]], n: int, repeats: int) -> tuple[float, float]:
    builds, backs = [], []
    for _ in range(repeats):
        gc.collect()
        b, k = fn(n)
        builds.append(b)
        backs.append(k)
    return statistics.median(builds), statistics.median(backs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10× smaller graphs, 1 repeat")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    scale = 10 if args.quick else 1
    repeats = 1 if args.quick else args.repeats
    print(f"python {platform.python_version()} on {platform.machine()} ({platform.processor() or 'cpu'})")
    print(f"{'workload':<36}{'build ns/node':>14}{'backward':>10}{'total':>9}{'× floor':>9}{'× slot floor':>14}")
    for name, floor, slot_floor, engine, n, nodes_per in (
        ("chain 1,000,000 (z = z·c)", floor_chain, slot_floor_chain, engine_chain, 1_000_000 // scale, 1),
        ("pairwise Σ of 100,000 products", floor_pairwise, slot_floor_pairwise, engine_pairwise, 100_000 // scale, 2),
    ):
        count = n * nodes_per
        fb, fk = measure(floor, n, repeats)
        sb, sk = measure(slot_floor, n, repeats)
        eb, ek = measure(engine, n, repeats)
        print(name)
        for who, b, k in (("  floor (issue #2)", fb, fk), ("  slot floor", sb, sk), ("  autograd_core", eb, ek)):
            print(f"{who:<36}{b / count * 1e9:>14.0f}{k / count * 1e9:>10.0f}{(b + k) / count * 1e9:>9.0f}"
                  f"{(b + k) / (fb + fk):>9.2f}{(b + k) / (sb + sk):>14.2f}")

if __name__ == "__main__":
    main()
