"""The ``backprop`` command line: train, graph, check; help everywhere; bad arguments exit 2 with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nn import accuracy, make_moons
from nn.io import load
from tests.helpers import ROOT, run_cli


def usage_error(capsys, *argv) -> str:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("backprop")
    return lines[0]


# -- graph --------------------------------------------------------------------------------------


def test_graph_prints_value_and_gradients_and_writes_svg(capsys, tmp_path):
    target = tmp_path / "graph.svg"
    code, out, err = run_cli(capsys, "graph", "tanh(w*x + b)", "--at", "w=0.5", "x=2", "b=-1", "-o", str(target))
    assert code == 0, err
    assert "f = tanh(w*x + b) = 0 at w=0.5, x=2, b=-1" in out
    assert "df/dw = 2" in out and "df/dx = 0.5" in out and "df/db = 1" in out
    svg = target.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for text in ("tanh", "data 0.5", "grad 2", "data &#45;1"):
        assert text in svg


@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".pdf", b"%PDF"), (".dot", b"digraph")])
def test_graph_format_follows_the_extension(capsys, tmp_path, suffix, magic):
    target = tmp_path / f"sub/dir/g{suffix}"
    code, _, err = run_cli(capsys, "graph", "x*x + x", "--at", "x=3", "-o", str(target))
    assert code == 0, err
    assert target.read_bytes().lstrip().startswith(magic)


def test_graph_of_a_repeated_variable_draws_one_edge_per_use(capsys, tmp_path):
    target = tmp_path / "g.dot"
    code, out, _ = run_cli(capsys, "graph", "x*x", "--at", "x=3", "-o", str(target))
    assert code == 0
    assert "df/dx = 6" in out
    edges = [line for line in target.read_text().splitlines() if "->" in line]
    assert len(edges) == 3  # x → * twice, * → result


def test_graph_accepts_a_leading_minus_inside_parentheses(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "graph", "(-x**2)", "--at", "x=3", "-o", str(tmp_path / "g.dot"))
    assert code == 0
    assert "= -9 at x=3" in out and "df/dx = -6" in out


def test_graph_rejects_an_unknown_extension(capsys, tmp_path):
    line = usage_error(capsys, "graph", "x", "--at", "x=1", "-o", str(tmp_path / "g.jpg"))
    assert "cannot tell the format" in line and ".svg" in line
    assert not (tmp_path / "g.jpg").exists()


# -- check --------------------------------------------------------------------------------------


def test_check_prints_the_table_and_exits_0_when_derivatives_agree(capsys):
    code, out, _ = run_cli(capsys, "check", "x**3 + sin(x*y)", "--at", "x=0.3", "y=2")
    assert code == 0
    assert "gradcheck passed: 2 of 2 derivatives agree" in out
    assert "analytic" in out and "numeric" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip().startswith("df/d")}
    assert set(rows) == {"df/dx", "df/dy"}
    assert float(rows["df/dx"][1]) == pytest.approx(3 * 0.3**2 + 2 * __import__("math").cos(0.6), rel=1e-6)
    assert rows["df/dy"][-1] == "ok"


def test_check_second_adds_the_hessian_table(capsys):
    code, out, _ = run_cli(capsys, "check", "x**3 + sin(x*y)", "--at", "x=0.3", "y=2", "--second")
    assert code == 0
    assert "gradgradcheck passed: 4 of 4 derivatives agree" in out
    assert "d2f/dxdy" in out and "d2f/dydx" in out


def test_check_exits_1_when_a_derivative_disagrees(capsys):
    # With ε = 0.5 the central difference of x³ at 1 is 3.25, not 3: a genuine mismatch.
    code, out, _ = run_cli(capsys, "check", "x**3", "--at", "x=1", "--eps", "0.5")
    assert code == 1
    assert "gradcheck failed: 0 of 1 derivatives agree" in out
    assert "MISMATCH" in out and "3.25" in out


def test_check_reports_a_kink_without_failing(capsys):
    code, out, _ = run_cli(capsys, "check", "relu(x) + abs(y)", "--at", "x=0", "y=1")
    assert code == 0
    assert "kink" in out and "one-sided differences" in out


def test_check_notes_when_the_function_is_undefined_at_the_point(capsys):
    code, out, _ = run_cli(capsys, "check", "log(x)", "--at", "x=-1")
    assert code == 1
    assert "f is nan at this point" in out


# Bad arguments (exit 2, one line on stderr, nothing written): the table in test_adversarial_cli.py.


@pytest.mark.parametrize("command", [[], ["train"], ["graph"], ["check"]])
def test_help_is_available_everywhere(capsys, command):
    code, out, _ = run_cli(capsys, *command, "--help")
    assert code == 0
    assert out.startswith("usage: backprop")
    for name in {(): ["train", "graph", "check"], ("train",): ["--dataset", "--layers", "--optimizer", "--out"],
                 ("graph",): ["--at", "--output"], ("check",): ["--at", "--eps", "--second"]}[tuple(command)]:
        assert name in out


# -- train --------------------------------------------------------------------------------------


def test_train_with_defaults_learns_moons_and_writes_its_three_files(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "train", "--quiet")
    assert code == 0, err
    (folder,) = list((tmp_path / "runs").iterdir())
    assert folder.name.startswith("moons-")
    assert f"wrote {Path('runs') / folder.name}" in out
    assert "final loss 0.0110, accuracy 100.0% on the 100 training points" in out  # micrograd's demo result
    assert (folder / "decision_boundary.png").read_bytes().startswith(b"\x89PNG")
    assert (folder / "loss_curve.png").read_bytes().startswith(b"\x89PNG")
    assert json.loads((folder / "model.json").read_text())["config"]["nouts"] == [16, 16, 1]
    X, y = make_moons(100, noise=0.1, seed=1337)
    assert accuracy(load(folder / "model.json"), X, y) == 1.0
    assert err == ""  # --quiet: no progress bar


def test_train_options_reach_the_model_and_the_output_folder(capsys, tmp_path):
    out_dir = tmp_path / "spiral-run"
    code, out, err = run_cli(capsys, "train", "--dataset", "spiral", "--samples", "60", "--noise", "0",
                         "--layers", "8", "--activation", "tanh", "--optimizer", "adam", "--lr", "0.05",
                         "--steps", "5", "--batch-size", "20", "--seed", "3", "--out", str(out_dir))
    assert code == 0, err
    assert "MLP 2 -> 8 -> 1 (tanh, micrograd init), 33 parameters" in out
    assert "adam lr 0.05 -> 0.005" in out and "5 steps, batches of 20" in out
    assert "on the 60 training points" in out
    assert sorted(p.name for p in out_dir.iterdir()) == ["decision_boundary.png", "loss_curve.png", "model.json"]
    assert "fit" in err  # the progress bar


def test_train_eager_and_compiled_give_the_same_numbers(capsys, tmp_path):
    lines = []
    for engine in ("--eager", "--compiled"):
        code, out, _ = run_cli(capsys, "train", "--samples", "20", "--steps", "3", "--quiet", engine,
                           "--out", str(tmp_path / engine.strip("-")))
        assert code == 0
        lines.append([line.split(" (")[0] for line in out.splitlines() if line.startswith("final loss")])
    assert lines[0] == lines[1]


def test_train_with_batch_norm_is_compiled_and_learns(capsys, tmp_path):
    code, out, err = run_cli(capsys, "train", "--steps", "60", "--batch-norm", "--out", str(tmp_path / "bn"))
    assert code == 0, err
    assert "batch norm" in out and "compiled" in out
    accuracy = float(out.split("accuracy ")[1].split("%")[0])
    assert accuracy >= 85.0, out


# -- as a real program ---------------------------------------------------------------------------


def test_python_dash_m_nn_runs_as_a_subprocess(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ok = subprocess.run([sys.executable, "-m", "nn", "check", "x**3 + sin(x*y)", "--at", "x=0.3", "y=2"],
                        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "gradcheck passed" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "nn", "graph", "x // 2", "--at", "x=1"],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [
        "backprop graph: error: bad expression 'x // 2' at column 3: operator '//' is not allowed (allowed: numbers, "
        "variable names, + - * / **, unary -, and calls of 53 math functions such as tanh, exp, log, sin, atan2, "
        "relu, gelu) (see 'backprop graph --help')"
    ]


# -- defaults that train, --init, help ---------------------------------------------------------------


def test_train_mse_with_its_default_learning_rate_learns_the_moons(capsys, tmp_path):
    code, out, err = run_cli(capsys, "train", "--loss", "mse", "--quiet", "--out", str(tmp_path))
    assert code == 0, err
    assert "sgd lr 0.025 -> 0.0025" not in out  # --quiet
    assert "final loss 0.2413, accuracy 95.0% on the 100 training points" in out


def test_every_default_learning_rate_trains_the_default_moons():
    """The table behind ``--lr``'s default, run as the CLI runs it (without its pictures)."""
    from nn import MLP, fit, optim
    from nn.app.cli_train import DEFAULT_LR
    from nn.lr_scheduler import LinearLR
    from nn.plots import evaluate_on_grid
    from nn.predict import accuracy_from_scores

    X, y = make_moons(100, noise=0.1, seed=1337)
    results = {}
    for loss, rates in DEFAULT_LR.items():
        for name, lr in rates.items():
            model = MLP(2, [16, 16, 1], rng=1337)
            params = model.parameters()
            opt = (optim.SGD(params, lr=lr, momentum=0.9 if name == "momentum" else 0.0) if name in ("sgd", "momentum")
                   else {"adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop}[name](params, lr=lr))
            fit(model, X, y, loss=loss, optimizer=opt, scheduler=LinearLR(opt, 1.0, 0.1, 100), steps=100, alpha=1e-4,
                progress=False, compiled=True, seed=1337)
            results[loss, name] = accuracy_from_scores(evaluate_on_grid(model, X), y)  # one traced pass
    assert min(results.values()) >= 0.95, results


def test_init_option_reaches_the_model(capsys, tmp_path):
    code, out, err = run_cli(capsys, "train", "--init", "he", "--samples", "10", "--steps", "1", "--out", str(tmp_path))
    assert code == 0, err
    assert "(relu, he init)" in out
    assert json.loads((tmp_path / "model.json").read_text())["config"]["init"] == "he"


def test_train_help_shows_each_default_once(capsys):
    code, out, _ = run_cli(capsys, "train", "--help")
    assert code == 0
    help_text = " ".join(out.split())
    for option in ("--lr", "--batch-size", "--out", "--quiet", "--constant-lr", "--batch-norm", "--eager"):
        entry = help_text.split(f" {option} ", 1)[1].split(" --", 1)[0]
        assert entry.count("default") <= 1, (option, entry)
    assert "(default: None)" not in help_text and "(default: False)" not in help_text
    assert "(default: moons)" in help_text and "(default: 1337)" in help_text
    assert "Exit status: 0 trained, 2 bad arguments or a limit, 3 training diverged" in help_text
