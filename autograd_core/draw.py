"""The computation graph as a picture (graphviz): one record box per Value, one node per op.

    a = (w * x + b).tanh()                  # the seed's neuron, a = σ(z) with z = w·x + b
    a.backward()
    draw_graph(a, names=locals())           # inline in Jupyter; .render("neuron", format="png")

Each Value is a box ``label | data | grad``; each op (``*``, ``+``, ``tanh``, …) is its own
small ellipse; edges follow the data flow, parent → op → result, one edge per argument, so
``x*x`` draws two edges. With ``highlight=step`` (a step of
:func:`~autograd_core.steps.backward_steps`) the picture is one moment of backward: the node
being processed and the edges it just used stand out, each used edge carries its contribution
∂C/∂out · ∂out/∂xᵢ, gradients not complete yet read ``grad ?``, and a node used several times
shows its gradient as the sum of its contributions.

Rendering needs a ``dot`` program. A system Graphviz on PATH is used when present; otherwise
the ``graphviz-pure`` binary installed with ``pip install backprop-lab[viz]`` (see
:func:`select_dot_binary`).
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .graph import topological_order
from .steps import BackwardSnapshot, BackwardStep, format_number
from .value import Value

if TYPE_CHECKING:
    import graphviz

__all__ = ["draw_graph", "draw_dot", "value_labels", "select_dot_binary", "graphviz_pure_binary"]

_RANKDIRS = ("LR", "RL", "TB", "BT")
# The DOT_BINARY this module set last, so that a user's own choice is never overwritten.
_chosen: list[Path] = []

_CURRENT = "#ffd54f"
_FINAL = "#e3f2e1"
_USED_EDGE = "#c62828"
# Labels that reach dot stay ASCII: graphviz-pure has no font metrics for other characters.


def graphviz_pure_binary() -> Path | None:
    """The ``graphviz-pure`` executable of this Python environment, or ``None`` if not installed."""
    name = "graphviz-pure.exe" if os.name == "nt" else "graphviz-pure"
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        if folder and (Path(folder) / name).is_file():
            return Path(folder) / name
    found = shutil.which("graphviz-pure")
    return Path(found) if found else None


def select_dot_binary() -> Path:
    """Point the ``graphviz`` package at a working ``dot`` and return it.

    The system ``dot`` when it is on PATH, otherwise ``graphviz-pure`` (a self-contained port
    installed from PyPI). A ``graphviz.backend.dot_command.DOT_BINARY`` set by the user is
    left alone. If neither is found the default ``dot`` stays, and rendering raises
    ``graphviz.ExecutableNotFound``; building and printing ``.source`` still work.
    """
    from graphviz.backend import dot_command

    current = Path(dot_command.DOT_BINARY)
    if current != Path("dot") and current not in _chosen:
        return current
    chosen = Path("dot")
    if shutil.which("dot") is None:
        chosen = graphviz_pure_binary() or chosen
    dot_command.DOT_BINARY = chosen
    _chosen[:] = [chosen]
    return chosen


def draw_graph(
    root: Value,
    *,
    rankdir: str = "LR",
    show_data: bool = True,
    show_grad: bool = True,
    format: str = "svg",
    highlight: BackwardStep | Value | Iterable[Value] | None = None,
    max_nodes: int = 500,
    names: Mapping[str, Any] | None = None,
    model: Any = None,
) -> graphviz.Digraph:
    """Draw every Value ``root`` depends on; returns a ``graphviz.Digraph``.

    ``rankdir`` is the flow direction (``"LR"``, ``"TB"``, …). ``show_data`` / ``show_grad``
    choose the fields of each box. ``format`` is what Jupyter and ``.render()`` produce.

    Box labels come from, in order: ``names`` (a mapping such as ``locals()``: each Value
    in it, or in a list/tuple in it, is labelled by its variable name; names starting with
    ``_`` are skipped), ``model`` (anything with ``named_parameters()``: parameters get
    their dotted names such as ``layers.0.neurons.3.w.1``), then ``Value.label``.

    ``highlight`` is a :class:`~autograd_core.steps.BackwardStep` (draws that moment of
    backward, see the module docstring), a Value, or several Values (filled in colour).

    Graphs with more than ``max_nodes`` Values are summarised, never refused: the
    ``max_nodes`` Values nearest to ``root`` (breadth-first through parents) are drawn and
    everything further away collapses into one dashed box ``... N more nodes``, with an edge
    into every op that has hidden inputs. Drawing is iterative, so any depth works.

    Raises ``TypeError`` for a non-Value root or a ``model`` without ``named_parameters``,
    ``ValueError`` for an unknown ``rankdir``/``format`` or ``max_nodes < 1``, and
    ``ImportError`` naming the extra to install when the ``graphviz`` package is missing.
    """
    graphviz = _import_graphviz()
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph() needs a Value, got {type(root).__name__}")
    if rankdir not in _RANKDIRS:
        raise ValueError(f"rankdir must be one of {_RANKDIRS}, got {rankdir!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"max_nodes must be a positive int, got {max_nodes!r}")
    select_dot_binary()

    order = topological_order(root)
    kept = _nearest(root, max_nodes) if len(order) > max_nodes else None
    labels = value_labels(names, model)
    snap = highlight.snapshot() if isinstance(highlight, BackwardStep) else None
    marked = _marked(highlight)

    dot = graphviz.Digraph(format=format, graph_attr={"rankdir": rankdir},
                           node_attr={"fontname": "Helvetica", "fontsize": "11"},
                           edge_attr={"fontname": "Helvetica", "fontsize": "9"})
    ids: dict[int, str] = {}
    drawn = [v for v in order if kept is None or id(v) in kept]
    for k, v in enumerate(drawn):
        ids[id(v)] = f"v{k}"
    for v in drawn:
        vid = ids[id(v)]
        fields = [_escape(labels.get(id(v)) or v.label)]
        if show_data:
            fields.append(f"data {format_number(v.data)}")
        if show_grad or snap is not None:
            fields.append(_grad_text(v, snap))
        style = _node_style(v, snap, marked)
        dot.node(vid, label="{ " + " | ".join(fields) + " }", shape="record", **style)
        if v.parents:
            dot.node(vid + "op", label=v.op, shape="ellipse", **style)
            dot.edge(vid + "op", vid)
    hidden_inputs = False
    for v in drawn:
        for i, parent in enumerate(v.parents):
            if id(parent) not in ids:
                hidden_inputs = True
                continue
            dot.edge(ids[id(parent)], ids[id(v)] + "op", **_edge_style(v, i, snap))
    if kept is not None:
        _add_summary(dot, drawn, ids, len(order) - len(drawn), max_nodes, hidden_inputs)
    return dot


draw_dot = draw_graph


def _import_graphviz() -> Any:
    try:
        import graphviz
    except ImportError as e:
        raise ImportError(
            "drawing graphs needs the 'graphviz' Python package: pip install backprop-lab[viz]"
        ) from e
    return graphviz


def _nearest(root: Value, limit: int) -> set[int]:
    """Ids of the ``limit`` Values closest to ``root``, breadth-first through parents."""
    seen = {id(root)}
    queue = deque([root])
    while queue and len(seen) < limit:
        node = queue.popleft()
        for parent in node.parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                queue.append(parent)
                if len(seen) >= limit:
                    break
    return seen


def value_labels(names: Mapping[str, Any] | None = None, model: Any = None) -> dict[int, str]:
    """``id(value) → name`` from a ``locals()``-like mapping and a model's parameter names.

    Values in ``names`` (or in a list/tuple in it) get their variable name (``xs[0]`` for
    list items), skipping names that start with ``_``; ``model.named_parameters()`` gives
    dotted names. ``names`` wins over ``model``. Raises ``TypeError`` for a ``names`` that
    is not a mapping or a ``model`` without ``named_parameters()``.
    """
    labels: dict[int, str] = {}
    if model is not None:
        if not callable(getattr(model, "named_parameters", None)):
            raise TypeError(f"model must have named_parameters(), got {type(model).__name__}")
        for name, p in model.named_parameters():
            if isinstance(p, Value):
                labels.setdefault(id(p), name)
    if names is not None:
        if not isinstance(names, Mapping):
            raise TypeError(f"names must be a mapping such as locals(), got {type(names).__name__}")
        from_names: dict[int, str] = {}
        items = [(k, v) for k, v in names.items() if isinstance(k, str) and not k.startswith("_")]
        for k, v in items:
            if isinstance(v, Value):
                from_names.setdefault(id(v), k)
        for k, v in items:
            if isinstance(v, (list, tuple)):
                for i, x in enumerate(v):
                    if isinstance(x, Value):
                        from_names.setdefault(id(x), f"{k}[{i}]")
        labels.update(from_names)
    return labels


def _marked(highlight: Any) -> set[int]:
    if highlight is None or isinstance(highlight, BackwardStep):
        return set()
    if isinstance(highlight, Value):
        return {id(highlight)}
    try:
        values = list(highlight)
    except TypeError:
        raise TypeError(
            f"highlight must be a BackwardStep, a Value or an iterable of Values, got {type(highlight).__name__}"
        ) from None
    for v in values:
        if not isinstance(v, Value):
            raise TypeError(f"highlight must contain only Values, got {type(v).__name__}")
    return set(map(id, values))


def _grad_text(v: Value, snap: BackwardSnapshot | None) -> str:
    if snap is None:
        return f"grad {format_number(getattr(v.grad, 'data', v.grad))}"
    terms = [format_number(getattr(t, "data", t)) for t in snap.terms.get(id(v), [])]
    if id(v) not in snap.final:
        return "grad " + " + ".join([*terms, "?"])
    g = snap.grad(v)
    total = format_number(getattr(g, "data", g))  # type: ignore[arg-type]
    if len(terms) < 2:
        return f"grad {total}"
    return f"grad {' + '.join(terms)} = {total}"


def _node_style(v: Value, snap: BackwardSnapshot | None, marked: set[int]) -> dict[str, str]:
    if id(v) in marked or (snap is not None and snap.current.node is v):
        return {"style": "filled", "fillcolor": _CURRENT, "penwidth": "2"}
    if snap is not None and id(v) in snap.final:
        return {"style": "filled", "fillcolor": _FINAL}
    return {}


def _edge_style(child: Value, i: int, snap: BackwardSnapshot | None) -> dict[str, str]:
    if snap is None:
        return {}
    c = snap.edges.get((id(child), i))
    if c is None:
        return {"color": "gray60"}
    text = format_number(getattr(c, "data", c))
    step = snap.current
    if step.node is child:
        up = format_number(getattr(step.upstream, "data", step.upstream))
        local = format_number(getattr(step.local_grads[i], "data", step.local_grads[i]))
        return {"label": f"{up} * {local} = {text}", "color": _USED_EDGE, "fontcolor": _USED_EDGE, "penwidth": "2.5"}
    return {"label": text}


def _add_summary(dot: Any, drawn: list[Value], ids: dict[int, str], hidden: int, max_nodes: int,
                 hidden_inputs: bool) -> None:
    dot.node("hidden", label=f"... {hidden} more nodes (max_nodes={max_nodes})", shape="box", style="dashed")
    if not hidden_inputs:
        return
    for v in drawn:
        if any(id(p) not in ids for p in v.parents):
            dot.edge("hidden", ids[id(v)] + "op", style="dashed")


def _escape(text: str) -> str:
    # Record labels treat { } | < > as structure and \ as an escape.
    text = text.replace("\n", " ")
    for ch in "\\{}|<>":
        text = text.replace(ch, "\\" + ch)
    return text
