"""The Playground's Python side: settings validation, training, frames, a point's graph, export, server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd_core import Value, backward_steps
from nn.playground import Session, Settings, SettingsError
from nn.playground.export import export_code
from nn.playground.sample_graph import sample_graph
from nn.playground.server import PlaygroundServer
from nn.playground.settings import MAX_LAYERS, validate
from tests.helpers import ROOT


def env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))


# -- settings ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("changes", "words"), [
    ({"activation": "swish"}, "activation must be one of"),
    ({"hidden": [4, 9]}, "between 1 and 8, got 9"),
    ({"hidden": [2] * (MAX_LAYERS + 1)}, f"at most {MAX_LAYERS}"),
    ({"hidden": "8,8"}, "hidden must be a list"),
    ({"lr": "0.1"}, "lr must be a number, got str"),
    ({"lr": float("nan")}, "lr must be between"),
    ({"lr": 0}, "lr must be between"),
    ({"batch_size": 2.5}, "whole number"),
    ({"batch_size": True}, "must be a number, got bool"),
    ({"features": []}, "non-empty list"),
    ({"features": ["x1", "__import__('os')"]}, "a feature must be one of"),
    ({"dataset": "plane"}, "dataset must be one of"),
    ({"loss": "bce", "problem": "regression"}, "loss must be one of ['mse']"),
    ({"samples": 10**9}, "samples must be between"),
    ({"batch_norm": 1}, "true or false"),
    ({"optimiser": "adam"}, "unknown setting 'optimiser'"),
])
def test_bad_settings_are_refused_with_a_reason(changes, words):
    with pytest.raises(SettingsError, match=None) as info:
        validate(changes)
    assert words in str(info.value)


def test_switching_problem_picks_a_dataset_and_loss_that_fit():
    s = validate({"problem": "regression"})
    assert (s.dataset, s.loss) == ("plane", "mse")
    assert validate({"problem": "classification"}, s).dataset == "circles"


JUNK = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
SETTING_NAMES = st.sampled_from(sorted(Settings().to_json()))


@settings(max_examples=80, deadline=None)
@given(JUNK | st.fixed_dictionaries({"type": st.just("set"), "settings": st.dictionaries(SETTING_NAMES, JUNK)})
       | st.fixed_dictionaries({"type": st.sampled_from(["point", "tick", "export"]), "index": JUNK}))
def test_any_malformed_message_gets_an_error_reply_never_an_exception(message):
    session = SESSION
    before = (session.settings, session.steps)
    replies = session.handle(message)
    assert isinstance(replies, list) and replies
    if replies[0]["type"] == "error":
        assert (session.settings, session.steps) == before
        assert isinstance(replies[0]["message"], str)


SESSION = Session({"hidden": [3], "samples": 60})


# -- training ------------------------------------------------------------------------------------
def test_training_moons_reaches_95_percent_test_accuracy_and_the_loss_falls():
    session = Session()
    first = session.metrics()["train_loss"]
    session.train_epochs(60)
    m = session.metrics()
    assert m["train_loss"] < 0.2 * first
    assert m["test_accuracy"] >= 0.95
    assert session.epoch == 60 and session.steps == 60 * session.batches_per_epoch


def test_a_frame_is_strict_json_with_a_picture_per_neuron():
    session = Session({"hidden": [3, 2], "features": ["x1", "x2", "x1x2"]})
    frame = session.handle({"type": "tick"})[0]
    text = json.dumps(frame, allow_nan=False)
    assert frame["type"] == "frame" and frame["step"] >= 1 and len(text) < 200_000
    assert [len(layer) for layer in frame["pictures"]] == [3, 2]
    assert [np.shape(w) for w in frame["weights"]] == [(3, 3), (2, 3), (1, 2)]
    assert len(frame["flow"][-1]) == 3
    layer = session.model.layers[0]
    assert frame["weights"][0][1][2] == layer.neurons[1].w[2].data
    assert frame["grads"][0][1][2] == layer.neurons[1].w[2].grad


def test_a_diverging_run_still_gives_strict_json():
    session = Session({"optimizer": "sgd", "lr": 10.0, "activation": "relu", "init": "micrograd", "loss": "mse"})
    for _ in range(30):
        frame = session.handle({"type": "step"})[0]
    json.dumps(frame, allow_nan=False)


def test_the_pictures_are_the_networks_own_outputs_on_the_grid():
    session = Session({"hidden": [2]})
    groups = session.probe(session.F_grid[:5])
    for row, x in enumerate(session.F_grid[:5]):
        hidden = session.model.layers[0](list(x))
        assert groups[0][row].tolist() == pytest.approx([a.data for a in hidden], rel=1e-12)
        assert groups[1][row, 0] == pytest.approx(session.model(list(x)).data, rel=1e-12)


def test_changing_the_architecture_restarts_but_the_learning_rate_does_not():
    session = Session()
    session.train_epochs(2)
    session.handle({"type": "set", "settings": {"lr": 0.01}})
    assert session.steps > 0 and session.optimizer.lr == 0.01 and session.changed_mid_run
    session.handle({"type": "set", "settings": {"hidden": [4]}})
    assert session.steps == 0 and session.model.nouts == [4, 1] and not session.changed_mid_run


@pytest.mark.parametrize("changes", [
    {"problem": "regression", "dataset": "multigauss", "features": ["x1", "x2", "x1sq", "x2sq"], "lr": 0.01},
    {"batch_norm": True, "activation": "relu", "hidden": [4, 4], "optimizer": "momentum", "lr": 0.1},
    {"loss": "hinge", "optimizer": "nesterov", "lr": 0.1, "regularization": "l1", "reg_rate": 0.001},
])
def test_other_setups_train(changes):
    session = Session(changes)
    first = session.metrics()["train_loss"]
    session.train_epochs(15)
    assert session.metrics()["train_loss"] < first


# -- a point's graph -----------------------------------------------------------------------------
def test_a_points_backward_steps_are_backward_steps_on_its_own_graph():
    session = Session({"hidden": [3, 2], "features": ["x1", "x2", "sinx1"]})
    session.train_epochs(2)
    grads = [p.grad for p in session.model.parameters()]
    graph = sample_graph(session, 7)
    assert [p.grad for p in session.model.parameters()] == grads  # looking changes nothing
    x, _, target = session.point(7)
    out = session.model([Value(float(v)) for v in x])
    loss = nn.binary_cross_entropy_with_logits([out], [target])
    session.model.zero_grad()  # the page shows this point's gradients alone, not added to the last step's
    steps = list(backward_steps(loss))
    assert graph["total_steps"] == len(steps) and graph["loss"] == loss.data
    for shown, step in zip(graph["steps"], steps):
        assert shown["value"] == step.node.data and shown["upstream"] == step.upstream
        assert [p["contribution"] for p in shown["parents"]] == list(step.contributions)
        assert [p["local"] for p in shown["parents"]] == list(step.local_grads)
    # The summary boxes: each neuron's a and ∂C/∂a after the whole backward pass.
    hidden = graph["units"][1]
    assert [u["name"] for u in hidden] == ["a1[1]", "a1[2]", "a1[3]"]
    assert graph["units"][-1][0]["name"] == "C" and graph["units"][-1][0]["grad"] == 1.0


def test_a_point_out_of_range_is_an_error():
    session = Session({"samples": 40})
    assert session.handle({"type": "point", "index": 40})[0]["type"] == "error"
    assert session.handle({"type": "point", "index": -1})[0]["type"] == "error"
    assert session.handle({"type": "point", "index": 3, "extra": 1})[0]["type"] == "error"


# -- export --------------------------------------------------------------------------------------
@pytest.mark.parametrize("changes", [
    {},
    {"batch_norm": True, "optimizer": "rmsprop", "lr": 0.01, "hidden": [3], "regularization": "l2",
     "reg_rate": 0.003, "features": ["x1", "x2", "x1x2"], "samples": 80},
])
def test_exported_code_reproduces_the_run(changes, tmp_path):
    session = Session(changes)
    session.train_epochs(4)
    code = export_code(session)
    script = tmp_path / "run.py"
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env(), timeout=120)
    assert out.returncode == 0, out.stderr
    lines = dict(line.rsplit(" ", 1) for line in out.stdout.splitlines())
    m = session.metrics()
    assert float(lines["train loss"]) == pytest.approx(m["train_loss"], rel=1e-9)
    assert float(lines["test loss"]) == pytest.approx(m["test_loss"], rel=1e-9)


def test_export_says_when_settings_changed_during_the_run():
    session = Session()
    session.train_epochs(1)
    session.update({"lr": 0.1})
    assert "changed during the run" in export_code(session)


# -- server --------------------------------------------------------------------------------------
@pytest.fixture
def server():
    srv = PlaygroundServer(Session({"samples": 60})).start()
    yield srv
    srv.stop()


def request(url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def test_the_page_needs_the_token(server):
    base = f"http://127.0.0.1:{server.port}"
    assert request(base + "/")[0] == 403
    assert request(base + "/?token=wrong")[0] == 403
    assert request(base + "/static/playground.js")[0] == 403
    status, body, headers = request(server.url)
    assert status == 200 and b'type="module"' in body
    cookie = headers["Set-Cookie"].split(";")[0]
    assert request(base + "/static/playground.js", headers={"Cookie": cookie})[0] == 200
    assert request(base + "/static/../session.py", headers={"Cookie": cookie})[0] == 404
    assert request(base + "/", headers={"Authorization": f"token {server.token}"})[0] == 200


def test_only_our_host_names_are_served(server):
    status, body, _ = request(server.url, headers={"Host": f"evil.example:{server.port}"})
    assert status == 403 and b"host" in body


def test_the_api_answers_messages_and_refuses_malformed_ones(server):
    api = f"http://127.0.0.1:{server.port}/api?token={server.token}"
    status, body, _ = request(api, json.dumps({"type": "step"}).encode(), {"Content-Type": "application/json"})
    assert status == 200 and json.loads(body)[0]["epoch"] == 1
    status, body, _ = request(api, b"{not json", {"Content-Type": "application/json"})
    assert status == 400 and json.loads(body)[0]["type"] == "error"
    status, body, _ = request(api, json.dumps({"type": "set", "settings": {"hidden": [100]}}).encode())
    assert status == 200 and "between 1 and 8" in json.loads(body)[0]["message"]
    status, _, _ = request(api, b" " * (70 * 1024))
    assert status == 413
    assert server.session.settings.hidden == (8, 8)


def test_backprop_playground_serves_until_ctrl_c():
    proc = subprocess.Popen([sys.executable, "-m", "nn", "playground", "--no-browser"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env())
    try:
        line = proc.stdout.readline()
        assert line.startswith("Playground running at http://127.0.0.1:"), line
        url = line.split(" at ", 1)[1].strip()
        assert request(url)[0] == 200
        assert request(url.split("?")[0])[0] == 403
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        assert "Playground stopped." in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_prints_the_url_opens_the_browser_and_stops_on_ctrl_c(monkeypatch, capsys):
    import webbrowser

    from nn.playground import server as server_module

    opened = []
    monkeypatch.setattr(webbrowser, "open", opened.append)

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(server_module.PlaygroundServer, "serve_forever", interrupted)
    assert server_module.serve(open_browser=True) == 0
    assert server_module.serve(open_browser=False) == 0
    out = capsys.readouterr()
    urls = [line.split(" at ")[1] for line in out.out.splitlines() if line.startswith("Playground running at")]
    assert len(opened) == 1 and opened[0] == urls[0] and "?token=" in urls[0]
    assert out.err.count("Playground stopped.") == 2


def test_a_bad_port_is_a_usage_error():
    out = subprocess.run([sys.executable, "-m", "nn", "playground", "--port", "70000"], capture_output=True,
                         text=True, env=env(), timeout=60)
    assert out.returncode == 2 and "expected a port number from 0 to 65535, got 70000" in out.stderr


def test_a_taken_port_is_a_usage_error(server):
    out = subprocess.run([sys.executable, "-m", "nn", "playground", "--no-browser", "--port", str(server.port)],
                         capture_output=True, text=True, env=env(), timeout=60)
    assert out.returncode == 2 and f"cannot listen on 127.0.0.1:{server.port}" in out.stderr


# -- the Jupyter widget --------------------------------------------------------------------------
def test_the_widget_answers_the_pages_messages(monkeypatch):
    pytest.importorskip("anywidget")
    pg = nn.Playground(dataset="xor", hidden=[4])
    assert pg.settings == Settings(dataset="xor", hidden=(4,))
    sent = []
    monkeypatch.setattr(pg, "send", sent.append)
    pg._on_message(pg, {"type": "hello"}, [])
    assert [m["type"] for m in sent] == ["settings", "frame"]
    pg._on_message(pg, {"type": "set", "settings": {"lr": -1}}, [])
    assert sent[-1]["type"] == "error"
    with pytest.raises(SettingsError, match="unknown setting 'layers'"):
        nn.Playground(layers=[4])
