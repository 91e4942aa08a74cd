"""nn: neurons, layers, MLPs, losses, optimizers, batch norm, datasets and a training loop.

Built only on ``autograd_core``'s public API. With the defaults it is a drop-in for
micrograd's ``nn`` (same weights after the same ``random.seed``, same numbers), and where
PyTorch has the same thing the names, defaults and numbers follow PyTorch.

    import random, nn
    random.seed(1337)
    model = nn.MLP(2, [16, 16, 1])
    X, y = nn.datasets.make_moons(100, noise=0.1, seed=1337)
    history = nn.fit(model, X, y, loss="hinge", alpha=1e-4, steps=100)
"""

from importlib import import_module
from typing import Any

from . import datasets, initializers, losses, lr_scheduler, optim
from .batchnorm import BatchNorm1d
from .datasets import make_circles, make_gaussians, make_moons, make_spiral, make_xor, to_pm1
from .layers import MLP, Activation, Layer, Neuron, Sequential, build
from .losses import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    log_softmax,
    mse_loss,
    softmax,
)
from .lr_scheduler import CosineAnnealingLR, LinearLR, StepLR
from .module import Module
from .optim import SGD, Adam, AdamW, Optimizer, RMSprop
from .predict import accuracy, predict
from .train import History, fit

__all__ = [
    "Module",
    "Neuron",
    "Layer",
    "Activation",
    "Sequential",
    "MLP",
    "BatchNorm1d",
    "build",
    "mse_loss",
    "hinge_loss",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "softmax",
    "log_softmax",
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "StepLR",
    "LinearLR",
    "CosineAnnealingLR",
    "make_moons",
    "make_circles",
    "make_xor",
    "make_spiral",
    "make_gaussians",
    "to_pm1",
    "fit",
    "History",
    "predict",
    "accuracy",
    "datasets",
    "initializers",
    "losses",
    "optim",
    "lr_scheduler",
    "save",
    "load",
    "load_optimizer",
    "load_scheduler",
    "to_torch",
    "from_torch",
    "plot_decision_boundary",
    "plot_history",
    "plot_optimizer_paths",
    "plot_gradient_flow",
    "draw_architecture",
    "neuron_heatmaps",
    "Playground",
]

# Names from the optional modules, resolved on first use so ``import nn`` never pays for them
# (and never fails because of them).
_LAZY = {
    "save": "io",
    "load": "io",
    "load_optimizer": "io",
    "load_scheduler": "io",
    "to_torch": "torch_bridge",
    "from_torch": "torch_bridge",
    "plot_decision_boundary": "plots",
    "plot_history": "plots",
    "plot_optimizer_paths": "plots",
    "plot_gradient_flow": "plots",
    "draw_architecture": "draw_model",
    "neuron_heatmaps": "draw_model",
    "Playground": "playground",
}
_LAZY_MODULES = {"io", "torch_bridge", "plots", "draw_model", "compiled", "playground"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    if name in _LAZY_MODULES:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'nn' has no attribute {name!r}")
