"""``backprop train``: fit an MLP to a 2-D data set, within limits, and keep what it learned.

Limits, checked before anything is allocated (a run over one of them exits 2 naming it):

* at most :data:`MAX_HIDDEN_LAYERS` hidden layers of at most :data:`MAX_WIDTH` neurons each,
  and at most :data:`MAX_PARAMETERS` parameters in all (every weight is a Python object);
* 2 to :data:`MAX_SAMPLES` samples, at most :data:`MAX_STEPS` steps, noise at most :data:`MAX_NOISE`;
* the work of one step: an eager step builds about two graph nodes per (sample, parameter), so
  batch × parameters ≤ :data:`MAX_EAGER_WORK`; a compiled step holds a batch × neurons array per
  layer, so batch × neurons ≤ :data:`MAX_COMPILED_WORK`. Either limit keeps a step under about
  half a gigabyte.

Training that diverges — a loss or a weight that is no longer finite, or a loss
:data:`DIVERGENCE_FACTOR` times its first value (or times 1, if that is larger) — stops at that
step; the loss curve so far is written, the model is not (its weights are useless), and the
exit status is :data:`EXIT_DIVERGED`.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from pathlib import Path
from typing import Any

from ..activations import ACTIVATIONS
from ..initializers import INITS
from ..losses import LOSSES as _LOSS_TABLE
from ..optim import OPTIMIZERS as _OPTIMIZER_TABLE
from ..progress import format_seconds

__all__ = [
    "add_train_parser", "DEFAULT_LR", "EXIT_DIVERGED", "DIVERGENCE_FACTOR", "MAX_WIDTH", "MAX_HIDDEN_LAYERS",
    "MAX_PARAMETERS", "MAX_SAMPLES", "MAX_STEPS", "MAX_NOISE", "MAX_EAGER_WORK", "MAX_COMPILED_WORK", "MAX_SEED",
    "parameter_count",
]

DATASETS = ("moons", "circles", "xor", "spiral", "gaussians")
# The CLI's names are the registry's, lower-cased, plus "momentum": SGD with momentum 0.9.
_MOMENTUM = 0.9
_OPTIMIZER_CLASSES: dict[str, Any] = {name.lower(): cls for name, cls in _OPTIMIZER_TABLE.items()}
OPTIMIZERS = tuple(itertools.chain.from_iterable(
    (name, "momentum") if name == "sgd" else (name,) for name in _OPTIMIZER_CLASSES))
HIDDEN_ACTIVATIONS = [name for name in ACTIVATIONS if name != "linear"]
# The CLI's model has one output (a score for class 1), so only the losses on one score apply.
LOSSES = tuple(name for name, loss in _LOSS_TABLE.items() if not loss.per_class)

MAX_WIDTH = 1024
MAX_HIDDEN_LAYERS = 64
MAX_PARAMETERS = 100_000
MAX_SAMPLES = 100_000
MAX_STEPS = 1_000_000
MAX_NOISE = 10.0
MAX_EAGER_WORK = 1_000_000
MAX_COMPILED_WORK = 10_000_000
MAX_SEED = 2**32 - 1
DIVERGENCE_FACTOR = 1000.0
EXIT_DIVERGED = 3

# Learning rates that train the default network on the default moons in 100 steps (η decaying
# linearly to η/10). sgd + hinge is micrograd's demo. mse's gradient 2(s − y)/n grows with the
# score s, which U(−1, 1) weights make large at first: η = 1 diverges, 0.025 reaches 95 %.
DEFAULT_LR: dict[str, dict[str, float]] = {
    "hinge": {"sgd": 1.0, "momentum": 0.1, "adam": 0.05, "adamw": 0.05, "rmsprop": 0.01},
    "bce": {"sgd": 1.0, "momentum": 0.1, "adam": 0.05, "adamw": 0.05, "rmsprop": 0.01},
    "mse": {"sgd": 0.025, "momentum": 0.02, "adam": 0.05, "adamw": 0.05, "rmsprop": 0.005},
}


def _whole(text: str, what: str, low: int, high: int) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} must be a whole number, got {text!r}") from None
    if not low <= n <= high:
        raise argparse.ArgumentTypeError(f"{what} must be from {low:,} to {high:,}, got {_short(n)}")
    return n


def _short(n: int) -> str:
    text = f"{n:,}"
    return text if len(text) <= 30 else f"{text[:12]}…({len(str(abs(n)))} digits)"


def _samples(text: str) -> int:
    return _whole(text, "the number of samples", 2, MAX_SAMPLES)


def _steps(text: str) -> int:
    return _whole(text, "the number of steps", 1, MAX_STEPS)


def _batch_size(text: str) -> int:
    return _whole(text, "the batch size", 1, MAX_SAMPLES)


def _seed(text: str) -> int:
    return _whole(text, "the seed", 0, MAX_SEED)


def _number(text: str, what: str, low: float, high: float, *, low_open: bool) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} must be a number, got {text!r}") from None
    if not (math.isfinite(x) and (x > low if low_open else x >= low) and x <= high):
        lo = f"> {low:g}" if low_open else f"≥ {low:g}"
        hi = "" if high == math.inf else f" and ≤ {high:g}"
        raise argparse.ArgumentTypeError(f"{what} must be a finite number {lo}{hi}, got {text}")
    return x


def _folder(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("the output folder is an empty name; give a folder such as runs/moons")
    return Path(text)


def _noise(text: str) -> float:
    return _number(text, "the noise", 0.0, MAX_NOISE, low_open=False)


def _alpha(text: str) -> float:
    return _number(text, "alpha", 0.0, math.inf, low_open=False)


def _lr(text: str) -> float:
    return _number(text, "the learning rate", 0.0, math.inf, low_open=True)


def _layer_sizes(text: str) -> list[int]:
    """``16,16`` → [16, 16]; an empty string means no hidden layer (a linear model)."""
    if not text.strip():
        return []
    parts = text.split(",")
    if len(parts) > MAX_HIDDEN_LAYERS:
        raise argparse.ArgumentTypeError(f"at most {MAX_HIDDEN_LAYERS} hidden layers, got {len(parts)}")
    sizes = []
    for part in parts:
        try:
            n = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"layer sizes are whole numbers separated by commas (e.g. 16,16), "
                                             f"got {text[:60]!r}") from None
        if n < 1:
            raise argparse.ArgumentTypeError(f"every layer size must be at least 1, got {n} in {text[:60]!r}")
        if n > MAX_WIDTH:
            raise argparse.ArgumentTypeError(f"a layer has at most {MAX_WIDTH:,} neurons, got {_short(n)}")
        sizes.append(n)
    return sizes


def parameter_count(hidden: list[int], *, inputs: int = 2, batch_norm: bool = False) -> int:
    """Parameters of ``MLP(inputs, [*hidden, 1])``: Σ (fan_in + 1)·fan_out, plus γ and β per
    hidden neuron with batch norm."""
    sizes = [inputs, *hidden, 1]
    count = sum((a + 1) * b for a, b in itertools.pairwise(sizes))
    return count + (2 * sum(hidden) if batch_norm else 0)


class _Defaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: …)`` once: not when the help already says its default, nor for flags."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return super()._get_help_string(action) or text


def add_train_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``train`` command to ``commands`` (argparse sub-parsers); returns its parser."""
    lr_defaults = "; ".join(f"{loss}: " + ", ".join(f"{k} {v:g}" for k, v in rates.items())
                            for loss, rates in DEFAULT_LR.items())
    train = commands.add_parser(
        "train", help="train an MLP on a built-in 2-D data set (defaults: micrograd's moons demo)",
        description="Train an MLP on a 2-D data set; write decision_boundary.png, loss_curve.png and model.json "
                    "to an output folder. The defaults are micrograd's demo: 100 moons with noise 0.1, an MLP "
                    "[16, 16, 1] with ReLU, hinge loss + 1e-4·Σw², SGD with lr 1.0 decaying linearly to 0.1, "
                    "100 full-batch steps.",
        epilog=f"limits: at most {MAX_HIDDEN_LAYERS} hidden layers of at most {MAX_WIDTH:,} neurons, "
               f"{MAX_PARAMETERS:,} parameters, {MAX_SAMPLES:,} samples, {MAX_STEPS:,} steps; per step "
               f"batch × parameters ≤ {MAX_EAGER_WORK:,} (eager) or batch × neurons ≤ {MAX_COMPILED_WORK:,} "
               f"(compiled). Exit status: 0 trained, 2 bad arguments or a limit, {EXIT_DIVERGED} training diverged "
               f"(non-finite loss or weights, or a loss {DIVERGENCE_FACTOR:g}× its start; the loss curve is "
               "still written).",
        formatter_class=_Defaults)
    train.add_argument("--dataset", choices=DATASETS, default="moons", help="which data set")
    train.add_argument("--samples", type=_samples, default=100, help=f"number of points, 2 to {MAX_SAMPLES:,}")
    train.add_argument("--noise", type=_noise, default=0.1, help=f"noise added to the points, 0 to {MAX_NOISE:g}")
    train.add_argument("--layers", type=_layer_sizes, default="16,16", metavar="SIZES",
                       help="hidden layer sizes, comma separated (an output layer of 1 is added)")
    train.add_argument("--activation", choices=HIDDEN_ACTIVATIONS, default="relu", help="σ of the hidden layers")
    train.add_argument("--init", choices=INITS, default="micrograd",
                       help="initial weights: micrograd = U(−1, 1); xavier = U(±√(6/(fan_in+fan_out))) for "
                            "tanh/sigmoid; he = U(±√(6/fan_in)) for ReLU; *_normal the Gaussian versions")
    train.add_argument("--loss", choices=LOSSES, default="hinge",
                       help="hinge = max(0, 1 − y·score); bce = cross-entropy on sigmoid(score); mse = (score − y)² "
                            "with y = ±1")
    train.add_argument("--alpha", type=_alpha, default=1e-4, help="L2 penalty α·Σw² added to the loss")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help="momentum = SGD with momentum 0.9")
    train.add_argument("--lr", type=_lr, default=None,
                       help=f"learning rate η (default, by loss and optimizer: {lr_defaults})")
    train.add_argument("--constant-lr", action="store_true",
                       help="keep η fixed instead of decaying it linearly to η/10")
    train.add_argument("--steps", type=_steps, default=100, help=f"optimizer steps, at most {MAX_STEPS:,}")
    train.add_argument("--batch-size", type=_batch_size, default=None,
                       help="samples per step (default: the whole data set)")
    train.add_argument("--seed", type=_seed, default=1337,
                       help=f"seed for the data and the initial weights, 0 to {MAX_SEED:,}")
    train.add_argument("--out", type=_folder, default=None, metavar="DIR",
                       help="output folder (default: runs/<dataset>-<date>-<time>)")
    train.add_argument("--batch-norm", action="store_true", help="batch normalisation before each hidden σ")
    engine = train.add_mutually_exclusive_group()
    engine.add_argument("--compiled", dest="eager", action="store_false",
                        help="trace the model once and run forward and backward over the whole batch with numpy: "
                             "the same numbers, 50 times faster or more (the default)")
    engine.add_argument("--eager", dest="eager", action="store_true",
                        help="build one graph of Values per sample and call backward() on it, as micrograd does")
    train.add_argument("--quiet", action="store_true", help="no progress output")
    train.set_defaults(run=run_train, command_parser=train, eager=False)
    return train


