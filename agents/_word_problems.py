"""Everyday word problems read as arithmetic, for the calculator and units agents.

"I run 5.5 km every day. How much is that over 30 days?" is 5.5 * 30, "my rent is 1,450
a month, how much for a whole year" 1450 * 12, "5 shirts for 20 each and 2 hats for 10
each" 5 * 20 + 2 * 10, and "we were 6 and dinner came to 237.60, what does everyone
owe?" 237.60 / 6. Each reading applies only when the text computes nothing else, so
that an explicit expression is never rewritten by a guess.
"""

from __future__ import annotations

import itertools
import re

from mesh.agents._numwords import with_digits

__all__ = ["OPS", "VERB_OPS", "as_arithmetic", "rate_over_span", "rate_unit"]

OPS = r"plus|minus|times|multiplied\s+by|divided\s+by|over|mod|modulo"  # between operands
VERB_OPS = r"add|subtract|multiply|divide|double|halve|triple|increase|decrease|reduce"

_SHARE_ASKED = re.compile(
    r"\b(?:each|everyone|everybody|every\s+(?:one|person)|per\s+(?:person|head)|a\s+head"
    r"|apiece|each\s+of\s+us|split(?:ting)?\s+(?:it|this|that|the\s+\w+)\s+(?:(?:evenly|equally)\s+)?"
    r"(?:between|among))\b"
)
_HEADCOUNT = re.compile(  # "6 people", "4 ppl"; bare after "split the bill between 4" or in
    # "we were 6", "a party of 5", "my team of 7"; or "me and 3 friends", who are 4
    r"\b(?:me|i)\s+and\s+(?P<others>\d+)\s+(?:friends|others|people|ppl|colleagues"
    r"|coworkers|mates|guys|flatmates|roommates)\b"
    r"|\b(?P<heads>\d+)\s+(?:of\s+us|people|ppl|persons|friends|guests|ways|roommates"
    r"|flatmates|colleagues|coworkers|players|kids|children|adults|folks|guys|mates)\b"
    r"|(?:(?<=between\s)|\b(?:we\s+(?:are|were)|we're"
    r"|(?:party|group|team|family|table|crew|household)\s+of)\s+)"
    r"(?P<bare>\d+)\b(?!\s*[%.,]\d)"
)


_PERIOD = r"(day|week|month|year|hour|night|minute|shift|workday|weekday|session)"
_RATE = re.compile(  # "5.5 km every day", "$12 an hour", "3 coffees a day", "(3 * 14.99) a month"
    rf"(?<![\w.])(\d+(?:\.\d+)?|\(\d+ \* \d+(?:\.\d+)?\))\s*(?:([a-z°/]+)\s+)?"
    rf"(?:a|an|per|each|every)\s+{_PERIOD}\b"
)
_COUNT_AT_RATE = re.compile(  # "3 subscriptions at 14.99 a month each": (3 * 14.99) a month
    rf"(?<![\w.])(?P<count>\d+)\s+(?P<things>[a-z]+(?:\s+[a-z]+){{0,2}}?)\s+(?:at|for|costing)"
    rf"\s+[$€£]?(?P<rate>\d+(?:\.\d+)?)\s+(?P<per>(?:a|an|per|every)\s+{_PERIOD})\s+"
    r"(?:each|apiece)\b"
)
_PER_THING = re.compile(  # "23 kg per bag", "12 eggs in each box"
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:([a-z°/]+)\s+)?(?:per|(?:in\s+)?each|for\s+each|every)"
    r"\s+([a-z]{3,})\b"
)
_AT_EACH = re.compile(  # "3 bags of flour at 250 g each": 250 g per bag, for 3 bags
    r"(?<![\w.])(?P<count>\d+)\s+(?P<thing>[a-z]{3,}?)(?:e?s)?\b[^.?!\d]{0,40}?\b(?:at|of"
    r"|for|weighing|costing)\s+[$€£]?(?P<price>\d+(?:\.\d+)?)\s*(?:(?P<unit>[a-z°/]+)\s+)?"
    r"(?P<each>each|apiece)\b"
)
_THING_TAKES = re.compile(  # "a loaf needs 225 g of flour", "each box holds 6 eggs"
    r"\b(?:a|an|one|1|each|every)\s+(?P<thing>[a-z]{3,})\s+(?:needs|takes|uses|requires|holds"
    r"|contains|has|weighs|costs|is)\s+(?:about\s+)?[$€£]?(?P<qty>\d+(?:\.\d+)?)"
    r"(?:\s*(?P<unit>[a-z°/]+)\b)?"
)
_ITEM_JOINT = re.compile(r"\s*(?:,\s*)?(?:and|plus|\+)?\s*")
_SPAN = re.compile(  # "over 30 days", "for the next 12 weeks"
    rf"\b(?:over|for|in|across|during)\s+(?:the\s+next\s+|the\s+)?(\d+)\s+{_PERIOD}s\b"
)


