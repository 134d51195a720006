"""The calculator's arithmetic engine: a tokenizer and a Pratt parser, no eval.

Expressions are computed as they are parsed; nothing reaches eval, exec, compile or
`ast`, so input can only ever produce a number. Integer and decimal inputs stay exact
(`fractions.Fraction`), so 0.1 + 0.2 is 0.3 and 2**100 keeps every digit; sqrt, log, sin
and friends fall back to floats when the answer is irrational. A percentage added or
taken away is of what it is added to, as on a desk calculator: 59 - 10% is 53.1. Limits
on input length, nesting depth and result size keep one hostile request from stalling
the worker, and every failure is a `TaskRejected` that says why (a retry would fail the
same way). The agent itself is `calculator.py`.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, Inexact, localcontext
from fractions import Fraction
from typing import Any

from mesh.agents._numbers import gcd, lcm, median
from mesh.agents._numwords import with_digits
from mesh.errors import InvalidInput, TaskRejected
from mesh.models import TaskResult

MAX_INPUT_CHARS = 1000
MAX_DEPTH = 100
MAX_DIGITS = 10_000

Number = int | float | Fraction
Value = Fraction | float
Token = tuple[str, str, int]
TOKEN_RE = re.compile(
    r"(?P<num>(?:\d+(?:\.\d+)?|\.\d+)(?:e[+-]?\d+)?)|(?P<times>x(?![a-z_]))"
    r"|(?P<name>[a-zπ_][a-z0-9_]*)|(?P<op>\*\*|//|[-+*/%^(),×÷−])|(?P<space>\s+)|(?P<other>.)",
    re.IGNORECASE | re.DOTALL,
)
_OP_ALIASES = {"×": "*", "÷": "/", "−": "-", "^": "**"}
_INFIX_BP = {"+": 10, "-": 10, "*": 20, "/": 20, "//": 20, "%": 20, "**": 40}
_UNARY_BP = 30  # between * and **, so -2**2 is -(2**2) and 2**-1 works
CONSTANTS: dict[str, float] = {"pi": math.pi, "π": math.pi, "e": math.e}


def _iroot(n: int, k: int) -> int:
    """Floor of the k-th root of n >= 0, by integer Newton steps."""
    if n < 2:
        return n
    x = 1 << -(-n.bit_length() // k)
    while (y := ((k - 1) * x + n // x ** (k - 1)) // k) < x:
        x = y
    return x


def _exact_root(x: Fraction, k: int) -> Fraction | None:
    """The k-th root of a non-negative rational when it is rational too, else None."""
    if x < 0 or k > 64:
        return None
    num, den = _iroot(x.numerator, k), _iroot(x.denominator, k)
    return Fraction(num, den) if num**k == x.numerator and den**k == x.denominator else None


def _check_size(value: Value) -> Value:
    """Stop a result that overflowed a float or grew past MAX_DIGITS digits."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise OverflowError
    elif max(value.numerator.bit_length(), value.denominator.bit_length()) > MAX_DIGITS * 3.33:
        raise ValueError(f"the result has more than {MAX_DIGITS:,} digits")
    return value


def _int_power(base: Fraction, n: int) -> Value:
    """base**n exactly, unless that has over MAX_DIGITS digits (then a float, or an error)."""
    if n == 0 or base in (0, 1):
        return Fraction(1) if n == 0 else base**n
    if base == -1:
        return Fraction(-1 if n % 2 else 1)
    magnitude = math.log10(max(abs(base.numerator), base.denominator))
    digits = math.inf if abs(n).bit_length() > 60 else abs(n) * magnitude
    if digits <= MAX_DIGITS:
        return base**n
    if base.denominator != 1 or n < 0:
        try:
            approx = math.pow(float(base), n)
        except OverflowError:
            approx = math.inf
        if approx != 0 and math.isfinite(approx):
            return approx
    shown = "astronomically many" if math.isinf(digits) else f"about {digits:,.0f}"
    raise ValueError(f"the power would have {shown} digits, over the limit of {MAX_DIGITS:,}")


