"""Plain words to an arithmetic expression, for the calculator agent.

"what's the square root of 144" becomes "sqrt(144)", "the average of 3, 4 and 5"
"((3 + 4 + 5) / 3)"; the expression itself is computed by the engine in `_arith.py`.
Kept apart from `calculator.py` so that module stays about the agent: its card, and the
results of the tasks before standing in for "the result".
"""

from __future__ import annotations

import re
from collections import Counter
from functools import partial

from mesh.agents._arith import CONSTANTS, FUNCTIONS, TOKEN_RE
from mesh.agents._numwords import with_digits
from mesh.agents._word_problems import OPS as _OPS
from mesh.agents._word_problems import as_arithmetic
from mesh.errors import TaskRejected

__all__ = ["computes_nothing", "extract_expression", "extract_expressions", "list_unit"]


_X = r"(-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|\.\d+|pi|π|\be\b)|\([^()]*\))"
_FN = (
    r"square\s+root|sqrt|absolute\s+value|abs|natural\s+log(?:arithm)?|ln|log(?:arithm)?"
    r"|sine|cosine|tangent|sin|cos|tan|exp|floor|ceil(?:ing)?|factorial"
)
_DESC = (  # words naming the number after them: "my day rate of 85", not "the square of 3"
    r"(?:my|the|a|an|our|your|their|his|her)\s+(?:(?!(?:square|cube|root|sum|product"
    r"|difference|quotient|total|average|mean|half|double|power|log|logarithm|number|percent"
    r"|percentage|remainder|factorial|result|answer)\b)"
    r"[a-z]+\s+){1,3}"
)
_WORDS = {
    "square": "sqrt",
    "absolute": "abs",
    "natural": "ln",
    "logarithm": "log",
    "sine": "sin",
    "cosine": "cos",
    "tangent": "tan",
    "ceiling": "ceil",
    **dict.fromkeys(["add", "sum", "plus"], "+"),
    **dict.fromkeys(["minus", "difference"], "-"),
    **dict.fromkeys(["product", "multiply", "times", "multiplied"], "*"),
    **dict.fromkeys(["quotient", "divide", "divided", "over"], "/"),
    **dict.fromkeys(["mod", "modulo"], "%"),
}
# Applied in order to the lower-cased request. X is a number, constant or (...) group and
# FN a function name in words; {0}, {1}... are the groups, {w} the symbol for the word {0}.
_PHRASE_RULES = r"""
\b(?:the\s+)?cube\s+root\s+of\s+X -> {0}**(1/3)
\b(?:the\s+)?log(?:arithm)?\s+base\s+X\s+of\s+X -> log({1}, {0})
\b(?:the\s+)?(FN)\s+of\s+X -> {w}({1})
\b(FN)\s+X -> {w}({1})
\bsquare\s+X -> {0}**2
\bcube\s+X -> {0}**3
X\s*!(?!=) -> factorial({0})
X\s+factorial\b -> factorial({0})
X\s+squared\b -> {0}**2
X\s+cubed\b -> {0}**3
X\s+raised\s+to\s+(?:the\s+|power\s+|of\s+)*X(?:st|nd|rd|th)?(?:\s+power)? -> {0} ** {1}
X\s+to\s+the\s+(?:power\s+|of\s+)*X(?:st|nd|rd|th)?(?:\s+power)? -> {0} ** {1}
\b(divide|multiply|add|sum)\s+X\s+(?:by|and|to|with|plus)\s+X -> {1} {w} {2}
\b(divide|multiply|add)\s+X\s+(?:by|to)\s+DESCof\s+X -> {1} {w} {2}
\bsplit(?:ting)?\s+SUM\s+(?:between|among|into)\s+X -> {0} / {1}
\bdouble\s+X -> {0} * 2
\btriple\s+X -> {0} * 3
\b(?:halve\s+|half\s+(?:of\s+)?)X -> {0} / 2
\bsubtract\s+X\s*(?:%|percent)\s+(?:from|off)\s+X -> {1} - {0}%
\b(?:take|knock)\s+X\s*(?:%|percent)\s+off\s+(?:of\s+)?X -> {1} - {0}%
X\s*PCT\s+off\s+(?:of\s+)?ARTPRICE -> {1} - {0}%
PRICE(?:\s+[a-z]+){0,2}?\s+(?:is|at|with)\s+X\s*PCT\s+off\b -> {0} - {1}%
X\s*PCT\s+tip\s+(?:on|for)\s+ARTPRICE(?=.*\btotal\b) -> {0}% of {1} and {1} + {0}%
\btotal\b([^.?!]*?)X\s*PCT\s+tip\s+(?:on|for)\s+ARTPRICE -> total{0}{1}% of {2} and {2} + {1}%
X\s*PCT\s+tip\s+(?:on|for)\s+ARTPRICE -> {0}% of {1}
\btip\s+(?:on|for)\s+ARTPRICE(?:\s+[a-z]+)?\s+(?:at|of)\s+X\s*PCT -> {1}% of {0}
\b(?:paid|pay|costs?|for)\s+PRICE\b[^.?!]*?\bX\s*PCT\s+off\b(?=.*\boriginal) -> {0} / (1 - {1}/100)
\bfrom\s+PRICE\s+to\s+PRICE\b(?=[^.?!]*[.?!,]?\s*[^.?!]*DELTA) -> ({1} - {0}) / {0} * 100
\btip\s+of\s+X\s*PCT\s+(?:on|for)\s+ARTPRICE -> {0}% of {1}
\bwhat\s+PCT\s+(?:is|of)\s+X\s+(?:is\s+)?(?:of|out\s+of|from)\s+X -> {0} / {1} * 100
\bwhat\s+PCT\s+of\s+X\s+is\s+X -> {1} / {0} * 100
X\s+is\s+what\s+PCT\s+of\s+X -> {0} / {1} * 100
X\s+as\s+a\s+PCT\s+of\s+X -> {0} / {1} * 100
X\s+out\s+of\s+X\s+(?:as\s+a\s+|in\s+)PCT -> {0} / {1} * 100
DELTA\s+(?:[a-z]+\s+){0,3}?(?:from|between)\s+PRICE\s+(?:to|and)\s+PRICE -> ({1} - {0}) / {0} * 100
\b(?:the\s+)?GCD\s+PAIR -> gcd({0}, {1})
\b(?:the\s+)?LCM\s+PAIR -> lcm({0}, {1})
\bsubtract\s+X\s+from\s+X -> {1} - {0}
\btake\s+(?:away\s+)?X\s+(?:away\s+)?from\s+X -> {1} - {0}
\badd\s+X\s*(?:%|percent)(?:\s+[a-z]+)?\s+(?:to|on\s+top\s+of|onto|on)\s+X -> {1} * (1 + {0}/100)
\b(?:increase|raise)\s+X\s+by\s+X\s*(?:%|percent) -> {0} * (1 + {1}/100)
\b(?:decrease|reduce|discount|lower)\s+X\s+by\s+X\s*(?:%|percent) -> {0} * (1 - {1}/100)
\b(?:the\s+)?(sum|product|difference|quotient)\s+(?:of|between)\s+X\s+and\s+X -> {1} {w} {2}
\b(?:the\s+)?remainder\s+(?:of|when)\s+X\s+(?:is\s+)?divided\s+by\s+X -> {0} % {1}
X\s*(?:percent|per\s+cent|%)\s+of\s+X -> {0}% of {1}
(\d)\s*(?:percent|per\s+cent)\b -> {0}%
"""
_SUM = r"(?:DESCof\s+|(?:the|a|my|our)\s+)?[$€£]?X(?:\s+[a-z]+){0,2}"  # "a bill of $90 total"


