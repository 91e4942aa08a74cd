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

from . import init
from .batchnorm import BatchNorm1d
from .layers import MLP, Activation, Layer, Neuron, Sequential, build
from .module import Module

__all__ = ["Module", "Neuron", "Layer", "Activation", "Sequential", "MLP", "BatchNorm1d", "build", "init"]
