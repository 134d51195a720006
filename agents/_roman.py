"""Roman numerals for the calculator: "1994 in roman numerals" is MCMXCIV, "what is XLVII"
47. Only the standard subtractive forms from 1 to 3999 are read or written: "IIII" or
"IC" is refused, not guessed, and so is a number past 3999 (it needs an overline)."""

from __future__ import annotations

import re
from typing import Any

from mesh.errors import InvalidInput

__all__ = ["from_roman", "read_roman", "roman_asked", "to_roman"]

MAX_ROMAN = 3999
_VALUES = (
    (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
    (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
)  # fmt: skip
_STANDARD = re.compile(r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")
_ROMAN_WORD = re.compile(r"\broman(?:\s+numerals?|\s+numbers?)?\b", re.IGNORECASE)
_TO_ROMAN = re.compile(
    r"\b(?:in(?:to)?|to|as)\s+(?:a\s+)?roman(?:\s+numerals?|\s+numbers?)?\b", re.IGNORECASE
)
_LETTERS = re.compile(r"\b[MDCLXVI]+\b", re.IGNORECASE)
_ONLY_ASKS = re.compile(  # the words around a numeral that only ask for its value
    r"\b(?:what's|whats|what|is|are|does|do|the|a|an|in|to|as|into|convert|number|numbers"
    r"|numeral|numerals|decimal|arabic|value|of|mean|means|stand|for|roman|write|written"
    r"|please|pls|plz)\b|[^\w]+",
    re.IGNORECASE,
)


def to_roman(n: int) -> str:
    """`n` in Roman numerals; InvalidInput outside 1..3999."""
    if not 1 <= n <= MAX_ROMAN:
        raise InvalidInput(
            f"{n} has no Roman numeral in the standard form: it writes 1 to {MAX_ROMAN}"
        )
    written = []
    for value, letters in _VALUES:
        count, n = divmod(n, value)
        written.append(letters * count)
    return "".join(written)


def from_roman(numeral: str) -> int:
    """The value of a Roman numeral in the standard form; InvalidInput for any other."""
    upper = numeral.upper()
    if not upper or not _STANDARD.fullmatch(upper):
        raise InvalidInput(
            f"{numeral!r} is not a Roman numeral in the standard form (e.g. XLVII for 47,"
            " MCMXCIV for 1994): write each place once, as IV, IX, XL, XC, CD or CM"
        )
    total, rest = 0, upper
    for value, letters in _VALUES:
        while rest.startswith(letters):
            total, rest = total + value, rest[len(letters) :]
    return total


def roman_asked(text: str) -> str | None:
    """The text before "in roman numerals" when the result is asked in them ("1994 in roman
    numerals", "2000 + 24 as a roman numeral"), or None."""
    asked = _TO_ROMAN.search(text)
    return None if asked is None else f"{text[: asked.start()]} {text[asked.end() :]}"


def read_roman(text: str) -> tuple[str, dict[str, Any]] | None:
    """The answer to "what is XLVII (in decimal)?", with its data, or None when the text
    holds no numeral to read. A numeral is read only when "roman" is said or nothing but
    the numeral and asking words is there, and the text has no digits: "CV" in a longer
    question may be a name."""
    found = _LETTERS.findall(text)
    if re.search(r"\d", text) or len(found) != 1:
        return None
    (numeral,) = found
    if not _ROMAN_WORD.search(text) and not (
        len(numeral) >= 2 and numeral.isupper() and _only_asks(text, numeral)
    ):
        return None  # "I", "mix" or "civil" alone are words
    value = from_roman(numeral)
    return f"{numeral.upper()} = {value}", {"value": value, "roman": numeral.upper()}


def _only_asks(text: str, numeral: str) -> bool:
    rest = re.sub(rf"\b{re.escape(numeral)}\b", " ", text)
    return not _ONLY_ASKS.sub("", rest).strip()
