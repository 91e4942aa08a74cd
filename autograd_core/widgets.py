"""``autograd_core.widgets``: where ``step_through`` lived before the ``see`` package.

Kept so notebooks written as ``from autograd_core.widgets import step_through`` keep running;
new code imports ``step_through`` from ``autograd_core`` (or ``autograd_core.see.widgets``).
"""

from .see.widgets import BackwardStepper, step_through

__all__ = ["step_through", "BackwardStepper"]