def _check_limits(args: argparse.Namespace, parser: argparse.ArgumentParser, eager: bool) -> int:
    """The parameter count, after checking every limit that depends on several options."""
    batch = args.samples if args.batch_size is None else min(args.batch_size, args.samples)
    if args.batch_norm and batch < 2:
        parser.error(f"--batch-norm needs at least 2 samples per batch (batch statistics), got a batch of {batch}; "
                     "use --batch-size 2 or more")
    count = parameter_count(args.layers, batch_norm=args.batch_norm)
    if count > MAX_PARAMETERS:
        parser.error(f"the model would have {count:,} parameters; the limit is {MAX_PARAMETERS:,} "
                     "(use fewer or narrower --layers)")
    if eager and batch * count > MAX_EAGER_WORK:
        parser.error(f"an eager step on {batch:,} samples of a {count:,}-parameter model builds about "
                     f"{2 * batch * count:,} graph nodes; the limit is batch × parameters ≤ {MAX_EAGER_WORK:,} "
                     "(use --batch-size, a smaller model, or --compiled)")
    neurons = sum(args.layers) + 1
    if not eager and batch * neurons > MAX_COMPILED_WORK:
        parser.error(f"a compiled step on {batch:,} samples of a model with {neurons:,} neurons holds "
                     f"{batch * neurons:,} numbers per array; the limit is batch × neurons ≤ {MAX_COMPILED_WORK:,} "
                     "(use --batch-size or a smaller model)")
    return count


