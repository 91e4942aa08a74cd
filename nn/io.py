"""Saving and loading models (with their optimizer and learning-rate schedule) as JSON: safe, strict, bit-exact.

A file holds the architecture (``model.config()``), so :func:`load` rebuilds the model without
the code that made it, and every parameter and buffer by its dotted name::

    {"format": "backprop-lab model", "format_version": 2,
     "config": {"type": "MLP", "nin": 2, "nouts": [16, 16, 1], ...},
     "state": {"layers.0.neurons.0.w.0": 0.23550571390294128, ...},
     "optimizer": null | {"type": "Adam", "param_groups": [...], "state": {...}},
     "scheduler": null | {"type": "StepLR", "step_size": 10, "gamma": 0.5, "last_epoch": 40, ...}}

* **Resumable**: ``save(model, p, optimizer, scheduler)`` then ``load``, ``load_optimizer`` and
  ``load_scheduler`` continue training exactly as if nothing had been saved.
* **Bit-exact**: floats are written with ``repr`` (the shortest text that reads back as the
  same double), so ``load(save(m))`` has exactly m's weights.
* **Atomic**: the text goes to a temporary file beside the target, is flushed to disk, then
  renamed over it; an interrupted save leaves the previous file. A replaced file keeps its
  permissions, and a symlink is written through (see :mod:`nn.safe_files`).
* **Strict**: malformed JSON, an unknown format or version, missing or extra keys, a wrong
  shape, NaN or ±inf, a non-number, a bool where a number belongs, an absurd size → one
  ``ValueError`` naming the field. Nothing is loaded into anything until every check has
  passed (a fresh model is built and returned), and no code is ever run: JSON only, never
  pickle. ``load_optimizer`` and ``load_scheduler`` check the whole file, model section included.
* **Budgeted**: only a regular file is read (a FIFO, a device, a directory, a socket or a
  symlink loop is a ``ValueError`` before any byte is read), at most :data:`MAX_FILE_BYTES`
  bytes whatever its reported size. Before anything is built, the config's counts are checked
  against the limits below, and the config may declare no more numbers than its ``state``
  holds, so what a file makes is bounded by what it contains:

  ==================  ===========  ===================================================
  limit               value        what it bounds
  ==================  ===========  ===================================================
  MAX_FILE_BYTES      256 MiB      bytes read from the file (parsing holds up to ~20×
                                   that at its peak, for a file of tiny JSON entries)
  MAX_PARAMETERS      10,000,000   parameters + buffer numbers (BatchNorm1d's running
                                   mean and variance count one per feature) a config
                                   declares; a Value costs ~200 bytes
  MAX_MODULES         1,000,000    modules a config declares (each Neuron counts)
  MAX_WIDTH           1,000,000    one layer's width, input count or num_features
  MAX_DEPTH           64           nesting of Sequential configs, layers of an MLP
  ==================  ===========  ===================================================

  Optimizer state holds at most one entry of each kind per parameter, and all of it is in the
  file; a learning-rate schedule holds one rate per parameter group.
* **Older files**: format_version 1 files (no ``scheduler`` key) still load. A config key added
  after format_version 1 was fixed (BatchNorm1d's ``track_running_stats``) may be absent; it
  then reads as the value the older code always used.
"""

from __future__ import annotations

import inspect
import json
import math
import os
from collections.abc import Mapping
from typing import Any

from autograd_core import Value

from .config_schema import MAX_DEPTH, MAX_WIDTH, check_config, config_cost, key_problem, with_added_keys
from .config_schema import finite as _finite
from .config_schema import flag as _flag
from .layers import build
from .lr_scheduler import CosineAnnealingLR, LinearLR, LRScheduler, StepLR
from .module import Module
from .optim import OPTIMIZERS, SGD, Optimizer
from .safe_files import read_capped, write_atomically

