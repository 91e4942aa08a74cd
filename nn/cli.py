"""The ``backprop`` command line (also ``python -m nn``).

    backprop train                                   # micrograd's demo: an MLP on two moons
    backprop graph "tanh(w*x + b)" --at w=0.5 x=2 b=-1 -o graph.svg
    backprop check "x**3 + sin(x*y)" --at x=0.3 y=2

``train`` fits an MLP to a built-in 2-D data set and writes a decision-boundary picture, a
loss curve and the model (JSON) to an output folder it names. ``graph`` draws the computation
graph of an expression with each node's value and gradient ∂f/∂node. ``check`` compares every
∂f/∂x from backpropagation with the central difference (f(x+ε) − f(x−ε)) / 2ε.

Expressions go through the safe parser of :mod:`nn.expr` (never ``eval``). Bad arguments exit
with status 2 and a one-line reason on stderr; a failed gradient check exits with status 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .activations import ACTIVATIONS
from .expr import FUNCTIONS, Expression, ExpressionError, parse_expression

__all__ = ["main", "build_parser"]

GRAPH_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}
DATASETS = ("moons", "circles", "xor", "spiral", "gaussians")
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "rmsprop")
LOSSES = ("hinge", "bce", "mse")
# Learning rates that train the default network well in 100 steps; sgd's is micrograd's.
DEFAULT_LR = {"sgd": 1.0, "momentum": 0.1, "adam": 0.05, "adamw": 0.05, "rmsprop": 0.01}

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
    return name, number


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {n}")
    return n


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


def _nonnegative_float(text: str) -> float:
    return _finite_float(text, allow_zero=True)


def _layer_sizes(text: str) -> list[int]:
    """``16,16`` → [16, 16]; an empty string means no hidden layer (a linear model)."""
    if not text.strip():
        return []
    sizes = []
    for part in text.split(","):
        try:
            n = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"layer sizes are whole numbers separated by commas (e.g. 16,16), "
                                             f"got {text!r}") from None
        if n < 1:
            raise argparse.ArgumentTypeError(f"every layer size must be at least 1, got {n} in {text!r}")
        sizes.append(n)
    return sizes


class _Parser(argparse.ArgumentParser):
    """argparse with one change: an error is one line (the reason), then where to get help."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``backprop`` argument parser with its ``train``, ``graph`` and ``check`` commands."""
    parser = _Parser(prog="backprop", description="Train, draw and gradient-check with a scalar autodiff engine.",
                     epilog="Run 'backprop COMMAND --help' for the options of a command.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    train = commands.add_parser(
        "train", help="train an MLP on a built-in 2-D data set (defaults: micrograd's moons demo)",
        description="Train an MLP on a 2-D data set; write decision_boundary.png, loss_curve.png and model.json "
                    "to an output folder. The defaults are micrograd's demo: 100 moons with noise 0.1, an MLP "
                    "[16, 16, 1] with ReLU, hinge loss + 1e-4·Σw², SGD with lr 1.0 decaying linearly to 0.1, "
                    "100 full-batch steps.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    train.add_argument("--dataset", choices=DATASETS, default="moons", help="which data set")
    train.add_argument("--samples", type=_positive_int, default=100, help="number of points")
    train.add_argument("--noise", type=_nonnegative_float, default=0.1, help="noise added to the points")
    train.add_argument("--layers", type=_layer_sizes, default="16,16", metavar="SIZES",
                       help="hidden layer sizes, comma separated (an output layer of 1 is added)")
    train.add_argument("--activation", choices=[a for a in ACTIVATIONS if a != "linear"], default="relu",
                       help="σ of the hidden layers")
    train.add_argument("--loss", choices=LOSSES, default="hinge",
                       help="hinge = max(0, 1 − y·score); bce = cross-entropy on sigmoid(score); mse")
    train.add_argument("--alpha", type=_nonnegative_float, default=1e-4, help="L2 penalty α·Σw² added to the loss")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd",
                       help="momentum = SGD with momentum 0.9")
    train.add_argument("--lr", type=_positive_float, default=None,
                       help="learning rate η (default: " + ", ".join(f"{k} {v}" for k, v in DEFAULT_LR.items()) + ")")
    train.add_argument("--constant-lr", action="store_true",
                       help="keep η fixed instead of decaying it linearly to η/10")
    train.add_argument("--steps", type=_positive_int, default=100, help="optimizer steps")
    train.add_argument("--batch-size", type=_positive_int, default=None,
                       help="samples per step (default: the whole data set)")
    train.add_argument("--seed", type=int, default=1337, help="seed for the data and the initial weights")
    train.add_argument("--out", type=Path, default=None, metavar="DIR",
                       help="output folder (default: runs/<dataset>-<date>-<time>)")
    train.add_argument("--batch-norm", action="store_true", help="batch normalisation before each hidden σ")
    engine = train.add_mutually_exclusive_group()
    engine.add_argument("--compiled", dest="eager", action="store_false",
                        help="trace the model once and run forward and backward over the whole batch with numpy: "
                             "the same numbers, 50 times faster or more (the default, except with --batch-norm)")
    engine.add_argument("--eager", dest="eager", action="store_true",
                        help="build one graph of Values per sample and call backward() on it, as micrograd does")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_run_train, command_parser=train, eager=None)

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
        description="Compare each ∂f/∂x from backpropagation with the central difference "
                    "(f(x+ε) − f(x−ε)) / 2ε and print the table. Exit status 1 if any derivative disagrees.",
        epilog='example: backprop check "x**3 + sin(x*y)" --at x=0.3 y=2',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    check.add_argument("expression", help=_EXPRESSION_HELP)
    check.add_argument("--at", type=_assignment, nargs="*", default=[], metavar="NAME=VALUE",
                       help="a value for every variable, e.g. --at x=0.3 y=2")
    check.add_argument("--eps", type=_positive_float, default=1e-6, help="finite-difference step ε")
    check.add_argument("--atol", type=_nonnegative_float, default=1e-5, help="absolute tolerance")
    check.add_argument("--rtol", type=_nonnegative_float, default=1e-3, help="relative tolerance")
    check.add_argument("--second", action="store_true",
                       help="also check every second derivative ∂²f/∂xᵢ∂xⱼ (create_graph=True)")
    check.set_defaults(run=_run_check, command_parser=check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    Bad arguments raise ``SystemExit(2)`` after printing the reason, as argparse does.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.run(args, args.command_parser) or 0)


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
        from autograd_core.draw import draw_graph

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
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_bytes(data)
    except OSError as e:
        print(f"backprop graph: error: cannot write {args.output}: {e.strerror or e}", file=sys.stderr)
        return 1
    print(f"wrote {args.output}")
    return 0


