"""The calculator agent: arithmetic from an expression or a question in plain words.

`extract_expression` (in `_expressions.py`) turns "what's the square root of 144" into
"sqrt(144)"; the arithmetic itself is done exactly, without eval, by the engine in
`_arith.py`. This module re-exports both, and adds the card and "the result" / "both
results" standing for the numbers the tasks before gave.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mesh.agents._arith import (
    MAX_DEPTH,
    MAX_DIGITS,
    MAX_INPUT_CHARS,
    Number,
    evaluate,
    format_number,
    upstream_numbers,
)
from mesh.agents._expressions import extract_expression, extract_expressions, list_unit
from mesh.agents._numwords import with_digits
from mesh.agents._quantities import TARGET_LAST, find_unit
from mesh.agents._word_problems import rate_unit
from mesh.errors import TaskRejected
from mesh.models import AgentCard, Skill, TaskRequest, TaskResult

__all__ = [
    "CALCULATOR_CARD",
    "MAX_DEPTH",
    "MAX_DIGITS",
    "MAX_INPUT_CHARS",
    "evaluate",
    "extract_expression",
    "extract_expressions",
    "format_number",
    "handler",
]


def _json_value(value: Number) -> int | float | str:
    if isinstance(value, int):
        return value if abs(value) < 2**63 else format_number(value)
    try:
        return float(value)
    except OverflowError:
        return format_number(value)


CALCULATOR_CARD = AgentCard(
    name="calculator",
    version="0.3.12",  # 0.2: the result before; 0.3: several results; 0.3.1: percent increases
    # 0.3.2: "split a bill of 120 between 4 people"; 0.3.3: "59 - 10%" is 53.1, "2 plus 3,
    # times 4" is 20; 0.3.4: "avg of 88, 92, 79" (a list with commas alone), "5.5 km
    # every day … over 30 days" is 165 km; 0.3.5: "eight planets" before is 8; 0.3.6: "the
    # count" is the result before ("multiply the count by 250"); the card says "split equally";
    # 0.3.7: a rate per item times a count of them ("23 kg per bag … 2 bags" is 46 kg);
    # 0.3.8: "3 bags at 250 g each", and several summed ("5 shirts for 20 each and 2
    # hats for 10 each"); "then multiply by 40" works on the result before;
    # the card says multiply and divide, with a measure ("multiply that by 8 hours a day")
    # and a monthly amount over months; "7.5 hours times 365 nights" is 7.5 * 365; a
    # result from a float before at full precision keeps 12 significant digits; 0.3.9: a
    # longer period of fixed length in words is a rate's span ("1,450 a month … for a
    # whole year" is 1450 * 12), and the card says so; 0.3.10: "my team of 7" is a
    # headcount; the speaker's figures a later question restates are not computed too;
    # 0.3.11: the sum or average of values in one unit keeps it ("… 79 degrees F" is °F)
    # 0.3.12: a result asked for in another unit ("half of 3 cups in ml") is refused
    description=(
        "Arithmetic and math: computes numbers exactly from an expression or a question in"
        " plain words. Adds, subtracts, multiplies and divides; powers, roots, percentages,"
        " logarithms, trigonometry and rounding; big integers and decimals without rounding"
        " error (0.1 + 0.2 = 0.3)."
    ),
    tags=["math", "arithmetic", "calculator", "numbers", "compute"],
    skills=[
        Skill(
            name="arithmetic",
            description=(
                "Evaluate an arithmetic expression or a sum in words exactly: + - * / // %"
                " and powers (** or ^) with parentheses, in symbols or words (plus, minus,"
                " times, divided by, squared, cubed, double, half); sums and averages (avg, mean)"
                " of lists; a total split equally (what each one owes of a shared bill); a"
                " rate over a span or per item (5 km a day for 30 days, 23 kg per bag for 2"
                " bags); counts at a price each (3 tickets at 25 each); big integers, decimals"
                " and fractions."
            ),
            tags=[
                *("math", "arithmetic", "compute", "numbers", "calculate"),
                *("times", "average", "avg", "mean", "double", "half", "difference"),
                *("multiply", "divide"),
            ],
            examples=[
                "What is 17 * 23?",
                "Compute 2**10",
                "calculate (3+4)*5 please",
                "what is 1234 times 5678",
                "divide 10 by 4",
                "add 0.1 and 0.2",
                "add the two results",
                "multiply the result by 3",
                "the average of 3, 4 and 5",
                "double it",
                "subtract the second result from the first",
                "take 5 away from it",
                "add 20% to the result",
                "the difference between the two",
                "split a bill of 120 between 4 people",
                "5 km a day over 30 days",
                "I pay 60 a month, how much is that for 12 months",
                "my rent is 900 a month, how much is that a year",
                "12 a day on lunch, how much is that over 20 days",
                "4 tickets at 12.50 each and 2 drinks at 3 each, how much in total",
                "6 eggs in each box and I have 4 boxes, how many eggs",
                "multiply that by 8 hours a day",
            ],
        ),
        Skill(
            name="math-functions",
            description=(
                "Square and cube roots, powers, factorials, logarithms, exponentials,"
                " trigonometry in radians, rounding, min and max, and percentages of a number."
            ),
            tags=["math", "functions", "percentages", "roots", "logarithms"],
            examples=[
                "what's the square root of 144",
                "what is 15% of 80",
                "2 to the power of 64",
                "2 to the 16th",
                "log of 1000",
                "round(2.675, 2)",
                "sin(pi / 6)",
                "sqrt(2) to 5 decimal places",
                "what is 10 factorial",
            ],
        ),
    ],
)


def _from_input(given: str) -> tuple[str, Number]:
    """Evaluate an explicit expression; if it does not parse, read it as words instead."""
    try:
        return given, evaluate(given)
    except TaskRejected as error:
        try:
            found = extract_expression(given)  # the planner may have written words
        except TaskRejected:
            raise error from None
        if found == given:
            raise
        return found, evaluate(found)


_REFERENCE = re.compile(
    r"\b(?:the\s+(?:previous\s+|last\s+|above\s+|first\s+)?"
    r"(?:result|answer|total|value|number|figure|outcome|count|amount)"
    r"|(?:that|this)(?:\s+(?:number|year|amount|count|figure|value|total|sum|price|age))?|it)\b",
    re.I,
)


_OPERAND = re.compile(
    r"\b(?:add|subtract|multiply|divide|double|halve|square|cube|round|of|by|to|from|times"
    r"|plus|minus)\s+$",
    re.I,
)
_PLURAL_REFERENCE = re.compile(
    r"\b(?:(?:both|all(?:\s+the)?|these|those|the(?:\s+(two|three|four|five|\d))?)\s+"
    r"(?:results|answers|numbers|values|totals|figures)|both\s+of\s+them|all\s+of\s+them"
    r"|them|both|the\s+(two|three|four|five)(?=\s*[?.!,]|\s*$)"
    r"|all\s+(?:the\s+)?(two|three|four|five|\d)(?:\s+(?:results|answers|numbers|values))?)\b",
    re.I,
)


_ORDINAL_REFERENCE = re.compile(
    r"\bthe\s+(first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th|last)"
    r"(?:\s+(?:result|answer|number|value|one))?\b",
    re.I,
)
_ORDINALS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "last": -1}
_ORDINALS |= {"1st": 0, "2nd": 1, "3rd": 2, "4th": 3, "5th": 4}


def _by_position(description: str, numbers: list[str]) -> str:
    """ "the second result" / "the first" replaced by that number of the tasks before, in
    their order; unchanged when one of them points past the numbers there are."""
    if any(
        _ORDINALS[m[1].lower()] >= len(numbers) for m in _ORDINAL_REFERENCE.finditer(description)
    ):
        return description
    return _ORDINAL_REFERENCE.sub(lambda m: f"({numbers[_ORDINALS[m[1].lower()]]})", description)


def with_upstream(description: str, upstream: Mapping[str, TaskResult]) -> str:
    """The description with "the result" / "it" / "that" replaced by the number the task
    it depends on produced ("multiply the result by 3" after a task that gave 62.1 reads
    "multiply (62.1) by 3"), and "both results" / "the three answers" / "them" by the
    numbers the tasks it depends on produced ("add (1024) and (243)"); unchanged when
    the numbers do not fit the words."""
    numbers = [n.replace(",", "").replace("−", "-") for n, _ in upstream_numbers(upstream)]
    if len(numbers) > 1 and _ORDINAL_REFERENCE.search(description):
        return _by_position(description, numbers)
    plural = _PLURAL_REFERENCE.search(description)
    if plural and len(numbers) > 1:
        both = "two" if plural[0].lower().startswith("both") else None
        word = plural[1] or plural[2] or plural[3] or both
        if word and int(with_digits(word.lower())) != len(numbers):
            return description
        listed = ", ".join(f"({n})" for n in numbers[:-1]) + f" and ({numbers[-1]})"
        return description[: plural.start()] + listed + description[plural.end() :]
    references = list(_REFERENCE.finditer(description))
    if len(numbers) == 1 and not references and not _PLURAL_REFERENCE.search(description):
        return _ELIDED.sub(lambda m: _fill_elided(m, numbers[0]), description, count=1)
    if len(numbers) != 1 or not references:
        return description
    # the one an operation takes: "I need it in hours so multiply that by 24"
    ref = next((r for r in references if _OPERAND.search(description[: r.start()])), None)
    ref = ref or references[0]
    return f"{description[: ref.start()]}({numbers[0]}){description[ref.end() :]}"


_ELIDED = re.compile(  # an operation on the result before, left unsaid: "then multiply by 40"
    r"^\s*(?:(?:multiply|divide)(?=\s+by\b)"
    r"|(?P<verb>add|subtract)\s+\d[\d,.]*%?(?!.*\b(?:to|from)\b)"
    r"|(?:double|halve|square|cube)(?=\s*[.!?]?\s*$)"
    r"|(?P<op>times|plus|minus|divided\s+by|multiplied\s+by)(?=\s))",
    re.I,
)


def _fill_elided(match: re.Match[str], number: str) -> str:
    """The operand left unsaid written in: "multiply (12) by 40", "add 5 to (12)",
    "double (12)", "(12) times 3"."""
    if match["op"]:
        return f"({number}) {match[0].strip()}"
    if match["verb"]:
        joint = "to" if match["verb"].lower() == "add" else "from"
        return f"{match[0]} {joint} ({number})"
    return f"{match[0]} ({number})"


def _mismatch(description: str, upstream: Mapping[str, TaskResult]) -> str:
    """Why a reference to the results before could not be filled in, or ''."""
    referred = _REFERENCE.search(description) or _PLURAL_REFERENCE.search(description)
    if not upstream or not referred:
        return ""
    numbers = [n for n, _ in upstream_numbers(upstream)]
    shown = ", ".join(numbers) if numbers else "none"
    return (
        f"; the tasks it depends on ({', '.join(upstream)}) gave {len(numbers)} number(s)"
        f" ({shown}): say 'the result' for one, 'both results' or 'the N results' for several"
    )


def handler(req: TaskRequest) -> TaskResult:
    """Evaluate `inputs["expression"]`, or the expression found in the task description
    (where "the result" or "it" stands for the number the task it depends on gave)."""
    given = req.inputs.get("expression")
    unit = None
    if given is not None and str(given).strip():
        expr, value = _from_input(str(given).strip())
    else:
        try:
            exprs = extract_expressions(with_upstream(req.description, req.upstream))
        except TaskRejected as error:
            raise TaskRejected(f"{error}{_mismatch(req.description, req.upstream)}") from None
        if len(exprs) > 1:
            values = [evaluate(expr) for expr in exprs]
            return TaskResult(
                task_id=req.task_id,
                status="succeeded",
                agent="calculator",
                output="\n".join(
                    f"{e} = {format_number(v)}" for e, v in zip(exprs, values, strict=True)
                ),
                data={"expressions": exprs, "values": [_json_value(v) for v in values]},
            )
        expr, value = exprs[0], evaluate(exprs[0])
        if _inexact(req.upstream):  # 110.12333333333333 * 1.2 is 132.148, not …7999999996
            value = float(format(float(value), f".{INEXACT_DIGITS}g"))
        unit = _unit_of_rate(req.description) or _unit_of_list(req.description)
        _refuse_a_conversion(req.description, unit)
    data: dict[str, object] = {"expression": expr, "value": _json_value(value)}
    return TaskResult(
        task_id=req.task_id,
        status="succeeded",
        agent="calculator",
        output=f"{expr} = {format_number(value)}" + (f" {unit}" if unit else ""),
        data=data | ({"unit": unit} if unit else {}),
    )


INEXACT_DIGITS = 12
"""Significant digits kept in a result computed from a binary float a task before gave
(a mean of 110.12333333333333 has 17 digits, the last ones noise)."""


def _inexact(upstream: Mapping[str, TaskResult]) -> bool:
    """Whether a number before is a float at full precision (big integers are exact)."""
    return any(
        "." in n and len(re.sub(r"\D", "", n).lstrip("0")) >= 16
        for n, _ in upstream_numbers(upstream)
    )


def _refuse_a_conversion(description: str, unit: str | None) -> None:
    """Refuse a result asked for in a unit it is not in ("half of 3 cups in ml" answered
    1.5 as if the ml were said): the calculator computes, the units agent converts."""
    asked = TARGET_LAST.search(description.strip())
    if asked is None:  # "in total", "to 2 dp": no unit
        return
    if find_unit(asked["dst"]).symbol != unit:
        raise TaskRejected(
            f"the result is asked for in {asked['dst']!r} and the calculator does not convert"
            " units: compute first, then convert, e.g. 'half of 3 cups, then convert that to ml'"
        )


def _unit_of_list(description: str) -> str | None:
    """The unit of a sum or average of values written in one unit ("the average of 68, 72
    and 79 degrees F" is 73 °F), when it is a unit of measure, so a task after it can
    convert the result."""
    word = list_unit(description)
    for candidate in (word, word.split()[-1]) if word else ():
        try:
            return find_unit(candidate).symbol
        except TaskRejected:  # "3, 4 and 5 apples": a count, not a unit
            continue
    return None


def _unit_of_rate(description: str) -> str | None:
    """The unit a rate times its span counts in ("5.5 km every day … over 30 days" is
    165 km), when it is a unit of measure; a task after it can then convert "the total"."""
    word = rate_unit(description)
    try:
        return find_unit(word).symbol if word else None
    except TaskRejected:  # "3 coffees a day": a count, not a unit
        return None
