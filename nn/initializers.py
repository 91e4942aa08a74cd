"""Weight initialisation for neurons and layers (activations a = σ(z) live in ``nn.activations``).

Initialisation schemes draw one number per weight, in order, from a ``random.Random`` (or the
global :mod:`random` module, which is what micrograd uses):

* ``"micrograd"`` — U(−1, 1), micrograd's default, so a seeded MLP has micrograd's weights;
* ``"xavier"`` — Glorot uniform U(−a, a), a = √(6 / (fan_in + fan_out)): keeps the variance
  of z = w·x + b about the same forward and backward through tanh/sigmoid layers;
* ``"he"`` — Kaiming uniform U(−a, a), a = √(6 / fan_in): the ReLU version (half of the
  units are off, so the variance is doubled), which keeps gradients from vanishing;
* ``"xavier_normal"`` / ``"he_normal"`` — the Gaussian versions, std √(2 / (fan_in + fan_out))
  and √(2 / fan_in).
"""

from __future__ import annotations

import math
import random
from typing import Any, Union

from .activations import ACTIVATIONS, activation_function, check_activation

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "RandomLike",
    "activation_function",
    "check_activation",
    "check_init",
    "draw_weights",
    "resolve_rng",
]

RandomLike = Union[int, random.Random, None]

INITS: tuple[str, ...] = ("micrograd", "xavier", "he", "xavier_normal", "he_normal")


def check_init(name: Any) -> str:
    """``name`` if it is a known initialisation scheme, else ``ValueError`` listing them."""
    if name not in INITS:
        raise ValueError(f"unknown init {name!r}; expected one of {list(INITS)}")
    return name


def resolve_rng(rng: RandomLike) -> Any:
    """The random source for weights: the global :mod:`random` module when ``rng`` is None,
    ``random.Random(rng)`` for an int seed, or ``rng`` itself when it is a ``random.Random``."""
    if rng is None:
        return random
    if isinstance(rng, random.Random):
        return rng
    if isinstance(rng, int) and not isinstance(rng, bool):
        return random.Random(rng)
    raise TypeError(f"rng must be None, an int seed or a random.Random, got {type(rng).__name__}")


def draw_weights(fan_in: int, fan_out: int, init: str, rng: Any) -> list[float]:
    """``fan_in`` weights for one neuron of a layer with ``fan_out`` neurons, drawn in order."""
    check_init(init)
    if init == "micrograd":
        return [rng.uniform(-1, 1) for _ in range(fan_in)]
    if init == "xavier":
        a = math.sqrt(6.0 / (fan_in + fan_out))
        return [rng.uniform(-a, a) for _ in range(fan_in)]
    if init == "he":
        a = math.sqrt(6.0 / fan_in)
        return [rng.uniform(-a, a) for _ in range(fan_in)]
    std = math.sqrt(2.0 / (fan_in + fan_out)) if init == "xavier_normal" else math.sqrt(2.0 / fan_in)
    return [rng.gauss(0.0, std) for _ in range(fan_in)]
