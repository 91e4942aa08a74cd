"""Every ``backprop …`` command a notebook suggests runs, and shows what the notebook says it shows.

A command is any inline code span starting with ``backprop`` in a markdown cell. Each has an
entry in ``CLAIMS`` (the outcome its notebook promises); a new suggestion without one fails
:func:`test_every_suggested_command_has_a_claim`, so no suggestion goes untested.
"""

from __future__ import annotations

import json
import re
import shlex

import pytest

from nn.app.cli import main
from tests.helpers import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# command → (notebook, what the text promises as (low, high) bounds on the final training accuracy)
CLAIMS: dict[str, tuple[str, tuple[float, float]]] = {
    # 04: "the same run from a terminal" as the notebook's spiral, which it fits
    "backprop train --dataset spiral --optimizer adam --lr 0.02 --steps 600": ("04", (0.95, 1.0)),
    # 05: momentum and Adam reach 100 %, as plain SGD with micrograd's η = 1 does
    "backprop train --optimizer momentum": ("05", (1.0, 1.0)),
    "backprop train --optimizer adam": ("05", (1.0, 1.0)),
    "backprop train": ("05", (1.0, 1.0)),
    # 06: six sigmoid layers stay at chance, six ReLU layers learn, with the same η
    "backprop train --layers 8,8,8,8,8,8 --activation sigmoid --lr 0.1": ("06", (0.4, 0.6)),
    "backprop train --layers 8,8,8,8,8,8 --activation relu --lr 0.1": ("06", (1.0, 1.0)),
}


def suggested_commands() -> dict[str, set[str]]:
    """command → the notebooks (by number) whose markdown suggests it."""
    found: dict[str, set[str]] = {}
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            text = "".join(cell["source"])
            # A code span may wrap onto the next line of the markdown source.
            for span in re.findall(r"`([^`]+)`", text):
                command = " ".join(span.split())
                if command == "backprop" or command.startswith("backprop "):
                    found.setdefault(command, set()).add(path.name[:2])
    return found


def test_every_suggested_command_has_a_claim():
    found = suggested_commands()
    assert found, "no notebook suggests a backprop command: is the search broken?"
    missing = sorted(set(found) - set(CLAIMS))
    assert not missing, f"notebook commands without a checked outcome: {missing}"
    for command, (notebook, _) in CLAIMS.items():
        assert command in found, f"{command!r} is no longer suggested by any notebook; drop it from CLAIMS"
        assert notebook in found[command]


@pytest.mark.parametrize("command", sorted(CLAIMS))
def test_suggested_command_shows_what_the_notebook_claims(command, tmp_path, capsys):
    _, (low, high) = CLAIMS[command]
    argv = shlex.split(command)[1:]
    assert argv[0] == "train"
    code = main([*argv, "--quiet", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    accuracy = float(re.search(r"accuracy ([\d.]+)%", out).group(1)) / 100
    assert low <= accuracy <= high, (command, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decision_boundary.png", "loss_curve.png", "model.json"]
