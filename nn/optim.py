"""Optimizers: turn ∂C/∂w (each parameter's ``grad``) into an update of w.

Each follows ``torch.optim``'s algorithm, defaults and error messages, on plain floats, so the
same gradients give the same updates (to rounding). With g = ∂C/∂w:

* **SGD**: w ← w − η·g. With momentum μ a velocity v ← μ·v + (1 − dampening)·g remembers past
  gradients, so steps build up along directions that agree and cancel along ones that zigzag;
  Nesterov looks ahead, using g + μ·v.
* **Adam**: running means of g and g² (m, v) with bias correction for their zero start:
  w ← w − η · m̂ / (√v̂ + ε), a per-parameter step size.
* **AdamW**: Adam with decoupled weight decay w ← w·(1 − η·λ) instead of adding λ·w to g.
* **RMSprop**: w ← w − η · g / (√E[g²] + ε).

Parameters live in ``param_groups`` (a list of dicts, as in PyTorch); the ``lr`` attribute
reads and sets every group's learning rate, so schedules can change it between steps.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Iterable
from operator import is_
from typing import Any

import numpy as np

from autograd_core import Value

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "FlatOptimizer", "OPTIMIZERS", "optimizer_class"]


def _grad(p: Value) -> float:
    g = p.grad
    if isinstance(g, Value):
        return g.data
    return float(g)


def _divide(a: float, b: float) -> float:
    """a / b with IEEE semantics, as torch computes it: x/0 is ±inf and 0/0 is nan, never an exception."""
    if b != 0.0:
        return a / b
    if a == 0.0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}: {value!r}")
    return float(value)


class Optimizer:
    """Base class: holds ``param_groups`` and per-parameter ``state``; subclasses define ``step``."""

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        if hasattr(params, "parameters") and callable(params.parameters):
            params = params.parameters()
        if isinstance(params, Value):
            raise TypeError("params must be an iterable of Values (e.g. model.parameters()), got a single Value")
        if not isinstance(params, Iterable):
            raise TypeError(f"params must be an iterable of Values or of dicts, got {type(params).__name__}")
        items = list(params)
        if not items:
            raise ValueError("optimizer got an empty parameter list")
        groups = items if isinstance(items[0], dict) else [{"params": items}]
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Value, dict[str, Any]] = {}
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (missing ones use the defaults)."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError("a parameter group must be a dict with a 'params' list")
        params = group["params"]
        params = [params] if isinstance(params, Value) else list(params)
        for p in params:
            if not isinstance(p, Value):
                raise TypeError(f"optimizer can only optimize Values, got {type(p).__name__}")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise TypeError(f"unknown hyper-parameters {sorted(unknown)} for {type(self).__name__}")
        full = {**self.defaults, **group, "params": params}
        self._check(full)
        self.param_groups.append(full)

    def _check(self, group: dict[str, Any]) -> None:
        lr = _number("lr", group["lr"])
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if "weight_decay" in group and not 0.0 <= _number("weight_decay", group["weight_decay"]):
            raise ValueError(f"Invalid weight_decay value: {group['weight_decay']}")

    @property
    def lr(self) -> float:
        """The learning rate η of the first group; setting it sets every group's."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        value = _number("lr", value)
        if not 0.0 <= value:
            raise ValueError(f"Invalid learning rate: {value}")
        for group in self.param_groups:
            group["lr"] = value

    def parameters(self) -> list[Value]:
        return [p for g in self.param_groups for p in g["params"]]

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0.0."""
        for p in self.parameters():
            p.grad = 0.0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter; ``closure`` (re-evaluates the loss) is called first if given."""
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                g = _grad(p)
                if group.get("maximize", False):
                    g = -g
                self._update(p, g, group, self.state.setdefault(p, {}))
        return loss

    def _update(self, p: Value, g: float, group: dict[str, Any], state: dict[str, Any]) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}`` as PyTorch."""
        index = {p: i for i, p in enumerate(self.parameters())}
        groups = [{**{k: v for k, v in g.items() if k != "params"}, "params": [index[p] for p in g["params"]]}
                  for g in self.param_groups]
        state = {index[p]: copy.deepcopy(s) for p, s in self.state.items() if s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and per-parameter state saved by :meth:`state_dict`."""
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError("an optimizer state_dict must be a dict with keys 'state' and 'param_groups'")
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(groups)} parameter groups, this optimizer has "
                             f"{len(self.param_groups)}")
        for i, (saved, mine) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(mine["params"]):
                raise ValueError(f"parameter group {i} has {len(saved['params'])} parameters in the state dict but "
                                 f"{len(mine['params'])} here")
        params = self.parameters()
        for saved, mine in zip(groups, self.param_groups):
            update = {k: v for k, v in saved.items() if k != "params"}
            self._check({**mine, **update})
            mine.update(update)
        self.state = {}
        for key, s in state_dict["state"].items():
            i = int(key)
            if not 0 <= i < len(params):
                raise ValueError(f"state dict has state for parameter {i}, but there are only {len(params)}")
            self.state[params[i]] = copy.deepcopy(s)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params")
        return "\n".join([*lines, ")"])