__all__ = ["save", "load", "load_optimizer", "load_scheduler", "FORMAT", "FORMAT_VERSION", "MAX_FILE_BYTES",
           "MAX_JSON_MEMBERS", "MAX_JSON_ITEMS", "MAX_PARAMETERS", "MAX_MODULES", "MAX_WIDTH", "MAX_DEPTH"]

FORMAT = "backprop-lab model"
FORMAT_VERSION = 2
"""The version :func:`save` writes; every version from 1 up to it loads."""
MAX_FILE_BYTES = 256 << 20
"""Most bytes read from a model file, whatever size the file system reports.

Room for ~5 million weights, or ~1.5 million with Adam's state (far beyond what a scalar engine
trains); :data:`MAX_JSON_MEMBERS` and :data:`MAX_JSON_ITEMS` bound what parsing it may allocate.
"""
MAX_JSON_MEMBERS = 6_000_000
"""Most ``"key": value`` pairs a model file may hold (every parameter is one; a file at the byte cap
holds about 5 million). Counted on the raw bytes before parsing: a JSON object member costs
Python ~120 bytes, so without this a file of tiny members would parse into ~4 GiB."""
MAX_JSON_ITEMS = 16_000_000
"""Most comma-separated JSON values a model file may hold (each costs Python up to ~70 bytes)."""
MAX_PARAMETERS = 10_000_000
"""Most numbers (parameters plus buffer entries) a file may declare (a scalar engine needs ~200 bytes per Value)."""
MAX_MODULES = 1_000_000
"""Most modules (every Neuron, Layer, BatchNorm1d, Activation, Sequential, MLP) a file may declare."""

# Top-level keys of each readable format_version.
_TOP_KEYS = {1: {"format", "format_version", "config", "state", "optimizer"},
             2: {"format", "format_version", "config", "state", "optimizer", "scheduler"}}
# The registry's classes are concrete: each is built from its param groups alone.
_OPTIMIZERS: Mapping[str, Any] = OPTIMIZERS
_BOOL_HYPER = {"nesterov", "amsgrad", "maximize", "centered"}
# A scheduler records each group's starting rate η₀ in the group itself, as torch does.
_OPTIONAL_HYPER = {"initial_lr"}
_SCHEDULERS: dict[str, type[LRScheduler]] = {"StepLR": StepLR, "LinearLR": LinearLR,
                                             "CosineAnnealingLR": CosineAnnealingLR}
_INT_SCHEDULER_HYPER = {"step_size", "total_iters", "T_max"}
_SCHEDULER_STATE = {"last_epoch", "base_lrs", "last_lr"}
# A config may declare this many numbers beyond those its state holds and still be built, so
# that a file missing a few weights gets their names in the error rather than a count.
_NAMING_SLACK = 1_000


# -- saving ----------------------------------------------------------------------------


def save(model: Module, path: str | os.PathLike[str], optimizer: Optimizer | None = None,
         scheduler: LRScheduler | None = None) -> None:
    """Write ``model`` (architecture and weights), and optionally its ``optimizer`` and ``scheduler``, to ``path``.

    Raises ``ValueError`` if a weight or optimizer number is NaN or ±inf (such a file could not
    be loaded), if the optimizer holds Values that are not the model's parameters, if the
    scheduler does not drive ``optimizer``, or if ``path`` names something other than a regular
    file (a directory, a device); ``TypeError`` for arguments of the wrong kind. The previous
    file at ``path`` survives any failure; a replaced file keeps its permissions, and a symlink
    at ``path`` stays a link to the file that gets the new content.
    """
    if not isinstance(model, Module):
        raise TypeError(f"save() needs an nn.Module, got {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be an nn.optim.Optimizer or None, got {type(optimizer).__name__}")
    if scheduler is not None:
        if not isinstance(scheduler, LRScheduler):
            raise TypeError(f"scheduler must be an nn.lr_scheduler.LRScheduler or None, got {type(scheduler).__name__}")
        if optimizer is None or scheduler.optimizer is not optimizer:
            raise ValueError("save the scheduler together with the optimizer it drives: "
                             "save(model, path, optimizer, scheduler) with scheduler.optimizer is optimizer")
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
        "scheduler": None if scheduler is None else _scheduler_document(scheduler),
    }
    text = json.dumps(document, allow_nan=False, indent=1)
    write_atomically(path, text, _where(path))


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


