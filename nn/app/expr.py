"""A safe parser for the math expressions the command line accepts.

``parse_expression("tanh(w*x + b)")`` reads the text with Python's :mod:`ast` module and
walks the tree against an allow-list: numbers, variable names, ``+ - * / **``, unary ``-``
and ``+``, and calls of the functions in :data:`FUNCTIONS`. Anything else (attribute access,
indexing, strings, comparisons, lambdas, unknown functions…) is an :class:`ExpressionError`
naming the offending piece and its column. Nothing is ever passed to ``eval``: the
validated tree is interpreted node by node on :class:`~autograd_core.Value` objects, so the
result is a computation graph ready for ``backward()``, drawing or ``gradcheck``.

    expr = parse_expression("tanh(w*x + b)")
    expr.variables                         # ('w', 'x', 'b'), in order of first use
    a = expr.evaluate({"w": 0.5, "x": 2.0, "b": -1.0})
    a.backward()                           # leaves are labelled w, x, b
"""

from __future__ import annotations

import ast
import inspect
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from autograd_core import Value, vmath

__all__ = ["FUNCTIONS", "SIGNATURES", "Signature", "MAX_DEPTH", "MAX_LENGTH", "Expression", "ExpressionError",
           "parse_expression"]


@dataclass(frozen=True)
class Signature:
    """How an expression calls a function: ``inputs`` Values (any sub-expression) then up to
    ``constants`` optional number literals (``leaky_relu(x, 0.2)``, ``clamp(x, -1, 1)``)."""

    function: Callable[..., Any]
    inputs: tuple[str, ...]
    constants: tuple[str, ...]

    def text(self, name: str) -> str:
        return f"{name}({', '.join((*self.inputs, *self.constants))})"


def _signatures() -> dict[str, Signature]:
    """Every function of :mod:`autograd_core.vmath` (the op table's free functions), read from its signature.

    A parameter annotated ``Scalar`` is an input (a Value); one with a number default is an
    optional constant; any other (gelu's ``approximate``) keeps its default.
    """
    table: dict[str, Signature] = {}
    for name in vmath.__all__:
        f = getattr(vmath, name)
        params = inspect.signature(f).parameters.values()
        inputs = tuple(p.name for p in params if p.default is inspect.Parameter.empty)
        constants = tuple(p.name for p in params if p.default is not inspect.Parameter.empty
                          and (p.default is None or isinstance(p.default, (int, float))))
        table[name] = Signature(f, inputs, constants)
    table["abs"] = table["fabs"]  # Python's name for |x|
    return table


SIGNATURES: dict[str, Signature] = _signatures()
"""What each function an expression may call takes (derived from :mod:`autograd_core.vmath`)."""

FUNCTIONS: tuple[str, ...] = tuple(SIGNATURES)
"""Functions an expression may call: every :mod:`autograd_core.vmath` function, and ``abs``."""

MAX_LENGTH = 2000
"""Longest expression accepted, in characters."""

MAX_DEPTH = 100
"""Deepest nesting accepted (operators and calls inside each other)."""

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_UNARY = {ast.USub: "-", ast.UAdd: "+"}
_ALLOWED = (f"numbers, variable names, + - * / **, unary -, and calls of {len(FUNCTIONS)} math functions "
            "such as tanh, exp, log, sin, atan2, relu, gelu")

# What a learner typed, in words, for the nodes we refuse.
_NODE_WORDS: dict[type, str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Compare: "a comparison",
    ast.BoolOp: "'and'/'or'",
    ast.Lambda: "a lambda",
    ast.IfExp: "an if-expression",
    ast.Tuple: "a tuple (a comma outside a function call)",
    ast.List: "a list",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.JoinedStr: "an f-string",
    ast.NamedExpr: "an assignment (:=)",
    ast.Starred: "a starred argument",
    ast.Await: "'await'",
    ast.Yield: "'yield'",
    ast.YieldFrom: "'yield from'",
}
_OP_WORDS: dict[type, str] = {
    ast.FloorDiv: "'//'", ast.Mod: "'%'", ast.MatMult: "'@'", ast.LShift: "'<<'", ast.RShift: "'>>'",
    ast.BitOr: "'|'", ast.BitAnd: "'&'", ast.BitXor: "'^' (use ** for powers)", ast.Not: "'not'",
    ast.Invert: "'~'",
}


class ExpressionError(ValueError):
    """An expression the parser refuses; ``column`` is 1-based (0 when not tied to a place)."""

    def __init__(self, source: str, reason: str, column: int = 0) -> None:
        where = f" at column {column}" if column else ""
        super().__init__(f"bad expression {source!r}{where}: {reason}")
        self.source = source
        self.reason = reason
        self.column = column


