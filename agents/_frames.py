"""Reading delimited text into pandas, the first look at a table, and which of its
values or measures a question names: what the CSV analyst needs from pandas (kept apart
so that module stays about answering questions).
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
from typing import Any

import pandas as pd

from mesh.agents._tabular import (
    Condition,
    check_size,
    markdown_table,
    show,
    sniff_delimiter,
    to_records,
)
from mesh.errors import TaskRejected
from mesh.lexical import STOPWORDS, stem


def read_table(text: str, where: str) -> pd.DataFrame:
    """A DataFrame from delimited text, with a clear error for what pandas cannot read."""
    body = check_size(text, where).lstrip("\ufeff").strip()
    if not body:
        raise TaskRejected(f"the table in {where} is empty")
    if body[:1] == "[":
        return _json_records(body, where)
    sep = "\t" if where.lower().endswith(".tsv") else sniff_delimiter(body)
    try:
        frame = pd.read_csv(io.StringIO(body), sep=sep, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TaskRejected(f"cannot read the table in {where} as CSV: {first}") from None
    header = next(csv.reader(io.StringIO(body.split("\n", 1)[0]), delimiter=sep), [])
    names = [h.strip() for h in header]
    dupes = sorted({c for c in names if names.count(c) > 1})
    frame.columns = [str(c).strip() for c in frame.columns]
    if dupes:
        raise TaskRejected(f"the table in {where} repeats column names {dupes}")
    return frame


def _json_records(body: str, where: str) -> pd.DataFrame:
    """A DataFrame from a JSON array of records, as the transform agent passes them on
    ("sort by price and keep the first 2, then the average of their prices")."""
    try:
        records = json.loads(body)
    except json.JSONDecodeError as exc:
        raise TaskRejected(f"cannot read the table in {where} as JSON: {exc}") from None
    return pd.DataFrame.from_records(to_records(records))


def describe_table(frame: pd.DataFrame) -> tuple[str, dict[str, Any]]:
    """Shape, column types and numeric ranges: what a person asks first about a table."""
    columns = []
    for name in frame.columns:
        series = frame[name]
        info: dict[str, Any] = {"name": name, "type": kind_of(series)}
        info["missing"] = int(series.isna().sum())
        if info["type"] == "number" and series.notna().any():
            info |= {"min": plain(series.min()), "max": plain(series.max())}
            info["mean"] = plain(series.mean())
        else:
            info["distinct"] = int(series.nunique())
        columns.append(info)
    lines = [f"{len(frame):,} rows × {len(frame.columns)} columns"]
    for c in columns:
        if c["type"] == "number" and "min" in c:
            detail = f"{show(c['min'])} to {show(c['max'])}, average {show(c['mean'])}"
        else:
            detail = f"{c.get('distinct', 0)} distinct values"
        lines.append(f"- {c['name']} ({c['type']}): {detail}")
    head = markdown_table(list(frame.columns), frame.head(5).values.tolist())
    output = "\n".join(lines) + "\n\nFirst rows:\n\n" + head
    return output, {"operation": "describe", "rows": len(frame), "columns": columns}


def kind_of(series: pd.Series) -> str:
    """The kind of a column, number, boolean or text: what the analyst may do with it."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    return "text"


