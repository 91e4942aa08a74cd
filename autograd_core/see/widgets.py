"""A Jupyter stepper for backward: walk through ``backward_steps`` with buttons, a slider or ←/→.

    from autograd_core.see.widgets import step_through
    step_through(loss, names=locals())      # last line of a cell: shows the widget

Each position redraws the graph with ``draw_graph(root, highlight=step)`` and prints the
chain-rule line of that step (``∂C/∂x += ∂C/∂out × ∂out/∂x``). The picture is scaled to the
output width (never below half size) and panned so that the current node and the edges it
just used stay in view; the controls stay visible above it. With the widget focused (click
it), ← and → step back and forth, Home and End jump to the ends. Buttons, slider and text
all count steps 1…N.

The front end is an anywidget (``pip install backprop-lab[viz]``); without it
:func:`step_through` raises an ``ImportError`` saying so, and
:func:`~autograd_core.see.steps.backward_steps` still works without it.
"""

from __future__ import annotations

from typing import Any

from ..value import Value
from .draw import _draw, value_labels
from .steps import BackwardStep, backward_steps

__all__ = ["step_through", "BackwardStepper"]

_ESM = r"""
const MIN_SCALE = 0.5;

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "bp-stepper";
  root.tabIndex = 0;
  // Lumino (JupyterLab, Notebook 7) leaves keys pressed inside this element to it.
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  root.setAttribute("aria-label", "backward, step by step: left and right arrow keys move");
  const bar = document.createElement("div");
  bar.className = "bp-bar";
  const index = () => model.get("index");
  const total = () => model.get("total");
  const go = (i) => {
    i = Math.max(0, Math.min(total() - 1, i));
    if (i !== index()) {
      model.set("index", i);
      model.save_changes();
    }
    controls();
  };
  const button = (text, title, action) => {
    const b = document.createElement("button");
    b.textContent = text;
    b.title = title;
    b.className = "bp-button";
    b.addEventListener("click", () => { action(); root.focus({ preventScroll: true }); });
    bar.appendChild(b);
    return b;
  };
  const first = button("|< first", "first step (Home)", () => go(0));
  const back = button("< back", "previous step (left arrow)", () => go(index() - 1));
  const next = button("next >", "next step (right arrow)", () => go(index() + 1));
  const last = button("last >|", "last step (End)", () => go(total() - 1));
  const slider = document.createElement("input");
  slider.type = "range";
  slider.min = "1";
  slider.step = "1";
  slider.className = "bp-slider";
  slider.addEventListener("input", () => go(Number(slider.value) - 1));
  bar.appendChild(slider);
  const count = document.createElement("span");
  count.className = "bp-count";
  bar.appendChild(count);
  let fit = true;
  const zoom = button("100 %", "natural size / fit the width", () => {
    fit = !fit;
    zoom.textContent = fit ? "100 %" : "fit width";
    layout();
  });
  const text = document.createElement("pre");
  text.className = "bp-text";
  const view = document.createElement("div");
  view.className = "bp-view";
  root.append(bar, text, view);
  el.appendChild(root);

  function controls() {
    const i = index(), n = total();
    slider.max = String(n);
    slider.value = String(i + 1);
    count.textContent = `step ${i + 1} / ${n}`;
    first.disabled = back.disabled = i === 0;
    next.disabled = last.disabled = i === n - 1;
  }

  function layout() {
    const svg = view.querySelector("svg");
    if (!svg) return;
    const w = svg.width.baseVal.value, h = svg.height.baseVal.value;
    let s = fit ? Math.min(1, view.clientWidth / w) : 1;
    s = Math.max(s, MIN_SCALE);
    svg.style.width = `${w * s}px`;
    svg.style.height = `${h * s}px`;
    svg.style.maxWidth = "none";
    svg.style.display = "block";
    pan(svg);
  }

  // Scroll the picture so that the current node and the edges it used are inside the view.
  function pan(svg) {
    const node = svg.querySelector("g.node.current");
    if (!node) return;
    const v = view.getBoundingClientRect();
    const width = view.clientWidth, height = view.clientHeight;
    let rects = [node, ...svg.querySelectorAll("g.edge.used")].map((g) => g.getBoundingClientRect());
    let box = rects.reduce((a, r) => ({ left: Math.min(a.left, r.left), right: Math.max(a.right, r.right),
                                        top: Math.min(a.top, r.top), bottom: Math.max(a.bottom, r.bottom) }));
    if (box.right - box.left > width || box.bottom - box.top > height) box = node.getBoundingClientRect();
    if (box.left < v.left || box.right > v.left + width) {
      view.scrollLeft += (box.left + box.right) / 2 - (v.left + width / 2);
    }
    if (box.top < v.top || box.bottom > v.top + height) {
      view.scrollTop += (box.top + box.bottom) / 2 - (v.top + height / 2);
    }
    reveal(node.getBoundingClientRect());
  }

  // If the page around the widget (the notebook) hides the node, scroll it just enough.
  function reveal(n) {
    const scrolls = (e) => /(auto|scroll)/.test(getComputedStyle(e).overflowY) && e.scrollHeight > e.clientHeight;
    let outer = root.parentElement;
    while (outer && !scrolls(outer)) outer = outer.parentElement;
    if (!outer) return;
    const o = outer.getBoundingClientRect();
    const top = Math.max(o.top, bar.getBoundingClientRect().bottom, 0);
    const bottom = Math.min(o.bottom, window.innerHeight);
    if (n.bottom > bottom) outer.scrollTop += n.bottom - bottom + 12;
    else if (n.top < top) outer.scrollTop -= top - n.top + 12;
  }

  function picture() {
    text.textContent = model.get("text");
    view.innerHTML = model.get("svg");
    controls();
    layout();
  }

  root.addEventListener("keydown", (event) => {
    if (event.target === slider && (event.key === "ArrowLeft" || event.key === "ArrowRight")) return;
    const moves = { ArrowLeft: () => go(index() - 1), ArrowRight: () => go(index() + 1),
                    Home: () => go(0), End: () => go(total() - 1) };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    event.stopPropagation();
    move();
  });
  model.on("change:index", controls);
  model.on("change:svg", picture);
  model.on("change:text", () => { text.textContent = model.get("text"); });
  // The room the picture has, in px: Python picks a layout that reads at that width.
  const measure = () => {
    const room = view.clientWidth;
    if (room > 0 && Math.abs(room - model.get("room")) > 24) {
      model.set("room", room);
      model.save_changes();
    }
  };
  const resize = new ResizeObserver(() => { measure(); layout(); });
  resize.observe(root);
  picture();
  return () => resize.disconnect();
}

export default { render };
"""

