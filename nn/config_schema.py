"""Checking a model config before anything is built: each Module class owns its schema.

A class that can be saved declares ``config_schema`` — its config's keys, each with a check —
and ``config_cost(config)``, what ``build(config)`` would allocate. :func:`check_config` walks a
config through those schemas; :func:`config_cost` adds the costs up, so a loader can weigh a file
against its limits before building a single Value::

    class Neuron(Module):
        config_schema = {"nin": width, "activation": choice(ACTIVATIONS), "bias": flag, ...}

        @classmethod
        def config_cost(cls, config):
            return ConfigCost(parameters=config["nin"] + config["bias"])

Every check raises one ``ValueError`` naming the field (``config.layers[2].nout must be …``).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["ConfigCost", "ConfigCheck", "MODULE_TYPES", "MAX_WIDTH", "MAX_DEPTH", "check_config", "config_cost",
           "with_added_keys", "key_problem", "finite", "width", "widths", "flag", "choice", "positive", "momentum",
           "module_list"]

MAX_WIDTH = 1_000_000
"""Largest layer width, input count or ``num_features`` a config may declare."""
MAX_DEPTH = 64
"""Deepest nesting of ``Sequential`` configs (and most layers of an MLP) a config may declare."""

ConfigCheck = Callable[[Any, str, int], Any]
"""``check(value, where, depth)``: raises ``ValueError`` naming ``where`` if ``value`` is not allowed."""

MODULE_TYPES: dict[str, Any] = {}
"""Config ``"type"`` → the nn Module class with that schema (filled in as the classes are defined)."""


@dataclass(frozen=True)
class ConfigCost:
    """What building a config allocates: parameters (Values), buffer numbers and Module objects."""

    parameters: int = 0
    buffers: int = 0
    modules: int = 1

    def __add__(self, other: ConfigCost) -> ConfigCost:
        return ConfigCost(self.parameters + other.parameters, self.buffers + other.buffers,
                          self.modules + other.modules)


def key_problem(keys: set[str], expected: set[str]) -> str:
    """``"missing keys [...] and unexpected keys [...]"`` (at most 8 names each)."""
    parts = []
    for label, names in (("missing", expected - keys), ("unexpected", keys - expected)):
        if names:
            # The first 8 in sorted order, without sorting a hostile file's million keys.
            first = heapq.nsmallest(8, names)
            parts.append(f"{label} keys {repr(first)[:-1]}{', …]' if len(names) > 8 else ']'}")
    return " and ".join(parts)


# -- checks for one field ------------------------------------------------------------------


def finite(value: Any, where: str, depth: int = 0) -> float:
    """A JSON number as a finite float (not a bool, a string, a list or a huge int)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        shape = " (one number per key: a list means a wrong shape)" if isinstance(value, list) else ""
        raise ValueError(f"{where} must be a number, got {type(value).__name__}: {value!r:.60}{shape}")
    try:
        x = float(value)
    except OverflowError:
        raise ValueError(f"{where} = {value!r:.40} is too large for a float") from None
    if not math.isfinite(x):
        raise ValueError(f"{where} = {value!r} is not finite")
    return x


def width(value: Any, where: str, depth: int = 0) -> int:
    if type(value) is not int or not 1 <= value <= MAX_WIDTH:
        raise ValueError(f"{where} must be an int in [1, {MAX_WIDTH:,}], got {value!r:.60}")
    return value


def widths(value: Any, where: str, depth: int = 0) -> list[int]:
    """A list of 1 to MAX_DEPTH layer widths."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_DEPTH:
        raise ValueError(f"{where} must be a list of 1 to {MAX_DEPTH} layer sizes, got {value!r:.60}")
    return [width(n, f"{where}[{i}]") for i, n in enumerate(value)]


def flag(value: Any, where: str, depth: int = 0) -> bool:
    if type(value) is not bool:
        raise ValueError(f"{where} must be true or false, got {value!r:.60}")
    return value


def choice(options: tuple[str, ...]) -> ConfigCheck:
    """A check that the value is one of ``options``."""

    def check(value: Any, where: str, depth: int = 0) -> str:
        if not isinstance(value, str) or value not in options:
            raise ValueError(f"{where} must be one of {list(options)}, got {value!r:.60}")
        return value

    return check


def positive(value: Any, where: str, depth: int = 0) -> float:
    if not finite(value, where) > 0.0:
        raise ValueError(f"{where} must be a positive number, got {value!r}")
    return float(value)


def momentum(value: Any, where: str, depth: int = 0) -> float | None:
    """null (a cumulative average) or a number in [0, 1]."""
    if value is not None and not 0.0 <= finite(value, where) <= 1.0:
        raise ValueError(f"{where} must be null or a number in [0, 1], got {value!r}")
    return value


def module_list(value: Any, where: str, depth: int) -> None:
    """A list of module configs, each checked by its own class, nested at most MAX_DEPTH deep."""
    if not isinstance(value, list):
        raise ValueError(f"{where} must be a list of module configs, got {type(value).__name__}")
    if depth >= MAX_DEPTH:
        raise ValueError(f"{where.rsplit('.', 1)[0]} nests Sequential more than {MAX_DEPTH} deep")
    for i, layer in enumerate(value):
        check_config(layer, f"{where}[{i}]", depth + 1)


# -- whole configs -------------------------------------------------------------------------


def check_config(config: Any, where: str = "config", depth: int = 0) -> None:
    """Raise one ``ValueError`` naming the first field of ``config`` that its class's schema refuses."""
    if not isinstance(config, dict):
        raise ValueError(f"{where} must be an object, got {type(config).__name__}")
    kind = config.get("type")
    cls = MODULE_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"{where}.type: unknown module type {kind!r:.60}; expected one of {sorted(MODULE_TYPES)}")
    expected = {"type", *cls.config_schema}
    if set(config) != expected:
        raise ValueError(f"{where} ({kind}): {key_problem(set(config), expected)}")
    for key, check in cls.config_schema.items():
        check(config[key], f"{where}.{key}", depth)


def config_cost(config: dict[str, Any]) -> ConfigCost:
    """What ``build(config)`` would allocate, for a config :func:`check_config` accepted."""
    cost: ConfigCost = MODULE_TYPES[config["type"]].config_cost(config)
    return cost


def with_added_keys(config: Any, depth: int = 0) -> Any:
    """``config`` with each key its class added after files were first written filled in (as older files meant).

    Anything malformed is returned as it is, for :func:`check_config` to report.
    """
    if not isinstance(config, dict) or depth > MAX_DEPTH:
        return config
    kind = config.get("type")
    cls = MODULE_TYPES.get(kind) if isinstance(kind, str) else None
    out = {**cls.config_added_keys, **config} if cls is not None else dict(config)
    if isinstance(out.get("layers"), list) and cls is not None and "layers" in cls.config_schema:
        out["layers"] = [with_added_keys(layer, depth + 1) for layer in out["layers"]]
    return out
