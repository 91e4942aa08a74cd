"""The ``backprop`` command line under hostile input: every case is one line, an exact exit status, no traceback.

Exit statuses: 2 for a bad argument or a documented limit (checked before anything is built),
3 for training that diverged (the loss curve is still written, the model is not), 1 for a
failed check or an unexpected error (one line; ``--debug`` shows the traceback), 130 for an
interrupt. Most cases run in-process (``nn.app.cli.main``), which is fast; the ones that would
allocate a lot if a limit were missing also run in a subprocess under an address-space limit
and a timeout, so a regression fails the test instead of swapping the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import nn.app.cli_train as cli_train
from nn.app.cli import main
from tests.helpers import ROOT, run_cli

MEMORY_LIMIT = 2 * 1024**3  # bytes of address space for the subprocess cases
TIMEOUT = 120


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A fresh working folder with hostile output targets in ``fx/``."""
    fx = tmp_path / "fx"
    fx.mkdir()
    (fx / "folder.svg").mkdir()
    os.mkfifo(fx / "fifo.svg")
    (fx / "full.svg").symlink_to("/dev/full")
    (fx / "afile").write_text("not a folder")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


NESTED = "x" + "+sin(x" * 101 + ")" * 101
LONG = "+".join(["x"] * 1001)

# (argv, exit status, a fragment of the one stderr line)
USAGE_ERRORS: list[tuple[list[str], str]] = [
    # seeds
    (["train", "--seed", "-1"], "the seed must be from 0 to 4,294,967,295, got -1"),
    (["train", "--seed", "4294967296"], "the seed must be from 0 to 4,294,967,295, got 4,294,967,296"),
    (["train", "--seed", "1.5"], "the seed must be a whole number, got '1.5'"),
    (["train", "--seed", "0x10"], "the seed must be a whole number, got '0x10'"),
    # samples
    (["train", "--samples", "1"], "the number of samples must be from 2 to 100,000, got 1"),
    (["train", "--samples", "0"], "the number of samples must be from 2 to 100,000, got 0"),
    (["train", "--samples", "100001"], "the number of samples must be from 2 to 100,000, got 100,001"),
    (["train", "--samples", "100000000"], "the number of samples must be from 2 to 100,000, got 100,000,000"),
    (["train", "--samples", "1e3"], "the number of samples must be a whole number, got '1e3'"),
    (["train", "--samples", ""], "the number of samples must be a whole number, got ''"),
    # steps
    (["train", "--steps", "0"], "the number of steps must be from 1 to 1,000,000, got 0"),
    (["train", "--steps", "-3"], "the number of steps must be from 1 to 1,000,000, got -3"),
    (["train", "--steps", "1000001"], "the number of steps must be from 1 to 1,000,000, got 1,000,001"),
    (["train", "--steps", "100000000000000000000"], "the number of steps must be from 1 to 1,000,000, got 100,000"),
    (["train", "--steps", "9" * 400], "(400 digits)"),
    (["train", "--steps", "inf"], "the number of steps must be a whole number, got 'inf'"),
    # batches
    (["train", "--batch-size", "0"], "the batch size must be from 1 to 100,000, got 0"),
    (["train", "--batch-size", "100001"], "the batch size must be from 1 to 100,000, got 100,001"),
    (["train", "--batch-norm", "--batch-size", "1"], "--batch-norm needs at least 2 samples per batch"),
    (["train", "--batch-norm", "--samples", "2", "--batch-size", "1"], "got a batch of 1"),
    (["train", "--eager", "--compiled"], "not allowed with argument"),
    # layers and parameters
    (["train", "--layers", "100000,100000"], "a layer has at most 1,024 neurons, got 100,000"),
    (["train", "--layers", "1025"], "a layer has at most 1,024 neurons, got 1,025"),
    (["train", "--layers", "9" * 40], "a layer has at most 1,024 neurons, got 9,999,999,99…(40 digits)"),
    (["train", "--layers", "1000,1000"], "the model would have 1,005,001 parameters; the limit is 100,000"),
    (["train", "--layers", "300,300,300"], "the model would have 181,801 parameters"),
    (["train", "--layers", ",".join(["1"] * 65)], "at most 64 hidden layers, got 65"),
    (["train", "--layers", "16,x"], "layer sizes are whole numbers separated by commas"),
    (["train", "--layers", "16,,16"], "layer sizes are whole numbers separated by commas"),
    (["train", "--layers", "16,0"], "every layer size must be at least 1, got 0"),
    (["train", "--layers", "-5"], "every layer size must be at least 1, got -5"),
    (["train", "--layers", "16.5"], "layer sizes are whole numbers"),
    # the work of one step
    (["train", "--eager", "--samples", "10000"], "the limit is batch × parameters ≤ 1,000,000"),
    (["train", "--batch-norm", "--eager", "--samples", "100000"], "the limit is batch × parameters ≤ 1,000,000"),
    (["train", "--samples", "100000", "--layers", "128,128"], "the limit is batch × neurons ≤ 10,000,000"),
    # numbers
    (["train", "--noise", "-1"], "the noise must be a finite number ≥ 0 and ≤ 10, got -1"),
    (["train", "--noise", "11"], "the noise must be a finite number ≥ 0 and ≤ 10, got 11"),
    (["train", "--noise", "nan"], "the noise must be a finite number ≥ 0 and ≤ 10, got nan"),
    (["train", "--noise", "inf"], "the noise must be a finite number"),
    (["train", "--lr", "0"], "the learning rate must be a finite number > 0, got 0"),
    (["train", "--lr", "-1"], "the learning rate must be a finite number > 0, got -1"),
    (["train", "--lr", "nan"], "the learning rate must be a finite number > 0, got nan"),
    (["train", "--lr", "inf"], "the learning rate must be a finite number > 0, got inf"),
    (["train", "--lr", "1e400"], "the learning rate must be a finite number > 0, got 1e400"),
    (["train", "--lr", "fast"], "the learning rate must be a number, got 'fast'"),
    (["train", "--alpha", "-1"], "alpha must be a finite number ≥ 0, got -1"),
    (["train", "--alpha", "nan"], "alpha must be a finite number ≥ 0, got nan"),
    # choices
    (["train", "--dataset", "mnist"], "invalid choice: 'mnist'"),
    (["train", "--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
    (["train", "--activation", "softmax"], "invalid choice: 'softmax'"),
    (["train", "--init", "zeros"], "invalid choice: 'zeros'"),
    (["train", "--loss", "cross_entropy"], "invalid choice: 'cross_entropy'"),
    (["train", "--bogus"], "unrecognized arguments: --bogus"),
    # output folders
    (["train", "--out", ""], "the output folder is an empty name"),
    (["train", "--out", "fx/fifo.svg"], "cannot write to the output folder 'fx/fifo.svg'"),
    (["train", "--out", "fx/afile"], "cannot write to the output folder 'fx/afile'"),
    (["train", "--out", "/proc/backprop-nope"], "cannot write to the output folder '/proc/backprop-nope'"),
    (["train", "--out", "fx/afile/run"], "cannot write to the output folder 'fx/afile/run'"),
    # graph: outputs
    (["graph", "x", "--at", "x=1", "-o", "g.txt"], "cannot tell the format of 'g.txt' from its extension"),
    (["graph", "x", "--at", "x=1", "-o", "/proc/nope/g.svg"], "cannot write '/proc/nope/g.svg': cannot create its"),
    (["graph", "x", "--at", "x=1", "-o", "fx/folder.svg"], "cannot write 'fx/folder.svg': it is a folder"),
    (["graph", "x", "--at", "x=1", "-o", "fx/fifo.svg"], "cannot write 'fx/fifo.svg': it is not a regular file"),
    (["graph", "x", "--at", "x=1", "-o", "fx/full.svg"], "cannot write 'fx/full.svg': it is not a regular file"),
    (["graph", "x", "--at", "x=1", "-o", "fx/afile/g.svg"], "cannot write 'fx/afile/g.svg': cannot create its"),
    (["graph", "x", "--at", "x=1", "-o", "/proc/self/g.svg"], "cannot write '/proc/self/g.svg'"),
    (["graph", "x", "--at", "x=1", "--rankdir", "XY"], "invalid choice: 'XY'"),
    (["graph", "x", "--at", "x=1", "-o", ""], "cannot tell the format of '.' from its extension"),
    # graph and check: expressions
    (["graph", "x // 2", "--at", "x=1"], "operator '//' is not allowed"),
    (["graph", "__import__('os')"], "unknown function '__import__'"),
    (["graph", "x", "--at", "x=1e400"], "the value of x in 'x=1e400' is beyond the largest float"),
    (["graph", "x"], "no value for x in 'x'; add --at x=1.0"),
    (["check", LONG, "--at", "x=1"], "it is 2001 characters long; the limit is 2000"),
    (["check", NESTED, "--at", "x=1"], "nested too deeply (limit 100 levels)"),
    (["check", "x.real", "--at", "x=1"], "attribute access is not allowed"),
    (["check", "x +", "--at", "x=1"], "ends too early"),
    (["check", "lambda: x", "--at", "x=1"], "a lambda is not allowed"),
    (["check", "x*(1if(x)else(2))", "--at", "x=1"], "an if-expression is not allowed"),
    (["check", "'abc'*x", "--at", "x=1"], "str 'abc' is not a real number"),
    (["check", "1j*x", "--at", "x=1"], "a complex number is not a real number"),
    (["check", "True*x", "--at", "x=1"], "bool True is not a real number"),
    (["check", "1 + 2"], "has no variables, so there is nothing to differentiate"),
    (["check", "x\n+", "--at", "x=1"], "bad expression"),
    (["check", "x", "--at", "x=1\n2"], "is not a number"),
    (["train", "--out", "fx/afile/a\nb"], "cannot write to the output folder"),
    (["check", "x", "--at", "x=1", "z=2"], "--at gives z, which 'x' does not use"),
    (["check", "x", "--at", "x=1", "x=2"], "--at gives x twice"),
    (["check", "x", "--at", "x"], "'x' is not NAME=VALUE"),
    (["check", "x", "--at", "2x=1"], "'2x' in '2x=1' is not a variable name"),
    (["check", "x", "--at", "x=abc"], "the value of x in 'x=abc' is not a number"),
    # check: points and steps
    (["check", "x**2", "--at", "x=nan"], "x=nan is not a finite number; finite differences"),
    (["check", "x**2", "--at", "x=inf"], "x=inf is not a finite number"),
    (["check", "x**2", "--at", "x=-inf"], "x=-inf is not a finite number"),
    (["check", "x**2", "--at", "x=1e400"], "the value of x in 'x=1e400' is beyond the largest float"),
    (["check", "x**2", "--at", "x=-1e400"], "is beyond the largest float"),
    (["check", "x**2", "--at", "x=1", "--eps", "1e-320"], "expected at least 2.23e-308 (the smallest normal float"),
    (["check", "x**2", "--at", "x=1", "--eps", "0"], "expected a positive finite number, got 0"),
    (["check", "x**2", "--at", "x=1", "--eps", "-1"], "expected a positive finite number, got -1"),
    (["check", "x**2", "--at", "x=1", "--eps", "nan"], "expected a positive finite number, got nan"),
    (["check", "x**2", "--at", "x=1", "--eps", "1e-20"], "--eps 1e-20 is too small to move x=1"),
    (["check", "x*y", "--at", "x=1", "y=1e20", "--eps", "1e-6"], "--eps 1e-06 is too small to move y=1e+20"),
    (["check", "x**2", "--at", "x=1.7e308", "--eps", "1e307"], "moves x=1.7e+308 beyond the largest float"),
    (["check", "x", "--at", "x=1", "--atol", "-1"], "expected a finite number ≥ 0, got -1"),
    (["check", "x", "--at", "x=1", "--rtol", "nan"], "expected a finite number ≥ 0, got nan"),
    # the command itself
    ([], "the following arguments are required: COMMAND"),
    (["--debug"], "the following arguments are required: COMMAND"),
    (["fly"], "invalid choice: 'fly'"),
    (["check", "x + y", "--at", "x=1"], "no value for y in 'x + y'; add --at y=1.0"),
    (["graph", "__import__('os')", "-o", "g.svg"], "unknown function '__import__'"),
    (["check", "x", "--at", "x=1", "--eps", "0"], "expected a positive finite number"),
    (["check", "x", "--at", "x=1", "--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize(("argv", "fragment"), USAGE_ERRORS, ids=[" ".join(a)[:60] for a, _ in USAGE_ERRORS])
def test_bad_argument_or_limit_is_one_line_exit_2_and_writes_nothing(workdir, capsys, argv, fragment):
    before = _listing(workdir)
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (out, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("backprop")
    assert fragment in lines[0]
    assert "Traceback" not in err
    assert _listing(workdir) == before


def test_limits_are_the_documented_numbers():
    assert (cli_train.MAX_WIDTH, cli_train.MAX_HIDDEN_LAYERS, cli_train.MAX_PARAMETERS) == (1024, 64, 100_000)
    assert (cli_train.MAX_SAMPLES, cli_train.MAX_STEPS, cli_train.MAX_SEED) == (100_000, 1_000_000, 2**32 - 1)
    assert (cli_train.MAX_EAGER_WORK, cli_train.MAX_COMPILED_WORK) == (1_000_000, 10_000_000)
    assert cli_train.EXIT_DIVERGED == 3


@pytest.mark.parametrize(("hidden", "batch_norm"), [([], False), ([16, 16], False), ([3], True), ([8] * 6, True)])
def test_parameter_count_is_checked_without_building_the_model(hidden, batch_norm):
    from nn import MLP

    model = MLP(2, [*hidden, 1], rng=0, batch_norm=batch_norm)
    assert cli_train.parameter_count(hidden, batch_norm=batch_norm) == len(model.parameters())


# -- at the edges of the limits: accepted -------------------------------------------------------

EDGES = [
    ["--seed", "0", "--samples", "2", "--noise", "0", "--init", "he"],
    ["--seed", "4294967295", "--samples", "10", "--noise", "10", "--batch-size", "100000", "--layers", "",
     "--init", "xavier_normal", "--activation", "tanh"],
    ["--batch-norm", "--samples", "4", "--batch-size", "2", "--layers", "2"],
]


@pytest.mark.parametrize("extra", EDGES, ids=[" ".join(e) for e in EDGES])
def test_values_at_the_edge_of_a_limit_train(workdir, capsys, extra):
    code, _, err = run_cli(capsys, "train", "--steps", "2", "--quiet", "--out", "run", *extra)
    assert code == 0, err
    assert err == ""
    assert _listing(workdir / "run") == ["decision_boundary.png", "loss_curve.png", "model.json"]


# -- divergence: exit 3, a loss curve, no model ----------------------------------------------------

DIVERGING = [
    (["--lr", "1e300"], "the loss is nan"),
    (["--loss", "mse", "--lr", "1"], "the loss grew from 1.224 to"),
    (["--loss", "mse", "--optimizer", "momentum", "--lr", "1", "--constant-lr"], "the loss grew from"),
    (["--alpha", "1e300"], "or --alpha (now 1e+300)"),
]


@pytest.mark.parametrize(("extra", "fragment"), DIVERGING, ids=[" ".join(e) for e, _ in DIVERGING])
def test_diverging_training_stops_with_exit_3_and_keeps_its_loss_curve(workdir, capsys, extra, fragment):
    code, out, err = run_cli(capsys, "train", "--quiet", "--out", "run", *extra)
    assert code == 3, (out, err)
    (line,) = err.splitlines()
    assert line.startswith("backprop train: error: training diverged at step ")
    assert fragment in line and "lower the learning rate" in line
    assert f"wrote {Path('run') / 'loss_curve.png'}, no model" in line
    assert _listing(workdir / "run") == ["loss_curve.png"]
    assert (workdir / "run" / "loss_curve.png").read_bytes().startswith(b"\x89PNG")
    assert "final loss" not in out


# -- unexpected errors and interrupts ------------------------------------------------------------


def test_an_unexpected_error_is_one_line_exit_1_and_debug_shows_the_traceback(workdir, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("something inside broke\nsecond line")

    monkeypatch.setattr("nn.train.fit", broken)
    code, _, err = run_cli(capsys, "train", "--quiet", "--out", "run")
    assert code == 1
    assert err.splitlines() == ["backprop train: unexpected error: RuntimeError: something inside broke (run "
                                "'backprop --debug train …' for the traceback)"]
    for argv in (["--debug", "train", "--quiet"], ["train", "--quiet", "--debug"]):
        with pytest.raises(RuntimeError, match="something inside broke"):
            main([*argv, "--out", "run"])


def test_an_interrupt_before_the_first_step_leaves_no_folder(workdir, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("nn.train.fit", interrupted)
    code, _, err = run_cli(capsys, "train", "--quiet", "--out", "run")
    assert (code, err) == (130, "backprop train: interrupted before the first step ended; nothing written\n")
    assert not (workdir / "run").exists()


def test_an_interrupt_during_training_keeps_the_loss_curve(workdir, capsys, monkeypatch):
    import nn.train

    real_fit = nn.train.fit

    def interrupted_at_step_3(*args, callback, **kwargs):
        def hook(step, model, history):
            callback(step, model, history)
            if step == 2:
                raise KeyboardInterrupt

        return real_fit(*args, callback=hook, **kwargs)

    monkeypatch.setattr("nn.train.fit", interrupted_at_step_3)
    code, _, err = run_cli(capsys, "train", "--quiet", "--out", "run")
    assert code == 130
    curve = Path("run") / "loss_curve.png"
    assert err.splitlines() == [f"backprop train: interrupted after step 3 of 100; wrote {curve}, no model"]
    assert _listing(workdir / "run") == ["loss_curve.png"]


def test_a_diverged_run_removes_an_earlier_runs_model_from_its_folder(workdir, capsys):
    assert run_cli(capsys, "train", "--samples", "10", "--steps", "1", "--quiet", "--out", "run")[0] == 0
    assert "model.json" in _listing(workdir / "run")
    code, _, _ = run_cli(capsys, "train", "--samples", "10", "--lr", "1e300", "--quiet", "--out", "run")
    assert code == 3
    assert _listing(workdir / "run") == ["loss_curve.png"]


# -- in a subprocess, with its memory and time bounded ---------------------------------------------

_BATCH = textwrap.dedent("""
    import contextlib, io, json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    from nn.app.cli import main
    results = []
    for argv in json.loads(sys.argv[1]):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as e:
                code = e.code
        results.append([code, err.getvalue()])
    print(json.dumps(results))
""")

HEAVY_IF_UNCHECKED = [
    ["train", "--samples", "100000000"],
    ["train", "--layers", "100000,100000"],
    ["train", "--layers", "1024,1024"],
    ["train", "--steps", "100000000000000000000"],
    ["train", "--eager", "--samples", "100000"],
    ["train", "--samples", "100000", "--layers", "1024"],
    ["check", "x**2", "--at", "x=1", "--eps", "1e-320"],
]


def test_limits_hold_under_a_memory_cap_in_a_subprocess(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", _BATCH.format(limit=MEMORY_LIMIT), json.dumps(HEAVY_IF_UNCHECKED)],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    for argv, (code, err) in zip(HEAVY_IF_UNCHECKED, json.loads(proc.stdout)):
        assert code == 2, (argv, err)
        assert len(err.splitlines()) == 1 and "Traceback" not in err, (argv, err)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("argv", "status", "fragment"), [
    (["check", "x**2", "--at", "x=nan"], 2, "x=nan is not a finite number"),
    (["train", "--lr", "1e300", "--samples", "20", "--steps", "5", "--quiet", "--out", "run"], 3, "training diverged"),
    (["train", "--loss", "mse", "--lr", "1e5", "--samples", "20", "--quiet", "--out", "run"], 3, "the loss grew from"),
])
def test_python_dash_m_nn_exits_with_the_status_and_no_traceback(tmp_path, argv, status, fragment):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def cap() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    proc = subprocess.run([sys.executable, "-m", "nn", *argv], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=TIMEOUT, preexec_fn=cap)
    assert proc.returncode == status, proc.stderr
    (line,) = proc.stderr.splitlines()  # no traceback, no warning from numpy's overflowing arrays
    assert line.startswith("backprop") and fragment in line
