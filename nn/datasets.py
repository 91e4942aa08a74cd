"""Toy 2-D classification sets: moons, circles, XOR, spirals, two Gaussians.

Each returns ``X`` (n, 2) float64 and ``y`` (n,) int labels in {0, 1} (scikit-learn's
convention; ``to_pm1`` gives the ±1 targets of the hinge loss). ``seed`` may be an int, a
``numpy.random.RandomState``/``Generator``, or None for numpy's global generator — so
``np.random.seed(1337); make_moons(100, noise=0.1)`` gives exactly the data of micrograd's
demo, which calls scikit-learn after the same seeding.

``make_moons`` and ``make_circles`` follow scikit-learn's construction draw for draw (no
scikit-learn needed); ``make_xor``, ``make_spiral`` and ``make_gaussians`` follow the
TensorFlow Playground's generators, scaled by 1/5 so every set lives in about [−1, 1]².
"""

from __future__ import annotations

import math
from typing import Any, Union

import numpy as np

__all__ = ["make_moons", "make_circles", "make_xor", "make_spiral", "make_gaussians", "to_pm1"]

SeedLike = Union[int, np.random.RandomState, np.random.Generator, None]

_PLAYGROUND_SCALE = 5.0


def _generator(seed: SeedLike) -> Any:
    if seed is None:
        return np.random.mtrand._rand
    if isinstance(seed, (np.random.RandomState, np.random.Generator)):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.RandomState(int(seed))
    raise TypeError(f"seed must be None, an int, a numpy RandomState or Generator, got {type(seed).__name__}")


