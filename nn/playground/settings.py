"""What the page may ask for: every setting with its type and bounds, checked in Python.

The front end is not trusted: a message from the page is a JSON object that is read field by
field against this table (known names only, numbers within bounds, short lists), and anything
else is answered with an error that names the field, the value and what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from functools import partial
from typing import Any

__all__ = [
    "Settings",
    "SettingsError",
    "DATASETS",
    "FEATURES",
    "ACTIVATIONS",
    "OPTIMIZERS",
    "LOSSES",
    "INITS",
    "MAX_LAYERS",
    "MAX_NEURONS",
    "validate",
]

DATASETS = {
    "classification": ("circles", "xor", "gaussians", "spiral", "moons"),
    "regression": ("plane", "multigauss"),
}
# name: (label shown on the page, how it is computed from the columns x1, x2)
FEATURES = {
    "x1": ("x₁", "x1"),
    "x2": ("x₂", "x2"),
    "x1sq": ("x₁²", "x1**2"),
    "x2sq": ("x₂²", "x2**2"),
    "x1x2": ("x₁x₂", "x1*x2"),
    "sinx1": ("sin x₁", "sin(x1)"),
    "sinx2": ("sin x₂", "sin(x2)"),
}
ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky_relu", "linear")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop")
LOSSES = {"classification": ("bce", "hinge", "mse"), "regression": ("mse",)}
INITS = ("xavier", "he", "micrograd")
REGULARIZATIONS = ("none", "l1", "l2")
MAX_LAYERS = 6
MAX_NEURONS = 8
MAX_SAMPLES = 1000


class SettingsError(ValueError):
    """A setting from the page is unknown, of the wrong type or out of bounds."""


@dataclass(frozen=True)
class Settings:
    """One Playground setup. Everything that shapes a run is here, so a run is reproducible.

    The network is an MLP on the chosen ``features`` with ``hidden`` layers of neurons
    a = σ(z), z = w·x + b (σ = ``activation``), and one linear output s. Classification reads
    s as a logit (``bce``) or a margin score (``hinge``, ``mse`` on ±1 targets); regression
    fits s to the target by mean squared error. Each step takes a batch of ``batch_size``
    training points and updates the weights with ``optimizer`` at learning rate ``lr`` on
    C = data loss + λ·R(w), R = Σ|w| (``l1``) or Σw² (``l2``) over the weights (not biases).
    """

    problem: str = "classification"
    dataset: str = "moons"
    noise: float = 0.1
    samples: int = 200
    train_ratio: float = 0.5
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (8, 8)
    activation: str = "tanh"
    init: str = "xavier"
    batch_norm: bool = False
    loss: str = "bce"
    optimizer: str = "adam"
    lr: float = 0.03
    regularization: str = "none"
    reg_rate: float = 0.0
    batch_size: int = 10
    seed: int = 0
    show_test: bool = False
    discretize: bool = False
    edge_mode: str = "weights"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["features"] = list(self.features)
        d["hidden"] = list(self.hidden)
        return d

    @property
    def architecture(self) -> tuple[Any, ...]:
        """What a new network (new weights) is needed for when it changes."""
        return (self.problem, self.dataset, self.noise, self.samples, self.train_ratio, self.features, self.hidden,
                self.activation, self.init, self.batch_norm, self.loss, self.optimizer, self.seed)


def _number(name: str, value: Any, lo: float, hi: float, *, integer: bool = False) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if integer and value != int(value):
        raise SettingsError(f"{name} must be a whole number, got {value!r}")
    if not (math.isfinite(value) and lo <= value <= hi):
        raise SettingsError(f"{name} must be between {lo:g} and {hi:g}, got {value!r}")
    return int(value) if integer else float(value)


def _choice(name: str, value: Any, options: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in options:
        raise SettingsError(f"{name} must be one of {list(options)}, got {value!r}")
    return value


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SettingsError(f"{name} must be true or false, got {value!r}")
    return value


def _features(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or len(value) > len(FEATURES):
        raise SettingsError(f"features must be a non-empty list of names from {list(FEATURES)}, got {value!r}")
    chosen = {_choice("a feature", f, tuple(FEATURES)) for f in value}
    return tuple(f for f in FEATURES if f in chosen)


def _hidden(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) > MAX_LAYERS:
        raise SettingsError(f"hidden must be a list of at most {MAX_LAYERS} layer sizes, got {value!r}")
    return tuple(_number("a hidden layer size", n, 1, MAX_NEURONS, integer=True) for n in value)


# Each setting that does not depend on another: name → its check (value from the page → value).
_CHECKS: dict[str, Callable[[Any], Any]] = {
    "noise": partial(_number, "noise", lo=0.0, hi=0.5),
    "samples": partial(_number, "samples", lo=20, hi=MAX_SAMPLES, integer=True),
    "train_ratio": partial(_number, "train_ratio", lo=0.1, hi=0.9),
    "features": _features,
    "hidden": _hidden,
    "activation": partial(_choice, "activation", options=ACTIVATIONS),
    "init": partial(_choice, "init", options=INITS),
    "optimizer": partial(_choice, "optimizer", options=OPTIMIZERS),
    "regularization": partial(_choice, "regularization", options=REGULARIZATIONS),
    "edge_mode": partial(_choice, "edge_mode", options=("weights", "gradients")),
    "lr": partial(_number, "lr", lo=1e-6, hi=10.0),
    "reg_rate": partial(_number, "reg_rate", lo=0.0, hi=10.0),
    "batch_size": partial(_number, "batch_size", lo=1, hi=MAX_SAMPLES, integer=True),
    "seed": partial(_number, "seed", lo=0, hi=2**31 - 1, integer=True),
    "batch_norm": partial(_flag, "batch_norm"),
    "show_test": partial(_flag, "show_test"),
    "discretize": partial(_flag, "discretize"),
}


def _problem_fields(c: dict[str, Any], base: Settings) -> dict[str, Any]:
    """``problem``, and the ``dataset`` and ``loss`` that must belong to it (kept if they do, else its first)."""
    out: dict[str, Any] = {}
    if "problem" in c:
        out["problem"] = _choice("problem", c["problem"], tuple(DATASETS))
    problem = out.get("problem", base.problem)
    for name, options in (("dataset", DATASETS[problem]), ("loss", LOSSES[problem])):
        if name in c:
            out[name] = _choice(name, c[name], options)
        elif getattr(base, name) not in options:
            out[name] = options[0]
    return out


def validate(changes: Any, base: Settings | None = None) -> Settings:
    """``base`` (default: the defaults) with ``changes`` applied, every field checked.

    Raises :class:`SettingsError` for an unknown name, a wrong type, a value out of bounds,
    or a combination that does not fit (a regression data set with a classification loss).
    """
    base = base or Settings()
    if not isinstance(changes, dict):
        raise SettingsError(f"settings must be an object of name: value, got {type(changes).__name__}")
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise SettingsError(f"unknown setting {unknown[0]!r}; known settings are {sorted(known)}")
    out = _problem_fields(changes, base)
    out.update({name: check(changes[name]) for name, check in _CHECKS.items() if name in changes})
    new = replace(base, **out)
    if new.batch_norm and not new.hidden:
        new = replace(new, batch_norm=False)
    return new
