"""Carry a model to PyTorch and back: check it there, or graduate to PyTorch's own tooling.

A layer a = σ(W·x + b) of neurons is one ``torch.nn.Linear`` (row j of W is neuron j's
weights ``w``, bⱼ its bias) followed by σ as a module; batch norm is ``torch.nn.BatchNorm1d``
with the same γ, β, running statistics (or none, with ``track_running_stats=False``), ε and
momentum. Everything is float64, so the two models agree to rounding (≤ 1e-12), in training and
in evaluation mode.

Supported both ways: ``Sequential``/``MLP`` of ``Linear``, ``ReLU``, ``Tanh``, ``Sigmoid``,
``LeakyReLU`` (slope 0.01), ``Identity`` and ``BatchNorm1d``. PyTorch is an optional extra:
``pip install torch``.
"""

from __future__ import annotations

import itertools
from typing import Any, cast

from autograd_core import Value

from .activations import from_torch_module, to_torch_module
from .batchnorm import BatchNorm1d
from .layers import MLP, Activation, Layer, Neuron, Sequential
from .module import Module

__all__ = ["to_torch", "from_torch"]



def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError("the PyTorch bridge needs PyTorch: pip install torch") from None
    return torch


def to_torch(model: Module) -> Any:
    """An equivalent ``torch.nn.Sequential`` in float64 with copies of ``model``'s weights.

    Raises ``TypeError`` for a module with no PyTorch counterpart here and ``ImportError`` if
    PyTorch is not installed.
    """
    torch = _torch()
    if not isinstance(model, Module):
        raise TypeError(f"to_torch() needs an nn.Module, got {type(model).__name__}")
    modules: list[Any] = []
    _append_torch(model, modules, torch)
    out = torch.nn.Sequential(*modules)
    out.train(model.training)
    return out


def _append_torch(module: Module, out: list[Any], torch: Any) -> None:
    if isinstance(module, Sequential):
        for layer in module.layers:
            _append_torch(layer, out, torch)
    elif isinstance(module, (Layer, Neuron)):
        neurons = module.neurons if isinstance(module, Layer) else [module]
        bias = neurons[0].b is not None
        linear = torch.nn.Linear(len(neurons[0].w), len(neurons), bias=bias, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor([[w.data for w in n.w] for n in neurons], dtype=torch.float64))
            if bias:
                # A layer's neurons all have a bias or none, so each b is a Value here.
                linear.bias.copy_(torch.tensor([cast(Value, n.b).data for n in neurons], dtype=torch.float64))
        out.append(linear)
        _append_activation(neurons[0].activation, out, torch)
    elif isinstance(module, Activation):
        _append_activation(module.name, out, torch)
    elif isinstance(module, BatchNorm1d):
        out.append(_torch_batch_norm(module, torch))
    else:
        raise TypeError(f"to_torch() does not know how to convert {type(module).__name__}; supported: Sequential, "
                        "MLP, Layer, Neuron, Activation, BatchNorm1d")


def _append_activation(name: str, out: list[Any], torch: Any) -> None:
    module = to_torch_module(name, torch)
    if module is not None:
        out.append(module)


def _torch_batch_norm(bn: BatchNorm1d, torch: Any) -> Any:
    t = torch.nn.BatchNorm1d(bn.num_features, eps=bn.eps, momentum=bn.momentum, affine=bn.affine,
                             track_running_stats=bn.track_running_stats, dtype=torch.float64)
    with torch.no_grad():
        if bn.affine:
            t.weight.copy_(torch.tensor([g.data for g in bn.gamma], dtype=torch.float64))
            t.bias.copy_(torch.tensor([b.data for b in bn.beta], dtype=torch.float64))
        if bn.track_running_stats:  # otherwise both sides have no buffers (running_mean is None)
            t.running_mean.copy_(torch.tensor(bn.running_mean, dtype=torch.float64))
            t.running_var.copy_(torch.tensor(bn.running_var, dtype=torch.float64))
            t.num_batches_tracked.fill_(bn.num_batches_tracked)
    return t


