"""The numbers of the tasks before, written into a calculation that refers to them:
"multiply the result by 3", "add both results", "subtract the second from the first",
"then multiply by 40" (the operand left unsaid)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from mesh.agents._arith import upstream_numbers
from mesh.agents._numwords import with_digits
from mesh.models import TaskResult

__all__ = ["mismatch", "with_upstream"]


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


def mismatch(description: str, upstream: Mapping[str, TaskResult]) -> str:
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
