"""The units agent: converts quantities between units, exactly, from plain words.

The units themselves and exact conversion are `_quantities.py`; this module reads what a
request asks for and answers it. "5 miles to km", "how many feet are in 3 m", "100 °F in
celsius", "5 ft 11 in to cm" (summed), "30 °C to °F and 10 mi to km" (each answered) and
"convert the result from km to miles" (the value then comes from the task it depends on)
all work.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any, NamedTuple

from mesh.agents._arith import NUMBER as _NUMBER
from mesh.agents._arith import THAT_MANY, upstream_number
from mesh.agents._numwords import with_digits
from mesh.agents._quantities import (
    TARGET_LAST,
    Unit,
    convert,
    find_unit,
    format_quantity,
    parse_number,
)
from mesh.agents._quantities import UNIT as _UNIT
from mesh.agents._units_data import SI_UNITS
from mesh.agents._word_problems import rate_over_span
from mesh.errors import TaskRejected
from mesh.models import AgentCard, Skill, TaskRequest, TaskResult


class Asked(NamedTuple):
    """One conversion asked for: the quantity (as the request wrote it) and the target."""

    value: Fraction
    source: Unit
    target: Unit
    written: str  # "5 ft 11 in"


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
_LEADING = re.compile(  # "5 feet " before "11 inches to cm", "1 h and " before "30 min in s"
    rf"(?:(?<![\w.])(?:{_NUMBER})\s*{_UNIT}\s*(?:,\s*|and\s+)?)+$", re.I
)
_LISTED_BEFORE = re.compile(  # "10, 20 and " before "30 miles in km": figures to total first
    rf"(?<![\w.])(?:(?:{_NUMBER})\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s*\+\s*|\s+plus\s+))+$", re.I
)
_WORKED_ON = re.compile(  # "half of " before "3 cups in ml": arithmetic, not a conversion
    r"\b(?:half|third|quarter|double|twice|triple|thrice|times|percent)\s+(?:of\s+)?"
    r"(?:the\s+|an?\s+)?$|%\s+of\s+$",
    re.I,
)
_PAIR = re.compile(rf"(?P<value>{_NUMBER})\s*(?P<src>{_UNIT})", re.I)
_THAT_MANY = re.compile(  # "that many days", "convert those hours to minutes"
    rf"(?:{THAT_MANY}|\b(?:those|these)\s+)(?={_UNIT})", re.I
)


def parse_conversion(
    description: str, upstream: Mapping[str, TaskResult] | None = None
) -> tuple[Fraction, Unit, Unit]:
    """(value, source unit, target unit) from a request in words, using upstream if needed."""
    return parse_conversions(description, upstream)[0][:3]


def parse_conversions(
    description: str, upstream: Mapping[str, TaskResult] | None = None
) -> list[Asked]:
    """Every conversion a request asks for, in its order ("30 °C to °F and 10 mi to km"),
    a compound quantity summed first ("5 feet 11 inches to cm"); else the one from the
    task it depends on ("convert the result from km to miles")."""
    text = description.replace("−", "-")
    that_many = _THAT_MANY.search(text)
    number = upstream_number(upstream or {}) if that_many else None
    if that_many and number:  # the count the task before gave, in the unit named here
        text = f"{text[: that_many.start()]}{number[0]} {text[that_many.end() :]}"
    found, end = [], 0
    for match in _QUANTITY_TO.finditer(text):
        value, src = parse_number(match["value"]), find_unit(match["src"])
        written = _written(value, src)
        _refuse_work_on(text[end : match.start()], match)
        lead = _LEADING.search(text, end, match.start())
        if lead:
            parts = [(m["value"], find_unit(m["src"])) for m in _PAIR.finditer(lead[0])]
            value = sum((_in(v, part, src) for v, part in parts), value)
            shown = [_written(parse_number(v), part) for v, part in parts]
            written = " ".join([*shown, written])
        found.append(Asked(value, src, find_unit(match["dst"]), written))
        end = match.end()
    if found:
        return found
    how_many = _HOW_MANY.search(text)
    if how_many:
        value = parse_number(how_many["value"]) if how_many["value"] else Fraction(1)
        src = find_unit(how_many["src"])
        return [Asked(value, src, find_unit(how_many["dst"]), _written(value, src))]
    loose = _loose(text)
    if loose:
        return [loose]
    number = upstream_number(upstream or {})
    given = (parse_number(number[0]), number[1]) if number else None
    ranged = _FROM_TO.search(text) or TARGET_LAST.search(text)
    source = (ranged.groupdict().get("src") or given[1]) if given and ranged else None
    if given and ranged and source is not None:
        value, src = given[0], find_unit(source)
        return [Asked(value, src, find_unit(ranged["dst"]), _written(value, src))]
    if ranged and (quoted := _quantity_in_answer(upstream or {}, find_unit(ranged["dst"]))):
        return [quoted]  # a text answer before, or a number only its sentence gives a unit
    if given and ranged:
        raise TaskRejected(
            f"the upstream result {format_quantity(given[0])} has no unit: say it, e.g."
            " 'convert the result from km to miles'"
        )
    raise TaskRejected(
        f"found no conversion in {description[:200]!r}: write it like 'convert 5 miles to km',"
        " 'how many feet are in 3 m' or '100 °F in celsius'"
    )


def _refuse_work_on(before: str, quantity: re.Match[str]) -> None:
    """Refuse figures listed before one quantity ("sum of 10, 20 and 30 miles in km") or
    arithmetic on it ("half of 3 cups in ml"): converting the quantity alone answered 30
    miles or 3 cups as if they were the whole."""
    worked = _WORKED_ON.search(before)
    if worked:
        raise TaskRejected(
            f"{worked[0].strip()!r} before {quantity[0]!r} asks for arithmetic, and the units"
            " agent only converts: compute first, then convert, e.g. 'half of 3 cups, then"
            " convert that to ml'"
        )
    listed = _LISTED_BEFORE.search(before)
    if listed:
        figures = f"{listed[0]}{quantity['value']} {quantity['src']}"
        raise TaskRejected(
            f"{figures!r} lists several figures, and the units agent converts one quantity:"
            " ask for their total or average first, then convert it, e.g. 'the sum of 10, 20"
            f" and 30 miles, then convert that to km'"
        )


def _quantity_in_answer(upstream: Mapping[str, TaskResult], target: Unit) -> Asked | None:
    """The first quantity of the target's dimension in the text answer before ("… its
    average distance from the Sun is about 150 million kilometres, very close to one
    astronomical unit" for "convert that distance to miles"): a sentence states its
    answer before it restates it. The result shows which quantity was converted."""
    for result in upstream.values():
        if result.status != "succeeded":
            continue
        measuring = _measuring(_PAIR.finditer(with_digits(result.output)), target.dimension)
        if measuring:
            value, unit = parse_number(measuring[0]["value"]), find_unit(measuring[0]["src"])
            return Asked(value, unit, target, _written(value, unit))
    return None


def _measuring(pairs: Iterable[re.Match[str]], dimension: str) -> list[re.Match[str]]:
    """The quantities whose unit measures `dimension`; one whose unit word names two units
    ("oz" of mass or of volume) measures nothing for sure and is left out."""
    kept = []
    for pair in pairs:
        try:
            if find_unit(pair["src"]).dimension == dimension:
                kept.append(pair)
        except TaskRejected:
            continue
    return kept


_HOW_MANY_OF = re.compile(rf"\bhow\s+many\s+(?P<dst>{_UNIT})", re.I)
_TARGET_FIRST = re.compile(
    rf"^\W*(?P<dst>{_UNIT})\s+(?:in|from|for)\s+(?=[-+.\d])", re.I
)  # km in 26.2 mi?


def _loose(text: str) -> Asked | None:
    """One quantity anywhere, compound or not, and a target ("I weigh 80 kg, what's that
    in pounds?", "I'm 6 ft 2 in tall, what is that in cm?", "how many km is a marathon of
    26.2 miles", "bake at 230 celsius but my oven only does fahrenheit"); of several, the
    one the target measures ("I ran 13.1 miles in 1.5 hours. how far is that in km?");
    None unless both are there once."""
    pairs = list(_PAIR.finditer(text))
    target = _HOW_MANY_OF.search(text) or TARGET_LAST.search(text) or _TARGET_FIRST.search(text)
    target_unit = find_unit(target["dst"]) if target else None
    if target_unit and (total := _over_span(text, target_unit)):
        return total
    if target_unit and len(pairs) > 1:  # "I ran 13.1 miles in 1.5 hours. how far … in km?"
        pairs = _measuring(pairs, target_unit.dimension) or pairs
    joined = all(
        re.fullmatch(r"\s*(?:,\s*|and\s+)?", text[a.end() : b.start()], re.I)
        for a, b in itertools.pairwise(pairs)
    )
    if not pairs or not joined:
        return None
    src = find_unit(pairs[-1]["src"])
    if target is None:
        dst = _named_elsewhere(text, pairs, src)
    elif pairs[0].start() <= target.start("dst") < pairs[-1].end():
        return None
    else:
        dst = find_unit(target["dst"])
    if dst is None:
        return None
    parts = [(m["value"], find_unit(m["src"])) for m in pairs]
    value = sum((_in(v, part, src) for v, part in parts[:-1]), parse_number(parts[-1][0]))
    written = " ".join(_written(parse_number(v), part) for v, part in parts)
    return Asked(value, src, dst, written)


def _over_span(text: str, target: Unit) -> Asked | None:
    """The total of a rate over its span, when that is what is converted ("I ran 5 km a
    day for 30 days. how far is that in miles?" converts 150 km, not 5 km)."""
    found = rate_over_span(text)
    if found is None or found[1] is None:
        return None
    rate, unit_word, count = found
    try:
        unit = find_unit(unit_word)
    except TaskRejected:
        return None
    if unit.dimension != target.dimension:
        return None
    value = parse_number(rate) * parse_number(count)
    written = f"{_written(value, unit)} ({rate} {unit.symbol} × {count})"
    return Asked(value, unit, target, written)


_MENTION = re.compile(rf"(?<![A-Za-z])(?:{_UNIT})", re.I)


def _named_elsewhere(text: str, pairs: list[re.Match[str]], src: Unit) -> Unit | None:
    """The one other unit of the quantity's kind the text names, spelt out ("fahrenheit",
    "pounds"; not "in" or "m", which are words too), or None."""
    named = {
        unit
        for m in _MENTION.finditer(text)
        if not any(p.start() <= m.start() < p.end() for p in pairs)
        and (len(m[0]) >= 4 or "°" in m[0])
        and (unit := find_unit(m[0])).dimension == src.dimension
        and unit != src
    }
    return named.pop() if len(named) == 1 else None


def _written(value: Fraction, unit: Unit) -> str:
    return f"{format_quantity(value)} {unit.symbol}"


def _in(value: str, part: Unit, unit: Unit) -> Fraction:
    """One part of a compound quantity ("5 feet" of "5 feet 11 inches") in `unit`."""
    if unit.dimension == "temperature" or part.dimension != unit.dimension:
        raise TaskRejected(
            f"cannot add {value} {part.symbol} to a quantity in {unit.symbol}: the parts of"
            " a quantity like '5 feet 11 inches' must measure the same thing, and not temperature"
        )
    return convert(value, part, unit)


_SI_QUESTION = re.compile(r"\bSI\s+(?:base\s+|derived\s+)?unit\s+(?:of|for)\s+([a-z ]+)", re.I)


def si_unit(text: str) -> tuple[str, dict[str, Any]] | None:
    """The answer to "what is the SI unit of mass?" and the like, or None if not asked."""
    match = _SI_QUESTION.search(text)
    if not match:
        return None
    words = match[1].lower().split()
    quantity = next(
        (" ".join(words[:n]) for n in (3, 2, 1) if " ".join(words[:n]) in SI_UNITS), None
    )
    if quantity is None:
        known = ", ".join(sorted(SI_UNITS))
        raise TaskRejected(f"I know the SI units of: {known}; not of {match[1].strip()!r}")
    name, symbol, kind = SI_UNITS[quantity]
    what = "an SI base unit" if kind == "base" else f"a derived unit, {kind}"
    output = f"The SI unit of {quantity} is the {name} ({symbol}), {what}."
    return output, {"quantity": quantity, "unit": symbol, "name": name, "kind": kind}


UNITS_CARD = AgentCard(
    name="units",
    version="0.2.9",  # 0.2: compound quantities, several conversions; 0.2.1: unit symbols
    # 0.2.2: durations are a skill of their own ("how many seconds are in 2 weeks" went to dates)
    # 0.2.3: "convert those hours to minutes" after a count; "lbs"; 0.2.4: of two
    # quantities, the one the target measures ("13.1 miles in 1.5 hours … in km");
    # 0.2.5: the card names oven and recipe temperatures; 0.2.6: a rate over a span
    # converts its total ("5 km a day for 30 days … in miles" is 150 km); 0.2.7: "in a
    # year" is a rate's span too, and a number before without a unit takes the one the
    # sentence it came from gives ("299,792,458 metres per second"); 0.2.8: "celcius",
    # "farenheit" as often typed; 0.2.9: figures listed before one quantity ("10, 20 and
    # 30 miles") or arithmetic on it ("half of 3 cups") are refused, not dropped
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
                " Celsius and Fahrenheit (an oven or recipe temperature), liters and gallons,"
                " MB and GiB, kWh and joules; by symbol too: km, mi, ft, in, yd, cm, mm, kg,"
                " lb (lbs), oz, °C, °F, l, ml, gal, mph, km/h, kWh, MB, GiB."
            ),
            tags=["convert", "units", "metric", "imperial", "temperature"],
            examples=[
                "convert 5 miles to km",
                "how many feet are in 3 meters",
                "what is 100 °F in celsius",
                "72 kg in pounds",
                "convert the result from km to miles",
            ],
        ),
        Skill(
            name="convert-durations",
            description=(
                "Convert a length of time between seconds, minutes, hours, days and weeks"
                " (a duration, not a span between two dates): s, min, h, day, week."
            ),
            tags=["duration", "time", "seconds", "minutes", "hours"],
            examples=[
                "how many minutes are in 6 hours",
                "90 minutes in hours",
                "3 days in seconds",
            ],
        ),
        Skill(
            name="si-units",
            description="The SI unit of a physical quantity: mass, length, time, force, energy…",
            tags=["si", "units", "physics"],
            examples=["what is the SI unit of mass", "SI unit of force"],
        ),
    ],
)


