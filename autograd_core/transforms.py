"""Function transforms on top of both modes, named as in ``torch.func`` and JAX.

For f: ℝⁿ → ℝᵐ with Jacobian J (m × n, Jᵢⱼ = ∂fᵢ/∂xⱼ):

* ``vjp(f, *primals)``  → ``(f(x), vjp_fn)``, ``vjp_fn(c) = cᵀJ``: one reverse sweep per call;
* ``jvp(f, primals, tangents)`` → ``(f(x), J·ẋ)``: one forward sweep (see :mod:`.forward`);
* ``jacrev(f)`` builds J row by row (m reverse sweeps), ``jacfwd(f)`` column by column
  (n forward sweeps); ``jacobian(f)`` picks whichever needs fewer sweeps;
* ``hessian(f)`` = ``jacfwd(jacrev(f))``: the Jacobian of the gradient, forward over reverse;
* ``hvp(f, primals, tangents)`` → ``(f(x), H·v)``: one reverse sweep recorded with
  ``create_graph``, then one forward sweep over it — never the whole n × n Hessian.

``f`` is called once per transform with fresh leaf Values; its graph is then swept as often as
needed. Arguments are numbers or (nested) lists of numbers; a Jacobian has shape
``output shape + input shape`` (a numpy array of floats, or a float for scalar to scalar).
Called on Values, or inside another transform, the results are Values (nested lists), so
transforms compose: ``jacrev(jacfwd(f))``, ``grad(lambda x: hvp(f, (x,), (1.0,))[1])``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Literal

from .backward import gradients
from .forward import (
    as_leaves,
    call,
    flatten,
    forward_order,
    is_nested,
    jvp,
    output_values,
    push_forward,
    sweep_forward,
    unflatten,
)
from .value import Value, to_float

__all__ = ["vjp", "jvp", "jacrev", "jacfwd", "jacobian", "hessian", "hvp"]


def vjp(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[[Any], tuple[Any, ...]]]:
    """``(f(*primals), vjp_fn)`` with ``vjp_fn(cotangent) = (cᵀ·∂f/∂primalᵢ for each primal)``.

    ``cotangent`` has the shape of ``f``'s result (∂C/∂out for each output); each returned
    gradient has the shape of its primal. ``vjp_fn`` may be called repeatedly (as torch.func.vjp).
    """
    nested = is_nested(primals)
    args, leaves_per_arg = _leaf_args(primals, "primals")
    outs, shape = output_values(call(f, args))
    values: list[Any] = list(outs) if nested else [o.data for o in outs]
    leaves = [x for xs, _ in leaves_per_arg for x in xs]

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        cs, cshape = flatten(cotangent, "the cotangent")
        if cshape != shape:
            raise ValueError(f"vjp_fn: the cotangent has shape {cshape}, f's result has shape {shape}")
        grads = _pull_back(outs, cs, leaves, nested or is_nested(cotangent))
        return _split(grads, leaves_per_arg, as_array=False)

    return unflatten(values, shape, False), vjp_fn


def _pull_back(outs: list[Value], cotangents: list[Any], leaves: list[Value], create_graph: bool) -> list[Any]:
    # Σₖ cₖ·∂outₖ/∂x in one reverse sweep: the gradient of the scalar Σₖ cₖ·outₖ.
    if not leaves:
        return []
    if len(outs) == 1:
        return list(gradients(outs[0], leaves, cotangents[0], create_graph=create_graph))
    root = sum((o * c for o, c in zip(outs, cotangents)), Value(0.0))
    return list(gradients(root, leaves, create_graph=create_graph))


def _leaf_args(primals: Sequence[Any], what: str) -> tuple[list[Any], list[tuple[list[Value], tuple[int, ...]]]]:
    args, per_arg = [], []
    for i, p in enumerate(primals):
        arg, leaves, shape = as_leaves(p, f"{what}[{i}]")
        args.append(arg)
        per_arg.append((leaves, shape))
    return args, per_arg


def _split(flat: list[Any], per_arg: list[tuple[list[Value], tuple[int, ...]]], as_array: bool) -> tuple[Any, ...]:
    out, start = [], 0
    for leaves, shape in per_arg:
        out.append(unflatten(flat[start:start + len(leaves)], shape, as_array))
        start += len(leaves)
    return tuple(out)


def _argnums(argnums: int | Sequence[int], nargs: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for n in nums:
        if isinstance(n, bool) or not isinstance(n, int) or not -nargs <= n < nargs:
            raise ValueError(f"argnums {argnums!r} does not fit a call with {nargs} positional arguments")
    return tuple(n % nargs for n in nums)


Mode = Literal["auto", "forward", "reverse"]


def _jacobian_transform(f: Callable[..., Any], argnums: int | Sequence[int], mode: Mode) -> Callable[..., Any]:
    if mode not in ("auto", "forward", "reverse"):
        raise ValueError(f"mode must be 'auto', 'forward' or 'reverse', got {mode!r}")

    @functools.wraps(f)
    def jac_f(*args: Any) -> Any:
        nums = _argnums(argnums, len(args))
        nested = is_nested(args)
        call_args = list(args)
        per_arg = []
        for n in nums:
            arg, leaves, shape = as_leaves(args[n], f"argument {n}")
            call_args[n] = arg
            per_arg.append((leaves, shape))
        outs, out_shape = output_values(call(f, call_args))
        leaves = [x for xs, _ in per_arg for x in xs]
        forward = mode == "forward" or (mode == "auto" and len(leaves) < len(outs))
        # rows[k][j] = ∂outₖ/∂xⱼ, by columns (one forward sweep per input) or rows (one reverse per output)
        if forward:
            order = forward_order(outs, leaves)
            columns = [sweep_forward(order, outs, leaves, [1.0 if i == j else 0.0 for i in range(len(leaves))],
                                     create_graph=nested) for j in range(len(leaves))]
            rows = [[columns[j][k] for j in range(len(leaves))] for k in range(len(outs))]
        else:
            rows = [list(gradients(o, leaves, create_graph=nested)) if leaves else [] for o in outs]
        jacs = []
        start = 0
        for arg_leaves, shape in per_arg:
            block = [d for row in rows for d in row[start:start + len(arg_leaves)]]
            jacs.append(unflatten(block, out_shape + shape, as_array=not nested))
            start += len(arg_leaves)
        return jacs[0] if isinstance(argnums, int) else tuple(jacs)

    return jac_f


def jacrev(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """``f`` → its Jacobian ∂f/∂args[argnums], one reverse sweep per output (as torch.func.jacrev)."""
    return _jacobian_transform(f, argnums, "reverse")


def jacfwd(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """``f`` → its Jacobian ∂f/∂args[argnums], one forward sweep per input (as torch.func.jacfwd)."""
    return _jacobian_transform(f, argnums, "forward")


def jacobian(f: Callable[..., Any], argnums: int | Sequence[int] = 0, *, mode: Mode = "auto") -> Callable[..., Any]:
    """``f`` → its Jacobian; ``mode="auto"`` sweeps forward when f has fewer inputs than outputs
    (n columns by jvp), else backward (m rows by vjp) — the cheaper of the two."""
    return _jacobian_transform(f, argnums, mode)


def hessian(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """``f`` (scalar valued) → its Hessian ∂²f/∂xᵢ∂xⱼ, as ``jacfwd(jacrev(f))``: forward over reverse."""
    if not isinstance(argnums, int) or isinstance(argnums, bool):
        raise TypeError(f"hessian takes one argnum (an int), got {argnums!r}; "
                        "use jacfwd(jacrev(f, i), j) for a mixed block")
    inner = jacrev(f, argnums)

    @functools.wraps(f)
    def hessian_f(*args: Any) -> Any:
        return jacfwd(inner, argnums)(*args)

    return hessian_f


def hvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``(f(*primals), H·v)`` for scalar f, v = ``tangents``: forward-over-reverse, O(graph) per call.

    ``H·v`` is a tuple with one entry per primal, shaped like it (as ``torch.autograd.functional.hvp``
    for a tuple of inputs).

    The gradient ∇f is recorded with ``create_graph`` (one reverse sweep), then one forward
    sweep pushes v through it: ∂/∂ε ∇f(x + εv) = H·v. The result has the primals' shapes.
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("hvp(f, primals, tangents): primals and tangents must be tuples (one entry per argument)")
    if len(primals) != len(tangents):
        raise ValueError(f"hvp: {len(primals)} primals but {len(tangents)} tangents")
    nested = is_nested(primals, tangents)
    args, per_arg = _leaf_args(primals, "primals")
    leaves = [x for xs, _ in per_arg for x in xs]
    seeds: list[Any] = []
    for i, ((_, shape), t) in enumerate(zip(per_arg, tangents)):
        ts, tshape = flatten(t, f"tangents[{i}]")
        if tshape != shape:
            raise ValueError(f"hvp: tangents[{i}] has shape {tshape}, its primal has shape {shape}")
        seeds += ts if nested else [to_float(v) for v in ts]
    outs, shape = output_values(call(f, args))
    if shape != ():
        raise ValueError(f"hvp needs a scalar-valued f, got a result of shape {shape}")
    grads = [g if isinstance(g, Value) else Value(to_float(g)) for g in
             gradients(outs[0], leaves, create_graph=True)] if leaves else []
    hv = list(push_forward(grads, leaves, seeds, create_graph=nested))
    value = outs[0] if nested else outs[0].data
    return value, _split(hv, per_arg, as_array=False)
