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
    NUMBER,
    Number,
    evaluate,
    format_number,
    upstream_numbers,
)
from mesh.agents._expressions import (
    computes_nothing,
    extract_expression,
    extract_expressions,
    list_unit,
)
from mesh.agents._numbers import (
    BaseAsked,
    as_decimal_literals,
    base_asked,
    in_base,
    prime_question,
    written_in_base,
)
from mesh.agents._quantities import TARGET_LAST, find_unit
from mesh.agents._references import mismatch, with_upstream
from mesh.agents._roman import read_roman, roman_asked, to_roman
from mesh.agents._word_problems import rate_unit
from mesh.errors import InvalidInput, TaskRejected
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
    version="0.4.1",  # 0.2: the result before; 0.3: several results; 0.3.1: percent increases
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
    # 0.4.0: tips, discounts, "what percent is 45 of 60", percentage changes; medians;
    # primes and prime factors, gcd and lcm; numbers in binary, octal and hexadecimal;
    # 0.4.1: Roman numerals; "a loaf needs 225 g … 7 loaves" is a rate per thing
    description=(
        "Arithmetic and math: computes numbers exactly from an expression or a question in"
        " plain words. Adds, subtracts, multiplies and divides; powers, roots, percentages,"
        " logarithms, trigonometry and rounding; tips, discounts and percentage changes;"
        " primes, factors, number bases and Roman numerals; big integers and decimals"
        " without rounding error (0.1 + 0.2 = 0.3)."
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
                "a cake needs 250 g of sugar and I am baking 3 cakes, how much sugar in total",
                "multiply that by 8 hours a day",
                "the median of 3, 9, 4, 7 and 1",
            ],
        ),
        Skill(
            name="percentages",
            description=(
                "Everyday percentages: a tip on a bill, a price after a discount, what"
                " percent one number is of another, the percentage change between two."
            ),
            tags=["percent", "percentage", "tip", "discount", "sale", "change", "increase"],
            examples=[
                "15% tip on $84.50",
                "what's 20% off 59.99",
                "a $120 jacket is 25% off, what do I pay",
                "what percent is 45 of 60",
                "18 out of 24 as a percentage",
                "percentage change from 80 to 100",
            ],
        ),
        Skill(
            name="whole-numbers",
            description=(
                "Whole numbers: is a number prime, its prime factors, the greatest common"
                " divisor and least common multiple, remainders, and a number written in"
                " binary, octal, hexadecimal or Roman numerals (or read from them)."
            ),
            tags=["prime", "factors", "gcd", "lcm", "modulo", "binary", "hex", "octal", "roman"],
            examples=[
                "is 97 prime",
                "prime factors of 84",
                "gcd of 48 and 18",
                "least common multiple of 4 and 6",
                "17 mod 5",
                "convert 255 to hex",
                "what is 0b1010 in decimal",
                "what is 2+2 in binary",
                "1994 in roman numerals",
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


def handler(req: TaskRequest) -> TaskResult:
    """Evaluate `inputs["expression"]`, or the expression found in the task description
    (where "the result" or "it" stands for the number the task it depends on gave)."""
    given = req.inputs.get("expression")
    unit = None
    if given is not None and str(given).strip():
        expr, value = _from_input(str(given).strip())
    else:
        description = as_decimal_literals(req.description)
        if (prime := prime_question(description)) is not None:
            return _succeeded(req, *prime)
        if (numeral := read_roman(description)) is not None:
            return _succeeded(req, *numeral)
        if (rest := roman_asked(description)) is not None:
            return _in_roman(req, rest)
        if (base := base_asked(description)) is not None:
            return _in_base(req, base)
        try:
            exprs = extract_expressions(with_upstream(description, req.upstream))
        except TaskRejected as error:
            raise TaskRejected(f"{error}{mismatch(req.description, req.upstream)}") from None
        if len(exprs) > 1:
            values = [evaluate(e) for e in exprs]
            lines = [f"{e} = {format_number(v)}" for e, v in zip(exprs, values, strict=True)]
            listed = {"expressions": exprs, "values": [_json_value(v) for v in values]}
            return _succeeded(req, "\n".join(lines), listed)
        if not re.search(r"\d", description) and computes_nothing(exprs[0]):
            raise TaskRejected(  # "… tip on 62.40 and what's the total" gave the tip again
                f"nothing to compute in {req.description!r}: it names only the result before,"
                f" {exprs[0].strip('()')}; say what to do with it, e.g. 'add it to 100'"
            )
        expr, value = exprs[0], evaluate(exprs[0])
        if _inexact(req.upstream):  # 110.12333333333333 * 1.2 is 132.148, not …7999999996
            value = float(format(float(value), f".{INEXACT_DIGITS}g"))
        unit = _unit_of_rate(req.description) or _unit_of_list(req.description)
        _refuse_a_conversion(req.description, unit)
    data: dict[str, object] = {"expression": expr, "value": _json_value(value)}
    output = f"{expr} = {format_number(value)}" + (f" {unit}" if unit else "")
    return _succeeded(req, output, data | ({"unit": unit} if unit else {}))


def _succeeded(req: TaskRequest, output: str, data: dict[str, object]) -> TaskResult:
    return TaskResult(
        task_id=req.task_id, status="succeeded", agent="calculator", output=output, data=data
    )


def _whole_asked(req: TaskRequest, rest: str, written_in: str) -> tuple[str, int]:
    """The expression, or the one number, a request asks to see written another way, and
    its value; InvalidInput unless that is a whole number."""
    rest = with_upstream(rest, req.upstream)
    try:
        expr = extract_expression(rest)
    except TaskRejected:  # "convert 255": one number and no operation
        numbers = re.findall(rf"(?<![\w.])(?:{NUMBER})(?![\w.])", rest)
        if len(numbers) != 1:
            raise
        expr = numbers[0].replace(",", "").replace("−", "-")
    value = evaluate(expr)
    if not isinstance(value, int):
        said = format_number(value)
        raise InvalidInput(
            f"{said if expr == said else f'{expr} = {said}'} is not a whole number: only whole"
            f" numbers are written in {written_in} here"
        )
    return expr, value


def _in_base(req: TaskRequest, asked: BaseAsked) -> TaskResult:
    """The number or result asked for written in another base ("2+2 in binary" is 0b100,
    "convert 255 to hex" 0xff, "0xff in decimal" 255)."""
    expr, value = _whole_asked(req, asked.rest, asked.name)
    shown = ""
    if asked.base == 10 and len(written := written_in_base(req.description)) == 1:
        shown = f"{written[0]} = "  # "0xff = 255 in decimal"
    shown += _worked(expr, value)
    digits = in_base(value, asked.base)
    output = f"{shown} in decimal" if asked.base == 10 else f"{shown} = {digits} in {asked.name}"
    data = {"expression": expr, "value": _json_value(value), "base": asked.base}
    return _succeeded(req, output, data | {"digits": digits})


def _in_roman(req: TaskRequest, rest: str) -> TaskResult:
    """The number or result asked for in Roman numerals ("1994 in roman numerals")."""
    expr, value = _whole_asked(req, rest, "Roman numerals")
    numeral = to_roman(value)
    data = {"expression": expr, "value": value, "roman": numeral}
    return _succeeded(req, f"{_worked(expr, value)} = {numeral} in Roman numerals", data)


def _worked(expr: str, value: int) -> str:
    """ "2+2 = 4", or "255" alone when the expression is the number."""
    return expr if expr == str(value) else f"{expr} = {value}"


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
