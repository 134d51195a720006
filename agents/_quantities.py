"""Quantities for the units agent: units and their exact factors, reading a number or a
unit's name, converting and printing a value.

Every linear unit is an exact `Fraction` of its dimension's SI unit (1 mile is exactly
1609.344 m), so a conversion is one multiplication of fractions and only the printed
result is rounded (to 12 significant digits). Temperatures are affine and handled apart.
Reading requests in words is `units.py`'s job.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

from mesh.agents._units_data import TEMPERATURES, UNITS
from mesh.errors import TaskRejected
from mesh.wording import MISSPELT

__all__ = [
    "MAX_NUMBER_CHARS",
    "SIGNIFICANT_DIGITS",
    "TARGET_LAST",
    "UNIT",
    "Unit",
    "convert",
    "find_unit",
    "format_quantity",
    "parse_number",
]

SIGNIFICANT_DIGITS = 12
MAX_NUMBER_CHARS = 60


class Unit:
    """A unit: its dimension, canonical symbol and exact factor to the SI unit."""

    def __init__(self, dimension: str, symbol: str, factor: Fraction) -> None:
        self.dimension, self.symbol, self.factor = dimension, symbol, factor

    def __repr__(self) -> str:
        return f"Unit({self.symbol!r})"


def _build_aliases() -> tuple[dict[str, Unit], dict[str, list[Unit]]]:
    exact: dict[str, Unit] = {}
    folded: dict[str, list[Unit]] = {}
    for dimension, units in UNITS.items():
        for symbol, factor, aliases in units:
            unit = Unit(dimension, symbol, factor)
            for alias in aliases:
                exact[alias] = unit
    for symbol, aliases in TEMPERATURES.items():
        unit = Unit("temperature", symbol, Fraction(1))
        for alias in aliases:
            exact[alias] = unit
            exact[alias.upper() if len(alias) <= 2 else alias] = unit
    for wrong, right in MISSPELT.items():  # "celcius", as discovery reads it too
        if right in exact:
            exact[wrong] = exact[right]
    for alias, unit in exact.items():
        same = folded.setdefault(alias.lower(), [])
        if unit not in same:
            same.append(unit)
    return exact, folded


_EXACT, _FOLDED = _build_aliases()
_ALIAS_RE = "|".join(
    re.escape(a).replace(r"\ ", r"\s+") for a in sorted(set(_EXACT) | set(_FOLDED), key=len)[::-1]
)
UNIT = rf"(?:degrees?\s+)?(?:{_ALIAS_RE})(?![A-Za-z0-9²³])"
TARGET_LAST = re.compile(rf"(?:\bto|\binto|\bin)\s+(?P<dst>{UNIT})\s*[?.!]*\s*$", re.I)
"""The unit a request ends by asking for: "… in miles?", "… to °C"."""


def find_unit(text: str) -> Unit:
    """The unit an alias names ("km", "miles", "°F", "MiB"), or a TaskRejected saying why not."""
    alias = re.sub(r"\s+", " ", text.strip())
    alias = re.sub(r"^degrees?\s+(?=\S)", "", alias, flags=re.I) if len(alias) > 8 else alias
    if alias in _EXACT:
        return _EXACT[alias]
    choices = _FOLDED.get(alias.lower(), [])
    if len(choices) == 1:
        return choices[0]
    if choices:
        names = " or ".join(sorted(u.symbol for u in choices))
        raise TaskRejected(f"unit {text!r} is ambiguous: write {names}")
    raise TaskRejected(f"unknown unit {text!r}: try e.g. km, mi, kg, lb, °C, L, gal, MB, kWh")


def parse_number(text: str) -> Fraction:
    """A decimal number as an exact fraction ("1,234.5", "-3e2", "−4")."""
    cleaned = text.strip().replace(",", "").replace("−", "-")
    if len(cleaned) > MAX_NUMBER_CHARS:
        raise TaskRejected(f"the number {text[:20]!r}… is too long: use at most 60 characters")
    try:
        number = Fraction(Decimal(cleaned))
    except (ArithmeticError, ValueError):
        raise TaskRejected(f"{text!r} is not a number: write it with digits, e.g. 12.5") from None
    if abs(number) > Fraction(10) ** 100:
        raise TaskRejected(f"{text!r} is too large to convert: keep it below 1e100")
    return number


def _to_kelvin(value: Fraction, unit: str) -> Fraction:
    if unit == "°C":
        return value + Fraction("273.15")
    if unit == "°F":
        return (value - 32) * Fraction(5, 9) + Fraction("273.15")
    return value


def _from_kelvin(value: Fraction, unit: str) -> Fraction:
    if unit == "°C":
        return value - Fraction("273.15")
    if unit == "°F":
        return (value - Fraction("273.15")) * Fraction(9, 5) + 32
    return value


def convert(
    value: Fraction | int | float | str, source: str | Unit, target: str | Unit
) -> Fraction:
    """`value` in `source` units expressed in `target` units, exactly."""
    amount = parse_number(str(value)) if isinstance(value, str | float) else Fraction(value)
    src = source if isinstance(source, Unit) else find_unit(source)
    dst = target if isinstance(target, Unit) else find_unit(target)
    if src.dimension != dst.dimension:
        raise TaskRejected(
            f"cannot convert {src.symbol} ({src.dimension}) to {dst.symbol} ({dst.dimension}):"
            " both units must measure the same thing"
        )
    if src.dimension == "temperature":
        kelvin = _to_kelvin(amount, src.symbol)
        if kelvin < 0:
            raise TaskRejected(f"{format_quantity(amount)} {src.symbol} is below absolute zero")
        return _from_kelvin(kelvin, dst.symbol)
    return amount * src.factor / dst.factor


def format_quantity(value: Fraction) -> str:
    """A number for people: exact when short, else 12 significant digits, no float noise."""
    if value.denominator == 1 and abs(value) < 10**15:
        return str(value.numerator)
    if 1 <= abs(value) < 10**15:
        whole = len(str(abs(int(value))))
        places = Decimal(1).scaleb(-max(0, SIGNIFICANT_DIGITS - whole))
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        fixed = str(exact.quantize(places))
        return fixed.rstrip("0").rstrip(".") if "." in fixed else fixed
    rounded = f"{Decimal(value.numerator) / Decimal(value.denominator):.{SIGNIFICANT_DIGITS}g}"
    if "e" in rounded or "E" in rounded:
        mantissa, exponent = rounded.lower().split("e")
        mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
        return f"{mantissa}e{int(exponent)}"
    return rounded.rstrip("0").rstrip(".") if "." in rounded else rounded
