"""The ``backprop`` command line (also ``python -m nn``).

    backprop train                                   # micrograd's demo: an MLP on two moons
    backprop graph "tanh(w*x + b)" --at w=0.5 x=2 b=-1 -o graph.svg
    backprop check "x**3 + sin(x*y)" --at x=0.3 y=2

``train`` fits an MLP to a built-in 2-D data set and writes a decision-boundary picture, a
loss curve and the model (JSON) to an output folder it names. ``graph`` draws the computation
graph of an expression with each node's value and gradient ∂f/∂node. ``check`` compares every
∂f/∂x from backpropagation with the central difference (f(x+ε) − f(x−ε)) / 2ε.

Expressions go through the safe parser of :mod:`nn.app.expr` (never ``eval``). Exit status: 0 done;
1 a gradient check failed (or an unexpected error, told in one line; ``--debug`` shows the
traceback); 2 a bad argument or a documented limit, with a one-line reason on stderr; 3 training
diverged (see :mod:`nn.app.cli_train`, which also lists the limits of ``train``); 130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .cli_train import add_train_parser
from .expr import FUNCTIONS, Expression, ExpressionError, parse_expression

__all__ = ["main", "build_parser"]

GRAPH_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}

_EXPRESSION_HELP = (
    "a formula in numbers, variables, + - * / ** and the functions " + ", ".join(FUNCTIONS)
    + "; quote it, and wrap one that starts with '-' in parentheses: \"(-x**2)\""
)


def _assignment(text: str) -> tuple[str, float]:
    """``name=value`` from ``--at``, e.g. ``w=0.5``, as (name, float)."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE (e.g. x=0.5)")
    if not name.isidentifier():
        raise argparse.ArgumentTypeError(f"{name!r} in {text!r} is not a variable name")
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the value of {name} in {text!r} is not a number: {value!r}") from None
    if math.isinf(number) and "inf" not in value.lower():
        raise argparse.ArgumentTypeError(f"the value of {name} in {text!r} is beyond the largest float (about "
                                         "1.8e308); write inf if you mean infinity")
    return name, number


def _finite_float(text: str, *, allow_zero: bool) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(x) and (x > 0 or (allow_zero and x == 0))):
        wanted = "a finite number ≥ 0" if allow_zero else "a positive finite number"
        raise argparse.ArgumentTypeError(f"expected {wanted}, got {text}")
    return x


def _positive_float(text: str) -> float:
    return _finite_float(text, allow_zero=False)


def _eps(text: str) -> float:
    eps = _positive_float(text)
    if eps < sys.float_info.min:
        raise argparse.ArgumentTypeError(f"expected at least {sys.float_info.min:.3g} (the smallest normal float; "
                                         f"smaller steps lose their digits), got {text}")
    return eps


def _nonnegative_float(text: str) -> float:
    return _finite_float(text, allow_zero=True)