class SGD(Optimizer):
    """Gradient descent with optional momentum (``torch.optim.SGD``).

    g ← g + λ·w (weight decay); v ← g on the first step, then v ← μ·v + (1 − dampening)·g;
    g ← g + μ·v (Nesterov) or v; w ← w − η·g. A parameter whose gradient is 0 is left
    unchanged without momentum and weight decay.
    """

    def __init__(self, params: Any, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize})

    def _check(self, group: dict[str, Any]) -> None:
        super()._check(group)
        if not 0.0 <= _number("momentum", group["momentum"]):
            raise ValueError(f"Invalid momentum value: {group['momentum']}")
        _number("dampening", group["dampening"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update(self, p: Value, g: float, group: dict[str, Any], state: dict[str, Any]) -> None:
        wd, mu = group["weight_decay"], group["momentum"]
        if wd != 0:
            g = g + wd * p.data
        if mu != 0:
            buf = state.get("momentum_buffer")
            buf = g if buf is None else mu * buf + (1 - group["dampening"]) * g
            state["momentum_buffer"] = buf
            g = g + mu * buf if group["nesterov"] else buf
        p.data = p.data - group["lr"] * g

    def _array_update(self, w: np.ndarray, g: np.ndarray, group: dict[str, Any], state: dict[str, Any],
                      work: np.ndarray) -> None:
        wd, mu = group["weight_decay"], group["momentum"]
        if wd != 0:
            g = g + wd * w
        if mu != 0:
            buf = state.get("momentum_buffer")
            buf = g.copy() if buf is None else mu * buf + (1 - group["dampening"]) * g
            state["momentum_buffer"] = buf
            g = g + mu * buf if group["nesterov"] else buf
        # w ← w − η·g through a preallocated buffer: no new array of the parameters' size per step.
        np.multiply(g, group["lr"], out=work)
        w -= work


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``): per-parameter steps from running moments of g.

    m ← β₁·m + (1 − β₁)·g, v ← β₂·v + (1 − β₂)·g², t ← t + 1;
    w ← w − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε). ``amsgrad`` uses the running max of v.
    ``weight_decay`` adds λ·w to g (L2, coupled); see :class:`AdamW` for the decoupled form.
    """

    _decoupled = False

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                                  "amsgrad": amsgrad, "maximize": maximize})

    def _check(self, group: dict[str, Any]) -> None:
        super()._check(group)
        if not 0.0 <= _number("eps", group["eps"]):
            raise ValueError(f"Invalid epsilon value: {group['eps']}")
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        for i, b in enumerate(betas):
            if not 0.0 <= _number(f"betas[{i}]", b) < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {b}")

    def _update(self, p: Value, g: float, group: dict[str, Any], state: dict[str, Any]) -> None:
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        if not state:
            state.update(step=0.0, exp_avg=0.0, exp_avg_sq=0.0)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = 0.0
        state["step"] += 1.0
        if wd != 0:
            if self._decoupled:
                p.data = p.data * (1 - lr * wd)
            else:
                g = g + wd * p.data
        # PyTorch's lerp: m + (1 − β₁)(g − m), the same average as β₁·m + (1 − β₁)·g.
        state["exp_avg"] = state["exp_avg"] + (1 - beta1) * (g - state["exp_avg"])
        state["exp_avg_sq"] = state["exp_avg_sq"] * beta2 + (1 - beta2) * g * g
        step = state["step"]
        bias_correction1 = 1 - beta1**step
        bias_correction2_sqrt = math.sqrt(1 - beta2**step)
        second = state["exp_avg_sq"]
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = max(state["max_exp_avg_sq"], second)
            second = state["max_exp_avg_sq"]
        denom = math.sqrt(second) / bias_correction2_sqrt + eps
        # ε = 0 with g = 0 gives 0/0: nan, as in torch (the user asked for no safety margin).
        p.data = p.data + (-(lr / bias_correction1)) * _divide(state["exp_avg"], denom)

    def _array_update(self, w: np.ndarray, g: np.ndarray, group: dict[str, Any], state: dict[str, Any],
                      work: np.ndarray) -> None:
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        if not state:
            state.update(step=0.0, exp_avg=np.zeros_like(w), exp_avg_sq=np.zeros_like(w))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(w)
        state["step"] += 1.0
        if wd != 0:
            if self._decoupled:
                w *= 1 - lr * wd
            else:
                g = g + wd * w
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - beta1) * (g - m)
        v *= beta2
        v += (1 - beta2) * g * g
        step = state["step"]
        bias_correction1 = 1 - beta1**step
        bias_correction2_sqrt = math.sqrt(1 - beta2**step)
        second = v
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            second = state["max_exp_avg_sq"]
        denom = np.sqrt(second) / bias_correction2_sqrt + eps
        w += (-(lr / bias_correction1)) * (m / denom)


class AdamW(Adam):
    """AdamW (``torch.optim.AdamW``): Adam with decoupled weight decay w ← w·(1 − η·λ), λ = 0.01."""

    _decoupled = True

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize)


class RMSprop(Optimizer):
    """RMSprop (``torch.optim.RMSprop``): divide g by a running root-mean-square of g.

    s ← α·s + (1 − α)·g²; centred: ḡ ← α·ḡ + (1 − α)·g and s − ḡ² in place of s;
    d = √s + ε; w ← w − η·g/d, or with momentum b ← μ·b + g/d, w ← w − η·b.
    """

    def __init__(self, params: Any, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                                  "momentum": momentum, "centered": centered, "maximize": maximize})

    def _check(self, group: dict[str, Any]) -> None:
        super()._check(group)
        if not 0.0 <= _number("eps", group["eps"]):
            raise ValueError(f"Invalid epsilon value: {group['eps']}")
        if not 0.0 <= _number("momentum", group["momentum"]):
            raise ValueError(f"Invalid momentum value: {group['momentum']}")
        if not 0.0 <= _number("alpha", group["alpha"]):
            raise ValueError(f"Invalid alpha value: {group['alpha']}")

    def _update(self, p: Value, g: float, group: dict[str, Any], state: dict[str, Any]) -> None:
        lr, alpha, eps, wd, mu = group["lr"], group["alpha"], group["eps"], group["weight_decay"], group["momentum"]
        if not state:
            state.update(step=0.0, square_avg=0.0)
            if mu > 0:
                state["momentum_buffer"] = 0.0
            if group["centered"]:
                state["grad_avg"] = 0.0
        state["step"] += 1.0
        if wd != 0:
            g = g + wd * p.data
        state["square_avg"] = state["square_avg"] * alpha + (1 - alpha) * g * g
        if group["centered"]:
            state["grad_avg"] = state["grad_avg"] + (1 - alpha) * (g - state["grad_avg"])
            # s − ḡ² ≥ 0 in exact arithmetic; clamp the rounding so sqrt never sees −1e-20.
            avg = math.sqrt(max(state["square_avg"] - state["grad_avg"] * state["grad_avg"], 0.0)) + eps
        else:
            avg = math.sqrt(state["square_avg"]) + eps
        if mu > 0:
            state["momentum_buffer"] = state["momentum_buffer"] * mu + _divide(g, avg)
            p.data = p.data - lr * state["momentum_buffer"]
        else:
            p.data = p.data - lr * _divide(g, avg)

    def _array_update(self, w: np.ndarray, g: np.ndarray, group: dict[str, Any], state: dict[str, Any],
                      work: np.ndarray) -> None:
        lr, alpha, eps, wd, mu = group["lr"], group["alpha"], group["eps"], group["weight_decay"], group["momentum"]
        if not state:
            state.update(step=0.0, square_avg=np.zeros_like(w))
            if mu > 0:
                state["momentum_buffer"] = np.zeros_like(w)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(w)
        state["step"] += 1.0
        if wd != 0:
            g = g + wd * w
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * g * g
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg += (1 - alpha) * (g - grad_avg)
            avg = np.sqrt(np.maximum(square_avg - grad_avg * grad_avg, 0.0)) + eps
        else:
            avg = np.sqrt(square_avg) + eps
        if mu > 0:
            buf = state["momentum_buffer"]
            buf *= mu
            buf += g / avg
            w -= lr * buf
        else:
            w -= lr * (g / avg)


OPTIMIZERS: dict[str, type[Optimizer]] = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW, "RMSprop": RMSprop}
"""The optimizer vocabulary, by class name (look names up case-insensitively with :func:`optimizer_class`)."""


def optimizer_class(name: str) -> type[Optimizer]:
    """The optimizer class called ``name`` (``"adam"``, ``"SGD"``, …); ``ValueError`` listing the known ones."""
    found = {k.lower(): v for k, v in OPTIMIZERS.items()}.get(str(name).lower())
    if found is None:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {list(OPTIMIZERS)}")
    return found


def _has_array_form(optimizer: Optimizer) -> bool:
    # The array rule is valid only where it sits beside the _update it mirrors: a subclass that
    # rewrites _update (or step) has no array form and runs on the Values.
    cls = type(optimizer)
    owner_array = next((k for k in cls.__mro__ if "_array_update" in vars(k)), None)
    owner_update = next((k for k in cls.__mro__ if "_update" in vars(k)), None)
    return cls.step is Optimizer.step and owner_array is not None and owner_array is owner_update


class FlatOptimizer:
    """An optimizer's update applied to one flat parameter vector θ and its gradient vector.

    ``FlatOptimizer(optimizer, params)`` lays each parameter group over θ, where ``θ[i]`` is
    ``params[i].data``; :meth:`step` does what ``optimizer.step()`` does to the Values — the
    same formulas in the same order, elementwise, so the same numbers — on the arrays. The
    hyper-parameters (``lr`` set by a schedule included) are read from ``optimizer.param_groups``
    on every step. Per-parameter state starts from ``optimizer.state`` and is written back as
    floats by :meth:`write_state`, so ``optimizer.state_dict()`` after that is the eager one.

    Raises ``TypeError`` for an optimizer with no array form (a subclass that changes
    ``_update`` or ``step``) and ``ValueError`` when a group's parameters are not all in
    ``params`` or their saved states differ in kind (then run it on the Values instead).
    """

    def __init__(self, optimizer: Optimizer, params: Iterable[Value]) -> None:
        if not _has_array_form(optimizer):
            raise TypeError(f"{type(optimizer).__name__} has no array form (it changes _update or step)")
        self.optimizer = optimizer
        self._work = np.empty(0)
        params = list(params)
        self.groups: list[tuple[dict[str, Any], Any, dict[str, Any]]] = []
        groups = optimizer.param_groups
        if len(groups) == 1 and len(groups[0]["params"]) == len(params) and all(map(is_, groups[0]["params"], params)):
            # The usual case, Optimizer(model.parameters()): the group is θ itself.
            self.groups.append((groups[0], slice(0, len(params)), self._gather_state(params)))
            return
        position = {id(p): i for i, p in enumerate(params)}
        for group in groups:
            try:
                rows = [position[id(p)] for p in group["params"]]
            except KeyError:
                raise ValueError("the optimizer holds a parameter that is not among the model's parameters") from None
            index: Any = np.array(rows, dtype=np.intp)
            if rows == list(range(rows[0], rows[0] + len(rows))):
                index = slice(rows[0], rows[0] + len(rows))
            self.groups.append((group, index, self._gather_state(group["params"])))

    def _gather_state(self, params: list[Value]) -> dict[str, Any]:
        if not any(self.optimizer.state.values()):
            return {}
        states = [self.optimizer.state.get(p) or {} for p in params]
        keys = {tuple(sorted(s)) for s in states}
        if len(keys) != 1:
            raise ValueError("the parameters of a group are at different points of the optimizer's state")
        state: dict[str, Any] = {}
        for key in keys.pop():
            column = [s[key] for s in states]
            if key == "step":
                if len(set(column)) != 1:
                    raise ValueError("the parameters of a group have taken different numbers of steps")
                state[key] = float(column[0])
            else:
                state[key] = np.array([float(v) for v in column], dtype=np.float64)
        return state

    def step(self, theta: np.ndarray, grad: np.ndarray) -> None:
        """θ ← update(θ, ∂C/∂θ) for every group, in place."""
        update = self.optimizer._array_update  # type: ignore[attr-defined]
        if self._work.shape != theta.shape or self._work.dtype != theta.dtype:
            self._work = np.empty_like(theta)
        for group, index, state in self.groups:
            g = grad[index]
            if group.get("maximize", False):
                g = -g
            if type(index) is slice:
                update(theta[index], g, group, state, self._work[index])
            else:
                w = theta[index]
                update(w, g, group, state, np.empty_like(w))
                theta[index] = w

    def write_state(self) -> None:
        """Copy the array state into ``optimizer.state`` (one dict of floats per parameter)."""
        target = self.optimizer.state
        for group, _, state in self.groups:
            if not state:
                continue  # a stateless update (plain SGD) leaves no state, as state_dict() shows
            columns = {k: (v.tolist() if isinstance(v, np.ndarray) else None) for k, v in state.items()}
            for i, p in enumerate(group["params"]):
                target[p] = {k: (state[k] if col is None else col[i]) for k, col in columns.items()}