def _power(base: Value, exp: Value) -> Value:
    if isinstance(base, Fraction) and isinstance(exp, Fraction):
        if exp.denominator == 1:
            return _int_power(base, exp.numerator)
        root = _exact_root(base, exp.denominator)
        if root is not None:
            return _int_power(root, exp.numerator)
    b, x = float(base), float(exp)
    if b < 0 and not x.is_integer():
        raise ValueError("a negative number to a fractional power is not a real number")
    if b == 0 and x < 0:
        raise ZeroDivisionError
    return math.pow(b, x)


def _sqrt(x: Value) -> Value:
    if x < 0:
        raise ValueError(f"sqrt({format_number(x)}) is not a real number")
    return _power(x, Fraction(1, 2))


MAX_FACTORIAL = 3000  # 3000! has 9,131 digits, under MAX_DIGITS


def _factorial(x: Value) -> Value:
    if x < 0:
        raise ValueError(f"factorial is not defined for negative numbers ({format_number(x)})")
    if x != int(x) or x > MAX_FACTORIAL:
        raise ValueError(
            f"factorial takes a whole number from 0 to {MAX_FACTORIAL:,}, not {format_number(x)}"
        )
    return Fraction(math.factorial(int(x)))


def _log(x: Value, base: Value | None = None, log: Callable[[Any], float] = math.log10) -> float:
    """log(x) is base 10, log(x, b) base b, ln uses math.log; exact inputs of any size work."""
    for v in (x, base):
        if v is not None and v <= 0:
            raise ValueError(f"logarithms take positive numbers only, not {format_number(v)}")
    if base == 1:
        raise ValueError("a logarithm's base cannot be 1")

    def lg(v: Value) -> float:
        return log(v.numerator) - log(v.denominator) if isinstance(v, Fraction) else log(v)

    return lg(x) if base is None else lg(x) / lg(base)


def _round(x: Value, digits: Value | None = None) -> Value:
    """Round half away from zero, as people do by hand (round(2.5) = 3, not banker's 2)."""
    digits = Fraction(0) if digits is None else digits
    if not (isinstance(digits, Fraction) and digits.denominator == 1 and abs(digits) <= 100):
        raise ValueError("round's second argument must be a whole number from -100 to 100")
    exact = Fraction(repr(x)) if isinstance(x, float) else x
    scale = Fraction(10) ** digits.numerator
    rounded = math.floor(abs(exact) * scale + Fraction(1, 2)) / scale
    return rounded if exact >= 0 else -rounded


def _snap(fn: Callable[[float], float], x: Value) -> float:
    """fn(x) with rounding noise snapped to 0, so sin(pi) is 0 rather than 1.2e-16."""
    arg = float(x)
    result = fn(arg)
    return 0.0 if abs(arg) >= 1 and abs(result) < 1e-15 * abs(arg) else result


FUNCTIONS: dict[str, tuple[int, int, Callable[..., Value]]] = {  # name: (min, max args, fn)
    "sqrt": (1, 1, _sqrt),
    "abs": (1, 1, abs),
    "round": (1, 2, _round),
    "floor": (1, 1, lambda x: Fraction(math.floor(x))),
    "ceil": (1, 1, lambda x: Fraction(math.ceil(x))),
    "log": (1, 2, _log),
    "ln": (1, 1, lambda x: _log(x, None, math.log)),
    "exp": (1, 1, math.exp),
    "factorial": (1, 1, _factorial),
    "sin": (1, 1, lambda x: _snap(math.sin, x)),
    "cos": (1, 1, lambda x: _snap(math.cos, x)),
    "tan": (1, 1, lambda x: _snap(math.tan, x)),
    "min": (1, 100, min),
    "max": (1, 100, max),
    "median": (1, 100, median),
    "gcd": (2, 100, gcd),
    "lcm": (2, 100, lcm),
}
_BINARY: dict[str, Callable[[Any, Any], Value]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": lambda a, b: Fraction(math.floor(a / b)),
    "%": operator.mod,
    "**": _power,
}
_SUPPORTED = (
    f"supported functions are {', '.join(FUNCTIONS)}; constants are pi and e;"
    " operators are + - * / // % ** ^ and parentheses"
)