_CSS = """
.bp-stepper { outline: none; max-width: 100%; }
.bp-stepper:focus-visible, .bp-stepper:focus-within { box-shadow: 0 0 0 2px #90caf9; }
.bp-bar { position: sticky; top: 0; z-index: 2; display: flex; flex-wrap: wrap; gap: 4px;
          align-items: center; padding: 4px; background: var(--jp-layout-color0, white); }
.bp-button { min-width: 72px; }
.bp-slider { flex: 1 1 160px; min-width: 120px; }
.bp-count { font-family: monospace; white-space: nowrap; padding: 0 6px; }
.bp-text { margin: 2px 4px; white-space: pre-wrap; font-size: 12px; }
.bp-view { max-width: 100%; max-height: max(240px, min(70vh, 100vh - 240px)); overflow: auto; }
"""

_view_classes: dict[int, type] = {}


def _view_class(anywidget: Any) -> type:
    """The anywidget class (made once: anywidget is an optional import)."""
    if id(anywidget) not in _view_classes:
        import traitlets

        class StepperView(anywidget.AnyWidget):  # type: ignore[misc]
            _esm = _ESM
            _css = _CSS
            index = traitlets.Int(0).tag(sync=True)
            total = traitlets.Int(1).tag(sync=True)
            svg = traitlets.Unicode("").tag(sync=True)
            text = traitlets.Unicode("").tag(sync=True)
            room = traitlets.Float(0.0).tag(sync=True)

        _view_classes[id(anywidget)] = StepperView
    return _view_classes[id(anywidget)]


