"""The activations a = σ(z), by name: one table that every part of ``nn`` reads.

Neurons, layers and the ``Activation`` module look σ up here; so do the CLI's ``--activation``,
save/load (``io``) and the PyTorch bridge (``to_torch`` / ``from_torch``). Compiled mode needs
no entry of its own: each σ is a Value op whose numpy rule lives in the op table.

Each entry gives the function (a Value method or a named function, so models pickle), the name
used in reprs (``TanhNeuron(2)``, ``GELU()``) and the ``torch.nn`` module with its arguments.
Parameterised activations stand for PyTorch's defaults (``leaky_relu`` slope 0.01, ``elu`` and
``celu`` α = 1, ``hardtanh`` on [−1, 1]).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autograd_core import Value

__all__ = [
    "ACTIVATIONS",
    "ActivationSpec",
    "activation_function",
    "activation_spec",
    "check_activation",
    "from_torch_module",
    "to_torch_module",
]


def identity(z: Value) -> Value:
    """The linear "activation" a = z."""
    return z


def gelu_tanh(z: Value) -> Value:
    """GELU in PyTorch's tanh approximation, ½z(1 + tanh(√(2/π)(z + 0.044715z³)))."""
    return z.gelu(approximate="tanh")


@dataclass(frozen=True)
class ActivationSpec:
    """One activation: ``fn`` computes a = σ(z); ``title`` names it in reprs; ``torch`` is the
    ``torch.nn`` class name (None: no module, as for ``linear``) built with ``torch_kwargs``."""

    name: str
    fn: Callable[[Value], Value]
    title: str
    torch: str | None
    torch_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def module_repr(self) -> str:
        """How the ``Activation`` module prints: ``Tanh()``, ``GELUTanh()``, ``Identity()`` for linear."""
        return "Identity()" if self.torch is None else f"{self.title}()"


_SPECS = [
    ActivationSpec("relu", Value.relu, "ReLU", "ReLU"),
    ActivationSpec("tanh", Value.tanh, "Tanh", "Tanh"),
    ActivationSpec("sigmoid", Value.sigmoid, "Sigmoid", "Sigmoid"),
    ActivationSpec("leaky_relu", Value.leaky_relu, "LeakyReLU", "LeakyReLU", {"negative_slope": 0.01}),
    ActivationSpec("linear", identity, "Linear", None),
    ActivationSpec("gelu", Value.gelu, "GELU", "GELU", {"approximate": "none"}),
    ActivationSpec("gelu_tanh", gelu_tanh, "GELUTanh", "GELU", {"approximate": "tanh"}),
    ActivationSpec("silu", Value.silu, "SiLU", "SiLU"),
    ActivationSpec("elu", Value.elu, "ELU", "ELU", {"alpha": 1.0}),
    ActivationSpec("selu", Value.selu, "SELU", "SELU"),
    ActivationSpec("celu", Value.celu, "CELU", "CELU", {"alpha": 1.0}),
    ActivationSpec("softplus", Value.softplus, "Softplus", "Softplus", {"beta": 1.0}),
    ActivationSpec("softsign", Value.softsign, "Softsign", "Softsign"),
    ActivationSpec("hardtanh", Value.hardtanh, "Hardtanh", "Hardtanh", {"min_val": -1.0, "max_val": 1.0}),
    ActivationSpec("hardsigmoid", Value.hardsigmoid, "Hardsigmoid", "Hardsigmoid"),
    ActivationSpec("hardswish", Value.hardswish, "Hardswish", "Hardswish"),
    ActivationSpec("mish", Value.mish, "Mish", "Mish"),
    ActivationSpec("logsigmoid", Value.logsigmoid, "LogSigmoid", "LogSigmoid"),
]

_BY_NAME: dict[str, ActivationSpec] = {s.name: s for s in _SPECS}
ACTIVATIONS: tuple[str, ...] = tuple(_BY_NAME)
"""Every activation name, in the order the docs and ``--help`` list them."""


def check_activation(name: Any) -> str:
    """``name`` if it is a known activation, else ``ValueError`` listing the known ones."""
    if not isinstance(name, str) or name not in _BY_NAME:
        raise ValueError(f"unknown activation {name!r}; expected one of {list(ACTIVATIONS)}")
    return name


def activation_spec(name: str) -> ActivationSpec:
    """The table entry for ``name`` (``ValueError`` for an unknown name)."""
    return _BY_NAME[check_activation(name)]


def activation_function(name: str) -> Callable[[Value], Value]:
    """The function a = σ(z) for an activation name (``"linear"`` is the identity)."""
    return activation_spec(name).fn


def to_torch_module(name: str, torch: Any) -> Any | None:
    """The ``torch.nn`` module for activation ``name`` (None for ``linear``)."""
    spec = activation_spec(name)
    if spec.torch is None:
        return None
    return getattr(torch.nn, spec.torch)(**spec.torch_kwargs)


def from_torch_module(m: Any, torch: Any) -> str | None:
    """Our activation name for a ``torch.nn`` module, None if it is not an activation.

    Raises ``ValueError`` for an activation whose arguments differ from those our name stands
    for (``LeakyReLU(0.2)``, ``ELU(alpha=2)``), naming the supported ones.
    """
    same_type = [s for s in _SPECS if s.torch is not None and type(m) is getattr(torch.nn, s.torch, None)]
    for spec in same_type:
        if all(getattr(m, k, None) == v for k, v in spec.torch_kwargs.items()):
            return spec.name
    if same_type:
        supported = " or ".join(f"{s.torch}({', '.join(f'{k}={v!r}' for k, v in s.torch_kwargs.items())})"
                                for s in same_type)
        raise ValueError(f"from_torch() supports {type(m).__name__} only as {supported}, got {m}")
    return None