def _shown(source: str) -> str:
    """The expression quoted for an error message, shortened when long."""
    return f"'{source}'" if len(source) <= 120 else f"'{source[:100]}…' ({len(source)} chars)"


def _tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    for match in TOKEN_RE.finditer(source):
        kind, text = match.lastgroup or "other", match.group()
        if kind == "other":
            raise TaskRejected(
                f"unexpected character {text!r} at position {match.start() + 1} in"
                f" {_shown(source)}: {_SUPPORTED}"
            )
        if kind == "times":  # 'x' multiplies only right after a number, constant or ')'
            prev = tokens[-1] if tokens else ("", "", 0)
            after = prev[0] == "num" or prev[1] == ")" or prev[1].lower() in CONSTANTS
            kind, text = ("op", "*") if after else ("name", text)
        if kind != "space":
            tokens.append((kind, _OP_ALIASES.get(text, text), match.start()))
    return [*tokens, ("end", "", len(source))]


class _Parser:
    """Pratt parser that computes as it parses; binding powers are in _INFIX_BP."""

    def __init__(self, source: str) -> None:
        self.source, self.tokens, self.pos, self.depth = source, _tokenize(source), 0, 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def fail(self, message: str, token: Token | None = None) -> TaskRejected:
        if token is not None:
            kind, text, where = token
            message += " the end" if kind == "end" else f" {text!r} at position {where + 1}"
        return TaskRejected(f"{message} in {_shown(self.source)}")

    def expect(self, text: str) -> None:
        if self.peek()[1] != text:
            raise self.fail(f"expected {text!r} but found", self.peek())
        self.pos += 1

    def parse(self) -> Value:
        if self.peek()[0] == "end":
            raise self.fail("empty expression")
        value = self.expression(0)
        if self.peek()[0] != "end":
            raise self.fail("missing operator before", self.peek())
        return value

    def expression(self, rbp: int) -> Value:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"expression nests deeper than {MAX_DEPTH} levels")
        left = self.prefix()
        while self.peek()[0] == "op" and _INFIX_BP.get(self.peek()[1], 0) > rbp:
            self.pos += 1
            left = _check_size(self.infix(self.tokens[self.pos - 1][1], left))
        self.depth -= 1
        return left

    def prefix(self) -> Value:
        token = kind, text, _ = self.tokens[self.pos]
        self.pos += 1
        if kind == "num":
            if abs(int(re.split("[eE]", text + "e0")[1])) > MAX_DIGITS:
                raise self.fail(f"the exponent of {text} is beyond {MAX_DIGITS:,}")
            return Fraction(text)
        if kind == "name":
            return self.name(text.lower())
        if text == "(":
            value = self.expression(0)
            self.expect(")")
            return value
        if text in ("-", "+"):
            operand = self.expression(_UNARY_BP)
            return -operand if text == "-" else operand
        raise self.fail("expected a number but found", token)

    def name(self, name: str) -> Value:
        if name in FUNCTIONS and self.peek()[1] == "(":
            self.pos += 1
            args = [] if self.peek()[1] == ")" else [self.expression(0)]
            while args and self.peek()[1] == ",":
                self.pos += 1
                args.append(self.expression(0))
            self.expect(")")
            fewest, most, fn = FUNCTIONS[name]
            if not fewest <= len(args) <= most:
                wanted = fewest if fewest == most else f"{fewest} to {most}"
                raise self.fail(f"{name}() takes {wanted} argument(s), not {len(args)},")
            return _check_size(fn(*args))
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in FUNCTIONS:
            raise self.fail(f"{name} needs its argument in parentheses, e.g. {name}(2),")
        raise TaskRejected(f"unknown name {name!r} in {_shown(self.source)}: {_SUPPORTED}")

    def percent_next(self) -> bool:
        """Whether a bare percentage comes next: "10%" closing the expression or a group."""
        if self.pos + 2 >= len(self.tokens):
            return False
        number, percent, after = self.tokens[self.pos : self.pos + 3]
        return number[0] == "num" and percent[1] == "%" and after[1] in ("", ")", ",")

    def infix(self, op: str, left: Value) -> Value:
        if op in ("+", "-") and self.percent_next():  # "59 - 10%" is 53.1, as calculators do
            rate = Fraction(self.tokens[self.pos][1]) / 100
            self.pos += 2
            return left * (1 + rate if op == "+" else 1 - rate)
        if op == "%":  # "15% of 80", a trailing "50%", else modulo
            kind, text, _ = self.peek()
            if kind == "name" and text.lower() == "of":
                self.pos += 1
                return left * self.expression(_INFIX_BP["%"]) / 100
            if kind == "end" or (kind == "op" and text not in ("(", "+", "-")):
                return left / 100
        right_bp = _INFIX_BP[op] - 1 if op == "**" else _INFIX_BP[op]  # ** is right-assoc
        return _BINARY[op](left, self.expression(right_bp))