class BackwardStepper:
    """The widget and its state: ``steps`` (all of them), ``index`` (the one shown, from 0).

    Runs backward to the end when built (so ``.grad`` holds the final gradients); each
    picture is drawn from the recorded steps, so moving back shows earlier moments exactly,
    and all pictures share one layout, so boxes stay in place from step to step. ``widget``
    is the anywidget; the object itself displays as that widget in Jupyter. ``buttons``
    (``first``, ``back``, ``next``, ``last``: ``.click()``, ``.disabled``), ``text`` and
    ``picture`` (``.value``: the step's explanation and SVG) drive it from Python.
    """

    def __init__(self, root: Value, grad: Any = 1.0, **draw_options: Any) -> None:
        view_class = _view_class(_import_anywidget())
        self.root = root
        self.steps: list[BackwardStep] = list(backward_steps(root, grad))
        self.draw_options = draw_options
        self.labels = value_labels(draw_options.get("names"), draw_options.get("model"))
        # The last step has every sum written out: the widest labels decide the layout.
        self._fixed = _draw(root, None, highlight=self.steps[-1], **draw_options).fixed
        self._svg: dict[int, str] = {}
        self.widget = view_class(total=len(self.steps))
        self.buttons = {name: _Button(self, name) for name in ("first", "back", "next", "last")}
        self.text = _Shown(self.widget, "text")
        self.picture = _Shown(self.widget, "svg")
        self.widget.observe(lambda change: self._show(change["new"]), names="index")
        self.widget.observe(lambda change: self._fit(change["new"]), names="room")
        self._show(0)

    @property
    def index(self) -> int:
        return int(self.widget.index)

    def go(self, index: int) -> None:
        """Show step ``index`` (from 0, clamped to the first and last step)."""
        self.widget.index = max(0, min(len(self.steps) - 1, index))

    def svg(self, index: int) -> str:
        """The drawing of step ``index`` as SVG text (rendered once, then cached)."""
        if index not in self._svg:
            dot = _draw(self.root, self._fixed, highlight=self.steps[index], **self.draw_options)
            self._svg[index] = dot.pipe(format="svg", encoding="utf-8")
        return self._svg[index]

    def _fit(self, room: float) -> None:
        """Lay the pictures out again for ``room`` px, unless the caller fixed a layout."""
        if room <= 0 or "rankdir" in self.draw_options or "max_width" in self.draw_options:
            return
        options = dict(self.draw_options, max_width=room * 0.75)  # 1 pt = 4/3 px
        fixed = _draw(self.root, None, highlight=self.steps[-1], **options).fixed
        if fixed != self._fixed:
            self._fixed = fixed
            self._svg.clear()
            self._show(self.index)

    def _show(self, index: int) -> None:
        with self.widget.hold_sync():
            self.widget.text = self.steps[index].explain(self.labels)
            self.widget.svg = self.svg(index)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        return bundle[0] if isinstance(bundle, tuple) else bundle


class _Button:
    """One of the widget's buttons, seen from Python."""

    def __init__(self, stepper: BackwardStepper, name: str) -> None:
        self.stepper = stepper
        self.name = name

    @property
    def disabled(self) -> bool:
        at_start = self.stepper.index == 0
        at_end = self.stepper.index == len(self.stepper.steps) - 1
        return at_start if self.name in ("first", "back") else at_end

    def click(self) -> None:
        i, last = self.stepper.index, len(self.stepper.steps) - 1
        self.stepper.go({"first": 0, "back": i - 1, "next": i + 1, "last": last}[self.name])


class _Shown:
    """What the widget shows in one place (``value``), read from Python."""

    def __init__(self, widget: Any, trait: str) -> None:
        self.widget = widget
        self.trait = trait

    @property
    def value(self) -> str:
        return str(getattr(self.widget, self.trait))


def step_through(root: Value, grad: Any = 1.0, **draw_options: Any) -> BackwardStepper:
    """A widget stepping forward and back through ``backward_steps(root, grad)``.

    ``draw_options`` go to :func:`~autograd_core.see.draw.draw_graph` (``names=locals()``,
    ``model=``, ``rankdir=``, ``max_width=``, …). Raises ``ImportError`` naming the extra
    when anywidget (or ipywidgets) is missing, ``TypeError`` when ``root`` is not a Value.
    """
    if not isinstance(root, Value):
        raise TypeError(f"step_through() needs a Value, got {type(root).__name__}")
    return BackwardStepper(root, grad, **draw_options)


def _import_anywidget() -> Any:
    try:
        import anywidget
        import ipywidgets  # noqa: F401  (anywidget draws through it; say so if it is missing)
    except ImportError as e:
        raise ImportError(
            "step_through needs anywidget and ipywidgets: pip install backprop-lab[viz] "
            "(without them, iterate autograd_core.see.steps.backward_steps(root) and draw each step "
            "with draw_graph(root, highlight=step))"
        ) from e
    return anywidget
