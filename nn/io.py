"""Saving and loading models (and their optimizer) as JSON: safe, strict and bit-exact.

A file holds the architecture (``model.config()``), so :func:`load` rebuilds the model without
the code that made it, and every parameter and buffer by its dotted name::

    {"format": "backprop-lab model", "format_version": 1,
     "config": {"type": "MLP", "nin": 2, "nouts": [16, 16, 1], ...},
     "state": {"layers.0.neurons.0.w.0": 0.23550571390294128, ...},
     "optimizer": null | {"type": "Adam", "param_groups": [...], "state": {...}}}

* **Bit-exact**: floats are written with ``repr`` (the shortest text that reads back as the
  same double), so ``load(save(m))`` has exactly m's weights.
* **Atomic**: the text goes to a temporary file in the same directory, is flushed to disk,
  then renamed over the target (``os.replace``); an interrupted save leaves the previous file.
* **Strict**: malformed JSON, an unknown format or version, missing or extra keys, a wrong
  shape, NaN or ±inf, a non-number, a bool where a number belongs, an absurd size → one
  ``ValueError`` naming the problem. Nothing is loaded into anything until every check has
  passed (a fresh model is built and returned), and no code is ever run: JSON only, never
  pickle. NaN and ±inf are allowed nowhere in a file.
* **Older files**: a config key added after format_version 1 was fixed (BatchNorm1d's
  ``track_running_stats``) may be absent; it then reads as the value the older code always used.
"""

from __future__ import annotations

import inspect
import itertools
import json
import math
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from autograd_core import Value

from .activations import ACTIVATIONS
from .init import INITS
from .layers import build
from .module import Module
from .optim import SGD, Adam, AdamW, Optimizer, RMSprop

__all__ = ["save", "load", "load_optimizer", "FORMAT", "FORMAT_VERSION", "MAX_PARAMETERS", "MAX_WIDTH"]

FORMAT = "backprop-lab model"
FORMAT_VERSION = 1
MAX_WIDTH = 1_000_000
"""Largest layer width or input count a file may declare."""
MAX_PARAMETERS = 10_000_000
"""Largest parameter count a file may declare (a scalar engine needs ~200 bytes per Value)."""
MAX_DEPTH = 64
"""Deepest nesting of ``Sequential`` configs a file may declare."""
MAX_FILE_BYTES = 1 << 30

_TOP_KEYS = {"format", "format_version", "config", "state", "optimizer"}
# Concrete classes only: each is built from its param groups alone (the base class also needs defaults).
_OPTIMIZERS: dict[str, type[SGD | Adam | RMSprop]] = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW, "RMSprop": RMSprop}
_BOOL_HYPER = {"nesterov", "amsgrad", "maximize", "centered"}


# -- saving ----------------------------------------------------------------------------


def save(model: Module, path: str | os.PathLike[str], optimizer: Optimizer | None = None) -> None:
    """Write ``model`` (architecture and weights) and optionally its ``optimizer`` to ``path``.

    Raises ``ValueError`` if a weight or optimizer number is NaN or ±inf (such a file could not
    be loaded) or if the optimizer holds Values that are not the model's parameters, and
    ``TypeError`` if ``model`` is not a Module. The previous file at ``path`` survives any
    failure.
    """
    if not isinstance(model, Module):
        raise TypeError(f"save() needs an nn.Module, got {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be an nn.optim.Optimizer or None, got {type(optimizer).__name__}")
    state: dict[str, float | int] = {}
    for name, value in model.state_dict().items():
        _check_finite(value, f"model state {name!r}")
        state[name] = int(value) if name.endswith("num_batches_tracked") else float(value)
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": model.config(),
        "state": state,
        "optimizer": None if optimizer is None else _optimizer_document(model, optimizer),
    }
    text = json.dumps(document, allow_nan=False, indent=1)
    _write_atomically(Path(path), text)


def _check_finite(value: Any, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"cannot save {where} = {value!r}: NaN and ±inf are not allowed in a model file")