def _scheduler_hyper(cls: type[LRScheduler]) -> list[str]:
    """The hyper-parameters of a schedule: its constructor's arguments but ``optimizer`` and ``last_epoch``."""
    return [name for name in inspect.signature(cls).parameters if name not in ("optimizer", "last_epoch")]


def _scheduler_document(scheduler: LRScheduler) -> dict[str, Any]:
    kind = type(scheduler).__name__
    if _SCHEDULERS.get(kind) is not type(scheduler):
        raise TypeError(f"cannot save scheduler {kind}; supported: {sorted(_SCHEDULERS)}")
    document: dict[str, Any] = {"type": kind}
    for name in _scheduler_hyper(type(scheduler)):
        document[name] = getattr(scheduler, name)
    document["last_epoch"] = scheduler.last_epoch
    document["base_lrs"] = list(scheduler.base_lrs)
    document["last_lr"] = scheduler.get_last_lr()
    for k, v in document.items():
        for x in v if isinstance(v, list) else [v]:
            _check_finite(x, f"scheduler {k!r}")
    return document


# -- loading ---------------------------------------------------------------------------


def load(path: str | os.PathLike[str]) -> Module:
    """A new model rebuilt from the file at ``path``, with exactly the saved weights and buffers.

    Raises ``ValueError`` naming the problem for any malformed, inconsistent or out-of-range
    content, for a file over the limits (see the module docstring) and for anything but a
    regular file; ``FileNotFoundError`` if there is no file and ``PermissionError`` if it
    cannot be read.
    """
    document = _read_document(path)
    where = _where(path)
    model = _built_model(document, where)
    model.load_state_dict(_state_values(document["state"], model.state_dict(), where))
    return model


def load_optimizer(path: str | os.PathLike[str], model: Module) -> Optimizer:
    """The optimizer saved in the file at ``path``, rebuilt over ``model``'s parameters.

    ``model`` is usually ``load(path)``; it must have the saved architecture and is never
    changed. The whole file is checked, its model section included. Raises ``ValueError`` if
    the file has no optimizer or any of its content is malformed (as :func:`load`).
    """
    if not isinstance(model, Module):
        raise TypeError(f"load_optimizer() needs the nn.Module to optimize, got {type(model).__name__}")
    document = _read_document(path)
    where = _where(path)
    _check_model_section(document, where)
    if document["config"] != model.config():
        raise ValueError(f"{where}: the model passed to load_optimizer does not have the saved architecture "
                         f"(saved {document['config']!r:.200}, got {model.config()!r:.200})")
    _state_values(document["state"], model.state_dict(), where)
    if document["optimizer"] is None:
        raise ValueError(f"{where}: the file holds no optimizer (it was saved without one)")
    optimizer = _optimizer_from(document["optimizer"], model, where)
    if document["scheduler"] is not None:
        _scheduler_settings(document["scheduler"], len(optimizer.param_groups), where)
    return optimizer