@dataclass(frozen=True, eq=False)
class Expression:
    """A validated expression: its ``source``, its ``variables`` in order of first use.

    ``evaluate(values)`` builds the computation graph; ``expr(*xs)`` does the same with the
    variables given positionally, which is the calling convention of ``gradcheck``.
    """

    source: str
    variables: tuple[str, ...]
    tree: ast.expr

    def evaluate(self, values: Mapping[str, float | Value]) -> Value:
        """The expression as a :class:`Value` graph; numbers become leaves labelled by name.

        Raises ``KeyError``-free :class:`ExpressionError` when a variable has no value, or
        when ``values`` names a variable the expression does not use.
        """
        missing = [v for v in self.variables if v not in values]
        if missing:
            raise ExpressionError(self.source, f"no value given for {_names(missing)}")
        extra = [k for k in values if k not in self.variables]
        if extra:
            uses = _names(self.variables) if self.variables else "no variables"
            raise ExpressionError(self.source, f"{_names(extra)} not in the expression (it uses {uses})")
        leaves = {name: v if isinstance(v, Value) else Value(v, name) for name, v in values.items()}
        out = _interpret(self.tree, leaves)
        return out if isinstance(out, Value) else Value(out)

    def __call__(self, *xs: float | Value) -> Value:
        if len(xs) != len(self.variables):
            raise TypeError(f"{self.source!r} takes {len(self.variables)} values ({', '.join(self.variables)}), "
                            f"got {len(xs)}")
        return self.evaluate(dict(zip(self.variables, xs)))


def parse_expression(source: str) -> Expression:
    """Parse and validate ``source``; raises :class:`ExpressionError` naming what is wrong."""
    if not isinstance(source, str):
        raise TypeError(f"an expression must be a str, got {type(source).__name__}")
    if not source.strip():
        raise ExpressionError(source, "it is empty; write e.g. 'tanh(w*x + b)'")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(source[:40] + "…", f"it is {len(source)} characters long; the limit is {MAX_LENGTH}")
    try:
        # Python's SyntaxWarnings (e.g. "invalid decimal literal" for 1if) would be a second
        # message about the same text; the validation below says what is wrong in our terms.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as e:
        raise _syntax_error(source.strip(), e) from None
    except (RecursionError, MemoryError):
        raise ExpressionError(source, f"it is nested too deeply (limit {MAX_DEPTH} levels)") from None
    variables: list[str] = []
    _validate(source.strip(), tree, variables, 0)
    return Expression(source.strip(), tuple(variables), tree)


def _syntax_error(source: str, e: SyntaxError) -> ExpressionError:
    offset = e.offset or 0
    if e.lineno and e.lineno > 1:
        offset += sum(len(line) + 1 for line in source.split("\n")[: e.lineno - 1])
    if e.msg != "invalid syntax":
        return ExpressionError(source, f"invalid syntax: {e.msg}", offset)
    if not 0 < offset <= len(source):
        return ExpressionError(source, "invalid syntax: the expression ends too early")
    token = source[offset - 1 :].split(maxsplit=1)[0] if source[offset - 1 :].strip() else source[offset - 1]
    hint = " (a missing operator such as '*'?)" if token[0].isalnum() or token[0] in "_.(" else ""
    return ExpressionError(source, f"invalid syntax: unexpected {token!r}{hint}", offset)


