"""The units agent: converts quantities between units, exactly, from plain words.

Every linear unit is an exact `Fraction` of its dimension's SI unit (1 mile is exactly
1609.344 m), so a conversion is one multiplication of fractions and only the printed
result is rounded (to 12 significant digits). Temperatures are affine and handled apart.
"5 miles to km", "how many feet are in 3 m", "100 °F in celsius" and "convert the result
from km to miles" (the value then comes from the task it depends on) all work.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from mesh.errors import AgentError
from mesh.models import AgentCard, Skill, TaskRequest, TaskResult

SIGNIFICANT_DIGITS = 12
MAX_NUMBER_CHARS = 60

# dimension -> (canonical symbol, exact factor to the SI unit, aliases). Matching is
# case-sensitive first (MB vs Mbit), then case-insensitive when that is unambiguous.
_F = Fraction
_UNITS: dict[str, list[tuple[str, Fraction, list[str]]]] = {
    "length": [
        ("m", _F(1), ["m", "meter", "meters", "metre", "metres"]),
        ("km", _F(1000), ["km", "kilometer", "kilometers", "kilometre", "kilometres"]),
        ("cm", _F(1, 100), ["cm", "centimeter", "centimeters", "centimetre", "centimetres"]),
        ("mm", _F(1, 1000), ["mm", "millimeter", "millimeters", "millimetre", "millimetres"]),
        ("µm", _F(1, 10**6), ["µm", "um", "micrometer", "micrometers", "micron", "microns"]),
        ("nm", _F(1, 10**9), ["nm", "nanometer", "nanometers", "nanometre", "nanometres"]),
        ("mi", _F("1609.344"), ["mi", "mile", "miles"]),
        ("yd", _F("0.9144"), ["yd", "yard", "yards"]),
        ("ft", _F("0.3048"), ["ft", "foot", "feet", "'"]),
        ("in", _F("0.0254"), ["in", "inch", "inches", '"']),
        ("nmi", _F(1852), ["nmi", "nautical mile", "nautical miles"]),
        ("au", _F(149597870700), ["au", "astronomical unit", "astronomical units"]),
        ("ly", _F(9460730472580800), ["ly", "light year", "light years", "light-year"]),
    ],
    "mass": [
        ("kg", _F(1), ["kg", "kilogram", "kilograms", "kilo", "kilos"]),
        ("g", _F(1, 1000), ["g", "gram", "grams", "gramme", "grammes"]),
        ("mg", _F(1, 10**6), ["mg", "milligram", "milligrams"]),
        ("µg", _F(1, 10**9), ["µg", "ug", "microgram", "micrograms"]),
        ("t", _F(1000), ["t", "tonne", "tonnes", "metric ton", "metric tons"]),
        ("lb", _F("0.45359237"), ["lb", "lbs", "pound", "pounds"]),
        ("oz", _F("0.028349523125"), ["oz", "ounce", "ounces"]),
        ("st", _F("6.35029318"), ["st", "stone", "stones"]),
        ("short ton", _F("907.18474"), ["ton", "tons", "short ton", "short tons"]),
    ],
    "time": [
        ("s", _F(1), ["s", "sec", "secs", "second", "seconds"]),
        ("ms", _F(1, 1000), ["ms", "millisecond", "milliseconds"]),
        ("min", _F(60), ["min", "mins", "minute", "minutes"]),
        ("h", _F(3600), ["h", "hr", "hrs", "hour", "hours"]),
        ("day", _F(86400), ["d", "day", "days"]),
        ("week", _F(604800), ["wk", "week", "weeks"]),
        ("year", _F(31557600), ["yr", "yrs", "year", "years", "julian year"]),
    ],
    "volume": [
        ("L", _F(1, 1000), ["l", "L", "liter", "liters", "litre", "litres"]),
        ("mL", _F(1, 10**6), ["ml", "mL", "milliliter", "milliliters", "millilitre"]),
        ("cL", _F(1, 10**5), ["cl", "cL", "centiliter", "centiliters", "centilitre"]),
        ("m³", _F(1), ["m3", "m³", "cubic meter", "cubic meters", "cubic metre"]),
        ("cm³", _F(1, 10**6), ["cm3", "cm³", "cc", "cubic centimeter", "cubic centimeters"]),
        ("gal", _F("0.003785411784"), ["gal", "gallon", "gallons", "us gallon", "us gallons"]),
        ("imp gal", _F("0.00454609"), ["imperial gallon", "imperial gallons", "imp gal"]),
        ("qt", _F("0.000946352946"), ["qt", "quart", "quarts"]),
        ("pt", _F("0.000473176473"), ["pt", "pint", "pints"]),
        ("cup", _F("0.0002365882365"), ["cup", "cups"]),
        ("fl oz", _F("0.0000295735295625"), ["fl oz", "fluid ounce", "fluid ounces"]),
        ("tbsp", _F("0.00001478676478125"), ["tbsp", "tablespoon", "tablespoons"]),
        ("tsp", _F("0.00000492892159375"), ["tsp", "teaspoon", "teaspoons"]),
    ],
    "area": [
        ("m²", _F(1), ["m2", "m²", "sq m", "square meter", "square meters", "square metre"]),
        ("km²", _F(10**6), ["km2", "km²", "sq km", "square kilometer", "square kilometers"]),
        ("cm²", _F(1, 10**4), ["cm2", "cm²", "sq cm", "square centimeter"]),
        ("ha", _F(10**4), ["ha", "hectare", "hectares"]),
        ("acre", _F("4046.8564224"), ["acre", "acres"]),
        ("ft²", _F("0.09290304"), ["ft2", "ft²", "sq ft", "square foot", "square feet"]),
        ("in²", _F("0.00064516"), ["in2", "in²", "sq in", "square inch", "square inches"]),
        ("mi²", _F("2589988.110336"), ["mi2", "mi²", "sq mi", "square mile", "square miles"]),
    ],
    "speed": [
        ("m/s", _F(1), ["m/s", "meters per second", "metres per second"]),
        ("km/h", _F(5, 18), ["km/h", "kph", "kmh", "kmph", "kilometers per hour"]),
        ("mph", _F("0.44704"), ["mph", "mi/h", "miles per hour"]),
        ("kn", _F(1852, 3600), ["kn", "kt", "knot", "knots"]),
        ("ft/s", _F("0.3048"), ["ft/s", "fps", "feet per second"]),
    ],
    "data": [
        ("B", _F(1), ["B", "byte", "bytes"]),
        ("bit", _F(1, 8), ["bit", "bits"]),
        ("kB", _F(1000), ["kB", "KB", "kilobyte", "kilobytes"]),
        ("MB", _F(10**6), ["MB", "megabyte", "megabytes"]),
        ("GB", _F(10**9), ["GB", "gigabyte", "gigabytes"]),
        ("TB", _F(10**12), ["TB", "terabyte", "terabytes"]),
        ("KiB", _F(2**10), ["KiB", "kibibyte", "kibibytes"]),
        ("MiB", _F(2**20), ["MiB", "mebibyte", "mebibytes"]),
        ("GiB", _F(2**30), ["GiB", "gibibyte", "gibibytes"]),
        ("TiB", _F(2**40), ["TiB", "tebibyte", "tebibytes"]),
        ("kbit", _F(125), ["kbit", "kilobit", "kilobits"]),
        ("Mbit", _F(125000), ["Mbit", "Mb", "megabit", "megabits"]),
        ("Gbit", _F(125 * 10**6), ["Gbit", "Gb", "gigabit", "gigabits"]),
    ],
    "energy": [
        ("J", _F(1), ["J", "joule", "joules"]),
        ("kJ", _F(1000), ["kJ", "kilojoule", "kilojoules"]),
        ("cal", _F("4.184"), ["cal", "calorie", "calories"]),
        ("kcal", _F(4184), ["kcal", "kilocalorie", "kilocalories", "Cal"]),
        ("Wh", _F(3600), ["Wh", "watt hour", "watt hours"]),
        ("kWh", _F(3600000), ["kWh", "kilowatt hour", "kilowatt hours"]),
        ("BTU", _F("1055.05585262"), ["BTU", "btu", "btus"]),
    ],
    "power": [
        ("W", _F(1), ["W", "watt", "watts"]),
        ("kW", _F(1000), ["kW", "kilowatt", "kilowatts"]),
        ("MW", _F(10**6), ["MW", "megawatt", "megawatts"]),
        ("hp", _F("745.69987158227022"), ["hp", "horsepower"]),
    ],
    "pressure": [
        ("Pa", _F(1), ["Pa", "pascal", "pascals"]),
        ("kPa", _F(1000), ["kPa", "kilopascal", "kilopascals"]),
        ("bar", _F(10**5), ["bar", "bars"]),
        ("atm", _F(101325), ["atm", "atmosphere", "atmospheres"]),
        ("psi", _F("6894.757293168361"), ["psi"]),
        ("mmHg", _F("133.322387415"), ["mmHg", "mmhg"]),
    ],
}
_TEMPERATURES = {
    "°C": ["°c", "c", "celsius", "centigrade", "degrees celsius", "degree celsius", "deg c"],
    "°F": ["°f", "f", "fahrenheit", "degrees fahrenheit", "degree fahrenheit", "deg f"],
    "K": ["k", "kelvin", "kelvins", "degrees kelvin"],
}


class Unit:
    """A unit: its dimension, canonical symbol and exact factor to the SI unit."""

    def __init__(self, dimension: str, symbol: str, factor: Fraction) -> None:
        self.dimension, self.symbol, self.factor = dimension, symbol, factor

    def __repr__(self) -> str:
        return f"Unit({self.symbol!r})"


def _build_aliases() -> tuple[dict[str, Unit], dict[str, list[Unit]]]:
    exact: dict[str, Unit] = {}
    folded: dict[str, list[Unit]] = {}
    for dimension, units in _UNITS.items():
        for symbol, factor, aliases in units:
            unit = Unit(dimension, symbol, factor)
            for alias in aliases:
                exact[alias] = unit
    for symbol, aliases in _TEMPERATURES.items():
        unit = Unit("temperature", symbol, Fraction(1))
        for alias in aliases:
            exact[alias] = unit
            exact[alias.upper() if len(alias) <= 2 else alias] = unit
    for alias, unit in exact.items():
        same = folded.setdefault(alias.lower(), [])
        if unit not in same:
            same.append(unit)
    return exact, folded


_EXACT, _FOLDED = _build_aliases()
_ALIAS_RE = "|".join(
    re.escape(a).replace(r"\ ", r"\s+") for a in sorted(set(_EXACT) | set(_FOLDED), key=len)[::-1]
)
_NUMBER = r"[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+−]?\.\d+"
_UNIT = rf"(?:degrees?\s+)?(?:{_ALIAS_RE})(?![A-Za-z0-9²³])"
_CONNECT = r"\s*(?:to|in|into|as|in\s+terms\s+of|=\s*\?)\s+"
_QUANTITY_TO = re.compile(
    rf"(?<![\w.])(?P<value>{_NUMBER})\s*(?P<src>{_UNIT}){_CONNECT}(?P<dst>{_UNIT})", re.I
)
_HOW_MANY = re.compile(
    rf"how\s+many\s+(?P<dst>{_UNIT})\s+(?:are\s+|is\s+|there\s+)*(?:in|per)\s+(?:an?\s+)?"
    rf"(?P<value>{_NUMBER})?\s*(?P<src>{_UNIT})",
    re.I,
)
_FROM_TO = re.compile(rf"(?:from\s+)(?P<src>{_UNIT}){_CONNECT}(?P<dst>{_UNIT})", re.I)
_TO_ONLY = re.compile(rf"(?:\bto|\binto|\bin)\s+(?P<dst>{_UNIT})\s*[?.!]*\s*$", re.I)


def find_unit(text: str) -> Unit:
    """The unit an alias names ("km", "miles", "°F", "MiB"), or an AgentError saying why not."""
    alias = re.sub(r"\s+", " ", text.strip())
    alias = re.sub(r"^degrees?\s+(?=\S)", "", alias, flags=re.I) if len(alias) > 8 else alias
    if alias in _EXACT:
        return _EXACT[alias]
    choices = _FOLDED.get(alias.lower(), [])
    if len(choices) == 1:
        return choices[0]
    if choices:
        names = " or ".join(sorted(u.symbol for u in choices))
        raise AgentError(f"unit {text!r} is ambiguous: write {names}")
    raise AgentError(f"unknown unit {text!r}: try e.g. km, mi, kg, lb, °C, L, gal, MB, kWh")


def parse_number(text: str) -> Fraction:
    """A decimal number as an exact fraction ("1,234.5", "-3e2", "−4")."""
    cleaned = text.strip().replace(",", "").replace("−", "-")
    if len(cleaned) > MAX_NUMBER_CHARS:
        raise AgentError(f"the number {text[:20]!r}… is too long: use at most 60 characters")
    try:
        number = Fraction(Decimal(cleaned))
    except (ArithmeticError, ValueError):
        raise AgentError(f"{text!r} is not a number: write it with digits, e.g. 12.5") from None
    if abs(number) > Fraction(10) ** 100:
        raise AgentError(f"{text!r} is too large to convert: keep it below 1e100")
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
        raise AgentError(
            f"cannot convert {src.symbol} ({src.dimension}) to {dst.symbol} ({dst.dimension}):"
            " both units must measure the same thing"
        )
    if src.dimension == "temperature":
        kelvin = _to_kelvin(amount, src.symbol)
        if kelvin < 0:
            raise AgentError(f"{format_quantity(amount)} {src.symbol} is below absolute zero")
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


def _upstream_value(upstream: Mapping[str, TaskResult]) -> tuple[Fraction, str | None] | None:
    """The number (and unit, if it said one) that the tasks this one depends on produced."""
    for result in upstream.values():
        if result.status != "succeeded":
            continue
        value = result.data.get("value", result.data.get("result"))
        if isinstance(value, int | float) and not isinstance(value, bool):
            unit = result.data.get("unit")
            return parse_number(repr(value)), str(unit) if unit else None
        numbers = re.findall(_NUMBER, result.output.split("=")[-1])
        if len(numbers) == 1:
            return parse_number(numbers[0]), None
    return None


def parse_conversion(
    description: str, upstream: Mapping[str, TaskResult] | None = None
) -> tuple[Fraction, Unit, Unit]:
    """(value, source unit, target unit) from a request in words, using upstream if needed."""
    text = description.replace("−", "-")
    match = _QUANTITY_TO.search(text) or _HOW_MANY.search(text)
    if match:
        value = parse_number(match["value"]) if match["value"] else Fraction(1)
        return value, find_unit(match["src"]), find_unit(match["dst"])
    given = _upstream_value(upstream or {})
    ranged = _FROM_TO.search(text) or _TO_ONLY.search(text)
    if given and ranged:
        value, unit = given
        source = ranged.groupdict().get("src") or unit
        if source is None:
            raise AgentError(
                f"the upstream result {format_quantity(value)} has no unit: say it, e.g."
                " 'convert the result from km to miles'"
            )
        return value, find_unit(source), find_unit(ranged["dst"])
    raise AgentError(
        f"found no conversion in {description[:200]!r}: write it like 'convert 5 miles to km',"
        " 'how many feet are in 3 m' or '100 °F in celsius'"
    )


UNITS_CARD = AgentCard(
    name="units",
    description=(
        "Unit conversion: converts lengths, distances, weights, temperatures, volumes, areas,"
        " speeds, durations, data sizes, energy, power and pressure between metric, imperial"
        " and US units, exactly."
    ),
    tags=["units", "conversion", "measurement", "metric", "imperial"],
    skills=[
        Skill(
            name="convert-units",
            description=(
                "Convert a quantity from one unit to another: km and miles, kg and pounds,"
                " Celsius and Fahrenheit, liters and gallons, MB and GiB, kWh and joules."
            ),
            tags=["convert", "units", "metric", "imperial", "temperature"],
            examples=[
                "convert 5 miles to km",
                "how many feet are in 3 meters",
                "what is 100 °F in celsius",
                "72 kg in pounds",
                "convert the result from km to miles",
            ],
        )
    ],
)


def handler(req: TaskRequest) -> TaskResult:
    """Convert `inputs` {value, from, to}, or the conversion the description asks for."""
    given: dict[str, Any] = req.inputs
    if {"value", "from", "to"} <= given.keys():
        value = parse_number(str(given["value"]))
        src, dst = find_unit(str(given["from"])), find_unit(str(given["to"]))
    else:
        value, src, dst = parse_conversion(req.description, req.upstream)
    result = convert(value, src, dst)
    shown = format_quantity(result)
    return TaskResult(
        task_id=req.task_id,
        status="succeeded",
        agent="units",
        output=f"{format_quantity(value)} {src.symbol} = {shown} {dst.symbol}",
        data={
            "value": float(result),
            "exact": shown,
            "unit": dst.symbol,
            "from": {"value": float(value), "unit": src.symbol},
            "dimension": src.dimension,
        },
    )
