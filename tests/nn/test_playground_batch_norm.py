"""The Playground trains batch-norm networks on the compiled path, with eager training's numbers."""

import math

import pytest

from nn.playground.session import EAGER_LOSSES, Session, apply_penalty

SETUPS = [
    {"batch_norm": True, "hidden": [3, 3], "activation": "relu", "optimizer": "momentum", "lr": 0.1},
    {"batch_norm": True, "hidden": [4], "loss": "hinge", "optimizer": "adam", "regularization": "l2",
     "reg_rate": 0.01},
]


def _eager_step(session):
    """One step as the eager engine takes it: one graph over the batch, backward()."""
    s, model = session.settings, session.model
    idx = session.next_batch()
    model.zero_grad()
    EAGER_LOSSES[s.loss](model(session.F_train[idx]), session.T_train[idx]).backward()
    apply_penalty(s, model)
    session.optimizer.step()


@pytest.mark.parametrize("changes", SETUPS)
def test_batch_norm_steps_equal_eager_steps(changes):
    compiled, eager = Session(changes), Session(changes)
    for _ in range(5):
        compiled.train_step()
        _eager_step(eager)
    a, b = compiled.model.state_dict(), eager.model.state_dict()
    assert a.keys() == b.keys() and any("running_mean" in k for k in a)
    # A bias just before batch norm has a true gradient of 0 (the mean subtracts it): both paths
    # see round-off there, which the optimizers amplify to ~1e-9, hence the absolute tolerance.
    for k in a:
        assert math.isclose(float(a[k]), float(b[k]), rel_tol=1e-10, abs_tol=1e-7), k


def test_batch_norm_training_lowers_the_loss():
    session = Session(SETUPS[0])
    first = session.metrics()["train_loss"]
    session.train_epochs(10)
    assert session.metrics()["train_loss"] < first
