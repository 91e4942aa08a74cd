"""The standalone Playground driven through headless Chromium: what a learner clicks, checked against Python."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import unquote

import pytest

from tests.helpers import DOCS, ROOT, chromium_paths, new_driver


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium for the module (starting one costs seconds); each test gets a fresh page."""
    driver = new_driver()
    yield driver
    driver.quit()


@pytest.fixture
def browser(chromium):
    chromium.set_window_size(1400, 1000)
    chromium.get("about:blank")
    return chromium


@pytest.fixture
def server():
    chromium_paths()
    from nn.playground import PlaygroundServer, Session

    srv = PlaygroundServer(Session()).start()
    yield srv
    srv.stop()


def wait(driver, condition, timeout=90.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def by_id(driver, name):
    return driver.find_element("id", name)


def value(driver, name) -> float:
    """An element's data-value, read in one script call (the page redraws between two WebDriver calls)."""
    return float(driver.execute_script("return document.getElementById(arguments[0]).dataset.value", name))


def shown(driver, name) -> bool:
    return driver.execute_script("const e = document.getElementById(arguments[0]); return !!(e && e.dataset.value)",
                                 name)


def open_page(driver, server):
    driver.get(server.url)
    wait(driver, lambda d: shown(d, "pg-train-loss"))


def steps_shown(driver) -> int:
    return int(value(driver, "pg-steps"))


def test_the_page_loads_with_the_token_and_is_refused_without_it(browser, server):
    browser.get(f"http://127.0.0.1:{server.port}/")
    assert "403" in browser.find_element("tag name", "body").text
    open_page(browser, server)
    assert len(browser.find_elements("css selector", "#pg-net .pg-node")) == 7 + 8 + 8 + 1
    assert browser.find_elements("css selector", "#pg-net .pg-edge")


def test_playing_lowers_the_loss_and_reaches_95_percent_on_moons(browser, server):
    open_page(browser, server)
    first = value(browser, "pg-train-loss")
    by_id(browser, "pg-play").click()
    # Mini-batch Adam wobbles from step to step, so "reaches": some picture shown after 300 steps has ≥ 95 %.
    wait(browser, lambda d: steps_shown(d) >= 300 and value(d, "pg-test-accuracy") >= 0.95, timeout=240)
    wait(browser, lambda d: shown(d, "pg-fps"))  # the rate is first shown after a second of playing
    rate = value(browser, "pg-fps")
    by_id(browser, "pg-play").click()
    with server.lock:
        metrics, steps = server.session.metrics(), server.session.steps
    wait(browser, lambda d: steps_shown(d) == steps)
    assert value(browser, "pg-train-loss") == pytest.approx(metrics["train_loss"], rel=1e-12)
    assert value(browser, "pg-test-accuracy") == metrics["test_accuracy"]
    assert value(browser, "pg-train-loss") < first / 3
    print(f"\nPlayground: {rate:.1f} updates/s while playing (load average {os.getloadavg()[0]:.1f})")
    by_id(browser, "pg-show-test").click()
    wait(browser, lambda d: server.session.settings.show_test)
    browser.set_window_size(1400, 1100)
    browser.save_screenshot(str(DOCS / "playground.png"))


def test_changing_activation_and_layers_redraws_the_network(browser, server):
    from selenium.webdriver.support.ui import Select

    open_page(browser, server)
    nodes = lambda d: len(d.find_elements("css selector", "#pg-net .pg-node"))
    output = lambda d: d.execute_script("return document.getElementById('pg-node-3-0').firstChild.toDataURL()")
    before = output(browser)
    Select(by_id(browser, "pg-activation")).select_by_value("relu")
    wait(browser, lambda d: server.session.settings.activation == "relu" and output(d) != before)
    assert server.session.model.activation == "relu" and server.session.steps == 0
    by_id(browser, "pg-add-layer").click()
    wait(browser, lambda d: nodes(d) == 7 + 8 + 8 + 2 + 1)
    by_id(browser, "pg-add-neuron-2").click()
    wait(browser, lambda d: nodes(d) == 7 + 8 + 8 + 3 + 1)
    by_id(browser, "pg-remove-neuron-0").click()
    wait(browser, lambda d: nodes(d) == 7 + 7 + 8 + 3 + 1)
    assert server.session.model.nouts == [7, 8, 3, 1]
    edges = len(browser.find_elements("css selector", "#pg-net .pg-edge"))
    by_id(browser, "pg-feature-x1x2").click()
    wait(browser, lambda d: len(d.find_elements("css selector", "#pg-net .pg-edge")) == edges + 7)
    assert server.session.settings.features == ("x1", "x2", "x1x2")
    by_id(browser, "pg-remove-layer").click()
    wait(browser, lambda d: nodes(d) == 7 + 7 + 8 + 1)
    assert "hidden=7%2C8" in browser.current_url or "hidden=7,8" in unquote(browser.current_url)


def test_hovering_an_edge_reads_its_weight(browser, server):
    from selenium.webdriver.common.action_chains import ActionChains

    open_page(browser, server)
    # The first edge runs straight from x₁ to the first neuron (same row), so its middle is on the stroke.
    edge = browser.find_element("css selector", "#pg-net .pg-edge-hit")
    ActionChains(browser).move_to_element(edge).perform()
    tip = wait(browser, lambda d: d.find_element("id", "pg-tooltip") if d.find_element("id", "pg-tooltip")
               .is_displayed() else None)
    w = server.session.model.layers[0].neurons[0].w[0].data
    assert float(tip.get_attribute("data-weight")) == w
    assert tip.text.startswith("w1[1,1] = ")


def test_edges_show_gradients_when_toggled_and_the_url_restores_a_setup(browser, server):
    from selenium.webdriver.support.ui import Select

    open_page(browser, server)
    by_id(browser, "pg-step").click()
    wait(browser, lambda d: steps_shown(d) > 0)
    shown = lambda d: d.execute_script(
        "return document.querySelector('#pg-net .pg-edge').getAttribute('data-value')")
    assert float(shown(browser)) == server.session.model.layers[0].neurons[0].w[0].data
    Select(by_id(browser, "pg-edge-mode")).select_by_value("gradients")
    wait(browser, lambda d: float(shown(d)) == server.session.model.layers[0].neurons[0].w[0].grad)
    url = server.url + "#dataset=xor&hidden=5,2&optimizer=nesterov&lr=0.1&features=x1,x2,x1x2"
    browser.get("about:blank")  # a URL differing only in its #fragment would not load the page again
    browser.get(url)
    wait(browser, lambda d: server.session.settings.hidden == (5, 2))
    s = server.session.settings
    assert (s.dataset, s.optimizer, s.lr, s.features) == ("xor", "nesterov", 0.1, ("x1", "x2", "x1x2"))
    wait(browser, lambda d: len(d.find_elements("css selector", "#pg-net .pg-node")) == 7 + 5 + 2 + 1)
    assert Select(by_id(browser, "pg-optimizer")).first_selected_option.text == "nesterov"
    browser.get("about:blank")
    browser.get(server.url + "#hidden=99")  # refused by Python: the page says why and shows the setup in force
    wait(browser, lambda d: "between 1 and 8, got 99" in by_id(d, "pg-error").text)
    wait(browser, lambda d: len(d.find_elements("css selector", "#pg-net .pg-node")) == 7 + 5 + 2 + 1)


def test_clicking_a_point_shows_its_graph_and_steps_through_backward_steps(browser, server):
    from selenium.webdriver.common.action_chains import ActionChains

    import nn
    from autograd_core import Value, backward_steps

    open_page(browser, server)
    session = server.session
    by_id(browser, "pg-step").click()
    wait(browser, lambda d: steps_shown(d) > 0)
    canvas = by_id(browser, "pg-output")
    x0, x1, y0, y1 = session.extent
    px, py = session.X_train[0]
    width = canvas.size["width"]
    dx = (px - x0) / (x1 - x0) * width - width / 2
    dy = (y1 - py) / (y1 - y0) * width - width / 2
    ActionChains(browser).move_to_element_with_offset(canvas, round(dx), round(dy)).click().perform()
    wait(browser, lambda d: by_id(d, "pg-graph").is_displayed())
    with server.lock:
        saved = [p.grad for p in session.model.parameters()]
        features, _, target = session.point(0)
        session.model.zero_grad()
        out = session.model([Value(float(v)) for v in features])
        steps = list(backward_steps(nn.binary_cross_entropy_with_logits([out], [target])))
        for p, g in zip(session.model.parameters(), saved):
            p.grad = g
    assert f"/ {len(steps)}" in by_id(browser, "pg-step-index").text

    def check(k):
        wait(browser, lambda d: by_id(d, "pg-step-index").get_attribute("data-value") == str(k))
        step = steps[k]
        upstream = browser.find_element("css selector", "#pg-step-table .pg-upstream")
        assert float(upstream.get_attribute("data-value")) == step.upstream
        shown = [float(e.get_attribute("data-value"))
                 for e in browser.find_elements("css selector", "#pg-step-table .pg-contribution")]
        assert shown == list(step.contributions)
        local = [float(e.get_attribute("data-value"))
                 for e in browser.find_elements("css selector", "#pg-step-table .pg-local")]
        assert local == list(step.local_grads)

    check(0)
    for k in range(1, 4):
        by_id(browser, "pg-step-next").click()
        check(k)
    by_id(browser, "pg-step-back").click()
    check(2)
    assert "∂C/∂" in by_id(browser, "pg-step-text").text
    by_id(browser, "pg-step-last").click()
    check(len(steps) - 1)
    by_id(browser, "pg-step-first").click()
    for _ in range(5):
        by_id(browser, "pg-step-next").click()
    check(5)
    # For the picture: the step at the first neuron's activation, a = tanh(z), ∂C/∂z = ∂C/∂a · (1 − a²).
    first_tanh = next(k for k, step in enumerate(steps) if step.node.op == "tanh")
    for _ in range(first_tanh - 5):
        by_id(browser, "pg-step-next").click()
    check(first_tanh)
    browser.set_window_size(1400, 1500)
    browser.execute_script("document.getElementById('pg-graph').scrollIntoView()")
    browser.save_screenshot(str(DOCS / "playground_graph.png"))


def test_exported_code_run_in_a_subprocess_reaches_the_loss_shown(browser, server, tmp_path):
    from selenium.webdriver.support.ui import Select

    open_page(browser, server)
    Select(by_id(browser, "pg-optimizer")).select_by_value("momentum")
    Select(by_id(browser, "pg-regularization")).select_by_value("l2")
    wait(browser, lambda d: server.session.settings.regularization == "l2")
    Select(by_id(browser, "pg-reg-rate")).select_by_value("0.001")
    wait(browser, lambda d: server.session.settings.reg_rate == 0.001)
    per_epoch = server.session.batches_per_epoch
    for n in (1, 2, 3):
        by_id(browser, "pg-step").click()
        wait(browser, lambda d, n=n: steps_shown(d) == n * per_epoch)
    by_id(browser, "pg-export").click()
    code = wait(browser, lambda d: d.find_element("id", "pg-code").get_attribute("value"))
    assert "nn.SGD(model.parameters(), lr=0.03, momentum=0.9)" in code
    script = tmp_path / "playground_run.py"
    script.write_text(code)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    printed = dict(line.rsplit(" ", 1) for line in out.stdout.splitlines())
    assert float(printed["train loss"]) == pytest.approx(value(browser, "pg-train-loss"), rel=1e-9)
    assert float(printed["test loss"]) == pytest.approx(value(browser, "pg-test-loss"), rel=1e-9)
