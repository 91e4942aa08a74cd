"""Make graphviz-pure the ``dot`` of every ``graphviz`` user in the process, when there is no other.

The ``graphviz`` package runs the program named by ``graphviz.backend.dot_command.DOT_BINARY``
(default ``dot``, looked up on PATH) each time a graph is rendered. ``pip install
backprop-lab[viz]`` installs ``graphviz-pure``, a self-contained ``dot`` port, next to Python.
Importing ``autograd_core`` points ``DOT_BINARY`` at it, so a learner's own ``Digraph`` (micrograd's
``draw_dot``) renders too — but only when no system ``dot`` is on PATH and the user has not set
``DOT_BINARY`` themselves: where Graphviz is installed nothing changes.
"""

from __future__ import annotations

import importlib.util
import shutil

__all__ = ["use_graphviz_pure_if_no_dot"]


def use_graphviz_pure_if_no_dot() -> bool:
    """Point ``graphviz`` at graphviz-pure if no system ``dot`` exists; True if it did."""
    if shutil.which("dot") is not None or importlib.util.find_spec("graphviz") is None:
        return False
    from .draw import graphviz_pure_binary, select_dot_binary

    pure = graphviz_pure_binary()
    return pure is not None and select_dot_binary() == pure
