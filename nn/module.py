"""``Module``: the base of every layer — parameters, names, modes and state.

A module finds its parameters by walking its attributes in the order they were set: a
:class:`~autograd_core.Value` is a parameter, a ``Module`` is a child, and a list of either is
numbered. That gives PyTorch-style dotted names in micrograd's order, e.g.
``layers.0.neurons.3.w.1``. Buffers (running statistics of batch norm) are named by the class
attribute ``buffer_names`` and appear in :meth:`Module.state_dict` next to the parameters.

Calling convention: ``model(x)`` on **one sample** (a list of numbers or Values, or a 1-D
array) and ``model(X)`` on a **batch** (a list of samples, or a 2-D array) returning one output
per sample. Subclasses implement :meth:`Module.forward` (one sample) and may override
:meth:`Module.forward_batch` when samples interact, as in batch normalisation.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np

from autograd_core import Value

from .config_schema import MODULE_TYPES, ConfigCheck, ConfigCost

__all__ = ["Module", "is_batch", "as_sample", "as_batch"]


def is_batch(x: Any) -> bool:
    """Whether ``x`` is a batch (list of samples, 2-D array) rather than one sample.

    Raises ``TypeError``/``ValueError`` for inputs that are neither.
    """
    if isinstance(x, np.ndarray):
        if x.ndim == 2:
            return True
        if x.ndim == 1:
            return False
        raise ValueError(f"expected one sample (1-D array) or a batch (2-D array), got an array of shape {x.shape}")
    if isinstance(x, (list, tuple)):
        if len(x) == 0:
            raise ValueError("got an empty input; expected one sample (a list of numbers) or a batch of samples")
        first = x[0]
        if isinstance(first, (Value, numbers.Real, np.number)):
            return False
        if isinstance(first, (list, tuple, np.ndarray)):
            return True
        raise TypeError(f"expected a sample of numbers or Values, or a batch of samples; got an element of type "
                        f"{type(first).__name__}")
    raise TypeError(f"expected one sample (a list of numbers or Values, or a 1-D array) or a batch (a list of "
                    f"samples, or a 2-D array); got {type(x).__name__}")


def as_sample(x: Any) -> list[Any]:
    """One sample as a list of floats/Values (numpy rows become Python floats)."""
    if isinstance(x, np.ndarray):
        if x.ndim != 1:
            raise ValueError(f"a sample must be 1-D, got an array of shape {x.shape}")
        return x.astype(np.float64).tolist()
    if isinstance(x, (list, tuple)):
        return list(x)
    if isinstance(x, (Value, numbers.Real, np.number)):
        return [x]
    raise TypeError(f"a sample must be a list of numbers or Values, got {type(x).__name__}")


def as_batch(X: Any) -> list[list[Any]]:
    """A batch as a list of samples, each a list of floats/Values."""
    if isinstance(X, np.ndarray) and X.ndim == 2:
        return X.astype(np.float64).tolist()
    return [as_sample(x) for x in X]


class Module:
    """Base class: parameters, dotted names, train/eval mode, ``state_dict``.

    ``parameters()`` lists the learnable Values in a stable order; ``zero_grad()`` sets their
    ``grad`` to 0 before the next ``backward()`` (gradients accumulate otherwise, ∂C/∂w summed
    over calls, as in PyTorch).
    """

    buffer_names: tuple[str, ...] = ()
    training: bool = True
    config_schema: ClassVar[dict[str, ConfigCheck]] = {}
    """The keys of :meth:`config` but ``"type"``, each with its check (see :mod:`nn.config_schema`)."""
    config_added_keys: ClassVar[dict[str, Any]] = {}
    """Config keys added after files were first written, with the value a file without them meant."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # nn's own classes with a schema are the types a saved config may name (build() makes them).
        if "config_schema" in vars(cls) and cls.__module__.split(".")[0] == __name__.split(".")[0]:
            MODULE_TYPES[cls.__name__] = cls

    @classmethod
    def config_cost(cls, config: dict[str, Any]) -> ConfigCost:
        """What building a checked ``config`` of this class allocates; by default the module alone."""
        return ConfigCost()

    # -- calling ---------------------------------------------------------------------
    def forward(self, x: list[Any]) -> Any:
        """The output for one sample ``x`` (a list of floats or Values)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def forward_batch(self, X: list[list[Any]]) -> list[Any]:
        """The outputs for a batch; by default each sample on its own."""
        return [self.forward(x) for x in X]

    def present(self, out: Any) -> Any:
        """How one output is returned to the caller (layers give a single Value for one unit)."""
        return out

    def __call__(self, x: Any) -> Any:
        if is_batch(x):
            return [self.present(o) for o in self.forward_batch(as_batch(x))]
        return self.present(self.forward(as_sample(x)))

    # -- parameters and children ---------------------------------------------------------
    def _items(self) -> Iterator[tuple[str, Any]]:
        for name, value in vars(self).items():
            if name.startswith("_") or name in self.buffer_names:
                continue
            if isinstance(value, (Value, Module)):
                yield name, value
            elif isinstance(value, (list, tuple)) and value and all(isinstance(v, (Value, Module)) for v in value):
                for i, v in enumerate(value):
                    yield f"{name}.{i}", v

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Value]]:
        """``(dotted name, Value)`` for every parameter, e.g. ``("layers.0.neurons.3.w.1", w)``."""
        out: list[tuple[str, Value]] = []
        for name, item in self._items():
            full = f"{prefix}{name}"
            if isinstance(item, Value):
                out.append((full, item))
            else:
                out.extend(item.named_parameters(prefix=f"{full}."))
        return out

    def parameters(self) -> list[Value]:
        """All learnable Values, in micrograd's order (weights of a neuron, then its bias)."""
        return [p for _, p in self.named_parameters()]

    def named_modules(self, prefix: str = "") -> list[tuple[str, Module]]:
        """``(dotted name, module)`` for this module (name ``""``) and every submodule."""
        out: list[tuple[str, Module]] = [(prefix.rstrip("."), self)]
        for name, item in self._items():
            if isinstance(item, Module):
                out.extend(item.named_modules(prefix=f"{prefix}{name}."))
        return out

    def modules(self) -> list[Module]:
        return [m for _, m in self.named_modules()]

    def named_buffers(self, prefix: str = "") -> list[tuple[str, float]]:
        """``(dotted name, float)`` for running statistics, e.g. ``("layers.1.running_mean.0", 0.0)``."""
        out: list[tuple[str, float]] = []
        for mod_name, mod in self.named_modules(prefix.rstrip(".")):
            dot = f"{mod_name}." if mod_name else ""
            for attr in mod.buffer_names:
                value = getattr(mod, attr)
                if isinstance(value, list):
                    out.extend((f"{dot}{attr}.{i}", float(v)) for i, v in enumerate(value))
                else:
                    out.append((f"{dot}{attr}", float(value)))
        return out

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0.0."""
        for p in self.parameters():
            p.grad = 0.0

    # -- modes -------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (batch norm uses batch statistics and updates running ones); returns self."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode) expects a bool, got {type(mode).__name__}")
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode (batch norm uses its running statistics); returns self."""
        return self.train(False)

    # -- state -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, float]:
        """Every parameter's ``data`` and every buffer, as plain floats keyed by dotted name."""
        state = {name: p.data for name, p in self.named_parameters()}
        state.update(self.named_buffers())
        return state

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> tuple[list[str], list[str]]:
        """Copy floats from ``state`` into parameters and buffers; returns ``(missing, unexpected)``.

        With ``strict`` (default) a missing or unexpected key raises ``KeyError`` naming it;
        a value that is not a real number raises ``TypeError`` naming its key. Nothing is
        changed unless every check passes.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict expects a mapping of name -> float, got {type(state).__name__}")
        params = dict(self.named_parameters())
        buffers = {name for name, _ in self.named_buffers()}
        known = set(params) | buffers
        missing = [k for k in self.state_dict() if k not in state]
        unexpected = [k for k in state if k not in known]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing[:10]}{' …' if len(missing) > 10 else ''}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected[:10]}{' …' if len(unexpected) > 10 else ''}")
            raise KeyError(f"state_dict does not fit {type(self).__name__}: {'; '.join(parts)} "
                           "(a different architecture? compare with model.state_dict().keys())")
        values: dict[str, float] = {}
        for key, value in state.items():
            if key not in known:
                continue
            if isinstance(value, Value):
                value = value.data
            if not isinstance(value, (numbers.Real, np.number)) or isinstance(value, np.ndarray):
                raise TypeError(f"state_dict[{key!r}] must be a real number, got {type(value).__name__}"
                                f"{' (wrong shape: one float per key)' if isinstance(value, (list, tuple)) else ''}")
            values[key] = float(value)
        for key, value in values.items():
            if key in params:
                params[key].data = value
        self._load_buffers({k: v for k, v in values.items() if k in buffers})
        return missing, unexpected

    def _load_buffers(self, values: dict[str, float]) -> None:
        for mod_name, mod in self.named_modules():
            dot = f"{mod_name}." if mod_name else ""
            for attr in mod.buffer_names:
                current = getattr(mod, attr)
                if isinstance(current, list):
                    for i in range(len(current)):
                        current[i] = values.get(f"{dot}{attr}.{i}", current[i])
                elif f"{dot}{attr}" in values:
                    setattr(mod, attr, type(current)(values[f"{dot}{attr}"]))

    # -- architecture ------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """A JSON-able description of the architecture; ``nn.build(config)`` rebuilds it."""
        raise NotImplementedError(f"{type(self).__name__} does not describe its architecture")

    def num_parameters(self) -> int:
        return len(self.parameters())