class _Parser(argparse.ArgumentParser):
    """argparse with one change: an error is one line (the reason), then where to get help."""

    def error(self, message: str) -> Any:
        one_line = " ".join(message.split("\n"))  # a name or value quoted in it may hold a newline
        self.exit(2, f"{self.prog}: error: {one_line} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``backprop`` argument parser with its ``train``, ``graph`` and ``check`` commands."""
    parser = _Parser(prog="backprop", description="Train, draw and gradient-check with a scalar autodiff engine.",
                     epilog="Run 'backprop COMMAND --help' for the options of a command. Exit status: 0 done, 1 a "
                            "gradient check failed (or an unexpected error), 2 a bad argument or a limit, 3 training "
                            "diverged, 130 interrupted.")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an unexpected error instead of a one-line message")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    train = add_train_parser(commands)

    graph = commands.add_parser(
        "graph", help="draw the computation graph of an expression with values and gradients",
        description="Evaluate an expression at the given point, backpropagate, and draw every node with its "
                    "value and gradient ∂f/∂node. The output format follows the file extension: "
                    ".svg, .png, .pdf or .dot.",
        epilog='example: backprop graph "tanh(w*x + b)" --at w=0.5 x=2 b=-1 -o graph.svg')
    graph.add_argument("expression", help=_EXPRESSION_HELP)
    graph.add_argument("--at", type=_assignment, nargs="*", default=[], metavar="NAME=VALUE",
                       help="a value for every variable, e.g. --at w=0.5 x=2 b=-1")
    graph.add_argument("-o", "--output", type=Path, default=Path("graph.svg"), metavar="FILE",
                       help="where to write the drawing (default: graph.svg)")
    graph.add_argument("--rankdir", choices=("LR", "TB", "RL", "BT"), default="LR",
                       help="direction of flow: LR left to right (default), TB top to bottom")
    graph.set_defaults(run=_run_graph, command_parser=graph)

    check = commands.add_parser(
        "check", help="gradient-check an expression: backpropagation vs finite differences",
        description="Compare each ∂f/∂x from backpropagation with a numeric derivative and print the table. "
                    "By default the numeric derivative is Richardson-extrapolated over a sweep of steps and "
                    "judged against its own estimated error; --eps gives PyTorch's fixed-step central difference "
                    "(f(x+ε) − f(x−ε)) / 2ε with --atol/--rtol (default 1e-5 / 1e-3). "
                    "Exit status 1 if any derivative disagrees.",
        epilog='example: backprop check "x**3 + sin(x*y)" --at x=0.3 y=2',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    check.add_argument("expression", help=_EXPRESSION_HELP)
    check.add_argument("--at", type=_assignment, nargs="*", default=[], metavar="NAME=VALUE",
                       help="a value for every variable, e.g. --at x=0.3 y=2")
    check.add_argument("--eps", type=_eps, default=None,
                       help="a fixed finite-difference step ε (PyTorch's rule) instead of the adaptive sweep")
    check.add_argument("--atol", type=_nonnegative_float, default=None,
                       help="absolute tolerance added to the estimated error (1e-5 with --eps)")
    check.add_argument("--rtol", type=_nonnegative_float, default=None,
                       help="relative tolerance added to the estimated error (1e-3 with --eps)")
    check.add_argument("--second", action="store_true",
                       help="also check every second derivative ∂²f/∂xᵢ∂xⱼ (create_graph=True)")
    check.set_defaults(run=_run_check, command_parser=check)
    from ..playground.cli import add_command as add_playground

    playground = add_playground(commands)
    for command in (train, graph, check, playground):
        # Also after the command (backprop train --debug); SUPPRESS keeps a --debug given before it.
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show the traceback of an unexpected error")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    Bad arguments and limits raise ``SystemExit(2)`` after printing the reason, as argparse
    does. Any other error is one line on stderr and status 1 (``--debug``: the traceback).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args, args.command_parser) or 0)
    except KeyboardInterrupt:
        print(f"backprop {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # the last resort: every expected failure is handled where it happens
        if args.debug:
            raise
        text = str(e).strip().splitlines()
        reason = f"{type(e).__name__}: {text[0]}" if text else type(e).__name__
        print(f"backprop {args.command}: unexpected error: {reason} (run 'backprop --debug {args.command} …' "
              "for the traceback)", file=sys.stderr)
        return 1


def _expression_at(args: argparse.Namespace, parser: argparse.ArgumentParser) -> tuple[Expression, dict[str, float]]:
    """The parsed expression and the ``--at`` values, or a usage error naming what is wrong."""
    try:
        expr = parse_expression(args.expression)
    except ExpressionError as e:
        parser.error(str(e))
    values: dict[str, float] = {}
    for name, value in args.at:
        if name in values:
            parser.error(f"--at gives {name} twice")
        values[name] = value
    missing = [v for v in expr.variables if v not in values]
    if missing:
        example = " ".join(f"{v}=1.0" for v in missing)
        parser.error(f"no value for {', '.join(missing)} in {expr.source!r}; add --at {example}")
    extra = [k for k in values if k not in expr.variables]
    if extra:
        uses = ", ".join(expr.variables) or "no variables"
        parser.error(f"--at gives {', '.join(extra)}, which {expr.source!r} does not use (it uses {uses})")
    return expr, values


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _point(values: dict[str, float]) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in values.items())


