"""The functional API, as in JAX and HIPS autograd: ``grad(f)`` is a function.

``grad(f)(x)`` returns ∂f/∂x at x without touching any ``.grad``. Called on plain numbers it
returns floats; called on Values, or anywhere inside another ``grad`` (where ``f`` may close
over the outer variable), it returns Values that are differentiable again, so ``grad(grad(f))``
gives second derivatives:

    grad(grad(lambda x: x**3))(3.0) == 18.0      # d²/dx² x³ = 6x

Like ``torch.func`` and JAX, these are function transforms: they give the same answer inside
``no_grad()`` as outside (they record ``f`` whatever the ambient mode).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any

from .backward import gradients
from .modes import enable_grad
from .value import Value, to_float

__all__ = ["grad", "value_and_grad"]


class _Nesting(threading.local):
    # How many grad calls are running f in this thread. Inside one, a grad called on plain
    # numbers may still close over the outer call's Value (grad(lambda x: grad(lambda y: x*y)(2.0))),
    # so its result must stay a differentiable Value.
    depth = 0


_NESTING = _Nesting()


def _normalise_argnums(argnums: int | Sequence[int], nargs: int) -> tuple[int, ...]:
    many = not isinstance(argnums, int)
    nums: tuple[int, ...] = tuple(argnums) if many else (argnums,)  # type: ignore[arg-type,assignment]
    for n in nums:
        if not isinstance(n, int) or not -nargs <= n < nargs:
            raise ValueError(f"argnums {argnums!r} does not fit a call with {nargs} positional arguments")
    return tuple(n % nargs for n in nums)


def value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., tuple[Any, Any]]:
    """``f`` → a function returning ``(f(*args), ∂f/∂args[argnums])``.

    ``argnums`` may be an int (one gradient) or a tuple (a tuple of gradients, one per entry:
    ``argnums=(0, 0)`` gives ∂f/∂args[0] twice, as JAX does). ``f`` must return a Value or a
    number (a constant function has gradient 0.0). As ``torch.func`` and JAX, the result
    does not depend on the ambient mode: ``f`` is recorded even inside ``no_grad()`` (a
    ``no_grad`` block inside ``f`` still applies).
    """
    tuple_out = not isinstance(argnums, int)

    @functools.wraps(f)
    def value_and_grad_f(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        nums = _normalise_argnums(argnums, len(args))
        nested = _NESTING.depth > 0 or any(isinstance(args[n], Value) for n in nums)
        call_args = list(args)
        inputs: dict[int, Value] = {}
        for n in dict.fromkeys(nums):
            # A Value argument (from an outer grad) is differentiated in place so the result
            # stays connected to it; a number gets a fresh leaf.
            x = args[n] if isinstance(args[n], Value) else Value(to_float(args[n]))
            call_args[n] = inputs[n] = x
        _NESTING.depth += 1
        try:
            with enable_grad():
                out = f(*call_args, **kwargs)
                if isinstance(out, Value):
                    grads = gradients(out, [inputs[n] for n in nums], create_graph=nested)
        finally:
            _NESTING.depth -= 1
        if not isinstance(out, Value):
            try:
                value = to_float(out)
            except TypeError:
                kind = type(out).__name__
                raise TypeError(f"grad: the function must return a Value or a number, got {kind}") from None
            grads = tuple(0.0 for _ in nums)
            return value, grads if tuple_out else grads[0]
        value_or_node: Any = out if nested else out.data
        return value_or_node, grads if tuple_out else grads[0]

    return value_and_grad_f


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """``f`` → the function ∂f/∂args[argnums]; see :func:`value_and_grad`."""
    vg = value_and_grad(f, argnums)

    @functools.wraps(f)
    def grad_f(*args: Any, **kwargs: Any) -> Any:
        return vg(*args, **kwargs)[1]

    return grad_f
