"""What the page may ask for: every setting with its type and bounds, checked in Python.

The front end is not trusted: a message from the page is a JSON object that is read field by
field against this table (known names only, numbers within bounds, short lists), and anything
else is answered with an error that names the field, the value and what was expected.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
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
    c = dict(changes)
    out: dict[str, Any] = {}
    if "problem" in c:
        out["problem"] = _choice("problem", c["problem"], tuple(DATASETS))
    problem = out.get("problem", base.problem)
    if "dataset" in c:
        out["dataset"] = _choice("dataset", c["dataset"], DATASETS[problem])
    elif base.dataset not in DATASETS[problem]:
        out["dataset"] = DATASETS[problem][0]
    if "loss" in c:
        out["loss"] = _choice("loss", c["loss"], LOSSES[problem])
    elif base.loss not in LOSSES[problem]:
        out["loss"] = LOSSES[problem][0]
    if "noise" in c:
        out["noise"] = _number("noise", c["noise"], 0.0, 0.5)
    if "samples" in c:
        out["samples"] = _number("samples", c["samples"], 20, MAX_SAMPLES, integer=True)
    if "train_ratio" in c:
        out["train_ratio"] = _number("train_ratio", c["train_ratio"], 0.1, 0.9)
    if "features" in c:
        feats = c["features"]
        if not isinstance(feats, list) or not feats or len(feats) > len(FEATURES):
            raise SettingsError(f"features must be a non-empty list of names from {list(FEATURES)}, got {feats!r}")
        chosen = {_choice("a feature", f, tuple(FEATURES)) for f in feats}
        out["features"] = tuple(f for f in FEATURES if f in chosen)
    if "hidden" in c:
        hidden = c["hidden"]
        if not isinstance(hidden, list) or len(hidden) > MAX_LAYERS:
            raise SettingsError(f"hidden must be a list of at most {MAX_LAYERS} layer sizes, got {hidden!r}")
        out["hidden"] = tuple(_number("a hidden layer size", n, 1, MAX_NEURONS, integer=True) for n in hidden)
    for name, options in (("activation", ACTIVATIONS), ("init", INITS), ("optimizer", OPTIMIZERS),
                          ("regularization", REGULARIZATIONS), ("edge_mode", ("weights", "gradients"))):
        if name in c:
            out[name] = _choice(name, c[name], options)
    if "lr" in c:
        out["lr"] = _number("lr", c["lr"], 1e-6, 10.0)
    if "reg_rate" in c:
        out["reg_rate"] = _number("reg_rate", c["reg_rate"], 0.0, 10.0)
    if "batch_size" in c:
        out["batch_size"] = _number("batch_size", c["batch_size"], 1, MAX_SAMPLES, integer=True)
    if "seed" in c:
        out["seed"] = _number("seed", c["seed"], 0, 2**31 - 1, integer=True)
    for name in ("batch_norm", "show_test", "discretize"):
        if name in c:
            out[name] = _flag(name, c[name])
    new = replace(base, **out)
    if new.batch_norm and not new.hidden:
        new = replace(new, batch_norm=False)
    return new