def load_scheduler(path: str | os.PathLike[str], optimizer: Optimizer) -> LRScheduler:
    """The learning-rate schedule saved in the file at ``path``, attached to ``optimizer``.

    ``optimizer`` is usually ``load_optimizer(path, model)``: the schedule continues from the
    step it was saved at, and ``optimizer``'s current rates are left as they are (the file's
    optimizer holds the rates the schedule had set). The whole file is checked first. Raises
    ``ValueError`` if the file has no scheduler, if ``optimizer`` has a different number of
    parameter groups, or if any content is malformed.
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"load_scheduler() needs the nn.optim.Optimizer to drive, got {type(optimizer).__name__}")
    document = _read_document(path)
    where = _where(path)
    scratch = _built_model(document, where)
    _state_values(document["state"], scratch.state_dict(), where)
    if document["scheduler"] is None:
        raise ValueError(f"{where}: the file holds no scheduler (it was saved without one)")
    if document["optimizer"] is None:
        raise ValueError(f"{where}: the file holds a scheduler but no optimizer for it")
    saved_groups = len(_optimizer_from(document["optimizer"], scratch, where).param_groups)
    cls, hyper, progress = _scheduler_settings(document["scheduler"], saved_groups, where)
    if len(optimizer.param_groups) != saved_groups:
        raise ValueError(f"{where}: the scheduler was saved for {saved_groups} parameter groups, the optimizer "
                         f"passed has {len(optimizer.param_groups)}")
    # The constructor takes a first step (setting every group's rate); the saved progress then
    # replaces its counters and the optimizer keeps the rates it had.
    rates = [group["lr"] for group in optimizer.param_groups]
    scheduler = cls(optimizer, **hyper)
    scheduler.load_state_dict(progress)
    for group, lr in zip(optimizer.param_groups, rates):
        group["lr"] = lr
    return scheduler


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
    raw = read_capped(path, MAX_FILE_BYTES, where)
    # Parsing allocates per value, not per byte: bound the counts first (cheap scans in C).
    for what, count, limit in (("key: value pairs", raw.count(b":"), MAX_JSON_MEMBERS),
                               ("values", raw.count(b",") + raw.count(b"[") + raw.count(b"{"), MAX_JSON_ITEMS)):
        if count > limit:
            raise ValueError(f"{where} holds {count:,} JSON {what}, more than the {limit:,} a model file may have")
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
    if not {"format", "format_version"} <= keys:
        raise ValueError(f"{where}: {key_problem(keys, _TOP_KEYS[FORMAT_VERSION])} at the top level")
    if document["format"] != FORMAT:
        raise ValueError(f"{where} is not a {FORMAT!r} file (format is {document['format']!r:.80})")
    version = document["format_version"]
    if type(version) is not int or version not in _TOP_KEYS:
        raise ValueError(f"{where} has format_version {version!r:.40}; this version of nn reads format_version "
                         f"1 to {FORMAT_VERSION}")
    if keys != _TOP_KEYS[version]:
        raise ValueError(f"{where}: {key_problem(keys, _TOP_KEYS[version])} at the top level "
                         f"(format_version {version})")
    document.setdefault("scheduler", None)
    # Read an older file as if written now, for load() and load_optimizer()'s architecture check alike.
    document["config"] = with_added_keys(document["config"])
    return document


def _check_model_section(document: dict[str, Any], where: str) -> None:
    """Check the config and weigh what it would build against the limits, before building anything."""
    config = document["config"]
    check_config(config, f"{where}: config")
    cost = config_cost(config)
    if cost.modules > MAX_MODULES:
        raise ValueError(f"{where}: config declares {cost.modules:,} modules, more than the limit of {MAX_MODULES:,}")
    params, buffers = cost.parameters, cost.buffers
    if params > MAX_PARAMETERS:
        raise ValueError(f"{where}: config declares {params:,} parameters, more than the limit of "
                         f"{MAX_PARAMETERS:,}")
    if params + buffers > MAX_PARAMETERS:
        raise ValueError(f"{where}: config declares {params:,} parameters and {buffers:,} buffer numbers, "
                         f"{params + buffers:,} in all, more than the limit of {MAX_PARAMETERS:,}")
    state = document["state"]
    if not isinstance(state, dict):
        raise ValueError(f"{where}: state must be an object of name → number, got {type(state).__name__}")
    if params + buffers > len(state) + _NAMING_SLACK:
        raise ValueError(f"{where}: state does not fit the config: the config declares {params + buffers:,} "
                         f"numbers ({params:,} parameters, {buffers:,} buffer numbers) but state holds "
                         f"{len(state):,}")


def _built_model(document: dict[str, Any], where: str) -> Module:
    _check_model_section(document, where)
    # Fixed seed: rebuilding never draws from (or disturbs) the global random state.
    return build(document["config"], rng=0)


def _state_values(state: dict[str, Any], expected: Mapping[str, Any], where: str) -> dict[str, float | int]:
    """The saved numbers, checked one by one against the names (and kinds) of ``expected``."""
    if set(state) != set(expected):
        raise ValueError(f"{where}: state does not fit the config: {key_problem(set(state), set(expected))}")
    values: dict[str, float | int] = {}
    for name in expected:
        value = state[name]
        if name.endswith("num_batches_tracked"):
            values[name] = _count(value, f"{where}: state {name!r}")
        else:
            values[name] = _finite(value, f"{where}: state {name!r}")
            if ".running_var." in f".{name}" and values[name] < 0:
                raise ValueError(f"{where}: state {name!r} = {value!r} is a variance and cannot be negative")
    return values


def _count(value: Any, where: str) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"{where} must be a non-negative int, got {value!r:.60}")
    return value


def _optimizer_from(saved: Any, model: Module, where: str) -> Optimizer:
    where = f"{where}: optimizer"
    cls = _optimizer_class(saved, where)
    params = model.parameters()
    groups_in = saved["param_groups"]
    if not isinstance(groups_in, list) or not groups_in:
        raise ValueError(f"{where}.param_groups must be a non-empty list")
    hyper_keys = _hyper_names(cls)
    used: dict[int, dict[str, Any]] = {}
    groups: list[dict[str, Any]] = []
    extras: list[dict[str, float]] = []
    for g, group in enumerate(groups_in):
        gw = f"{where}.param_groups[{g}]"
        hyper, extra = _group_hyper(group, hyper_keys, gw)
        groups.append({**hyper, "params": _group_params(group["params"], params, hyper, used, gw)})
        extras.append(extra)
    try:
        optimizer = cls(groups)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where} has invalid hyper-parameters: {e}") from None
    for group, extra in zip(optimizer.param_groups, extras):
        group.update(extra)
    optimizer.state = _optimizer_state(saved["state"], saved["type"], params, used, where)
    return optimizer


def _optimizer_class(saved: Any, where: str) -> Any:
    """The optimizer class an ``optimizer`` section names, after checking its keys."""
    if not isinstance(saved, dict) or set(saved) != {"type", "param_groups", "state"}:
        found = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
        raise ValueError(f"{where} must be an object with keys ['param_groups', 'state', 'type'], got {found}")
    kind = saved["type"]
    if not isinstance(kind, str) or kind not in _OPTIMIZERS:
        raise ValueError(f"{where}.type: unknown type {kind!r:.60}; expected one of {sorted(_OPTIMIZERS)}")
    return _OPTIMIZERS[kind]


def _group_hyper(group: Any, hyper_keys: set[str], gw: str) -> tuple[dict[str, Any], dict[str, float]]:
    """A saved param group's hyper-parameters, and its optional extras (a schedule's ``initial_lr``)."""
    if not isinstance(group, dict):
        raise ValueError(f"{gw} must be an object of hyper-parameters and params, got {type(group).__name__}")
    optional = set(group) & _OPTIONAL_HYPER
    if set(group) - optional != hyper_keys | {"params"}:
        raise ValueError(f"{gw}: {key_problem(set(group) - optional, hyper_keys | {'params'})}")
    hyper = {k: _hyper_value(k, group[k], f"{gw}.{k}") for k in hyper_keys}
    return hyper, {k: _nonnegative(group[k], f"{gw}.{k}") for k in sorted(optional)}


def _hyper_value(name: str, value: Any, where: str) -> Any:
    if name in _BOOL_HYPER:
        return _flag(value, where)
    if name == "betas":
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError(f"{where} must be a list of two numbers, got {value!r:.60}")
        return (_finite(value[0], f"{where}[0]"), _finite(value[1], f"{where}[1]"))
    return _finite(value, where)


def _group_params(indices: Any, params: list[Value], hyper: dict[str, Any], used: dict[int, dict[str, Any]],
                  gw: str) -> list[Value]:
    """The parameters a group's indices name; each index may appear once in all groups (noted in ``used``)."""
    if not isinstance(indices, list) or not indices:
        raise ValueError(f"{gw}.params must be a non-empty list of parameter indices")
    for i in indices:
        if type(i) is not int or not 0 <= i < len(params) or i in used:
            raise ValueError(f"{gw}.params has {i!r:.40}: expected each index of the model's {len(params)} "
                             "parameters at most once")
        used[i] = hyper
    return [params[i] for i in indices]