def from_torch(module: Any) -> Module:
    """Our equivalent of a PyTorch model: ``Sequential`` of supported layers (or a ``Linear``).

    A ``Linear`` followed by an activation becomes one :class:`Layer` with that activation; an
    activation after batch norm becomes an :class:`Activation`. When the layers fit
    :class:`MLP` (same hidden activation, linear last layer) an ``MLP`` is returned. Raises
    ``TypeError`` naming the first unsupported layer, ``ValueError`` for a supported layer with
    an unsupported setting (e.g. ``LeakyReLU(0.2)``), ``ImportError`` without PyTorch.
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch() needs a torch.nn.Module, got {type(module).__name__}")
    flat = _flatten(module, torch)
    layers: list[Module] = []
    i = 0
    while i < len(flat):
        m = flat[i]
        if isinstance(m, torch.nn.Linear):
            act = _activation_name(flat[i + 1], torch) if i + 1 < len(flat) else None
            layers.append(_layer(m, act or "linear"))
            i += 2 if act else 1
        elif isinstance(m, torch.nn.BatchNorm1d):
            layers.append(_batch_norm(m))
            i += 1
        else:
            name = _activation_name(m, torch)
            if name is None:
                raise TypeError(f"from_torch() cannot convert {m!r} (layer {i}); supported: Linear, ReLU, Tanh, "
                                "Sigmoid, LeakyReLU(0.01), Identity, BatchNorm1d in a Sequential")
            layers.append(Activation(name))
            i += 1
    model = _as_mlp(layers) or Sequential(*layers)
    model.train(module.training)
    return model


def _flatten(module: Any, torch: Any) -> list[Any]:
    if isinstance(module, torch.nn.Sequential):
        return [m for child in module for m in _flatten(child, torch) if not isinstance(m, torch.nn.Identity)]
    return [module]


def _activation_name(m: Any, torch: Any) -> str | None:
    return from_torch_module(m, torch)


def _floats(t: Any) -> list[Any]:
    return t.detach().to("cpu").double().tolist()


def _layer(linear: Any, activation: str) -> Layer:
    bias = linear.bias is not None
    layer = Layer(linear.in_features, linear.out_features, activation=activation, bias=bias, rng=0)
    for neuron, row in zip(layer.neurons, _floats(linear.weight)):
        for w, x in zip(neuron.w, row):
            w.data = x
    if bias:
        for neuron, b in zip(layer.neurons, _floats(linear.bias)):
            assert neuron.b is not None  # the layer was built with bias=True
            neuron.b.data = b
    return layer


def _batch_norm(t: Any) -> BatchNorm1d:
    # torch decides by its buffers (eval mode uses batch statistics when running_mean is None), we
    # by the flag: they agree unless the flag was changed after construction, which we cannot mirror.
    if bool(t.track_running_stats) != (t.running_mean is not None):
        raise ValueError(f"from_torch() cannot convert {t!r}: track_running_stats={t.track_running_stats} but its "
                         f"running_mean is {'None' if t.running_mean is None else 'set'} (the flag was changed after "
                         "construction); build it with the flag it should have")
    bn = BatchNorm1d(t.num_features, eps=t.eps, momentum=t.momentum, affine=t.affine,
                     track_running_stats=bool(t.track_running_stats))
    if t.affine:
        for g, x in zip(bn.gamma, _floats(t.weight)):
            g.data = x
        for b, x in zip(bn.beta, _floats(t.bias)):
            b.data = x
    if bn.track_running_stats:
        bn.running_mean = _floats(t.running_mean)
        bn.running_var = _floats(t.running_var)
        bn.num_batches_tracked = int(t.num_batches_tracked.item())
    return bn


def _as_mlp(layers: list[Module]) -> MLP | None:
    """The same layers as an :class:`MLP` when they have its shape, else ``None``."""
    dense = [m for m in layers if isinstance(m, Layer)]  # the MLP shape needs every module to be a Layer
    if not layers or len(dense) != len(layers) or dense[-1].activation != "linear":
        return None
    hidden = {m.activation for m in dense[:-1]}
    if len(hidden) > 1 or "linear" in hidden or len({m.bias for m in dense}) != 1:
        return None
    sizes = [m.nout for m in dense]
    if any(a.nout != b.nin for a, b in itertools.pairwise(dense)):
        return None
    mlp = MLP(dense[0].nin, sizes, activation=hidden.pop() if hidden else "relu", bias=dense[0].bias, rng=0)
    for mine, theirs in zip(mlp.parameters(), [p for m in dense for p in m.parameters()]):
        mine.data = theirs.data
    return mlp