_MACROS = {  # besides X: words the rules share, so each rule is one line; in this order, a
    # macro may use those after it (DELTA is PCT and CHANGE)
    "PAIR": r"(?:of\s+)?X\s*(?:and|,)\s*X",
    "DELTA": r"PCT\s+CHANGE",  # "percentage increase", "% change"
    "PCT": r"(?:%|\bpercent(?:age)?)",
    "ART": r"(?:a\s+|the\s+)?",
    "PRICE": r"[$€£]?X",
    "CHANGE": r"(?:change|increase|decrease|growth|drop|rise|fall)",
    "GCD": r"(?:gcd|gcf|hcf|(?:greatest|highest)\s+common\s+(?:divisor|factor))",
    "LCM": r"(?:lcm|(?:least|lowest)\s+common\s+multiple)",
    "SUM": _SUM,
    "FN": _FN,
    "DESC": _DESC,
}


def _expand(rule: str) -> str:
    for name, pattern in _MACROS.items():
        rule = rule.replace(name, pattern)
    return rule.replace("X", _X)


_PHRASES = [
    (re.compile(_expand(rule)), template)
    for rule, template in (line.split(" -> ") for line in _PHRASE_RULES.strip().splitlines())
]
_XN = _X.replace("(", "(?:", 1)  # the same operand, without a group of its own
_NUMBERS = (  # "78, 85, 92 and 88", or three or more with commas alone: "88, 92, 79"
    rf"{_XN}(?:\s*,\s*{_XN})*,?\s+and\s+{_XN}|{_XN}(?:\s*,\s*{_XN}){{2,}}"
)
_OF_LIST = rf"sum|total|product|average|avg|mean|median|{_MACROS['GCD']}|{_MACROS['LCM']}"
_LIST_RE = re.compile(  # "the average of 3, 4 and 5", "add 1, 2 and 3", "avg of 3, 4, 5",
    # "the average and median of 4, 8, 15" (each of them)
    rf"\b(?:(?:the\s+)?((?:{_OF_LIST})(?:\s*(?:,|and|&)\s+(?:the\s+)?(?:{_OF_LIST}))*)\s+of"
    rf"|(add|sum|total|multiply|average|avg))\s+({_NUMBERS})"
)
_NAMED = (  # not "sum (of) 2 and 3", "median(…)"
    r"\b(average|avg|mean|median|sum|total)\b(?!\s*\(|\s+(?:of\s+)?[-\d.(])"
)
_THEN_OP = re.compile(  # "48 times 27, minus 96": the comma closes what came before
    r"(?<![\w.])((?:[-(\d.]|\b[a-z]+(?=\())(?:(?:[-\d.()\s*/+%]|\bof\b|\b[a-z]+(?=\())*?[\d)%])?)"
    rf"\s*,\s+(?:and\s+)?(?:then\s+)?({_OPS}|[-+*/%])\s+(?=[-\d(.a-z])"
)
_ASIDE = re.compile(  # "multiply the result by 4 (I do that loop 4x a week)"
    r"\s+\((?:i|i'm|my|we|our|that|that's|it|it's|this|for|since|because|as|which|so|per"
    r"|each|every)\b[^()]*\)\s*(?=[.?!]*\s*$)"
)
_NOUN_BEFORE_OP = re.compile(  # "7.5 hours times 365 nights": what 7.5 counts is no operand
    r"(?<=\d)\s+(?!(?:squared|cubed|factorial|percent|pct|mod|modulo|over|dozens?|hundreds?"
    r"|thousands?|millions?|billions?|trillions?|grand)\b)[a-z]{2,}"
    r"(?=\s+(?:times|plus|minus|multiplied\s+by|divided\s+by|[*/+])\s)"
)
_PLACES_RE = re.compile(  # "to 5 decimal places", "to 2 dp"
    r",?\s*\bto\s+(\d{1,2})\s+(?:decimal\s+(?:places?|digits?)|decimals|dp\b|d\.p\.)",
    re.IGNORECASE,
)
_ROUND_VERB = re.compile(r"\b(?:and\s+)?round(?:ed)?\b(?!\()(?:\s+(?:it|that)\b)?", re.I)
_SPEAKER_FIRST = re.compile(r"(?:i|i'm|i've|we|we're|my|our)\b")
_DATE_RE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")  # 2024-01-01 is a date, not 2022
_FILLER = {"what", "is", "s", "the", "value", "of", "how", "much", "compute", "calculate"}
_FILLER |= {"evaluate", "please"}
_BARE = re.compile(  # a number alone, "(10)" too: "square (10)" computes nothing
    r"\(?\s*[-+]?\s*(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|\.\d+|pi|π|e)\s*%?\s*\)?"
)