def plain(value: Any) -> Any:
    """A numpy scalar as a plain Python value (JSON-able)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


_IMPLIED = [  # words that name a measure without naming its column
    (r"\b(?:earn\w*|paid|pays?|wages?|salar\w*)\b", ("salary", "pay", "wage", "income")),
    (r"\b(?:old|older|oldest|young|younger|youngest|ages?)\b", ("age",)),
    (
        r"\b(?:expensive|cheap\w*|costs?|pric\w*|spen[dt]\w*)\b",
        ("price", "unit price", "cost", "amount"),
    ),
    (r"\b(?:sold|sells?|selling|quantity)\b", ("units", "quantity", "qty")),
]


_MEASURE_WORD = re.compile(  # the word that says what to aggregate: "the average bonus"
    r"\b(?<!\bin\s)(?:total|sum|average|avg|mean|median|highest|lowest|maximum|minimum"
    r"|biggest|largest|smallest)\s+(?:of\s+)?(?:the\s+|all\s+)?([a-z][a-z_-]*)",  # not "in total"
    re.IGNORECASE,
)
_GENERIC = {"number", "count", "value", "amount", "figure", "row", "record", "entry", "one"}


def _check_measure_named(question: str, frame: pd.DataFrame) -> None:
    """Refuse a measure the question names that the table lacks: "the average bonus" in a
    table of salaries is not their average salary."""
    word = _MEASURE_WORD.search(question)
    if not word or word[1].lower() in STOPWORDS:
        return
    known = {stem(w) for c in frame.columns for w in re.split(r"[\s_-]+", str(c).lower())}
    known |= {stem(w) for w in re.findall(r"(\w+)\.csv\b", question.lower())} | _GENERIC
    if stem(word[1].lower()) in known or any(re.search(p, word[1], re.I) for p, _ in _IMPLIED):
        return
    raise TaskRejected(
        f"the table has no column {word[1]!r} to take the {word[0].split()[0].lower()} of:"
        f" its columns are {', '.join(map(str, frame.columns))}; name one of them"
    )


def implied_measure(question: str, frame: pd.DataFrame) -> str | None:
    """The numeric column a question means without naming it: "who earns the most" is the
    salary, "the oldest" the age; else the table's one numeric column that is not an id
    ("the biggest order" in order_id, status, amount is the amount). None when unsure; a
    measure named that the table lacks ("the average bonus") is refused."""
    _check_measure_named(question, frame)
    numeric = {" ".join(str(c).lower().replace("_", " ").split()): str(c) for c in frame.columns}
    numeric = {k: c for k, c in numeric.items() if kind_of(frame[c]) == "number"}
    for pattern, names in _IMPLIED:
        if re.search(pattern, question, re.IGNORECASE):
            hits = [numeric[n] for n in names if n in numeric]
            if hits:
                return hits[0]
    measures = [c for k, c in numeric.items() if not re.search(r"(?:^|\s)id$|^id\b", k)]
    return measures[0] if len(measures) == 1 else None


_STATISTICS = (  # long enough that a word this close is a typo, not another word
    "average", "median", "maximum", "minimum", "highest", "largest", "smallest", "biggest",
    "distinct",
)  # fmt: skip


def respelt(question: str) -> str:
    """The question with a misspelt statistic put right ("averge salary" -> "average
    salary"): a typo there turned an average into a filter. Only words of five letters
    or more that are a letter or two off a statistic's long name change ("lowers" is
    not "lowest")."""

    def fix(match: re.Match[str]) -> str:
        word = match[0]
        if word.lower() in _STATISTICS:
            return word
        close = difflib.get_close_matches(word.lower(), _STATISTICS, n=1, cutoff=0.8)
        return close[0] if close else word

    return re.sub(r"\b[A-Za-z]{5,}\b", fix, question)


_NOT_VALUES = {"total", "average", "count", "sum", "top", "all", "the", "and", "each", "per"}


def named_values(frame: pd.DataFrame, question: str) -> list[Condition]:
    """ "how many orders are shipped", "total amount for acme": a word of the question that
    is a value of exactly one text column filters on it (a word found in two columns would
    be a guess, and is left out). The question's words are looked up among the values,
    not each value searched for in the question: a column may hold 50,000 names."""
    lowered = question.lower()
    words = {m[0].lower(): m.span() for m in re.finditer(r"[\w-]+", question)}
    wanted = {singular: span for word, span in words.items() for singular in _singulars(word)}
    found: dict[str, list[Condition]] = {}
    for column in frame.columns:
        if kind_of(frame[column]) != "text":
            continue
        values = {str(v).strip().lower() for v in frame[column].dropna().unique()}
        spans = {v: wanted[v] for v in values & wanted.keys()}
        for value in (v for v in values - wanted.keys() if v in lowered and " " in v):
            if m := re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", question, re.I):
                spans[value] = m.span()  # a value of several words: "new york"
        for value, span in spans.items():
            inside = any(o != span and o[0] <= span[0] and span[1] <= o[1] for o in spans.values())
            if len(value) >= 3 and value not in _NOT_VALUES and not inside:  # york in new york
                found.setdefault(value, []).append(Condition(str(column), "=", value, span))
    named = [conds[0] for conds in found.values() if len(conds) == 1]
    by_column = {c.column for c in named}
    return sorted(named, key=lambda c: c.span) if len(by_column) == len(named) else []


def _singulars(word: str) -> list[str]:
    """The word and what it is the plural of, if anything ("widgets", "boxes")."""
    return [
        word,
        word[:-1] if word.endswith("s") else word,
        word[:-2] if word.endswith("es") else word,
    ]
