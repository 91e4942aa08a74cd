"""Settings and fixtures for the whole suite; shared helpers live in tests/helpers.py."""

from __future__ import annotations

from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

from autograd_core.modes import STATE

settings.register_profile(
    "autograd",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.load_profile("autograd")


@pytest.fixture(autouse=True)
def _fresh_modes():
    """Every test starts recording, with anomaly detection off, whatever a failed test left."""
    STATE.grad_enabled = True
    STATE.anomaly = False
    STATE.refresh()
    yield
    STATE.grad_enabled = True
    STATE.anomaly = False
    STATE.refresh()


@pytest.fixture(scope="session")
def torch() -> ModuleType:
    """PyTorch, the oracle of the cross-checks; a test that takes it skips where torch is absent."""
    return pytest.importorskip("torch", reason="PyTorch cross-checks need torch (pip install torch)")
