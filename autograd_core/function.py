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
one ∂C/∂xᵢ = ∂C/∂out · ∂out/∂xᵢ per input (``None`` means 0). As in PyTorch, ``backward``
runs only when a backward pass reaches the node, once per pass, never inside ``no_grad``
(which records no node) and never at forward time. The node keeps ``ctx``, not a closure.

Second derivatives (``create_graph=True``, ``grad(grad(f))``) go through ``backward`` itself,
called on Values: ``grad_output`` is a Value, and every entry of ``ctx.saved_values`` that is
one of the arguments ``forward`` received, or the number it returned, is handed back as that
input's Value or as the output node. So a ``backward`` written with operations Values support
(``+ - * / **``, ``abs``, ``x.exp()``, ``x.tanh()`` …, not ``math.exp(x)``: a ``math``
function sees only a float, so its result would be a constant) is differentiated again;
check it with ``gradgradcheck``.
Other saved numbers and attributes set on ``ctx`` are constants to the second derivative.
"""

from __future__ import annotations

import copy
from typing import Any

from .ops import Op
from .value import Value, custom_ctx, lift, record, to_float

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
    def backward(ctx: FunctionCtx, grad_output: Any) -> tuple[Any, ...] | Any:
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
            op = custom_op(cls.__name__, arity, vjp=_Backward(cls))
            cache[arity] = op
        return op

    @classmethod
    def apply(cls, *inputs: Any) -> Value:
        """Run ``forward`` on the inputs' data and record one node that keeps ``ctx`` for
        ``backward`` (a leaf inside ``no_grad``)."""
        parents = tuple(lift(x) for x in inputs)
        ctx = FunctionCtx()
        args = _distinct([p.data for p in parents])
        out = cls.forward(ctx, *args)
        try:
            value = to_float(out)
        except TypeError:
            raise TypeError(f"{cls.__name__}.forward must return a real number, got {type(out).__name__}") from None
        # What forward saw, so backward under create_graph can swap them for Values.
        ctx._forward_args = tuple(args)  # type: ignore[attr-defined]
        ctx._forward_out = out  # type: ignore[attr-defined]
        return record(cls._op(len(parents)), parents, value, ctx)


def _distinct(args: list[float]) -> list[float]:
    # Two inputs may share one float object (Value(2.0), Value(2.0)); give each its own, so a
    # saved value is traced back to exactly one input by identity.
    seen: set[int] = set()
    for i, a in enumerate(args):
        if id(a) in seen:
            args[i] = a * 1.0  # the same number, a new object
        seen.add(id(args[i]))
    return args


class _Backward:
    """A Function's backward as the engine calls it: ``(node, ∂C/∂out, create_graph) → ∂C/∂xᵢ``."""

    def __init__(self, cls: type[Function]) -> None:
        self.cls = cls

    def __call__(self, node: Value, grad_output: Any, create_graph: bool) -> tuple[Any, ...]:
        cls = self.cls
        ctx = custom_ctx(node)
        parents = node.parents
        if create_graph:
            ctx = _on_values(ctx, parents, node)
            if not isinstance(grad_output, Value):
                grad_output = lift(grad_output)
        try:
            grads = cls.backward(ctx, grad_output)
        except TypeError as e:
            if not create_graph:
                raise
            raise TypeError(
                f"{cls.__name__}.backward failed under create_graph=True, where grad_output and the saved "
                f"inputs are Values: write it with operations Values support (+ - * / **, x.exp(), …): {e}"
            ) from e
        if not isinstance(grads, tuple):
            grads = (grads,)
        if len(grads) != len(parents):
            raise ValueError(f"{cls.__name__}.backward returned {len(grads)} gradients for {len(parents)} inputs")
        out: list[Any] = []
        for i, g in enumerate(grads):
            if g is None:
                out.append(0.0)
            elif isinstance(g, Value) and create_graph:
                out.append(g)
            else:
                try:
                    out.append(to_float(g))
                except TypeError:
                    raise TypeError(
                        f"{cls.__name__}.backward returned {type(g).__name__} for input {i}; expected a number or None"
                    ) from None
        return tuple(out)


def _on_values(ctx: FunctionCtx, parents: tuple[Value, ...], node: Value) -> FunctionCtx:
    # A copy of ctx whose saved forward arguments (and output) are the graph's Values.
    swap = {id(a): p for a, p in zip(ctx._forward_args, parents)}  # type: ignore[attr-defined]
    swap.setdefault(id(ctx._forward_out), node)  # type: ignore[attr-defined]
    view = copy.copy(ctx)
    view.saved_values = tuple([swap.get(id(s), s) for s in ctx.saved_values])
    return view


def custom_op(name: str, arity: int, vjp: Any = None) -> Op:
    """The Op of a custom node: no table rule; ``vjp`` runs its backward (``None`` for a node
    restored from a pickle, which keeps the local derivatives it was saved with)."""
    return Op(name, arity, _forward_unavailable(name), _no_second_order(name), vjp=vjp)


def _no_second_order(name: str) -> Any:
    def derivative(B: Any, xs: Any, out: Any) -> tuple[Any, ...]:
        if B.__name__ == "VALUE":
            raise NotImplementedError(
                f"op {name} was restored from a pickle with its first derivatives only, so it cannot be "
                "differentiated twice (create_graph=True); rebuild the graph with the Function class"
            )
        raise NotImplementedError(f"Function {name} is evaluated eagerly only (no batch/compiled rule)")

    return derivative


def _forward_unavailable(name: str) -> Any:
    def forward(B: Any, *xs: Any) -> Any:
        raise NotImplementedError(f"Function {name} runs eagerly only; it has no batch/compiled rule")

    return forward
