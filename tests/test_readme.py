"""The README's Python examples run as written, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_python_examples():
    assert len(python_blocks()) >= 3


def test_readme_examples_run_and_print_what_they_claim(tmp_path, monkeypatch, capsys):
    pytest.importorskip("graphviz")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    first, *rest = python_blocks()
    exec(compile(first, str(README), "exec"), namespace)
    a, w1, x1 = namespace["a"], namespace["w1"], namespace["x1"]
    assert a.data == pytest.approx(0.7071067811865476)
    assert w1.grad == pytest.approx(1.0) and x1.grad == pytest.approx(-1.5)
    for block in rest:
        exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert (tmp_path / "neuron.png").exists()
    assert "∂C/∂" in out
    # Stepping after the first block's a.backward() still shows the true ∂a/∂x1, not a doubled one.
    assert "∂C/∂x1 = -1.5 (a leaf" in out and "∂C/∂x1 = -3" not in out
    assert namespace["history"].accuracy[-1] == 1.0