def _optimizer_document(model: Module, optimizer: Optimizer) -> dict[str, Any]:
    kind = type(optimizer).__name__
    if type(optimizer) not in _OPTIMIZERS.values():
        raise TypeError(f"cannot save optimizer {kind}; supported: {sorted(_OPTIMIZERS)}")
    index = {id(p): i for i, p in enumerate(model.parameters())}
    groups = []
    for g, group in enumerate(optimizer.param_groups):
        missing = [p for p in group["params"] if id(p) not in index]
        if missing:
            raise ValueError(f"optimizer group {g} holds {len(missing)} Values that are not parameters of the model "
                             f"(first: {missing[0]!r}); save the optimizer with the model it trains")
        hyper = {k: (list(v) if isinstance(v, tuple) else v) for k, v in group.items() if k != "params"}
        for k, v in hyper.items():
            for x in v if isinstance(v, list) else [v]:
                _check_finite(x, f"optimizer hyper-parameter {k!r}")
        groups.append({**hyper, "params": [index[id(p)] for p in group["params"]]})
    state = {}
    for p, s in optimizer.state.items():
        if not s:
            continue
        for k, v in s.items():
            _check_finite(v, f"optimizer state {k!r}")
        state[str(index[id(p)])] = dict(s)
    return {"type": kind, "param_groups": groups, "state": state}


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a new file beside ``path``, flush it to disk, then rename it over ``path``."""
    directory = path.parent
    tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    # O_EXCL: never write through a file (or symlink) someone else put there; mode 0o666 lets the
    # umask decide permissions, as for any newly created file.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# -- loading ---------------------------------------------------------------------------


def load(path: str | os.PathLike[str]) -> Module:
    """A new model rebuilt from the file at ``path``, with exactly the saved weights and buffers.

    Raises ``ValueError`` naming the problem for any malformed, inconsistent or out-of-range
    content, and ``FileNotFoundError`` if there is no file.
    """
    document = _read_document(path)
    return _model_from(document, _where(path))


def load_optimizer(path: str | os.PathLike[str], model: Module) -> Optimizer:
    """The optimizer saved in the file at ``path``, rebuilt over ``model``'s parameters.

    ``model`` is usually ``load(path)``; it must have the saved architecture. Raises
    ``ValueError`` if the file has no optimizer or any of its content is malformed.
    """
    if not isinstance(model, Module):
        raise TypeError(f"load_optimizer() needs the nn.Module to optimize, got {type(model).__name__}")
    document = _read_document(path)
    where = _where(path)
    if document["config"] != model.config():
        raise ValueError(f"{where}: the model passed to load_optimizer does not have the saved architecture "
                         f"(saved {document['config']!r:.200}, got {model.config()!r:.200})")
    if document["optimizer"] is None:
        raise ValueError(f"{where}: the file holds no optimizer (it was saved without one)")
    return _optimizer_from(document["optimizer"], model, where)


def _where(path: str | os.PathLike[str]) -> str:
    return f"model file {os.fspath(path)!r}"


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed (NaN and ±inf may appear nowhere in a model file)")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _read_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    where = _where(path)
    size = os.stat(path).st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{where} is {size:,} bytes, more than the {MAX_FILE_BYTES:,} a model file may have")
    with open(path, "rb") as f:
        raw = f.read(MAX_FILE_BYTES + 1)
    try:
        text = raw.decode("utf-8")
        document = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except UnicodeDecodeError as e:
        raise ValueError(f"{where} is not UTF-8 text: {e}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{where} is not valid JSON: {e}") from None
    except RecursionError:
        raise ValueError(f"{where} nests JSON too deeply to be a model file") from None
    except ValueError as e:  # from the hooks above, or an integer literal too long to convert
        raise ValueError(f"{where} is not a valid model file: {e}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{where} must hold a JSON object, got {type(document).__name__}")
    keys = set(document)
    if keys != _TOP_KEYS:
        raise ValueError(f"{where}: {_key_problem(keys, _TOP_KEYS)} at the top level")
    if document["format"] != FORMAT:
        raise ValueError(f"{where} is not a {FORMAT!r} file (format is {document['format']!r:.80})")
    version = document["format_version"]
    if type(version) is not int or version != FORMAT_VERSION:
        raise ValueError(f"{where} has format_version {version!r:.40}; this version of nn reads only "
                         f"format_version {FORMAT_VERSION}")
    # Read an older file as if written now, for load() and load_optimizer()'s architecture check alike.
    document["config"] = _with_added_keys(document["config"])
    return document


def _key_problem(keys: set[str], expected: set[str]) -> str:
    missing, extra = sorted(expected - keys), sorted(keys - expected)
    parts = []
    if missing:
        parts.append(f"missing keys {_short(missing)}")
    if extra:
        parts.append(f"unexpected keys {_short(extra)}")
    return " and ".join(parts)


def _short(names: list[str]) -> str:
    return repr(names[:8])[:-1] + (", …]" if len(names) > 8 else "]")


def _model_from(document: dict[str, Any], where: str) -> Module:
    config = document["config"]
    _check_config(config, f"{where}: config", depth=0)
    count = _parameter_count(config)
    if count > MAX_PARAMETERS:
        raise ValueError(f"{where}: config declares {count:,} parameters, more than the limit of {MAX_PARAMETERS:,}")
    # Fixed seed: rebuilding never draws from (or disturbs) the global random state.
    model = build(config, rng=0)
    state = document["state"]
    if not isinstance(state, dict):
        raise ValueError(f"{where}: state must be an object of name → number, got {type(state).__name__}")
    expected = model.state_dict()
    if set(state) != set(expected):
        raise ValueError(f"{where}: state does not fit the config: {_key_problem(set(state), set(expected))}")
    values: dict[str, float | int] = {}
    for name in expected:
        value = state[name]
        if name.endswith("num_batches_tracked"):
            values[name] = _count(value, f"{where}: state {name!r}")
        else:
            values[name] = _finite(value, f"{where}: state {name!r}")
            if ".running_var." in f".{name}" and values[name] < 0:
                raise ValueError(f"{where}: state {name!r} = {value!r} is a variance and cannot be negative")
    model.load_state_dict(values)
    return model


def _finite(value: Any, where: str) -> float:
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


def _count(value: Any, where: str) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"{where} must be a non-negative int, got {value!r:.60}")
    return value


def _size(value: Any, where: str) -> int:
    if type(value) is not int or not 1 <= value <= MAX_WIDTH:
        raise ValueError(f"{where} must be an int in [1, {MAX_WIDTH:,}], got {value!r:.60}")
    return value


def _flag(value: Any, where: str) -> bool:
    if type(value) is not bool:
        raise ValueError(f"{where} must be true or false, got {value!r:.60}")
    return value


def _choice(value: Any, options: tuple[str, ...], where: str) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{where} must be one of {list(options)}, got {value!r:.60}")
    return value


def _momentum(value: Any, where: str) -> None:
    if value is not None and not 0.0 <= _finite(value, where) <= 1.0:
        raise ValueError(f"{where} must be null or a number in [0, 1], got {value!r}")


def _eps(value: Any, where: str) -> None:
    if not _finite(value, where) > 0.0:
        raise ValueError(f"{where} must be a positive number, got {value!r}")


# Each module type: its exact keys and a check per key.
_CONFIG_KEYS: dict[str, set[str]] = {
    "MLP": {"type", "nin", "nouts", "activation", "init", "bias", "batch_norm", "eps", "momentum"},
    "Layer": {"type", "nin", "nout", "activation", "bias", "init"},
    "Neuron": {"type", "nin", "activation", "bias", "init"},
    "BatchNorm1d": {"type", "num_features", "eps", "momentum", "affine", "track_running_stats"},
    "Activation": {"type", "name"},
    "Sequential": {"type", "layers"},
}

# Keys added to a module type after files were first written, with the behaviour a file without
# them was made with: such files still load (and compare equal to the model they rebuild).
_ADDED_KEYS: dict[str, dict[str, Any]] = {
    "BatchNorm1d": {"track_running_stats": True},
}


def _with_added_keys(config: Any, depth: int = 0) -> Any:
    """``config`` with each key in ``_ADDED_KEYS`` it lacks filled in; anything malformed is left as is."""
    if not isinstance(config, dict) or depth > MAX_DEPTH:  # _check_config reports those
        return config
    kind = config.get("type")
    out = {**_ADDED_KEYS.get(kind, {}), **config} if isinstance(kind, str) else dict(config)
    if kind == "Sequential" and isinstance(out.get("layers"), list):
        out["layers"] = [_with_added_keys(layer, depth + 1) for layer in out["layers"]]
    return out


def _check_config(config: Any, where: str, depth: int) -> None:
    if not isinstance(config, dict):
        raise ValueError(f"{where} must be an object, got {type(config).__name__}")
    kind = config.get("type")
    if kind not in _CONFIG_KEYS:
        raise ValueError(f"{where} has unknown module type {kind!r:.60}; expected one of {sorted(_CONFIG_KEYS)}")
    if set(config) != _CONFIG_KEYS[kind]:
        raise ValueError(f"{where} ({kind}): {_key_problem(set(config), _CONFIG_KEYS[kind])}")
    c = config
    if kind in ("MLP", "Layer", "Neuron"):
        _size(c["nin"], f"{where}.nin")
        _choice(c["activation"], ACTIVATIONS, f"{where}.activation")
        _choice(c["init"], INITS, f"{where}.init")
        _flag(c["bias"], f"{where}.bias")
    if kind == "MLP":
        nouts = c["nouts"]
        if not isinstance(nouts, list) or not 1 <= len(nouts) <= MAX_DEPTH:
            raise ValueError(f"{where}.nouts must be a list of 1 to {MAX_DEPTH} layer sizes, got {nouts!r:.60}")
        for i, n in enumerate(nouts):
            _size(n, f"{where}.nouts[{i}]")
        _flag(c["batch_norm"], f"{where}.batch_norm")
        _eps(c["eps"], f"{where}.eps")
        _momentum(c["momentum"], f"{where}.momentum")
    elif kind == "Layer":
        _size(c["nout"], f"{where}.nout")
    elif kind == "BatchNorm1d":
        _size(c["num_features"], f"{where}.num_features")
        _eps(c["eps"], f"{where}.eps")
        _momentum(c["momentum"], f"{where}.momentum")
        _flag(c["affine"], f"{where}.affine")
        _flag(c["track_running_stats"], f"{where}.track_running_stats")
    elif kind == "Activation":
        _choice(c["name"], ACTIVATIONS, f"{where}.name")
    elif kind == "Sequential":
        layers = c["layers"]
        if not isinstance(layers, list):
            raise ValueError(f"{where}.layers must be a list of module configs, got {type(layers).__name__}")
        if depth >= MAX_DEPTH:
            raise ValueError(f"{where} nests Sequential more than {MAX_DEPTH} deep")
        for i, layer in enumerate(layers):
            _check_config(layer, f"{where}.layers[{i}]", depth + 1)


def _parameter_count(config: dict[str, Any]) -> int:
    """How many Values ``build(config)`` would make, computed without building anything."""
    kind = config["type"]
    bias = int(config.get("bias", False))
    if kind == "Neuron":
        return config["nin"] + bias
    if kind == "Layer":
        return (config["nin"] + bias) * config["nout"]
    if kind == "BatchNorm1d":
        return 2 * config["num_features"] if config["affine"] else 0
    if kind == "Activation":
        return 0
    if kind == "Sequential":
        return sum(_parameter_count(layer) for layer in config["layers"])
    sizes = [config["nin"], *config["nouts"]]
    total = sum((a + bias) * b for a, b in itertools.pairwise(sizes))
    if config["batch_norm"]:
        total += 2 * sum(sizes[1:-1])
    return total


def _optimizer_from(saved: Any, model: Module, where: str) -> Optimizer:
    where = f"{where}: optimizer"
    if not isinstance(saved, dict) or set(saved) != {"type", "param_groups", "state"}:
        found = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
        raise ValueError(f"{where} must be an object with keys ['param_groups', 'state', 'type'], got {found}")
    kind = saved["type"]
    if kind not in _OPTIMIZERS:
        raise ValueError(f"{where} has unknown type {kind!r:.60}; expected one of {sorted(_OPTIMIZERS)}")
    cls = _OPTIMIZERS[kind]
    params = model.parameters()
    groups_in = saved["param_groups"]
    if not isinstance(groups_in, list) or not groups_in:
        raise ValueError(f"{where}.param_groups must be a non-empty list")
    hyper_keys = _hyper_names(cls)
    used: dict[int, dict[str, Any]] = {}
    groups: list[dict[str, Any]] = []
    for g, group in enumerate(groups_in):
        gw = f"{where}.param_groups[{g}]"
        if not isinstance(group, dict) or set(group) != hyper_keys | {"params"}:
            group_keys = set(group) if isinstance(group, dict) else set()
            raise ValueError(f"{gw}: {_key_problem(group_keys, hyper_keys | {'params'})}")
        hyper: dict[str, Any] = {}
        for k in hyper_keys:
            v = group[k]
            if k in _BOOL_HYPER:
                hyper[k] = _flag(v, f"{gw}.{k}")
            elif k == "betas":
                if not isinstance(v, list) or len(v) != 2:
                    raise ValueError(f"{gw}.betas must be a list of two numbers, got {v!r:.60}")
                hyper[k] = (_finite(v[0], f"{gw}.betas[0]"), _finite(v[1], f"{gw}.betas[1]"))
            else:
                hyper[k] = _finite(v, f"{gw}.{k}")
        indices = group["params"]
        if not isinstance(indices, list) or not indices:
            raise ValueError(f"{gw}.params must be a non-empty list of parameter indices")
        for i in indices:
            if type(i) is not int or not 0 <= i < len(params) or i in used:
                raise ValueError(f"{gw}.params has {i!r:.40}: expected each index of the model's {len(params)} "
                                 "parameters at most once")
            used[i] = hyper
        groups.append({**hyper, "params": [params[i] for i in indices]})
    try:
        optimizer = cls(groups)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where} has invalid hyper-parameters: {e}") from None
    optimizer.state = _optimizer_state(saved["state"], kind, params, used, where)
    return optimizer


def _hyper_names(cls: type[Optimizer]) -> set[str]:
    """The hyper-parameters a param group of ``cls`` has: its constructor's arguments but ``params``."""
    return {name for name in inspect.signature(cls).parameters if name != "params"}


