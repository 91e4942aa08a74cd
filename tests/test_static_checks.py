"""The type checker and the linter, run as part of the tests (configured in pyproject.toml).

* ``mypy --strict autograd_core``: the engine's public API is fully typed (it ships ``py.typed``).
* ``mypy nn``: the network library type-checks against the engine's annotations.
* ``ruff check .``: the lint rules, including mccabe's complexity (C90, at most 12 per function).

Each runs in a subprocess with this interpreter (``python -m mypy``, ``python -m ruff``) from the
repository root; a failure shows the tool's full report. mypy keeps a cache per run under
``.mypy_cache/`` (the first run in a fresh checkout takes about half a minute, later ones a second).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest


def _repository_root() -> Path:
    for folder in Path(__file__).resolve().parents:
        if (folder / "pyproject.toml").is_file():
            return folder
    raise RuntimeError(f"no pyproject.toml above {__file__}")


ROOT = _repository_root()


def _run(tool: str, *args: str) -> None:
    if importlib.util.find_spec(tool) is None:
        pytest.skip(f"{tool} is not installed in this interpreter ({sys.executable}); "
                    "pip install backprop-lab[dev] to run the static checks")
    command = [sys.executable, "-m", tool, *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    report = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        pytest.fail(f"`{' '.join(command[1:])}` exited with {done.returncode}:\n{report}", pytrace=False)


def test_engine_passes_mypy_strict() -> None:
    # A cache of its own: strict and plain runs would otherwise invalidate each other's entries.
    _run("mypy", "--strict", "--cache-dir", ".mypy_cache/strict", "autograd_core")


def test_nn_passes_mypy() -> None:
    _run("mypy", "--cache-dir", ".mypy_cache/plain", "nn")


def test_ruff_passes_with_the_complexity_rule() -> None:
    _run("ruff", "check", "--no-cache", ".")


def test_ruff_configuration_limits_complexity_to_12() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]["lint"]
    assert "C90" in lint["select"]
    assert lint["mccabe"]["max-complexity"] == 12