_WHOLE = re.compile(  # "for a whole year", "in one week", "per year", "annually"
    r"\b(?:(?:for|in|over|across|during)\s+)?(?:a|an|one|per|each|the)\s+"
    r"(?:whole\s+|full\s+|entire\s+)?(year|week|day|hour)\b|\b(annually|yearly|weekly|daily)\b"
)
_ADVERBS = {"annually": "year", "yearly": "year", "weekly": "week", "daily": "day"}
_IN_PERIOD = {  # how many of the first fit in the second, always
    ("month", "year"): 12, ("week", "year"): 52, ("day", "year"): 365, ("day", "week"): 7,
    ("hour", "day"): 24, ("minute", "hour"): 60,
}  # fmt: skip


def as_arithmetic(lowered: str) -> str:
    """The lower-cased text with the word problems it holds written as arithmetic."""
    lowered = _per_person(_items_each(lowered))
    return _per_period(_rates_written_as_rates(lowered))


def _rates_written_as_rates(lowered: str) -> str:
    """The text with "N things at X each" and "a thing needs X" as "X per thing", "N things
    at X a month each" as "(N * X) a month" and "for a whole year" as "for 12 months", the forms
    `_rate_and_span` reads."""
    lowered = _COUNT_AT_RATE.sub(r"\g<things> at (\g<count> * \g<rate>) \g<per>", lowered)
    return _whole_span(_each_as_per(_thing_takes_as_per(lowered)))


def _whole_span(lowered: str) -> str:
    """One rate and, as its span, a longer period named in words: "1450 a month … for a
    whole year" reads "… for 12 months", which `_rate_and_span` multiplies. Only periods
    of fixed length count: a month is not a whole number of weeks or days."""
    rates = list(_RATE.finditer(lowered))
    if len(rates) != 1 or _SPAN.search(lowered):
        return lowered
    (rate,) = rates
    for whole in _WHOLE.finditer(lowered):
        if rate.start() <= whole.start() < rate.end():
            continue
        count = _IN_PERIOD.get((rate[3], whole[1] or _ADVERBS[whole[2]]))
        if count:
            return f"{lowered[: whole.start()]}for {count} {rate[3]}s{lowered[whole.end() :]}"
    return lowered


def _rate_and_span(lowered: str) -> tuple[re.Match[str], re.Match[str]] | None:
    """The one rate and the one span of its period a text gives, when nothing else is
    computed ("I run 5.5 km every day. How much is that over 30 days?"), or the one rate
    per thing and the one count of those things ("23 kg per bag and i'm checking 2
    bags"); else None."""
    spans = list(_SPAN.finditer(lowered))
    rates = [r for r in _RATE.finditer(lowered) if not spans or r.start() != spans[0].start(1)]
    if not rates and not spans and len(per := list(_PER_THING.finditer(lowered))) == 1:
        rates = per
        counted = re.finditer(r"(?<![\w.])(\d+)\s+([a-z]+)\b", lowered)
        spans = [c for c in counted if _same_thing(c[2], per[0][3])]
    if len(rates) != 1 or len(spans) != 1 or not _same_thing(rates[0][3], spans[0][2]):
        return None
    (rate,), (span,) = rates, spans
    first, second = sorted((rate.span(1), span.span()))
    rest = f"{lowered[: first[0]]} {lowered[first[1] : second[0]]} {lowered[second[1] :]}"
    if re.search(rf"[-+*/%^]|\b(?:{OPS})\b", rest):
        return None
    return rate, span


def _same_thing(a: str, b: str) -> bool:
    """Whether two words count the same thing, in its singular or plural: "loaf" and
    "loaves", "knife" and "knives", "bus" and "buses", "battery" and "batteries"."""
    return b in _forms(a) or a in _forms(b)


