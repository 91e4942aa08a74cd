"""What a learner sees in Jupyter: pictures as pictures, progress as a widget, logs kept short.

The notebook tests run a real kernel (nbclient) on a notebook built here, with no
``%matplotlib`` magic and no pyplot call, as a fresh notebook would be.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT


def _run_notebook(cells: list[str]) -> list[dict]:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    env_path = os.environ.get("PYTHONPATH", "")
    old = os.environ.get("PYTHONPATH")
    # The kernel must import this tree's nn, whichever copy is installed.
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env_path) if p)
    try:
        client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                         resources={"metadata": {"path": str(ROOT)}})
        client.execute()
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    return [cell.outputs for cell in nb.cells]


def _mimes(outputs: list[dict]) -> list[set[str]]:
    return [set(o.get("data", {})) for o in outputs if o.get("output_type") in ("execute_result", "display_data")]


def test_figures_show_as_images_in_a_fresh_kernel_and_progress_as_a_widget():
    setup = (
        "import sys\n"
        "import nn\n"
        "from nn.plots import plot_history, plot_decision_boundary, plot_gradient_flow, plot_optimizer_paths\n"
        "from nn.draw_model import draw_architecture, neuron_heatmaps\n"
        "X, y = nn.make_moons(40, noise=0.1, seed=0)\n"
        "model = nn.MLP(2, [4, 4, 1], rng=0)\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'the test needs a kernel where pyplot was never imported'"
    )
    figures = [
        "plot_history({'loss': [3.0, 2.0, 1.0]})",
        "plot_decision_boundary(model, X, y)",
        "plot_gradient_flow({'layers.0': [1.0, 0.5], 'layers.1': [2.0, 1.0]})",
        "plot_optimizer_paths('ravine', steps=5)",
        "draw_architecture(model)",
        "neuron_heatmaps(model)",
    ]
    training = "h = nn.fit(model, X, y, steps=5, compiled=True)"
    outputs = _run_notebook([setup, *figures, training])
    for source, cell_outputs in zip(figures, outputs[1:1 + len(figures)]):
        mimes = _mimes(cell_outputs)
        assert mimes and all("image/png" in m for m in mimes), (source, cell_outputs)
        assert len(mimes) == 1, (source, "one picture, not two")
    training_outputs = outputs[-1]
    widget = [m for m in _mimes(training_outputs) if "application/vnd.jupyter.widget-view+json" in m]
    assert widget, training_outputs
    # The widget replaces the text bar: nothing is written to stderr, step by step or otherwise.
    assert not [o for o in training_outputs if o.get("output_type") == "stream" and o.get("name") == "stderr"]


def test_figures_still_show_once_after_matplotlib_inline():
    outputs = _run_notebook([
        "%matplotlib inline\nimport nn\nfrom nn.plots import plot_history",
        "plot_history({'loss': [3.0, 2.0, 1.0]})",
    ])
    mimes = _mimes(outputs[1])
    assert len(mimes) == 1 and "image/png" in mimes[0]


def _fit_with_stderr_redirected(steps: int) -> subprocess.CompletedProcess[str]:
    code = (
        "import nn\n"
        "X, y = nn.make_moons(40, noise=0.1, seed=0)\n"
        f"nn.fit(nn.MLP(2, [4, 1], rng=0), X, y, steps={steps}, compiled=True)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_progress_in_a_log_is_a_few_summary_lines_not_one_per_step():
    run = _fit_with_stderr_redirected(400)
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "fit: 100/400 steps (25%)", "fit: 200/400 steps (50%)", "fit: 300/400 steps (75%)",
        "fit: 400/400 steps (100%)"]
    assert all("loss=" in line and "acc=" in line for line in lines)
    assert "\r" not in run.stderr  # no bar redrawn in place


def test_summary_lines_mark_a_loop_that_stops_early(capsys):
    from nn.progress import SummaryLines, progress_bar, progress_kind

    assert progress_kind() == "log"  # pytest captures stderr: not a terminal
    bar = progress_bar(range(10), desc="fit")
    assert isinstance(bar, SummaryLines)
    for k in bar:
        bar.set_postfix(loss=f"{1 / (k + 1):.2f}")
        if k == 5:
            break
    bar.close()
    bar.close()
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(", ")[0] for line in lines] == ["fit: 2/10 steps (20%)", "fit: 5/10 steps (50%)",
                                                      "fit: 6/10 steps (60%) — stopped"]
    assert lines[-1].endswith("loss=0.17")


def test_disabled_progress_prints_nothing(capsys):
    from nn.progress import progress_bar

    bar = progress_bar(range(3), disable=True)
    assert list(bar) == [0, 1, 2]
    bar.set_postfix(loss="1")
    bar.close()
    assert capsys.readouterr() == ("", "")


def test_a_terminal_gets_a_bar_redrawn_in_place():
    from nn.progress import progress_bar, progress_kind

    class Terminal:
        def __init__(self):
            self.text = ""

        def isatty(self):
            return True

        def write(self, s):
            self.text += s

        def flush(self):
            pass

    tty = Terminal()
    assert progress_kind(tty) == "terminal"
    bar = progress_bar(range(3), desc="fit", file=tty)
    for _ in bar:
        bar.set_postfix(loss="0.5")
    bar.close()
    assert "\r" in tty.text and "3/3" in tty.text and "loss=0.5" in tty.text
