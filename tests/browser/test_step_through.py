"""step_through in a real JupyterLab: the picture fits, the current node stays in view, keys step.

A notebook runs the README's neuron, ``a.backward()``, ``step_through(a, names=locals())`` and
``draw_graph(a, names=locals())``;
Selenium clicks through every step in a 1,400×1,000 window, a 1,920×1,080 one and a narrow
one, reading positions from the DOM. Screenshots go to docs/step_through_*.png.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from tests.helpers import DOCS, new_driver

NEURON = """\
from autograd_core import Value
from autograd_core.see.widgets import step_through

x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
b = Value(6.8813735870195432, "b")
z = x1 * w1 + x2 * w2 + b
a = z.tanh()
a.backward()"""
STEPPER = "step_through(a, names=locals())"
GRAPH = "from autograd_core import draw_graph\ndraw_graph(a, names=locals())"

# ∂a/∂node for the neuron: 1 - tanh(z)² = ½ at z = atanh(√½); ∂a/∂x1 = ½·w1, ∂a/∂w1 = ½·x1, …
TRUE = {"a": 1.0, "z": 0.5, "b": 0.5, "x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0}
STEPS = 10

STATE = """
const root = document.querySelector('.bp-stepper');
if (!root) return null;
const nodes = Array.from(root.querySelectorAll('svg g.node.current'));
const svg = root.querySelector('.bp-view svg');
const view = root.querySelector('.bp-view');
const out = root.closest('.jp-OutputArea-output') || root.parentElement;
const scroller = root.closest('.jp-WindowedPanel-outer') || document.documentElement;
const r = (e) => { if (!e) return null; const b = e.getBoundingClientRect();
                   return {left: b.left, right: b.right, top: b.top, bottom: b.bottom, width: b.width}; };
return {count: root.querySelector('.bp-count').textContent, text: root.querySelector('.bp-text').textContent,
        nodes: nodes.map(r), svg: r(svg), view: r(view), out: r(out), scroller: r(scroller),
        bar: r(root.querySelector('.bp-bar')),
        nodeText: nodes.flatMap(g => Array.from(g.querySelectorAll('text')).map(t => t.textContent)),
        window: {left: 0, top: 0, right: window.innerWidth, bottom: window.innerHeight},
        focused: root.contains(document.activeElement)};
"""


def state(driver: Any) -> dict[str, Any]:
    return driver.execute_script(STATE)


def wait_for_step(driver: Any, k: int) -> dict[str, Any]:
    """Wait until step ``k`` (1…N) is shown and its picture is in; return the DOM state."""
    from selenium.webdriver.support.ui import WebDriverWait

    def shown(d: Any) -> dict[str, Any] | bool:
        s = state(d)
        ok = s and s["count"] == f"step {k} / {STEPS}" and s["text"].startswith(f"step {k}/{STEPS}:")
        return s if ok and s["nodes"] else False

    return WebDriverWait(driver, 30).until(shown)


def inside(box: dict[str, float], *areas: dict[str, float], slack: float = 1.0) -> bool:
    return all(box["left"] >= a["left"] - slack and box["right"] <= a["right"] + slack
               and box["top"] >= a["top"] - slack and box["bottom"] <= a["bottom"] + slack for a in areas)


def click(driver: Any, label: str) -> None:
    button = next(b for b in driver.find_elements("css selector", ".bp-stepper .bp-button") if b.text == label)
    button.click()


def resize(driver: Any, width: int, height: int) -> None:
    """Resize the window and wait until the stepper has laid its picture out for the new room."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.set_window_size(width, height)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(
        "const v = document.querySelector('.bp-stepper .bp-view'); const s = v.querySelector('svg');"
        "return s.getBoundingClientRect().width <= v.clientWidth + 1;"))


def walk(driver: Any, screenshots: str | None = None) -> list[dict[str, Any]]:
    """Go to step 1, then click ``next >`` through every step; the DOM state at each."""
    click(driver, "|< first")
    states = [wait_for_step(driver, 1)]
    driver.execute_script("document.querySelector('.bp-stepper').scrollIntoView({block: 'start'})")
    if screenshots:
        driver.save_screenshot(str(DOCS / f"{screenshots}_step1.png"))
    for k in range(2, STEPS + 1):
        click(driver, "next >")
        states.append(wait_for_step(driver, k))
    if screenshots:
        driver.save_screenshot(str(DOCS / f"{screenshots}_last.png"))
    return states


@pytest.fixture(scope="module")
def lab_page(jupyter_lab: Any) -> Any:
    """A browser with the neuron's stepper running in JupyterLab (1,400×1,000 window)."""
    driver = new_driver(1400, 1000)
    try:
        name = jupyter_lab.write_notebook("step_through.ipynb", [NEURON, STEPPER, GRAPH])
        jupyter_lab.open_and_run(driver, name)
        wait_for_step(driver, 1)
        yield driver
    finally:
        driver.quit()


def visible_area(s: dict[str, Any]) -> tuple[dict[str, float], ...]:
    return s["view"], s["out"], s["scroller"], s["window"]


