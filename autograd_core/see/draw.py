"""The computation graph as a picture (graphviz): one record box per Value, one node per op.

    a = (w * x + b).tanh()                  # the seed's neuron, a = σ(z) with z = w·x + b
    a.backward()
    draw_graph(a, names=locals())           # inline in Jupyter; .render("neuron", format="png")

Each Value is a box ``label | data | grad``; each op (``*``, ``+``, ``tanh``, …) is its own
small ellipse; edges follow the data flow, parent → op → result, one edge per argument, so
``x*x`` draws two edges. With ``highlight=step`` (a step of
:func:`~autograd_core.see.steps.backward_steps`) the picture is one moment of backward: the node
being processed and the edges it just used stand out, each used edge carries its contribution
∂C/∂out · ∂out/∂xᵢ, gradients not complete yet read ``grad ?``, and a node used several times
shows its gradient as the sum of its contributions.

Pictures are sized to read in a notebook's output (:mod:`autograd_core.see.draw_fit`: the layout
is chosen for ``max_width``, Jupyter scales it to the output width) and big graphs are
summarised to at most ``max_nodes`` boxes (:mod:`autograd_core.see.graph_summary`: a neuron's
z = Σ wᵢ·xᵢ + b and its activation in one box, a layer on one sample in one box).

Rendering needs a ``dot`` program. A system Graphviz on PATH is used when present; otherwise
the ``graphviz-pure`` binary installed with ``pip install backprop-lab[viz]`` (see
:func:`select_dot_binary`).
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import sysconfig
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..graph import topological_order
from ..value import Value
from .draw_fit import fit_layout, picture_class
from .graph_summary import Summary, summarise
from .steps import BackwardSnapshot, BackwardStep, format_number

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
    rankdir: str | None = None,
    show_data: bool = True,
    show_grad: bool = True,
    format: str = "svg",
    highlight: BackwardStep | Value | Iterable[Value] | None = None,
    max_nodes: int = 60,
    names: Mapping[str, Any] | None = None,
    model: Any = None,
    max_width: float | None = 720.0,
    collapse: bool = True,
) -> graphviz.Digraph:
    """Draw every Value ``root`` depends on; returns a ``graphviz.Digraph``.

    ``show_data`` / ``show_grad`` choose the fields of each box. ``format`` is what
    ``.render()`` produces.

    Box labels come from, in order: ``names`` (a mapping such as ``locals()``: each Value
    in it, or in a list/tuple in it, is labelled by its variable name; names starting with
    ``_`` are skipped), ``model`` (anything with ``named_parameters()``: parameters get
    their dotted names such as ``layers.0.neurons.3.w.1``), then ``Value.label``.

    ``highlight`` is a :class:`~autograd_core.see.steps.BackwardStep` (draws that moment of
    backward, see the module docstring), a Value, or several Values (filled in colour).

    **Size.** ``max_width`` is the width in points (1 pt = 4/3 px) the picture should fit,
    720 pt being a notebook's output area. Unless ``rankdir`` is given, the first of these
    layouts whose text still reads at that width is used: left to right with
    ``label | data | grad`` boxes, left to right with the fields stacked, top to bottom
    (fields side by side, then stacked).
    In Jupyter the picture is then scaled down to the output width, never below half size
    (wider pictures scroll). ``max_width=None`` keeps the natural size, left to right.

    Graphs with more than ``max_nodes`` Values are summarised to at most ``max_nodes``
    boxes, never refused (see :mod:`autograd_core.see.graph_summary`): with ``collapse`` each
    neuron's z = Σ wᵢ·xᵢ + b and its activation become one box ``tanh(w.x + b)``, then the
    neurons of one layer on one input one box ``16 x tanh(w.x + b)``; if that is still too
    many, the boxes nearest ``root`` are kept and the rest collapse into one dashed box
    ``... N more nodes``. A summary still wider than twice ``max_width`` keeps fewer boxes.
    Drawing is iterative, so any depth works.

    Raises ``TypeError`` for a non-Value root or a ``model`` without ``named_parameters``,
    ``ValueError`` for an unknown ``rankdir``, ``max_nodes < 1`` or a non-positive
    ``max_width``, and ``ImportError`` naming the extra to install when the ``graphviz``
    package is missing.
    """
    return _draw(root, None, rankdir=rankdir, show_data=show_data, show_grad=show_grad, format=format,
                 highlight=highlight, max_nodes=max_nodes, names=names, model=model, max_width=max_width,
                 collapse=collapse)


draw_dot = draw_graph


def _draw(root: Value, fixed: tuple[str, bool, int] | None, *, rankdir: str | None = None, show_data: bool = True,
          show_grad: bool = True, format: str = "svg", highlight: Any = None, max_nodes: int = 60,
          names: Mapping[str, Any] | None = None, model: Any = None, max_width: float | None = 720.0,
          collapse: bool = True) -> Any:
    """:func:`draw_graph`, or with ``fixed = (rankdir, stacked, limit)`` a layout chosen before.

    The pictures of one stepper share a layout so that boxes stay in place from step to step.
    """
    graphviz = _import_graphviz()
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph() needs a Value, got {type(root).__name__}")
    if rankdir is not None and rankdir not in _RANKDIRS:
        raise ValueError(f"rankdir must be one of {_RANKDIRS}, got {rankdir!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"max_nodes must be a positive int, got {max_nodes!r}")
    if max_width is not None and (isinstance(max_width, bool) or not isinstance(max_width, (int, float))
                                  or not 0 < max_width < math.inf):
        raise ValueError(f"max_width must be a positive number of points or None, got {max_width!r}")
    select_dot_binary()
    order = topological_order(root)
    params = {id(p) for _, p in model.named_parameters()} if _has_parameters(model) else None
    labels = value_labels(names, model)
    scene = _Scene(order, labels, show_data, show_grad, highlight, format, max_width, max_nodes)

    named = set(labels)

    def boxes(limit: int) -> Summary:
        return summarise(order, limit, collapse, params, named)

    if fixed is not None:
        dot = scene.build(boxes(fixed[2]), fixed[:2], graphviz)
    elif rankdir is not None or max_width is None:
        dot = scene.build(boxes(max_nodes), (rankdir or "LR", False), graphviz)
    else:
        dot, max_nodes = fit_layout(boxes, lambda summary, layout: scene.build(summary, layout, graphviz),
                                    len(order), max_nodes, max_width)
    dot.fixed = (*dot.layout, max_nodes)
    return dot


def _has_parameters(model: Any) -> bool:
    return model is not None and callable(getattr(model, "named_parameters", None))


def _import_graphviz() -> Any:
    try:
        import graphviz
    except ImportError as e:
        raise ImportError(
            "drawing graphs needs the 'graphviz' Python package: pip install backprop-lab[viz]"
        ) from e
    return graphviz


def value_labels(names: Mapping[str, Any] | None = None, model: Any = None) -> dict[int, str]:
    """``id(value) → name`` from a ``locals()``-like mapping and a model's parameter names.

    Values in ``names`` (or in a list/tuple in it) get their variable name (``xs[0]`` for
    list items), skipping names that start with ``_``; ``model.named_parameters()`` gives
    dotted names. ``names`` wins over ``model``. Raises ``TypeError`` for a ``names`` that
    is not a mapping or a ``model`` without ``named_parameters()``.
    """
    labels = _parameter_labels(model) if model is not None else {}
    if names is not None:
        labels.update(_variable_labels(names))
    return labels


def _parameter_labels(model: Any) -> dict[int, str]:
    """``id(p) → dotted name`` for each Value ``p`` of ``model.named_parameters()`` (the first name wins)."""
    if not callable(getattr(model, "named_parameters", None)):
        raise TypeError(f"model must have named_parameters(), got {type(model).__name__}")
    labels: dict[int, str] = {}
    for name, p in model.named_parameters():
        if isinstance(p, Value):
            labels.setdefault(id(p), name)
    return labels


def _variable_labels(names: Mapping[str, Any]) -> dict[int, str]:
    """``id(v) → variable name`` for the Values in ``names``; a plain name beats a list item's ``xs[i]``."""
    if not isinstance(names, Mapping):
        raise TypeError(f"names must be a mapping such as locals(), got {type(names).__name__}")
    labels: dict[int, str] = {}
    items = [(k, v) for k, v in names.items() if isinstance(k, str) and not k.startswith("_")]
    for k, v in items:
        if isinstance(v, Value):
            labels.setdefault(id(v), k)
    for k, v in items:
        if isinstance(v, (list, tuple)):
            for i, x in enumerate(v):
                if isinstance(x, Value):
                    labels.setdefault(id(x), f"{k}[{i}]")
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


