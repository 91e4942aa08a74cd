"""In JupyterLab, through the real front end: ``nn.Playground()`` and ``step_through`` respond to clicks."""

from __future__ import annotations

import pytest

from tests.helpers import DOCS

CELLS = [
    "import nn\npg = nn.Playground(hidden=[4, 4], samples=120)\npg",
    "from autograd_core import Value\nfrom autograd_core import step_through\n"
    "x, w, b = Value(2.0, 'x'), Value(-3.0, 'w'), Value(6.8814, 'b')\n"
    "a = (w * x + b).tanh()\nstep_through(a, names=locals())",
]


def wait(driver, condition, timeout=90.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)


def data(driver, selector: str) -> float:
    """An element's data-value, read in one script call (the page redraws between two WebDriver calls)."""
    text = driver.execute_script("const e = document.querySelector(arguments[0]); return e && e.dataset.value;",
                                 selector)
    return float(text) if text not in (None, "") else float("nan")


def steps(driver) -> int:
    n = data(driver, ".pg-root #pg-steps")
    return int(n) if n == n else -1


def test_playground_and_step_through_widgets_work_in_jupyterlab(browser, jupyter_lab):
    pytest.importorskip("anywidget")
    name = jupyter_lab.write_notebook("playground.ipynb", CELLS)
    jupyter_lab.open_and_run(browser, name)
    wait(browser, lambda d: d.find_elements("css selector", ".pg-root #pg-train-loss"))
    assert len(browser.find_elements("css selector", ".pg-root #pg-net .pg-node")) == 7 + 4 + 4 + 1
    loss = data(browser, ".pg-root #pg-train-loss")

    browser.find_element("css selector", ".pg-root #pg-step").click()  # one epoch, trained in the kernel
    wait(browser, lambda d: d.execute_script("return document.querySelector('.pg-root #pg-epoch').textContent")
         == "0001")
    browser.find_element("css selector", ".pg-root #pg-play").click()
    wait(browser, lambda d: steps(d) >= 200, timeout=120)
    browser.find_element("css selector", ".pg-root #pg-play").click()
    shown = data(browser, ".pg-root #pg-train-loss")
    assert shown < loss
    browser.execute_script("document.querySelector('.pg-root').scrollIntoView()")
    browser.save_screenshot(str(DOCS / "playground_jupyter.png"))

    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("css selector", ".pg-root #pg-activation")).select_by_value("relu")
    wait(browser, lambda d: steps(d) == 0)  # a new network: the kernel validated and applied the setting

    # The stepper of backward in the same notebook: its "next >" and "< back" buttons walk the steps.
    def text(d):
        return d.execute_script("const e = document.querySelector('.bp-stepper .bp-count');"
                                "return e ? e.textContent : '';")

    def click(label):
        button = next(b for b in browser.find_elements("css selector", ".bp-stepper .bp-button") if b.text == label)
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        button.click()

    wait(browser, lambda d: text(d).startswith("step 1 /"))
    click("next >")
    wait(browser, lambda d: text(d).startswith("step 2 /"))
    click("next >")
    wait(browser, lambda d: text(d).startswith("step 3 /"))
    click("< back")
    wait(browser, lambda d: text(d).startswith("step 2 /"))
