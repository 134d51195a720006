"""Numbers written in words, as digits: "fifteen percent of 2340" is "15 percent of 2340".

The agents that compute (calculator, units, dates) read digits; users also write "five
feet", "multiply it by three" and "two hundred and fifty". `with_digits` rewrites such
runs in place and leaves everything else as written. "one" stays a word where it is a
pronoun ("which one", "the first one", "one of them").
"""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = ["with_digits"]

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_WORD = "|".join(sorted([*_UNITS, *_TENS, *_SCALES], key=len, reverse=True))
_RUN = re.compile(rf"\b(?:{_WORD})(?:(?:\s+and\s+|\s+|-)(?:{_WORD}))*\b(?!-\w)", re.IGNORECASE)
_DIGITS_BEFORE = re.compile(r"(?<![\w.,])(\d+(?:\.\d+)?)\s+$")
_PRONOUN_ONE = re.compile(
    r"(?:\b(?:which|the|this|that|each|every|any|no|last|first|second|next|other|another)"
    r"(?:\s+\w+)?\s+$)",
    re.IGNORECASE,
)


def _extends(current: int, last_scale: int, word: str) -> bool:
    """Whether `word` continues the number read so far ("twenty" + "five", not "five" +
    "three" or "twenty" + "thirty")."""
    if word in _SCALES:
        scale = _SCALES[word]
        return bool(current) and ((scale == 100 and current < 100) or 100 < scale < last_scale)
    if word in _TENS:
        return current % 100 == 0
    return current % 10 == 0 and (current % 100 == 0 or _UNITS[word] < 10)


def _numbers(text: str, offset: int) -> list[tuple[int, int, int]]:
    """(start, end, value) of each number the words of `text` spell, read greedily."""
    found: list[tuple[int, int, int]] = []
    start = end = -1
    total = current = 0
    last_scale = 10**12
    for match in re.finditer(r"[a-z]+", text.lower()):
        word = match[0]
        if word == "and":
            continue
        if start >= 0 and not _extends(current, last_scale, word):
            found.append((offset + start, offset + end, total + current))
            start = -1
        if start < 0:  # a number may start at its scale: "hundred", "a thousand"
            start, total, last_scale = match.start(), 0, 10**12
            current = 1 if word in _SCALES else 0
        if word in _SCALES and _SCALES[word] > 100:
            total, current, last_scale = total + current * _SCALES[word], 0, _SCALES[word]
        elif word == "hundred":
            current *= 100
        else:
            current += _UNITS.get(word, _TENS.get(word, 0))
        end = match.end()
    if start >= 0:
        found.append((offset + start, offset + end, total + current))
    return found


def _is_pronoun(text: str, start: int, end: int) -> bool:
    """ "one" as in "which one", "the first one", "one of them"."""
    return text[start:end].lower() == "one" and bool(
        _PRONOUN_ONE.search(text[:start]) or re.match(r"\s+of\b", text[end:])
    )


def with_digits(text: str) -> str:
    """`text` with each number written in words as digits ("two hundred and five" → 205,
    "a hundred" → 100, "add three and four" → "add 3 and 4", "150 million" → 150000000,
    "1.5 billion" → 1500000000)."""
    spans = [
        span
        for match in _RUN.finditer(text)
        for span in _numbers(match[0], match.start())
        if not _is_pronoun(text, span[0], span[1])
    ]
    for start, end, value in reversed(spans):
        words = text[start:end].lower().split()
        article = re.search(r"\ban?\s+$", text[:start], re.IGNORECASE)
        digits = _DIGITS_BEFORE.search(text[:start])
        shown = str(value)
        if article and words[0] in _SCALES:
            start = article.start()  # "a hundred"
        elif digits and words == [words[0]] and words[0] in _SCALES:  # "150 million"
            start, exact = digits.start(), Decimal(digits[1]) * _SCALES[words[0]]
            shown = str(exact.quantize(1) if exact == exact.to_integral() else exact.normalize())
        text = text[:start] + shown + text[end:]
    return text