def _check(n_samples: Any, noise: Any) -> tuple[int, float]:
    if not isinstance(n_samples, (int, np.integer)) or isinstance(n_samples, bool) or n_samples < 2:
        raise ValueError(f"n_samples must be an int ≥ 2, got {n_samples!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.floating)) or not noise >= 0:
        raise ValueError(f"noise must be a number ≥ 0, got {noise!r}")
    return int(n_samples), float(noise)


def _shuffle(X: np.ndarray, y: np.ndarray, gen: Any) -> tuple[np.ndarray, np.ndarray]:
    # scikit-learn's utils.shuffle: permute an index array in place with the same generator.
    idx = np.arange(len(y))
    gen.shuffle(idx)
    return X[idx], y[idx]


def make_moons(n_samples: int = 100, *, noise: float = 0.0, seed: SeedLike = None,
               shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (scikit-learn's ``make_moons``): class 0 on top, 1 below."""
    n, noise = _check(n_samples, noise)
    gen = _generator(seed)
    n_out = n // 2
    n_in = n - n_out
    outer_x = np.cos(np.linspace(0, np.pi, n_out))
    outer_y = np.sin(np.linspace(0, np.pi, n_out))
    inner_x = 1 - np.cos(np.linspace(0, np.pi, n_in))
    inner_y = 1 - np.sin(np.linspace(0, np.pi, n_in)) - 0.5
    X = np.vstack([np.append(outer_x, inner_x), np.append(outer_y, inner_y)]).T
    return _first_then_second_class(X, n_out, n_in, gen, shuffle=shuffle, noise=noise)


def make_circles(n_samples: int = 100, *, noise: float = 0.0, factor: float = 0.8, seed: SeedLike = None,
                 shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A small circle (class 1, radius ``factor``) inside a unit circle (class 0), as scikit-learn."""
    n, noise = _check(n_samples, noise)
    if not 0 <= factor < 1:
        raise ValueError(f"factor must be in [0, 1), got {factor!r}")
    gen = _generator(seed)
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.vstack([np.append(np.cos(t_out), np.cos(t_in) * factor),
                   np.append(np.sin(t_out), np.sin(t_in) * factor)]).T
    return _first_then_second_class(X, n_out, n_in, gen, shuffle=shuffle, noise=noise)


def _first_then_second_class(X: np.ndarray, n_out: int, n_in: int, gen: Any, *, shuffle: bool,
                             noise: float) -> tuple[np.ndarray, np.ndarray]:
    # scikit-learn's order of random draws (shuffle, then noise), so seeded data match its own.
    y = np.hstack([np.zeros(n_out, dtype=np.int64), np.ones(n_in, dtype=np.int64)])
    if shuffle:
        X, y = _shuffle(X, y, gen)
    if noise > 0:
        X = X + gen.normal(scale=noise, size=X.shape)
    return X.astype(np.float64), y


def _uniform(gen: Any, low: float, high: float, size: int | tuple[int, ...]) -> np.ndarray:
    return gen.uniform(low, high, size)


def make_xor(n_samples: int = 100, *, noise: float = 0.0, seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Four quadrants, label 1 where x₁·x₂ ≥ 0 (TensorFlow Playground's XOR).

    Points are pushed 0.3 away from the axes; ``noise`` (0–0.5 in the Playground) jitters
    the point used for labelling, so noisy labels appear near the axes.
    """
    n, noise = _check(n_samples, noise)
    gen = _generator(seed)
    pad = 0.3
    x1 = _uniform(gen, -5, 5, n)
    x1 = x1 + np.where(x1 > 0, pad, -pad)
    x2 = _uniform(gen, -5, 5, n)
    x2 = x2 + np.where(x2 > 0, pad, -pad)
    jitter = _uniform(gen, -5, 5, (n, 2)) * noise
    y = ((x1 + jitter[:, 0]) * (x2 + jitter[:, 1]) >= 0).astype(np.int64)
    return np.column_stack([x1, x2]) / _PLAYGROUND_SCALE, y


def make_spiral(n_samples: int = 100, *, noise: float = 0.0, seed: SeedLike = None,
                shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals, 1.75 turns each (TensorFlow Playground's spiral): class 1, then 0 rotated by π."""
    n, noise = _check(n_samples, noise)
    gen = _generator(seed)
    parts, labels = [], []
    for delta, label, count in ((0.0, 1, n - n // 2), (math.pi, 0, n // 2)):
        i = np.arange(count)
        r = i / count * 5
        t = 1.75 * i / count * 2 * math.pi + delta
        x1 = r * np.sin(t) + _uniform(gen, -1, 1, count) * noise
        x2 = r * np.cos(t) + _uniform(gen, -1, 1, count) * noise
        parts.append(np.column_stack([x1, x2]))
        labels.append(np.full(count, label, dtype=np.int64))
    X, y = np.vstack(parts) / _PLAYGROUND_SCALE, np.concatenate(labels)
    if shuffle:
        X, y = _shuffle(X, y, gen)
    return X, y


def make_gaussians(n_samples: int = 100, *, noise: float = 0.0, seed: SeedLike = None,
                   shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs at (2, 2) (class 1) and (−2, −2) (class 0) (TensorFlow Playground).

    The variance grows from 0.5 at ``noise=0`` to 4 at ``noise=0.5``, as the Playground's slider.
    """
    n, noise = _check(n_samples, noise)
    gen = _generator(seed)
    std = math.sqrt(0.5 + (4.0 - 0.5) * noise / 0.5)
    parts, labels = [], []
    for centre, label, count in ((2.0, 1, n - n // 2), (-2.0, 0, n // 2)):
        parts.append(gen.normal(centre, std, (count, 2)))
        labels.append(np.full(count, label, dtype=np.int64))
    X, y = np.vstack(parts) / _PLAYGROUND_SCALE, np.concatenate(labels)
    if shuffle:
        X, y = _shuffle(X, y, gen)
    return X, y


def to_pm1(y: Any) -> np.ndarray:
    """Labels {0, 1} → targets {−1, +1} (2y − 1), as the hinge loss wants."""
    arr = np.asarray(y)
    if arr.size and not np.isin(arr, (0, 1)).all():
        bad = arr[~np.isin(arr, (0, 1))].ravel()[0].item()
        raise ValueError(f"to_pm1 expects labels in {{0, 1}}, got {bad!r}")
    return (2 * arr - 1).astype(np.int64)