class _Scene:
    """Everything about one drawing except its layout and which boxes it shows."""

    def __init__(self, order: list[Value], labels: dict[int, str], show_data: bool, show_grad: bool,
                 highlight: Any, format: str, max_width: float | None, max_nodes: int) -> None:
        self.order = order
        self.labels = labels
        self.show_data = show_data
        self.show_grad = show_grad
        self.snap = highlight.snapshot() if isinstance(highlight, BackwardStep) else None
        self.marked = _marked(highlight)
        self.format = format
        self.max_width = max_width
        self.max_nodes = max_nodes

    def build(self, summary: Summary, layout: tuple[str, bool], graphviz: Any) -> Any:
        rankdir, stacked = layout
        # Record fields run across the flow when wrapped in { }, along it when not.
        wrap = stacked == (rankdir in ("TB", "BT"))
        dot = picture_class(graphviz)(format=self.format, graph_attr={"rankdir": rankdir},
                                       node_attr={"fontname": "Helvetica", "fontsize": "11"},
                                       edge_attr={"fontname": "Helvetica", "fontsize": "10"})
        dot.max_width, dot.layout = self.max_width, layout
        ids = {id(v): f"v{k}" for k, v in enumerate(summary.drawn)}
        for k, g in enumerate(summary.groups):
            for m in g.members:
                ids[id(m)] = f"g{k}"
        for v in summary.drawn:
            name = self.labels.get(id(v)) or v.label
            fields = [_escape(name)] if name or not (self.show_data or self.show_grad) else []
            self._node(dot, ids[id(v)], fields, [v], v, wrap)
            if v.parents:
                op = _op_label(v, summary.constants)
                dot.node(ids[id(v)] + "op", label=op, shape="ellipse", **self._style([v]))
                dot.edge(ids[id(v)] + "op", ids[id(v)])
        for k, g in enumerate(summary.groups):
            name = _common_name([self.labels.get(id(w), "") for w in g.weights])
            fields = [_escape(f"{name}: {g.formula()}" if name else g.formula())]
            if len(g.outputs) == 1:
                self._node(dot, f"g{k}", fields, g.members, g.outputs[0], wrap)
            else:
                fields.append(f"{len(g.outputs)} outputs")
                self._node(dot, f"g{k}", fields, g.members, None, wrap)
        self._edges(dot, summary, ids)
        return dot

    def _node(self, dot: Any, name: str, fields: list[str], members: list[Value], value: Value | None,
              wrap: bool) -> None:
        if value is not None and self.show_data:
            fields.append(f"data {format_number(value.data)}")
        if value is not None and (self.show_grad or self.snap is not None):
            fields.append(_grad_text(value, self.snap))
        label = " | ".join(fields)
        dot.node(name, label="{ " + label + " }" if wrap else label, shape="record", **self._style(members))

    def _style(self, members: list[Value]) -> dict[str, str]:
        snap, ids = self.snap, set(map(id, members))
        if ids & self.marked or (snap is not None and id(snap.current.node) in ids):
            return {"style": "filled", "fillcolor": _CURRENT, "penwidth": "2", "class": "current"}
        if snap is not None and ids <= snap.final:
            return {"style": "filled", "fillcolor": _FINAL}
        return {}

    def _edges(self, dot: Any, summary: Summary, ids: dict[int, str]) -> None:
        seen: set[tuple[str, str]] = set()
        members = [v for g in summary.groups for v in g.members]
        into_hidden: set[str] = set()
        for v in [*summary.drawn, *members]:
            head = ids[id(v)] + ("op" if ids[id(v)].startswith("v") else "")
            for i, parent in enumerate(v.parents):
                if id(parent) in summary.folded:
                    continue
                if id(parent) in summary.hidden:
                    into_hidden.add(head)
                    continue
                tail = ids[id(parent)]
                if tail == ids[id(v)]:
                    continue
                if head.startswith("v"):
                    dot.edge(tail, head, **self._edge_style(v, i))
                elif (tail, head) not in seen:
                    seen.add((tail, head))
                    dot.edge(tail, head, **self._bundle_style(v, i))
        if summary.hidden:
            shown = set(ids) | {id(p) for v in [*summary.drawn, *members] for p in v.parents
                                if id(p) in summary.folded}
            label = f"... {summary.total - len(shown)} more nodes (max_nodes={self.max_nodes})"
            dot.node("hidden", label=label, shape="box", style="dashed")
            for head in sorted(into_hidden):
                dot.edge("hidden", head, style="dashed")

    def _edge_style(self, child: Value, i: int) -> dict[str, str]:
        snap = self.snap
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
            return {"label": f"{up} * {local} = {text}", "color": _USED_EDGE, "fontcolor": _USED_EDGE,
                    "penwidth": "2.5", "class": "used"}
        return {"label": text}

    def _bundle_style(self, child: Value, i: int) -> dict[str, str]:
        # An edge into a group stands for many edges: coloured, but without one number.
        snap = self.snap
        if snap is None:
            return {}
        if snap.current.node is child:
            return {"color": _USED_EDGE, "penwidth": "2.5", "class": "used"}
        return {} if (id(child), i) in snap.edges else {"color": "gray60"}


def _op_label(v: Value, constants: set[int]) -> str:
    """``*``, or ``* 1.0001`` / ``1 -`` with a folded constant written where it stands."""
    if len(v.parents) != 2 or not any(id(p) in constants for p in v.parents):
        return v.op
    first, second = v.parents
    if id(second) in constants:
        return f"{v.op} {second.data:.6g}"
    return f"{first.data:.6g} {v.op}"


def _common_name(names: list[str]) -> str:
    """``layers.1`` for ``layers.1.neurons.0.w.0`` … ``layers.1.neurons.5.b`` ('' if unnamed)."""
    if not names or not all(names):
        return ""
    common: list[str] = []
    for level in zip(*(n.split(".") for n in names)):
        if len(set(level)) > 1:
            break
        common.append(level[0])
    while common and common[-1] in ("w", "b", "neurons"):
        common.pop()
    return ".".join(common) if len(common) > 1 else ""


def _escape(text: str) -> str:
    # Record labels treat { } | < > as structure and \ as an escape.
    text = text.replace("\n", " ")
    for ch in "\\{}|<>":
        text = text.replace(ch, "\\" + ch)
    return text