def _run_graph(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    fmt = GRAPH_FORMATS.get(args.output.suffix.lower())
    if fmt is None:
        parser.error(f"cannot tell the format of {str(args.output)!r} from its extension; "
                     f"use one of {', '.join(GRAPH_FORMATS)}")
    expr, values = _expression_at(args, parser)
    _check_writable(args.output, parser)
    out = expr.evaluate(values)
    if not out.is_leaf:
        out.label = "f"
    out.backward()
    leaves = {}
    for node in _leaves_by_name(out):
        leaves[node.label] = node
    print(f"f = {expr.source} = {_fmt(out.data)} at {_point(values)}" if values else
          f"f = {expr.source} = {_fmt(out.data)}")
    for name in expr.variables:
        print(f"  df/d{name} = {_fmt(leaves[name].grad)}")
    try:
        from autograd_core import draw_graph

        dot = draw_graph(out, rankdir=args.rankdir)
        data = _render(dot, fmt)
    except ImportError as e:
        print(f"backprop graph: error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # the dot program failed: say so in one line instead of a traceback
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        print(f"backprop graph: error: could not render {fmt}: {reason} (write a .dot file instead, or install "
              f"Graphviz)", file=sys.stderr)
        return 1
    try:
        args.output.write_bytes(data)
    except OSError as e:
        parser.error(f"cannot write {str(args.output)!r}: {e.strerror or e}")
    print(f"wrote {args.output}")
    return 0


def _check_writable(path: Path, parser: argparse.ArgumentParser) -> None:
    """Fail before the work: ``path`` must be a file (new or existing) in a folder we may write to.

    Missing parent folders are created, as ``train --out`` does.
    """
    if path.is_dir():
        parser.error(f"cannot write {str(path)!r}: it is a folder; give a file name such as graph.svg")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        parser.error(f"cannot write {str(path)!r}: cannot create its folder: {e.strerror or e}")
    existed = path.exists()
    if existed and not path.is_file():
        # A FIFO would block the open below until someone reads it; a device is not a drawing.
        parser.error(f"cannot write {str(path)!r}: it is not a regular file")
    # Open it without truncating (os.access says yes to root even where writing fails).
    try:
        with open(path, "ab"):
            pass
    except OSError as e:
        parser.error(f"cannot write {str(path)!r}: {e.strerror or e}")
    if not existed:
        path.unlink()


def _leaves_by_name(root: Any) -> list[Any]:
    from autograd_core import topological_order

    return [v for v in topological_order(root) if v.is_leaf and v.label]


def _render(dot: Any, fmt: str) -> bytes:
    """The drawing as file content; PDF falls back to a PNG on one page when dot cannot write PDF."""
    if fmt == "dot":
        return dot.source.encode("utf-8")
    if fmt != "pdf":
        return bytes(dot.pipe(format=fmt))
    from autograd_core import select_dot_binary

    if "graphviz-pure" in select_dot_binary().name:
        # graphviz-pure (the pip-installed dot) has no PDF writer: put its PNG on a PDF page.
        return _png_to_pdf(bytes(dot.pipe(format="png")))
    return bytes(dot.pipe(format="pdf"))


def _png_to_pdf(png: bytes) -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    image = mpimg.imread(io.BytesIO(png), format="png")
    dpi = 96
    fig = plt.figure(figsize=(image.shape[1] / dpi, image.shape[0] / dpi), dpi=dpi)
    fig.figimage(image, 0, 0)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="pdf", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def _run_check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from autograd_core import check_gradients, check_second_gradients

    expr, values = _expression_at(args, parser)
    if not expr.variables:
        parser.error(f"{expr.source!r} has no variables, so there is nothing to differentiate")
    point = [values[v] for v in expr.variables]
    for name, x in zip(expr.variables, point):
        if not math.isfinite(x):
            parser.error(f"{name}={x} is not a finite number; finite differences (f(x+ε) − f(x−ε)) / 2ε need a "
                         "finite point")
        for moved in (x + args.eps, x - args.eps) if args.eps is not None else ():
            if not math.isfinite(moved):
                parser.error(f"--eps {args.eps:g} moves {name}={x:g} beyond the largest float; use a smaller --eps")
            if moved == x:
                smallest = max(abs(x) * 2.0 ** -50, 2.0 ** -1000)
                parser.error(f"--eps {args.eps:g} is too small to move {name}={x:g} (x ± ε rounds back to x); "
                             f"use --eps {smallest:.1g} or more")
    value = expr.evaluate(values).data
    print(f"f = {expr.source} = {_fmt(value)} at {_point(values)}")
    options = {"eps": args.eps, "atol": args.atol, "rtol": args.rtol}
    reports = [check_gradients(expr, point, **options)]
    if args.second:
        reports.append(check_second_gradients(expr, point, **options))
    names = {f"x{i}": v for i, v in enumerate(expr.variables)}
    for report in reports:
        for i, row in enumerate(report.rows):
            report.rows[i] = dataclasses.replace(row, name=_rename(row.name, names))
        print(report)
    if not math.isfinite(value):
        print(f"note: f is {value} at this point, so its derivatives there are not defined")
    if any(report.kinks for report in reports):
        print("note: 'kink' means a corner (relu, abs, maximum, clamp, …) that this input moves; "
              "judged by one-sided differences (any value between them passes)")
    return 0 if all(report.passed for report in reports) else 1


def _rename(name: str, names: dict[str, str]) -> str:
    """``x0`` → ``df/dx``, ``d2/dx0dx1`` → ``d2f/dxdy`` with the expression's variable names."""
    if name in names:
        return f"df/d{names[name]}"
    if name.startswith("d2/d"):
        parts = name[len("d2/d"):].split("d")
        if len(parts) == 2 and all(p in names for p in parts):
            return f"d2f/d{names[parts[0]]}d{names[parts[1]]}"
    return name


if __name__ == "__main__":
    sys.exit(main())
