"""What the ``__dict__`` slot costs a Value: bytes and time per node, against a twin without it.

``Value`` lists ``"__dict__"`` in its ``__slots__`` so that code written for micrograd can hang
its own attributes on nodes (an optimizer's ``p.m``, a drawing's colour). Two classes with
Value's slots, one with and one without ``__dict__``, are timed in the same run, interleaved,
best of several repeats (the ratio is what to read; the machine's load cancels out):

* bytes per object (``sys.getsizeof`` and ``tracemalloc``, GC header and allocator rounding included);
* making a node and filling its slots, as the engine does for every op;
* the first extra attribute on a node (the dict is only created then).

Run: ``python benchmarks/extra_attributes.py [--nodes 200000]``.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograd_core import Value

SLOTS = tuple(s for s in Value.__slots__ if s != "__dict__")
WithDict = type("WithDict", (), {"__slots__": (*SLOTS, "__dict__")})
Slotted = type("Slotted", (), {"__slots__": SLOTS})


def make(cls: type, n: int) -> list[object]:
    new = object.__new__
    out = []
    for i in range(n):
        v = new(cls)
        v.data = 1.0
        v.grad = 0.0
        v.label = ""
        v._fn = None
        v._seq = i
        v._x0 = v._x1 = None
        v._d0 = v._d1 = 0.0
        v._rest = ()
        out.append(v)
    return out


def bytes_per_object(cls: type, n: int) -> float:
    gc.collect()
    tracemalloc.start()
    objs = make(cls, n)
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del objs
    return size / n


def best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    n = args.nodes
    print(f"Python {platform.python_version()} on {platform.machine()}; {n:,} nodes, best of {args.repeats}")
    print(f"sys.getsizeof: slotted {sys.getsizeof(make(Slotted, 1)[0])} B, with __dict__ "
          f"{sys.getsizeof(make(WithDict, 1)[0])} B")
    print(f"allocated per node (tracemalloc, list slot included): slotted {bytes_per_object(Slotted, n):.1f} B, "
          f"with __dict__ {bytes_per_object(WithDict, n):.1f} B")
    # Short alternating batches, best of many: both classes see the same machine load.
    batch = max(n // 20, 1)
    times: dict[type, list[float]] = {Slotted: [], WithDict: []}
    for _ in range(args.repeats * 20):
        for cls in (Slotted, WithDict):
            times[cls].append(best_time(lambda cls=cls: make(cls, batch), 1))
    slot, dic = min(times[Slotted]) / batch * 1e9, min(times[WithDict]) / batch * 1e9
    print(f"make a node and fill its slots: slotted {slot:.0f} ns, with __dict__ {dic:.0f} ns, ratio {dic / slot:.3f}")
    nodes = make(WithDict, n)

    def tag() -> None:
        for v in nodes:
            v.m = 0.0

    print(f"first extra attribute on a node (creates its dict): {best_time(tag, 1) / n * 1e9:.0f} ns")
    print(f"Value itself: sys.getsizeof {sys.getsizeof(Value(1.0))} B")


if __name__ == "__main__":
    main()
