"""Whole-number questions the calculator answers besides arithmetic: is N prime, its prime
factors, and a number written in another base ("255 in hex", "0b1010 in decimal").

The engine's functions for lists and whole numbers (`median`, `gcd`, `lcm`) live here
too, so `_arith.py` only names them. Primality is exact (deterministic Miller-Rabin below
`MAX_FACTORED`); factoring uses trial division and Pollard's rho, so a 24-digit number
with two 12-digit factors takes milliseconds, not hours.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from mesh.errors import InvalidInput

__all__ = [
    "MAX_FACTORED",
    "BaseAsked",
    "as_decimal_literals",
    "base_asked",
    "factorise",
    "gcd",
    "in_base",
    "is_prime",
    "lcm",
    "median",
    "prime_question",
    "written_in_base",
]

MAX_FACTORED = 10**24
"""Below it, primality by Miller-Rabin with the first 12 prime bases is proven exact."""

_BASES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
_SMALL_PRIMES = [p for p in range(2, 1000) if all(p % d for d in range(2, math.isqrt(p) + 1))]


def median(*values: Any) -> Fraction:
    """The middle value, or the mean of the two middle ones (exact)."""
    ordered = sorted(Fraction(v) for v in values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _whole(values: tuple[Any, ...], name: str) -> list[int]:
    if any(Fraction(v).denominator != 1 for v in values):
        raise ValueError(f"{name} takes whole numbers")
    return [int(v) for v in values]


def gcd(*values: Any) -> int:
    """The greatest common divisor of whole numbers."""
    return math.gcd(*_whole(values, "gcd"))


def lcm(*values: Any) -> int:
    """The least common multiple of whole numbers."""
    return math.lcm(*_whole(values, "lcm"))


def is_prime(n: int) -> bool:
    """Whether `n` is prime; exact for n < MAX_FACTORED."""
    if n < 2:
        return False
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in _BASES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _rho(n: int) -> int:
    """A non-trivial factor of the composite `n` (Pollard's rho, Brent's cycle finding)."""
    rng = random.Random(n)  # the same answer every time for the same number
    while True:
        y, c, m = rng.randrange(1, n), rng.randrange(1, n), 128
        g = r = q = 1
        x = ys = y
        while g == 1:
            x = y
            for _ in range(r):
                y = (y * y + c) % n
            k = 0
            while k < r and g == 1:
                ys = y
                for _ in range(min(m, r - k)):
                    y = (y * y + c) % n
                    q = q * abs(x - y) % n
                g, k = math.gcd(q, n), k + m
            r *= 2
        if g == n:
            g = 1
            while g == 1:
                ys = (ys * ys + c) % n
                g = math.gcd(abs(x - ys), n)
        if g != n:
            return g


def factorise(n: int) -> list[int]:
    """The prime factors of 2 <= n < MAX_FACTORED, smallest first, repeated as often as
    they divide it."""
    factors: list[int] = []
    for p in _SMALL_PRIMES:
        while n % p == 0:
            factors.append(p)
            n //= p
    pending = [n] if n > 1 else []
    while pending:
        m = pending.pop()
        if is_prime(m):
            factors.append(m)
        else:
            d = _rho(m)
            pending += [d, m // d]
    return sorted(factors)


_NUMBER = r"(-?\d[\d,]*(?:\.\d+)?)"  # "7.5" too, to refuse it
_PRIME_ASKED = re.compile(
    rf"\bis\s+{_NUMBER}\s+(?:a\s+)?prime\b|\b{_NUMBER}\s+is\s+(?:a\s+)?prime\s*\?"
    rf"|\bprime\s+factors?\s+(?:of\s+)?{_NUMBER}|\bfactori[sz]e\s+{_NUMBER}"
    rf"|\bfactori[sz]ation\s+of\s+{_NUMBER}",
    re.IGNORECASE,
)


def prime_question(text: str) -> tuple[str, dict[str, Any]] | None:
    """The answer to "is 97 prime?" or "prime factors of 84" (its text and data), or None
    when the text asks neither."""
    asked = _PRIME_ASKED.search(text)
    if asked is None:
        return None
    written = next(g for g in asked.groups() if g)
    factors_asked = not (asked[1] or asked[2])
    value = Fraction(written.replace(",", ""))
    if value.denominator != 1:
        raise InvalidInput(f"{written} is not a whole number: only whole numbers are prime")
    n = int(value)
    if n >= MAX_FACTORED:
        raise InvalidInput(
            f"{written} has {len(str(n))} digits: the calculator checks and factors whole"
            f" numbers below 10**24"
        )
    if n < 2:
        return f"{n} is not prime: a prime is a whole number above 1", {"value": n, "prime": False}
    factors = factorise(n)
    data = {"value": n, "prime": len(factors) == 1, "factors": factors}
    product = f"{n} = {' × '.join(map(str, factors))}"
    if factors_asked:
        return product + (f" ({n} is prime)" if data["prime"] else ""), data
    return (f"{n} is prime" if data["prime"] else f"{n} is not prime: {product}"), data


_BASE_NAMES = {2: "binary", 8: "octal", 10: "decimal", 16: "hexadecimal"}
_BASE_WORDS = {"binary": 2, "bin": 2, "octal": 8, "oct": 8, "decimal": 10, "dec": 10}
_BASE_WORDS |= {"hexadecimal": 16, "hex": 16}
_BASE_TARGET = re.compile(
    r"\s*(?:\bin|\bto|\binto|\bas)\s+(?:a\s+)?(?:(?P<word>binary|bin|octal|oct|decimal|dec"
    r"|hexadecimal|hex)(?:\s+number)?|base[\s-]*(?P<base>\d{1,2}))\s*[?.!]*\s*$",
    re.IGNORECASE,
)
_LITERAL = re.compile(r"\b0(?:x[0-9a-f]+|b[01]+|o[0-7]+)\b", re.IGNORECASE)
_FROM_BASE = re.compile(  # "1010 from binary", "ff in hex", "binary 1010"
    r"\b(?:(?P<digits>[0-9a-f]+)\s+(?:from\s+|in\s+)?(?P<word>binary|octal|hexadecimal|hex)"
    r"|(?P<word2>binary|octal|hexadecimal|hex)\s+(?:number\s+)?(?P<digits2>[0-9a-f]+))\b"
    r"(?=\s+(?:in|to|into|as)\s+(?:decimal|dec|base[\s-]*10)\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class BaseAsked:
    """A request for a number in another base: the rest of the text, and the base."""

    rest: str
    base: int

    @property
    def name(self) -> str:
        return _BASE_NAMES.get(self.base, f"base {self.base}")


def as_decimal_literals(text: str) -> str:
    """The text with 0x / 0b / 0o literals, and "1010 from binary" before "to decimal",
    written in decimal, the form the engine reads."""
    text = _LITERAL.sub(lambda m: str(int(m[0], 0)), text)

    def decimal(match: re.Match[str]) -> str:
        digits = match["digits"] or match["digits2"]
        base = _BASE_WORDS[(match["word"] or match["word2"]).lower()]
        try:
            return str(int(digits, base))
        except ValueError:
            raise InvalidInput(f"{digits!r} is not a {_BASE_NAMES[base]} number") from None

    return _FROM_BASE.sub(decimal, text)


def written_in_base(text: str) -> list[str]:
    """The numbers a text writes in another base ("0xff", "1010 from binary")."""
    return [m[0] for m in (*_LITERAL.finditer(text), *_FROM_BASE.finditer(text))]


def base_asked(text: str) -> BaseAsked | None:
    """The base a request asks its result in ("2+2 in binary", "convert 255 to hex"), or
    None when it asks for none."""
    asked = _BASE_TARGET.search(text)
    if asked is None:
        return None
    base = _BASE_WORDS[asked["word"].lower()] if asked["word"] else int(asked["base"])
    if not 2 <= base <= 36:
        raise InvalidInput(f"base {base} does not exist here: give a base from 2 to 36")
    return BaseAsked(text[: asked.start()], base)


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_PREFIX = {2: "0b", 8: "0o", 16: "0x"}


def in_base(n: int, base: int) -> str:
    """A whole number written in `base`, with Python's prefix for 2, 8 and 16."""
    if base == 10:
        return str(n)
    digits, rest = "", abs(n)
    while True:
        rest, digit = divmod(rest, base)
        digits = _DIGITS[digit] + digits
        if not rest:
            break
    return f"{'-' if n < 0 else ''}{_PREFIX.get(base, '')}{digits}"