class _DivergenceWatch:
    """A ``fit`` callback that stops training when it diverges and says why."""

    def __init__(self, params: list[Any]) -> None:
        self.params = params
        self.reason = ""
        self.step = 0
        self.history: Any = None

    def __call__(self, step: int, model: Any, history: Any) -> bool:
        self.history = history
        loss, first = history.loss[-1], history.loss[0]
        if not math.isfinite(loss):
            self.reason = f"the loss is {loss}"
        elif loss > DIVERGENCE_FACTOR * max(first, 1.0):
            self.reason = f"the loss grew from {first:.4g} to {loss:.4g}"
        elif not all(math.isfinite(p.data) for p in self.params):
            self.reason = "a weight is no longer finite"
        else:
            return False
        self.step = step + 1
        return True


def _loss_text(x: float) -> str:
    return f"{x:.4f}" if abs(x) < 1e6 else f"{x:.4g}"


def run_train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``backprop train`` with parsed ``args``; returns the exit status (0, or :data:`EXIT_DIVERGED`)."""
    eager = bool(args.eager)
    count = _check_limits(args, parser, eager)
    out, created = _output_folder(args, parser)
    X, y, model, optimizer, scheduler, lr = _setup(args)
    if not args.quiet:
        _announce(args, count, lr, eager)
    watch = _DivergenceWatch(model.parameters())
    start = time.perf_counter()
    from ..train import fit

    try:
        history = fit(model, X, y, loss=args.loss, optimizer=optimizer, scheduler=scheduler, steps=args.steps,
                      batch_size=args.batch_size, alpha=args.alpha, progress=not args.quiet, compiled=not eager,
                      seed=args.seed, callback=watch)
    except KeyboardInterrupt:
        return _report_interrupt(args, parser, watch, out, created)
    except BaseException:
        _remove_if_empty(out, created)
        raise
    seconds = time.perf_counter() - start
    if watch.reason:
        return _report_divergence(args, parser, watch, history, out, lr)
    model.eval()
    final_accuracy = _accuracy(model, X, y)
    print(f"final loss {_loss_text(history.loss[-1])}, accuracy {final_accuracy:.1%} on the {len(X)} training "
          f"points ({len(history)} step{'s' if len(history) != 1 else ''} in {format_seconds(seconds)} s)")
    from ..io import save

    try:
        save(model, out / "model.json")
        _write_pictures(model, X, y, history, out, title=f"{args.dataset}: accuracy {final_accuracy:.1%}")
    except OSError as e:
        parser.error(f"cannot write to {str(out)!r}: {e.strerror or e}")
    print(f"wrote {out}{_sep()}decision_boundary.png, loss_curve.png, model.json")
    return 0


def _output_folder(args: argparse.Namespace, parser: argparse.ArgumentParser) -> tuple[Path, bool]:
    """The output folder, made and proven writable; and whether this run created it."""
    out = args.out if args.out is not None else _fresh_run_folder(args.dataset)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".backprop-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        parser.error(f"cannot write to the output folder {str(out)!r}: {e.strerror or e}")
    return out, created


def _setup(args: argparse.Namespace) -> tuple[Any, Any, Any, Any, Any, float]:
    """Data, model, optimizer, learning-rate schedule and the starting learning rate, from the options."""
    from .. import datasets, optim
    from ..layers import MLP
    from ..lr_scheduler import LinearLR

    X, y = getattr(datasets, f"make_{args.dataset}")(args.samples, noise=args.noise, seed=args.seed)
    model = MLP(2, [*args.layers, 1], activation=args.activation, init=args.init, rng=args.seed,
                batch_norm=args.batch_norm)
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.loss][args.optimizer]
    params = model.parameters()
    if args.optimizer == "momentum":
        optimizer: Any = optim.SGD(params, lr=lr, momentum=_MOMENTUM)
    else:
        optimizer = _OPTIMIZER_CLASSES[args.optimizer](params, lr=lr)
    scheduler = None if args.constant_lr else LinearLR(optimizer, start_factor=1.0, end_factor=0.1,
                                                       total_iters=args.steps)
    return X, y, model, optimizer, scheduler, lr


def _announce(args: argparse.Namespace, count: int, lr: float, eager: bool) -> None:
    arch = " -> ".join(str(n) for n in [2, *args.layers, 1])
    print(f"data:  {args.dataset}, {args.samples} points, noise {args.noise:g}, seed {args.seed}")
    print(f"model: MLP {arch} ({args.activation}{', batch norm' if args.batch_norm else ''}, {args.init} init), "
          f"{count} parameters")
    decay = "" if args.constant_lr else f" -> {lr / 10:g} (linear decay)"
    full = args.batch_size is None or args.batch_size >= args.samples
    batch = "full batch" if full else f"batches of {args.batch_size}"
    print(f"train: {args.loss} loss + {args.alpha:g}*sum(w^2), {args.optimizer} lr {lr:g}{decay}, "
          f"{args.steps} steps, {batch}, {'eager' if eager else 'compiled'}")


def _report_interrupt(args: argparse.Namespace, parser: argparse.ArgumentParser, watch: _DivergenceWatch,
                      out: Path, created: bool) -> int:
    if watch.history is None or not len(watch.history):
        _remove_if_empty(out, created)
        print("backprop train: interrupted before the first step ended; nothing written", file=sys.stderr)
    else:
        _write_curve(watch.history, out, parser, f"interrupted after step {len(watch.history)}")
        print(f"backprop train: interrupted after step {len(watch.history)} of {args.steps}; wrote "
              f"{out / 'loss_curve.png'}, no model", file=sys.stderr)
    return 130


def _accuracy(model: Any, X: Any, y: Any) -> float:
    # One batched forward over all samples (the plots' grid evaluator), not one graph per sample.
    from ..plots import evaluate_on_grid
    from ..predict import accuracy_from_scores

    return accuracy_from_scores(evaluate_on_grid(model, X), y)


def _report_divergence(args: argparse.Namespace, parser: argparse.ArgumentParser, watch: _DivergenceWatch,
                       history: Any, out: Path, lr: float) -> int:
    _write_curve(history, out, parser, f"diverged at step {watch.step}")
    # A model or picture left by an earlier run in this folder would pass for this run's.
    for stale in ("model.json", "decision_boundary.png"):
        (out / stale).unlink(missing_ok=True)
    wrote = f"; wrote {out / 'loss_curve.png'}, no model (its weights are useless)"
    advice = f"lower the learning rate (now {lr:g}, e.g. --lr {lr / 10:g})"
    if args.alpha > 1:
        advice += f" or --alpha (now {args.alpha:g})"
    print(f"backprop train: error: training diverged at step {watch.step} of {args.steps}: {watch.reason}; "
          f"{advice}{wrote}", file=sys.stderr)
    return EXIT_DIVERGED


def _write_curve(history: Any, out: Path, parser: argparse.ArgumentParser, title: str) -> None:
    """``loss_curve.png`` of a run that did not finish; non-finite losses are gaps in the line."""
    from ..plots import plot_history

    loss = [v if math.isfinite(v) else math.nan for v in history.loss]
    measured = [v for v in loss if not math.isnan(v)]
    curve = {"step": history.step, "loss": loss, "accuracy": history.accuracy}
    try:
        fig = plot_history(curve, log_loss=bool(measured) and min(measured) > 0, title=title)
        fig.savefig(out / "loss_curve.png", dpi=100)
    except OSError as e:
        parser.error(f"cannot write to {str(out)!r}: {e.strerror or e}")


def _remove_if_empty(out: Path, created: bool) -> None:
    # A run that wrote nothing leaves no empty folder behind.
    if created:
        try:
            out.rmdir()
        except OSError:
            pass


def _sep() -> str:
    import os

    return os.sep


def _fresh_run_folder(dataset: str) -> Path:
    """``runs/<dataset>-<date>-<time>``, with a counter if two runs start in the same second."""
    base = Path("runs") / f"{dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder, k = base, 2
    while folder.exists():
        folder = base.with_name(f"{base.name}-{k}")
        k += 1
    return folder


def _write_pictures(model: Any, X: Any, y: Any, history: Any, out: Path, title: str) -> None:
    from ..plots import plot_decision_boundary, plot_history

    fig = plot_decision_boundary(model, X, y, title=title)
    fig.savefig(out / "decision_boundary.png", dpi=100)
    fig = plot_history(history, log_loss=min(history.loss) > 0, title="training")
    fig.savefig(out / "loss_curve.png", dpi=100)
