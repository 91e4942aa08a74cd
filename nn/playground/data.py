"""The Playground's data: points in the plane, their labels or targets, and the network's input features.

Classification sets come from :mod:`nn.datasets` (TensorFlow Playground's five); the two
regression sets are made here: a plane y = (x₁ + x₂)/2 and a sum of Gaussian bumps.
"""

from __future__ import annotations

import numpy as np

import nn

from .settings import Settings

__all__ = ["make_data", "feature_matrix", "targets", "data_loss"]


def make_data(s: Settings) -> tuple[np.ndarray, np.ndarray]:
    """The ``(X, y)`` of a setup: n points in the plane and their labels (0/1) or targets."""
    if s.problem == "classification":
        make = {"circles": nn.datasets.make_circles, "xor": nn.datasets.make_xor,
                "gaussians": nn.datasets.make_gaussians, "spiral": nn.datasets.make_spiral,
                "moons": nn.datasets.make_moons}[s.dataset]
        X, y = make(s.samples, noise=s.noise, seed=s.seed)
        return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    gen = np.random.default_rng(s.seed)
    X = gen.uniform(-1.0, 1.0, (s.samples, 2))
    if s.dataset == "plane":
        y = (X[:, 0] + X[:, 1]) / 2
    else:
        centres = np.array([[-0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [0.5, -0.5], [0.0, 0.0]])
        signs = np.array([1.0, 1.0, -1.0, -1.0, 0.5])
        d2 = ((X[:, None, :] - centres[None]) ** 2).sum(axis=2)
        y = (signs * np.exp(-d2 / (2 * 0.25**2))).sum(axis=1)
    return X, y + gen.normal(0.0, s.noise, s.samples)


def feature_matrix(X: np.ndarray, features: tuple[str, ...]) -> np.ndarray:
    """The network's inputs: one column per chosen feature of the points (x₁, x₂)."""
    x1, x2 = X[:, 0], X[:, 1]
    columns = {"x1": x1, "x2": x2, "x1sq": x1 * x1, "x2sq": x2 * x2, "x1x2": x1 * x2,
               "sinx1": np.sin(x1), "sinx2": np.sin(x2)}
    return np.column_stack([columns[f] for f in features])


def targets(s: Settings, y: np.ndarray) -> np.ndarray:
    """What the loss compares s with: y ∈ {0, 1} for bce, ±1 for hinge and mse, y itself in regression."""
    if s.problem == "classification" and s.loss != "bce":
        return 2 * y - 1
    return y


def data_loss(loss: str, s: np.ndarray, t: np.ndarray) -> float:
    """Mean ℓ over the points: bce = softplus(s) − t·s, hinge = max(0, 1 − t·s), mse = (s − t)².

    A diverged network gives inf or nan, as PyTorch would; the page shows those as "–".
    """
    with np.errstate(all="ignore"):
        if loss == "bce":
            return float(np.mean(np.logaddexp(0.0, s) - t * s))
        if loss == "hinge":
            return float(np.mean(np.maximum(0.0, 1.0 - t * s)))
        return float(np.mean((s - t) ** 2))
