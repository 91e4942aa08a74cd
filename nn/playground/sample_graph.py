"""One data point's computation graph, summarised per neuron, and its backward pass step by step.

The point's features x go through the network as Values, so the whole scalar graph of
C = ℓ(s(x), y) is recorded; every node is then assigned to the neuron whose computation
created it (its products wᵢ·xᵢ, the sum z = w·x + b and a = σ(z)). The page shows one box
per neuron with a and ∂C/∂a, one edge per weight with w and ∂C/∂w, and walks through
:func:`autograd_core.backward_steps` node by node: at each node ``out`` with parents xᵢ,
∂C/∂xᵢ += ∂C/∂out · ∂out/∂xᵢ. A network with batch norm is run in eval mode here (one point
alone has no batch statistics), so BN uses its running μ and σ².
"""

from __future__ import annotations

from typing import Any

import nn
from autograd_core import Value, backward_steps, topological_order

from .session import EAGER_LOSSES, jsonable
from .settings import FEATURES

__all__ = ["sample_graph", "build_sample"]

MAX_STEPS = 5000


def build_sample(session: Any, index: int) -> tuple[Value, dict[int, str], dict[int, str], list[list[Any]],
                                                    list[Value]]:
    """The loss Value of point ``index`` with node names, node → unit ids, the units and inputs.

    Builds the graph only (no backward). Units are grouped in columns: inputs, one column per
    layer of neurons (and per batch-norm/activation stage), the loss.
    """
    s, model = session.settings, session.model
    features, _, target = session.point(index)
    xs = [Value(float(v), FEATURES[f][0]) for v, f in zip(features, s.features)]
    names: dict[int, str] = {id(x): FEATURES[f][0] for x, f in zip(xs, s.features)}
    unit_of: dict[int, str] = {id(x): f"in:{i}" for i, x in enumerate(xs)}
    columns: list[list[Any]] = [[("in", i, x) for i, x in enumerate(xs)]]
    current: list[Any] = xs
    dense = 0
    for li, m in enumerate(model.layers):
        if isinstance(m, nn.Layer):
            dense += 1
            outs = [n.forward(current) for n in m.neurons]
            for j, n in enumerate(m.neurons):
                for i, w in enumerate(n.w):
                    names[id(w)] = f"w{dense}[{j + 1},{i + 1}]"
                if n.b is not None:
                    names[id(n.b)] = f"b{dense}[{j + 1}]"
        else:
            outs = m.forward(current)
        kind = "dense" if isinstance(m, nn.Layer) else type(m).__name__
        _name_outputs(outs, m, kind, li, dense, li == len(model.layers) - 1, names, unit_of)
        columns.append([(kind, li, out) for out in outs])
        current = outs
    loss = EAGER_LOSSES[s.loss]([current[0]], [target])
    for node in topological_order(loss):
        unit_of.setdefault(id(node), "loss")
    names[id(loss)] = "C"
    # Every other node gets a short unique name, so each chain-rule line reads unambiguously.
    for k, node in enumerate(topological_order(loss)):
        if id(node) not in names:
            names[id(node)] = f"({node.op}){k}" if node.op else f"c{k}"
    columns.append([("loss", 0, loss)])
    return loss, names, unit_of, columns, xs


def _name_outputs(outs: list[Value], m: Any, kind: str, li: int, dense: int, last: bool, names: dict[int, str],
                  unit_of: dict[int, str]) -> None:
    """Name layer ``li``'s outputs (a, ẑ, s; z before a dense σ) and claim their new nodes for its units."""
    for j, out in enumerate(outs):
        key = f"{li}:{j}"
        for node in topological_order(out):
            unit_of.setdefault(id(node), key)
        name = "s" if last else (f"a{dense}[{j + 1}]" if kind != "BatchNorm1d" else f"ẑ{dense}[{j + 1}]")
        if kind == "dense" and m.activation != "linear":
            names.setdefault(id(out.parents[0]), f"z{dense}[{j + 1}]")
        elif kind == "dense":
            name = "s" if last else f"z{dense}[{j + 1}]"
        names.setdefault(id(out), name)


def sample_graph(session: Any, index: int) -> dict[str, Any]:
    """The ``graph`` message for point ``index``: units, edges and every backward step.

    Runs backward step by step on the point's own graph. The model's parameter gradients
    (those of the last training step) are put back afterwards, so looking at a point does not
    change what the page shows or how training continues.
    """
    model = session.model
    params = model.parameters()
    saved = [p.grad for p in params]
    was_training = model.training
    model.eval()
    try:
        loss, names, unit_of, columns, _ = build_sample(session, index)
        for p in params:
            p.grad = 0.0
        steps = []
        for step in backward_steps(loss):
            if step.index >= MAX_STEPS:
                break
            node = step.node
            steps.append({
                "unit": unit_of.get(id(node)),
                "name": names.get(id(node)) or (f"({node.op})" if node.op else "leaf"),
                "op": node.op,
                "value": node.data,
                "upstream": float(step.upstream),
                "parents": [{"name": names.get(id(p)) or (f"({p.op})" if p.op else "leaf"),
                             "unit": unit_of.get(id(p)), "local": float(lg), "contribution": float(c)}
                            for p, lg, c in zip(step.parents, step.local_grads, step.contributions)],
                "text": step.explain(names),
            })
        units = [[{"id": unit_of[id(v)], "kind": kind, "name": names.get(id(v), ""), "value": v.data,
                   "grad": float(v.grad),
                   "z": _pre(v, kind, names, "data"), "z_grad": _pre(v, kind, names, "grad")} for kind, _, v in col]
                 for col in columns]
        edges = []
        for c in range(1, len(columns) - 1):
            kind, li, _ = columns[c][0]
            if kind == "dense":
                for j, n in enumerate(model.layers[li].neurons):
                    for i, w in enumerate(n.w):
                        edges.append({"from": [c - 1, i], "to": [c, j], "w": w.data, "grad": float(w.grad),
                                      "name": names[id(w)]})
            else:
                edges.extend({"from": [c - 1, j], "to": [c, j], "w": None, "grad": None, "name": ""}
                             for j in range(len(columns[c])))
        edges.append({"from": [len(columns) - 2, 0], "to": [len(columns) - 1, 0], "w": None, "grad": None,
                      "name": ""})
        _, label, target = session.point(index)
        n_train = len(session.X_train)
        xy = session.X_train[index] if index < n_train else session.X_test[index - n_train]
        return jsonable({
            "type": "graph", "index": index, "split": "train" if index < n_train else "test",
            "point": [float(xy[0]), float(xy[1])],
            "label": label, "target": target, "loss": loss.data, "units": units, "edges": edges,
            "steps": steps, "total_steps": len(steps)})
    finally:
        for p, g in zip(params, saved):
            p.grad = g
        model.train(was_training)


def _pre(v: Value, kind: str, names: dict[int, str], what: str) -> float | None:
    """z (or ∂C/∂z) of a dense neuron whose output is a = σ(z); None when there is no separate z."""
    if kind == "dense" and v.parents and names.get(id(v.parents[0]), "").startswith("z"):
        return float(getattr(v.parents[0], what))
    return None
