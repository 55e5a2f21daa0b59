"""A safe calculator: arithmetic on numbers, parsed with `ast`, never executed.

Only number literals and `+ - * / // % **` (and unary `+ -`) are accepted: no names, no
attributes, no calls, no subscripts, no strings. Every bound is checked before the work is
done, so any input is refused or answered in bounded time: at most `MAX_CHARS` characters
and `MAX_NODES` syntax nodes, integers up to `MAX_INT_BITS` bits, exponents up to
`MAX_EXPONENT` (and results of a power estimated before it is computed).
"""

from __future__ import annotations

import ast
import math
import operator

MAX_CHARS = 200
MAX_NODES = 64
MAX_INT_BITS = 256  # about 77 decimal digits
MAX_EXPONENT = 1000
ALLOWED_CHARS = frozenset("0123456789.+-*/%() eE_\t")


class CalcError(ValueError):
    """The expression is refused (not arithmetic, too big) or has no value (division by 0)."""


_BIN = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def calculate(expression: str) -> int | float:
    """The value of an arithmetic expression ("37 * 24" -> 888), or CalcError."""
    if not isinstance(expression, str):
        raise CalcError("the expression must be a string")
    if len(expression) > MAX_CHARS:
        raise CalcError(f"the expression is longer than {MAX_CHARS} characters")
    bad = set(expression) - ALLOWED_CHARS
    if bad:  # cheap first gate; the syntax-tree walk below is the real one
        raise CalcError(f"characters not allowed: {''.join(sorted(bad))[:20]!r}")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        raise CalcError(f"not an arithmetic expression ({type(e).__name__})") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise CalcError(f"the expression has more than {MAX_NODES} parts")
    return _eval(tree.body)


def _eval(node: ast.AST) -> int | float:
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise CalcError(f"only numbers are allowed, not {type(v).__name__}")
        return _checked(v)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _checked(_UNARY[type(node.op)](_eval(node.operand)))
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        a, b = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(a, b)
        try:
            return _checked(_BIN[type(node.op)](a, b))
        except ZeroDivisionError:
            raise CalcError("division by zero") from None
        except OverflowError:
            raise CalcError("the result is too large") from None
    raise CalcError(f"not allowed in arithmetic: {type(node).__name__}")


def _check_power(a: int | float, b: int | float) -> None:
    """Refuse a power whose exponent or result would be too large, before computing it."""
    if abs(b) > MAX_EXPONENT:
        raise CalcError(f"exponents are limited to {MAX_EXPONENT}")
    if isinstance(a, int) and isinstance(b, int) and b > 0:
        if max(a.bit_length() - 1, 0) * b > MAX_INT_BITS:
            raise CalcError("the result is too large")
    if a == 0 and b < 0:
        raise CalcError("division by zero")
    if a < 0 and not float(b).is_integer():
        raise CalcError("a negative number to a fractional power has no real value")


def _checked(v: int | float) -> int | float:
    if isinstance(v, int):
        if v.bit_length() > MAX_INT_BITS:
            raise CalcError("the result is too large")
        return v
    if isinstance(v, complex) or not math.isfinite(v):
        raise CalcError("the result is not a finite real number")
    return v
