"""A Jupyter stepper for backward: buttons and a slider that walk through ``backward_steps``.

    from autograd_core.widgets import step_through
    step_through(loss, names=locals())      # last line of a cell: shows the widget

Each position redraws the graph with ``draw_graph(root, highlight=step)`` and prints the
chain-rule line of that step (``∂C/∂x += ∂C/∂out × ∂out/∂x``). ipywidgets is an optional
extra (``pip install backprop-lab[viz]``); without it :func:`step_through` raises an
``ImportError`` saying so, and :func:`~autograd_core.steps.backward_steps` works as before.
"""

from __future__ import annotations

import html
from typing import Any

from .draw import draw_graph, value_labels
from .steps import BackwardStep, backward_steps
from .value import Value

__all__ = ["step_through", "BackwardStepper"]


class BackwardStepper:
    """The widget and its state: ``steps`` (all of them), ``index`` (the one shown).

    Runs backward to the end when built (so ``.grad`` holds the final gradients); each
    picture is drawn from the recorded steps, so moving back shows earlier moments exactly.
    ``widget`` is the ipywidgets box; the object itself displays as that box in Jupyter.
    """

    def __init__(self, root: Value, grad: Any = 1.0, **draw_options: Any) -> None:
        widgets = _import_ipywidgets()
        self.root = root
        self.steps: list[BackwardStep] = list(backward_steps(root, grad))
        self.draw_options = draw_options
        self.labels = value_labels(draw_options.get("names"), draw_options.get("model"))
        self._svg: dict[int, str] = {}
        last = len(self.steps) - 1
        self.slider = widgets.IntSlider(value=0, min=0, max=last, description="step",
                                        readout_format="d", continuous_update=False)
        self.buttons = {
            name: widgets.Button(description=text, layout=widgets.Layout(width="90px"))
            for name, text in (("first", "|< first"), ("back", "< back"), ("next", "next >"), ("last", "last >|"))
        }
        self.buttons["first"].on_click(lambda _: self.go(0))
        self.buttons["back"].on_click(lambda _: self.go(self.index - 1))
        self.buttons["next"].on_click(lambda _: self.go(self.index + 1))
        self.buttons["last"].on_click(lambda _: self.go(last))
        self.text = widgets.HTML()
        self.picture = widgets.HTML()
        self.slider.observe(lambda change: self._show(change["new"]), names="value")
        controls = widgets.HBox([*self.buttons.values(), self.slider])
        self.widget = widgets.VBox([controls, self.text, self.picture])
        self._show(0)

    @property
    def index(self) -> int:
        return int(self.slider.value)

    def go(self, index: int) -> None:
        """Show step ``index`` (clamped to the first and last step)."""
        self.slider.value = max(0, min(len(self.steps) - 1, index))

    def svg(self, index: int) -> str:
        """The drawing of step ``index`` as SVG text (rendered once, then cached)."""
        if index not in self._svg:
            dot = draw_graph(self.root, highlight=self.steps[index], **self.draw_options)
            self._svg[index] = dot.pipe(format="svg", encoding="utf-8")
        return self._svg[index]

    def _show(self, index: int) -> None:
        step = self.steps[index]
        self.text.value = f"<pre>{html.escape(step.explain(self.labels))}</pre>"
        self.picture.value = self.svg(index)
        self.buttons["first"].disabled = self.buttons["back"].disabled = index == 0
        self.buttons["next"].disabled = self.buttons["last"].disabled = index == len(self.steps) - 1

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def step_through(root: Value, grad: Any = 1.0, **draw_options: Any) -> BackwardStepper:
    """A widget stepping forward and back through ``backward_steps(root, grad)``.

    ``draw_options`` go to :func:`~autograd_core.draw.draw_graph` (``names=locals()``,
    ``model=``, ``rankdir=``, …). Raises ``ImportError`` naming the extra when ipywidgets
    is missing, ``TypeError`` when ``root`` is not a Value.
    """
    if not isinstance(root, Value):
        raise TypeError(f"step_through() needs a Value, got {type(root).__name__}")
    return BackwardStepper(root, grad, **draw_options)


def _import_ipywidgets() -> Any:
    try:
        import ipywidgets
    except ImportError as e:
        raise ImportError(
            "step_through needs ipywidgets: pip install backprop-lab[viz] "
            "(without it, iterate autograd_core.steps.backward_steps(root) and draw each step "
            "with draw_graph(root, highlight=step))"
        ) from e
    return ipywidgets
