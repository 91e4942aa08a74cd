"""autograd_core: a scalar reverse-mode autodiff engine you can read, draw and test.

    from autograd_core import Value
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.8814, "b")
    a = (w * x + b).tanh()          # a = σ(z), z = w·x + b
    a.backward()                    # fills .grad with ∂a/∂node by the chain rule
"""

from typing import Any

# The core (value, ops, backends, modes, graph, backward, function, functional, forward,
# transforms, vmath) and three wings on it: batch/ (compiled mode), see/ (drawings and the
# step-through), verify/ (gradcheck). See docs/ARCHITECTURE.md.
from . import vmath
from .backward import gradients
from .batch.compiler import CompileCheckError, CompiledFunction, CompileError, batch_rule, compile
from .forward import jvp
from .function import Function, FunctionCtx
from .functional import grad, value_and_grad
from .graph import edges, nodes, topological_order
from .modes import detect_anomaly, enable_grad, is_anomaly_enabled, is_grad_enabled, no_grad
from .ops import OPS, Op
from .see.draw import draw_dot, draw_graph, select_dot_binary, value_labels
from .see.graphviz_setup import use_graphviz_pure_if_no_dot
from .see.steps import BackwardSnapshot, BackwardStep, backward_steps
from .transforms import hessian, hvp, jacfwd, jacobian, jacrev, vjp
from .value import Value, to_float
from .verify.check import (
    GradcheckError,
    GradcheckReport,
    GradcheckRow,
    GradcheckWarning,
    check_gradients,
    check_second_gradients,
    gradcheck,
    gradgradcheck,
)

__all__ = [
    "Value",
    "to_float",
    "Op",
    "OPS",
    "Function",
    "FunctionCtx",
    "grad",
    "value_and_grad",
    "gradients",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "detect_anomaly",
    "is_anomaly_enabled",
    "topological_order",
    "nodes",
    "edges",
    "gradcheck",
    "gradgradcheck",
    "check_gradients",
    "check_second_gradients",
    "GradcheckError",
    "GradcheckWarning",
    "GradcheckReport",
    "GradcheckRow",
    "draw_graph",
    "draw_dot",
    "value_labels",
    "backward_steps",
    "BackwardStep",
    "BackwardSnapshot",
    "compile",
    "CompiledFunction",
    "CompileError",
    "CompileCheckError",
    "vmath",
    "jvp",
    "vjp",
    "jacrev",
    "jacfwd",
    "jacobian",
    "hessian",
    "hvp",
    "batch_rule",
    "select_dot_binary",
    "step_through",
    "BackwardStepper",
]

# The Jupyter stepper needs anywidget, so it is imported on first use, not with the package.
_LAZY = {"step_through", "BackwardStepper"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from .see import widgets

        return getattr(widgets, name)
    raise AttributeError(f"module 'autograd_core' has no attribute {name!r}")

use_graphviz_pure_if_no_dot()