def _required_state(kind: str, group: dict[str, Any]) -> set[str]:
    """The per-parameter state keys ``kind`` keeps once it has taken a step with ``group``."""
    if kind == "SGD":
        return {"momentum_buffer"} if group["momentum"] != 0 else set()
    if kind in ("Adam", "AdamW"):
        return {"step", "exp_avg", "exp_avg_sq"} | ({"max_exp_avg_sq"} if group["amsgrad"] else set())
    required = {"step", "square_avg"}
    if group["momentum"] > 0:
        required.add("momentum_buffer")
    if group["centered"]:
        required.add("grad_avg")
    return required


def _optimizer_state(saved: Any, kind: str, params: list[Value], used: dict[int, dict[str, Any]],
                     where: str) -> dict[Value, Any]:
    if not isinstance(saved, Mapping):
        raise ValueError(f"{where}.state must be an object of parameter index → state")
    state: dict[Value, dict[str, float]] = {}
    for key, entry in saved.items():
        sw = f"{where}.state[{key!r:.20}]"
        if not (key.isdigit() and key == str(int(key)) and int(key) in used):
            raise ValueError(f"{sw}: key must be the index of a parameter in param_groups")
        required = _required_state(kind, used[int(key)])
        if not isinstance(entry, dict) or set(entry) != required:
            found = set(entry) if isinstance(entry, dict) else set()
            raise ValueError(f"{sw} ({kind}): {_key_problem(found, required) or 'not an object'}")
        values = {k: _finite(v, f"{sw}.{k}") for k, v in entry.items()}
        for k in ("exp_avg_sq", "max_exp_avg_sq", "square_avg", "step"):
            if values.get(k, 0.0) < 0:
                raise ValueError(f"{sw}.{k} = {values[k]!r} cannot be negative")
        state[params[int(key)]] = values
    return state