@pytest.mark.parametrize("size", [(1400, 1000), (1920, 1080), (760, 900)], ids=["1400", "1920", "narrow"])
def test_current_node_stays_in_view_and_picture_fits_the_output(lab_page, size):
    resize(lab_page, *size)
    name = {1400: "step_through", 1920: "step_through_1920", 760: "step_through_narrow"}[size[0]]
    states = walk(lab_page, screenshots=name)
    assert len(states) == STEPS
    for k, s in enumerate(states, 1):
        for box in s["nodes"]:  # the Value's box and its op's ellipse
            assert inside(box, *visible_area(s)), f"step {k}: current node {box} outside {visible_area(s)}"
        assert s["svg"]["width"] <= s["out"]["width"] + 1, f"step {k}: picture wider than the output"
        assert s["view"]["width"] <= s["out"]["width"] + 1
        assert inside(s["bar"], s["scroller"], s["window"]), f"step {k}: controls out of view"
    if size[0] >= 1400:
        # Wide enough that the whole neuron fits at a readable scale, no scrolling needed.
        assert all(s["svg"]["width"] <= s["view"]["width"] + 1 for s in states)


def test_slider_and_text_count_the_same_way(lab_page):
    lab_page.set_window_size(1400, 1000)
    click(lab_page, "last >|")
    wait_for_step(lab_page, STEPS)
    slider = lab_page.find_element("css selector", ".bp-stepper .bp-slider")
    assert (slider.get_attribute("min"), slider.get_attribute("max"), slider.get_attribute("value")) == (
        "1", str(STEPS), str(STEPS))
    click(lab_page, "|< first")
    wait_for_step(lab_page, 1)
    assert slider.get_attribute("value") == "1"


def test_arrow_keys_step_when_the_widget_has_focus(lab_page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    lab_page.set_window_size(1400, 1000)
    click(lab_page, "|< first")
    wait_for_step(lab_page, 1)
    lab_page.find_element("css selector", ".bp-stepper .bp-count").click()
    assert state(lab_page)["focused"]
    keys = ActionChains(lab_page)
    keys.send_keys(Keys.ARROW_RIGHT).perform()
    wait_for_step(lab_page, 2)
    keys.send_keys(Keys.ARROW_RIGHT).perform()
    wait_for_step(lab_page, 3)
    keys.send_keys(Keys.ARROW_LEFT).perform()
    wait_for_step(lab_page, 2)
    keys.send_keys(Keys.END).perform()
    wait_for_step(lab_page, STEPS)
    keys.send_keys(Keys.HOME).perform()
    wait_for_step(lab_page, 1)


ZOOM = """
const svg = document.querySelector('.bp-stepper .bp-view svg');
const view = document.querySelector('.bp-stepper .bp-view');
return {shown: svg.getBoundingClientRect().width, natural: svg.width.baseVal.value, view: view.clientWidth};
"""


def test_zoom_button_switches_between_natural_size_and_fit(lab_page):
    from selenium.webdriver.support.ui import WebDriverWait

    lab_page.set_window_size(760, 900)
    wait_for_step(lab_page, 1)
    # After the resize Python lays the picture out again for the narrower room.
    fitted = WebDriverWait(lab_page, 30).until(
        lambda d: (z := d.execute_script(ZOOM)) and z["shown"] <= z["view"] + 1 and z)
    click(lab_page, "100 %")
    natural = WebDriverWait(lab_page, 10).until(
        lambda d: (z := d.execute_script(ZOOM)) and abs(z["shown"] - z["natural"]) < 1 and z)
    assert natural["shown"] >= fitted["shown"]
    click(lab_page, "fit width")
    WebDriverWait(lab_page, 10).until(lambda d: d.execute_script(ZOOM)["shown"] <= fitted["view"] + 1)
    lab_page.set_window_size(1400, 1000)


def test_shown_gradient_is_the_true_derivative_at_every_step(lab_page):
    lab_page.set_window_size(1400, 1000)
    states = walk(lab_page)
    seen = set()
    for s in states:
        head = s["text"].splitlines()[0]
        match = re.match(r"step \d+/\d+: \S+ = \S+, ∂C/∂(\S+) = ([-+.e0-9]+)", head)
        assert match, head
        name, shown = match.group(1), float(match.group(2))
        true = TRUE.get(name, 0.5)  # the unnamed x1*w1, x2*w2 and their sum: ∂a/∂z · 1
        seen.add(name)
        assert math.isclose(shown, true, abs_tol=1e-3), f"{head!r}: ∂a/∂{name} is {true}"
        # The box of the current node says the same: ``grad g`` or ``grad t1 + t2 = g``.
        box_grad = next(t for t in s["nodeText"] if t.startswith("grad"))
        assert math.isclose(float(box_grad.split()[-1]), true, abs_tol=1e-3), box_grad
    assert set(TRUE) <= seen


GRAPH_STATE = """
const cell = document.querySelectorAll('.jp-CodeCell')[2];
cell.scrollIntoView({block: 'start'});
const out = cell.querySelector('.jp-OutputArea-output');
const svg = out && out.querySelector('svg');
if (!svg) return null;
return {out: out.getBoundingClientRect().width, shown: svg.getBoundingClientRect().width,
        natural: svg.width.baseVal.value, box: svg.parentElement.getBoundingClientRect().width};
"""


@pytest.mark.parametrize("size", [(1400, 1000), (1920, 1080), (760, 900)], ids=["1400", "1920", "narrow"])
def test_draw_graph_is_scaled_to_the_output_width_never_below_half(lab_page, size):
    from selenium.webdriver.support.ui import WebDriverWait

    lab_page.set_window_size(*size)
    s = WebDriverWait(lab_page, 30).until(lambda d: d.execute_script(GRAPH_STATE))
    assert s["box"] <= s["out"] + 1  # the picture's frame never overflows the output
    assert s["shown"] == pytest.approx(max(min(s["natural"], s["box"]), s["natural"] / 2), abs=2)
    if size[0] >= 1400:
        assert s["shown"] <= s["out"] + 1
    if size[0] == 1400:
        lab_page.save_screenshot(str(DOCS / "draw_graph_in_lab.png"))