def _forms(word: str) -> set[str]:
    forms = {word, f"{word}s", f"{word}es"}
    if word.endswith("y"):
        forms.add(f"{word[:-1]}ies")
    if word.endswith(("f", "fe")):
        forms.add(f"{word.removesuffix('e')[:-1]}ves")
    return forms


def _thing_takes_as_per(lowered: str) -> str:
    """What one thing takes, as a rate per thing: "a loaf needs 225 g of flour" reads "225 g
    per loaf of flour", which `_rate_and_span` multiplies by a count of loaves."""
    takes = _THING_TAKES.search(lowered)
    if takes is None:
        return lowered
    unit = f" {takes['unit']}" if takes["unit"] else ""
    per = f"{takes['qty']}{unit} per {takes['thing']}"
    return f"{lowered[: takes.start()]}{per}{lowered[takes.end() :]}"


def _each_as_per(lowered: str) -> str:
    """One count at a price each, and no other figure, as a rate per thing: "3 bags of
    flour at 250 g each" reads "… at 250 g per bag", which `_rate_and_span` multiplies."""
    each = _AT_EACH.search(lowered)
    if each is None or re.search(r"\d", lowered[: each.start()] + lowered[each.end() :]):
        return lowered
    return f"{lowered[: each.start('each')]}per {each['thing']}{lowered[each.end() :]}"


def rate_over_span(text: str) -> tuple[str, str | None, str] | None:
    """The rate a text multiplies by its span, the rate's unit and the span's count
    (("5.5", "km", "30") in "5.5 km every day … over 30 days"), or None."""
    found = _rate_and_span(_rates_written_as_rates(with_digits(text).lower()))
    return (found[0][1], found[0][2], found[1][1]) if found else None


def rate_unit(text: str) -> str | None:
    """The unit of a rate the text multiplies by its span ("km" in "5.5 km every day …
    over 30 days"), so the product says what it counts; None when there is none."""
    found = rate_over_span(text)
    return found[1] if found else None


def _per_period(lowered: str) -> str:
    """A rate times the span of its period: "5.5 km every day … over 30 days" is 5.5 * 30."""
    found = _rate_and_span(lowered)
    if found is None:
        return lowered
    rate, span = found
    product = f"({rate[1]} * {span[1]})"
    if rate.start() < span.start():
        between = lowered[rate.end(1) : span.start()]
        return f"{lowered[: rate.start(1)]}{product}{between}{lowered[span.end() :]}"
    between = lowered[span.end() : rate.start(1)]
    return f"{lowered[: span.start()]}{between}{product}{lowered[rate.end(1) :]}"


def _items_each(lowered: str) -> str:
    """Several counts at a price each, listed one after another, as one sum: "5 shirts for
    20 each and 2 hats for 10 each" is (5 * 20 + 2 * 10); one alone is a rate per thing
    (`_rate_and_span`), and prices in different units are not added."""
    items = list(_AT_EACH.finditer(lowered))
    if len(items) < 2 or len({item["unit"] for item in items}) > 1:
        return lowered
    if not all(
        _ITEM_JOINT.fullmatch(lowered[a.end() : b.start()]) for a, b in itertools.pairwise(items)
    ):
        return lowered
    total = " + ".join(f"{item['count']} * {item['price']}" for item in items)
    return f"{lowered[: items[0].start()]}({total}){lowered[items[-1].end() :]}"


def _per_person(lowered: str) -> str:
    """A total shared by a headcount when each one's share is asked and nothing else is
    computed ("we were 6 people and dinner came to 237.60, how much does everyone owe?").
    The group may be counted twice if both counts agree ("me and 5 friends … split it
    between 6 of us")."""
    heads = list(_HEADCOUNT.finditer(lowered))
    counts = {int(h["others"]) + 1 if h["others"] else int(h["heads"] or h["bare"]) for h in heads}
    if (
        len(counts) != 1
        or not _SHARE_ASKED.search(lowered)
        or re.search(rf"[-+*/%^]|\b(?:{OPS}|{VERB_OPS})\b", lowered)
    ):
        return lowered
    rest = _HEADCOUNT.sub(" ", lowered)
    totals = list(re.finditer(r"(?<![\w.])\d+(?:\.\d+)?(?!\w|\.\d)", rest))
    if len(totals) != 1:
        return lowered
    return f"{rest[: totals[0].end()]} / {counts.pop()}{rest[totals[0].end() :]}"