def _validate(source: str, node: ast.AST, variables: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ExpressionError(source, f"it is nested too deeply (limit {MAX_DEPTH} levels)", _column(source, node))
    if isinstance(node, ast.Constant):
        _number(source, node)
    elif isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise ExpressionError(source, f"'{node.id}' is a function; call it as {node.id}(...)",
                                  _column(source, node))
        if node.id not in variables:
            variables.append(node.id)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise ExpressionError(source, f"operator {_OP_WORDS.get(type(node.op), type(node.op).__name__)} is not "
                                          f"allowed (allowed: {_ALLOWED})", _operator_column(source, node))
        _validate(source, node.left, variables, depth + 1)
        _validate(source, node.right, variables, depth + 1)
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise ExpressionError(source, f"operator {_OP_WORDS.get(type(node.op), type(node.op).__name__)} is not "
                                          f"allowed (allowed: {_ALLOWED})", _column(source, node))
        _validate(source, node.operand, variables, depth + 1)
    elif isinstance(node, ast.Call):
        _validate_call(source, node, variables, depth)
    else:
        what = _NODE_WORDS.get(type(node), f"'{ast.get_source_segment(source, node) or type(node).__name__}'")
        raise ExpressionError(source, f"{what} is not allowed (allowed: {_ALLOWED})", _column(source, node))


def _validate_call(source: str, node: ast.Call, variables: list[str], depth: int) -> None:
    if isinstance(node.func, ast.Attribute) and node.func.attr in FUNCTIONS:
        name = node.func.attr
        raise ExpressionError(source, f"method calls are not allowed; write {name}(...) instead of .{name}()",
                              _column(source, node.func))
    if not isinstance(node.func, ast.Name):
        text = ast.get_source_segment(source, node.func) or "an expression"
        raise ExpressionError(source, f"only named functions can be called, not '{text}' (functions: "
                                      f"{', '.join(FUNCTIONS)})", _column(source, node.func))
    name = node.func.id
    if name not in FUNCTIONS:
        raise ExpressionError(source, f"unknown function '{name}' (functions: {', '.join(FUNCTIONS)})",
                              _column(source, node.func))
    if node.keywords:
        raise ExpressionError(source, f"{name}() takes no keyword arguments", _column(source, node.keywords[0]))
    sig = SIGNATURES[name]
    n, low, high = len(node.args), len(sig.inputs), len(sig.inputs) + len(sig.constants)
    if not low <= n <= high:
        counts = (f"exactly {low} argument{'s' if low != 1 else ''}" if low == high
                  else f"{low} or {high} arguments" if high == low + 1 else f"{low} to {high} arguments")
        detail = f" ({', '.join((*sig.inputs, *sig.constants))})" if high > 1 else ""
        raise ExpressionError(source, f"{name}() takes {counts}{detail}, got {n}", _column(source, node))
    constants = []
    for arg, param in zip(node.args[low:], sig.constants):
        value = _constant(arg)
        if value is None:
            raise ExpressionError(source, f"the {param} of {sig.text(name)} must be a number", _column(source, arg))
        constants.append(value)
    try:  # the function's own checks of its constants (clamp needs a bound), on numbers
        sig.function(*[0.5] * low, *constants)
    except (TypeError, ValueError) as e:
        raise ExpressionError(source, f"{name}(): {e}", _column(source, node)) from None
    for arg in node.args[:low]:
        _validate(source, arg, variables, depth + 1)


def _number(source: str, node: ast.Constant) -> float:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "a complex number" if isinstance(value, complex) else f"{type(value).__name__} {value!r:.30}"
        raise ExpressionError(source, f"{kind} is not a real number (allowed: {_ALLOWED})", _column(source, node))
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _constant(node: ast.expr) -> float | None:
    """The value of a number literal, optionally signed (``3``, ``-0.5``), else None."""
    sign = 1.0
    while isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        try:
            return sign * float(node.value)
        except OverflowError:
            return sign * math.inf
    return None


def _interpret(node: ast.expr, leaves: Mapping[str, Value]) -> Any:
    # Only node types accepted by _validate reach here.
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, (int, float))  # _validate let through real-number literals only
        return Value(node.value)
    if isinstance(node, ast.Name):
        return leaves[node.id]
    if isinstance(node, ast.UnaryOp):
        operand = _interpret(node.operand, leaves)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left = _interpret(node.left, leaves)
        op = type(node.op)
        if op is ast.Pow:
            # A constant exponent is the single-input op x**p (as micrograd draws it), not a two-input power.
            p = _constant(node.right)
            return left ** (p if p is not None else _interpret(node.right, leaves))
        right = _interpret(node.right, leaves)
        if op is ast.Add:
            return left + right
        if op is ast.Sub:
            return left - right
        if op is ast.Mult:
            return left * right
        return left / right
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    sig = SIGNATURES[node.func.id]
    k = len(sig.inputs)
    # A number literal as a later input stays a number, so pow(x, 3) is x**3's one-input op.
    inputs = [_interpret(node.args[0], leaves)]
    inputs += [c if (c := _constant(a)) is not None else _interpret(a, leaves) for a in node.args[1:k]]
    return sig.function(*inputs, *[_constant(a) for a in node.args[k:]])


def _names(names: Any) -> str:
    names = list(names)
    quoted = [f"'{n}'" for n in names]
    return ", ".join(quoted) if len(quoted) != 2 else " and ".join(quoted)


def _char_column(line: str, byte_offset: int) -> int:
    """1-based character column of a UTF-8 byte offset within ``line`` (ast counts bytes)."""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore")) + 1


def _column(source: str, node: Any, byte_offset: int | None = None) -> int:
    """1-based column of ``node`` in ``source``, counted over all lines for a multi-line input."""
    if byte_offset is None:
        byte_offset = getattr(node, "col_offset", None)
    if byte_offset is None:
        return 0
    lines = source.split("\n")
    lineno = min(max(getattr(node, "lineno", 1), 1), len(lines))
    before = sum(len(line) + 1 for line in lines[: lineno - 1])
    return before + _char_column(lines[lineno - 1], byte_offset)


def _operator_column(source: str, node: ast.BinOp) -> int:
    # Point at the operator itself: the first character after the left operand and its closing brackets.
    end = getattr(node.left, "end_col_offset", None)
    if end is None or node.left.end_lineno != node.lineno:
        return _column(source, node)
    line = source.split("\n")[node.lineno - 1].encode("utf-8")
    while end < len(line) and line[end : end + 1] in (b" ", b")", b"\t"):
        end += 1
    return _column(source, node, end)