def handler(req: TaskRequest) -> TaskResult:
    """Convert `inputs` {value, from, to}, or the conversion the description asks for."""
    given: dict[str, Any] = req.inputs
    asked = None if {"value", "from", "to"} <= given.keys() else si_unit(req.description)
    if asked:
        return TaskResult(
            task_id=req.task_id, status="succeeded", agent="units", output=asked[0], data=asked[1]
        )
    if {"value", "from", "to"} <= given.keys():
        value, src = parse_number(str(given["value"])), find_unit(str(given["from"]))
        asked_for = [Asked(value, src, find_unit(str(given["to"])), _written(value, src))]
    else:
        asked_for = parse_conversions(with_digits(req.description), req.upstream)
    if len(asked_for) > 1:
        return _several(req.task_id, asked_for)
    value, src, dst, written = asked_for[0]
    result = convert(value, src, dst)
    shown = format_quantity(result)
    return TaskResult(
        task_id=req.task_id,
        status="succeeded",
        agent="units",
        output=f"{written} = {shown} {dst.symbol}",
        data={
            "value": float(result),
            "exact": shown,
            "unit": dst.symbol,
            "from": {"value": float(value), "unit": src.symbol},
            "dimension": src.dimension,
        },
    )


def _several(task_id: str, asked_for: list[Asked]) -> TaskResult:
    """One line per conversion; ``values`` lets a next task use them ("add both results")."""
    lines, conversions = [], []
    for value, src, dst, written in asked_for:
        result = convert(value, src, dst)
        lines.append(f"{written} = {format_quantity(result)} {dst.symbol}")
        conversions.append(
            {
                "from": written,
                "value": float(result),
                "unit": dst.symbol,
                "dimension": src.dimension,
            }
        )
    return TaskResult(
        task_id=task_id,
        status="succeeded",
        agent="units",
        output="\n".join(lines),
        data={"conversions": conversions, "values": [c["value"] for c in conversions]},
    )
