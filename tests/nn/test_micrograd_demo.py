"""micrograd's demo, reproduced: MLP(2, [16, 16, 1]) on 100 moons reaches ≥ 99 % training accuracy.

The setup of micrograd's ``demo.ipynb``: ``np.random.seed(1337); random.seed(1337)``, 100 moons
with noise 0.1, labels mapped to ±1, hinge loss + 1e-4·Σw², SGD with η = 1.0 − 0.9·k/100,
100 full-batch steps. This one test takes about a minute (eager, one graph per sample).
"""

from __future__ import annotations

import random

import numpy as np

import nn


def test_micrograd_demo_reaches_at_least_99_percent_training_accuracy():
    np.random.seed(1337)
    random.seed(1337)
    X, y = nn.make_moons(n_samples=100, noise=0.1)
    model = nn.MLP(2, [16, 16, 1])
    assert len(model.parameters()) == 337

    history = nn.fit(model, X, y, loss="hinge", alpha=1e-4, steps=100, progress=False)

    assert history.lr[0] == 1.0 and history.lr[-1] == 1.0 - 0.9 * 99 / 100
    assert history.accuracy[0] == 0.5
    assert history.loss[0] > 0.89
    final = nn.accuracy(model, X, y)
    assert final >= 0.99
    assert history.accuracy[-1] >= 0.99
    assert history.loss[-1] < 0.05
