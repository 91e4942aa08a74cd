"""Custom ops in PyTorch's style: subclass :class:`Function`, call ``MyOp.apply(...)``.

    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_values
            return (3 * x ** 2 * grad_output,)

    y = Cube.apply(Value(2.0))      # y.data == 8.0; after y.backward(), x.grad == 12.0

``forward`` receives floats and returns a number; ``backward`` receives ∂C/∂out and returns
one ∂C/∂xᵢ per input (``None`` means 0). For a scalar op the backward is linear in
``grad_output``, so the engine calls it once at forward time with ``grad_output = 1`` and
stores the results as the node's local derivatives, exactly like a built-in op.
"""

from __future__ import annotations

from typing import Any

from .ops import Op
from .value import Value, _lift, new_node, to_float

__all__ = ["Function", "FunctionCtx"]


class FunctionCtx:
    """What ``forward`` hands to ``backward``: saved values and any attributes set on it."""

    def __init__(self) -> None:
        self.saved_values: tuple[Any, ...] = ()

    def save_for_backward(self, *values: Any) -> None:
        """Keep ``values`` for ``backward`` as ``ctx.saved_values`` (``saved_tensors`` also works)."""
        self.saved_values = values

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        return self.saved_values


def _no_second_order(name: str) -> Any:
    def derivative(B: Any, xs: Any, out: Any) -> tuple[Any, ...]:
        if B.__name__ == "VALUE":
            raise NotImplementedError(
                f"Function {name} has a float backward, so it cannot be differentiated twice "
                "(create_graph=True); build it from Value ops to get higher-order derivatives"
            )
        raise NotImplementedError(f"Function {name} is evaluated eagerly only (no batch/compiled rule)")

    return derivative


class Function:
    """Base class for custom scalar ops with a hand-written derivative.

    Subclasses define ``forward(ctx, *inputs) -> number`` and
    ``backward(ctx, grad_output) -> tuple`` as static methods and are used as
    ``Sub.apply(*inputs)`` with numbers or Values. Check a new backward with ``gradcheck``.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, *inputs: float) -> float:
        raise NotImplementedError("a Function subclass must define forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx: FunctionCtx, grad_output: float) -> tuple[float | None, ...] | float | None:
        raise NotImplementedError("a Function subclass must define backward(ctx, grad_output)")

    @classmethod
    def _op(cls, arity: int) -> Op:
        # One Op per subclass and arity, so nodes share it and show the class name.
        cache = cls.__dict__.get("_ops_by_arity")
        if cache is None:
            cache = {}
            cls._ops_by_arity = cache  # type: ignore[attr-defined]
        op = cache.get(arity)
        if op is None:
            op = Op(cls.__name__, arity, _forward_unavailable(cls.__name__), _no_second_order(cls.__name__))
            cache[arity] = op
        return op

    @classmethod
    def apply(cls, *inputs: Any) -> Value:
        """Run ``forward`` on the inputs' data and record one node whose local derivatives
        are ``backward(ctx, 1.0)``."""
        parents = tuple(_lift(x) for x in inputs)
        ctx = FunctionCtx()
        out = cls.forward(ctx, *[p.data for p in parents])
        try:
            out = to_float(out)
        except TypeError:
            raise TypeError(f"{cls.__name__}.forward must return a real number, got {type(out).__name__}") from None
        op = cls._op(len(parents))
        return new_node(out, parents, op, _local_grads(cls, ctx, len(parents)))


def _local_grads(cls: type[Function], ctx: FunctionCtx, arity: int) -> tuple[float, ...]:
    grads = cls.backward(ctx, 1.0)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != arity:
        raise ValueError(f"{cls.__name__}.backward returned {len(grads)} gradients for {arity} inputs")
    local = []
    for i, g in enumerate(grads):
        if g is None:
            local.append(0.0)
            continue
        try:
            local.append(to_float(g))
        except TypeError:
            raise TypeError(
                f"{cls.__name__}.backward returned {type(g).__name__} for input {i}; expected a number or None"
            ) from None
    return tuple(local)


def _forward_unavailable(name: str) -> Any:
    def forward(B: Any, *xs: Any) -> Any:
        raise NotImplementedError(f"Function {name} runs eagerly only; it has no batch/compiled rule")

    return forward
