"""Neurons, layers and MLPs: micrograd's ``nn.py``, extended and named.

A neuron computes z = w·x + b and a = σ(z). With the defaults every class is a drop-in for
micrograd's: same weights after the same ``random.seed``, same arithmetic order, same reprs.
Keyword options add other activations, initialisations, a private random source ``rng``,
``bias=False`` and batch normalisation.
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

from autograd_core import Value

from .activations import ACTIVATIONS, activation_function, activation_spec, check_activation
from .batchnorm import BatchNorm1d
from .config_schema import (
    ConfigCheck,
    ConfigCost,
    choice,
    config_cost,
    flag,
    module_list,
    momentum,
    positive,
    width,
    widths,
)
from .initializers import INITS, RandomLike, check_init, draw_weights, resolve_rng
from .module import Module

__all__ = ["Neuron", "Layer", "Activation", "Sequential", "MLP", "build"]



def _check_count(name: str, n: Any) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{name} must be a positive int, got {n!r}")
    return n


def _check_width(x: list[Any], nin: int, who: str) -> None:
    if len(x) != nin:
        raise ValueError(f"{who} expects samples of {nin} features, got a sample of {len(x)}")


class Neuron(Module):
    """One unit: z = w·x + b = b + w₀x₀ + w₁x₁ + …, then a = σ(z).

    ``nonlin=True`` means ReLU (micrograd); ``activation`` overrides it with any name of
    ``nn.activations.ACTIVATIONS`` (``'tanh'``, ``'gelu'``, ``'linear'`` …). Weights are drawn
    in order from ``rng`` (global :mod:`random` by default) with scheme ``init``; the bias starts at 0.
    """

    config_schema: ClassVar[dict[str, ConfigCheck]] = {
        "nin": width,
        "activation": choice(ACTIVATIONS),
        "init": choice(INITS),
        "bias": flag,
    }

    @classmethod
    def config_cost(cls, config: dict[str, Any]) -> ConfigCost:
        return ConfigCost(parameters=config["nin"] + config["bias"])

    def __init__(self, nin: int, nonlin: bool = True, *, activation: str | None = None, init: str = "micrograd",
                 rng: RandomLike | Any = None, bias: bool = True, fan_out: int = 1) -> None:
        _check_count("nin", nin)
        self.activation = check_activation(activation if activation is not None else
                                           ("relu" if nonlin else "linear"))
        self.init = check_init(init)
        source = resolve_rng(rng) if not hasattr(rng, "uniform") else rng
        self.w = [Value(wi, f"w{i}") for i, wi in enumerate(draw_weights(nin, fan_out, init, source))]
        self.b = Value(0, "b") if bias else None
        self._sigma = activation_function(self.activation)

    @property
    def nonlin(self) -> bool:
        """micrograd's flag: whether an activation follows z."""
        return self.activation != "linear"

    def forward(self, x: list[Any]) -> Value:
        _check_width(x, len(self.w), repr(self))
        return self.act(x)

    def act(self, x: list[Any]) -> Value:
        """a = σ(w·x + b) without checking the width of ``x`` (layers check once)."""
        # The same sum as micrograd's sum(..., b), term by term from the left (so the same
        # graph and the same floats), as a plain loop: no generator to resume per term.
        if self.b is not None:
            z = self.b
            terms = zip(self.w, x)
        else:
            z = self.w[0] * x[0]
            terms = zip(self.w[1:], x[1:])
        for wi, xi in terms:
            z = z + wi * xi
        if self.activation == "relu":
            return z.relu()
        return self._sigma(z)

    def config(self) -> dict[str, Any]:
        return {"type": "Neuron", "nin": len(self.w), "activation": self.activation, "bias": self.b is not None,
                "init": self.init}

    def __repr__(self) -> str:
        return f"{activation_spec(self.activation).title}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs: a = σ(W·x + b).

    One output is returned as a single Value (as micrograd), several as a list.
    """

    config_schema: ClassVar[dict[str, ConfigCheck]] = {
        "nin": width,
        "nout": width,
        "activation": choice(ACTIVATIONS),
        "init": choice(INITS),
        "bias": flag,
    }

    @classmethod
    def config_cost(cls, config: dict[str, Any]) -> ConfigCost:
        # The layer and one Neuron per output.
        return ConfigCost(parameters=(config["nin"] + config["bias"]) * config["nout"], modules=1 + config["nout"])

    def __init__(self, nin: int, nout: int, *, rng: RandomLike | Any = None, **kwargs: Any) -> None:
        _check_count("nin", nin)
        _check_count("nout", nout)
        source = resolve_rng(rng) if not hasattr(rng, "uniform") else rng
        self.neurons = [Neuron(nin, rng=source, fan_out=nout, **kwargs) for _ in range(nout)]

    @property
    def nin(self) -> int:
        return len(self.neurons[0].w)

    @property
    def nout(self) -> int:
        return len(self.neurons)

    @property
    def activation(self) -> str:
        return self.neurons[0].activation

    @property
    def bias(self) -> bool:
        return self.neurons[0].b is not None

    def forward(self, x: list[Any]) -> list[Value]:
        _check_width(x, self.nin, f"Layer({self.nin}, {self.nout})")
        return [n.act(x) for n in self.neurons]

    def present(self, out: Any) -> Any:
        return out[0] if len(out) == 1 else out

    def config(self) -> dict[str, Any]:
        return {"type": "Layer", "nin": self.nin, "nout": self.nout, "activation": self.activation,
                "bias": self.bias, "init": self.neurons[0].init}

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class Activation(Module):
    """An elementwise a = σ(z) with no parameters (used after batch norm)."""

    config_schema: ClassVar[dict[str, ConfigCheck]] = {"name": choice(ACTIVATIONS)}

    def __init__(self, name: str = "relu") -> None:
        self.name = check_activation(name)
        self._sigma = activation_function(name)

    def forward(self, x: list[Any]) -> list[Any]:
        sigma = self._sigma
        return [sigma(v if isinstance(v, Value) else Value(v)) for v in x]

    def config(self) -> dict[str, Any]:
        return {"type": "Activation", "name": self.name}

    def __repr__(self) -> str:
        return activation_spec(self.name).module_repr


class Sequential(Module):
    """Modules applied in order, kept in ``.layers`` (so names read ``layers.0…``)."""

    config_schema: ClassVar[dict[str, ConfigCheck]] = {"layers": module_list}

    @classmethod
    def config_cost(cls, config: dict[str, Any]) -> ConfigCost:
        return sum((config_cost(layer) for layer in config["layers"]), ConfigCost())

    def __init__(self, *layers: Module) -> None:
        for layer in layers:
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential takes Modules, got {type(layer).__name__}")
        self.layers = list(layers)

    def forward(self, x: list[Any]) -> Any:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def forward_batch(self, X: list[list[Any]]) -> list[Any]:
        for layer in self.layers:
            X = layer.forward_batch(X)
        return X

    def present(self, out: Any) -> Any:
        return self.layers[-1].present(out) if self.layers else out

    def config(self) -> dict[str, Any]:
        return {"type": "Sequential", "layers": [layer.config() for layer in self.layers]}

    def __repr__(self) -> str:
        return f"Sequential of [{', '.join(str(layer) for layer in self.layers)}]"


class MLP(Sequential):
    """A multi-layer perceptron: hidden layers a = σ(W·x + b), a linear last layer.

    ``MLP(2, [16, 16, 1])`` is micrograd's demo network. ``activation`` picks σ for the hidden
    layers; ``batch_norm=True`` puts :class:`BatchNorm1d` between each hidden layer's linear part
    z and its activation (z → BN(z) → σ), so ``layers`` reads Layer, BatchNorm1d, Activation, … .
    With batch norm the model must be called on a batch in training mode. ``rng`` (an int seed
    or a ``random.Random``) makes the weights reproducible without touching global ``random``.
    """

    config_schema: ClassVar[dict[str, ConfigCheck]] = {
        "nin": width,
        "nouts": widths,
        "activation": choice(ACTIVATIONS),
        "init": choice(INITS),
        "bias": flag,
        "batch_norm": flag,
        "eps": positive,
        "momentum": momentum,
    }

    @classmethod
    def config_cost(cls, config: dict[str, Any]) -> ConfigCost:
        sizes, bias = [config["nin"], *config["nouts"]], config["bias"]
        cost = ConfigCost(modules=1)
        for i, (nin, nout) in enumerate(itertools.pairwise(sizes)):
            cost += Layer.config_cost({"nin": nin, "nout": nout, "bias": bias})
            if config["batch_norm"] and i < len(config["nouts"]) - 1:
                cost += BatchNorm1d.config_cost({"num_features": nout, "affine": True, "track_running_stats": True})
                cost += ConfigCost()  # the Activation after it
        return cost

    def __init__(self, nin: int, nouts: list[int], *, activation: str = "relu", init: str = "micrograd",
                 rng: RandomLike | Any = None, bias: bool = True, batch_norm: bool = False, eps: float = 1e-5,
                 momentum: float | None = 0.1) -> None:
        _check_count("nin", nin)
        if not isinstance(nouts, (list, tuple)) or not nouts:
            raise ValueError(f"nouts must be a non-empty list of layer sizes, got {nouts!r}")
        for n in nouts:
            _check_count("every layer size in nouts", n)
        check_activation(activation)
        source = resolve_rng(rng) if not hasattr(rng, "uniform") else rng
        sz = [nin, *nouts]
        layers: list[Module] = []
        for i in range(len(nouts)):
            last = i == len(nouts) - 1
            act = "linear" if last or batch_norm else activation
            layers.append(Layer(sz[i], sz[i + 1], activation=act, init=init, rng=source, bias=bias))
            if batch_norm and not last:
                layers.append(BatchNorm1d(sz[i + 1], eps=eps, momentum=momentum))
                layers.append(Activation(activation))
        super().__init__(*layers)
        self.nin = nin
        self.nouts = list(nouts)
        self.activation = activation
        self.init = init
        self.bias = bias
        self.batch_norm = batch_norm
        self.eps = eps
        self.momentum = momentum

    def config(self) -> dict[str, Any]:
        return {"type": "MLP", "nin": self.nin, "nouts": list(self.nouts), "activation": self.activation,
                "init": self.init, "bias": self.bias, "batch_norm": self.batch_norm, "eps": self.eps,
                "momentum": self.momentum}

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


def build(config: dict[str, Any], *, rng: RandomLike = None) -> Module:
    """A fresh module with the architecture ``config`` describes (see ``Module.config``).

    The weights are newly drawn (from ``rng``, default global :mod:`random`); load saved ones
    with ``load_state_dict``.
    """
    if not isinstance(config, dict) or "type" not in config:
        raise ValueError(f"a model config must be a dict with a 'type' key, got {config!r:.80}")
    kind = config["type"]
    args = {k: v for k, v in config.items() if k != "type"}
    try:
        if kind == "MLP":
            return MLP(args.pop("nin"), list(args.pop("nouts")), rng=rng, **args)
        if kind == "Layer":
            return Layer(args.pop("nin"), args.pop("nout"), rng=rng, **args)
        if kind == "Neuron":
            return Neuron(args.pop("nin"), rng=rng, **args)
        if kind == "BatchNorm1d":
            return BatchNorm1d(args.pop("num_features"), **args)
        if kind == "Activation":
            return Activation(args["name"])
        if kind == "Sequential":
            return Sequential(*(build(c, rng=rng) for c in args["layers"]))
    except KeyError as e:
        raise ValueError(f"config for {kind!r} is missing the key {e.args[0]!r}") from None
    except TypeError as e:
        raise ValueError(f"config for {kind!r} has an unexpected key: {e}") from None
    raise ValueError(f"unknown module type {kind!r}; expected MLP, Layer, Neuron, BatchNorm1d, Activation or "
                     "Sequential")