def evaluate(expr: str) -> Number:
    """The value of an arithmetic expression: int or Fraction when exact, else float."""
    source = expr.strip()
    if not source:
        raise TaskRejected("empty expression: give an arithmetic expression such as '17 * 23'")
    if len(source) > MAX_INPUT_CHARS:
        raise TaskRejected(
            f"expression is {len(source):,} characters long, over the limit of"
            f" {MAX_INPUT_CHARS:,}: split it into smaller calculations"
        )
    try:
        value = _Parser(source).parse()
    except ZeroDivisionError:
        raise InvalidInput(f"division by zero in {_shown(source)}") from None
    except OverflowError:
        raise TaskRejected(
            f"a number in {_shown(source)} is too large for floating point"
        ) from None
    except ValueError as exc:
        raise TaskRejected(f"{exc} in {_shown(source)}") from None
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    return value


def format_number(value: Number) -> str:
    """A number as a person writes it: exact decimals when short, else 15 significant digits."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15g")
    exact = Fraction(value)
    num, den = Decimal(exact.numerator), Decimal(exact.denominator)
    with localcontext() as ctx:  # Decimal, because str() refuses ints over 4,300 digits
        ctx.prec = exact.numerator.bit_length() * 31 // 100 + 25
        ctx.clear_flags()
        quotient = num / den
        exponent = quotient.as_tuple().exponent
        if not ctx.flags[Inexact] and isinstance(exponent, int) and exponent >= -20:
            return format(quotient, "f")
        ctx.prec = 17
        return format(num / den, ".15g")


NUMBER = r"[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+−]?\.\d+"
_NUMBER_RE = re.compile(NUMBER)


def _numbers_of(result: TaskResult) -> list[tuple[str, str | None]]:
    """The numbers one succeeded task produced: its ``values`` (several answers), its
    ``value`` (or ``result``) field, else the single number, in digits or words, after
    '=' in its output."""
    if result.status != "succeeded":
        return []
    values = result.data.get("values")
    if isinstance(values, list):
        return [n for v in values if (n := _written(v, None))]
    value = result.data.get("value", result.data.get("result"))
    unit = result.data.get("unit")
    if (number := _written(value, str(unit) if unit else None)) is not None:
        return [number]
    # "The Solar System has eight planets.": a number in words is a number too
    numbers = _NUMBER_RE.findall(with_digits(result.output.split("=")[-1]))
    return [(numbers[0], None)] if len(numbers) == 1 else []


def _written(value: Any, unit: str | None) -> tuple[str, str | None] | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value), unit
    if isinstance(value, str) and _NUMBER_RE.fullmatch(value):  # a big exact number
        return value, None
    return None


THAT_MANY = r"\b(?:(?:that|this|so)\s+many|(?:that|this|the\s+same)\s+number\s+of)\s+"
"""Words standing for the count the task before gave, before its unit: "that many days"."""


def upstream_numbers(upstream: Mapping[str, TaskResult]) -> list[tuple[str, str | None]]:
    """Every number, as written, with its unit if it said one, that the succeeded tasks
    this one depends on produced, in the order of its dependencies."""
    return [number for result in upstream.values() for number in _numbers_of(result)]


def upstream_number(upstream: Mapping[str, TaskResult]) -> tuple[str, str | None] | None:
    """The one number the tasks this one depends on produced; None when there is none,
    or more than one (which would "the result" be?)."""
    found = upstream_numbers(upstream)
    return found[0] if len(found) == 1 else None
