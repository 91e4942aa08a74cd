"""How big a graph picture is: a layout that reads at a given width, scaled to fit in Jupyter.

Text in a drawing is 11 pt; shown at less than ``_READABLE`` of its size it no longer reads.
So :func:`fit_layout` tries layouts until one is narrow enough (left to right with
``label | data | grad`` boxes, left to right with the fields stacked, top to bottom), and the
Jupyter display (:func:`picture_class`, :func:`fit_svg`) lets the browser shrink the picture to
the output width, never below half size.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from .graph_summary import Summary

__all__ = ["fit_layout", "fit_svg", "svg_size", "picture_class"]

Layout = tuple[str, bool]

# Candidate layouts, best first: (rankdir, fields stacked across the flow).
_LAYOUTS = (("LR", False), ("LR", True), ("TB", False), ("TB", True))
# The smallest scale at which 11-pt labels still read (about 10 px).
_READABLE = 0.7
_MIN_SUMMARY = 8
_MEASURE_LIMIT = 300


def _deeper_than_wide(summary: Summary) -> bool:
    """Whether the longest path through the drawn Values outnumbers the widest rank."""
    depth: dict[int, int] = {}
    for v in summary.drawn:
        depth[id(v)] = 1 + max((depth.get(id(p), 0) for p in v.parents), default=0)
    ranks: dict[int, int] = {}
    for d in depth.values():
        ranks[d] = ranks.get(d, 0) + 1
    return max(ranks, default=0) > max(ranks.values(), default=0)


def fit_layout(summarise: Callable[[int], Summary], build: Callable[[Summary, Layout], Any], total: int,
               max_nodes: int, max_width: float) -> tuple[Any, int]:
    """The drawing that reads best within ``max_width`` pt, and the box limit it used.

    ``summarise(limit)`` gives the boxes to draw, ``build(summary, layout)`` the drawing. The
    first of ``_LAYOUTS`` that reads at ``_READABLE`` scale wins (else the narrowest); a
    summary still wider than twice ``max_width`` is redone with fewer boxes.
    """
    limit = max_nodes
    while True:
        summary = summarise(limit)
        dot, width = _fitted(build, summary, max_width)
        small = summary.boxes <= _MIN_SUMMARY or summary.boxes == total
        if width <= 2 * max_width or small or width == math.inf:
            return dot, limit
        limit = max(_MIN_SUMMARY, min(limit, summary.boxes) * 2 // 3)


def _fitted(build: Callable[[Summary, Layout], Any], summary: Summary, max_width: float) -> tuple[Any, float]:
    """The first layout readable within ``max_width`` (else the narrowest) and its width in pt."""
    if summary.boxes > _MEASURE_LIMIT:
        # Measuring costs a layout each; a big graph flows along whichever is longer.
        return build(summary, ("TB" if _deeper_than_wide(summary) else "LR", False)), 0.0
    best: tuple[Any, float] | None = None
    for layout in _LAYOUTS:
        dot = build(summary, layout)
        width = svg_size(dot)[0]
        if width * _READABLE <= max_width:
            return dot, width
        if best is None or width < best[1]:
            best = (dot, width)
    assert best is not None
    return best


def svg_size(dot: Any) -> tuple[float, float]:
    """(width, height) in points of ``dot`` rendered as SVG; ``(inf, inf)`` when no ``dot`` runs."""
    try:
        svg = dot.pipe(format="svg", encoding="utf-8")
    except Exception:  # no dot program: the picture cannot be measured, only built
        return math.inf, math.inf
    match = _SVG_SIZE.search(svg)
    if match is None:
        return math.inf, math.inf
    return float(match.group(1)), float(match.group(2))


_SVG_SIZE = re.compile(r'<svg width="([0-9.]+)pt" height="([0-9.]+)pt"')


def fit_svg(svg: str, min_scale: float = 0.5) -> str:
    """``svg`` (graphviz output) scaled by the browser to its container's width.

    Never wider than its natural size or its container, never smaller than ``min_scale`` of
    its natural size (below that its container scrolls); the viewBox keeps the aspect ratio.
    """
    match = _SVG_SIZE.search(svg)
    if match is None:
        return svg
    width = float(match.group(1))
    style = f"max-width:100%;height:auto;min-width:{width * min_scale:.0f}pt"
    return svg[: match.end()] + f' style="{style}"' + svg[match.end():]


_classes: dict[int, type] = {}


def picture_class(graphviz: Any) -> type:
    """``graphviz.Digraph`` shown in Jupyter scaled to the output width (see :func:`fit_svg`)."""
    if id(graphviz) not in _classes:

        class GraphPicture(graphviz.Digraph):  # type: ignore[misc]
            max_width: float | None = None
            layout: tuple[str, bool] = ("LR", False)
            fixed: tuple[str, bool, int] = ("LR", False, 60)

            def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> Any:
                bundle = super()._repr_mimebundle_(include, exclude, **kwargs)
                svg = bundle.get("image/svg+xml")
                if self.max_width is not None and svg is not None:
                    bundle["text/html"] = f'<div style="max-width:100%;overflow-x:auto">{fit_svg(svg)}</div>'
                return bundle

        _classes[id(graphviz)] = GraphPicture
    return _classes[id(graphviz)]
