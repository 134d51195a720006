"""What the CSV and transform agents share: finding columns and conditions in plain words,
finding the table a task is about, and printing results for people.

Column names are matched loosely ("unit price" finds `unit_price`, "regions" finds
`region`), longest name first, so a request can name columns as a person would.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mesh.errors import TaskRejected
from mesh.models import TaskResult

Record = dict[str, Any]
MAX_TABLE_CHARS = 20_000_000
MAX_SHOWN_ROWS = 50
DELIMITERS = (",", ";", "\t", "|")

_OPS = [
    (r">=|≥|is\s+at\s+least|at\s+least|no\s+less\s+than", ">="),
    (r"<=|≤|is\s+at\s+most|at\s+most|no\s+more\s+than", "<="),
    (r"!=|≠|<>|is\s+not|isn't|does\s+not\s+equal|not\s+equal\s+to", "!="),
    (r">|(?:is\s+)?(?:greater|more|higher|larger)\s+than|(?:is\s+)?above|(?:is\s+)?over", ">"),
    (r"<|(?:is\s+)?(?:less|lower|smaller|fewer)\s+than|(?:is\s+)?below|(?:is\s+)?under", "<"),
    (r"==|=|is\s+equal\s+to|equals|is|contains", "="),
]
_WHERE = re.compile(r"\b(?:where|whose|with|for\s+which|if|when)\s+(?:the\s+)?", re.I)
_NUMBER = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$")


def normalize(name: str) -> str:
    """A column or phrase reduced for matching: lowercase, '_'/'-' as spaces, single spaces."""
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


ABBREVIATED = {
    "address": "addr", "amount": "amt", "count": "cnt", "customer": "cust",
    "department": "dept", "employee": "emp", "manager": "mgr", "percent": "pct",
    "quantity": "qty", "revenue": "rev", "temperature": "temp", "year": "yr",
}  # fmt: skip
"""Column words as often shortened: "avg salary per dept" groups by department."""


def _spellings(word: str) -> str:
    """A column word as written, shortened, or with one letter dropped after its second
    ("revenu", "deparment", "salry"): the commonest slip in a typed question. Words under
    six letters have no slip so taken, as too many of those are other words."""
    forms = [word, *([ABBREVIATED[word]] if word in ABBREVIATED else [])]
    if len(word) >= 6:
        forms += [word[:i] + word[i + 1 :] for i in range(2, len(word))]
    return f"(?:{'|'.join(re.escape(f) for f in dict.fromkeys(forms))})"


def _column_pattern(column: str) -> str:
    words = [_spellings(w) for w in normalize(column).split()]
    return r"(?<![\w])" + r"[\s_\-]+".join(words) + r"(?:e?s)?(?![\w])"


def mentions(text: str, columns: Sequence[str]) -> list[tuple[int, int, str]]:
    """(start, end, column) for each column named in `text`, in order, longest names first.

    Positions index `text` itself, so callers can slice around a mention.
    """
    lowered = text.lower()
    taken: list[tuple[int, int, str]] = []
    for column in sorted(columns, key=lambda c: -len(normalize(c))):
        if not normalize(column):
            continue
        for match in re.finditer(_column_pattern(column), lowered):
            if all(match.end() <= s or match.start() >= e for s, e, _ in taken):
                taken.append((match.start(), match.end(), column))
    return sorted(taken)


def column_after(text: str, lead: str, columns: Sequence[str]) -> str | None:
    """The column named right after the phrase `lead` (a regex), e.g. lead=r"\\bby"."""
    found = mentions(text, columns)
    for match in re.finditer(rf"{lead}\s+(?:the\s+|each\s+|every\s+)?", text, re.I):
        for start, _, column in found:
            if start == match.end():
                return column
    return None


@dataclass(frozen=True)
class Condition:
    """`column op value`, e.g. region = "north" or revenue > 100."""

    column: str
    op: str
    value: str
    span: tuple[int, int] = field(default=(0, 0), compare=False)

    @property
    def number(self) -> float | None:
        return float(self.value) if _NUMBER.match(self.value) else None

    def holds(self, cell: Any) -> bool:
        """Whether one cell passes; numbers compare as numbers, text case-insensitively."""
        target = self.number
        if target is not None and isinstance(cell, int | float) and not isinstance(cell, bool):
            if isinstance(cell, float) and math.isnan(cell):
                return self.op == "!="
            return _compare(float(cell), self.op, target)
        if target is not None and isinstance(cell, str) and _NUMBER.match(cell.strip()):
            return _compare(float(cell), self.op, target)
        text, wanted = str(cell if cell is not None else "").strip().lower(), self.value.lower()
        if self.op in ("=", "!="):
            return (text == wanted) == (self.op == "=")
        if isinstance(cell, int | float) or _NUMBER.match(text):
            raise TaskRejected(  # "12" > "5:" as text would pick rows silently wrong
                f"{self.column} holds numbers and {self.value!r} is not one: compare it with a"
                f" number, e.g. '{self.column} {self.op} 5'"
            )
        return _compare(text, self.op, wanted)

    def describe(self) -> str:
        return f"{self.column} {self.op} {self.value}"


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == ">":
        return bool(left > right)
    if op == "<":
        return bool(left < right)
    if op == ">=":
        return bool(left >= right)
    if op == "<=":
        return bool(left <= right)
    if op == "!=":
        return bool(left != right)
    return bool(left == right)


def parse_condition(text: str, columns: Sequence[str]) -> Condition | None:
    """The first "where COLUMN OP VALUE" in `text`; None if it has no "where"-like clause."""
    for where in _WHERE.finditer(text):
        rest = text[where.end() :]
        found = mentions(rest, columns)
        if not found or found[0][0] != 0:
            continue
        column, after = found[0][2], rest[found[0][1] :]
        for pattern, op in _OPS:
            match = re.match(rf"\s*(?:{pattern})\s*", after, re.I)
            if match:
                value, used = _value(after[match.end() :])
                if value:
                    end = len(text) - len(after) + match.end() + used
                    return Condition(column, op, value, (where.start(), end))
        if not where[0].lower().startswith("where"):
            continue
        raise TaskRejected(
            f"could not read the condition after {where[0].strip()!r} {column!r}: write it like"
            f" 'where {column} is north' or 'where {column} > 100'"
        )
    return _comparison(text, columns)


_RANKED = [(pattern, op) for pattern, op in _OPS if op not in ("=", "!=")]
_FIGURE = re.compile(r"[-+]?(?:\d+(?:\.\d+)?|\.\d+)(?![\w.])")
_AGE = re.compile(r"\b(older|younger)\s+than\s+", re.I)


def check_comparisons_read(text: str, example: str) -> None:
    """Refuse a comparison with a figure left in `text` once its conditions are cut out
    ("earn more than 60000" names no column): answering without it would count every row."""
    for pattern, _ in _RANKED:
        match = re.search(rf"(?:{pattern})\s*(?=[-+]?\.?\d)", text, re.I)
        if match and (figure := _FIGURE.match(text, match.end())):
            unread = text[match.start() : figure.end()].strip()
            raise TaskRejected(
                f"could not tell which column {unread!r} compares: name it, e.g. 'where"
                f" {example} {unread}'"
            )


def _comparison(text: str, columns: Sequence[str]) -> Condition | None:
    """A comparison with a figure and no "where": "employees with a salary above 60000"
    reads with "with", but "orders whose amount" need not be said: "amount over 100",
    and "older than 35" / "younger than 30" compare an `age` column."""
    for start, end, column in mentions(text, columns):
        for pattern, op in _RANKED:
            match = re.match(rf"\s*(?:{pattern})\s*", text[end:], re.I)
            figure = match and _FIGURE.match(text, end + match.end())
            if figure:
                return Condition(column, op, figure[0], (start, figure.end()))
    age = next((c for c in columns if normalize(c) == "age"), None)
    older = _AGE.search(text)
    figure = older and _FIGURE.match(text, older.end())
    if age and older and figure:
        op = ">" if older[1].lower() == "older" else "<"
        return Condition(age, op, figure[0], (older.start(), figure.end()))
    return None


_STOP = {"and", "or", "then", "by", "per", "in", "of", "from", "for", "with", "where", "sorted"}
_STOP |= {"group", "grouped", "order", "ordered", "as", "to", "into", "top", "sort"}


def _value(text: str) -> tuple[str, int]:
    """The value a condition compares with, and how many characters of `text` it used."""
    quoted = re.match(r"\s*([\"'“‘])(.*?)[\"'”’]", text)
    if quoted:
        return quoted[2], quoted.end()
    words = list(re.finditer(r"[^\s,;?!]+", text))
    taken: list[re.Match[str]] = []
    for word in words:
        gap = text[taken[-1].end() : word.start()] if taken else text[: word.start()]
        bare = word[0].rstrip(".").lower()
        if bare in _STOP or (taken and (not gap.isspace() or not word[0][0].isalpha())):
            break
        if not taken and not gap.isspace() and gap:
            break
        taken.append(word)
        if not word[0][0].isalpha() or word[0].endswith((".", ":")):
            break
    if not taken:
        return "", 0
    return text[taken[0].start() : taken[-1].end()].rstrip(".:"), taken[-1].end()


def sniff_delimiter(text: str) -> str:
    """The delimiter of a delimited table: the candidate the header line uses most."""
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def looks_tabular(text: str) -> bool:
    """Whether text reads as a delimited table: two or more lines sharing a delimiter."""
    lines = [line for line in text.strip().splitlines() if line.strip()][:5]
    if len(lines) < 2:
        return False
    delimiter = sniff_delimiter(text.strip())
    return lines[0].count(delimiter) > 0 and lines[1].count(delimiter) > 0


def inline_table(description: str) -> str | None:
    """Table or JSON text carried by the description: a ``` fence, after the first colon,
    or on the lines after the first ("convert this csv to json\nname,city\nLea,Oslo")."""
    fence = re.search(r"```[\w-]*\n(.*?)```", description, re.DOTALL)
    if fence:
        return fence[1]
    colon = re.search(r":[ \t]*\n?(.*)", description, re.DOTALL)
    below = description.strip().partition("\n")[2]
    for body in (colon[1].strip() if colon else "", below.strip()):
        if body and body[0] in "[{":  # to be refused as not JSON if it is not
            return json_prefix(body) or body
        if body and looks_tabular(body):
            return body
    return None


def json_prefix(text: str) -> str | None:
    """The JSON value that opens `text`, without the words after it ("[…]\nfilter the
    records where …"), or None."""
    try:
        _, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError:
        return None
    return text[:end]


def to_records(value: Any) -> list[Record]:
    """JSON as a list of records: an array of objects, or one object as a single record.
    The transform agent's data and the CSV analyst's table when JSON is passed on."""
    if isinstance(value, dict):
        arrays = [v for v in value.values() if isinstance(v, list)]
        if len(value) == 1 and len(arrays) == 1:
            value = arrays[0]
        else:
            return [value]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise TaskRejected(
            "the JSON must be an array of objects (records) for this: e.g."
            ' [{"name": "Ann", "age": 31}]'
        )
    return value


def upstream_table(upstream: Mapping[str, TaskResult], keys: Sequence[str]) -> str | None:
    """Table text from the tasks this one depends on: data[key] for `keys`, else the output."""
    for result in upstream.values():
        if result.status != "succeeded":
            continue
        for key in keys:
            value = result.data.get(key)
            if isinstance(value, str) and value.strip():
                return value
        text = result.output.strip()
        if text[:1] in "[{" or looks_tabular(text):
            return text
    return None


def check_size(text: str, where: str) -> str:
    if len(text) > MAX_TABLE_CHARS:
        raise TaskRejected(
            f"{where} has {len(text):,} characters, over the {MAX_TABLE_CHARS:,} limit: give a"
            " smaller table"
        )
    return text


def show(value: Any) -> str:
    """A cell for people: whole floats without '.0', others to 6 significant digits."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.6g}"
    return str(value)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table of at most MAX_SHOWN_ROWS rows, saying how many were left out."""

    def cell(value: Any) -> str:
        return show(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |"]
    lines.append("|" + "|".join(" --- " for _ in headers) + "|")
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows[:MAX_SHOWN_ROWS]]
    if len(rows) > MAX_SHOWN_ROWS:
        lines.append(f"\n({len(rows) - MAX_SHOWN_ROWS} more rows not shown)")
    return "\n".join(lines)