def computes_nothing(expr: str) -> bool:
    """Whether an expression is a number alone, "(10)" too."""
    return bool(_BARE.fullmatch(expr))


def _fill(template: str, match: re.Match[str]) -> str:
    """A phrase rule's replacement for one match."""
    groups = [g or "" for g in match.groups()]
    word = (groups[0].split() or [""])[0]
    return template.format(*groups, w=_WORDS.get(word, word))


def _list(match: re.Match[str]) -> str:
    """A sum, product or average of a list of operands, parenthesised."""
    words = re.findall(_OF_LIST, match[1]) if match[1] else [match[2]]
    items = re.findall(_XN, match[3])
    if len(words) > 1:
        return " and ".join(_of_list(word, items) for word in words)
    if len(items) == 2 and words[0] not in ("total", "average", "avg", "mean", "median"):
        return match[0]  # the two-operand phrase rules read it as written
    return _of_list(words[0], items)


def _of_list(word: str, items: list[str]) -> str:
    op = {"sum": "+", "total": "+", "add": "+", "product": "*", "multiply": "*"}.get(word)
    for name in ("median", "gcd", "lcm"):  # "the lcm of 12, 18 and 30" takes all three
        if re.fullmatch(_MACROS.get(name.upper(), name), word):
            return f"{name}({', '.join(items)})"
    if op is None:
        return f"(({' + '.join(items)}) / {len(items)})"
    return "(" + f" {op} ".join(items) + ")"