def _nonnegative(value: Any, where: str) -> float:
    x = _finite(value, where)
    if x < 0:
        raise ValueError(f"{where} must be ≥ 0, got {value!r}")
    return x


def _scheduler_settings(saved: Any, n_groups: int, where: str) -> tuple[type[LRScheduler], dict[str, Any],
                                                                        dict[str, Any]]:
    """The class, constructor arguments and progress (``state_dict`` entries) of a saved schedule."""
    where = f"{where}: scheduler"
    if not isinstance(saved, dict):
        raise ValueError(f"{where} must be null or an object, got {type(saved).__name__}")
    kind = saved.get("type")
    if not isinstance(kind, str) or kind not in _SCHEDULERS:
        raise ValueError(f"{where}.type: unknown type {kind!r:.60}; expected one of {sorted(_SCHEDULERS)}")
    cls = _SCHEDULERS[kind]
    names = _scheduler_hyper(cls)
    expected = {"type", *names, *_SCHEDULER_STATE}
    if set(saved) != expected:
        raise ValueError(f"{where} ({kind}): {key_problem(set(saved), expected)}")
    hyper: dict[str, Any] = {}
    for name in names:
        if name in _INT_SCHEDULER_HYPER:
            value = saved[name]
            if type(value) is not int or value < 1:
                raise ValueError(f"{where}.{name} must be a positive int, got {value!r:.60}")
            hyper[name] = value
        else:
            hyper[name] = _finite(saved[name], f"{where}.{name}")
    last_epoch = _count(saved["last_epoch"], f"{where}.last_epoch")
    rates = {}
    for key in ("base_lrs", "last_lr"):
        values = saved[key]
        if not isinstance(values, list) or len(values) != n_groups:
            raise ValueError(f"{where}.{key} must be a list of one rate per parameter group ({n_groups}), "
                             f"got {values!r:.60}")
        rates[key] = [_nonnegative(v, f"{where}.{key}[{i}]") for i, v in enumerate(values)]
    # The constructor's own checks (e.g. LinearLR's factors in (0, 1]), run on a throw-away optimizer.
    try:
        cls(SGD([Value(0.0)], lr=1.0), **hyper)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where} has invalid hyper-parameters: {e}") from None
    return cls, hyper, {"last_epoch": last_epoch, "base_lrs": rates["base_lrs"], "_last_lr": rates["last_lr"]}


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
            raise ValueError(f"{sw} ({kind}): {key_problem(found, required) or 'not an object'}")
        values = {k: _finite(v, f"{sw}.{k}") for k, v in entry.items()}
        for k in ("exp_avg_sq", "max_exp_avg_sq", "square_avg", "step"):
            if values.get(k, 0.0) < 0:
                raise ValueError(f"{sw}.{k} = {values[k]!r} cannot be negative")
        state[params[int(key)]] = values
    return state