def _leaves_by_name(root: Any) -> list[Any]:
    from autograd_core import topological_order

    return [v for v in topological_order(root) if v.is_leaf and v.label]


def _render(dot: Any, fmt: str) -> bytes:
    """The drawing as file content; PDF falls back to a PNG on one page when dot cannot write PDF."""
    if fmt == "dot":
        return dot.source.encode("utf-8")
    if fmt != "pdf":
        return bytes(dot.pipe(format=fmt))
    from autograd_core.draw import select_dot_binary

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
        print("note: 'kink' means a corner (relu, abs, leaky_relu) lies within +/-eps; not judged there")
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


def _run_train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import time

    from . import datasets, optim
    from .io import save
    from .layers import MLP
    from .lr_scheduler import LinearLR
    from .predict import accuracy
    from .train import fit

    # Batch norm ties the samples of a batch together, so it has no per-sample program to compile.
    eager = args.batch_norm if args.eager is None else args.eager
    if args.batch_norm and not eager:
        parser.error("--compiled cannot train --batch-norm models (batch statistics tie the samples together); "
                     "drop --compiled")
    X, y = getattr(datasets, f"make_{args.dataset}")(args.samples, noise=args.noise, seed=args.seed)
    model = MLP(2, [*args.layers, 1], activation=args.activation, rng=args.seed, batch_norm=args.batch_norm)
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    params = model.parameters()
    if args.optimizer in ("sgd", "momentum"):
        optimizer: Any = optim.SGD(params, lr=lr, momentum=0.9 if args.optimizer == "momentum" else 0.0)
    else:
        optimizer = {"adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop}[args.optimizer](params, lr=lr)
    scheduler = None if args.constant_lr else LinearLR(optimizer, start_factor=1.0, end_factor=0.1,
                                                       total_iters=args.steps)
    out = args.out if args.out is not None else _fresh_run_folder(args.dataset)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        parser.error(f"cannot create the output folder {str(out)!r}: {e.strerror or e}")

    say = (lambda *a: None) if args.quiet else print
    arch = " -> ".join(str(n) for n in [2, *args.layers, 1])
    say(f"data:  {args.dataset}, {args.samples} points, noise {args.noise:g}, seed {args.seed}")
    say(f"model: MLP {arch} ({args.activation}{', batch norm' if args.batch_norm else ''}), "
        f"{len(params)} parameters")
    decay = "" if args.constant_lr else f" -> {lr / 10:g} (linear decay)"
    batch = "full batch" if args.batch_size is None else f"batches of {args.batch_size}"
    say(f"train: {args.loss} loss + {args.alpha:g}*sum(w^2), {args.optimizer} lr {lr:g}{decay}, "
        f"{args.steps} steps, {batch}, {'eager' if eager else 'compiled'}")
    start = time.perf_counter()
    history = fit(model, X, y, loss=args.loss, optimizer=optimizer, scheduler=scheduler, steps=args.steps,
                  batch_size=args.batch_size, alpha=args.alpha, progress=not args.quiet, compiled=not eager,
                  seed=args.seed)
    seconds = time.perf_counter() - start
    if hasattr(model, "eval"):
        model.eval()
    final_accuracy = accuracy(model, X, y)
    print(f"final loss {history.loss[-1]:.4f}, accuracy {final_accuracy:.1%} on the {len(X)} training points "
          f"({args.steps} steps in {seconds:.1f} s)")
    save(model, out / "model.json")
    _write_pictures(model, X, y, history, out, title=f"{args.dataset}: accuracy {final_accuracy:.1%}")
    print(f"wrote {out}{_sep()}decision_boundary.png, loss_curve.png, model.json")
    return 0


def _sep() -> str:
    import os

    return os.sep


def _fresh_run_folder(dataset: str) -> Path:
    """``runs/<dataset>-<date>-<time>``, with a counter if two runs start in the same second."""
    import time

    base = Path("runs") / f"{dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder, k = base, 2
    while folder.exists():
        folder = base.with_name(f"{base.name}-{k}")
        k += 1
    return folder


def _write_pictures(model: Any, X: Any, y: Any, history: Any, out: Path, title: str) -> None:
    from .plots import plot_decision_boundary, plot_history

    fig = plot_decision_boundary(model, X, y, title=title)
    fig.savefig(out / "decision_boundary.png", dpi=100)
    fig = plot_history(history, log_loss=min(history.loss) > 0, title="training")
    fig.savefig(out / "loss_curve.png", dpi=100)


if __name__ == "__main__":
    sys.exit(main())