def _list_named_elsewhere(lowered: str) -> str:
    """The one list of numbers in the text computed as the average, sum or total the text
    names apart from it ("I got 78, 85 and 92 this term, what's my average?")."""
    named = re.search(_NAMED, lowered)
    lists = list(re.finditer(_NUMBERS, lowered)) if named else []
    if named is None or len(lists) != 1:
        return lowered
    (found,) = lists
    expression = _of_list(named[1], re.findall(_XN, found[0]))
    return lowered[: found.start()] + expression + lowered[found.end() :]


_UNIT_AFTER_LIST = re.compile(  # "the average of 68, 72 and 79 degrees F": all in °F
    rf"\b(?:sum|total|average|avg|mean)\s+of\s+(?:{_NUMBERS})"
    r"\s+(?P<unit>(?:degrees?\s+)?[a-z°]+)\b(?!\s*(?:[*/+^-]|times|plus|minus|divided|per))"
)


def list_unit(text: str) -> str | None:
    """The unit written after the last of a list the text sums or averages, which every
    number in it shares ("the average of 68, 72 and 79 degrees F"); None without one."""
    found = _UNIT_AFTER_LIST.search(text.lower())
    return found["unit"] if found else None


def _runs(text: str) -> list[tuple[bool, int, int, int]]:
    """Maximal grammatical stretches of text as (has an operation, length, -start, start)."""
    runs: list[tuple[bool, int, int, int]] = []
    start = end = -1
    want_operand, after_percent, depth, has_op = True, False, 0, False
    tokens = [(m.lastgroup or "", m.group(), m.start()) for m in TOKEN_RE.finditer(text)]
    i = 0
    while i < len(tokens):
        kind, tok, at = tokens[i]
        operand = kind == "num" or (kind == "name" and tok in CONSTANTS)
        call = kind == "name" and tok in FUNCTIONS
        binary = kind == "times" or (kind == "op" and tok not in ("(", ")", ","))
        starts = operand or call or tok in ("(", "-", "+")
        ends = binary or (tok in (")", ",") and depth > 0) or (after_percent and tok == "of")
        if kind == "space" or (start < 0 and not starts):
            i += 1
            continue
        if not ((want_operand or after_percent) and starts) and not (not want_operand and ends):
            runs.append((has_op, end - start, -start, start))
            start, want_operand, after_percent, depth, has_op = -1, True, False, 0, False
            continue
        start, end = (at if start < 0 else start), at + len(tok)
        depth += {"(": 1, ")": -1}.get(tok, 0)
        has_op = has_op or call or (binary and not want_operand) or tok == "of"
        after_percent = tok == "%"
        want_operand = not (operand or tok == ")" or after_percent)
        i += 1
    if start >= 0:
        runs.append((has_op, end - start, -start, start))
    return runs


def _trim(expr: str) -> str:
    """Drop what cannot end an expression (operators, '(', function names) and stray '('."""
    while match := re.search(r"(?:\*\*|//|[-+*/^(,]|\b[a-z]+)\s*$", expr):
        word = match[0].strip()
        if word.isalpha() and word not in FUNCTIONS and word not in ("of", "x"):
            break
        expr = expr[: match.start()].rstrip()
    while expr.count("(") > expr.count(")") and expr.startswith("("):
        expr = expr[1:].lstrip()
    return expr.strip()


def extract_expression(text: str) -> str:
    """The arithmetic expression inside a request in plain words.

    Besides symbols (17 * 23, 2**10, 2^8, 3 x 4, 12 × 4, 10 ÷ 4) it understands: plus,
    minus, times, multiplied by, divided by, over, mod/modulo; "square root of X", "cube
    root of X", "absolute value of X", "log of X", "log base B of X", "natural log of X",
    "sine/cosine/tangent/exp/floor/ceiling/factorial of X", "X!", "X factorial"; "X
    squared", "X cubed", "X to the power of Y", "X raised to Y", "X to the 3rd power";
    "add X and/to Y", "subtract X from Y", "multiply X by Y", "divide X by Y",
    "sum/product/difference/quotient of X and Y", "remainder of X divided by Y"; "X% of
    Y", "X percent of Y"; "X% tip on Y", "X% off Y", "what percent is X of Y", "X out of
    Y as a percentage", "percentage change from X to Y"; "gcd/lcm of X and Y"; "the
    sum/total/product/average/mean/median of X, Y and Z" (or "the average and median
    of …", each), "add/multiply/average X, Y and Z". X and Y are numbers, constants or a
    parenthesised group; numbers in words ("fifteen", "two hundred and five") are read as
    digits. A bare number counts only when nothing but "what is" / "compute" and the like
    surrounds it.
    """
    return _best(_normalise(with_digits(text)), text)


def extract_expressions(text: str) -> list[str]:
    """Every calculation a request asks for, in its order: "what is 2**10, what is 3**5"
    asks two, and one is not dropped for the other. "to N decimal places" rounds each."""
    text = with_digits(text)
    places = _PLACES_RE.search(text)
    if places:  # "round (42.16) to 1 decimal place": the verb is what `places` does
        text = _ROUND_VERB.sub(" ", text[: places.start()] + text[places.end() :])
    lowered = _normalise(text)
    found = sorted(
        (start, expr)
        for has_op, length, _, start in _runs(lowered)
        if has_op
        and (expr := _trim(lowered[start : start + length]))
        and not _BARE.fullmatch(expr)
        and not _DATE_RE.search(expr)
    )
    asked = [expr for start, expr in found if not _restated(lowered, start, expr, found)]
    exprs = asked if len(found) > 1 else [_best(lowered, text)]
    return [f"round({expr}, {places[1]})" for expr in exprs] if places else exprs


def _restated(lowered: str, start: int, expr: str, found: list[tuple[int, str]]) -> bool:
    """Whether an expression in a statement of the speaker's is only the figures a later
    one asks about: "i owe 6 weeks plus 5 days of notice, so what's 6*7+5?" asks 47, not
    also 6 + 5."""
    clause = re.split(r"[.;?!,]\s", lowered[:start])[-1]
    numbers = Counter(re.findall(r"\d+(?:\.\d+)?", expr))
    return bool(_SPEAKER_FIRST.match(clause.lstrip())) and any(
        later > start and not numbers - Counter(re.findall(r"\d+(?:\.\d+)?", other))
        for later, other in found
    )


def _normalise(text: str) -> str:
    """Lower case, symbols and words in the forms the parser reads."""
    lowered = text.lower().replace("−", "-").replace("×", "*").replace("÷", "/")
    lowered = _NOUN_BEFORE_OP.sub("", _ASIDE.sub("", lowered))
    if not re.search(r"\b(?:min|max|round|log|median|gcd|lcm)\s*\(", lowered):  # 1,000 -> 1000
        lowered = re.sub(r"\b\d{1,3}(?:,\d{3})+\b", lambda m: m[0].replace(",", ""), lowered)
    lowered = _LIST_RE.sub(_list, re.sub(r"\b(add|sum|total)\s+up\b", r"\1", lowered))
    lowered = as_arithmetic(_list_named_elsewhere(lowered))
    for pattern, template in _PHRASES:
        lowered = pattern.sub(partial(_fill, template), lowered)
    lowered = re.sub(rf"(?<=[\w)])\s+({_OPS})\s+", partial(_fill, " {w} "), lowered)
    while then := _THEN_OP.search(lowered):
        left, op = then[1].strip(), _WORDS.get(then[2].split()[0], then[2])
        left = f"({left})" if re.search(r"[-+*/%]|\bof\b", left.lstrip("-")) else left
        lowered = f"{lowered[: then.start()]}{left} {op} {lowered[then.end() :]}"
    return re.sub(rf"(?<=[\w)])\s+({_OPS})\s+", partial(_fill, " {w} "), lowered)


def _best(lowered: str, text: str) -> str:
    """The one expression: one with an operation before a bare number, longer first."""
    for _, length, _, start in sorted(_runs(lowered), reverse=True):
        expr = _trim(lowered[start : start + length])
        rest = set(re.findall(r"\w+", (lowered[:start] + " " + lowered[start + length :])))
        if _DATE_RE.search(expr):
            continue
        if expr and (not _BARE.fullmatch(expr) or not rest - _FILLER):
            return expr
    raise TaskRejected(
        f"found no arithmetic expression in {text[:200]!r}: give one with digits and"
        " operators, e.g. 'What is 17 * 23?', 'sqrt(144) + 2' or '15% of 80'"
    )
